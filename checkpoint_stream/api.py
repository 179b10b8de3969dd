"""The public faces over the push core: ``parse``, ``iterparse``, ``aiterparse`` and
:class:`CheckpointParser`, in the manner of ijson: one core (:class:`.framing.Framer`), thin
faces for pull, push and async use.
"""

from __future__ import annotations

import os
from typing import IO, Any, AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Literal, Union

from .errors import CheckpointError, NotWellFormedError
from .framing import Framer, Item, fast_single
from .limits import DEFAULT_LIMITS, Limits
from .machine import Options
from .records import Checkpoint

__all__ = ["parse", "iterparse", "aiterparse", "CheckpointParser", "make_options", "OnError", "Source"]

OnError = Literal["raise", "skip"]
Source = Union[str, "os.PathLike[str]", bytes, IO[bytes], Iterable[bytes]]

CHUNK_SIZE = 1 << 16
_BYTES_CHUNK = 1 << 18


def make_options(
    *,
    redefine: bool = False,
    create: bool = False,
    internal: bool = False,
    require_domain: bool = True,
    clock: Callable[[], float] | None = None,
) -> Options:
    return Options(redefine=redefine, create=create, internal=internal, require_domain=require_domain, clock=clock)


def _limits(limits: Limits | None, overrides: dict[str, Any]) -> Limits:
    base = limits or DEFAULT_LIMITS
    if not overrides:
        return base
    values = {name: getattr(base, name) for name in base.__dataclass_fields__}
    unknown = set(overrides) - set(values)
    if unknown:
        raise TypeError(f"unknown limit(s): {', '.join(sorted(unknown))}")
    values.update(overrides)
    return Limits(**values)


class CheckpointParser:
    """Push parser: ``feed(chunk)`` returns the records finished by that chunk; ``close()`` the rest.

    With ``on_error="raise"`` (default) the first bad document raises its
    :class:`~.errors.CheckpointError`; the records completed earlier in the same call are on the
    exception as ``err.records``, so none is lost. With ``on_error="skip"`` bad documents are
    passed to ``on_error_callback`` (if given), kept in :attr:`errors`, and parsing goes on.
    """

    def __init__(
        self,
        *,
        redefine: bool = False,
        create: bool = False,
        internal: bool = False,
        require_domain: bool = True,
        clock: Callable[[], float] | None = None,
        on_error: OnError = "raise",
        on_error_callback: Callable[[CheckpointError], None] | None = None,
        limits: Limits | None = None,
        path: str | None = None,
        member: str | None = None,
        **limit_overrides: int,
    ) -> None:
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
        options = make_options(redefine=redefine, create=create, internal=internal, require_domain=require_domain, clock=clock)
        self._framer = Framer(options, _limits(limits, limit_overrides), path=path, member=member)
        self.on_error = on_error
        self.on_error_callback = on_error_callback
        self.errors: list[CheckpointError] = []

    @property
    def documents(self) -> int:
        """Documents (good and bad) completed so far."""
        return self._framer.documents

    @property
    def bytes_seen(self) -> int:
        return self._framer.bytes_seen

    def feed(self, data: bytes | bytearray | memoryview) -> list[Checkpoint]:
        if isinstance(data, str):
            raise TypeError("feed() takes bytes; encode text as UTF-8 first")
        return self._sort(self._framer.feed(bytes(data)))

    def close(self) -> list[Checkpoint]:
        return self._sort(self._framer.close())

    def feed_items(self, data: bytes | memoryview) -> list[Item]:
        """Like :meth:`feed`, but errors come back interleaved with the records, never raised."""
        return self._framer.feed(data if type(data) is bytes or type(data) is memoryview else bytes(data))

    def close_items(self) -> list[Item]:
        return self._framer.close()

    def _sort(self, items: list[Item]) -> list[Checkpoint]:
        records: list[Checkpoint] = []
        for item in items:
            if isinstance(item, CheckpointError):
                if self.on_error == "raise":
                    item.records = records  # type: ignore[attr-defined]
                    raise item
                self.errors.append(item)
                if self.on_error_callback is not None:
                    self.on_error_callback(item)
            else:
                records.append(item)
        return records


_MODE_KEYS = frozenset(Options.__dataclass_fields__)
_DEFAULT_OPTIONS = Options()


def parse(data: bytes | str, **kwargs: Any) -> Checkpoint:
    """Parse exactly one document (bytes, or text which is encoded as UTF-8)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if kwargs.keys() <= _MODE_KEYS and isinstance(data, bytes):
        # The common call, one document in libvirt's layout: no push parser to set up for it.
        record = fast_single(data, make_options(**kwargs) if kwargs else _DEFAULT_OPTIONS, DEFAULT_LIMITS)
        if record is not None:
            return record
    parser = CheckpointParser(**kwargs)
    records = parser.feed(data) + parser.close()
    if parser.documents == 0:
        raise NotWellFormedError("no document found: the input is empty or holds only whitespace and comments", document=0, line=1, column=1)
    if len(records) != 1:
        raise NotWellFormedError(f"expected one document, found {parser.documents}", document=1)
    return records[0]


def _chunks(source: Source, chunk_size: int) -> tuple[Iterator[bytes | memoryview], str | None]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        # Fed in chunks like any stream: records come out as their documents complete (constant
        # memory; one feed of a whole large stream would hold every record at once).
        # Bytes already in memory go in larger pieces by default (fewer feeds of a large document).
        data = memoryview(source if type(source) is bytes else bytes(source))
        size = _BYTES_CHUNK if chunk_size == CHUNK_SIZE else chunk_size
        return (data[i : i + size] for i in range(0, max(len(data), 1), size)), None
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)

        def read_file() -> Iterator[bytes]:
            with open(path, "rb") as fh:
                while chunk := fh.read(chunk_size):
                    yield chunk

        return read_file(), path
    read = getattr(source, "read", None)
    if read is not None:

        def read_stream() -> Iterator[bytes]:
            while True:
                chunk = read(chunk_size)
                if not chunk:
                    return
                if isinstance(chunk, str):
                    raise TypeError("iterparse() needs a binary file: open it with 'rb'")
                yield chunk

        return read_stream(), getattr(source, "name", None) if isinstance(getattr(source, "name", None), str) else None
    return (bytes(c) for c in source), None


def iterparse(
    source: Source,
    *,
    chunk_size: int = CHUNK_SIZE,
    yield_errors: bool = False,
    **kwargs: Any,
) -> Iterator[Checkpoint | CheckpointError]:
    """Yield the records of every document in ``source``, as each one completes, in constant memory.

    ``source`` is bytes, a binary file, an iterable of byte chunks, or a path: a file, a
    directory (its ``*.xml`` files, recursively, in sorted order), a ``.gz``/``.xz``/``.bz2``
    file, a ``.tar``/``.tgz``/``.tar.xz``/``.zip`` archive (member by member, never extracted),
    a named pipe, or ``"-"`` for standard input. An unreadable path raises
    :class:`~.sources.SourceError` (an ``OSError``), or is reported like a bad document in skip
    mode.

    In skip mode (``on_error="skip"``), ``yield_errors=True`` interleaves the errors with the
    records in stream order; otherwise they go to ``on_error_callback``.
    """
    if isinstance(source, (str, os.PathLike)):
        # A path may be a file, a directory, a compressed file or an archive: the source reader
        # knows them all (and '-', standard input).
        yield from _iter_path(os.fspath(source), chunk_size, yield_errors, kwargs)
        return
    chunks, path = _chunks(source, chunk_size)
    kwargs.setdefault("path", path)
    parser = CheckpointParser(**kwargs)
    skip = parser.on_error == "skip"
    for chunk in chunks:
        yield from _deliver(parser, parser.feed_items(chunk), skip, yield_errors)
    yield from _deliver(parser, parser.close_items(), skip, yield_errors)


def _iter_path(path: str, chunk_size: int, yield_errors: bool, kwargs: dict[str, Any]) -> Iterator[Any]:
    from .sources import iter_sources

    on_error = kwargs.pop("on_error", "raise")
    callback = kwargs.pop("on_error_callback", None)
    for item in iter_sources([path], on_error=on_error, chunk_size=chunk_size, **kwargs):
        if isinstance(item, (CheckpointError, OSError)):
            if callback is not None:
                callback(item)
            if yield_errors:
                yield item
        else:
            yield item


def _deliver(parser: CheckpointParser, items: list[Item], skip: bool, yield_errors: bool) -> Iterator[Any]:
    for item in items:
        if isinstance(item, CheckpointError):
            if not skip:
                raise item
            parser.errors.append(item)
            if parser.on_error_callback is not None:
                parser.on_error_callback(item)
            if yield_errors:
                yield item
        else:
            yield item


async def aiterparse(
    source: AsyncIterable[bytes] | Any,
    *,
    chunk_size: int = CHUNK_SIZE,
    yield_errors: bool = False,
    **kwargs: Any,
) -> AsyncIterator[Checkpoint | CheckpointError]:
    """Async face: ``source`` is an async iterable of bytes or has an async ``read(n)``
    (an :class:`asyncio.StreamReader`, for example)."""
    parser = CheckpointParser(**kwargs)
    skip = parser.on_error == "skip"
    read = getattr(source, "read", None)
    if read is not None:
        while True:
            chunk = await read(chunk_size)
            if not chunk:
                break
            for item in _deliver(parser, parser.feed_items(chunk), skip, yield_errors):
                yield item
    else:
        async for chunk in source:
            for item in _deliver(parser, parser.feed_items(chunk), skip, yield_errors):
                yield item
    for item in _deliver(parser, parser.close_items(), skip, yield_errors):
        yield item
