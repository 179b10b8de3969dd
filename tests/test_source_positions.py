"""Source-relative positions: ``source_line``/``source_column`` count from the stream's first byte,
across every compaction of the framer's buffer, and say what a brute-force count over the whole
stream says (:func:`checkpoint_stream.positions.locate` from byte 0 to the error's offset), while
``line``/``column`` still count from the document's first byte.

Streams mix good documents, broken ones and garbage (log lines, stray text, binary bytes), with
LF, CR LF and lone CR line ends, multibyte UTF-8 before the error on its line, everything on one
line, and sizes of several MB so that the buffer is compacted many times; they are fed whole and
in chunks of 1, 7 and 4096 bytes (a CR LF pair then falls across chunk and compaction
boundaries).
"""

from __future__ import annotations

import random
from typing import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkpoint_stream import CheckpointError, CheckpointParser, iterparse
from checkpoint_stream.positions import DroppedLines, locate, utf8_cut
from hostile_util import chunked, good

# Each piece: (bytes, whether an error is expected to start in it). Documents and garbage start
# at their first byte, so an error's document-relative position is counted from there.
GOOD = [good("a"), good("b").replace(b"<creationTime>", "<description>\u00e9\u20ac\U0001f600</description><creationTime>".encode())]
BAD = [
    # a schema error after multibyte text on the same line
    "<domaincheckpoint><description>\u00e9\u00e8\u20ac\U0001f600</description><bogus/></domaincheckpoint>\n".encode(),
    # a mismatched tag on the second line
    "<domaincheckpoint>\n  <name>x\u00e9</nam></domaincheckpoint>\n".encode(),
    # an unknown disk attribute after multibyte text several lines down
    "<domaincheckpoint>\n  <description>\u00fcber \u20ac</description>\n  <disks><disk name='vda' bogus='1'/></disks>\n</domaincheckpoint>\n".encode(),
]
GARBAGE = [
    "2024-05-01T10:00:00.123+0000: 4242: info : libvirt version: 9.0.0, d\u00e9but\n".encode(),
    b"stray text ",
    b"\x00\x01\x02 binary\n",
]
LINE_ENDS: dict[str, Callable[[bytes], bytes]] = {
    "LF": lambda d: d,
    "CRLF": lambda d: d.replace(b"\n", b"\r\n"),
    "CR": lambda d: d.replace(b"\n", b"\r"),
    "one line": lambda d: d.replace(b"\n", b" "),
}


def build(rng: random.Random, count: int, line_end: Callable[[bytes], bytes]) -> tuple[bytes, list[int]]:
    """A stream of ``count`` pieces, and where each piece that may hold an error starts."""
    out = bytearray()
    starts: list[int] = []
    for _ in range(count):
        kind = rng.random()
        piece = rng.choice(GOOD if kind < 0.5 else BAD if kind < 0.75 else GARBAGE)
        piece = line_end(piece)
        starts.append(len(out))
        out += piece
        if rng.random() < 0.3:
            out += line_end(b"\n") * rng.randint(1, 3)
    return bytes(out), starts


def errors_of(data: bytes, size: int) -> list[CheckpointError]:
    items = iterparse(chunked(data, size), on_error="skip", yield_errors=True)
    return [item for item in items if isinstance(item, CheckpointError)]


def check(data: bytes, starts: list[int], errors: list[CheckpointError], most: int = 1000) -> None:
    """Every error (at most ``most`` of them, spread over the stream, the last one included: the
    brute-force count costs the stream's size per error)."""
    assert errors, "the stream was built to hold errors"
    step = max(1, len(errors) // most)
    for err in errors[::-step]:
        assert err.offset is not None
        assert (err.source_line, err.source_column) == locate(data, 0, err.offset), err
        piece = max(s for s in starts if s <= err.offset)
        assert (err.line, err.column) == locate(data, piece, err.offset - piece), err
        assert err.between_documents == err.message.startswith("garbage between documents"), err


@pytest.mark.parametrize("line_end", list(LINE_ENDS))
@pytest.mark.parametrize("size", [1, 7, 4096, 1 << 30])
def test_small_streams_in_every_chunking(line_end: str, size: int) -> None:
    data, starts = build(random.Random(f"{line_end}-small"), 120, LINE_ENDS[line_end])
    errors = errors_of(data, size)
    check(data, starts, errors)
    whole = errors_of(data, 1 << 30)
    assert [(e.message, e.document, e.line, e.column, e.offset, e.source_line, e.source_column) for e in errors] == [
        (e.message, e.document, e.line, e.column, e.offset, e.source_line, e.source_column) for e in whole
    ]


@pytest.mark.parametrize("line_end", list(LINE_ENDS))
@pytest.mark.parametrize("size", [4096, 1 << 30])
def test_streams_of_several_megabytes(line_end: str, size: int) -> None:
    data, starts = build(random.Random(f"{line_end}-large"), 30000, LINE_ENDS[line_end])
    assert len(data) > 3 << 20
    errors = errors_of(data, size)
    check(data, starts, errors, most=40)
    assert errors[-1].offset is not None and errors[-1].offset > 3 << 20  # counted across many compactions
    assert len(errors) > 5000


def test_a_long_single_line_puts_columns_past_every_compaction() -> None:
    """Documents glued on one line, multibyte text everywhere: the column is in the millions."""
    doc = "<domaincheckpoint><name>a</name><description>\u00e9\U0001f600\u20ac</description></domaincheckpoint>".encode()
    bad = "<domaincheckpoint><description>\u00e9</description><bogus/></domaincheckpoint>".encode()
    data = doc * 40000 + bad + doc + b"stray \xc3\xa9 text" + doc
    for size in (4096, 65536 + 1, 1 << 30):
        errors = errors_of(data, size)
        assert [e.source_line for e in errors] == [1, 1]
        check(data, [0, len(doc) * 40000, len(doc) * 40001 + len(bad)], errors)
        assert errors[0].source_column is not None and errors[0].source_column > 2_000_000


@pytest.mark.parametrize("size", [1, 7, 4096, 1 << 30])
def test_multibyte_garbage_dropped_while_resyncing(size: int) -> None:
    """While skipping garbage the framer drops bytes at arbitrary points, inside a multibyte
    character too: the column of an error later on the same line still counts characters."""
    garbage = "stray \u00e9\u20ac\U0001f600 text ".encode() * (2000 if size == 1 else 8000)
    bad = "<domaincheckpoint><description>\u00e9</description><bogus/></domaincheckpoint>\n".encode()
    data = good("a") + garbage + bad + good("b")
    errors = errors_of(data, size)
    assert [e.message.startswith("garbage") for e in errors] == [True, False]
    check(data, [len(good("a")), len(good("a")) + len(garbage)], errors)
    assert errors[1].source_column is not None and errors[1].source_column > len(garbage) // 3


@pytest.mark.parametrize("size", [1, 2, 3, 7])
def test_a_cr_lf_pair_split_by_a_chunk_and_a_compaction(size: int) -> None:
    """Fed byte by byte, the framer compacts after almost every feed: the CR of a pair is dropped
    before its LF arrives, and counted once."""
    data = b"".join([good("a").replace(b"\n", b"\r\n"), b"\r\n\r\n", b"log line\r\n", b"\r", b"\n", good("b"), b"\r\rjunk\r\n"])
    starts = [0, data.index(b"log"), data.index(b"junk")]
    parser = CheckpointParser(on_error="skip")
    errors: list[CheckpointError] = []
    for chunk in chunked(data, size):
        errors += [e for e in parser.feed_items(chunk) if isinstance(e, CheckpointError)]
    errors += [e for e in parser.close_items() if isinstance(e, CheckpointError)]
    assert [e.message[:26] for e in errors] == ["garbage between documents:"] * 2
    check(data, starts, errors)
    assert [e.source_line for e in errors] == [10, 21]


@pytest.mark.parametrize("line_end", [b"\r\n", b"\r", b"\n"])
def test_a_line_end_at_a_compaction_point(line_end: bytes) -> None:
    """A document padded to end just before 64 KiB (where the framer drops what it consumed),
    then fed byte by byte: the drop comes right after the CR (or LF), and the next line end
    byte arrives after it."""
    head = good("a").replace(b"<creationTime>", b"<description>\n</description><creationTime>")
    doc = head.replace(b"<description>\n", b"<description>" + b"x" * (65536 - len(head)) + b"\n").rstrip(b"\n")
    assert len(doc) == 65535  # its line end is the 65536th byte
    data = doc + line_end + b"log line" + line_end + b"more" + line_end + good("b") + b"junk" + line_end
    starts = [data.index(b"log line"), data.index(b"junk")]
    for size in (1, 2, 3):
        errors = errors_of(data, size)
        check(data, starts, errors)
        assert [e.source_line for e in errors] == [9, 18]
        assert [e.source_column for e in errors] == [1, 1]


def test_document_positions_stay_document_relative() -> None:
    """line/column of a document's error are those of the document parsed alone."""
    bad = BAD[2]
    alone = errors_of(bad, 1 << 30)[0]
    data = b"log line\n" * 50 + good("x") * 3 + bad
    err = errors_of(data, 7)[-1]
    assert (err.line, err.column) == (alone.line, alone.column) == (3, 10)  # at the <disk> tag
    assert (err.source_line, err.source_column) == (50 + 3 * 7 + 3, 10)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10**9),
    count=st.integers(1, 40),
    line_end=st.sampled_from(list(LINE_ENDS)),
    size=st.sampled_from([1, 3, 7, 64, 4096]),
)
def test_random_streams(seed: int, count: int, line_end: str, size: int) -> None:
    data, starts = build(random.Random(seed), count, LINE_ENDS[line_end])
    errors = errors_of(data, size)
    if errors:
        check(data, starts, errors)


# -- the counter itself, against a count over the whole ------------------------------------------

_BYTES = st.lists(
    st.sampled_from([b"a", b"\n", b"\r", b"\r\n", b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9f\x98\x80", b"\xff", b"\xe2\x82", b"\x80"]),
    max_size=60,
).map(b"".join)


@settings(max_examples=500, deadline=None)
@given(data=_BYTES, steps=st.lists(st.tuples(st.booleans(), st.integers(0, 400)), max_size=12))
def test_dropped_lines_add_up_to_the_whole(data: bytes, steps: list[tuple[bool, int]]) -> None:
    """Dropping a stream's start in pieces (cut where utf8_cut says) and locating in what is kept,
    in any order (the counter remembers where it last located), gives what locate gives over the
    whole stream."""
    counter = DroppedLines()
    kept = bytearray(data)
    dropped = 0
    for is_drop, at in steps:
        at = min(at, len(data))
        if is_drop:
            cut = utf8_cut(kept, at - dropped) if at > dropped else 0
            if cut > 0:
                counter.drop(kept, cut)
                del kept[:cut]
                dropped += cut
        elif at >= dropped:
            assert counter.locate(kept, at - dropped) == locate(data, 0, at), (at, dropped)


def test_utf8_cut_never_splits_an_unfinished_sequence() -> None:
    euro = "\u20ac".encode()
    assert utf8_cut(b"ab" + euro, 4) == 2
    assert utf8_cut(b"ab" + euro, 3) == 2
    assert utf8_cut(b"ab" + euro, 5) == 5
    assert utf8_cut(b"ab\x80\x80\x80\x80", 6) == 6  # no lead byte: nothing to keep together
    assert utf8_cut(b"a\n", 2) == 2


def test_error_to_dict_carries_both_positions() -> None:
    """The JSON-ready form of an error says where it is in the stream and in its document."""
    from checkpoint_stream import iterparse

    doc = b"<domaincheckpoint>\n  <name>a</name>\n</domaincheckpoint>\n"
    bad = b"<domaincheckpoint>\n  <name>b</name>\n  <bogus/>\n</domaincheckpoint>\n"
    data = b"log line\n" + doc + bad
    errors = [x for x in iterparse(data, on_error="skip", yield_errors=True) if not hasattr(x, "disks")]
    assert [e.to_dict()["betweenDocuments"] for e in errors] == [True, False]
    schema = errors[1].to_dict()
    assert (schema["line"], schema["sourceLine"]) == (3, 3 + doc.count(b"\n") + 1)
    assert (schema["column"], schema["sourceColumn"]) == (3, 3)
    assert schema["offset"] == data.index(b"<bogus/>")
