"""Framing: a byte stream of many documents, cut into documents, each parsed on its own.

The framing rule (also in the README):

* Between documents, and before the first, the framer skips XML whitespace, comments, processing
  instructions other than an XML declaration, and UTF-8 byte order marks.
* A document starts at an XML declaration (``<?xml ...?>``), a ``<!DOCTYPE`` (which the security
  policy then refuses) or an element start tag, and ends with the end tag of its root element.
  Its lines and columns count from its first byte, and each document gets a fresh expat parser.
* Anything else between documents (text, a stray end tag, a NUL byte, a UTF-16 byte order mark)
  is garbage: it is reported as one broken entry of the stream, with its own index, and skipped
  up to the next ``<?xml`` or ``<domaincheckpoint``.
* After a broken document the framer resumes at the next ``<?xml`` or ``<domaincheckpoint`` start
  tag found after the point where the error was detected, so documents after it are not lost.

A record is produced as soon as the end tag of its root has been fed: the framer never waits for
the next document to begin. Bytes are kept only for the document in progress.
"""

from __future__ import annotations

import re
from typing import Union

from .errors import CheckpointError, LimitError, NotWellFormedError
from .expat_driver import GeneralDocument
from .fastpath import fast_parse
from .limits import DEFAULT_LIMITS, Limits
from .machine import Options
from .records import Checkpoint, Origin

__all__ = ["Framer", "Item"]

#: What the framer produces: records, and (in skip mode) the errors between them, in order.
Item = Union[Checkpoint, CheckpointError]

_SKIP = re.compile(
    rb"(?:[ \t\r\n]+|\xef\xbb\xbf|<!--(?:[^-]|-(?!->))*-->|<\?(?!xml[ \t\r\n?])(?:[^?]|\?(?!>))*\?>)*"
)
_END = re.compile(rb"</domaincheckpoint[ \t\r\n]*>")
_RESYNC = re.compile(rb"<\?xml[ \t\r\n?]|<domaincheckpoint[ \t\r\n/>]")
_ROOT = re.compile(
    rb"(?:<\?xml(?:[^?]|\?(?!>))*\?>)?(?:[ \t\r\n]+|<!--(?:[^-]|-(?!->))*-->|<\?(?:[^?]|\?(?!>))*\?>)*"
    rb"(?:<!DOCTYPE|<([^ \t\r\n/>!?]+)[ \t\r\n/>])"
)
_ENCODING = re.compile(rb"<\?xml[^?]*?encoding[ \t\r\n]*=[ \t\r\n]*(?:'([^']*)'|\"([^\"]*)\")")
_CODECS = {
    b"utf-8": "utf-8",
    b"utf8": "utf-8",
    b"us-ascii": "ascii",
    b"ascii": "ascii",
    b"iso-8859-1": "latin-1",
    b"latin1": "latin-1",
    b"latin-1": "latin-1",
}
_TAIL_KEEP = 32  # enough of a buffer's end to hold a split '<domaincheckpoint' or '<?xml '


class Framer:
    """The push core: ``feed(bytes)`` and ``close()`` return the items completed so far.

    Errors are returned as items, in stream order; the faces (:mod:`.api`) raise them or pass
    them on, depending on ``on_error``. No I/O happens here.
    """

    def __init__(
        self,
        options: Options | None = None,
        limits: Limits | None = None,
        *,
        path: str | None = None,
        member: str | None = None,
        first_index: int = 0,
    ) -> None:
        self.options = options or Options()
        self.limits = limits or DEFAULT_LIMITS
        self.path = path
        self.member = member
        self.buf = bytearray()
        self.base = 0  # stream offset of buf[0]
        self.pos = 0  # where scanning between documents goes on
        self.doc_start: int | None = None  # buf index of the document in progress
        self.scan_from = 0  # where to look for the next candidate root end tag
        self.general: GeneralDocument | None = None
        self.resyncing = False
        self.index = first_index
        self.closed = False
        self.documents = 0
        self.bytes_seen = 0

    # -- public -----------------------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Item]:
        if self.closed:
            raise ValueError("feed() after close()")
        if data:
            self.buf += data
            self.bytes_seen += len(data)
        out: list[Item] = []
        self._run(out, final=False)
        self._compact()
        return out

    def close(self) -> list[Item]:
        if self.closed:
            return []
        self.closed = True
        out: list[Item] = []
        self._run(out, final=True)
        self.buf = bytearray()
        return out

    # -- the loop ---------------------------------------------------------------------------------

    def _run(self, out: list[Item], final: bool) -> None:
        buf = self.buf
        while True:
            if self.resyncing:
                m = _RESYNC.search(buf, self.pos)
                if m is None:
                    self.pos = max(self.pos, len(buf) - _TAIL_KEEP) if not final else len(buf)
                    return
                self.pos = m.start()
                self.resyncing = False
            if self.doc_start is None:
                if not self._between(out, final):
                    return
            if not self._document(out, final):
                return

    def _between(self, out: list[Item], final: bool) -> bool:
        """Skip what may stand between documents. True when a document starts at ``pos``."""
        buf = self.buf
        pos = _SKIP.match(buf, self.pos).end()  # type: ignore[union-attr]
        self.pos = pos
        n = len(buf)
        if pos >= n:
            return False
        rest = bytes(buf[pos : pos + 10])
        if rest.startswith(b"<"):
            second = rest[1:2]
            if second == b"?":
                if len(rest) < 6 and not final:
                    return False
                if rest.startswith(b"<?xml") and (len(rest) > 5 and rest[5:6] in b" \t\r\n?"):
                    return self._begin(pos)
                if not final:
                    return False  # an unfinished processing instruction
            elif second == b"!":
                if rest.startswith(b"<!--") or (len(rest) < 4 and b"<!--".startswith(rest)):
                    if not final:
                        return False  # an unfinished comment
                elif rest.startswith(b"<!DOCTYPE") or (len(rest) < 9 and b"<!DOCTYPE".startswith(rest) and not final):
                    if len(rest) < 9:
                        return False
                    return self._begin(pos)
            elif second == b"" and not final:
                return False
            elif second not in (b"/", b"") and second not in b" \t\r\n<>=\"'":
                return self._begin(pos)
        elif rest[:1] == b"\xef" and len(rest) < 3 and b"\xef\xbb\xbf".startswith(rest) and not final:
            return False
        self._garbage(out, pos, final)
        return False

    def _garbage(self, out: list[Item], pos: int, final: bool) -> None:
        buf = self.buf
        m = _RESYNC.search(buf, pos + 1)
        end = m.start() if m else len(buf)
        sample = bytes(buf[pos : min(end, pos + 24)])
        if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
            what = "a UTF-16 byte order mark: only UTF-8 documents are read (convert with iconv -f UTF-16 -t UTF-8)"
        elif b"\x00" in sample:
            what = f"NUL bytes {sample!r}"
        else:
            what = repr(sample.decode("utf-8", "replace"))
        err = NotWellFormedError(f"garbage between documents: {what}", line=1, column=1)
        self._emit_error(out, err, pos)
        self._after_error(pos + 1)

    def _begin(self, pos: int) -> bool:
        self.doc_start = pos
        self.scan_from = pos
        self.general = None
        head = self.buf[pos : pos + 1]
        if head == b"<" and bytes(self.buf[pos : pos + 5]) == b"<?xml":
            enc = self._encoding(pos)
            if enc is not None and isinstance(enc, CheckpointError):
                return True  # reported by _document once the declaration is complete
        return True

    def _encoding(self, pos: int) -> str | CheckpointError | None:
        end = self.buf.find(b"?>", pos)
        if end < 0:
            return None
        m = _ENCODING.match(self.buf, pos, end + 2)
        if m is None:
            return "utf-8"
        name = (m.group(1) if m.group(1) is not None else m.group(2)).lower()
        codec = _CODECS.get(name)
        if codec is None:
            return NotWellFormedError(
                f"encoding {name.decode('ascii', 'replace')!r} is not supported: documents must be UTF-8 "
                "(or declare US-ASCII or ISO-8859-1)",
                line=1,
                column=1,
                offset=0,
            )
        return codec

    def _document(self, out: list[Item], final: bool) -> bool:
        """Work on the document in progress. True when it is finished (a new one may follow)."""
        buf = self.buf
        start = self.doc_start
        assert start is not None
        limits = self.limits
        general = self.general
        if general is None:
            # Route early what the fast scanner can never take: another root, a DOCTYPE, a
            # non-UTF-8 declaration. The general path then reports it as soon as it is seen.
            m = _ROOT.match(buf, start)
            if m is not None and m.group(1) != b"domaincheckpoint":
                return self._feed_general(out, final, len(buf))
            if bytes(buf[start : start + 5]) == b"<?xml":
                enc = self._encoding(start)
                if isinstance(enc, CheckpointError):
                    self._emit_error(out, enc, start)
                    self._after_error(start + 1)
                    return True
                if enc is not None and enc != "utf-8":
                    return self._feed_general(out, final, len(buf))
        while True:
            m = _END.search(buf, self.scan_from)
            if m is None:
                self.scan_from = max(start, len(buf) - 20)
                if len(buf) - start > limits.max_document_bytes:
                    err = LimitError(
                        f"document is larger than {limits.max_document_bytes} bytes without ending (limit max_document_bytes)",
                        line=1,
                        column=1,
                    )
                    self._emit_error(out, err, start)
                    self._after_error(len(buf))
                    return True
                if self.general is not None or final:
                    return self._feed_general(out, final, len(buf))
                return False
            end = m.end()
            self.scan_from = end
            if end - start > limits.max_document_bytes:
                err = LimitError(
                    f"document is larger than {limits.max_document_bytes} bytes (limit max_document_bytes)", line=1, column=1
                )
                self._emit_error(out, err, start)
                self._after_error(end)
                return True
            if self.general is None:
                origin = Origin(self.path, self.member, self.index, self.base + start)
                record = fast_parse(bytes(buf[start:end]), self.options, limits, origin)
                if record is not None:
                    out.append(record)
                    self._done(end)
                    return True
            if self._feed_general(out, final, end):
                return True

    def _feed_general(self, out: list[Item], final: bool, end: int) -> bool:
        """Feed the general parser up to ``end``; True when the document is finished."""
        if self.general is None:
            start = self.doc_start
            assert start is not None
            enc = self._encoding(start) if bytes(self.buf[start : start + 5]) == b"<?xml" else "utf-8"
            self.general = GeneralDocument(
                self.options, self.limits, self.buf, start, enc if isinstance(enc, str) else "utf-8"
            )
        general = self.general
        start = self.doc_start
        assert start is not None
        at_end = final and end >= len(self.buf)
        try:
            closed = general.feed(end, at_end)
            if not closed:
                if at_end:  # expat accepted the end of input without the root closing
                    raise NotWellFormedError("not well-formed XML: no element found", line=1, column=1)
                return False
            root_end = general.root_end
            assert root_end is not None
            record = general.finish(Origin(self.path, self.member, self.index, self.base + start))
        except CheckpointError as err:
            where = start + (err.offset if err.offset is not None else 0)
            self._emit_error(out, err, start, relative=True)
            self._after_error(max(where, start + 1))
            return True
        out.append(record)
        self._done(start + root_end)
        return True

    # -- bookkeeping ------------------------------------------------------------------------------

    def _done(self, end: int) -> None:
        self.index += 1
        self.documents += 1
        self.pos = end
        self.doc_start = None
        self.general = None

    def _after_error(self, resume: int) -> None:
        self.index += 1
        self.documents += 1
        self.pos = resume
        self.doc_start = None
        self.general = None
        self.resyncing = True

    def _emit_error(self, out: list[Item], err: CheckpointError, start: int, relative: bool = True) -> None:
        offset = self.base + start + (err.offset or 0)
        err.offset = offset
        err.located(document=self.index, source=self.path, member=self.member)
        out.append(err)

    def _compact(self) -> None:
        """Drop consumed bytes, keeping indexes of the document in progress valid."""
        keep_from = self.doc_start if self.doc_start is not None else self.pos
        if keep_from < 65536 and keep_from * 2 < len(self.buf):
            return
        if keep_from <= 0:
            return
        del self.buf[:keep_from]
        self.base += keep_from
        self.pos -= keep_from
        self.scan_from = max(0, self.scan_from - keep_from)
        if self.doc_start is not None:
            self.doc_start -= keep_from
        if self.general is not None:
            self.general.start -= keep_from
