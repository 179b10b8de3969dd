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


# -- the realistic corpus (corpus.realistic_documents): first sight, warm, memory disabled ---------

REALISTIC = corpus.REALISTIC_SHAPES


@pytest.fixture(scope="module", params=list(REALISTIC))
def realistic(request):
    layout, chain = REALISTIC[request.param]
    docs = corpus.realistic_documents(layout, chain)
    if not docs:
        pytest.skip(f"no realistic domains at {corpus.REALISTIC_DIR}")
    return request.param, docs, b"".join(docs)


def _read_all(data: bytes, reader=None) -> int:
    n = 0
    for r in cs.iterparse(data, reader=reader):
        r.domain.xml if r.domain is not None else None  # the domain as text, as a peer's tostring
        n += 1
    return n


@pytest.mark.parametrize("memory", ["first-sight", "warm", "memory-disabled"])
def test_iterparse_realistic(benchmark, realistic, memory):
    """First sight: the default reader's memory forgotten before every round (untimed); warm: a
    second pass over the same documents; memory disabled: the fast reader with a memory that keeps
    nothing (peers.NullMemory)."""
    from checkpoint_stream.readers import DEFAULT_READER, Reader

    from peers import NullMemory

    name, docs, data = realistic
    reader = Reader(memory=NullMemory()) if memory == "memory-disabled" else None

    def setup():
        DEFAULT_READER.forget()
        if memory == "warm":
            _read_all(data)

    count = benchmark.pedantic(_read_all, args=(data, reader), setup=setup, rounds=15, iterations=1)
    assert count == len(docs)
    if memory == "memory-disabled":
        kept = reader.memory
        assert not (kept.domains or kept.tops or kept.rests or kept.lines.lines or kept.lines.verdicts)
    _rates(benchmark, len(data), count)


def test_parse_each_realistic(benchmark, realistic):
    """parse() per document, first sight."""
    from checkpoint_stream.readers import DEFAULT_READER

    name, docs, data = realistic
    count = benchmark.pedantic(lambda: sum(1 for d in docs if cs.parse(d)), setup=DEFAULT_READER.forget, rounds=15, iterations=1)
    assert count == len(docs)
    _rates(benchmark, len(data), count)


@pytest.fixture(scope="module", params=list(corpus.SNAPSHOT_SHAPES))
def snapshots(request):
    docs = corpus.snapshot_documents(request.param)
    if not docs:
        pytest.skip(f"no realistic domains at {corpus.REALISTIC_DIR}")
    return request.param, docs, b"".join(docs)


@pytest.mark.parametrize("memory", ["first-sight", "warm"])
def test_iterparse_snapshots(benchmark, snapshots, memory):
    """Snapshots (<domainsnapshot>, issue #14): iterparse(kinds="snapshot"), first sight (the
    snapshot reader's memory forgotten before every round) and a second pass."""
    from checkpoint_stream.readers import reader_for

    name, docs, data = snapshots
    reader = reader_for("snapshot")

    def read() -> int:
        n = 0
        for r in cs.iterparse(data, kinds="snapshot"):
            r.domain.xml if r.domain is not None else None
            n += 1
        return n

    def setup():
        reader.forget()
        if memory == "warm":
            read()

    count = benchmark.pedantic(read, setup=setup, rounds=15, iterations=1)
    assert count == len(docs)
    _rates(benchmark, len(data), count)
