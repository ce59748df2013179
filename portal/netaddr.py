"""The client's address, as far as the deployment lets us know it."""

import ipaddress

from flask import request


def client_ip() -> str:
    # ProxyFix (configured by TRUSTED_PROXIES) has already rewritten remote_addr.
    return request.remote_addr or "unknown"


def network_of(address: str) -> str:
    """The network a client stands for: an IPv4 address alone, an IPv6 /64 (one
    subscriber usually holds a whole /64, so its addresses are one client)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def client_network() -> str:
    return network_of(client_ip())
