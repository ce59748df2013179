"""The member roster: CSV parsing with line-numbered problems, all-or-nothing import.

Columns (a header line is required, names in any order and case):

    member_id, email, membership_type        required
    career_stage, library_type, work_role, region    optional

Segment values may be given as codes or labels from portal/segments.py. The
file replaces the whole roster; nothing is imported while any line has a problem.
Flush, never commit.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email

from portal import audit, segments
from portal.extensions import db
from portal.models import (
    ReportParticipation,
    RosterEntry,
    SurveyParticipation,
    SurveyResponse,
    User,
)

REQUIRED = ("member_id", "email", "membership_type")
OPTIONAL = ("career_stage", "library_type", "work_role", "region")
ALIASES = {"member_number": "member_id", "member id": "member_id", "e-mail": "email"}
MAX_ROWS = 200_000


@dataclass(frozen=True)
class RosterProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class RosterError(ValueError):
    def __init__(self, problems: list[RosterProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems[:5]))
        self.problems = problems


def decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RosterError([RosterProblem(1, "the file is not UTF-8 text (save it as "
                                            "'CSV UTF-8')")]) from exc


def _segment_code(key: str, value: str) -> str | None:
    dim = segments.BY_KEY[key]
    wanted = value.strip().casefold()
    for code, label in dim.choices:
        if wanted in (code.casefold(), label.casefold()):
            return code
    return None


def parse(text: str) -> list[dict]:
    """Rows as dicts ready for RosterEntry; raises RosterError listing every problem."""
    if "\x00" in text:
        raise RosterError([RosterProblem(1, "the file is not a text CSV file")])
    reader = csv.reader(io.StringIO(text, newline=""))
    problems: list[RosterProblem] = []
    try:
        header = next(reader)
    except StopIteration:
        raise RosterError([RosterProblem(1, "the file is empty; it needs a header line")])
    except csv.Error as exc:
        raise RosterError([RosterProblem(1, f"not valid CSV: {exc}")])
    columns = [ALIASES.get(h.strip().lower(), h.strip().lower()) for h in header]
    for name in columns:
        if name not in REQUIRED + OPTIONAL:
            problems.append(RosterProblem(1, f"unknown column '{name}' (expected "
                                             f"{', '.join(REQUIRED + OPTIONAL)})"))
    for name in REQUIRED:
        if name not in columns:
            problems.append(RosterProblem(1, f"missing column '{name}'"))
    if len(set(columns)) != len(columns):
        problems.append(RosterProblem(1, "a column appears twice"))
    if problems:
        raise RosterError(problems)

    rows: list[dict] = []
    seen_ids: dict[str, int] = {}
    seen_emails: dict[str, int] = {}
    try:
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(rows) >= MAX_ROWS:
                problems.append(RosterProblem(line, f"more than {MAX_ROWS} members"))
                break
            if len(values) != len(columns):
                problems.append(RosterProblem(
                    line, f"expected {len(columns)} values, found {len(values)}"))
                continue
            row = _parse_row(dict(zip(columns, values, strict=True)), line, problems,
                             seen_ids, seen_emails)
            if row is not None:
                rows.append(row)
    except csv.Error as exc:
        problems.append(RosterProblem(reader.line_num, f"not valid CSV: {exc}"))
    if problems:
        raise RosterError(problems)
    if not rows:
        raise RosterError([RosterProblem(2, "the file lists no members")])
    return rows


def _parse_row(raw: dict[str, str], line: int, problems: list[RosterProblem],
               seen_ids: dict[str, int], seen_emails: dict[str, int]) -> dict | None:
    before = len(problems)
    member_id = raw["member_id"].strip()
    if not member_id:
        problems.append(RosterProblem(line, "member_id is empty"))
    elif len(member_id) > 64:
        problems.append(RosterProblem(line, "member_id is longer than 64 characters"))
    elif member_id in seen_ids:
        problems.append(RosterProblem(
            line, f"member_id '{member_id}' also appears on line {seen_ids[member_id]}"))
    else:
        seen_ids[member_id] = line
    email = raw["email"].strip().lower()
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        problems.append(RosterProblem(line, f"'{email[:80]}' is not a valid e-mail address"))
    else:
        if len(email) > 254:
            problems.append(RosterProblem(line, "the e-mail address is too long"))
        elif email in seen_emails:
            problems.append(RosterProblem(
                line, f"e-mail '{email}' also appears on line {seen_emails[email]}"))
        else:
            seen_emails[email] = line
    row: dict = {"member_number": member_id, "email": email}
    for key in ("membership_type", *OPTIONAL):
        value = (raw.get(key) or "").strip()
        if not value:
            if key == "membership_type":
                problems.append(RosterProblem(line, "membership_type is empty"))
            row[key] = None
            continue
        code = _segment_code(key, value)
        if code is None:
            dim = segments.BY_KEY[key]
            problems.append(RosterProblem(
                line, f"{key} '{value[:40]}' is not one of {', '.join(dim.codes)}"))
        row[key] = code
    return row if len(problems) == before else None


def minimum_size() -> tuple[int, str]:
    """The fewest members a roster may list: the most members who rated in one
    feedback round or responded to one survey (the roster becomes the base of their
    rates, which must never pass 100%), and what that number is."""
    part = ReportParticipation.__table__
    raters = db.session.scalar(sa.select(sa.func.max(part.c.n)).where(
        part.c.dimension == "", part.c.value == "")) or 0
    per_survey = [
        sa.select(sa.func.count().label("n")).select_from(model)
        .group_by(model.survey_id).subquery()
        for model in (SurveyParticipation, SurveyResponse)]
    responded = max((db.session.scalar(sa.select(sa.func.max(q.c.n))) or 0)
                    for q in per_survey)
    if raters >= responded:
        return raters, f"{raters:,} members rated objectives in one feedback round"
    return responded, f"{responded:,} members responded to one survey"


def check_size(rows: list[dict]) -> None:
    """Refuse a roster smaller than those who already rated or responded."""
    need, what = minimum_size()
    if len(rows) < need:
        raise RosterError([RosterProblem(
            1, f"the file lists {len(rows):,} members, but {what}: a roster must list at "
               f"least {need:,} members, or response rates would pass 100%. Nothing was "
               "imported.")])


@dataclass(frozen=True)
class RosterChange:
    current: int
    new: int
    added: int
    removed: int
    changed: int


def preview(rows: list[dict]) -> RosterChange:
    """What replacing the roster with `rows` changes, by member id."""
    cols = ("member_number", "email", "membership_type", *OPTIONAL)
    current = {r.member_number: tuple(getattr(r, c) for c in cols)
               for r in db.session.execute(sa.select(*[getattr(RosterEntry, c)
                                                        for c in cols]))}
    new = {r["member_number"]: tuple(r[c] for c in cols) for r in rows}
    common = current.keys() & new.keys()
    return RosterChange(len(current), len(new), len(new.keys() - current.keys()),
                        len(current.keys() - new.keys()),
                        sum(1 for k in common if current[k] != new[k]))


def import_roster(actor: User | None, text: str, rows: list[dict] | None = None) -> int:
    """Replace the roster with the file's members (all or nothing); link existing
    accounts by e-mail. Refused when the file lists fewer members than already rated
    or responded (check_size). Returns the number of members imported."""
    rows = parse(text) if rows is None else rows
    check_size(rows)
    db.session.execute(sa.delete(RosterEntry))
    db.session.execute(sa.insert(RosterEntry), rows)
    by_email = {row["email"]: row for row in rows}
    emails = list(by_email)
    for start in range(0, len(emails), 500):
        chunk = emails[start:start + 500]
        for user in db.session.scalars(sa.select(User).where(User.email.in_(chunk))):
            row = by_email[user.email]
            user.member_number = row["member_number"]
            if user.membership_type is None:
                user.membership_type = row["membership_type"]
    audit.record(actor, "roster.import", ("roster_entries", None), {"members": len(rows)})
    db.session.flush()
    return len(rows)


def roster_size() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(RosterEntry)) or 0
