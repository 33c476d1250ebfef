"""Peak memory of `billtone import-statement` on the hostile camt.053 of issue 14, PostgreSQL.

The file (bench/gen_hostile_camt053.py): 10 million small elements in the group header and a
statement without entries, ~210 MB, written to test-artifacts/ once. The database <name>
(bt_hostile by default) is dropped, made again on the server of DATABASE_URL and migrated;
then the file is imported N times (3 by default) with the real command, each in a fresh
process whose peak resident memory is read from the kernel when it ends (wait4's
ru_maxrss; the process is started by vfork/exec from this small one, so it is its own).
The file is over the default limit of 100 MB (BILLTONE_STATEMENT_MAX_BYTES), which refuses
it before reading it: the runs raise the limit to --limit bytes (300 MB by default) so that
the parser is what is measured; one run at the default limit is shown after them.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/hostile_statement_import.py [--runs 3] [--elements 10000000] \\
        [--where grphdr] [--database bt_hostile] [--limit 300000000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from gen_hostile_camt053 import PLACES, write_hostile_camt053  # noqa: E402
from statement_import import _drop, _recreate, _url  # noqa: E402

BILLTONE = [sys.executable, "-c", "import sys; from billtone.cli import main; sys.exit(main())"]


def _run(command: list[str], env: dict) -> tuple[float, float, int, str]:
    """(peak RSS in MB, wall seconds, exit code, output) of one process."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    output = process.stdout.read().decode(errors="replace")  # type: ignore[union-attr]
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024, time.perf_counter() - started, process.returncode, output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--elements", type=int, default=10_000_000)
    parser.add_argument("--where", choices=PLACES, default="grphdr")
    parser.add_argument("--database", default="bt_hostile")
    parser.add_argument("--limit", type=int, default=300_000_000)
    options = parser.parse_args()

    path = ROOT / "test-artifacts" / f"hostile-{options.where}-{options.elements}.xml"
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        write_hostile_camt053(path, elements=options.elements, where=options.where)
    size = path.stat().st_size
    print(f"{path.name}: {size / 1e6:,.0f} MB, {options.elements:,} elements in {options.where}")

    _recreate(options.database)
    env = {**os.environ, "DATABASE_URL": _url(options.database), "PYTHONPATH": str(ROOT)}
    env.pop("BILLTONE_STATEMENT_MAX_BYTES", None)
    peak, _, code, output = _run([*BILLTONE, "migrate", "--verbosity", "0"], env)
    if code:
        sys.exit(f"migrate failed:\n{output}")

    peaks = []
    for run in range(1, options.runs + 1):
        load = os.getloadavg()[0]
        peak, wall, code, output = _run(
            [*BILLTONE, "import-statement", str(path)],
            {**env, "BILLTONE_STATEMENT_MAX_BYTES": str(options.limit)},
        )
        peaks.append(peak)
        last = [line for line in output.splitlines() if line.strip()][-3:]
        print(
            f"run {run} at {time.strftime('%H:%M:%S', time.gmtime())} UTC, load {load:.2f}: "
            f"peak RSS {peak:,.0f} MB, {wall:.1f} s, exit {code}; " + " | ".join(last)
        )
    print(f"median peak RSS of {options.runs} runs: {statistics.median(peaks):,.0f} MB")

    peak, wall, code, output = _run([*BILLTONE, "import-statement", str(path)], env)
    print(
        f"at the default limit: peak RSS {peak:,.0f} MB, {wall:.1f} s, exit {code}: "
        + output.strip().splitlines()[-1]
    )
    _drop(options.database)


if __name__ == "__main__":
    main()
