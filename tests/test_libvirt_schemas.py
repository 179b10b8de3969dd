"""The nested domain judged by libvirt's own RELAX NG schemas (issue #12, item 1): ``libvirt_schemas``
on every face and ``--libvirt-schemas`` on the command line; the engine (lxml's RELAX NG, which is
libxml2's), its messages and positions, its verdict cache, the clear errors without lxml or without
schemas, and a differential test against real libvirt.

Skipped, saying why, where lxml or libvirt's schemas are missing (the schemas come with Debian's
``libvirt0``; lxml with the ``test`` and ``libvirt`` extras); the differential test also needs
python3-libvirt under ``/usr/bin/python3``.
"""

from __future__ import annotations

import importlib
import io
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import checkpoint_stream as cs
from checkpoint_stream import libvirt_schemas as ls
from checkpoint_stream.cli import main
from libvirt_util import SYSTEM_PYTHON, libvirt_unavailable as _libvirt_reason

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from cli_util import run  # noqa: E402
from faces_util import FACES, collect

try:
    importlib.import_module("lxml.etree")
    _NO_LXML = None
except ImportError:
    _NO_LXML = "lxml is not installed (pip install 'checkpoint-stream[libvirt]'): the schema engine cannot run"


def _schemas_reason() -> str | None:
    if _NO_LXML:
        return _NO_LXML
    try:
        ls.find_directory("auto")
    except ls.LibvirtSchemasUnavailable as err:
        return f"libvirt's schemas are not installed here ({err})"
    return None


_REASON = _schemas_reason()
needs_schemas = pytest.mark.skipif(_REASON is not None, reason=_REASON or "")


@pytest.fixture(scope="module")
def schemas() -> ls.LibvirtSchemas:
    if _REASON:
        pytest.skip(_REASON)
    found = cs.load_libvirt_schemas("auto")
    assert found is not None
    return found


QEMU_NS = "xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'"

DOMAIN = """<domain type='kvm'>
  <name>vm1</name>
  <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>
  <memory unit='KiB'>1048576</memory>
  <os>
    <type arch='x86_64'>hvm</type>
  </os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/var/lib/libvirt/images/vm1.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'>
      <source network='default'/>
      <driver>
        <host csum='on'/>
      </driver>
    </interface>
  </devices>
</domain>"""


def _doc(domain: str = DOMAIN, root_attrs: str = "", name: str = "c1") -> str:
    """A checkpoint in libvirt's layout carrying ``domain`` (indented two spaces)."""
    body = "\n".join("  " + line for line in domain.split("\n"))
    head = f"<domaincheckpoint {root_attrs}>" if root_attrs else "<domaincheckpoint>"
    return f"{head}\n  <name>{name}</name>\n  <creationTime>1553647812</creationTime>\n{body}\n</domaincheckpoint>\n"


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


# -- the engine and its words ---------------------------------------------------------------------

# (name, change to DOMAIN, message, path within the domain, what marks the line and column)
BAD = [
    ("unknown element in devices", ("    </interface>\n", "    </interface>\n    <bogus/>\n"),
     "element 'bogus' is not allowed in <devices>", "/domain/devices/bogus", "<bogus/>"),
    ("unknown element at the top", ("  <devices>\n", "  <bogus/>\n  <devices>\n"),
     "element 'bogus' is not allowed in <domain>", "/domain/bogus", "<bogus/>"),
    ("bad attribute value deep inside", ("csum='on'", "csum='maybe'"),
     "invalid value 'maybe' for attribute 'csum' of <host> (one of: off, on)", "/domain/devices/interface/driver/host", "<host"),
    ("bad attribute value, required attribute", ("bus='virtio'", "bus='nonsense'"),
     "invalid value 'nonsense' for attribute 'bus' of <target>", "/domain/devices/disk/target", "<target"),
    ("unknown attribute", ("<disk type='file' device='disk'>", "<disk type='file' device='disk' foo='1'>"),
     "attribute 'foo' is not allowed on <disk>", "/domain/devices/disk", "<disk"),
    ("bad text", ("<memory unit='KiB'>1048576</memory>", "<memory unit='KiB'>abc</memory>"),
     "invalid value 'abc' for <memory> (not a valid unsignedLong)", "/domain/memory", "<memory"),
    ("text outside a list of values", ("<type arch='x86_64'>hvm</type>", "<type arch='x86_64'>hvmx</type>"),
     "invalid value 'hvmx' for <type>", "/domain/os/type", "<type"),
    ("bad value of the domain's type", ("<domain type='kvm'>", "<domain type='kvmx'>"),
     "invalid value 'kvmx' for attribute 'type' of <domain>", "/domain", "<domain"),
    ("a repeated element", ("  <name>vm1</name>\n", "  <name>vm1</name>\n  <name>vm2</name>\n"),
     "<name> appears more often in <domain> than the schema allows", "/domain/name[1]", "<name>vm1"),
    ("a required element missing", ("      <target dev='vda' bus='virtio'/>\n", ""),
     "element <disk> is not valid in <devices>", "/domain/devices/disk", "<disk"),
]


@needs_schemas
@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_a_rejected_domain_is_worded_and_placed(schemas: ls.LibvirtSchemas, case: tuple[Any, ...]) -> None:
    _, (old, new), message, path, mark = case
    domain = DOMAIN.replace(old, new)
    assert domain != DOMAIN
    fault = schemas.check(domain)
    assert fault is not None
    assert fault.message.startswith(message)
    assert fault.path == path
    assert fault.line == _line_of(domain, mark)
    assert fault.raw  # libxml2's own words are kept
    doc = _doc(domain)
    try:
        cs.parse(doc)
    except cs.SchemaError:
        # A fault at the domain's top that the built-in rules see too: theirs is reported (they
        # judge first), schemas or not.
        with pytest.raises(cs.SchemaError) as info:
            cs.parse(doc, libvirt_schemas=schemas)
        assert "libvirt's schemas" not in info.value.message
        return
    with pytest.raises(cs.SchemaError) as info:
        cs.parse(doc, libvirt_schemas=schemas)
    err = info.value
    assert err.message.startswith(message) and "libvirt's schemas" in err.message
    assert err.path == "/domaincheckpoint" + path
    at = doc.index("  " + mark.lstrip(" ")) + 2 if mark.startswith("<") else doc.index(mark)
    if mark == "<domain":
        at = doc.index("<domain ")
    assert (err.line, err.column) == (doc[:at].count("\n") + 1, at - doc.rfind("\n", 0, at))
    assert err.offset == len(doc[:at].encode())
    assert err.libxml2_message == fault.raw  # type: ignore[attr-defined]


@needs_schemas
def test_a_valid_domain_passes_and_the_built_in_rules_still_apply(schemas: ls.LibvirtSchemas) -> None:
    assert schemas.check(DOMAIN) is None
    record = cs.parse(_doc(), libvirt_schemas=schemas)
    assert record == cs.parse(_doc())
    # The built-in rules judge first: a checkpoint-level fault is theirs, schemas or not.
    with pytest.raises(cs.SchemaError, match="creationTime") as info:
        cs.parse(_doc().replace("1553647812", "x"), libvirt_schemas=schemas)
    assert "libvirt's schemas" not in info.value.message


@needs_schemas
def test_without_schemas_deep_content_is_not_judged(schemas: ls.LibvirtSchemas) -> None:
    """The default stays the built-in rules: what only libvirt's schemas refuse passes without them."""
    doc = _doc(DOMAIN.replace("csum='on'", "csum='maybe'"))
    assert cs.parse(doc).name == "c1"
    with pytest.raises(cs.SchemaError):
        cs.parse(doc, libvirt_schemas="auto")


@needs_schemas
def test_the_roots_namespace_declarations_are_carried_onto_the_domain(schemas: ls.LibvirtSchemas) -> None:
    ext = DOMAIN.replace("  </devices>\n", "  </devices>\n  <qemu:commandline>\n    <qemu:arg value='-S'/>\n  </qemu:commandline>\n")
    assert cs.parse(_doc(ext, QEMU_NS), libvirt_schemas=schemas).name == "c1"
    own = ext.replace("<domain type='kvm'>", f"<domain type='kvm' {QEMU_NS}>")
    assert cs.parse(_doc(own), libvirt_schemas=schemas).name == "c1"
    bad = ext.replace("<qemu:arg value", "<qemu:arg valu")
    with pytest.raises(cs.SchemaError, match="attribute 'valu' is not allowed on <qemu:arg>") as info:
        cs.parse(_doc(bad, QEMU_NS), libvirt_schemas=schemas)
    assert info.value.path == "/domaincheckpoint/domain/qemu:commandline/qemu:arg"
    # The declaration of another namespace URI under the same prefix is not the qemu one.
    other = "xmlns:qemu='http://example.org/not-qemu'"
    with pytest.raises(cs.SchemaError):
        cs.parse(_doc(ext, other), libvirt_schemas=schemas)


@needs_schemas
def test_root_namespaces_reads_the_start_tag() -> None:
    data = b"<domaincheckpoint a='>' xmlns:q=\"u1\" xmlns='u2'\n xmlns:r = 'u3'><name>x</name>"
    assert ls.root_namespaces(data, 0) == ("xmlns:q=\"u1\"", "xmlns='u2'", "xmlns:r='u3'")
    assert ls.root_namespaces(b"<domaincheckpoint>", 0) == ()


@needs_schemas
def test_positions_in_a_stream_and_in_every_layout(schemas: ls.LibvirtSchemas) -> None:
    bad = _doc(DOMAIN.replace("csum='on'", "csum='maybe'"), name="c2")
    good = _doc()
    stream = good + bad + good
    items = list(cs.iterparse(stream.encode(), libvirt_schemas=schemas, on_error="skip", yield_errors=True))
    assert [type(i).__name__ for i in items] == ["Checkpoint", "SchemaError", "Checkpoint"]
    err = items[1]
    at = bad.index("<host")
    assert (err.document, err.line, err.column) == (1, bad[:at].count("\n") + 1, at - bad.rfind("\n", 0, at))
    assert err.source_line == good.count("\n") + err.line
    assert err.offset == len(good) + at
    assert err.checkpoint == "c2"
    # The same error, whatever the layout (CR LF, double quotes, other indentation: the general
    # reader) and however the stream is cut.
    for variant in (bad.replace("\n", "\r\n"), bad.replace("'", '"'), bad.replace("\n  ", "\n   ")):
        parser = cs.CheckpointParser(libvirt_schemas=schemas, on_error="skip")
        data = variant.encode()
        for i in range(0, len(data), 7):
            parser.feed(data[i : i + 7])
        parser.close()
        (e,) = parser.errors
        at = variant.index("<host")
        assert e.message == err.message
        assert (e.line, e.column) == (variant[:at].count("\n") + 1, at - variant.rfind("\n", 0, at))


@needs_schemas
def test_several_rejected_domains_in_one_feed_keep_their_places(schemas: ls.LibvirtSchemas) -> None:
    """The framer validates a feed's domains together once that feed's reading is done
    (framing._settle): rejected domains among good ones, in one feed or cut into small ones,
    give the same errors, each with its own document index, lines and offset."""
    docs = [
        _doc(name="c0"),
        _doc(DOMAIN.replace("csum='on'", "csum='maybe'"), name="c1"),
        _doc(name="c2"),
        _doc(DOMAIN.replace("bus='virtio'", "bus='nonsense'"), name="c3"),
        _doc(DOMAIN.replace("<devices>", "<devices>\n    <bogus/>", 1), name="c4"),
        _doc(name="c5"),
    ]
    data = "".join(docs).encode()

    def read(chunk: int) -> list[object]:
        parser = cs.CheckpointParser(libvirt_schemas=schemas, on_error="skip", align=True)
        names = []
        for i in range(0, len(data), chunk):
            names += [r.name for r in parser.feed(data[i : i + chunk])]
        names += [r.name for r in parser.close()]
        return names + [(e.message, e.document, e.line, e.column, e.source_line, e.offset, e.checkpoint) for e in parser.errors]

    whole = read(len(data))
    assert whole[:3] == ["c0", "c2", "c5"]
    assert [(e[1], e[6]) for e in whole[3:]] == [(1, "c1"), (3, "c3"), (4, "c4")]  # type: ignore[index]
    assert whole[3][5] == len(docs[0]) + docs[1].index("<host")  # type: ignore[index]
    for chunk in (1, 97, 4096):
        assert read(chunk) == whole


# Domains the fast reader may leave to the schemas (Options.schemas_judge_domain), and those it must
# not: refused by the schemas, by a rule of this library, not well formed, over a limit, cut short.
_DEEP = "<metadata>" + "<a>" * 300 + "</a>" * 300 + "</metadata>"
_WIDE = "<metadata><a " + " ".join(f"x{i}='1'" for i in range(300)) + "/></metadata>"
LEFT_TO_THE_SCHEMAS = [DOMAIN] + [DOMAIN.replace(*c[1]) for c in BAD] + [
    DOMAIN.replace("  <os>", "  <vcpu placement='static'>0</vcpu>\n  <os>"),  # a rule of the built-in grammar
    DOMAIN.replace("  <os>", "  <on_poweroff>bogus</on_poweroff>\n  <os>"),
    DOMAIN.replace("  <os>", "  <currentMemory unit='KiB'>abc</currentMemory>\n  <os>"),
    DOMAIN.replace("  <os>", "  <metadata foo='1'/>\n  <os>"),
    DOMAIN.replace("c7a5fdbd-edaf-9455-926a-d65c16db1809", "not-a-uuid"),
    DOMAIN.replace("<name>vm1</name>", "<name>vm1</nam>"),  # not well formed
    DOMAIN.replace("<name>vm1</name>", "<name>vm&bogus;</name>"),
    DOMAIN.replace("<name>vm1</name>", "<name>vm\u00e9</name>").replace("\u00e9", "\udcff"),  # invalid UTF-8 (below)
    DOMAIN.replace("  <devices>", "  <metadata><x a='<'/></metadata>\n  <devices>"),
    DOMAIN.replace("  <os>", "  " + _DEEP + "\n  <os>"),  # over max_depth
    DOMAIN.replace("  <os>", "  " + _WIDE + "\n  <os>"),  # over max_attributes
    DOMAIN.replace("  <os>", "  <!-- a comment -->\n  <os>"),  # read in full
    DOMAIN.replace("  <os>", "  <metadata><domaincheckpoint/></metadata>\n  <os>"),  # a root inside: cut short
    DOMAIN.replace("  <os>", "  <qemu:commandline><qemu:arg value='-x'/></qemu:commandline>\n  <os>"),
    DOMAIN.replace("  <os>", "  <title>one\ntwo</title>\n  <os>"),
]


@needs_schemas
@pytest.mark.parametrize("mode", [{}, {"create": True, "clock": lambda: 7}, {"redefine": True}], ids=["document", "create", "redefine"])
def test_a_domain_left_to_the_schemas_reads_as_one_read_in_full(schemas: ls.LibvirtSchemas, mode: dict[str, Any]) -> None:
    """In the default mode the schemas alone give libvirt's verdict on a checkpoint's domain, so the
    fast reader leaves a domain in libvirt's layout unread for them (DomainReader.unread), and
    reads a document they refuse again in full. The records and the errors (words, document,
    lines, offsets) are those of the general reader, which reads every domain; and the shortcut is
    taken."""
    from checkpoint_stream.readers import Reader
    from checkpoint_stream.readers.fast.domain import DomainReader

    taken = []
    original = DomainReader.unread

    def counted(self: DomainReader, *args: Any) -> Any:
        found = original(self, *args)
        taken.append(found is not None)
        return found

    fast, general = Reader(), Reader(fast=False)
    fast.fast.plan.function.__globals__["unread"] = counted.__get__(fast.fast.domains)  # type: ignore[union-attr]
    good = _doc(name="g").encode()
    for k, domain in enumerate(LEFT_TO_THE_SCHEMAS):
        root = QEMU_NS if "qemu:" in domain else ""
        doc = _doc(domain, root_attrs=root, name=f"c{k}").encode("utf-8", "surrogateescape")
        data = good + doc + good
        got = [_item(i) for i in cs.iterparse(data, reader=fast, libvirt_schemas=schemas, on_error="skip", yield_errors=True, **mode)]
        want = [_item(i) for i in cs.iterparse(data, reader=general, libvirt_schemas=schemas, on_error="skip", yield_errors=True, **mode)]
        assert got == want, (k, domain[:300])
    if mode:
        # REDEFINE: libvirt's domain parser reads the domain, and so does this library; a plain
        # create keeps no domain in its record (the framer judges it from the bytes).
        assert not taken
    else:
        assert sum(taken) >= 10 and not all(taken)


@needs_schemas
def test_every_checkpoint_file_reads_alike_with_the_schemas(schemas: ls.LibvirtSchemas) -> None:
    """Every checkpoint file of the test cases (libvirt's own among them), in libvirt's layout
    and with double quotes (the general reader), in the default mode (where the fast reader
    leaves domains to the schemas) and in REDEFINE: the same records and errors from both
    readers."""
    from checkpoint_stream.readers import Reader

    here = Path(__file__).resolve().parent / "cases"
    files = sorted(p for p in here.rglob("*.xml") if b"<domaincheckpoint" in p.read_bytes()[:200])
    assert len(files) >= 15
    for mode in ({}, {"redefine": True}):
        for path in files:
            data = path.read_bytes()
            for variant in (data, data.replace(b"'", b'"')):
                stream = variant + variant
                fast, general = Reader(), Reader(fast=False)
                got = [_item(i) for i in cs.iterparse(stream, reader=fast, libvirt_schemas=schemas, on_error="skip", yield_errors=True, **mode)]
                want = [_item(i) for i in cs.iterparse(stream, reader=general, libvirt_schemas=schemas, on_error="skip", yield_errors=True, **mode)]
                assert got == want, (path.name, mode)


def _item(item: Any) -> Any:
    if isinstance(item, Exception):
        return (type(item).__name__, item.message, item.document, item.line, item.column, item.offset, item.path, item.checkpoint)
    return item


@needs_schemas
@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_a_plain_create_still_has_its_domain_judged(schemas: ls.LibvirtSchemas, case: tuple[Any, ...]) -> None:
    """A plain create keeps no domain in its record, but libvirt validates the whole document
    (checkpointCreateXML refuses a domain its schemas refuse, deep inside included): the same
    error, at the same place, as in the default mode."""
    doc = _doc(DOMAIN.replace(*case[1])).encode()
    (want,) = list(cs.iterparse(doc, libvirt_schemas=schemas, on_error="skip", yield_errors=True))
    (got,) = list(cs.iterparse(doc, libvirt_schemas=schemas, on_error="skip", yield_errors=True, create=True, clock=lambda: 7))
    assert isinstance(want, cs.SchemaError) and isinstance(got, cs.SchemaError)
    assert (got.message, got.line, got.column, got.path) == (want.message, want.line, want.column, want.path)
    (good,) = list(cs.iterparse(_doc().encode(), libvirt_schemas=schemas, create=True, clock=lambda: 7))
    assert good.domain is None and good.creation_time == 7


@needs_schemas
def test_the_domain_a_plain_create_drops_is_read_as_a_record_holds_it(schemas: ls.LibvirtSchemas) -> None:
    """What the framer validates for a plain create (read from the bytes) is the domain as the
    document wrote it, as for a record's domain (records.as_written), in every layout; its
    indentation taken off, it is the record's Domain.xml."""
    from checkpoint_stream.framing import Framer
    from checkpoint_stream.markup.indentation import base_indent, dedent, normalize_newlines
    from checkpoint_stream.readers import Options
    from checkpoint_stream.records import as_written

    def text(written: str | bytes) -> str:
        return normalize_newlines(written.decode() if isinstance(written, bytes) else written)

    base = _doc(DOMAIN.replace("  <os>", "  <!-- a > comment </domain> -->\n  <os>"))
    for doc in (base, base.replace("\n", "\r\n"), base.replace("'", '"'), base.replace("\n  ", "\n    "), _doc(DOMAIN.replace("\n", ""))):
        data = doc.encode()
        framer = Framer(Options(create=True, libvirt_schemas=schemas))
        framer.buf = bytearray(data)
        dropped = framer._dropped_domain(0, len(data))
        assert dropped is not None and dropped in data
        domain = cs.parse(data).domain
        assert text(dropped) == text(as_written(domain))
        assert dedent(text(dropped), base_indent(text(dropped), 0)) == domain.xml
    framer.buf = bytearray(b"<domaincheckpoint>\n  <name>c</name>\n</domaincheckpoint>")
    assert framer._dropped_domain(0, len(framer.buf)) is None


@needs_schemas
@pytest.mark.parametrize("mode", [{}, {"create": True, "clock": lambda: 7}, {"redefine": True}], ids=["document", "create", "redefine"])
def test_the_schemas_are_shown_each_domain_as_written(schemas: ls.LibvirtSchemas, mode: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """libvirt validates a document as given, so the schemas are shown the domain as the document
    wrote it, its indentation still on (records.as_written), whichever reader read it and in
    every layout (libvirt's, double quotes, a comment, CRLF, one line, deeper indentation,
    namespaces carried): never the record's Domain.xml, which has the indentation taken off. A
    snapshot's domain and inactive domain alike."""
    from checkpoint_stream.markup.elements import element_end, find_element
    from checkpoint_stream.markup.indentation import normalize_newlines
    from checkpoint_stream.readers import Reader

    shown: list[str] = []
    check = ls.LibvirtSchemas.check

    def spy(self: ls.LibvirtSchemas, xml: str | bytes, namespaces: tuple[str, ...] = ()) -> Any:
        shown.append(normalize_newlines(xml.decode() if isinstance(xml, bytes) else xml))
        return check(self, xml, namespaces)

    monkeypatch.setattr(ls.LibvirtSchemas, "check", spy)

    def written(data: bytes, path: str, tag: str = "domain") -> str:
        at = find_element(data, 0, len(data), path)
        assert at is not None
        close = element_end(data, at, len(data))
        assert close is not None
        text = normalize_newlines(data[at:close].decode())
        return text if tag == "domain" else "<domain" + text[len(tag) + 1 : -len(tag) - 3] + "</domain>"

    base = _doc(DOMAIN.replace("<host csum='on'/>", "<host csum='on'\n            gso='off'/>"))
    layouts = {
        "libvirt's": base,
        "double quotes": base.replace("'", '"'),
        "a comment": base.replace("  <os>", "  <!-- a comment -->\n  <os>"),
        "CRLF": base.replace("\n", "\r\n"),
        "one line": _doc(DOMAIN.replace("\n", "")),
        "deeper": base.replace("\n  ", "\n      "),
        "namespaces": _doc(DOMAIN.replace("</devices>", "</devices>\n  <qemu:commandline/>"), root_attrs=QEMU_NS),
    }
    for label, doc in layouts.items():
        data = doc.encode()
        for reader in (Reader(), Reader(fast=False)):
            shown.clear()
            (record,) = list(cs.iterparse(data, reader=reader, libvirt_schemas=schemas, **mode))
            assert shown == [written(data, "/domaincheckpoint/domain")], (label, reader.fast is not None)
            if record.domain is not None:
                assert record.domain.xml != shown[0] or "\n" not in shown[0], label  # the indentation taken off
    if mode:
        return
    here = Path(__file__).resolve().parent / "cases" / "conformance" / "snapshot" / "out"
    data = (here / "memory-snapshot-inactivedomain.xml").read_bytes()
    from checkpoint_stream.grammar import SNAPSHOT_GRAMMAR

    for reader in (Reader(SNAPSHOT_GRAMMAR), Reader(SNAPSHOT_GRAMMAR, fast=False)):
        shown.clear()
        cs.parse(data, reader=reader, libvirt_schemas=schemas)
        want = [written(data, "/domainsnapshot/domain"), written(data, "/domainsnapshot/inactiveDomain", "inactiveDomain")]
        assert shown == want, reader.fast is not None


@needs_schemas
def test_a_chain_costs_one_validation() -> None:
    schemas = cs.load_libvirt_schemas("auto")
    assert schemas is not None
    marker = DOMAIN.replace("vm1.img", "chain-cache-test.img")  # a domain no other test validated
    hits, misses, _ = schemas.cache_info()
    stream = "".join(_doc(marker, name=f"c{i}") for i in range(50)).encode()
    assert len(list(cs.iterparse(stream, libvirt_schemas=schemas))) == 50
    hits2, misses2, entries = schemas.cache_info()
    assert (hits2 - hits, misses2 - misses) == (49, 1)
    assert entries <= ls.CACHE_SIZE
    # A rejected domain's verdict is cached too: its diagnosis runs once.
    bad = marker.replace("<devices>", "<devices>\n    <bogus/>")
    list(cs.iterparse("".join(_doc(bad, name=f"c{i}") for i in range(3)).encode(), libvirt_schemas=schemas, on_error="skip"))
    assert schemas.cache_info()[1] == misses2 + 1


@needs_schemas
def test_validating_a_checkpoint_reads_no_facts_of_its_domain(schemas: ls.LibvirtSchemas) -> None:
    """A domain's facts (type, name, disks) are parsed only when asked for: validating checkpoints
    with the schemas asks for none of them (a snapshot's domain may be an old-style uuid alone,
    which the schemas do not judge: only snapshots ask for its type)."""
    stream = "".join(_doc(DOMAIN.replace("vm1.img", f"facts-{i}.img"), name=f"c{i}") for i in range(5)).encode()
    records = list(cs.iterparse(stream, libvirt_schemas=schemas))
    assert len(records) == 5
    assert all(r.domain is not None and r.domain._facts is None for r in records)


@needs_schemas
def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    schemas = cs.load_libvirt_schemas("auto")
    assert schemas is not None
    monkeypatch.setattr(ls, "CACHE_SIZE", 3)
    for i in range(6):
        schemas.check(DOMAIN.replace("vm1.img", f"bounded-{i}.img"))
    assert schemas.cache_info()[2] == 3


@needs_schemas
def test_schemas_are_compiled_once_per_directory_and_named(schemas: ls.LibvirtSchemas) -> None:
    assert cs.load_libvirt_schemas("auto") is schemas
    assert cs.load_libvirt_schemas(schemas.directory) is schemas
    assert cs.load_libvirt_schemas(Path(schemas.directory) / "domain.rng") is schemas
    assert cs.load_libvirt_schemas(schemas) is schemas and cs.load_libvirt_schemas(None) is None
    assert os.path.isfile(os.path.join(schemas.directory, "domain.rng"))
    assert schemas.describe().startswith(schemas.directory)
    if schemas.version is not None:
        assert schemas.describe() == f"{schemas.directory} (libvirt {schemas.version})"
        assert schemas.version[0].isdigit()
    assert pickle.loads(pickle.dumps(schemas)) is schemas  # Dask workers compile their own
    assert cs.CheckpointParser(libvirt_schemas="auto").libvirt_schemas is schemas
    assert cs.CheckpointParser().libvirt_schemas is None
    with pytest.raises(TypeError):
        cs.load_libvirt_schemas(3)  # type: ignore[arg-type]


@needs_schemas
def test_an_environment_variable_names_the_directory(monkeypatch: pytest.MonkeyPatch, schemas: ls.LibvirtSchemas, tmp_path: Path) -> None:
    monkeypatch.setenv(ls.ENV_VAR, str(tmp_path))  # no domain.rng there: the usual places follow
    assert ls.find_directory("auto") == schemas.directory
    monkeypatch.setenv(ls.ENV_VAR, schemas.directory)
    monkeypatch.setattr(ls, "SCHEMA_DIRS", ())
    assert ls.find_directory("auto") == schemas.directory


# -- clear errors, never a silent fallback --------------------------------------------------------


def _without_lxml(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(sys.modules):
        if name == "lxml" or name.startswith("lxml."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "lxml", None)  # import lxml... raises ImportError
    monkeypatch.setitem(sys.modules, "lxml.etree", None)


@pytest.mark.parametrize("face", FACES)
def test_asking_without_lxml_names_what_to_install(face: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _without_lxml(monkeypatch)
    with pytest.raises(cs.LibvirtSchemasUnavailable, match=r"pip install 'checkpoint-stream\[libvirt\]'") as info:
        collect(face, _doc().encode(), libvirt_schemas="auto")
    assert info.value.missing == "lxml"
    # Nothing changes for those who do not ask.
    assert collect(face, _doc().encode())[0].name == "c1"


def test_asking_for_a_directory_without_schemas_is_an_error(tmp_path: Path) -> None:
    if _NO_LXML:
        pytest.skip(_NO_LXML)
    with pytest.raises(cs.LibvirtSchemasUnavailable, match="domain.rng") as info:
        cs.parse(_doc(), libvirt_schemas=tmp_path)
    assert info.value.missing == "schemas"


def test_auto_without_installed_schemas_names_the_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if _NO_LXML:
        pytest.skip(_NO_LXML)
    monkeypatch.setattr(ls, "SCHEMA_DIRS", (str(tmp_path / "none"),))
    monkeypatch.delenv(ls.ENV_VAR, raising=False)
    monkeypatch.setattr(ls, "_pkg_config_datadir", lambda: None)
    with pytest.raises(cs.LibvirtSchemasUnavailable, match="apt-get install libvirt0") as info:
        cs.iterparse(_doc().encode(), libvirt_schemas="auto")
    assert info.value.missing == "schemas"


def test_importing_the_package_does_not_import_lxml() -> None:
    code = "import sys, checkpoint_stream as cs; cs.parse(b'<domaincheckpoint><name>a</name></domaincheckpoint>'); print('lxml' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=HERE.parent, timeout=60, check=True)
    assert out.stdout.strip() == "False"


# -- every face --------------------------------------------------------------------------------


@needs_schemas
@pytest.mark.parametrize("face", FACES)
def test_every_face_takes_libvirt_schemas(face: str, schemas: ls.LibvirtSchemas) -> None:
    good = _doc().encode()
    bad = _doc(DOMAIN.replace("csum='on'", "csum='maybe'")).encode()
    for spec in ("auto", schemas.directory, schemas):
        assert [r.name for r in collect(face, good, libvirt_schemas=spec)] == ["c1"]
    with pytest.raises(cs.SchemaError, match="csum"):
        collect(face, bad, libvirt_schemas="auto")
    assert [r.name for r in collect(face, bad)] == ["c1"]
    # With align too: the schemas judge first, then the disks are aligned.
    record = collect(face, good, libvirt_schemas="auto", align=True)[0]
    assert [d.name for d in record.disks] == ["vda"]


@needs_schemas
def test_a_folder_and_make_options(tmp_path: Path, schemas: ls.LibvirtSchemas) -> None:
    (tmp_path / "a.xml").write_text(_doc())
    (tmp_path / "b.xml").write_text(_doc(DOMAIN.replace("<devices>", "<devices>\n    <bogus/>"), name="c2"))
    items = list(cs.iterparse(tmp_path, libvirt_schemas="auto", on_error="skip", yield_errors=True))
    assert [type(i).__name__ for i in items] == ["Checkpoint", "SchemaError"]
    assert items[1].source == str(tmp_path / "b.xml")
    from checkpoint_stream.api import make_options

    assert make_options(libvirt_schemas="auto").libvirt_schemas is schemas
    assert make_options(libvirt_schemas="auto") == make_options(libvirt_schemas=schemas.directory)


# -- the command line ---------------------------------------------------------------------------


@needs_schemas
def test_cli_validate_reports_the_element_and_the_schemas_used(tmp_path: Path, schemas: ls.LibvirtSchemas) -> None:
    bad = _doc(DOMAIN.replace("csum='on'", "csum='maybe'"))
    path = tmp_path / "bad.xml"
    path.write_text(_doc() + bad)
    proc = run("validate", "--on-error", "skip", "--libvirt-schemas", "--", str(path))
    assert proc.returncode == 1, proc.stderr
    line = _doc().count("\n") + _line_of(bad, "<host")
    assert f"bad.xml:{line}:" in proc.stderr.decode()
    assert "invalid value 'maybe' for attribute 'csum' of <host>" in proc.stderr.decode()
    summary = proc.stdout.decode().strip()
    assert summary == f"2 documents, 1 valid, 1 invalid; domains judged by libvirt's schemas in {schemas.describe()}"
    proc = run("validate", f"--libvirt-schemas={schemas.directory}", str(tmp_path / "bad.xml"), "--errors", "json")
    assert b'"element": "/domaincheckpoint/domain/devices/interface/driver/host"' in proc.stderr
    # Without the flag: the built-in rules, which do not look so deep.
    proc = run("validate", str(path))
    assert proc.returncode == 0 and proc.stdout.decode().strip() == "2 documents, 2 valid, 0 invalid"


@needs_schemas
@pytest.mark.parametrize("command", ["parse", "normalize", "validate", "chain"])
def test_every_reading_command_takes_the_flag(command: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.xml"
    path.write_text(_doc(DOMAIN.replace("<devices>", "<devices>\n    <bogus/>")))
    proc = run(command, "--libvirt-schemas", "--", str(path))
    assert proc.returncode == 1, proc.stderr
    assert b"element 'bogus' is not allowed in <devices>" in proc.stderr + proc.stdout
    assert run(command, str(path)).returncode == 0


@needs_schemas
def test_cli_format_judges_the_domain_of_each_line(tmp_path: Path) -> None:
    good = cs.parse(_doc())
    lines = [good.to_dict(), cs.parse(_doc(DOMAIN.replace("<devices>", "<devices>\n    <bogus/>"))).to_dict()]
    import json

    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    proc = run("format", "--secure", "--on-error", "skip", "--libvirt-schemas", "--", str(path))
    assert proc.returncode == 1
    assert b":2: error: element 'bogus' is not allowed in <devices>" in proc.stderr
    assert proc.stdout.count(b"<domaincheckpoint>") == 1


def test_cli_without_schemas_is_a_usage_error(tmp_path: Path) -> None:
    if _NO_LXML:
        pytest.skip(_NO_LXML)
    (tmp_path / "a.xml").write_text(_doc())
    proc = run("validate", f"--libvirt-schemas={tmp_path}", str(tmp_path / "a.xml"))
    assert proc.returncode == 2
    assert b"--libvirt-schemas" in proc.stderr and b"domain.rng" in proc.stderr
    assert proc.stdout == b""


def test_cli_without_lxml_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _without_lxml(monkeypatch)
    (tmp_path / "a.xml").write_text(_doc())
    status = main(["validate", "--libvirt-schemas", "--", str(tmp_path / "a.xml")])
    err = capsys.readouterr().err
    assert status == 2
    assert "pip install 'checkpoint-stream[libvirt]'" in err and "Traceback" not in err
    assert main(["validate", str(tmp_path / "a.xml")]) == 0


# -- against libvirt ---------------------------------------------------------------------------


# Domains libvirt's schemas accept or refuse deep inside: (name, domain). Each goes into a
# checkpoint that libvirt creates in its default mode (the schema judges the nested domain).
DIFFERENTIAL = [
    ("good", DOMAIN),
    ("bogus in devices", DOMAIN.replace("<devices>", "<devices>\n    <bogus/>")),
    ("bad csum", DOMAIN.replace("csum='on'", "csum='maybe'")),
    ("bad bus", DOMAIN.replace("bus='virtio'", "bus='nonsense'")),
    ("unknown attribute", DOMAIN.replace("device='disk'>", "device='disk' foo='1'>")),
    ("bad memory", DOMAIN.replace(">1048576<", ">abc<")),
    ("bad os type", DOMAIN.replace(">hvm<", ">hvmx<")),
    ("no target", DOMAIN.replace("      <target dev='vda' bus='virtio'/>\n", "")),
    ("two names", DOMAIN.replace("  <name>vm1</name>\n", "  <name>vm1</name>\n  <name>vm2</name>\n")),
    ("graphics", DOMAIN.replace("  </devices>", "    <graphics type='vnc' port='-1' autoport='yes'>\n      <listen type='address' address='0.0.0.0'/>\n    </graphics>\n  </devices>")),
    ("bad listen", DOMAIN.replace("  </devices>", "    <graphics type='vnc' port='-1' autoport='yes'>\n      <listen type='nowhere'/>\n    </graphics>\n  </devices>")),
    ("features", DOMAIN.replace("  <devices>", "  <features>\n    <acpi/>\n    <apic/>\n  </features>\n  <devices>")),
    ("bad feature", DOMAIN.replace("  <devices>", "  <features>\n    <acpi/>\n    <apic eoi='perhaps'/>\n  </features>\n  <devices>")),
    ("cpu", DOMAIN.replace("  <devices>", "  <cpu mode='host-passthrough' check='none'/>\n  <devices>")),
    ("bad cpu mode", DOMAIN.replace("  <devices>", "  <cpu mode='host-everything'/>\n  <devices>")),
    ("metadata, anything", DOMAIN.replace("  <devices>", "  <metadata>\n    <app:x xmlns:app='http://example.org/app'><app:y z='1'/></app:x>\n  </metadata>\n  <devices>")),
    ("metadata, undeclared prefix", DOMAIN.replace("  <devices>", "  <metadata>\n    <x:app/>\n  </metadata>\n  <devices>")),
    ("devices, undeclared prefix", DOMAIN.replace("<devices>", "<devices>\n    <x:disk/>")),
    ("qemu commandline", DOMAIN.replace("<domain type='kvm'>", f"<domain type='kvm' {QEMU_NS}>").replace("  </devices>\n", "  </devices>\n  <qemu:commandline>\n    <qemu:arg value='-S'/>\n  </qemu:commandline>\n")),
    ("qemu bad arg", DOMAIN.replace("<domain type='kvm'>", f"<domain type='kvm' {QEMU_NS}>").replace("  </devices>\n", "  </devices>\n  <qemu:commandline>\n    <qemu:arg valu='-S'/>\n  </qemu:commandline>\n")),
]


@needs_schemas
def test_verdicts_agree_with_libvirt(schemas: ls.LibvirtSchemas) -> None:
    reason = _libvirt_reason()
    if reason:
        pytest.skip(f"libvirt unavailable, differential test not run: {reason}")
    import libvirt_driver

    docs = [_doc(domain) for _, domain in DIFFERENTIAL]
    answers = libvirt_driver.run_batch([{"op": "checkpoint", "xml": d, "flags": 0} for d in docs])
    accepted = {name for (name, _), answer in zip(DIFFERENTIAL, answers) if answer["ok"]}
    # The set is meant to hold both verdicts, deep inside the domain.
    assert {"good", "graphics", "metadata, anything", "metadata, undeclared prefix", "qemu commandline"} <= accepted
    assert {"bogus in devices", "bad csum", "bad listen", "qemu bad arg", "devices, undeclared prefix"}.isdisjoint(accepted)
    for (name, _), doc, answer in zip(DIFFERENTIAL, docs, answers):
        if not answer["ok"]:
            assert "failed to validate against schema" in answer["error"], (name, answer)
        for mode in ({}, {"create": True, "clock": lambda: 7}):  # checkpointCreateXML(doc, 0) is libvirt's plain create
            try:
                cs.parse(doc, libvirt_schemas=schemas, **mode)
                ours = True
            except cs.SchemaError:
                ours = False
            assert ours == answer["ok"], (name, mode, answer)


@needs_schemas
def test_bare_flag_never_swallows_the_input(tmp_path: Path, schemas: ls.LibvirtSchemas) -> None:
    """``--libvirt-schemas PATH`` reads PATH with the schemas of the libvirt installed here (the
    directory is given attached, ``--libvirt-schemas=DIR``, as GNU tools take optional arguments),
    abbreviated too; ``--libvirt-schemas=DIR`` uses DIR."""
    path = tmp_path / "a.xml"
    path.write_text(_doc())
    for flag in ("--libvirt-schemas", "--libvirt", f"--libvirt-schemas={schemas.directory}"):
        proc = run("validate", flag, str(path))
        assert proc.returncode == 0, (flag, proc.stderr)
        assert b"1 valid" in proc.stdout + proc.stderr
        assert schemas.directory.encode() in proc.stdout + proc.stderr


def test_a_snapshots_domains_are_judged_by_the_schemas(schemas: ls.LibvirtSchemas) -> None:
    """A snapshot: its full domain and its inactive domain (libvirt's inactiveDomain.rng is the
    domain grammar renamed) are judged; an old-style <domain><uuid> is no domain to judge."""
    here = Path(__file__).resolve().parent / "cases" / "conformance" / "snapshot" / "out"
    doc = (here / "memory-snapshot-inactivedomain.xml").read_text("utf-8")
    record = cs.parse(doc, kinds="snapshot", libvirt_schemas=schemas)
    assert record.inactive_domain is not None
    bad = doc.replace("<inactiveDomain type='kvm'>", "<inactiveDomain type='kvm'>\n    <bogus/>", 1)
    with pytest.raises(cs.SchemaError) as info:
        cs.parse(bad, kinds="snapshot", libvirt_schemas=schemas)
    assert info.value.path == "/domainsnapshot/inactiveDomain/bogus"
    assert (info.value.line, info.value.column) == (_line_of(bad, "<bogus/>"), 5)
    old_style = (here / "noparent.xml").read_text("utf-8")
    assert cs.parse(old_style, kinds="snapshot", libvirt_schemas=schemas).domain is not None
