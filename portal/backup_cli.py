"""`flask db-backup` and `flask db-restore`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask

from portal import backup


@click.command("db-backup")
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
def db_backup(destination: Path) -> None:
    """Write an online backup of the database to DESTINATION."""
    try:
        click.echo(backup.backup(destination))
    except backup.BackupError as exc:
        raise click.ClickException(str(exc))


@click.command("db-restore")
@click.argument("source", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def db_restore(source: Path, yes: bool) -> None:
    """Replace the database's contents with the backup in SOURCE."""
    if not yes:
        click.confirm("This replaces every row in the database. Continue?", abort=True)
    try:
        click.echo(backup.restore(source))
        click.echo(f"integrity check: {backup.integrity_check()}")
    except backup.BackupError as exc:
        raise click.ClickException(str(exc))


def init_app(app: Flask) -> None:
    app.cli.add_command(db_backup)
    app.cli.add_command(db_restore)
