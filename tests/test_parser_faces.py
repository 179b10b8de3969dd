"""The public faces: parse, iterparse (path, binary file, chunks), CheckpointParser (push),
multi-document streams, chunk-size independence, error positions, records as values."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import pytest

from checkpoint_stream import (
    Checkpoint,
    CheckpointDisk,
    CheckpointError,
    CheckpointParser,
    Domain,
    DomainDisk,
    NotWellFormedError,
    SchemaError,
    iterparse,
    parse,
)

CASES = Path(__file__).resolve().parent / "cases"
REDEFINE = (CASES / "conformance" / "checkpoint" / "out" / "redefine.xml").read_bytes()

STREAM = (
    b"<?xml version='1.0'?>\n"
    + REDEFINE
    + b"\n \t\r\n<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<domaincheckpoint><name>x</name></domaincheckpoint>"
    + b"<!-- between --><?pi between?>\n"
    + b"<domaincheckpoint>\n  <name>y</name>\n  <description>caf\xc3\xa9</description>\n"
    + b"  <disks><disk name='vda' checkpoint='bitmap'/></disks>\n</domaincheckpoint>\n"
)
NAMES = ["c1", "x", "y"]


def _names(records) -> list:
    return [r.name for r in records]


# -- parse ----------------------------------------------------------------------------------------


def test_parse_bytes_and_str_agree() -> None:
    from_bytes = parse(REDEFINE)
    from_str = parse(REDEFINE.decode("utf-8"))
    assert from_bytes == from_str
    assert from_bytes.name == "c1"


def test_parse_str_with_non_ascii() -> None:
    assert parse("<domaincheckpoint><description>café ☃</description></domaincheckpoint>").description == "café ☃"


def test_parse_refuses_zero_or_several_documents() -> None:
    with pytest.raises(NotWellFormedError, match="no document found"):
        parse(b"  <!-- nothing -->  ")
    with pytest.raises(NotWellFormedError, match="expected one document, found 2"):
        parse(b"<domaincheckpoint/><domaincheckpoint/>")


# -- iterparse ------------------------------------------------------------------------------------


def test_iterparse_path(tmp_path: Path) -> None:
    path = tmp_path / "stream.xml"
    path.write_bytes(STREAM)
    records = list(iterparse(path))
    assert _names(records) == NAMES
    assert all(r.origin.path == str(path) for r in records)
    assert [r.origin.index for r in records] == [0, 1, 2]
    assert list(iterparse(str(path))) == records


def test_iterparse_binary_file_and_small_chunks() -> None:
    records = list(iterparse(io.BytesIO(STREAM), chunk_size=7))
    assert _names(records) == NAMES


def test_iterparse_refuses_a_text_file() -> None:
    with pytest.raises(TypeError, match="binary file"):
        list(iterparse(io.StringIO(STREAM.decode("utf-8"))))


def test_iterparse_iterable_of_chunks() -> None:
    chunks = [STREAM[i : i + 100] for i in range(0, len(STREAM), 100)]
    assert _names(iterparse(iter(chunks))) == NAMES
    assert _names(iterparse(STREAM)) == NAMES


def test_iterparse_is_lazy() -> None:
    """A record is yielded as soon as its document ends, before the rest is read."""
    consumed = []

    def chunks():
        for piece in (b"<domaincheckpoint><name>a</name></domaincheckpoint>", b"<domaincheckpoint><name>b</name>", b"</domaincheckpoint>"):
            consumed.append(piece)
            yield piece

    it = iterparse(chunks())
    first = next(it)
    assert first.name == "a" and len(consumed) == 1
    assert next(it).name == "b"


# -- push parser ----------------------------------------------------------------------------------


def test_push_feed_close() -> None:
    parser = CheckpointParser()
    head, tail = STREAM[:50], STREAM[50:]
    assert parser.feed(head) == []
    records = parser.feed(tail)
    records += parser.close()
    assert _names(records) == NAMES
    assert parser.documents == 3
    assert parser.bytes_seen == len(STREAM)


def test_push_feed_refuses_str() -> None:
    with pytest.raises(TypeError, match="bytes"):
        CheckpointParser().feed("<domaincheckpoint/>")  # type: ignore[arg-type]


def test_feed_after_close_is_an_error() -> None:
    parser = CheckpointParser()
    parser.close()
    with pytest.raises(ValueError):
        parser.feed(b"<domaincheckpoint/>")


def test_several_documents_are_several_records() -> None:
    records = list(iterparse(STREAM))
    assert _names(records) == NAMES
    offsets = [r.origin.offset for r in records]
    assert STREAM[offsets[0] :].startswith(b"<?xml")
    assert STREAM[offsets[1] :].startswith(b"<?xml")
    assert STREAM[offsets[2] :].startswith(b"<domaincheckpoint>\n  <name>y")
    assert records[2].description == "café"


def test_every_chunk_size_gives_identical_records() -> None:
    reference = list(iterparse(STREAM))
    ref_origins = [r.origin for r in reference]
    for size in range(1, len(STREAM) + 1):
        parser = CheckpointParser()
        out = []
        for i in range(0, len(STREAM), size):
            out += parser.feed(STREAM[i : i + size])
        out += parser.close()
        assert out == reference, size
        assert [r.origin for r in out] == ref_origins, size


def test_every_chunk_size_gives_identical_errors() -> None:
    stream = b"<domaincheckpoint><name>a</name></domaincheckpoint>\n<domaincheckpoint>\n  <name>.b</name>\n</domaincheckpoint><domaincheckpoint><name>c</name></domaincheckpoint>"
    first = None
    for size in range(1, len(stream) + 1):
        parser = CheckpointParser(on_error="skip")
        out = []
        for i in range(0, len(stream), size):
            out += parser.feed(stream[i : i + size])
        out += parser.close()
        errors = [(type(e), e.message, e.document, e.line, e.column, e.offset, e.path) for e in parser.errors]
        got = (_names(out), errors)
        if first is None:
            first = got
            assert got[0] == ["a", "c"]
        assert got == first, size


# -- errors ---------------------------------------------------------------------------------------

BAD = (
    b"<domaincheckpoint><name>a</name></domaincheckpoint>\n"
    b"<domaincheckpoint><name>b</name></domaincheckpoint>\n"
    b"<domaincheckpoint>\n  <disks>\n    <disk name='vda' checkpoint='no' bitmap='x'/>\n  </disks>\n</domaincheckpoint>\n"
    b"<domaincheckpoint><name>d</name></domaincheckpoint>\n"
)


def test_error_carries_document_line_column_offset_path() -> None:
    with pytest.raises(SchemaError) as info:
        list(iterparse(BAD))
    err = info.value
    assert err.document == 2
    assert (err.line, err.column) == (3, 5)  # counted from the document's first byte
    assert err.offset == BAD.index(b"<disk ")  # byte offset in the whole stream
    assert err.path == "/domaincheckpoint/disks/disk"
    assert err.message == "disk 'vda': attribute 'bitmap' is not allowed with checkpoint='no'"
    assert "document 2, line 3, column 5" in str(err)


def test_error_source_is_the_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.xml"
    path.write_bytes(BAD)
    with pytest.raises(SchemaError) as info:
        list(iterparse(path))
    assert info.value.source == str(path)


def test_raise_mode_keeps_records_completed_in_the_same_feed() -> None:
    parser = CheckpointParser()
    with pytest.raises(SchemaError) as info:
        parser.feed(BAD)
    assert _names(info.value.records) == ["a", "b"]  # type: ignore[attr-defined]


def test_skip_mode_goes_on() -> None:
    seen: list[CheckpointError] = []
    records = list(iterparse(BAD, on_error="skip", on_error_callback=seen.append))
    assert _names(records) == ["a", "b", "d"]
    assert [e.document for e in seen] == [2]
    mixed = list(iterparse(BAD, on_error="skip", yield_errors=True))
    assert [type(x).__name__ for x in mixed] == ["Checkpoint", "Checkpoint", "SchemaError", "Checkpoint"]


def test_not_well_formed_error_position() -> None:
    stream = b"<domaincheckpoint/>\n<domaincheckpoint>\n <name>b</nam></domaincheckpoint>"
    with pytest.raises(NotWellFormedError) as info:
        list(iterparse(stream))
    err = info.value
    assert err.document == 1
    assert err.line == 2
    assert "mismatched tag" in err.message
    assert err.offset is not None and stream.rfind(b"</nam>") <= err.offset <= stream.rfind(b"</nam>") + 2


def test_errors_pickle_with_their_fields() -> None:
    with pytest.raises(SchemaError) as info:
        list(iterparse(BAD))
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is SchemaError
    assert (copy.message, copy.document, copy.line, copy.column, copy.offset, copy.path) == (
        info.value.message, 2, 3, 5, info.value.offset, info.value.path,
    )


# -- records --------------------------------------------------------------------------------------


def test_records_are_frozen_hashable_and_equal_by_value() -> None:
    a = parse(REDEFINE)
    b = next(iter(iterparse(b"\n\n" + REDEFINE)))
    assert a == b and hash(a) == hash(b)
    assert a.origin != b.origin  # where it came from takes no part in equality
    assert len({a, b}) == 1
    with pytest.raises(AttributeError):
        a.name = "other"  # type: ignore[misc]
    assert a != parse(REDEFINE.replace(b"<name>c1</name>", b"<name>c2</name>", 1))


def test_to_dict_from_dict_round_trip_with_xml_vocabulary() -> None:
    record = parse(REDEFINE)
    data = record.to_dict()
    assert list(data) == ["type", "name", "description", "parent", "creationTime", "disks", "domain", "vm", "vmName", "source"]
    assert data["creationTime"] == record.creation_time
    assert data["disks"][0] == {"name": "hda", "checkpoint": "no", "bitmap": None, "size": None}
    assert data["disks"][2] == {"name": "vda", "checkpoint": "bitmap", "bitmap": "c1", "size": None}
    assert Checkpoint.from_dict(data) == record
    internal = parse((CASES / "internal-active.xml").read_bytes(), internal=True)
    assert internal.to_dict()["active"] is True
    assert Checkpoint.from_dict(internal.to_dict()) == internal


def test_from_dict_checks_values() -> None:
    with pytest.raises(SchemaError, match="checkpoint name"):
        Checkpoint.from_dict({"name": ".x"})
    with pytest.raises(SchemaError, match="not allowed with checkpoint='no'"):
        Checkpoint.from_dict({"disks": [{"name": "vda", "checkpoint": "no", "bitmap": "b"}]})
    with pytest.raises(SchemaError, match="<os> needs a <type>"):
        Checkpoint.from_dict({"domain": "<domain type='kvm'><name>d</name><os/></domain>"})
    with pytest.raises(SchemaError, match="unknown checkpoint field"):
        Checkpoint.from_dict({"creation_time": 5})


def test_domain_facts() -> None:
    record = parse(REDEFINE)
    domain = record.domain
    assert domain is not None
    assert (domain.type, domain.name, domain.uuid) == ("qemu", "QEMUGuest1", "c7a5fdbd-edaf-9455-926a-d65c16db1809")
    assert domain.disks == (
        DomainDisk("hda", "/dev/HostVG/QEMUGuest1", False, "disk", "block"),
        DomainDisk("hdc", "/dev/HostVG/QEMUGuest2", True, "cdrom", "block"),
        DomainDisk("vda", "/tmp/data.img", False, "disk"),
        DomainDisk("vdb", "/tmp/logs.img", False, "disk"),
    )
    assert domain.xml.startswith("<domain type='qemu'>\n  <name>QEMUGuest1</name>\n")  # dedented
    assert domain.xml.endswith("\n</domain>")


def test_domain_facts_readonly_cdrom_without_source() -> None:
    xml = (
        "<domain type='kvm'><name>d</name><devices>"
        "<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>"
        "<disk type='block' device='disk'><source dev='/dev/sdb'/><target dev='vdb'/></disk>"
        "<disk type='file'><target dev='vdc'/></disk>"
        "</devices></domain>"
    )
    domain = parse(f"<domaincheckpoint>{xml}</domaincheckpoint>").domain
    assert domain is not None
    assert domain.disks == (
        DomainDisk("hdc", None, True, "cdrom"),
        DomainDisk("vdb", "/dev/sdb", False, "disk", "block"),
        DomainDisk("vdc", None, False, "disk"),
    )
    assert Domain(xml).disks == domain.disks
    assert [d.empty for d in domain.disks] == [True, False, True]


def test_domain_disk_emptiness_follows_libvirt() -> None:
    """virStorageSourceIsEmpty: a local disk without a path, a network disk without a protocol;
    a volume is never empty, nor a network disk with a protocol but no name."""
    xml = (
        "<domain type='kvm'><name>d</name><devices>"
        "<disk type='network'><source protocol='nbd'><host name='h'/></source><target dev='vda'/></disk>"
        "<disk type='network'><source protocol='rbd' name='pool/img'/><target dev='vdb'/></disk>"
        "<disk type='volume'><source pool='p' volume='v'/><target dev='vdc'/></disk>"
        "<disk type='dir'><target dev='vdd'/></disk>"
        "</devices></domain>"
    )
    disks = Domain(xml).disks
    assert [(d.target, d.storage, d.protocol, d.empty) for d in disks] == [
        ("vda", "network", "nbd", False),
        ("vdb", "network", "rbd", False),
        ("vdc", "volume", None, False),
        ("vdd", "dir", None, True),
    ]


def test_disk_records() -> None:
    disk = CheckpointDisk("vda")
    assert (disk.checkpoint, disk.bitmap, disk.size) == ("bitmap", None, None)
    assert CheckpointDisk.from_dict(disk.to_dict()) == disk


def test_domain_text_made_on_first_read_is_a_plain_value() -> None:
    """The fast scanner hands over domains whose text is made when first read: such a domain is
    equal to, hashes like, prints like, pickles like and reads the same facts as one built from
    the text itself."""
    import copy
    import pickle

    from checkpoint_stream import Domain

    span = b"<domain type='kvm'>\n    <name>vm\xc3\xa9</name>\n    <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>\n  </domain>"
    text = "<domain type='kvm'>\n  <name>vm\u00e9</name>\n  <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>\n</domain>"
    for read_first in (False, True):
        lazy = Domain._from_span(span, 2)
        if read_first:
            assert lazy.xml == text
        plain = Domain(text)
        assert lazy == plain and plain == lazy and hash(lazy) == hash(plain)
        assert repr(lazy) == repr(plain)
        assert pickle.loads(pickle.dumps(lazy)) == plain
        assert copy.copy(lazy) == plain
        assert lazy.name == "vm\u00e9" and lazy.type == "kvm" and lazy.xml == text
    with pytest.raises(AttributeError):
        Domain._from_span(span, 2).nonexistent  # noqa: B018
