"""The ``checkpoint-stream`` command line: ``parse``, ``format``, ``normalize``, ``validate``,
``chain``.

Exit status: 0 when every document was good, 1 when any was rejected (or garbage stood between
documents, or an input held no document at all, unless ``--allow-empty``), 2 for a usage error, an
input that could not be read or an output that could not be written (an I/O error outranks a
rejected document), 130 when interrupted (SIGINT) and 141 when the reader of standard output went
away (SIGPIPE), as a C filter would report. Standard error is best-effort: closed, full or a broken
pipe, it changes neither the output nor the exit status.

Errors go to standard error as ``PATH[:MEMBER]:LINE:COL: error: MESSAGE (document N, offset K)``:
LINE:COL counted from the start of the file (archive member, standard input), as ``grep -n`` and
an editor count, N the document's 0-based index in its stream (the ``source.index`` of the JSON
output) and K the byte offset in the stream. An input without any document is a warning,
``PATH: warning: no document found (WHY)``. ``--errors json`` writes each of them as one JSON
object per line instead (:func:`error_object`), for a program to read; ``-q`` writes none of them.
``-l`` / ``-L`` print, like ``grep``, only the names of the streams with / without an error.

Output is flushed before every read that may block, so the commands work as filters on a pipe
that stays open. Progress (``--progress``, or standard error a terminal) is drawn like ``pv``'s:
percent, bytes, rate and time left when the size of the input is known, bytes, documents and rate
when it is not (standard input, a pipe).

``validate``, ``parse`` and ``chain`` take ``--jobs N`` (a local Dask cluster of N processes) or
``--scheduler ADDRESS`` (an existing one): the workers read the files, and the output, errors and
exit status are those of the sequential run. Only then is Dask imported (:mod:`.dask`).
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import re
import sys
import time
from typing import IO, TYPE_CHECKING, Any, Iterator, NoReturn

from .align import align_disks, align_snapshot_disks
from .api import iter_sources
from .readers import KINDS
from .chain import ERROR, RESTORE_MODE, Chain, ChainBuilder
from .errors import CheckpointError, NotWellFormedError, SchemaError
from .libvirt_schemas import LibvirtSchemas, LibvirtSchemasUnavailable, resolve
from .limits import Limits
from .records import Checkpoint, Origin, Record, Snapshot
from .sources import CHUNK_SIZE, JSON_NAMES, XML_NAMES, SourceError, input_size, streams
from .version import __version__
from .writer import dumps

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

__all__ = ["main", "command"]

PROG = "checkpoint-stream"
EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2
EXIT_PIPE = 141  # 128 + SIGPIPE, what a C filter reports when its reader goes away
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a job stopped by Ctrl-C

#: The exit statuses, as ``--help`` shows them (the README quotes this text).
EXIT_STATUS_HELP = """\
exit status:
  0    every document was good
  1    some document was rejected, or an input held garbage or no document (chain: some error)
  2    usage error, an input that cannot be read, or an output that cannot be written
  130  interrupted (SIGINT)
  141  the reader of standard output went away (SIGPIPE)"""

#: ``format`` refuses a JSON line nested deeper than this before decoding it: the decoder recurses,
#: so a line of 100,000 ``[`` would end the run with a RecursionError. A line that ``parse`` writes
#: nests 3 levels (checkpoint, disks, disk).
MAX_JSON_DEPTH = 64

_LIMIT_FLAGS = ("max_document_bytes", "max_depth", "max_attributes", "max_text", "max_disks")


class UsageError(Exception):
    pass


class OutputError(Exception):
    """Standard output could not be written: closed, full, not writable. Its reader going away is
    not one of these (that stays a BrokenPipeError, exit 141). Deliberately not an OSError, so that
    no handler of *input* errors on the way up (a SourceError is an OSError) can take it for one."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    @classmethod
    def of(cls, err: BaseException) -> "OutputError":
        if isinstance(err, OSError) and err.strerror:
            return cls(err.strerror)
        return cls(str(err) or type(err).__name__)


def _stdout_missing() -> OutputError:
    """Python sets ``sys.stdout`` to None when file descriptor 1 was closed at startup
    (``>&-``): the same failure as writing to a closed descriptor, in the same words."""
    return OutputError(os.strerror(errno.EBADF))


# -- output ---------------------------------------------------------------------------------------


class Output:
    """Standard output as bytes, flushed on demand (before a read that may block, and at the end).

    A failed write raises :class:`OutputError` (a clean message, exit 2), except that its reader
    going away stays a BrokenPipeError (exit 141, no message)."""

    def __init__(self, stream: IO[Any] | None) -> None:
        self.binary = getattr(stream, "buffer", None)
        self.text = stream

    def write(self, text: str) -> None:
        if self.text is None:
            raise _stdout_missing()
        try:
            if self.binary is not None:
                self.binary.write(text.encode("utf-8"))
            else:
                self.text.write(text)
        except BrokenPipeError:
            raise
        except (OSError, ValueError) as err:
            raise OutputError.of(err) from err

    def flush(self) -> None:
        if self.text is None:
            return
        try:
            if self.binary is not None:
                self.binary.flush()
            self.text.flush()
        except BrokenPipeError:
            raise
        except (OSError, ValueError) as err:
            raise OutputError.of(err) from err


def _say(text: str) -> bool:
    """Write ``text`` to standard error, best-effort: False when it could not be written.

    Standard error may be None (descriptor 2 closed at startup: ``2>&-``), full, or a pipe whose
    reader went away; none of that may stop the work or change the exit status, which only the
    documents and standard output decide."""
    stream = sys.stderr
    if stream is None:
        return False
    try:
        stream.write(text)
        stream.flush()
    except (OSError, ValueError, AttributeError):
        return False
    return True


class Progress:
    """A one-line progress display on standard error, like ``pv``'s.

    With the input's size known (``total``: files on disk), the line shows percent, bytes done and
    total, rate and the time left; without it (standard input, a pipe), bytes, documents and
    rates. ``raw(n)`` counts bytes as read from disk (compressed ones, for a compressed input: what
    the total counts); ``chunk(n)`` counts bytes handed to the parser, and only stands in while no
    raw count comes (a source that cannot tell).

    Best-effort: the first write that fails (standard error closed, full, a broken pipe) turns the
    display off for the rest of the run; the work goes on as if it had never been asked for."""

    def __init__(self, enabled: bool, stream: IO[str] | None, total: int | None = None) -> None:
        self.enabled = enabled
        self.stream = stream
        self.total = total
        self.bytes = 0
        self.raw_bytes = 0
        self.documents = 0
        self.start = time.monotonic()
        self.last = 0.0
        self.shown = False

    def chunk(self, n: int) -> None:
        self.bytes += n
        self._maybe_draw()

    def raw(self, n: int) -> None:
        self.raw_bytes += n
        self._maybe_draw()

    def document(self) -> None:
        self.documents += 1
        if self.enabled and self.documents % 64 == 0:
            self._maybe_draw()

    def _maybe_draw(self) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last >= 0.2:
            self.last = now
            self._draw(now)

    def line(self, now: float) -> str:
        """The display's text at time ``now``."""
        elapsed = max(now - self.start, 1e-6)
        done = self.raw_bytes or self.bytes
        documents = f"{self.documents} document{'s' if self.documents != 1 else ''}"
        if self.total:
            rate = done / elapsed
            percent = min(100.0, 100.0 * done / self.total)
            left = max(self.total - done, 0)
            eta = _clock(left / rate) if rate > 0 and left else ("0:00:00" if not left else "-:--:--")
            return f"{percent:3.0f}%  {_human(done)} / {_human(self.total)}  {_human(rate)}/s  ETA {eta}  {documents}"
        return f"{_human(done)}  {documents}  {_human(done / elapsed)}/s  {self.documents / elapsed:.0f} documents/s"

    def _draw(self, now: float) -> None:
        if self._put("\r\x1b[K" + self.line(now)):
            self.shown = True

    def _put(self, text: str) -> bool:
        """Write to the display's stream; on failure, turn the display off for good."""
        try:
            if self.stream is None:
                raise ValueError("no standard error")
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError, AttributeError):
            self.enabled = False
            self.shown = False
            return False
        return True

    def clear(self) -> None:
        if self.enabled and self.shown:
            self.shown = False
            self._put("\r\x1b[K")

    def finish(self) -> None:
        if self.enabled:
            self._draw(time.monotonic())
            if self.enabled:
                self._put("\n")
            self.shown = False
        self.enabled = False  # one final line: a later finish() (the summary's, the run's) draws none


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def _clock(seconds: float) -> str:
    """``H:MM:SS``, as ``pv`` writes its ETA."""
    whole = int(seconds + 0.5)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


# -- errors and warnings --------------------------------------------------------------------------

#: ``(limit max_disks)`` at the end of a LimitError's message: the CLI adds the flag that sets it.
_LIMIT_NOTE = re.compile(r"\(limit (max_[a-z_]+)\)")


def cli_message(message: str) -> str:
    """A library message as the command line shows it: a limit is named by its flag too
    (``(limit max_disks, --max-disks)``), since the user of the CLI sets it with that flag and
    never sees the keyword."""

    def flag(m: re.Match[str]) -> str:
        name = m[1]
        if name not in _LIMIT_FLAGS:
            return m[0]
        return f"(limit {name}, --{name.replace('_', '-')})"

    return _LIMIT_NOTE.sub(flag, message)


def _where(path: str | None, member: str | None) -> str:
    where = path if path is not None else "<input>"
    if member:
        where += f":{member}"
    return where


def _source_position(err: CheckpointError) -> tuple[int | None, int | None]:
    """Line and column counted from the start of the file (what an editor shows), falling back to
    the document's own when the layer that raised the error could not count them (for the first
    document of a file, the two are the same)."""
    line = getattr(err, "source_line", None)
    if line is not None:
        return line, getattr(err, "source_column", None)
    return err.line, err.column


def format_error(err: CheckpointError) -> str:
    """``PATH[:MEMBER]:LINE:COL: error: MESSAGE (document N, offset K)``; unknown parts are left
    out. LINE:COL count from the start of the file (or archive member, or standard input), as K
    does, so that an editor or ``sed -n LINEp`` finds the place."""
    where = _where(err.source, err.member)
    line, column = _source_position(err)
    if line is not None:
        where += f":{line}"
        if column is not None:
            where += f":{column}"
    notes = []
    if err.document is not None:
        notes.append(f"document {err.document}")
    if err.offset is not None and err.document is not None:
        notes.append(f"offset {err.offset}")
    tail = f" ({', '.join(notes)})" if notes else ""
    return f"{where}: error: {cli_message(err.message)}{tail}"


#: The keys of an ``--errors json`` line, in their order.
ERROR_KEYS = (
    "type", "class", "message", "path", "member", "document", "line", "column",
    "documentLine", "documentColumn", "offset", "element",
)


def error_object(err: CheckpointError | SourceError) -> dict[str, Any]:
    """An error as one ``--errors json`` line: ``path``/``member`` name the stream, ``line``/
    ``column`` count from its start and ``documentLine``/``documentColumn`` from the document's,
    ``offset`` is the byte offset in the stream and ``element`` the element path; what is not
    known is null (an input that cannot be read, a ``SourceError``, has only a path)."""
    obj: dict[str, Any] = dict.fromkeys(ERROR_KEYS)
    obj["type"] = "error"
    obj["class"] = type(err).__name__
    if isinstance(err, SourceError):
        obj.update(message=err.message, path=err.path, member=err.member)
        return obj
    line, column = _source_position(err)
    obj.update(
        message=cli_message(err.message),
        path=err.source,
        member=err.member,
        document=err.document,
        line=line,
        column=column,
        documentLine=err.line,
        documentColumn=err.column,
        offset=err.offset,
        element=err.path,
    )
    return obj


def warning_object(path: str | None, member: str | None, message: str) -> dict[str, Any]:
    """A warning as one ``--errors json`` line: the keys of an error's, ``type`` ``"warning"``."""
    obj: dict[str, Any] = dict.fromkeys(ERROR_KEYS)
    obj.update(type="warning", message=message, path=path, member=member)
    obj["class"] = "NoDocumentFound"
    return obj


class _StreamState:
    """What the reporter knows of the stream being read: whether anything came out of it (no
    document at all is a warning), and whether it had an error (``-l``/``-L``)."""

    __slots__ = ("path", "member", "items", "failed", "broken")

    def __init__(self, path: str | None, member: str | None) -> None:
        self.path = path
        self.member = member
        self.items = 0  # documents, good or rejected, and stretches of garbage
        self.failed = False  # a rejected document or garbage: -l lists it
        self.broken = False  # it could not be read to its end: -L cannot vouch for it


#: Why a stream, a folder or an archive yields no document (the warning's parenthesis).
_EMPTY_STREAM = "empty, or only whitespace and comments"


class Reporter:
    """Errors and warnings on standard error, the names ``-l``/``-L`` print, and the counts that
    make the exit status and ``validate``'s summary.

    Garbage between documents (a log line, stray text: ``between_documents``) is reported like a
    rejected document, and makes the exit status 1 the same way, but is counted apart: it is no
    document, and a summary that called it one would count documents that were never there."""

    def __init__(
        self,
        progress: Progress,
        out: Output,
        *,
        errors: str = "text",
        quiet: bool = False,
        listing: str | None = None,
        allow_empty: bool = False,
        empty_why: str = _EMPTY_STREAM,
    ) -> None:
        self.progress = progress
        self.empty_why = empty_why
        self.out = out
        self.json = errors == "json"
        self.quiet = quiet
        self.listing = listing
        self.allow_empty = allow_empty
        self.good = 0
        self.rejected = 0
        self.garbage = 0
        self.io_errors = 0
        self.empty = 0
        self.streams = 0
        self.current: _StreamState | None = None
        #: The schemas --libvirt-schemas resolved to, named in validate's summary.
        self.schemas: LibvirtSchemas | None = None

    def _say(self, line: str) -> None:
        """One line on standard error, unless ``-q``; the progress line makes way for it."""
        if self.quiet:
            return
        self.progress.clear()
        _say(line + "\n")

    def _emit(self, text: str, obj: dict[str, Any]) -> None:
        self._say(json.dumps(obj, ensure_ascii=False) if self.json else text)

    # streams

    def stream(self, path: str | None, member: str | None) -> None:
        """A stream begins (``iter_sources``' ``on_stream``): the one before it is over."""
        self.end_stream()
        self.current = _StreamState(path, member)
        self.streams += 1

    def end_stream(self) -> None:
        """The current stream is over: warn when it held nothing, and list it for ``-L``."""
        state, self.current = self.current, None
        if state is None:
            return
        if state.items == 0 and not state.broken:
            self.no_document(state.path, state.member, self.empty_why)
        if self.listing == "without" and not state.failed and not state.broken:
            self.out.write(_where(state.path, state.member) + "\n")

    def _mine(self, path: str | None, member: str | None) -> _StreamState | None:
        """The current stream, when ``path``/``member`` name it (an error of a path that could not
        be opened belongs to no stream)."""
        state = self.current
        if state is not None and state.path == path and (member is None or member == state.member):
            return state
        return None

    def seen(self, origin: Origin | None) -> None:
        """A good document came out of the stream ``origin`` names."""
        if origin is not None:
            state = self._mine(origin.path, origin.member)
            if state is not None:
                state.items += 1

    def _failed(self, state: _StreamState | None) -> None:
        if state is None:
            return
        state.items += 1
        if not state.failed:
            state.failed = True
            if self.listing == "with":
                self.out.write(_where(state.path, state.member) + "\n")

    # what is reported

    def document_error(self, err: CheckpointError) -> None:
        if getattr(err, "between_documents", False):
            self.garbage += 1
        else:
            self.rejected += 1
        self._failed(self._mine(err.source, err.member))
        if self.listing is None:  # -l/-L answer with names only, as grep does: a rejected document is a "match"
            self._emit(format_error(err), error_object(err))

    def io_error(self, err: SourceError) -> None:
        self.io_errors += 1
        state = self._mine(err.path, err.member)
        if state is not None:
            state.broken = True
        self._emit(f"{_where(err.path, err.member)}: error: {err.message}", error_object(err))

    def no_document(self, path: str | None, member: str | None, why: str) -> None:
        """An input that holds no document: loud (a typo in a path, the wrong folder, an empty
        pipe must not look like success), unless ``--allow-empty``."""
        if self.allow_empty:
            return
        self.empty += 1
        message = f"no document found ({why})"
        self._emit(f"{_where(path, member)}: warning: {message}", warning_object(path, member, message))

    @property
    def status(self) -> int:
        if self.io_errors:
            return EXIT_USAGE
        return EXIT_REJECTED if self.rejected or self.garbage or self.empty else EXIT_OK

    def summary(self) -> str:
        """``validate``'s line: documents (garbage is none), valid, invalid, and the garbage."""
        good, bad = self.good, self.rejected
        line = f"{good + bad} documents, {good} valid, {bad} invalid"
        if self.garbage:
            line += f"; {self.garbage} stretch{'es' if self.garbage != 1 else ''} of garbage between documents"
        if self.schemas is not None:
            line += f"; domains judged by libvirt's schemas in {self.schemas.describe()}"
        return line


# -- arguments ------------------------------------------------------------------------------------


def _positive(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {value}")
    return value


#: The keys of one ``parse`` JSON line, in their order (``active`` only with ``--internal``):
#: what ``--fields`` chooses among.
PARSE_FIELDS = (
    "type", "name", "description", "state", "parent", "creationTime", "memory", "disks", "domain", "inactiveDomain",
    "cookie", "active", "vm", "vmName", "source",
)


def _fields(text: str) -> tuple[str, ...]:
    """``--fields``: comma-separated keys of the JSON line, each once, in the order given; an
    unknown one is a usage error that lists the valid ones (a typo must not give empty lines)."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"no field given (valid: {', '.join(PARSE_FIELDS)})")
    unknown = [name for name in names if name not in PARSE_FIELDS]
    if unknown:
        s = "s" if len(unknown) != 1 else ""
        raise argparse.ArgumentTypeError(
            f"unknown field{s} {', '.join(repr(n) for n in unknown)} (valid: {', '.join(PARSE_FIELDS)})"
        )
    return tuple(dict.fromkeys(names))


class _HelpFormatter(argparse.HelpFormatter):
    """Reflows prose as argparse does, but keeps hand-laid text (a line that starts indented, like
    the exit-status table) as written: reflowed, the table would run into one paragraph."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n " in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        kwargs.setdefault("epilog", EXIT_STATUS_HELP)
        super().__init__(*args, **kwargs)

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        """Help, version and usage text. argparse swallows every failed write; a failed write to
        standard output (``--help >/dev/full``) is reported like any other (exit 2, or 141 for a
        reader gone away); standard error stays best-effort."""
        if not message:
            return
        if file is None or file is sys.stderr:
            _say(message)
            return
        try:
            file.write(message)
        except BrokenPipeError:
            raise
        except (OSError, ValueError) as err:
            if file is sys.stdout:
                raise OutputError.of(err) from err

    def error(self, message: str) -> None:  # type: ignore[override]
        if sys.stderr is not None:
            self.print_usage(sys.stderr)  # argparse ignores a failing write itself
        _say(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Stream-parse, validate and write libvirt <domaincheckpoint> and <domainsnapshot> XML.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def common(
        p: argparse.ArgumentParser,
        *,
        modes: bool = True,
        limits: bool = True,
        skip_default: str = "stop",
        reporting: bool = True,
        json_input: bool = False,
        scale: bool = False,
        kind_default: str = "any",
    ) -> None:
        if json_input:
            takes = ("files of JSON Lines (as parse prints them), folders (their *.jsonl and *.json files, "
                     "recursively; .gz/.xz/.bz2 compressed too, any case), .gz/.xz/.bz2 files, FIFOs, or '-' "
                     "for standard input (the default)")
        else:
            takes = ("files, folders (their *.xml and *.xml.gz/.xml.xz/.xml.bz2 files, recursively, any case), "
                     ".gz/.xz/.bz2 files, .tar/.tgz/.txz/.zip archives (their *.xml members), FIFOs, or '-' for "
                     "standard input (the default)")
        p.add_argument("paths", nargs="*", metavar="PATH", help=takes)
        skip_note = f"default: {skip_default}" if skip_default == "skip" or not reporting else f"default: {skip_default}; skip with -l/-L"
        p.add_argument(
            "--on-error",
            choices=("stop", "skip"),
            default=None,
            help=f"stop at the first rejected document, or report it and go on ({skip_note})",
        )
        p.set_defaults(skip_default=skip_default)
        p.add_argument(
            "--progress",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="show progress on standard error, like pv: percent, bytes, rate and time left when the "
            "size of the input is known, else bytes, documents and rates (default: when standard error "
            "is a terminal, and not with -q)",
        )
        if reporting:
            g = p.add_argument_group("reporting")
            g.add_argument(
                "--errors",
                choices=("text", "json"),
                default="text",
                help="how errors and warnings are written on standard error: text lines "
                "PATH[:MEMBER]:LINE:COL: error: MESSAGE (document N, offset K), or one JSON object per "
                "line with the keys " + ", ".join(ERROR_KEYS) + " (default: text)",
            )
            listing = g.add_mutually_exclusive_group()
            listing.add_argument(
                "-l",
                "--files-with-errors",
                dest="listing",
                action="store_const",
                const="with",
                help="like grep -l: print only the names (PATH or PATH:MEMBER) of the streams with an "
                "error, one per line, on standard output; the rejected documents themselves are not "
                "reported (an input that cannot be read still is, on standard error)",
            )
            listing.add_argument(
                "-L",
                "--files-without-errors",
                dest="listing",
                action="store_const",
                const="without",
                help="like grep -L: print only the names of the streams read to their end without an error",
            )
            g.add_argument(
                "-q",
                "--quiet",
                action="store_true",
                help="write no error, warning or summary: the exit status says it all",
            )
            g.add_argument(
                "--allow-empty",
                action="store_true",
                help="an input without any document (an empty file or standard input, a folder without "
                "a matching file, an archive without an XML member) is no warning and no failure",
            )
        if modes:
            group = p.add_mutually_exclusive_group()
            group.add_argument("--redefine", action="store_true", help="libvirt's REDEFINE parse mode")
            group.add_argument("--create", action="store_true", help="libvirt's plain create parse mode")
            p.add_argument("--internal", action="store_true", help="read the internal format (with <active>)")
            p.add_argument(
                "--no-require-domain",
                action="store_true",
                help="with --redefine: accept documents without a <domain> (relaxed redefine)",
            )
            p.add_argument(
                "--disk-only",
                action="store_true",
                help="snapshots: libvirt's DISK_ONLY flag (--redefine then needs the disk-snapshot state; "
                "--create reads the snapshot as offline, so memory cannot be saved)",
            )
        p.add_argument(
            "--kind",
            choices=KINDS,
            default=kind_default,
            help="which documents to accept: <domaincheckpoint>, <domainsnapshot> or both (a document of "
            f"another kind is rejected like a wrong root; default: {kind_default})",
        )
        p.add_argument(
            "--align",
            action="store_true",
            help="align each document's disks with its domain, as libvirt's driver does (a snapshot's external "
            "files named as libvirt names them)",
        )
        p.add_argument(
            "--libvirt-schemas",
            nargs="?",
            const="auto",
            default=None,
            metavar="DIR",
            help="judge each whole <domain> by libvirt's own RELAX NG schemas as well: those of the libvirt "
            "installed here (/usr/share/libvirt/schemas, ...), or, as --libvirt-schemas=DIR (attached, as "
            "GNU tools take an optional argument), the ones in DIR (needs lxml: "
            "pip install 'checkpoint-stream[libvirt]')",
        )
        if scale:
            scale_group = p.add_argument_group(
                "scale-out (needs the dask extra: pip install 'checkpoint-stream[dask]')",
                "The files are read by Dask workers, in parallel; the output is the same as without "
                "these flags (by input, then document index). Standard input and --progress do not "
                "apply.",
            )
            g = scale_group.add_mutually_exclusive_group()
            g.add_argument("--jobs", type=_positive, metavar="N", help="read on a local Dask cluster of N processes")
            g.add_argument(
                "--scheduler",
                metavar="ADDRESS",
                help="read on the Dask cluster whose scheduler is at ADDRESS (tcp://HOST:8786); the workers "
                "must see the same paths (a shared file system, or fsspec URLs such as s3://)",
            )
        if limits:
            g = p.add_argument_group("limits (per document)")
            for name in _LIMIT_FLAGS:
                g.add_argument("--" + name.replace("_", "-"), type=_positive, metavar="N", dest=name)

    def writer_flags(p: argparse.ArgumentParser, *, internal: bool) -> None:
        g = p.add_argument_group("output")
        g.add_argument("--no-domain", action="store_true", help="leave out the <domain>")
        g.add_argument("--secure", action="store_true", help="keep secure information in the <domain>")
        g.add_argument("--size", action="store_true", help="write the disks' size attributes")
        if internal:
            g.add_argument("--internal", action="store_true", help="write the internal format (with <active>)")

    p = sub.add_parser("parse", help="XML in, JSON Lines out (one object per document)")
    common(p, scale=True)
    g = p.add_argument_group("output")
    g.add_argument("--no-domain", action="store_true", help="leave the domain out (\"domain\": null)")
    g.add_argument(
        "--secure",
        action="store_true",
        help="keep the domain's secrets (passwords, cookies); without it they are left out, as libvirt "
        "leaves them out unless asked for VIR_DOMAIN_XML_SECURE",
    )
    g.add_argument(
        "--fields",
        type=_fields,
        metavar="F1,F2,...",
        help="write only these keys of each JSON line, in this order (of: " + ", ".join(PARSE_FIELDS) + ")",
    )
    p.set_defaults(func=cmd_parse)

    p = sub.add_parser(
        "format",
        help="JSON Lines (as parse prints them) in, XML documents out",
        description="Write each JSON line (as parse prints them) as a <domaincheckpoint> document. A "
        "folder is read for its *.jsonl and *.json files (recursively, .gz/.xz/.bz2 compressed too, any "
        "case). Errors name the line of the file: PATH:LINE: error: MESSAGE.",
    )
    common(p, modes=False, limits=False, json_input=True)
    writer_flags(p, internal=True)
    p.set_defaults(func=cmd_format)

    p = sub.add_parser("normalize", help="XML in, XML out in libvirt's layout")
    common(p)
    writer_flags(p, internal=False)
    p.set_defaults(func=cmd_normalize)

    p = sub.add_parser(
        "validate",
        help="report rejected documents and a one-line summary",
        description="Check every document; print each rejected one on standard error and a summary "
        "line on standard output: 'N documents, G valid, B invalid', and '; S stretches of garbage "
        "between documents' when text that is no document (a log line, stray text) stood between "
        "them (reported as errors, counted apart: it is no document). Interrupted (Ctrl-C), the "
        "summary of what was read is still printed, marked '; interrupted', and the exit status is "
        "130. Unlike the other commands, --on-error defaults to skip here, so the report covers the "
        "whole input.",
    )
    common(p, skip_default="skip", scale=True)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "chain",
        help="per VM, the checkpoint and snapshot trees, their problems and the redefine order",
        description="Read an archive (folders, tar archives, streams) and show, per VM, the tree the "
        "checkpoints' <parent> links make, like 'virsh checkpoint-list --tree', and the snapshots' "
        "tree beside it (a tree of its own: libvirt keeps the two apart), then every problem "
        "found, as PATH[:MEMBER]: error|warning: MESSAGE [kind] (checkpoint NAME) or (snapshot NAME). "
        "Documents are read as a restore reads them, in libvirt's REDEFINE mode without requiring "
        "<domain> (unless --redefine or --create is given); the current snapshot is the one marked "
        "<active>1</active>, which only --internal reads (libvirt's own metadata files). Rejected "
        "documents, and files holding no document, are problems of kind 'invalid' and the chain around "
        "them is still analysed (--on-error defaults to skip here). Warnings alone leave the exit status 0.",
    )
    common(p, skip_default="skip", reporting=False, scale=True, kind_default="any")
    shape = p.add_mutually_exclusive_group()
    shape.add_argument(
        "--order",
        action="store_true",
        help="one line per restorable checkpoint or snapshot, in redefine order: "
        "VM-UUID<TAB>NAME<TAB>PATH[:MEMBER] (a document of a concatenated stream: PATH@OFFSET:LENGTH), "
        "and a 4th column 'snapshot' on a snapshot's line (a checkpoint's line has 3 columns, as before "
        "snapshots were read; --kind checkpoint reads checkpoints only); problems go to standard error",
    )
    shape.add_argument("--json", action="store_true", help="one JSON object per VM")
    shape.add_argument("--dot", action="store_true", help="the trees as Graphviz DOT, one cluster per VM")
    p.add_argument(
        "--group-by",
        choices=("uuid", "folder", "none"),
        default="uuid",
        help="group by the domain's uuid (documents without a domain: by folder), by folder only, "
        "or all in one group (default: uuid)",
    )
    p.set_defaults(func=cmd_chain)
    return parser


def _parse_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    kind = getattr(args, "kind", "checkpoint")
    if kind != "checkpoint":
        kwargs["kinds"] = kind
    if getattr(args, "redefine", False):
        kwargs["redefine"] = True
    if getattr(args, "create", False):
        kwargs["create"] = True
    if getattr(args, "internal", False):
        kwargs["internal"] = True
    if getattr(args, "no_require_domain", False):
        kwargs["require_domain"] = False
    if getattr(args, "disk_only", False):
        kwargs["disk_only"] = True
    schemas = getattr(args, "schemas", None)
    if schemas is not None:
        kwargs["libvirt_schemas"] = schemas
    limits = {name: getattr(args, name) for name in _LIMIT_FLAGS if getattr(args, name, None) is not None}
    if limits:
        try:
            kwargs["limits"] = Limits(**limits)
        except ValueError as err:
            raise UsageError(str(err)) from None
    return kwargs


# -- the commands ---------------------------------------------------------------------------------


class Context:
    """One run of a command: its arguments, standard output, the progress display and the
    reporter, and how the run treats a rejected document (``stop``)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.out = Output(sys.stdout)
        self.paths: list[str] = list(args.paths) or ["-"]
        self.names = JSON_NAMES if args.command == "format" else XML_NAMES
        quiet = bool(getattr(args, "quiet", False))
        listing = getattr(args, "listing", None)
        #: ``--jobs N`` / ``--scheduler ADDRESS``: where Dask reads (None: this process reads).
        self.scale: dict[str, Any] | None = None
        if getattr(args, "jobs", None) is not None:
            self.scale = {"jobs": args.jobs}
        elif getattr(args, "scheduler", None) is not None:
            self.scale = {"scheduler": args.scheduler}
        # The workers read: no byte count reaches this process while they do.
        enabled = self.scale is None and bool(args.progress if args.progress is not None else _isatty(sys.stderr) and not quiet)
        self.progress = Progress(enabled, sys.stderr, _input_size(self.paths, self.names) if enabled else None)
        self.report = Reporter(
            self.progress,
            self.out,
            errors=getattr(args, "errors", "text"),
            quiet=quiet,
            listing=listing,
            allow_empty=bool(getattr(args, "allow_empty", False)),
            empty_why="empty, or only blank lines" if args.command == "format" else _EMPTY_STREAM,
        )
        # -l/-L answer for every stream: reading must go on past the first rejected document
        # (unless --on-error stop says otherwise).
        on_error = args.on_error or ("skip" if listing else args.skip_default)
        self.stop = on_error == "stop"
        self.writes = listing is None  # -l/-L: nothing but the names on standard output

    def stdin_hint(self) -> None:
        """Standard input is about to be read and is a terminal: say so, or a user who typed the
        command without a path sees nothing happen and takes it for a hang."""
        if not self.report.quiet and _isatty(sys.stdin):
            self.progress.clear()
            _say(f"{PROG}: reading standard input (Ctrl-D to end)\n")

    def flush(self) -> None:
        self.out.flush()


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False




def _input_size(paths: list[str], names: tuple[str, ...]) -> int | None:
    """The bytes the inputs take on disk, for the progress display's percent and time left; None
    when unknown (standard input, a pipe) or when asking failed: progress must never cost the run."""
    try:
        total = input_size(paths, names=names)
    except (OSError, ValueError):
        return None
    return total if total else None


def _nothing_in(path: str, json_lines: bool) -> str:
    """Why a path that yielded no stream at all holds no document: a folder without a matching
    file, or an archive without an XML member (a plain file, standard input or a pipe is always a
    stream, empty or not)."""
    if path != "-" and os.path.isdir(path):
        wanted = "*.jsonl or *.json" if json_lines else "*.xml or *.xml.gz/.xz/.bz2"
        return f"no {wanted} file in the folder"
    return "no *.xml member in the archive"


def _items(ctx: Context) -> Iterator[Record | CheckpointError | SourceError]:
    """Records and errors of the XML inputs, one path at a time, so that a path that yields no
    stream at all (a folder without a matching file, an archive without an XML member) is known
    and warned about."""
    kwargs = _parse_kwargs(ctx.args)
    for path in ctx.paths:
        if path == "-":
            ctx.stdin_hint()
        before = (ctx.report.streams, ctx.report.io_errors)
        yield from iter_sources(
            [path],
            on_error="skip",
            before_read=ctx.flush,
            on_chunk=ctx.progress.chunk,
            on_stream=ctx.report.stream,
            on_read=ctx.progress.raw,
            names=ctx.names,
            align=bool(ctx.args.align),
            **kwargs,
        )
        ctx.report.end_stream()
        if (ctx.report.streams, ctx.report.io_errors) == before:
            ctx.report.no_document(path, None, _nothing_in(path, json_lines=False))


def _scale_flag(args: argparse.Namespace) -> str:
    return "--jobs" if getattr(args, "jobs", None) is not None else "--scheduler"


def check_scale(args: argparse.Namespace) -> str | None:
    """Why ``--jobs``/``--scheduler`` cannot run as asked (None: they can, or are not given).

    The workers read the files themselves, so standard input cannot be read that way; no byte
    count comes back from them, so there is no progress to draw; ``chain --on-error stop`` ends
    at the first rejected document in reading order, which only a sequential read knows before
    the analysis has run."""
    if getattr(args, "jobs", None) is None and getattr(args, "scheduler", None) is None:
        return None
    flag = _scale_flag(args)
    if not args.paths or "-" in args.paths:
        return f"{flag} cannot read standard input: give the files (the workers read them)"
    if args.progress:
        return f"--progress does not apply with {flag}"
    if args.command == "chain" and args.on_error == "stop":
        return f"chain --on-error stop does not apply with {flag}"
    return None


def _dask_module(args: argparse.Namespace) -> Any:
    """:mod:`checkpoint_stream.dask`, imported only now: without ``--jobs``/``--scheduler`` the
    command line never imports Dask (its import alone costs about half a second). Dask's logging
    is quietened first: Dask reads its configuration when it is first imported."""
    _quiet_dask()
    try:
        import distributed  # the cluster; the module imports it only when it starts one

        del distributed  # asked only whether it imports (pyflakes takes no noqa)
        from . import dask as scale
    except ImportError:
        raise UsageError(f"{_scale_flag(args)} needs the dask extra: pip install 'checkpoint-stream[dask]'") from None
    return scale


def _quiet_dask() -> None:
    """Keep Dask's own logging (a worker's start, a slow shutdown) off standard error, which must
    hold what the sequential run writes and nothing else: set in the environment, so that the
    worker processes, which log before any configuration reaches them, read it too."""
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")


def _scaled_items(ctx: Context, counting: bool = False) -> Iterator[Any]:
    """What :func:`_items` yields, read by Dask workers (``--jobs``/``--scheduler``), in the same
    order (by input, then document index), with the reporter told of every stream as the
    sequential run tells it: the workers mark where each stream begins and each unit ends, and
    each argument is expanded here, so that one without any stream is known and warned about.
    ``counting``: good records come back as counts (:class:`~.scaleout.inputs.Records`)."""
    assert ctx.scale is not None
    scale = _dask_module(ctx.args)
    from .scaleout.inputs import StreamBegins, UnitEnds, expand

    per_path = [expand([path]) for path in ctx.paths]
    units = [unit for found in per_path for unit in found]
    items = scale.run_partitions(
        units, counting=counting, marks=True, align=bool(ctx.args.align), **ctx.scale, **_parse_kwargs(ctx.args)
    )
    try:
        for path, found in zip(ctx.paths, per_path):
            before = (ctx.report.streams, ctx.report.io_errors)
            left = len(found)
            while left:
                item = next(items)
                if isinstance(item, UnitEnds):
                    left -= 1
                elif isinstance(item, StreamBegins):
                    ctx.report.stream(item.path, item.member)
                else:
                    yield item
            ctx.report.end_stream()
            if (ctx.report.streams, ctx.report.io_errors) == before:
                ctx.report.no_document(path, None, _nothing_in(path, json_lines=False))
    finally:
        items.close()  # a run stopped early (--on-error stop, Ctrl-C) stops the cluster


def _records(ctx: Context, counting: bool = False) -> Iterator[Checkpoint | int]:
    """The good records of the XML inputs; errors are reported on the way. With ``--on-error
    stop`` the first rejected document ends the run; an input that cannot be read never does: it
    is reported, the other inputs are read, and the exit status says so (2). ``--align`` is the
    framer's (an alignment error is placed at the disk element it concerns).

    ``counting`` (validate): read by Dask workers, good records come back as their number, an
    int, not shipped (a record is a few kilobytes pickled; the count is all validate needs, and
    one item per record costs this process, which shares the cores with the workers, CPU time:
    about 0.1 s for 380,000 records, measured). ``--on-error
    stop`` reads in skip mode there too, and ends at the first error in reading order: in
    ``raise`` mode a partition with a bad document fails whole, losing the records before it."""
    from .scaleout.inputs import Records  # Dask-free, like the rest of .scaleout

    scaled = ctx.scale is not None
    source: Iterator[Any] = _scaled_items(ctx, counting) if scaled else _items(ctx)
    for item in source:
        if scaled and isinstance(item, Records):  # good records, counted on a worker
            ctx.progress.documents += item.count  # no display with the workers (no --progress)
            state = ctx.report.current
            if state is not None:
                state.items += item.count
            yield item.count
            continue
        if isinstance(item, SourceError):
            ctx.report.io_error(item)
            continue
        if isinstance(item, CheckpointError):
            if not item.between_documents:
                ctx.progress.document()
            ctx.report.document_error(item)
            if ctx.stop:
                return
            continue
        ctx.progress.document()
        ctx.report.seen(item.origin)
        yield item


def _locate(err: CheckpointError, origin: Origin | None) -> None:
    """A document the writer refuses (its record was read, its bytes are gone): the error concerns
    the whole document and is placed at its start."""
    if origin is not None:
        err.located(document=origin.index, source=origin.path, member=origin.member, offset=origin.offset)
    err.located(line=1, column=1)


def _json_line(record: Record, secure: bool, no_domain: bool) -> dict[str, Any]:
    """The JSON line of one record (its ``to_dict``): the domain's secrets left out unless
    ``secure``, as ``virsh checkpoint-dumpxml`` leaves them out without ``--security-info``; a
    JSON file is as easily passed around as the XML, and a password must not ride along unasked."""
    return record.to_dict(secure=secure, domain=not no_domain)


def cmd_parse(ctx: Context) -> None:
    args = ctx.args
    fields: tuple[str, ...] | None = args.fields
    for record in _records(ctx):
        assert not isinstance(record, int)  # a count only when counting
        ctx.report.good += 1
        if not ctx.writes:
            continue
        obj = _json_line(record, args.secure, args.no_domain)
        if fields:
            obj = {name: obj.get(name) for name in fields}
        ctx.out.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _write_flags(args: argparse.Namespace, internal: bool) -> dict[str, Any]:
    return {"no_domain": args.no_domain, "secure": args.secure, "size": args.size, "internal": internal}


def _emit_xml(ctx: Context, record: Record, flags: dict[str, Any]) -> bool:
    """Write one record as XML; False when the writer refused it and the run is to stop."""
    try:
        text = dumps(record, **flags)
    except (CheckpointError, ValueError) as err:
        if not isinstance(err, CheckpointError):
            err = SchemaError(str(err))
        _locate(err, record.origin)
        ctx.report.document_error(err)
        return not ctx.stop
    ctx.report.good += 1
    if ctx.writes:
        ctx.out.write(text if text.endswith("\n") else text + "\n")
    return True


def cmd_normalize(ctx: Context) -> None:
    flags = _write_flags(ctx.args, ctx.args.internal)
    for record in _records(ctx):
        assert not isinstance(record, int)  # a count only when counting
        if not _emit_xml(ctx, record, flags):
            return


def cmd_validate(ctx: Context) -> None:
    """Count the documents; the summary is printed even when Ctrl-C ends the read (the count so
    far is what a user who stopped a long run wants to see), then the run ends with 130."""
    try:
        for record in _records(ctx, counting=True):
            ctx.report.good += record if isinstance(record, int) else 1
    except KeyboardInterrupt:
        _validate_summary(ctx, interrupted=True)
        raise
    _validate_summary(ctx, interrupted=False)


def _validate_summary(ctx: Context, interrupted: bool) -> None:
    ctx.progress.finish()  # the summary line ends the output: no progress line after it
    if ctx.report.quiet or not ctx.writes:
        return
    ctx.out.write(ctx.report.summary() + ("; interrupted" if interrupted else "") + "\n")


def _json_lines(ctx: Context) -> Iterator[tuple[str | None, str | None, int, bytes]]:
    """(path, member, line number, line) of every line of the inputs, one path at a time (a
    folder without a JSON file is known, and warned about); an unreadable input is reported and
    the others are read."""
    for path in ctx.paths:
        if path == "-":
            ctx.stdin_hint()
        before = (ctx.report.streams, ctx.report.io_errors)
        for stream in streams([path], CHUNK_SIZE, names=ctx.names, on_read=ctx.progress.raw):
            if isinstance(stream, SourceError):
                ctx.report.io_error(stream)  # reported; the other inputs are still read
                continue
            ctx.report.stream(stream.path, stream.member)
            number = 0
            pending = b""
            try:
                while True:
                    ctx.flush()
                    chunk = next(stream.chunks, None)
                    if chunk is None:
                        break
                    ctx.progress.chunk(len(chunk))
                    pending += chunk
                    *lines, pending = pending.split(b"\n")
                    for line in lines:
                        number += 1
                        yield stream.path, stream.member, number, line
            except SourceError as err:
                ctx.report.io_error(err)
                continue
            if pending:
                number += 1
                yield stream.path, stream.member, number, pending
        ctx.report.end_stream()
        if (ctx.report.streams, ctx.report.io_errors) == before:
            ctx.report.no_document(path, None, _nothing_in(path, json_lines=True))


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPENERS = frozenset(b"[{")


def _json_too_deep(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the arrays and objects of a JSON line nest deeper than ``limit``, found without
    recursion and before the decoder (which recurses) sees it. A line with no more than ``limit``
    brackets cannot be too deep: that count (done in C) is all a normal line costs."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    for byte in _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS):
        if byte in _OPENERS:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _format_line(
    path: str | None,
    member: str | None,
    number: int,
    raw: bytes,
    flags: dict[str, Any],
    align: bool,
    schemas: LibvirtSchemas | None = None,
    kinds: str = "any",
) -> str:
    """One JSON line made a document; a bad line raises a CheckpointError placed at that line
    (``line`` and ``source_line`` both: a line of JSON Lines is a document and a line of the file).

    A line nested too deeply is such a bad line (checked before decoding, and a RecursionError
    caught besides), so that in skip mode the lines after it are still written."""
    too_deep = f"invalid JSON: arrays and objects nest deeper than {MAX_JSON_DEPTH} levels"
    try:
        text = raw.decode("utf-8")
        if _json_too_deep(raw):
            raise NotWellFormedError(too_deep, line=number, source_line=number, source=path, member=member)
        data = json.loads(text)
    except UnicodeDecodeError as err:
        raise NotWellFormedError(f"not UTF-8: {err.reason} at byte {err.start + 1}", line=number, source_line=number, source=path, member=member) from None
    except json.JSONDecodeError as err:
        raise NotWellFormedError(f"invalid JSON: {err.msg} (column {err.colno})", line=number, source_line=number, source=path, member=member) from None
    except RecursionError:
        raise NotWellFormedError(too_deep, line=number, source_line=number, source=path, member=member) from None
    source = data.get("source") if isinstance(data, dict) else None
    origin = Origin(path, member, number - 1)
    if isinstance(source, dict) and isinstance(source.get("index"), int):
        origin = Origin(source.get("path"), source.get("member"), source["index"])
    try:
        kind = data.get("type", "checkpoint") if isinstance(data, dict) else "checkpoint"
        if kinds != "any" and kind in KINDS and kind != kinds:
            raise SchemaError(f"a {kind} line where --kind {kinds} is asked for")
        record: Record = Snapshot.from_dict(data, origin=origin) if kind == "snapshot" else Checkpoint.from_dict(data, origin=origin)
        if schemas is None or record.domain is None or record.domain.type is None:
            fault = None
        else:
            fault = schemas.check(record.domain.xml)
        if fault is None and align:
            record = align_snapshot_disks(record) if isinstance(record, Snapshot) else align_disks(record)
        text = dumps(record, **flags) if fault is None else ""
    except RecursionError:  # the depth check above makes this unlikely; a traceback it must not be
        raise SchemaError("the document nests too deeply to be read", line=number, source_line=number, source=path, member=member) from None
    except (CheckpointError, ValueError, TypeError) as err:
        message = getattr(err, "message", None) or str(err)
        raise SchemaError(message, line=number, source_line=number, source=path, member=member) from None
    if fault is not None:
        where = f"; line {fault.line} of the domain" if fault.line else ""
        refused = SchemaError(
            f"{fault.message} (libvirt's schemas{where})",
            line=number, source_line=number, source=path, member=member,
            path=("/domainsnapshot" if isinstance(record, Snapshot) else "/domaincheckpoint") + (fault.path or "/domain"),
        )
        refused.libxml2_message = fault.raw  # type: ignore[attr-defined]
        raise refused
    return text


def cmd_format(ctx: Context) -> None:
    flags = _write_flags(ctx.args, ctx.args.internal)
    for path, member, number, raw in _json_lines(ctx):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if not raw.strip():
            continue
        ctx.progress.document()
        try:
            out = _format_line(path, member, number, raw, flags, ctx.args.align, ctx.args.schemas, ctx.args.kind)
        except CheckpointError as err:
            ctx.report.document_error(err)
            if ctx.stop:
                return
            continue
        ctx.report.seen(Origin(path, member))
        ctx.report.good += 1
        if ctx.writes:
            ctx.out.write(out if out.endswith("\n") else out + "\n")


def cmd_chain(ctx: Context) -> None:
    args = ctx.args
    builder = ChainBuilder(args.group_by)
    kwargs = _parse_kwargs(args)
    if not (args.redefine or args.create):
        kwargs.update(RESTORE_MODE)  # what a restore meets: libvirt's REDEFINE, <domain> optional
    if ctx.scale is not None:
        _scaled_chains(ctx, kwargs)
        return
    if "-" in ctx.paths:
        ctx.stdin_hint()
    items = iter_sources(
        ctx.paths,
        on_error="skip",
        empty="error",
        before_read=ctx.flush,
        on_chunk=ctx.progress.chunk,
        on_read=ctx.progress.raw,
        align=bool(args.align),  # the framer's: an alignment error is a rejected document like any
        **kwargs,
    )
    for item in items:
        if isinstance(item, SourceError):
            ctx.report.io_error(item)
            continue
        ctx.progress.document()
        if isinstance(item, CheckpointError):
            if ctx.stop:
                ctx.report.document_error(item)
                return
            builder.add(item)
            continue
        builder.add(item)  # a checkpoint or a snapshot (the reader's kinds: --kind)
    ctx.progress.finish()
    _chain_output(ctx, builder.iter_finish(), builder.records)


def _scaled_chains(ctx: Context, kwargs: dict[str, Any]) -> None:
    """``chain`` on Dask workers: each VM's chain analysed where its records land, the same
    chains and order as :class:`ChainBuilder` gives; inputs that cannot be read are reported
    first, as the sequential read reports them before any output."""
    assert ctx.scale is not None
    scale = _dask_module(ctx.args)
    found, records, failed = scale.run_chain_report(
        ctx.paths, group_by=ctx.args.group_by, align=bool(ctx.args.align), **ctx.scale, **kwargs
    )
    for err in failed:
        ctx.report.io_error(err)
    _chain_output(ctx, iter(found), records)


def _chain_output(ctx: Context, found: Iterator[Chain], records: int) -> None:
    """The chains as ``chain`` prints them (tree, ``--order``, ``--json`` or ``--dot``), the
    problems and the summary line; errors make the exit status 1."""
    args = ctx.args
    errors = 0
    out = ctx.out.write
    if args.dot:
        out("digraph checkpoints {\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n")
    chains: list[Chain] = []
    for number, chain in enumerate(found):
        errors += sum(1 for p in chain.problems if p.severity == ERROR)
        if args.json:
            out(json.dumps(chain.to_dict(), ensure_ascii=False) + "\n")
        elif args.order:
            vm = chain.vm or "-"
            tail = "\tsnapshot\n" if chain.kind == "snapshot" else "\n"
            for name in chain.order:
                out(f"{vm}\t{name}\t{chain.location(name)}{tail}")
            _problems_to_stderr(ctx, chain)
        elif args.dot:
            out(_dot_cluster(chain, number))
            _problems_to_stderr(ctx, chain)
        else:
            out(_tree_text(chain))
            chains.append(_problems_only(chain))
    if args.dot:
        out("}\n")
    if not (args.json or args.order or args.dot):
        problems = [p for chain in chains for p in chain.problems]
        for problem in problems:
            out(problem.format() + "\n")
        warnings = len(problems) - errors
        out(f"{len(chains)} group{'s' if len(chains) != 1 else ''}, {records} documents read, "
            f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}\n")
    if errors:
        ctx.report.rejected += errors


class _Problems:
    """What the text report keeps of a chain once its tree is printed."""

    __slots__ = ("problems",)

    def __init__(self, problems: Any) -> None:
        self.problems = problems


def _problems_only(chain: Chain) -> Any:
    return _Problems(chain.problems)


def _problems_to_stderr(ctx: Context, chain: Chain) -> None:
    for problem in chain.problems:
        ctx.report._say(problem.format())


#: Deeper than this, a tree is drawn at this depth (virsh indents every level: a long chain would
#: make lines as long as the chain).
TREE_DEPTH = 32


def _title(chain: Chain) -> str:
    noun = chain.kind  # "checkpoint" or "snapshot"
    if chain.vm is not None or chain.vm_name is not None:
        head = f"VM {chain.vm_name or '?'}" + (f" (uuid {chain.vm})" if chain.vm else "")
    else:
        head = f"Folder {chain.folder}" if chain.folder is not None else f"All {noun}s"
    current = chain.current if chain.current is not None else "none"
    return f"{head}: {chain.checkpoints} {noun}{'s' if chain.checkpoints != 1 else ''}, current: {current}\n"


def _tree_text(chain: Chain) -> str:
    """The restorable tree as ``virsh checkpoint-list --tree`` draws it (children by
    creationTime, then name), without recursion."""
    lines = [_title(chain)]
    for root in chain.roots:
        pieces: list[str] = []
        indent = ""
        stack: list[tuple[Any, ...]] = [(True, root, True, True)]
        while stack:
            frame = stack.pop()
            if frame[0]:
                _, name, last, is_root = frame
                lines.append(f"{indent}{'' if is_root else '+- '}{name}\n")
                if not is_root:
                    piece = ("  " if last else "| ") if len(pieces) < TREE_DEPTH * 2 else ""
                    pieces.append(piece)
                    indent += piece
                kids = chain.children(name)
                if kids:
                    lines.append(f"{indent}  |\n")
                piece = "  " if len(pieces) < TREE_DEPTH * 2 else ""
                pieces.append(piece)
                indent += piece
                stack.append((False, name, last, is_root, bool(kids)))
                for k in range(len(kids) - 1, -1, -1):
                    stack.append((True, kids[k], k == len(kids) - 1, False))
            else:
                _, name, last, is_root, had_kids = frame
                piece = pieces.pop()
                indent = indent[: len(indent) - len(piece)]
                if not had_kids and last:
                    lines.append(f"{indent}\n")
                if not is_root:
                    piece = pieces.pop()
                    indent = indent[: len(indent) - len(piece)]
    if chain.unrestorable:
        lines.append(f"not restorable: {', '.join(chain.unrestorable)}\n")
    lines.append("\n")
    return "".join(lines)


_DOT_LINK_KINDS = frozenset({"missing-parent", "uuid-mismatch", "self-parent", "cycle", "time-order", "disk-added", "disk-removed"})
_COLOUR = {ERROR: "red", "warning": "orange"}


def _dot_id(*lines: str) -> str:
    """A DOT string: quotes and backslashes escaped, the lines joined by DOT's own line break."""
    return '"' + "\\n".join(line.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") for line in lines) + '"'


def _dot_cluster(chain: Chain, number: int) -> str:
    worst: dict[str, str] = {}
    link: dict[str, str] = {}
    rejected: list[str] = []
    for problem in chain.problems:
        name = problem.checkpoint
        if name is None:
            continue
        if problem.kind == "invalid":
            rejected.append(name)
            continue
        if worst.get(name) != ERROR:
            worst[name] = problem.severity
        if problem.kind in _DOT_LINK_KINDS and link.get(name) != ERROR:
            link[name] = problem.severity
    title = _title(chain).rstrip("\n")
    out = [f"  subgraph cluster_{number} {{\n    label={_dot_id(title)};\n"]

    def node(name: str) -> str:
        return _dot_id(f"{number}:{name}")

    known = set(chain.names)
    for name in chain.names:
        attrs = [f"label={_dot_id(name, '(current)') if name == chain.current else _dot_id(name)}"]
        if name == chain.current:
            attrs.append('style="rounded,bold"')
            attrs.append("penwidth=2")
        if name in worst:
            attrs.append(f"color={_COLOUR[worst[name]]}")
            attrs.append(f"fontcolor={_COLOUR[worst[name]]}")
        out.append(f"    {node(name)} [{', '.join(attrs)}];\n")
    absent = set()
    for name in sorted(set(rejected) - known):
        absent.add(name)
        out.append(f"    {node(name)} [label={_dot_id(name, '(rejected)')}, style=dashed, color=red, fontcolor=red];\n")
    for child, parent in chain.links():
        if parent not in known and parent not in absent:
            absent.add(parent)
            out.append(f"    {node(parent)} [label={_dot_id(parent, '(missing)')}, style=dashed, color=red, fontcolor=red];\n")
        edge = f" [color={_COLOUR[link[child]]}{', style=dashed' if parent in absent else ''}]" if child in link else ""
        out.append(f"    {node(parent)} -> {node(child)}{edge};\n")
    out.append("  }\n")
    return "".join(out)


# -- entry point ----------------------------------------------------------------------------------


def _optional_attached(argv: list[str]) -> list[str]:
    """``--libvirt-schemas`` takes its DIR attached (``--libvirt-schemas=DIR``), as GNU tools take
    an optional argument (``ls --color[=WHEN]``): a bare one means the libvirt installed here and
    never swallows the next word, so ``validate --libvirt-schemas ARCHIVE`` reads ARCHIVE (argparse
    alone would take ARCHIVE for the schema directory). Abbreviations argparse accepts count too."""
    out: list[str] = []
    for i, word in enumerate(argv):
        if word == "--":
            out.extend(argv[i:])
            break
        if word.startswith("--libv") and "--libvirt-schemas".startswith(word):
            word = "--libvirt-schemas=auto"
        out.append(word)
    return out


def _run(argv: list[str] | None) -> int:
    if sys.stdout is None:  # >&-: fail before doing work whose every result would be lost
        raise _stdout_missing()
    parser = build_parser()
    args = parser.parse_args(_optional_attached(sys.argv[1:] if argv is None else argv))
    if getattr(args, "redefine", False) is False and getattr(args, "no_require_domain", False):
        parser.error("--no-require-domain only applies with --redefine")
    refused = check_scale(args)
    if refused is not None:
        parser.error(refused)
    args.schemas = None
    if getattr(args, "libvirt_schemas", None) is not None:
        try:
            args.schemas = resolve(args.libvirt_schemas)
        except LibvirtSchemasUnavailable as err:
            parser.error(f"--libvirt-schemas: {err}")
    ctx = Context(args)
    ctx.report.schemas = args.schemas
    try:
        args.func(ctx)
    except UsageError as err:
        ctx.progress.clear()
        _say(f"{PROG}: error: {err}\n")
        return EXIT_USAGE
    finally:
        ctx.progress.finish()
    ctx.flush()
    return ctx.report.status


def _silence(stream: Any) -> None:
    """Point a standard stream's descriptor at /dev/null, after it failed (its reader went away,
    it is full or closed): the interpreter's final flush then cannot fail again, print "Exception
    ignored" and turn the exit status into 120 (the recipe of Python's signal docs)."""
    try:
        fd = stream.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError, AttributeError):
        return
    try:
        os.dup2(devnull, fd)
    except OSError:
        pass
    finally:
        if devnull != fd:
            os.close(devnull)


def _silence_stdout() -> None:
    _silence(sys.stdout)


def _cannot_write(reason: str) -> None:
    _say(f"{PROG}: cannot write to standard output: {reason}\n")


def _settle(status: int) -> int:
    """Flush both standard streams while a failure can still be reported and ruled on (left to the
    interpreter's exit, a failed flush means a traceback-like message and status 120).

    Standard output decides: a reader gone away makes 0 or 1 into 141, another failure into 2.
    Standard error is best-effort: a failure there is silenced and changes nothing."""
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        _silence(sys.stdout)
        if status in (EXIT_OK, EXIT_REJECTED):
            status = EXIT_PIPE
    except (OSError, ValueError) as err:
        _silence(sys.stdout)
        if status in (EXIT_OK, EXIT_REJECTED):
            _cannot_write(OutputError.of(err).reason)
            status = EXIT_USAGE
    try:
        if sys.stderr is not None:
            sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        _silence(sys.stderr)
    return status


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (never raises, never prints a traceback).

    0 all good, 1 some document rejected, 2 usage, input or output error, 130 interrupted, 141 the
    reader of standard output went away (see :data:`EXIT_STATUS_HELP`). Nothing on standard error
    can change it: the stream is best-effort (:func:`_say`)."""
    try:
        status = _run(argv)
    except SystemExit as exc:
        code = exc.code
        status = EXIT_OK if code is None else code if isinstance(code, int) else EXIT_USAGE
    except BrokenPipeError:
        _silence_stdout()
        status = EXIT_PIPE
    except OutputError as err:
        _silence_stdout()
        _cannot_write(err.reason)
        status = EXIT_USAGE
    except KeyboardInterrupt:
        _say("\n")
        status = EXIT_INTERRUPTED
    except UsageError as err:
        _say(f"{PROG}: error: {err}\n")
        status = EXIT_USAGE
    except Exception as err:  # the last line of defence: a message, never a traceback
        _say(f"{PROG}: internal error: {type(err).__name__}: {err}\n")
        status = EXIT_USAGE
    return _settle(status)


def command(argv: list[str] | None = None) -> NoReturn:
    """The ``checkpoint-stream`` program: :func:`main`, then the process ends with its status.

    After a run on Dask (``--jobs``, ``--scheduler``: distributed was imported) it ends at once
    (``os._exit``), skipping the interpreter's teardown: freeing the modules and objects of Dask,
    distributed, tornado and numpy takes about 0.2 s (measured), a twentieth of a 500 MB
    validation on two workers and nothing a finished command still needs. By then the cluster
    is closed and :func:`main` has flushed both standard streams (:func:`_settle`); logging's
    handlers are flushed here. :func:`main` itself returns, for callers in Python."""
    status = main(argv)
    if "distributed" in sys.modules:
        import logging

        logging.shutdown()
        os._exit(status)
    sys.exit(status)
