"""`flask demo-data`: fill an empty portal with realistic, deterministic demo data.

Feedback (members, rounds, ratings, comments, updates) comes from
portal/reports/demo.py, survey responses from portal/surveys/demo.py.
"""

from __future__ import annotations

import time

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from portal.extensions import db
from portal.models import Objective, Rating, User
from portal.plan import planfile
from portal.plan import services as plan_services
from portal.reports.demo import LOGINS, create_demo
from portal.surveys.demo import add_demo_responses


@click.command("demo-data")
@click.option("--members", default=2000, show_default=True, type=click.IntRange(20, 500_000),
              help="How many members to create.")
@click.option("--seed", default=1, show_default=True, type=int,
              help="Random seed: the same seed gives the same data.")
@click.option("--password", default=None, help="Password of every demo account "
              "(default: a random one, printed).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@with_appcontext
def demo_data_command(members: int, seed: int, password: str | None, quiet: bool) -> None:
    """Fill an empty portal with realistic demo members, ratings, comments and survey
    responses."""
    if current_app.config.get("ENV_NAME") == "production":
        raise click.ClickException("demo-data refuses to run under the production config.")
    if db.session.scalar(sa.select(sa.func.count()).select_from(User).where(
            User.email.in_(list(LOGINS.values())))):
        raise click.ClickException("Demo data is already loaded in this database.")
    if db.session.scalar(sa.select(sa.func.count()).select_from(Rating)):
        raise click.ClickException("This database already holds ratings; use an empty one.")
    if db.session.scalar(sa.select(sa.func.count()).select_from(Objective)) == 0:
        plan_services.import_plan(planfile.parse(planfile.bundled_plan_text()))
        db.session.flush()
    start = time.perf_counter()
    try:
        result = create_demo(members, seed, password, progress=not quiet)
        db.session.commit()
        # Its own transactions (participations, then responses): see surveys/demo.py.
        result.survey_responses = add_demo_responses(result.member_ids, seed)
    except Exception:
        db.session.rollback()
        raise
    took = time.perf_counter() - start
    click.echo(f"Created {result.members:,} members, "
               f"{' and '.join(f'{n:,}' for n in result.ratings)} ratings in two rounds, "
               f"{result.comments:,} comments and replies, {result.endorsements:,} "
               f"endorsements, {result.updates} leadership updates, {result.actions} actions"
               + (f", {result.survey_responses:,} survey responses" if result.survey_responses
                  else "") + f" in {took:.1f} s.")
    click.echo("Demo logins (password for every demo account: "
               f"{result.password}):")
    for role, email in LOGINS.items():
        click.echo(f"  {role:<7} {email}")
