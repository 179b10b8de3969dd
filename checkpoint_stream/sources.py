"""Sources: where byte streams of checkpoint documents come from. Only I/O happens here: the
faces (:mod:`.api`) parse what these streams deliver.

:func:`open_streams` gives the byte streams of any mix of:

* paths to files (plain XML, or ``.gz`` / ``.xz`` / ``.bz2`` compressed XML: detected by their
  magic bytes, not their names);
* directories, walked recursively: every ``*.xml`` file, in sorted path order;
* ``.tar``, ``.tar.gz`` / ``.tgz``, ``.tar.xz`` / ``.txz``, ``.tar.bz2`` and ``.zip`` archives, read
  member by member, never extracted to disk: every ``*.xml`` regular-file member, in archive
  order, each member its own stream (its documents are numbered from 0);
* ``"-"``: standard input (``sys.stdin.buffer``), read as a stream;
* named pipes (FIFOs) and character devices: read as a stream, as bytes arrive;
* binary file objects, ``bytes``, and iterables of ``bytes`` chunks.

Streams that can stay open (stdin, FIFOs, sockets, file objects with ``read1``) are read with
``read1``: a record comes out as soon as its end tag has arrived, never waiting for a full chunk.

Each stream is named by its ``path`` and ``member``, so the parser given each one makes records
that carry ``Origin(path, member, index)`` and errors that carry ``source`` / ``member`` /
``document``.

I/O problems (a missing file, a corrupt archive, a read error) are :class:`SourceError`, an
:class:`OSError`: never a :class:`~.errors.CheckpointError`, so callers can tell "the input could
not be read" (the CLI's exit 2) from "a document was rejected" (exit 1).
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import select
import stat
import sys
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO, Any, Callable, Iterable, Iterator, Union

__all__ = ["SourceError", "Stream", "open_streams", "streams", "STDIN_NAME", "SourceLike", "CHUNK_SIZE"]

#: Bytes read at a time.
CHUNK_SIZE = 1 << 16

#: The name standard input goes by in origins and error messages.
STDIN_NAME = "<stdin>"

SourceLike = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes], Iterable[bytes]]

_GZIP = b"\x1f\x8b"
_XZ = b"\xfd7zXZ\x00"
_BZ2 = b"BZh"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_TAR_NAMES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tbz")


class SourceError(OSError):
    """An input could not be read: missing, unreadable, or a corrupt archive / compressed file.

    ``path`` (and ``member``, for an archive member) say which; ``message`` says what, in words.
    """

    def __init__(self, message: str, *, path: str | None = None, member: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.member = member

    def __str__(self) -> str:
        where = self.path or "?"
        if self.member:
            where += f":{self.member}"
        return f"{where}: {self.message}"


@dataclass
class Stream:
    """One byte stream: ``chunks`` yields its bytes; ``path`` / ``member`` name it."""

    path: str | None
    member: str | None
    chunks: Iterator[bytes]


# -- reading --------------------------------------------------------------------------------------


def _os_message(err: BaseException) -> str:
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return str(err) or type(err).__name__


def _read_chunks(fh: Any, chunk_size: int, path: str | None, member: str | None, *, stream: bool) -> Iterator[bytes]:
    """Chunks of a binary file object. ``stream=True`` reads with ``read1`` where there is one,
    so a pipe that stays open delivers what has arrived without waiting for a whole chunk."""
    read = getattr(fh, "read1", None) if stream else None
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
        yield bytes(chunk)


def _gunzip_stream(chunks: Iterator[bytes], path: str | None) -> Iterator[bytes]:
    """Decompress a gzip byte stream (several members allowed, as gzip itself does), chunk by chunk."""
    d = zlib.decompressobj(wbits=31)
    try:
        for chunk in chunks:
            while chunk:
                out = d.decompress(chunk)
                if out:
                    yield out
                if d.eof:
                    chunk = d.unused_data
                    d = zlib.decompressobj(wbits=31)
                    if not chunk.strip(b"\x00"):
                        chunk = b""
                else:
                    chunk = b""
        tail = d.flush()
        if tail:
            yield tail
    except zlib.error as err:
        raise SourceError(f"corrupt gzip data: {err}", path=path) from err


def _sniff_stream(chunks: Iterator[bytes], path: str | None) -> Iterator[bytes]:
    """A stream that turns out to be gzip (by its first bytes) is decompressed on the fly."""
    first = b""
    for chunk in chunks:
        first += chunk
        if len(first) >= 2:
            break
    if not first:
        return
    rest: Iterator[bytes] = _prepend(first, chunks)
    if first.startswith(_GZIP):
        yield from _gunzip_stream(rest, path)
    else:
        yield from rest


def _prepend(first: bytes, chunks: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from chunks


def _is_xml_name(name: str) -> bool:
    return name.lower().endswith(".xml")


def _head(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(512)


def _decompressor(head: bytes) -> Callable[[str], IO[bytes]] | None:
    if head.startswith(_GZIP):
        return lambda p: gzip.open(p, "rb")  # type: ignore[return-value]
    if head.startswith(_XZ):
        return lambda p: lzma.open(p, "rb")
    if head.startswith(_BZ2):
        return lambda p: bz2.open(p, "rb")
    return None


def _looks_like_tar(block: bytes) -> bool:
    return len(block) >= 262 and block[257:262] == b"ustar"


def _file_streams(path: str, chunk_size: int) -> Iterator[Stream]:
    """The streams of one regular file: itself, its decompressed content, or its archive members."""
    try:
        head = _head(path)
    except OSError as err:
        raise SourceError(f"cannot read: {_os_message(err)}", path=path) from err
    if head.startswith(_ZIP):
        yield from _zip_streams(path, chunk_size)
        return
    opener = _decompressor(head)
    lower = path.lower()
    if opener is not None:
        try:
            with opener(path) as fh:
                inner = fh.read(512)
        except (OSError, EOFError, lzma.LZMAError, zlib.error) as err:
            raise SourceError(f"corrupt compressed file: {_os_message(err)}", path=path) from err
        if _looks_like_tar(inner) or lower.endswith(_TAR_NAMES):
            yield from _tar_streams(path, chunk_size)
            return
        yield Stream(path, None, _opened_chunks(opener, path, chunk_size))
        return
    if _looks_like_tar(head) or lower.endswith(_TAR_NAMES):
        yield from _tar_streams(path, chunk_size)
        return
    yield Stream(path, None, _opened_chunks(lambda p: open(p, "rb"), path, chunk_size))


def _opened_chunks(opener: Callable[[str], IO[bytes]], path: str, chunk_size: int) -> Iterator[bytes]:
    try:
        fh = opener(path)
    except OSError as err:
        raise SourceError(f"cannot open: {_os_message(err)}", path=path) from err
    with fh:
        yield from _read_chunks(fh, chunk_size, path, None, stream=False)


def _tar_streams(path: str, chunk_size: int) -> Iterator[Stream]:
    try:
        tf = tarfile.open(path, mode="r|*")  # streaming: one pass, members in archive order
    except (OSError, tarfile.TarError, EOFError, lzma.LZMAError, zlib.error) as err:
        raise SourceError(f"not a readable tar archive: {_os_message(err)}", path=path) from err
    with tf:
        while True:
            try:
                info = tf.next()
            except (OSError, tarfile.TarError, EOFError, lzma.LZMAError, zlib.error) as err:
                raise SourceError(f"corrupt tar archive: {_os_message(err)}", path=path) from err
            if info is None:
                return
            if not info.isfile() or not _is_xml_name(info.name):
                continue
            fh = tf.extractfile(info)
            if fh is None:
                continue
            # The member must be read before the next one is asked for (a streaming tar): the
            # caller consumes each Stream fully before pulling the next one.
            yield Stream(path, info.name, _read_chunks(fh, chunk_size, path, info.name, stream=False))


def _zip_streams(path: str, chunk_size: int) -> Iterator[Stream]:
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile, EOFError) as err:
        raise SourceError(f"not a readable zip archive: {_os_message(err)}", path=path) from err
    with zf:
        for info in zf.infolist():
            if info.is_dir() or not _is_xml_name(info.filename):
                continue
            try:
                fh = zf.open(info)
            except (OSError, zipfile.BadZipFile, NotImplementedError, RuntimeError) as err:
                raise SourceError(f"cannot read member: {_os_message(err)}", path=path, member=info.filename) from err
            with fh:
                yield Stream(path, info.filename, _read_chunks(fh, chunk_size, path, info.filename, stream=False))


def _dir_files(path: str) -> list[str]:
    found: list[str] = []
    errors: list[OSError] = []
    for root, dirs, files in os.walk(path, onerror=errors.append):
        dirs.sort()
        for name in files:
            if _is_xml_name(name):
                found.append(os.path.join(root, name))
    if errors:
        err = errors[0]
        raise SourceError(f"cannot read directory: {_os_message(err)}", path=getattr(err, "filename", None) or path)
    found.sort()
    return found


def _guard(streams: Iterator[Stream]) -> Iterator[Stream | SourceError]:
    """Pass streams on; an I/O error ends this source and comes out as an item."""
    try:
        yield from streams
    except SourceError as err:
        yield err


def _path_streams(path: str, chunk_size: int) -> Iterator[Stream | SourceError]:
    if path == "-":
        stdin = getattr(sys.stdin, "buffer", None)
        if stdin is None:
            raise SourceError("standard input is closed", path=STDIN_NAME)
        yield Stream(STDIN_NAME, None, _sniff_stream(_read_chunks(stdin, chunk_size, STDIN_NAME, None, stream=True), STDIN_NAME))
        return
    try:
        st = os.stat(path)
    except OSError as err:
        raise SourceError(_os_message(err), path=path) from err
    if stat.S_ISDIR(st.st_mode):
        for file in _dir_files(path):
            yield from _guard(_path_streams(file, chunk_size))  # type: ignore[arg-type]
        return
    if stat.S_ISREG(st.st_mode):
        yield from _file_streams(path, chunk_size)
        return
    # A FIFO, a character device, a socket file: read as a stream, as the bytes arrive.
    yield Stream(path, None, _sniff_stream(_special_chunks(path, chunk_size), path))


def _special_chunks(path: str, chunk_size: int) -> Iterator[bytes]:
    try:
        fh = open(path, "rb")
    except OSError as err:
        raise SourceError(f"cannot open: {_os_message(err)}", path=path) from err
    with fh:
        yield from _read_chunks(fh, chunk_size, path, None, stream=True)


def _one_source(source: Any, chunk_size: int) -> Iterator[Stream | SourceError]:
    if isinstance(source, (str, os.PathLike)):
        yield from _path_streams(os.fspath(source), chunk_size)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        yield Stream(None, None, iter([bytes(source)]))
    elif hasattr(source, "read"):
        name = getattr(source, "name", None)
        name = name if isinstance(name, str) else None
        yield Stream(name, None, _read_chunks(source, chunk_size, name, None, stream=True))
    elif isinstance(source, Iterable):
        yield Stream(None, None, (bytes(c) for c in source))
    else:
        raise TypeError(f"cannot read checkpoints from {type(source).__name__}")


def _is_many(sources: Any) -> bool:
    return isinstance(sources, (list, tuple))


def streams(sources: Any, chunk_size: int = CHUNK_SIZE) -> Iterator[Stream | SourceError]:
    """Like :func:`open_streams`, but an I/O problem comes out as an item (the source it concerns
    ends there; the next one is read)."""
    items = list(sources) if _is_many(sources) else [sources]
    for source in items:
        yield from _guard(_one_source(source, chunk_size))  # type: ignore[arg-type]


def open_streams(sources: SourceLike | list[Any] | tuple[Any, ...], *, chunk_size: int = CHUNK_SIZE) -> Iterator[Stream]:
    """The byte streams of ``sources``, in order (lazily: a file is opened when its turn comes).

    ``sources`` is one source, or a list / tuple of sources; any other iterable is one stream of
    byte chunks. Each stream must be consumed before the next one is pulled (archives are read in
    one pass). An I/O problem raises :class:`SourceError`.
    """
    for item in streams(sources, chunk_size):
        if isinstance(item, SourceError):
            raise item
        yield item
