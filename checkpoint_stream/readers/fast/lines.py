"""Domains of a known layout, judged line by line from what was proven before.

Checkpoints of different VMs (or of one VM whose definition changed) carry domains that differ in
a few lines (name, uuid, source paths, MAC addresses) and share the rest. In the layout
:mod:`.domain` proves, every line of a domain is complete markup: an open tag, a close tag, a
self-closing tag or a one-line leaf. Two facts make most of a new domain's work avoidable:

* Well-formedness is local to such a line (its tag syntax, attributes, references and
  characters; no DTD can exist, see :mod:`.reader`), except for pairing open and close tags by
  name. So a line expat once accepted, as complete markup, is well formed wherever it stands.
* The verdict on a domain reads a line deeper than the domain's top only for its indentation,
  its form and (to pair tags) its name, plus the grandchildren the domain grammar reads
  (:meth:`~...grammar.domain.DomainGrammar.inner_tags`: ``<os><type>``, ``<os><init>``).

So each line is reduced to a *token* holding exactly what the verdict and the tag pairing read:
lines at depth 0 and 1 whole (but a child's text that only value rules read is replaced by what
those rules make of it: :meth:`~...grammar.domain.DomainGrammar.text_class`, so another VM's valid
name or uuid reads alike), lines at depth 2 that the grammar reads whole, every other line as
(depth, form, name). A domain whose token sequence was already judged by the full path (expat on
the whole span, then the top read from its lines) gets the same verdict; only its lines never
seen before go through expat, in one small batch.

Once a layout's changing lines are known, the next domain of that layout is checked with no
expat at all (:class:`Layout`).
"""

from __future__ import annotations

import re
from typing import Any
from xml.parsers.expat import ParserCreate

from ...grammar.domain import DomainGrammar
from .memory import LINE_BYTES_MAX, LINES_MAX, VERDICTS_MAX, LineMemory, Memory
from ...markup.domain_tags import DEPTH, TAG  # levels below <domain> the layout proof spells out; a tag name
from .regexgen import RUN, value_fragment

__all__ = ["LinePath", "TAG", "MAX_ATTRS", "DEPTH"]

MAX_ATTRS = 32  # on any line; a line with more attributes is not in the layout
_LINE = re.compile(
    rb"( " + RUN.encode() + rb")(?:</([^>\n]+)>|<(" + TAG.encode() + rb")((?: [^<>\n]*)?)(?<!/)(?:(/)>|>(?:([^<\n\r]*)</([^>\n]+)>)?))"
)
_OPEN, _CLOSE, _EMPTY, _LEAF = range(4)

LAYOUTS_PER_PLACE = 4  # per indentation and number of lines
LAYOUT_CHARS = 64 * 1024  # larger domains are not worth a layout of their own
LAYOUT_BUILDS = 256  # layouts made per memory epoch, at most
VARYING_MAX = 64  # lines of one layout that may change
_PLAIN = rb"[\x20\x21\x23-\x25\x28-\x3b\x3f-\x7e]"  # printable ASCII but " & ' < = >
_NOT_PLAIN = "".join(chr(c) for c in range(128) if re.fullmatch(_PLAIN, bytes([c])) is None)
_VALUE_SPOTS = re.compile(rb"""='[^'<>]*'|="[^"<>]*"|>[^<>]*</""")

RATE_KEEP = 0.99  # the average's memory: about the last hundred domains
RATE_TRUSTED = 0.25
PROBE_EVERY = 32


class Layout:
    """A whole domain of a known layout, checked without expat. The lines that stayed the same
    from one document to the next are compared as bytes (segments between the changing lines);
    each line that changed (a VM's name, uuid, paths) must match its *value pattern*: the line it
    had, with each attribute value and the text replaced by a run of plain ASCII characters
    (no quote, '&', '<', '>', '=' or control character). Such a line is well formed by
    construction (same tag and attribute names as a line expat accepted, values that need no
    checking) and has that line's token (same indentation, tag and form); where the token holds
    a text's class, the text matched is classed again and must give the same class. So a domain
    that fits has the layout's token sequence, whose verdict is known, and is well formed."""

    __slots__ = ("segments", "patterns", "classes", "ids")

    def __init__(self, segments: list[bytes], patterns: list["re.Pattern[bytes]"], classes: list[Any], ids: tuple[int, ...]) -> None:
        self.segments = segments  # len(patterns) + 1 constant stretches, line breaks included
        self.patterns = patterns
        self.classes = classes  # per pattern: None, or (grammar, tag, class) to check its group 1 against
        self.ids = ids

    def fits(self, span: bytes) -> bool:
        segments = self.segments
        first = segments[0]
        if not span.startswith(first):
            return False
        pos = len(first)
        find = span.find
        for pattern, segment, cls in zip(self.patterns, segments[1:], self.classes):
            end = find(b"\n", pos)
            if end < 0:
                return False
            m = pattern.fullmatch(span, pos, end)
            if m is None or not span.startswith(segment, end):
                return False
            if cls is not None and cls[0].text_class(cls[1], m.group(1).decode("ascii")) != cls[2]:
                return False
            pos = end + len(segment)
        return pos == len(span)


class LinePath:
    """Judging domains from remembered lines; everything it learns goes into ``memory.lines``."""

    def __init__(self, grammar: DomainGrammar, memory: Memory) -> None:
        self.grammar = grammar
        self.memory = memory
        self.inner = frozenset(t.encode() for t in grammar.all_inner_tags())
        self.classed = frozenset(t.encode() for t in grammar.children if grammar.text_readers(t))

    # -- tokens -----------------------------------------------------------------------------------

    def line_token(self, line: bytes, width: int) -> tuple[Any, bytes] | None:
        """The token of one line of a domain indented by ``width``, and the line as a standalone
        piece of markup (what expat checks), or None when the line is not in the layout."""
        if b"\r" in line or line.count(b"=") > MAX_ATTRS or line.count(b"<") != line.count(b">"):
            return None
        m = _LINE.fullmatch(line)
        if m is None:
            return None
        pad, close, tag, rest, empty, text, end = m.groups()
        indent = len(pad) - width
        if indent < 0 or indent & 1 or indent > 2 * DEPTH:
            return None
        depth = indent >> 1
        if close is not None:
            return ((depth, _CLOSE, close) if depth > 1 else line), b"<" + close + b">" + line
        form = _EMPTY if empty else _OPEN if end is None else _LEAF
        piece = line + b"</" + tag + b">" if form == _OPEN else line
        if depth > 2 or depth == 2 and tag not in self.inner:
            return (depth, form, tag), piece
        if depth == 1 and form == _LEAF and tag in self.classed and b"&" not in text:
            try:
                cls = self.grammar.text_class(tag.decode("ascii"), text.decode("utf-8"))
            except UnicodeDecodeError:
                return None
            return (pad, tag, rest, cls, end), piece  # texts of one class read alike
        return line, piece

    def tokens(self, lines: list[bytes], width: int) -> list[Any] | None:
        tokens = []
        for k, line in enumerate(lines):
            token = self.line_token(line, width if k else 0)  # the span starts at '<domain'
            if token is None:
                return None
            tokens.append(token)
        return tokens

    # -- learning ---------------------------------------------------------------------------------

    def learn(self, raw_span: bytes, width: int, redefine: bool) -> None:
        """Remember a domain the full path accepted: its lines (expat accepted each as complete
        markup) and the verdict on its token sequence."""
        lines = raw_span.split(b"\n")
        tokens = self.tokens(lines, width)
        if tokens is None:
            return
        if len(raw_span) > LINE_BYTES_MAX // 8:
            return  # too big to keep: learnt, it would push everything else out
        memory = self.memory.lines
        if (
            len(memory.tokens) + len(tokens) > LINES_MAX
            or memory.size + len(lines) > LINES_MAX
            or memory.bytes + len(raw_span) > LINE_BYTES_MAX
        ):
            memory = self.memory.lines = LineMemory()
        table = memory.lines.setdefault(width, {})
        sequence = []
        for line, (token, _) in zip(lines, tokens):
            i = memory.token_id(token)
            if line not in table:
                table[line] = i
                memory.size += 1
                memory.bytes += len(line) + 1
            sequence.append(i)
        if len(memory.verdicts) >= VERDICTS_MAX:
            memory.verdicts.clear()
        memory.verdicts.add((width, redefine, tuple(sequence)))

    def _value_pattern(self, line: bytes, token: Any) -> tuple["re.Pattern[bytes]", Any] | None:
        """The value pattern of ``line`` (see :class:`Layout`) and the class its text must keep,
        or None when its token is not one that lines differing only in values share."""
        if type(token) is not tuple:
            return None  # a token holding the whole line
        if len(token) == 5:  # a child's text that value rules alone read: any plain text of its class
            head, _, tail = line.partition(b">")
            tag = token[1].decode("ascii")
            # Each rule reading the text, carried into the pattern (restricted to plain
            # characters): a lookahead that it passes, or fails, as the class says. Where a rule
            # cannot be carried over, the class is worked out at fit time instead.
            asserts: list[bytes] | None = []
            for rule, passes in zip(self.grammar.text_readers(tag) or (), token[3]):
                # A maximum is beyond a pattern: such a rule is asked at fit time.
                frag = None if rule.maximum is not None else value_fragment(rule, _NOT_PLAIN, ascii_only=True)
                if frag is None:
                    asserts = None
                    break
                asserts.append((b"(?=" if passes else b"(?!") + frag.encode("ascii") + b"</)")  # type: ignore[union-attr]
            prefix = re.escape(head + b">") + (b"".join(asserts) if asserts is not None else b"")
            pattern = re.compile(prefix + b"(" + _PLAIN + b"*)" + re.escape(tail[tail.rindex(b"</") :]))
            return pattern, (None if asserts is not None else (self.grammar, tag, token[3]))
        parts = []
        pos = 0
        for m in _VALUE_SPOTS.finditer(line):
            parts.append(re.escape(line[pos : m.start()]))
            spot = line[m.start() : m.start() + 2]
            if spot == b">":
                parts.append(b">" + _PLAIN + b"*</")
            else:
                parts.append(re.escape(spot) + _PLAIN + b"*" + re.escape(spot[1:]))
            pos = m.end()
        parts.append(re.escape(line[pos:]))
        return re.compile(b"".join(parts)), None

    def _new_layout(self, memory: LineMemory, lines: list[bytes], ids: tuple[int, ...], changed: list[int], width: int) -> None:
        """Remember the layout of an accepted domain whose lines at ``changed`` were new."""
        key = (width, ids)
        before = memory.varying.get(key, frozenset())
        varying = before.union(changed)
        size = sum(map(len, lines)) + len(lines)  # what its segments keep, counted with the lines
        if (
            varying == before
            or len(varying) > VARYING_MAX
            or memory.builds >= LAYOUT_BUILDS
            or 0 in varying
            or memory.bytes + size > LINE_BYTES_MAX
        ):
            return
        memory.bytes += size
        memory.varying[key] = varying
        memory.builds += 1
        segments = []
        patterns = []
        classes = []
        last = 0
        for k in sorted(varying):
            found = self._value_pattern(lines[k], memory.token_of.get(ids[k]))
            if found is None:
                return
            segments.append(b"\n".join(lines[last:k]) + b"\n" if last == 0 else b"\n" + b"\n".join(lines[last:k]) + (b"\n" if k > last else b""))
            patterns.append(found[0])
            classes.append(found[1])
            last = k + 1
        segments.append(b"\n" + b"\n".join(lines[last:]))
        layout = Layout(segments, patterns, classes, ids)
        where = (width, len(lines))
        layouts = [x for x in memory.layouts.get(where, ()) if x.ids != ids]
        memory.layouts[where] = [layout] + layouts[: LAYOUTS_PER_PLACE - 1]

    # -- judging ----------------------------------------------------------------------------------

    def judge(self, raw_span: bytes, width: int, redefine: bool, by_lines: bool = True) -> bool:
        """Whether a domain is accepted by what is remembered of its lines: False means "not
        known" (then the full path runs). Known layouts are always tried (cheap); the
        line-by-line reading only when ``by_lines``."""
        memory = self.memory.lines
        table = memory.lines.get(width)
        if table is None:
            return False
        for layout in memory.layouts.get((width, raw_span.count(b"\n") + 1), ()):
            if layout.fits(raw_span):
                if (width, redefine, layout.ids) in memory.verdicts:
                    return True
                break
        if not by_lines:
            return False
        lines = raw_span.split(b"\n")
        ids = list(map(table.get, lines))
        if None not in ids:
            return (width, redefine, tuple(ids)) in memory.verdicts
        tokens = memory.tokens
        pieces = []
        new = []
        changed: list[int] = []
        i = -1
        try:
            while True:
                i = ids.index(None, i + 1)
                line = lines[i]
                found = self.line_token(line, width if i else 0)
                if found is None:
                    return False
                token, piece = found
                t = tokens.get(token)
                if t is None:
                    return False  # a token never judged: no remembered verdict can hold it
                ids[i] = t
                pieces.append(piece)
                new.append((line, t))
                changed.append(i)
        except ValueError:
            pass
        key = tuple(ids)
        if (width, redefine, key) not in memory.verdicts:
            return False
        parser = ParserCreate("UTF-8")
        try:
            parser.Parse(b"<r>" + b"".join(pieces) + b"</r>", True)
        except Exception:
            return False
        added = sum(len(line) + 1 for line, _ in new)
        if memory.size + len(new) <= LINES_MAX and memory.bytes + added <= LINE_BYTES_MAX:
            table.update(new)
            memory.size += len(new)
            memory.bytes += added
        if len(raw_span) <= LAYOUT_CHARS:
            self._new_layout(memory, lines, key, changed, width)  # type: ignore[arg-type]
        return True  # every line was checked by expat: valid UTF-8
