"""Nothing lost under faults (issue #18): each test injects a fault and counts what comes out.

The streams come from :mod:`fault_util`: libvirt's layout, with and without XML declarations
and domains, some documents damaged. Skip mode's promise is checked by accounting: every
document valid on its own comes out exactly once and in order, and the damaged ones are
reported, however the bytes are cut into chunks.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from checkpoint_stream import CheckpointError, NotWellFormedError, parse  # noqa: E402
from checkpoint_stream.readers import Options  # noqa: E402
from fault_util import account, damaged_stream, document, read  # noqa: E402
from hostile_util import chunked  # noqa: E402
from readers_util import fast_parse, general  # noqa: E402


def _shape(items: list) -> list[tuple]:
    return [
        (type(x).__name__, x.message, x.offset, x.document) if isinstance(x, CheckpointError) else ("record", x.name, x.origin.offset)
        for x in items
    ]


# -- 1. a document cut short does not swallow the ones after it ----------------------------------


@pytest.mark.parametrize("size", [1 << 30, 65536, 7])
def test_cut_inside_devices_then_a_thousand_documents(size: int) -> None:
    whole = document(0, declaration=False, domain=True).decode()
    cut = whole[: whole.index("<devices>") + len("<devices>\n      <disk type='file' device='disk'>\n")].encode()
    after = [document(i, declaration=False, domain=True) for i in range(1, 1001)]
    items = read(chunked(cut + b"".join(after), size))
    errors = [x for x in items if isinstance(x, CheckpointError)]
    records = [x for x in items if not isinstance(x, CheckpointError)]
    assert [r.name for r in records] == [f"c{i}" for i in range(1, 1001)]
    assert len(errors) == 1 and items[0] is errors[0]
    err = errors[0]
    assert isinstance(err, NotWellFormedError) and err.message.startswith("document cut short")
    assert err.document == 0 and err.offset == len(cut)  # where the next document begins
    assert err.path == "/domaincheckpoint/domain/devices"


@pytest.mark.parametrize(
    "declaration,domain,how", list(itertools.product((True, False), (True, False), ("cut", "byte", "lost")))
)
def test_loss_accounting(declaration: bool, domain: bool, how: str) -> None:
    for seed in range(3):
        docs = damaged_stream(seed, 700, declaration=declaration, domain=domain, how=how)
        data = b"".join(docs)
        whole = read([data])
        assert account(docs, whole, exact=how == "cut") == [], (seed, how)
        for size in (4093, 61):
            assert _shape(read(chunked(data, size))) == _shape(whole), (seed, size)


def test_a_root_start_tag_in_metadata_is_content() -> None:
    """libvirt 9.0 accepts a <domaincheckpoint> in no namespace inside the domain's <metadata>
    (checked with the oracle); anywhere else in the domain it means the document was cut short."""
    doc = document(3, declaration=False, domain=True).decode()
    inside = doc.replace("    <os>", "    <metadata>\n      <domaincheckpoint/>\n    </metadata>\n    <os>").encode()
    assert parse(inside).name == "c3"
    assert parse(inside).domain is not None and "<domaincheckpoint/>" in parse(inside).domain.xml
    in_devices = doc.replace("    <devices>\n", "    <devices>\n      <domaincheckpoint/>\n").encode()
    with pytest.raises(NotWellFormedError, match="document cut short") as info:
        parse(in_devices)
    assert info.value.path == "/domaincheckpoint/domain/devices"
    assert info.value.line == doc[: doc.index("<devices>")].count("\n") + 2
    # The fast reader leaves such a domain to the general reader, which gives the verdict.
    options = Options()
    assert fast_parse(in_devices, options) is None
    assert isinstance(general(in_devices, options), NotWellFormedError)
    assert fast_parse(inside, options) is None and general(inside, options) == parse(inside)


@pytest.mark.parametrize(
    "broken",
    [
        b"<?xml version='1.0'?",  # cut inside the declaration
        b"<?xml ve",
        b"<?xml version='1.0'?>\n",  # cut after it
        b"<?   <name>c1</name>",  # an unfinished PI: held a declaration that follows
        b"<\x95xml version='1.0'?>\n<domaincheckpoint>\n  <name>x</name>\n</domaincheckpoint>",  # '?' damaged
        b"<?xml version='1.0'?>C<domaincheckpoint>\n  <name>x</name>\n</domaincheckpoint>",  # text glued on
        b"<domainXheckpoint>\n  <name>x</name>\n</domaincheckpoint>",  # root start tag damaged
        b"b?xml version='1.0'?>\n<domaincheckpoint>\n  <name>x</name>\n</domaincheckpoint>",  # '<' damaged
        b"<?xm<domaincheckpoint>\n  <name>x</name>\n</domaincheckpoint>",  # bytes lost
        b"<?xml version='1.0'?X\n<domaincheckpoint>\n  <name>x</name>\n</domaincheckpoint>",  # '>' damaged
    ],
)
@pytest.mark.parametrize("size", [1 << 30, 5])
def test_damaged_prolog_or_root_then_documents(broken: bytes, size: int) -> None:
    """Each damaged document is reported once, its body never comes out as a record, and the
    documents around it (with declarations) all do."""
    before = document(1, declaration=True, domain=False)
    after = [document(i, declaration=True, domain=False) for i in (2, 3)]
    items = read(chunked(before + broken + b"\n" + b"".join(after), size))
    assert [type(x).__name__ if isinstance(x, CheckpointError) else x.name for x in items] == [
        "c1",
        items[1].__class__.__name__,
        "c2",
        "c3",
    ]
    assert isinstance(items[1], CheckpointError)


@pytest.mark.parametrize("size", [1 << 30, 5])
def test_garbage_line_before_a_document_without_declaration_swallows_nothing(size: int) -> None:
    """A log line between documents is garbage, and the document after it (with no XML
    declaration) still comes out: only what looks like a damaged declaration takes its root."""
    docs = [document(i, declaration=False, domain=False) for i in range(3)]
    for junk in (b"2026-12-07 backup done\n", b"x?y\n", b"<!-- unfinished\n\x00\n", b"</nope>\n"):
        items = read(chunked(docs[0] + junk + docs[1] + docs[2], size))
        assert [type(x).__name__ if isinstance(x, CheckpointError) else x.name for x in items][1:] == [
            "NotWellFormedError", "c1", "c2"
        ], junk


# -- 5. memory bounded in bytes ------------------------------------------------------------------


def _long_value_document(i: int, case: str) -> bytes:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from memory import _document  # the documents benchmarks/memory.py measures

    return _document(i, case)


@pytest.mark.parametrize("case", ["line70k", "bitmap100k", "title100k"])
def test_fast_reader_memory_is_bounded_in_bytes(case: str) -> None:
    from checkpoint_stream.readers import Reader
    from checkpoint_stream.readers.fast import memory as bounds

    reader = Reader()
    memory = reader.fast.memory  # type: ignore[union-attr]
    docs = [_long_value_document(i, case) for i in range(120)]
    records = list(iterparse_with(reader, docs))
    assert [r.name for r in records] == [f"c{i}" for i in range(120)]
    held = (
        memory.domain_chars
        + sum(len(k[0]) for k in memory.domains)
        + memory.top_bytes
        + memory.rest_bytes
        + memory.lines.bytes
    )
    assert memory.domain_chars <= bounds.DOMAIN_CHARS_MAX and memory.top_bytes <= bounds.TOP_BYTES_MAX
    assert memory.rest_bytes <= bounds.REST_BYTES_MAX and memory.lines.bytes <= bounds.LINE_BYTES_MAX
    assert sum(len(r) for r in memory.rests) <= bounds.REST_BYTES_MAX
    assert sum(len(line) for table in memory.lines.lines.values() for line in table) <= bounds.LINE_BYTES_MAX
    assert held <= 16 * 1024 * 1024


def iterparse_with(reader, docs):  # type: ignore[no-untyped-def]
    from checkpoint_stream import iterparse

    return iterparse(b"".join(docs), reader=reader)


def test_errors_are_not_retained_and_pin_no_frames() -> None:
    from checkpoint_stream import CheckpointParser, iterparse

    bad = b"<domaincheckpoint><name>x</name><bogus/></domaincheckpoint>\n" * 50
    errors = [x for x in iterparse(bad, on_error="skip", yield_errors=True) if isinstance(x, CheckpointError)]
    assert len(errors) == 50
    assert all(e.__traceback__ is None and e.__context__ is None for e in errors)
    seen: list[CheckpointError] = []
    parser = CheckpointParser(on_error="skip", on_error_callback=seen.append)
    parser.feed(bad)
    parser.close()
    assert len(seen) == 50 and parser.errors == []  # the callback has them: not kept twice
    keeping = CheckpointParser(on_error="skip")
    keeping.feed(bad)
    assert len(keeping.errors) == 50  # no callback: kept for the caller, as documented
