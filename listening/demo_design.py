"""The demo's follow-up design session: what the demo listening session heard, as statements residents
react to (in English, Spanish, Arabic and Urdu, some written by residents in their own language), and
a dot vote on what to change first, with made-up residents who voted, so the opinion groups, the
consensus and the priorities pages have something to show; then an ideas question ("how might
we ...?") with two tables (a Spanish table with an interpreter, an Arabic and Urdu table) whose
notetakers typed ideas in, ideas sent from phones, and reactions to them. `chorus demo` creates it once.
"""
from __future__ import annotations

import sqlite_utils

from .consent import default_consent
from .db import one, transaction
from .queries import add_prompt, create_session, current_consent, record_consent, save_response, set_status, snapshot_consent
from .statements import add_statement, cast_vote, decide_statement, enter_idea, propose_statement, set_translations
from .tables import add_table

TITLE = {
    "en": "Follow-up: what should change first for healthy babies in Guilford County?",
    "es": "Seguimiento: ¿qué debe cambiar primero para que los bebés de Guilford nazcan sanos?",
    "ar": "متابعة: ما الذي يجب أن يتغيّر أولًا من أجل أطفال أصحّاء في غيلفورد؟",
    "ur": "فالو اپ: گلفورڈ میں صحت مند بچوں کے لیے سب سے پہلے کیا بدلنا چاہیے؟",
}
PURPOSE = {
    "en": "We shared what we heard. Tell us what you agree with, add what we missed, and choose what matters most.",
    "es": "Compartimos lo que escuchamos. Díganos con qué está de acuerdo, agregue lo que nos faltó y elija lo más importante.",
    "ar": "شاركنا ما سمعناه. أخبرونا بما توافقون عليه، وأضيفوا ما فاتنا، واختاروا الأهم.",
    "ur": "ہم نے جو سنا وہ بتا دیا۔ ہمیں بتائیں آپ کس سے متفق ہیں، جو رہ گیا وہ شامل کریں، اور سب سے اہم چیز چنیں۔",
}
QUESTION = {
    "en": "Do you agree with what we heard?",
    "es": "¿Está de acuerdo con lo que escuchamos?",
    "ar": "هل توافق على ما سمعناه؟",
    "ur": "کیا آپ اس سے متفق ہیں جو ہم نے سنا؟",
}
# (language written in, words, translations): the first five are reviewed themes, the last two residents' words.
STATEMENTS = [
    ("en", "Rides to prenatal appointments should be free.",
     {"es": "El transporte a las citas prenatales debería ser gratis.", "ar": "يجب أن تكون المواصلات إلى مواعيد الحمل مجانية.",
      "ur": "حمل کے معائنوں تک آنے جانے کی سواری مفت ہونی چاہیے۔"}),
    ("en", "Clinics should have evening and weekend hours.",
     {"es": "Las clínicas deberían abrir por la tarde y los fines de semana.", "ar": "يجب أن تفتح العيادات مساءً وفي عطلة نهاية الأسبوع.",
      "ur": "کلینک شام اور ہفتے کے آخر میں بھی کھلے ہونے چاہئیں۔"}),
    ("en", "Every family should get a doula who speaks their language.",
     {"es": "Cada familia debería tener una doula que hable su idioma.", "ar": "يجب أن تحصل كل عائلة على دولا تتحدث لغتها.",
      "ur": "ہر خاندان کو اپنی زبان بولنے والی ڈولا ملنی چاہیے۔"}),
    ("en", "Hospital staff listened to me and took my worries seriously.",
     {"es": "El personal del hospital me escuchó y tomó en serio mis preocupaciones.", "ar": "استمع إليّ طاقم المستشفى وأخذ مخاوفي بجدية.",
      "ur": "ہسپتال کے عملے نے میری بات سنی اور میری فکروں کو سنجیدگی سے لیا۔"}),
    ("en", "Paperwork for insurance is the biggest barrier to care.",
     {"es": "El papeleo del seguro es el mayor obstáculo para recibir atención.", "ar": "أوراق التأمين هي أكبر عائق أمام الرعاية.",
      "ur": "انشورنس کے کاغذات دیکھ بھال میں سب سے بڑی رکاوٹ ہیں۔"}),
    ("es", "Necesitamos intérpretes en persona, no solo por teléfono.",
     {"en": "We need interpreters in person, not only by phone.", "ar": "نحتاج إلى مترجمين حضوريًا، لا عبر الهاتف فقط.",
      "ur": "ہمیں صرف فون پر نہیں، روبرو ترجمان چاہئیں۔"}),
    ("ar", "أريد زيارات منزلية بعد الولادة من ممرضة تعرف ثقافتنا.",
     {"en": "I want home visits after birth from a nurse who knows our culture.",
      "es": "Quiero visitas a domicilio después del parto de una enfermera que conozca nuestra cultura.",
      "ur": "میں پیدائش کے بعد ایسی نرس کے گھر آ کر ملنے چاہتی ہوں جو ہماری ثقافت کو جانتی ہو۔"}),
]
DOTS = {
    "en": ("Where should the coalition start? Spread your 5 dots.", ["Free rides", "Evening clinic hours", "Doulas in every language", "Help with insurance papers"]),
    "es": ("¿Por dónde debería empezar la coalición? Reparta sus 5 puntos.", ["Transporte gratis", "Clínicas por la tarde", "Doulas en todos los idiomas", "Ayuda con los papeles del seguro"]),
    "ar": ("من أين يجب أن يبدأ التحالف؟ وزّع نقاطك الخمس.", ["مواصلات مجانية", "عيادات مسائية", "دولا بكل اللغات", "مساعدة في أوراق التأمين"]),
    "ur": ("اتحاد کو کہاں سے شروع کرنا چاہیے؟ اپنے 5 نقطے بانٹیں۔", ["مفت سواری", "شام کے کلینک", "ہر زبان میں ڈولا", "انشورنس کے کاغذات میں مدد"]),
}
HMW = {
    "en": "How might we make it easy for every family to get to prenatal care?",
    "es": "¿Cómo podríamos facilitar que cada familia llegue a su atención prenatal?",
    "ar": "كيف يمكننا أن نسهّل على كل عائلة الوصول إلى رعاية الحمل؟",
    "ur": "ہم ہر خاندان کے لیے حمل کی دیکھ بھال تک پہنچنا کیسے آسان بنا سکتے ہیں؟",
}
# (table name, its language, its note), in the table's own words.
TABLES = [
    ("Mesa en español", "es", "con intérprete"),
    ("طاولة العربية والأردية", "ar", "مع مترجمة"),
]
# (table index or None for a phone, language written in, the idea, its translations into the demo's other languages).
IDEAS = [
    (0, "es", "Una camioneta de la clínica que recoja a las mamás en la iglesia los sábados.",
     {"en": "A clinic van that picks mothers up at church on Saturdays.",
      "ar": "سيارة من العيادة تقلّ الأمهات من الكنيسة أيام السبت.",
      "ur": "کلینک کی ایک وین جو ہفتے کے دن چرچ سے ماؤں کو لے جائے۔"}),
    (0, "es", "Que la cita prenatal y la del seguro se hagan el mismo día, en el mismo lugar.",
     {"en": "Prenatal and insurance appointments on the same day, in the same place.",
      "ar": "موعد رعاية الحمل وموعد التأمين في اليوم نفسه وفي المكان نفسه.",
      "ur": "حمل کے معائنے اور انشورنس کی ملاقات ایک ہی دن، ایک ہی جگہ۔"}),
    (1, "ar", "حافلة صغيرة مجانية من المسجد إلى العيادة.",
     {"en": "A free minibus from the mosque to the clinic.",
      "es": "Un microbús gratis de la mezquita a la clínica.",
      "ur": "مسجد سے کلینک تک مفت چھوٹی بس۔"}),
    (1, "ur", "کلینک میں بچوں کی دیکھ بھال کا کمرہ تاکہ ماں اکیلے آ سکے۔",
     {"en": "A childcare room at the clinic so a mother can come on her own.",
      "es": "Una sala de cuidado infantil en la clínica para que la mamá pueda venir sola.",
      "ar": "غرفة لرعاية الأطفال في العيادة لتتمكن الأم من الحضور وحدها."}),
    (None, "en", "Text reminders the day before, in my language.",
     {"es": "Recordatorios por mensaje de texto el día antes, en mi idioma.",
      "ar": "رسائل تذكير نصية في اليوم السابق، بلغتي.",
      "ur": "ایک دن پہلے میری زبان میں پیغام کے ذریعے یاد دہانی۔"}),
    (None, "es", "Pases de autobús gratis para todo el embarazo.",
     {"en": "Free bus passes for the whole pregnancy.",
      "ar": "تذاكر حافلات مجانية طوال فترة الحمل.",
      "ur": "پورے حمل کے دوران مفت بس پاس۔"}),
]
# Two made-up camps of 18 (one mostly Spanish- and Arabic-speaking), who agree on rides and interpreters.
CAMPS = {
    "a": [1, 1, 1, -1, 1, 1, 1],
    "b": [1, -1, 0, 1, -1, 1, -1],
}


def ensure_demo_design(db: sqlite_utils.Database, *, languages: list[str], user_id: int | None, contact: dict[str, str]) -> str:
    """Create the follow-up design session once (open, with simulated votes and dots) and return its join code."""
    existing = one(db, """SELECT s.code FROM sessions s JOIN texts t ON t.owner = 'session' AND t.owner_id = s.id
                          WHERE t.field = 'title' AND t.language = 'en' AND t.body = ? ORDER BY s.id LIMIT 1""", (TITLE["en"],))
    if existing is not None:
        return existing["code"]
    with transaction(db):
        session = create_session(
            db, languages=languages, mode="self_paced", timezone_name="America/New_York", created_by=user_id, minutes=10,
            contact=contact["en"],
            texts={"title": {c: TITLE[c] for c in languages}, "purpose": {c: PURPOSE[c] for c in languages},
                   "consent": {c: default_consent(c, minutes=10, contact=contact[c]) for c in languages}},
        )
        react = add_prompt(db, session["id"], kind="react", texts={c: QUESTION[c] for c in languages})
        statement_ids = []
        for index, (language, words, translations) in enumerate(STATEMENTS):
            if language not in languages:
                continue
            statement_ids.append(add_statement(
                db, session["id"], react, language=language, body=words, created_by=user_id,
                translations={c: t for c, t in translations.items() if c in languages}, origin="theme" if index < 5 else "staff"))
        dots = add_prompt(db, session["id"], kind="dots", texts={c: DOTS[c][0] for c in languages},
                          options={c: DOTS[c][1] for c in languages}, points=5)
        ideas = add_prompt(db, session["id"], kind="ideas", texts={c: HMW[c] for c in languages})
        snapshot_consent(db, session["id"])
        set_status(db, session["id"], "open")
        seed_votes(db, session["id"], statement_ids, dots, languages)
        seed_ideas(db, session["id"], ideas, languages, user_id)
    return session["code"]


def seed_ideas(db: sqlite_utils.Database, session_id: int, prompt_id: int, languages: list[str], user_id: int | None) -> None:
    """Add the demo's tables, ideas typed in by their notetakers or sent from phones, and made-up residents' reactions."""
    tables = [add_table(db, session_id, name=name, language=language if language in languages else languages[0], note=note,
                        created_by=user_id) for name, language, note in TABLES]
    idea_ids = []
    for index, (table, language, words, translated) in enumerate(IDEAS):
        language = language if language in languages else languages[0]
        consent = current_consent(db, session_id, language)
        nonce = f"demo-idea-{session_id}-{index}"
        if table is not None and user_id is not None:
            person = record_consent(db, session_id, consent_version_id=consent["id"], language=language, nonce=nonce,
                                    quote_ok=True, contact_ok=False, method="staff_verbal", source="interpreter",
                                    recorded_by=user_id, quote_scope="screen_and_reports")
            idea = enter_idea(db, session_id=session_id, prompt_id=prompt_id, participant_id=person.id, language=language,
                              body=words, table_id=tables[table], user_id=user_id)
        else:
            person = record_consent(db, session_id, consent_version_id=consent["id"], language=language, nonce=nonce,
                                    quote_ok=True, contact_ok=False, quote_scope="screen_and_reports")
            idea = propose_statement(db, session_id=session_id, prompt_id=prompt_id, participant_id=person.id,
                                     language=language, body=words, nonce=f"{nonce}-idea").id
            decide_statement(db, session_id, idea, "approved", by_user=user_id)
        others = {code: body for code, body in translated.items() if code in languages and code != language}
        if others:
            set_translations(db, idea, others)
        idea_ids.append(idea)
    voters = [r["id"] for r in db.execute(
        "SELECT id FROM participants WHERE session_id = ? AND id NOT IN (SELECT participant_id FROM statements "
        "WHERE participant_id IS NOT NULL) ORDER BY id", (session_id,)).fetchall()]
    for index, participant_id in enumerate(voters[:24]):
        for position, idea in enumerate(idea_ids):
            if (index + position) % 5 == 4:
                continue
            vote = 1 if (index + 2 * position) % 4 else (-1 if position % 2 else 0)
            cast_vote(db, session_id=session_id, participant_id=participant_id, statement_id=idea, vote=vote,
                      nonce=f"demo-idea-{session_id}-{index:03d}-{position}", language="en")


def seed_votes(db: sqlite_utils.Database, session_id: int, statement_ids: list[int], dots_prompt: int, languages: list[str]) -> None:
    """Add 36 made-up residents in several languages who vote on the statements (a few skip some) and spread their dots."""
    from .queries import prompt_in_session

    options = [o["id"] for o in prompt_in_session(db, session_id, dots_prompt)["options"]]
    spoken = [c for c in ("en", "es", "ar", "ur") if c in languages]
    for index in range(36):
        camp = "a" if index % 2 == 0 else "b"
        language = spoken[(index // 2) % len(spoken)] if camp == "a" else spoken[(index // 3) % min(2, len(spoken))]
        statement = current_consent(db, session_id, language)
        person = record_consent(db, session_id, consent_version_id=statement["id"], language=language,
                                nonce=f"demo-design-{session_id}-{index:03d}", quote_ok=False, contact_ok=False,
                                quote_scope="screen_and_reports")
        for position, statement_id in enumerate(statement_ids):
            if (index + position) % 7 == 6:
                continue  # nobody votes on everything
            vote = CAMPS[camp][position % len(CAMPS[camp])]
            if (index * 5 + position) % 11 == 0:
                vote = 0  # the odd "not sure"
            cast_vote(db, session_id=session_id, participant_id=person.id, statement_id=statement_id, vote=vote,
                      nonce=f"demo-design-{session_id}-{index:03d}-{position}", language=language)
        spread = [options[0]] * 2 + [options[1 if camp == "b" else 2]] * 2 + [options[3 if index % 3 else 0]]
        save_response(db, session_id=session_id, participant_id=person.id, prompt_id=dots_prompt,
                      nonce=f"demo-design-{session_id}-{index:03d}-dots", language=language, choices=spread)
