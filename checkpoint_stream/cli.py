"""The ``checkpoint-stream`` command line: ``parse``, ``format``, ``normalize``, ``validate``,
``chain``.

Exit status: 0 when every document was good, 1 when any was rejected, 2 for a usage error, an
input that could not be read or an output that could not be written (an I/O error outranks a
rejected document), 130 when interrupted (SIGINT) and 141 when the reader of standard output went
away (SIGPIPE), as a C filter would report. Standard error is best-effort: closed, full or a broken
pipe, it changes neither the output nor the exit status. Errors go to standard
error as ``PATH[:MEMBER]:LINE:COL: error: MESSAGE (document N, offset K)``, N being the
document's 0-based index in its stream (the ``source.index`` of the JSON output) and K the byte
offset in the stream. Output is flushed before every read
that may block, so the commands work as filters on a pipe that stays open.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import re
import sys
import time
from typing import IO, TYPE_CHECKING, Any, Callable, Iterator

from .align import align_disks
from .api import ErrorPolicy, iter_sources
from .chain import ERROR, RESTORE_MODE, Chain, ChainBuilder
from .errors import CheckpointError, NotWellFormedError, SchemaError
from .limits import Limits
from .records import Checkpoint, Origin
from .sources import CHUNK_SIZE, SourceError, streams
from .version import __version__
from .writer import dumps

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

__all__ = ["main"]

PROG = "checkpoint-stream"
EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2
EXIT_PIPE = 141  # 128 + SIGPIPE, what a C filter reports when its reader goes away
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a job stopped by Ctrl-C

#: The exit statuses, as ``--help`` shows them (the README quotes this text).
EXIT_STATUS_HELP = """\
exit status:
  0    every document was good
  1    some document was rejected (chain: some error was found)
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
    """A one-line progress display on standard error: bytes, documents and rates.

    Best-effort: the first write that fails (standard error closed, full, a broken pipe) turns the
    display off for the rest of the run; the work goes on as if it had never been asked for."""

    def __init__(self, enabled: bool, stream: IO[str] | None) -> None:
        self.enabled = enabled
        self.stream = stream
        self.bytes = 0
        self.documents = 0
        self.start = time.monotonic()
        self.last = 0.0
        self.shown = False

    def chunk(self, n: int) -> None:
        self.bytes += n
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

    def _draw(self, now: float) -> None:
        elapsed = max(now - self.start, 1e-6)
        line = (
            f"{_human(self.bytes)}  {self.documents} documents  "
            f"{_human(self.bytes / elapsed)}/s  {self.documents / elapsed:.0f} documents/s"
        )
        if self._put("\r\x1b[K" + line):
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


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


class Reporter:
    """Errors on standard error, and the counts that make the exit status."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.good = 0
        self.rejected = 0
        self.io_errors = 0

    def _say(self, line: str) -> None:
        self.progress.clear()
        _say(line + "\n")

    def document_error(self, err: CheckpointError) -> None:
        self.rejected += 1
        self._say(format_error(err))

    def io_error(self, err: Exception) -> None:
        self.io_errors += 1
        path = getattr(err, "path", None)
        member = getattr(err, "member", None)
        message = getattr(err, "message", None) or str(err)
        self._say(f"{_where(path, member)}: error: {message}")

    @property
    def status(self) -> int:
        if self.io_errors:
            return EXIT_USAGE
        return EXIT_REJECTED if self.rejected else EXIT_OK


def _where(path: str | None, member: str | None) -> str:
    where = path if path is not None else "<input>"
    if member:
        where += f":{member}"
    return where


def format_error(err: CheckpointError) -> str:
    """``PATH[:MEMBER]:LINE:COL: error: MESSAGE (document N, offset K)``; unknown parts are left
    out. K is the byte offset in the file (or archive member, or standard input)."""
    where = _where(err.source, err.member)
    if err.line is not None:
        where += f":{err.line}"
        if err.column is not None:
            where += f":{err.column}"
    notes = []
    if err.document is not None:
        notes.append(f"document {err.document}")
    if err.offset is not None and err.document is not None:
        notes.append(f"offset {err.offset}")
    tail = f" ({', '.join(notes)})" if notes else ""
    return f"{where}: error: {err.message}{tail}"


# -- arguments ------------------------------------------------------------------------------------


def _positive(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {value}")
    return value


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
        description="Stream-parse, validate and write libvirt <domaincheckpoint> XML.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def common(p: argparse.ArgumentParser, *, modes: bool = True, limits: bool = True, skip_default: str = "stop") -> None:
        p.add_argument(
            "paths",
            nargs="*",
            metavar="PATH",
            help="files, directories (*.xml, recursively), .gz/.xz/.bz2 files, .tar/.tgz/.txz/.zip "
            "archives, FIFOs, or '-' for standard input (the default)",
        )
        p.add_argument(
            "--on-error",
            choices=("stop", "skip"),
            default=skip_default,
            help=f"stop at the first rejected document, or report it and go on (default: {skip_default})",
        )
        p.add_argument(
            "--progress",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="show bytes, documents and rates on standard error (default: when it is a terminal)",
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
        p.add_argument("--align", action="store_true", help="align the checkpoint's disks with its domain, as libvirt does")
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
    common(p)
    p.add_argument("--no-domain", action="store_true", help="leave the domain out (\"domain\": null)")
    p.set_defaults(func=cmd_parse)

    p = sub.add_parser("format", help="JSON Lines (as parse prints them) in, XML documents out")
    common(p, modes=False, limits=False)
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
        "line (documents, valid, invalid) on standard output. Unlike the other commands, "
        "--on-error defaults to skip here, so the report covers the whole input.",
    )
    common(p, skip_default="skip")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "chain",
        help="per VM, the checkpoint tree, its problems and the redefine order",
        description="Read an archive (folders, tar archives, streams) and show, per VM, the tree the "
        "checkpoints' <parent> links make, like 'virsh checkpoint-list --tree', then every problem "
        "found, as PATH[:MEMBER]: error|warning: MESSAGE [kind] (checkpoint NAME). Documents are read "
        "as a restore reads them, in libvirt's REDEFINE mode without requiring <domain> (unless "
        "--redefine or --create is given). Rejected documents, and files holding no document, are "
        "problems of kind 'invalid' and the chain around them is still analysed (--on-error "
        "defaults to skip here). Warnings alone leave the exit status 0.",
    )
    common(p, skip_default="skip")
    shape = p.add_mutually_exclusive_group()
    shape.add_argument(
        "--order",
        action="store_true",
        help="one line per restorable checkpoint, in redefine order: VM-UUID<TAB>NAME<TAB>PATH[:MEMBER] "
        "(a document of a concatenated stream: PATH@OFFSET:LENGTH); problems go to standard error",
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
    if getattr(args, "redefine", False):
        kwargs["redefine"] = True
    if getattr(args, "create", False):
        kwargs["create"] = True
    if getattr(args, "internal", False):
        kwargs["internal"] = True
    if getattr(args, "no_require_domain", False):
        kwargs["require_domain"] = False
    limits = {name: getattr(args, name) for name in _LIMIT_FLAGS if getattr(args, name, None) is not None}
    if limits:
        try:
            kwargs["limits"] = Limits(**limits)
        except ValueError as err:
            raise UsageError(str(err)) from None
    return kwargs


# -- the commands ---------------------------------------------------------------------------------


class Context:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.out = Output(sys.stdout)
        enabled = args.progress if args.progress is not None else _isatty(sys.stderr)
        self.progress = Progress(bool(enabled), sys.stderr)
        self.report = Reporter(self.progress)
        self.stop = args.on_error == "stop"
        self.policy = ErrorPolicy("raise" if self.stop else "skip", self.rejected)
        self.paths: list[str] = list(args.paths) or ["-"]

    def rejected(self, err: Any) -> None:
        """Report a rejected document or an unreadable input (the policy's callback)."""
        if isinstance(err, SourceError):
            self.report.io_error(err)
        else:
            self.report.document_error(err)

    def flush(self) -> None:
        self.out.flush()


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _records(ctx: Context, align: bool) -> Iterator[Checkpoint]:
    """The good records of the XML inputs; errors are reported on the way. With ``--on-error
    stop`` the first rejected document ends the run; an input that cannot be read never does: it
    is reported, the other inputs are read, and the exit status says so (2)."""
    kwargs = _parse_kwargs(ctx.args)
    items = iter_sources(ctx.paths, on_error="skip", before_read=ctx.flush, on_chunk=ctx.progress.chunk, **kwargs)
    try:
        for item in items:
            if isinstance(item, SourceError):
                ctx.rejected(item)
                continue
            ctx.progress.document()
            if isinstance(item, CheckpointError):
                ctx.policy.rejected(item)  # raises with --on-error stop
                continue
            if align:
                try:
                    item = align_disks(item)
                except CheckpointError as err:
                    _locate(err, item.origin)
                    ctx.policy.rejected(err)
                    continue
            yield item
    except CheckpointError as err:  # --on-error stop: the first one ends the run
        ctx.rejected(err)


def _locate(err: CheckpointError, origin: Origin | None) -> None:
    """An alignment error concerns the whole document: it is placed at the document's start."""
    if origin is not None:
        err.located(document=origin.index, source=origin.path, member=origin.member, offset=origin.offset)
    err.located(line=1, column=1)


def cmd_parse(ctx: Context) -> None:
    no_domain = ctx.args.no_domain
    for record in _records(ctx, ctx.args.align):
        obj: dict[str, Any] = {"type": "checkpoint"}
        obj.update(record.to_dict())
        if no_domain:
            obj["domain"] = None
        origin = record.origin or Origin()
        obj["source"] = origin.to_dict()
        ctx.out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        ctx.report.good += 1


def _write_flags(args: argparse.Namespace, internal: bool) -> dict[str, bool]:
    return {"no_domain": args.no_domain, "secure": args.secure, "size": args.size, "internal": internal}


def _emit_xml(ctx: Context, record: Checkpoint, flags: dict[str, bool]) -> None:
    try:
        text = dumps(record, **flags)
    except (CheckpointError, ValueError) as err:
        if not isinstance(err, CheckpointError):
            err = SchemaError(str(err))
        _locate(err, record.origin)
        ctx.policy.rejected(err)
        return
    ctx.out.write(text if text.endswith("\n") else text + "\n")
    ctx.report.good += 1


def cmd_normalize(ctx: Context) -> None:
    flags = _write_flags(ctx.args, ctx.args.internal)
    try:
        for record in _records(ctx, ctx.args.align):
            _emit_xml(ctx, record, flags)
    except CheckpointError as err:  # --on-error stop
        ctx.rejected(err)


def cmd_validate(ctx: Context) -> None:
    for _record in _records(ctx, ctx.args.align):
        ctx.report.good += 1
    ctx.progress.finish()
    ctx.progress.enabled = False  # the summary line ends the output: no second progress line
    good, bad = ctx.report.good, ctx.report.rejected
    ctx.out.write(f"{good + bad} documents, {good} valid, {bad} invalid\n")


def _json_lines(ctx: Context) -> Iterator[tuple[str | None, str | None, int, bytes]]:
    """(path, member, line number, line) of every line of the inputs; an unreadable input goes to
    the policy (and ends the run with --on-error stop)."""
    for stream in streams(ctx.paths, CHUNK_SIZE):
        if isinstance(stream, SourceError):
            ctx.rejected(stream)  # reported; the other inputs are still read
            continue
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
            ctx.rejected(err)
            continue
        if pending:
            number += 1
            yield stream.path, stream.member, number, pending


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


def _format_line(path: str | None, member: str | None, number: int, raw: bytes, flags: dict[str, bool], align: bool) -> str:
    """One JSON line made a document; a bad line raises a CheckpointError placed at that line.

    A line nested too deeply is such a bad line (checked before decoding, and a RecursionError
    caught besides), so that in skip mode the lines after it are still written."""
    too_deep = f"invalid JSON: arrays and objects nest deeper than {MAX_JSON_DEPTH} levels"
    try:
        text = raw.decode("utf-8")
        if _json_too_deep(raw):
            raise NotWellFormedError(too_deep, line=number, source=path, member=member)
        data = json.loads(text)
    except UnicodeDecodeError as err:
        raise NotWellFormedError(f"not UTF-8: {err.reason} at byte {err.start + 1}", line=number, source=path, member=member) from None
    except json.JSONDecodeError as err:
        raise NotWellFormedError(f"invalid JSON: {err.msg} (column {err.colno})", line=number, source=path, member=member) from None
    except RecursionError:
        raise NotWellFormedError(too_deep, line=number, source=path, member=member) from None
    source = data.get("source") if isinstance(data, dict) else None
    origin = Origin(path, member, number - 1)
    if isinstance(source, dict) and isinstance(source.get("index"), int):
        origin = Origin(source.get("path"), source.get("member"), source["index"])
    try:
        record = Checkpoint.from_dict(data, origin=origin)
        if align:
            record = align_disks(record)
        return dumps(record, **flags)
    except RecursionError:  # the depth check above makes this unlikely; a traceback it must not be
        raise SchemaError("the document nests too deeply to be read", line=number, source=path, member=member) from None
    except (CheckpointError, ValueError, TypeError) as err:
        message = getattr(err, "message", None) or str(err)
        raise SchemaError(message, line=number, source=path, member=member) from None


def cmd_format(ctx: Context) -> None:
    flags = _write_flags(ctx.args, ctx.args.internal)
    try:
        for path, member, number, raw in _json_lines(ctx):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not raw.strip():
                continue
            ctx.progress.document()
            try:
                out = _format_line(path, member, number, raw, flags, ctx.args.align)
            except CheckpointError as err:
                ctx.policy.rejected(err)
                continue
            ctx.out.write(out if out.endswith("\n") else out + "\n")
            ctx.report.good += 1
    except (CheckpointError, SourceError) as err:  # --on-error stop
        ctx.rejected(err)


def cmd_chain(ctx: Context) -> None:
    args = ctx.args
    builder = ChainBuilder(args.group_by)
    kwargs = _parse_kwargs(args)
    if not (args.redefine or args.create):
        kwargs.update(RESTORE_MODE)  # what a restore meets: libvirt's REDEFINE, <domain> optional
    items = iter_sources(ctx.paths, on_error="skip", empty="error", before_read=ctx.flush, on_chunk=ctx.progress.chunk, **kwargs)
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
        if args.align:
            try:
                item = align_disks(item)
            except CheckpointError as err:
                _locate(err, item.origin)
                if ctx.stop:
                    ctx.report.document_error(err)
                    return
                builder.add(err)
                continue
        builder.add(item)
    ctx.progress.finish()
    ctx.progress.enabled = False
    errors = 0
    out = ctx.out.write
    if args.dot:
        out("digraph checkpoints {\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n")
    chains: list[Chain] = []
    for number, chain in enumerate(builder.iter_finish()):
        errors += sum(1 for p in chain.problems if p.severity == ERROR)
        if args.json:
            out(json.dumps(chain.to_dict(), ensure_ascii=False) + "\n")
        elif args.order:
            vm = chain.vm or "-"
            for name in chain.order:
                out(f"{vm}\t{name}\t{chain.location(name)}\n")
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
        out(f"{len(chains)} group{'s' if len(chains) != 1 else ''}, {builder.records} documents read, "
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
    if chain.vm is not None or chain.vm_name is not None:
        head = f"VM {chain.vm_name or '?'}" + (f" (uuid {chain.vm})" if chain.vm else "")
    else:
        head = f"Folder {chain.folder}" if chain.folder is not None else "All checkpoints"
    current = chain.current if chain.current is not None else "none"
    return f"{head}: {chain.checkpoints} checkpoint{'s' if chain.checkpoints != 1 else ''}, current: {current}\n"


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


def _run(argv: list[str] | None) -> int:
    if sys.stdout is None:  # >&-: fail before doing work whose every result would be lost
        raise _stdout_missing()
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "redefine", False) is False and getattr(args, "no_require_domain", False):
        parser.error("--no-require-domain only applies with --redefine")
    ctx = Context(args)
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
