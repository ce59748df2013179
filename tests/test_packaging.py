"""A built wheel carries its templates, static files, data files and migrations."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    try:
        import hatchling.build as hb
    except ImportError:
        pytest.skip("hatchling is not installed in this environment")
    cwd = Path.cwd()
    try:
        os.chdir(ROOT)
        name = hb.build_wheel(str(out))
    finally:
        os.chdir(cwd)
    return out / name


def test_wheel_contains_assets(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("portal/templates/base.html", "portal/static/css/portal.css",
                     "portal/data/ala-plan.json", "portal/migrations/env.py",
                     "portal/migrations/versions/0001_foundation.py"):
        assert required in names, required


def test_installed_wheel_serves_pages(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    script = (
        "import portal, sys\n"
        "from flask_migrate import upgrade\n"
        "from portal import create_app\n"
        "from portal.extensions import db\n"
        "assert portal.__file__.startswith(sys.argv[1]), portal.__file__\n"
        "app = create_app({'SQLALCHEMY_DATABASE_URI': 'sqlite:///' + sys.argv[2]})\n"
        "with app.app_context():\n"
        "    upgrade(revision='heads')\n"
        "    from portal.plan import planfile, services\n"
        "    services.import_plan(planfile.parse(planfile.bundled_plan_text()))\n"
        "    db.session.commit()\n"
        "c = app.test_client()\n"
        "r = c.get('/plan/objectives/E3')\n"
        "assert r.status_code == 200 and b'educational needs' in r.data, r.status_code\n"
        "with c.get('/static/css/portal.css') as s:\n"
        "    assert s.status_code == 200\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(site), str(tmp_path / "w.db")],
        cwd=tmp_path, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
