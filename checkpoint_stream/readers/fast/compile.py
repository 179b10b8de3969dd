"""The fast reader's document pattern and per-document function, generated from the grammar.

Walking the checkpoint grammar in libvirt's layout order, each child of the root becomes a piece
of one pattern over the document's bytes, by the shape of its rule:

* a **leaf** (text, no attributes): ``<tag>VALUE</tag>``, VALUE made from the leaf's value rule
  (:func:`.regexgen.value_fragment`, ASCII only) or, where the rule cannot be carried into a
  pattern, a loose capture that the generated code decodes and hands to the rule itself;
* a **wrapper** (one required child, a leaf): ``<tag><child>VALUE</child></tag>``;
* a **list** (one repeatable child with attributes only): ``<tag>...</tag>``, its content read by
  :class:`.disks.DiskReader`;
* the **opaque** element (the nested domain): its span, judged by :class:`.domain.DomainReader`.

A child of another shape is left out of the pattern: documents holding it go to the general
reader. Every piece is optional, separated by XML whitespace, in layout order; an XML
declaration may come first. The per-document function is generated as straight-line code (one
block per piece: decode, the residual check the pattern cannot make, such as a numeric maximum,
the record's field), then the mode rules (:func:`..modes.build_checkpoint`) build the record.
``Plan.source`` holds the generated code, for reading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from ...errors import CheckpointError
from ...grammar import Grammar
from ...grammar.elements import ElementRule
from ...grammar.values import ValueRule
from ..modes import build_checkpoint
from .regexgen import RUN, value_fragment
from .text import unescape, utf8_text, xml_text

__all__ = ["Plan", "make_plan", "SPLIT_AT", "DECL", "ROOT_ATTR", "WS", "piece_of", "root_namespaces_reader"]

_RUN = RUN.encode()  # a single-class run (see regexgen.RUN)
_WS = rb"[ \t\r\n]" + _RUN


def _q(body: bytes) -> bytes:
    """Either quote, as an XML declaration allows."""
    return b"(?:'" + body + b"'|\"" + body + b"\")"


_DECL = (
    rb"(?:<\?xml[ \t\r\n]+version=" + _q(rb"1\.0")
    + rb"(?:[ \t\r\n]+encoding=" + _q(rb"(?i:utf-?8)") + rb")?"
    + rb"(?:[ \t\r\n]+standalone=" + _q(rb"(?:yes|no)") + rb")?" + _WS + rb"\?>" + _WS + rb")?"
)
#: What a leaf's text may hold raw for the fast reader (ASCII; values the rule judges).
TEXT_EXCLUDED = "<>&\r" + "".join(chr(c) for c in range(0x20) if c not in (0x09, 0x0A))
# The root's attributes (ElementTree declares a domain's namespaces there): ASCII XML names, values
# in either quote with no reference, markup or character expat would refuse or rewrite but TAB and
# LF (which read as spaces). What they may be is the root rule's to say (check_attributes).
_ROOT_VALUE = rb"[^'\"<&\r\x00-\x08\x0b\x0c\x0e-\x1f]"
_ROOT_ATTR = rb"[ \t\r\n]+[A-Za-z_:][-A-Za-z0-9._:]*[ \t\r\n]*=[ \t\r\n]*(?:'(?:" + _ROOT_VALUE + rb"|\")*'|\"(?:" + _ROOT_VALUE + rb"|')*\")"
_ROOT_PAIR = re.compile(rb"([A-Za-z_:][-A-Za-z0-9._:]*)[ \t\r\n]*=[ \t\r\n]*('[^']*'|\"[^\"]*\")")
_NO_NAMESPACES: tuple[tuple[str, str], ...] = ()
# Loose captures: character data with no markup, no CR (line ends would be rewritten) and no
# control character; with references to the five predefined entities where the rule reads any text.
_TEXT_CHAR = rb"[^<&\r\x00-\x08\x0b\x0c\x0e-\x1f]"
_LOOSE_TEXT = _TEXT_CHAR + _RUN + rb"(?:&(?:amp|lt|gt|quot|apos);" + _TEXT_CHAR + _RUN + rb")*"
_LOOSE_PLAIN = _TEXT_CHAR + _RUN
_MISSING: Any = object()
#: A domain-memory key holding a domain the general reader judged
#: (:meth:`.reader.FastReader.remember_read`) is ``(bytes, column, redefine, limits, path)``: where
#: the other keys hold ``max_attributes`` (an int) it holds the whole :class:`~...limits.Limits`,
#: and last the element's path in its document (``/domaincheckpoint/domain``, a str), which names
#: the rule that judged it. Never equal to another key.
#: Documents at least this large are matched in two parts around their list (found by bytes.find).
SPLIT_AT = 64 * 1024
#: The column a domain starting at ``buf[begin]`` stands at, in the document starting at
#: ``buf[start]``: only spaces before it on its line, else 0. Part of a domain-memory key, so one
#: text: inlined into the plan (:func:`_generate`), and :func:`domain_column` for the others that
#: keep domains under the plan's keys (:meth:`.reader.FastReader.remember_read`).
_COLUMN = (
    "line_start = buf.rfind(b'\\n', start, begin) + 1",
    "if line_start == 0:",
    "    line_start = start",
    "column = begin - line_start if buf[line_start:begin].strip(b' ') == b'' else 0",
)
_COLUMN_NS: dict[str, Any] = {}
exec(compile("def domain_column(buf, start, begin):\n" + "".join(f"    {line}\n" for line in _COLUMN) + "    return column\n", "<checkpoint_stream domain column>", "exec"), _COLUMN_NS)
domain_column: Callable[[Any, int, int], int] = _COLUMN_NS["domain_column"]

#: Parameters of build_checkpoint filled from a record field, by the field's name.
_PARAMETER = {"name": "name", "description": "description", "parent": "parent", "creationTime": "created", "domain": "domain", "active": "active"}


@dataclass
class _Piece:
    tag: str
    kind: str  # leaf | wrapper | list | opaque
    pattern: bytes  # with one capturing group
    field: str | None = None
    rule: ElementRule | None = None  # the leaf's rule
    embedded: bool = False  # the value rule is in the pattern (else: loose capture, rule called)
    digits: bool = False  # the embedded piece matches only ASCII digits
    modes: tuple[bool, bool] = (True, True)  # allowed (without, with) internal=True


@dataclass
class Plan:
    """Everything generated for one grammar."""

    full: "re.Pattern[bytes]"
    head: "re.Pattern[bytes]"
    tail: "re.Pattern[bytes]"
    list_tag: bytes | None
    pieces: list[_Piece]
    source: str = ""
    function: Callable[..., Any] | None = field(default=None, repr=False)
    root: bytes = b""
    #: The root's element rule without and with the internal format's elements.
    root_rules: tuple[ElementRule, ElementRule] | None = field(default=None, repr=False)
    #: The path of the opaque element (the domain) the plan reads, as the general reader names it.
    domain_path: str | None = None


def _shape(grammar: Grammar, tag: str, key: str) -> _Piece | None:
    rules = grammar.checkpoint.rules
    rule = rules[key]
    t = re.escape(tag.encode())
    if rule.opaque:
        return _Piece(tag, "opaque", rb"(?:(<" + t + rb"[ \t\r\n>].*</" + t + rb">)" + _WS + rb")?", field=rule.field)
    if rule.attributes or rule.required_attributes:
        return None
    if rule.text is not None and not rule.children:
        value, embedded = _value(rule)
        piece = _Piece(tag, "leaf", rb"(?:<" + t + rb">(" + value + rb")</" + t + rb">" + _WS + rb")?", rule.field, rule, embedded)
        piece.digits = embedded and _digits_only(rule)
        return piece
    if rule.text is None and len(rule.children) == 1:
        (ctag, ckey), = rule.children.items()
        child = rules[ckey]
        c = re.escape(ctag.encode())
        if ctag not in rule.repeatable and rule.min_children.get(ctag) == 1 and child.text is not None and not child.children and not child.attributes and not child.required_attributes:
            value, embedded = _value(child)
            pattern = rb"(?:<" + t + rb">" + _WS + rb"<" + c + rb">(" + value + rb")</" + c + rb">" + _WS + rb"</" + t + rb">" + _WS + rb")?"
            piece = _Piece(tag, "wrapper", pattern, child.field, child, embedded)
            piece.digits = embedded and _digits_only(child)
            return piece
        if ctag in rule.repeatable and child.text is None and not child.children and child.attributes:
            block = rb"[^<]" + _RUN + rb"(?:<(?!/" + t + rb">)[^<]" + _RUN + rb")*"
            return _Piece(tag, "list", rb"(?:<" + t + rb">(" + block + rb")</" + t + rb">" + _WS + rb")?", rule=child)
    return None


def _value(rule: ElementRule) -> tuple[bytes, bool]:
    vrule = rule.text
    assert vrule is not None
    frag = value_fragment(vrule, TEXT_EXCLUDED, ascii_only=True)
    if frag is not None:
        return frag.encode("ascii"), True
    return _loose(vrule)


def _loose(vrule: ValueRule) -> tuple[bytes, bool]:
    if vrule.pattern is None and not vrule.choices:
        return _LOOSE_TEXT, False
    return _LOOSE_PLAIN, False


def _digits_only(rule: ElementRule) -> bool:
    """Whether the leaf's piece can match only strings of ASCII digits: the same rewrite, with
    every character but the digits excluded, gives a piece matching exactly the same strings."""
    assert rule.text is not None
    frag = value_fragment(rule.text, TEXT_EXCLUDED, ascii_only=True)
    only = value_fragment(rule.text, TEXT_EXCLUDED + "".join(chr(c) for c in range(128) if not chr(c).isdigit()), ascii_only=True)
    return frag is not None and frag == only


def make_plan(grammar: Grammar, read_disks: Callable[..., Any] | None, domains: Any) -> Plan:
    """Build the patterns and generate the per-document function for ``grammar``."""
    cg = grammar.checkpoint
    plain, internal = cg.root_rule(False), cg.root_rule(True)
    pieces: list[_Piece] = []
    lists = 0
    for tag in cg.layout:
        modes = (tag in plain.children, tag in internal.children)
        if not any(modes):
            continue
        piece = _shape(grammar, tag, (internal if modes[1] else plain).children[tag])
        if piece is None:
            continue
        if piece.kind == "list":
            lists += 1
            if lists > 1 or read_disks is None:
                continue
        if piece.kind in ("leaf", "wrapper") and piece.field not in _PARAMETER:
            continue  # a field the mode rules do not know: such documents go the general way
        piece.modes = modes
        pieces.append(piece)
    root = re.escape(cg.root.encode())
    start = _DECL + rb"<" + root + rb"(?:" + _ROOT_ATTR + rb")*[ \t\r\n]*>" + _WS
    end = rb"</" + root + rb">"
    full = re.compile(start + b"".join(p.pattern for p in pieces) + end, re.S)
    at = next((i for i, p in enumerate(pieces) if p.kind == "list"), len(pieces))
    list_tag = re.escape(pieces[at].tag.encode()) if at < len(pieces) else None
    head = re.compile(start + b"".join(p.pattern for p in pieces[:at]) + (rb"(<" + list_tag + rb">)?" if list_tag else b""), re.S)
    tail = re.compile(_WS + b"".join(p.pattern for p in pieces[at + 1 :]) + end, re.S)
    plan = Plan(full, head, tail, pieces[at].tag.encode() if list_tag else None, pieces)
    plan.root = cg.root.encode()
    plan.root_rules = (plain, internal)
    plan.domain_path = next((f"/{cg.root}/{p.tag}" for p in pieces if p.kind == "opaque"), None)
    _generate(plan, read_disks, domains)
    return plan


def _generate(plan: Plan, read_disks: Callable[..., Any] | None, domains: Any) -> None:
    pieces = plan.pieces
    n = len(pieces)
    groups = [f"g{k}" for k in range(n)]
    list_group = next((k for k, p in enumerate(pieces) if p.kind == "list"), None)
    ns: dict[str, Any] = {
        "FULL": plan.full.fullmatch,
        "build": build_checkpoint,
        "CheckpointError": CheckpointError,
        "xml_text": xml_text,
        "unescape": unescape,
        "utf8_text": utf8_text,
        "read_disks": read_disks,
        "memory": domains.memory,
        "new_domain": domains.new_domain,
        "unread": domains.unread,
        "UNREAD": "unread",  # in a key where the others hold redefine (a bool): never equal
        "DOMAIN_PATH": plan.domain_path,
        "MISSING": _MISSING,
        "split_match": _splitter(plan),
        "SPLIT_AT": SPLIT_AT,
        "ROOT_LENGTH": len(plan.root) + 1,
        "root_namespaces": _root_namespaces(plan),
        "NO_NAMESPACES": _NO_NAMESPACES,
    }
    src = ["def parse_at(buf, start, end, options, limits, origin):"]
    src.append("    if end - start < SPLIT_AT:")
    src.append("        m = FULL(buf, start, end)")
    src.append("        if m is None:")
    src.append("            return None")
    src.append(f"        {', '.join(groups)}{',' if n == 1 else ''} = m.groups()")
    src.append("    else:")
    src.append("        m = None")
    src.append("        found = split_match(buf, start, end)")
    src.append("        if found is None:")
    src.append("            return None")
    src.append(f"        ({', '.join(groups)}{',' if n == 1 else ''}), span_at = found")
    # Byte lengths bound character lengths from above: a conservative max_text test (the list's
    # own text nodes and values are measured by its reader).
    block = f"(len({groups[list_group]}) if {groups[list_group]} is not None else 0)" if list_group is not None else "0"
    src.append(f"    if end - start > limits.max_text and end - start - {block} > limits.max_text:")
    src.append("        return None")
    # The root's attributes: namespace declarations a domain's extension elements may use.
    # The pattern matched, so the document begins with '<?xml' or with the root's start tag.
    src.append("    ns = NO_NAMESPACES")
    src.append("    if buf[start + 1] == 63 or buf[start + ROOT_LENGTH] != 62:  # '<?', or no '>' right after the root's name")
    src.append("        ns = root_namespaces(buf, start, end, options)")
    src.append("        if ns is None:")
    src.append("            return None")
    values: dict[str, str] = {}
    for k, p in enumerate(pieces):
        g = groups[k]
        v = f"v{k}"
        if p.modes != (True, True):
            wanted = "options.internal" if p.modes[1] else "not options.internal"
            src.append(f"    if {g} is not None and not ({wanted}):")
            src.append("        return None")
        if p.kind in ("leaf", "wrapper"):
            rule = p.rule
            assert rule is not None and rule.text is not None
            ns[f"R{k}"] = rule.text
            src.append(f"    if {g} is None:")
            src.append(f"        {v} = None")
            src.append("    else:")
            vrule = rule.text
            if p.embedded and p.digits and rule.kind == "integer":  # digits: read as a number directly
                if vrule.maximum is not None:  # what the pattern cannot say: compared as digits
                    limit = str(vrule.maximum).encode()
                    src.append(f"        if len({g}) >= {len(limit)} and (len({g}) > {len(limit)} or {g} > {limit!r}):")
                    src.append("            return None")
                src.append(f"        {v} = int({g})")
            elif p.embedded:
                src.append(f"        {v} = {g}.decode('ascii')")
                if vrule.maximum is not None:  # what the pattern cannot say: compared as digits
                    top = str(vrule.maximum)
                    digits = "" if p.digits else f"not {v}.isdigit() or "
                    src.append(f"        if {digits}len({v}) >= {len(top)} and (len({v}) > {len(top)} or {v} > {top!r}):")
                    src.append("            return None")
            else:
                # ASCII without ']]>' needs no more than decoding; anything else what expat checks
                src.append(f"        if {g}.isascii() and b']]>' not in {g}:")
                src.append(f"            {v} = {g}.decode('ascii')")
                src.append(f"            if '&' in {v}:")
                src.append(f"                {v} = unescape({v})")
                src.append("        else:")
                src.append(f"            {v} = xml_text({g})")
                src.append(f"            if {v} is None:")
                src.append("                return None")
                if not (vrule.pattern is None and not vrule.choices and vrule.maximum is None):
                    src.append(f"        if R{k}.check({v}) is not None:")
                    src.append("            return None")
            if rule.kind == "integer" and not (p.embedded and p.digits):
                src.append(f"        {v} = int({v})")
            values[_PARAMETER[p.field or ""]] = v
        elif p.kind == "list":
            src.append(f"    if {g} is None:")
            src.append(f"        {v} = ()")
            src.append("    else:")
            src.append(f"        {v} = read_disks({g}, limits)")
            src.append(f"        if {v} is None:")
            src.append("            return None")
            values["disks"] = v
        elif p.kind == "opaque":
            src.append(f"    if {g} is None:")
            src.append(f"        {v} = None")
            src.append("    else:")
            # Where the domain starts, and the column it stands at (only spaces before it on its
            # line). The verdict on a domain is a function of its bytes and where it stands: a
            # domain seen before (a VM's chain repeats its domain) is not read again.
            src.append(f"        begin = span_at if m is None else m.start({k + 1})")
            src.extend("        " + line for line in _COLUMN)
            src.append(f"        {v} = None")
            src.append("        if options.schemas_judge_domain:  # left unread for the schemas (DomainReader.unread)")
            src.append(f"            key = ({g}, column, UNREAD, limits.max_attributes, limits.max_depth)")
            src.append(f"            {v} = memory.domains.get(key, MISSING)")
            src.append(f"            if {v} is MISSING:")
            src.append(f"                {v} = unread({g}, column, limits.max_attributes, limits.max_depth)")
            src.append(f"                memory.remember_domain(key, {v})")
            src.append(f"        if {v} is None:")
            src.append(f"            key = ({g}, column, options.redefine, limits.max_attributes, ns)")
            src.append(f"            {v} = memory.domains.get(key, MISSING)")
            src.append(f"            if {v} is MISSING:")
            src.append(f"                {v} = new_domain({g}, column, options.redefine, limits.max_attributes, ns)")
            src.append(f"                memory.remember_domain(key, {v})")
            # Declined: the same bytes the general reader judged before (FastReader.remember_read).
            src.append(f"        if {v} is None and ns is NO_NAMESPACES:")
            src.append(f"            {v} = memory.domains.get(({g}, column, options.redefine, limits, DOMAIN_PATH))")
            src.append(f"        if {v} is None:")
            src.append("            return None")
            values["domain"] = v
    args = ", ".join(values.get(name, "None" if name != "disks" else "()") for name in ("name", "description", "parent", "created", "domain", "active", "disks"))
    src.append("    try:")
    src.append(f"        return build({args}, options, origin)")
    src.append("    except CheckpointError:")
    src.append("        return None  # a mode's rule: the general reader words it")
    plan.source = "\n".join(src) + "\n"
    exec(compile(plan.source, "<checkpoint_stream fast document reader>", "exec"), ns)
    plan.function = ns["parse_at"]


def _root_namespaces(plan: Plan) -> Callable[..., Any]:
    assert plan.root_rules is not None
    return root_namespaces_reader(plan.root, *plan.root_rules)


def root_namespaces_reader(root: bytes, plain: ElementRule, internal: ElementRule) -> Callable[..., Any]:
    """For a document whose root has attributes: the namespace declarations among them, as
    ``((prefix, uri), ...)``, when the root's rule accepts them all; None otherwise (the general
    reader words what is wrong). The document pattern has matched, so the root's start tag is the
    first after ``start`` and its attributes have the form ``_ROOT_ATTR`` says."""
    opener = b"<" + root
    tag = re.compile(re.escape(opener) + rb"((?:" + _ROOT_ATTR + rb")*)[ \t\r\n]*>")

    def root_namespaces(buf: Any, start: int, end: int, options: Any) -> tuple[tuple[str, str], ...] | None:
        m = tag.match(buf, buf.find(opener, start, end), end)
        if m is None:
            return None
        raw = m.group(1)
        if not raw:
            return _NO_NAMESPACES  # an XML declaration before a bare root
        attrs: dict[str, str] = {}
        for name, quoted in _ROOT_PAIR.findall(raw):
            value = utf8_text(quoted[1:-1])
            key = name.decode("ascii")
            if value is None or key in attrs:
                return None
            attrs[key] = value.replace("\t", " ").replace("\n", " ")  # attribute-value normalisation
        if (internal if options.internal else plain).check_attributes(attrs) is not None:
            return None
        return tuple(sorted((name[6:], value) for name, value in attrs.items() if name.startswith("xmlns:")))

    return root_namespaces


def _splitter(plan: Plan) -> Callable[..., Any]:
    """For large documents: the head matched up to the list's start tag, the list's end found by
    bytes.find (no regex steps over its thousands of lines), then the tail. The same language as
    the full pattern: the list's content is what lies before its first end tag."""
    head, tail, tag = plan.head.match, plan.tail.fullmatch, plan.list_tag
    pieces = plan.pieces
    at = next((i for i, p in enumerate(pieces) if p.kind == "list"), len(pieces))
    span_in_tail = next((k - at for k, p in enumerate(pieces) if p.kind == "opaque" and k > at), None)
    span_in_head = next((k + 1 for k, p in enumerate(pieces) if p.kind == "opaque" and k < at), None)
    close = b"</" + tag + b">" if tag is not None else b""

    def split_match(buf: Any, start: int, end: int) -> tuple[tuple[Any, ...], int] | None:
        m = head(buf, start, end)
        if m is None:
            return None
        groups = m.groups()
        block = None
        after = m.end()
        if tag is not None:
            groups, opened = groups[:-1], groups[-1]
            if opened is not None:
                stop = buf.find(close, after, end)
                if stop < 0:
                    return None
                block = bytes(buf[after:stop])
                after = stop + len(close)
            groups = groups + (block,)
        t = tail(buf, after, end)
        if t is None:
            return None
        span_at = -1
        if span_in_tail is not None:
            span_at = t.start(span_in_tail)
        elif span_in_head is not None:
            span_at = m.start(span_in_head)
        return groups + t.groups(), span_at

    return split_match


#: For the other document grammars' reader (:mod:`.moments`): the same pieces and fragments.
piece_of = _shape
DECL, ROOT_ATTR, WS = _DECL, _ROOT_ATTR, _WS
