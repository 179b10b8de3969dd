"""checkpoint_stream.sources: files, directories, compressed files, archives, stdin, FIFOs."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import sys
import tarfile
import threading
import zipfile

import pytest

from checkpoint_stream import Checkpoint, CheckpointError
from checkpoint_stream.api import iter_sources
from checkpoint_stream.sources import STDIN_NAME, SourceError, open_streams


def doc(name: str, broken: bool = False) -> bytes:
    if broken:
        return b"<domaincheckpoint><name>%s</nam></domaincheckpoint>\n" % name.encode()
    return b"<domaincheckpoint>\n  <name>%s</name>\n</domaincheckpoint>\n" % name.encode()


def names(items) -> list:
    return [i.name if isinstance(i, Checkpoint) else ("error", getattr(i, "document", None)) for i in items]


def origins(items) -> list:
    return [(i.origin.path, i.origin.member, i.origin.index) for i in items if isinstance(i, Checkpoint)]


def test_file_with_several_documents(tmp_path):
    p = tmp_path / "a.xml"
    p.write_bytes(doc("a") + doc("b"))
    items = list(iter_sources(str(p)))
    assert names(items) == ["a", "b"]
    assert origins(items) == [(str(p), None, 0), (str(p), None, 1)]


def test_directory_recursive_sorted_xml_only(tmp_path):
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "b.xml").write_bytes(doc("b"))
    (tmp_path / "a.xml").write_bytes(doc("a"))
    (tmp_path / "sub" / "c.xml").write_bytes(doc("c"))
    (tmp_path / "sub" / "deeper" / "d.XML").write_bytes(doc("d"))
    (tmp_path / "notes.txt").write_bytes(b"not xml at all")
    (tmp_path / "sub" / "e.json").write_bytes(b"{}")
    items = list(iter_sources([tmp_path]))
    assert names(items) == ["a", "b", "c", "d"]
    assert [os.path.relpath(o[0], tmp_path) for o in origins(items)] == [
        "a.xml",
        "b.xml",
        os.path.join("sub", "c.xml"),
        os.path.join("sub", "deeper", "d.XML"),
    ]


@pytest.mark.parametrize("kind", ["gz", "xz", "bz2"])
def test_compressed_file_is_detected_by_content(tmp_path, kind):
    data = doc("a") + doc("b")
    compress = {"gz": gzip.compress, "xz": lzma.compress, "bz2": bz2.compress}[kind]
    p = tmp_path / "log.bin"  # no telling suffix: the magic bytes decide
    p.write_bytes(compress(data))
    assert names(iter_sources(str(p))) == ["a", "b"]


def _members():
    # archive order deliberately not sorted; a non-XML member and a directory are skipped
    return [
        ("z/second.xml", doc("z1") + doc("z2")),
        ("a/first.xml", doc("a1")),
        ("readme.txt", b"hello"),
        ("m/bad.xml", doc("ok") + doc("bad", broken=True) + doc("after")),
    ]


def _make_tar(path, mode):
    with tarfile.open(path, mode) as tf:
        info = tarfile.TarInfo("a")
        info.type = tarfile.DIRTYPE
        tf.addfile(info)
        for name, data in _members():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))


def _make_zip(path):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a/", b"")
        for name, data in _members():
            zf.writestr(name, data)


@pytest.mark.parametrize(
    "name,mode",
    [("c.tar", "w"), ("c.tar.gz", "w:gz"), ("c.tgz", "w:gz"), ("c.tar.xz", "w:xz"), ("c.txz", "w:xz"), ("c.tar.bz2", "w:bz2"), ("c.zip", None)],
)
def test_archives_member_by_member(tmp_path, name, mode):
    p = tmp_path / name
    _make_zip(p) if mode is None else _make_tar(p, mode)
    items = list(iter_sources([str(p)], on_error="skip"))
    assert names(items) == ["z1", "z2", "a1", "ok", ("error", 1), "after"]
    assert origins(items) == [
        (str(p), "z/second.xml", 0),
        (str(p), "z/second.xml", 1),
        (str(p), "a/first.xml", 0),
        (str(p), "m/bad.xml", 0),
        (str(p), "m/bad.xml", 2),
    ]
    err = [i for i in items if isinstance(i, CheckpointError)][0]
    assert (err.source, err.member, err.document, err.line) == (str(p), "m/bad.xml", 1, 1)


def test_archive_is_not_extracted_to_disk(tmp_path, monkeypatch):
    p = tmp_path / "c.tgz"
    _make_tar(p, "w:gz")
    monkeypatch.chdir(tmp_path)
    before = sorted(os.listdir(tmp_path))
    list(iter_sources([str(p)], on_error="skip"))
    assert sorted(os.listdir(tmp_path)) == before


def test_stop_mode_raises_after_the_records_before(tmp_path):
    p = tmp_path / "a.xml"
    p.write_bytes(doc("a") + doc("b", broken=True) + doc("c"))
    got = []
    with pytest.raises(CheckpointError) as info:
        for item in iter_sources(str(p)):
            got.append(item.name)
    assert got == ["a"]
    assert (info.value.source, info.value.document) == (str(p), 1)


def test_missing_file_is_a_source_error(tmp_path):
    missing = tmp_path / "nope.xml"
    with pytest.raises(SourceError) as info:
        list(iter_sources(str(missing)))
    assert info.value.path == str(missing)
    assert isinstance(info.value, OSError) and not isinstance(info.value, CheckpointError)
    assert "No such file" in str(info.value)


def test_skip_mode_yields_source_errors_and_goes_on(tmp_path):
    good = tmp_path / "good.xml"
    good.write_bytes(doc("g"))
    bad_gz = tmp_path / "bad.xml"
    bad_gz.write_bytes(gzip.compress(doc("x") * 50)[:40])  # truncated gzip, named .xml
    bad_zip = tmp_path / "bad.zip"
    bad_zip.write_bytes(b"PK\x03\x04 this is no zip archive")
    items = list(iter_sources([str(tmp_path / "missing.xml"), str(bad_zip), str(tmp_path)], on_error="skip"))
    kinds = [(type(i).__name__, getattr(i, "path", None)) for i in items if not isinstance(i, Checkpoint)]
    assert kinds[0] == ("SourceError", str(tmp_path / "missing.xml"))
    assert kinds[1] == ("SourceError", str(bad_zip))
    assert ("SourceError", str(bad_gz)) in kinds
    assert "g" in names(items)


def test_corrupt_tar_member_stops_that_archive_only(tmp_path):
    p = tmp_path / "c.tar.gz"
    _make_tar(p, "w:gz")
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) // 2])
    other = tmp_path / "other.xml"
    other.write_bytes(doc("other"))
    items = list(iter_sources([str(p), str(other)], on_error="skip"))
    errors = [i for i in items if isinstance(i, SourceError)]
    assert len(errors) == 1 and errors[0].path == str(p)
    assert names(items)[-1] == "other"


def test_binary_file_object_bytes_and_iterable(tmp_path):
    data = doc("a") + doc("b")
    assert names(iter_sources(io.BytesIO(data))) == ["a", "b"]
    assert names(iter_sources(data)) == ["a", "b"]
    assert names(iter_sources(iter([data[:7], data[7:30], data[30:]]))) == ["a", "b"]
    assert names(iter_sources([data, io.BytesIO(doc("c"))])) == ["a", "b", "c"]


def test_stdin_dash(monkeypatch):
    class FakeStdin:
        buffer = io.BufferedReader(io.BytesIO(doc("s1") + doc("s2")))

    monkeypatch.setattr(sys, "stdin", FakeStdin())
    items = list(iter_sources("-"))
    assert names(items) == ["s1", "s2"]
    assert origins(items)[0] == (STDIN_NAME, None, 0)


def test_gzip_on_stdin_is_decompressed(monkeypatch):
    class FakeStdin:
        buffer = io.BufferedReader(io.BytesIO(gzip.compress(doc("z"))))

    monkeypatch.setattr(sys, "stdin", FakeStdin())
    assert names(iter_sources(["-"])) == ["z"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need os.mkfifo (POSIX)")
def test_fifo_is_read_as_a_stream(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    proceed = threading.Event()

    def writer():
        with open(fifo, "wb", buffering=0) as fh:
            fh.write(doc("f1"))
            # the reader must get f1 before the writer goes on (read1: no waiting for a full chunk)
            assert proceed.wait(10)
            fh.write(doc("f2"))

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    got = []
    for item in iter_sources([str(fifo)]):
        got.append(item.name)
        if item.name == "f1":
            proceed.set()
    t.join(10)
    assert got == ["f1", "f2"]


def test_before_read_and_on_chunk_hooks(tmp_path):
    p = tmp_path / "a.xml"
    p.write_bytes(doc("a") * 3)
    calls, sizes = [], []
    list(iter_sources(str(p), before_read=lambda: calls.append(1), on_chunk=sizes.append, chunk_size=16))
    assert sum(sizes) == p.stat().st_size
    assert len(calls) >= len(sizes)


def test_open_streams_yields_one_stream_per_member(tmp_path):
    p = tmp_path / "c.zip"
    _make_zip(p)
    seen = []
    for s in open_streams([str(p)]):
        seen.append((s.member, len(b"".join(s.chunks))))
    assert [m for m, _ in seen] == ["z/second.xml", "a/first.xml", "m/bad.xml"]


def test_parse_kwargs_reach_the_parser(tmp_path):
    p = tmp_path / "a.xml"
    p.write_bytes(b"<domaincheckpoint><name>a</name><disks><disk name='vda'/><disk name='vdb'/></disks></domaincheckpoint>")
    with pytest.raises(CheckpointError):
        list(iter_sources(str(p), max_disks=1))
    assert names(iter_sources(str(p))) == ["a"]
