"""The public faces over the push core: ``parse``, ``iterparse``, ``aiterparse``,
:class:`CheckpointParser` and ``iter_sources``, in the manner of ijson: one core
(:class:`.framing.Framer`), thin faces for pull, push and async use, and one :class:`ErrorPolicy`
that decides, for every face and the command line, what becomes of a rejected document.
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import os
from typing import IO, Any, AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Literal, Mapping, Union, cast

from .errors import CheckpointError, NotWellFormedError
from .framing import Framer, Item, fast_single
from .libvirt_schemas import LibvirtSchemas, SchemasSpec
from .limits import DEFAULT_LIMITS, Limits
from .positions import StreamPosition
from .readers import Options, Reader, reader_for
from .records import Record
from .sources import CHUNK_SIZE, XML_NAMES, SourceError, SourceLike, streams

__all__ = [
    "parse",
    "iterparse",
    "aiterparse",
    "iter_sources",
    "CheckpointParser",
    "ErrorPolicy",
    "make_options",
    "OnError",
    "Source",
    "CHUNK_SIZE",
]

OnError = Literal["raise", "skip"]
#: Which kinds of document a face accepts: ``checkpoint`` (the default), ``snapshot`` or ``any``
#: (a stream may mix both); a document of another kind is a positioned error, as a wrong root is.
Kinds = Literal["checkpoint", "snapshot", "any"]
Source = Union[str, "os.PathLike[str]", bytes, IO[bytes], Iterable[bytes]]

_BYTES_CHUNK = 1 << 18
#: The reading modes and the limits, as the faces spell their keywords: each face's signature
#: lists them one by one (so that an IDE completes them and a misspelt one is a TypeError naming
#: it), and :func:`_reading` takes them from there by these names, never from a list of its own.
_MODE_KEYS = tuple(Options.__dataclass_fields__)
_LIMIT_KEYS = tuple(Limits.__dataclass_fields__)
_DEFAULT_OPTIONS = Options()

#: What a face's keywords ask for: the modes, the limits, the reader.
_Reading = tuple[Options, Limits, Union[Reader, None]]


def make_options(
    *,
    redefine: bool = False,
    create: bool = False,
    internal: bool = False,
    require_domain: bool = True,
    clock: Callable[[], float] | None = None,
    self_parent: bool = False,
    align: bool = False,
    libvirt_schemas: SchemasSpec = None,
    disk_only: bool = False,
) -> Options:
    """The reader options for these modes (``align``: each record's disks aligned with its domain
    as libvirt's driver does, an alignment error reported as the document's; ``libvirt_schemas``:
    None, ``"auto"``, a schema directory or a :class:`~.libvirt_schemas.LibvirtSchemas`, each
    nested domain then also judged by libvirt's own schemas)."""
    return Options(**locals())


def _limits(limits: Limits | None, overrides: Mapping[str, int]) -> Limits:
    base = limits or DEFAULT_LIMITS
    return dataclasses.replace(base, **overrides) if overrides else base


def _reading(given: Mapping[str, Any]) -> _Reading:
    """What a face's parameters (``given``: its ``locals()`` on entry) ask for. A limit given by
    its own keyword overrides the one of ``limits``."""
    options = Options(**{key: given[key] for key in _MODE_KEYS})
    overrides = {key: given[key] for key in _LIMIT_KEYS if given[key] is not None}
    reader, kinds = given["reader"], given["kinds"]
    if kinds != "checkpoint":
        if reader is not None:
            raise ValueError("give 'kinds' or 'reader', not both (a reader's grammar says which kinds it reads)")
        reader = reader_for(kinds)
    return options, _limits(given["limits"], overrides), reader


# -- the one on_error dispatcher ----------------------------------------------------------------


class ErrorPolicy:
    """What becomes of a rejected document (a :class:`~.errors.CheckpointError`) or an input that
    could not be read (a :class:`~.sources.SourceError`): every face and the command line decide it
    here, and nowhere else.

    ``on_error="raise"``: it is raised (the items before it have been delivered). ``"skip"``: it
    is kept in ``errors`` (when given a list), passed to ``callback`` (when given), and delivered
    as an item to callers that asked for errors; reading goes on.
    """

    __slots__ = ("skip", "callback", "errors")

    def __init__(
        self,
        on_error: str = "raise",
        callback: Callable[[Any], None] | None = None,
        errors: list[Any] | None = None,
    ) -> None:
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
        self.skip = on_error == "skip"
        self.callback = callback
        self.errors = errors

    def rejected(self, error: CheckpointError | SourceError) -> None:
        """Deal with one error: raise it, or record and report it."""
        if not self.skip:
            raise error
        if self.errors is not None:
            self.errors.append(error)
        if self.callback is not None:
            self.callback(error)

    def deliver(self, items: Iterable[Any], yield_errors: bool) -> Iterator[Any]:
        """The records of ``items``, errors dealt with in stream order (and passed on, when
        ``yield_errors``)."""
        for item in items:
            if isinstance(item, (CheckpointError, SourceError)):
                self.rejected(item)
                if yield_errors:
                    yield item
            else:
                yield item

    def records(self, items: list[Item]) -> list[Record]:
        """For push faces: the records of ``items``. When an error is raised, the records completed
        before it in the same call ride on it as ``err.records``, so none is lost."""
        records: list[Record] = []
        for item in items:
            if isinstance(item, CheckpointError):
                if not self.skip:
                    item.records = records  # type: ignore[attr-defined]
                self.rejected(item)
            else:
                records.append(item)
        return records


# -- push ------------------------------------------------------------------------------------


class CheckpointParser:
    """Push parser: ``feed(chunk)`` returns the records finished by that chunk; ``close()`` the rest.

    With ``on_error="raise"`` (default) the first bad document raises its
    :class:`~.errors.CheckpointError`; the records completed earlier in the same call are on the
    exception as ``err.records``, so none is lost. With ``on_error="skip"`` bad documents are
    passed to ``on_error_callback`` when one is given, else kept in :attr:`errors` (clear it as
    you go on a long stream), and parsing goes on. Errors hold no traceback: they pin no frame.
    ``reader`` chooses the grammar and the fast reader's memory (:mod:`.readers`).
    """

    def __init__(
        self,
        *,
        redefine: bool = False,
        create: bool = False,
        internal: bool = False,
        require_domain: bool = True,
        clock: Callable[[], float] | None = None,
        self_parent: bool = False,
        align: bool = False,
        libvirt_schemas: SchemasSpec = None,
        disk_only: bool = False,
        on_error: OnError = "raise",
        on_error_callback: Callable[[CheckpointError], None] | None = None,
        limits: Limits | None = None,
        reader: Reader | None = None,
        kinds: Kinds = "checkpoint",
        max_document_bytes: int | None = None,
        max_depth: int | None = None,
        max_attributes: int | None = None,
        max_text: int | None = None,
        max_disks: int | None = None,
        path: str | None = None,
        member: str | None = None,
    ) -> None:
        self._setup(_reading(locals()), on_error, on_error_callback, path, member)

    @classmethod
    def _made(
        cls,
        reading: _Reading,
        *,
        on_error: str = "raise",
        on_error_callback: Callable[[CheckpointError], None] | None = None,
        path: str | None = None,
        member: str | None = None,
    ) -> "CheckpointParser":
        """A parser for what a face's keywords already asked for (one per stream of a folder)."""
        parser = cls.__new__(cls)
        parser._setup(reading, on_error, on_error_callback, path, member)
        return parser

    def _setup(
        self,
        reading: _Reading,
        on_error: str,
        on_error_callback: Callable[[CheckpointError], None] | None,
        path: str | None,
        member: str | None,
    ) -> None:
        self.errors: list[CheckpointError] = []
        # Kept only when nothing else receives them: a callback that sees every error is where
        # they go, and keeping them too would grow without bound on a long stream.
        self.policy = ErrorPolicy(on_error, on_error_callback, self.errors if on_error_callback is None else None)
        options, limits, reader = reading
        self._framer = Framer(options, limits, reader=reader, path=path, member=member)

    @property
    def on_error(self) -> str:
        return "skip" if self.policy.skip else "raise"

    @property
    def on_error_callback(self) -> Callable[[CheckpointError], None] | None:
        return self.policy.callback

    @property
    def libvirt_schemas(self) -> LibvirtSchemas | None:
        """The schemas each nested domain is judged by (their ``directory`` and libvirt
        ``version``), or None: the built-in rules alone."""
        return self._framer.options.libvirt_schemas

    @property
    def documents(self) -> int:
        """Documents (good and bad) completed so far."""
        return self._framer.documents

    @property
    def bytes_seen(self) -> int:
        return self._framer.bytes_seen

    def resume_at(self, position: StreamPosition) -> "CheckpointParser":
        """Parse from ``position`` of a stream instead of its first byte (call it before the first
        :meth:`feed`, then feed the stream's bytes from ``position.offset`` on): every offset,
        line, column and document index is then the stream's, as if the parser had read it from
        the start. ``position`` must be a clean point: the stream's start or the end of a good
        document (a record's ``origin.end``); see :class:`~.positions.StreamPosition`. This is
        what lets several processes parse one huge stream in byte ranges with the sequential
        result. Returns the parser."""
        self._framer.resume_at(position)
        return self

    def feed(self, data: bytes | bytearray | memoryview) -> list[Record]:
        if isinstance(data, str):
            raise TypeError("feed() takes bytes; encode text as UTF-8 first")
        return self.policy.records(self._framer.feed(bytes(data)))

    def close(self) -> list[Record]:
        return self.policy.records(self._framer.close())

    def feed_items(self, data: bytes | memoryview) -> list[Item]:
        """Like :meth:`feed`, but errors come back interleaved with the records, never raised."""
        return self._framer.feed(data if type(data) is bytes or type(data) is memoryview else bytes(data))

    def close_items(self) -> list[Item]:
        return self._framer.close()


# -- pull --------------------------------------------------------------------------------------


def parse(
    data: bytes | str | os.PathLike[str],
    *,
    redefine: bool = False,
    create: bool = False,
    internal: bool = False,
    require_domain: bool = True,
    clock: Callable[[], float] | None = None,
    self_parent: bool = False,
    align: bool = False,
    libvirt_schemas: SchemasSpec = None,
    disk_only: bool = False,
    limits: Limits | None = None,
    reader: Reader | None = None,
    kinds: Kinds = "checkpoint",
    max_document_bytes: int | None = None,
    max_depth: int | None = None,
    max_attributes: int | None = None,
    max_text: int | None = None,
    max_disks: int | None = None,
) -> Record:
    """Parse exactly one document: bytes, text (encoded as UTF-8), or a path (:class:`os.PathLike`,
    such as :class:`pathlib.Path`: the file is read, decompressed when it is ``.gz``/``.xz``/
    ``.bz2``; a ``str`` is always the document's text). Every keyword is a mode, the limits, a
    reader or one limit: a misspelt one is a ``TypeError`` naming it, and ``on_error`` has no
    meaning for one document (iterparse takes it).

    ``libvirt_schemas``: None (the built-in rules, which judge the nested domain at its top),
    ``"auto"`` (the RELAX NG schemas of the libvirt installed on this machine) or a directory of
    them: the whole domain is then judged by libvirt's own schemas too, through lxml (the
    ``libvirt`` extra), a rejection being a :class:`~.errors.SchemaError` at the element it names.
    Without lxml, or without schemas, that is a
    :class:`~.libvirt_schemas.LibvirtSchemasUnavailable` naming what to install."""
    given = locals()  # first: the parameters only
    kwargs: dict[str, Any] = {name: given[name] for name, default in _PARSE_DEFAULTS.items() if given[name] is not default}
    if isinstance(data, os.PathLike):
        return _parse_path(os.fspath(data), kwargs)
    if isinstance(data, str):
        data = data.encode("utf-8")
    if isinstance(data, bytes):
        # The common call, one document in libvirt's layout: no push parser to set up for it.
        if not kwargs:
            record = fast_single(data, _DEFAULT_OPTIONS, DEFAULT_LIMITS)
        elif (kwargs.keys() - {"reader", "kinds"}) <= _FAST_MODES:
            modes = {k: v for k, v in kwargs.items() if k not in ("reader", "kinds")}
            options = make_options(**modes) if modes else _DEFAULT_OPTIONS
            record = fast_single(data, options, DEFAULT_LIMITS, _reading(given)[2] if "kinds" in kwargs else kwargs.get("reader"))
        else:
            record = None
        if record is not None:
            return record
    parser = CheckpointParser(**kwargs)
    records = parser.feed(data) + parser.close()
    if parser.documents == 0:
        raise NotWellFormedError("no document found: the input is empty or holds only whitespace and comments", document=0, line=1, column=1, offset=0)
    if len(records) != 1:
        raise NotWellFormedError(f"expected one document, found {parser.documents}", document=1)
    return records[0]


#: parse()'s keywords and their defaults: only those given otherwise are passed on.
_PARSE_DEFAULTS: dict[str, Any] = dict(parse.__kwdefaults__ or {})
#: The modes a whole document in libvirt's layout is read with at once, no framer set up
#: (alignment and the schemas' verdict are the framer's).
_FAST_MODES = frozenset(_MODE_KEYS) - {"align", "libvirt_schemas"}


def _sync_reader(source: Any) -> bool:
    """Whether ``source`` is a file whose ``read`` blocks (not a coroutine function)."""
    read = getattr(source, "read", None)
    return read is not None and not inspect.iscoroutinefunction(read)


def _take(items: Iterator[Any], n: int) -> list[Any]:
    """Up to ``n`` items (in a worker thread: reading and parsing them may block)."""
    return list(itertools.islice(items, n))


def _parse_path(path: str, kwargs: dict[str, Any]) -> Record:
    """The one document of a file (read through the sources: compressed files too)."""
    found: list[Record] = []
    documents = 0
    for record in iterparse(path, **kwargs):
        documents += 1
        found.append(record)  # type: ignore[arg-type]  # raise mode: records only
        if documents > 1:
            raise NotWellFormedError(f"expected one document, found more in {path}", document=1, source=path)
    if not found:
        raise NotWellFormedError(
            "no document found: the file is empty or holds only whitespace and comments",
            document=0, line=1, column=1, offset=0, source=path,
        )
    return found[0]


def _chunks(source: Source, chunk_size: int) -> tuple[Iterator[bytes | memoryview], str | None]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        # Fed in chunks like any stream: records come out as their documents complete (constant
        # memory; one feed of a whole large stream would hold every record at once).
        # Bytes already in memory go in larger pieces by default (fewer feeds of a large document).
        data = memoryview(source if type(source) is bytes else bytes(source))
        size = _BYTES_CHUNK if chunk_size == CHUNK_SIZE else chunk_size
        return (data[i : i + size] for i in range(0, max(len(data), 1), size)), None
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

        name = getattr(source, "name", None)
        return read_stream(), name if isinstance(name, str) else None
    return (bytes(c) for c in source), None  # type: ignore[union-attr, arg-type]


def iterparse(
    source: Source,
    *,
    chunk_size: int = CHUNK_SIZE,
    yield_errors: bool = False,
    on_error: str = "raise",
    on_error_callback: Callable[[CheckpointError], None] | None = None,
    redefine: bool = False,
    create: bool = False,
    internal: bool = False,
    require_domain: bool = True,
    clock: Callable[[], float] | None = None,
    self_parent: bool = False,
    align: bool = False,
    libvirt_schemas: SchemasSpec = None,
    disk_only: bool = False,
    limits: Limits | None = None,
    reader: Reader | None = None,
    kinds: Kinds = "checkpoint",
    max_document_bytes: int | None = None,
    max_depth: int | None = None,
    max_attributes: int | None = None,
    max_text: int | None = None,
    max_disks: int | None = None,
    path: str | None = None,
    member: str | None = None,
) -> Iterator[Record | CheckpointError]:
    """Yield the records of every document in ``source``, as each one completes, in constant memory.

    ``source`` is bytes, a binary file, an iterable of byte chunks, or a path: a file, a
    directory (its ``*.xml`` files, plain or compressed, recursively, in sorted order), a
    ``.gz``/``.xz``/``.bz2`` file, a ``.tar``/``.tgz``/``.tar.xz``/``.zip`` archive (member by
    member, never extracted), a named pipe, or ``"-"`` for standard input. An unreadable path
    raises :class:`~.sources.SourceError` (an ``OSError``), or is reported like a bad document in
    skip mode.

    In skip mode (``on_error="skip"``), ``yield_errors=True`` interleaves the errors with the
    records in stream order; otherwise they go to ``on_error_callback``. The modes, ``limits``,
    ``reader`` and the single limits are :func:`parse`'s. ``path`` and ``member`` name a source
    that is not a path in the records' origins and the errors (a file object's ``name`` by
    default): a path names its streams itself.
    """
    return _iterparse(source, chunk_size, yield_errors, on_error, on_error_callback, _reading(locals()), path, member)


#: iterparse()'s keywords: aiterparse() hands those it was given on to it.
_ITERPARSE_KEYS = tuple(iterparse.__kwdefaults__ or {})


def _iterparse(
    source: Source,
    chunk_size: int,
    yield_errors: bool,
    on_error: str,
    on_error_callback: Callable[[CheckpointError], None] | None,
    reading: _Reading,
    path: str | None,
    member: str | None,
) -> Iterator[Any]:
    # Not a generator itself, iterparse() checks what it is given when called, not when first read.
    policy = ErrorPolicy(on_error, on_error_callback)
    if isinstance(source, (str, os.PathLike)):
        # A path may be a file, a directory, a compressed file or an archive: the sources know
        # them all (and '-', standard input).
        return policy.deliver(_items(os.fspath(source), reading=reading, chunk_size=chunk_size), yield_errors)
    chunks, name = _chunks(source, chunk_size)
    parser = CheckpointParser._made(reading, on_error=on_error, on_error_callback=on_error_callback, path=path or name, member=member)
    parser.policy.errors = None  # yielded or passed to the callback: kept by no one here
    return _fed(parser, chunks, yield_errors)


def _fed(parser: CheckpointParser, chunks: Iterator[bytes | memoryview], yield_errors: bool) -> Iterator[Any]:
    policy = parser.policy
    for chunk in chunks:
        yield from policy.deliver(parser.feed_items(chunk), yield_errors)
    yield from policy.deliver(parser.close_items(), yield_errors)


def iter_sources(
    sources: SourceLike | list[Any] | tuple[Any, ...],
    *,
    on_error: str = "raise",
    on_error_callback: Callable[[Any], None] | None = None,
    chunk_size: int = CHUNK_SIZE,
    before_read: Callable[[], None] | None = None,
    on_chunk: Callable[[int], None] | None = None,
    on_stream: Callable[[str | None, str | None], None] | None = None,
    on_read: Callable[[int], None] | None = None,
    names: tuple[str, ...] = XML_NAMES,
    empty: str = "skip",
    redefine: bool = False,
    create: bool = False,
    internal: bool = False,
    require_domain: bool = True,
    clock: Callable[[], float] | None = None,
    self_parent: bool = False,
    align: bool = False,
    libvirt_schemas: SchemasSpec = None,
    disk_only: bool = False,
    limits: Limits | None = None,
    reader: Reader | None = None,
    kinds: Kinds = "checkpoint",
    max_document_bytes: int | None = None,
    max_depth: int | None = None,
    max_attributes: int | None = None,
    max_text: int | None = None,
    max_disks: int | None = None,
) -> Iterator[Record | CheckpointError | SourceError]:
    """Yield the records of every document of every stream of ``sources``, in order.

    ``on_error="raise"`` (default): the first rejected document raises its
    :class:`~.errors.CheckpointError` (the records before it have been yielded), and an I/O
    problem raises :class:`~.sources.SourceError`. ``on_error="skip"``: both are *yielded*,
    interleaved with the records in stream order, and reading goes on (with the next stream,
    after an I/O error).

    The callbacks let a caller watch the reading without reading itself:

    * ``before_read()`` before each read that may block (the CLI flushes its output there);
    * ``on_chunk(n)`` after each chunk of ``n`` (decompressed) bytes handed to the parser;
    * ``on_stream(path, member)`` when a stream (a file, an archive member, standard input)
      begins, before its first byte is read: which inputs gave no stream, which streams no
      document or no error, is told by what came between two calls;
    * ``on_read(n)`` with the raw bytes read from the input (compressed ones for compressed files
      and archives): against :func:`~.sources.input_size`, how much of the input is behind.

    ``names``: the name endings (any case) a folder walk takes, :data:`~.sources.XML_NAMES` by
    default; archive members are taken by ``*.xml`` alone. ``empty="error"``: a file (or archive
    member) that holds no document at all is a rejected document of its own (libvirt refuses an
    empty document), instead of nothing. The modes, ``limits``, ``reader`` and the single limits
    are :func:`parse`'s.
    """
    if empty not in ("skip", "error"):
        raise ValueError(f"empty must be 'skip' or 'error', not {empty!r}")
    policy = ErrorPolicy(on_error, on_error_callback)
    items = _items(
        sources,
        reading=_reading(locals()),
        chunk_size=chunk_size,
        before_read=before_read,
        on_chunk=on_chunk,
        on_stream=on_stream,
        on_read=on_read,
        names=names,
        empty_is_error=empty == "error",
    )
    return policy.deliver(items, True)


def _items(
    sources: Any,
    *,
    reading: _Reading,
    chunk_size: int = CHUNK_SIZE,
    before_read: Callable[[], None] | None = None,
    on_chunk: Callable[[int], None] | None = None,
    on_stream: Callable[[str | None, str | None], None] | None = None,
    on_read: Callable[[int], None] | None = None,
    names: tuple[str, ...] = XML_NAMES,
    empty_is_error: bool = False,
) -> Iterator[Any]:
    """Records and errors of every stream, in order; never raises for a rejected document or an
    unreadable input (the caller's policy decides)."""
    pending = streams(sources, chunk_size, on_read=on_read, names=names)
    # An archive member that cannot be read is reported; what follows it is the sources' call
    # (a tar read in one pass ends there, a zip goes on with its other members).
    while True:
        if before_read is not None:
            before_read()
        stream = next(pending, None)
        if stream is None:
            return
        if isinstance(stream, SourceError):
            yield stream
            continue
        if on_stream is not None:
            on_stream(stream.path, stream.member)
        parser = CheckpointParser._made(reading, on_error="skip", path=stream.path, member=stream.member)
        chunks = stream.chunks
        try:
            while True:
                if before_read is not None:
                    before_read()
                chunk = next(chunks, None)
                if chunk is None:
                    break
                if on_chunk is not None:
                    on_chunk(len(chunk))
                yield from parser.feed_items(chunk)
        except SourceError as err:
            yield err
            continue
        yield from parser.close_items()
        if empty_is_error and parser.documents == 0:
            yield NotWellFormedError(
                "no document found: the file is empty or holds only whitespace and comments",
                document=0, line=1, column=1, offset=0, source=stream.path, member=stream.member,
            )


# -- async -------------------------------------------------------------------------------------


async def aiterparse(
    source: AsyncIterable[bytes] | Any,
    *,
    chunk_size: int = CHUNK_SIZE,
    yield_errors: bool = False,
    on_error: str = "raise",
    on_error_callback: Callable[[CheckpointError], None] | None = None,
    redefine: bool = False,
    create: bool = False,
    internal: bool = False,
    require_domain: bool = True,
    clock: Callable[[], float] | None = None,
    self_parent: bool = False,
    align: bool = False,
    libvirt_schemas: SchemasSpec = None,
    disk_only: bool = False,
    limits: Limits | None = None,
    reader: Reader | None = None,
    kinds: Kinds = "checkpoint",
    max_document_bytes: int | None = None,
    max_depth: int | None = None,
    max_attributes: int | None = None,
    max_text: int | None = None,
    max_disks: int | None = None,
    path: str | None = None,
    member: str | None = None,
) -> AsyncIterator[Record | CheckpointError]:
    """Async face: ``source`` is an async iterable of bytes, has an async ``read(n)`` (an
    :class:`asyncio.StreamReader`, for example), or is what :func:`iterparse` takes: a path (file,
    folder, compressed file, archive) or a binary file, read in a worker thread so that the event
    loop never blocks on disk. The keywords are :func:`iterparse`'s."""
    given = locals()  # first: the parameters only
    if isinstance(source, (str, os.PathLike)) or _sync_reader(source):
        import asyncio  # here: importing it costs every other user of the package memory and time

        sync_source = cast(Source, source)  # a path or a file with a blocking read, as checked
        items = iterparse(sync_source, **{key: given[key] for key in _ITERPARSE_KEYS})
        while True:
            batch = await asyncio.to_thread(_take, items, 256)
            for item in batch:
                yield item
            if len(batch) < 256:
                return
    parser = CheckpointParser._made(_reading(given), on_error=on_error, on_error_callback=on_error_callback, path=path, member=member)
    policy = parser.policy
    policy.errors = None  # yielded or passed to the callback: kept by no one here
    read = getattr(source, "read", None)
    if read is not None:
        while True:
            chunk = await read(chunk_size)
            if not chunk:
                break
            for item in policy.deliver(parser.feed_items(chunk), yield_errors):
                yield item
    else:
        async for chunk in source:
            for item in policy.deliver(parser.feed_items(chunk), yield_errors):
                yield item
    for item in policy.deliver(parser.close_items(), yield_errors):
        yield item
