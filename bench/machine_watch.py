"""Where a benchmark's time goes on this machine, over a measured window: how busy the CPUs
were (from /proc/stat), the CPU of every PostgreSQL server process (backends, WAL writer,
checkpointer, autovacuum: from /proc/<pid>/stat), and what the database's active backends
were waiting on, sampled from pg_stat_activity (CPU, a row lock held by another transaction,
the WAL flush of a commit, the client's next statement...). The server must run on this
machine. Used by checkout.py's rounds (issue 17: is a checkout bounded by CPU or by a lock?).
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_times() -> tuple[float, float, float]:
    """(busy, stolen, total) seconds of all CPUs since boot; stolen: the hypervisor ran
    another machine while this one had work (counted in busy)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # guest time is already in user
    return (total - idle) / _TICK, values[7] / _TICK, total / _TICK


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of one process of this machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _postgres_cpu() -> float:
    """CPU seconds (user + system) of every PostgreSQL server process, with those of the
    server processes that ended and were reaped (the postmaster's children's times): the
    difference of two readings counts a backend that ended in between (its client closed
    the connection) up to its end, and one started in between from its start."""
    found = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        name, rest = stat.split("(", 1)[1].rsplit(")", 1)
        if name != "postgres":
            continue
        fields = rest.split()  # utime, stime, cutime, cstime: fields 14 to 17 of stat(5)
        found += sum(int(value) for value in fields[11:15]) / _TICK
    return found


@dataclass
class Watched:
    seconds: float = 0.0
    busy_share: float = 0.0  # of all CPUs over the window
    stolen_share: float = 0.0  # of all CPUs: time the hypervisor gave another machine
    cpus: int = 1
    postgres_cpu: float = 0.0  # seconds, every server process
    waits: Counter = field(default_factory=Counter)  # "CPU" or "type:event" of active backends
    hot_rows: Counter = field(default_factory=Counter)  # table: samples with a row queued for
    samples: int = 0

    def cpu_ms_per(self, rate: float) -> float:
        """Milliseconds of the machine's CPU (every process) per unit of work, at `rate`
        units per second over the window."""
        return 1000 * self.busy_share * self.cpus / max(rate, 1e-9)

    def postgres_ms_per(self, rate: float) -> float:
        return 1000 * self.postgres_cpu / max(self.seconds, 1e-9) / max(rate, 1e-9)

    def wait_shares(self, top: int = 6) -> str:
        total = sum(self.waits.values()) or 1
        return ", ".join(
            f"{name} {100 * n / total:.0f} %" for name, n in self.waits.most_common(top)
        )

    def hot_row_shares(self) -> str:
        """Per table, in how many samples someone queued for one of its rows."""
        shares = [
            f"{table} {100 * n / max(self.samples, 1):.0f} %"
            for table, n in self.hot_rows.most_common()
        ]
        return ", ".join(shares) or "none"


class MachineWatch:
    """Start before the window (`start_at`: when to take the first snapshot), `result()`
    after it: a thread that snapshots the machine at `start_at` and a little before `until`
    (the clients' backends end with it) and samples the database's backends every `interval`
    seconds in between (0: no samples; a sample's two queries cost the server some CPU).
    Figures are rates over the time between the snapshots."""

    def __init__(self, url: str, database: str, start_at: float, until: float, interval=0.05):
        self.url, self.database = url, database
        self.start_at, self.until, self.interval = start_at, until, interval
        self.watched = Watched(cpus=os.cpu_count() or 1)
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        import psycopg

        waits, hot_rows, samples = Counter(), Counter(), 0
        with psycopg.connect(self.url, autocommit=True) as conn:
            time.sleep(max(0.0, self.start_at - time.time()))
            busy0, stolen0, total0 = _cpu_times()
            postgres0 = _postgres_cpu()
            began = time.time()
            if self.interval <= 0:  # the CPU only: nothing asked of the database meanwhile
                time.sleep(max(0.0, self.until - 0.1 - time.time()))
            while self.interval > 0 and time.time() < self.until - 2 * self.interval:
                rows = conn.execute(
                    "SELECT wait_event_type, wait_event FROM pg_stat_activity "
                    "WHERE datname = %s AND state <> 'idle' AND pid <> pg_backend_pid()",
                    [self.database],
                ).fetchall()
                for kind, event in rows:
                    waits[f"{kind}:{event}" if kind else "CPU"] += 1
                # which table's rows are queued for: the first waiter for a row holds its
                # tuple lock while it waits for the holder's transaction to end
                for (table,) in conn.execute(
                    "SELECT l.relation::regclass::text FROM pg_locks l "
                    "JOIN pg_database d ON d.oid = l.database "
                    "WHERE l.locktype = 'tuple' AND d.datname = %s",
                    [self.database],
                ).fetchall():
                    hot_rows[table] += 1
                samples += 1
                time.sleep(self.interval)
            busy1, stolen1, total1 = _cpu_times()
            postgres1 = _postgres_cpu()
        watched = self.watched
        watched.seconds = time.time() - began
        watched.busy_share = (busy1 - busy0) / max(total1 - total0, 1e-9)
        watched.stolen_share = (stolen1 - stolen0) / max(total1 - total0, 1e-9)
        watched.postgres_cpu = postgres1 - postgres0
        watched.waits, watched.hot_rows, watched.samples = waits, hot_rows, samples

    def result(self) -> Watched:
        self.thread.join()
        return self.watched
