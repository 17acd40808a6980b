"""A hand-labelled set of synthetic answers for measuring the name detector (never real residents).

Each case is (language, sentence); a personal name is written between double brackets, as in
"Dr. [[Patel]] was kind". Sentences without brackets name nobody. The set mixes names after
cues (what the detector is for), names without any cue (which it is not expected to find, so
recall is honest), and cues followed by words that are not names ("I'm Black", "Dr.
appointments", "la doctora fue amable"), with the session vocabulary below.

DEV was used while writing the detector; HELDOUT was written after its first version and only
scored; HARD was written last to trip it on purpose. Neither was tuned on.
"""
from __future__ import annotations

# Words of the session these answers belong to (its title, purpose, questions and choices).
VOCABULARY = frozenset(
    "Healthy babies in Guilford County what helps and what gets in the way Cone Health Women's Hospital "
    "WIC Medicaid Black or African American Hispanic or Latino White Asian Native American "
    "Bebés sanos en el condado de Guilford".split()
)

DEV = [
    # English
    ("en", "Dr. [[Patel]] listened to me and explained everything."),
    ("en", "Nurse [[Keisha]] at the clinic was the only one who called me back."),
    ("en", "My name is [[Tanisha Brown]] and I had my baby at Cone Health."),
    ("en", "I'm [[Maria]], I have three kids and no car."),
    ("en", "I'm Black and the doctors did not believe my pain."),
    ("en", "I'm so tired of waiting two hours for Dr. appointments."),
    ("en", "Ms. [[Johnson]] from the WIC office helped me fill the forms."),
    ("en", "My son [[Jayden]] was born early and stayed in the NICU for weeks."),
    ("en", "The midwife was kind but the front desk was rude."),
    ("en", "Mr. [[O'Brien]] drove me to every appointment."),
    ("en", "[[Keisha]] helped me more than anyone."),
    ("en", "A nurse named [[Rosa]] translated for me when nobody else would."),
    ("en", "I am Hispanic and they never had an interpreter."),
    ("en", "Guilford County needs more buses on Sunday."),
    ("en", "My doula, [[Aaliyah]], stayed with me all night."),
    ("en", "Dr. [[Ana Lopez]] and her team at Women's Hospital were wonderful."),
    ("en", "I am a single mom and I work nights."),
    ("en", "The Medicaid office lost my papers twice."),
    # Spanish
    ("es", "La Dra. [[García]] me explicó todo en español."),
    ("es", "Me llamo [[Ana]] y tengo dos hijos."),
    ("es", "Soy Latina y en la clínica no había nadie que hablara español."),
    ("es", "La enfermera [[Lupita]] siempre me llamaba para ver cómo estaba."),
    ("es", "Mi hija [[Valeria]] nació prematura."),
    ("es", "La doctora fue muy amable conmigo."),
    ("es", "Necesitamos más transporte para las citas médicas."),
    ("es", "El Sr. [[Ramírez]] de la iglesia nos llevaba al hospital."),
    ("es", "Mi nombre es [[María de la Cruz]] y vivo en Guilford."),
    ("es", "Doña [[Carmen]] cuidaba a mis hijos cuando yo iba a las citas."),
    ("es", "Soy de Honduras y no entiendo bien el inglés."),
    ("es", "[[Rosa]] me ayudó a llenar los papeles de Medicaid."),
    # French
    ("fr", "Je m'appelle [[Fatou]] et je suis arrivée l'année dernière."),
    ("fr", "Mme [[Diallo]] m'a aidée à trouver une sage-femme."),
    ("fr", "Le docteur [[Mbeki]] ne parlait pas français."),
    ("fr", "Je suis Congolaise et personne ne parlait ma langue."),
    ("fr", "L'infirmière était très gentille avec moi."),
    ("fr", "Ma fille [[Aminata]] est née à l'hôpital de Greensboro."),
    ("fr", "M. [[Dupont]] nous a conduits à tous les rendez-vous."),
    ("fr", "Il faut plus d'interprètes à la clinique."),
    ("fr", "Je suis seule avec trois enfants."),
    ("fr", "[[Awa]] m'a beaucoup aidée pendant la grossesse."),
    # Vietnamese
    ("vi", "Bác sĩ [[Trần]] rất tận tình với tôi."),
    ("vi", "Tên tôi là [[Nguyễn Thị Lan]], tôi có hai con."),
    ("vi", "Chị [[Hoa]] ở nhà thờ giúp tôi đi khám thai."),
    ("vi", "Y tá [[Mai]] nói tiếng Việt nên tôi hiểu hết."),
    ("vi", "Tôi cần thông dịch viên khi đi khám."),
    ("vi", "Cô ấy rất tốt nhưng không hiểu tôi nói gì."),
    ("vi", "Tôi là người Việt và không biết tiếng Anh."),
    ("vi", "Anh [[Minh]] chở tôi đến bệnh viện mỗi tuần."),
    ("vi", "Phòng khám ở Guilford quá xa nhà tôi."),
    ("vi", "[[Hùng]] là người giúp tôi nhiều nhất."),
    # Arabic
    ("ar", "الدكتورة [[سارة]] كانت لطيفة جدا معي."),
    ("ar", "اسمي [[فاطمة]] ولدي ثلاثة أطفال."),
    ("ar", "الممرضة ساعدتني في فهم الأوراق."),
    ("ar", "السيد [[أحمد]] من المسجد أوصلني إلى المستشفى."),
    ("ar", "نحتاج إلى مترجمين في العيادة."),
    ("ar", "الطبيب لم يستمع إلي."),
    ("ar", "ساعدتني [[مريم]] كثيرا أثناء الحمل."),
    ("ar", "والدكتور [[خالد]] شرح لي كل شيء بالعربية."),
    # Urdu
    ("ur", "میرا نام [[عائشہ]] ہے اور میرے دو بچے ہیں۔"),
    ("ur", "ڈاکٹر [[فرحانہ]] نے میری بہت مدد کی۔"),
    ("ur", "ڈاکٹر صاحب نے میری بات نہیں سنی۔"),
    ("ur", "[[احمد]] صاحب نے ہمیں ہسپتال پہنچایا۔"),
    ("ur", "کلینک میں کوئی اردو بولنے والا نہیں تھا۔"),
    ("ur", "نرس بہت اچھی تھی۔"),
    ("ur", "[[زینب]] نے حمل کے دوران میرا ساتھ دیا۔"),
    ("ur", "مسز [[خان]] نے فارم بھرنے میں مدد کی۔"),
]

HELDOUT = [
    # English
    ("en", "Dr. [[Okafor]] was the first doctor who asked about my stress."),
    ("en", "My partner [[Devon]] had to miss work for every visit."),
    ("en", "I'm African American and I felt judged at the front desk."),
    ("en", "Mrs. [[Whitfield]] at the health department never returned my calls."),
    ("en", "The nurse was in a hurry and didn't explain anything."),
    ("en", "My daughter [[Zoe]] was in the NICU for a month."),
    ("en", "Thank you to Nurse [[Brenda]] and Dr. [[Kim]] for everything."),
    ("en", "[[Jasmine]] from my church drove me to the hospital."),
    ("en", "I'm [[Destiny]] and I was nineteen when I had my first baby."),
    ("en", "We need childcare during appointments."),
    ("en", "I am Muslim and the hospital food was not halal."),
    ("en", "Dr. [[Nguyen]] spoke Vietnamese with my mother."),
    # Spanish
    ("es", "El doctor [[Hernández]] nunca me explicó los resultados."),
    ("es", "Yo soy [[Guadalupe]] y trabajo en una fábrica."),
    ("es", "Soy Mexicana y me trataron diferente por mi acento."),
    ("es", "La enfermera no tenía tiempo para mis preguntas."),
    ("es", "Mi esposo [[Luis]] no podía faltar al trabajo."),
    ("es", "La Sra. [[Pérez]] de WIC me enseñó a dar pecho."),
    ("es", "[[Marisol]] me acompañó al parto."),
    ("es", "No hay autobús los domingos para ir al hospital."),
    # French
    ("fr", "Je suis [[Mariam]] et j'ai accouché à Greensboro."),
    ("fr", "La sage-femme [[Claire]] m'a rassurée."),
    ("fr", "Mon mari [[Ousmane]] travaille la nuit."),
    ("fr", "Je suis enceinte de mon deuxième enfant."),
    ("fr", "Le médecin ne m'a pas écoutée."),
    ("fr", "Mlle [[Kouassi]] traduisait pour moi."),
    ("fr", "[[Binta]] m'a prêté de l'argent pour les médicaments."),
    # Vietnamese
    ("vi", "Cô [[Thảo]] dạy tôi cách cho con bú."),
    ("vi", "Tôi tên là [[Phương]], năm nay tôi ba mươi tuổi."),
    ("vi", "Bác sĩ nói nhanh quá, tôi không hiểu."),
    ("vi", "Bà [[Lê Thị Hạnh]] trông con giúp tôi."),
    ("vi", "Chúng tôi cần xe đưa đón đi khám."),
    ("vi", "Em [[Tuấn]] dịch giúp tôi ở bệnh viện."),
    # Arabic
    ("ar", "الدكتور [[يوسف]] تكلم معي بالعربية."),
    ("ar", "أنا اسمي [[ليلى]] وأسكن في غرينزبورو."),
    ("ar", "الممرضة كانت مستعجلة ولم تشرح لي."),
    ("ar", "السيدة [[نور]] من الجمعية ساعدتني في التأمين."),
    ("ar", "ابني [[عمر]] ولد قبل موعده."),
    ("ar", "لا يوجد مترجم في المستشفى."),
    # Urdu
    ("ur", "ڈاکٹر [[صبا]] نے اردو میں بات کی۔"),
    ("ur", "میرا نام [[نادیہ]] ہے اور میں گرینزبورو میں رہتی ہوں۔"),
    ("ur", "ہسپتال میں کوئی مترجم نہیں تھا۔"),
    ("ur", "[[بلال]] صاحب نے ہمیں گاڑی میں چھوڑا۔"),
    ("ur", "نرس نے مجھے کچھ نہیں بتایا۔"),
    ("ur", "میری بہن [[سدرہ]] میرے ساتھ ہسپتال گئی۔"),
]


# Written last, to trip the detector on purpose: capitalised words after cues that are not
# names, all-capitals and title-case writing, names after cues it does not know. Not tuned on.
HARD = [
    ("en", "I'm Working two jobs and still can't afford the copay."),
    ("en", "I MISS HOME AND MY FAMILY."),
    ("en", "The Nurse Line never answered at night."),
    ("en", "My Baby Girl was born at 32 weeks."),
    ("en", "Please call me Back when the clinic has openings."),
    ("en", "MY NAME IS [[LATOYA]] AND NOBODY LISTENED."),
    ("en", "I'm Really Grateful For The Doulas."),
    ("en", "Don [[Harris]] from the church drove us."),
    ("en", "My friend Group at church helped with meals."),
    ("en", "We saw Dr. [[Abernathy-Lewis]] twice and Dr. [[Chen]] once."),
    ("en", "my nurse [[keisha]] was the best"),
    ("en", "The Baby Cafe in Greensboro helped me breastfeed."),
    ("es", "Soy Madre soltera y trabajo de noche."),
    ("es", "La Doctora Me Explicó Todo Muy Bien."),
    ("es", "Mi Hija Tiene asma y no hay clínica cerca."),
    ("es", "Me llamo [[José Luis]] y mi esposa es [[Rocío]]."),
    ("fr", "Je suis Maman de trois enfants."),
    ("fr", "Madame La Directrice n'a jamais répondu."),
    ("vi", "Chị Em Phụ Nữ Việt giúp đỡ nhau rất nhiều."),
    ("vi", "Bác sĩ Gia Đình của tôi ở rất xa."),
    ("ar", "الدكتورة لطيفة جدا وتسمع لنا."),
    ("ar", "الممرضة [[هدى]] ساعدتني كثيرا."),
    ("ur", "ڈاکٹر بہت مصروف تھیں۔"),
    ("ur", "میری بیٹی [[مریم]] وقت سے پہلے پیدا ہوئی۔"),
]


def parse(marked: str) -> tuple[str, list[tuple[int, int]]]:
    """Return a marked sentence's plain text and the spans of the names marked in it."""
    plain, spans, pos = [], [], 0
    while "[[" in marked[pos:]:
        start = marked.index("[[", pos)
        end = marked.index("]]", start)
        plain.append(marked[pos:start])
        offset = sum(len(p) for p in plain)
        spans.append((offset, offset + end - start - 2))
        plain.append(marked[start + 2:end])
        pos = end + 2
    plain.append(marked[pos:])
    return "".join(plain), spans


def score(cases, find) -> dict[str, dict[str, int]]:
    """Count name words found (tp), wrongly taken (fp) and missed (fn), per language and in all.

    ``find(text)`` returns the spans it takes for names. Words are counted, so finding
    "Ana" of "Ana Lopez" is one hit and one miss.
    """
    import re

    word = re.compile(r"[^\W\d_][\w'’\-]*")
    counts: dict[str, dict[str, int]] = {}
    for language, marked in cases:
        text, gold = parse(marked)
        found = find(text)
        for key in (language, "all"):
            counts.setdefault(key, {"tp": 0, "fp": 0, "fn": 0, "names": 0, "sentences": 0})
            counts[key]["names"] += len(gold)
            counts[key]["sentences"] += 1
        for m in word.finditer(text):
            in_gold = any(a <= m.start() < b for a, b in gold)
            in_found = any(a <= m.start() < b for a, b in found)
            kind = "tp" if in_gold and in_found else "fp" if in_found else "fn" if in_gold else None
            if kind:
                counts[language][kind] += 1
                counts["all"][kind] += 1
    return counts


def precision_recall(counts: dict[str, int]) -> tuple[float, float]:
    """Return precision and recall from counts of hits, wrong takes and misses."""
    taken = counts["tp"] + counts["fp"]
    named = counts["tp"] + counts["fn"]
    return (counts["tp"] / taken if taken else 1.0, counts["tp"] / named if named else 1.0)
