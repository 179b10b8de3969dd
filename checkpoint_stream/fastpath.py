"""The fast scanner: libvirt's own layout, recognised by compiled patterns instead of events.

Most documents in the wild were written by libvirt, so they share one layout: fixed element order,
single-quoted attributes, two-space indentation, no comments. For such a document this module
takes the checkpoint level apart with one regular expression over the bytes, reads the disk list
column-wise (split at each tag, each distinct tag tail read once, records built through their
slots), lets expat check the nested domain's well-formedness with no Python callback at all, and
checks the domain's top from its indentation (proven sound below) instead of from per-element
events. What it has proven is remembered, bounded, from one document to the next: a domain's
verdict by its bytes, and the lines of accepted domains with the verdict on their layout, so that
the next VM's domain costs expat only on its lines never seen (see "domains of the same layout").

It is an accelerator, not a second parser: the value rules are those of :mod:`.schema`, the mode
rules those of :func:`.machine.build_checkpoint`, the domain rules those of
:func:`.domain.check_domain_top`, and anything it does not recognise, or finds wrong, returns
``None`` so the caller runs the general path, which produces the positioned error. The tests run
both paths on every corpus and require identical results.
"""

from __future__ import annotations

import gc
import re
from collections import deque
from itertools import count, repeat
from typing import Any, Callable
from xml.parsers.expat import ParserCreate

from .domain import (
    _UUID,
    TOP_TEXT_CHILDREN,
    DomainTop,
    base_indent,
    check_domain_redefine,
    check_domain_top,
    normalize_newlines,
)
from .errors import CheckpointError
from .limits import Limits
from .machine import Options, build_checkpoint
from .records import _C_DOMAIN, Checkpoint, CheckpointDisk, Domain, Origin, _slot_setters
from .schema import DISK_NAME, NAME, ULONG_MAX

__all__ = ["fast_parse", "fast_parse_at", "fast_parse_ready", "fast_parse_variant", "forget", "PAUSE_GC_BYTES"]

_WS = r"[ \t\r\n]*+"


def _q(body: str) -> str:
    """Either quote, as an XML declaration allows."""
    return "(?:'" + body + "'|\"" + body + "\")"


_DECL = (
    r"(?:<\?xml[ \t\r\n]+version=" + _q(r"1\.0")
    + r"(?:[ \t\r\n]+encoding=" + _q(r"(?i:utf-?8)") + ")?"
    + r"(?:[ \t\r\n]+standalone=" + _q("(?:yes|no)") + ")?" + _WS + r"\?>" + _WS + ")?"
)
_NAME = NAME.pattern.pattern if NAME.pattern else ""
# The document pattern only finds the end of the disk list (a loop over '<'-free runs: a thousand
# disks cost what a few character classes cost); _read_disks then proves what the list holds.
_DISKS = r"[^<]*+(?:<(?!/disks>)[^<]*+)*+"
_CHECKPOINT = re.compile(
    _DECL
    + rf"<domaincheckpoint>{_WS}"
    + rf"(?:<name>(?P<name>{_NAME})</name>{_WS})?"
    + rf"(?:<description>(?P<description>(?:[^<&\r\x00-\x08\x0b\x0c\x0e-\x1f]++|&(?:amp|lt|gt|quot|apos);)*+)</description>{_WS})?"
    + rf"(?:<parent>{_WS}<name>(?P<parent>{_NAME})</name>{_WS}</parent>{_WS})?"
    + rf"(?:<creationTime>(?P<creationTime>[0-9]{{1,20}})</creationTime>{_WS})?"
    # possessive: a list of 100,000 disks keeps no backtracking state (which made it superlinear)
    + rf"(?:<disks>(?P<disks>{_DISKS})</disks>{_WS})?"
    + rf"(?:(?P<domain><domain[ \t\r\n>].*</domain>){_WS})?"
    + rf"(?:<active>(?P<active>[01])</active>{_WS})?"
    + r"</domaincheckpoint>",
    re.S,
)
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&"))  # &amp; last
# The disk list is read by splitting it at each "<disk name='<name>'": between two such starts
# lies the "rest" of a tag (its other attributes, '/>', the whitespace after it). Rests repeat
# from disk to disk (checkpoint='bitmap' bitmap='<the checkpoint's name>'), so each distinct rest
# is read once, by _DISK_REST; a tag is split at only if its name passes the schema's rule. No control
# character (TAB and CR included, which expat would rewrite), '<', '>' or '&' is admitted inside a
# tag, nor anything but spaces and line breaks between tags: those go to the general path.
_DISK_OPEN = "<disk name='"
_DISK_REST = re.compile(
    r"(?: checkpoint='(bitmap|no)')?(?: bitmap='([^'<>&\x00-\x1f]+)')?(?: size='([0-9]{1,20})')?/>[ \n]*+"
)
_PATH_CHARS = r"[^\n\r]+"  # what the schema's disk-name rule admits after '/' or 'C:\'
assert DISK_NAME.pattern is not None and _PATH_CHARS in DISK_NAME.pattern.pattern
_NAME_IN_TAG = DISK_NAME.pattern.pattern.replace(_PATH_CHARS, r"[^'<>&\x00-\x1f]+")
# Splitting at each tag start with a valid name: [head, name, rest, name, rest, ...]. A tag whose
# name breaks the rule is not split at, so it stays inside the rest before it, which then fails.
_DISK_SPLIT = re.compile(rf"<disk name='({_NAME_IN_TAG})'")

# -- the nested domain in canonical layout ------------------------------------------------------
# Every line is one of: an open tag, a self-closing tag, a one-line leaf <a>text</a>, a close tag,
# and each line is indented by exactly two spaces per level. The pattern below spells that out
# level by level (up to _DEPTH levels below <domain>; deeper domains take the general path), so one
# fullmatch proves it. Soundness: expat has checked that the document is well formed, so its open
# and close tags nest; the pattern pairs every open line with the next close line at the same
# indentation, which is also a proper nesting of the same tokens, and a balanced sequence has only
# one proper nesting. So the depth the pattern assigns to a line is its depth in the XML tree, and
# the children of <domain> are exactly the lines indented by two spaces.
_TAG = r"[A-Za-z_][-\w.:]*+"  # possessive: the tag never gives characters back to _REST
_MAX_ATTRS = 32  # on <domain>; elements below it are bounded by their one-line length
_ATTR = r" [^\s=/>'\"<]+='[^'<\t\n\r]*'"
_ATTRS = rf"(?:{_ATTR}){{0,{_MAX_ATTRS}}}"
# Inside the domain the tags are matched loosely ([^<>\n]*): _domain first makes sure that '<' and
# '>' occur only as tag delimiters (no comment, PI or CDATA; as many '>' as '<', and each tag has
# one of each), so this is exact, and about a third cheaper than spelling out the attributes.
_REST = r"(?: [^<>\n]*)?"
_LEAF_TEXT = r"[^<\n\r]*"  # no newline (so dedent by str.replace is exact), no markup
_DEPTH = 12


def _level(depth: int) -> str:
    pad = "  " * depth
    leaf_or_self = rf"<{_TAG}{_REST}(?:/>|>{_LEAF_TEXT}</[^>\n]+>"
    if depth >= _DEPTH:
        return leaf_or_self + ")"
    return leaf_or_self + rf"|>(?:\n{pad}  {_level(depth + 1)})*\n{pad}</[^>\n]+>)"


# No capturing group: with one, sre saves marks at every repetition (about 15% slower).
_LINES = re.compile(rf"<domain{_REST}>(?:\n  {_level(1)})*\n</domain>")
_HEAD = re.compile(rf"<domain{_ATTRS}>")
# A child of <domain>: tag, attributes (single-quoted, nothing expat would rewrite), then its form:
# '/>', a one-line leaf (text in group 4) or '>' followed by its own children on the next lines.
_CHILD = re.compile(rf"\n  <({_TAG})((?:{_ATTR})*)(/>|>(?=\n)|>({_LEAF_TEXT})</)")
_DOMAIN_ATTR = re.compile(r"""([^\s=]+)='([^']*)'""")
_OS_OPEN = re.compile(r"\n  <os[ >]")
_OS_TYPE = re.compile(r"\n    <type(?: [^<>\n]*)?>([^<\n]*)</type>")
_OS_INIT = re.compile(r"\n    <init[ />]")
_NO_NAMESPACES: dict[str, str] = {}
_SOME_UUID = "00000000-0000-0000-0000-000000000000"
_TOP_CACHE: dict[tuple[Any, ...], bool] = {}
_CACHE_SIZE = 4096


def _attrs(raw: str) -> dict[str, str] | None:
    attrs: dict[str, str] = {}
    for name, value in _DOMAIN_ATTR.findall(raw):
        if "&" in value or name in attrs:
            return None
        attrs[name] = value
    return attrs


def _top_ok(key: tuple[Any, ...]) -> bool:
    """check_domain_top and (in redefine mode) check_domain_redefine, exactly as the state machine
    calls them, on the DomainTop the general path would collect. Pure, so cached by its input."""
    ok = _TOP_CACHE.get(key)
    if ok is None:
        head, children, os_type, os_init, redefine = key
        ok = False
        attrs = _attrs(head)
        kids = [(tag, _attrs(raw), text) for tag, raw, text in children]
        if attrs is not None and all(a is not None for _, a, _ in kids):
            top = DomainTop(attrs, kids, None, os_type, os_init)  # type: ignore[arg-type]
            ok = check_domain_top(top, _NO_NAMESPACES) is None and not (redefine and check_domain_redefine(top) is not None)
        if len(_TOP_CACHE) >= _CACHE_SIZE:
            _TOP_CACHE.clear()
        _TOP_CACHE[key] = ok
    return ok


def _inner_whitespace(xml: str, tag: str, column: int) -> str:
    """The text directly inside the first child ``tag`` of the domain when it holds elements: the
    line breaks and indentation (of the original document) before each of its children and
    before its end tag, as the general path collects it."""
    start = xml.find("\n  <" + tag)
    while xml[start + 4 + len(tag)] not in " >":
        start = xml.find("\n  <" + tag, start + 1)
    block = xml[start : xml.find("\n  </", start)]
    inner = block.count("\n    <") - block.count("\n    </")
    return ("\n" + " " * (column + 4)) * inner + "\n" + " " * (column + 2)


def _domain(span: str, column: int, redefine: bool, max_attributes: int) -> Domain | None:
    xml = span.replace("\n" + " " * column, "\n") if column else span
    if xml.count("<") != xml.count(">") or _LINES.fullmatch(xml) is None:
        return None
    # limits.max_attributes: _LINES does not count the attributes of an element below <domain>.
    # Every '<' now starts a tag and a tag's attributes (one '=' each) lie between its '<' and
    # the next '<', so no piece of xml.split('<') holding at most max_attributes '=' means no
    # element has more attributes than that (the whole text is counted first: cheap, and enough).
    if xml.count("=") > max_attributes and max(piece.count("=") for piece in xml.split("<")) > max_attributes:
        return None
    head = _HEAD.match(xml)
    if head is None:
        return None
    found = _CHILD.findall(xml)
    # _LINES made every line indented by two spaces a child's start tag or a child's end tag:
    # _CHILD must have read every start tag ('\n  <' not followed by '/').
    if len(found) != xml.count("\n  <") - xml.count("\n  </"):
        return None  # some child's attributes are not in the simple form: general path
    children = []
    for tag, raw, form, text in found:
        if tag not in TOP_TEXT_CHILDREN:
            text = ""  # the general path does not collect it
        elif form == ">":
            text = _inner_whitespace(xml, tag, column)
        elif "&" in text:
            return None
        elif tag == "name":
            # The verdict is cached by its input (see _top_ok); a VM's own name and uuid would make
            # every VM a miss. A name or uuid text that passes every rule that reads it (here:
            # check_domain_top's _NAME_TEXT and _UUID, check_domain_redefine's '/') is replaced
            # by a fixed text that passes the same rules, which leaves the verdict unchanged.
            # Leaf texts hold no newline, so _NAME_TEXT ([^\n]+) is "not empty".
            if text and "/" not in text:
                text = "n"
        elif tag == "uuid":
            if _UUID.fullmatch(text) is not None:
                text = _SOME_UUID
        children.append((tag, raw, text))
    os_type = None
    os_init = False
    forms = [form for tag, _, form, _ in found if tag == "os"]
    if forms and forms[0] == ">":  # the first <os> holds elements: find its <type> and <init>
        start = _OS_OPEN.search(xml).start()  # type: ignore[union-attr]
        block = xml[start : xml.find("\n  </os>", start)]
        t = _OS_TYPE.search(block)
        if t is not None:
            os_type = t.group(1)
            if "&" in os_type:
                return None
        os_init = _OS_INIT.search(block) is not None
    if not _top_ok((head.group(), tuple(children), os_type, os_init, redefine)):
        return None
    return Domain(xml)


# Checkpoints of one VM repeat its domain verbatim, document after document (an archive of nightly
# checkpoints, a log of redefines). The verdict on a domain text, and the Domain value itself (with
# its lazily read facts), are pure functions of that text, so they are kept for the next document.
# Bounded both in entries and in characters held.
_DOMAIN_CACHE: dict[tuple[bytes, int, bool, int], Domain | None] = {}
_DOMAIN_CACHE_ENTRIES = 64
_DOMAIN_CACHE_CHARS = 4 * 1024 * 1024
_cache_chars = [0]
_MISSING: Any = object()


def _new_domain(raw_span: bytes, column: int, redefine: bool, max_attributes: int) -> Domain | None:
    """A domain not in the cache: judged from its lines when their layout is known, else expat
    checks it is well formed and :func:`_domain` judges it (and its lines are remembered)."""
    memory = _memory[0]
    # Learning a domain (and reading one line by line) pays only where structures recur; in a
    # stream of domains that each differ in structure it costs more than it saves. So both are
    # done while a fair share of recent domains was recognised (a moving average), and otherwise
    # for one domain in _PROBE_EVERY, so that structures that start to recur are still learnt.
    # (A heuristic: a lost update between threads does no harm.)
    rate = memory.rate
    memory.count += 1
    probe = rate >= _RATE_TRUSTED or memory.count % _PROBE_EVERY == 0
    if b"\r" not in raw_span:
        tail = raw_span[raw_span.rfind(b"\n") + 1 :]
        stripped = tail.lstrip(b" ")
        width = len(tail) - len(stripped) if stripped.startswith(b"</") else column  # base_indent
        domain = _domain_by_lines(raw_span, width, redefine, probe)
        if domain is not None:
            memory.rate = rate * _RATE_KEEP + (1 - _RATE_KEEP)
            return domain
    memory.rate = rate * _RATE_KEEP
    parser = ParserCreate("UTF-8")
    try:
        parser.Parse(raw_span, True)
        span = raw_span.decode("utf-8")
    except Exception:
        return None
    if "\r" in span:
        span = normalize_newlines(span)
        return _domain(span, base_indent(span, column), redefine, max_attributes)
    domain = _domain(span, width, redefine, max_attributes)
    if domain is None:
        return None
    if probe:
        _learn(raw_span, width, redefine)
    return Domain._from_span(raw_span, width, domain.xml)  # _LINES proved the span's lines


def _remember(key: tuple[bytes, int, bool, int], domain: Domain | None) -> None:
    size = len(key[0])
    if size > _DOMAIN_CACHE_CHARS // 4:
        return
    if len(_DOMAIN_CACHE) >= _DOMAIN_CACHE_ENTRIES or _cache_chars[0] + size > _DOMAIN_CACHE_CHARS:
        _DOMAIN_CACHE.clear()
        _cache_chars[0] = 0
    _DOMAIN_CACHE[key] = domain
    _cache_chars[0] += size


# -- domains of the same layout, line by line ---------------------------------------------------
# Checkpoints of different VMs (or of one VM whose definition changed) carry domains that differ in
# a few lines (name, uuid, source paths, MAC addresses) and share the rest. In the layout _LINES
# proves, every line of a domain is complete markup: an open tag, a close tag, a self-closing tag
# or a one-line leaf. Two facts make most of a new domain's work avoidable:
#
# * Well-formedness is local to such a line (its tag syntax, attributes, references and
#   characters; no DTD can exist, see fast_parse_at), except for pairing open and close tags by
#   name. So a line expat once accepted, as complete markup, is well formed wherever it stands.
# * _domain's verdict reads a line deeper than the domain's top only for its indentation, its
#   form and (to pair tags) its name, plus the text of <os>'s <type> and the presence of <init>.
#
# So each line is reduced to a *token* holding exactly what the verdict and the tag pairing read:
# lines at depth 0 and 1 whole (a VM's valid name and uuid replaced as _domain replaces them),
# lines at depth 2 named type or init whole, every other line (depth, form, name). A domain whose
# token sequence was already judged by the full path (expat on the whole span, then _domain) gets
# the same verdict; only its lines never seen before go through expat, in one small batch.
_LINE = re.compile(
    rb"( *+)(?:</([^>\n]+)>|<(" + _TAG.encode() + rb")((?: [^<>\n]*)?)(?<!/)(?:(/)>|>(?:([^<\n\r]*)</([^>\n]+)>)?))"
)
_UUID_BYTES = re.compile(_UUID.pattern.encode())
_OPEN, _CLOSE, _EMPTY, _LEAF = range(4)
_LINES_MAX = 1 << 14  # distinct lines and tokens remembered (a few MB at most)
_VERDICTS_MAX = 4096


class _LineMemory:
    """What the line path remembers. Replaced whole when full (never cleared in place), so a
    reader that bound the old one keeps a consistent view: ids, lines and verdicts of one epoch."""

    __slots__ = ("lines", "size", "tokens", "token_of", "next_id", "verdicts", "layouts", "varying", "builds", "rate", "count")

    def __init__(self) -> None:
        self.lines: dict[int, dict[bytes, int]] = {}  # by indentation width: line -> token id
        self.size = 0
        self.tokens: dict[Any, int] = {}  # token -> id
        self.token_of: dict[int, Any] = {}  # id -> token
        self.next_id = count()
        self.verdicts: set[tuple[Any, ...]] = set()
        # by (width, number of lines): the latest _Layouts, most recent first
        self.layouts: dict[tuple[int, int], list[Any]] = {}
        self.varying: dict[tuple[int, tuple[int, ...]], frozenset[int]] = {}  # lines seen to change
        self.builds = 0
        self.rate = 1.0  # moving average of the share of new domains recognised
        self.count = 0

    def token_id(self, token: Any) -> int:
        """The token's id. Threads may share the memory: next() and setdefault() are each one
        C-level step, so two tokens never get one id (an id may be drawn and left unused)."""
        i = self.tokens.get(token)
        if i is None:
            i = self.tokens.setdefault(token, next(self.next_id))
            self.token_of[i] = token
        return i


_memory = [_LineMemory()]


def _line_token(line: bytes, width: int) -> tuple[Any, bytes] | None:
    """The token of one line of a domain indented by ``width``, and the line as a standalone
    piece of markup (what expat checks), or None when the line is not in the layout."""
    if b"\r" in line or line.count(b"=") > _MAX_ATTRS or line.count(b"<") != line.count(b">"):
        return None
    m = _LINE.fullmatch(line)
    if m is None:
        return None
    pad, close, tag, rest, empty, text, end = m.groups()
    indent = len(pad) - width
    if indent < 0 or indent & 1 or indent > 2 * _DEPTH:
        return None
    depth = indent >> 1
    if close is not None:
        return ((depth, _CLOSE, close) if depth > 1 else line), b"<" + close + b">" + line
    form = _EMPTY if empty else _OPEN if end is None else _LEAF
    piece = line + b"</" + tag + b">" if form == _OPEN else line
    if depth > 2 or depth == 2 and tag not in (b"type", b"init"):
        return (depth, form, tag), piece
    if depth == 1 and form == _LEAF and b"&" not in text:
        if tag == b"name" and text and b"/" not in text:
            return (pad, tag, rest, b"n", end), piece  # as _domain: any valid name reads alike
        if tag == b"uuid" and _UUID_BYTES.fullmatch(text) is not None:
            return (pad, tag, rest, _SOME_UUID, end), piece
    return line, piece


def _tokens(lines: list[bytes], width: int) -> list[Any] | None:
    tokens = []
    for k, line in enumerate(lines):
        token = _line_token(line, width if k else 0)  # the span starts at '<domain': no indentation
        if token is None:
            return None
        tokens.append(token)
    return tokens


def _learn(raw_span: bytes, width: int, redefine: bool) -> None:
    """Remember a domain the full path accepted: its lines (expat accepted each as complete
    markup) and the verdict on its token sequence."""
    lines = raw_span.split(b"\n")
    tokens = _tokens(lines, width)
    if tokens is None:
        return
    memory = _memory[0]
    if len(memory.tokens) + len(tokens) > _LINES_MAX or memory.size + len(lines) > _LINES_MAX:
        memory = _memory[0] = _LineMemory()
    table = memory.lines.setdefault(width, {})
    sequence = []
    for line, (token, _) in zip(lines, tokens):
        i = memory.token_id(token)
        if line not in table:
            table[line] = i
            memory.size += 1
        sequence.append(i)
    if len(memory.verdicts) >= _VERDICTS_MAX:
        memory.verdicts.clear()
    memory.verdicts.add((width, redefine, tuple(sequence)))


class _Layout:
    """A whole domain of a known layout, checked without expat. The lines that stayed the same
    from one document to the next are compared as bytes (segments between the changing lines);
    each line that changed (a VM's name, uuid, paths) must match its *value pattern*: the line it
    had, with each attribute value and the text replaced by a run of plain ASCII characters
    (no quote, '&', '<', '>', '=' or control character). Such a line is well formed by
    construction (same tag and attribute names as a line expat accepted, values that need no
    checking) and has that line's token (same indentation, tag and form; for the top's name and
    uuid, a value the normalisation reads alike). So a domain that fits has the layout's token
    sequence, whose verdict is known, and is well formed: no expat run at all."""

    __slots__ = ("segments", "patterns", "ids")

    def __init__(self, segments: list[bytes], patterns: list["re.Pattern[bytes]"], ids: tuple[int, ...]) -> None:
        self.segments = segments  # len(patterns) + 1 constant stretches, line breaks included
        self.patterns = patterns
        self.ids = ids

    def fits(self, span: bytes) -> bool:
        segments = self.segments
        first = segments[0]
        if not span.startswith(first):
            return False
        pos = len(first)
        find = span.find
        for pattern, segment in zip(self.patterns, segments[1:]):
            end = find(b"\n", pos)
            if end < 0 or pattern.fullmatch(span, pos, end) is None or not span.startswith(segment, end):
                return False
            pos = end + len(segment)
        return pos == len(span)


_LAYOUTS_PER_PLACE = 4  # per indentation and number of lines
_LAYOUT_CHARS = 64 * 1024  # larger domains are not worth a layout of their own
_LAYOUT_BUILDS = 256  # layouts made per memory epoch, at most
_VARYING_MAX = 64  # lines of one layout that may change
_PLAIN = rb"[\x20\x21\x23-\x25\x28-\x3b\x3f-\x7e]"  # printable ASCII but " & ' < = >
_VALUE_SPOTS = re.compile(rb"""='[^'<>]*'|="[^"<>]*"|>[^<>]*</""")


def _value_pattern(line: bytes, token: Any) -> "re.Pattern[bytes] | None":
    """The value pattern of ``line`` (see _Layout), or None when its token is not one that lines
    differing only in values share."""
    if type(token) is not tuple:
        return None  # a token holding the whole line
    if len(token) == 5:  # the top's name or uuid: a value the normalisation reads alike
        text = _UUID_BYTES.pattern if token[1] == b"uuid" else rb"[\x20\x21\x23-\x25\x28-\x2e\x30-\x3b\x3f-\x7e]+"
        head, _, tail = line.partition(b">")
        return re.compile(re.escape(head + b">") + b"(?:" + text + b")" + re.escape(tail[tail.rindex(b"</") :]))
    parts = []
    pos = 0
    for m in _VALUE_SPOTS.finditer(line):
        parts.append(re.escape(line[pos : m.start()]))
        spot = line[m.start() : m.start() + 2]
        if spot == b">":
            parts.append(b">" + _PLAIN + b"*+</")
        else:
            parts.append(re.escape(spot) + _PLAIN + b"*+" + re.escape(spot[1:]))
        pos = m.end()
    parts.append(re.escape(line[pos:]))
    return re.compile(b"".join(parts))


def _new_layout(memory: _LineMemory, lines: list[bytes], ids: tuple[int, ...], changed: list[int], width: int) -> None:
    """Remember the layout of an accepted domain whose lines at ``changed`` were new."""
    key = (width, ids)
    before = memory.varying.get(key, frozenset())
    varying = before.union(changed)
    if varying == before or len(varying) > _VARYING_MAX or memory.builds >= _LAYOUT_BUILDS or 0 in varying:
        return
    memory.varying[key] = varying
    memory.builds += 1
    segments = []
    patterns = []
    last = 0
    for k in sorted(varying):
        pattern = _value_pattern(lines[k], memory.token_of.get(ids[k]))
        if pattern is None:
            return
        segments.append(b"\n".join(lines[last:k]) + b"\n" if last == 0 else b"\n" + b"\n".join(lines[last:k]) + (b"\n" if k > last else b""))
        patterns.append(pattern)
        last = k + 1
    segments.append(b"\n" + b"\n".join(lines[last:]))
    layout = _Layout(segments, patterns, ids)
    where = (width, len(lines))
    layouts = [x for x in memory.layouts.get(where, ()) if x.ids != ids]
    memory.layouts[where] = [layout] + layouts[: _LAYOUTS_PER_PLACE - 1]


_RATE_KEEP = 0.99  # the average's memory: about the last hundred domains
_RATE_TRUSTED = 0.25
_PROBE_EVERY = 32


def _domain_by_lines(raw_span: bytes, width: int, redefine: bool, by_lines: bool = True) -> Domain | None:
    """A domain judged from what is remembered of its lines, or None (then the full path runs).
    Known layouts are always tried (cheap); the line-by-line reading only when ``by_lines``."""
    memory = _memory[0]
    table = memory.lines.get(width)
    if table is None:
        return None
    for layout in memory.layouts.get((width, raw_span.count(b"\n") + 1), ()):
        if layout.fits(raw_span):
            if (width, redefine, layout.ids) in memory.verdicts:
                return Domain._from_span(raw_span, width)
            break
    if not by_lines:
        return None
    lines = raw_span.split(b"\n")
    ids = list(map(table.get, lines))
    if None in ids:
        tokens = memory.tokens
        pieces = []
        new = []
        changed: list[int] = []
        i = -1
        try:
            while True:
                i = ids.index(None, i + 1)
                line = lines[i]
                found = _line_token(line, width if i else 0)
                if found is None:
                    return None
                token, piece = found
                t = tokens.get(token)
                if t is None:
                    return None  # a token never judged: no remembered verdict can hold it
                ids[i] = t
                pieces.append(piece)
                new.append((line, t))
                changed.append(i)
        except ValueError:
            pass
        key = tuple(ids)
        if (width, redefine, key) not in memory.verdicts:
            return None
        parser = ParserCreate("UTF-8")
        try:
            parser.Parse(b"<r>" + b"".join(pieces) + b"</r>", True)
        except Exception:
            return None
        if memory.size + len(new) <= _LINES_MAX:
            table.update(new)
            memory.size += len(new)
        if len(raw_span) <= _LAYOUT_CHARS:
            _new_layout(memory, lines, key, changed, width)  # type: ignore[arg-type]
    elif (width, redefine, tuple(ids)) not in memory.verdicts:
        return None
    return Domain._from_span(raw_span, width)  # every line was checked by expat: valid UTF-8


# -- the disk list ---------------------------------------------------------------------------------
# Disk records are built through their slots (see records.py, "building records in bulk"), from
# C-level map() loops when there are many: what a document with thousands of disks is made of.
_new = object.__new__
_SET_NAME, _SET_CHECKPOINT, _SET_BITMAP, _SET_SIZE = _slot_setters(CheckpointDisk, ("name", "checkpoint", "bitmap", "size"))
_RESTS: dict[str, tuple[str, str | None, int | None] | None] = {}
_CACHE_ENTRIES = 4096


def _rest(rest: str) -> tuple[str, str | None, int | None] | None:
    """checkpoint, bitmap and size of a tag's rest (None: a form left to the general path)."""
    if rest in _RESTS:
        return _RESTS[rest]
    m = _DISK_REST.fullmatch(rest)
    fields: tuple[str, str | None, int | None] | None = None
    if m is not None:
        checkpoint, bitmap, size = m.groups()
        value = None if size is None else int(size)
        # checkpoint='no' with a bitmap or a size: the general path words the schema error
        if not (checkpoint == "no" and (bitmap is not None or size is not None)) and (value is None or value <= ULONG_MAX):
            fields = (checkpoint or "bitmap", bitmap, value)
    if len(_RESTS) >= _CACHE_ENTRIES:
        _RESTS.clear()
    _RESTS[rest] = fields
    return fields


def _read_disks(block: str, limits: Limits) -> tuple[CheckpointDisk, ...] | None:
    """The disks of a ``<disks>`` element's content, or None to let the general path read it.

    What is proven: block = head + (_DISK_OPEN + name + "'" + rest)*, where head is whitespace,
    each name passes the schema's rule and holds no quote, '<', '>', '&' or control character,
    and each rest is the tag's other attributes, '/>' and whitespace (_DISK_REST), in which no
    '<' can occur. That is exactly a list of disk tags separated by whitespace."""
    parts = _DISK_SPLIT.split(block)
    n = len(parts) // 2
    if n == 0 or n > limits.max_disks or parts[0].strip(" \n"):
        return None
    if n <= _FEW_DISKS:  # one at a time
        if len(block) > limits.max_text and max(map(len, parts)) > limits.max_text:
            return None
        disks = []
        known = _RESTS
        for k in range(1, 2 * n, 2):
            rest = parts[k + 1]
            fields = known[rest] if rest in known else _rest(rest)
            if fields is None:
                return None
            disk = _new(CheckpointDisk)
            _SET_NAME(disk, parts[k])
            _SET_CHECKPOINT(disk, fields[0])
            _SET_BITMAP(disk, fields[1])
            _SET_SIZE(disk, fields[2])
            disks.append(disk)
        return tuple(disks)
    # Many disks: column-wise, each distinct rest read once.
    names = parts[1::2]
    rests = parts[2::2]
    kinds = {rest: _rest(rest) for rest in set(rests)}
    if None in kinds.values():
        return None
    # A text node (between tags) or an attribute value longer than max_text: the general path
    # reports it. Each lies within the head, one name or one rest.
    if len(block) > limits.max_text and (
        len(parts[0]) > limits.max_text
        or max(map(len, names)) > limits.max_text
        or max(map(len, kinds)) > limits.max_text
    ):
        return None
    disks = list(map(_new, repeat(CheckpointDisk, n)))
    deque(map(_SET_NAME, disks, names), 0)
    # Each field: one value repeated when every kind of rest agrees on it (sizes are usually all
    # absent), else looked up by the disk's rest.
    for k, setter in enumerate((_SET_CHECKPOINT, _SET_BITMAP, _SET_SIZE)):
        by_rest = {rest: fields[k] for rest, fields in kinds.items()}  # type: ignore[index]
        values = set(by_rest.values())
        if len(values) == 1:
            deque(map(setter, disks, repeat(values.pop(), n)), 0)
        else:
            deque(map(setter, disks, map(by_rest.__getitem__, rests)), 0)
    return tuple(disks)


_FEW_DISKS = 16


# The deepest element of an accepted document: domaincheckpoint, domain, then _DEPTH levels.
_MAX_FAST_DEPTH = 2 + _DEPTH


# The same pattern over bytes, so that a document is matched where it lies in the framer's buffer
# (no copy, no decode of the whole document); only the captured values are decoded.
_CHECKPOINT_BYTES = re.compile(_CHECKPOINT.pattern.encode("ascii"), re.S)


def _xml_text(raw: bytes) -> str | None:
    """Decode a captured value and check what expat would still check in it: UTF-8, the two
    non-characters U+FFFE and U+FFFF, no ']]>' in character data. The pattern has already excluded
    markup and control characters."""
    if b"]]>" in raw:
        return None
    return _utf8_text(raw)


def _utf8_text(raw: bytes) -> str | None:
    """Decode UTF-8 as expat reads it: invalid sequences and U+FFFE / U+FFFF are errors."""
    if raw.isascii():
        return raw.decode("ascii")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\ufffe" in text or "\uffff" in text:
        return None
    return text


def forget(domains: bool = True, disks: bool = True) -> None:
    """Drop what the scanner remembers between documents (domain verdicts and lines, disk tags),
    as in a fresh process. Results never depend on it (the tests check both ways); benchmarks use
    it to measure documents as never seen before."""
    if domains:
        _memory[0] = _LineMemory()
        _DOMAIN_CACHE.clear()
        _cache_chars[0] = 0
        _TOP_CACHE.clear()
    if disks:
        _RESTS.clear()


def fast_parse(doc: bytes, options: Options, limits: Limits, origin: Origin | None = None) -> Checkpoint | None:
    """Parse one complete document in libvirt's layout, or return None to use the general path.
    That layout with CR LF line ends or double-quoted attributes is read too."""
    record = fast_parse_at(doc, 0, len(doc), options, limits, origin)
    if record is None:
        return fast_parse_variant(doc, 0, len(doc), options, limits, origin)
    return record


def fast_parse_variant(
    buf: bytes | bytearray, start: int, end: int, options: Options, limits: Limits, origin: Origin | None = None
) -> Checkpoint | None:
    """:func:`fast_parse` of ``buf[start:end]``, a document in libvirt's layout written with CR LF
    (or CR) line ends, with double-quoted attributes (see _requoted), or both; None for anything
    else (without a copy when it has neither).

    XML reads every CR LF and lone CR as LF before anything else (end-of-line handling, which the
    general path applies to the domain's text too), so the document with LF line ends reads alike:
    the same values, the same domain text. Only offsets inside the document differ, and a record
    holds none (errors are left to the general path, on the original bytes)."""
    cr = buf.find(b"\r", start, end) >= 0
    if not cr and buf.find(b'"', start, end) < 0:
        return None
    doc = bytes(buf[start:end])
    if cr:
        doc = doc.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        record = fast_parse_at(doc, 0, len(doc), options, limits, origin)
        if record is not None or b'"' not in doc:
            return record
    return _requoted(doc, options, limits, origin)  # it holds a double quote: checked above


# Documents written by other tools (lxml's pretty printer, for one) are libvirt's layout with
# double-quoted attributes. When a document holds no apostrophe at all and none of its double
# quotes stands in text (after a '>' before the next '<'), every double quote delimits an attribute
# value or the XML declaration's (the fast path admits no comment, PI or CDATA: their quotes would
# lie in a refused document either way). Turning them into apostrophes then changes no value (a
# value holds no quote of either kind; expat reads both delimiters alike) and no offset, so the
# fast path reads the result as it would the original; the domain keeps its text as written: every
# apostrophe in it was a double quote.
_QUOTE_IN_TEXT = re.compile(rb'>[^<"]*+"')


def _requoted(doc: bytes, options: Options, limits: Limits, origin: Origin | None) -> Checkpoint | None:
    if b"'" in doc or _QUOTE_IN_TEXT.search(doc) is not None:
        return None
    record = fast_parse_at(doc.replace(b'"', b"'"), 0, len(doc), options, limits, origin)
    if record is None or record.domain is None:
        return record
    domain = record.domain
    source = domain._source
    if source is not None:
        domain = Domain._from_span(source[0].replace(b"'", b'"'), source[1])
    else:
        domain = Domain(domain.xml.replace("'", '"'))
    _C_DOMAIN(record, domain)  # the record was just made, for this document alone
    return record


def fast_parse_at(
    buf: bytes | bytearray, start: int, end: int, options: Options, limits: Limits, origin: Origin | None = None
) -> Checkpoint | None:
    """:func:`fast_parse` of ``buf[start:end]``, matched in place.

    Well-formedness: the pattern admits only a regular subset of XML (fixed tags, attributes and
    whitespace, no comment, PI, DOCTYPE or CDATA, '&' only in the five predefined entities of a
    description), so what expat would still check outside the nested domain is done here on the
    captured values (:func:`_xml_text`): UTF-8, XML characters, no ']]>'. The nested domain is
    arbitrary XML: a bare expat parser checks it (as safe as new_expat_parser(), since the
    pattern lets nothing but an XML declaration precede the root, so no DTD can exist).
    """
    if limits.max_depth < _MAX_FAST_DEPTH or limits.max_attributes < _MAX_ATTRS:
        return None
    # A large document (thousands of disks) makes hundreds of thousands of small objects (match
    # tuples, strings, records): each 700 allocations would run the cycle collector, whose older
    # generations grow with them, which makes the parse superlinear. Nothing made here can form a
    # cycle, so the collector waits until the document is done.
    if end - start >= PAUSE_GC_BYTES and gc.isenabled():
        gc.disable()
        try:
            return _fast_parse_at(buf, start, end, options, limits, origin)
        finally:
            gc.enable()
    return _fast_parse_at(buf, start, end, options, limits, origin)


PAUSE_GC_BYTES = 64 * 1024


def fast_parse_ready(limits: Limits) -> Callable[..., Checkpoint | None] | None:
    """For a caller that runs the fast path on many documents under the same limits (the framer's
    hot loop): the per-document function, valid for documents under :data:`PAUSE_GC_BYTES` (larger
    ones go through :func:`fast_parse_at`), or None when these limits rule the fast path out."""
    if limits.max_depth < _MAX_FAST_DEPTH or limits.max_attributes < _MAX_ATTRS:
        return None
    return _fast_parse_at


def _fast_parse_at(
    buf: bytes | bytearray, start: int, end: int, options: Options, limits: Limits, origin: Origin | None
) -> Checkpoint | None:
    m = _CHECKPOINT_BYTES.fullmatch(buf, start, end)
    if m is None:
        return None
    raw_name, raw_description, raw_parent, raw_created, raw_block, raw_span, active = m.groups()
    # Byte lengths bound character lengths from above: a conservative max_text test (the disk
    # list's own text nodes and values are measured by _read_disks).
    if end - start > limits.max_text and end - start - (len(raw_block) if raw_block else 0) > limits.max_text:
        return None  # some text node or attribute value might exceed max_text: let the general path measure
    if raw_description is not None:
        if raw_description.isascii() and b"]]>" not in raw_description:
            description = raw_description.decode("ascii")
        else:
            description = _xml_text(raw_description)
            if description is None:
                return None
        if "&" in description:  # libvirt escapes < > & ' " in descriptions: the five predefined entities
            for entity, char in _ENTITIES:
                description = description.replace(entity, char)
    else:
        description = None
    if raw_created is not None:
        created: int | None = int(raw_created)
        if created > ULONG_MAX:  # type: ignore[operator]
            return None
    else:
        created = None
    if active is not None:
        if not options.internal:
            return None
        active = active.decode("ascii")
    if raw_block is not None:
        # Inside tags ']]>' is allowed, and between them _read_disks admits only whitespace: the
        # list needs decoding only (UTF-8, and XML's two non-characters).
        block = raw_block.decode("ascii") if raw_block.isascii() else _utf8_text(raw_block)
        disks = None if block is None else _read_disks(block, limits)
        if disks is None:
            return None
    else:
        disks = ()
    # The domain after the disks: a document whose disk list the fast path cannot read (written
    # with double quotes, say) is refused before its domain costs anything.
    if raw_span is not None:
        begin = m.start(6)
        line_start = buf.rfind(b"\n", start, begin) + 1
        if line_start == 0:
            line_start = start
        column = begin - line_start if buf[line_start:begin].strip(b" ") == b"" else 0
        # The verdict on a domain (well-formedness included) is a function of its bytes and
        # where it stands: a domain seen before is not parsed again.
        key = (raw_span, column, options.redefine, limits.max_attributes)
        domain = _DOMAIN_CACHE.get(key, _MISSING)
        if domain is _MISSING:
            domain = _new_domain(raw_span, column, options.redefine, limits.max_attributes)
            _remember(key, domain)
        if domain is None:
            return None
    else:
        domain = None
    try:
        return build_checkpoint(
            None if raw_name is None else raw_name.decode("ascii"),
            description,
            None if raw_parent is None else raw_parent.decode("ascii"),
            created,
            domain,
            active,
            disks,
            options,
            origin,
        )
    except CheckpointError:
        return None
