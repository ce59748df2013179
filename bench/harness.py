"""Shared pieces of the benchmarks and load tests: a gunicorn server on 127.0.0.1,
a small cookie-keeping HTTP client, wrk runs and a seeded database."""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
SECRET = "bench-secret-" + "0123456789abcdef" * 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    proc: subprocess.Popen
    url: str
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


SECRET_ANONYMITY = "5e" * 32  # benchmark and reliability databases (dataset.BENCH_ANONYMITY_KEY)


def portal_env(database_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "PORTAL_CONFIG": "development",
        "SECRET_KEY": SECRET,
        # Every process of one run must seal and open with the same anonymity key.
        "ANONYMITY_KEY": SECRET_ANONYMITY,
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
        "MAIL_BACKEND": "memory",
        "PYTHONPATH": str(ROOT),
    })
    env.update(extra)
    return env


def start_gunicorn(app_spec: str, env: dict[str, str], workers: int = 2, log: Path | None = None,
                   extra_args: list[str] | None = None) -> Server:
    port = free_port()
    log = log or Path(f"/tmp/bench-gunicorn-{port}.log")
    bin_dir = Path(sys.executable).parent
    cmd = [str(bin_dir / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}",
           "--graceful-timeout", "5", "--timeout", "60", *(extra_args or []), app_spec]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log.open("w"),  # noqa: S603
                            stderr=subprocess.STDOUT)
    server = Server(proc, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise RuntimeError("gunicorn did not start in 30 s")


class Client:
    """Keeps cookies like a browser, enough for the portal's forms."""

    def __init__(self, base_url: str, timeout: float = 30) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.cookies: dict[str, str] = {}
        self.timeout = timeout

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def request(self, method: str, path: str, form: dict | None = None
                ) -> tuple[int, dict[str, str], str]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        headers = {"Cookie": self.cookie_header()} if self.cookies else {}
        body = None
        if form is not None:
            body = urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            text = resp.read().decode("utf-8", "replace")
            for name, value in resp.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    val = rest.split(";", 1)[0]
                    if val:
                        self.cookies[key] = val
                    else:
                        self.cookies.pop(key, None)
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, text
        finally:
            conn.close()

    def get(self, path: str):
        return self.request("GET", path)

    def csrf(self, path: str) -> str:
        status, _, html = self.get(path)
        match = CSRF_RE.search(html)
        if not match:
            raise RuntimeError(f"no CSRF token on {path} (status {status})")
        return match.group(1)

    def post(self, path: str, form: dict, token_from: str | None = None):
        form = dict(form)
        form.setdefault("csrf_token", self.csrf(token_from or path))
        return self.request("POST", path, form)

    def login(self, email: str, password: str) -> None:
        status, headers, _ = self.post("/auth/login", {"email": email, "password": password})
        if status != 302:
            raise RuntimeError(f"login failed for {email}: {status}")


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    bad_status: int      # responses with a status of 400 or more (wrk's "Non-2xx or 3xx")
    socket_errors: int   # connect, read, write and timeout errors

    @property
    def errors(self) -> int:
        return self.bad_status + self.socket_errors


@dataclass
class Poster:
    """One signed-in member's POSTs for wrk: the session cookie, sent unchanged with
    every request, and the (path, urlencoded form) pairs to send in turn."""

    cookie: str
    forms: list[tuple[str, str]]


def _ms(text: str) -> float:
    value = float(re.match(r"[\d.]+", text).group(0))
    if text.endswith("us"):
        return value / 1000
    if text.endswith("ms"):
        return value
    if text.endswith("s"):
        return value * 1000
    return value


def _lua(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped.replace("\r", "\\r") + '"'


def post_script(posters: list[Poster]) -> str:
    """A wrk script: thread i posts as posters[i % len(posters)], cycling its forms."""
    entries = []
    for p in posters:
        forms = ", ".join(f"{{{_lua(path)}, {_lua(body)}}}" for path, body in p.forms)
        entries.append(f"  {{cookie = {_lua(p.cookie)}, forms = {{{forms}}}}}")
    return "posters = {\n" + ",\n".join(entries) + "\n}\n" + """
local next_thread = 0
function setup(thread)
  thread:set("poster_index", next_thread % #posters + 1)
  next_thread = next_thread + 1
end
function init(args)
  mine = posters[poster_index]
  sent = 0
end
function request()
  local form = mine.forms[sent % #mine.forms + 1]
  sent = sent + 1
  return wrk.format("POST", form[1], {["Cookie"] = mine.cookie,
    ["Content-Type"] = "application/x-www-form-urlencoded"}, form[2])
end
"""


def probe(url: str, method: str = "GET", headers: dict[str, str] | None = None,
          body: str | None = None) -> int:
    """Send one request as wrk will and refuse a 4xx/5xx answer (its page is shown)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = dict(headers or {})
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""),
                     body=body, headers=headers)
        resp = conn.getresponse()
        text = resp.read().decode("utf-8", "replace")
    finally:
        conn.close()
    if resp.status >= 400:
        raise RuntimeError(f"{method} {url} answered {resp.status}, so wrk would count every "
                           f"request as an error:\n{text[:1500]}")
    return resp.status


def wrk(url: str, seconds: int = 10, connections: int = 8, threads: int = 2,
        headers: dict[str, str] | None = None, posters: list[Poster] | None = None
        ) -> WrkResult:
    """Run wrk against `url` (GETs, or the posters' POSTs) after a probe request (one per
    poster) that must succeed, and parse requests/s, latency percentiles and errors.
    wrk counts every answer with a status of 400 or more as an error ("Non-2xx or 3xx
    responses")."""
    exe = shutil.which("wrk")
    if exe is None:
        raise SystemExit("wrk is not installed: run `make bench` (it installs wrk) "
                         "or `apt-get install wrk`.")
    base = url.rstrip("/")
    if posters:
        for poster in posters:
            path, body = poster.forms[0]
            probe(base + path, "POST", {"Cookie": poster.cookie}, body)
    else:
        probe(url, "GET", headers)
    args = [exe, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    for k, v in (headers or {}).items():
        args += ["-H", f"{k}: {v}"]
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        if posters:
            script = Path(tmp) / "post.lua"
            script.write_text(post_script(posters))
            args += ["-s", str(script)]
        out = subprocess.run([*args, url], capture_output=True, text=True,  # noqa: S603
                             check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return WrkResult(rps, p50, p99, total, int(bad.group(1)) if bad else 0,
                     sum(map(int, sock.groups())) if sock else 0)


def machine_summary() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, Python {sys.version.split()[0]}"


@contextmanager
def scratch_database(server_url: str | None, name: str) -> Iterator[str | None]:
    """A new, empty PostgreSQL database on the server of `server_url` (any database URL
    there), dropped afterwards also when the benchmark fails; None passes through."""
    if not server_url:
        yield None
        return
    import sqlalchemy as sa

    url = sa.make_url(server_url.replace("postgresql://", "postgresql+psycopg://", 1))
    db_name = f"portal_bench_{name}_{os.getpid()}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{db_name}"'))
        try:
            yield url.set(database=db_name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def databases(postgres: str | None, name: str) -> Iterator[tuple[str, str]]:
    """(label, URL) of a temporary SQLite file, then, when `postgres` is given, of a
    scratch database on that PostgreSQL server; each is removed after its turn."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        yield "SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}"
    if postgres:
        with scratch_database(postgres, name) as url:
            yield "PostgreSQL", url


def add_postgres_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--postgres", metavar="URL",
                        help="also run on PostgreSQL: a scratch database is created on the "
                        "server of URL and dropped afterwards")


def verdict(missed: list[str]) -> int:
    """Print what missed its target; the exit status for the benchmark."""
    if missed:
        print(f"Missed the target: {', '.join(missed)}")
    return 1 if missed else 0
