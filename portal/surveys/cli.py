"""`flask surveys ...`: load survey templates, finish interrupted submissions, sync times."""

from __future__ import annotations

from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from portal.extensions import db
from portal.models import Survey
from portal.survey_admin.services import create_from_definition
from portal.surveys import definition, lifecycle, submission

surveys_cli = AppGroup("surveys", help="Survey templates and maintenance.")

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
TEMPLATES = {"pd-needs": "survey-pd-needs.json"}


def template_text(name: str) -> str:
    return (DATA_DIR / TEMPLATES[name]).read_text(encoding="utf-8")


@surveys_cli.command("load-template")
@click.argument("name", type=click.Choice(sorted(TEMPLATES)))
def load_template(name: str) -> None:
    """Load a bundled survey template as a draft. Idempotent: loads it only once."""
    existing = db.session.scalar(sa.select(Survey).where(Survey.template_key == name))
    if existing is not None:
        click.echo(f"The template '{name}' is already loaded (survey {existing.id}, "
                   f"{existing.status}); nothing changed.")
        return
    try:
        data = definition.parse(template_text(name))
        survey = create_from_definition(data, None, template_key=name,
                                        audit_action="survey.template_loaded")
        db.session.commit()
    except definition.DefinitionError as exc:
        db.session.rollback()
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        raise SystemExit(1)
    if data.get("objective") and survey.objective_id is None:
        click.echo(f"note: objective {data['objective']} is not in the stored plan; "
                   "the survey is not linked to it.")
    click.echo(f"Loaded '{survey.title}' as draft survey {survey.id}. Open it from "
               "/admin/surveys.")


@surveys_cli.command("finish-submissions")
def finish_submissions() -> None:
    """Store submissions that were interrupted after the member was recorded."""
    done = submission.finish_sealed_drafts()
    click.echo(f"{done} interrupted submission(s) stored.")


@surveys_cli.command("sync")
def sync() -> None:
    """Open and close surveys whose time has come (pages also do this by themselves)."""
    click.echo(f"{lifecycle.sync_due_surveys()} survey(s) opened or closed.")
