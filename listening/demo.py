"""A realistic demo: a facilitator account and an open, multilingual listening session on what
helps families in Guilford County have healthy babies. `chorus demo` uses it; so do the tests.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils
from flask import current_app

from .consent import default_consent
from .db import one
from .queries import add_prompt, create_session, set_status, snapshot_consent

DEMO_EMAIL = "facilitator@example.org"
CONTACT = "Guilford listening team, (336) 555-0142"
# The team's name in each language, for the consent statement and its summary ("Who we are").
CONTACTS = {
    "en": CONTACT,
    "es": "Equipo de escucha de Guilford, (336) 555-0142",
    "ar": "فريق الاستماع في غيلفورد، (336) 555-0142",
    "ur": "گلفورڈ کی سننے والی ٹیم، (336) 555-0142",
}

TITLE = {
    "en": "Healthy babies in Guilford County: what helps, and what gets in the way",
    "es": "Bebés sanos en el condado de Guilford: qué ayuda y qué lo hace difícil",
    "ar": "أطفال أصحّاء في مقاطعة غيلفورد: ما الذي يساعد، وما الذي يعيق",
    "ur": "گلفورڈ کاؤنٹی میں صحت مند بچے: کیا چیز مدد کرتی ہے، اور کیا رکاوٹ بنتی ہے",
}
PURPOSE = {
    "en": "Families in Guilford County know best what helps babies be born healthy and thrive. "
          "Community partners will use your answers to decide what to change first in care during "
          "pregnancy, support after birth, and services in your language.",
    "es": "Las familias del condado de Guilford saben mejor que nadie qué ayuda a que los bebés nazcan "
          "sanos y crezcan bien. Las organizaciones de la comunidad usarán sus respuestas para decidir qué "
          "cambiar primero en la atención durante el embarazo, el apoyo después del parto y los servicios "
          "en su idioma.",
    "ar": "العائلات في مقاطعة غيلفورد أعرف الناس بما يساعد الأطفال على أن يولدوا أصحّاء وينموا بخير. "
          "ستستخدم الجهات المجتمعية إجاباتكم لتقرّر ما يجب تغييره أولًا في الرعاية أثناء الحمل، والدعم "
          "بعد الولادة، والخدمات بلغتكم.",
    "ur": "گلفورڈ کاؤنٹی کے خاندان سب سے بہتر جانتے ہیں کہ کون سی چیز بچوں کو صحت مند پیدا ہونے اور اچھی طرح بڑھنے میں "
          "مدد دیتی ہے۔ کمیونٹی کے ادارے آپ کے جوابات سے فیصلہ کریں گے کہ سب سے پہلے کیا بدلنا ہے: حمل کے دوران دیکھ بھال، "
          "پیدائش کے بعد مدد، اور آپ کی زبان میں سہولتیں۔",
}

PROMPTS = [
    {"kind": "open", "texts": {
        "en": "During pregnancy or after your baby came, what helped you and your family the most?",
        "es": "Durante el embarazo o después de que nació su bebé, ¿qué fue lo que más les ayudó a usted y a su familia?",
        "ar": "أثناء الحمل أو بعد ولادة طفلك، ما أكثر شيء ساعدك أنت وعائلتك؟",
        "ur": "حمل کے دوران یا آپ کے بچے کی پیدائش کے بعد، کس چیز نے آپ کی اور آپ کے خاندان کی سب سے زیادہ مدد کی؟"}},
    {"kind": "open", "texts": {
        "en": "What made it hard to get the care or support you needed?",
        "es": "¿Qué le hizo difícil recibir la atención o el apoyo que necesitaba?",
        "ar": "ما الذي صعّب عليك الحصول على الرعاية أو الدعم الذي كنت تحتاج إليه؟",
        "ur": "آپ کو جس دیکھ بھال یا مدد کی ضرورت تھی، اسے حاصل کرنا کس وجہ سے مشکل ہوا؟"}},
    {"kind": "single", "texts": {
        "en": "How did you usually get to your pregnancy check-ups?",
        "es": "¿Cómo llegaba normalmente a sus citas de control del embarazo?",
        "ar": "كيف كان وصولك عادةً إلى مواعيد متابعة الحمل؟",
        "ur": "حمل کے معائنوں کے لیے عام طور پر آنا جانا کیسے ہوتا تھا؟"},
     "options": {
        "en": ["My own car", "A ride from family or friends", "The bus", "Medicaid transportation", "I could not get to my check-ups"],
        "es": ["Mi propio carro", "Alguien de mi familia o amistades me llevaba", "El autobús", "El transporte de Medicaid", "No podía llegar a mis citas"],
        "ar": ["سيارتي الخاصة", "توصيلة من العائلة أو الأصدقاء", "الحافلة", "مواصلات ميديكيد", "لم أستطع الوصول إلى مواعيدي"],
        "ur": ["اپنی گاڑی", "خاندان یا دوستوں نے پہنچایا", "بس", "میڈیکیڈ کی ٹرانسپورٹ", "میرے لیے معائنوں پر جانا ممکن نہیں تھا"]}},
    {"kind": "scale", "scale_min": 1, "scale_max": 5, "texts": {
        "en": "When you went for care, how well did the staff listen to you?",
        "es": "Cuando fue a recibir atención, ¿qué tanto le escuchó el personal?",
        "ar": "عندما ذهبت لتلقّي الرعاية، إلى أي حد استمع إليك الموظفون؟",
        "ur": "دیکھ بھال کے لیے جانے پر، عملے نے آپ کی بات کتنی اچھی طرح سنی؟"},
     "scale_labels": {"en": ("Not at all", "Very well"), "es": ("Nada", "Muy bien"),
                      "ar": ("لم يستمعوا أبدًا", "استمعوا جيدًا جدًا"), "ur": ("بالکل نہیں", "بہت اچھی طرح")}},
    {"kind": "multiple", "texts": {
        "en": "Which of these would help families the most?",
        "es": "¿Cuáles de estas cosas ayudarían más a las familias?",
        "ar": "أيّ هذه الأمور سيساعد العائلات أكثر؟",
        "ur": "ان میں سے کون سی چیزیں خاندانوں کی سب سے زیادہ مدد کریں گی؟"},
     "options": {
        "en": ["Rides to appointments", "A doula or community health worker", "Interpreters and papers in my language",
               "Help with insurance or Medicaid", "Healthy food", "Childcare during visits"],
        "es": ["Transporte a las citas", "Una doula o promotora de salud", "Intérpretes y papeles en mi idioma",
               "Ayuda con el seguro médico o Medicaid", "Comida saludable", "Cuidado de niños durante las citas"],
        "ar": ["مواصلات إلى المواعيد", "دولا أو عاملة صحة مجتمعية", "مترجمون وأوراق بلغتي",
               "مساعدة في التأمين الصحي أو ميديكيد", "طعام صحي", "رعاية للأطفال أثناء المواعيد"],
        "ur": ["اپوائنٹمنٹ پر جانے کے لیے سواری", "ڈولا یا کمیونٹی ہیلتھ ورکر", "میری زبان میں ترجمان اور کاغذات",
               "انشورنس یا میڈیکیڈ میں مدد", "صحت مند کھانا", "اپوائنٹمنٹ کے دوران بچوں کی دیکھ بھال"]}},
    {"kind": "about", "demographic": "age", "texts": {
        "en": "How old are you?", "es": "¿Cuántos años tiene?", "ar": "كم عمرك؟", "ur": "آپ کی عمر کیا ہے؟"},
     "options": {"en": ["Under 20", "20 to 29", "30 to 39", "40 or older"],
                 "es": ["Menos de 20", "De 20 a 29", "De 30 a 39", "40 o más"],
                 "ar": ["أقل من 20", "من 20 إلى 29", "من 30 إلى 39", "40 أو أكثر"],
                 "ur": ["20 سے کم", "20 سے 29", "30 سے 39", "40 یا اس سے زیادہ"]}},
    # "More than one, or another group" comes with a box for one's own words (prompts.self_describe).
    {"kind": "about", "demographic": "race_ethnicity", "self_describe": True, "texts": {
        "en": "How do you describe yourself?", "es": "¿Cómo se describe usted?", "ar": "كيف تصف نفسك؟",
        "ur": "آپ اپنے آپ کو کیسے بیان کرتے ہیں؟"},
     "options": {
        "en": ["Black or African American", "White", "Hispanic or Latino/a", "Asian", "Middle Eastern or North African",
               "American Indian or Alaska Native", "More than one, or another group"],
        "es": ["Negro/a o afroamericano/a", "Blanco/a", "Hispano/a o latino/a", "Asiático/a", "De Medio Oriente o del norte de África",
               "Indígena de las Américas o nativo/a de Alaska", "Más de uno, u otro grupo"],
        "ar": ["أسود أو أمريكي من أصل أفريقي", "أبيض", "من أصل لاتيني أو إسباني", "آسيوي", "من الشرق الأوسط أو شمال أفريقيا",
               "من السكان الأصليين لأمريكا أو ألاسكا", "أكثر من مجموعة، أو مجموعة أخرى"],
        "ur": ["سیاہ فام یا افریقی امریکی", "سفید فام", "ہسپانوی یا لاطینی", "ایشیائی", "مشرقِ وسطیٰ یا شمالی افریقہ سے",
               "امریکی انڈین یا الاسکا کے مقامی", "ایک سے زیادہ، یا کوئی اور گروہ"]}},
    {"kind": "about", "demographic": "language", "texts": {
        "en": "Which language do you speak most at home?", "es": "¿Qué idioma habla más en casa?",
        "ar": "ما اللغة التي تتحدثها أكثر في البيت؟", "ur": "آپ گھر میں سب سے زیادہ کون سی زبان بولتے ہیں؟"},
     "options": {"en": ["English", "Spanish", "Arabic", "Vietnamese", "French", "Urdu", "Another language"],
                 "es": ["Inglés", "Español", "Árabe", "Vietnamita", "Francés", "Urdu", "Otro idioma"],
                 "ar": ["الإنجليزية", "الإسبانية", "العربية", "الفيتنامية", "الفرنسية", "الأردية", "لغة أخرى"],
                 "ur": ["انگریزی", "ہسپانوی", "عربی", "ویتنامی", "فرانسیسی", "اردو", "کوئی اور زبان"]}},
]


@dataclass(frozen=True)
class Demo:
    """What `chorus demo` prints: the facilitator's email and the session's join code."""

    email: str
    code: str


def demo_languages() -> list[str]:
    """Return the demo's languages: English and Spanish, and Arabic and Urdu when the app offers them."""
    offered = current_app.config["LANGUAGES"]
    return [code for code in ("en", "es", "ar", "ur") if code in offered]


def ensure_demo(db: sqlite_utils.Database, *, password: str) -> Demo:
    """Create (or refresh the password of) the demo facilitator and create the demo session once."""
    from listening.accounts import create_user, set_password, user_by_email

    user = user_by_email(db, DEMO_EMAIL)
    if user is None:
        user_id = create_user(db, DEMO_EMAIL, password, "facilitator")
    else:
        user_id = user["id"]
        set_password(db, user_id, password)
    existing = one(
        db,
        """SELECT s.code FROM sessions s JOIN texts t ON t.owner = 'session' AND t.owner_id = s.id
           WHERE t.field = 'title' AND t.language = 'en' AND t.body = ? ORDER BY s.id LIMIT 1""",
        (TITLE["en"],),
    )
    if existing is not None:
        return Demo(DEMO_EMAIL, existing["code"])
    languages = demo_languages()
    session = create_session(
        db, languages=languages, mode="self_paced", timezone_name="America/New_York", created_by=user_id,
        minutes=10, contact=CONTACT,
        texts={
            "title": {code: TITLE[code] for code in languages},
            "purpose": {code: PURPOSE[code] for code in languages},
            "consent": {code: default_consent(code, minutes=10, contact=CONTACTS[code]) for code in languages},
            "contact": {code: CONTACTS[code] for code in languages},
        },
    )
    for spec in PROMPTS:
        add_prompt(
            db, session["id"], kind=spec["kind"], demographic=spec.get("demographic"),
            texts={code: spec["texts"][code] for code in languages},
            options={code: spec["options"][code] for code in languages} if "options" in spec else None,
            scale_min=spec.get("scale_min"), scale_max=spec.get("scale_max"),
            scale_labels={code: spec["scale_labels"][code] for code in languages} if "scale_labels" in spec else None,
            self_describe=spec.get("self_describe", False),
        )
    snapshot_consent(db, session["id"])
    set_status(db, session["id"], "open")
    from .demo_answers import seed_demo_answers  # made-up residents, so planners have something to review

    seed_demo_answers(db, session["id"], staff_id=user_id)
    return Demo(DEMO_EMAIL, session["code"])
