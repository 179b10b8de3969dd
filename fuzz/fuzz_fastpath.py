"""Atheris harness: the fast reader against the general reader, document by document.

The fast reader (``checkpoint_stream/readers/fast/``) remembers what it has proven (the lines of
domains it accepted, the verdicts on their layouts, disk tags) from one document to the next. This
harness warms that memory with documents in libvirt's layout, then feeds each input as one
document, in the default and redefine modes: whenever the fast scanner returns a record, the
general path (expat events through the state machine) must return an equal record, with the same
domain text, and the writer must write the record the same from the domain's span (kept by the
fast scanner) as from its text. Anything else the fast scanner returns must be None (never an
exception). The memory is kept in its trusting state (it would otherwise stop reading domains
line by line after a run of inputs it did not recognise, see RATE_TRUSTED).

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
    from checkpoint_stream.errors import CheckpointError
    from checkpoint_stream.limits import Limits
    from checkpoint_stream.readers import Options, Reader
    from checkpoint_stream.records import Domain, Origin
    from checkpoint_stream.writer import dumps

from corpus_seed import WARM  # noqa: E402

LIMITS = Limits(max_document_bytes=1 << 16, max_text=4096, max_depth=64, max_attributes=32, max_disks=64)
MODES = (Options(), Options(redefine=True))
READER = Reader()


def general(doc: bytes, options: Options):
    try:
        g = READER.general(options, LIMITS, doc, 0)
        if not g.feed(len(doc), True):
            return None
        return g.finish(Origin(None, None, 0, 0))
    except CheckpointError as err:
        return err


def warm() -> None:
    for doc in WARM:
        for options in MODES:
            assert READER.fast.parse(doc.rstrip(), options, LIMITS) is not None
    READER.memory.domains = {}


def test_one(data: bytes) -> None:
    READER.memory.domains = {}  # the whole-domain cache would answer before the line memory
    READER.memory.domain_chars = 0
    READER.memory.lines.rate = 1.0
    for options in MODES:
        fast = READER.fast.parse(data, options, LIMITS)
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
