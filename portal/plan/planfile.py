"""The plan data file: a versioned JSON format, its validation and its export.

    {"format": "portal-plan/1", "organization": ..., "title": ..., "mission": ...,
     "vision": ..., "values": [...],
     "domains": [{"code": "A", "title": ..., "goal": ...,
                  "objectives": [{"code": "A1", "text": ...}, ...]}, ...]}

Objectives and domains may carry `"retired": true`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

FORMAT = "portal-plan/1"
TOP_KEYS = ("format", "organization", "title", "mission", "vision", "values", "domains")
DOMAIN_KEYS = ("code", "title", "goal", "objectives", "retired")
OBJECTIVE_KEYS = ("code", "text", "retired")
DOMAIN_CODE = re.compile(r"^[A-Z]{1,8}$")
OBJECTIVE_CODE = re.compile(r"^[A-Z][A-Z0-9.\-]{1,15}$")
MAX_TEXT = 2000


@dataclass(frozen=True)
class Problem:
    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class PlanFileError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def bundled_plan_text() -> str:
    """The ALA plan shipped inside the package."""
    return resources.files("portal.data").joinpath("ala-plan.json").read_text("utf-8")


def parse(text: str) -> dict[str, Any]:
    """Parse and validate a plan file; raise PlanFileError listing every problem."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanFileError([Problem(f"line {exc.lineno}, column {exc.colno}",
                                     f"not valid JSON: {exc.msg}")]) from exc
    problems = validate(data)
    if problems:
        raise PlanFileError(problems)
    return data


def _text(problems: list[Problem], obj: dict, key: str, where: str) -> None:
    value = obj.get(key)
    if key not in obj:
        problems.append(Problem(where, f"missing key '{key}'"))
    elif not isinstance(value, str) or not value.strip():
        problems.append(Problem(f"{where}.{key}", "must be a non-empty text"))
    elif len(value) > MAX_TEXT:
        problems.append(Problem(f"{where}.{key}", f"is longer than {MAX_TEXT} characters"))


def _unknown(problems: list[Problem], obj: dict, allowed: tuple[str, ...], where: str) -> None:
    for key in obj:
        if key not in allowed:
            problems.append(Problem(f"{where}.{key}", f"unknown key '{key}'"))


def validate(data: Any) -> list[Problem]:
    """Every problem in a parsed plan file, each with its location."""
    problems: list[Problem] = []
    if not isinstance(data, dict):
        return [Problem("$", "the file must hold a JSON object")]
    _unknown(problems, data, TOP_KEYS, "$")
    if data.get("format") != FORMAT:
        problems.append(Problem("$.format", f"must be '{FORMAT}'"))
    for key in ("organization", "title", "mission", "vision"):
        _text(problems, data, key, "$")

    values = data.get("values")
    if not isinstance(values, list) or not values:
        problems.append(Problem("$.values", "must be a non-empty list of texts"))
    else:
        seen: set[str] = set()
        for i, v in enumerate(values):
            if not isinstance(v, str) or not v.strip():
                problems.append(Problem(f"$.values[{i}]", "must be a non-empty text"))
            elif v in seen:
                problems.append(Problem(f"$.values[{i}]", f"duplicate value '{v}'"))
            else:
                seen.add(v)

    domains = data.get("domains")
    if not isinstance(domains, list) or not domains:
        problems.append(Problem("$.domains", "must be a non-empty list of domains"))
        return problems
    domain_codes: dict[str, str] = {}
    objective_codes: dict[str, str] = {}
    for i, dom in enumerate(domains):
        where = f"$.domains[{i}]"
        if not isinstance(dom, dict):
            problems.append(Problem(where, "must be an object"))
            continue
        _unknown(problems, dom, DOMAIN_KEYS, where)
        _text(problems, dom, "title", where)
        _text(problems, dom, "goal", where)
        _retired_flag(problems, dom, where)
        code = dom.get("code")
        if not isinstance(code, str) or not DOMAIN_CODE.match(code):
            problems.append(Problem(f"{where}.code", "must be 1 to 8 capital letters"))
        elif code in domain_codes:
            problems.append(Problem(
                f"{where}.code", f"duplicate domain code '{code}' (also at {domain_codes[code]})"
            ))
        else:
            domain_codes[code] = where
        objectives = dom.get("objectives")
        if not isinstance(objectives, list) or not objectives:
            problems.append(Problem(f"{where}.objectives", "a domain needs at least one objective"))
            continue
        for j, obj in enumerate(objectives):
            owhere = f"{where}.objectives[{j}]"
            if not isinstance(obj, dict):
                problems.append(Problem(owhere, "must be an object"))
                continue
            _unknown(problems, obj, OBJECTIVE_KEYS, owhere)
            _text(problems, obj, "text", owhere)
            _retired_flag(problems, obj, owhere)
            ocode = obj.get("code")
            if not isinstance(ocode, str) or not OBJECTIVE_CODE.match(ocode):
                problems.append(Problem(f"{owhere}.code",
                                        "must start with a capital letter, 2 to 16 characters "
                                        "of capitals, digits, '.' or '-'"))
            elif ocode in objective_codes:
                problems.append(Problem(f"{owhere}.code",
                                        f"duplicate objective code '{ocode}' "
                                        f"(also at {objective_codes[ocode]})"))
            else:
                objective_codes[ocode] = owhere
    return problems


def _retired_flag(problems: list[Problem], obj: dict, where: str) -> None:
    if "retired" in obj and not isinstance(obj["retired"], bool):
        problems.append(Problem(f"{where}.retired", "must be true or false"))


def dumps(data: dict[str, Any]) -> str:
    """The canonical text of a plan file (what `flask plan export` prints)."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
