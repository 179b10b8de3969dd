"""Behaviours fixed after a review against libvirt 9.0 and the issue texts: each test pins one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import checkpoint_stream as cs
from checkpoint_stream.positions import locate
from checkpoint_stream.writer import dumps

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
CANONICAL = (ROOT / "examples" / "vm1" / "checkpoints" / "nightly-2026-11-24.xml").read_bytes()


# -- the XML declaration's version (libxml2 reads 1.x, refuses anything else) ------------------------


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.10"])
def test_xml_1_x_is_read(version: str) -> None:
    doc = f"<?xml version='{version}'?><domaincheckpoint><name>c</name></domaincheckpoint>"
    assert cs.parse(doc).name == "c"


@pytest.mark.parametrize("version", ["2.0", "1.x", "abc", "1.0a"])
def test_other_xml_versions_are_refused_where_written(version: str) -> None:
    doc = f"<?xml version='{version}'?><domaincheckpoint><name>c</name></domaincheckpoint>"
    with pytest.raises(cs.NotWellFormedError) as info:
        cs.parse(doc)
    assert "unsupported XML version" in info.value.message
    assert (info.value.line, info.value.column) == (1, doc.index(version) + 1)


def test_bad_version_in_a_stream_loses_no_neighbour() -> None:
    good = b"<domaincheckpoint><name>a</name></domaincheckpoint>\n"
    bad = b"<?xml version='2.0'?><domaincheckpoint><name>b</name></domaincheckpoint>\n"
    items = list(cs.iterparse(good + bad + good, on_error="skip", yield_errors=True))
    assert [type(i).__name__ for i in items] == ["Checkpoint", "NotWellFormedError", "Checkpoint"]


# -- paths: iterparse reads what the command line reads ---------------------------------------------


def test_iterparse_reads_an_archive_member_by_member() -> None:
    records = list(cs.iterparse(EXAMPLES / "vm1-checkpoints.tar.gz"))
    assert [r.name for r in records] == [f"nightly-2026-11-2{d}" for d in (3, 4, 5, 6)]
    assert all(r.origin.member and r.origin.member.endswith(".xml") for r in records)
    assert all(r.origin.path == str(EXAMPLES / "vm1-checkpoints.tar.gz") for r in records)


def test_iterparse_reads_a_directory_in_sorted_order() -> None:
    records = list(cs.iterparse(str(EXAMPLES / "vm1" / "checkpoints")))
    assert [r.name for r in records] == sorted(r.name for r in records) and len(records) == 4


def test_iterparse_on_a_missing_path_raises_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(cs.SourceError):
        list(cs.iterparse(tmp_path / "missing.xml"))
    items = list(cs.iterparse(tmp_path / "missing.xml", on_error="skip", yield_errors=True))
    assert len(items) == 1 and isinstance(items[0], cs.SourceError)


# -- the kept domain text ---------------------------------------------------------------------------


def test_crlf_document_gives_the_lf_record_and_output() -> None:
    crlf = CANONICAL.replace(b"\n", b"\r\n")
    record = cs.parse(crlf, redefine=True)
    assert record == cs.parse(CANONICAL, redefine=True)
    assert "\r" not in record.domain.xml
    assert dumps(record, secure=True).encode() == CANONICAL


def test_domain_sharing_its_first_line_is_reindented_like_libvirt() -> None:
    text = CANONICAL.decode()
    squeezed = text.replace("</disks>\n  <domain", "</disks><domain", 1)
    assert squeezed != text
    assert dumps(cs.parse(squeezed), secure=True) == text


# -- alignment errors on the command line keep the error format ----------------------------------


def test_align_error_has_the_positioned_format() -> None:
    doc = CANONICAL.replace(b"<disk name='vda'", b"<disk name='vdz'", 1)
    run = subprocess.run(
        [sys.executable, "-m", "checkpoint_stream", "normalize", "--redefine", "--align", "-"],
        input=doc,
        capture_output=True,
        cwd=ROOT,
        timeout=60,
    )
    assert run.returncode == 1
    # placed at the <disk> element it is about (the framer aligns while the bytes are at hand)
    at = doc.index(b"<disk name='vdz'")
    line, column = locate(doc, 0, at)
    assert run.stderr.decode().strip() == f"<stdin>:{line}:{column}: error: no disk named 'vdz' (document 0, offset {at})"
