"""The client's address when the dashboard runs behind proxies.

Every proxy appends the address it received a request from to `X-Forwarded-For`, and the last
one is `REMOTE_ADDR`. Only hops the deployment declares are trusted: either their number
(`TRUSTED_PROXY_COUNT`) or their addresses and networks (`TRUSTED_PROXIES`). Anything further
left in the header was written by the client and is ignored, so nobody can pick the address
they are throttled or audited under. With neither setting, `REMOTE_ADDR` is the client."""

from __future__ import annotations

import ipaddress
from functools import cache

from django.conf import settings
from django.http import HttpRequest


@cache
def _trusted_networks(spec: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip())


def _is_trusted(hop: str, networks) -> bool:
    try:
        address = ipaddress.ip_address(hop)
    except ValueError:
        return False
    return any(address in network for network in networks)


def client_address(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    forwarded = [hop.strip()[:64] for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    # Nearest first: the proxy that connected to us, then whoever it says connected to it, …
    hops = [remote, *reversed(forwarded)]
    networks = _trusted_networks(settings.TRUSTED_PROXIES)
    if networks:
        for hop in hops:
            if not _is_trusted(hop, networks):
                return hop
        return hops[-1]
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        return hops[min(count, len(hops) - 1)]
    return remote
