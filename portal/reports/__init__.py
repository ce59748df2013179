"""Leadership reports: priorities, charts, segments, trends, drill-downs, comments,
the board report and exports (blueprint `reports` at /reports)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the blueprint and keep the report summaries in step with ratings."""
    from portal.reports import aggregates
    from portal.reports.routes import bp

    aggregates.install_listeners()
    app.register_blueprint(bp)
