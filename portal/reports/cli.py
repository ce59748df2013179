"""`flask reports verify|rebuild` and `flask demo-data`."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from portal.extensions import db
from portal.numfmt import plural

reports_cli = AppGroup("reports", help="Check and repair the leadership report summaries.")


@reports_cli.command("verify")
@click.option("--round", "round_id", type=int, help="Only this round (id).")
def verify_command(round_id: int | None) -> None:
    """Recompute every figure from the raw ratings and compare with the pages.

    Exits with status 1 on any mismatch."""
    from portal.reports.verify import verify

    # The pages build links; give them a request context to build them in.
    with current_app.test_request_context("/reports/"):
        results = verify(round_id)
    if not results:
        click.echo("No feedback rounds to verify.")
        return
    failed = False
    for name, problems in results.items():
        if problems:
            failed = True
            click.echo(f"MISMATCH in {name}: {plural(len(problems), 'problem')}", err=True)
            for p in problems[:50]:
                click.echo(f"  {p}", err=True)
        else:
            click.echo(f"OK: {name}: summaries and page figures match the raw ratings.")
    if failed:
        raise SystemExit(1)


@reports_cli.command("rebuild")
@click.option("--round", "round_id", type=int, help="Only this round (id).")
def rebuild_command(round_id: int | None) -> None:
    """Recompute the summaries from the raw ratings (after bulk writes to ratings)."""
    from portal.reports import aggregates, participation, queries

    rounds = [r for r in queries.all_rounds() if round_id is None or r.id == round_id]
    try:
        for rnd in rounds:
            aggregates.rebuild_round(rnd.id)
            click.echo(f"Rebuilt {rnd.name}.")
        participation.rebuild_participation()
        click.echo("Rebuilt participation.")
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


@reports_cli.command("snapshots")
def snapshots_command() -> None:
    """Move the open round's leadership snapshots forward where enough members rated
    (leadership pages do this by themselves); drop those of closed rounds."""
    from portal.reports import snapshots

    moved = snapshots.advance_open_round()
    click.echo("Snapshots advanced." if moved else "Snapshots: nothing new to copy.")


def init_app(app: Flask) -> None:
    from portal.reports.demo_cli import demo_data_command

    app.cli.add_command(reports_cli)
    app.cli.add_command(demo_data_command)
