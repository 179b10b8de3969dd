"""Atheris harness: the fast scanner against the general path, document by document.

The fast scanner (``checkpoint_stream/fastpath.py``) remembers what it has proven (the lines of
domains it accepted, the verdicts on their layouts, disk tags) from one document to the next. This
harness warms that memory with documents in libvirt's layout, then feeds each input as one
document, in the default and redefine modes: whenever the fast scanner returns a record, the
general path (expat events through the state machine) must return an equal record, with the same
domain text, and the writer must write the record the same from the domain's span (kept by the
fast scanner) as from its text. Anything else the fast scanner returns must be None (never an
exception). The memory is kept in its trusting state (it would otherwise stop reading domains
line by line after a run of inputs it did not recognise, see _RATE_TRUSTED).

    cd fuzz
    python3 make_seeds.py corpus_fast --raw          # once: seeds without the chunk-size prefix
    PYTHONPATH=.. python3 fuzz_fastpath.py corpus_fast -max_len=8192 -max_total_time=600
"""

from __future__ import annotations

import dataclasses
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import atheris  # noqa: E402

with atheris.instrument_imports():
    from checkpoint_stream import fastpath
    from checkpoint_stream.errors import CheckpointError
    from checkpoint_stream.expat_driver import GeneralDocument
    from checkpoint_stream.limits import Limits
    from checkpoint_stream.machine import Options
    from checkpoint_stream.records import Domain, Origin
    from checkpoint_stream.writer import dumps

from corpus_seed import WARM  # noqa: E402

LIMITS = Limits(max_document_bytes=1 << 16, max_text=4096, max_depth=64, max_attributes=32, max_disks=64)
MODES = (Options(), Options(redefine=True))


def general(doc: bytes, options: Options):
    try:
        g = GeneralDocument(options, LIMITS, doc, 0, "utf-8")
        if not g.feed(len(doc), True):
            return None
        return g.finish(Origin(None, None, 0, 0))
    except CheckpointError as err:
        return err


def warm() -> None:
    for doc in WARM:
        for options in MODES:
            assert fastpath.fast_parse(doc.rstrip(), options, LIMITS) is not None
    fastpath._DOMAIN_CACHE.clear()
    fastpath._cache_chars[0] = 0


def test_one(data: bytes) -> None:
    fastpath._DOMAIN_CACHE.clear()  # the whole-domain cache would answer before the line memory
    fastpath._cache_chars[0] = 0
    fastpath._memory[0].rate = 1.0
    for options in MODES:
        fast = fastpath.fast_parse(data, options, LIMITS)
        if fast is None:
            continue
        slow = general(data, options)
        if not (slow == fast and slow.to_dict() == fast.to_dict()):  # type: ignore[union-attr]
            raise AssertionError(f"fast path {fast!r} but general path {slow!r} ({options})")
        if fast.domain is not None and fast.domain._source is not None:
            as_text = dataclasses.replace(fast, domain=Domain(fast.domain.xml))
            for secure in (True, False):
                if dumps(fast, secure=secure) != dumps(as_text, secure=secure):
                    raise AssertionError(f"the domain's span and its text are written differently ({secure=})")


def main() -> None:
    warm()
    atheris.Setup(sys.argv, test_one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
