"""Framing: a byte stream of many documents, cut into documents, each parsed on its own.

The framing rule (also in the README):

* Between documents, and before the first, the framer skips what libxml2 allows around one
  document: XML whitespace, comments (without ``--`` inside) and processing instructions (with a
  target name other than ``xml`` in any case), none holding a control character. A comment or PI
  longer than ``max_text`` is garbage (below), finished or not: it could not be waited for
  unfinished. A UTF-8 byte order mark may begin a document: at the stream's first byte, or once
  between two documents (what stands before it is then the previous document's epilog).
* A document starts at an XML declaration (``<?xml ...?>``), a ``<!DOCTYPE`` (which the security
  policy then refuses) or an element start tag, and ends with the end tag of its root element. An
  XML declaration must be the document's first byte, as libxml2 wants it: the stream's first
  byte, the byte just after a byte order mark, or, between two documents, any place after the
  previous one's epilog; elsewhere it is a broken document. So a stream of one document is judged
  as libvirt judges that document.
  Its lines and columns count from its first byte, and each document gets a fresh expat parser.
* Anything else between documents (text, a stray end tag, a NUL byte, UTF-16 text with or
  without a byte order mark) is garbage: it is reported as one broken entry of the stream, with
  its own index, and skipped up to the next ``<?xml`` or ``<domaincheckpoint``. Text is quoted;
  binary bytes are described instead (``binary data (gzip?)``, ``binary data (N bytes)``).
* After a broken document the framer resumes at the next ``<?xml`` or ``<domaincheckpoint`` start
  tag found after the point where the error was detected, and never before the start tag of the
  broken document's own root: an error in the prolog (a refused DOCTYPE, a bad XML declaration)
  skips the whole prolog and that root start tag, so the body of a refused document never comes
  out as a document of its own. Documents after it are not lost.

Encodings, as libvirt reads them: every document is read as UTF-8 (a UTF-8 byte order mark is
skipped). The encoding named in an XML declaration is ignored, as libvirt ignores it, but it must
be a known encoding name; invalid UTF-8 is a positioned :class:`~.errors.NotWellFormedError`.

Cost: every byte is scanned a bounded number of times. The fast path gets each document in one
piece; the general parser is fed incrementally, and while one markup token (a tag, a comment, a
processing instruction) is unfinished and longer than a few KiB, the framer follows that token
itself and feeds expat again only once the token is complete, so expat, which re-scans an
unfinished token on every call, never makes the work quadratic. An attribute value longer than
``max_text`` is reported while it is still arriving.

A record is produced as soon as the end tag of its root has been fed: the framer never waits for
the next document to begin. Bytes are kept only for the document in progress, and the last 64 KiB at
most of what was consumed (dropped in one go, their line breaks counted then, so that errors also
carry lines and columns counted from the stream's start: :class:`~.positions.DroppedLines`).

Chunking: the records and the errors (class, message, document index, line, column, offset,
path) are the same however the stream is cut into chunks. Text is held by the expat driver until
the next tag (or until its run passes ``max_text``), so what a text error says never depends on
the pieces expat reported. One difference is inherent in expat: when it meets ``]]>`` in text it
drops the data of that text token (the bytes since the last tag, reference, line break or feed
boundary) that it has not reported yet. A text run that passes ``max_text`` only with that data
is therefore, fed whole, a not-well-formed ``]]>`` error, and, fed in small chunks, what the run's
first ``max_text`` + 1 characters imply: a ``max_text`` :class:`LimitError` at the start of the
run, or the :class:`SchemaError` of stray text there when the run stands where no text is allowed.
The framer then resumes from that error's position, so what follows in the same stretch of broken
bytes can differ too.
"""

from __future__ import annotations

import codecs
import dataclasses
import functools
import re
from typing import Union, cast

from .align import align_disks, align_snapshot_disks
from .errors import CheckpointError, LimitError, NotWellFormedError, SchemaError, SemanticError
from .limits import DEFAULT_LIMITS, Limits, attribute_value_message, attributes_message, markup_message
from .markup.elements import element_end, find_element, open_elements, tag_name
from .markup.identity import identify
from .libvirt_schemas import SchemaFault, root_namespaces
from .positions import DroppedLines, StreamPosition, locate, utf8_cut
from .readers import DEFAULT_READER, GeneralDocument, Options, Reader
from .readers.general import BIG_TOKEN
from .records import Origin, Record, Snapshot, as_written, make_origin, renamed

__all__ = ["Framer", "Item", "fast_single"]

#: What the framer produces: records, and (in skip mode) the errors between them, in order.
Item = Union[Record, CheckpointError]
#: What the loop collects: items, and records whose judgement waits for the end of the feed.
_Out = list[Union[Record, CheckpointError, "_Pending"]]

# Comments and PIs are spelled as unrolled loops ("normal* (special normal*)*"), which match in
# linear time without possessive quantifiers (Python 3.10 has none, and Debian's 3.11.2 matches
# some of them wrongly). A NUL byte is in no XML construct: a comment or PI holding one is garbage.
# They are XML's own (libxml2 and expat judge them so inside a document): a comment holds no
# '--' and does not end in '--->'; a PI has a target name, not 'xml' in any case (a lowercase
# '<?xml ' is a declaration: a document starts there); neither holds a control character.
_CTRL = rb"\x00-\x08\x0b\x0c\x0e-\x1f"
_SKIP_COMMENT = rb"<!--[^-" + _CTRL + rb"]*(?:-[^-" + _CTRL + rb"]+)*-->"
# A PI holding an XML declaration is not skipped: it is an unfinished one followed by a document.
_SKIP_PI = (
    rb"<\?(?![Xx][Mm][Ll][ \t\r\n?])[A-Za-z_:\x80-\xff][-A-Za-z0-9._:\x80-\xff]*"
    rb"(?:[ \t\r\n][^?<" + _CTRL + rb"]*(?:(?:\?(?!>)|<(?!\?xml[ \t\r\n?]))[^?<" + _CTRL + rb"]*)*)?\?>"
)
_SKIP_ONE = re.compile(rb"[ \t\r\n]+|" + _SKIP_COMMENT + rb"|" + _SKIP_PI)  # one construct of _SKIP
_SKIP = re.compile(rb"(?:[ \t\r\n]+|" + _SKIP_COMMENT + rb"|" + _SKIP_PI + rb")*")
_BOM = b"\xef\xbb\xbf"
#: Why a construct between documents is not one of those above (reported with the garbage).
_MISC_FAULTS: tuple[tuple["re.Pattern[bytes]", str], ...] = tuple(
    (re.compile(pattern, re.S), reason)
    for pattern, reason in (
        (rb"<!--(?:(?!-->).)*--(?!>)", "a comment must not hold '--' (libxml2: Double hyphen within comment)"),
        (rb"<!--(?:(?!-->).)*[" + _CTRL + rb"]", "a comment holds a control character"),
        (rb"<\?[Xx][Mm][Ll][ \t\r\n?]", "'xml' in any case is reserved: not a processing instruction's name (libxml2: Invalid PI name)"),
        (rb"<\?(?![A-Za-z_:\x80-\xff])", "a processing instruction needs a target name (libxml2: no target name)"),
        (rb"<\?(?:(?!\?>).)*[" + _CTRL + rb"]", "a processing instruction holds a control character"),
    )
)
_WHITESPACE = re.compile(rb"[ \t\r\n]*")
_LINE_BREAK = re.compile(rb"\r\n?|\n")
@functools.lru_cache(maxsize=8)
def _root_patterns(roots: tuple[bytes, ...]) -> tuple["re.Pattern[bytes]", "re.Pattern[bytes]"]:
    """For a grammar's root tags: their end tags (a document's candidate end), and where the
    framer resumes after garbage or a broken document: an XML declaration or a root's start tag,
    or just after a root's end tag (what follows is then judged as what stands between documents,
    so a document whose root start tag is damaged is reported, not skipped with the broken one
    before it). The end tag's whitespace is bounded so that a match fits in ``_TAIL_KEEP``."""
    tag = b"(?:" + b"|".join(re.escape(r) for r in roots) + b")" if len(roots) > 1 else re.escape(roots[0])
    return (
        re.compile(rb"</" + tag + rb"[ \t\r\n]*>"),
        re.compile(rb"<\?xml[ \t\r\n?]|<" + tag + rb"[ \t\r\n/>]|</" + tag + rb"[ \t\r\n]{0,8}>"),
    )



_ROOT = re.compile(
    rb"(?:<\?xml(?:[^?]|\?(?!>))*\?>)?(?:[ \t\r\n]+|<!--(?:[^-]|-(?!->))*-->|<\?(?:[^?]|\?(?!>))*\?>)*"
    rb"(?:<!DOCTYPE|<([^ \t\r\n/>!?]+)[ \t\r\n/>])"
)
_VERSION = re.compile(rb"<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(?:'([^']*)'|\"([^\"]*)\")")
_VERSION_OK = re.compile(rb"1\.[0-9]*")  # libxml2 reads 1.x, even "1.", (as 1.0) and refuses anything else
_ENCODING = re.compile(rb"<\?xml[^?]*?encoding[ \t\r\n]*=[ \t\r\n]*(?:'([^']*)'|\"([^\"]*)\")")
_ENC_NAME = re.compile(rb"[A-Za-z][A-Za-z0-9._-]*")
_DECL_MAX = 4096  # an XML declaration longer than this is left to expat to judge

# What may precede the root start tag, each construct also matching a prefix of itself at the end of
# the buffer (so "the prolog is not complete yet" and "this is not a prolog" can be told apart).
# A NUL byte can be in no XML construct: it always ends the prolog scan. Unrolled loops, and no
# two alternatives that can match the same text (a '<' in an internal subset is a comment's, or
# alone), so matching stays linear without possessive quantifiers.
_Q = rb"""(?:'[^'\x00]*(?:'|\Z)|"[^"\x00]*(?:"|\Z))"""
_COMMENT = rb"<!--[^-\x00]*(?:-(?!->)[^-\x00]*)*(?:-->|\Z)"
_PI = rb"<\?[^?\x00]*(?:\?(?!>)[^?\x00]*)*(?:\?>|\Z)"
_SUBSET = rb"\[[^\]'\"<\x00]*(?:(?:" + _COMMENT + rb"|<(?!!--)|" + _Q + rb")[^\]'\"<\x00]*)*(?:\][ \t\r\n]*(?:>|\Z)|\Z)"
_PROLOG = re.compile(
    rb"(?:[ \t\r\n]+|\xef\xbb\xbf|" + _COMMENT + rb"|" + _PI
    + rb"|<!DOCTYPE[^\[>'\"\x00]*(?:" + _Q + rb"[^\[>'\"\x00]*)*(?:" + _SUBSET + rb"|>|\Z))*"
)
_ROOT_START = re.compile(rb"<[^!?/ \t\r\n<>]")
# A start tag with a name (one that begins with a letter, or a valid UTF-8 sequence).
# A damaged token or text where a document's root was expected: the rest of one line, then
# whitespace up to the next '<'.
_DAMAGED_LINE = re.compile(rb"<?[^<\n\x00]{0,256}[ \t\r\n]*")  # a NUL ends it: it belongs to no document
# Garbage that is a damaged XML declaration ("b?xml version='1.0'?>", "<?xm"), up to the root it
# declared, and (while more may come) what may still become one.
_DAMAGED_DECLARATION = re.compile(
    rb"(?:<\?|[^<>\n\x00]\?)[^<>\n\x00]{0,64}version[^<>\n\x00]{0,192}\?>[ \t\r\n]*|<\?(?:x(?:ml?)?)?[ \t\r\n]*"
)
_MAYBE_DAMAGED_DECLARATION = re.compile(rb"(?:<|[^<>\n])(?:\?[^<>\n]{0,256}(?:>[ \t\r\n]*)?)?(?:<[^<>\s]{0,40})?")
_NAMED_TAG = re.compile(rb"<(?:[A-Za-z_:]|[\xc2-\xf4][\x80-\xbf])[-A-Za-z0-9._:\x80-\xff]*[ \t\r\n/>]")
_QUOTE_OR_GT = re.compile(rb"[>'\"]")
_REF = re.compile(rb"&[^;&<'\"]*;")
_CONTINUATION = bytes(range(0x80, 0xC0))
_TAG_NAME = re.compile(rb"<([^ \t\r\n/>]+)")
_TAIL_KEEP = 32  # enough of a buffer's end to hold a split '<domaincheckpoint' or '<?xml '
_COMPACT_AT = 65536  # consumed bytes are dropped once there are this many (constant memory)
_BINARY_WINDOW = 4096  # binary garbage up to this size is reported with its size
# What binary garbage most often is, by its first bytes (a compressed or archived log, a core
# file, a document saved in another format): named in the report instead of quoting mojibake.
_MAGIC: tuple[tuple["re.Pattern[bytes]", str], ...] = tuple(
    (re.compile(pattern), kind)
    for pattern, kind in (
        (rb"\x1f\x8b", "gzip"),
        (rb"\xfd7zXZ\x00", "xz"),
        (rb"BZh[1-9](?:1AY&SY|\x17rE8P)", "bzip2"),
        (rb"\x28\xb5\x2f\xfd", "zstd"),
        (rb"PK(?:\x03\x04|\x05\x06|\x07\x08)", "zip"),
        (rb"\x7fELF", "ELF executable"),
        (rb"\x89PNG\r\n\x1a\n", "PNG image"),
        (rb"%PDF-", "PDF"),
    )
)
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]")  # not in text (ESC is: colored logs)
_PRINTABLE_ASCII = re.compile(rb"[\x20-\x7e\t\r\n]")


def _binary_kind(sample: bytes) -> str | None:
    """What the first bytes of garbage look like: None for text (quoted as it is), the name of a
    known binary format, or "" for other binary data. Text in a legacy encoding (Latin-1) is text:
    it is binary only when, not being UTF-8, most of it is not ASCII either."""
    for magic, kind in _MAGIC:
        if magic.match(sample):
            return kind
    if len(sample) >= 4 and (sample[1::2].count(0) == len(sample) // 2 or sample[0::2].count(0) == (len(sample) + 1) // 2):
        rest = sample[0::2] if sample[1::2].count(0) == len(sample) // 2 else sample[1::2]
        if rest.count(0) == 0:
            return "UTF-16 text"  # NUL bytes between the characters
    if _CONTROL.search(sample):
        return ""
    try:
        sample[: utf8_cut(sample, len(sample))].decode("utf-8")
    except UnicodeDecodeError:
        if 2 * len(_PRINTABLE_ASCII.findall(sample)) < len(sample):
            return ""
    return None


def _known_encoding(name: bytes) -> bool:
    """Whether ``name`` names a text encoding (libxml2 knows these through iconv)."""
    if _ENC_NAME.fullmatch(name) is None:
        return False
    try:
        info = codecs.lookup(name.decode("ascii"))
    except LookupError:
        return False
    return bool(getattr(info, "_is_text_encoding", True))


_DECLARATION = re.compile(rb"<\?xml[ \t\r\n?]")


def _next_declaration(buf: bytearray, start: int, end: int) -> int:
    """Where an XML declaration begins in ``buf[start:end]`` outside a comment (-1: none)."""
    while True:
        m = _DECLARATION.search(buf, start, end)
        if m is None:
            return -1
        at = m.start()
        opened = buf.rfind(b"<!--", start, at)
        if opened < 0 or buf.find(b"-->", opened + 4, at) >= 0:
            return at
        start = at + 1


def _chars_at_least(raw: bytes) -> int:
    """A lower bound of the characters an attribute value's raw bytes (maybe unfinished) stand for."""
    amp = raw.rfind(b"&")
    if amp >= 0 and raw.find(b";", amp) < 0:
        raw = raw[:amp]  # an unfinished reference: counted as nothing yet
    stripped, refs = _REF.subn(b"", raw)
    return len(stripped.translate(None, _CONTINUATION)) + refs - stripped.count(b"\r\n")


class _Token:
    """An unfinished markup token the general parser holds, followed here instead of by expat.

    Positions are document-relative. ``advance`` scans only bytes not seen before and says
    where the token ends (document-relative), or -1 while it does not end yet; it raises :class:`LimitError` for an
    attribute value longer than ``max_text`` or more than ``max_attributes`` attributes (what the
    parser would report once the tag is complete)."""

    __slots__ = ("rel", "kind", "term", "scanned", "quote", "attrs", "value_from", "check_at", "done_at")

    def __init__(self, buf: bytearray, doc: int, rel: int) -> None:
        self.rel = rel
        head = bytes(buf[doc + rel : doc + rel + 4])
        self.term = b""
        if head.startswith(b"<!--"):
            self.kind, self.term = "term", b"-->"
        elif head.startswith(b"<?"):
            self.kind, self.term = "term", b"?>"
        elif head.startswith(b"<!"):
            self.kind = "other"
        elif head.startswith(b"<"):
            self.kind = "tag"
        elif head.startswith(b"&"):
            self.kind, self.term = "term", b";"
        else:
            self.kind = "other"
        self.scanned = rel + 1
        self.quote: int | None = None
        self.attrs = 0
        self.value_from = 0
        self.check_at = 0
        self.done_at = -1

    def advance(self, buf: bytearray, doc: int, end: int, limits: Limits) -> int:
        if self.done_at >= 0:
            return self.done_at
        stop = end - doc
        if self.kind == "term":
            term = self.term
            found = buf.find(term, doc + max(self.rel + 1, self.scanned - len(term) + 1), end)
            self.scanned = stop
            if found >= 0:
                self.done_at = found + len(term) - doc
            elif term != b";" and stop - self.rel > limits.max_text + 8:  # longer than any allowed one
                what = "comment" if term == b"-->" else "processing instruction"
                raise LimitError(markup_message(what, limits), offset=self.rel)
            return self.done_at
        if self.kind != "tag":
            return -1
        i = self.scanned
        quote = self.quote
        while i < stop:
            if quote is not None:
                j = buf.find(quote, doc + i, end)
                if j < 0:
                    i = stop
                    break
                self._check_value(buf, doc, j, limits)
                i = j - doc + 1
                quote = None
            else:
                m = _QUOTE_OR_GT.search(buf, doc + i, end)
                if m is None:
                    i = stop
                    break
                i = m.end() - doc
                c = buf[m.start()]
                if c == 0x3E:  # '>'
                    self.scanned, self.quote = i, None
                    self.done_at = i
                    return i
                quote = c
                self.attrs += 1
                if self.attrs > limits.max_attributes:
                    raise LimitError(attributes_message(self._tag(buf, doc), limits), offset=self.rel)
                self.value_from = i
                self.check_at = limits.max_text
        self.scanned, self.quote = i, quote
        if quote is not None:
            self._check_value(buf, doc, doc + stop, limits)
        return -1

    def _check_value(self, buf: bytearray, doc: int, end: int, limits: Limits) -> None:
        size = end - (doc + self.value_from)
        if size <= self.check_at:
            return
        self.check_at = 2 * size  # counted again only once it has doubled: linear in all
        if _chars_at_least(bytes(buf[doc + self.value_from : end])) > limits.max_text:
            raise LimitError(attribute_value_message(self._tag(buf, doc), limits), offset=self.value_from)

    def _tag(self, buf: bytearray, doc: int) -> str:
        """The name of the tag followed (the words of the limit errors name it, as the expat reader
        does once a tag is complete)."""
        m = _TAG_NAME.match(buf, doc + self.rel)
        return m.group(1).decode("utf-8", "replace") if m is not None else "?"


class _Pending:
    """A record read whose domain and disks are still to be judged (:meth:`Framer._settle`), with
    where its document stands: ``buf[start:end]``, document ``index`` of the stream."""

    __slots__ = ("record", "start", "end", "index")

    def __init__(self, record: Record, start: int, end: int, index: int) -> None:
        self.record = record
        self.start = start
        self.end = end
        self.index = index


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
        reader: Reader | None = None,
        path: str | None = None,
        member: str | None = None,
        first_index: int = 0,
    ) -> None:
        self.options = options or Options()
        self.limits = limits or DEFAULT_LIMITS
        self.reader = reader = reader or DEFAULT_READER
        fast = reader.fast
        self.fast_reader = fast
        self.fast = fast.ready(self.limits) if fast is not None else None  # None: no fast reader for these limits
        self.identity_root = reader.grammar.checkpoint.root
        self.roots = tuple(r.encode() for r in reader.grammar.roots)
        self.root_length = max(len(r) for r in self.roots)
        self.end_tag, self.resync = _root_patterns(self.roots)
        self.path = path
        self.member = member
        self.buf = bytearray()
        self.base = 0  # stream offset of buf[0]
        self.dropped = DroppedLines()  # the lines of the bytes before buf[0], for source positions
        self.pos = 0  # where scanning between documents goes on
        self.doc_start: int | None = None  # buf index of the document in progress
        self.scan_from = 0  # where to look for the next candidate root end tag
        self.general: GeneralDocument | None = None
        self.resyncing = False
        # What a document's start may follow (libxml2's rule for one document, see _between):
        # ``opening`` while nothing but whitespace, comments and PIs was read from the stream's
        # start; ``gap_bom`` the stream offset of a byte order mark read since the last document.
        self.opening = True
        self.gap_bom: int | None = None
        self.prolog_from: int | None = None  # buf index of a broken document whose root is to be skipped
        self.prolog_retry = 0  # buffer length at which to look for that root again
        self.token: _Token | None = None  # an unfinished big token the general parser holds
        self.route_retry = 0  # buffer length at which to try routing the document in progress again
        self.gt_after = 0  # document-relative: just after the last '>' seen while buffering
        self.gt_scanned = 0  # document-relative: how far '>' was looked for
        self.index = first_index
        self.closed = False
        self.documents = 0
        self.bytes_seen = 0

    # -- public -----------------------------------------------------------------------------------

    def resume_at(self, position: StreamPosition) -> None:
        """Start at ``position`` of the stream instead of its first byte, before anything is fed:
        what follows is fed from there. At a clean point (see :class:`~.positions.StreamPosition`)
        the framer of the whole stream holds nothing but these facts: the offset of its buffer's
        start, the lines of the bytes before it, and the next document's index."""
        if self.bytes_seen or self.closed:
            raise ValueError("resume_at() before the first feed()")
        self.base = position.offset
        self.opening = position.offset == 0
        self.dropped.lines, self.dropped.tail, self.dropped.cr = position.lines, position.tail, position.cr
        self.index = position.index

    def feed(self, data: bytes | memoryview) -> list[Item]:
        if self.closed:
            raise ValueError("feed() after close()")
        if data:
            self.buf += data
            self.bytes_seen += len(data)
        out: _Out = []
        self._run(out, final=False)
        if self.options.after_record:
            self._settle(out)
        self._compact()
        return cast(list[Item], out)  # settled: no _Pending left

    def close(self) -> list[Item]:
        if self.closed:
            return []
        self.closed = True
        out: _Out = []
        self._run(out, final=True)
        if self.options.after_record:
            self._settle(out)
        self.buf = bytearray()
        return cast(list[Item], out)  # settled: no _Pending left

    # -- the loop ---------------------------------------------------------------------------------

    def _run(self, out: _Out, final: bool) -> None:
        buf = self.buf
        while True:
            if self.doc_start is None and self.prolog_from is None and not self.resyncing:
                self._fast_run(out)
                if self.pos == len(buf) and not (final and self.gap_bom is not None):
                    return  # all taken: what _between would find at the end of the buffer
            if self.prolog_from is not None and not self._skip_prolog(final):
                return
            if self.resyncing:
                m = self.resync.search(buf, self.pos)
                if m is None:
                    self.pos = max(self.pos, len(buf) - _TAIL_KEEP) if not final else len(buf)
                    return
                self.pos = m.end() if buf[m.start() + 1] == 0x2F else m.start()  # '/': after an end tag
                self.resyncing = False
            if self.doc_start is None:
                if not self._between(out, final):
                    if self.resyncing:  # garbage was reported: go on resyncing in the same call
                        continue
                    return
            if not self._document(out, final):
                return

    def _fast_run(self, out: _Out) -> None:
        """The hot loop: consecutive documents in libvirt's layout, separated by whitespace only.

        Exactly what :meth:`_between` and :meth:`_document` do for such a document (same start,
        same candidate end tag, same size limit, the same fast scanner on the same bytes), with
        the per-document bookkeeping done once per run, tomli style: locals bound once, no
        copy of the document. It stops at the first document it cannot take, which the general
        loop then handles from the same position.
        """
        buf = self.buf
        n = len(buf)
        pos = self.pos
        index = first = self.index
        options, limits = self.options, self.limits
        max_bytes = limits.max_document_bytes
        path, member, base = self.path, self.member, self.base
        skip, search = _WHITESPACE.match, self.end_tag.search
        parse = self.fast
        if parse is None:
            return
        after = options.after_record  # judged and aligned once the run is over (_settle)
        if self.gap_bom is not None:
            return  # what may follow a byte order mark is _between's to judge
        if self.opening:
            start = skip(buf, pos).end()  # type: ignore[union-attr]
            if start and buf[start : start + 2] == b"<?":
                return  # not at the stream's first byte: a declaration there is _between's to judge
        variant = self.fast_reader.parse_variant  # type: ignore[union-attr]
        try:
            while True:
                start = skip(buf, pos).end()  # type: ignore[union-attr]
                if start >= n or buf[start] != 0x3C:  # '<'
                    return
                m = search(buf, start)
                if m is None:
                    return
                end = m.end()
                if end - start > max_bytes:
                    return
                origin = make_origin(path, member, index, base + start, base + end)
                record = parse(buf, start, end, options, limits, origin)
                if record is None:
                    # What _document would do next for this document, without leaving the loop.
                    record = variant(buf, start, end, options, limits, origin)
                    if record is None:
                        return
                out.append(_Pending(record, start, end, index) if after else record)
                self.opening = False
                index += 1
                pos = end
        finally:
            self.pos = pos
            self.index = index
            self.documents += index - first

    def _skip_prolog(self, final: bool) -> bool:
        """After an error in a document: move ``pos`` past its root start tag, once the prolog is
        known. False while more bytes are needed to tell."""
        buf = self.buf
        start = self.prolog_from
        assert start is not None
        n = len(buf)
        if not final and n < self.prolog_retry:
            return False
        m = _PROLOG.match(buf, start)
        end = m.end() if m is not None else start
        if n - end < 16 and not final and n - start <= self.limits.max_document_bytes:
            self.prolog_retry = n + max(n - start, 64)  # look again once that much more has come
            return False
        again = _next_declaration(buf, start + 1, end)
        if again >= 0:
            # A second XML declaration within the broken document's prolog (or inside its own
            # unfinished declaration) begins the next document: the broken one was cut short.
            self.pos = again
        else:
            skip_to = self.pos
            if _ROOT_START.match(buf, end) is not None:
                skip_to = end + 1
            if _NAMED_TAG.match(buf, end) is None:
                # Damage where the root was expected (a declaration whose '?' was changed or
                # lost, text glued to the declaration): the root start tag after it, on the same
                # line but for whitespace, is still this document's.
                root_at = buf.find(b"<", end + 1, end + _DECL_MAX)
                if not final and (root_at < 0 or n - root_at < self.root_length + 2) and n - start <= self.limits.max_document_bytes and n - end < _DECL_MAX:
                    self.prolog_retry = n + max(n - start, 64)
                    return False
                damaged = root_at > 0 and _DAMAGED_LINE.fullmatch(buf, end, root_at) is not None
                if damaged and buf[end] == 0x3C:  # '<': a token, declaration-like or closed
                    damaged = buf.find(b"?", end, root_at) >= 0 or buf.find(b">", end, root_at) >= 0
                elif damaged:  # text: only glued to a declaration before it
                    damaged = end > start
                if (
                    damaged
                    and self.resync.match(buf, root_at) is not None
                    and buf[root_at + 1] not in b"?/"
                ):
                    skip_to = root_at + 1
            self.pos = max(self.pos, skip_to)
        self.prolog_from = None
        return True

    def _between(self, out: _Out, final: bool) -> bool:
        """Skip what may stand between documents. True when a document starts at ``pos``.

        What may stand there is what libxml2 allows around one document, its prolog and epilog:
        whitespace, comments and PIs (each well formed). A byte order mark only where a document
        begins: at the stream's first byte, or once between two documents (what precedes it is
        then the previous document's epilog, what follows the next one's prolog). An XML
        declaration only at a document's first byte: the stream's first byte, just after the byte
        order mark, or, between two documents, after the previous one's epilog. So a stream of
        one document is judged as libvirt judges that document."""
        buf = self.buf
        while True:
            pos = _SKIP.match(buf, self.pos).end()  # type: ignore[union-attr]
            if pos - self.pos > self.limits.max_text:
                pos = self._bounded_skip(self.pos, pos)
            self.pos = pos
            if buf[pos : pos + 3] != _BOM:
                break
            at = self.base + pos
            if self.gap_bom is not None or (self.opening and at != 0):
                where = "a second byte order mark between two documents" if self.gap_bom is not None else "a byte order mark after the start of the stream"
                self._garbage(out, pos, final, f"{where}: one may only begin a document (libxml2: Start tag expected)")
                return False
            self.gap_bom = at
            self.pos = pos + 3
        n = len(buf)
        if pos >= n:
            if final and self.gap_bom is not None:
                self._lone_bom(out)
            return False
        rest = bytes(buf[pos : pos + 10])
        if rest.startswith(b"<"):
            second = rest[1:2]
            if second == b"?":
                if len(rest) < 6 and not final:
                    return False
                if rest.startswith(b"<?xml") and (len(rest) > 5 and rest[5:6] in b" \t\r\n?"):
                    at = self.base + pos
                    if self.gap_bom is not None and at != self.gap_bom + 3:
                        return self._misplaced_declaration(out, pos, "it must follow the byte order mark directly")
                    if self.opening and self.gap_bom is None and at != 0:
                        return self._misplaced_declaration(out, pos, "nothing may stand before it in a stream's first document")
                    return self._begin(pos)
                if not final and self._may_wait(pos):
                    return False  # an unfinished processing instruction
            elif second == b"!":
                if rest.startswith(b"<!--") or (len(rest) < 4 and b"<!--".startswith(rest)):
                    if not final and self._may_wait(pos):
                        return False  # an unfinished comment
                elif rest.startswith(b"<!DOCTYPE") or (len(rest) < 9 and b"<!DOCTYPE".startswith(rest) and not final):
                    if len(rest) < 9:
                        return False
                    return self._begin(pos)
            elif second == b"" and not final:
                return False
            elif second not in (b"/", b"", b"\x00") and second not in b" \t\r\n<>=\"'":
                return self._begin(pos)
        elif rest[:1] == b"\xef" and len(rest) < 3 and _BOM.startswith(rest) and not final:
            return False
        self._garbage(out, pos, final)
        return False

    def _misplaced_declaration(self, out: _Out, pos: int, why: str) -> bool:
        """An XML declaration not at its document's first byte: that document is broken (libxml2
        refuses it), and skipped as any broken document is."""
        self._begin(pos)
        self._emit_error(out, NotWellFormedError(f"XML declaration allowed only at the start of the document: {why}", offset=0), pos)
        self._after_error(pos + 1)
        return False

    def _lone_bom(self, out: _Out) -> None:
        """The stream ends after a byte order mark that began no document: garbage, as libxml2
        finds a byte order mark after one document's root."""
        at = self.gap_bom
        assert at is not None
        index = at - self.base
        err = NotWellFormedError("garbage between documents: a byte order mark that begins no document", offset=0)
        err.between_documents = True
        self._emit_error(out, err, index if index >= 0 else len(self.buf))
        self._after_error(len(self.buf))

    def _bounded_skip(self, pos: int, end: int) -> int:
        """Where skipping must stop in ``buf[pos:end]``: at the first comment or PI longer than
        ``max_text``, which is garbage. An unfinished one is garbage once it is longer than that
        (_may_wait), so a finished one must be too, or whether it is skipped would depend on where
        the stream was cut."""
        buf = self.buf
        limit = self.limits.max_text
        while pos < end:
            m = _SKIP_ONE.match(buf, pos)
            assert m is not None  # buf[pos:end] is a run of these constructs
            if m.end() - pos > limit and buf[pos] == 0x3C:  # '<': a comment or a PI
                return pos
            pos = m.end()
        return end

    def _may_wait(self, pos: int) -> bool:
        """Whether an unfinished comment or PI between documents may still be waited for: not
        once it holds a NUL byte (allowed in no XML construct), nor once it is longer than
        ``max_text`` (it is re-scanned on every feed), nor, for a PI, once an XML declaration
        follows it (it was cut short, and a document begins there); then it is garbage."""
        n = len(self.buf) - pos
        return n <= self.limits.max_text and self.buf.find(b"\x00", pos) < 0 and (
            self.buf[pos + 1] != 0x3F or _DECLARATION.search(self.buf, pos + 1) is None  # '?': a PI, as _SKIP_PI
        )

    def _garbage(self, out: _Out, pos: int, final: bool, reason: str | None = None) -> None:
        buf = self.buf
        m = self.resync.search(buf, pos + 1)
        if m is None and not final:
            if len(buf) - pos < 24 + _TAIL_KEEP:
                return  # wait for more bytes: the sample quoted must not depend on how the stream was cut
            if len(buf) - pos <= _DECL_MAX and _MAYBE_DAMAGED_DECLARATION.fullmatch(buf, pos) is not None:
                return  # maybe a damaged XML declaration: what follows it decides (below)
        end = m.start() if m else len(buf)
        sample = bytes(buf[pos : min(end, pos + 24)])
        if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
            what = "a UTF-16 byte order mark: only UTF-8 documents are read (convert with iconv -f UTF-16 -t UTF-8)"
        elif sample.startswith((b"<\x00", b"\x00<")):
            what = (
                "UTF-16 text without a byte order mark (NUL bytes between the characters): only UTF-8 "
                "documents are read (convert with iconv -f UTF-16 -t UTF-8)"
            )
        else:
            kind = _binary_kind(sample)
            if kind is None:
                what = repr(sample.decode("utf-8", "replace"))
            elif kind:
                what = f"binary data ({kind}?)"
            else:
                # Its size, counted up to where reading resumes, within a window that is waited
                # for (so the count does not depend on how the stream was cut).
                if (m is None or m.start() - pos > _BINARY_WINDOW) and not final and len(buf) - pos < _BINARY_WINDOW + _TAIL_KEEP:
                    return
                size = end - pos
                what = f"binary data ({size} bytes)" if size <= _BINARY_WINDOW else f"binary data (more than {_BINARY_WINDOW} bytes)"
        if reason is None and sample.startswith((b"<!--", b"<?")):
            window = bytes(buf[pos : min(end, pos + _DECL_MAX)])
            reason = next((why for fault, why in _MISC_FAULTS if fault.match(window)), None)
        err = NotWellFormedError(f"garbage between documents: {what}" + (f" ({reason})" if reason else ""), offset=0)
        err.between_documents = True
        self._emit_error(out, err, pos)
        resume = pos + 1
        if (
            m is not None
            and buf[m.start() + 1] not in b"?/"
            and _DAMAGED_DECLARATION.fullmatch(buf, pos, m.start()) is not None
        ):
            # A damaged XML declaration ("b?xml version='1.0'?>", "<?xm"): the document it declared is
            # broken with it, as when its '?' is damaged (see _skip_prolog).
            resume = m.start() + 1
        self._after_error(resume)

    def _begin(self, pos: int) -> bool:
        self.opening = False
        self.gap_bom = None
        self.doc_start = pos
        self.scan_from = pos
        self.general = None
        self.token = None
        self.route_retry = 0
        self.gt_after = self.gt_scanned = 0
        return True

    def _encoding(self, pos: int) -> str | CheckpointError | None:
        """Check the XML declaration at ``pos``: None while it is incomplete, an error for a version
        other than 1.x or an unknown encoding name, else "utf-8" (every document is read as
        UTF-8, whatever it declares, as libvirt does)."""
        end = self.buf.find(b"?>", pos, pos + _DECL_MAX)
        if end < 0:
            return None if len(self.buf) - pos < _DECL_MAX else "utf-8"
        v = _VERSION.match(self.buf, pos, end + 2)
        if v is not None:
            group = 1 if v.group(1) is not None else 2
            if _VERSION_OK.fullmatch(v.group(group)) is None:
                shown = v.group(group).decode("utf-8", "replace")[:40]
                return NotWellFormedError(
                    f"unsupported XML version {shown!r}: only XML 1.x documents are read (as libvirt reads them)",
                    offset=v.start(group) - pos,
                )
        m = _ENCODING.match(self.buf, pos, end + 2)
        if m is None:
            return "utf-8"
        name = m.group(1) if m.group(1) is not None else m.group(2)
        if not _known_encoding(name):
            shown = name.decode("utf-8", "replace")
            if len(shown) > 40:
                shown = shown[:37] + "..."
            return NotWellFormedError(
                f"unknown encoding {shown!r} in the XML declaration: documents are read as UTF-8 "
                "whatever they declare, as libvirt reads them, but the name must be a known encoding",
                offset=m.start(1 if m.group(1) is not None else 2) - pos,
            )
        return "utf-8"

    def _document(self, out: _Out, final: bool) -> bool:
        """Work on the document in progress. True when it is finished (a new one may follow)."""
        buf = self.buf
        start = self.doc_start
        assert start is not None
        limits = self.limits
        general = self.general
        if general is None:
            # An unknown encoding name is reported first (whatever follows), then what the fast
            # scanner can never take (another root, a DOCTYPE) is routed to the general path,
            # which reports it as soon as it is seen.
            if bytes(buf[start : start + 5]) == b"<?xml":
                enc = self._encoding(start)
                if isinstance(enc, CheckpointError):
                    self._emit_error(out, enc, start)
                    self._after_error(start + 1)
                    return True
                if enc is None and not final:
                    return False  # the declaration is not complete yet
            if final or len(buf) >= self.route_retry:
                m = _ROOT.match(buf, start)
                if m is not None and m.group(1) not in self.roots:
                    return self._feed_general(out, final, len(buf), may_wait=True)
                if m is None:  # the prolog is not complete: look again once it has doubled
                    self.route_retry = len(buf) + max(len(buf) - start, 64)
                else:
                    self.route_retry = 1 << 62
        while True:
            m = self.end_tag.search(buf, self.scan_from)
            if m is None:
                self.scan_from = max(start, len(buf) - 20)
                if len(buf) - start > limits.max_document_bytes:
                    return self._too_large(out, start)
                if self.general is not None or final:
                    return self._feed_general(out, final, len(buf), may_wait=True)
                # While buffering for the fast path, a long run without '>' (an unfinished tag, a
                # long text or comment) goes to the general path at once: its limits then act
                # while the bytes arrive instead of after the whole document was buffered.
                gt = buf.rfind(b">", start + self.gt_scanned)
                if gt >= 0:
                    self.gt_after = gt + 1 - start
                self.gt_scanned = len(buf) - start
                if self.gt_scanned - self.gt_after > limits.max_text:
                    return self._feed_general(out, final, len(buf), may_wait=True)
                return False
            end = m.end()
            self.scan_from = end
            if end - start > limits.max_document_bytes:
                return self._too_large(out, start)
            if self.general is None and self.fast_reader is not None:
                origin = Origin(self.path, self.member, self.index, self.base + start, self.base + end)
                record = self.fast_reader.parse_span(buf, start, end, self.options, limits, origin)
                if record is not None:
                    out.append(_Pending(record, start, end, self.index) if self.options.after_record else record)
                    self._done(end)
                    return True
            if self._feed_general(out, final, end, may_wait=True):
                return True

    def _too_large(self, out: _Out, start: int) -> bool:
        """The document runs past ``max_document_bytes``: an error found by the parser in its first
        ``max_document_bytes`` wins; else the size is reported. Either way the framer resumes
        where the limit was crossed, however the bytes were chunked."""
        limit = self.limits.max_document_bytes
        # may_wait: a big token still unfinished at the limit is not handed to expat (which would
        # buffer it whole); an error it holds could not be found in any chunking either.
        if self._feed_general(out, False, start + limit + 1, may_wait=True):
            return True
        err = LimitError(f"document is larger than {limit} bytes (limit max_document_bytes)", offset=0)
        self._emit_error(out, err, start)
        self._after_error(start + limit + 1)
        return True

    def _feed_general(self, out: _Out, final: bool, end: int, may_wait: bool = False) -> bool:
        """Feed the general parser up to ``end``; True when the document is finished.

        With ``may_wait``, bytes are held back while they cannot finish the big token expat is
        holding (see the module docstring): the root cannot close before that token does."""
        if self.general is None:
            start = self.doc_start
            assert start is not None
            self.general = self.reader.general(self.options, self.limits, self.buf, start)
            self.token = None
        general = self.general
        start = self.doc_start
        assert start is not None
        at_end = final and end >= len(self.buf)
        try:
            while True:
                if may_wait and not at_end and self._hold(general, end):
                    return False
                closed = general.feed(end, at_end, pause=may_wait and not at_end)
                if closed or general.start + general.fed >= end:
                    break
                # paused on a big unfinished token: _hold follows it before expat gets more
            if not closed:
                if at_end:  # expat accepted the end of input without the root closing
                    raise NotWellFormedError("not well-formed XML: no element found", offset=0)
                return False
            root_end = general.root_end
            assert root_end is not None
            record = general.finish(Origin(self.path, self.member, self.index, self.base + start, self.base + start + root_end))
        except CheckpointError as err:
            if type(err) is NotWellFormedError and err.offset is not None:
                self._in_context(err, start)
            if type(err) is LimitError and err.path is None and general.machine.path:
                err.path = general.machine.path  # a limit the framer found in a tag: where the reader stands
            where = start + (err.offset if err.offset is not None else 0)
            if (
                type(err) is NotWellFormedError
                and err.message.endswith("(invalid token)")
                and err.offset is not None
                and where < len(self.buf)
                and self.buf[where] >= 0x80
            ):
                err.message += ": the bytes are not valid UTF-8 (every document is read as UTF-8)"
                err.args = (err.message,)
            self._emit_error(out, err, start, relative=True)
            self._after_error(max(where, start + 1))
            return True
        out.append(_Pending(record, start, start + root_end, self.index) if self.options.after_record else record)
        self._done(start + root_end)
        return True

    def _settle(self, out: _Out) -> None:
        """Replace each :class:`_Pending` record of ``out`` by what :meth:`_after_record` makes of
        it, in order, before the bytes are dropped. Done for all the documents a call to
        :meth:`feed` completed at once, not one by one as each is read: validating domains one
        after another by libvirt's schemas keeps libxml2's validator in the processor's caches
        (interleaved with the reading, the same validations cost about a fifth more)."""
        index = self.index
        try:
            for i, item in enumerate(out):
                if type(item) is _Pending:
                    self.index = item.index  # what an error's document index says
                    settled: _Out = []
                    self._after_record(settled, item.record, item.start, item.end)
                    out[i] = settled[0]
        finally:
            self.index = index

    def _after_record(self, out: _Out, record: Record, start: int, end: int) -> None:
        """The steps a finished document goes through while its bytes are at hand: its domain judged
        by libvirt's schemas (``options.libvirt_schemas``), then its disks aligned
        (``options.align``). An error is placed at the element it names, found by a scan done only
        then, so the documents that pass cost no scan. Appends one item: the record, or the error."""
        schemas = self.options.libvirt_schemas
        checkpoint = not isinstance(record, Snapshot)
        if schemas is not None and (record.domain is not None or (checkpoint and self.options.create)):
            buf = self.buf
            root = _ROOT.match(buf, start, end)
            tag_at = root.start(1) - 1 if root is not None and root.group(1) is not None else -1
            declared = root_namespaces(buf, tag_at, end) if tag_at >= 0 else ()
            # The schemas are shown each domain as the document wrote it (libvirt validates the
            # document as given; records.as_written). A snapshot: its domain when full (an
            # old-style <domain><uuid> is no domain to the schemas), and its inactive domain, which
            # libvirt's grammar judges as a domain. A checkpoint's domain is always full (asking a
            # domain's type parses its facts); a plain create keeps none in its record, and
            # libvirt still validates it.
            judged: list[tuple[str, str | bytes]] = []
            domain = record.domain
            if domain is None:
                dropped = self._dropped_domain(start, end)
                if dropped is not None:
                    judged.append(("domain", dropped))
            elif checkpoint or domain.type is not None:
                judged.append(("domain", as_written(domain)))
            if isinstance(record, Snapshot) and record.inactive_domain is not None:
                text = as_written(record.inactive_domain)
                judged.append(("inactiveDomain", renamed(text.decode("utf-8") if isinstance(text, bytes) else text, "inactiveDomain")))
            for tag, text in judged:
                fault = schemas.check(text, declared)
                if fault is not None:
                    # A domain the fast reader left to the schemas: an error of this library's own
                    # (not well formed, a rule of its grammar) comes first, as when it is read.
                    own = self._own_error(start, end) if self.options.schemas_judge_domain else None
                    self._emit_error(out, own if own is not None else self._schema_error(fault, start, end, tag), start)
                    return
        if not self.options.align:
            out.append(record)
            return
        try:
            out.append(align_snapshot_disks(record) if isinstance(record, Snapshot) else align_disks(record))
        except SemanticError as err:
            buf = self.buf
            at = find_element(buf, start, end, err.path or "")
            if at is None:
                at = find_element(buf, start, end, "/" + self._root_at(start))
            err.offset = (at if at is not None else start) - start
            self._emit_error(out, err, start)

    def _dropped_domain(self, start: int, end: int) -> bytes | None:
        """The ``<domain>`` of the checkpoint ``buf[start:end]``, which a plain create keeps no
        record of, as the document wrote it; None when it has none. Read from the bytes (a scan,
        only for a plain create with the schemas on)."""
        buf = self.buf
        at = find_element(buf, start, end, "/" + self._root_at(start) + "/domain")
        close = element_end(buf, at, end) if at is not None else None
        if at is None or close is None:
            return None
        return bytes(buf[at:close])

    def _own_error(self, start: int, end: int) -> CheckpointError | None:
        """The first error a full reading of the document ``buf[start:end]`` finds without the
        schemas (its offset relative to ``start``), or None. Run only for a document the schemas
        refuse."""
        options = dataclasses.replace(self.options, libvirt_schemas=None, align=False)
        framer = Framer(options, self.limits, reader=self.reader, path=self.path, member=self.member)
        before = DroppedLines()  # the stream's lines up to the document: its words name lines of the stream
        before.lines, before.tail, before.cr = self.dropped.lines, self.dropped.tail, self.dropped.cr
        before.drop(self.buf, start)
        framer.resume_at(StreamPosition(self.base + start, before.lines, before.tail, before.cr, self.index))
        framer.opening = self.base + start == 0 or self.opening
        for item in framer.feed(bytes(self.buf[start:end])) + framer.close():
            if isinstance(item, CheckpointError):
                item.offset = (item.offset or 0) - self.base - start  # relative to start again, for _emit_error
                return item
        return None

    def _schema_error(self, fault: SchemaFault, start: int, end: int, element: str = "domain") -> SchemaError:
        """The error of a domain the schemas reject, placed at the element it names: on the
        fault's line of the domain (the domain's text keeps the document's lines), at that
        element's start tag when it is on that line, else at the line's first character."""
        buf = self.buf
        root = "/" + self._root_at(start)
        domain_at = find_element(buf, start, end, root + "/" + element)
        at: int = domain_at if domain_at is not None else start
        if domain_at is not None and fault.line is not None:
            for _ in range(fault.line - 1):
                m = _LINE_BREAK.search(buf, at, end)
                if m is None:
                    break
                at = m.end()
            m = _LINE_BREAK.search(buf, at, end)
            line_end = m.start() if m is not None else end
            tag = None
            if fault.element:
                name = re.escape(fault.element.encode("utf-8"))
                tag = re.compile(rb"<" + name + rb"[ \t\r\n/>]").search(buf, at, line_end)
            if tag is not None:
                at = tag.start()
            else:
                at = _WHITESPACE.match(buf, at, line_end).end()  # type: ignore[union-attr]
        if fault.path:  # the domain's path, under the element judged (a snapshot's inactiveDomain)
            path = root + ("/" + element + fault.path[len("/domain") :] if fault.path.startswith("/domain") else fault.path)
        else:
            path = root + "/" + element
        err = SchemaError(f"{fault.message} (libvirt's schemas)", offset=at - start, path=path)
        err.libxml2_message = fault.raw  # type: ignore[attr-defined]
        return err

    def _in_context(self, err: NotWellFormedError, start: int) -> None:
        """Name the element a well-formedness error concerns (scanned from the bytes now, never
        tracked while parsing): the start tag a mismatched end tag should have closed, the element
        the input ended in. Lines are the stream's (what an editor shows), as ``source_line``."""
        what = err.message
        rel = err.offset or 0
        where = start + rel
        buf = self.buf
        if what.endswith(": mismatched tag"):
            tag_at = buf.rfind(b"</", start, where + 1)
            if tag_at < 0:
                return
            stack = open_elements(buf, start, tag_at)
            if not stack:
                return
            name, opened = stack[-1]
            closing = tag_name(buf, tag_at + 2)
            what += f": </{closing}> closes <{tag_name(buf, opened + 1)}> opened at line {self._source_position(opened)[0]}"
        elif what.endswith((": no element found", ": unclosed token", ": partial character", ": unclosed CDATA section")):
            # Only ever at the end of the input: expat says these only when told no more will come.
            stack = open_elements(buf, start, where)
            if not stack:
                return
            name, opened = stack[-1]
            inside = f"unexpected end of file inside <{tag_name(buf, opened + 1)}> (opened at line {self._source_position(opened)[0]})"
            what = what[: -len(": no element found")] + ": " + inside if what.endswith(": no element found") else f"{what}: {inside}"
        else:
            return
        err.message = what
        err.args = (what,)

    def _hold(self, general: GeneralDocument, end: int) -> bool:
        """True when the bytes up to ``end`` cannot complete the big token the parser holds."""
        if general.fed == 0:
            return False
        rel = general.parser.CurrentByteIndex
        if rel < 0 or general.fed - rel <= BIG_TOKEN:
            self.token = None
            return False
        token = self.token
        if token is None or token.rel != rel:
            token = self.token = _Token(self.buf, general.start, rel)
        if token.kind == "other":  # not followed: feed again once it has doubled
            return bool((end - general.start) - general.fed < general.fed - rel)
        done = token.advance(self.buf, general.start, len(self.buf), self.limits)
        if done < 0:  # no end tag candidate before the buffer's end can close the root
            self.scan_from = max(self.scan_from, len(self.buf) - 20)
            return True
        return done > end - general.start

    # -- bookkeeping ------------------------------------------------------------------------------

    def _done(self, end: int) -> None:
        self.index += 1
        self.documents += 1
        self.pos = end
        self.doc_start = None
        self.general = None
        self.token = None

    def _after_error(self, resume: int) -> None:
        self.opening = False
        self.gap_bom = None
        self.index += 1
        self.documents += 1
        self.pos = resume
        self.prolog_from = self.doc_start
        self.prolog_retry = 0
        self.doc_start = None
        self.general = None
        self.token = None
        self.resyncing = True

    def _emit_error(self, out: _Out, err: CheckpointError, start: int, relative: bool = True) -> None:
        """Report an error found in the document (or garbage) starting at buffer index ``start``,
        its ``offset`` relative to that start: the one place where lines and columns are worked
        out (:func:`.positions.locate`), from the bytes, once."""
        rel = err.offset or 0
        # Returned, not raised from here: the frames it was raised through (a parser, its
        # buffer) must not live as long as the error does.
        err.__traceback__ = err.__context__ = err.__cause__ = None
        err.line, err.column = locate(self.buf, start, rel)
        err.source_line, err.source_column = self._source_position(start + rel)
        err.offset = self.base + start + rel
        err.located(document=self.index, source=self.path, member=self.member)
        if err.checkpoint is None and err.domain_uuid is None:
            err.checkpoint, err.domain_uuid = identify(self.buf, start, self._root_at(start))
        out.append(err)

    def _root_at(self, start: int) -> str:
        """The root tag of the document at ``start`` when it is one this framer accepts, else the
        main one (what an error's path and identification are about)."""
        if len(self.roots) > 1:
            m = _ROOT.match(self.buf, start)
            if m is not None and m.group(1) in self.roots:
                return m.group(1).decode()
        return self.identity_root

    def _source_position(self, index: int) -> tuple[int, int]:
        """Line and column of ``buf[index]`` counted from the stream's first byte."""
        return self.dropped.locate(self.buf, min(max(index, 0), len(self.buf)))

    def _compact(self) -> None:
        """Drop consumed bytes, keeping indexes of the document in progress valid."""
        keep_from = self.doc_start if self.doc_start is not None else self.pos
        if self.prolog_from is not None:
            keep_from = min(keep_from, self.prolog_from)
        if keep_from < _COMPACT_AT:
            return  # a small stream is never compacted: nothing to count (see DroppedLines)
        keep_from = utf8_cut(self.buf, keep_from)
        if keep_from <= 0:
            return
        self.dropped.drop(self.buf, keep_from)
        del self.buf[:keep_from]
        self.base += keep_from
        self.pos -= keep_from
        self.scan_from = max(0, self.scan_from - keep_from)
        if self.doc_start is not None:
            self.doc_start -= keep_from
            self.route_retry = max(0, self.route_retry - keep_from)
        if self.prolog_from is not None:
            self.prolog_from -= keep_from
            self.prolog_retry = max(0, self.prolog_retry - keep_from)
        if self.general is not None:
            self.general.start -= keep_from


def fast_single(data: bytes, options: Options, limits: Limits, reader: Reader | None = None) -> Record | None:
    """One whole document in libvirt's layout, alone in ``data`` but for whitespace around it:
    the record the framer would produce for it (same start, end, reader and origin), without
    setting a framer up. None for anything else, which then goes through a framer."""
    fast = (reader or DEFAULT_READER).fast
    if fast is None:
        return None
    parse = fast.ready(limits)
    if parse is None:
        return None
    start = _WHITESPACE.match(data).end()  # type: ignore[union-attr]
    if start and data[start : start + 2] == b"<?":
        return None  # a declaration after whitespace: the framer refuses it (see Framer._between)
    m = fast.end_tag.search(data, start)
    if m is None:
        return None
    end = m.end()
    if end - start > limits.max_document_bytes or _WHITESPACE.match(data, end).end() != len(data):  # type: ignore[union-attr]
        return None
    origin = make_origin(None, None, 0, start, end)
    record = parse(data, start, end, options, limits, origin)
    return record if record is not None else fast.parse_variant(data, start, end, options, limits, origin)
