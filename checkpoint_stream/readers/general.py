"""The general reader: one expat parser per document, driving the state machine with events.

Every document can go this way; the fast reader leaves here what it does not take (comments,
other element orders, anything wrong: this reader words the error). The nested ``<domain>`` is
one ``domain`` event for the state machine however large it is (so is every opaque element a
grammar names: a snapshot's inactive domain, a disk's source, a save cookie). When it is whole in the buffer
and holds nothing a handler must see first (comment, PI, CDATA, reference, CR, a root tag; no
limit it could reach), the piece fed to expat ends after its start tag, its interior is fed with
no handler at all (expat alone checks it), and its top is read from its text by the patterns of
:mod:`..markup.domain_tags`. Otherwise the handlers switch to a :class:`~..markup.domain_scan.
DomainScanner`, which collects the same top from an event per element.

Positions are byte offsets from the document's first byte (expat's ``CurrentByteIndex``); lines
and columns are worked out only when an error is reported (:mod:`..positions`).
"""

from __future__ import annotations

import re
from typing import Callable
from xml.parsers import expat

from ..errors import CheckpointError, LimitError, NotWellFormedError, SecurityError
from ..grammar import Grammar
from ..limits import Limits, markup_message, start_tag_problem, text_message
from ..grammar.domain import DomainTop
from ..markup.domain_scan import DomainScanner, scan_domain
from ..markup.domain_tags import read_top
from ..markup.indentation import base_indent, normalize_newlines
from ..markup.safe_expat import SECURITY_ERRORS, expat_message, new_expat_parser, security_message
from ..records import Domain, Origin, Record
from .machine import CheckpointMachine
from .modes import Options

__all__ = ["GeneralDocument", "attribute_value_offset", "column_indent"]

_FEED_PIECE = 1 << 20  # bytes given to expat at a time
#: An unfinished token longer than this is followed by the framer, not re-fed to expat (see
#: ``feed(pause=True)`` here and ``Framer._hold``).
BIG_TOKEN = 4096

_TAG_END = re.compile(rb"</?[^\s/>]+(?:[^>'\"]|'[^']*'|\"[^\"]*\")*>")
_DOMAIN_OPEN = b"<domain"
_DOMAIN_CLOSE = re.compile(rb"</domain[ \t\r\n]*>")
# A domain's interior fed to expat with no handler at all must hold nothing a handler would act on
# before expat: no comment or PI (their limits), no CDATA section, reference or CR (read_top reads
# the text as written), no root start tag (a document cut short) and no other <domain.
_INTERIOR_BARS = (b"<!", b"<?", b"&", b"\r", _DOMAIN_OPEN)


def attribute_value_offset(buffer: bytes | bytearray, tag_start: int, name: str) -> int:
    """Where the value of attribute ``name`` of the start tag at ``tag_start`` begins (just after
    its opening quote); ``tag_start`` when it cannot be found."""
    m = re.compile(rb"[ \t\r\n]" + re.escape(name.encode("utf-8")) + rb"[ \t\r\n]*=[ \t\r\n]*['\"]").search(buffer, tag_start)
    return m.end() if m is not None else tag_start


class GeneralDocument:
    """Feeds one document's bytes to expat with full handlers. ``feed`` returns True once the
    root element has closed; ``root_end`` is then the document-relative end of its end tag."""

    #: Whether a nested domain that is whole in the buffer has its interior checked by expat with
    #: no handler and its top read from its text (False: an event per element, as a domain that
    #: arrives in pieces is read; the tests compare the two).
    whole_domains = True

    def __init__(self, grammar: Grammar, options: Options, limits: Limits, buffer: bytearray | bytes, start: int) -> None:
        self.grammar = grammar
        self.machine = CheckpointMachine(grammar, options)
        self.limits = limits
        self.buffer = buffer  # the framer's buffer; the document starts at ``start`` in it
        #: Told of every nested element judged whole (:meth:`.fast.reader.FastReader.remember_read`).
        self.remember: Callable[..., None] | None = None
        self.start = start
        self.root_end: int | None = None
        self.fed = 0
        self._roots = frozenset(grammar.roots)
        p = self.parser = new_expat_parser()
        p.ordered_attributes = False
        # Comments and PIs are bounded as text is (between documents the framer does the same).
        p.CommentHandler = self._comment
        p.ProcessingInstructionHandler = self._pi
        self._depth = 0
        # The nested domain, once whole in the buffer, is fed to expat with no handler: the pieces
        # are cut after its start tag (_cut_at_domain), and its interior is fed alone (feed).
        self._watch = True
        self._interior: tuple[bytes, int] | None = None  # the interior's bytes, and the buffer index after them
        self._avail = 0
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

    def _limits(self, tag: str, attrs: dict[str, str]) -> None:
        problem = start_tag_problem(tag, attrs, self._depth, self.limits)
        if problem is not None:
            at = self.parser.CurrentByteIndex
            if problem[1] is not None:  # an attribute value: where it begins
                at = attribute_value_offset(self.buffer, self.start + at, problem[1]) - self.start
            raise LimitError(problem[0], offset=at, path=self.machine.path or None)

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        if self._pending is not None:
            self._flush_text()
        offset = self._last_start = self.parser.CurrentByteIndex
        self._text_run = 0
        self._depth += 1
        self._limits(tag, attrs)
        machine = self.machine
        if tag in self._roots and machine.stack:
            raise self._cut_short(tag, offset, machine.path)
        if machine.start(tag, attrs, offset):
            self._enter_domain(attrs, offset, tag == "domain")
        elif len(machine.disks) + (machine.item is not None) > self.limits.max_disks:
            kind = "snapshot" if machine.document.root == "domainsnapshot" else "checkpoint"
            raise LimitError(f"more than {self.limits.max_disks} disks in one {kind} (limit max_disks)", offset=offset, path=machine.path)

    def _end(self, tag: str) -> None:
        if self._pending is not None:
            self._flush_text()
        self._text_run = 0
        self._depth -= 1
        machine = self.machine
        machine.end(tag, self.parser.CurrentByteIndex)
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
            offset = self.parser.CurrentByteIndex
            if not run:
                self._run_offset = offset
            if data.strip(" \t\r\n"):
                self._pending = [data]
                self._pending_offset = offset
                self._pending_lead = run
            else:
                self.machine.text(data, offset)  # blank: kept where text is allowed, else ignored
        if self._text_run > self.limits.max_text:
            limit = self.limits.max_text
            if self._pending is not None:  # stray text among the first max_text+1 characters wins
                self._flush_text(limit + 1 - self._pending_lead)
            raise LimitError(text_message(self.limits), offset=self._run_offset, path=self.machine.path or None)

    def _flush_text(self, keep: int | None = None) -> None:
        """Give the held text to the machine as one piece (``keep``: only its first characters)."""
        rest = "".join(self._pending)  # type: ignore[arg-type]
        self._pending = None
        self.machine.text(rest if keep is None else rest[: max(0, keep)], self._pending_offset)

    def _comment(self, data: str) -> None:
        if len(data) > self.limits.max_text:
            raise LimitError(markup_message("comment", self.limits), offset=self.parser.CurrentByteIndex, path=self.machine.path or None)

    def _pi(self, target: str, data: str) -> None:
        if len(target) + len(data) > self.limits.max_text:
            raise LimitError(markup_message("processing instruction", self.limits), offset=self.parser.CurrentByteIndex, path=self.machine.path or None)

    @staticmethod
    def _cut_short(tag: str, offset: int, where: str) -> NotWellFormedError:
        """A root start tag where it cannot be content: the document before it was cut short (a
        file truncated by a crash, then the next document appended). Reported at that tag, where
        the framer resumes, so the documents after it are not read as this one's content."""
        return NotWellFormedError(
            f"document cut short: a new <{tag}> starts inside {where}, so the document before it was never "
            "finished (reading resumes at this start tag)",
            offset=offset,
            path=where,
        )

    # -- the nested domain: one event for the machine --------------------------------------------

    def _enter_domain(self, attrs: dict[str, str], offset: int, domain: bool = True) -> None:
        self._dom_begin = offset
        self._scanner = DomainScanner(self.grammar.domain, attrs)
        self._last_start = self._drun_from = offset
        self._drun = 0
        self._watch = False
        p = self.parser
        interior = self._whole_interior(offset) if self.whole_domains and domain else None
        if interior is not None:
            # expat checks the interior with no Python call (feed gives it alone), then the top is
            # read from the text (_whole_dend): no handler is needed before the domain's end tag.
            self._interior = interior
            p.StartElementHandler = p.EndElementHandler = p.CharacterDataHandler = None
            return
        p.StartElementHandler = self._dstart
        p.EndElementHandler = self._dend
        p.CharacterDataHandler = self._dtext

    def _whole_interior(self, offset: int) -> tuple[bytes, int] | None:
        """The domain's interior (and the buffer index after it) when it can be fed to expat with
        no handler: the domain's start tag ends where the piece being parsed ends, its end tag is in the
        buffer, and nothing in between can break a limit or need a handler (the limits are
        bounded from above: an element per '<', an attribute per '=', no text longer than the
        whole interior)."""
        buf, limits = self.buffer, self.limits
        m = _TAG_END.match(buf, self.start + offset)
        if m is None or m.end() != self.start + self.fed or buf[m.end() - 2 : m.end()] == b"/>":
            return None
        begin = m.end()
        end = buf.find(b"</domain", begin, self.start + self._avail)
        if end < 0 or _DOMAIN_CLOSE.match(buf, end, self.start + self._avail) is None:
            return None
        interior = bytes(buf[begin:end])
        if len(interior) > limits.max_text or any(bar in interior for bar in _INTERIOR_BARS):
            return None
        if self._depth + interior.count(b"<") > limits.max_depth:
            return None
        if interior.count(b"=") > limits.max_attributes and max(p.count(b"=") for p in interior.split(b"<")) > limits.max_attributes:
            return None
        return interior, end

    def _whole_dend(self, tag: str) -> None:
        """The end of a domain whose interior expat checked with no handler: its top is read from
        its text (:func:`..markup.domain_tags.read_top`), or, where the patterns cannot say, by the
        event scanner on a parser of its own (the interior is known well formed and in limits)."""
        self._depth -= 1
        end = self._tag_end(self.parser.CurrentByteIndex)
        begin = self._dom_begin
        raw_bytes = bytes(self.buffer[self.start + begin : self.start + end])
        raw = raw_bytes.decode("utf-8")
        attrs = self._scanner.attrs
        found = read_top(raw, self.grammar.domain)
        if found is not None:
            top, at = found
            top = DomainTop(attrs, top.children, top.stray_text)
            offsets = [begin + i for i in at] if raw.isascii() else [begin + len(raw[:i].encode("utf-8")) for i in at]
        else:
            scanner = scan_domain(raw_bytes, self.grammar.domain, self.limits, begin)
            top, offsets = scanner.top(), scanner.offsets
        self._finish_domain(raw, begin, end, top, offsets)

    def _dstart(self, tag: str, attrs: dict[str, str]) -> None:
        offset = self._drun_from = self._last_start = self.parser.CurrentByteIndex
        self._drun = 0
        self._depth += 1
        self._limits(tag, attrs)
        scanner = self._scanner
        if tag in self._roots and not scanner.in_any_content():
            raise self._cut_short(tag, offset, scanner.where(f"{self.machine.path}/domain"))
        scanner.start(tag, attrs, offset)

    def _dtext(self, data: str) -> None:
        self._last_start = None
        self._drun += len(data)  # one text run comes in several pieces: count the run
        if self._drun > self.limits.max_text:
            raise self._long_text()
        self._scanner.text(data)

    def _dend(self, tag: str) -> None:
        self._depth -= 1
        scanner = self._scanner
        if not scanner.end():
            self._drun_from = self.parser.CurrentByteIndex
            self._drun = 0
            self._last_start = None
            return
        end = self._tag_end(self.parser.CurrentByteIndex)
        begin = self._dom_begin
        with memoryview(self.buffer) as view:  # decoded in place: a large domain is not copied twice
            raw = normalize_newlines(str(view[self.start + begin : self.start + end], "utf-8"))
        self._finish_domain(raw, begin, end, scanner.top(), scanner.offsets)

    def _finish_domain(self, raw: str, begin: int, end: int, top: DomainTop, offsets: list[int]) -> None:
        # Dedented when first read; the schemas are shown it as written (records.as_written).
        domain = Domain._from_text(raw, base_indent(raw, column_indent(self.buffer, self.start, begin)), markup=True)
        pending = self.machine.pending
        self.machine.domain(domain, top, begin, offsets)
        if self.remember is not None and pending is not None:  # judged: the fast reader may keep it
            self.remember(self.buffer, self.start, self.start + begin, self.start + end, pending[1], self.machine.options, self.limits, domain)
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
        at = self._drun_from
        m = _TAG_END.match(self.buffer, self.start + at)
        if m is not None:
            at = m.end() - self.start
        return LimitError(text_message(self.limits), offset=at, path=self.machine.path or None)

    # -- feeding ----------------------------------------------------------------------------------

    def feed(self, end: int, final: bool = False, pause: bool = False) -> bool:
        """Feed the document bytes up to buffer index ``end``. Returns True once the root closed.
        Errors carry document-relative byte offsets. With ``pause``, feeding stops early (False,
        ``fed`` short of ``end``) once expat holds an unfinished token of more than a few KiB:
        the caller then follows that token itself rather than let expat buffer it."""
        p = self.parser
        try:
            # In pieces: expat copies what it is given into its own buffer, so a document fed
            # whole would be held three times (the framer's buffer, the slice, expat's copy).
            # expat re-scans the unfinished token it holds on every call, so a piece is at least
            # twice that token: the re-scanning stays linear in all.
            self._avail = end - self.start
            while True:
                held = self.fed - max(p.CurrentByteIndex, 0) if self.fed else 0  # the unfinished token
                at = self.start + self.fed
                stop = max(at, min(end, at + max(_FEED_PIECE, 2 * held)))  # never back: ``end`` may lie before what was fed
                if self._watch and stop > at:
                    stop = self._cut_at_domain(at, stop)
                data = bytes(self.buffer[at:stop]) if stop > at else b""
                self.fed = stop - self.start
                last = stop >= end
                p.Parse(data, final and last)
                if self._interior is not None:
                    interior, stop = self._interior
                    self._interior = None
                    self._last_start = None
                    p.Parse(interior, False)  # no handler: expat alone
                    self.fed = stop - self.start
                    p.StartElementHandler = self._dstart  # (the end tag comes next: neither is called)
                    p.CharacterDataHandler = self._dtext
                    p.EndElementHandler = self._whole_dend
                    continue
                if last or self.root_end is not None:
                    break
                if pause and self.fed - max(p.CurrentByteIndex, 0) > BIG_TOKEN:
                    return False
        except expat.ExpatError as exc:
            if self.root_end is not None:
                return True  # the next document (or junk) begins after this one's root: not ours
            raise NotWellFormedError(expat_message(exc), offset=p.ErrorByteIndex) from None
        except SECURITY_ERRORS as exc:
            raise SecurityError(security_message(exc), offset=p.CurrentByteIndex) from None
        except CheckpointError as exc:
            if exc.offset is None:
                exc.located(offset=p.CurrentByteIndex, path=self.machine.path or None)
            raise
        except (LookupError, UnicodeError) as exc:  # bad bytes for the encoding
            raise NotWellFormedError(f"cannot decode the document: {exc}", offset=p.CurrentByteIndex) from None
        return self.root_end is not None

    def _cut_at_domain(self, at: int, stop: int) -> int:
        """Where to end the piece ``buf[at:stop]``: just after a ``<domain`` start tag in it (so
        that, if it is the nested domain, its interior can be fed alone), else at ``stop``."""
        buf = self.buffer
        i = buf.find(_DOMAIN_OPEN, at, stop)
        while i >= 0:
            after = buf[i + len(_DOMAIN_OPEN) : i + len(_DOMAIN_OPEN) + 1]
            if after and after in b" \t\r\n>/":
                m = _TAG_END.match(buf, i, stop)
                return m.end() if m is not None else stop
            i = buf.find(_DOMAIN_OPEN, i + 1, stop)
        return stop

    def finish(self, origin: Origin | None) -> Record:
        return self.machine.finish(origin)


def column_indent(buffer: bytearray | bytes, start: int, begin: int) -> int:
    """The indentation of the line on which the domain starts, if only spaces precede it."""
    i = start + begin
    j = i
    while j > start and buffer[j - 1] == 0x20:
        j -= 1
    if j == start or buffer[j - 1] == 0x0A:
        return i - j
    return 0

