"""Jinja filters and context shared by every page."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask

from portal.markdown import render_markdown


def format_datetime(value: datetime | None, fmt: str = "%-d %B %Y, %H:%M UTC") -> str:
    return value.strftime(fmt) if value else ""


def format_date(value: date | datetime | None) -> str:
    return value.strftime("%-d %B %Y") if value else ""


def init_app(app: Flask) -> None:
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def _site_context():
        return {"site_name": "Member Feedback Portal", "url_rules": app.view_functions}
