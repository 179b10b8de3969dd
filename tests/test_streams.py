"""Streams of many documents: chunking never changes what comes out, records come out as soon as
their end tag has been fed, and skip mode loses no valid document around broken ones."""

from __future__ import annotations

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is not installed (pip install '.[test]')")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from checkpoint_stream import Checkpoint, CheckpointError, CheckpointParser, iterparse  # noqa: E402

# -- building blocks --------------------------------------------------------------------------------

VALID = [
    b"<domaincheckpoint><name>a</name></domaincheckpoint>",
    b"<domaincheckpoint>\n  <name>c1</name>\n  <creationTime>1553647812</creationTime>\n  <disks>\n"
    b"    <disk name='vda' checkpoint='bitmap' bitmap='c1'/>\n  </disks>\n</domaincheckpoint>\n",
    # multibyte UTF-8 in text: cuts can fall inside these characters
    "<domaincheckpoint><name>b</name><description>caf\u00e9 \u20ac \U0001f600 \u00fc</description></domaincheckpoint>".encode(),
    # a CDATA section and a comment inside the document (general path)
    b"<domaincheckpoint><name>c</name><description><![CDATA[<not a tag> & ]]]]></description>"
    b"<!-- inner </domaincheckpoint> comment --></domaincheckpoint>",
    b"<?xml version='1.0' encoding='UTF-8'?>\n<domaincheckpoint>\n  <name>d</name>\n  <parent>\n"
    b"    <name>c</name>\n  </parent>\n</domaincheckpoint >",
    "<?xml version=\"1.0\"?><domaincheckpoint><name>e</name><description>\u65e5\u672c</description>"
    "</domaincheckpoint>".encode(),
]

BROKEN = [
    b"<domaincheckpoint><name>x</nam></domaincheckpoint>",  # mismatched tag
    b"<domaincheckpoint><name>bad name!</name></domaincheckpoint>",  # schema value error
    b"<domaincheckpoint><bogus/></domaincheckpoint>",  # unknown element
    b"stray text ",  # garbage between documents
    b"<domaincheckpoint><name>y</name><disks><disk/></disks></domaincheckpoint>",  # missing attribute
    "<domaincheckpoint><name>\u00e9\u00e9</name></domaincheckpoint>".encode(),  # non-ASCII name
    b"</stray>",  # a stray end tag
    b"\x00\x00",  # NUL bytes
    b"\xff\xfe<",  # a UTF-16 byte order mark
    b"<!DOCTYPE x>",  # refused by the security policy
    b"<other/>",  # another root element
    b"<?xml version='1.0' encoding='UTF-16'?><domaincheckpoint/>",  # unsupported encoding
    b"<domaincheckpoint><name>a</name></domaincheckpoint extra>",  # broken end tag
    b"<domaincheckpoint><name>u</name>",  # unfinished: swallows what follows up to a resync point
]

SEPARATORS = [
    b"",
    b"\n",
    b" \t\r\n",
    b"\n\n",
    b"<!-- between -->",
    b"\n<!-- a comment with > and -- inside? no: just > -->\n",
    b"<?log entry='1'?>",
    b"\xef\xbb\xbf",
    "\n<!-- \u00e9t\u00e9 -->\n".encode(),
]


def key_of(item: Checkpoint | CheckpointError) -> tuple:
    if isinstance(item, CheckpointError):
        return ("error", type(item).__name__, item.message, item.document, item.line, item.column, item.offset, item.path)
    assert item.origin is not None
    return ("record", item, item.origin.index)


def run_chunks(chunks: list[bytes], **kw) -> list[tuple]:
    parser = CheckpointParser(**kw)
    items = []
    for chunk in chunks:
        items.extend(parser.feed_items(chunk))
    items.extend(parser.close_items())
    return [key_of(i) for i in items]


def cut(data: bytes, cuts: list[int]) -> list[bytes]:
    points = [0] + sorted(set(c for c in cuts if 0 < c < len(data))) + [len(data)]
    return [data[a:b] for a, b in zip(points, points[1:])]


@st.composite
def streams(draw) -> bytes:
    n = draw(st.integers(min_value=1, max_value=5))
    parts = []
    for _ in range(n):
        parts.append(draw(st.sampled_from(SEPARATORS)))
        if draw(st.integers(0, 3)) == 0:
            parts.append(draw(st.sampled_from(BROKEN)))
        else:
            parts.append(draw(st.sampled_from(VALID)))
    parts.append(draw(st.sampled_from(SEPARATORS)))
    return b"".join(parts)


# -- chunking invariance ------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_chunking_gives_the_same_records_and_errors(data):
    stream = data.draw(streams())
    cuts = data.draw(st.lists(st.integers(min_value=1, max_value=max(1, len(stream) - 1)), max_size=12))
    whole = run_chunks([stream])
    assert run_chunks(cut(stream, cuts)) == whole


@settings(max_examples=60, deadline=None)
@given(stream=streams())
def test_byte_by_byte_feeding_matches_whole(stream):
    assert run_chunks([stream[i : i + 1] for i in range(len(stream))]) == run_chunks([stream])


def test_every_chunk_size_for_one_mixed_stream():
    stream = (
        b"\xef\xbb\xbf"
        + VALID[1]
        + b"\n<!-- c -->\n"
        + BROKEN[0]
        + b"<?pi x?>"
        + VALID[2]
        + SEPARATORS[-1]
        + BROKEN[3]
        + VALID[3]
        + b"\n"
        + VALID[4]
        + BROKEN[1]
        + VALID[5]
    )
    whole = run_chunks([stream])
    assert [k[0] for k in whole].count("record") == 5
    assert [k[0] for k in whole].count("error") == 3
    for size in range(1, len(stream) + 1):
        chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
        assert run_chunks(chunks) == whole, f"chunk size {size}"


def test_cuts_inside_a_multibyte_character_keep_the_text():
    doc = VALID[2]
    euro = doc.index("\u20ac".encode())
    for at in (euro + 1, euro + 2):
        parser = CheckpointParser()
        records = parser.feed(doc[:at]) + parser.feed(doc[at:]) + parser.close()
        assert [r.description for r in records] == ["caf\u00e9 \u20ac \U0001f600 \u00fc"]


# -- records come out at once -------------------------------------------------------------------------


@pytest.mark.parametrize("doc", [VALID[0], VALID[1].rstrip(), VALID[3], VALID[4]], ids=["small", "canonical", "cdata", "spaced-end"])
def test_record_comes_out_when_its_end_tag_is_fed(doc):
    parser = CheckpointParser()
    end = doc.rindex(b">") + 1
    # everything but the last '>' of the end tag: nothing yet
    assert parser.feed(doc[: end - 1]) == []
    records = parser.feed(doc[end - 1 : end])
    assert len(records) == 1, "the record must come out with the '>' of its end tag, before any next document"
    assert parser.feed(b"\n") == []
    assert parser.close() == []


def test_each_record_comes_out_before_the_next_document_begins():
    parser = CheckpointParser()
    for i in range(5):
        got = parser.feed(b"<domaincheckpoint><name>n%d</name></domaincheckpoint>" % i)
        assert [r.name for r in got] == [f"n{i}"]


# -- many documents, skip mode ------------------------------------------------------------------------


def test_ten_thousand_documents_with_broken_ones_in_skip_mode():
    total = 10_000
    broken = {0, 4999, 5000, 5001, 5002, 7777, 9998, 9999}
    parts = []
    for i in range(total):
        if i in broken:
            parts.append(b"<domaincheckpoint><name>b%d</nam></domaincheckpoint>\n" % i)
        else:
            parts.append(b"<domaincheckpoint>\n  <name>n%d</name>\n  <creationTime>%d</creationTime>\n</domaincheckpoint>\n" % (i, 1700000000 + i))
    data = b"".join(parts)
    chunks = [data[i : i + 4093] for i in range(0, len(data), 4093)]
    records, errors = [], []
    for item in iterparse(iter(chunks), on_error="skip", yield_errors=True):
        (errors if isinstance(item, CheckpointError) else records).append(item)
    assert [r.name for r in records] == [f"n{i}" for i in range(total) if i not in broken]
    assert [r.origin.index for r in records] == [i for i in range(total) if i not in broken]
    assert [e.document for e in errors] == sorted(broken)
    assert all(e.line == 1 for e in errors)


@pytest.mark.parametrize("construct", [b"<!--%s-->", b"<?pi %s?>"])
def test_a_comment_or_pi_between_documents_longer_than_max_text_is_garbage_however_cut(construct: bytes) -> None:
    """An unfinished comment or PI between documents is garbage once it runs past max_text (it
    cannot be waited for without bound); a finished one that long is garbage too, so that what
    comes out does not depend on where the stream was cut. One within the limit is skipped."""
    limit = 64
    for size, expect_garbage in ((limit - 10, False), (limit + 10, True)):
        filler = b"x" * (size - len(construct % b""))
        stream = VALID[0] + b"\n" + construct % filler + b"\n" + VALID[1]
        outcomes = []
        for cut in (len(stream), 1, 7):
            pieces = [stream[i : i + cut] for i in range(0, len(stream), cut)]
            items: list = []
            for record in iterparse(pieces, on_error="skip", on_error_callback=items.append, max_text=limit):
                items.append(record)
            outcomes.append([(type(x).__name__, getattr(x, "message", None), getattr(x, "name", None)) for x in items])
        assert outcomes[0] == outcomes[1] == outcomes[2], outcomes
        errors = [x for x in outcomes[0] if x[0] != "Checkpoint"]
        assert [x[2] for x in outcomes[0] if x[0] == "Checkpoint"] == ["a", "c1"]
        assert bool(errors) == expect_garbage, outcomes[0]
        if expect_garbage:
            assert errors[0][1].startswith("garbage between documents")
