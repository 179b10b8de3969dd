"""The folder walk's names, and what the sources tell a caller while they read: ``on_stream``,
``on_read`` and ``input_size`` (progress against the bytes on disk, grep -l/-L by stream)."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import random
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from checkpoint_stream import Checkpoint, CheckpointError
from checkpoint_stream.api import iter_sources
from checkpoint_stream.sources import JSON_NAMES, XML_NAMES, SourceError, input_size, open_streams, streams


def doc(name: str, filler: int = 0) -> bytes:
    """A document; ``filler`` bytes of description that compress poorly (so compressed sizes are
    far from the content's and a mix-up of the two shows)."""
    rng = random.Random(name)
    text = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(filler))
    description = f"  <description>{text}</description>\n" if filler else ""
    return f"<domaincheckpoint>\n  <name>{name}</name>\n{description}</domaincheckpoint>\n".encode()


def bad(name: str) -> bytes:
    return f"<domaincheckpoint><name>{name}</nam></domaincheckpoint>\n".encode()


class Watch:
    """Everything the callbacks of one read were told, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.read = 0

    def on_stream(self, path: str | None, member: str | None) -> None:
        self.events.append(("stream", (path, member, self.read)))

    def on_read(self, n: int) -> None:
        assert n > 0
        self.read += n
        self.events.append(("read", n))

    def on_chunk(self, n: int) -> None:
        self.events.append(("chunk", n))

    @property
    def streams(self) -> list[tuple[str | None, str | None]]:
        return [(p, m) for kind, (p, m, _) in (e for e in self.events if e[0] == "stream")]

    def read_at_streams(self) -> list[int]:
        return [at for kind, (_, _, at) in (e for e in self.events if e[0] == "stream")]


def run(sources: Any, **kwargs: Any) -> tuple[list[Any], Watch]:
    watch = Watch()
    items = list(
        iter_sources(sources, on_error="skip", on_stream=watch.on_stream, on_read=watch.on_read, on_chunk=watch.on_chunk, **kwargs)
    )
    return items, watch


def record_names(items: list[Any]) -> list[str | None]:
    return [i.name for i in items if isinstance(i, Checkpoint)]


# -- the folder walk ------------------------------------------------------------------------------


def test_walk_takes_compressed_xml_in_any_case(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.xml").write_bytes(doc("a"))
    (tmp_path / "b.XML").write_bytes(doc("b"))
    (tmp_path / "c.xml.gz").write_bytes(gzip.compress(doc("c")))
    (tmp_path / "sub" / "d.Xml.XZ").write_bytes(lzma.compress(doc("d")))
    (tmp_path / "sub" / "e.xml.bz2").write_bytes(bz2.compress(doc("e")))
    (tmp_path / "f.gz").write_bytes(gzip.compress(doc("f")))  # not named as XML
    (tmp_path / "g.xml.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    (tmp_path / "h.jsonl").write_bytes(b"{}\n")
    (tmp_path / "notes.txt").write_bytes(doc("notes"))
    items, watch = run(str(tmp_path))
    assert record_names(items) == ["a", "b", "c", "d", "e"]
    assert [os.path.relpath(p or "", tmp_path) for p, _ in watch.streams] == [
        "a.xml", "b.XML", "c.xml.gz", os.path.join("sub", "d.Xml.XZ"), os.path.join("sub", "e.xml.bz2"),
    ]
    assert not any(isinstance(i, (CheckpointError, SourceError)) for i in items)


def test_walk_names_are_the_callers(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_bytes(doc("a"))
    (tmp_path / "b.ckpt").write_bytes(doc("b"))
    (tmp_path / "c.CKPT").write_bytes(doc("c"))
    items, watch = run(str(tmp_path), names=(".ckpt",))
    assert record_names(items) == ["b", "c"]
    found = [os.path.basename(s.path or "") for s in open_streams(str(tmp_path), names=(".ckpt",))]
    assert found == ["b.ckpt", "c.CKPT"]
    # One ending given bare is one ending, not a tuple of its letters.
    assert [os.path.basename(s.path or "") for s in open_streams(str(tmp_path), names=".ckpt")] == found  # type: ignore[arg-type]


def test_walk_of_json_lines(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_bytes(b'{"name": "a"}\n')
    (tmp_path / "b.JSON.gz").write_bytes(gzip.compress(b'{"name": "b"}\n'))
    (tmp_path / "c.xml").write_bytes(doc("c"))
    got = [(os.path.basename(s.path or ""), b"".join(s.chunks)) for s in open_streams(str(tmp_path), names=JSON_NAMES)]
    assert got == [("a.jsonl", b'{"name": "a"}\n'), ("b.JSON.gz", b'{"name": "b"}\n')]
    assert all(n.startswith(".xml") for n in XML_NAMES)


def test_archive_members_keep_taking_xml_alone(tmp_path: Path) -> None:
    archive = tmp_path / "a.tar"
    with tarfile.open(archive, "w") as tf:
        for name, data in (("one.xml", doc("one")), ("two.xml.gz", gzip.compress(doc("two"))), ("three.XML", doc("three"))):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    items, watch = run(str(archive))
    assert record_names(items) == ["one", "three"]
    assert watch.streams == [(str(archive), "one.xml"), (str(archive), "three.XML")]


# -- on_stream ------------------------------------------------------------------------------------


def test_on_stream_comes_before_each_streams_bytes(tmp_path: Path) -> None:
    (tmp_path / "1.xml").write_bytes(doc("a") + bad("b"))
    (tmp_path / "2.xml").write_bytes(b"")
    (tmp_path / "3.xml").write_bytes(doc("c"))
    seen: list[Any] = []
    chunks: list[int] = []
    items = iter_sources(
        [str(tmp_path), str(tmp_path / "missing.xml")],
        on_error="skip",
        on_stream=lambda path, member: seen.append((os.path.basename(path or ""), member, len(chunks))),
        on_chunk=chunks.append,
    )
    per_stream: dict[str, list[str]] = {}
    for item in items:
        current = seen[-1][0]
        kind = "record" if isinstance(item, Checkpoint) else type(item).__name__
        if isinstance(item, SourceError):
            current = os.path.basename(item.path or "")
        per_stream.setdefault(current, []).append(kind)
    assert [s[0] for s in seen] == ["1.xml", "2.xml", "3.xml"]  # the missing file gave no stream
    assert [s[2] for s in seen] == [0, 1, 1]  # before the stream's first chunk (2.xml has none)
    assert per_stream == {"1.xml": ["record", "NotWellFormedError"], "3.xml": ["record"], "missing.xml": ["SourceError"]}


def test_on_stream_names_archive_members_and_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x/one.xml", doc("one"))
        zf.writestr("skip.txt", b"text")
        zf.writestr("two.xml", doc("two"))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(gzip.compress(doc("in")))))
    items, watch = run([str(archive), "-"])
    assert record_names(items) == ["one", "two", "in"]
    assert watch.streams == [(str(archive), "x/one.xml"), (str(archive), "two.xml"), ("<stdin>", None)]


# -- on_read and input_size -----------------------------------------------------------------------


def test_plain_file_is_counted_as_read(tmp_path: Path) -> None:
    path = tmp_path / "big.xml"
    path.write_bytes(b"".join(doc(f"n{i}", 500) for i in range(40)))
    size = path.stat().st_size
    items, watch = run(str(path), chunk_size=4096)
    assert len(record_names(items)) == 40
    reads = [n for kind, n in watch.events if kind == "read"]
    assert sum(reads) == size == input_size(str(path))
    assert len(reads) >= size // 4096  # told as it goes, not once at the end
    # Never told more than was handed over, never behind the bytes handed to the parser.
    handed = 0
    read = 0
    for kind, n in watch.events:
        if kind == "read":
            read += n
        elif kind == "chunk":
            handed += n
            assert handed <= read


@pytest.mark.parametrize("kind", ["gz", "xz", "bz2"])
def test_compressed_file_counts_compressed_bytes(tmp_path: Path, kind: str) -> None:
    compress = {"gz": gzip.compress, "xz": lzma.compress, "bz2": bz2.compress}[kind]
    content = b"".join(doc(f"n{i}", 200) for i in range(200)) + b"".join(doc(f"r{i}") for i in range(2000))
    path = tmp_path / f"many.xml.{kind}"
    path.write_bytes(compress(content))
    size = path.stat().st_size
    items, watch = run(str(path), chunk_size=1024)
    assert len(record_names(items)) == 2200
    chunked = sum(n for k, n in watch.events if k == "chunk")
    assert chunked == len(content) and size < len(content) // 2
    assert watch.read == size == input_size([path])


def _tar_gz(path: Path, members: list[tuple[str, bytes]]) -> None:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))


def test_tar_gz_counts_the_archive_once(tmp_path: Path) -> None:
    path = tmp_path / "vm.tar.gz"
    members = [(f"c{i}.xml", doc(f"c{i}", 3000)) for i in range(30)] + [("notes.txt", b"n" * 5000)]
    _tar_gz(path, members)
    size = path.stat().st_size
    items, watch = run(str(path), chunk_size=2048)
    assert record_names(items) == [f"c{i}" for i in range(30)]
    assert watch.read == size == input_size(str(path))
    at = watch.read_at_streams()
    assert at == sorted(at) and at[-1] < size  # told as the archive is read, not at its end


def test_zip_counts_each_members_compressed_bytes(tmp_path: Path) -> None:
    path = tmp_path / "vm.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(6):
            zf.writestr(f"c{i}.xml", doc(f"c{i}", 4000) * 3, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("stored.xml", doc("s", 1000), compress_type=zipfile.ZIP_STORED)
        zf.writestr("skip.bin", os.urandom(3000), compress_type=zipfile.ZIP_STORED)
    size = path.stat().st_size
    with zipfile.ZipFile(path) as zf:
        packed = [info.compress_size for info in zf.infolist() if info.filename.endswith(".xml")]
    items, watch = run(str(path), chunk_size=1024)
    assert len(record_names(items)) == 6 * 3 + 1
    at = watch.read_at_streams()
    # Each member's compressed bytes are told while it is read: when the next one begins, all
    # of those before it have been told, and nothing of the members after it (nor the archive's
    # headers, directory and other members, told once it is done).
    for k in range(1, len(packed)):
        assert sum(packed[:k]) <= at[k] - at[0] <= sum(packed[:k]) + (size - sum(packed))
    assert at[0] == 0
    assert watch.read == size == input_size(str(path))


def test_folder_total_is_what_the_walk_reads(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.xml").write_bytes(doc("a", 700))
    (tmp_path / "b.xml.gz").write_bytes(gzip.compress(doc("b", 700)))
    _tar_gz(tmp_path / "sub" / "c.tar.gz", [("c.xml", doc("c"))])  # not named as XML: not walked
    (tmp_path / "sub" / "d.XML.xz").write_bytes(lzma.compress(doc("d", 700)))
    (tmp_path / "notes.txt").write_bytes(b"x" * 10000)
    expected = sum(p.stat().st_size for p in tmp_path.rglob("*") if p.name.lower().endswith(XML_NAMES))
    items, watch = run(str(tmp_path))
    assert record_names(items) == ["a", "b", "d"]
    assert watch.read == expected == input_size(str(tmp_path))
    everything = sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())
    assert input_size(str(tmp_path), names=(".xml", ".xml.gz", ".xml.xz", ".tar.gz", ".txt")) == everything
    assert input_size([str(tmp_path), str(tmp_path / "a.xml")]) == expected + (tmp_path / "a.xml").stat().st_size


def test_stdin_and_objects_are_counted_but_have_no_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = gzip.compress(doc("a", 2000) + doc("b", 2000))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    items, watch = run("-")
    assert record_names(items) == ["a", "b"] and watch.read == len(data)
    assert input_size("-") is None and input_size([str(tmp_path), "-"]) is None
    plain = doc("c")
    assert run(io.BytesIO(plain))[1].read == len(plain) and input_size(io.BytesIO(plain)) is None  # type: ignore[arg-type]
    assert run([plain[:5], plain[5:]])[1].read == len(plain)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
def test_fifo_has_no_size(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.xml"
    os.mkfifo(fifo)
    (tmp_path / "a.xml").write_bytes(doc("a"))
    assert input_size(str(fifo)) is None
    # A FIFO in a folder is not walked, so the folder's size is known.
    assert input_size(str(tmp_path)) == (tmp_path / "a.xml").stat().st_size


def test_missing_path_counts_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_bytes(doc("a"))
    assert input_size([str(tmp_path / "missing.xml"), tmp_path / "a.xml"]) == (tmp_path / "a.xml").stat().st_size
    assert input_size([]) == 0
    items = list(streams([str(tmp_path / "missing.xml")], on_read=lambda n: pytest.fail("nothing was read")))
    assert len(items) == 1 and isinstance(items[0], SourceError)
