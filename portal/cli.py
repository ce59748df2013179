"""`flask` commands. Each command commits explicitly; a failure changes nothing."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from portal.extensions import db
from portal.numfmt import plural
from portal.plan import planfile
from portal.plan import services as plan_services
from portal.reports import cli as reports_cli
from portal.surveys.cli import surveys_cli

plan_cli = AppGroup("plan", help="Import, export and check the strategic plan.")


@plan_cli.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"), required=False)
@click.option("--if-empty", is_flag=True,
              help="Only import when the database holds no plan yet.")
def plan_import(file, if_empty: bool) -> None:
    """Import FILE (default: the bundled ALA plan). Idempotent; prints what changed."""
    if if_empty and plan_services.current_plan() is not None:
        click.echo("A plan is already loaded; nothing imported.")
        return
    text = file.read() if file else planfile.bundled_plan_text()
    try:
        data = planfile.parse(text)
        changes = plan_services.import_plan(data)
        db.session.commit()
    except planfile.PlanFileError as exc:
        db.session.rollback()
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        raise SystemExit(1)
    except Exception:
        db.session.rollback()
        raise
    if changes:
        for line in changes:
            click.echo(line)
        click.echo(f"{plural(len(changes), 'change')} imported.")
    else:
        click.echo("No changes: the stored plan already matches the file.")


@plan_cli.command("export")
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-",
              help="Write to this file instead of standard output.")
def plan_export(output) -> None:
    """Print the stored plan in the plan-file format."""
    try:
        data = plan_services.export_plan()
    except LookupError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1)
    output.write(planfile.dumps(data))


@plan_cli.command("check")
@click.argument("file", type=click.File("r", encoding="utf-8"))
def plan_check(file) -> None:
    """Validate FILE and report each problem with its location."""
    try:
        data = planfile.parse(file.read())
    except planfile.PlanFileError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        click.echo(f"{plural(len(exc.problems), 'problem')} found.", err=True)
        raise SystemExit(1)
    n_obj = sum(len(d["objectives"]) for d in data["domains"])
    click.echo(f"OK: {len(data['domains'])} domains, {n_obj} objectives.")


def init_app(app: Flask) -> None:
    from portal import backup_cli
    from portal.auth.cli import roster_cli, user_cli

    app.cli.add_command(plan_cli)
    backup_cli.init_app(app)
    app.cli.add_command(user_cli)
    app.cli.add_command(roster_cli)
    reports_cli.init_app(app)
    app.cli.add_command(surveys_cli)
    from portal.sso.cli import sso_cli

    app.cli.add_command(sso_cli)
    from portal.disclosure import cli as privacy_cli

    privacy_cli.register(app)
