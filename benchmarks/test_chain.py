"""Chain analysis with pytest-benchmark: the same archive read alone and read into chains.

The ratio the issue sets (chain analysis adds at most 20% to the parse) is measured by
``benchmarks/chains.py`` in interleaved rounds; these two benchmarks give the same two figures in
pytest-benchmark's tables (``--benchmark-enable``)."""

from __future__ import annotations

import pytest

import chains as bench

from checkpoint_stream import iterparse
from checkpoint_stream.chain import ChainBuilder

VMS, PER_VM = 20, 100


@pytest.fixture(scope="module")
def archive() -> bytes:
    docs = bench.archive_documents(VMS, PER_VM)
    return "".join(text for _, _, text in sorted(docs, key=lambda d: (d[1], d[0]))).encode()


def test_parse_only(benchmark, archive):
    assert benchmark(lambda: sum(1 for _ in iterparse(archive))) == VMS * PER_VM


def test_parse_and_chain(benchmark, archive):
    def run() -> int:
        builder = ChainBuilder().extend(iterparse(archive))
        return sum(len(ch.order) for ch in builder.iter_finish())

    assert benchmark(run) == VMS * PER_VM
