"""The client's IP address, as login throttling (django-axes) counts failures by it.

Behind reverse proxies every request arrives from the proxy's address, so throttling by
REMOTE_ADDR would lock every customer out together after one person's failed logins. With
`BILLTONE_TRUSTED_PROXIES` = n (the proxies in front of Billtone, each appending the address
it saw to X-Forwarded-For, as nginx's `$proxy_add_x_forwarded_for` does), the client is the
n-th address from the right. What a client writes into the header itself stands to the left
of those and is never read.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    remote = request.META.get("REMOTE_ADDR")
    proxies = settings.BILLTONE_TRUSTED_PROXIES
    if proxies <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop]
    if len(hops) < proxies:
        return remote  # did not come through all of our proxies
    try:
        return str(ipaddress.ip_address(hops[-proxies]))
    except ValueError:
        return remote
