"""The cost of ``libvirt_schemas`` (issue #12, item 1), with pytest-benchmark.

    python3 -m pytest benchmarks/test_libvirt_schemas.py --benchmark-enable -p no:cacheprovider

Two workloads, each against its yardstick, measured in interleaved rounds (the ratio is taken per
round and the median reported, as ``peers.py`` does, so that the machine's drift cancels out):

* a VM's chain (``vm``: 4,000 checkpoints carrying the same domain) read with the schemas on,
  against bare pyexpat (a parser per document, no callbacks): the target is >= 0.5 of its speed.
  The domain is validated once (the verdict cache), so what remains is the fast reader plus the
  per-document step of the framer.
* every domain different (``full``: a different VM in every document; ``unique-valid``: the
  documents of ``unique``, every domain a structure of its own, that libvirt's schemas accept;
  ``realistic``: libvirt's own test domains, each once), against lxml parsing each document and
  validating it with ``domaincheckpoint.rng`` (what a user would write): the target is a cost of
  at most 1.2 times lxml's, asserted for each. Every domain is validated here, so RELAX NG
  dominates both sides; what this library adds is its reading of the checkpoint around the
  domain, which the schemas are shown as written (``records.as_written``: no decoding, no
  dedent), and the per-document step of the framer.

Before every round the fast reader forgets what it learnt and the verdict cache is emptied: each
round reads the corpus as never seen. Skipped, saying why, without lxml or libvirt's schemas.
"""

from __future__ import annotations

import gc
import statistics
import time
from pathlib import Path
from typing import Any, Callable

import pytest

import corpus
import checkpoint_stream as cs
from checkpoint_stream.readers import DEFAULT_READER

COUNT = 4000
ROUNDS = 7


def _schemas() -> Any:
    try:
        return cs.load_libvirt_schemas("auto")
    except cs.LibvirtSchemasUnavailable as err:
        pytest.skip(f"libvirt_schemas cannot run here: {err}")


@pytest.fixture(scope="module")
def schemas() -> Any:
    return _schemas()


@pytest.fixture(scope="module")
def checkpoint_rng(schemas: Any) -> Any:
    from lxml import etree

    return etree.RelaxNG(file=f"{schemas.directory}/domaincheckpoint.rng")


def _fresh(schemas: Any) -> None:
    DEFAULT_READER.forget()
    schemas._engine.cache.clear()


def _ours(schemas: Any, stream: bytes) -> Callable[[], int]:
    def run() -> int:
        _fresh(schemas)
        n = 0
        for record in cs.iterparse(stream, libvirt_schemas=schemas):
            n += 1
        return n

    return run


def _pyexpat(docs: list[bytes]) -> Callable[[], int]:
    from xml.parsers.expat import ParserCreate

    def run() -> int:
        for d in docs:
            ParserCreate().Parse(d, True)
        return len(docs)

    return run


def _lxml_validate(docs: list[bytes], rng: Any) -> Callable[[], int]:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True)

    def run() -> int:
        ok = 0
        for d in docs:
            ok += bool(rng.validate(etree.fromstring(d, parser)))
        return ok

    return run


REALISTIC = Path(__file__).resolve().parent / "realistic" / "domains"


def _realistic(rng: Any) -> list[bytes]:
    """A checkpoint around each of libvirt's own test domains (benchmarks/realistic, real VMs of
    several architectures), those the schemas accept: every domain different in structure and
    bytes, each met once a round."""
    from lxml import etree

    files = sorted(REALISTIC.glob("*.xml"))
    if not files:
        pytest.skip(f"no realistic domains at {REALISTIC}")
    docs = []
    for i, f in enumerate(files):
        body = "\n".join("  " + line for line in f.read_text("utf-8").rstrip("\n").split("\n"))
        doc = f"<domaincheckpoint>\n  <name>c{i}</name>\n  <creationTime>1700000000</creationTime>\n{body}\n</domaincheckpoint>\n".encode()
        if rng.validate(etree.fromstring(doc)):
            docs.append(doc)
    return docs


def _documents(shape: str, rng: Any) -> list[bytes]:
    if shape == "realistic":
        return _realistic(rng)
    if shape != "unique-valid":
        return corpus.documents(shape, COUNT)
    from lxml import etree

    docs = [d for d in corpus.documents("unique", 2 * COUNT) if rng.validate(etree.fromstring(d))]
    return docs[:COUNT]


def _ratio(ours: Callable[[], int], yardstick: Callable[[], int]) -> tuple[float, float, float, float, float]:
    """Median over interleaved rounds of yardstick time / our time (speed relative to the
    yardstick: above 1 is faster), with its min and max, and the median times."""
    ratios, mine, theirs = [], [], []
    for r in range(ROUNDS):
        pair = [("ours", ours), ("yardstick", yardstick)]
        if r % 2:
            pair.reverse()
        took = {}
        for name, fn in pair:
            gc.collect()
            t = time.perf_counter()
            fn()
            took[name] = time.perf_counter() - t
        ratios.append(took["yardstick"] / took["ours"])
        mine.append(took["ours"])
        theirs.append(took["yardstick"])
    return statistics.median(ratios), min(ratios), max(ratios), statistics.median(mine), statistics.median(theirs)


def _record(benchmark: Any, label: str, n: int, found: tuple[float, float, float, float, float]) -> None:
    median, low, high, mine, theirs = found
    benchmark.extra_info[label] = round(median, 3)
    benchmark.extra_info[label + " spread"] = f"{low:.3f}-{high:.3f}"
    benchmark.extra_info["ours us/doc"] = round(mine / n * 1e6, 1)
    benchmark.extra_info["yardstick us/doc"] = round(theirs / n * 1e6, 1)


def test_chain_against_pyexpat(benchmark: Any, schemas: Any) -> None:
    """A VM's chain with the schemas on: >= 0.5 of bare pyexpat's speed."""
    docs = corpus.documents("vm", COUNT)
    stream = b"".join(docs)
    ours = _ours(schemas, stream)
    assert ours() == COUNT
    if benchmark.disabled:  # --benchmark-disable (the test suite's default): run once, untimed
        benchmark(ours)
        return
    found = benchmark.pedantic(lambda: _ratio(ours, _pyexpat(docs)), rounds=1, iterations=1)
    _record(benchmark, "speed vs pyexpat", COUNT, found)
    assert found[0] >= 0.5, f"chain with schemas at {found[0]:.3f} of bare pyexpat (target >= 0.5)"


TARGETS = {"full": 1.2, "unique-valid": 1.2, "realistic": 1.2}


@pytest.mark.parametrize("shape", list(TARGETS))
def test_every_domain_different_against_lxml(benchmark: Any, schemas: Any, checkpoint_rng: Any, shape: str) -> None:
    """Every domain validated: at most 1.2 times the cost of lxml's parse + RELAX NG validation."""
    docs = _documents(shape, checkpoint_rng)
    assert len(docs) >= (100 if shape == "realistic" else COUNT // 4), "too few documents that the schemas accept"
    stream = b"".join(docs)
    ours = _ours(schemas, stream)
    assert ours() == len(docs)
    assert _lxml_validate(docs, checkpoint_rng)() == len(docs)  # the same verdicts: all valid
    if benchmark.disabled:
        benchmark(ours)
        return
    found = benchmark.pedantic(lambda: _ratio(ours, _lxml_validate(docs, checkpoint_rng)), rounds=1, iterations=1)
    _record(benchmark, "speed vs lxml+RelaxNG", len(docs), found)
    cost = 1 / found[0]
    benchmark.extra_info["cost vs lxml+RelaxNG"] = round(cost, 3)
    target = TARGETS[shape]
    if target is not None:
        assert cost <= target, f"{shape}: {cost:.3f} times the cost of lxml parse + RelaxNG (target <= {target})"
