"""The parse modes: libvirt's REDEFINE and plain create, this library's default "document" mode,
and the internal format. :func:`build_checkpoint` and :func:`build_snapshot` apply them to the
values of a schema-valid document (:func:`build_record` picks by the root): every reader calls
them, so a mode is decided in one place.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Sequence

from ..errors import CheckpointError, SemanticError
from ..grammar.values import LLONG_MAX, ULONG_MAX
from ..libvirt_schemas import LibvirtSchemas, resolve
from ..markup.indentation import element_layout
from ..records import (
    Checkpoint,
    CheckpointDisk,
    Domain,
    Origin,
    Record,
    Snapshot,
    SnapshotDisk,
    make_checkpoint,
    make_snapshot,
    make_snapshot_disk,
    source_attributes,
)

__all__ = ["Options", "build_checkpoint", "build_snapshot", "build_record"]


@dataclass(frozen=True, slots=True)
class Options:
    """How to read documents. ``redefine`` and ``create`` are libvirt's two parse modes; neither
    is this library's default "document" mode, which reports what each document says.
    ``self_parent``: with ``redefine``, let a checkpoint that names itself as its parent through
    (libvirt's driver refuses it, a relation between checkpoints rather than a fault of the
    document: an archive-level analysis reports it as such).
    ``align``: align each record's disks with its domain as libvirt's driver does
    (:func:`~..align.align_disks`); the framer applies it while the document's bytes are at hand,
    so an alignment error points at the element it is about.
    ``libvirt_schemas``: judge each nested domain by libvirt's own RELAX NG schemas as well
    (:mod:`~..libvirt_schemas`; None: the built-in rules alone). Given ``"auto"`` or a directory,
    it is resolved here, once: asking for schemas that cannot be used fails now, not at the first
    domain. ``disk_only``: libvirt's ``VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY`` for snapshots (a
    REDEFINE then needs the ``disk-snapshot`` state; a plain create reads the document as offline,
    so memory cannot be saved); checkpoints have no such flag and ignore it."""

    redefine: bool = False
    create: bool = False
    internal: bool = False
    require_domain: bool = True
    clock: Callable[[], float] | None = None
    self_parent: bool = False
    align: bool = False
    libvirt_schemas: LibvirtSchemas | None = None
    disk_only: bool = False

    def __post_init__(self) -> None:
        if self.redefine and self.create:
            raise ValueError("'redefine' and 'create' exclude each other (libvirt parses a document either way, not both)")
        if self.libvirt_schemas is not None and not isinstance(self.libvirt_schemas, LibvirtSchemas):
            object.__setattr__(self, "libvirt_schemas", resolve(self.libvirt_schemas))

    @property
    def after_record(self) -> bool:
        """Whether a finished record has a step to go through while its document's bytes are at
        hand (the framer's): its domain judged by the schemas, its disks aligned."""
        return self.align or self.libvirt_schemas is not None

    @property
    def schemas_judge_domain(self) -> bool:
        """Whether libvirt's schemas alone give libvirt's verdict on a checkpoint's domain: they
        are asked for, and the mode is the default one (REDEFINE has libvirt's domain parser read
        the domain; a plain create keeps no domain in its record, and the framer judges it from
        the document's bytes, ``Framer._dropped_domain``). The fast reader then leaves a domain
        in libvirt's layout unread, for the schemas to judge
        (:meth:`.fast.domain.DomainReader.unread`); a domain they refuse is read again in full,
        so that an error this library words itself comes first, as before."""
        return self.libvirt_schemas is not None and not self.redefine and not self.create


def _error(message: str, offset: int | None, root: str) -> CheckpointError:
    return SemanticError(message, offset=offset, path=f"/{root}")


def build_checkpoint(
    name: str | None,
    description: str | None,
    parent: str | None,
    created: int | None,
    domain: Domain | None,
    active: str | None,
    disks: tuple[CheckpointDisk, ...],
    options: Options,
    origin: Origin | None = None,
    offset: int | None = None,
    root: str = "domaincheckpoint",
) -> Checkpoint:
    """Turn the values of a schema-valid document into a record, by the rules of ``options``.

    ``created`` is the creationTime already read as an integer (the schema bounds it); ``offset``
    is where the root element starts, for the errors of a mode (they concern the whole document).
    """
    description = description or None  # libvirt: empty text means absent
    if not (options.internal or options.redefine or options.create):  # the default: as written
        return make_checkpoint(name, description, parent, created, domain, origin, disks, None)
    if options.internal:
        if active is None:
            raise _error("the internal format needs an <active>0</active> or <active>1</active> element", offset, root)
        active_flag: bool | None = active == "1"
    else:
        active_flag = None
    if options.redefine:
        if name is None:
            raise _error("a redefined checkpoint must have a name: add <name>", offset, root)
        if created is None or created > LLONG_MAX:
            detail = (
                "add <creationTime>"
                if created is None
                else f"{created} does not fit libvirt's signed 64-bit creationTime (max {LLONG_MAX})"
            )
            raise _error(f"missing creationTime from existing checkpoint: {detail}", offset, root)
        if parent is not None and parent == name and not options.self_parent:
            raise _error(f"cannot set moment {name} as its own parent", offset, root)
        if domain is None and options.require_domain:
            raise _error(
                "a redefined checkpoint must carry its <domain> (libvirt >= 7.0 relaxed this: "
                "pass require_domain=False, or --no-require-domain, to accept it)",
                offset,
                root,
            )
        return make_checkpoint(name, description, parent, created, domain, origin, _without_sizes(disks), active_flag)
    if options.create:
        clock = options.clock or time.time
        now = int(clock())
        return make_checkpoint(
            name if name is not None else str(now), description, None, now, None, origin, _without_sizes(disks), active_flag
        )
    return make_checkpoint(name, description, parent, created, domain, origin, disks, active_flag)


def _without_sizes(disks: tuple[CheckpointDisk, ...]) -> tuple[CheckpointDisk, ...]:
    """libvirt's REDEFINE and create parses never read a disk's size."""
    if any(d.size is not None for d in disks):
        return tuple(replace(d, size=None) for d in disks)
    return disks


def build_record(
    root: str, fields: Mapping[str, Any], items: Sequence[Any], options: Options, origin: Origin | None, offset: int | None
) -> Record:
    """The record of a schema-valid document whose root is ``root``: its leaf ``fields`` by the
    grammar's field names and its list ``items`` (checkpoint disks, or a snapshot disk's fields)."""
    if root == "domainsnapshot":
        return build_snapshot(fields, items, options, origin, offset)
    created = fields.get("creationTime")
    return build_checkpoint(
        fields.get("name"),
        fields.get("description"),
        fields.get("parent"),
        None if created is None else int(created),
        fields.get("domain"),
        fields.get("active"),
        tuple(items),
        options,
        origin,
        offset,
        root,
    )


# -- snapshots (spec S.3) --------------------------------------------------------------------------

_STRTOLL = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-9]+)")
_OFFLINE_STATES = ("shutoff", "disk-snapshot")
_STATES = ("running", "blocked", "paused", "shutdown", "shutoff", "crashed", "pmsuspended", "disk-snapshot")
# virScaleInteger's suffixes: b/byte/bytes; k/KiB (1024) and KB (1000); and so on to E.
_SCALE_POWERS = "kmgtpe"


def _strtoll(text: str | None) -> int | None:
    """libvirt's ``virXPathLongLong``: base 10, leading whitespace and a sign allowed, the whole
    string consumed, in the signed 64-bit range; ``None`` otherwise."""
    if text is None:
        return None
    m = _STRTOLL.fullmatch(text)
    if m is None:
        return None
    value = int(m.group(1))
    return value if -LLONG_MAX - 1 <= value <= LLONG_MAX else None


def _scaled(value: str, unit: str | None) -> int | None:
    """``virParseScaledValue`` with scale 1 (``virScaleInteger``'s suffixes: b, byte, bytes; k or
    KiB for 1024 and KB for 1000, and so on to E): the size in bytes, ``None`` past ULLONG_MAX."""
    number = int(value)
    if unit and unit[0] not in "bB":
        power = _SCALE_POWERS.index(unit[0].lower()) + 1
        base = 1000 if len(unit) == 2 else 1024  # the schema allows only k, KiB and KB shapes
        number *= base**power
    return number if number <= ULONG_MAX else None


def _snapshot_error(message: str, offset: int | None) -> CheckpointError:
    return SemanticError(message, offset=offset, path="/domainsnapshot")


#: The source attribute that holds a disk's path, by storage type (libvirt's ``src->path``).
_PATH_ATTRIBUTE = {"file": "file", "block": "dev", "network": "name"}


def _snapshot_disk(item: Mapping[str, Any], read_deleting: bool, offset: int | None) -> SnapshotDisk:
    """One disk by ``virDomainSnapshotDiskDefParseXML`` (S.3.5), its values already schema-valid."""
    kind = item.get("type") or "file"
    source = item.get("source")
    path = None
    if source is not None:
        attrs = item.get("sourceAttributes") or source_attributes(source)  # the fast reader's, when it read them
        if source.count("<") == 1:  # <source .../>: laid out as libvirt lays it out already
            if not any(attrs.values()):
                source = None  # <source/>, <source file=''/>: no path
        else:
            source = element_layout(source)
            if source.count("<") == 1 and not any(attrs.values()):
                source = None  # <source></source>: no path either
        path = attrs.get(_PATH_ATTRIBUTE.get(kind, "file")) or None
    size = item.get("maxSize")
    max_size = None
    if size is not None:
        max_size = _scaled(size, item.get("maxSizeUnit"))
        if max_size is None:
            raise _snapshot_error(f"max_size {size} {item.get('maxSizeUnit')} of disk {item['name']!r} is too large (at most {ULONG_MAX} bytes)", offset)
        max_size = max_size or None
    driver = item.get("driver") or None
    mode = item.get("snapshot")
    if mode is None and (driver is not None or path is not None):
        mode = "external"
    return make_snapshot_disk(item["name"], mode, kind, source, driver, max_size, read_deleting and "deleteInProgress" in item)


def build_snapshot(
    fields: Mapping[str, Any], items: Sequence[Any], options: Options, origin: Origin | None = None, offset: int | None = None
) -> Snapshot:
    """A snapshot record from the values of a schema-valid ``<domainsnapshot>``, by libvirt 9.0's
    parser (``virDomainSnapshotDefParse``, spec S.3) in the mode ``options`` says: REDEFINE reads
    and requires name, creationTime and state, the domains, the disks' delete marks; a plain
    create reads none of those and names the snapshot after the clock; the internal format
    requires ``<active>``; the default document mode reports what the document says, with
    the parser's readings (a creationTime as libvirt reads it, a memory or disk mode implied by a
    file or format, sizes in bytes)."""
    f = fields
    name, description, parent = f.get("name") or None, f.get("description") or None, f.get("parent") or None
    state = f.get("state")
    domain: Domain | None = f.get("domain")
    inactive: Domain | None = f.get("inactiveDomain")
    cookie = f.get("cookie")
    if cookie is not None:
        cookie = element_layout(cookie)
    redefine, create = options.redefine, options.create
    active: bool | None = None
    if options.internal:
        if f.get("active") is None:
            raise _snapshot_error("Could not find 'active' element: the internal format needs <active>0</active> or <active>1</active>", offset)
        active = f["active"].strip(" \t\r\n") == "1"
    offline = False
    if redefine:
        if name is None:
            raise _snapshot_error("a redefined snapshot must have a name: add <name>", offset)
        created = _strtoll(f.get("creationTime"))
        if created is None:
            raise _snapshot_error("missing creationTime from existing snapshot: add <creationTime> with a signed 64-bit number of seconds", offset)
        if not state:
            raise _snapshot_error("missing state from existing snapshot: add <state>", offset)
        if state not in _STATES:
            raise _snapshot_error(f"Invalid state '{state}' in domain snapshot XML", offset)
        offline = state in _OFFLINE_STATES
        if options.disk_only and state != "disk-snapshot":  # virDomainSnapshotRedefineValidate
            raise _snapshot_error(f"disk-only flag for snapshot {name} requires disk-snapshot state", offset)
        if domain is not None and domain.type is None:
            domain = None  # an old-style <domain><uuid>: libvirt does not read it
        if parent is not None and parent == name and not options.self_parent:
            raise _snapshot_error(f"cannot set moment {name} as its own parent", offset)
        if domain is None and options.require_domain:
            raise _snapshot_error(
                "missing domain in snapshot: a redefined snapshot must carry its full <domain> (unless one of that name "
                "exists already: pass require_domain=False, or --no-require-domain)",
                offset,
            )
    elif create:
        offline = options.disk_only  # the QEMU driver's OFFLINE parse flag
        clock = options.clock or time.time
        created = int(clock())
        if not created:
            created = None  # libvirt's unit tests mock the clock at 0: nothing is generated then
        elif name is None:
            name = str(created)
        parent = state = domain = inactive = None
    else:
        text = f.get("creationTime")
        created = _strtoll(text)
        if text is not None and created is None:
            raise _snapshot_error(f"creationTime {text!r} is not a number of seconds libvirt reads (a signed 64-bit integer)", offset)
        if state is not None:
            state = state.strip(" \t\r\n")
    mode, file = f.get("memory"), f.get("memoryFile")
    if mode is None:
        if file is not None:
            mode = "external"
        elif redefine:
            mode = "no" if offline else "internal"
    if offline and mode not in (None, "no"):
        raise _snapshot_error("memory state cannot be saved with offline or disk-only snapshot", offset)
    if offline:
        cookie = None  # libvirt reads a save cookie only for an online snapshot
    disks = tuple(_snapshot_disk(item, not create, offset) for item in items)
    return make_snapshot(name, description, parent, created or None, domain, origin, state, mode, file, disks, inactive, cookie, active)
