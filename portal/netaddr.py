"""The client's address, as far as the deployment lets us know it."""

from flask import request


def client_ip() -> str:
    # ProxyFix (configured by TRUSTED_PROXIES) has already rewritten remote_addr.
    return request.remote_addr or "unknown"
