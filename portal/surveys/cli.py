"""`flask surveys ...`: load survey templates, release the mixing pool, sync times."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from portal import sealing
from portal.extensions import db
from portal.models import SurveyPoolEntry
from portal.numfmt import plural
from portal.surveys import definition, lifecycle, pool, templates

surveys_cli = AppGroup("surveys", help="Survey templates and maintenance.")


@surveys_cli.command("load-template")
@click.argument("name", type=click.Choice(sorted(templates.TEMPLATES)))
def load_template(name: str) -> None:
    """Load a bundled survey template as a draft. Idempotent: loads it only once."""
    try:
        survey, created = templates.load_template(name)
        db.session.commit()
    except definition.DefinitionError as exc:
        db.session.rollback()
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        raise SystemExit(1)
    if not created:
        click.echo(f"The template '{name}' is already loaded (survey {survey.id}, "
                   f"{survey.status}); nothing changed.")
        return
    objective = definition.parse(templates.template_text(name)).get("objective")
    if objective and survey.objective_id is None:
        click.echo(f"note: objective {objective} is not in the stored plan; "
                   "the survey is not linked to it.")
    click.echo(f"Loaded '{survey.title}' as draft survey {survey.id}. Open it from "
               "/admin/surveys.")


@surveys_cli.command("release")
def release() -> None:
    """Release anonymous answers waiting in the mixing pool: every pool of at least
    PRIVACY_MIN_N, and whatever waits for a closed survey (survey pages do this too)."""
    state = sealing.status()
    if state != sealing.OK:
        click.echo(sealing.admin_message(state), err=True)
        raise SystemExit(1)
    waiting = db.session.scalar(sa.select(sa.func.count()).select_from(SurveyPoolEntry))
    done = pool.release_due()
    pool.scrub()  # also what an earlier release had to leave to a still-open transaction
    click.echo(f"{plural(done, 'waiting answer')} released; "
               f"{waiting - done} still wait for a batch.")


@surveys_cli.command("sync")
def sync() -> None:
    """Open and close surveys whose time has come, and release the pools that are due
    (pages also do this by themselves)."""
    click.echo(f"{plural(lifecycle.sync_due_surveys(), 'survey')} opened or closed.")
