"""camt.053 entries parsed per second, with and without reading references, and peak memory.

Four measurements, each in a fresh interpreter so that its peak resident memory (libxml2
included) is its own:

  parse   `statement_parse(path)`: every StatementEntry with its identity, as the importer
          reads them;
  refs    the same, plus `references_find(entry.remittance)` on every entry;
  scan    the same, plus `matching.entry_scan` on every entry's structured reference and
          free text: what the importer does with each credit;
  check   `statement_check(path)`: the first pass of the two-pass import.

Wall time and CPU time are both given: on a busy machine CPU time says more. The file is
generated with bench/gen_camt053.py unless one is given. Not part of the test suite.
Results: docs/benchmarks.md.

    .venv/bin/python bench/parse_camt053.py [--entries 100000] [--repeat 3] [FILE]
    .venv/bin/python bench/parse_camt053.py --profile refs     # cProfile, top 25 by tottime
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODES = ("parse", "refs", "scan", "check")


def _run(mode: str, path: Path) -> tuple[int, int]:
    """Entries read and references found (valid readings) in one pass of `mode`."""
    from billtone.banktransfers.references import references_find
    from billtone.reconciliation.statements import statement_check, statement_parse

    count = found = 0
    if mode == "parse":
        for _ in statement_parse(path):
            count += 1
    elif mode == "refs":
        for entry in statement_parse(path):
            count += 1
            found += bool(references_find(entry.remittance).valid)
    elif mode == "scan":
        from billtone.reconciliation.matching import entry_scan

        for entry in statement_parse(path):
            count += 1
            scan = entry_scan(
                structured_reference=entry.structured_reference, free_text=entry.free_text
            )
            found += bool(scan.readings)
    else:
        (summary,) = statement_check(path).statements
        count = summary.credit_transactions + summary.debit_transactions
    return count, found


def child(mode: str, path: Path) -> dict:
    """One measurement in this interpreter (which the parent started for it)."""
    _setup(mode)  # imports are not timed

    wall, cpu = time.perf_counter(), time.process_time()
    count, found = _run(mode, path)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "mode": mode,
        "entries": count,
        "found": found,
        "wall_s": wall,
        "cpu_s": cpu,
        "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def measure(mode: str, path: Path) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def generate(entries: int, directory: Path) -> Path:
    from bench.gen_camt053 import write_camt053
    from billtone.banktransfers.references import reference_from_body

    rng = random.Random(7)
    references = [reference_from_body(rng.randrange(10**12)) for _ in range(500)]
    path = directory / f"camt053-{entries}.xml"
    write_camt053(path, entries=entries, references=references, seed=7)
    return path


def _setup(mode: str) -> None:
    """Import what `mode` uses. `scan` reaches the models' review reasons, hence Django
    (settings only: no database is opened), which adds some 30 MiB to its peak RSS."""
    import billtone.reconciliation.statements  # noqa: F401

    if mode == "scan":
        import os

        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        django.setup()
        import billtone.reconciliation.matching  # noqa: F401


def profile(mode: str, path: Path) -> None:
    import cProfile
    import pstats

    _setup(mode)

    profiler = cProfile.Profile()
    profiler.runcall(_run, mode, path)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, help="a camt.053 file (else generated)")
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per mode; the best counts")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--profile", choices=MODES, help="profile one pass instead")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(child(args.child, args.file)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = args.file
        if path is None:
            path = generate(args.entries, Path(tmp))
        if args.profile:
            profile(args.profile, path)
            return 0
        size_mb = path.stat().st_size / 1e6
        print(f"{path.name}: {size_mb:.1f} MB")
        for mode in args.modes.split(","):
            runs = [measure(mode, path) for _ in range(args.repeat)]
            best = min(runs, key=lambda r: r["wall_s"])
            best_cpu = min(r["cpu_s"] for r in runs)
            peak = max(r["max_rss_kib"] for r in runs) / 1024
            found = f", {best['found']} with a reference" if mode in ("refs", "scan") else ""
            print(
                f"{mode:6} {best['entries']} entries{found}: "
                f"{best['entries'] / best['wall_s']:,.0f}/s wall ({best['wall_s']:.2f} s), "
                f"{best['entries'] / best_cpu:,.0f}/s CPU, peak RSS {peak:.0f} MiB"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
