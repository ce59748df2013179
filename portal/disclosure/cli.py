"""`flask privacy audit`: run the auditor over everything the portal would publish now."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.extensions import db
from portal.models import FeedbackRound, Survey
from portal.numfmt import plural

privacy_cli = AppGroup("privacy", help="Check what the leadership views publish.")


@privacy_cli.command("audit")
@click.option("--round", "round_id", type=int, help="Only this feedback round.")
@click.option("--survey", "survey_id", type=int, help="Only this survey.")
def audit_command(round_id: int | None, survey_id: int | None) -> None:
    """Exit 1 naming every slice where a hidden cell can be narrowed below the threshold."""
    from portal.disclosure import rounds, surveys

    failures: list[str] = []
    checked = 0
    if survey_id is None:
        query = db.select(FeedbackRound).order_by(FeedbackRound.id)
        if round_id is not None:
            query = query.where(FeedbackRound.id == round_id)
        for rnd in db.session.scalars(query):
            checked += 1
            failures += [str(f) for f in rounds.audit_round(rnd)]
    if round_id is None:
        query = db.select(Survey).order_by(Survey.id)
        if survey_id is not None:
            query = query.where(Survey.id == survey_id)
        for survey in db.session.scalars(query):
            checked += 1
            failures += [f"survey {survey.id}: {f}" for f in surveys.audit_survey(survey)]
    for line in failures:
        click.echo(line)
    click.echo(f"{checked} rounds and surveys audited; {plural(len(failures), 'slice')} failing.")
    if failures:
        raise SystemExit(1)


def register(app) -> None:
    app.cli.add_command(privacy_cli)
