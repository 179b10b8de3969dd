"""Snapshots round-trip: ``parse(dumps(s)) == s`` for generated records, through every input kind
and any chunking, mixed with checkpoints in one stream, in skip mode beside broken documents.

The records are generated in the form the parser gives (a disk in mode no/internal/manual carries
nothing else; a disk without a mode has no source or format, which would make it external; the
type is printed only beside a path or a format). Text values take the characters that survive
XML (no control characters; no TAB, LF or CR in attribute values, which libvirt writes raw and XML
reads back as spaces: a documented limit of libvirt's format).
"""

from __future__ import annotations

import asyncio
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import checkpoint_stream as cs
from checkpoint_stream import CheckpointParser, Domain, Snapshot, SnapshotDisk, aiterparse, iterparse, parse
from checkpoint_stream.writer import dumps

_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff") | st.sampled_from("&<>'\" \n\t"), max_size=12)
_ATTR = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff") | st.sampled_from("&<>'\" "), min_size=1, max_size=10)
_TARGET = st.from_regex(r"(?:vd|sd|hd|xvd)[a-z]{1,2}", fullmatch=True)
_PATH = _ATTR.map(lambda s: "/" + s)

_DOMAIN = """<domain type='kvm'>
  <name>{name}</name>
  <uuid>c7a5fdbd-edaf-9455-926a-d65c16db18{n:02d}</uuid>
  <memory unit='KiB'>1048576</memory>
  <os>
    <type arch='x86_64'>hvm</type>
  </os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/var/lib/libvirt/images/{name}.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>"""


def _domain(tag: str) -> st.SearchStrategy[Domain]:
    def make(n: int) -> Domain:
        xml = _DOMAIN.format(name=f"vm{n}", n=n)
        if tag != "domain":
            xml = f"<{tag}" + xml[len("<domain") : -len("</domain>")] + f"</{tag}>"
        return Domain(xml)

    return st.integers(0, 99).map(make)


_OLD_STYLE = st.just(Domain("<domain>\n  <uuid>9d37b878-a7cc-9f9a-b78f-49b3abad25a8</uuid>\n</domain>"))


@st.composite
def _disk(draw: st.DrawFn) -> SnapshotDisk:
    name = draw(st.one_of(_TARGET, _PATH))
    deleting = draw(st.booleans())
    mode = draw(st.sampled_from([None, "no", "internal", "manual", "external"]))
    if mode != "external":
        return SnapshotDisk(name, mode, delete_in_progress=deleting)
    kind = draw(st.sampled_from(["file", "block", "network"]))
    if kind == "network":
        source = draw(st.one_of(st.none(), st.just("<source protocol='nbd' name='export'>\n  <host name='nbd.example' port='10809'/>\n</source>")))
        driver = None
    else:
        attr = "file" if kind == "file" else "dev"
        source = draw(st.one_of(st.none(), _PATH.map(lambda p: f"<source {attr}='{cs.writer.escape(p)}'/>")))
        driver = draw(st.sampled_from([None, "qcow2", "qed", "vmdk"]))
    full = source is not None or driver is not None
    size = draw(st.one_of(st.none(), st.integers(1, 1 << 40))) if full and kind != "network" else None
    return SnapshotDisk(name, mode, kind if full else "file", source, driver, size, deleting)


@st.composite
def snapshots(draw: st.DrawFn, internal: bool = False) -> Snapshot:
    memory = draw(st.sampled_from([None, "no", "internal", "external"]))
    return Snapshot(
        name=draw(st.one_of(st.none(), _TEXT.filter(bool))),
        description=draw(st.one_of(st.none(), _TEXT.filter(bool))),
        parent=draw(st.one_of(st.none(), _TEXT.filter(bool))),
        creation_time=draw(st.one_of(st.none(), st.integers(-(1 << 63), (1 << 63) - 1).filter(bool))),
        domain=draw(st.one_of(st.none(), _domain("domain"), _OLD_STYLE)),
        state=draw(st.one_of(st.none(), st.sampled_from(["running", "paused", "shutoff", "disk-snapshot", "crashed"]))),
        memory=memory,
        memory_file=draw(_PATH) if memory == "external" else None,
        disks=tuple(draw(st.lists(_disk(), max_size=4))),
        inactive_domain=draw(st.one_of(st.none(), _domain("inactiveDomain"))),
        cookie=draw(st.sampled_from([None, "<cookie>\n  <cpu mode='host-model'/>\n  <slirpHelper/>\n</cookie>"])),
        active=draw(st.booleans()) if internal else None,
    )


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(snapshots(), st.booleans())
def test_parse_of_dumps_is_the_record(record: Snapshot, internal: bool) -> None:
    if internal:
        record = record.__class__(**{**_fields(record), "active": True})
    text = dumps(record, secure=True, internal=internal)
    back = parse(text, kinds="snapshot", internal=internal)
    assert back == record
    assert dumps(back, secure=True, internal=internal) == text  # and the bytes are a fixed point
    assert Snapshot.from_dict(record.to_dict(secure=True)) == record  # the JSON line too


def _fields(record: Snapshot) -> dict:
    return {f: getattr(record, f) for f in record.__dataclass_fields__ if f != "origin"}


_CHECKPOINT = "<domaincheckpoint>\n  <name>c{n}</name>\n  <creationTime>{n}</creationTime>\n</domaincheckpoint>\n"


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(snapshots(), min_size=1, max_size=5), st.integers(1, 200), st.data())
def test_a_mixed_stream_in_any_chunks_on_every_face(records: list[Snapshot], chunk: int, data: st.DataObject) -> None:
    parts, expected = [], []
    for n, record in enumerate(records):
        parts.append(dumps(record, secure=True))
        expected.append(record)
        if data.draw(st.booleans()):
            parts.append(_CHECKPOINT.format(n=n + 1))
            expected.append(parse(_CHECKPOINT.format(n=n + 1)))
        if data.draw(st.booleans()):  # a broken document: skipped, reported, the others kept
            parts.append("<domainsnapshot><name>bad</name><bogus/></domainsnapshot>\n")
            expected.append(None)
    stream = "".join(parts).encode("utf-8")
    good = [r for r in expected if r is not None]
    bad = expected.count(None)

    parser = CheckpointParser(kinds="any", on_error="skip")
    pushed = []
    for i in range(0, len(stream), chunk):
        pushed += parser.feed(stream[i : i + chunk])
    pushed += parser.close()
    assert pushed == good and len(parser.errors) == bad
    assert [e.document for e in parser.errors] == [i for i, r in enumerate(expected) if r is None]

    pulled = [r for r in iterparse(io.BytesIO(stream), kinds="any", on_error="skip", chunk_size=chunk)]
    assert pulled == good

    async def collect() -> list:
        return [r async for r in aiterparse(io.BytesIO(stream), kinds="any", on_error="skip")]

    assert asyncio.run(collect()) == good
    only = list(iterparse(io.BytesIO(stream), kinds="snapshot", on_error="skip"))
    assert only == [r for r in good if isinstance(r, Snapshot)]


def test_kinds_and_reader_are_one_choice() -> None:
    import pytest

    with pytest.raises(ValueError, match="not both"):
        parse("<domainsnapshot/>", kinds="snapshot", reader=cs.readers.DEFAULT_READER)
