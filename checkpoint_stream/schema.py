"""The grammar of ``<domaincheckpoint>`` (libvirt 9.0 ``domaincheckpoint.rng``), as data.

This module is the one home of the schema. The state machine (:mod:`.machine`) walks these tables
and the fast scanner (:mod:`.fastpath`) uses the same value rules, so a rule changed here changes
every path at once. Nothing in here does any parsing of its own.

Spec: ``shared/spec/checkpoint-xml.md`` A.2 (elements, attributes, patterns) and A.3.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

__all__ = [
    "ValueRule",
    "ElementRule",
    "NAME",
    "ULONG",
    "DISK_NAME",
    "CHECKPOINT_TYPE",
    "ANY_TEXT",
    "ACTIVE_FLAG",
    "GRAMMAR",
    "ROOT",
    "ULONG_MAX",
    "LLONG_MAX",
    "XML_WHITESPACE",
    "is_whitespace",
]

ULONG_MAX = 18446744073709551615  # xsd:unsignedLong
LLONG_MAX = 9223372036854775807  # what libvirt's REDEFINE converts creationTime into

#: XML's own whitespace (S production). Python's ``str.isspace`` is wider (it accepts U+00A0,
#: U+2028, ...), which XML does not, so it must not be used on document text.
XML_WHITESPACE = " \t\r\n"
_WS_RE = re.compile(r"[ \t\r\n]*")


def is_whitespace(text: str) -> bool:
    return _WS_RE.fullmatch(text) is not None


@dataclass(frozen=True, slots=True)
class ValueRule:
    """A datatype of the schema: a whole-value pattern plus an optional numeric ceiling.

    ``what`` names the value in messages and ``hint`` tells the user what a good value looks like.
    """

    what: str
    pattern: re.Pattern[str] | None
    hint: str
    maximum: int | None = None
    choices: tuple[str, ...] = ()

    def check(self, value: str) -> str | None:
        """Return ``None`` when ``value`` is valid, else the reason it is not."""
        if self.pattern is not None and self.pattern.fullmatch(value) is None:
            return f"{self.what} {value!r} is invalid: {self.hint}"
        if self.maximum is not None and int(value) > self.maximum:
            return f"{self.what} {value} is out of range: {self.hint}"
        return None


# Patterns spelled out with ASCII classes: ``\d`` and ``\w`` would also accept non-ASCII digits
# and letters, which the XSD patterns of libvirt's schema do not.
NAME = ValueRule(
    "checkpoint name",
    re.compile(r"[a-zA-Z0-9_-][a-zA-Z0-9_.-]*"),
    "use ASCII letters, digits, '_', '-' and '.', not starting with '.' "
    "(pattern [a-zA-Z0-9_-][a-zA-Z0-9_.-]*)",
)
ULONG = ValueRule(
    "unsigned integer",
    re.compile(r"[0-9]+"),
    f"write decimal digits only, at most {ULONG_MAX}",
    maximum=ULONG_MAX,
)
DISK_NAME = ValueRule(
    "disk name",
    re.compile(r"(?:ioemu:)?(?:fd|hd|sd|vd|xvd|ubd)[a-zA-Z0-9_]+|(?:/|[a-zA-Z]:\\)[^\n\r]+"),
    "use a target device such as 'vda' or 'sdb', or an absolute path such as '/var/lib/a.qcow2'",
)
CHECKPOINT_TYPE = ValueRule(
    "checkpoint type",
    re.compile(r"no|bitmap"),
    "use 'bitmap' or 'no'",
    choices=("no", "bitmap"),
)
ANY_TEXT = ValueRule("text", None, "")
ACTIVE_FLAG = ValueRule("active flag", re.compile(r"[01]"), "use 0 or 1", choices=("0", "1"))


@dataclass(frozen=True, slots=True)
class ElementRule:
    """One element of the grammar.

    ``children`` maps a child tag to the key of its rule in :data:`GRAMMAR`; every child may occur
    at most once (libvirt's ``<interleave>`` of optionals) unless it is listed in ``repeatable``.
    ``text`` is the datatype of a leaf's text, or ``None`` for element-only content, where only
    whitespace may stand between the children. ``opaque`` elements (the nested domain) are not
    walked by the machine: their driver captures them whole.
    """

    tag: str
    children: Mapping[str, str] = field(default_factory=dict)
    repeatable: frozenset[str] = frozenset()
    min_children: Mapping[str, int] = field(default_factory=dict)
    max_children: Mapping[str, int] = field(default_factory=dict)
    attributes: Mapping[str, ValueRule] = field(default_factory=dict)
    required_attributes: tuple[str, ...] = ()
    #: (attribute, value, forbidden attributes): libvirt's ``<choice>`` between
    #: ``checkpoint='no'`` and the bitmap group.
    exclusions: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    text: ValueRule | None = None
    opaque: bool = False
    #: Shown after "element <x> is not allowed" for tags users are known to try.
    hints: Mapping[str, str] = field(default_factory=dict)


_ACTIVE_HINT = (
    "<active> belongs to the pre-merge internal checkpoint format, which libvirt 9 rejects; "
    "parse with internal=True (--internal) to read it"
)

#: The grammar, keyed by rule name. ``root`` and ``root+internal`` differ only by ``<active>``.
GRAMMAR: dict[str, ElementRule] = {
    "root": ElementRule(
        "domaincheckpoint",
        children={
            "name": "name",
            "description": "description",
            "creationTime": "creationTime",
            "parent": "parent",
            "disks": "disks",
            "domain": "domain",
        },
        hints={"active": _ACTIVE_HINT},
    ),
    "name": ElementRule("name", text=NAME),
    "description": ElementRule("description", text=ANY_TEXT),
    "creationTime": ElementRule(
        "creationTime",
        text=ValueRule("creationTime", ULONG.pattern, ULONG.hint, maximum=ULONG_MAX),
    ),
    "parent": ElementRule(
        "parent",
        children={"name": "parent/name"},
        min_children={"name": 1},
    ),
    "parent/name": ElementRule("name", text=ValueRule("parent name", NAME.pattern, NAME.hint)),
    "disks": ElementRule(
        "disks",
        children={"disk": "disk"},
        repeatable=frozenset({"disk"}),
        min_children={"disk": 1},
    ),
    "disk": ElementRule(
        "disk",
        attributes={
            "name": DISK_NAME,
            "checkpoint": CHECKPOINT_TYPE,
            "bitmap": ValueRule("bitmap", None, ""),
            "size": ValueRule("size", ULONG.pattern, ULONG.hint, maximum=ULONG_MAX),
        },
        required_attributes=("name",),
        exclusions=(("checkpoint", "no", ("bitmap", "size")),),
    ),
    "domain": ElementRule("domain", opaque=True),
    "active": ElementRule("active", text=ACTIVE_FLAG),
}
GRAMMAR["root+internal"] = ElementRule(
    "domaincheckpoint",
    children={**GRAMMAR["root"].children, "active": "active"},
)

ROOT = "domaincheckpoint"
