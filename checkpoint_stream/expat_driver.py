"""The general path: one expat parser per document, driving the state machine with events.

Every document can go this way; the fast scanner (:mod:`.fastpath`) only takes the common layout
and hands everything else here. Inside the nested ``<domain>`` the handlers switch to a light
depth tracker that records the domain's top (its attributes and direct children) and the byte
span, so the state machine sees one ``domain`` event however large the domain is.

The expat parser is made safe in defusedxml's way: any DOCTYPE (and so any entity declaration,
internal subset or external DTD), any entity declaration, unparsed entity or external reference
raises before anything is expanded or fetched, with defusedxml's own exception classes turned into
this library's :class:`~.errors.SecurityError`.
"""

from __future__ import annotations

import re
from typing import Any, Callable
from xml.parsers import expat

from defusedxml.common import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from .domain import TOP_TEXT_CHILDREN, DomainTop, base_indent, dedent, normalize_newlines
from .errors import CheckpointError, LimitError, NotWellFormedError, SecurityError
from .limits import Limits
from .machine import CheckpointMachine, Options
from .records import Checkpoint, Domain, Origin

__all__ = ["new_expat_parser", "GeneralDocument", "expat_error"]


def _forbid_dtd(name: str, sysid: str | None, pubid: str | None, has_internal_subset: bool) -> None:
    raise DTDForbidden(name, sysid, pubid)


def _forbid_entity(name: str, is_pe: bool, value: str | None, base: str | None, sysid: str | None, pubid: str | None, notation: str | None) -> None:
    raise EntitiesForbidden(name, value, base, sysid, pubid, notation)


def _forbid_unparsed(name: str, base: str | None, sysid: str | None, pubid: str | None, notation: str | None) -> None:
    raise EntitiesForbidden(name, None, base, sysid, pubid, notation)


def _forbid_external(context: str, base: str | None, sysid: str | None, pubid: str | None) -> int:
    raise ExternalReferenceForbidden(context, base, sysid, pubid)


def new_expat_parser() -> Any:
    """An expat parser with this library's security policy installed (no handlers otherwise).

    It reads the bytes as UTF-8 whatever the XML declaration says, as libvirt does (the framer
    checks that a declared name is a known encoding), and so never guesses UTF-16 either."""
    parser = expat.ParserCreate("UTF-8")
    parser.StartDoctypeDeclHandler = _forbid_dtd
    parser.EntityDeclHandler = _forbid_entity
    parser.UnparsedEntityDeclHandler = _forbid_unparsed
    parser.ExternalEntityRefHandler = _forbid_external
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    return parser


def security_message(exc: Exception) -> str:
    if isinstance(exc, DTDForbidden):
        return f"a DOCTYPE (<!DOCTYPE {exc.name} ...>) is not allowed: DTDs and entities are refused before anything is expanded"
    if isinstance(exc, EntitiesForbidden):
        return f"entity declaration {exc.name!r} is not allowed: entities are refused before anything is expanded"
    if isinstance(exc, ExternalReferenceForbidden):
        return f"external reference {exc.sysid!r} is not allowed: nothing is fetched"
    return str(exc)


def expat_error(exc: expat.ExpatError, parser: Any = None) -> NotWellFormedError:
    message = expat.ErrorString(exc.code) if exc.code else str(exc)
    offset = parser.ErrorByteIndex if parser is not None else None
    return NotWellFormedError(f"not well-formed XML: {message}", line=exc.lineno, column=exc.offset + 1, offset=offset)


_TAG_END = re.compile(rb"</?[^\s/>]+(?:[^>'\"]|'[^']*'|\"[^\"]*\")*>")

_DOMAIN_CHILD_TEXT = TOP_TEXT_CHILDREN
_LINE_BREAK = re.compile(rb"\r\n?|\n")


class GeneralDocument:
    """Feeds one document's bytes to expat with full handlers. ``feed`` returns True once the
    root element has closed; ``root_end`` is then the document-relative end of its end tag."""

    def __init__(self, options: Options, limits: Limits, buffer: bytearray | bytes, start: int, encoding: str = "utf-8") -> None:
        self.encoding = encoding
        self.machine = CheckpointMachine(options)
        self.limits = limits
        self.buffer = buffer  # the framer's buffer; the document starts at ``start`` in it
        self.start = start
        self.root_end: int | None = None
        self.fed = 0
        p = self.parser = new_expat_parser()
        p.ordered_attributes = False
        self._depth = 0
        self._set_checkpoint_handlers()

    # -- handler sets -----------------------------------------------------------------------------

    def _set_checkpoint_handlers(self) -> None:
        p = self.parser
        # Unbuffered: each piece of text then comes with its own position (a buffered run is
        # reported where it ends), so an error points at the text itself. Inside the domain too:
        # pyexpat flushes buffered text at the end of every feed but drops it at an error, so what
        # a buffered handler sees before an error would depend on how the bytes were chunked.
        p.buffer_text = False
        self._text_run = 0
        self._pending: list[str] | None = None  # held text of the run, from its first non-blank piece
        p.StartElementHandler = self._start
        p.EndElementHandler = self._end
        p.CharacterDataHandler = self._text

    def _pos(self) -> tuple[int, int, int]:
        p = self.parser
        return (p.CurrentLineNumber, p.CurrentColumnNumber + 1, p.CurrentByteIndex)

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        if self._pending is not None:
            self._flush_text()
        self._last_start = self.parser.CurrentByteIndex
        self._text_run = 0
        self._depth += 1
        limits = self.limits
        if self._depth > limits.max_depth:
            raise LimitError(f"elements nest deeper than {limits.max_depth} levels (limit max_depth)")
        if len(attrs) > limits.max_attributes:
            raise LimitError(f"<{tag}> has {len(attrs)} attributes, more than {limits.max_attributes} (limit max_attributes)")
        if attrs and max(map(len, attrs.values())) > limits.max_text:
            raise LimitError(f"<{tag}> has an attribute value longer than {limits.max_text} characters (limit max_text)")
        machine = self.machine
        if machine.start(tag, attrs, self._pos()):
            self._enter_domain(tag, attrs)
        elif tag == "disk" and len(machine.disks) > limits.max_disks:
            raise LimitError(f"more than {limits.max_disks} disks in one checkpoint (limit max_disks)")

    def _end(self, tag: str) -> None:
        if self._pending is not None:
            self._flush_text()
        self._text_run = 0
        self._depth -= 1
        machine = self.machine
        machine.end(tag, self._pos())
        if machine.done:
            self.root_end = self._tag_end(self.parser.CurrentByteIndex)
        self._last_start = None

    def _text(self, data: str) -> None:
        # Unbuffered, one text run comes in pieces that depend on how the bytes were chunked, and
        # expat drops the data it has not reported yet when it meets ']]>' in text. So the run is
        # held from its first non-blank piece on and given to the machine at the next tag (an
        # expat error first wins), or when the run passes max_text: what is reported then depends
        # on the run's first max_text+1 characters only, never on the chunking.
        self._last_start = None
        run = self._text_run
        self._text_run = run + len(data)
        pending = self._pending
        if pending is not None:
            pending.append(data)
        else:
            pos = self._pos()
            if not run:
                self._run_pos = pos
            if data.strip(" \t\r\n"):
                self._pending = [data]
                self._pending_pos = pos
                self._pending_lead = run
            else:
                self.machine.text(data, pos)  # blank: kept where text is allowed, else ignored
        if self._text_run > self.limits.max_text:
            limit = self.limits.max_text
            if self._pending is not None:  # stray text among the first max_text+1 characters wins
                self._flush_text(limit + 1 - self._pending_lead)
            at = self._run_pos
            raise LimitError(
                f"a text node is longer than {limit} characters (limit max_text)",
                line=at[0], column=at[1], offset=at[2], path=self.machine.path or None,
            )

    def _flush_text(self, keep: int | None = None) -> None:
        """Give the held text to the machine as one piece (``keep``: only its first characters)."""
        rest = "".join(self._pending)  # type: ignore[arg-type]
        self._pending = None
        self.machine.text(rest if keep is None else rest[: max(0, keep)], self._pending_pos)

    # -- the nested domain: one event for the machine --------------------------------------------

    def _enter_domain(self, tag: str, attrs: dict[str, str]) -> None:
        self._dom_begin = self.parser.CurrentByteIndex
        self._dom_pos = self._pos()
        self._dom_attrs = attrs
        self._dom_children: list[tuple[str, dict[str, str], list[str]]] = []
        self._dom_stray: list[str] = []
        self._dom_child_pos: list[tuple[int, int, int]] = []
        self._dom_nested: set[int] = set()
        self._os_type: list[str] | None = None
        self._os_init = False
        self._in_os_type = False
        self._dom_depth = 1
        self._last_start = self._drun_from = self._dom_begin
        self._drun = 0
        p = self.parser
        p.StartElementHandler = self._dstart
        p.EndElementHandler = self._dend
        p.CharacterDataHandler = self._dtext

    def _dstart(self, tag: str, attrs: dict[str, str]) -> None:
        self._drun_from = self._last_start = self.parser.CurrentByteIndex
        self._drun = 0
        self._depth += 1
        if self._depth > self.limits.max_depth:
            raise LimitError(f"elements nest deeper than {self.limits.max_depth} levels (limit max_depth)")
        if len(attrs) > self.limits.max_attributes:
            raise LimitError(f"<{tag}> has {len(attrs)} attributes, more than {self.limits.max_attributes} (limit max_attributes)")
        if attrs and max(map(len, attrs.values())) > self.limits.max_text:
            raise LimitError(f"<{tag}> has an attribute value longer than {self.limits.max_text} characters (limit max_text)")
        depth = self._dom_depth
        if depth == 1:
            self._dom_children.append((tag, attrs, []))
            self._dom_child_pos.append(self._pos())
        elif depth == 2:
            self._dom_nested.add(len(self._dom_children) - 1)
            if tag == "type" and self._dom_children[-1][0] == "os" and self._os_type is None:
                self._os_type = []
                self._in_os_type = True
            elif tag == "init" and self._dom_children[-1][0] == "os":
                self._os_init = True
        self._dom_depth = depth + 1

    def _dtext(self, data: str) -> None:
        self._last_start = None
        self._drun += len(data)  # one text run comes in several pieces: count the run
        if self._drun > self.limits.max_text:
            raise self._long_text()
        depth = self._dom_depth
        if self._in_os_type and depth == 3:
            self._os_type.append(data)  # type: ignore[union-attr]
        elif depth == 2:
            child = self._dom_children[-1]
            if child[0] in _DOMAIN_CHILD_TEXT:
                child[2].append(data)
        elif depth == 1 and (self._dom_stray or data.strip(" \t\r\n")):  # pieces depend on chunking
            self._dom_stray.append(data)

    def _dend(self, tag: str) -> None:
        self._depth -= 1
        self._dom_depth -= 1
        if self._dom_depth:
            self._drun_from = self.parser.CurrentByteIndex
            self._drun = 0
            if self._dom_depth == 2:
                self._in_os_type = False
            self._last_start = None
            return
        end = self._tag_end(self.parser.CurrentByteIndex)
        begin = self._dom_begin
        stray = "".join(self._dom_stray).strip(" \t\r\n") or None  # XML whitespace only: U+00A0 is text
        os_type = None if self._os_type is None else "".join(self._os_type)
        top = DomainTop(
            self._dom_attrs,
            [(t, a, "".join(x)) for t, a, x in self._dom_children],
            stray,
            os_type,
            self._os_init,
            frozenset(self._dom_nested),
        )
        raw = normalize_newlines(bytes(self.buffer[self.start + begin : self.start + end]).decode(self.encoding))
        domain = Domain(dedent(raw, base_indent(raw, _column_indent(self.buffer, self.start, begin))))
        self.machine.domain(domain, top, self._dom_pos, self._dom_child_pos)
        self._last_start = None
        self._set_checkpoint_handlers()

    def _tag_end(self, index: int) -> int:
        """Document-relative end of the element whose end handler is running.

        For an empty-element tag (``<x/>``) expat reports the end event at the byte *after* the
        tag, with no event since its start; otherwise at the ``</x>`` token."""
        buffer, start = self.buffer, self.start
        begin = self._last_start
        if begin is not None:
            m = _TAG_END.match(buffer, start + begin)
            if m is not None and buffer[m.end() - 2 : m.end()] == b"/>":
                return m.end() - start
        m = _TAG_END.match(buffer, start + index)
        if m is None:  # cannot happen: expat has just reported this tag
            raise NotWellFormedError("internal: end of tag not found")
        return m.end() - start

    _last_start: int | None = None

    def _long_text(self) -> LimitError:
        """max_text passed by a text run inside the domain, placed where the run starts: just after
        the tag before it (whatever the pieces it came in)."""
        buffer, start = self.buffer, self.start
        at = self._drun_from
        m = _TAG_END.match(buffer, start + at)
        if m is not None:
            at = m.end() - start
        head = bytes(buffer[start : start + at])
        line_start = max(head.rfind(b"\n"), head.rfind(b"\r")) + 1
        line = len(_LINE_BREAK.findall(head)) + 1
        column = len(head[line_start:].decode("utf-8", "replace")) + 1  # expat counts characters
        limit = self.limits.max_text
        return LimitError(
            f"a text node is longer than {limit} characters (limit max_text)",
            line=line, column=column, offset=at, path=self.machine.path or None,
        )

    # -- feeding ----------------------------------------------------------------------------------

    def feed(self, end: int, final: bool = False) -> bool:
        """Feed the document bytes up to buffer index ``end``. Returns True once the root closed."""
        if end - self.start > self.fed:
            data = bytes(self.buffer[self.start + self.fed : end])
            self.fed = end - self.start
        else:
            data = b""
        try:
            self.parser.Parse(data, final)
        except expat.ExpatError as exc:
            if self.root_end is not None:
                return True  # the next document (or junk) begins after this one's root: not ours
            raise expat_error(exc, self.parser) from None
        except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden) as exc:
            p = self.parser
            raise SecurityError(security_message(exc), line=p.CurrentLineNumber, column=p.CurrentColumnNumber + 1, offset=p.CurrentByteIndex) from None
        except CheckpointError as exc:
            if exc.line is None:
                p = self.parser
                exc.located(line=p.CurrentLineNumber, column=p.CurrentColumnNumber + 1, offset=p.CurrentByteIndex, path=self.machine.path or None)
            raise
        except (LookupError, UnicodeError) as exc:  # unknown encoding or bad bytes for it
            p = self.parser
            raise NotWellFormedError(f"cannot decode the document: {exc}", line=p.CurrentLineNumber, column=p.CurrentColumnNumber + 1, offset=p.CurrentByteIndex) from None
        return self.root_end is not None

    def finish(self, origin: Origin | None) -> Checkpoint:
        return self.machine.finish(origin)


def _column_indent(buffer: bytearray | bytes, start: int, begin: int) -> int:
    """The indentation of the line on which the domain starts, if only spaces precede it."""
    i = start + begin
    j = i
    while j > start and buffer[j - 1] == 0x20:
        j -= 1
    if j == start or buffer[j - 1] == 0x0A:
        return i - j
    return 0


Handler = Callable[..., Any]
