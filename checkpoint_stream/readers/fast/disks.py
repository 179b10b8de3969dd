"""A disk list in libvirt's layout, read column-wise, by code generated from the grammar's rule.

The list is split at each tag start whose first attribute (the element's required attribute that
no exclusion mentions: ``name`` for ``<disk>``) has a value its rule accepts, by a pattern made
from that rule (:func:`.regexgen.value_fragment`). Between two such starts lies the *rest* of a
tag: its other attributes in libvirt's order, ``/>`` and the whitespace after it. Rests repeat
from disk to disk (``checkpoint='bitmap' bitmap='<the checkpoint's name>'``), so each distinct
rest is read once and the record values it gives (or None) are remembered by its text. A tag
whose split value breaks the rule is not split at, so it stays inside the rest before it, which
then fails. No control character (TAB and CR included, which expat would rewrite), '<', '>' or
'&' is admitted inside a value, nor anything but spaces, tabs and line breaks between tags: those
go to the general reader. Values are quoted with apostrophes (libvirt) or double quotes
(ElementTree), one reader a quote character, generated alike.

Reading a rest is generated code (:meth:`DiskReader.source` shows it): for each attribute, the
check its value rule needs (none for a rule any text passes, a membership test for a set of
choices, the rule's own ``check`` otherwise), then the rule's required attributes and
exclusions, then the record's fields (default values, conversions) from the element's field map:
the same judgement as :meth:`~...grammar.elements.ElementRule.check_attributes`, the same values as
:meth:`~...grammar.elements.ElementRule.record_values`, without their loops.

Records are built through their slots (see :mod:`...records`), from C-level ``map()`` loops when
there are many: what a document with thousands of disks is made of.
"""

from __future__ import annotations

import re
from collections import deque
from itertools import repeat
from typing import Any, Callable

from ...grammar.elements import ElementRule
from ...grammar.values import ValueRule
from ...limits import Limits
from ...records import CheckpointDisk, slot_setters
from .memory import Memory
from .regexgen import value_fragment
from .text import utf8_text

__all__ = ["DiskReader", "FEW"]

#: What may stand raw inside a single-quoted attribute value the fast reader reads.
ATTRIBUTE_EXCLUDED = "'<>&" + "".join(map(chr, range(0x20)))
_LOOSE_VALUE = r"[^'<>&\x00-\x1f]*"
FEW = 16  # lists up to this long are read one tag at a time
_new = object.__new__


def _trivial(rule: ValueRule) -> bool:
    """A rule every string passes (so no check is generated for it)."""
    return rule.pattern is None and not rule.choices and rule.maximum is None


class DiskReader:
    """Reads the content of a list element (``<disks>``) whose items are empty elements with
    attributes (``<disk .../>``), for one element rule. ``usable`` is False when the rule has no
    attribute to split at (the list then always goes to the general reader)."""

    def __init__(self, tag: str, rule: ElementRule, memory: Memory, minimum: int = 1) -> None:
        self.rule = rule
        self.memory = memory
        self.minimum = minimum  # items the list must hold (its rule's min_children)
        self.usable = False
        excluded = {a for ex in rule.exclusions for a in (ex.attribute, *ex.forbidden)}
        split = next((a for a in rule.attributes if a in rule.required_attributes and a not in excluded), None)
        fields = {f.attribute: f for f in rule.fields}
        if split is None or split not in fields or set(fields) != set(rule.attributes):
            return
        self.usable = True
        others = [a for a in rule.attributes if a != split]
        order = [f.field for f in rule.fields]
        setters = dict(zip(order, slot_setters(CheckpointDisk, tuple(order))))
        self.set_split = setters[fields[split].field]
        self.setters = [setters[fields[a].field] for a in others]
        # One reader a quote character (libvirt writes apostrophes, ElementTree double quotes); a
        # list that mixes them goes to the general reader. Attributes one space apart (as both
        # write them), then before '/>' and between tags any XML whitespace but CR (which expat
        # would rewrite; the fast reader's CR variant removes it).
        self.split_check: Callable[[str], str | None] | None = None
        sources = []
        for quote, suffix in (('"', "_dq"), ("'", "")):
            frag = value_fragment(rule.attributes[split], ATTRIBUTE_EXCLUDED.replace("'", quote))
            loose = _LOOSE_VALUE.replace("'", quote)
            # With no exact piece for the split value's rule, split loosely and judge each value.
            self.split_check = None if frag is not None else rule.attributes[split].check
            splitter = re.compile(f"<{re.escape(tag)} {re.escape(split)}={quote}({frag or loose}){quote}")
            rest = re.compile("".join(f"(?: {re.escape(a)}={quote}({loose}){quote})?" for a in others) + r"[ \t\n]*/>[ \t\n]*")
            sources.append(self._generate(rule, split, others, fields, rest, splitter, suffix))
        self.source = "\n".join(sources)

    def _generate(
        self,
        rule: ElementRule,
        split: str,
        others: list[str],
        fields: dict[str, Any],
        rest: "re.Pattern[str]",
        splitter: "re.Pattern[str]",
        suffix: str,
    ) -> str:
        v = {a: f"a{k}" for k, a in enumerate(others)}
        ns: dict[str, Any] = {
            "REST": rest.fullmatch,
            "SPLIT": splitter.split,
            "utf8_text": utf8_text,
            "new": _new,
            "Record": CheckpointDisk,
            "SET_SPLIT": self.set_split,
            "FEW": FEW,
            "MIN": max(self.minimum, 1),
            "memory": self.memory,
            "bulk": self._bulk,
            "split_check": self.split_check,
        }
        src = ["def rest_fields(rest):", "    fields = None", "    m = REST(rest)", "    if m is not None:"]
        src.append(f"        {', '.join(v[a] for a in others)}{',' if len(others) == 1 else ''} = m.groups()")
        checks = []
        for a in others:
            vrule = rule.attributes[a]
            if _trivial(vrule):
                continue
            if vrule.choices and vrule.pattern is None and vrule.maximum is None and not vrule.token:
                ns[f"C_{v[a]}"] = frozenset(vrule.choices)
                checks.append(f"({v[a]} is None or {v[a]} in C_{v[a]})")
            else:
                ns[f"R_{v[a]}"] = vrule
                checks.append(f"({v[a]} is None or R_{v[a]}.check({v[a]}) is None)")
        for name in rule.required_attributes:
            if name != split:
                checks.append(f"{v[name]} is not None")
        for ex in rule.exclusions:
            ns[f"X_{v[ex.attribute]}"] = ex.value
            present = " or ".join(f"{v[f]} is not None" for f in ex.forbidden)
            checks.append(f"not ({v[ex.attribute]} == X_{v[ex.attribute]} and ({present}))")
        values = []
        for a in others:
            f = fields[a]
            expr = v[a]
            if f.convert is not None:
                ns[f"F_{v[a]}"] = f.convert
                expr = f"(None if {v[a]} is None else F_{v[a]}({v[a]}))"
            if f.default is not None:
                ns[f"D_{v[a]}"] = f.default
                expr = f"({expr} if {v[a]} is not None else D_{v[a]})"
            values.append(expr)
        src.append(f"        if {' and '.join(checks) if checks else 'True'}:")
        src.append(f"            fields = ({', '.join(values)}{',' if len(values) == 1 else ''})")
        src.append("    memory.remember_rest(rest, fields)")
        src.append("    return fields")
        sets = [f"        S{k}(disk, fields[{k}])" for k in range(len(others))]
        ns.update({f"S{k}": s for k, s in enumerate(self.setters)})
        src += [
            "",
            "def read_disks(raw, limits):",
            "    # Inside tags ']]>' is allowed, and between them only whitespace: the list needs",
            "    # decoding only (UTF-8, and XML's two non-characters).",
            "    if raw.isascii():",
            "        block = raw.decode('ascii')",
            "    else:",
            "        block = utf8_text(raw)",
            "        if block is None:",
            "            return None",
            "    parts = SPLIT(block)",
            "    n = len(parts) // 2",
            "    if n < MIN or n > limits.max_disks or parts[0].strip(' \\t\\n'):",
            # A list in the other quote is split nowhere (its head is all of it): that reader's.
            *(["        return DOUBLE_QUOTED(raw, limits) if n == 0 and b'\"' in raw else None"] if suffix == "" else ["        return None"]),
        ]
        if self.split_check is not None:
            src += ["    if any(map(split_check, parts[1::2])):", "        return None"]
        src += [
            "    if n > FEW:",
            "        return bulk(parts, n, block, limits, rest_fields)",
            "    if len(block) > limits.max_text and max(map(len, parts)) > limits.max_text:",
            "        return None",
            "    known = memory.rests",
            "    disks = []",
            "    for k in range(1, 2 * n, 2):",
            "        rest = parts[k + 1]",
            "        fields = known[rest] if rest in known else rest_fields(rest)",
            "        if fields is None:",
            "            return None",
            "        disk = new(Record)",
            "        SET_SPLIT(disk, parts[k])",
            *sets,
            "        disks.append(disk)",
            "    return tuple(disks)",
        ]
        source = "\n".join(src) + "\n"
        if suffix == "":
            ns["DOUBLE_QUOTED"] = self.read
        exec(compile(source, f"<checkpoint_stream fast disk reader{suffix}>", "exec"), ns)
        self.read: Callable[[bytes, Limits], Any] = ns["read_disks"]
        return source.replace("def read_disks", f"def read_disks{suffix}").replace("def rest_fields", f"def rest_fields{suffix}")

    def _bulk(
        self, parts: list[str], n: int, block: str, limits: Limits, rest_fields: Callable[[str], Any]
    ) -> tuple[CheckpointDisk, ...] | None:
        """Many items: column-wise, each distinct rest read once.

        What is proven: block = head + (split start + value + quote + rest)*, where head is
        whitespace, each value passes its rule and holds no quote, '<', '>', '&' or control
        character, and each rest is the tag's other attributes, '/>' and whitespace, in which no
        '<' can occur. That is exactly a list of tags separated by whitespace."""
        names = parts[1::2]
        rests = parts[2::2]
        known = self.memory.rests
        kinds = {rest: known[rest] if rest in known else rest_fields(rest) for rest in set(rests)}
        if None in kinds.values():
            return None
        # A text node (between tags) or an attribute value longer than max_text: the general
        # reader reports it. Each lies within the head, one value or one rest.
        if len(block) > limits.max_text and (
            len(parts[0]) > limits.max_text or max(map(len, names)) > limits.max_text or max(map(len, kinds)) > limits.max_text
        ):
            return None
        disks = list(map(_new, repeat(CheckpointDisk, n)))
        deque(map(self.set_split, disks, names), 0)
        # Each field: one value repeated when every kind of rest agrees on it (sizes are usually
        # all absent), else looked up by the item's rest.
        for k, setter in enumerate(self.setters):
            by_rest = {rest: fields[k] for rest, fields in kinds.items()}
            values = set(by_rest.values())
            if len(values) == 1:
                deque(map(setter, disks, repeat(values.pop(), n)), 0)
            else:
                deque(map(setter, disks, map(by_rest.__getitem__, rests)), 0)
        return tuple(disks)
