"""The plan data file: validation, import, export and the CLI around them."""

from __future__ import annotations

import copy
import json

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Domain, Objective, Plan
from portal.plan import planfile
from portal.plan import services as plan_services


@pytest.fixture
def bundled() -> dict:
    return json.loads(planfile.bundled_plan_text())


def write(tmp_path, data, name="plan.json") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


def test_bundled_plan_is_the_ala_plan(bundled):
    assert planfile.validate(bundled) == []
    assert bundled["organization"] == "American Library Association"
    assert [d["code"] for d in bundled["domains"]] == list("ABCDE")
    counts = [len(d["objectives"]) for d in bundled["domains"]]
    assert counts == [5, 4, 4, 5, 4] and sum(counts) == 22
    texts = [o["text"] for d in bundled["domains"] for o in d["objectives"]]
    assert not any(t[:2] in ("3.", "5.") for t in texts)
    assert "missionaligned" not in planfile.bundled_plan_text()
    assert "mission-aligned" in bundled["domains"][3]["goal"]


def test_import_then_export_round_trips_exactly(app, runner):
    result = runner.invoke(args=["plan", "import"])
    assert result.exit_code == 0, result.output
    assert "added objective E4" in result.output
    exported = runner.invoke(args=["plan", "export"])
    assert exported.exit_code == 0
    assert exported.output == planfile.bundled_plan_text()


def test_import_is_idempotent(app, runner):
    runner.invoke(args=["plan", "import"])
    again = runner.invoke(args=["plan", "import"])
    assert again.exit_code == 0
    assert "No changes" in again.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Objective)) == 22
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Plan)) == 1


def test_import_if_empty_skips_a_loaded_plan(app, runner):
    runner.invoke(args=["plan", "import"])
    result = runner.invoke(args=["plan", "import", "--if-empty"])
    assert "already loaded" in result.output


def test_reimport_updates_texts_adds_and_removes(app, runner, tmp_path, bundled):
    runner.invoke(args=["plan", "import"])
    changed = copy.deepcopy(bundled)
    changed["vision"] = "Libraries thrive."
    changed["domains"][0]["objectives"][0]["text"] = "A new wording for A1."
    changed["domains"][1]["objectives"].append({"code": "B5", "text": "A fifth objective."})
    del changed["domains"][4]["objectives"][3]  # E4 has no feedback: deleted
    result = runner.invoke(args=["plan", "import", write(tmp_path, changed)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "updated vision" in out
    assert "updated objective A1 text" in out
    assert "added objective B5" in out
    assert "deleted objective E4" in out
    db.session.expire_all()
    a1 = db.session.scalar(sa.select(Objective).where(Objective.code == "A1"))
    assert a1.text == "A new wording for A1."
    assert db.session.scalar(sa.select(Objective).where(Objective.code == "E4")) is None


def test_objective_with_feedback_is_retired_not_deleted(app, runner, tmp_path, bundled):
    runner.invoke(args=["plan", "import"])
    # Any table that refers to an objective counts as feedback; make one for the test.
    ref = sa.Table("test_feedback_refs", sa.MetaData(),
                   sa.Column("id", sa.Integer, primary_key=True),
                   sa.Column("objective_id", sa.ForeignKey(Objective.__table__.c.id)))
    ref.to_metadata(db.metadata)
    try:
        db.metadata.tables["test_feedback_refs"].create(db.engine)
        e4 = db.session.scalar(sa.select(Objective).where(Objective.code == "E4"))
        db.session.execute(db.metadata.tables["test_feedback_refs"].insert().values(
            objective_id=e4.id))
        db.session.commit()
        changed = copy.deepcopy(bundled)
        del changed["domains"][4]["objectives"][3]
        result = runner.invoke(args=["plan", "import", write(tmp_path, changed)])
        assert "retired objective E4" in result.output
        db.session.expire_all()
        e4 = db.session.scalar(sa.select(Objective).where(Objective.code == "E4"))
        assert e4 is not None and e4.retired_at is not None
        exported = json.loads(runner.invoke(args=["plan", "export"]).output)
        assert exported["domains"][4]["objectives"][3] == {
            "code": "E4", "text": e4.text, "retired": True}
    finally:
        db.session.rollback()
        db.metadata.tables["test_feedback_refs"].drop(db.engine)
        db.metadata.remove(db.metadata.tables["test_feedback_refs"])


def test_check_reports_each_problem_with_its_location(runner, tmp_path, bundled):
    bad = copy.deepcopy(bundled)
    bad["colour"] = "blue"
    bad["domains"][1]["code"] = "A"
    bad["domains"][2]["objectives"][1]["code"] = "C1"
    bad["domains"][3]["objectives"][0]["text"] = "   "
    bad["domains"][4]["objectives"] = []
    bad["domains"][0]["objectives"][0]["note"] = "x"
    result = runner.invoke(args=["plan", "check", write(tmp_path, bad)])
    assert result.exit_code == 1
    out = result.output
    assert "$.colour: unknown key 'colour'" in out
    assert "$.domains[1].code: duplicate domain code 'A'" in out
    assert "$.domains[2].objectives[1].code: duplicate objective code 'C1'" in out
    assert "$.domains[3].objectives[0].text: must be a non-empty text" in out
    assert "$.domains[4].objectives: a domain needs at least one objective" in out
    assert "$.domains[0].objectives[0].note: unknown key 'note'" in out
    assert "6 problems found." in out


def test_check_accepts_the_bundled_plan(runner, tmp_path):
    result = runner.invoke(args=["plan", "check", write(tmp_path, planfile.bundled_plan_text())])
    assert result.exit_code == 0
    assert "5 domains, 22 objectives" in result.output


def test_check_reports_broken_json_with_line_and_column(runner, tmp_path):
    result = runner.invoke(args=["plan", "check", write(tmp_path, '{\n  "title": ,\n}')])
    assert result.exit_code == 1
    assert "line 2, column 12" in result.output


def test_a_bad_file_changes_nothing(app, runner, tmp_path, bundled):
    runner.invoke(args=["plan", "import"])
    bad = copy.deepcopy(bundled)
    bad["vision"] = "Changed"
    bad["domains"][0]["objectives"][0]["code"] = "lower"
    result = runner.invoke(args=["plan", "import", write(tmp_path, bad)])
    assert result.exit_code == 1
    db.session.expire_all()
    assert plan_services.current_plan().vision == "Libraries thrive so everyone can succeed."


def test_import_is_one_transaction(app, monkeypatch, bundled):
    """A failure half-way through the import leaves the database as it was."""
    calls = {"n": 0}
    real_flush = db.session.flush

    def failing_flush(*a, **kw):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk on fire")
        return real_flush(*a, **kw)

    monkeypatch.setattr(db.session, "flush", failing_flush)
    with pytest.raises(RuntimeError):
        plan_services.import_plan(bundled)
    db.session.rollback()
    monkeypatch.undo()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Domain)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Plan)) == 0


def test_export_without_a_plan_fails_cleanly(runner):
    result = runner.invoke(args=["plan", "export"])
    assert result.exit_code == 1
    assert "no plan" in result.output.lower()
