"""Input faults in checkpoint_stream.sources: skip mode loses no valid document in silence, and
every input problem comes out as a SourceError while reading goes on where the format allows.

Each test reproduces one fault: a damaged tar header, a zip member with a bad CRC, a compressed
stream cut short, damaged or followed by garbage, an unreadable subdirectory, a FIFO in a folder,
a file name that is not UTF-8.
"""

from __future__ import annotations

import bz2
import errno
import gzip
import io
import json
import lzma
import os
import subprocess
import sys
import tarfile
import threading
import zipfile
import zlib
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_util import run as cli_run  # noqa: E402

from checkpoint_stream import Checkpoint, CheckpointError
from checkpoint_stream import sources as sources_module
from checkpoint_stream.api import iter_sources
from checkpoint_stream.sources import STDIN_NAME, SourceError, display_name

REPO = Path(__file__).resolve().parents[1]
END_TAG = b"</domaincheckpoint>"


def doc(name: str) -> bytes:
    return b"<domaincheckpoint>\n  <name>%s</name>\n</domaincheckpoint>\n" % name.encode()


def docs(prefix: str, count: int) -> bytes:
    return b"".join(doc(f"{prefix}{i}") for i in range(count))


def names(items) -> list:
    return [i.name for i in items if isinstance(i, Checkpoint)]


def errors(items) -> list[SourceError]:
    return [i for i in items if isinstance(i, SourceError)]


def run(*args: str, input: bytes | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return cli_run(*args, input=input, timeout=timeout, forbid=(b"Traceback", b"internal error"))


def complete_names(data: bytes, prefix: str) -> list[str]:
    """The names of the documents wholly inside ``data`` (documents made by :func:`docs`)."""
    return [f"{prefix}{i}" for i in range(data.count(END_TAG))]


def set_stdin(monkeypatch, data: bytes) -> None:
    class FakeStdin:
        buffer = io.BufferedReader(io.BytesIO(data))

    monkeypatch.setattr(sys, "stdin", FakeStdin())


# -- 1. a damaged tar header -------------------------------------------------------------------


def _tar_bytes(members: list[tuple[str, bytes]]) -> tuple[bytes, list[int]]:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    with tarfile.open(fileobj=io.BytesIO(raw)) as tf:
        offsets = [m.offset for m in tf.getmembers()]
    return raw, offsets


@pytest.mark.parametrize("compress", [None, gzip.compress, lzma.compress], ids=["tar", "tar.gz", "tar.xz"])
def test_damaged_tar_header_is_reported_and_reading_resumes(tmp_path, compress):
    raw, offsets = _tar_bytes([("a.xml", docs("a", 3)), ("b.xml", docs("b", 40)), ("c.xml", docs("c", 2))])
    damaged = bytearray(raw)
    damaged[offsets[1] : offsets[1] + 8] = b"XXXXXXXX"  # the 2nd member's name: its checksum fails
    p = tmp_path / ("c.tar" if compress is None else "c.tar.x")
    p.write_bytes(bytes(damaged) if compress is None else compress(bytes(damaged)))
    items = list(iter_sources([str(p)], on_error="skip"))
    # before the fix: a0..a2 only, no error (tarfile takes a bad header for the end)
    assert names(items) == ["a0", "a1", "a2", "c0", "c1"]
    [err] = errors(items)
    assert err.path == str(p)
    assert f"byte {offsets[1]}" in err.message and "'a.xml'" in err.message and "'c.xml'" in err.message
    # stop mode: the error is raised, after the documents before it
    got = []
    with pytest.raises(SourceError):
        for item in iter_sources(str(p)):
            got.append(item.name)
    assert got == ["a0", "a1", "a2"]


def test_damaged_tar_header_on_the_command_line(tmp_path):
    raw, offsets = _tar_bytes([("a.xml", doc("a")), ("b.xml", doc("b")), ("c.xml", doc("c"))])
    damaged = bytearray(raw)
    damaged[offsets[1] + 150] ^= 0xFF  # inside the checksum field
    p = tmp_path / "c.tar"
    p.write_bytes(bytes(damaged))
    proc = run("validate", "--on-error", "skip", str(p))
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout.decode().startswith("2 documents, 2 valid")
    assert f"{p}: error: damaged tar header at byte {offsets[1]}" in proc.stderr.decode()


def test_tar_cut_short_at_a_member_boundary_is_reported(tmp_path):
    raw, offsets = _tar_bytes([("a.xml", doc("a")), ("b.xml", doc("b"))])
    p = tmp_path / "c.tar"
    p.write_bytes(raw[: offsets[1]])  # no second member, no end-of-archive marker
    items = list(iter_sources([str(p)], on_error="skip"))
    assert names(items) == ["a"]
    [err] = errors(items)
    assert "truncated tar archive" in err.message


# -- 2. a zip member with a bad CRC ------------------------------------------------------------


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_zip_member_with_bad_crc_is_reported_and_the_others_read(tmp_path, method):
    p = tmp_path / "c.zip"
    with zipfile.ZipFile(p, "w", method) as zf:
        zf.writestr("first.xml", docs("f", 2))
        zf.writestr("bad.xml", docs("b", 3000))
        zf.writestr("last.xml", docs("l", 2))
        info = zf.getinfo("bad.xml")
    data = bytearray(p.read_bytes())
    # the CRC-32 in the central directory (what zipfile checks): the data stay intact, so every
    # document of the member is there to come out before the member is reported
    with zipfile.ZipFile(p) as zf:
        cd_offset = zf.start_dir
    at = data.index(b"PK\x01\x02", cd_offset)
    while data[at + 46 : at + 46 + len(b"bad.xml")] != b"bad.xml":
        at = data.index(b"PK\x01\x02", at + 4)
    data[at + 16 : at + 20] = ((info.CRC ^ 0xFFFFFFFF).to_bytes(4, "little"))
    p.write_bytes(bytes(data))
    items = list(iter_sources([str(p)], on_error="skip"))
    # before the fix: the member's last read was dropped with the error, and last.xml never read
    assert names(items) == ["f0", "f1"] + [f"b{i}" for i in range(3000)] + ["l0", "l1"]
    [err] = errors(items)
    assert (err.path, err.member) == (str(p), "bad.xml")
    assert "CRC" in err.message
    assert items.index(err) == len(items) - 3  # right after the member's documents


def test_zip_member_whose_data_breaks_mid_read_costs_only_itself(tmp_path):
    """Damaged deflate data in the middle of a member: that member is reported (after the
    documents decompressed before the damage), and the members after it are still read."""
    p = tmp_path / "d.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("first.xml", docs("f", 2))
        zf.writestr("bad.xml", docs("b", 3000))
        zf.writestr("last.xml", docs("l", 2))
        info = zf.getinfo("bad.xml")
    data = bytearray(p.read_bytes())
    start = info.header_offset + 30 + len(b"bad.xml")
    middle = start + info.compress_size // 2
    data[middle : middle + 64] = b"\xff" * 64  # not a valid deflate stream from here on
    p.write_bytes(bytes(data))
    items = list(iter_sources([str(p)], on_error="skip"))
    got = names(items)
    assert got[:2] == ["f0", "f1"] and got[-2:] == ["l0", "l1"]
    bad = got[2:-2]
    # in order up to the damage (what deflate makes of the damaged bytes may hold copies of
    # earlier text: the member's CRC then tells)
    assert bad[:1000] == [f"b{i}" for i in range(1000)]
    [err] = errors(items)
    assert err.member == "bad.xml"


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_zip_cut_short_is_read_from_its_local_headers(tmp_path, method):
    """A zip whose end (the central directory) is lost, as a copy cut short leaves it: reported,
    and the members are still read from their local headers; one cut in its middle gives the
    documents before the cut, then is reported."""
    p = tmp_path / "z.zip"
    with zipfile.ZipFile(p, "w", method) as zf:
        for k in range(4):
            zf.writestr(f"m{k}.xml", docs(f"m{k}-", 200))
        zf.writestr("notes.txt", b"not xml")
        info = zf.getinfo("m3.xml")
    whole = p.read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(whole[: len(whole) - 20])  # the end of central directory record is gone
    items = list(iter_sources([str(cut)], on_error="skip"))
    assert names(items) == [f"m{k}-{i}" for k in range(4) for i in range(200)]
    [err] = errors(items)
    assert "damaged zip archive" in err.message and items.index(err) == 0
    middle = tmp_path / "middle.zip"
    middle.write_bytes(whole[: info.header_offset + 30 + len("m3.xml") + info.compress_size // 2])
    items = list(iter_sources([str(middle)], on_error="skip"))
    got = names(items)
    assert got[:600] == [f"m{k}-{i}" for k in range(3) for i in range(200)]
    rest = got[600:]
    assert 0 < len(rest) < 200 and rest == [f"m3-{i}" for i in range(len(rest))]
    assert [e.member for e in errors(items)] == [None, "m3.xml"]
    assert "truncated member" in errors(items)[1].message


# -- 3. a truncated gzip stream on stdin or a FIFO ---------------------------------------------


def _truncated(compress, count: int = 1000, keep: float = 0.6) -> tuple[bytes, list[str]]:
    data = compress(docs("d", count))
    cut = data[: int(len(data) * keep)]
    if compress is gzip.compress:
        out = zlib.decompressobj(wbits=31).decompress(cut)
    elif compress is lzma.compress:
        out = lzma.LZMADecompressor().decompress(cut)
    else:
        out = bz2.BZ2Decompressor().decompress(cut)
    return cut, complete_names(out, "d")


@pytest.mark.parametrize("compress", [gzip.compress, lzma.compress], ids=["gzip", "xz"])
def test_truncated_compressed_stdin_is_an_io_error_after_every_document(monkeypatch, compress):
    cut, expected = _truncated(compress)
    assert 100 < len(expected) < 1000
    set_stdin(monkeypatch, cut)
    items = list(iter_sources("-", on_error="skip"))
    assert names(items) == expected
    assert isinstance(items[-1], SourceError) and len(errors(items)) == 1  # before the fix: none
    assert items[-1].path == STDIN_NAME and "truncated" in items[-1].message


def test_truncated_gzip_on_stdin_command_line():
    cut, expected = _truncated(gzip.compress)
    proc = run("validate", "--on-error", "skip", "-", input=cut)
    assert proc.returncode == 2, proc.stderr  # before the fix: 0
    assert proc.stdout.decode() == f"{len(expected)} documents, {len(expected)} valid, 0 invalid\n"
    assert f"{STDIN_NAME}: error: truncated gzip stream" in proc.stderr.decode()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need os.mkfifo (POSIX)")
def test_truncated_gzip_on_a_fifo(tmp_path):
    cut, expected = _truncated(gzip.compress)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    def writer() -> None:
        with open(fifo, "wb") as fh:
            fh.write(cut)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    items = list(iter_sources([str(fifo)], on_error="skip"))
    t.join(10)
    assert names(items) == expected
    [err] = errors(items)
    assert err.path == str(fifo) and "truncated gzip stream" in err.message


# -- 4. a compressed file with a read error or damage ------------------------------------------


@pytest.mark.parametrize("compress", [gzip.compress, lzma.compress, bz2.compress], ids=["gz", "xz", "bz2"])
def test_truncated_compressed_file_loses_no_document_decompressed(tmp_path, compress):
    # 4000 documents (~220 KiB): before the fix, the last read of up to 64 KiB was dropped
    cut, expected = _truncated(compress, count=4000, keep=0.7)
    p = tmp_path / "log.xml"
    p.write_bytes(cut)
    items = list(iter_sources([str(p)], on_error="skip"))
    assert names(items) == expected
    [err] = errors(items)
    assert err.path == str(p) and "truncated" in err.message


@pytest.mark.parametrize("compress", [gzip.compress, lzma.compress], ids=["gz", "xz"])
def test_read_error_under_a_compressed_file_loses_no_document(tmp_path, monkeypatch, compress):
    data = compress(docs("d", 4000))
    p = tmp_path / "log.xml"
    p.write_bytes(data)
    fail_at = int(len(data) * 0.6)

    class Failing(io.RawIOBase):
        """A file whose reads fail with EIO past ``fail_at`` bytes."""

        def __init__(self) -> None:
            self.raw = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            pos = self.raw.tell()
            if pos >= fail_at:
                raise OSError(errno.EIO, "Input/output error")
            n = self.raw.readinto(memoryview(buffer)[: min(len(buffer), fail_at - pos)])
            return n

    real_open = open

    def fake_open(path, mode="r", *args, **kwargs):
        if os.fspath(path) == str(p):
            return io.BufferedReader(Failing())
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(sources_module, "open", fake_open, raising=False)
    decompressor = zlib.decompressobj(wbits=31) if compress is gzip.compress else lzma.LZMADecompressor()
    out = decompressor.decompress(data[:fail_at])
    items = list(iter_sources([str(p)], on_error="skip"))
    assert names(items) == complete_names(out, "d")
    [err] = errors(items)
    assert err.path == str(p) and "Input/output error" in err.message


def test_damaged_gzip_file_gives_every_document_before_the_damage(tmp_path):
    data = bytearray(gzip.compress(docs("d", 4000)))
    at = len(data) // 2
    data[at : at + 16] = b"\xff" * 16
    p = tmp_path / "log.xml"
    p.write_bytes(bytes(data))
    # what a decompressor fed a byte at a time makes of it, up to the damage
    d = zlib.decompressobj(wbits=31)
    out = []
    try:
        for i in range(len(data)):
            out.append(d.decompress(bytes(data[i : i + 1])))
    except zlib.error:
        pass
    before = b"".join(out)
    assert before.count(END_TAG) > 2000
    # (damaged deflate data first decompresses to garbage: the records are those of that prefix)
    expected = names(iter_sources(before, on_error="skip"))
    items = list(iter_sources([str(p)], on_error="skip"))
    assert names(items) == expected
    assert isinstance(items[-1], SourceError) and "corrupt gzip data" in items[-1].message


# -- 5. trailing garbage after valid compressed data -------------------------------------------


@pytest.mark.parametrize("compress", [gzip.compress, lzma.compress, bz2.compress], ids=["gz", "xz", "bz2"])
def test_trailing_garbage_after_compressed_data(tmp_path, compress):
    p = tmp_path / "log.xml"
    data = compress(docs("d", 3000))
    p.write_bytes(data + b"garbage after the end")
    items = list(iter_sources([str(p)], on_error="skip"))
    assert names(items) == [f"d{i}" for i in range(3000)]  # before the fix (gz): the last ones lost
    [err] = errors(items)
    assert items[-1] is err and err.path == str(p)
    assert "trailing garbage" in err.message and f"byte {len(data)}" in err.message


def test_trailing_garbage_on_stdin(monkeypatch):
    data = gzip.compress(docs("d", 50))
    set_stdin(monkeypatch, data + b"\x00\x00junk")
    items = list(iter_sources("-", on_error="skip"))
    assert names(items) == [f"d{i}" for i in range(50)]
    assert isinstance(items[-1], SourceError) and "trailing garbage" in items[-1].message


def test_concatenated_streams_and_nul_padding_are_no_garbage(tmp_path):
    p = tmp_path / "log.xml"
    p.write_bytes(gzip.compress(doc("a")) + gzip.compress(doc("b")) + b"\x00" * 100)
    q = tmp_path / "log2.xml"
    q.write_bytes(lzma.compress(doc("c")) + lzma.compress(doc("d")) + b"\x00" * 8)
    items = list(iter_sources([str(p), str(q)], on_error="skip"))
    assert names(items) == ["a", "b", "c", "d"] and not errors(items)


# -- 6. xz and bz2 on stdin --------------------------------------------------------------------


@pytest.mark.parametrize("compress", [lzma.compress, bz2.compress, gzip.compress], ids=["xz", "bz2", "gz"])
def test_stdin_takes_xz_and_bz2(monkeypatch, compress):
    set_stdin(monkeypatch, compress(docs("s", 5)))
    items = list(iter_sources(["-"], on_error="skip"))
    assert names(items) == [f"s{i}" for i in range(5)] and not errors(items)


def test_stdin_xz_on_the_command_line():
    proc = run("validate", "-", input=lzma.compress(docs("s", 5)))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == "5 documents, 5 valid, 0 invalid\n"


# -- 7. an unreadable subdirectory -------------------------------------------------------------


def test_unreadable_subdirectory_costs_only_itself(tmp_path, monkeypatch):
    # chmod 000 does not stop root: os.scandir is made to refuse that one folder instead
    (tmp_path / "a").mkdir()
    (tmp_path / "locked").mkdir()
    (tmp_path / "z").mkdir()
    (tmp_path / "a" / "1.xml").write_bytes(doc("a1"))
    (tmp_path / "locked" / "2.xml").write_bytes(doc("hidden"))
    (tmp_path / "z" / "3.xml").write_bytes(doc("z3"))
    (tmp_path / "top.xml").write_bytes(doc("top"))
    locked = str(tmp_path / "locked")
    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path) == locked:
            raise PermissionError(errno.EACCES, "Permission denied", locked)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    items = list(iter_sources([str(tmp_path)], on_error="skip"))
    # before the fix: one error for the whole tree, and no document
    assert names(items) == ["a1", "top", "z3"]
    [err] = errors(items)
    assert err.path == locked and "Permission denied" in err.message
    assert items.index(err) == 1  # in path order


# -- 8. a FIFO named *.xml inside a folder -----------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need os.mkfifo (POSIX)")
def test_fifo_in_a_folder_is_skipped_and_named_one_read(tmp_path):
    (tmp_path / "a.xml").write_bytes(doc("a"))
    os.mkfifo(tmp_path / "b.xml")  # nobody writes: opened, it would block for ever
    (tmp_path / "c.xml").write_bytes(doc("c"))
    result: list = []
    t = threading.Thread(target=lambda: result.append(list(iter_sources([str(tmp_path)], on_error="skip"))), daemon=True)
    t.start()
    t.join(10)
    if t.is_alive():  # before the fix: the walk hangs on b.xml; unblock it to end the test
        with open(tmp_path / "b.xml", "wb"):
            pass
        t.join(10)
        pytest.fail("the folder walk blocked on a FIFO")
    assert names(result[0]) == ["a", "c"] and not errors(result[0])

    def writer() -> None:
        with open(tmp_path / "b.xml", "wb") as fh:
            fh.write(doc("b"))

    w = threading.Thread(target=writer, daemon=True)
    w.start()
    assert names(iter_sources([str(tmp_path / "b.xml")])) == ["b"]
    w.join(10)


# -- 9. names that are not UTF-8 ---------------------------------------------------------------


def test_display_name_escapes_bytes_that_are_not_utf8():
    assert display_name(os.fsdecode(b"caf\xe9.xml")) == "caf\\xe9.xml"
    assert display_name("café.xml") == "café.xml"
    assert display_name("\ud800x") == "\\ud800x"


needs_bytes_names = pytest.mark.skipif(
    sys.platform == "darwin" or sys.getfilesystemencoding().lower() != "utf-8",
    reason="file names that are not UTF-8 need a POSIX file system with UTF-8 names",
)


@needs_bytes_names
def test_file_and_member_names_not_utf8(tmp_path):
    folder = os.fsencode(tmp_path / "d")
    os.mkdir(folder)
    with open(os.path.join(folder, b"caf\xe9.xml"), "wb") as fh:
        fh.write(doc("a"))
    tar = tmp_path / "t.tar"
    with tarfile.open(tar, "w", format=tarfile.GNU_FORMAT) as tf:
        info = tarfile.TarInfo(os.fsdecode(b"m\xe9mber.xml"))
        info.size = len(doc("b"))
        tf.addfile(info, io.BytesIO(doc("b")))
    items = list(iter_sources([os.fsdecode(folder), str(tar)], on_error="skip"))
    recs = [i for i in items if isinstance(i, Checkpoint)]
    assert [r.name for r in recs] == ["a", "b"] and not errors(items)
    assert recs[0].origin.path.endswith("caf\\xe9.xml")
    assert recs[1].origin.member == "m\\xe9mber.xml"
    json.dumps([r.origin.path for r in recs]).encode("utf-8")  # printable


@needs_bytes_names
def test_command_line_with_names_not_utf8(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    try:
        from fault_util import document
    finally:
        sys.path.pop(0)
    folder = os.fsencode(tmp_path)
    with open(os.path.join(folder, b"caf\xe9.xml"), "wb") as fh:
        fh.write(document(1, declaration=False, domain=True))
    with open(os.path.join(folder, b"m\xe9chant.xml"), "wb") as fh:
        fh.write(b"<domaincheckpoint><name>x</nam></domaincheckpoint>\n")
    proc = run("parse", "--on-error", "skip", str(tmp_path))  # before the fix: internal error
    assert proc.returncode == 1, proc.stderr
    [obj] = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert obj["source"]["path"] == str(tmp_path / "caf\\xe9.xml")
    assert f"{tmp_path}/m\\xe9chant.xml:1:" in proc.stderr.decode()
    proc = run("validate", "--on-error", "skip", str(tmp_path))
    assert proc.returncode == 1 and proc.stdout.decode() == "2 documents, 1 valid, 1 invalid\n"
    assert "m\\xe9chant.xml" in proc.stderr.decode()
