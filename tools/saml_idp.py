"""Start a local SAML 2.0 identity provider: Debian's SimpleSAMLphp under PHP's built-in
server on 127.0.0.1, with a configuration written to a temporary directory.

Used by tests/test_sso_saml.py. Needs the Debian packages simplesamlphp and php-cli.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import signal
import subprocess  # nosec B404
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

SSP_WWW = Path("/usr/share/simplesamlphp/www")

DEMO_USERS = {
    "M-1001": {"password": "member-pass", "attributes": {
        "uid": ["M-1001"], "email": ["sso-member@example.org"], "name": ["Sam Okafor"],
        "membership_type": ["Regular"], "membership_status": ["active"],
        "career_stage": ["mid"], "library_type": ["Public Library"]}},
    "M-1002": {"password": "lapsed-pass", "attributes": {
        "uid": ["M-1002"], "email": ["lapsed@example.org"], "name": ["Lee Lapsed"],
        "membership_type": ["Regular"], "membership_status": ["lapsed"]}},
}


def simplesamlphp_available() -> bool:
    return shutil.which("php") is not None and (SSP_WWW / "saml2" / "idp").is_dir()


def self_signed(common_name: str, valid_days: int = 365) -> tuple[str, str]:
    """A fresh RSA key and a self-signed certificate for it, both PEM (a negative
    `valid_days` gives a certificate that has already expired)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=max(1, -valid_days + 1)))
            .not_valid_after(now + dt.timedelta(days=valid_days))
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode()


def _php(value) -> str:
    """A PHP literal for a JSON-able Python value."""
    if isinstance(value, dict):
        items = ", ".join(f"{_php(k)} => {_php(v)}" for k, v in value.items())
        return f"[{items}]"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_php(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass
class LocalSamlProvider:
    port: int
    sp_entity_id: str
    acs_url: str
    slo_url: str
    users: dict = field(default_factory=lambda: json.loads(json.dumps(DEMO_USERS)))
    sign_assertion: bool = True
    assertion_lifetime: int = 300
    cert_valid_days: int = 365
    # The name in its URLs: "localhost" makes it another site than a portal on 127.0.0.1
    # (a real browser then sends no SameSite=Lax cookie with its POST to the portal).
    host: str = "127.0.0.1"
    process: subprocess.Popen | None = None
    _dir: tempfile.TemporaryDirectory | None = None
    _log_file: object = None

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def metadata_url(self) -> str:
        return f"{self.base}/saml2/idp/metadata.php"

    @property
    def entity_id(self) -> str:
        return self.metadata_url

    def _write(self, root: Path) -> None:
        (root / "metadata").mkdir()
        (root / "cert").mkdir()
        for name in ("log", "scratch", "data"):
            (root / name).mkdir()
        key, cert = self_signed("Local SAML IdP", self.cert_valid_days)
        (root / "cert" / "idp.key").write_text(key)
        (root / "cert" / "idp.crt").write_text(cert)
        config = {
            "baseurlpath": f"{self.base}/", "certdir": f"{root}/cert/",
            "loggingdir": f"{root}/log/", "datadir": f"{root}/data/",
            "tempdir": str(root / "scratch"), "metadatadir": f"{root}/metadata/",
            "technicalcontact_name": "Tests", "technicalcontact_email": "tests@example.org",
            "timezone": "UTC", "secretsalt": secrets.token_hex(16),
            "auth.adminpassword": secrets.token_hex(16), "admin.protectindexpage": True,
            "admin.protectmetadata": False, "logging.level": 6, "logging.handler": "errorlog",
            "enable.saml20-idp": True, "enable.shib13-idp": False,
            "module.enable": {"exampleauth": True, "core": True, "saml": True, "admin": True},
            "store.type": "phpsession", "session.cookie.secure": False,
            "session.phpsession.cookiename": "SSPIDPSESSID",
            "language.default": "en", "theme.use": "default:default",
            "trusted.url.domains": ["127.0.0.1", "localhost"],
            "metadata.sources": [{"type": "flatfile"}],
        }
        (root / "config.php").write_text("<?php\n$config = " + _php(config) + ";\n")
        users = {f"{login}:{u['password']}": u["attributes"] for login, u in self.users.items()}
        sources = {"admin": ["core:AdminPassword"],
                   "members": ["exampleauth:UserPass"]}
        text = "<?php\n$config = " + _php(sources) + ";\n"
        text += "$config['members'] = array_merge($config['members'], " + _php(users) + ");\n"
        (root / "authsources.php").write_text(text)
        hosted = {"host": "__DEFAULT__", "privatekey": "idp.key", "certificate": "idp.crt",
                  "auth": "members",
                  "attributes.NameFormat": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
                  "NameIDFormat": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
                  "saml20.sign.assertion": self.sign_assertion,
                  "saml20.sign.response": True,
                  "assertion.lifetime": self.assertion_lifetime,
                  "userid.attribute": "uid"}
        (root / "metadata" / "saml20-idp-hosted.php").write_text(
            "<?php\n$metadata['__DYNAMIC:1__'] = " + _php(hosted) + ";\n")
        remote = {"AssertionConsumerService": [{
            "Binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
            "Location": self.acs_url}],
            "SingleLogoutService": [{
                "Binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
                "Location": self.slo_url}],
            "NameIDFormat": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
            "simplesaml.nameidattribute": "uid",
            "saml20.sign.assertion": self.sign_assertion}
        (root / "metadata" / "saml20-sp-remote.php").write_text(
            "<?php\n$metadata[" + _php(self.sp_entity_id) + "] = " + _php(remote) + ";\n")
        for name in ("shib13-idp-hosted", "shib13-sp-remote", "saml20-idp-remote",
                     "shib13-idp-remote"):
            (root / "metadata" / f"{name}.php").write_text("<?php\n")

    def start(self, timeout: float = 20.0) -> LocalSamlProvider:
        self._dir = tempfile.TemporaryDirectory(prefix="saml-idp-")
        root = Path(self._dir.name)
        self._write(root)
        env = {**os.environ, "SIMPLESAMLPHP_CONFIG_DIR": str(root)}
        self._log_file = (root / "log" / "php.log").open("w")
        self.process = subprocess.Popen(  # noqa: S603  # nosec B603
            [shutil.which("php") or "php", "-S", f"127.0.0.1:{self.port}", "-t", str(SSP_WWW)],
            env=env, stdout=subprocess.DEVNULL, stderr=self._log_file)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(self.metadata_url, timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        log = (root / "log" / "php.log").read_text()[-2000:]
        self.stop()
        raise RuntimeError(f"SimpleSAMLphp did not start: {log}")

    def log(self) -> str:
        if self._dir is None:
            return ""
        return (Path(self._dir.name) / "log" / "php.log").read_text()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="A local SAML 2.0 identity provider "
                                     "(SimpleSAMLphp) for `make saml-demo`.")
    parser.add_argument("--port", type=int, default=8898)
    parser.add_argument("--portal", default="http://127.0.0.1:5000")
    parser.add_argument("--slug", default="demo-saml")
    args = parser.parse_args()
    sp = f"{args.portal}/sso/{args.slug}"
    idp = LocalSamlProvider(port=args.port, sp_entity_id=f"{sp}/metadata", acs_url=f"{sp}/acs",
                            slo_url=f"{sp}/slo").start()
    print(f"Local SAML identity provider (SimpleSAMLphp) at {idp.base}; metadata "
          f"{idp.metadata_url}")
    for login, user in DEMO_USERS.items():
        print(f"  login {login}  password {user['password']}  "
              f"({user['attributes']['membership_status'][0]} member)")
    try:
        assert idp.process is not None
        idp.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        idp.stop()


if __name__ == "__main__":
    main()
