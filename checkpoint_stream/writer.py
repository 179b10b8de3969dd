"""Write checkpoint records as libvirt writes them, byte for byte (spec A.8).

libvirt's formatter (``virDomainCheckpointDefFormat``) prints a fixed layout whatever the input
order was::

    <domaincheckpoint>
      <name>ESC(name)</name>                         when the name is set
      <description>ESC(description)</description>    when the description is non-empty
      <parent>
        <name>ESC(parent)</name>
      </parent>                                      when a parent is set
      <creationTime>N</creationTime>                 when set and not 0
      <disks>
        <disk name='..' checkpoint='..'[ bitmap='..'[ size='N']]/>
      </disks>                                       when there are disks
      <domain ...>...</domain>                       unless no_domain (re-indented by 2 spaces)
      <active>0|1</active>                           only with internal=True
    </domaincheckpoint>

That layout is the grammar's (:mod:`.grammar.checkpoint`: element order, attribute order, when
each is printed); a :class:`Writer` generates its formatting code from it, so a rule changed there
(an attribute added, say) is printed with no change here.

Escaping (libvirt's ``virBufferEscapeString``) is the same for text and attribute values:
``& < > " '`` become entities; TAB, LF and CR are copied raw (even inside attributes, so such
output does not round-trip); U+0001-U+0008, U+000B, U+000C and U+000E-U+0019 are dropped; every
other character is copied raw. U+0000 cannot reach libvirt's C strings; it is dropped here too.

``secure=False`` (the default, as in libvirt) hides what libvirt's domain formatter hides without
``VIR_DOMAIN_DEF_FORMAT_SECURE``: the ``passwd`` attribute of vnc/spice ``<graphics>`` and the
``<cookies>`` of disk sources (see :func:`strip_secrets`). The rest of the nested domain is copied
as stored: libvirt re-formats it from its own model, so the output equals libvirt's only when the
stored domain is already in libvirt's canonical form (as in every document libvirt wrote).

Records are trusted: the writer does not re-validate names (use ``Checkpoint.from_dict`` or the
parser for that). A record without a name gets no ``<name>`` line, which is what libvirt's escaper
does with a NULL string.
"""

from __future__ import annotations

import io
import re
from typing import IO, Any, Callable, Iterable, Iterator

from .grammar import GRAMMAR, Grammar
from .grammar.elements import ElementRule, Printing
from .markup.indentation import indent
from .markup.secrets import may_hold_secrets, strip_secrets
from .records import Checkpoint, Domain, Record, Snapshot, record_attribute
from .snapshot_writer import snapshot_xml

__all__ = ["escape", "iter_xml", "dumps", "write", "strip_secrets", "Writer", "DEFAULT_WRITER"]

# -- escaping -------------------------------------------------------------------------------------

_DROPPED = "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19"
_NEEDS_ESCAPE = re.compile("[&<>\"'" + "".join(f"\\x{ord(c):02x}" for c in _DROPPED) + "]")
_TABLE: dict[int, str | None] = {
    ord("&"): "&amp;",
    ord("<"): "&lt;",
    ord(">"): "&gt;",
    ord('"'): "&quot;",
    ord("'"): "&apos;",
    **{ord(c): None for c in _DROPPED},
}
_DROPS = re.compile("[" + "".join(f"\\x{ord(c):02x}" for c in _DROPPED) + "]")


def escape(value: str) -> str:
    """libvirt's ``virBufferEscapeString`` for one value (text or attribute alike)."""
    found = _NEEDS_ESCAPE.search(value)
    if found is None:
        return value
    if _DROPS.search(value, found.start()) is not None:
        return value.translate(_TABLE)
    # No character to drop: five C-level replaces ('&' first) are about 6x faster than translate.
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;").replace("'", "&apos;")


# -- SECURE: see .markup.secrets ------------------------------------------------------------------


# -- the nested domain ----------------------------------------------------------------------------

# A line break that is not between '>' and indentation followed by '<' (text spans lines).
_NL_NOT_STRUCTURAL = re.compile(r"\n(?:(?<!>\n)|[ \t]*(?![ \t<]))")


def _indent2(xml: str) -> str:
    """``indent(xml, 2)``, with a fast exact path for libvirt's own layout: every line break
    follows a '>' and precedes indentation and a '<', and there is no '!' or '?' at all (so no
    comment, CDATA section or PI). Then every line break is structural and a plain replace
    gives what :func:`.markup.indentation.indent` gives."""
    if "!" not in xml and "?" not in xml and _NL_NOT_STRUCTURAL.search(xml) is None:
        return xml.replace("\n", "\n  ")
    return indent(xml, 2)


def _domain(domain: Domain, secure: bool) -> str:
    """The domain's lines, two spaces in. A domain the parser kept as a span of its document is
    written from that span: the fast reader proved each of its lines complete markup, so every
    line break is structural and re-indenting is one replace, or nothing when it stood two
    spaces in, as libvirt writes it (no search for text line breaks)."""
    source = domain._source
    if source is not None:
        span, width = source
        if secure or not may_hold_secrets(span):
            text = span.decode("utf-8")
            if width != 2:
                text = text.replace("\n" + " " * width, "\n  ")
            return f"  {text}\n"
    xml = domain.xml
    if not secure:
        xml = strip_secrets(xml)
    return f"  {_indent2(xml)}\n"


# -- the formatter, generated from the grammar ------------------------------------------------------


_PRINTED = Printing()  # the default: printed when present
#: The writer's flags (libvirt's format flags) as the arguments of dumps() spell them.
_FLAG_ARGUMENT = {"domain": "not no_domain", "secure": "secure", "size": "size", "internal": "internal"}


class _NeedsEscaping(Exception):
    """A list item's value needs escaping: the escaping path writes the record."""


_TAILS_MAX = 1024  # tails remembered per level of a Writer's tail table, at most


class _Tails(dict[Any, Any]):
    """The rest of a list item's line after its first attribute, by the values of the attributes
    printed without a flag (for ``<disk>``: checkpoint type, then bitmap name), one dict level per
    attribute; made the first time a combination is met. A record's disks mostly share one tail
    (``checkpoint='bitmap' bitmap='<the checkpoint's name>'``), so a line of a long list costs its
    name and two lookups. Bounded: a level is cleared when full."""

    __slots__ = ("prefix", "make", "depth")

    def __init__(self, prefix: tuple[Any, ...], make: Callable[[tuple[Any, ...]], str], depth: int) -> None:
        self.prefix = prefix
        self.make = make
        self.depth = depth

    def __missing__(self, value: Any) -> Any:
        key = self.prefix + (value,)
        if self.depth == 1:
            made: Any = self.make(key)
        else:
            made = _Tails(key, self.make, self.depth - 1)
        if len(self) >= _TAILS_MAX:
            self.clear()  # another thread's lookup at worst makes its entry again
        self[value] = made
        return made


def _value_text(rule: ElementRule, value: Any, escaped: bool) -> str:
    if rule.kind == "integer":
        return str(int(value))
    if rule.kind == "flag":
        return "1" if value else "0"
    return escape(value) if escaped else value


def _printed(printing: Printing, value: Any, flags: dict[str, bool]) -> bool:
    if printing.flag is not None and not flags.get(printing.flag):
        return False
    if printing.when == "nonempty":
        return bool(value)
    return value is not None


class Writer:
    """libvirt's output layout for one grammar. The hot paths (a record whose values need no
    escaping, a long disk list) are generated code; :meth:`escaped` is the value-by-value path,
    which every record can take and which reports records built by hand with bad values."""

    def __init__(self, grammar: Grammar = GRAMMAR) -> None:
        cg = grammar.checkpoint
        self.grammar = grammar
        rules = cg.rules
        root = cg.root_rule(True)
        ind = cg.indent
        self.head = f"<{cg.root}>\n"
        self.tail = f"</{cg.root}>\n"
        self.head_elements: list[tuple[ElementRule, ElementRule, str]] = []  # (element, leaf, opening)
        self.after: list[tuple[ElementRule, str]] = []  # elements after the list: (rule, record attribute)
        self.list_rule: ElementRule | None = None
        self.item_rule: ElementRule | None = None
        for tag in cg.layout:
            key = root.children.get(tag)
            if key is None:
                continue
            rule = rules[key]
            if self.list_rule is None and rule.text is None and not rule.opaque and len(rule.children) == 1 and next(iter(rule.children)) in rule.repeatable:
                self.list_rule = rule
                self.item_rule = rules[next(iter(rule.children.values()))]
                self.list_tag = tag
                continue
            if self.list_rule is None and not rule.opaque and (rule.text is not None or len(rule.children) == 1):
                leaf = rule if rule.text is not None else rules[next(iter(rule.children.values()))]
                self.head_elements.append((rule, leaf, tag))
            else:
                self.after.append((rule, record_attribute(rule.field or tag)))
        self._lines: list[tuple[str, str]] = []  # (before the value, after it) of each head element
        for rule, leaf, tag in self.head_elements:
            if rule is leaf:
                self._lines.append((f"{ind}<{tag}>", f"</{tag}>\n"))
            else:
                ctag = next(iter(rule.children))
                self._lines.append((f"{ind}<{tag}>\n{ind * 2}<{ctag}>", f"</{ctag}>\n{ind}</{tag}>\n"))
        self._item_setup(ind)
        self._generate()

    # -- list items ---------------------------------------------------------------------------------

    def _item_setup(self, ind: str) -> None:
        item = self.item_rule
        if item is None:
            self.item_open = ""
            return
        fields = {f.attribute: f.field for f in item.fields}
        attrs = list(item.attributes)
        self.item_first = attrs[0]
        self.item_first_field = fields.get(attrs[0], attrs[0])
        self.item_others = [(a, fields.get(a, a)) for a in attrs[1:]]
        self.item_open = f"{ind * 2}<{item.tag} {attrs[0]}='"
        # Attributes a tail is keyed by: those printed without a flag (the rest take the escaping path).
        self.tail_keys = [(a, f) for a, f in self.item_others if item.attribute_printing.get(a, _PRINTED).flag is None]
        self.tails = _Tails((), self._make_tail, len(self.tail_keys)) if self.tail_keys else None

    def _attribute_text(self, attribute: str, value: Any) -> str:
        item = self.item_rule
        assert item is not None
        rule = item.attributes[attribute]
        if rule.choices:
            if value not in rule.choices:
                raise ValueError(f"{attribute} must be {' or '.join(repr(c) for c in rule.choices)}, not {value!r}")
            return str(value)
        if rule.maximum is not None and not isinstance(value, str):
            return str(int(value))
        if not isinstance(value, str):
            raise TypeError(f"{attribute} must be a string, not {type(value).__name__}")
        return escape(value)

    def _item_rest(self, values: dict[str, Any], flags: dict[str, bool]) -> str:
        """The attributes after the first, as libvirt prints them (escaped), then the tag's end."""
        item = self.item_rule
        assert item is not None
        out = ""
        printed: set[str] = set()
        for attribute, field in self.item_others:
            value = values.get(field)
            printing = item.attribute_printing.get(attribute, _PRINTED)
            if value is None or value in printing.omit or not _printed(printing, value, flags):
                continue
            if printing.requires is not None and printing.requires not in printed:
                continue
            out += f" {attribute}='{self._attribute_text(attribute, value)}'"
            printed.add(attribute)
        return out + "/>\n"

    def _make_tail(self, key: tuple[Any, ...]) -> str:
        values = dict(zip((f for _, f in self.tail_keys), key))
        for (attribute, _), value in zip(self.tail_keys, key):
            rule = self.item_rule.attributes[attribute]  # type: ignore[union-attr]
            if rule.choices:
                if value not in rule.choices and value is not None and value not in self.item_rule.attribute_printing.get(attribute, _PRINTED).omit:  # type: ignore[union-attr]
                    raise KeyError(value)  # the escaping path words it
            elif value is not None and not isinstance(value, str):
                raise TypeError(value)
            elif value is not None and _NEEDS_ESCAPE.search(value) is not None:
                raise _NeedsEscaping
        return "'" + self._item_rest(values, {})

    def item_line(self, item: Any, flags: dict[str, bool]) -> str:
        """One list item's line, every value escaped (the escaping path)."""
        values = {f: getattr(item, f) for f in [self.item_first_field] + [f for _, f in self.item_others]}
        first = values[self.item_first_field]
        try:
            return self.item_open + escape(first) + "'" + self._item_rest(values, flags)
        except (ValueError, TypeError) as err:
            raise ValueError(f"{self.item_rule.tag} {first!r}: {err}") from None  # type: ignore[union-attr]

    # -- generated hot paths ------------------------------------------------------------------------

    def _generate(self) -> None:
        """The head as one f-string when every head element is printed (a chain's checkpoint), else
        line by line; the list's lines from the shared tails; one search for anything to escape."""
        n = len(self.head_elements)
        v = [f"v{k}" for k in range(n)]
        conds = []
        pieces = []
        for k, (rule, leaf, _) in enumerate(self.head_elements):
            printing = rule.printing
            cond = f"{v[k]}" if printing.when == "nonempty" else f"{v[k]} is not None"
            if printing.flag is not None:
                cond = f"flags.get({printing.flag!r}) and {cond}"
            conds.append(cond)
            value = f"{{int({v[k]})}}" if leaf.kind == "integer" else f"{{{v[k]}}}"
            before, after = self._lines[k]
            pieces.append((before + value + after).replace("\n", "\\n"))
        ns: dict[str, Any] = {"HEAD": self.head, "NEEDS_ESCAPE": _NEEDS_ESCAPE, "escape": escape, "NeedsEscaping": _NeedsEscaping}
        src = [f"def head_lines({', '.join(v + ['flags'])}):", "    out = HEAD"]
        for k in range(n):
            src.append(f"    if {conds[k]}:")
            src.append(f"        out += f'{pieces[k]}'")
        src.append("    return out")
        # the plain path: values written as is, then one C-level search over all of them
        text_values = [v[k] for k, (_, leaf, _) in enumerate(self.head_elements) if leaf.kind == "text"]
        getters = [f"    {v[k]} = record.{record_attribute(leaf.field or '')}" for k, (_, leaf, _) in enumerate(self.head_elements)]
        src += ["", "def head_plain(record, rest, flags):"] + getters
        src.append(f"    if {' and '.join(conds) if conds else 'False'}:")
        src.append(f"        out = f'{self.head.replace(chr(10), chr(92) + 'n')}{''.join(pieces)}'")
        src.append("    else:")
        src.append(f"        out = head_lines({', '.join(v + ['flags'])})")
        if self.item_rule is not None and self.tails is not None:
            ns.update(TAILS=self.tails, OPEN=self.item_open, BULK=16)
            lookup = "TAILS" + "".join(f"[d.{f}]" for _, f in self.tail_keys)
            first = self.item_first_field
            lo, lc = f"{self.grammar.checkpoint.indent}<{self.list_tag}>\\n", f"{self.grammar.checkpoint.indent}</{self.list_tag}>\\n"
            src.append(f"    items = record.{record_attribute(self.list_tag)}")
            src.append("    lines = values = ''")
            src.append("    if items:")
            src.append("        try:")
            src.append("            if len(items) > BULK:")
            src.append(f"                names = [d.{first} for d in items]")
            src.append(f"                after = [{lookup} for d in items]")
            src.append("                parts = [OPEN] * (3 * len(names))")
            src.append("                parts[1::3] = names")
            src.append("                parts[2::3] = after")
            src.append("                lines = ''.join(parts)")
            src.append("                values = ''.join(names)")
            src.append("            else:")
            src.append("                for d in items:")
            src.append(f"                    name = d.{first}")
            src += self._few_items(ns, lookup)
            src.append("        except (KeyError, TypeError, NeedsEscaping):")
            src.append("            return None")
        else:
            src.append("    items = None")
            src.append("    values = ''")
        check = "".join(f"{{{x} or ''}}" for x in text_values)
        src.append(f'    if NEEDS_ESCAPE.search(f"{check}{{values}}") is not None:')
        src.append("        if NEEDS_ESCAPE.search(values) is not None:")
        src.append("            return None")
        escaped_args = [f"(None if {v[k]} is None else escape({v[k]}))" if leaf.kind == "text" else v[k] for k, (_, leaf, _) in enumerate(self.head_elements)]
        src.append(f"        out = head_lines({', '.join(escaped_args + ['flags'])})")
        if self.item_rule is not None:
            src.append("    if items:")
            src.append(f"        return f'{{out}}{lo}{{lines}}{lc}{{rest}}'")
        src.append("    return out + rest")
        src += self._rest_source(ns)
        self.source = "\n".join(src) + "\n"
        exec(compile(self.source, "<checkpoint_stream writer>", "exec"), ns)
        self.head_lines: Callable[..., str] = ns["head_lines"]
        self.head_plain: Callable[..., str | None] = ns["head_plain"]
        self.rest: Callable[[Checkpoint, dict[str, bool]], str] = ns["rest"]
        self.dumps_flags: Callable[..., str] = ns["dumps"]

    def _few_items(self, ns: dict[str, Any], lookup: str) -> list[str]:
        """One item at a time, each attribute printed by libvirt's rule: a choice as a constant
        looked up by its value, a text value as is (checked with the others for escaping)."""
        item = self.item_rule
        assert item is not None
        if any(item.attribute_printing.get(a, _PRINTED).requires is not None for a, _ in self.tail_keys):
            return [f"                    lines += OPEN + name + {lookup}", "                    values += name"]
        texts = [(a, f) for a, f in self.tail_keys if not item.attributes[a].choices]
        if len(texts) <= 2:  # one f-string a line: each text attribute present or not
            return self._few_items_fstrings(ns, texts)
        out = ["                    line = OPEN + name + \"'\""]
        for attribute, field in self.tail_keys:
            rule = item.attributes[attribute]
            printing = item.attribute_printing.get(attribute, _PRINTED)
            if rule.choices:
                table: dict[str | None, str] = {c: f" {attribute}='{c}'" for c in rule.choices}
                table.update({o: "" for o in printing.omit})
                table[None] = ""
                ns[f"K_{field}"] = table
                out.append(f"                    line += K_{field}[d.{field}]")
            else:
                out.append(f"                    v = d.{field}")
                out.append("                    if v is not None:")
                out.append(f"                        line += \" {attribute}='\" + v + \"'\"")
                out.append("                        values += v")
        out.append("                    lines += line + '/>\\n'")
        out.append("                    values += name")
        return out

    def _few_items_fstrings(self, ns: dict[str, Any], texts: list[tuple[str, str]]) -> list[str]:
        item = self.item_rule
        assert item is not None
        choice_parts = {}
        for attribute, field in self.tail_keys:
            rule = item.attributes[attribute]
            if rule.choices:
                table: dict[str | None, str] = {c: f" {attribute}='{c}'" for c in rule.choices}
                table.update({o: "" for o in item.attribute_printing.get(attribute, _PRINTED).omit})
                table[None] = ""
                ns[f"K_{field}"] = table
                choice_parts[attribute] = f"{{K_{field}[d.{field}]}}"
        out = []
        for k, (attribute, field) in enumerate(texts):
            out.append(f"                    t{k} = d.{field}")
        indent = "                    "
        # every combination of present text attributes, each written by one f-string
        for mask in range(1 << len(texts)):
            present = [k for k in range(len(texts)) if mask >> k & 1]
            cond = " and ".join([f"t{k} is not None" if k in present else f"t{k} is None" for k in range(len(texts))]) or "True"
            body = "{OPEN}{name}'"
            for attribute, field in self.tail_keys:
                if attribute in choice_parts:
                    body += choice_parts[attribute]
                else:
                    k = texts.index((attribute, field))
                    if k in present:
                        body += f" {attribute}='{{t{k}}}'"
            body += "/>\\n"
            added = " + ".join(["name", *[f"t{k}" for k in present]])
            out.append(f"{indent}{'if' if mask == 0 else 'elif'} {cond}:")
            out.append(f'{indent}    lines += f"{body}"')
            out.append(f"{indent}    values += {added}")
        return out

    def _rest_source(self, ns: dict[str, Any]) -> list[str]:
        """The elements after the list (the domain, ``<active>``) then the root's end tag, as
        ``rest(record, flags)``; and the whole document as ``dumps(record, <flags>)``, built from
        its end (no flags dict made unless the escaping path runs)."""
        ind = self.grammar.checkpoint.indent
        ns.update(TAIL=self.tail, DOMAIN=_domain, value_text=_value_text)
        src = ["", "def rest(record, flags):", "    out = ''"]
        pieces = []
        for k, (rule, attribute) in enumerate(self.after):
            ns[f"A{k}"] = rule
            cond = "v" if rule.printing.when == "nonempty" else "v is not None"
            src.append(f"    v = record.{attribute}")
            src.append(f"    if {cond}{f' and flags.get({rule.printing.flag!r})' if rule.printing.flag else ''}:")
            if rule.opaque:
                text = "DOMAIN(v, flags.get('secure', False))"
                fast = "DOMAIN(v, secure)"
            else:
                text = f"'{ind}<{rule.tag}>' + value_text(A{k}, v, True) + '</{rule.tag}>\\n'"
                value = "('1' if v else '0')" if rule.kind == "flag" else f"value_text(A{k}, v, True)"
                fast = f"'{ind}<{rule.tag}>' + {value} + '</{rule.tag}>\\n'"
            src.append(f"        out += {text}")
            pieces.append((attribute, cond, _FLAG_ARGUMENT.get(rule.printing.flag or "", None), fast))
        src.append("    return out + TAIL")
        flagged_head = any(rule.printing.flag for rule, _, _ in self.head_elements)
        flags = "{" + ", ".join(f"{name!r}: {expr}" for name, expr in _FLAG_ARGUMENT.items()) + "}"
        src += ["", "def dumps(record, no_domain=False, secure=False, size=False, internal=False):", "    rest = TAIL"]
        for attribute, cond, flag, fast in reversed(pieces):
            src.append(f"    v = record.{attribute}")
            src.append(f"    if {cond}{f' and {flag}' if flag else ''}:")
            src.append(f"        rest = {fast} + rest")
        src.append("    if not size:")
        src.append(f"        out = head_plain(record, rest, {flags if flagged_head else 'None'})")
        src.append("        if out is not None:")
        src.append("            return out")
        src.append(f"    return escaped(record, {flags}, rest)")
        ns["escaped"] = self.escaped
        return src

    # -- documents --------------------------------------------------------------------------------

    def escaped(self, record: Checkpoint, flags: dict[str, bool], rest: str = "") -> str:
        """Everything before the elements after the list, each value escaped, then ``rest``: the
        path every record can take (and the reference the generated paths are tested against)."""
        values = []
        for rule, leaf, _ in self.head_elements:
            value = getattr(record, record_attribute(leaf.field or ""))
            if leaf.kind == "text" and value is not None:
                value = escape(value)
            values.append(value)
        out = self.head_lines(*values, flags)
        items = getattr(record, record_attribute(self.list_tag)) if self.item_rule is not None else None
        if items:
            ind = self.grammar.checkpoint.indent
            out += f"{ind}<{self.list_tag}>\n" + "".join(self.item_line(d, flags) for d in items) + f"{ind}</{self.list_tag}>\n"
        return out + rest

    def dumps(self, record: Checkpoint, flags: dict[str, bool]) -> str:
        return self.dumps_flags(record, not flags.get("domain", True), flags.get("secure", False), flags.get("size", False), flags.get("internal", False))


DEFAULT_WRITER = Writer()


def _flags(no_domain: bool, secure: bool, size: bool, internal: bool) -> dict[str, bool]:
    return {"domain": not no_domain, "secure": secure, "size": size, "internal": internal}


def _snapshot(record: Snapshot, no_domain: bool, secure: bool, size: bool, internal: bool, uuid: str | None) -> str:
    if no_domain or size:
        raise ValueError("libvirt has no NO_DOMAIN or SIZE format flag for snapshots (only SECURE and the internal format)")
    return snapshot_xml(record, secure=secure, internal=internal, uuid=uuid, escape=escape, domain_text=_domain)


def iter_xml(
    record: Record,
    *,
    no_domain: bool = False,
    secure: bool = False,
    size: bool = False,
    internal: bool = False,
    uuid: str | None = None,
) -> Iterator[str]:
    """Yield the document for ``record`` in pieces (str), as libvirt would print it.

    Flags mirror libvirt's format flags: ``no_domain`` (NO_DOMAIN), ``secure`` (SECURE),
    ``size`` (SIZE: print ``size=`` on bitmap disks that have one); ``internal`` adds the
    pre-merge ``<active>`` element for records read with ``internal=True``. A snapshot takes
    ``secure`` and ``internal`` only (libvirt has no other snapshot format flag), and ``uuid``:
    what libvirt's formatter prints as ``<domain><uuid>`` for a snapshot that holds no domain.
    """
    if isinstance(record, Snapshot):
        yield _snapshot(record, no_domain, secure, size, internal, uuid)
        return
    writer = DEFAULT_WRITER
    flags = _flags(no_domain, secure, size, internal)
    head = writer.head_plain(record, "", flags) if not size else None
    yield head if head is not None else writer.escaped(record, flags)
    yield writer.rest(record, flags)


_DUMPS = DEFAULT_WRITER.dumps_flags


def dumps(
    record: Record,
    *,
    no_domain: bool = False,
    secure: bool = False,
    size: bool = False,
    internal: bool = False,
    uuid: str | None = None,
) -> str:
    """The whole document for ``record`` as one string (see :func:`iter_xml`)."""
    if isinstance(record, Snapshot):
        return _snapshot(record, no_domain, secure, size, internal, uuid)
    return _DUMPS(record, no_domain, secure, size, internal)


def _is_text_file(file: Any) -> bool:
    if isinstance(file, io.TextIOBase):
        return True
    if isinstance(file, (io.RawIOBase, io.BufferedIOBase)):
        return False
    mode = getattr(file, "mode", None)
    if isinstance(mode, str):
        return "b" not in mode
    return hasattr(file, "encoding")


def write(
    records: Iterable[Record],
    file: IO[str] | IO[bytes],
    *,
    no_domain: bool = False,
    secure: bool = False,
    size: bool = False,
    internal: bool = False,
) -> int:
    """Write every record of ``records`` (any iterable, consumed lazily) to ``file``, one document
    after the other, and return how many were written.

    ``file`` may be a text file (str is written) or a binary one (UTF-8 bytes are written). Memory
    stays constant: each document is written as soon as it is formatted and nothing is kept.
    """
    put = file.write
    text = _is_text_file(file)
    flags = _flags(no_domain, secure, size, internal)
    writer = DEFAULT_WRITER
    count = 0
    for record in records:
        doc = _snapshot(record, no_domain, secure, size, internal, None) if isinstance(record, Snapshot) else writer.dumps(record, flags)
        put(doc if text else doc.encode("utf-8"))  # type: ignore[arg-type]
        count += 1
    return count
