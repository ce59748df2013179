"""Shared pieces of the benchmarks and load tests: a gunicorn server on 127.0.0.1,
a small cookie-keeping HTTP client, wrk runs and a seeded database."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
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


def portal_env(database_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "PORTAL_CONFIG": "development",
        "SECRET_KEY": SECRET,
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
    errors: int


def _ms(text: str) -> float:
    value = float(re.match(r"[\d.]+", text).group(0))
    if text.endswith("us"):
        return value / 1000
    if text.endswith("ms"):
        return value
    if text.endswith("s"):
        return value * 1000
    return value


def wrk(url: str, seconds: int = 10, connections: int = 8, threads: int = 2,
        headers: dict[str, str] | None = None, method: str = "GET", body: str | None = None
        ) -> WrkResult:
    """Run wrk against `url` and parse requests/s and latency percentiles."""
    exe = shutil.which("wrk")
    if exe is None:
        raise SystemExit("wrk is not installed: run `make bench` (it installs wrk) "
                         "or `apt-get install wrk`.")
    script = None
    args = [exe, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    for k, v in (headers or {}).items():
        args += ["-H", f"{k}: {v}"]
    if method != "GET":
        script = Path(f"/tmp/wrk-{os.getpid()}.lua")
        lua_body = (body or "").replace("\\", "\\\\").replace('"', '\\"')
        script.write_text(f'wrk.method = "{method}"\nwrk.body = "{lua_body}"\n'
                          'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n')
        args += ["-s", str(script)]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout  # noqa: S603
    if script:
        script.unlink(missing_ok=True)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (sum(map(int, sock.groups())) if sock else 0)
    return WrkResult(rps, p50, p99, total, errors)


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
