"""Start the local OpenID Connect provider (tools/sso-idp/oidc-provider.mjs) on 127.0.0.1.

Used by the test suite (tests/test_sso_oidc.py, tests/e2e/test_sso_journey.py) and by
`make sso-demo`. Needs `npm ci` to have installed node_modules/ (package-lock.json).

    python -m tools.sso_idp --port 8899 --redirect-uri http://127.0.0.1:5000/sso/demo/callback
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess  # nosec B404
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tools" / "sso-idp" / "oidc-provider.mjs"

# Demo people of the association: one current member, one whose membership lapsed.
DEMO_ACCOUNTS = {
    "M-1001": {"password": "member-pass", "claims": {
        "email": "sso-member@example.org", "email_verified": True, "name": "Sam Okafor",
        "membership_type": "Regular", "membership_status": "active",
        "career_stage": "mid", "library_type": "Public Library", "groups": []}},
    "M-1002": {"password": "lapsed-pass", "claims": {
        "email": "lapsed@example.org", "email_verified": True, "name": "Lee Lapsed",
        "membership_type": "Regular", "membership_status": "lapsed", "groups": []}},
}


def node_available() -> bool:
    return shutil.which("node") is not None and (ROOT / "node_modules" / "oidc-provider").is_dir()


def new_signing_key(kid: str) -> RSAKey:
    """A fresh 2048-bit RSA key for the provider to sign ID tokens with."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return RSAKey.import_key(private, {"kid": kid, "use": "sig", "alg": "RS256"})


@dataclass
class LocalProvider:
    port: int
    client_id: str = "portal"
    client_secret: str = "portal-client-secret-for-tests"  # noqa: S105  # nosec B105
    redirect_uris: list[str] = field(default_factory=list)
    post_logout_redirect_uris: list[str] = field(default_factory=list)
    accounts: dict = field(default_factory=lambda: json.loads(json.dumps(DEMO_ACCOUNTS)))
    keys: list[RSAKey] = field(default_factory=lambda: [new_signing_key("key-1")])
    extra_clients: list[dict] = field(default_factory=list)
    id_token_ttl: int = 3600
    process: subprocess.Popen | None = None
    _dir: tempfile.TemporaryDirectory | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def _config(self) -> dict:
        client = {"client_id": self.client_id, "client_secret": self.client_secret,
                  "redirect_uris": self.redirect_uris,
                  "post_logout_redirect_uris": self.post_logout_redirect_uris,
                  "grant_types": ["authorization_code"], "response_types": ["code"],
                  "token_endpoint_auth_method": "client_secret_basic"}
        return {"port": self.port, "host": "127.0.0.1", "issuer": self.issuer,
                "clients": [client, *self.extra_clients],
                "jwks": {"keys": [k.as_dict(private=True) for k in self.keys]},
                "accounts": self.accounts, "idTokenTTL": self.id_token_ttl}

    def start(self, timeout: float = 20.0) -> LocalProvider:
        self._dir = tempfile.TemporaryDirectory(prefix="sso-idp-")
        path = Path(self._dir.name) / "config.json"
        path.write_text(json.dumps(self._config()))
        env = {**os.environ, "NODE_ENV": "development"}
        self.process = subprocess.Popen(  # noqa: S603  # nosec B603
            [shutil.which("node") or "node", str(SCRIPT), str(path)], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if line.startswith("READY"):
                return self
            if not line and self.process.poll() is not None:
                break
        self.stop()
        raise RuntimeError("the local OpenID Connect provider did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def restart(self) -> None:
        self.stop()
        self.start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8899)
    parser.add_argument("--redirect-uri", default="http://127.0.0.1:5000/sso/demo/callback")
    parser.add_argument("--post-logout-uri", default="http://127.0.0.1:5000/sso/signed-out")
    parser.add_argument("--secret-file", help="write the client secret to this file")
    args = parser.parse_args()
    idp = LocalProvider(port=args.port, redirect_uris=[args.redirect_uri],
                       post_logout_redirect_uris=[args.post_logout_uri])
    if args.secret_file:
        Path(args.secret_file).write_text(idp.client_secret + "\n")
    idp.start()
    print(f"Local OpenID Connect provider at {idp.issuer} (client id '{idp.client_id}').")
    for sub, account in DEMO_ACCOUNTS.items():
        print(f"  login {sub}  password {account['password']}  "
              f"({account['claims']['membership_status']} member)")
    try:
        assert idp.process is not None
        idp.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        idp.stop()


if __name__ == "__main__":
    main()
