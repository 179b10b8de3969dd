"""Property-based fuzzing (hypothesis): mutated documents and streams.

Properties:

* nothing but a :class:`CheckpointError` ever comes out of the parser;
* a record is never made from an invalid document: every record equals what its own bytes give
  when parsed alone (from the record's stream offset);
* skip mode never loses a valid document: known-valid documents interleaved with mutated ones
  (each mutated one closed off by a comment the framer can see) all come out, in order;
* neither the records nor the errors (class, message, document index, line, column, stream
  offset) depend on how the bytes are cut into chunks: fed whole, byte by byte, or cut anywhere
  (inside multibyte characters, tags, comments, CDATA sections).

The whole module is kept to roughly 20-30 seconds.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkpoint_stream.errors import CheckpointError
from checkpoint_stream.records import Checkpoint
from hostile_util import chunked, items_of

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))
from corpus_seed import SEEDS  # noqa: E402

# Limits small enough for the fuzzer to reach them.
LIMITS = {"max_document_bytes": 1 << 14, "max_text": 512, "max_depth": 32, "max_attributes": 16, "max_disks": 8}
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Bytes a mutation inserts: markup characters the framer and expat care about, and some junk.
SPLICE = st.sampled_from(
    [b"<", b">", b"/", b"'", b'"', b"&", b";", b"]]>", b"<![CDATA[", b"<!--", b"-->", b"<?", b"?>", b"\x00",
     b"\xff", b"\xc3", b"\xef\xbb\xbf", b"<domaincheckpoint>", b"</domaincheckpoint>", b"<?xml version='1.0'?>",
     b"<!DOCTYPE d [<!ENTITY x 'y'>]>", b"&x;", b"</domain>", b"\n", b" ", b"\xe2\x98\x83"]
)


@st.composite
def mutated(draw: st.DrawFn, doc: bytes | None = None) -> bytes:
    data = bytearray(doc if doc is not None else draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "duplicate", "splice"]))
        i = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[i : i + draw(st.integers(1, 16))]
        elif kind == "truncate":
            del data[i:]
        elif kind == "duplicate":
            j = min(len(data), i + draw(st.integers(1, 64)))
            data[j:j] = data[i:j]
        else:
            data[i:i] = draw(SPLICE)
    return bytes(data)


def check_items(data: bytes, items: list) -> None:
    for item in items:
        assert isinstance(item, (Checkpoint, CheckpointError)), repr(item)
        if isinstance(item, Checkpoint):
            alone = items_of([data[item.origin.offset :]], **LIMITS)
            assert alone and alone[0] == item, (item, alone[:1])


def verdict(items: list) -> list:
    """Everything that must not depend on chunking: the records (with their origin) and every
    field of every error."""
    return [
        (type(x).__name__, x.message, x.document, x.line, x.column, x.offset, x.path)
        if isinstance(x, CheckpointError)
        else (x, x.origin.index, x.origin.offset)
        for x in items
    ]


def cut(data: bytes, points: list[int]) -> list[bytes]:
    points = [0] + sorted({p for p in points if 0 < p < len(data)}) + [len(data)]
    return [data[a:b] for a, b in zip(points, points[1:])]


# Bytes a broken stream is made of, besides mutated documents: what stands between documents.
BETWEEN = st.sampled_from(
    [b"\n", b"", b"<!-- c -->", b"<?pi x?>", b"junk text ", b"\x00", b"\x00\x00\n", b"</stray>", b"\xef\xbb\xbf",
     b"\xff\xfe<\x00d\x00", b"<\x00d\x00", "\n<!-- \u00e9t\u00e9 -->".encode(), b"\xc3", b"<"]
)


@FUZZ
@given(doc=mutated(), size=st.integers(1, 97))
def test_mutated_document(doc: bytes, size: int) -> None:
    whole = items_of([doc], **LIMITS)
    check_items(doc, whole)
    assert same_up_to_cdata_close(verdict(whole), verdict(items_of(chunked(doc, size), **LIMITS)), doc)


@FUZZ
@given(parts=st.lists(st.one_of(st.sampled_from(SEEDS), mutated()), min_size=1, max_size=5), size=st.integers(1, 300))
def test_mutated_stream(parts: list[bytes], size: int) -> None:
    data = b"\n".join(parts)
    whole = items_of([data], **LIMITS)
    check_items(data, whole)
    assert same_up_to_cdata_close(verdict(whole), verdict(items_of(chunked(data, size), **LIMITS)), data)


# A valid document after a mutated one can be swallowed when the mutated one leaves a construct
# open (a CDATA section, a comment, a quoted value ...): then the bytes after it are, as XML, part
# of it. What is promised is that a valid document after a mutated document that has *ended* is
# not lost. A NUL byte ends any document (it is allowed in no XML construct), and the framer
# resumes at the next document start after the error it causes.


@FUZZ
@given(
    bad=st.lists(mutated(), min_size=1, max_size=3),
    size=st.integers(1, 200),
)
def test_skip_mode_never_loses_a_valid_document(bad: list[bytes], size: int) -> None:
    stream = bytearray()
    expected = []
    for i, doc in enumerate(bad):
        name = f"keep{i}"
        stream += b"<domaincheckpoint><name>%s</name></domaincheckpoint>\n" % name.encode()
        expected.append(name)
        stream += doc
        stream += b"\x00\n"  # ends the mutated document, whatever it left open
    stream += b"<domaincheckpoint><name>last</name></domaincheckpoint>\n"
    expected.append("last")
    for items in (items_of([bytes(stream)], **LIMITS), items_of(chunked(bytes(stream), size), **LIMITS)):
        check_items(bytes(stream), items)
        names = [x.name for x in items if isinstance(x, Checkpoint)]
        kept = [n for n in names if n in expected]
        assert kept == expected, (names, items)


# Seeds that reach the limits (text runs and attribute values past max_text, deep nesting).
LIMIT_SEEDS = [
    b"<domaincheckpoint><name>t</name><description>" + b"long text line " * 60 + b"</description></domaincheckpoint>",
    b"<domaincheckpoint><name>t</name><description><![CDATA[" + b"x" * 700 + b"]]></description></domaincheckpoint>",
    b"<domaincheckpoint><name>t</name><disks><disk name='" + b"v" * 600 + b"'/></disks></domaincheckpoint>",
    b"<domaincheckpoint><name>t</name><domain type='kvm'><name>vm</name><description>" + b"d\n" * 400
    + b"</description><os><type>hvm</type></os></domain></domaincheckpoint>",
    b"<domaincheckpoint>" + b"<a>" * 40 + b"</domaincheckpoint>",
]


def same_up_to_cdata_close(whole: list, other: list, stream: bytes) -> bool:
    """``other == whole``, but for the one difference that is inherent (see the framing module's
    docstring): when expat meets ']]>' in text, it drops the data of the same text token it has
    not reported yet, and how much that is depends on where the bytes were cut. So where the whole
    feed reports that ']]>' and a text run passes max_text before it, a chunked feed may report the
    max_text breach of that run instead (or, when the run is stray text where none is allowed,
    that schema error, which the driver reports first); what follows in the stream then resumes
    from another point. Everything before that document must be identical."""
    if other == whole:
        return True
    for i, (a, b) in enumerate(zip(whole, other)):
        if a != b:
            break
    else:
        return False
    if not (a[0] == "NotWellFormedError" and a[1].endswith("(invalid token)") and stream[a[5] - 2 : a[5] + 1] == b"]]>"):
        return False
    # what the run's first max_text+1 characters imply: the limit, or stray text where none is allowed
    implied = b[0] == "LimitError" and "(limit max_text)" in b[1] or b[0] == "SchemaError" and "is not allowed" in b[1]
    return implied and b[2] == a[2] and b[5] < a[5]


@FUZZ
@given(
    parts=st.lists(st.tuples(BETWEEN, st.one_of(st.sampled_from(SEEDS + LIMIT_SEEDS), mutated())), min_size=1, max_size=4),
    tail=BETWEEN,
    data=st.data(),
)
def test_errors_and_records_do_not_depend_on_chunking(parts: list[tuple[bytes, bytes]], tail: bytes, data: st.DataObject) -> None:
    stream = b"".join(a + b for a, b in parts) + tail
    whole = verdict(items_of([stream], **LIMITS))
    points = data.draw(st.lists(st.integers(1, max(1, len(stream) - 1)), max_size=24), label="cuts")
    assert same_up_to_cdata_close(whole, verdict(items_of(cut(stream, points), **LIMITS)), stream)
    size = data.draw(st.integers(1, 7), label="size")
    assert same_up_to_cdata_close(whole, verdict(items_of(chunked(stream, size), **LIMITS)), stream)


@FUZZ
@given(doc=st.one_of(st.sampled_from(LIMIT_SEEDS), mutated(), st.sampled_from(LIMIT_SEEDS).flatmap(mutated)), data=st.data())
def test_errors_of_one_document_do_not_depend_on_chunking(doc: bytes, data: st.DataObject) -> None:
    stream = b"\n" + doc + b"\n" + SEEDS[0]
    whole = verdict(items_of([stream], **LIMITS))
    points = data.draw(st.lists(st.integers(1, max(1, len(stream) - 1)), max_size=40), label="cuts")
    assert same_up_to_cdata_close(whole, verdict(items_of(cut(stream, points), **LIMITS)), stream)


def test_the_cdata_close_difference_is_the_only_one_tolerated() -> None:
    # A text run past max_text on a line that ends in ']]>': fed whole, expat drops the line
    # before reporting ']]>'; fed in small chunks, it has reported most of the line already.
    stream = b"<domaincheckpoint><name>t</name><description>" + b"x" * 600 + b"]]></description></domaincheckpoint>"
    whole, small = verdict(items_of([stream], **LIMITS)), verdict(items_of(chunked(stream, 16), **LIMITS))
    assert [w[0] for w in whole] == ["NotWellFormedError"] and [s[0] for s in small] == ["LimitError"]
    assert same_up_to_cdata_close(whole, small, stream)
    assert not same_up_to_cdata_close(whole, small[:0], stream)
    assert not same_up_to_cdata_close(small, whole, stream)
