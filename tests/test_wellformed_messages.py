"""Well-formedness errors that say where: the start tag a mismatched end tag should have closed,
the element the input ended in, what binary garbage between documents looks like, and the disk
element a ``--align`` error is about (all with the usual document, line, column, source line and
offset), whatever the chunking.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import random
import zipfile

import pytest

from checkpoint_stream import CheckpointError, NotWellFormedError, SemanticError, iterparse
from checkpoint_stream.framing import Framer, Item
from checkpoint_stream.positions import locate
from checkpoint_stream.readers import Options
from hostile_util import chunked, good

SIZES = [1, 7, 1 << 30]
PREFIX = good("before") + b"2024-05-01 10:00:00 a log line between documents\n" + good("second")


def items(data: bytes, size: int) -> list[object]:
    return list(iterparse(chunked(data, size), on_error="skip", yield_errors=True))


def last_error(data: bytes, size: int, count: int) -> CheckpointError:
    errors = [x for x in items(data, size) if isinstance(x, CheckpointError)]
    assert len(errors) == count, errors
    return errors[-1]


def stream_line(data: bytes, marker: bytes, start: int) -> int:
    """The stream line of the first ``marker`` from ``data[start]`` on (what an editor shows)."""
    return locate(data, 0, data.index(marker, start))[0]


def assert_at(err: CheckpointError, data: bytes, doc_start: int, at: int) -> None:
    """The error is placed at ``data[at]``, in the document starting at ``data[doc_start]``."""
    assert err.offset == at
    assert (err.line, err.column) == locate(data, doc_start, at - doc_start)
    assert (err.source_line, err.source_column) == locate(data, 0, at)


# -- mismatched tags --------------------------------------------------------------------------------

MISMATCHED = {
    "plain": (b"<domaincheckpoint>\n  <name>c</nam>\n</domaincheckpoint>\n", b"<name>", "nam", "name"),
    "after a comment holding tags": (
        b"<domaincheckpoint>\n  <!-- <name> </disks> -->\n  <disks>\n    <disk name='vda'/>\n  </disk>\n</domaincheckpoint>\n",
        b"<disks>",
        "disk",
        "disks",
    ),
    "after CDATA, a PI and attribute values holding '>'": (
        b"<domaincheckpoint>\n  <description><![CDATA[<a></b>]]></description>\n  <?pi <x>?>\n"
        b"  <disks>\n    <disk name='vda' bitmap='a>b' checkpoint=\"bitmap\"/>\n"
        b"    <disk name='vdb'>\n  </disks>\n</domaincheckpoint>\n",
        b"<disk name='vdb'>",
        "disks",
        "disk",
    ),
    "multibyte text and names": (
        "<domaincheckpoint>\n  <name>\u00e9\u20ac\U0001f600</nam\u00e9>\n</domaincheckpoint>\n".encode(),
        b"<name>",
        "nam\u00e9",
        "name",
    ),
}


@pytest.mark.parametrize("case", list(MISMATCHED))
@pytest.mark.parametrize("size", SIZES)
def test_mismatched_tag_names_the_open_element_and_its_stream_line(case: str, size: int) -> None:
    doc, opener, closing, opened = MISMATCHED[case]
    for prefix in (b"", PREFIX):
        data = prefix + doc + good("after")
        found = items(data, size)
        err = found[-2]
        assert isinstance(err, NotWellFormedError)
        assert [getattr(x, "name", None) for x in found if not isinstance(x, CheckpointError)][-1] == "after"
        line = stream_line(data, opener, len(prefix))
        assert err.message == f"not well-formed XML: mismatched tag: </{closing}> closes <{opened}> opened at line {line}"
        start = len(prefix)
        assert_at(err, data, start, data.index(b"</" + closing.encode() + b">", start) + 2)  # expat points at the name
        assert err.document == (0 if not prefix else 3)  # before, the log line, second


# -- the end of the input inside an element --------------------------------------------------------

TRUNCATED = {
    "no element found": (
        b"<domaincheckpoint>\n  <name>c</name>\n  <disks>\n    <disk name='vda'/>\n",
        "not well-formed XML: unexpected end of file inside <disks> (opened at line {line})",
        b"<disks>",
    ),
    "unclosed token": (
        b"<domaincheckpoint>\n  <disks>\n    <disk name='vd",
        "not well-formed XML: unclosed token: unexpected end of file inside <disks> (opened at line {line})",
        b"<disks>",
    ),
    "unclosed comment": (
        b"<domaincheckpoint>\n  <name>a</name>\n  <!-- never closed",
        "not well-formed XML: unclosed token: unexpected end of file inside <domaincheckpoint> (opened at line {line})",
        b"<domaincheckpoint>\n  <name>a",
    ),
    "partial character": (
        b"<domaincheckpoint>\n  <description>caf\xc3",
        "not well-formed XML: partial character: unexpected end of file inside <description> (opened at line {line})",
        b"<description>",
    ),
    "unclosed CDATA": (
        b"<domaincheckpoint>\n  <description><![CDATA[ never closed",
        "not well-formed XML: unclosed CDATA section: unexpected end of file inside <description> (opened at line {line})",
        b"<description>",
    ),
}


@pytest.mark.parametrize("case", list(TRUNCATED))
@pytest.mark.parametrize("size", SIZES)
def test_the_end_of_the_input_names_the_element_it_ends_in(case: str, size: int) -> None:
    doc, message, opener = TRUNCATED[case]
    for prefix in (b"", PREFIX):
        data = prefix + doc
        err = last_error(data, size, 1 if not prefix else 2)  # the log line in PREFIX is one
        assert type(err) is NotWellFormedError
        assert err.message == message.format(line=stream_line(data, opener, len(prefix)))
        assert err.offset is not None
        assert_at(err, data, len(prefix), err.offset)
        assert err.between_documents is False


def test_the_end_of_the_input_with_nothing_opened_keeps_expat_words() -> None:
    for size in SIZES:
        err = last_error(good("a") + b"<?xml version='1.0'?>\n", size, 1)
        assert err.message == "not well-formed XML: no element found"


# -- binary garbage between documents ----------------------------------------------------------


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.xml", good("zipped") * 20)
    return out.getvalue()


_RANDOM = bytes(random.Random(5).choice(range(0x80, 0x100)) for _ in range(300))
BINARY = {
    "gzip": (gzip.compress(good("g") * 20, mtime=0), "binary data (gzip?)"),
    "xz": (lzma.compress(good("x") * 20), "binary data (xz?)"),
    "bzip2": (bz2.compress(good("b") * 20), "binary data (bzip2?)"),
    "zip": (_zip(), "binary data (zip?)"),
    "ELF": (b"\x7fELF\x02\x01\x01\x00" + bytes(range(1, 60)), "binary data (ELF executable?)"),
    "PNG": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(40), "binary data (PNG image?)"),
    "PDF": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "binary data (PDF?)"),
    "UTF-16 text": ("libvirt said hello".encode("utf-16-le"), "binary data (UTF-16 text?)"),
    "NUL bytes": (b"\x00\x00\x00", f"binary data ({3 + 1} bytes)"),  # + the line break before the next document
    "random bytes": (_RANDOM, f"binary data ({len(_RANDOM) + 1} bytes)"),
    "a lot of random bytes": (_RANDOM * 20, "binary data (more than 4096 bytes)"),
    "text": (b"hello world, this is a log line that goes on", repr("hello world, this is a log line"[:24])),
    "Latin-1 text": (b"caf\xe9 cr\xe8me, a log line", repr("caf\ufffd cr\ufffdme, a log line\n")),
}


@pytest.mark.parametrize("case", list(BINARY))
@pytest.mark.parametrize("size", SIZES)
def test_binary_garbage_says_what_it_looks_like(case: str, size: int) -> None:
    junk, what = BINARY[case]
    assert b"<domaincheckpoint" not in junk and b"<?xml" not in junk
    data = good("before") + junk + b"\n" + good("after")
    found = items(data, size)
    assert [x.name if not isinstance(x, CheckpointError) else type(x).__name__ for x in found] == [  # type: ignore[union-attr]
        "before", "NotWellFormedError", "after"
    ]
    err = found[1]
    assert isinstance(err, CheckpointError)
    assert err.message == f"garbage between documents: {what}"
    assert err.between_documents is True
    assert err.document == 1
    assert_at(err, data, len(good("before")), len(good("before")))


# -- alignment errors at their element -----------------------------------------------------------

DOMAIN = (
    "  <domain type='test'>\n    <name>vm</name>\n    <devices>\n"
    "      <disk type='file' device='disk'>\n        <source file='/a.img'/>\n        <target dev='vda' bus='virtio'/>\n      </disk>\n"
    "      <disk type='file' device='disk'>\n        <source file='/b.img'/>\n        <target dev='vdb' bus='virtio'/>\n        <readonly/>\n      </disk>\n"
    "    </devices>\n  </domain>\n"
)
NO_DISKS_DOMAIN = "  <domain type='test'>\n    <name>vm</name>\n  </domain>\n"


def _doc(name: str, disks: list[str], domain: str = DOMAIN) -> bytes:
    listed = "".join(f"    <disk name='{d}' checkpoint='bitmap'/>\n" for d in disks)
    return (
        f"<domaincheckpoint>\n  <name>{name}</name>\n  <creationTime>5</creationTime>\n"
        + (f"  <disks>\n{listed}  </disks>\n" if disks else "")
        + f"{domain}</domaincheckpoint>\n"
    ).encode()


# name: (document, message, which element it is placed at: (marker, nth occurrence in the document))
ALIGN = {
    "no disk named": (_doc("c", ["vda", "vdz"]), "no disk named 'vdz'", (b"<disk name='vdz'", 1)),
    "specified twice": (_doc("c", ["vda", "vda"]), "disk 'vda' specified twice", (b"<disk name='vda'", 2)),
    "empty or readonly": (_doc("c", ["vdb"]), "disk 'vdb' is empty or readonly", (b"<disk name='vdb'", 1)),
    "too many": (_doc("c", ["vda", "vdb", "vdc"]), "too many disk checkpoint requests for domain", (b"<domain ", 1)),
    "at least one disk": (_doc("c", [], NO_DISKS_DOMAIN), "domain must have at least one disk to perform checkpoints", (b"<domain ", 1)),
}


def framer_items(data: bytes, size: int, **options: bool) -> list[Item]:
    framer = Framer(Options(**options))
    out: list[Item] = []
    for chunk in chunked(data, size):
        out += framer.feed(chunk)
    return out + framer.close()


@pytest.mark.parametrize("case", list(ALIGN))
@pytest.mark.parametrize("size", [1, 1 << 30])
@pytest.mark.parametrize("fast", [True, False])
def test_alignment_errors_point_at_their_element(case: str, size: int, fast: bool) -> None:
    doc, message, (marker, nth) = ALIGN[case]
    ok = _doc("ok", ["vda"])
    if not fast:  # a layout the fast reader leaves to the general one
        doc, ok = doc.replace(b"  <name>", b"  <!-- c --><name>", 1), ok.replace(b"  <name>", b"  <!-- c --><name>", 1)
    for prefix in (b"", ok + b"log line\n" + ok):
        data = prefix + doc + ok
        found = framer_items(data, size, align=True)
        names = [x.name if not isinstance(x, CheckpointError) else type(x).__name__ for x in found]  # type: ignore[union-attr]
        assert names == ["ok", "NotWellFormedError", "ok"] * (prefix != b"") + ["SemanticError", "ok"]
        err = found[-2]
        assert isinstance(err, SemanticError)
        assert err.message == message
        start = len(prefix)
        at = start - 1
        for _ in range(nth):
            at = data.index(marker, at + 1)
        assert_at(err, data, start, at)
        assert err.document == (3 if prefix else 0)
        assert err.checkpoint == "c"
        assert err.libvirt_message.startswith("unsupported configuration: ")  # type: ignore[attr-defined]
        # the records that pass are aligned: every domain disk listed
        assert [d.name for d in found[-1].disks] == ["vda", "vdb"]  # type: ignore[union-attr]


def test_without_align_the_same_documents_pass() -> None:
    for doc, _message, _at in ALIGN.values():
        found = framer_items(doc, 1 << 30)
        assert len(found) == 1 and not isinstance(found[0], CheckpointError)

