"""gunicorn's hooks for `billtone serve` (`gunicorn_command` passes this module as its
--config; docs/decisions/0012-production-server.md)."""

import logging

from gunicorn.glogging import Logger

logger = logging.getLogger(__name__)
AUTHORIZE_PATH = "/api/v1/authorize"


class AccessLog(Logger):
    """gunicorn's access log without the switch's answered authorizations: hundreds a second
    (tens of millions of lines a day) that Kamailio logs itself with the account, number,
    answer and time taken; each line cost 0.08–0.18 ms of the worker's CPU (docs/benchmarks.md,
    h/authz2). A refused or failed authorization (any status but 200) is still logged, and
    every other request (decision 0012)."""

    def access(self, resp, req, environ, request_time) -> None:
        if environ.get("PATH_INFO") == AUTHORIZE_PATH and resp.status_code == 200:
            return
        super().access(resp, req, environ, request_time)


logger_class = AccessLog  # a gunicorn setting: this module is its --config


def post_worker_init(worker) -> None:
    """Before a worker takes its first request, read what the call path keeps per process:
    the prefix tables of the rate decks in force. A worker replaced after --max-requests
    otherwise made the first authorizations that reached it wait for a 20,000-prefix deck to
    be read, while its other threads waited on them: p99 spikes of 0.4–0.7 s in
    bench/authorize.py (docs/benchmarks.md). The other workers serve meanwhile."""
    from django.apps import apps

    if not apps.ready:  # another WSGI app on these flags (bench/api_reads.py's floor)
        return
    from django.db import connections

    from billtone.core import clock
    from billtone.rating.selectors import prefix_tables_warm

    try:
        prefix_tables_warm(at=clock.now())
    except Exception:  # the database away: the first request reads them, as before
        logger.warning("rate decks not read before the first request", exc_info=True)
    finally:
        connections.close_all()  # hand the connection back before serving
