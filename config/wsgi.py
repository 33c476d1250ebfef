import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_wsgi_application()
# Load every view and the API's schemas now rather than on a worker's first request: under
# `billtone serve --preload` this happens once in the master, and a worker that replaces
# another is ready the moment it is forked (decision 0012).
get_resolver().url_patterns  # noqa: B018 (the access loads them)

from billtone.rating import authorize_http  # noqa: E402 (needs the apps loaded)


def application(environ, start_response):
    """Django, but the switch's call authorization (GET /api/v1/authorize) goes by its lean
    path: the same contract without the middleware stack and Ninja (decision 0028)."""
    if authorize_http.takes(environ):
        return authorize_http.authorize_app(environ, start_response)
    return django_application(environ, start_response)


# What is loaded so far lives as long as the process: the collector's full passes need not
# walk it again and again. Those passes paused requests; with them the API read benchmark's
# p99 was 31 ms, without 14 ms (docs/benchmarks.md). The forked workers share these pages.
gc.freeze()
