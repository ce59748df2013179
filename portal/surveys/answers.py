"""Answers: reading them from a posted section, checking them, deciding what is shown.

An answer value, as kept in a draft (JSON):

- single_choice   {"option": "2", "other": "text or null"}
- multiple_choice {"options": ["1", "4"], "other": "text or null"}
- likert          int 1..points, 0 = not applicable
- likert_matrix   {"<statement code>": int 1..points or 0}
- rating_0_10     int 0..10
- ranking         ["3", "1", "2"]  option codes, first = rank 1
- number          int or float
- short/long text str
- date            "YYYY-MM-DD"

A missing key means not answered. Form fields are named `q-<code>` (and
`q-<code>-<suffix>` for the parts of a question).
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from werkzeug.datastructures import MultiDict

from portal.models.survey import SurveyQuestion, SurveySection
from portal.surveys.definition import OTHER_TEXT_MAX

NA = 0


def field_name(question: SurveyQuestion, suffix: str | None = None) -> str:
    return f"q-{question.code}" + (f"-{suffix}" if suffix else "")


# Visibility --------------------------------------------------------------------------

def condition_holds(show_if: dict[str, Any] | None, answers: dict[str, Any]) -> bool:
    """True when there is no condition, or the earlier question was answered with one
    of the listed options."""
    if not show_if:
        return True
    value = answers.get(show_if["question"])
    if value is None:
        return False
    chosen = {value.get("option")} if "option" in value else set(value.get("options", []))
    return bool(chosen & set(show_if["any_of"]))


def visible_sections(sections: list[SurveySection], answers: dict[str, Any]
                     ) -> list[SurveySection]:
    return [s for s in sections if condition_holds(s.show_if, answers)]


def possible_sections(sections: list[SurveySection], answers: dict[str, Any],
                      completed: list[int]) -> list[SurveySection]:
    """The sections shown, and those that may still be: their condition's question is in
    a section the member has not gone through yet. Counting these from the start keeps
    "Section 2 of 4" steady; it only drops when an answer rules a section out."""
    section_of = {q.code: s.id for s in sections for q in s.questions}
    out = []
    for s in sections:
        cond = s.show_if
        if condition_holds(cond, answers) or (
                cond.get("question") not in answers
                and section_of.get(cond.get("question")) not in completed):
            out.append(s)
    return out


def visible_questions(section: SurveySection, answers: dict[str, Any]) -> list[SurveyQuestion]:
    return [q for q in section.questions if condition_holds(q.show_if, answers)]


def prune(sections: list[SurveySection], answers: dict[str, Any]) -> dict[str, Any]:
    """Drop answers to questions that earlier answers now hide (in order, so a chain
    of conditions is followed)."""
    kept: dict[str, Any] = {}
    for section in sections:
        if not condition_holds(section.show_if, kept):
            continue
        for q in section.questions:
            if q.code in answers and condition_holds(q.show_if, kept):
                kept[q.code] = answers[q.code]
    return kept


def has_input(question: SurveyQuestion, form: MultiDict) -> bool:
    """Did the form carry anything for this question (used to refuse answers to hidden
    questions)?"""
    prefix = field_name(question)
    return any((k == prefix or k.startswith(prefix + "-")) and any(v.strip() for v in
                                                                   form.getlist(k))
               for k in form)


# Parsing and checking --------------------------------------------------------------

class AnswerError(ValueError):
    pass


def parse_answer(question: SurveyQuestion, form: MultiDict) -> Any:
    """The value posted for `question`, or None when it was left empty.

    Raises AnswerError with a message for the member when the value is not allowed.
    Required questions are checked by `require`, so a member can save a part-filled page.
    """
    parser = _PARSERS[question.type]
    return parser(question, form)


def require(question: SurveyQuestion, value: Any) -> None:
    if not question.required:
        return
    if value is None:
        raise AnswerError("Answer this question.")
    if question.type == "likert_matrix" and len(value) < len(question.options):
        raise AnswerError("Answer every statement.")
    if question.type == "ranking":
        need = min(question.setting("top_n", 1), len(question.options))
        if len(value) < need:
            raise AnswerError(f"Rank your top {need}.")


def _clean(form: MultiDict, name: str) -> str:
    return (form.get(name) or "").strip()


def _other_text(question: SurveyQuestion, form: MultiDict, chosen_other: bool) -> str | None:
    text = _clean(form, field_name(question, "other"))
    if not chosen_other:
        if text:
            raise AnswerError("You wrote a text for 'Other' without choosing 'Other'.")
        return None
    if not text:
        raise AnswerError("Please say what 'Other' is.")
    if len(text) > OTHER_TEXT_MAX:
        raise AnswerError(f"What 'Other' is must be {OTHER_TEXT_MAX} characters or fewer. "
                          f"It has {len(text):,} now: shorten it by "
                          f"{len(text) - OTHER_TEXT_MAX:,}.")
    return text


def _single(question: SurveyQuestion, form: MultiDict) -> Any:
    values = [v for v in form.getlist(field_name(question)) if v.strip()]
    if not values:
        if _clean(form, field_name(question, "other")):
            raise AnswerError("You wrote a text for 'Other' without choosing 'Other'.")
        return None
    if len(values) > 1:
        raise AnswerError("Choose only one option.")
    option = question.option_by_code(values[0])
    if option is None:
        raise AnswerError("Choose one of the options listed.")
    return {"option": option.code, "other": _other_text(question, form, option.is_other)}


def _multiple(question: SurveyQuestion, form: MultiDict) -> Any:
    values = list(dict.fromkeys(v for v in form.getlist(field_name(question)) if v.strip()))
    if not values:
        if _clean(form, field_name(question, "other")):
            raise AnswerError("You wrote a text for 'Other' without choosing 'Other'.")
        return None
    options = [question.option_by_code(v) for v in values]
    if any(o is None for o in options):
        raise AnswerError("Choose only among the options listed.")
    lo = question.setting("min_selections", 0) or 0
    hi = question.setting("max_selections")
    if hi is not None and len(values) > hi:
        raise AnswerError(f"Choose at most {hi} (you chose {len(values)}).")
    if len(values) < lo:
        raise AnswerError(f"Choose at least {lo} (you chose {len(values)}).")
    other = _other_text(question, form, any(o.is_other for o in options))
    order = {o.code: o.position for o in question.options}
    return {"options": sorted(values, key=order.__getitem__), "other": other}


def _scale_value(question: SurveyQuestion, raw: str) -> int:
    points = question.setting("points", 5)
    if raw == "na" and question.setting("allow_na"):
        return NA
    if raw.isdigit() and 1 <= int(raw) <= points:
        return int(raw)
    raise AnswerError("Choose one point on the scale.")


def _likert(question: SurveyQuestion, form: MultiDict) -> Any:
    raw = _clean(form, field_name(question))
    return _scale_value(question, raw) if raw else None


def _matrix(question: SurveyQuestion, form: MultiDict) -> Any:
    out: dict[str, int] = {}
    for statement in question.options:
        raw = _clean(form, field_name(question, statement.code))
        if raw:
            out[statement.code] = _scale_value(question, raw)
    known = {field_name(question, s.code) for s in question.options}
    prefix = field_name(question) + "-"
    if any(k.startswith(prefix) and k not in known and form.get(k) for k in form):
        raise AnswerError("Answer only the statements listed.")
    return out or None


def _rating(question: SurveyQuestion, form: MultiDict) -> Any:
    raw = _clean(form, field_name(question))
    if not raw:
        return None
    if raw.isdigit() and 0 <= int(raw) <= 10:
        return int(raw)
    raise AnswerError("Choose a number from 0 to 10.")


def _ranking(question: SurveyQuestion, form: MultiDict) -> Any:
    top = min(question.setting("top_n", 1), len(question.options))
    picks = [_clean(form, field_name(question, f"rank{i}")) for i in range(1, top + 1)]
    extra = _clean(form, field_name(question, f"rank{top + 1}"))
    if extra:
        raise AnswerError(f"Rank only your top {top}.")
    if not any(picks):
        return None
    filled = [p for p in picks if p]
    if picks[: len(filled)] != filled:
        raise AnswerError("Fill the ranks in order, starting with 1st, without gaps.")
    if any(question.option_by_code(p) is None for p in filled):
        raise AnswerError("Rank only the options listed.")
    if len(set(filled)) != len(filled):
        raise AnswerError("Give each option at most one rank.")
    return filled


def _number(question: SurveyQuestion, form: MultiDict) -> Any:
    raw = _clean(form, field_name(question)).replace(",", "")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise AnswerError("Enter a number, such as 12 or 3.5.")
    if not math.isfinite(value):
        raise AnswerError("Enter a number, such as 12 or 3.5.")
    if question.setting("integer", True):
        if not value.is_integer():
            raise AnswerError("Enter a whole number.")
        value = int(value)
    lo, hi = question.setting("min"), question.setting("max")
    if lo is not None and value < lo:
        raise AnswerError(f"Enter a number of at least {_fmt(lo)}.")
    if hi is not None and value > hi:
        raise AnswerError(f"Enter a number of at most {_fmt(hi)}.")
    return value


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _text(question: SurveyQuestion, form: MultiDict) -> Any:
    raw = (form.get(field_name(question)) or "").replace("\r\n", "\n").strip()
    if not raw:
        return None
    limit = question.setting("max_length", 200)
    if len(raw) > limit:
        raise AnswerError(f"Your answer must be {limit:,} characters or fewer. It has "
                          f"{len(raw):,} now: shorten it by {len(raw) - limit:,}.")
    return raw


def _date(question: SurveyQuestion, form: MultiDict) -> Any:
    raw = _clean(form, field_name(question))
    if not raw:
        return None
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        raise AnswerError("Enter a real date, written YYYY-MM-DD (for example 2025-03-31).")
    if len(raw) != 10:
        raise AnswerError("Enter a real date, written YYYY-MM-DD (for example 2025-03-31).")
    lo, hi = question.setting("min"), question.setting("max")
    if lo and value < date.fromisoformat(lo):
        raise AnswerError(f"Enter a date on or after {lo}.")
    if hi and value > date.fromisoformat(hi):
        raise AnswerError(f"Enter a date on or before {hi}.")
    return value.isoformat()


_PARSERS = {
    "single_choice": _single, "multiple_choice": _multiple, "likert": _likert,
    "likert_matrix": _matrix, "rating_0_10": _rating, "ranking": _ranking,
    "number": _number, "short_text": _text, "long_text": _text, "date": _date,
}


def check_stored(question: SurveyQuestion, value: Any) -> None:
    """Re-check a value from a draft against the current definition (it may have
    changed since the draft was saved). Raises AnswerError."""
    form = MultiDict(to_form(question, value))
    parsed = parse_answer(question, form)
    require(question, parsed)


def to_form(question: SurveyQuestion, value: Any) -> list[tuple[str, str]]:
    """Form pairs that would post `value` (to pre-fill a page and to re-check drafts)."""
    if value is None:
        return []
    name = field_name(question)
    t = question.type
    if t == "single_choice":
        pairs = [(name, value["option"])]
        if value.get("other"):
            pairs.append((field_name(question, "other"), value["other"]))
        return pairs
    if t == "multiple_choice":
        pairs = [(name, c) for c in value["options"]]
        if value.get("other"):
            pairs.append((field_name(question, "other"), value["other"]))
        return pairs
    if t == "likert":
        return [(name, "na" if value == NA else str(value))]
    if t == "likert_matrix":
        return [(field_name(question, k), "na" if v == NA else str(v)) for k, v in value.items()]
    if t == "ranking":
        return [(field_name(question, f"rank{i}"), c) for i, c in enumerate(value, start=1)]
    if t == "number":
        return [(name, _fmt(value))]
    return [(name, str(value))]


# Storage -----------------------------------------------------------------------------

def to_rows(question: SurveyQuestion, value: Any) -> list[dict[str, Any]]:
    """survey_answers rows (item, num_value, text_value) for one answered question."""
    t = question.type
    ids = {o.code: o.id for o in question.options}
    if t == "single_choice":
        return [{"item": ids[value["option"]], "num_value": None, "text_value": value["other"]}]
    if t == "multiple_choice":
        other_code = next((o.code for o in question.options if o.is_other), None)
        return [{"item": ids[c], "num_value": None,
                 "text_value": value["other"] if c == other_code else None}
                for c in value["options"]]
    if t == "likert_matrix":
        return [{"item": ids[c], "num_value": float(v), "text_value": None}
                for c, v in value.items()]
    if t == "ranking":
        return [{"item": ids[c], "num_value": float(i), "text_value": None}
                for i, c in enumerate(value, start=1)]
    if t in ("likert", "rating_0_10", "number"):
        return [{"item": 0, "num_value": float(value), "text_value": None}]
    return [{"item": 0, "num_value": None, "text_value": value}]


def from_rows(question: SurveyQuestion, rows: list[Any]) -> Any:
    """The draft value of stored rows (used to edit an attributed response)."""
    if not rows:
        return None
    codes = {o.id: o.code for o in question.options}
    t = question.type
    if t == "single_choice":
        return {"option": codes[rows[0].item], "other": rows[0].text_value}
    if t == "multiple_choice":
        other = next((r.text_value for r in rows if r.text_value), None)
        order = {o.id: o.position for o in question.options}
        return {"options": [codes[r.item] for r in sorted(rows, key=lambda r: order[r.item])],
                "other": other}
    if t == "likert_matrix":
        return {codes[r.item]: int(r.num_value) for r in rows}
    if t == "ranking":
        return [codes[r.item] for r in sorted(rows, key=lambda r: r.num_value)]
    if t == "number":
        v = rows[0].num_value
        return int(v) if question.setting("integer", True) else v
    if t in ("likert", "rating_0_10"):
        return int(rows[0].num_value)
    return rows[0].text_value


def display(question: SurveyQuestion, value: Any) -> str:
    """A member-readable text of an answer (for the receipt and review page)."""
    if value is None:
        return "Not answered"
    labels = {o.code: o.label for o in question.options}
    t = question.type
    if t == "single_choice":
        text = labels.get(value["option"], value["option"])
        return f"{text}: {value['other']}" if value.get("other") else text
    if t == "multiple_choice":
        parts = [labels.get(c, c) for c in value["options"]]
        if value.get("other"):
            parts.append(f"(other: {value['other']})")
        return "; ".join(parts)
    if t in ("likert", "likert_matrix"):
        scale = dict(question.scale)

        def point(v: int) -> str:
            return "Not applicable" if v == NA else f"{v} – {scale.get(v, v)}"
        if t == "likert":
            return point(value)
        return "; ".join(f"{labels.get(k, k)}: {point(v)}" for k, v in value.items())
    if t == "ranking":
        return "; ".join(f"{i}. {labels.get(c, c)}" for i, c in enumerate(value, start=1))
    if t == "number":
        return _fmt(value)
    return str(value)
