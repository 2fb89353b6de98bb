"""What decides the meaning of an ambiguous word in a job text (data for the reader).

A skill alias that is also an ordinary word or a short acronym ("Go", "EMR", "SQLs",
"Spark", "monitoring", "contracts") counts as that skill only when the text around it or
the document as a whole is about the skill's field. Fields are coarse groups of skill
categories; a document's field support comes from its unambiguous skills and from a few
cue words per field. Everything here was written from the meaning of the words, and
checked against the labelled ads in tests/eval (docs/recommendations.md).
"""

from __future__ import annotations

from dataclasses import dataclass

# Skill category -> field. "business" skills (communication, leadership...) belong to
# every field, so they need no support.
FIELD_OF_CATEGORY: dict[str, str] = {
    **dict.fromkeys(
        (
            "programming web backend engineering database data ml cloud devops qa mobile it "
            "security"
        ).split(),
        "tech",
    ),
    **{c: c for c in "healthcare sales marketing customer finance people education".split()},
    **{c: c for c in "design product operations".split()},
    "business": "",
}

# Words (normalised by the tokenizer: lower case, light stemming) that show what field a
# text is about, without being skills themselves.
CUES: dict[str, frozenset[str]] = {
    field: frozenset(words.split())
    for field, words in {
        "tech": "software developer engineering code coding backend frontend api platform "
        "cloud infrastructure pipeline database devops programming stack deploy deployment "
        "server app application microservice data analytic warehouse model repository",
        "healthcare": "patient clinic clinical hospital medical physician nurse nursing "
        "healthcare health chart provider practice diagnosis",
        "sales": "sale selling lead prospect deal quota account revenue buyer",
        "marketing": "marketing campaign brand content audience organic paid",
        "finance": "finance financial accounting invoice ledger payment bank treasury "
        "accountant expense",
        "people": "hr hiring employee candidate recruiter talent workforce",
        "education": "student pupil school classroom teacher learner curriculum lesson",
        "design": "designer interface visual portfolio mockup creative",
        "product": "product roadmap feature discovery backlog launch",
        "operations": "operation warehouse logistic supply inventory process project "
        "shipment procurement",
        "customer": "customer ticket client support",
    }.items()
}

# Single words that are ordinary English (or acronyms with several meanings) before
# they are skills: each needs its field in the document or confirming words nearby.
ORDINARY = frozenset(
    """5s accessibility accreditation adp ai animation ats audit backlog bi branding budget
    c coaching collection compensation compliance container contract cpa cpc cpt crm cro
    csm dag dart dashboard debugging demo diagnostic dns elt emr erm evp excel
    experimentation express firewall forecasting forensic freight go grading grc
    grievance gtm hcpc helm him hive ia iam induction kpi kpis lean logging ml monitoring
    mockup mql newsletter outbound payer pm pmp positioning ppc presentation presenting
    pricing procurement prototype purchasing qa quota r rag rail react renewal
    retrospective roa rto rust safe sap sem sen sketch soc spark sprint sql stat statistic
    survey swift tax tracing ts ui ux vat voc warehousing webinar workday xd jest empathy
    illustrator stakeholder sox""".split()
)


@dataclass(frozen=True, slots=True)
class Sense:
    """Extra conditions for one ambiguous word.

    ``forms``: spellings accepted as written (empty: any case). ``context``: words that
    confirm the skill within ``window`` tokens. ``fields``: document fields that confirm
    it (default: the skill's own field; empty tuple with ``context_only`` means only
    nearby words can). ``veto_before``/``veto_after``: neighbours that rule it out.
    """

    forms: frozenset[str] = frozenset()
    context: frozenset[str] = frozenset()
    context_only: bool = False
    universal: bool = False
    veto_before: frozenset[str] = frozenset()
    veto_after: frozenset[str] = frozenset()
    window: int = 6


def _s(
    forms: str = "",
    context: str = "",
    *,
    only: bool = False,
    universal: bool = False,
    before: str = "",
    after: str = "",
) -> Sense:
    return Sense(
        frozenset(forms.split()),
        frozenset(context.split()),
        only,
        universal,
        frozenset(before.split()),
        frozenset(after.split()),
    )


_LANG = "language programming developer engineer backend service code concurrency"
SENSES: dict[str, Sense] = {
    "go": _s("Go GO", _LANG + " goroutine golang"),
    "r": _s("R", "statistic statistical language programming regression cran shiny rstudio"),
    "c": _s("C", "language programming embedded firmware pointer kernel microcontroller"),
    "swift": _s("Swift", "ios xcode apple swiftui iphone app mobile", after="and code"),
    "spark": _s("Spark", "apache pyspark databrick emr data pipeline scala hadoop"),
    "rust": _s("Rust", _LANG + " cargo tokio memory"),
    "excel": _s("Excel EXCEL", after="at in", universal=True),
    "stakeholder": _s(universal=True),
    "react": _s("React REACT", "javascript typescript frontend component redux next js"),
    "express": _s("Express", "node nodej javascript api backend"),
    "lean": _s("Lean LEAN lean", "six sigma kaizen waste manufacturing value stream"),
    "safe": _s("SAFe", "agile scaled framework"),
    "sketch": _s("Sketch", "figma design ui ux prototype"),
    "dart": _s("Dart", "flutter language"),
    "helm": _s("Helm", "kubernete chart k8"),
    "jest": _s("Jest", "test testing javascript typescript"),
    "sap": _s("SAP", "erp s 4hana finance procurement supply chain"),
    "hive": _s("Hive", "hadoop spark sql data"),
    "rail": _s("Rails", "ruby"),
    "ts": _s("TS", "javascript typescript node"),
    "ats": _s("ATS", "recruiting candidate greenhouse lever applicant"),
    "pm": _s("PM", "product roadmap backlog feature"),
    "ai": _s(
        "AI",
        "model engineer engineering research learning neural deep training llm genai "
        "inference agent",
        only=True,
    ),
    "ml": _s("ML", "model engineer engineering learning training pipeline production"),
    "bi": _s("BI", "dashboard reporting tableau power looker analyst analytic data"),
    "ui": _s("UI UX/UI", "design designer figma interface visual", after="test"),
    "ux": _s("UX", "design designer figma research interaction", after="researcher writer"),
    "ia": _s("IA", "design ux navigation content"),
    "xd": _s("XD"),
    "him": _s("HIM"),
    "sen": _s("SEN"),
    "emr": _s("EMR", before="aws amazon"),
    "sql": _s("SQL SQLs", "data query database warehouse table report analytic python"),
    "mql": _s("MQL MQLs"),
    "csm": _s("CSM", after="certification certified", before="psm"),
    "cpc": _s("CPC", "coder coding medical icd cpt", only=True),
    "hcpc": _s("HCPCS", "coding medical cpt icd"),
    "soc": _s("SOC", "security analyst alert siem"),
    "rag": _s("RAG", "llm retrieval generation vector embedding"),
    "gtm": _s("GTM", "launch market product sales"),
    "qa": _s("QA", "test testing quality engineer automation manual"),
}

# Words that negate the mention right after them ("no ML background required").
NEGATIONS = frozenset({"no", "without", "not"})
