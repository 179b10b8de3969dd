"""Throughput of checkpoint_stream on generated corpora (pytest-benchmark).

Run with ``python3 -m pytest benchmarks --benchmark-enable -p no:cacheprovider``. Each benchmark
reports MB/s and documents/s in ``extra_info`` (shown with ``--benchmark-columns`` or in
``--benchmark-json``). Ratios to bare pyexpat and the peers are measured in ``peers.py``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import corpus
import checkpoint_stream as cs

SHAPES = {"small": 20000, "full": 4000, "vm": 4000, "disks20k": 1, "mixed": 4000, "unique": 4000}


@pytest.fixture(scope="module", params=list(SHAPES))
def stream(request):
    shape = request.param
    return shape, corpus.stream(shape, SHAPES[shape])


def _rates(benchmark, size: int, docs: int) -> None:
    if not benchmark.stats:  # --benchmark-disable: each benchmark ran once, as a test, untimed
        return
    mean = benchmark.stats.stats.mean
    benchmark.extra_info["MB/s"] = round(size / mean / 1e6, 2)
    benchmark.extra_info["docs/s"] = round(docs / mean, 1)


def test_iterparse(benchmark, stream):
    shape, data = stream
    count = benchmark(lambda: sum(1 for _ in cs.iterparse(data)))
    assert count == SHAPES[shape]
    _rates(benchmark, len(data), count)


def test_parse_each(benchmark, stream):
    shape, data = stream
    docs = corpus.documents(shape, SHAPES[shape])
    count = benchmark(lambda: sum(1 for d in docs if cs.parse(d)))
    assert count == SHAPES[shape]
    _rates(benchmark, len(data), count)


def test_iterparse_redefine(benchmark):
    data = corpus.stream("full", SHAPES["full"])
    count = benchmark(lambda: sum(1 for _ in cs.iterparse(data, redefine=True)))
    assert count == SHAPES["full"]
    _rates(benchmark, len(data), count)


def test_writer_dumps(benchmark, stream):
    from checkpoint_stream.writer import dumps

    shape, data = stream
    records = list(cs.iterparse(data))
    out = benchmark(lambda: [dumps(r, secure=True) for r in records])
    size = sum(len(x) for x in out)
    _rates(benchmark, size, len(records))


def test_cli_parse(benchmark, tmp_path_factory, stream):
    shape, data = stream
    path = tmp_path_factory.mktemp("cli") / f"{shape}.xml"
    path.write_bytes(data)
    root = Path(__file__).resolve().parents[1]

    def run():
        done = subprocess.run(
            [sys.executable, "-m", "checkpoint_stream", "parse", str(path)],
            cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False,
        )
        assert done.returncode == 0, done.stderr.decode()

    benchmark.pedantic(run, rounds=3, iterations=1)
    _rates(benchmark, len(data), SHAPES[shape])
