"""The application factory, configuration, health check and operations basics."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from portal import create_app
from portal.config import ConfigError, ProductionConfig

STRONG_KEY = "9f2c4e7a1b3d5f60718293a4b5c6d7e8f9012a3b4c5d6e7f8091a2b3c4d5e6f7"


def test_healthz_reports_the_database(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_answers_503_when_the_database_is_unreachable():
    bad = create_app({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    resp = bad.test_client().get("/healthz")
    assert resp.status_code == 503
    assert resp.get_json() == {"status": "unavailable", "database": "unreachable"}
    with bad.app_context():
        from portal.extensions import db

        db.engine.dispose()


def test_production_refuses_a_weak_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        ProductionConfig()
    monkeypatch.setenv("SECRET_KEY", "short")
    with pytest.raises(ConfigError):
        ProductionConfig()
    monkeypatch.setenv("SECRET_KEY", "a" * 64)  # long but not random
    with pytest.raises(ConfigError):
        ProductionConfig()


def test_production_refuses_debug(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", STRONG_KEY)
    monkeypatch.setenv("FLASK_DEBUG", "1")
    with pytest.raises(ConfigError):
        ProductionConfig()


def test_production_config_with_a_strong_key(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", STRONG_KEY)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/p.db")
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    app = create_app("production")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["ENV_NAME"] == "production"
    resp = app.test_client().get("/accessibility")
    assert "max-age" in resp.headers["Strict-Transport-Security"]


def test_database_url_forms_are_normalised(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@127.0.0.1:5432/x")
    app = create_app("development")
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@127.0.0.1:5432/x"
    # Dead connections are replaced without a pre-ping round trip on every request
    # (tests/test_database_reconnect.py proves it against a real server).
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert not options.get("pool_pre_ping") and options["pool_recycle"] > 0


def test_sqlite_runs_with_wal_foreign_keys_and_busy_timeout(app):
    from portal.extensions import db

    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_creating_the_app_touches_no_database(tmp_path):
    url = f"sqlite:///{tmp_path}/untouched.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        from portal.extensions import db

        assert sa.inspect(db.engine).get_table_names() == []
        db.engine.dispose()


def test_requests_are_logged_on_one_line_without_the_path(client, caplog):
    with caplog.at_level(logging.INFO, logger="portal.access"):
        client.get("/plan/objectives/SECRETTOKEN123")
    lines = [r.getMessage() for r in caplog.records if r.name == "portal.access"]
    assert lines and "/plan/objectives/<code>" in lines[-1] and " 404 " in lines[-1]
    assert "SECRETTOKEN123" not in " ".join(lines)


def test_wsgi_entry_point_for_gunicorn():
    import portal

    app = portal.create_app({})
    assert callable(app.wsgi_app)


def test_security_headers_on_pages_errors_and_static(client):
    for url in ("/", "/nowhere", "/static/css/portal.css"):
        with client.get(url) as resp:
            headers = resp.headers
        csp = headers["Content-Security-Policy"]
        assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"]
