"""Russian phrasing for automatic messages: verb gender from the first name, the subject in the dative."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# «занятие по …»: the dative of each Subject value (kruzhok.school.models.Subject).
SUBJECT_DATIVE = {
    "robotics": "робототехнике",
    "programming": "программированию",
    "english": "английскому языку",
    "chess": "шахматам",
    "drawing": "рисованию",
    "dance": "танцам",
    "music": "музыке",
    "math": "математике",
    "sports": "спорту",
    "theatre": "театральному мастерству",
    "science": "естественным наукам",
}

# Names ending in -а/-я that are boys' names, and names used for both.
MALE_A_NAMES = {
    "никита", "илья", "кузьма", "фома", "лука", "савва", "миша", "дима", "ваня", "петя", "коля", "паша",
    "гоша", "лёша", "леша", "вова", "сёма", "сема", "серёжа", "сережа", "гриша", "стёпа", "степа", "лёва",
    "лева", "тёма", "тема", "федя", "юра", "толя", "боря", "витя", "костя", "егорка", "данила", "даня",
}  # fmt: skip
UNISEX_NAMES = {"саша", "женя", "валя", "слава", "шура", "сева", "ника"}


def absence_verb(first_name: str) -> str:
    name = (first_name or "").strip().lower()
    if name in UNISEX_NAMES:
        return "не пришёл(ла)"
    if name.endswith(("а", "я")) and name not in MALE_A_NAMES:
        return "не пришла"
    return "не пришёл"


def lesson_phrase(*, subject: str, course_title: str) -> str:
    dative = SUBJECT_DATIVE.get(subject)
    return f"на занятие по {dative}" if dative else f"на занятие «{course_title}»"


VARIABLE = re.compile(r"\{([^{}\n]{0,40})\}")
# Names a template may use, Russian first; each maps to a key of the render context.
VARIABLES = {
    "ребёнок": "child",
    "ребенок": "child",
    "child": "child",
    "родитель": "parent",
    "parent": "parent",
    "группа": "group",
    "group": "group",
    "курс": "course",
    "course": "course",
    "центр": "org",
    "org": "org",
}


def template_check(text: str) -> None:
    unknown = sorted({name for name in VARIABLE.findall(text) if name.strip() not in VARIABLES})
    if unknown:
        raise ValidationError(
            _(
                "В шаблоне неизвестные переменные: %(names)s. Можно: {ребёнок}, {родитель}, {группа}, {курс}, {центр}."
            ),
            code="unknown_variable",
            params={"names": ", ".join("{" + name + "}" for name in unknown)},
        )


def template_render(text: str, context: dict[str, str]) -> str:
    """Substitutes {variables} by plain replacement: never str.format, which would let a template
    reach into object attributes."""
    template_check(text)

    def replace(match: re.Match) -> str:
        value = context.get(VARIABLES[match.group(1).strip()])
        if value is None or value == "":
            raise ValidationError(
                _("Для переменной {%(name)s} нет значения у этого получателя."),
                code="missing_variable",
                params={"name": match.group(1)},
            )
        return str(value)

    return VARIABLE.sub(replace, text)
