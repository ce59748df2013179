"""Online backup and restore of the portal's database.

SQLite uses the sqlite3 online-backup API (safe while the portal serves
requests); PostgreSQL uses pg_dump and pg_restore in their custom format, run
from an argument list, never through a shell (hence the nosec on subprocess).
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess  # nosec B404
from pathlib import Path

import sqlalchemy as sa

from portal.extensions import db


class BackupError(RuntimeError):
    pass


def _libpq_url(url: sa.engine.URL) -> str:
    """pg_dump speaks libpq URLs: drop the SQLAlchemy driver name."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed; install the PostgreSQL client tools.")
    return path


def backup(destination: Path) -> str:
    """Write a consistent copy of the database to `destination`; return a summary."""
    engine = db.engine
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()
        try:
            target = sqlite3.connect(destination)
            try:
                raw.driver_connection.backup(target)
            finally:
                target.close()
        finally:
            raw.close()
        return f"SQLite backup written to {destination}"
    if engine.dialect.name == "postgresql":
        cmd = [_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(destination),
               "--dbname", _libpq_url(engine.url)]
        _run(cmd)
        return f"PostgreSQL backup (pg_dump custom format) written to {destination}"
    raise BackupError(f"backups are not supported for {engine.dialect.name}")


def restore(source: Path) -> str:
    """Replace the database's contents with the backup in `source`."""
    engine = db.engine
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"{source} does not exist")
    db.session.remove()
    if engine.dialect.name == "sqlite":
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            if src.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"{source} is not a sound SQLite database")
            engine.dispose()
            raw = engine.raw_connection()
            try:
                src.backup(raw.driver_connection)
            finally:
                raw.close()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{source} is not a SQLite database: {exc}") from exc
        finally:
            src.close()
        engine.dispose()
        return f"SQLite database restored from {source}"
    if engine.dialect.name == "postgresql":
        engine.dispose()
        cmd = [_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner",
               "--single-transaction", "--exit-on-error", "--dbname", _libpq_url(engine.url),
               str(source)]
        _run(cmd)
        return f"PostgreSQL database restored from {source}"
    raise BackupError(f"restores are not supported for {engine.dialect.name}")


def integrity_check() -> str:
    """SQLite's PRAGMA integrity_check ('ok' when sound); PostgreSQL answers 'ok' when reachable."""
    with db.engine.connect() as conn:
        if db.engine.dialect.name == "sqlite":
            return str(conn.exec_driver_sql("PRAGMA integrity_check").scalar())
        conn.execute(sa.text("SELECT 1"))
        return "ok"


def _run(cmd: list[str]) -> None:
    try:
        # A fixed tool path from shutil.which and our own arguments; no shell.
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=3600)  # noqa: S603  # nosec B603
    except subprocess.CalledProcessError as exc:
        # The URL is in argv; report only the tool's own message.
        raise BackupError(f"{Path(cmd[0]).name} failed: {exc.stderr.strip()[:500]}") from exc
