"""A domain the fast reader declines (a comment inside, a reference where the verdict reads, deep
nesting, ...) is read by the general reader; the verdict it reaches is kept in the fast reader's
memory (FastReader.remember_read), so that the next checkpoint carrying the same bytes (a VM's
chain) is taken by the fast reader. These tests hold that shortcut to the general reader's results
wherever the verdict could depend on more than the bytes: the limits, the mode, the root's
declarations, the column the domain starts at, the element (a snapshot's domain and inactive
domain are kept alike)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import checkpoint_stream as cs
from checkpoint_stream.grammar import ANY_GRAMMAR, GRAMMAR, SNAPSHOT_GRAMMAR, Grammar
from checkpoint_stream.readers import Reader
from checkpoint_stream.limits import Limits

DOMAIN = """<domain type='kvm'>
    <name>{name}</name>
    <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>
    <!-- {comment} -->
    <memory unit='KiB'>1048576</memory>
    <os>
      <type arch='x86_64'>hvm</type>
    </os>
    <devices>
      <disk type='file' device='disk'>
        <source file='/var/lib/libvirt/images/vm1.img'/>
        <target dev='vda' bus='virtio'/>
      </disk>
    </devices>{extra}
  </domain>"""


def _doc(name: str = "c1", domain_name: str = "vm1", comment: str = "kept by the general reader", extra: str = "", root: str = "<domaincheckpoint>", pad: str = "  ") -> bytes:
    domain = DOMAIN.format(name=domain_name, comment=comment, extra=extra)
    return f"{root}\n  <name>{name}</name>\n  <creationTime>1553647812</creationTime>\n{pad}{domain}\n</domaincheckpoint>\n".encode()


def _items(data: bytes, reader: Reader, **kwargs: Any) -> list[Any]:
    out: list[Any] = []
    for item in cs.iterparse(data, reader=reader, on_error="skip", yield_errors=True, **kwargs):
        if isinstance(item, Exception):
            out.append((type(item).__name__, item.message, item.document, item.line, item.column, item.path))
        else:
            out.append((item, item.domain.xml if item.domain is not None else None))
    return out


class Counted(Reader):
    """A reader that counts the documents its general reader is asked to read."""

    def __init__(self, grammar: Grammar = GRAMMAR) -> None:
        super().__init__(grammar)
        self.general_reads = 0

    def general(self, *args: Any) -> Any:
        self.general_reads += 1
        return super().general(*args)


def _general_keys(reader: Reader) -> list[tuple[Any, ...]]:
    return [key for key in reader.memory.domains if isinstance(key[3], Limits)]


@pytest.mark.parametrize(
    "declined",
    [{}, {"domain_name": "a&amp;b"}, {"extra": "\n    <metadata><a>" + "<b>" * 14 + "</b>" * 14 + "</a></metadata>"}],
    ids=["a comment", "a reference in the name", "deep metadata"],
)
def test_a_domain_judged_by_the_general_reader_is_taken_next_time(declined: dict[str, str]) -> None:
    """The second checkpoint with the same domain bytes is the fast reader's, with the record the
    general reader gives (its Domain.xml included)."""
    reader = Counted()
    stream = _doc("c1", **declined) + _doc("c2", **declined) + _doc("c3", **declined)
    got = _items(stream, reader)
    assert got == _items(stream, Reader(fast=False))
    assert [r[0].name for r in got] == ["c1", "c2", "c3"]
    assert reader.general_reads == 1
    assert len(_general_keys(reader)) == 1


def test_stricter_limits_are_not_answered_by_a_verdict_under_looser_ones() -> None:
    """A deep domain accepted under the default limits, then met under a max_depth it breaks (one
    the fast reader still runs under), or a max_text one of its texts breaks: the limit error, as
    the general reader gives it."""
    deep = "\n    <metadata><a>" + "<b>" * 16 + "x" * 300 + "</b>" * 16 + "</a></metadata>"
    reader = Reader()
    first = _items(_doc("c1", extra=deep), reader)
    assert isinstance(first[0][0], cs.Checkpoint)
    for limits in ({"max_depth": 16}, {"max_text": 200}):
        later = _doc("c2", extra=deep)
        got = _items(later, reader, **limits)
        assert got == _items(later, Reader(fast=False), **limits), limits
        assert got[0][0] == "LimitError", got


def test_redefine_is_not_answered_by_a_verdict_of_the_default_mode() -> None:
    """A domain the default mode accepts and REDEFINE refuses (libvirt's domain parser: a genid of
    whitespace), read first in the default mode."""
    genid = "\n    <genid> </genid>"
    reader = Reader()
    assert isinstance(_items(_doc("c1", extra=genid), reader)[0][0], cs.Checkpoint)
    later = _doc("c2", extra=genid)
    got = _items(later, reader, redefine=True)
    assert got == _items(later, Reader(fast=False), redefine=True)
    assert got[0][0] == "SemanticError", got


def test_a_root_with_declarations_keeps_nothing() -> None:
    """The root's namespace declarations change what a domain's prefixes mean: such a document's
    domain is not kept, and reads as the general reader reads it."""
    root = "<domaincheckpoint xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"
    extra = "\n    <qemu:commandline/>"
    reader = Reader()
    stream = _doc("c1", extra=extra, root=root) + _doc("c2", extra=extra, root=root)
    assert _items(stream, reader) == _items(stream, Reader(fast=False))
    assert _general_keys(reader) == []


def test_the_column_is_part_of_the_key() -> None:
    """The same bytes starting at another column: another indentation to take off, another
    Domain.xml."""
    reader = Reader()

    def doc(name: str, pad: str = "  ") -> bytes:  # no end tag starts the last line: the column says the indentation
        return _doc(name, pad=pad).replace(b"\n    </devices>\n  </domain>", b"\n    <console type='pty'/></devices></domain>")

    stream = doc("c1") + doc("c2", pad="      ") + doc("c3")
    got = _items(stream, reader)
    assert got == _items(stream, Reader(fast=False))
    assert got[0][1] != got[1][1]
    assert len(_general_keys(reader)) == 2


def test_errors_at_the_checkpoint_level_still_come_first() -> None:
    """A kept domain in a document whose checkpoint level is wrong: the error, as the general
    reader words and places it; documents around it are read."""
    reader = Reader()
    bad = _doc("c2").replace(b"<creationTime>1553647812</creationTime>", b"<creationTime>x</creationTime>")
    stream = _doc("c1") + bad + _doc("c3")
    got = _items(stream, reader)
    assert got == _items(stream, Reader(fast=False))
    assert [type(r[0]).__name__ if not isinstance(r[0], str) else r[0] for r in got] == ["Checkpoint", "SchemaError", "Checkpoint"]


def test_forget_drops_what_the_general_reader_left() -> None:
    reader = Reader()
    _items(_doc("c1"), reader)
    assert _general_keys(reader)
    reader.forget()
    assert _general_keys(reader) == []


def _snapshot(name: str, domain_name: str = "vm1", inactive: bool = False, root: str = "<domainsnapshot>", extra: str = "") -> bytes:
    domain = DOMAIN.format(name=domain_name, comment="kept by the general reader", extra=extra)
    second = "\n  " + domain.replace("<domain ", "<inactiveDomain ", 1).replace("</domain>", "</inactiveDomain>") if inactive else ""
    return (
        f"{root}\n  <name>{name}</name>\n  <state>shutoff</state>\n  <creationTime>1553647812</creationTime>\n"
        f"  {domain}{second}\n</domainsnapshot>\n"
    ).encode()


_ROOT_IN_METADATA = "\n    <metadata><app:x xmlns:app='http://example.com/app'><domainsnapshot/></app:x></metadata>"


@pytest.mark.parametrize("grammar", [SNAPSHOT_GRAMMAR, ANY_GRAMMAR], ids=["snapshots", "any kind"])
@pytest.mark.parametrize("inactive", [False, True], ids=["domain", "and inactive domain"])
@pytest.mark.parametrize(
    "declined",
    [{}, {"domain_name": "a&amp;b"}, {"extra": _ROOT_IN_METADATA}],
    ids=["a comment", "a reference in the name", "a root start tag where any content may stand"],
)
def test_a_snapshot_domain_judged_by_the_general_reader_is_taken_next_time(grammar: Grammar, inactive: bool, declined: dict[str, str]) -> None:
    """A snapshot's domain (and inactive domain) the fast reader declines: the general reader reads
    the first snapshot, the fast reader the next ones, with the general reader's records."""
    reader = Counted(grammar)
    stream = b"".join(_snapshot(f"s{i}", inactive=inactive, **declined) for i in range(3))
    got = _items(stream, reader)
    assert got == _items(stream, Reader(grammar, fast=False))
    assert [r[0].name for r in got] == ["s0", "s1", "s2"]
    assert reader.general_reads == 1
    keys = _general_keys(reader)
    assert sorted(key[-1] for key in keys) == ["/domainsnapshot/domain"] + ["/domainsnapshot/inactiveDomain"] * inactive


def test_a_checkpoint_domain_is_not_taken_for_a_snapshot_domain() -> None:
    """The same bytes at the same place under another root: the verdict of another element's rule
    is not looked up (the key holds the element's path)."""
    reader = Counted(ANY_GRAMMAR)
    stream = _doc("c1") + _snapshot("s1") + _doc("c2") + _snapshot("s2")  # the domain at the same column
    got = _items(stream, reader)
    assert got == _items(stream, Reader(ANY_GRAMMAR, fast=False))
    assert reader.general_reads == 2
    assert sorted(key[-1] for key in _general_keys(reader)) == ["/domaincheckpoint/domain", "/domainsnapshot/domain"]


def test_snapshot_limits_and_declarations() -> None:
    """A snapshot's kept domain under a stricter max_depth: the limit error; under a root with
    declarations: nothing kept, as the general reader reads it."""
    deep = "\n    <metadata><a>" + "<b>" * 16 + "</b>" * 16 + "</a></metadata>"
    reader = Reader(SNAPSHOT_GRAMMAR)
    assert isinstance(_items(_snapshot("s1", extra=deep), reader)[0][0], cs.Snapshot)
    later = _snapshot("s2", extra=deep)
    got = _items(later, reader, max_depth=16)
    assert got == _items(later, Reader(SNAPSHOT_GRAMMAR, fast=False), max_depth=16)
    assert got[0][0] == "LimitError", got

    reader = Reader(SNAPSHOT_GRAMMAR)
    root = "<domainsnapshot xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"
    stream = _snapshot("s1", root=root) + _snapshot("s2", root=root)
    assert _items(stream, reader) == _items(stream, Reader(SNAPSHOT_GRAMMAR, fast=False))
    assert _general_keys(reader) == []


# -- a property: any sequence of calls on one reader reads as the general reader alone -------------

_DECLINED = [
    {"comment": "kept by the general reader"},
    {"comment": "other", "domain_name": "a&amp;b"},
    {"comment": "deep", "extra": "\n    <metadata><a>" + "<b>" * 15 + "</b>" * 15 + "</a></metadata>"},
    {"comment": "genid", "extra": "\n    <genid> </genid>"},
]
_ROOTS = {
    "bare": ("<domaincheckpoint>", "<domainsnapshot>"),
    "declared": ("<domaincheckpoint xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>", "<domainsnapshot xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"),
    "default namespace": ("<domaincheckpoint xmlns='http://example.com/x'>", "<domainsnapshot xmlns='http://example.com/x'>"),
    "xml declaration": ("<?xml version='1.0'?>\n<domaincheckpoint>", "<?xml version='1.0'?>\n<domainsnapshot>"),
}


def _pool_doc(draw: st.DrawFn, i: int) -> bytes:
    declined = _DECLINED[draw(st.integers(0, len(_DECLINED) - 1))]
    checkpoint_root, snapshot_root = _ROOTS[draw(st.sampled_from(sorted(_ROOTS)))]
    kind = draw(st.sampled_from(["checkpoint", "snapshot", "snapshot with inactive domain"]))
    if kind == "checkpoint":
        doc = _doc(f"c{i}", root=checkpoint_root, pad=draw(st.sampled_from(["  ", "    "])), **declined)
    else:
        doc = _snapshot(f"s{i}", root=snapshot_root, inactive="inactive" in kind, domain_name=declined.get("domain_name", "vm1"), extra=declined.get("extra", ""))
    return doc.replace(b"\n", b"\r\n") if draw(st.booleans()) else doc


@st.composite
def _calls(draw: st.DrawFn) -> list[tuple[bytes, dict[str, Any]]]:
    """A few documents, then calls that read them again and again, each in a mode and under limits
    of its own: the same domain bytes recur, as along a VM's chain."""
    pool = [_pool_doc(draw, i) for i in range(draw(st.integers(1, 3)))]
    calls = []
    for _ in range(draw(st.integers(2, 8))):
        kwargs: dict[str, Any] = {"redefine": True} if draw(st.booleans()) else {}
        limit = draw(st.sampled_from([None, ("max_depth", 16), ("max_depth", 20), ("max_text", 400)]))
        if limit is not None:
            kwargs[limit[0]] = limit[1]
        calls.append((pool[draw(st.integers(0, len(pool) - 1))], kwargs))
    return calls


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "200")), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_calls())
def test_any_sequence_of_calls_reads_as_the_general_reader_alone(calls: list[tuple[bytes, dict[str, Any]]]) -> None:
    """Declined domains (a comment, a reference, deep metadata, a REDEFINE-only refusal) in
    checkpoints and snapshots, under bare roots, roots with declarations (a prefix, a default
    namespace) or an XML declaration, LF or CRLF, two indentations, in
    either mode and under several limits, read one call after another by one reader that keeps
    the general reader's verdicts: every call gives what the general reader alone gives."""
    reader = Reader(ANY_GRAMMAR)
    general = Reader(ANY_GRAMMAR, fast=False)
    for doc, kwargs in calls:
        assert _items(doc, reader, **kwargs) == _items(doc, general, **kwargs), kwargs
