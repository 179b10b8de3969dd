"""The nested domain in any layout: proven well formed and judged without Python events.

expat checks the domain's well-formedness with no Python callback at all. Its top is then read
by one pattern, tag by tag, whatever the layout (:meth:`DomainReader.any_layout`: any
indentation or none, either quote); or, for a structure met again with other bytes (another VM
of the same structure), from its lines in libvirt's layout, which can then be learnt
(:mod:`.lines`). In that layout every line is an open tag, a self-closing tag, a one-line leaf
``<a>text</a>`` or a close tag, indented by exactly two spaces per level. :data:`_LINES` spells
that out level by level (up to ``DEPTH`` levels below ``<domain>``; deeper domains take the
general path), so one fullmatch proves it. Soundness (of both patterns): expat has checked that
the document is well formed, so its open and close tags nest; the pattern pairs every open tag
with the next close tag at its level, which is also a proper nesting of the same tokens, and a
balanced sequence has only one proper nesting. So the depth the pattern assigns to a tag is its
depth in the XML tree, and the children of ``<domain>`` are exactly those it finds at level one.

From what it read, :meth:`DomainReader.any_top` or :meth:`DomainReader.top` builds the very
:class:`~...grammar.domain.DomainTop` the general reader's scanner collects (the same children,
texts, nesting and grandchildren, as the domain grammar's tables say), and the grammar judges it.
What was proven is remembered in the reader's :class:`~.memory.Memory`: a domain's verdict by its
bytes, the verdict on a top, and the lines of accepted domains (:mod:`.lines`).
"""

from __future__ import annotations

import re
from typing import Any
from xml.parsers.expat import ParserCreate

from ...grammar.domain import DomainChild, DomainGrammar, DomainTop
from ...markup import domain_tags
from ...markup.indentation import base_indent, normalize_newlines
from ...records import Domain
from .lines import DEPTH, MAX_ATTRS, PROBE_EVERY, RATE_KEEP, RATE_TRUSTED, TAG, LinePath
from .memory import CHILD_KEY_MAX, CHILDREN_MAX, SHAPES_MAX, Memory
from .regexgen import RUN

__all__ = ["DomainReader", "MAX_FAST_DEPTH", "MAX_ATTRS"]

_ATTR = r" [^\s=/>'\"<]+='[^'<\t\n\r]*'"
_ATTRS = rf"(?:{_ATTR}){{0,{MAX_ATTRS}}}"
# Inside the domain the tags are matched loosely ([^<>\n]*): _domain first makes sure that '<' and
# '>' occur only as tag delimiters (no comment, PI or CDATA; as many '>' as '<', and each tag has
# one of each), so this is exact, and about a third cheaper than spelling out the attributes.
_REST = r"(?: [^<>\n]*)?"
_LEAF_TEXT = r"[^<\n\r]" + RUN  # no newline (so dedent by str.replace is exact), no markup


def _level(depth: int) -> str:
    pad = "  " * depth
    leaf_or_self = rf"<{TAG}{_REST}(?:/>|>{_LEAF_TEXT}</[^>\n]+>"
    if depth >= DEPTH:
        return leaf_or_self + ")"
    return leaf_or_self + rf"|>(?:\n{pad}  {_level(depth + 1)})*\n{pad}</[^>\n]+>)"


# No capturing group: with one, sre saves marks at every repetition (about 15% slower).
_LINES = re.compile(rf"<domain{_REST}>(?:\n  {_level(1)})*\n</domain>")
_HEAD = re.compile(rf"<domain{_ATTRS}>")
# A child of <domain>: tag, attributes (single-quoted, nothing expat would rewrite), then its form:
# '/>', a one-line leaf (text in group 4) or '>' followed by its own children on the next lines.
_CHILD = re.compile(rf"\n  <({TAG})((?:{_ATTR})*)(/>|>(?=\n)|>({_LEAF_TEXT})</)")
_DOMAIN_ATTR = re.compile(r"""([^\s=]+)='([^']*)'""")
_NO_NAMESPACES: dict[str, str] = {}
Namespaces = tuple[tuple[str, str], ...]  # the root's declarations: ((prefix, uri), ...)
#: Every byte but those of a domain's skeleton (see DomainReader._recurs).
_NOT_SKELETON = bytes(b for b in range(256) if b not in b"<>/=\n")
_MISSING: Any = object()


class _OtherLayout:
    """What DomainReader.full returns for a domain not in libvirt's layout (any_layout may read it)."""


_OTHER_LAYOUT = _OtherLayout()

#: The deepest element of a document the fast reader takes: the root, <domain>, then DEPTH levels.
MAX_FAST_DEPTH = 2 + DEPTH


# A domain in another layout (one line, four spaces or tabs, double quotes, " />") is read tag by
# tag rather than line by line, by the patterns of :mod:`...markup.domain_tags`.
_ANY_CHILD = domain_tags.CHILD
_ANY_HEAD = domain_tags.HEAD
_DOMAIN_END = len(domain_tags.DOMAIN_END)  # the fast reader's span ends so
_ANY_ELEMENT_2 = domain_tags.ELEMENT_2
_any_attrs = domain_tags.attributes


def _may_pass(text: str, max_attributes: int) -> bool:
    """Whether an element of a domain whose '<' all start tags may have more than
    ``max_attributes`` attributes (the patterns do not count them). A tag's attributes (one '='
    each) lie between its '<' and the next '<', so no piece of text.split('<') holding more than
    max_attributes '=' means no element has more attributes than that (the whole text is counted
    first: cheap, and mostly enough)."""
    return text.count("=") > max_attributes and max(piece.count("=") for piece in text.split("<")) > max_attributes


def _attrs(raw: str) -> dict[str, str] | None:
    attrs: dict[str, str] = {}
    for name, value in _DOMAIN_ATTR.findall(raw):
        if "&" in value or name in attrs:
            return None
        attrs[name] = value
    return attrs


_NO_INNER: dict[str, str] = {}
_NO_ATTRS: dict[str, str] = {}  # shared: what a top is judged from is never changed
_COLLECT, _CLASSED, _INNER, _BLANK = 1, 2, 4, 8
_KINDS_MAX = 4096


def _child_at(xml: str, tag: str, at: dict[str, int]) -> int:
    """Where the next child ``tag`` of the domain starts (its '\\n'), after the last one found."""
    opener = "\n  <" + tag
    i = at.get(tag, -1)
    while True:
        i = xml.find(opener, i + 1)
        if xml[i + len(opener)] in " />":
            at[tag] = i
            return i


def _direct_whitespace(xml: str, start: int, column: int, depth: int) -> str:
    """The text directly inside the element whose open line starts at ``start`` (a ``\\n`` before
    it) at ``depth`` and which holds elements: the line breaks and indentation (of the original
    document, ``column`` spaces in) before each of its children and before its end tag, as the
    general reader collects it."""
    pad = "\n" + "  " * depth
    inner = pad + "  "
    close = xml.find(pad + "</", start + 1)
    block = xml[start:close]
    children = block.count(inner + "<") - block.count(inner + "</")
    return ("\n" + " " * (column + 2 * depth + 2)) * children + "\n" + " " * (column + 2 * depth)


class DomainReader:
    """Judges nested domains in libvirt's layout for one grammar, remembering in ``memory``."""

    def __init__(self, grammar: DomainGrammar, memory: Memory, root: str) -> None:
        self.grammar = grammar
        self.memory = memory
        # The document root's start tag inside a domain means the document was cut short unless
        # it stands where any element may (ChildRule.any_content): the general reader tells which.
        self.restart = b"<" + root.encode()
        self.lines = LinePath(grammar, memory)
        self.collects = frozenset(tag for tag in grammar.children if grammar.collects_text(tag))
        self.inner_tags = {tag: grammar.inner_tags(tag) for tag in grammar.children if grammar.inner_tags(tag)}
        # What is read of each child, by tag (_COLLECT, _CLASSED, _INNER, _BLANK bits). _BLANK:
        # its text only has to be whitespace, and nested, in the layout, it is (every line inside
        # is a tag), so it need not be worked out. A tag the grammar does not name (an extension
        # element, by its local name) is asked of the grammar when first met (_kind). By mode
        # (REDEFINE or not): which texts are classed depends on it (text_class).
        self.kinds: dict[bool, dict[str, int]] = {
            redefine: {
                tag: (_COLLECT if tag in self.collects else 0)
                | (_CLASSED if grammar.text_readers(tag, redefine) else 0)
                | (_INNER if tag in self.inner_tags else 0)
                | (_BLANK if grammar.blank_text(tag) else 0)
                for tag in grammar.children
            }
            for redefine in (False, True)
        }
        self.blank_class = {
            redefine: {tag: grammar.text_class(tag, "\n", redefine) for tag in grammar.children if grammar.blank_text(tag)} for redefine in (False, True)
        }
        self.classes: dict[bool, dict[tuple[str, str], Any]] = {False: {}, True: {}}
        self.inner_leaf = {
            name: re.compile(rf"<{re.escape(name)}(?: [^<>\n]*)?>([^<\n]*)</{re.escape(name)}>").fullmatch
            for name in grammar.all_inner_tags()
        }

    def read(self, raw_span: bytes, column: int, redefine: bool, max_attributes: int, namespaces: Namespaces = ()) -> Domain | None:
        """The Domain of ``raw_span`` (``<domain`` to ``</domain>``, its first line ``column``
        spaces in), or None to let the general reader decide. A domain seen before is not read
        again: the verdict is a function of its bytes and where it stands."""
        memory = self.memory
        key = (raw_span, column, redefine, max_attributes, namespaces)
        found = memory.domains.get(key, _MISSING)
        if found is not _MISSING:
            domain: Domain | None = found
            return domain
        domain = self.new_domain(raw_span, column, redefine, max_attributes, namespaces)
        memory.remember_domain(key, domain)
        return domain

    def unread(self, raw_span: bytes, column: int, max_attributes: int, max_depth: int) -> Domain | None:
        """The Domain of ``raw_span`` left unread for libvirt's schemas to judge
        (:attr:`..modes.Options.schemas_judge_domain`), when nothing but the schemas could refuse
        it: no root start tag inside (a document cut short), no comment, CDATA section, PI or CR
        (the text is then exactly what :meth:`any_layout` would keep), too few '<' to nest deeper
        than ``max_depth`` and no element with more than ``max_attributes`` attributes (the
        limits). Its well-formedness is libxml2's to check, and a refusal sends the document to
        a full reading. None: read it as usual."""
        if self.restart in raw_span or b"<!" in raw_span or b"<?" in raw_span or b"\r" in raw_span:
            return None
        if raw_span.count(b"<") >= max_depth - 2:
            return None
        try:
            span = raw_span.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if _may_pass(span, max_attributes):
            return None
        # Kept as the bytes: the schemas are shown them as written (records.as_written), and their
        # hash, taken for the memory's key, is the verdict cache's too.
        return Domain._from_text(raw_span, base_indent(span, column)) if "\n" in span else Domain(span)

    def new_domain(self, raw_span: bytes, column: int, redefine: bool, max_attributes: int, namespaces: Namespaces = ()) -> Domain | None:
        """A domain not in the cache: judged from its lines when their layout is known, else expat
        checks it is well formed and :meth:`full` judges it (and its lines are remembered)."""
        if self.restart in raw_span:
            return None
        lines = self.memory.lines
        # Learning a domain (and reading one line by line) pays only where structures recur; in a
        # stream of domains that each differ in structure it costs more than it saves. So both are
        # done while a fair share of recent domains was recognised (a moving average), and
        # otherwise for one domain in PROBE_EVERY, so that structures that start to recur are
        # still learnt. (A heuristic: a lost update between threads does no harm.)
        rate = lines.rate
        lines.count += 1
        width = column
        # A structure met for the first time can be neither learnt nor read line by line with
        # profit: learning costs about a second reading and pays only when the structure comes
        # back, so it is learnt the second time (_recurs); and a first sight says nothing of the
        # recognition average. The layouts remembered are tried first (cheap: another VM of a
        # known structure is found so, without asking whether its structure recurs).
        by_lines = b"\r" not in raw_span and not namespaces  # lines are learnt without the root's declarations
        if by_lines:
            tail = raw_span[raw_span.rfind(b"\n") + 1 :]
            stripped = tail.lstrip(b" ")
            width = len(tail) - len(stripped) if stripped.startswith(b"</") else column  # base_indent
            if self.lines.judge(raw_span, width, redefine, False):
                lines.rate = rate * RATE_KEEP + (1 - RATE_KEEP)
                return Domain._from_span(raw_span, width)
        recurs = self._recurs(raw_span)
        probe = recurs and (rate >= RATE_TRUSTED or lines.count % PROBE_EVERY == 0)
        if probe and by_lines and self.lines.judge(raw_span, width, redefine, True):
            lines.rate = rate * RATE_KEEP + (1 - RATE_KEEP)
            return Domain._from_span(raw_span, width)
        if recurs:
            lines.rate = rate * RATE_KEEP
        parser = ParserCreate("UTF-8")
        try:
            parser.Parse(raw_span, True)
            span = raw_span.decode("utf-8")
        except Exception:
            return None
        if "\r" in span:
            return self.any_layout(normalize_newlines(span), column, redefine, max_attributes, namespaces)
        if not (probe and by_lines):
            # Nothing to learn: reading tag by tag is cheaper than proving the line layout.
            return self.any_layout(span, column, redefine, max_attributes, namespaces)
        domain = self.full(span, width, redefine, max_attributes)
        if isinstance(domain, _OtherLayout):
            return self.any_layout(span, column, redefine, max_attributes)
        if domain is None:
            return None
        self.lines.learn(raw_span, width, redefine)
        return Domain._from_span(raw_span, width, domain.xml)  # _LINES proved the span's lines

    def _recurs(self, raw_span: bytes) -> bool:
        """Whether a domain of this structure with other bytes was met before (another VM of the
        same structure, or the same VM changed). The structure is the skeleton of its markup (the
        '<', '>', '/', '=' and line breaks, in order: names, values and texts left out), kept as a
        hash with the hash of the first bytes met in it; a collision only makes a structure learnt
        once early. The same bytes met again are the by-bytes cache's (a second pass over the
        same documents, a VM's chain): learning from them would teach nothing of what varies."""
        shapes = self.memory.lines.shapes
        shape = hash(raw_span.translate(None, _NOT_SKELETON))
        first = shapes.get(shape)
        if first is not None:
            return first != hash(raw_span)
        if len(shapes) >= SHAPES_MAX:
            shapes.clear()
        shapes[shape] = hash(raw_span)
        return False

    def full(self, span: str, column: int, redefine: bool, max_attributes: int) -> Domain | _OtherLayout | None:
        """A well-formed domain's verdict from its text: the layout proven, the top read from its
        lines and judged by the grammar (None when refused; _OTHER_LAYOUT when the text is not in
        libvirt's layout, for :meth:`any_layout`)."""
        xml = span.replace("\n" + " " * column, "\n") if column else span
        if xml.count("<") != xml.count(">") or _LINES.fullmatch(xml) is None:
            return _OTHER_LAYOUT
        if _may_pass(xml, max_attributes):
            return None
        head = _HEAD.match(xml)
        if head is None:
            return _OTHER_LAYOUT
        found = self._children(xml, column, redefine)
        if found is None:
            return _OTHER_LAYOUT
        texts, parts = found
        return Domain(xml) if self._verdict((head.group(), parts, redefine), texts, self.top, _NO_NAMESPACES) else None

    def _verdict(self, key: tuple[Any, ...], texts: dict[int, str], top: Any, namespaces: dict[str, str]) -> bool:
        """The grammar's verdict on a top read as ``key`` says (``(head, parts, redefine, ...)``),
        remembered by that key; ``top(head, texts, parts)`` builds the DomainTop when it is new."""
        ok = self.memory.tops.get(key)
        if ok is None:
            head, parts, redefine = key[:3]
            built = top(head, texts, parts)
            # What each child's key holds, about: its texts (the raw attributes, the text kept, the
            # inner texts). A child is judged by the grammar once per key, unless its key is long.
            sizes = [len(p[1]) + (len(p[3]) if p[3].__class__ is str else 0) + (sum([len(t) for _, t in p[4]]) if len(p) > 4 else 0) for p in parts]
            keys = [p if size <= CHILD_KEY_MAX else None for p, size in zip(parts, sizes)]
            ok = built is not None and self.grammar.judge(built, namespaces, redefine, keys, self.memory.children)
            size = len(head) + sum(sizes) + 16 * len(parts)
            self.memory.remember_top(key, ok, size)
        return bool(ok)

    def _children(self, xml: str, column: int, redefine: bool) -> tuple[dict[int, str], tuple[Any, ...]] | None:
        """(tag, raw attributes, nested, direct text as the grammar reads it, inner texts) of each
        child of the domain, or None for a form the general reader must read; and what the
        verdict on the top depends on, with every text that value rules alone read replaced by
        its class (:meth:`~...grammar.domain.DomainGrammar.text_class`): another VM's name or
        uuid gives the same key."""
        found = _CHILD.findall(xml)
        # _LINES made every line indented by two spaces a child's start tag or a child's end tag:
        # _CHILD must have read every start tag ('\n  <' not followed by '/').
        if len(found) != xml.count("\n  <") - xml.count("\n  </"):
            return None  # some child's attributes are not in the simple form: general path
        kinds = self.kinds[redefine]
        inner_tags = self.inner_tags
        blank_class = self.blank_class[redefine]
        classes = self.classes[redefine]
        # One entry a child: what the verdict depends on (tag, attributes, nested, text or its
        # class[, inner texts]); the texts the classes stand for are kept apart, by position.
        parts: list[Any] = []
        texts: dict[int, str] = {}
        at: dict[str, int] = {}  # where the last child of each tag was found (only when needed)
        for tag, raw, form, text in found:
            kind = kinds.get(tag)
            if kind is None:
                kind = self._kind(tag)
            if not kind:  # neither its text nor its children are read
                parts.append((tag, raw, form == ">", ""))
                continue
            nested = form == ">"
            key_text: Any = ""
            if nested and kind & _BLANK:
                # Its direct text is the layout's line breaks and indentation, which its rule takes
                # as any whitespace: one whitespace stands for it (judged alike, keyed alike).
                texts[len(parts)] = "\n"
                key_text = blank_class[tag]
            elif kind & _COLLECT:
                if nested:
                    text = _direct_whitespace(xml, _child_at(xml, tag, at), column, 1)
                elif "&" in text:
                    return None
                key_text = text
                if text and kind & _CLASSED:
                    texts[len(parts)] = text
                    key_text = classes.get((tag, text)) or self._class(tag, text, redefine)  # a class is a non-empty tuple
            if nested and kind & _INNER:
                start = at[tag] if tag in at else _child_at(xml, tag, at)
                block = xml[start : xml.find("\n  </", start + 1)]
                inner = []
                for name in inner_tags[tag]:
                    got = self._inner(block, name)
                    if got is _MISSING:
                        continue
                    if got is None:
                        return None
                    inner.append((name, got))
                if inner:
                    parts.append((tag, raw, nested, key_text, tuple(sorted(inner))))
                    continue
            parts.append((tag, raw, nested, key_text))
        return texts, tuple(parts)

    def any_layout(self, span: str, column: int, redefine: bool, max_attributes: int, namespaces: Namespaces = ()) -> Domain | None:
        """A well-formed domain in any layout (``span``, LF line ends), read tag by tag: the same
        top as :meth:`full` reads from lines, judged by the grammar (with the root's ``namespaces``
        declarations, ``((prefix, uri), ...)``). None when refused, and for what the general reader must read: a
        comment, PI or CDATA section, a '>' in text or in an attribute value, a reference where
        the verdict reads, text beside the domain's children, elements deeper than DEPTH levels,
        or a child whose text is read holding elements and text."""
        if span.count("<") != span.count(">") or _may_pass(span, max_attributes):
            return None
        head = _ANY_HEAD.match(span)
        if head is None:
            return None
        kinds = self.kinds[redefine]
        blank_class = self.blank_class[redefine]
        classes = self.classes[redefine]
        parts: list[Any] = []
        texts: dict[int, str] = {}
        for tag, raw, _empty, text, referring, blank, other, stray in _ANY_CHILD.findall(span, head.end(), len(span) - _DOMAIN_END):
            if stray:
                return None
            kind = kinds.get(tag)
            if kind is None:
                kind = self._kind(tag)
            nested = bool(blank or other)
            if not kind:  # neither its text nor its children are read
                parts.append((tag, raw, nested, ""))
                continue
            if referring and kind & _COLLECT:
                return None
            key_text: Any = ""
            if nested:
                if other and kind & (_COLLECT | _BLANK):
                    return None  # text beside its elements: the general reader reads it
                if kind & _BLANK:
                    texts[len(parts)] = "\n"  # any whitespace reads alike (see _children)
                    key_text = blank_class[tag]
                elif kind & _COLLECT:
                    key_text = _ANY_ELEMENT_2.sub("", blank)
                    if key_text and kind & _CLASSED:
                        texts[len(parts)] = key_text
                        key_text = self._class(tag, key_text, redefine)
            elif kind & _COLLECT:
                key_text = text
                if text and kind & _CLASSED:
                    texts[len(parts)] = text
                    key_text = classes.get((tag, text)) or self._class(tag, text, redefine)  # a class is a non-empty tuple
            if nested and kind & _INNER:
                inner = self._any_inner(blank or other, self.inner_tags[tag])
                if inner is None:
                    return None
                if inner:
                    parts.append((tag, raw, nested, key_text, inner))
                    continue
            parts.append((tag, raw, nested, key_text))
        key = (head.group(1), tuple(parts), redefine, _OTHER_LAYOUT, namespaces)
        if not self._verdict(key, texts, self.any_top, dict(namespaces) if namespaces else _NO_NAMESPACES):
            return None
        # Not Domain._from_span: a domain made so is known to be in libvirt's layout (its identity
        # is then read from its lines), which this one need not be.
        # The patterns took no comment, CDATA section or PI (see above); the text is made when
        # first read.
        return Domain._from_text(span, base_indent(span, column)) if "\n" in span else Domain(span)

    @staticmethod
    def _any_inner(content: str, names: frozenset[str]) -> tuple[tuple[str, str], ...] | None:
        """:func:`...markup.domain_tags.inner_texts`, as a key (sorted by name)."""
        found = domain_tags.inner_texts(content, names)
        return None if found is None else tuple(sorted(found.items()))

    def any_top(self, head: str, texts: dict[int, str], parts: tuple[Any, ...]) -> DomainTop:
        """The DomainTop the general reader's scanner would collect (see :meth:`top`). A child
        whose text is its part's own (not one a class stands for), or the line break a blank text
        stands as, is a function of its part: made once, kept in the memory (bounded; what a top
        is judged from is never changed)."""
        made = self.memory.child_tops
        kids = []
        for i, part in enumerate(parts):
            text = texts.get(i)
            own = text is None or text == "\n"
            kid = made.get((part, text)) if own else None
            if kid is None:
                raw = part[1]
                attrs = (made.get(raw) or self._attributes(raw)) if raw else _NO_ATTRS
                kid = DomainChild(part[0], attrs, part[3] if text is None else text, part[2], dict(part[4]) if len(part) > 4 else _NO_INNER)
                if own and len(part[1]) + (len(part[3]) if part[3].__class__ is str else 0) <= CHILD_KEY_MAX:
                    if len(made) >= CHILDREN_MAX:
                        made.clear()
                    made[(part, text)] = kid
            kids.append(kid)
        return DomainTop(_any_attrs(head), tuple(kids), None)

    def _attributes(self, raw: str) -> dict[str, str]:
        """A child's attributes (:func:`...markup.domain_tags.attributes`), kept in the memory
        beside the children read (by their raw text: a string, where a child's key is a tuple)."""
        attrs = _any_attrs(raw)
        made = self.memory.child_tops
        if len(raw) <= CHILD_KEY_MAX:
            if len(made) >= CHILDREN_MAX:
                made.clear()
            made[raw] = attrs
        return attrs

    def _kind(self, tag: str) -> int:
        """What is read of a child the grammar does not name (an extension element, by its local
        name): its text or nothing (remembered, in a bounded table)."""
        kind = _COLLECT if self.grammar.collects_text(tag) else 0
        for kinds in self.kinds.values():
            if len(kinds) < _KINDS_MAX:
                kinds[tag] = kind
        return kind

    def _class(self, tag: str, text: str, redefine: bool) -> Any:
        """The text's class in the mode (:meth:`~...grammar.domain.DomainGrammar.text_class`),
        remembered: the same few values (lifecycle actions, units) recur in every domain."""
        key = (tag, text)
        classes = self.classes[redefine]
        found = classes.get(key)
        if found is None:
            found = self.grammar.text_class(tag, text, redefine)
            if len(classes) >= _KINDS_MAX:
                classes.clear()
            classes[key] = found
        return found

    def _inner(self, block: str, name: str) -> Any:
        """The direct text of the first grandchild ``name`` in a child's block (its lines at
        depth 2), "" for a self-closing one, _MISSING when there is none, None for a form left to
        the general reader (one holding elements, or a reference in its text)."""
        at = 0
        opener = "\n    <" + name
        while True:
            at = block.find(opener, at)
            if at < 0:
                return _MISSING
            after = block[at + len(opener) : at + len(opener) + 1]
            if after in (" ", ">", "/"):
                break
            at += 1
        line_end = block.find("\n", at + 1)
        line = block[at + 5 : line_end if line_end >= 0 else len(block)]
        if line.endswith("/>"):
            return ""
        m = self.inner_leaf[name](line)
        if m is None or "&" in m.group(1):
            return None
        return m.group(1)

    @staticmethod
    def top(head: str, texts: dict[int, str], parts: tuple[Any, ...]) -> DomainTop | None:
        """The DomainTop the general reader's scanner would collect for this domain (but for the
        direct text of a child whose rule only asks for whitespace, which stands as one line break:
        :meth:`~...grammar.domain.DomainGrammar.blank_text`)."""
        attrs = _attrs(head[len("<domain") : -1])
        if attrs is None:
            return None
        kids = []
        for i, part in enumerate(parts):
            cattrs = _attrs(part[1])
            if cattrs is None:
                return None
            kids.append(DomainChild(part[0], cattrs, texts.get(i, part[3]), part[2], dict(part[4]) if len(part) > 4 else _NO_INNER))
        return DomainTop(attrs, tuple(kids), None)
