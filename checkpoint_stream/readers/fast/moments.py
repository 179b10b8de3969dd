"""The fast reader for the other document grammars (snapshots), generated from their rules.

A snapshot in libvirt's layout is read as a checkpoint is (:mod:`.compile`): one pattern over the
document's bytes, each child of the root a piece of it in layout order, made from the child's rule
(leaves, the wrapper and the opaque elements by the very pieces :func:`.compile.piece_of` makes for
checkpoints). Two shapes are added here, both from the rules: an element with attributes only (a
snapshot's ``<memory>``), and a list whose items hold children (a snapshot's ``<disks>``: each
``<disk>`` matched by a pattern generated from its rule, down to its driver's ``<max_size>``; a
``<source>`` only as an empty element, the usual shape, judged by the rule's ``source_rules``).
A disk's verdict and fields but its source repeat along a VM's snapshots while the source names a
new file each time: they are remembered by the disk's bytes with the source cut out, and only the
source is judged anew (:meth:`MomentReader._item_reader`); a whole list of disks, met again, is
remembered by its bytes with the sources' values cut out, and the next list of that VM is read by
comparing bytes and judging each value by its attribute's rule (:class:`_Template`). The
per-document reader is straight-line code generated from the pieces, as the checkpoint reader's is.

The values go through the same checks as in the general reader (the rules' ``check``,
``check_attributes``, ``child_excluded``, :func:`~...grammar.snapshot.source_attributes_problem`),
each nested domain through the same :class:`.domain.DomainReader` (with its memory: a VM's domain
recurs along its snapshots), and the same mode rules make the record (:func:`..modes.build_record`). Anything else
(another layout, a comment, a source with children, a value a rule refuses) returns ``None``: the
general reader then reads the document and words the error.
"""

from __future__ import annotations

import re
from typing import Any
from xml.parsers.expat import ExpatError, ParserCreate

from ...errors import CheckpointError
from ...grammar import Grammar
from ...grammar.checkpoint import CheckpointGrammar
from ...grammar.elements import ElementRule
from ...limits import Limits
from ...markup.indentation import base_indent, dedent
from ...grammar.snapshot import source_attribute_rule, source_attributes_problem
from ...records import Domain, renamed
from ..modes import Options, build_record
from .compile import DECL, ROOT_ATTR, WS, domain_column, piece_of, root_namespaces_reader
from .domain import DomainReader
from .memory import BLOCK_BYTES_MAX, ITEM_BYTES_MAX, Memory
from .regexgen import RUN
from .text import unescape, utf8_text, xml_text

__all__ = ["MomentReader"]

# An attribute as the fast reader takes it: an ASCII name, a single-quoted value without markup,
# control characters (TAB and LF would read as spaces) or references but the five predefined ones.
# Unrolled (runs of plain characters between references): a third of the time of an
# alternation tried character by character.
_VALUE_CHAR = rb"[^'<&\x00-\x1f]"
_RUN = RUN.encode()  # a single-class run (see regexgen.RUN)
_VALUE = _VALUE_CHAR + _RUN + rb"(?:&(?:amp|lt|gt|quot|apos);" + _VALUE_CHAR + _RUN + rb")*"
_ATTR = rb"[ \t\r\n]+[A-Za-z_:][-A-Za-z0-9._:]*[ \t\r\n]*=[ \t\r\n]*'" + _VALUE + rb"'"
_ATTRS = rb"((?:" + _ATTR + rb")*)[ \t\r\n]*"
_PAIR = re.compile(rb"([A-Za-z_:][-A-Za-z0-9._:]*)[ \t\r\n]*=[ \t\r\n]*'([^']*)'")
_ONE_PAIR = re.compile(rb"[ \t\r\n]+([A-Za-z_:][-A-Za-z0-9._:]*)[ \t\r\n]*=[ \t\r\n]*'([^']*)'[ \t\r\n]*")  # a run of one attribute
_VALUE_FULL = re.compile(_VALUE).fullmatch
_WS_RUN = re.compile(rb"[ \t\r\n]*")
_UNSEEN: Any = object()
_MEMO_ENTRIES = 4096


class _Template:
    """A list of items (a snapshot's ``<disks>``) as proven once, remembered by its bytes with
    its sources' values cut out (:meth:`MomentReader._item_reader`): ``items``, per item, its
    fields but the source's, and the source's field name (None: no source); ``values``, per
    source in order, ``(pre, post, name, rule)``: the source's text before and after its value,
    its one attribute's name and the rule that judges its value. A list with the same bytes
    outside those values, each value one the attribute pattern and its rule take, is one the
    list's pattern takes, with the same items."""

    __slots__ = ("items", "values")

    def __init__(self, items: tuple[tuple[dict[str, Any], str | None], ...], values: tuple[tuple[str, str, str, Any], ...]) -> None:
        self.items = items
        self.values = values


def _attributes(raw: bytes | None) -> dict[str, str] | None:
    """The attributes of a captured run (``_ATTRS``), decoded as expat reads them; None where a
    name repeats or a value is no UTF-8."""
    attrs: dict[str, str] = {}
    if not raw:
        return attrs
    for name, value in _PAIR.findall(raw):
        key = name.decode("ascii")
        text = utf8_text(value)
        if text is None or key in attrs:
            return None
        attrs[key] = unescape(text) if "&" in text else text
    return attrs


class _Element:
    """The pattern of one element below the root, generated from its rule, and how its groups
    become values. ``slots``: per capturing group, ``(what, rule key)`` with ``what`` one of
    ``open`` (the element is there), ``attrs``, ``text``, ``span``."""

    def __init__(self, document: CheckpointGrammar, tag: str, key: str) -> None:
        self.slots: list[tuple[str, str]] = []
        self.pattern = self._make(document, tag, key)

    def _make(self, document: CheckpointGrammar, tag: str, key: str) -> bytes:
        rule = document.rules[key]
        t = re.escape(tag.encode())
        if rule.opaque:
            if rule.judge != "source":
                raise _Unsupported(tag)
            self.slots += [("span", key), ("attrs", key)]
            return rb"(<" + t + _ATTRS + rb"/>)" + WS
        self.slots.append(("open", key))
        opened = rb"(<" + t + rb")"
        attrs = b""
        if rule.attributes:
            self.slots.append(("attrs", key))
            attrs = _ATTRS
        if rule.text is not None:
            self.slots.append(("text", key))
            return opened + attrs + rb"(?:/>|>([^<&]*(?:&(?:amp|lt|gt|quot|apos);[^<&]*)*)</" + t + rb">)" + WS
        inner = b"".join(rb"(?:" + self._make(document, ctag, ckey) + rb")?" for ctag, ckey in rule.children.items())
        return opened + attrs + rb"(?:/>|>" + WS + inner + rb"</" + t + rb">)" + WS


class _Unsupported(Exception):
    pass


class MomentReader:
    """The fast reader for one document grammar whose records :func:`..modes.build_record` makes
    from fields (a snapshot): ``parse_at`` returns a record, or None for the general reader."""

    def __init__(self, grammar: Grammar, document: CheckpointGrammar, domains: DomainReader, roots: tuple[str, ...]) -> None:
        self.document = document
        self.domains = domains
        self.memory = domains.memory  # its ``attributes``: list items judged (see _item_reader)
        self.source_rules: dict[tuple[str, bytes], Any] = {}  # see _source_attrs
        self.root = document.root
        # A root start tag inside an opaque element means a document cut short (the general
        # reader says so, or that it stands where any content may).
        self.restarts = tuple(b"<" + r.encode() for r in roots)
        view = Grammar(document, grammar.domain)
        root_rule = document.root_rule(True)
        self.pieces: list[tuple[str, str, ElementRule, Any]] = []  # (kind, tag, rule, extra)
        parts = []
        for tag in document.layout:
            key = root_rule.children.get(tag)
            if key is None:
                continue
            rule = document.rules[key]
            piece = piece_of(view, tag, key)
            if piece is not None and piece.kind in ("leaf", "wrapper", "opaque"):
                self.pieces.append((piece.kind, tag, piece.rule if piece.rule is not None else rule, None))
                parts.append(piece.pattern)
                continue
            t = re.escape(tag.encode())
            if rule.attributes and not rule.children and rule.text is None and not rule.opaque:
                self.pieces.append(("attrs", tag, rule, None))
                parts.append(rb"(?:<" + t + _ATTRS + rb"/>" + WS + rb")?")
                continue
            if rule.text is None and len(rule.children) == 1 and not rule.attributes:
                ((ctag, ckey),) = rule.children.items()
                item = document.rules[ckey]
                if ctag in rule.repeatable and item.item_at_end:
                    try:
                        element = _Element(document, ctag, ckey)
                    except _Unsupported:
                        pass
                    else:
                        block = rb"[^<]*(?:<(?!/" + t + rb">)[^<]*)*"
                        reader = self._item_reader(item, re.compile(element.pattern), element.slots)
                        self.pieces.append(("items", tag, item, reader))
                        parts.append(rb"(?:<" + t + rb"(?:/>|>(" + block + rb")</" + t + rb">)" + WS + rb")?")
                        continue
            self.pieces.append(("absent", tag, rule, None))  # documents holding it go the general way
            parts.append(rb"(?!<" + t + rb"[ \t\r\n/>])()")
        root = re.escape(self.root.encode())
        self.full = re.compile(DECL + rb"<" + root + rb"(?:" + ROOT_ATTR + rb")*[ \t\r\n]*>" + WS + b"".join(parts) + rb"</" + root + rb">", re.S)
        self.root_namespaces = root_namespaces_reader(self.root.encode(), document.root_rule(False), root_rule)
        self.root_length = len(self.root) + 1
        #: The paths of the elements judged as domains (not merely well formed): where a verdict
        #: of the general reader is looked up (:meth:`_kept`).
        self.domain_paths = tuple(f"/{self.root}/{tag}" for kind, tag, rule, _ in self.pieces if kind == "opaque" and rule.judge != "any")
        #: The root's start tag with nothing in it: a document beginning so declares nothing.
        self.bare_root = b"<" + self.root.encode() + b">"
        self.parse_at: Any = self._document_reader()

    def _document_reader(self) -> Any:
        """``parse_at(buf, start, end, options, limits, origin)``: the record of the document at
        ``buf[start:end]``, or None for the general reader. Straight-line code generated from the
        pieces (tomli style: no loop over pieces, locals bound once), each value checked by its
        rule as the general reader checks it: a leaf's text by its value rule, an element's
        attributes by ``check_attributes`` (then its field map), items by their generated reader
        (:meth:`_item_reader`), an opaque element by :meth:`_opaque`; then the mode rules
        (:func:`..modes.build_record`)."""
        ns: dict[str, Any] = {
            "FULL": self.full.fullmatch, "ROOT_NS": self.root_namespaces, "ROOT_LENGTH": self.root_length, "ROOT": self.root,
            "MEMORY": self.memory, "xml_text": xml_text, "attributes": _attributes, "opaque": self._opaque,
            "build_record": build_record, "CheckpointError": CheckpointError,
        }
        groups = [f"g{i}" for i in range(len(self.pieces))]
        src = [
            "def parse_at(buf, start, end, options, limits, origin):",
            "    if end - start > limits.max_text:",
            "        return None  # a conservative bound: no text of it can be longer",
            "    m = FULL(buf, start, end)",
            "    if m is None:",
            "        return None",
            "    ns = ()",
            "    if buf[start + 1] == 63 or buf[start + ROOT_LENGTH] != 62:  # '<?', or attributes on the root",
            "        found = ROOT_NS(buf, start, end, options)",
            "        if found is None:",
            "            return None",
            "        ns = found",
            f"    {', '.join(groups)}{',' if len(groups) == 1 else ''} = m.groups()",
            "    fields = {}",
            "    items = []",
        ]
        for i, (kind, tag, rule, extra) in enumerate(self.pieces):
            g = groups[i]
            ns[f"R{i}"] = rule
            if kind == "absent":
                continue
            src.append(f"    if {g} is not None:")
            if kind in ("leaf", "wrapper"):
                src += ["        value = xml_text(" + g + ")", "        if value is None:", "            return None"]
                if rule.text is not None:
                    ns[f"T{i}"] = rule.text.check
                    src += [f"        if T{i}(value) is not None:", "            return None"]
                src.append(f"        fields[{rule.field!r}] = value" if rule.field is not None else "        pass")
            elif kind == "attrs":
                src += [
                    f"        attrs = attributes({g})",
                    f"        if attrs is None or R{i}.check_attributes(attrs) is not None:",
                    "            return None",
                ]
                for k, f in enumerate(rule.fields):
                    ns[f"F{i}_{k}"] = f.value
                    src += [f"        if {f.attribute!r} in attrs:", f"            fields[{f.field!r}] = F{i}_{k}(attrs)"]
            elif kind == "items":
                ns[f"ITEMS{i}"] = extra
                src += [f"        if not ITEMS{i}({g}, items, limits, MEMORY):", "            return None"]
            else:  # opaque
                src += [
                    f"        value = opaque(buf, start, m.start({i + 1}), {g}, R{i}, options, limits, ns)",
                    "        if value is None:",
                    "            return None",
                    f"        fields[{(rule.field or tag)!r}] = value",
                ]
        src += [
            "    try:",
            "        return build_record(ROOT, fields, items, options, origin, None)",
            "    except CheckpointError:",
            "        return None  # a mode's rule: the general reader words it",
        ]
        source = "\n".join(src) + "\n"
        exec(compile(source, f"<checkpoint_stream fast {self.root} reader>", "exec"), ns)
        return ns["parse_at"]

    @staticmethod
    def _judge_attrs(element: ElementRule, raw: bytes, own: bool) -> tuple[dict[str, str], tuple[tuple[str, Any], ...], frozenset[str]] | None:
        """The attributes of ``raw`` on ``element`` when its rule accepts them, with the fields
        they fill (every field of the item's own element, those given of another) and, for the
        item's own element, the children its exclusions then forbid; else None."""
        attrs = _attributes(raw)
        if attrs is None or element.check_attributes(attrs) is not None:
            return None
        fields = tuple((f.field, f.value(attrs)) for f in element.fields if own or f.attribute in attrs)
        forbidden = frozenset(child for child in element.children if own and element.child_excluded(attrs, child))
        return (attrs, fields, forbidden)

    def _source_attrs(self, element: ElementRule, raw: bytes, kind: str) -> dict[str, str] | None:
        """The attributes of an empty ``<source .../>`` when the disk's ``kind`` of source takes
        them, else None. Not remembered: a snapshot's files are new ones, named after it. The
        usual source holds one attribute (``file``, ``dev``): its value is judged straight by
        the rule :func:`~...grammar.snapshot.source_attribute_rule` gives (remembered by type
        and name)."""
        one = _ONE_PAIR.fullmatch(raw)
        if one is not None and not one.group(1).startswith(b"xmlns"):
            name = one.group(1)
            rule = self._source_rule(element, kind, name)
            value = utf8_text(one.group(2))
            if rule is None or value is None:
                return None
            if "&" in value:
                value = unescape(value)
            return {name.decode("ascii"): value} if rule.check(value) is None else None
        attrs = _attributes(raw)
        if attrs is None or source_attributes_problem(attrs, kind, element) is not None:
            return None
        return attrs

    def _source_rule(self, element: ElementRule, kind: str, name: bytes) -> Any:
        """:func:`~...grammar.snapshot.source_attribute_rule`, remembered by type and name."""
        key = (kind, name)
        rule = self.source_rules.get(key, _UNSEEN)
        if rule is _UNSEEN:
            if len(self.source_rules) >= _MEMO_ENTRIES:  # names come from documents: bounded
                self.source_rules.clear()
            rule = self.source_rules[key] = source_attribute_rule(element, kind, name.decode("ascii"))
        return rule

    def _learn_template(
        self,
        key: tuple[Any, bytes],
        block: bytes,
        sources: list[tuple[Any, str]],
        items: list[dict[str, Any]],
        memory: Memory,
        field: str,
        element: ElementRule,
        pattern: "re.Pattern[bytes]",
    ) -> None:
        """Remember ``block``, a list just read whose items were all remembered (it recurs), as a
        :class:`_Template` under ``key``, when each of its sources holds one attribute whose value
        is where the key's cut found it (``sources``: their matches and the types of their
        disks, in order; ``items``: the list's items; ``field``: the source's; ``pattern``: what
        the key cuts out, a source's value in group 2)."""
        values = []
        cuts = [m.span(2) for m in pattern.finditer(block)]
        if len(cuts) != len(sources):
            return
        for (s, disk_type), cut in zip(sources, cuts):
            one = _ONE_PAIR.fullmatch(block, s.start(1), s.end(1))
            if one is None or one.span(2) != cut or one.group(1).startswith(b"xmlns"):
                return
            rule = self._source_rule(element, disk_type, one.group(1))
            pre, post = utf8_text(block[s.start() : cut[0]]), utf8_text(block[cut[1] : s.end()])
            if rule is None or pre is None or post is None:
                return
            values.append((pre, post, one.group(1).decode("ascii"), rule))
        shapes = tuple(
            ({k: v for k, v in item.items() if k != field and k != "sourceAttributes"}, field) if "sourceAttributes" in item else (dict(item), None)
            for item in items
        )
        memory.remember_block(key, _Template(shapes, tuple(values)), len(block))

    @staticmethod
    def _from_template(template: _Template, values: list[bytes], items: list[dict[str, Any]], limits: Limits) -> bool:
        """Append the items of the list ``template`` was found for, its sources' values being
        ``values``; False, appending nothing, when a value is not one the attribute pattern and
        the value's rule take."""
        if len(items) + len(template.items) > limits.max_disks or len(values) != len(template.values):
            return False  # (as many values: the key's NULs are all separators, its parts the template's)
        read = []
        value_ok = _VALUE_FULL
        for (pre, post, name, rule), raw in zip(template.values, values):
            if value_ok(raw) is None:
                return False
            text = utf8_text(raw)
            if text is None:
                return False
            value = unescape(text) if "&" in text else text
            if rule.check(value) is not None:
                return False
            read.append((pre + text + post, {name: value}))
        given = iter(read)
        for fields, field in template.items:
            item = fields.copy()
            if field is not None:
                item[field], item["sourceAttributes"] = next(given)
            items.append(item)
        return True

    def _item_reader(self, rule: ElementRule, item_pattern: "re.Pattern[bytes]", slots: list[tuple[str, str]]) -> Any:
        """The list reader for items of ``rule``: straight-line code generated from the slots of
        its pattern (tomli style: no loop over slots, locals bound once), each slot checked by
        its rule as the general reader checks it. ``read(block, items, limits, memory)`` appends
        each item's fields to ``items``; False: not for this reader.

        An item's verdict and fields but its empty ``<source .../>`` depend on its bytes alone,
        and they repeat along a VM's snapshots (the same names, modes, formats) where the source
        names a new file each time: so they are remembered in ``memory.attributes`` by the
        item's bytes with the source cut out (:meth:`_item_fields`, bounded), and the source is
        judged on its own. A whole list whose items were all remembered is learnt as a
        :class:`_Template` (its bytes around the sources' values, in ``memory.blocks``): the
        next list of that VM is then read by comparing bytes and judging each value."""
        rules = self.document.rules
        span = next((i for i, (what, _key) in enumerate(slots) if what == "span"), None)
        ns: dict[str, Any] = {
            "MATCH": item_pattern.match, "WS": _WS_RUN.match, "fields_of": self._item_fields(rule, slots),
            "source_attrs": self._source_attrs, "utf8_text": utf8_text, "KEY": rule.tag, "MEMO_ENTRIES": _MEMO_ENTRIES,
            "ITEM_BYTES": ITEM_BYTES_MAX, "BLOCK_BYTES": BLOCK_BYTES_MAX,
        }
        remember = [
            "            found = fields_of(m)",
            "            if len(memo) >= MEMO_ENTRIES:",
            "                memo.clear()",
            "            if {size} <= ITEM_BYTES:  # a long item is judged anew each time: the memory stays small",
            "                memo[key] = found",
            "        if found is False:",
            "            return False",
            "        if len(items) >= limits.max_disks:",
            "            return False",
            "        item = found[0].copy()",
        ]
        if span is None:
            src = [
                "def read(block, items, limits, memory):",
                "    memo = memory.attributes",
                "    pos = WS(block).end()",
                "    n = len(block)",
                "    while pos < n:",
                "        m = MATCH(block, pos)",
                "        if m is None:",
                "            return False",
                "        key = (KEY, block[pos:m.end()])",
                "        pos = m.end()",
                "        found = memo.get(key)",
                "        if found is None:",
                *[line.format(size="len(key[1])") for line in remember],
            ]
        else:
            # The item is cut without its pattern: its start tag ends at the first '>' (self-closed
            # when '/' precedes it), else it ends at the first end tag, and its source is the
            # first '<source' inside, matched alone. Remembered cuts were proven by the pattern
            # (a new item is matched, and must be cut at the same places), and bytes equal to a
            # proven item's around a source its pattern takes make an item the pattern takes.
            source = slots[span][1]
            assert slots[span + 1] == ("attrs", source)
            element = rules[source]
            tag, stag = rule.tag.encode(), element.tag.encode()
            # A source's one attribute, up to its value (group 1), and the value (group 2): what a
            # list's key cuts out. Only a value the attribute pattern takes is read from it.
            values = re.compile(rb"(<" + re.escape(stag) + rb"[ \t\r\n]+[A-Za-z_:][-A-Za-z0-9._:]*[ \t\r\n]*=[ \t\r\n]*')([^']*)(?=')")
            ns.update(
                S=element, SOURCE=re.compile(rb"<" + re.escape(stag) + _ATTRS + rb"/>").match,
                OPEN_SOURCE=b"<" + stag, CLOSE=b"</" + tag + b">", CLOSE_LENGTH=len(tag) + 3,
                BLOCK=(rule.tag, "block"), from_template=self._from_template, learn=self._learn_template,
                VALUES=values, SPLIT=values.split, NUL=b"\0",  # in no XML document
            )
            g = span + 1  # the source's group in the item's pattern
            src = [
                "def read(block, items, limits, memory):",
                "    # A list learnt before (_Template): found by its bytes with its sources' values cut out.",
                "    parts = SPLIT(block)",
                "    values = parts[2::3]",
                "    del parts[2::3]",
                "    block_key = (BLOCK, NUL.join(parts))",
                "    template = memory.blocks.get(block_key)",
                "    if template is not None and from_template(template, values, items, limits):",
                "        return True",
                "    memo = memory.attributes",
                "    count = len(items)",
                "    remembered = True  # every item of the list found in memo: the list is learnt",
                "    sources = []",
                "    pos = WS(block).end()",
                "    n = len(block)",
                "    while pos < n:",
                "        gt = block.find(b'>', pos)",
                "        if gt < 0:",
                "            return False",
                "        if block[gt - 1] == 47:  # '/>'",
                "            end = gt + 1",
                "            cut = -1",
                "        else:",
                "            close = block.find(CLOSE, gt)",
                "            if close < 0:",
                "                return False",
                "            end = close + CLOSE_LENGTH",
                "            cut = block.find(OPEN_SOURCE, gt, close)",
                "        after = WS(block, end).end()",
                "        if cut < 0:",
                "            key = (KEY, block[pos:after])",
                "        else:",
                "            s = SOURCE(block, cut)",
                "            if s is None:",
                "                return False",
                "            key = (KEY, block[pos:cut], block[s.end():after])",
                "        found = memo.get(key)",
                "        if found is None:",
                "            remembered = False",
                "            m = MATCH(block, pos)",
                f"            if m is None or m.end() != after or m.start({g}) != cut or (cut >= 0 and m.end({g}) != s.end()):",
                "                return False",
                *[line.format(size="after - pos") for line in remember],
                "        pos = after",
                "        if cut >= 0:",
                f"            if {element.tag!r} in found[2]:",
                "                return False",
                "            text = utf8_text(s.group())",
                "            if text is None:",
                "                return False",
                "            attrs = source_attrs(S, s.group(1), found[1])",
                "            if attrs is None:",
                "                return False",
                f"            item[{(element.field or element.tag)!r}] = text",
                "            item['sourceAttributes'] = attrs",
                "            sources.append((s, found[1]))",
                "        items.append(item)",
                "    if remembered and len(block) <= BLOCK_BYTES:",
                f"        learn(block_key, block, sources, items[count:], memory, {(element.field or element.tag)!r}, S, VALUES)",
                "    return True",
            ]
        if span is None:
            src += ["        items.append(item)", "    return True"]
        source_code = "\n".join(src) + "\n"
        exec(compile(source_code, f"<checkpoint_stream fast {rule.tag} reader>", "exec"), ns)
        return ns["read"]

    def _item_fields(self, rule: ElementRule, slots: list[tuple[str, str]]) -> Any:
        """``fields_of(m)`` for a match of an item's pattern: ``(fields, source kind, forbidden
        children)`` from everything but its ``<source .../>`` (which :meth:`_item_reader` judges
        apart), or False when a rule refuses it: generated straight-line code, each slot checked
        as the general reader checks it."""
        rules = self.document.rules
        ns: dict[str, Any] = {"judge": self._judge_attrs, "xml_text": xml_text, "NOTHING": frozenset()}
        groups = [f"g{i}" for i in range(len(slots))]
        src = [
            "def fields_of(m):",
            f"    {', '.join(groups)}{',' if len(groups) == 1 else ''} = m.groups()",
            "    item = {}",
            "    kind = 'file'",
            "    forbidden = NOTHING",
        ]
        for i, (what, key) in enumerate(slots):
            element = rules[key]
            g = groups[i]
            ns[f"E{i}"] = element
            # The item's attributes forbid this child (rule.child_excluded, worked out once per
            # attribute run by _judge_attrs)?
            guard = f"{element.tag!r} in forbidden" if any(element.tag in ex.forbidden_children for ex in rule.exclusions) else ""
            if what == "open":
                if element is rule:
                    continue
                src.append(f"    if {g} is not None:")
                if guard:
                    src += [f"        if {guard}:", "            return False"]
                if element.text is not None and element.field is not None:
                    src.append(f"        item.setdefault({element.field!r}, '')")
                else:
                    src.append("        pass")
            elif what == "attrs" and element.opaque:  # the source's: judged by _item_reader
                continue
            elif what == "attrs":
                src += [
                    f"    if {g} is not None:",
                    f"        found = judge(E{i}, {g}, {element is rule})",
                    "        if found is None:",
                    "            return False",
                ]
                if element is rule:
                    src += ["        kind = found[0].get('type') or 'file'", "        forbidden = found[2]"]
                src.append("        item.update(found[1])")
            elif what == "text":
                ns[f"R{i}"] = element.text
                src += [
                    f"    if {g} is not None:",
                    f"        text = xml_text({g})",
                    f"        if text is None or R{i}.check(text) is not None:",
                    "            return False",
                ]
                if element.field is not None:
                    src.append(f"        item[{element.field!r}] = text")
            # a span (an empty <source .../>): judged by _item_reader
        src += ["    if 'name' not in item:", "        return False", "    return (item, kind, forbidden)"]
        source_code = "\n".join(src) + "\n"
        exec(compile(source_code, f"<checkpoint_stream fast {rule.tag} fields>", "exec"), ns)
        return ns["fields_of"]

    def _opaque(
        self, buf: Any, start: int, begin: int, raw: bytes, rule: ElementRule, options: Options, limits: Limits, ns: tuple[tuple[str, str], ...]
    ) -> Any:
        """An opaque element's value, judged as the general reader judges it; None to decline."""
        # The column it starts at: the same measure as the keys of the domains the general reader
        # judged (compile.domain_column), which _kept looks up.
        column = domain_column(buf, start, begin)
        if any(r in raw for r in self.restarts):
            return self._kept(buf, start, raw, column, rule, options, limits)
        judge = rule.judge
        if judge == "any":  # well formed is all it must be
            parser = ParserCreate("UTF-8")
            try:
                parser.Parse(raw, True)
            except ExpatError:
                return None
            text = utf8_text(raw)
            return None if text is None else dedent(text, base_indent(text, column))
        tag = rule.tag.encode()
        span = raw if tag == b"domain" else b"<domain" + raw[len(tag) + 1 : -len(tag) - 3] + b"</domain>"
        domain = self.domains.read(span, column, options.redefine, limits.max_attributes, ns)
        if domain is None:
            return self._kept(buf, start, raw, column, rule, options, limits)
        if tag == b"domain":
            return domain
        source, held = domain._source, domain._text
        if source is not None:
            return Domain._from_span(raw, source[1])
        if held is not None:  # kept as written, for the schemas (records.as_written)
            text = held[0] if isinstance(held[0], str) else held[0].decode("utf-8")
            return Domain._from_text(renamed(text, "domain", rule.tag), held[1], held[2])
        return Domain(renamed(domain.xml, "domain", rule.tag))

    def _kept(self, buf: Any, start: int, raw: bytes, column: int, rule: ElementRule, options: Options, limits: Limits) -> Any:
        """The general reader's verdict on these bytes at this place, when it judged them before
        in a document with a bare root start tag (:meth:`.reader.FastReader.remember_read`, which
        says what the key holds); None to decline."""
        if rule.judge == "any" or buf[start : start + len(self.bare_root)] != self.bare_root:
            return None
        return self.memory.domains.get((raw, column, options.redefine, limits, f"/{self.root}/{rule.tag}"))
