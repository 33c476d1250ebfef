"""A large generated camt.053 streams through in little memory, and reads back as written."""

import random
import subprocess
import sys
import textwrap
import tracemalloc
from decimal import Decimal
from pathlib import Path

import pytest

from bench.gen_camt053 import write_camt053
from billtone.banktransfers.references import reference_from_body, references_find
from billtone.reconciliation.statements import statement_parse

ENTRIES = 20_000
REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    rng = random.Random(7)
    references = [reference_from_body(rng.randrange(10**12)) for _ in range(500)]
    path = tmp_path_factory.mktemp("camt") / "large.xml"
    return write_camt053(path, entries=ENTRIES, references=references, seed=7)


def test_the_generator_writes_the_shares_asked_for(generated):
    assert generated.entries == ENTRIES
    assert (
        generated.with_reference + generated.with_invalid_reference + (generated.without_reference)
        == ENTRIES
    )
    assert 0.88 < generated.with_reference / ENTRIES < 0.92
    assert generated.with_invalid_reference > 0 and generated.without_reference > 0


def test_a_large_file_streams_in_little_python_memory(generated):
    size = generated.path.stat().st_size
    tracemalloc.start()
    try:
        count, total = 0, Decimal(0)
        stream = statement_parse(generated.path)
        for entry in stream:
            count += 1
            total += entry.amount
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (count, total) == (ENTRIES, generated.total)
    assert stream.statements[0].balanced is True
    # The file is ~14 MB; what the parser holds at any time is a few entries and one
    # identity per entry seen (for look-alike counting).
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.1f} MB file"
    assert peak < size / 2


_MAX_RSS = """
import sys
sys.path.insert(0, {root!r})
from billtone.reconciliation.statements import statement_parse
for _ in statement_parse({path!r}):
    pass
with open("/proc/self/status") as status:
    print(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
"""


def max_rss_kib(path: Path) -> int:
    """Peak resident memory of a fresh interpreter that streams `path` (libxml2 included,
    which tracemalloc does not see). Read from VmHWM, not getrusage's ru_maxrss: that one
    starts from the forking process's size (the test runner's, 100 MB and more) and would
    hide any growth below it."""
    code = textwrap.dedent(_MAX_RSS.format(root=str(REPO_ROOT), path=str(path)))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    return int(done.stdout.split()[-1])


def test_the_parsed_tree_is_dropped_as_it_goes(generated, tmp_path):
    small = write_camt053(tmp_path / "small.xml", entries=10, seed=1)
    growth_kib = max_rss_kib(generated.path) - max_rss_kib(small.path)
    size_kib = generated.path.stat().st_size // 1024
    # Kept whole, libxml2's tree of this file would take several times its size.
    assert growth_kib < size_kib, f"grew {growth_kib} KiB for a {size_kib} KiB file"


def test_every_reference_written_is_read_back(generated):
    mistyped = 0
    stream = statement_parse(generated.path)
    for entry, expected in zip(stream, generated.expected, strict=True):
        scan = references_find(entry.remittance)
        if expected:
            assert scan.valid == (expected,), entry.position
        else:
            mistyped += bool(scan.invalid)
    # Of the mistyped references, about one in fifty reads as another, shorter valid one
    # by chance (see references_find); the others are reported as invalid.
    assert mistyped > 0.95 * generated.with_invalid_reference
    (summary,) = stream.statements
    assert (summary.credit_entries, summary.credit_sum) == (ENTRIES, generated.total)
    assert summary.problems == ()  # balances and control sums agree
