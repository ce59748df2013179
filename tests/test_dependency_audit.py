"""`make audit`: pip-audit online, else a local OSV snapshot, else "not checked";
and the pins in constraints.txt install on a fresh Python 3.11."""

from __future__ import annotations

import json
import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from tools import audit_deps

ROOT = Path(__file__).resolve().parent.parent

JINJA_ADVISORY = {
    "id": "GHSA-h5c8-rqwp-cp95", "aliases": ["CVE-2024-22195"],
    "affected": [{"package": {"ecosystem": "PyPI", "name": "Jinja2"},
                  "ranges": [{"type": "ECOSYSTEM",
                              "events": [{"introduced": "0"}, {"fixed": "3.1.3"}]}]}],
}
LAST_AFFECTED = {
    "id": "PYSEC-0000-1",
    "affected": [{"package": {"ecosystem": "PyPI", "name": "example-pkg"},
                  "ranges": [{"type": "ECOSYSTEM", "events": [
                      {"introduced": "1.0"}, {"last_affected": "1.4"},
                      {"introduced": "2.0"}, {"fixed": "2.2.1"}]}],
                  "versions": ["0.9.9"]}],
}


@pytest.mark.parametrize(("version", "expected"), [
    ("0.9.9", True), ("0.9", False), ("1.0", True), ("1.4", True), ("1.4.1", False),
    ("1.9", False), ("2.0", True), ("2.2.0", True), ("2.2.1", False), ("3.0", False)])
def test_osv_ranges_follow_introduced_fixed_and_last_affected(version, expected):
    assert audit_deps.is_affected("example-pkg", version, LAST_AFFECTED) is expected


def _write(tmp_path, pins: str, snapshot: dict | None):
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("# pins\n" + pins, "utf-8")
    path = tmp_path / "advisories.json"
    if snapshot is not None:
        path.write_text(json.dumps(snapshot), "utf-8")
    return constraints, path


SNAPSHOT = {"generated_at": "2999-01-01T00:00:00+00:00",
            "packages": {"jinja2": [JINJA_ADVISORY], "flask": []}}


def test_offline_the_snapshot_finds_a_vulnerable_pin(tmp_path, capsys):
    constraints, snap = _write(tmp_path, "Jinja2==3.1.2\nFlask==3.1.0\nrare==1.0\n", SNAPSHOT)
    assert audit_deps.check(constraints, snap, timeout=1, online=False) == 1
    out = capsys.readouterr().out
    assert "VULNERABLE jinja2==3.1.2: GHSA-h5c8-rqwp-cp95 (CVE-2024-22195), fixed in 3.1.3" in out
    assert "not checked: rare==1.0" in out and "2 pinned packages checked" in out


def test_offline_the_snapshot_passes_fixed_pins(tmp_path, capsys):
    constraints, snap = _write(tmp_path, "Jinja2==3.1.6\nFlask==3.1.0\n", SNAPSHOT)
    assert audit_deps.check(constraints, snap, timeout=1, online=False) == 0
    assert "no known vulnerabilities" in capsys.readouterr().out


def test_without_any_database_it_says_not_checked_and_exits_0(tmp_path, capsys, monkeypatch):
    constraints, snap = _write(tmp_path, "Jinja2==3.1.2\n", None)
    monkeypatch.setattr(audit_deps, "online_audit", lambda *a: None)  # no network
    assert audit_deps.check(constraints, snap, timeout=1) == 0
    captured = capsys.readouterr()
    assert audit_deps.NOT_CHECKED in captured.out and "warning" in captured.err
    assert audit_deps.NOT_CHECKED == (
        "dependency audit: not checked (no advisory database reachable)")


def test_an_online_answer_comes_before_the_snapshot(tmp_path, capsys, monkeypatch):
    constraints, snap = _write(tmp_path, "Jinja2==3.1.2\n", SNAPSHOT)
    report = audit_deps.Report(source="pip-audit (online)", checked=1)
    monkeypatch.setattr(audit_deps, "online_audit", lambda *a: report)
    assert audit_deps.check(constraints, snap, timeout=1) == 0
    assert "checked with pip-audit (online)" in capsys.readouterr().out


def test_a_stale_snapshot_is_reported(tmp_path, capsys):
    old = {**SNAPSHOT, "generated_at": "2020-01-01T00:00:00+00:00"}
    constraints, snap = _write(tmp_path, "Flask==3.1.0\n", old)
    assert audit_deps.check(constraints, snap, timeout=1, online=False) == 0
    assert "make audit-refresh" in capsys.readouterr().err


# The pins ------------------------------------------------------------------------

def _pins() -> dict[str, str]:
    return audit_deps.read_pins(ROOT / "constraints.txt")


def test_constraints_are_exact_pins_without_the_project_itself():
    lines = [line.strip() for line in (ROOT / "constraints.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines and all(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==[^\s;]+", ln)
                         for ln in lines), [ln for ln in lines if "==" not in ln]
    assert "member-feedback-portal" not in _pins()
    assert not any(ln.startswith(("-e", "file:", "git+")) or " @ " in ln for ln in lines)


def test_every_direct_requirement_is_pinned_within_its_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = _pins()
    for text in project["dependencies"] + project["optional-dependencies"]["test"]:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not pinned in constraints.txt"
        assert pins[name] in req.specifier, (req.name, pins[name], str(req.specifier))


def test_the_pinned_versions_support_python_3_11():
    # What is installed here is what was pinned (make installs with -c constraints.txt).
    for name, version in _pins().items():
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        if dist.version != version:
            continue
        requires = dist.metadata.get("Requires-Python")
        if requires:
            assert "3.11" in SpecifierSet(requires), (name, requires)
