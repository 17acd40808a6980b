"""Answers for the demo session, so the planners' review has something real to work with.

Sixty made-up residents in English, Spanish and Arabic answer the two open questions and the
"about you" questions; some allowed quoting and some did not; a few answers came in on paper,
by phone call or through an interpreter and were typed in by staff. Nothing here is a real
person's words. `seed_demo_answers` is called once, when the demo session is created.
"""
from __future__ import annotations

import sqlite_utils

from .db import transaction
from .queries import current_consent, prompts_for_session, record_consent, save_response

# (language, what helped, what made it hard); "" means the question was skipped.
ANSWERS = [
    ("en", "My doula came to every appointment and spoke up for me when the doctor rushed.", "The bus to the clinic takes two transfers and almost two hours each way."),
    ("en", "My mom and my sister took turns watching my older kids so I could rest.", "Nobody listened when I said something felt wrong. I was told it was normal."),
    ("en", "WIC helped us with formula and healthy food every month.", "I lost my Medicaid after the baby and did not know how to get it back."),
    ("en", "The nurse who visited our home after birth answered all my questions.", "I could not take time off work without losing pay, so I missed check-ups."),
    ("en", "A doula from the community program. She was Black like me and she understood.", "The doctors did not take my pain seriously. I felt dismissed because I am Black."),
    ("en", "Church members brought meals for two weeks after the baby came.", "No car and the Medicaid ride never showed up on time."),
    ("en", "Having a ride from my aunt to every visit.", "Long waits at the clinic, three hours with a toddler and no childcare."),
    ("en", "The lactation consultant at the hospital was patient and kind.", "I did not have insurance until my second trimester so I started care late."),
    ("en", "My partner went to every appointment with me.", "Stress about rent and bills the whole pregnancy."),
    ("en", "Support group for new moms at the library on Tuesdays.", "Being treated like I did not know my own body. They talked over me."),
    ("en", "Food from the pantry when money was tight.", "The bus stop is far and there is no sidewalk, walking pregnant in the heat was hard."),
    ("en", "Home visits from the nurse program, she checked on me and the baby.", "Nobody explained my options, I signed papers I did not understand."),
    ("en", "My doula helped me write a birth plan and the hospital followed it.", "I was scared to ask questions because the staff seemed annoyed."),
    ("en", "Medicaid paid for my care and the pharmacy.", "Paperwork for Medicaid took months and my card came after the baby."),
    ("en", "Friends from work who sent diapers and food.", "Childcare. I had nobody to watch my kids during appointments."),
    ("en", "The community health worker who called me every week.", "Racism at the hospital. The nurse assumed I was on drugs."),
    ("en", "Having a midwife who listened and took her time.", "Transportation, I missed two appointments because I had no ride."),
    ("en", "My grandmother's advice and her cooking.", "I could not afford the copays even with insurance."),
    ("en", "Text reminders for appointments from the clinic.", "Work would not let me leave early for prenatal visits."),
    ("en", "A doula. Every family should have one.", "The clinic closed at 4 and I work until 5."),
    ("en", "The baby supplies drive at the community center.", "I felt judged for being young and not married."),
    ("en", "Breastfeeding help from a peer counselor who called me at home.", "Depression after the birth and nobody asked how I was feeling."),
    ("en", "WIC and the farmers market vouchers.", "No one told me about postpartum depression until I was already struggling."),
    ("en", "My sister drove me, she took off work for me.", "Gas money to get to the hospital across town."),
    ("en", "Nurse home visiting program, call Dr. Patel's office at 336-555-0199 to sign up.", "The doctor barely looked at me and was out of the room in five minutes."),
    ("en", "Paid leave from my job for six weeks.", "Medicaid transportation cancelled on me twice."),
    ("en", "Help from the pregnancy center with a car seat and clothes.", "Not enough money for healthy food."),
    ("en", "The doula program was free and it changed everything for me.", "I did not trust the hospital after how they treated my cousin."),
    ("en", "My neighbors checked on me every day.", "Long waits and being rushed when I finally got seen."),
    ("en", "", "The bus does not run on Sundays and my shift schedule changes."),
    ("en", "A nurse who spoke to me like a person.", ""),
    ("en", "Mental health counseling after the birth.", "Stress at home and worrying about money all the time."),
    ("en", "Food stamps and WIC together made it possible.", "Losing Medicaid two months after giving birth."),
    ("en", "Classes about birth at the health department.", "Nobody believed me about my blood pressure until it was an emergency."),
    ("es", "Mi doula me acompañó y me explicó todo en español.", "No había intérprete en las citas y no entendía lo que me decían."),
    ("es", "Mi esposo y mi suegra me ayudaron con la comida y la casa.", "Los papeles del hospital solo estaban en inglés."),
    ("es", "La enfermera que venía a la casa después del parto.", "No tenía seguro médico y tenía miedo de las cuentas."),
    ("es", "WIC nos ayudó con la leche y la comida.", "El transporte, no tengo carro y el autobús tarda mucho."),
    ("es", "La iglesia nos regaló ropa y pañales para el bebé.", "Usaban a mi hijo de 10 años como intérprete, no estaba bien."),
    ("es", "Una promotora de salud que hablaba mi idioma.", "Miedo por mi situación migratoria, no quería dar mis datos."),
    ("es", "Mi hermana me llevaba a las citas.", "No podía faltar al trabajo, me descontaban el día."),
    ("es", "Las clases para mamás en español en el centro comunitario.", "Esperé tres horas en la clínica con mis otros niños."),
    ("es", "Tener intérprete por teléfono en el hospital.", "Nadie me explicó cómo solicitar Medicaid para embarazadas."),
    ("es", "Mis vecinas me traían comida caliente.", "El médico no me escuchaba y no había quien tradujera."),
    ("es", "La doula de la comunidad, fue como una hermana.", "No tenía quién cuidara a mis hijos durante las citas."),
    ("es", "Medicaid para embarazadas pagó todo el parto.", "Las cuentas del hospital llegaron aunque tenía Medicaid."),
    ("es", "Los consejos de mi mamá por videollamada desde México.", "Me sentía sola y triste después del parto."),
    ("es", "El banco de comida de la iglesia.", "El autobús no llega cerca de la clínica."),
    ("es", "Una enfermera que hablaba español y tenía paciencia.", "Me trataron mal en la recepción por no hablar inglés."),
    ("es", "", "La farmacia no tenía las instrucciones en español."),
    ("ar", "زوجي وأخته ساعدوني كثيرًا بعد الولادة.", "لم يكن هناك مترجم عربي في المواعيد."),
    ("ar", "الممرضة التي زارتنا في البيت بعد الولادة.", "المواصلات صعبة جدًا، ليس لدينا سيارة."),
    ("ar", "المسجد ساعدنا بالطعام والملابس للطفل.", "لم أفهم الأوراق لأنها بالإنجليزية فقط."),
    ("ar", "مترجمة عبر الهاتف في المستشفى.", "الانتظار الطويل في العيادة مع أطفالي."),
    ("ar", "برنامج WIC ساعدنا في الحليب والطعام.", "لم يكن لدي تأمين صحي في البداية."),
    ("ar", "جاراتي العربيات كن يزرنني كل يوم.", "الطبيب لم يستمع لي وكان مستعجلًا."),
    ("ar", "دولا تتكلم العربية ساعدتني في الولادة.", "كنت وحيدة وحزينة بعد الولادة، عائلتي بعيدة."),
    ("ar", "ميديكيد دفع تكاليف الولادة.", "لم أجد من يعتني بأطفالي أثناء المواعيد."),
    ("ar", "دروس للأمهات الجدد في المركز المجتمعي.", "زوجي لم يستطع أخذ إجازة من العمل ليأخذني."),
    ("ar", "الطعام من بنك الطعام.", "لم يشرح لي أحد كيف أقدم على ميديكيد."),
]

# Who they are: age (0-3), race or ethnicity (0-6), home language (0-5); -1 means "prefer not to say".
RACE_BY_LANGUAGE = {"en": [0, 0, 0, 1, 0, 1, 6, 0, 3, 1, 0, 0, -1, 1], "es": [2, 2, 2, 2, 6, -1, 2], "ar": [4, 4, 4, -1, 4]}
HOME_LANGUAGE = {"en": 0, "es": 1, "ar": 2}
SOURCES = ["phone"] * 7 + ["paper", "phone_call", "interpreter"]


def seed_demo_answers(db: sqlite_utils.Database, session_id: int, *, staff_id: int | None) -> int:
    """Add the demo residents, their consent and answers to a session in one transaction; return how many."""
    prompts = prompts_for_session(db, session_id)
    open_prompts = [p for p in prompts if p["kind"] == "open"]
    about = {p["demographic"]: p for p in prompts if p["kind"] == "about"}
    counts = {"en": 0, "es": 0, "ar": 0}
    with transaction(db):
        for index, (language, helped, hard) in enumerate(ANSWERS):
            statement = current_consent(db, session_id, language)
            if statement is None:
                continue  # the app does not offer this language
            source = SOURCES[index % len(SOURCES)] if language != "ar" else ("interpreter" if index % 3 == 0 else "phone")
            staff = source != "phone"
            person = record_consent(
                db, session_id, consent_version_id=statement["id"], language=language, nonce=f"demo-{session_id}-consent-{index:03d}",
                quote_ok=index % 5 not in (1, 3), contact_ok=False, method="staff_verbal" if staff else "self",
                source=source, recorded_by=staff_id if staff else None, quote_scope="screen_and_reports",
            )
            if not person.created:
                continue

            def answer(prompt: dict, step: str, **values) -> None:
                """Save one answer for this demo resident."""
                save_response(db, session_id=session_id, participant_id=person.id, prompt_id=prompt["id"],
                              nonce=f"demo-{session_id}-{index:03d}-{step}", language=language, source=source,
                              entered_by=staff_id if staff else None, **values)

            for prompt, text in zip(open_prompts, (helped, hard)):
                answer(prompt, f"open{prompt['id']}", text=text or None, skipped=not text)
            n = counts[language]
            counts[language] += 1
            choices = {
                "age": [1, 2, 1, 0, 2, 1, 3, -1][index % 8],
                "race_ethnicity": RACE_BY_LANGUAGE[language][n % len(RACE_BY_LANGUAGE[language])],
                "language": HOME_LANGUAGE[language] if index % 9 else -1,
            }
            for demographic, choice in choices.items():
                prompt = about.get(demographic)
                if prompt is None:
                    continue
                options = prompt["options"]
                option = next(o for o in options if o["prefer_not"]) if choice < 0 else options[choice]
                answer(prompt, demographic, choices=[option["id"]])
    return sum(counts.values())
