"""Sources: where byte streams of checkpoint documents come from. Only I/O happens here: the
faces (:mod:`.api`) parse what these streams deliver.

:func:`open_streams` gives the byte streams of any mix of:

* paths to files (plain XML, or ``.gz`` / ``.xz`` / ``.bz2`` compressed XML: detected by their
  magic bytes, not their names);
* directories, walked recursively: every regular file (or symbolic link to one) whose name ends,
  in any case, with one of ``names`` (:data:`XML_NAMES` by default: ``*.xml`` and ``*.xml.gz`` /
  ``.xz`` / ``.bz2``, decompressed by their magic bytes like a file named directly), in sorted
  path order. Anything else named ``*.xml`` in a folder (a named pipe, a device, a socket)
  is skipped without a word: opened, it could block the walk for ever, and nothing that lies in a
  folder asks for it (a FIFO named explicitly is read, see below). A subdirectory that cannot be
  read is reported, and the rest of the tree is read;
* ``.tar``, ``.tar.gz`` / ``.tgz``, ``.tar.xz`` / ``.txz``, ``.tar.bz2`` and ``.zip`` archives, read
  member by member, never extracted to disk: every ``*.xml`` regular-file member, in archive
  order, each member its own stream (its documents are numbered from 0). A damaged tar header is
  reported and reading resumes at the next intact header; a zip member that cannot be read (a bad
  CRC, an unsupported method) is reported and the other members are read;
* ``"-"``: standard input (``sys.stdin.buffer``), read as a stream (gzip, xz and bz2 data
  decompressed, told by their magic bytes);
* named pipes (FIFOs) and character devices: read as a stream, as bytes arrive (compressed data
  decompressed, as on standard input);
* binary file objects, ``bytes``, and iterables of ``bytes`` chunks.

Streams that can stay open (stdin, FIFOs, sockets, file objects with ``read1``) are read with
``read1``: a record comes out as soon as its end tag has arrived, never waiting for a full chunk.

Compressed data is decompressed here, chunk by chunk, so every byte decompressed before a
problem reaches the parser before the problem is reported: a compressed stream cut short ("truncated
gzip stream"), damaged, or followed by bytes that are no compressed data ("trailing garbage") is an
I/O error, never a silent end.

Each stream is named by its ``path`` and ``member``, so the parser given each one makes records
that carry ``Origin(path, member, index)`` and errors that carry ``source`` / ``member`` /
``document``. These names are for people and JSON: a file or member name that is not UTF-8
(decoded by :mod:`os` and :mod:`tarfile` with ``surrogateescape``) is shown with its bytes as
backslash escapes (``caf\\xe9.xml``), see :func:`display_name`; the file itself is opened by its
real name.

I/O problems (a missing file, a corrupt archive, a read error) are :class:`SourceError`, an
:class:`OSError`: never a :class:`~.errors.CheckpointError`, so callers can tell "the input could
not be read" (the CLI's exit 2) from "a document was rejected" (exit 1). A problem that cuts a
stream short is raised by its chunk iterator (the document it cut is not reported again as a
truncated document); a problem found once all of a stream's bytes are out (trailing garbage, a bad
CRC, a damaged header between two tar members) comes out of :func:`streams` as an item of its
own, after that stream, and reading goes on.
"""

from __future__ import annotations

import bz2
import io
import lzma
import mmap
import os
import select
import stat
import struct
import sys
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO, Any, Callable, Iterable, Iterator, Union

from .errors import CheckpointStreamError

__all__ = [
    "SourceError",
    "Stream",
    "open_streams",
    "streams",
    "input_size",
    "display_name",
    "walk_files",
    "plain_stream",
    "STDIN_NAME",
    "SourceLike",
    "CHUNK_SIZE",
    "XML_NAMES",
    "JSON_NAMES",
]

#: Bytes read at a time.
CHUNK_SIZE = 1 << 16

#: The name standard input goes by in origins and error messages.
STDIN_NAME = "<stdin>"

#: The name endings (matched in any case) a folder walk takes by default: XML documents, plain or
#: compressed. Archive members are always taken by ``*.xml`` alone: an archive is compressed as a
#: whole, and a compressed file inside one is not looked into.
XML_NAMES = (".xml", ".xml.gz", ".xml.xz", ".xml.bz2")

#: The name endings of JSON Lines records (what ``checkpoint-stream parse`` prints), plain or
#: compressed: for a walk of folders of them (``streams(..., names=JSON_NAMES)``).
JSON_NAMES = (".jsonl", ".json", ".jsonl.gz", ".json.gz", ".jsonl.xz", ".json.xz", ".jsonl.bz2", ".json.bz2")

#: Told the number of raw bytes just read (compressed ones, for compressed data): progress.
OnRead = Callable[[int], None]

SourceLike = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes], Iterable[bytes]]

_GZIP = b"\x1f\x8b"
_XZ = b"\xfd7zXZ\x00"
_BZ2 = b"BZh"
_MAGICS = {"gzip": _GZIP, "xz": _XZ, "bz2": _BZ2}
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_TAR_NAMES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tbz")
_DECOMPRESSION_ERRORS = (zlib.error, lzma.LZMAError, OSError, EOFError, ValueError)
#: Bytes decompressed per call (see :func:`_inflate`).
_STEP = 1 << 12


def display_name(name: str) -> str:
    """``name`` as it can be printed and put in JSON: the bytes of a name that is not UTF-8 (which
    :mod:`os` and :mod:`tarfile` decode with ``surrogateescape``, as lone surrogates that no UTF-8
    output can write) become backslash escapes, ``caf\\xe9.xml``; any other name is itself."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        pass
    try:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that stands for no byte
        return name.encode("utf-8", "backslashreplace").decode("utf-8")


def _shown(name: str | None) -> str | None:
    return None if name is None else display_name(name)


class SourceError(OSError, CheckpointStreamError):
    """An input could not be read: missing, unreadable, or a corrupt archive / compressed file.

    ``path`` (and ``member``, for an archive member) say which; ``message`` says what, in words.
    Names are printable (:func:`display_name`): an error message must never fail to be written.
    """

    def __init__(self, message: str, *, path: str | None = None, member: str | None = None) -> None:
        message = display_name(message)
        super().__init__(message)
        self.message = message
        self.path = _shown(path)
        self.member = _shown(member)

    def __str__(self) -> str:
        where = self.path or "?"
        if self.member:
            where += f":{self.member}"
        return f"{where}: {self.message}"


@dataclass
class Stream:
    """One byte stream: ``chunks`` yields its bytes; ``path`` / ``member`` name it (printable
    names, see :func:`display_name`)."""

    path: str | None
    member: str | None
    chunks: Iterator[bytes]

    def __post_init__(self) -> None:
        self.path = _shown(self.path)
        self.member = _shown(self.member)


class _Late:
    """A problem found after all of a stream's bytes went out (trailing garbage, a bad CRC): the
    chunk iterator ends cleanly and leaves it here, and the stream's producer yields it after the
    stream, so the documents before it are parsed to their end and reading goes on."""

    __slots__ = ("error", "broken")

    def __init__(self) -> None:
        self.error: SourceError | None = None
        self.broken = False  # the chunk iterator raised: an archive read in one pass ends there


def _then_late(path: str | None, member: str | None, make: Callable[[_Late], Iterator[bytes]]) -> Iterator[Stream | SourceError]:
    late = _Late()
    yield Stream(path, member, make(late))
    if late.error is not None:
        yield late.error


# -- reading --------------------------------------------------------------------------------------


def _os_message(err: BaseException) -> str:
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return str(err) or type(err).__name__


def _read_chunks(
    fh: Any, chunk_size: int, path: str | None, member: str | None, on_read: OnRead | None = None
) -> Iterator[bytes]:
    """Chunks of a binary file object, read with ``read1`` where there is one: a pipe that stays
    open delivers what has arrived without waiting for a whole chunk, and a read that fails drops
    nothing (a buffered ``read(n)`` gathers several raw reads, and loses them all with the error
    of the last one). ``on_read`` is given only where ``fh`` is the raw input (a file, a pipe,
    stdin), never for bytes that come out of an archive or a decompressor: those were counted
    when they were read."""
    read = getattr(fh, "read1", None)
    if read is None:
        read = fh.read
    while True:
        try:
            chunk = read(chunk_size)
        except (OSError, EOFError, zlib.error, lzma.LZMAError, tarfile.TarError, zipfile.BadZipFile) as err:
            if isinstance(err, SourceError):
                raise
            raise SourceError(f"read error: {_os_message(err)}", path=path, member=member) from err
        if chunk is None:  # a non-blocking file with nothing yet: wait for it like a blocking one
            try:
                select.select([fh], [], [])
            except (OSError, ValueError, TypeError):
                pass
            continue
        if not chunk:
            return
        if isinstance(chunk, str):
            raise SourceError("a binary file is needed (open it with 'rb')", path=path, member=member)
        if on_read is not None:
            on_read(len(chunk))
        yield bytes(chunk)


def _new_decompressor(kind: str) -> Any:
    if kind == "gzip":
        return zlib.decompressobj(wbits=31)
    if kind == "xz":
        return lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
    return bz2.BZ2Decompressor()


def _inflate(d: Any, data: bytes) -> Iterator[bytes]:
    """What ``d`` makes of ``data``, in pieces of at most :data:`_STEP` bytes, until ``data`` is
    used up or the compressed stream ends. Small pieces: a bomb makes no huge one, and the call
    that meets damaged data (whose output the decompressors drop with the error) loses little."""
    if hasattr(d, "unconsumed_tail"):  # zlib
        while True:
            out = d.decompress(data, _STEP)
            data = d.unconsumed_tail
            if out:
                yield out
            if d.eof or (not data and len(out) < _STEP):
                return
    out = d.decompress(data, _STEP)
    while True:
        if out:
            yield out
        if d.eof or d.needs_input:
            return
        out = d.decompress(b"", _STEP)


def _salvage(saved: Any, data: bytes, given: int) -> bytes:
    """The bytes a zlib decompressor (``saved``: a copy taken before ``data``) makes of ``data`` up
    to the damage, those already passed on (``given``) left out: fed a byte at a time, the call
    that fails loses nothing."""
    got: list[bytes] = []
    try:
        for i in range(len(data)):
            got.append(saved.decompress(data[i : i + 1]))
            if saved.eof:
                break
    except zlib.error:
        pass
    return b"".join(got)[given:]


def _decompressed(
    chunks: Iterator[bytes], kind: str, path: str | None, member: str | None, late: _Late, limit: int = CHUNK_SIZE
) -> Iterator[bytes]:
    """Decompress a gzip, xz or bz2 byte stream chunk by chunk, several concatenated streams
    allowed (as the tools allow them), NUL padding after them too.

    Every byte decompressed is yielded before any problem is reported (a file object's ``read``
    with a buffer, by contrast, drops all it gathered in a call that fails): data cut short (a
    truncated stream) or damaged raises :class:`SourceError` where it stops; bytes after the end
    that start no new stream (trailing garbage) are left on ``late`` once all the data is out.
    What one input chunk gives is passed on before the next is read (a pipe that stays open).
    """
    magic = _MAGICS[kind]
    d: Any = _new_decompressor(kind)
    seen = 0  # compressed bytes taken in so far
    tail = b""  # bytes after a stream's end, too few yet to tell padding, a stream or garbage apart
    for chunk in chunks:
        seen += len(chunk)
        data = tail + chunk if tail else chunk
        tail = b""
        while data:
            if d is None:  # between streams
                rest = data.lstrip(b"\x00")
                if not rest:
                    break
                if len(rest) < len(magic) and magic.startswith(rest):
                    tail = rest
                    break
                if not rest.startswith(magic):
                    late.error = _garbage(kind, seen - len(rest), path, member)
                    return
                data = rest
                d = _new_decompressor(kind)
            saved = d.copy() if kind == "gzip" else None
            batch: list[bytes] = []
            given = size = 0
            try:
                for out in _inflate(d, data):
                    batch.append(out)
                    size += len(out)
                    if size >= limit:
                        yield b"".join(batch)
                        given += size
                        batch, size = [], 0
            except _DECOMPRESSION_ERRORS as err:
                if saved is not None:
                    batch = [_salvage(saved, data, given)]
                if batch:
                    yield b"".join(batch)
                raise SourceError(f"corrupt {kind} data: {_os_message(err)}", path=path, member=member) from err
            if batch:
                yield b"".join(batch)
            if d.eof:
                data = d.unused_data
                d = None
            else:
                data = b""
    if d is not None:
        raise SourceError(f"truncated {kind} stream: the data ends before the compressed stream does", path=path, member=member)
    if tail:
        late.error = _garbage(kind, seen - len(tail), path, member)


def _garbage(kind: str, at: int, path: str | None, member: str | None) -> SourceError:
    return SourceError(f"trailing garbage after the {kind} data, at byte {at}: not {kind} data", path=path, member=member)


def _compression(head: bytes) -> str | None:
    for kind, magic in _MAGICS.items():
        if head.startswith(magic):
            return kind
    return None


def _sniff_stream(chunks: Iterator[bytes], path: str | None, late: _Late) -> Iterator[bytes]:
    """A stream that turns out to be gzip, xz or bz2 (by its first bytes) is decompressed on the
    fly. Only as many bytes are awaited as it takes to tell: a pipe that stays open after a few
    bytes of XML delivers them at once."""
    first = b""
    for chunk in chunks:
        first += chunk
        if not any(m.startswith(first) and len(first) < len(m) for m in _MAGICS.values()):
            break
    if not first:
        return
    rest: Iterator[bytes] = _prepend(first, chunks)
    kind = _compression(first)
    if kind is not None:
        yield from _decompressed(rest, kind, path, None, late)
    else:
        yield from rest


def _prepend(first: bytes, chunks: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from chunks


def _raise_after(first: bytes, err: SourceError) -> Iterator[bytes]:
    if first:
        yield first
    raise err


def _peek(chunks: Iterator[bytes], n: int) -> tuple[bytes, Iterator[bytes]]:
    """The first ``n`` bytes of ``chunks`` (fewer if it is shorter), and all its bytes, those
    included. An error while peeking is raised by the second, after the bytes before it."""
    first = b""
    try:
        while len(first) < n:
            chunk = next(chunks, None)
            if chunk is None:
                return first, iter([first] if first else [])
            first += chunk
    except SourceError as err:
        return first, _raise_after(first, err)
    return first, _prepend(first, chunks)


def _is_xml_name(name: str) -> bool:
    return name.lower().endswith(".xml")


def _takes(names: tuple[str, ...]) -> tuple[str, ...]:
    """``names`` ready for a case-insensitive ``endswith``."""
    if isinstance(names, str):  # one ending given bare: a tuple of its letters would take anything
        names = (names,)
    return tuple(name.lower() for name in names)


class _Meter:
    """Counts one regular file's raw bytes as they are read, so that once the file is done what no
    counted read went through (a zip's headers, directory and other members, a tar's padding
    after its end marker) is told too: a file's figures add up to its size, the figure
    :func:`input_size` counts, and progress ends at 100 %."""

    __slots__ = ("on_read", "count")

    def __init__(self, on_read: OnRead) -> None:
        self.on_read = on_read
        self.count = 0

    def __call__(self, n: int) -> None:
        self.count += n
        self.on_read(n)

    def settle(self, size: int) -> None:
        if size > self.count:
            self(size - self.count)


def _head(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(512)


def _looks_like_tar(block: bytes) -> bool:
    return len(block) >= 262 and block[257:262] == b"ustar"


def plain_stream(path: str) -> bool:
    """Whether ``path`` is a regular file read as one plain stream: not compressed, not a zip or
    tar archive, by the rules :func:`_file_content` reads it with (first bytes, tar header, tar
    names). Then its byte offsets are the stream's, and it can be parsed in byte ranges
    (:mod:`.scaleout.ranges`)."""
    try:
        if not os.path.isfile(path):
            return False
        head = _head(path)
    except OSError:
        return False
    if head.startswith(_ZIP) or _compression(head) is not None:
        return False
    return not (_looks_like_tar(head) or path.lower().endswith(_TAR_NAMES))


def _file_streams(path: str, chunk_size: int, on_read: OnRead | None = None, size: int = 0) -> Iterator[Stream | SourceError]:
    """The streams of one regular file (of ``size`` bytes when its turn came): itself, its
    decompressed content, or its archive members."""
    if on_read is None:
        yield from _file_content(path, chunk_size, None)
        return
    meter = _Meter(on_read)
    yield from _file_content(path, chunk_size, meter)
    meter.settle(size)


def _file_content(path: str, chunk_size: int, on_read: OnRead | None) -> Iterator[Stream | SourceError]:
    try:
        head = _head(path)
    except OSError as err:
        raise SourceError(f"cannot read: {_os_message(err)}", path=path) from err
    if head.startswith(_ZIP):
        yield from _zip_streams(path, chunk_size, on_read)
        return
    kind = _compression(head)
    is_tar_name = path.lower().endswith(_TAR_NAMES)
    if kind is None:
        if _looks_like_tar(head) or is_tar_name:
            yield from _tar_streams(path, _opened_chunks(path, chunk_size, on_read), None, chunk_size)
            return
        yield Stream(path, None, _opened_chunks(path, chunk_size, on_read))
        return
    late = _Late()
    inner, chunks = _peek(_decompressed(_opened_chunks(path, chunk_size, on_read), kind, path, None, late), 512)
    if _looks_like_tar(inner) or is_tar_name:
        yield from _tar_streams(path, chunks, late, chunk_size)
        return
    yield Stream(path, None, chunks)
    if late.error is not None:
        yield late.error


def _opened_chunks(path: str, chunk_size: int, on_read: OnRead | None = None) -> Iterator[bytes]:
    try:
        fh = open(path, "rb")
    except OSError as err:
        raise SourceError(f"cannot open: {_os_message(err)}", path=path) from err
    with fh:
        yield from _read_chunks(fh, chunk_size, path, None, on_read)


# -- tar ------------------------------------------------------------------------------------------


class _ChunkReader(io.RawIOBase):
    """A readable binary file over an iterator of chunks: tarfile reads an archive through it, so
    the archive's compression is undone by :func:`_decompressed` (which loses nothing and reports
    truncation and trailing garbage) rather than by tarfile (which does neither)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


class _CheckedTarInfo(tarfile.TarInfo):
    """Tells the :class:`_TarReader` reading it about every header block that is not a header:
    tarfile takes a damaged header for the end of the archive and says nothing."""

    @classmethod
    def fromtarfile(cls, tarfile_: tarfile.TarFile) -> _CheckedTarInfo:
        try:
            return super().fromtarfile(tarfile_)
        except tarfile.EOFHeaderError:  # type: ignore[attr-defined]  # a zero block: the end-of-archive marker (or its padding)
            if isinstance(tarfile_, _TarReader):
                tarfile_.end_marker = True
            raise
        except (tarfile.InvalidHeaderError, tarfile.TruncatedHeaderError) as err:  # type: ignore[attr-defined]
            if tarfile_.offset == 0:  # not a tar archive at all: no member to resume at
                raise tarfile.ReadError(str(err)) from None
            if isinstance(tarfile_, _TarReader):
                tarfile_.damage.append((tarfile_.offset, str(err) or type(err).__name__))
            raise


class _TarReader(tarfile.TarFile):
    """A tar archive read in one pass that reads past a damaged header (``ignore_zeros``: block by
    block, to the next intact header) and keeps the blocks it skipped, to be reported."""

    tarinfo = _CheckedTarInfo

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.damage: list[tuple[int, str]] = []  # (offset, why) of each block that is no header
        self.end_marker = False  # a zero block was seen: the archive was not cut short before it
        super().__init__(*args, **kwargs)


def _tar_damage(tf: _TarReader, path: str, before: str | None, info: tarfile.TarInfo | None) -> SourceError | None:
    """The report of the blocks skipped while looking for the header ``info`` (None: the end)."""
    if not tf.damage:
        return None
    start, why = tf.damage[0]
    tf.damage.clear()
    after = f" after member {display_name(before)!r}" if before is not None else ""
    if info is not None:
        resumed = f"{info.offset - start} bytes skipped, reading resumed at member {display_name(info.name)!r}"
    else:
        resumed = "the rest of the archive skipped"
    if why.startswith("truncated"):
        return SourceError(f"truncated tar archive: it ends inside a header at byte {start}{after}", path=path)
    return SourceError(f"damaged tar header at byte {start}{after} ({why}): {resumed}", path=path)


def _tar_streams(path: str, raw: Iterator[bytes], late: _Late | None, chunk_size: int) -> Iterator[Stream | SourceError]:
    """The ``*.xml`` members of the tar archive whose (decompressed) bytes ``raw`` yields."""
    try:
        tf = _TarReader.open(fileobj=_ChunkReader(raw), mode="r|", ignore_zeros=True)
    except SourceError:
        raise
    except (OSError, tarfile.TarError, EOFError) as err:
        raise SourceError(f"not a readable tar archive: {_os_message(err)}", path=path) from err
    before: str | None = None  # the last member read, to place a damaged header
    with tf:
        while True:
            try:
                info = tf.next()
            except SourceError:
                raise
            except (OSError, tarfile.TarError, EOFError) as err:
                raise SourceError(f"corrupt tar archive: {_os_message(err)}", path=path) from err
            report = _tar_damage(tf, path, before, info)
            if report is not None:
                yield report
            if info is None:
                break
            before = info.name
            if not info.isfile() or not _is_xml_name(info.name):
                continue
            fh = tf.extractfile(info)
            if fh is None:
                continue
            # The member must be read before the next one is asked for (a streaming tar): the
            # caller consumes each Stream fully before pulling the next one.
            state = _Late()
            yield Stream(path, info.name, _member_chunks(fh, chunk_size, path, info.name, state))
            if state.broken:
                return  # the archive's bytes failed: read in one pass, it cannot go on
        if not tf.end_marker and tf.offset > 0:
            where = f" after member {display_name(before)!r}" if before is not None else ""
            message = f"truncated tar archive: it ends at byte {tf.offset}{where}, without its end-of-archive marker"
            yield SourceError(message, path=path)
    if late is not None and late.error is not None:
        yield late.error


def _member_chunks(fh: Any, chunk_size: int, path: str, member: str, state: _Late) -> Iterator[bytes]:
    """A tar member's bytes; a failure is noted on ``state``: the archive cannot go on after it."""
    try:
        yield from _read_chunks(fh, chunk_size, path, member)
    except SourceError:
        state.broken = True
        raise


# -- zip ------------------------------------------------------------------------------------------


def _zip_streams(path: str, chunk_size: int, on_read: OnRead | None = None) -> Iterator[Stream | SourceError]:
    """The ``*.xml`` members of a zip archive. Its central directory finds every member, so one
    that cannot be read is reported and the others are read. ``on_read`` is told each member's
    compressed bytes as its content comes out."""
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as err:
        # No readable central directory (a copy cut short, say): the members are still found
        # one after another by their local headers, as `zip -FF` finds them.
        yield SourceError(
            f"damaged zip archive ({_os_message(err)}): members read from their local headers", path=path
        )
        yield from _zip_salvage(path, chunk_size)
        return
    except (OSError, EOFError, ValueError) as err:  # ValueError: a name not UTF-8
        raise SourceError(f"not a readable zip archive: {_os_message(err)}", path=path) from err
    with zf:
        for info in zf.infolist():
            if info.is_dir() or not _is_xml_name(info.filename):
                continue
            try:
                fh = zf.open(info)
            except (OSError, zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError, EOFError) as err:
                yield SourceError(f"cannot read member: {_os_message(err)}", path=path, member=info.filename)
                continue
            with fh:
                yield from _then_late(path, info.filename, lambda late: _zip_member_chunks(fh, info, chunk_size, path, late, on_read))


def _zip_member_chunks(
    fh: Any, info: zipfile.ZipInfo, chunk_size: int, path: str, late: _Late, on_read: OnRead | None = None
) -> Iterator[bytes]:
    """A zip member's bytes, its CRC checked here: zipfile checks it in the read that ends the
    member and drops that read's bytes with the error, so the member's last documents would be
    lost. Here they all go out, and a bad CRC is reported after them."""
    checked_here = hasattr(fh, "_expected_crc")
    if checked_here:
        fh._expected_crc = None  # zipfile's own check (it cannot be switched off another way)
    crc = 0
    # The compressed bytes read are told in proportion to the content out (zipfile reads them
    # ahead in blocks of its own); all of them once the member is done.
    packed, plain, told, out = info.compress_size, info.file_size, 0, 0
    for chunk in _read_chunks(fh, chunk_size, path, info.filename):
        crc = zlib.crc32(chunk, crc)
        if on_read is not None:
            out += len(chunk)
            due = packed if out >= plain else packed * out // plain
            if due > told:
                on_read(due - told)
                told = due
        yield chunk
    if on_read is not None and told < packed:
        on_read(packed - told)
    if checked_here and crc != info.CRC:
        message = f"bad CRC-32 (the member's data is damaged): {crc:08x}, {info.CRC:08x} expected"
        late.error = SourceError(message, path=path, member=info.filename)


_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # a zip member's local file header (30 bytes)


def _zip_salvage(path: str, chunk_size: int) -> Iterator[Stream | SourceError]:
    """The ``*.xml`` members of a zip archive whose central directory cannot be read, found by
    their local headers in order (stored or deflated; a member whose size its header does not
    give is read to the end of its deflate stream). Reading stops at the central directory, at
    the end of the file, or at the first bytes that are no member."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            data: Any = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""  # not read whole
    except (OSError, ValueError) as err:
        yield SourceError(_os_message(err), path=path)
        return
    try:
        yield from _zip_salvage_members(data, path, chunk_size)
    finally:
        if isinstance(data, mmap.mmap):
            data.close()


def _zip_salvage_members(data: Any, path: str, chunk_size: int) -> Iterator[Stream | SourceError]:
    at = 0
    while data[at : at + 4] == b"PK\x03\x04" and at + 30 <= len(data):
        _, _, flags, method, _, _, crc, csize, _, nlen, xlen = _LOCAL_HEADER.unpack_from(data, at)
        raw_name = data[at + 30 : at + 30 + nlen]
        name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", "surrogateescape")
        begin = at + 30 + nlen + xlen
        sized = not (flags & 0x08 and csize == 0)
        if method not in (0, 8) or (method == 0 and not sized) or flags & 0x01:
            yield SourceError(f"cannot read member: compression method {method} or flags {flags:#x} not supported", path=path, member=name)
            if not sized:
                return  # where the next member begins is not known
            at = begin + csize
            continue
        end = min(len(data), begin + csize) if sized else len(data)
        state = {"end": end, "cut": int(sized and begin + csize > len(data))}
        if _is_xml_name(name) and not name.endswith("/"):
            yield from _then_late(path, name, lambda late: _salvaged_member(data, begin, end, method, crc if sized else None, chunk_size, path, name, late, state))
        else:
            for _ in _salvaged_member(data, begin, end, method, None, chunk_size, path, name, _Late(), state):
                pass
        at = state["end"]
        if flags & 0x08:  # a data descriptor follows: signature (optional), crc, sizes
            at += 16 if data[at : at + 4] == b"PK\x07\x08" else 12
    if at < len(data) and data[at : at + 4] not in (b"PK\x01\x02", b"PK\x05\x06"):
        yield SourceError(f"damaged zip archive: no member header at byte {at}: reading stops there", path=path)


def _salvaged_member(
    data: Any, begin: int, end: int, method: int, crc: int | None, chunk_size: int, path: str, name: str, late: _Late, state: dict[str, int]
) -> Iterator[bytes]:
    """One salvaged member's bytes; ``state["end"]`` is set to where its data ends."""
    got = 0
    if method == 0:
        for i in range(begin, end, chunk_size):
            piece = data[i : min(end, i + chunk_size)]
            got = zlib.crc32(piece, got)
            yield piece
        state["end"] = end
        if state.get("cut"):
            late.error = SourceError("truncated member: the archive ends inside it", path=path, member=name)
            return
    else:
        d = zlib.decompressobj(-15)
        i = begin
        try:
            while i < end and not d.eof:
                out = d.decompress(data[i : min(end, i + chunk_size)])
                i = min(end, i + chunk_size)
                if out:
                    got = zlib.crc32(out, got)
                    yield out
        except zlib.error as err:
            late.error = SourceError(f"damaged member data: {err}", path=path, member=name)
            state["end"] = end
            return
        state["end"] = i - len(d.unused_data)
        if not d.eof:
            late.error = SourceError("truncated member: the archive ends inside it", path=path, member=name)
            return
    if crc is not None and got != crc:
        late.error = SourceError(f"bad CRC-32 (the member's data is damaged): {got:08x}, {crc:08x} expected", path=path, member=name)


# -- folders --------------------------------------------------------------------------------------


def walk_files(top: str, names: tuple[str, ...] = XML_NAMES) -> list[tuple[str, SourceError | None]]:
    """Every regular file under ``top`` whose name ends with one of ``names`` (in any case;
    symbolic links to files followed, to folders not: no cycles), and every folder that could not
    be read, as ``(path, error)``, in sorted path order. One unreadable folder costs only itself.
    Other files so named (FIFOs, devices, sockets) are left out: opened, they could block the walk
    for ever. Public so that a folder spread over Dask workers (:mod:`.scaleout.inputs`) is the
    same files in the same order as the sequential walk."""
    names = _takes(names)
    found: list[tuple[str, SourceError | None]] = []
    pending = [top]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            pending.append(entry.path)
                        elif entry.name.lower().endswith(names) and entry.is_file():
                            found.append((entry.path, None))
                    except OSError as err:
                        found.append((entry.path, SourceError(f"cannot read: {_os_message(err)}", path=entry.path)))
        except OSError as err:
            found.append((folder, SourceError(f"cannot read directory: {_os_message(err)}", path=folder)))
    found.sort(key=lambda item: item[0])
    return found


def _walked_file_streams(path: str, chunk_size: int, on_read: OnRead | None) -> Iterator[Stream | SourceError]:
    """A file found in a folder: read only while it is still a regular file (no FIFO swapped in)."""
    try:
        st = os.stat(path)
    except OSError as err:
        raise SourceError(_os_message(err), path=path) from err
    if stat.S_ISREG(st.st_mode):
        yield from _file_streams(path, chunk_size, on_read, st.st_size)


def _guard(streams: Iterator[Stream | SourceError]) -> Iterator[Stream | SourceError]:
    """Pass streams on; an I/O error ends this source and comes out as an item."""
    try:
        yield from streams
    except SourceError as err:
        yield err


def _path_streams(path: str, chunk_size: int, on_read: OnRead | None, names: tuple[str, ...]) -> Iterator[Stream | SourceError]:
    if path == "-":
        stdin = getattr(sys.stdin, "buffer", None)
        if stdin is None:
            raise SourceError("standard input is closed", path=STDIN_NAME)
        raw = _read_chunks(stdin, chunk_size, STDIN_NAME, None, on_read)
        yield from _then_late(STDIN_NAME, None, lambda late: _sniff_stream(raw, STDIN_NAME, late))
        return
    try:
        st = os.stat(path)
    except OSError as err:
        raise SourceError(_os_message(err), path=path) from err
    if stat.S_ISDIR(st.st_mode):
        for file, error in walk_files(path, names):
            if error is not None:
                yield error
            else:
                yield from _guard(_walked_file_streams(file, chunk_size, on_read))
        return
    if stat.S_ISREG(st.st_mode):
        yield from _file_streams(path, chunk_size, on_read, st.st_size)
        return
    # A FIFO, a character device, a socket file: read as a stream, as the bytes arrive.
    yield from _then_late(path, None, lambda late: _sniff_stream(_opened_chunks(path, chunk_size, on_read), path, late))


def _counted(chunks: Iterable[bytes], on_read: OnRead | None) -> Iterator[bytes]:
    for chunk in chunks:
        chunk = bytes(chunk)
        if on_read is not None:
            on_read(len(chunk))
        yield chunk


def _one_source(source: Any, chunk_size: int, on_read: OnRead | None, names: tuple[str, ...]) -> Iterator[Stream | SourceError]:
    if isinstance(source, (str, os.PathLike)):
        yield from _path_streams(os.fspath(source), chunk_size, on_read, names)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        yield Stream(None, None, _counted([bytes(source)], on_read))
    elif hasattr(source, "read"):
        name = getattr(source, "name", None)
        name = name if isinstance(name, str) else None
        yield Stream(name, None, _read_chunks(source, chunk_size, name, None, on_read))
    elif isinstance(source, Iterable):
        yield Stream(None, None, _counted(source, on_read))
    else:
        raise TypeError(f"cannot read checkpoints from {type(source).__name__}")


def _each(sources: Any) -> list[Any]:
    """The sources of ``sources``: a list or tuple holds several, anything else is one."""
    return list(sources) if isinstance(sources, (list, tuple)) else [sources]


def streams(
    sources: Any,
    chunk_size: int = CHUNK_SIZE,
    *,
    on_read: OnRead | None = None,
    names: tuple[str, ...] = XML_NAMES,
) -> Iterator[Stream | SourceError]:
    """Like :func:`open_streams`, but an I/O problem comes out as an item (the source it concerns
    ends there, or, when the format allows, goes on after it; the next one is read)."""
    for source in _each(sources):
        yield from _guard(_one_source(source, chunk_size, on_read, names))


def open_streams(
    sources: SourceLike | list[Any] | tuple[Any, ...],
    *,
    chunk_size: int = CHUNK_SIZE,
    on_read: OnRead | None = None,
    names: tuple[str, ...] = XML_NAMES,
) -> Iterator[Stream]:
    """The byte streams of ``sources``, in order (lazily: a file is opened when its turn comes).

    ``sources`` is one source, or a list / tuple of sources; any other iterable is one stream of
    byte chunks. Each stream must be consumed before the next one is pulled (archives are read in
    one pass). An I/O problem raises :class:`SourceError`.

    ``on_read(n)`` is told the raw bytes read from the input, as they are read: compressed bytes
    for compressed files and archives, so that with :func:`input_size` a progress display can
    show how much of the input is behind. Once a regular file is done, its figures add up to its
    size. ``names``: the name endings a folder walk takes (see :data:`XML_NAMES`).
    """
    for item in streams(sources, chunk_size, on_read=on_read, names=names):
        if isinstance(item, SourceError):
            raise item
        yield item


def input_size(sources: SourceLike | list[Any] | tuple[Any, ...], *, names: tuple[str, ...] = XML_NAMES) -> int | None:
    """The bytes on disk that :func:`streams` would read from ``sources`` (a folder: the files its
    walk takes by ``names``), found by stats alone, as the total a progress display counts the
    figures of ``on_read`` against. ``None`` when the total cannot be known beforehand: standard
    input (``"-"``), a named pipe or a device, or a source that is not a path. A path that cannot
    be read counts 0: it is reported when its turn comes."""
    total = 0
    for source in _each(sources):
        if not isinstance(source, (str, os.PathLike)):
            return None
        path = os.fspath(source)
        if path == "-":
            return None
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            continue
        if stat.S_ISDIR(st.st_mode):
            for file, error in walk_files(path, names):
                if error is None:
                    try:
                        found = os.stat(file)
                    except (OSError, ValueError):
                        continue
                    if stat.S_ISREG(found.st_mode):
                        total += found.st_size
        elif stat.S_ISREG(st.st_mode):
            total += st.st_size
        else:
            return None
    return total
