"""The plan editor: texts, and adding, reordering, retiring and removing objectives.

An objective with feedback is never deleted: it is retired and keeps its code
(`portal.plan.services.objectives_with_feedback` finds feedback in any table).
Flush, never commit; every change leaves an audit row.
"""

from __future__ import annotations

import sqlalchemy as sa

from portal import audit
from portal.errors import Conflict, NotFound, PortalError
from portal.extensions import db
from portal.models import Domain, Objective, PlanValue, User
from portal.plan import planfile
from portal.plan.services import current_plan, objectives_with_feedback
from portal.timeutil import now_utc


def _text(value: str, field: str, label: str, limit: int = planfile.MAX_TEXT) -> str:
    value = (value or "").strip()
    if not value:
        raise PortalError(f"Enter the {label}.", field=field)
    if len(value) > limit:
        raise PortalError(f"The {label} has at most {limit} characters.", field=field)
    return value


def update_statements(actor: User, mission: str, vision: str, values_text: str) -> None:
    plan = current_plan()
    if plan is None:
        raise NotFound("There is no plan yet: import one with `flask plan import`.")
    mission = _text(mission, "mission", "mission")
    vision = _text(vision, "vision", "vision")
    names = [line.strip() for line in (values_text or "").splitlines() if line.strip()]
    if not names:
        raise PortalError("List at least one value, one per line.", field="values")
    if any(len(n) > 200 for n in names):
        raise PortalError("Each value has at most 200 characters.", field="values")
    if len(set(names)) != len(names):
        raise PortalError("Each value may appear only once.", field="values")
    changed = [k for k, v in (("mission", mission), ("vision", vision)) if getattr(plan, k) != v]
    plan.mission, plan.vision = mission, vision
    if [v.name for v in plan.values] != names:
        plan.values.clear()
        db.session.flush()
        for pos, name in enumerate(names):
            plan.values.append(PlanValue(name=name, position=pos))
        changed.append("values")
    if changed:
        audit.record(actor, "plan.statements", plan, {"changed": changed})
    db.session.flush()


def get_domain(code: str) -> Domain:
    dom = db.session.scalar(sa.select(Domain).where(Domain.code == code.upper()))
    if dom is None:
        raise NotFound("No such domain.")
    return dom


def get_objective(code: str) -> Objective:
    obj = db.session.scalar(sa.select(Objective).where(Objective.code == code.upper()))
    if obj is None:
        raise NotFound("No such objective.")
    return obj


def update_domain(actor: User, dom: Domain, title: str, goal: str) -> None:
    dom.title = _text(title, "title", "title", 200)
    dom.goal = _text(goal, "goal", "goal")
    audit.record(actor, "plan.domain.edit", dom, {"code": dom.code})
    db.session.flush()


def update_objective(actor: User, obj: Objective, text: str) -> None:
    obj.text = _text(text, "text", "objective text")
    audit.record(actor, "plan.objective.edit", obj, {"code": obj.code})
    db.session.flush()


def next_code(dom: Domain) -> str:
    """A suggestion for a new objective's code: the domain code and the next number."""
    used = set(db.session.scalars(sa.select(Objective.code)))
    n = len(dom.objectives) + 1
    while f"{dom.code}{n}" in used:
        n += 1
    return f"{dom.code}{n}"


def add_objective(actor: User, dom: Domain, code: str, text: str) -> Objective:
    code = (code or "").strip().upper()
    if not planfile.OBJECTIVE_CODE.match(code):
        raise PortalError("A code starts with a capital letter and has 2 to 16 capitals, "
                          "digits, '.' or '-'.", field="code")
    if db.session.scalar(sa.select(Objective.id).where(Objective.code == code)) is not None:
        raise Conflict(f"The code {code} is already used (codes of retired objectives are "
                       "kept too).", field="code")
    text = _text(text, "text", "objective text")
    position = (db.session.scalar(sa.select(sa.func.max(Objective.position))
                                  .where(Objective.domain_id == dom.id)) or 0) + 1
    obj = Objective(code=code, text=text, position=position, domain=dom)
    db.session.add(obj)
    db.session.flush()
    audit.record(actor, "plan.objective.add", obj, {"code": code, "domain": dom.code})
    return obj


def move_objective(actor: User, obj: Objective, direction: str) -> None:
    """Swap the objective with its neighbour above ("up") or below ("down")."""
    if direction not in ("up", "down"):
        raise PortalError("Move up or down.")
    siblings = list(db.session.scalars(
        sa.select(Objective).where(Objective.domain_id == obj.domain_id)
        .order_by(Objective.position, Objective.id)))
    i = siblings.index(obj)
    j = i - 1 if direction == "up" else i + 1
    if not 0 <= j < len(siblings):
        raise Conflict(f"{obj.code} is already {'first' if direction == 'up' else 'last'}.")
    siblings[i], siblings[j] = siblings[j], siblings[i]
    for pos, sibling in enumerate(siblings):
        sibling.position = pos
    audit.record(actor, "plan.objective.move", obj, {"code": obj.code, "direction": direction})
    db.session.flush()


def retire_objective(actor: User, obj: Objective) -> None:
    if obj.retired_at is not None:
        raise Conflict(f"{obj.code} is already retired.")
    obj.retired_at = now_utc()
    audit.record(actor, "plan.objective.retire", obj, {"code": obj.code})
    db.session.flush()


def reinstate_objective(actor: User, obj: Objective) -> None:
    if obj.retired_at is None:
        raise Conflict(f"{obj.code} is not retired.")
    obj.retired_at = None
    audit.record(actor, "plan.objective.reinstate", obj, {"code": obj.code})
    db.session.flush()


def remove_objective(actor: User, obj: Objective) -> str:
    """Delete an objective nobody has given feedback on; retire one with feedback.
    Returns "deleted" or "retired"."""
    if objectives_with_feedback([obj.id]):
        if obj.retired_at is None:
            obj.retired_at = now_utc()
        audit.record(actor, "plan.objective.retire", obj,
                     {"code": obj.code, "reason": "removed, but it has feedback"})
        db.session.flush()
        return "retired"
    audit.record(actor, "plan.objective.delete", obj, {"code": obj.code})
    db.session.delete(obj)
    db.session.flush()
    return "deleted"
