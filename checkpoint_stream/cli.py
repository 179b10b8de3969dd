"""The ``checkpoint-stream`` command line: ``parse``, ``format``, ``normalize``, ``validate``,
``chain``.

Exit status: 0 when every document was good, 1 when any was rejected, 2 for a usage error or an
input that could not be read (an I/O error outranks a rejected document). Errors go to standard
error as ``PATH[:MEMBER]:LINE:COL: error: MESSAGE (document N, offset K)``, N being the
document's 0-based index in its stream (the ``source.index`` of the JSON output) and K the byte
offset in the stream. Output is flushed before every read
that may block, so the commands work as filters on a pipe that stays open.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import IO, Any, Callable, Iterator

from .align import align_disks
from .api import ErrorPolicy, iter_sources
from .chain import ERROR, RESTORE_MODE, Chain, ChainBuilder
from .errors import CheckpointError, NotWellFormedError, SchemaError
from .limits import Limits
from .records import Checkpoint, Origin
from .sources import CHUNK_SIZE, SourceError, streams
from .version import __version__
from .writer import dumps

__all__ = ["main"]

PROG = "checkpoint-stream"
EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2
EXIT_PIPE = 141  # 128 + SIGPIPE, what a C filter reports when its reader goes away

_LIMIT_FLAGS = ("max_document_bytes", "max_depth", "max_attributes", "max_text", "max_disks")


class UsageError(Exception):
    pass


# -- output ---------------------------------------------------------------------------------------


class Output:
    """Standard output as bytes, flushed on demand (before a read that may block, and at the end)."""

    def __init__(self, stream: IO[Any]) -> None:
        self.binary = getattr(stream, "buffer", None)
        self.text = stream

    def write(self, text: str) -> None:
        if self.binary is not None:
            self.binary.write(text.encode("utf-8"))
        else:
            self.text.write(text)

    def flush(self) -> None:
        if self.binary is not None:
            self.binary.flush()
        self.text.flush()


class Progress:
    """A one-line progress display on standard error: bytes, documents and rates."""

    def __init__(self, enabled: bool, stream: IO[str]) -> None:
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
        self.stream.write("\r\x1b[K" + line)
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.enabled and self.shown:
            self.stream.write("\r\x1b[K")
            self.shown = False

    def finish(self) -> None:
        if self.enabled:
            self._draw(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()
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
        try:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
        except (BrokenPipeError, OSError):
            pass

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


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Stream-parse, validate and write libvirt <domaincheckpoint> XML.",
        epilog="Exit status: 0 all documents good, 1 some rejected, 2 usage or I/O error.",
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
        "defaults to skip here).",
        epilog="Exit status: 0 no error (warnings allowed), 1 some error, 2 usage or I/O error.",
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
    """The good records of the XML inputs; errors are reported on the way, by the one policy
    (:class:`~.api.ErrorPolicy`): with ``--on-error stop`` the first one ends the run."""
    kwargs = _parse_kwargs(ctx.args)
    items = iter_sources(
        ctx.paths,
        on_error="raise" if ctx.stop else "skip",
        on_error_callback=ctx.rejected,
        before_read=ctx.flush,
        on_chunk=ctx.progress.chunk,
        **kwargs,
    )
    try:
        for item in items:
            if isinstance(item, SourceError):
                continue  # reported by the policy's callback
            ctx.progress.document()
            if isinstance(item, CheckpointError):
                continue  # reported by the policy's callback
            if align:
                try:
                    item = align_disks(item)
                except CheckpointError as err:
                    _locate(err, item.origin)
                    ctx.policy.rejected(err)
                    continue
            yield item
    except (SourceError, CheckpointError) as err:  # --on-error stop: the first one ends the run
        if isinstance(err, CheckpointError):
            ctx.progress.document()
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
            ctx.policy.rejected(stream)
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
            ctx.policy.rejected(err)
            continue
        if pending:
            number += 1
            yield stream.path, stream.member, number, pending


def _format_line(path: str | None, member: str | None, number: int, raw: bytes, flags: dict[str, bool], align: bool) -> str:
    """One JSON line made a document; a bad line raises a CheckpointError placed at that line."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise NotWellFormedError(f"not UTF-8: {err.reason} at byte {err.start + 1}", line=number, source=path, member=member) from None
    except json.JSONDecodeError as err:
        raise NotWellFormedError(f"invalid JSON: {err.msg} (column {err.colno})", line=number, source=path, member=member) from None
    source = data.get("source") if isinstance(data, dict) else None
    origin = Origin(path, member, number - 1)
    if isinstance(source, dict) and isinstance(source.get("index"), int):
        origin = Origin(source.get("path"), source.get("member"), source["index"])
    try:
        record = Checkpoint.from_dict(data, origin=origin)
        if align:
            record = align_disks(record)
        return dumps(record, **flags)
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
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "redefine", False) is False and getattr(args, "no_require_domain", False):
        parser.error("--no-require-domain only applies with --redefine")
    ctx = Context(args)
    try:
        args.func(ctx)
    except UsageError as err:
        ctx.progress.clear()
        sys.stderr.write(f"{PROG}: error: {err}\n")
        return EXIT_USAGE
    finally:
        ctx.progress.finish()
    ctx.flush()
    return ctx.report.status


def _silence_stdout() -> None:
    """After the reader of our output went away: point stdout at /dev/null so that the
    interpreter's final flush cannot fail again (the recipe of Python's signal docs)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (never raises, never prints a traceback)."""
    try:
        return _run(argv)
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return EXIT_OK
        return code if isinstance(code, int) else EXIT_USAGE
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_PIPE
    except KeyboardInterrupt:
        try:
            sys.stderr.write("\n")
        except OSError:
            pass
        return 130
    except UsageError as err:
        sys.stderr.write(f"{PROG}: error: {err}\n")
        return EXIT_USAGE
    except Exception as err:  # the last line of defence: a message, never a traceback
        try:
            sys.stderr.write(f"{PROG}: internal error: {type(err).__name__}: {err}\n")
        except OSError:
            pass
        return EXIT_USAGE
