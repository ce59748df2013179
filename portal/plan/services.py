"""Writes to the plan: importing a plan file, exporting the stored plan.

Services flush and never commit; the caller (a view or a CLI command) commits.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Domain, Objective, Plan, PlanValue
from portal.plan import planfile
from portal.timeutil import now_utc


def current_plan() -> Plan | None:
    return db.session.scalar(sa.select(Plan).order_by(Plan.id).limit(1))


def objectives_with_feedback(objective_ids: list[int]) -> set[int]:
    """Ids among `objective_ids` that any other table refers to (ratings, comments,
    updates ...). Found from the schema, so new kinds of feedback are covered."""
    if not objective_ids:
        return set()
    target = Objective.__table__.c.id
    found: set[int] = set()
    for table in db.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column is target:
                col = fk.parent
                rows = db.session.execute(
                    sa.select(col).where(col.in_(objective_ids)).distinct()
                ).scalars()
                found.update(rows)
    return found


def import_plan(data: dict[str, Any]) -> list[str]:
    """Bring the stored plan in line with a validated plan file; return what changed.

    Texts are updated by code and new domains and objectives are added. An
    objective missing from the file is deleted, unless it has feedback, in which
    case it is retired and keeps its code. Nothing is committed here.
    """
    changes: list[str] = []
    plan = current_plan()
    if plan is None:
        plan = Plan(organization=data["organization"], title=data["title"],
                    mission=data["mission"], vision=data["vision"])
        db.session.add(plan)
        changes.append(f"created plan '{data['title']}'")
    else:
        for key in ("organization", "title", "mission", "vision"):
            if getattr(plan, key) != data[key]:
                setattr(plan, key, data[key])
                changes.append(f"updated {key}")

    old_values = [v.name for v in plan.values]
    if old_values != data["values"]:
        plan.values.clear()
        db.session.flush()
        for pos, name in enumerate(data["values"]):
            plan.values.append(PlanValue(name=name, position=pos))
        changes.append(f"values: {', '.join(data['values'])}")

    domains = {d.code: d for d in db.session.scalars(sa.select(Domain))}
    objectives = {o.code: o for o in db.session.scalars(sa.select(Objective))}
    now = now_utc()
    seen_domains: set[str] = set()
    seen_objectives: set[str] = set()

    for dpos, ddata in enumerate(data["domains"]):
        code = ddata["code"]
        seen_domains.add(code)
        dom = domains.get(code)
        if dom is None:
            dom = Domain(code=code, title=ddata["title"], goal=ddata["goal"], position=dpos,
                         plan=plan)
            db.session.add(dom)
            domains[code] = dom
            changes.append(f"added domain {code}")
        else:
            for key, value in (("title", ddata["title"]), ("goal", ddata["goal"]),
                               ("position", dpos)):
                if getattr(dom, key) != value:
                    setattr(dom, key, value)
                    if key != "position":
                        changes.append(f"updated domain {code} {key}")
        _set_retired(dom, ddata.get("retired", False), now, f"domain {code}", changes)

        for opos, odata in enumerate(ddata["objectives"]):
            ocode = odata["code"]
            seen_objectives.add(ocode)
            obj = objectives.get(ocode)
            if obj is None:
                obj = Objective(code=ocode, text=odata["text"], position=opos, domain=dom)
                db.session.add(obj)
                objectives[ocode] = obj
                changes.append(f"added objective {ocode}")
            else:
                if obj.text != odata["text"]:
                    obj.text = odata["text"]
                    changes.append(f"updated objective {ocode} text")
                if obj.domain is not dom:
                    obj.domain = dom
                    changes.append(f"moved objective {ocode} to domain {code}")
                obj.position = opos
            _set_retired(obj, odata.get("retired", False), now, f"objective {ocode}", changes)

    db.session.flush()
    missing = [o for code, o in objectives.items() if code not in seen_objectives]
    with_feedback = objectives_with_feedback([o.id for o in missing])
    for obj in sorted(missing, key=lambda o: o.code):
        if obj.id in with_feedback:
            if obj.retired_at is None:
                obj.retired_at = now
                changes.append(f"retired objective {obj.code} (it has feedback, so it is kept)")
        else:
            db.session.delete(obj)
            changes.append(f"deleted objective {obj.code}")
    db.session.flush()
    for code, dom in sorted(domains.items()):
        if code in seen_domains:
            continue
        remaining = db.session.scalar(
            sa.select(sa.func.count()).select_from(Objective).where(Objective.domain_id == dom.id)
        )
        if remaining:
            if dom.retired_at is None:
                dom.retired_at = now
                changes.append(f"retired domain {code} (its objectives have feedback)")
        else:
            db.session.delete(dom)
            changes.append(f"deleted domain {code}")
    db.session.flush()
    return changes


def _set_retired(row: Domain | Objective, retired: bool, now, label: str,
                 changes: list[str]) -> None:
    if retired and row.retired_at is None:
        row.retired_at = now
        changes.append(f"retired {label}")
    elif not retired and row.retired_at is not None:
        row.retired_at = None
        changes.append(f"reinstated {label}")


def export_plan() -> dict[str, Any]:
    """The stored plan in the plan-file format (round-trips through import_plan)."""
    plan = current_plan()
    if plan is None:
        raise LookupError("There is no plan to export.")
    domains_out = []
    for dom in plan.domains:
        objectives_out = []
        for obj in dom.objectives:
            item: dict[str, Any] = {"code": obj.code, "text": obj.text}
            if obj.retired_at is not None:
                item["retired"] = True
            objectives_out.append(item)
        ditem: dict[str, Any] = {"code": dom.code, "title": dom.title, "goal": dom.goal,
                                 "objectives": objectives_out}
        if dom.retired_at is not None:
            ditem["retired"] = True
        domains_out.append(ditem)
    return {
        "format": planfile.FORMAT,
        "organization": plan.organization,
        "title": plan.title,
        "mission": plan.mission,
        "vision": plan.vision,
        "values": [v.name for v in plan.values],
        "domains": domains_out,
    }
