"""Check the pinned dependencies (constraints.txt) for known vulnerabilities.

    python tools/audit_deps.py check     # make audit
    python tools/audit_deps.py refresh   # make audit-refresh (needs a network)

`check` first asks pip-audit (online, short timeout). Where no advisory service can
be reached it checks the pins against the local snapshot audit/advisories.json
(OSV records of every pinned package, written by `refresh`), with packaging's
version rules. With neither, it says "not checked" and exits 0 with a warning: a
machine without a network must still be able to build and test.

Exit status: 1 when a pinned version has a known vulnerability, else 0.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess  # nosec B404
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "constraints.txt"
SNAPSHOT = ROOT / "audit" / "advisories.json"
OSV_API = "https://api.osv.dev/v1"
NOT_CHECKED = "dependency audit: not checked (no advisory database reachable)"
STALE_DAYS = 30
PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")


@dataclass
class Report:
    source: str
    checked: int = 0
    findings: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)


def read_pins(path: Path) -> dict[str, str]:
    """name (canonical) -> pinned version, from a constraints/requirements file."""
    pins = {}
    for line in path.read_text("utf-8").splitlines():
        match = PIN.match(line)
        if match:
            pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


# Offline: OSV records ------------------------------------------------------------

def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _in_range(version: Version, events: list[dict]) -> bool:
    """OSV ECOSYSTEM range semantics: introduced opens, fixed closes (exclusive),
    last_affected closes (inclusive); events are applied in version order."""
    def key(event: dict) -> Version:
        raw = next(iter(event.values()))
        return Version("0") if raw == "0" else (_version(raw) or Version("0"))

    affected = False
    for event in sorted(events, key=key):
        bound = key(event)
        if "introduced" in event and version >= bound:
            affected = True
        elif (("fixed" in event and version >= bound)
              or ("last_affected" in event and version > bound)):
            affected = False
    return affected


def is_affected(name: str, version: str, record: dict) -> bool:
    """Whether `version` of package `name` is affected by one OSV record."""
    parsed = _version(version)
    for affected in record.get("affected", []):
        package = affected.get("package", {})
        if package.get("ecosystem") != "PyPI" or canonicalize_name(
                package.get("name", "")) != name:
            continue
        if version in affected.get("versions", []):
            return True
        if parsed is None:
            continue
        for rng in affected.get("ranges", []):
            if rng.get("type") == "ECOSYSTEM" and _in_range(parsed, rng.get("events", [])):
                return True
    return False


def check_snapshot(pins: dict[str, str], snapshot: dict) -> Report:
    generated = snapshot.get("generated_at", "?")
    report = Report(source=f"local advisory snapshot of {generated}")
    packages = {canonicalize_name(k): v for k, v in snapshot.get("packages", {}).items()}
    for name, version in sorted(pins.items()):
        if name not in packages:
            report.unchecked.append(f"{name}=={version}")
            continue
        report.checked += 1
        for record in packages[name]:
            if is_affected(name, version, record):
                fixed = sorted({e["fixed"] for a in record.get("affected", [])
                                for r in a.get("ranges", []) for e in r.get("events", [])
                                if "fixed" in e})
                aliases = ", ".join(record.get("aliases", [])[:3])
                report.findings.append(
                    f"{name}=={version}: {record.get('id')}"
                    + (f" ({aliases})" if aliases else "")
                    + (f", fixed in {', '.join(fixed)}" if fixed else ""))
    return report


def snapshot_age_days(snapshot: dict) -> int | None:
    try:
        when = datetime.fromisoformat(snapshot["generated_at"])
    except (KeyError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (datetime.now(UTC) - when).days


# Online: pip-audit -------------------------------------------------------------------

def online_audit(constraints: Path, timeout: int) -> Report | None:
    """pip-audit against the pins; None when no advisory service answered."""
    cmd = [sys.executable, "-m", "pip_audit", "-r", str(constraints), "--no-deps",
           "--disable-pip", "--progress-spinner", "off", "-f", "json",
           "--timeout", str(timeout)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True,  # noqa: S603 # nosec B603
                              timeout=timeout * 6, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    try:
        data = json.loads(done.stdout or "null")
    except json.JSONDecodeError:
        return None  # a traceback: the service could not be reached
    if not isinstance(data, dict):
        return None
    report = Report(source="pip-audit (online)")
    for dep in data.get("dependencies", []):
        label = f"{dep.get('name')}=={dep.get('version', '?')}"
        if dep.get("skip_reason"):
            report.unchecked.append(label)
            continue
        report.checked += 1
        for vuln in dep.get("vulns", []):
            fixed = ", ".join(vuln.get("fix_versions", []))
            report.findings.append(f"{label}: {vuln.get('id')}"
                                   + (f", fixed in {fixed}" if fixed else ""))
    return report if report.checked else None


# Refresh -------------------------------------------------------------------------------

def _post(url: str, payload: dict, timeout: int) -> dict:
    request = urllib.request.Request(  # noqa: S310
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 # nosec B310
        return json.load(resp)


def _get(url: str, timeout: int) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 # nosec B310
        return json.load(resp)


def refresh(constraints: Path, snapshot_path: Path, timeout: int) -> int:
    """Download every OSV advisory of every pinned package (all versions, so a later
    pin can be checked too) into the snapshot."""
    pins = read_pins(constraints)
    names = sorted(pins)
    try:
        batch = _post(f"{OSV_API}/querybatch", {"queries": [
            {"package": {"name": n, "ecosystem": "PyPI"}} for n in names]}, timeout)
        packages: dict[str, list[dict]] = {}
        for name, result in zip(names, batch.get("results", []), strict=False):
            records = []
            for vuln in result.get("vulns", []):
                full = _get(f"{OSV_API}/vulns/{vuln['id']}", timeout)
                records.append({k: full[k] for k in ("id", "aliases", "summary", "affected",
                                                     "modified") if k in full})
            packages[name] = records
    except (OSError, urllib.error.URLError, ValueError) as exc:
        print(f"dependency audit: snapshot not refreshed ({type(exc).__name__}: {exc})",
              file=sys.stderr)
        return 1
    snapshot_path.parent.mkdir(parents=True, exist_ok=True)
    snapshot_path.write_text(json.dumps({
        "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "source": OSV_API, "packages": packages}, indent=1, sort_keys=True) + "\n", "utf-8")
    count = sum(len(v) for v in packages.values())
    print(f"dependency audit: snapshot of {count} advisories for {len(packages)} packages "
          f"written to {snapshot_path}")
    return 0


# Check ----------------------------------------------------------------------------------

def check(constraints: Path, snapshot_path: Path, timeout: int, online: bool = True) -> int:
    pins = read_pins(constraints)
    report = online_audit(constraints, timeout) if online else None
    if report is None and snapshot_path.exists():
        snapshot = json.loads(snapshot_path.read_text("utf-8"))
        report = check_snapshot(pins, snapshot)
        age = snapshot_age_days(snapshot)
        if age is not None and age > STALE_DAYS:
            print(f"warning: the advisory snapshot is {age} days old; run "
                  "'make audit-refresh' where a network is available", file=sys.stderr)
    if report is None or report.checked == 0:
        print(f"warning: {NOT_CHECKED}", file=sys.stderr)
        print(NOT_CHECKED)
        return 0
    print(f"dependency audit: {report.checked} pinned packages checked with {report.source}")
    for label in report.unchecked:
        print(f"  not checked: {label}")
    for finding in report.findings:
        print(f"  VULNERABLE {finding}")
    if report.findings:
        print(f"dependency audit: {len(report.findings)} known vulnerabilities")
        return 1
    print("dependency audit: no known vulnerabilities")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["check", "refresh"])
    parser.add_argument("--constraints", type=Path, default=CONSTRAINTS)
    parser.add_argument("--snapshot", type=Path, default=SNAPSHOT)
    parser.add_argument("--timeout", type=int, default=10)
    parser.add_argument("--offline", action="store_true", help="only the local snapshot")
    args = parser.parse_args(argv)
    if args.command == "refresh":
        return refresh(args.constraints, args.snapshot, args.timeout)
    return check(args.constraints, args.snapshot, args.timeout, online=not args.offline)


if __name__ == "__main__":
    raise SystemExit(main())
