"""Hostile input: the defused policy, resource limits, broken and endless documents, encodings.

The hostile corpus is generated here, on the fly (nothing large is stored). Each test states the
exact outcome: the error class and a message substring, or the exact record, and that the good
documents before and after the bad one still come out in skip mode. Memory is checked with
tracemalloc (generous bounds); the cost of huge tokens is checked by counting the bytes expat is
made to scan, not by timing.
"""

from __future__ import annotations

import tracemalloc
from typing import Any, Iterator

import pytest
from defusedxml.common import DTDForbidden, EntitiesForbidden

from checkpoint_stream.markup import safe_expat
from checkpoint_stream.readers import general as general_reader
from readers_util import fast_parse
from checkpoint_stream.api import CheckpointParser, iterparse, parse
from checkpoint_stream.errors import LimitError, NotWellFormedError, SchemaError, SecurityError
from checkpoint_stream.limits import DEFAULT_LIMITS, Limits
from checkpoint_stream.readers import Options
from hostile_util import chunked, good, items_of, sandwich, shape

MB = 1 << 20

# -- the defused policy --------------------------------------------------------------------------

LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(
        b' <!ENTITY lol%d "%s">\n' % (i, b"".join(b"&lol%s;" % (b"" if i == 1 else str(i - 1).encode()) for _ in range(10)))
        for i in range(1, 10)
    )
    + b"]>\n<domaincheckpoint><name>&lol9;</name></domaincheckpoint>"
)
QUADRATIC = (
    b'<!DOCTYPE d [<!ENTITY a "' + b"x" * 50_000 + b'">]>\n<domaincheckpoint><name>c</name><description>'
    + b"&a;" * 20_000
    + b"</description></domaincheckpoint>"
)
XXE_FILE = (
    b'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
    b"<domaincheckpoint><name>c</name><description>&x;</description></domaincheckpoint>"
)
EXTERNAL_DTD = (
    b'<!DOCTYPE domaincheckpoint SYSTEM "http://127.0.0.1:9/evil.dtd">\n<domaincheckpoint><name>c</name></domaincheckpoint>'
)
PARAMETER_ENTITY = (
    b'<!DOCTYPE d [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>\n<domaincheckpoint><name>c</name></domaincheckpoint>'
)
ATTLIST_DEFAULT = (
    b'<!DOCTYPE domaincheckpoint [<!ATTLIST disk checkpoint CDATA "no">]>\n'
    b"<domaincheckpoint><name>c</name><disks><disk name='vda'/></disks></domaincheckpoint>"
)
INTERNAL_ENTITY = b'<!DOCTYPE d [<!ENTITY n "evil">]><domaincheckpoint><name>&n;</name></domaincheckpoint>'

HOSTILE = {
    "billion laughs": (LAUGHS, "<!DOCTYPE lolz"),
    "quadratic blowup": (QUADRATIC, "<!DOCTYPE d"),
    "external entity to a local file": (XXE_FILE, "<!DOCTYPE d"),
    "external DTD": (EXTERNAL_DTD, "<!DOCTYPE domaincheckpoint"),
    "parameter entity": (PARAMETER_ENTITY, "<!DOCTYPE d"),
    "ATTLIST default injecting an attribute": (ATTLIST_DEFAULT, "<!DOCTYPE domaincheckpoint"),
    "internal entity": (INTERNAL_ENTITY, "<!DOCTYPE d"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_dtd_is_refused_before_anything_is_expanded(name: str) -> None:
    doc, shown = HOSTILE[name]
    for items in sandwich(doc):
        # The hostile document is one SecurityError: its body never comes out as a document of
        # its own, and the good documents around it are kept.
        assert shape(items) == ["record:before", "SecurityError", "record:after"], name
        err = items[1]
        assert f"a DOCTYPE ({shown} ...>) is not allowed" in err.message
        assert "refused before anything is expanded" in err.message
        assert err.document == 1 and err.line is not None
        # Refused at the DOCTYPE itself: before the first declaration of the internal subset
        # (so before any entity could be declared, expanded or fetched).
        start = len(good("before"))
        decls = [i for i in (doc.find(b"<!ENTITY"), doc.find(b"<!ATTLIST")) if i >= 0]
        bound = min(decls) if decls else doc.index(b">", doc.index(b"<!DOCTYPE"))
        assert err.offset is not None and err.offset - start <= bound
        assert "root:" not in str(err)


@pytest.mark.parametrize("name", list(HOSTILE))
def test_fast_path_never_takes_a_dtd(name: str) -> None:
    # The fast path checks well-formedness with a bare parser: its pattern admits nothing but an
    # XML declaration before <domaincheckpoint>, so no DOCTYPE (hence no entity) ever reaches it.
    doc, _ = HOSTILE[name]
    canonical = good("fast").rstrip()  # the framer hands over a document up to its end tag
    assert fast_parse(canonical, Options(), DEFAULT_LIMITS) is not None
    for hostile in (doc, doc[: doc.index(b"<domaincheckpoint>")] + canonical):
        assert fast_parse(hostile, Options(), DEFAULT_LIMITS) is None
        with pytest.raises(SecurityError):
            parse(hostile)
    # an entity reference without a DTD is refused by expat there too
    assert fast_parse(canonical.replace(b"<name>fast", b"<name>&x;"), Options(), DEFAULT_LIMITS) is None


def test_policy_raises_defusedxml_classes_on_the_bare_parser() -> None:
    with pytest.raises(DTDForbidden):
        safe_expat.new_expat_parser().Parse(LAUGHS, True)
    parser = safe_expat.new_expat_parser()
    parser.StartDoctypeDeclHandler = None  # even without the DOCTYPE guard, declarations are refused
    with pytest.raises(EntitiesForbidden):
        parser.Parse(XXE_FILE, True)


def test_billion_laughs_in_bounded_memory() -> None:
    tracemalloc.start()
    try:
        with pytest.raises(SecurityError):
            parse(LAUGHS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * MB  # 10**9 "lol"s would be 3 GB


def test_undeclared_entity_is_not_well_formed() -> None:
    items = sandwich(b"<domaincheckpoint><name>&xxe;</name></domaincheckpoint>")[0]
    assert shape(items) == ["record:before", "NotWellFormedError", "record:after"]
    assert "undefined entity" in items[1].message


# -- limits --------------------------------------------------------------------------------------


def test_default_limits_are_safe_values() -> None:
    assert DEFAULT_LIMITS == Limits()
    assert DEFAULT_LIMITS.max_document_bytes == 64 * MB
    assert DEFAULT_LIMITS.max_depth == 256
    assert DEFAULT_LIMITS.max_attributes == 256
    assert DEFAULT_LIMITS.max_text == MB
    assert DEFAULT_LIMITS.max_disks == 1_000_000


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "3"])
def test_limits_must_be_positive_integers(bad: Any) -> None:
    with pytest.raises(ValueError, match="must be a positive integer"):
        Limits(max_depth=bad)


def test_unknown_limit_keyword_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'max_bogus'"):
        CheckpointParser(max_bogus=3)  # type: ignore[call-arg]


DOMAIN_HEAD = (
    b"<domaincheckpoint><name>deep</name><creationTime>5</creationTime>"
    b"<domain type='kvm'><name>vm</name><memory>1</memory><os><type>hvm</type></os><metadata>"
)
DOMAIN_TAIL = b"</metadata></domain></domaincheckpoint>"


@pytest.mark.parametrize("closed", [True, False])
def test_100000_deep_nesting(closed: bool) -> None:
    bad = DOMAIN_HEAD + b"<a>" * 100_000 + (b"</a>" * 100_000 + DOMAIN_TAIL if closed else b"")
    tracemalloc.start()
    try:
        for items in sandwich(bad, sizes=(1 << 30, 64 * 1024)):
            assert shape(items) == ["record:before", "LimitError", "record:after"]
            assert "nest deeper than 256 levels (limit max_depth)" in items[1].message
            # found at the 257th level (the <a> at index 253), not at the end of the document
            assert items[1].line == 1
            assert len(DOMAIN_HEAD) + 3 * 253 + 1 <= items[1].column <= len(DOMAIN_HEAD) + 3 * 255 + 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * MB  # the stream itself is 0.7 MB


def test_max_depth_by_keyword() -> None:
    doc = DOMAIN_HEAD + b"<a><b/></a>" + DOMAIN_TAIL
    assert parse(doc).name == "deep"  # 5 levels: domaincheckpoint, domain, metadata, a, b
    assert parse(doc, max_depth=5).name == "deep"
    with pytest.raises(LimitError, match=r"deeper than 4 levels \(limit max_depth\)"):
        parse(doc, max_depth=4)


def test_max_attributes_by_keyword() -> None:
    doc = b"<domaincheckpoint><name>c</name><disks><disk name='vda' checkpoint='bitmap' bitmap='b'/></disks></domaincheckpoint>"
    assert parse(doc, max_attributes=3).disks[0].bitmap == "b"
    with pytest.raises(LimitError, match=r"<disk> has more than 2 attributes \(limit max_attributes\)"):
        parse(doc, max_attributes=2)


def test_max_disks_by_keyword() -> None:
    disks = b"".join(b"<disk name='vd%s'/>" % bytes([c]) for c in b"abcd")
    doc = b"<domaincheckpoint><name>c</name><disks>" + disks + b"</disks></domaincheckpoint>"
    assert len(parse(doc, max_disks=4).disks) == 4
    items = items_of([good("before"), doc, good("after")], max_disks=3)
    assert shape(items) == ["record:before", "LimitError", "record:after"]
    assert "more than 3 disks in one checkpoint (limit max_disks)" in items[1].message


def test_max_text_by_keyword_on_text_and_attributes() -> None:
    text = b"<domaincheckpoint><name>c</name><description>" + b"y" * 101 + b"</description></domaincheckpoint>"
    attr = b"<domaincheckpoint><name>c</name><disks><disk name='vda' bitmap='" + b"y" * 101 + b"'/></disks></domaincheckpoint>"
    assert parse(text, max_text=101).description == "y" * 101
    assert parse(attr, max_text=101).disks[0].bitmap == "y" * 101
    for doc in (text, attr):
        for items in [items_of(chunked(good("before") + doc + good("after"), n), max_text=100) for n in (1 << 20, 5)]:
            assert shape(items) == ["record:before", "LimitError", "record:after"]
            assert "longer than 100" in items[1].message and "(limit max_text)" in items[1].message


def test_max_text_counts_characters_not_bytes() -> None:
    doc = (
        "<domaincheckpoint><name>c</name><description>{}</description>"
        "<disks><disk name='vda' bitmap='{}'/></disks></domaincheckpoint>"
    )
    ok = doc.format("é" * 100, "&lt;" * 100).encode()  # 200 bytes / 400 bytes, 100 characters each
    record = parse(ok, max_text=100)
    assert record.description == "é" * 100 and record.disks[0].bitmap == "<" * 100
    for n in (1 << 20, 3):
        items = items_of(chunked(ok, n), max_text=100)
        assert shape(items) == ["record:c"]


def test_document_bytes_limit_acts_while_buffering() -> None:
    parser = CheckpointParser(on_error="skip", max_document_bytes=1000)
    assert [r.name for r in parser.feed(good("before"))] == ["before"]
    parser.feed(b"<domaincheckpoint><name>c</name><description>")
    for _ in range(3):
        parser.feed(b"z" * 400)
    # reported from feed(), before any end tag or close()
    assert len(parser.errors) == 1 and isinstance(parser.errors[0], LimitError)
    assert "larger than 1000 bytes (limit max_document_bytes)" in parser.errors[0].message
    rest = parser.feed(b"z" * 400 + b"</description></domaincheckpoint>\n" + good("after")) + parser.close()
    assert [r.name for r in rest] == ["after"]


def _huge_attribute_stream(total: int, chunk: int = 64 * 1024) -> Iterator[bytes]:
    yield good("before") + b"<domaincheckpoint><name>c</name><disks><disk name='vda' bitmap='"
    block = b"x" * chunk
    for _ in range(total // chunk):
        yield block
    yield b"'/></disks></domaincheckpoint>\n" + good("after")


class _CountingParser:
    """Wraps an expat parser and counts the bytes expat is made to scan: each Parse call re-scans
    the unfinished token it holds, plus the new bytes."""

    scanned = 0

    def __init__(self, real: Any) -> None:
        object.__setattr__(self, "_real", real)
        object.__setattr__(self, "_fed", 0)

    def Parse(self, data: bytes, final: bool = False) -> int:  # noqa: N802 (expat's name)
        real = self._real
        held = self._fed - max(real.CurrentByteIndex, 0) if self._fed else 0
        _CountingParser.scanned += held + len(data)
        object.__setattr__(self, "_fed", self._fed + len(data))
        return real.Parse(data, final)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._real, name, value)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> type[_CountingParser]:
    real_new = safe_expat.new_expat_parser
    monkeypatch.setattr(general_reader, "new_expat_parser", lambda: _CountingParser(real_new()))
    _CountingParser.scanned = 0
    return _CountingParser


def test_50_mb_attribute_is_refused_early_in_linear_work(counted: type[_CountingParser]) -> None:
    tracemalloc.start()
    try:
        items = list(iterparse(_huge_attribute_stream(50 * MB), on_error="skip", yield_errors=True))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert shape(items) == ["record:before", "LimitError", "record:after"]
    err = items[1]
    assert err.message == "<disk> has an attribute value longer than 1048576 characters (limit max_text)"
    assert (err.line, err.column) == (1, len(b"<domaincheckpoint><name>c</name><disks><disk name='vda' bitmap='") + 1)
    # Refused after about max_text bytes, not after 50 MB: memory stays near the limit ...
    assert peak < 8 * MB
    # ... and expat scanned each byte a bounded number of times (no re-scan per chunk).
    assert counted.scanned < 4 * MB


def test_huge_attribute_within_raised_limit_is_parsed_in_linear_work(counted: type[_CountingParser]) -> None:
    size = 8 * MB
    items = list(
        iterparse(_huge_attribute_stream(size), on_error="skip", yield_errors=True, max_text=16 * MB, chunk_size=1 << 16)
    )
    assert shape(items) == ["record:before", "record:c", "record:after"]
    assert items[1].disks[0].bitmap == "x" * size
    assert counted.scanned < 3 * size + MB


def _comment_stream(size: int, chunk: int = 64 * 1024) -> Iterator[bytes]:
    yield b"<domaincheckpoint><!-- general path --><name>c</name><!--"
    block = (b"x</domaincheckpoint>" * (chunk // 20 + 1))[:chunk]  # end tag candidates everywhere
    for _ in range(size // chunk):
        yield block
    yield b"--></domaincheckpoint>\n" + good("after")


def test_huge_comment_with_end_tag_candidates_is_linear(counted: type[_CountingParser]) -> None:
    items = list(iterparse(_comment_stream(8 * MB), on_error="skip", yield_errors=True, max_text=16 * MB))
    assert shape(items) == ["record:c", "record:after"]
    assert counted.scanned < 3 * 8 * MB


@pytest.mark.parametrize("size", [1 << 30, 65536, 7])
def test_comment_inside_a_document_is_bounded_by_max_text(size: int) -> None:
    """A comment (or PI) inside a document is bounded as one between documents is: finished or
    not, one longer than max_text is reported at its start, and reading resumes after it."""
    head = b"<domaincheckpoint><name>c</name><!--"
    finished = head + b"y" * 3000 + b"--></domaincheckpoint>\n"
    unfinished = head + b"y" * 5000 + b"\n"  # cut short, then documents: none is swallowed
    pi = b"<domaincheckpoint><name>c</name><?target " + b"y" * 3000 + b"?></domaincheckpoint>\n"
    for bad in (finished, unfinished, pi):
        items = items_of(chunked(good("before") + bad + good("after") + good("last"), size), max_text=1000)
        assert shape(items) == ["record:before", "LimitError", "record:after", "record:last"], bad[:40]
        assert items[1].offset == len(good("before")) + bad.index(b"<!--" if bad is not pi else b"<?")
        assert "longer than 1000 characters (limit max_text)" in items[1].message


def test_50_mb_text_node_is_refused_early() -> None:
    def stream() -> Iterator[bytes]:
        yield good("before") + b"<domaincheckpoint><name>c</name><description>"
        for _ in range(800):
            yield b"0123456789abcde\n" * 4096
        yield b"</description></domaincheckpoint>\n" + good("after")

    tracemalloc.start()
    try:
        items = list(iterparse(stream(), on_error="skip", yield_errors=True))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert shape(items) == ["record:before", "LimitError", "record:after"]
    assert "text node" in items[1].message and "(limit max_text)" in items[1].message
    assert peak < 16 * MB


# -- documents that never end --------------------------------------------------------------------

NEVER_ENDING = {
    "mid-tag": (b"<domaincheckpoint><name>a</name><disks><disk name='vd", "not well-formed"),
    "mid-comment": (b"<domaincheckpoint><name>a</name><!-- never closed", "unclosed token"),
    "mid-CDATA": (b"<domaincheckpoint><name>a</name><description><![CDATA[ never closed", "unclosed CDATA section"),
    "mid-character": (b"<domaincheckpoint><name>a\xe2\x98", "not well-formed XML"),
    "mid-declaration": (b"<?xml version='1.0' encod", "not well-formed XML"),
    "only a start tag": (b"<domaincheckpoint>", "not well-formed XML"),
}
# What the truncated document is reported as when a complete one follows it.
FOLLOWED: dict[str, list[str]] = {}
# An unclosed CDATA section holds the rest of the stream: the next document is inside it, as XML
# has it (expat reports the error only at the end of the input).
FOLLOWED["mid-CDATA"] = ["NotWellFormedError"]


@pytest.mark.parametrize("case", list(NEVER_ENDING))
def test_document_that_never_ends(case: str) -> None:
    bad, message = NEVER_ENDING[case]
    for n in (1 << 20, 3):
        # at the very end of the stream
        items = items_of(chunked(good("before") + bad, n))
        assert shape(items) == ["record:before", "NotWellFormedError"], case
        assert message in items[1].message
        # followed by a complete document: only the truncated one is lost
        items = items_of(chunked(good("before") + bad + b"\n" + good("after"), n))
        assert shape(items) == ["record:before", *FOLLOWED.get(case, ["NotWellFormedError", "record:after"])], case


# -- garbage between documents -------------------------------------------------------------------

UTF16_DOC = "<domaincheckpoint><name>u</name></domaincheckpoint>"
GARBAGE = {
    "NUL bytes": (b"\x00\x00\x00", "garbage between documents: binary data (4 bytes)"),
    "text": (b"hello world", "garbage between documents: 'hello world"),
    "stray end tag": (b"</domaincheckpoint>", "garbage between documents"),
    "UTF-16 BOM": ("<domaincheckpoint><name>u</name></domaincheckpoint>".encode("utf-16"), "UTF-16 byte order mark"),
    "UTF-16LE without BOM": (UTF16_DOC.encode("utf-16-le"), "UTF-16 text without a byte order mark"),
    "UTF-16BE without BOM": (UTF16_DOC.encode("utf-16-be"), "UTF-16 text without a byte order mark"),
}


@pytest.mark.parametrize("case", list(GARBAGE))
def test_garbage_between_documents(case: str) -> None:
    bad, message = GARBAGE[case]
    for items in sandwich(bad):
        assert shape(items) == ["record:before", "NotWellFormedError", "record:after"], case
        assert message in items[1].message
        assert items[1].document == 1


def test_nul_byte_inside_a_document() -> None:
    items = sandwich(b"<domaincheckpoint><name>a\x00b</name></domaincheckpoint>")[0]
    assert shape(items) == ["record:before", "NotWellFormedError", "record:after"]
    assert items[1].message.startswith("not well-formed XML")


# -- end tags hidden in CDATA, comments and PIs --------------------------------------------------

TRICKY = b"""<domaincheckpoint>
  <name>tricky</name>
  <description>a<![CDATA[</domain></domaincheckpoint>]]>b</description>
  <creationTime>5</creationTime>
  <domain type='kvm'>
    <name>vm</name>
    <!-- a comment </domaincheckpoint> -->
    <?pi </domain></domaincheckpoint>?>
    <memory>1</memory>
    <metadata><x:y xmlns:x='urn:x'><![CDATA[</domain></domaincheckpoint>]]></x:y></metadata>
  </domain>
</domaincheckpoint>"""


def test_end_tags_inside_cdata_comments_and_pis() -> None:
    for items in sandwich(TRICKY):
        assert shape(items) == ["record:before", "record:tricky", "record:after"]
        record = items[1]
        assert record.description == "a</domain></domaincheckpoint>b"
        assert record.domain.xml == (
            "<domain type='kvm'>\n"
            "  <name>vm</name>\n"
            "  <!-- a comment </domaincheckpoint> -->\n"
            "  <?pi </domain></domaincheckpoint>?>\n"
            "  <memory>1</memory>\n"
            "  <metadata><x:y xmlns:x='urn:x'><![CDATA[</domain></domaincheckpoint>]]></x:y></metadata>\n"
            "</domain>"
        )
        assert record.domain.name == "vm"


# -- encodings -----------------------------------------------------------------------------------

CAFE = "<domaincheckpoint><name>e</name><description>café</description></domaincheckpoint>"


@pytest.mark.parametrize("declared", ["UTF-8", "utf8", "US-ASCII", "ISO-8859-1", "UTF-16", "windows-1252"])
def test_declared_encoding_is_ignored_and_bytes_read_as_utf8(declared: str) -> None:
    # libvirt 9.0 parses every document as UTF-8 and ignores the declared name (oracle findings §4)
    doc = f"<?xml version='1.0' encoding='{declared}'?>\n{CAFE}".encode()
    for items in sandwich(doc, sizes=(1 << 20, 5)):
        assert shape(items) == ["record:before", "record:e", "record:after"]
        assert items[1].description == "café"


def test_unknown_encoding_name_is_an_error() -> None:
    doc = f"<?xml version='1.0' encoding='bogus'?>\n{CAFE}".encode()
    for items in sandwich(doc):
        assert shape(items) == ["record:before", "NotWellFormedError", "record:after"]
        err = items[1]
        assert "unknown encoding 'bogus'" in err.message
        assert (err.line, err.column) == (1, doc.index(b"bogus") + 1)


def test_invalid_utf8_is_a_positioned_error() -> None:
    doc = (
        "<?xml version='1.0' encoding='ISO-8859-1'?>\n"
        "<domaincheckpoint><name>e</name><description>caf\xe9</description></domaincheckpoint>"
    ).encode("latin-1")
    for items in sandwich(doc):
        assert shape(items) == ["record:before", "NotWellFormedError", "record:after"]
        err = items[1]
        assert "not valid UTF-8" in err.message
        assert err.line == 2 and err.column == len("<domaincheckpoint><name>e</name><description>caf") + 1


def test_utf8_byte_order_marks_are_skipped() -> None:
    data = b"\xef\xbb\xbf" + good("one") + b"\xef\xbb\xbf" + good("two")
    for n in (1 << 20, 1):
        assert shape(items_of(chunked(data, n))) == ["record:one", "record:two"]


def test_schema_error_from_another_root_does_not_swallow_neighbours() -> None:
    items = sandwich(b"<domain type='kvm'><name>x</name></domain>")[0]
    assert shape(items) == ["record:before", "SchemaError", "record:after"]
    assert isinstance(items[1], SchemaError) and not isinstance(items[1], NotWellFormedError)
