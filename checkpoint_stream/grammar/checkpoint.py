"""The grammar of ``<domaincheckpoint>`` (libvirt 9.0 ``domaincheckpoint.rng``, spec A.2/A.3), its
field mapping and libvirt's layout (A.8), as data.

This table is the one home of every checkpoint-level rule. The state machine walks it, the fast
reader's patterns and residual checks are generated from it, ``Checkpoint.from_dict`` checks JSON
values with it and the writer prints in its order. To allow a new ``<disk>`` attribute: add it to
``DISK.attributes`` (in the place libvirt prints it) and to ``DISK.fields``, and give
``CheckpointDisk`` the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Mapping

from .elements import ElementRule, Exclusion, FieldMap, Printing
from .values import ULONG_MAX, ValueRule

__all__ = [
    "NAME",
    "PARENT_NAME",
    "CREATION_TIME",
    "DISK_NAME",
    "CHECKPOINT_TYPE",
    "BITMAP",
    "SIZE",
    "ANY_TEXT",
    "ACTIVE_FLAG",
    "DISK",
    "CheckpointGrammar",
    "CHECKPOINT",
]

_NAME_HINT = (
    "use ASCII letters, digits, '_', '-' and '.', not starting with '.' (pattern [a-zA-Z0-9_-][a-zA-Z0-9_.-]*)"
)
_ULONG_HINT = f"write decimal digits only, at most {ULONG_MAX}"

NAME = ValueRule("checkpoint name", re.compile(r"[a-zA-Z0-9_-][a-zA-Z0-9_.-]*"), _NAME_HINT)
PARENT_NAME = ValueRule("parent name", NAME.pattern, _NAME_HINT)
CREATION_TIME = ValueRule("creationTime", re.compile(r"[0-9]+"), _ULONG_HINT, maximum=ULONG_MAX)
DISK_NAME = ValueRule(
    "disk name",
    re.compile(r"(?:ioemu:)?(?:fd|hd|sd|vd|xvd|ubd)[a-zA-Z0-9_]+|(?:/|[a-zA-Z]:\\)[^\n\r]+"),
    "use a target device such as 'vda' or 'sdb', or an absolute path such as '/var/lib/a.qcow2'",
)
CHECKPOINT_TYPE = ValueRule("checkpoint type", hint="use 'bitmap' or 'no'", choices=("bitmap", "no"))
BITMAP = ValueRule("bitmap")
SIZE = ValueRule("size", re.compile(r"[0-9]+"), _ULONG_HINT, maximum=ULONG_MAX)
ANY_TEXT = ValueRule("text")
ACTIVE_FLAG = ValueRule("active flag", hint="use 0 or 1", choices=("0", "1"))

_ACTIVE_HINT = (
    "<active> belongs to the pre-merge internal checkpoint format, which libvirt 9 rejects; "
    "parse with internal=True (--internal) to read it"
)

#: ``<disk>``: attributes in the order libvirt prints them; ``checkpoint='no'`` excludes the
#: bitmap group; the record's fields.
DISK = ElementRule(
    "disk",
    attributes={"name": DISK_NAME, "checkpoint": CHECKPOINT_TYPE, "bitmap": BITMAP, "size": SIZE},
    required_attributes=("name",),
    exclusions=(Exclusion("checkpoint", "no", ("bitmap", "size")),),
    fields=(
        FieldMap("name", "name"),
        FieldMap("checkpoint", "checkpoint", default="bitmap"),
        FieldMap("bitmap", "bitmap"),
        FieldMap("size", "size", convert=int),
    ),
    # libvirt leaves out the internal "default" type, and prints size only with its SIZE flag,
    # inside the bitmap branch.
    attribute_printing={"checkpoint": Printing(omit=("default",)), "size": Printing(flag="size", requires="bitmap")},
)


@dataclass(frozen=True)
class CheckpointGrammar:
    """A document grammar: its root tag, its element rules by key, and libvirt's layout.

    ``rules["root"]`` is the root of libvirt 9's format and ``rules["root+internal"]`` the root of
    the pre-merge internal format (it also allows ``<active>``). ``layout`` lists the root's
    children in the order libvirt prints them (two spaces a level): the writer's order and the
    only order the fast reader takes. ``disk_kinds`` maps each checkpoint type to how the writer
    prints its attribute (libvirt leaves the attribute out for the internal "default" type).
    """

    root: str
    rules: Mapping[str, ElementRule]
    layout: tuple[str, ...]
    indent: str = "  "

    def rule(self, key: str) -> ElementRule:
        return self.rules[key]

    def root_rule(self, internal: bool) -> ElementRule:
        return self.rules["root+internal" if internal else "root"]

    def child_key(self, parent_key: str, tag: str) -> str | None:
        return self.rules[parent_key].children.get(tag)

    def leaf_fields(self) -> dict[str, str]:
        """Rule key -> record field, for every leaf that fills one."""
        return {key: rule.field for key, rule in self.rules.items() if rule.field is not None}

    def with_rule(self, key: str, rule: ElementRule) -> "CheckpointGrammar":
        """A copy with one rule replaced (``root`` changes carry over to ``root+internal``)."""
        rules = dict(self.rules)
        rules[key] = rule
        if key == "root":
            rules["root+internal"] = replace(rule, children={**rule.children, "active": "active"}, hints={})
        return replace(self, rules=rules)


_ROOT = ElementRule(
    "domaincheckpoint",
    children={
        "name": "name",
        "description": "description",
        "parent": "parent",
        "creationTime": "creationTime",
        "disks": "disks",
        "domain": "domain",
    },
    hints={"active": _ACTIVE_HINT},
)

CHECKPOINT = CheckpointGrammar(
    root="domaincheckpoint",
    rules={
        "root": _ROOT,
        "root+internal": replace(_ROOT, children={**_ROOT.children, "active": "active"}, hints={}),
        "name": ElementRule("name", text=NAME, field="name"),
        "description": ElementRule("description", text=ANY_TEXT, field="description", printing=Printing("nonempty")),
        "creationTime": ElementRule("creationTime", text=CREATION_TIME, field="creationTime", kind="integer", printing=Printing("nonempty")),
        "parent": ElementRule("parent", children={"name": "parent/name"}, min_children={"name": 1}),
        "parent/name": ElementRule("name", text=PARENT_NAME, field="parent"),
        "disks": ElementRule(
            "disks", children={"disk": "disk"}, repeatable=frozenset({"disk"}), min_children={"disk": 1}, printing=Printing("nonempty")
        ),
        "disk": DISK,
        "domain": ElementRule("domain", opaque=True, field="domain", printing=Printing(flag="domain")),
        "active": ElementRule("active", text=ACTIVE_FLAG, field="active", kind="flag", printing=Printing(flag="internal")),
    },
    layout=("name", "description", "parent", "creationTime", "disks", "domain", "active"),
)
