"""Disk alignment (spec A.5, A.6): every rule, its order and libvirt's message text.

The expected results mirror the oracle table of spec C.3 (domain with disks vda, vdb read-only,
hdc empty cdrom, sda) and C.4 (redefine without domain keeps disks verbatim)."""

from __future__ import annotations

import pytest

from checkpoint_stream import Checkpoint, CheckpointDisk, Domain, SemanticError, parse
from checkpoint_stream.align import align_disks, assign_default_bitmaps

DOMAIN = Domain(
    "<domain type='test'>\n  <name>oracle</name>\n  <devices>\n"
    "    <disk type='file' device='disk'>\n      <source file='/tmp/libvirt-oracle/vda.img'/>\n"
    "      <target dev='vda' bus='virtio'/>\n    </disk>\n"
    "    <disk type='file' device='disk'>\n      <source file='/tmp/libvirt-oracle/vdb.img'/>\n"
    "      <target dev='vdb' bus='virtio'/>\n      <readonly/>\n    </disk>\n"
    "    <disk type='file' device='cdrom'>\n      <target dev='hdc' bus='ide'/>\n      <readonly/>\n    </disk>\n"
    "    <disk type='file' device='disk'>\n      <source file='/tmp/libvirt-oracle/sda.img'/>\n"
    "      <target dev='sda' bus='scsi'/>\n    </disk>\n"
    "  </devices>\n</domain>"
)


def cp(*disks: CheckpointDisk, name: str = "c", domain: Domain | None = DOMAIN) -> Checkpoint:
    return Checkpoint(name=name, creation_time=5, domain=domain, disks=tuple(disks))


def summary(record: Checkpoint) -> list[tuple]:
    return [(d.name, d.checkpoint, d.bitmap) for d in record.disks]


def test_domain_facts_see_readonly_and_empty_disks() -> None:
    disks = DOMAIN.disks
    assert [(d.target, d.source is None, d.readonly, d.device) for d in disks] == [
        ("vda", False, False, "disk"),
        ("vdb", False, True, "disk"),
        ("hdc", True, True, "cdrom"),
        ("sda", False, False, "disk"),
    ]


def test_no_disks_requested_defaults_to_bitmap_on_usable_disks() -> None:
    assert summary(align_disks(cp())) == [("vda", "bitmap", "c"), ("vdb", "no", None), ("hdc", "no", None), ("sda", "bitmap", "c")]


def test_some_disks_requested_others_become_no() -> None:
    assert summary(align_disks(cp(CheckpointDisk("sda")))) == [
        ("vda", "no", None), ("vdb", "no", None), ("hdc", "no", None), ("sda", "bitmap", "c")
    ]


def test_output_in_domain_order_keeps_requested_type_and_bitmap() -> None:
    got = align_disks(cp(CheckpointDisk("sda", "no"), CheckpointDisk("vda", "bitmap", "custom")))
    assert summary(got) == [("vda", "bitmap", "custom"), ("vdb", "no", None), ("hdc", "no", None), ("sda", "no", None)]


def test_path_is_replaced_by_target() -> None:
    got = align_disks(cp(CheckpointDisk("/tmp/libvirt-oracle/sda.img", "bitmap", "bm")))
    assert summary(got)[3] == ("sda", "bitmap", "bm")


def test_explicit_empty_bitmap_is_kept() -> None:
    assert summary(align_disks(cp(CheckpointDisk("vda", "bitmap", ""))))[0] == ("vda", "bitmap", "")


def test_readonly_disk_may_be_listed_with_no() -> None:
    got = align_disks(cp(CheckpointDisk("vdb", "no")))
    assert [d.checkpoint for d in got.disks] == ["no", "no", "no", "no"]


def test_other_fields_are_kept() -> None:
    record = Checkpoint(name="c", description="d", parent="p", creation_time=9, domain=DOMAIN, disks=())
    got = align_disks(record)
    assert (got.name, got.description, got.parent, got.creation_time, got.domain) == ("c", "d", "p", 9, DOMAIN)


def _error(record: Checkpoint) -> SemanticError:
    with pytest.raises(SemanticError) as info:
        align_disks(record)
    return info.value


@pytest.mark.parametrize(
    "disks, message, index",
    [
        ([CheckpointDisk("vdz")], "no disk named 'vdz'", 1),
        ([CheckpointDisk("/nope.img")], "no disk named '/nope.img'", 1),
        ([CheckpointDisk("ioemu:vda")], "no disk named 'ioemu:vda'", 1),
        ([CheckpointDisk("C:\\x")], "no disk named 'C:\\x'", 1),
        ([CheckpointDisk("vda"), CheckpointDisk("vda")], "disk 'vda' specified twice", 2),
        (
            [CheckpointDisk("vda"), CheckpointDisk("/tmp/libvirt-oracle/vda.img")],
            "disk '/tmp/libvirt-oracle/vda.img' specified twice",
            2,
        ),
        ([CheckpointDisk("vdb")], "disk 'vdb' is empty or readonly", 1),
        ([CheckpointDisk("hdc", "bitmap")], "disk 'hdc' is empty or readonly", 1),
        ([CheckpointDisk(n) for n in ("vda", "vdb", "hdc", "sda", "sdb")], "too many disk checkpoint requests for domain", None),
        # order: the first failing entry wins, in document order
        ([CheckpointDisk("vdb"), CheckpointDisk("vdz")], "disk 'vdb' is empty or readonly", 1),
        ([CheckpointDisk("vdz"), CheckpointDisk("vdb")], "no disk named 'vdz'", 1),
    ],
)
def test_errors(disks, message, index) -> None:
    err = _error(cp(*disks))
    assert err.message == message
    assert err.libvirt_message == "unsupported configuration: " + message
    if index is not None:
        assert err.path == f"/domaincheckpoint/disks/disk[{index}]"


def test_domain_without_disks() -> None:
    empty = Domain("<domain type='test'><name>d</name><devices/></domain>")
    assert _error(cp(domain=empty)).message == "domain must have at least one disk to perform checkpoints"
    # "too many" is checked first
    assert _error(cp(CheckpointDisk("vda"), domain=empty)).message == "too many disk checkpoint requests for domain"


def test_cdrom_with_source_is_readonly_even_without_readonly_element() -> None:
    dom = Domain(
        "<domain type='test'><name>d</name><devices>"
        "<disk type='file' device='disk'><source file='/a.img'/><target dev='vda'/></disk>"
        "<disk type='file' device='cdrom'><source file='/x.iso'/><target dev='hdc'/></disk>"
        "</devices></domain>"
    )
    assert _error(cp(CheckpointDisk("hdc"), domain=dom)).message == "disk 'hdc' is empty or readonly"
    assert summary(align_disks(cp(domain=dom))) == [("vda", "bitmap", "c"), ("hdc", "no", None)]


def test_ambiguous_path_is_not_found() -> None:
    dom = Domain(
        "<domain type='test'><name>d</name><devices>"
        "<disk type='file' device='disk'><source file='/same.img'/><target dev='vda'/></disk>"
        "<disk type='file' device='disk'><source file='/same.img'/><target dev='vdb'/></disk>"
        "</devices></domain>"
    )
    assert _error(cp(CheckpointDisk("/same.img"), domain=dom)).message == "no disk named '/same.img'"
    assert summary(align_disks(cp(CheckpointDisk("vdb"), domain=dom))) == [("vda", "no", None), ("vdb", "bitmap", "c")]


def test_block_and_network_sources_count_as_paths() -> None:
    dom = Domain(
        "<domain type='test'><name>d</name><devices>"
        "<disk type='block' device='disk'><source dev='/dev/sdz'/><target dev='vda'/></disk>"
        "<disk type='network' device='disk'><source protocol='nbd' name='/export'><host name='h'/></source><target dev='vdb'/></disk>"
        "</devices></domain>"
    )
    assert summary(align_disks(cp(CheckpointDisk("/dev/sdz"), CheckpointDisk("/export"), domain=dom))) == [
        ("vda", "bitmap", "c"),
        ("vdb", "bitmap", "c"),
    ]


def test_without_domain_disks_are_kept_and_only_bitmaps_filled() -> None:
    record = cp(
        CheckpointDisk("/x/y"), CheckpointDisk("vdz", "no"), CheckpointDisk("vda", "bitmap", "keep"), CheckpointDisk("vda"),
        domain=None,
    )
    assert summary(align_disks(record)) == [("/x/y", "bitmap", "c"), ("vdz", "no", None), ("vda", "bitmap", "keep"), ("vda", "bitmap", "c")]
    assert align_disks(cp(domain=None)).disks == ()


def test_explicit_domain_argument_overrides() -> None:
    record = cp(domain=None)
    assert summary(align_disks(record, DOMAIN))[0] == ("vda", "bitmap", "c")


def test_assign_default_bitmaps_returns_same_object_when_nothing_to_do() -> None:
    record = cp(CheckpointDisk("vda", "bitmap", "x"), CheckpointDisk("vdb", "no"), domain=None)
    assert assign_default_bitmaps(record) is record


def test_libvirt_redefine_file_is_already_aligned() -> None:
    from pathlib import Path

    data = (Path(__file__).resolve().parent / "cases/libvirt/checkpoint/out/redefine.xml").read_bytes()
    record = parse(data, redefine=True)
    assert align_disks(record) == record
    # without <disks>, every writable disk gets a bitmap (hda is writable; the file lists it as 'no')
    stripped = Checkpoint(record.name, record.description, record.parent, record.creation_time, record.domain)
    assert summary(align_disks(stripped)) == [("hda", "bitmap", "c1"), ("hdc", "no", None), ("vda", "bitmap", "c1"), ("vdb", "bitmap", "c1")]


def _stream_items(data: bytes, chunk: int, **kwargs: object) -> list[object]:
    from checkpoint_stream import CheckpointParser

    parser = CheckpointParser(on_error="skip", **kwargs)  # type: ignore[arg-type]
    items: list[object] = []
    for i in range(0, len(data), chunk):
        items += parser.feed(data[i : i + chunk])
    items += parser.close()
    items += parser.errors
    return [
        (e.message, e.document, e.line, e.column, e.source_line, e.offset, e.path, e.checkpoint) if isinstance(e, Exception) else e
        for e in items
    ]


def test_alignment_errors_in_a_stream_keep_their_place_however_it_is_cut() -> None:
    """The framer judges a feed's documents once that feed's reading is done (framing._settle):
    several aligned documents and alignment errors in one feed, in any layout, give the same
    records and the same errors (document index, lines, offsets) as one byte at a time."""
    domain = (
        "  <domain type='kvm'>\n    <name>vm1</name>\n    <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>\n"
        "    <devices>\n      <disk type='file' device='disk'>\n        <source file='/a.img'/>\n"
        "        <target dev='vda' bus='virtio'/>\n      </disk>\n    </devices>\n  </domain>\n"
    )

    def doc(name: str, disk: str) -> str:
        return (
            f"<domaincheckpoint>\n  <name>{name}</name>\n  <disks>\n    <disk name='{disk}' checkpoint='bitmap'/>\n"
            f"  </disks>\n{domain}</domaincheckpoint>\n"
        )

    docs = [doc("c0", "vda"), doc("c1", "vdz"), doc("c2", "/a.img"), doc("c3", "vdy"), doc("c4", "vda")]
    for variant in (lambda d: d, lambda d: d.replace("'", '"'), lambda d: d.replace("\n", "\r\n")):
        data = "".join(variant(d) for d in docs).encode()
        whole = _stream_items(data, len(data), align=True)
        assert [type(i).__name__ for i in whole] == ["Checkpoint", "Checkpoint", "Checkpoint", "tuple", "tuple"]
        assert [(i[0], i[1]) for i in whole[3:]] == [("no disk named 'vdz'", 1), ("no disk named 'vdy'", 3)]
        assert [r.disks[0].name for r in whole[:3]] == ["vda", "vda", "vda"]  # '/a.img' aligned to its target
        for chunk in (1, 7, 300):
            assert _stream_items(data, chunk, align=True) == whole
