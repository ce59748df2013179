"""The rules of a survey definition, and its JSON file format `portal-survey/1`.

One place says which settings each question type takes, what a condition may
refer to, and how a definition file looks. The builder forms, the JSON import
and the template loader all validate through these functions, so a bad file is
refused with the location of each problem.

File format::

    {"format": "portal-survey/1", "title": "...", "introduction": "Markdown",
     "anonymous": true, "objective": "E3" | null,
     "audience": {"career_stage": ["early", "mid"]},            # {} = all members
     "breakdown": ["career_stage", "library_type"],  # optional; at most two dimensions
     "sections": [
       {"title": "...", "description": "...",
        "show_if": {"question": "q1", "any_of": ["2"]} | null,
        "questions": [
          {"code": "q1", "type": "single_choice", "prompt": "...", "help": "...",
           "required": true, "settings": {...}, "show_if": null,
           "options": [{"code": "1", "label": "...", "other": false}]}]}]}
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from portal import segments
from portal.models.survey import (
    CHOICE_TYPES,
    DEFAULT_BREAKDOWN,
    MAX_BREAKDOWN,
    OPTION_TYPES,
    SCALE_TYPES,
    QuestionType,
)

FORMAT = "portal-survey/1"
QUESTION_TYPES = [t.value for t in QuestionType]
CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,15}$")
OPTION_CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_]{0,15}$")

LIKERT_LABELS = {
    5: ["Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree",
        "Strongly agree"],
    7: ["Strongly disagree", "Disagree", "Somewhat disagree", "Neither agree nor disagree",
        "Somewhat agree", "Agree", "Strongly agree"],
}
TEXT_LIMITS = {"short_text": (200, 500), "long_text": (2000, 10000)}  # (default, ceiling)
OTHER_TEXT_MAX = 200
MAX_OPTIONS = 50
MAX_TITLE = 200
MAX_PROMPT = 1000
MAX_LABEL = 500


class DefinitionError(ValueError):
    """A survey definition was refused; `problems` lists each with its location."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def default_settings(qtype: str) -> dict[str, Any]:
    if qtype in SCALE_TYPES:
        return {"points": 5, "labels": list(LIKERT_LABELS[5]), "allow_na": False}
    if qtype == "multiple_choice":
        return {"min_selections": 0, "max_selections": None}
    if qtype == "rating_0_10":
        return {"low_label": "Not at all likely", "high_label": "Extremely likely"}
    if qtype == "ranking":
        return {"top_n": 3}
    if qtype == "number":
        return {"min": None, "max": None, "integer": True}
    if qtype in TEXT_LIMITS:
        return {"max_length": TEXT_LIMITS[qtype][0]}
    if qtype == "date":
        return {"min": None, "max": None}
    return {}


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def normalise_settings(qtype: str, raw: dict[str, Any] | None, n_options: int
                       ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Fill defaults and check the settings of a question of type `qtype`.

    Returns (settings, problems) where each problem is (setting key, message).
    """
    raw = dict(raw or {})
    out = default_settings(qtype)
    problems: list[tuple[str, str]] = []
    unknown = set(raw) - set(out)
    for key in sorted(unknown):
        problems.append((key, f"'{key}' is not a setting of a {qtype} question"))
    if qtype in SCALE_TYPES:
        points = _int(raw.get("points", 5))
        if points not in (5, 7):
            problems.append(("points", "a Likert scale has 5 or 7 points"))
            points = 5
        labels = raw.get("labels", LIKERT_LABELS[points])
        if (not isinstance(labels, list) or len(labels) != points
                or not all(isinstance(x, str) and x.strip() for x in labels)):
            problems.append(("labels", f"give exactly {points} labels, one for each point"))
            labels = LIKERT_LABELS[points]
        elif any(len(x) > 100 for x in labels):
            problems.append(("labels", "each label must be 100 characters or fewer"))
        out.update(points=points, labels=[x.strip() for x in labels],
                   allow_na=bool(raw.get("allow_na", False)))
    elif qtype == "multiple_choice":
        lo = _int(raw.get("min_selections", 0))
        hi = raw.get("max_selections")
        hi = None if hi is None else _int(hi)
        if lo is None or lo < 0:
            problems.append(("min_selections", "the minimum must be a whole number, 0 or more"))
            lo = 0
        if raw.get("max_selections") is not None and (hi is None or hi < 1):
            problems.append(("max_selections", "the maximum must be a whole number, 1 or more"))
            hi = None
        if hi is not None and lo > hi:
            problems.append(("min_selections", "the minimum is larger than the maximum"))
        if n_options and lo > n_options:
            problems.append(("min_selections", "the minimum is larger than the number of "
                                               "options"))
        out.update(min_selections=lo, max_selections=hi)
    elif qtype == "rating_0_10":
        for key in ("low_label", "high_label"):
            value = raw.get(key, out[key])
            if not isinstance(value, str) or len(value) > 100:
                problems.append((key, "a label of at most 100 characters"))
            else:
                out[key] = value.strip()
    elif qtype == "ranking":
        top = _int(raw.get("top_n", 3))
        if top is None or top < 1:
            problems.append(("top_n", "rank at least the top 1"))
            top = 1
        elif n_options and top > n_options:
            problems.append(("top_n", f"cannot rank the top {top} of {n_options} options"))
        out["top_n"] = top
    elif qtype == "number":
        lo, hi = raw.get("min"), raw.get("max")
        if lo is not None and _number(lo) is None:
            problems.append(("min", "the minimum must be a number"))
            lo = None
        if hi is not None and _number(hi) is None:
            problems.append(("max", "the maximum must be a number"))
            hi = None
        if lo is not None and hi is not None and lo > hi:
            problems.append(("min", "the minimum is larger than the maximum"))
        integer = bool(raw.get("integer", True))
        if integer and ((lo is not None and float(lo) != int(lo))
                        or (hi is not None and float(hi) != int(hi))):
            problems.append(("integer", "whole-number questions need whole-number limits"))
        out.update(min=lo, max=hi, integer=integer)
    elif qtype in TEXT_LIMITS:
        ceiling = TEXT_LIMITS[qtype][1]
        n = _int(raw.get("max_length", TEXT_LIMITS[qtype][0]))
        if n is None or not 1 <= n <= ceiling:
            problems.append(("max_length", f"the maximum length is between 1 and {ceiling}"))
            n = TEXT_LIMITS[qtype][0]
        out["max_length"] = n
    elif qtype == "date":
        for key in ("min", "max"):
            value = raw.get(key)
            if value is not None:
                try:
                    date.fromisoformat(value)
                except (TypeError, ValueError):
                    problems.append((key, "a date written YYYY-MM-DD"))
                    value = None
            out[key] = value
        if out["min"] and out["max"] and out["min"] > out["max"]:
            problems.append(("min", "the earliest date is after the latest"))
    return out, problems


def check_condition(show_if: Any, earlier: dict[str, set[str]]) -> list[str]:
    """Problems with a condition. `earlier` maps the codes of choice questions in
    EARLIER sections to their option codes: the server evaluates logic section by
    section, so a condition can only look back at pages already answered."""
    if show_if is None:
        return []
    if not isinstance(show_if, dict) or set(show_if) != {"question", "any_of"}:
        return ['a condition is {"question": CODE, "any_of": [OPTION CODES]}']
    code, any_of = show_if["question"], show_if["any_of"]
    if code not in earlier:
        return [f"'{code}' is not a choice question in an earlier section"]
    if not isinstance(any_of, list) or not any_of:
        return ["list at least one option of the earlier question"]
    missing = [c for c in any_of if c not in earlier[code]]
    if missing:
        return [f"'{code}' has no option {', '.join(map(str, missing))}"]
    return []


def _text(obj: dict, key: str, where: str, problems: list[str], *, required: bool = True,
          max_len: int = 10000) -> str:
    value = obj.get(key, "" if not required else None)
    if value is None or (required and isinstance(value, str) and not value.strip()):
        problems.append(f"{where}.{key}: required")
        return ""
    if not isinstance(value, str):
        problems.append(f"{where}.{key}: must be text")
        return ""
    if len(value) > max_len:
        problems.append(f"{where}.{key}: at most {max_len} characters")
    return value.strip()


def validate(data: Any, *, allow_empty: bool = False) -> dict[str, Any]:
    """Check a decoded definition and return it normalised, or raise DefinitionError.

    `allow_empty` accepts sections without questions (a survey being built)."""
    problems: list[str] = []
    if not isinstance(data, dict):
        raise DefinitionError(["(top level): must be a JSON object"])
    if data.get("format") != FORMAT:
        problems.append(f'format: must be "{FORMAT}"')
    known_top = {"format", "title", "introduction", "anonymous", "objective", "audience",
                 "breakdown", "sections"}
    for key in sorted(set(data) - known_top):
        problems.append(f"{key}: unknown field")
    out: dict[str, Any] = {"format": FORMAT}
    out["title"] = _text(data, "title", "survey", problems, max_len=MAX_TITLE)
    out["introduction"] = _text(data, "introduction", "survey", problems, required=False,
                                max_len=20000)
    anonymous = data.get("anonymous", True)
    if not isinstance(anonymous, bool):
        problems.append("survey.anonymous: true or false")
    out["anonymous"] = bool(anonymous)
    objective = data.get("objective")
    if objective is not None and not isinstance(objective, str):
        problems.append("survey.objective: an objective code such as \"E3\", or null")
        objective = None
    out["objective"] = objective
    out["audience"] = _validate_audience(data.get("audience", {}), problems)
    breakdown = data.get("breakdown", list(DEFAULT_BREAKDOWN))
    if (not isinstance(breakdown, list) or len(breakdown) > MAX_BREAKDOWN
            or any(k not in segments.KEYS for k in breakdown)
            or len(set(breakdown)) != len(breakdown)):
        problems.append(f"survey.breakdown: a list of at most {MAX_BREAKDOWN} different "
                        f"segment dimensions ({', '.join(segments.KEYS)})")
        breakdown = list(DEFAULT_BREAKDOWN)
    out["breakdown"] = [k for k in segments.KEYS if k in breakdown]
    sections = data.get("sections")
    if not isinstance(sections, list) or not sections:
        problems.append("sections: list at least one section")
        sections = []
    out["sections"] = []
    earlier: dict[str, set[str]] = {}
    seen_codes: set[str] = set()
    for si, sec in enumerate(sections):
        where = f"sections[{si}]"
        if not isinstance(sec, dict):
            problems.append(f"{where}: must be an object")
            continue
        for key in sorted(set(sec) - {"title", "description", "show_if", "questions"}):
            problems.append(f"{where}.{key}: unknown field")
        s_out = {"title": _text(sec, "title", where, problems, max_len=MAX_TITLE),
                 "description": _text(sec, "description", where, problems, required=False),
                 "show_if": sec.get("show_if"), "questions": []}
        for msg in check_condition(s_out["show_if"], earlier):
            problems.append(f"{where}.show_if: {msg}")
        this_section: dict[str, set[str]] = {}
        questions = sec.get("questions")
        if not isinstance(questions, list) or (not questions and not allow_empty):
            problems.append(f"{where}.questions: list at least one question")
            questions = []
        for qi, q in enumerate(questions):
            q_out = _validate_question(q, f"{where}.questions[{qi}]", earlier, seen_codes,
                                       problems)
            if q_out is None:
                continue
            s_out["questions"].append(q_out)
            if q_out["type"] in CHOICE_TYPES:
                this_section[q_out["code"]] = {o["code"] for o in q_out["options"]}
        earlier.update(this_section)
        out["sections"].append(s_out)
    if problems:
        raise DefinitionError(problems)
    return out


def _validate_audience(raw: Any, problems: list[str]) -> dict[str, list[str]]:
    if raw in (None, {}):
        return {}
    if not isinstance(raw, dict):
        problems.append("audience: an object of segment: [codes], or {} for all members")
        return {}
    out: dict[str, list[str]] = {}
    for key, codes in raw.items():
        dim = segments.get(key)
        if dim is None:
            problems.append(f"audience.{key}: unknown segment (one of {', '.join(segments.KEYS)})")
            continue
        if not isinstance(codes, list) or not codes:
            problems.append(f"audience.{key}: list at least one value")
            continue
        bad = [c for c in codes if c not in dim.codes]
        if bad:
            problems.append(f"audience.{key}: unknown value(s) {', '.join(map(str, bad))}")
            continue
        out[key] = list(dict.fromkeys(codes))
    return out


def _validate_question(q: Any, where: str, earlier: dict[str, set[str]], seen: set[str],
                       problems: list[str]) -> dict[str, Any] | None:
    if not isinstance(q, dict):
        problems.append(f"{where}: must be an object")
        return None
    known = {"code", "type", "prompt", "help", "required", "settings", "show_if", "options"}
    for key in sorted(set(q) - known):
        problems.append(f"{where}.{key}: unknown field")
    code = q.get("code")
    if not isinstance(code, str) or not CODE_RE.match(code):
        problems.append(f"{where}.code: 1-16 lower-case letters, digits or _, starting "
                        "with a letter")
    elif code in seen:
        problems.append(f"{where}.code: '{code}' is used twice")
    else:
        seen.add(code)
    qtype = q.get("type")
    if qtype not in QUESTION_TYPES:
        problems.append(f"{where}.type: one of {', '.join(QUESTION_TYPES)}")
        return None
    out: dict[str, Any] = {
        "code": code, "type": qtype,
        "prompt": _text(q, "prompt", where, problems, max_len=MAX_PROMPT),
        "help": _text(q, "help", where, problems, required=False, max_len=MAX_PROMPT),
        "required": q.get("required", False), "show_if": q.get("show_if"), "options": [],
    }
    if not isinstance(out["required"], bool):
        problems.append(f"{where}.required: true or false")
    options = q.get("options", [])
    if qtype in OPTION_TYPES:
        if not isinstance(options, list) or len(options) < (1 if qtype == "likert_matrix"
                                                            else 2):
            problems.append(f"{where}.options: list at least "
                            f"{'one statement' if qtype == 'likert_matrix' else 'two options'}")
            options = []
        if len(options) > MAX_OPTIONS:
            problems.append(f"{where}.options: at most {MAX_OPTIONS}")
        seen_opt: set[str] = set()
        others = 0
        for oi, opt in enumerate(options):
            ow = f"{where}.options[{oi}]"
            if not isinstance(opt, dict):
                problems.append(f"{ow}: must be an object")
                continue
            for key in sorted(set(opt) - {"code", "label", "other"}):
                problems.append(f"{ow}.{key}: unknown field")
            ocode = opt.get("code")
            if not isinstance(ocode, str) or not OPTION_CODE_RE.match(ocode):
                problems.append(f"{ow}.code: 1-16 lower-case letters, digits or _")
            elif ocode in seen_opt:
                problems.append(f"{ow}.code: '{ocode}' is used twice")
            seen_opt.add(str(ocode))
            label = _text(opt, "label", ow, problems, max_len=MAX_LABEL)
            other = opt.get("other", False)
            if not isinstance(other, bool):
                problems.append(f"{ow}.other: true or false")
            if other:
                others += 1
                if qtype not in CHOICE_TYPES:
                    problems.append(f"{ow}.other: only choice questions offer 'Other'")
            out["options"].append({"code": ocode, "label": label, "other": bool(other)})
        if others > 1:
            problems.append(f"{where}.options: at most one 'Other' option")
    elif options:
        problems.append(f"{where}.options: a {qtype} question has no options")
    settings, setting_problems = normalise_settings(qtype, q.get("settings"),
                                                    len(out["options"]))
    for key, msg in setting_problems:
        problems.append(f"{where}.settings.{key}: {msg}")
    out["settings"] = settings
    for msg in check_condition(out["show_if"], earlier):
        problems.append(f"{where}.show_if: {msg}")
    return out


def parse(text: str | bytes) -> dict[str, Any]:
    """Decode and validate a definition file."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        where = f"line {line}, column {exc.colno}" if line else "(file)"
        raise DefinitionError([f"{where}: not valid JSON ({getattr(exc, 'msg', exc)})"])
    return validate(data)


def export(survey) -> dict[str, Any]:
    """The definition of `survey` in the file format (round-trips through `parse`)."""
    return {
        "format": FORMAT,
        "title": survey.title,
        "introduction": survey.introduction or "",
        "anonymous": survey.anonymous,
        "objective": survey.objective.code if survey.objective else None,
        "audience": survey.audience or {},
        "breakdown": list(survey.breakdown_keys),
        "sections": [
            {"title": s.title, "description": s.description or "", "show_if": s.show_if,
             "questions": [
                 {"code": q.code, "type": q.type, "prompt": q.prompt, "help": q.help_text or "",
                  "required": q.required, "settings": q.settings or {}, "show_if": q.show_if,
                  "options": [{"code": o.code, "label": o.label, "other": o.is_other}
                              for o in q.options]}
                 for q in s.questions]}
            for s in survey.sections],
    }


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
