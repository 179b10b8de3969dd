"""Time linear in the size of one document: 25,000, 50,000 and 100,000 disks.

Run with the other benchmarks (``python3 -m pytest benchmarks --benchmark-enable``); compare the
per-disk time in ``extra_info`` across the three sizes (it stays flat when parsing is linear).
``python3 benchmarks/test_scaling.py`` prints the same figures without pytest.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the package, when not installed
import checkpoint_stream as cs  # noqa: E402
import corpus  # noqa: E402

SIZES = (25_000, 50_000, 100_000)


@pytest.mark.parametrize("ndisks", SIZES)
def test_one_document_with_many_disks(benchmark, ndisks: int) -> None:
    data = corpus.big_doc(ndisks).encode()
    record = benchmark(cs.parse, data)
    assert len(record.disks) == ndisks
    mean = benchmark.stats.stats.mean if benchmark.stats else float("nan")
    benchmark.extra_info.update(ndisks=ndisks, bytes=len(data), us_per_disk=mean / ndisks * 1e6)


def main() -> None:
    for ndisks in SIZES:
        data = corpus.big_doc(ndisks).encode()
        best = min(_timed(data) for _ in range(5))
        print(f"{ndisks:>7} disks  {len(data) / 1e6:6.1f} MB  {best * 1e3:8.1f} ms  {best / ndisks * 1e6:6.3f} us/disk")


def _timed(data: bytes) -> float:
    t = time.perf_counter()
    cs.parse(data)
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
