"""The command line with snapshots: --kind on every command, parse -> format round trip, a mixed
archive, limits and errors placed as for checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

from cli_util import run

HERE = Path(__file__).resolve().parent
OUT = HERE / "cases" / "conformance" / "snapshot" / "out"
CHECKPOINT = b"<domaincheckpoint>\n  <name>c1</name>\n  <creationTime>5</creationTime>\n</domaincheckpoint>\n"
SNAPSHOT = b"<domainsnapshot>\n  <name>s1</name>\n  <state>running</state>\n  <creationTime>5</creationTime>\n</domainsnapshot>\n"


def test_parse_reads_both_kinds_by_default_and_only_one_when_asked() -> None:
    proc = run("parse", input=CHECKPOINT + SNAPSHOT)
    lines = [json.loads(x) for x in proc.stdout.decode().splitlines()]
    assert proc.returncode == 0 and [x["type"] for x in lines] == ["checkpoint", "snapshot"]
    assert lines[1]["state"] == "running" and lines[1]["memory"] is None
    proc = run("parse", "--kind", "checkpoint", input=CHECKPOINT + SNAPSHOT)
    assert proc.returncode == 1 and len(proc.stdout.splitlines()) == 1
    assert b"<stdin>:5:1: error: expecting root element of 'domaincheckpoint', not 'domainsnapshot'" in proc.stderr
    proc = run("validate", "--kind", "snapshot", input=CHECKPOINT + SNAPSHOT)
    assert proc.returncode == 1 and proc.stdout.strip() == b"2 documents, 1 valid, 1 invalid"


def test_parse_then_format_gives_libvirts_output_back() -> None:
    for path in sorted(OUT.glob("*.xml")):
        data = path.read_bytes()
        internal = b"<active>" in data
        flags = ["--internal"] if internal else []
        parsed = run("parse", "--secure", *flags, str(path))
        assert parsed.returncode == 0, parsed.stderr
        formatted = run("format", "--secure", *flags, input=parsed.stdout)
        assert formatted.returncode == 0, formatted.stderr
        assert formatted.stdout == data, path.name


def test_normalize_lays_a_snapshot_out_as_libvirt() -> None:
    one_line = b"<domainsnapshot><creationTime>5</creationTime><name>s</name><memory snapshot='no'/><disks><disk name='vda'><source file='/a'/><driver type='qcow2'/></disk></disks></domainsnapshot>"
    proc = run("normalize", input=one_line)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (
        b"<domainsnapshot>\n  <name>s</name>\n  <creationTime>5</creationTime>\n  <memory snapshot='no'/>\n  <disks>\n"
        b"    <disk name='vda' snapshot='external' type='file'>\n      <driver type='qcow2'/>\n      <source file='/a'/>\n"
        b"    </disk>\n  </disks>\n</domainsnapshot>\n"
    )
    refused = run("normalize", "--no-domain", input=one_line)
    assert refused.returncode == 1 and b"no NO_DOMAIN or SIZE format flag for snapshots" in refused.stderr


def test_a_snapshot_error_is_placed_and_the_others_kept() -> None:
    bad = b"<domainsnapshot>\n  <name>x</name>\n  <memory snapshot='internal' file='/m'/>\n</domainsnapshot>\n"
    proc = run("parse", "--on-error", "skip", "--fields", "type,name", input=SNAPSHOT + bad + CHECKPOINT)
    assert proc.returncode == 1
    assert [json.loads(x)["name"] for x in proc.stdout.decode().splitlines()] == ["s1", "c1"]
    assert b"<stdin>:8:3: error: <memory>: attribute 'file' is not allowed with snapshot='internal' (document 1, offset 147)" in proc.stderr
    limited = run("validate", "--max-disks", "1", input=b"<domainsnapshot><disks><disk name='vda'/><disk name='vdb'/></disks></domainsnapshot>")
    assert limited.returncode == 1 and b"<stdin>:1:42: error: more than 1 disks in one snapshot (limit max_disks" in limited.stderr


def test_format_takes_the_kind_of_each_line() -> None:
    lines = run("parse", input=CHECKPOINT + SNAPSHOT).stdout
    both = run("format", input=lines)
    assert both.returncode == 0 and both.stdout == CHECKPOINT + SNAPSHOT
    only = run("format", "--kind", "checkpoint", input=lines)
    assert only.returncode == 1 and only.stdout == CHECKPOINT and b"a snapshot line where --kind checkpoint is asked for" in only.stderr


def test_disk_only_flag() -> None:
    """libvirt's DISK_ONLY: a REDEFINE needs the disk-snapshot state
    (virDomainSnapshotRedefineValidate's text), a plain create reads the snapshot as offline."""
    import checkpoint_stream as cs

    running = (OUT / "full_domain.xml").read_bytes()
    refused = run("validate", "--redefine", "--disk-only", str(OUT / "full_domain.xml"))
    assert refused.returncode == 1 and b"disk-only flag for snapshot my snap name requires disk-snapshot state" in refused.stderr
    assert run("validate", "--redefine", "--disk-only", "--internal", str(OUT / "disk_snapshot_redefine.xml")).returncode == 0
    assert cs.parse(running, kinds="snapshot", redefine=True).state == "running"  # without the flag: fine
    memory = b"<domainsnapshot><name>s</name><memory snapshot='internal'/></domainsnapshot>"
    try:
        cs.parse(memory, kinds="snapshot", create=True, disk_only=True)
    except cs.SemanticError as err:
        assert err.message == "memory state cannot be saved with offline or disk-only snapshot"
    else:
        raise AssertionError("memory saved by a disk-only snapshot")
    assert cs.parse(memory, kinds="snapshot", create=True).memory == "internal"
