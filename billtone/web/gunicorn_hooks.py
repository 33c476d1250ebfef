"""gunicorn's hooks for `billtone serve` (`gunicorn_command` passes this module as its
--config; docs/decisions/0012-production-server.md)."""

import logging

logger = logging.getLogger(__name__)


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
