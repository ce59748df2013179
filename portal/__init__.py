"""The member-feedback portal: application factory.

Nothing happens at import time; `create_app()` builds an application from its
configuration, binds the extensions, registers blueprints, error handlers and
CLI commands, and returns it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

from portal.config import CONFIGS, Config, engine_options, jobs_sqlite_path

PACKAGE_DIR = Path(__file__).resolve().parent


def _asset_dir(name: str) -> str:
    """templates/ and static/ live at the top of the repository; a wheel carries them inside."""
    packaged = PACKAGE_DIR / name
    if packaged.is_dir():
        return str(packaged)
    return str(PACKAGE_DIR.parent / name)


def _load_config(app: Flask, config: Any) -> None:
    if config is None or isinstance(config, str):
        name = config or os.environ.get("PORTAL_CONFIG", "development")
        if name not in CONFIGS:
            raise RuntimeError(f"PORTAL_CONFIG must be one of {sorted(CONFIGS)}, got {name!r}")
        config = CONFIGS[name](app.instance_path)
    elif isinstance(config, dict):
        overrides = config
        config = CONFIGS[overrides.pop("CONFIG", "testing")](app.instance_path)
        app.config.update(config.as_dict())
        app.config.update(overrides)
        if "SQLALCHEMY_DATABASE_URI" in overrides and "SQLALCHEMY_ENGINE_OPTIONS" not in overrides:
            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(
                overrides["SQLALCHEMY_DATABASE_URI"]
            )
        if ("SQLALCHEMY_DATABASE_URI" in overrides and "JOBS_SQLITE_PATH" not in overrides
                and not os.environ.get("JOBS_SQLITE_PATH")):
            # The embedded queue lives beside the database it serves.
            app.config["JOBS_SQLITE_PATH"] = jobs_sqlite_path(
                overrides["SQLALCHEMY_DATABASE_URI"], Path(app.instance_path))
        app.config["ENV_NAME"] = config.ENV_NAME
        return
    elif isinstance(config, type) and issubclass(config, Config):
        config = config(app.instance_path)
    app.config.update(config.as_dict())
    app.config["ENV_NAME"] = config.ENV_NAME


def create_app(config: Any = None) -> Flask:
    """Build the portal. `config` is None (from the environment), a config name,
    a Config class or instance, or a dict of overrides on top of TestConfig."""
    app = Flask(
        __name__,
        template_folder=_asset_dir("templates"),
        static_folder=_asset_dir("static"),
        instance_relative_config=True,
    )
    _load_config(app, config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    from portal import (
        cli,
        database,
        deferred,
        errors_http,
        jobs,
        logging_setup,
        pagecache,
        security,
        templating,
    )

    logging_setup.init_app(app)
    database.init_app(app)
    security.init_app(app)
    templating.init_app(app)
    pagecache.init_app(app)
    deferred.init_app(app)
    jobs.init_app(app)
    register_blueprints(app)
    errors_http.init_app(app)
    cli.init_app(app)
    return app


def register_blueprints(app: Flask) -> None:
    from portal.account.routes import bp as account_bp
    from portal.actions.routes import bp as actions_bp
    from portal.admin.routes import bp as admin_bp
    from portal.auth.routes import bp as auth_bp
    from portal.campaigns.routes import bp as campaigns_bp
    from portal.feedback.routes import bp as feedback_bp
    from portal.main.routes import bp as main_bp
    from portal.moderation.routes import bp as moderation_bp
    from portal.plan.routes import bp as plan_bp
    from portal.results.routes import bp as results_bp
    from portal.rounds.routes import bp as rounds_bp
    from portal.sso.routes import bp as sso_bp
    from portal.updates.routes import bp as updates_bp

    for bp in (main_bp, plan_bp, auth_bp, sso_bp, account_bp, admin_bp):
        app.register_blueprint(bp)
    for bp in (feedback_bp, rounds_bp, moderation_bp, updates_bp, actions_bp, campaigns_bp,
               results_bp):
        app.register_blueprint(bp)

    from portal import reports

    reports.init_app(app)

    from portal.survey_admin.routes import bp as survey_admin_bp
    from portal.survey_results.routes import bp as survey_results_bp
    from portal.surveys.routes import bp as surveys_bp

    for bp in (surveys_bp, survey_admin_bp, survey_results_bp):
        app.register_blueprint(bp)
