"""The grammar of ``<domainsnapshot>`` (libvirt 9.0 ``domainsnapshot.rng``, snapshot spec S.2),
its field mapping and libvirt's layout (S.6), as data: the second document grammar beside
:mod:`.checkpoint`, read by the same state machine and printed by the same rules.

What differs from checkpoints lives here as rules, not as code in the readers: free-text names,
``<state>``, ``<memory>`` (a choice between "no/internal, no file" and "external with an absolute
file", said as exclusions plus a requirement), disks that hold a ``<source>`` and a ``<driver>``
(a disk in mode no/internal/manual holds nothing and carries nothing else), the old-style
``<domain><uuid>`` beside a full domain, ``<inactiveDomain>`` and ``<cookie>``.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Mapping

from .checkpoint import DISK_NAME, CheckpointGrammar
from .domain import DomainTop
from .elements import ElementRule, Exclusion, FieldMap, Printing, Requirement
from .values import ULONG_MAX, ValueRule

__all__ = ["SNAPSHOT", "SNAPSHOT_STATES", "STATE", "ABS_PATH", "SOURCE_RULES", "UUID", "judge_source", "source_attribute_rule", "source_attributes_problem", "uuid_only_problem"]

#: libvirt's ``virDomainSnapshotState`` strings the schema allows (not ``nostate`` nor
#: ``pmsuspended``, which the parser alone would take).
SNAPSHOT_STATES = ("running", "blocked", "paused", "shutdown", "shutoff", "crashed", "disk-snapshot")

_ABS_HINT = "use an absolute path such as '/var/lib/libvirt/images/a.qcow2'"
SNAPSHOT_NAME = ValueRule("snapshot name")
ANY_TEXT = ValueRule("text")
STATE = ValueRule("snapshot state", hint="use one of " + ", ".join(SNAPSHOT_STATES), choices=SNAPSHOT_STATES, token=True)
ABS_PATH = ValueRule("path", re.compile(r"(?:/|[a-zA-Z]:\\)[^\n\r]+"), _ABS_HINT)
MEMORY_MODE = ValueRule(
    "memory snapshot mode",
    choices=("no", "internal", "external"),
    message="Invalid value for attribute 'snapshot' in element 'memory': {value!r} (use 'no', 'internal' or 'external')",
)
DISK_MODE = ValueRule(
    "disk snapshot mode",
    choices=("no", "internal", "external", "manual"),
    message="Invalid value for attribute 'snapshot' in element 'disk': {value!r} (use 'no', 'internal', 'external' or 'manual')",
)
DISK_TYPE = ValueRule(
    "disk type",
    choices=("file", "block", "network"),
    message="Invalid value for attribute 'type' in element 'disk': {value!r} (a snapshot disk is 'file', 'block' or 'network')",
)
DRIVER_TYPE = ValueRule(
    "disk snapshot driver",
    choices=("cow", "qcow", "qcow2", "qed", "vmdk"),
    message="unknown disk snapshot driver {value!r} (use qcow2, qed, vmdk, qcow or cow)",
)
SIZE_UNIT = ValueRule(
    "unit",
    re.compile(r"[bB](?:[yY][tT][eE][sS]?)?|[kKmMgGtTpPeE](?:[iI]?[bB])?"),
    "use a unit such as 'bytes', 'KiB', 'M' or 'GB'",
)
MAX_SIZE = ValueRule("max_size", re.compile(r"[0-9]+"), f"write decimal digits only, at most {ULONG_MAX}", maximum=ULONG_MAX)
ACTIVE_FLAG = ValueRule("active flag", hint="use 0 or 1", choices=("0", "1"), token=True)
UUID = ValueRule(
    "uuid",
    re.compile(r"[a-fA-F0-9]{32}|[a-fA-F0-9]{8}-(?:[a-fA-F0-9]{4}-){3}[a-fA-F0-9]{12}"),
    "use 32 hexadecimal digits, dashed 8-4-4-4-12 or not",
)
_INDEX = ValueRule("index", re.compile(r"[0-9]*[1-9][0-9]*"), "use a positive integer")
_ANY = ValueRule("value")
_PROTOCOLS = ("nbd", "gluster", "rbd", "iscsi", "http", "https", "ftps", "ftp", "tftp", "sheepdog", "vxhs", "nfs", "ssh")
_PROTOCOL = ValueRule("protocol", hint="use one of " + ", ".join(_PROTOCOLS), choices=_PROTOCOLS)

# <source> of a snapshot disk, by the disk's type: its attributes, the children it may hold (their
# content is libvirt's domain grammar, kept as written), and the attributes it requires. There is
# no startupPolicy here (storageStartupPolicy is notAllowed outside the nested domain), and a
# network source holds no <seclabel>.
_LOCAL_CHILDREN = frozenset({"seclabel", "slices", "privateData", "encryption"})
SOURCE_RULES = {
    "file": ({"file": ABS_PATH, "index": _INDEX}, _LOCAL_CHILDREN, ()),
    "block": ({"dev": ABS_PATH, "index": _INDEX}, _LOCAL_CHILDREN, ("dev",)),
    "network": (
        {"protocol": _PROTOCOL, "name": _ANY, "tls": _ANY, "tlsHostname": _ANY, "query": _ANY, "index": _INDEX},
        frozenset(
            {"host", "snapshot", "config", "auth", "encryption", "reconnect", "cookies", "ssl", "readahead", "timeout",
             "identity", "knownHosts", "reservations", "initiator", "slices", "privateData"}
        ),
        ("protocol",),
    ),
}

_EMPTY_MODES = ("no", "internal", "manual")

#: ``<disk>`` of a snapshot (``disksnapshot``): a name, a mode, a storage type; in mode
#: no/internal/manual nothing else; otherwise a source and (not on the network) a driver.
DISK = ElementRule(
    "disk",
    # In the order libvirt prints them (the writer's order, and the fast reader's).
    children={"snapshotDeleteInProgress": "disk/deleting", "driver": "disk/driver", "source": "disk/source"},
    attributes={"name": DISK_NAME, "snapshot": DISK_MODE, "type": DISK_TYPE},
    required_attributes=("name",),
    exclusions=(
        *(Exclusion("snapshot", mode, ("type",), ("source", "driver")) for mode in _EMPTY_MODES),
        Exclusion("type", "network", (), ("driver",)),
    ),
    fields=(
        FieldMap("name", "name"),
        FieldMap("snapshot", "snapshot"),
        FieldMap("type", "type"),
    ),
    item_at_end=True,
)

_ROOT = ElementRule(
    "domainsnapshot",
    children={
        "name": "name",
        "description": "description",
        "state": "state",
        "creationTime": "creationTime",
        "parent": "parent",
        "memory": "memory",
        "disks": "disks",
        "active": "active",
        "domain": "domain",
        "inactiveDomain": "inactiveDomain",
        "cookie": "cookie",
    },
    hints={"revertDisks": "<revertDisks> came after libvirt 9.0, which does not know it"},
)

SNAPSHOT = CheckpointGrammar(
    root="domainsnapshot",
    rules={
        "root": _ROOT,
        "root+internal": replace(_ROOT, hints={}),
        "name": ElementRule("name", text=SNAPSHOT_NAME, field="name"),
        "description": ElementRule("description", text=ANY_TEXT, field="description", printing=Printing("nonempty")),
        "state": ElementRule("state", text=STATE, field="state"),
        "creationTime": ElementRule("creationTime", text=ANY_TEXT, field="creationTime", kind="integer", printing=Printing("nonempty")),
        "parent": ElementRule("parent", children={"name": "parent/name"}, min_children={"name": 1}),
        "parent/name": ElementRule("name", text=ANY_TEXT, field="parent"),
        "memory": ElementRule(
            "memory",
            attributes={"snapshot": MEMORY_MODE, "file": ABS_PATH},
            exclusions=(Exclusion("snapshot", "no", ("file",)), Exclusion("snapshot", "internal", ("file",))),
            requirements=(Requirement("file", "snapshot", ("no", "internal")),),
            fields=(FieldMap("snapshot", "memory"), FieldMap("file", "memoryFile")),
        ),
        "disks": ElementRule("disks", children={"disk": "disk"}, repeatable=frozenset({"disk"}), printing=Printing("nonempty")),
        "disk": DISK,
        "disk/source": ElementRule("source", opaque=True, field="source", judge="source", source_rules=SOURCE_RULES),
        "disk/driver": ElementRule(
            "driver",
            children={"metadata_cache": "disk/driver/metadata_cache"},
            attributes={"type": DRIVER_TYPE},
            fields=(FieldMap("type", "driver"),),
        ),
        "disk/driver/metadata_cache": ElementRule("metadata_cache", children={"max_size": "disk/driver/metadata_cache/max_size"}),
        "disk/driver/metadata_cache/max_size": ElementRule(
            "max_size", text=MAX_SIZE, attributes={"unit": SIZE_UNIT}, field="maxSize", fields=(FieldMap("unit", "maxSizeUnit"),)
        ),
        # Not in 9.0's schema, though 9.0's parser reads it on REDEFINE and prints it: accepted
        # (empty), so that libvirt's own output reads back (see the README).
        "disk/deleting": ElementRule("snapshotDeleteInProgress", text=ValueRule("content", re.compile(r"[ \t\r\n]*"), "leave it empty"), field="deleteInProgress"),
        "active": ElementRule("active", text=ACTIVE_FLAG, field="active", kind="flag", printing=Printing(flag="internal")),
        "domain": ElementRule("domain", opaque=True, field="domain", judge="domain-or-uuid"),
        "inactiveDomain": ElementRule("inactiveDomain", opaque=True, field="inactiveDomain", judge="inactiveDomain"),
        "cookie": ElementRule("cookie", opaque=True, field="cookie", judge="any"),
    },
    layout=("name", "description", "state", "parent", "creationTime", "memory", "disks", "domain", "inactiveDomain", "cookie", "active"),
)


def uuid_only_problem(top: DomainTop) -> str | None:
    """``None`` when a domain's top is a snapshot's old-style ``<domain><uuid>U</uuid></domain>``
    (no attribute, one ``<uuid>`` holding a uuid and nothing else), else why it is not."""
    if top.attrs or top.stray_text is not None or len(top.children) != 1:
        return "not an old-style <domain><uuid>"
    child = top.children[0]
    if child.tag != "uuid" or child.attrs or child.nested:
        return "not an old-style <domain><uuid>"
    return UUID.check(child.text)


def source_attributes_problem(attrs: Mapping[str, str], kind: str, rule: ElementRule) -> str | None:
    """What is wrong with the attributes of a snapshot disk's ``<source>`` by
    ``rule.source_rules[kind]`` (the fast reader's whole verdict on an empty ``<source/>``), or
    ``None``."""
    shape = rule.source_rules.get(kind)
    if shape is None:
        return f"a disk of type {kind!r} has no <source> here"
    attributes, _children, required = shape
    for name, value in attrs.items():
        vr = attributes.get(name)
        if vr is None:
            if name.startswith("xmlns"):
                continue
            return f"attribute {name!r} is not allowed on the <source> of a {kind} snapshot disk"
        problem = vr.check(value)
        if problem:
            return f"<source>: {problem}"
    for name in required:
        if name not in attrs:
            return f"the <source> of a {kind} snapshot disk needs a {name!r} attribute"
    return None


def source_attribute_rule(rule: ElementRule, kind: str, name: str) -> ValueRule | None:
    """The rule a ``<source>`` holding only the attribute ``name`` (no namespace declaration), on
    a disk of type ``kind``, has its value judged by (:func:`source_attributes_problem`'s verdict
    is then that rule's on the value), or None when such a source is refused whatever the value:
    a type without a source, an attribute not allowed, another attribute required."""
    shape = rule.source_rules.get(kind)
    if shape is None:
        return None
    attributes, _children, required = shape
    vr = attributes.get(name)
    if vr is None or any(r != name for r in required):
        return None
    return vr


def judge_source(top: DomainTop, kind: str, rule: ElementRule) -> tuple[str, int] | None:
    """A snapshot disk's ``<source>`` top judged by ``rule.source_rules[kind]``: ``(problem,
    child index or -1)``, or ``None``."""
    problem = source_attributes_problem(top.attrs, kind, rule)
    if problem is not None:
        return (problem, -1)
    children = rule.source_rules[kind][1]
    for i, child in enumerate(top.children):
        if child.tag not in children:
            return (f"element <{child.tag}> is not allowed in the <source> of a {kind} snapshot disk", i)
    if top.stray_text is not None:
        return ("text is not allowed directly in <source>", -1)
    return None
