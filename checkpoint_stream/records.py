"""Records: what a parsed document *is*, independent of how it was read or will be written.

Frozen, slotted and hashable, equal by value, so records can be put in sets, used as dict keys,
compared across runs and shared between threads without copies. Where a record came from
(:class:`Origin`) rides along but takes no part in equality: the same checkpoint read from two
archives is the same checkpoint.

``to_dict`` / ``from_dict`` speak the XML vocabulary (``creationTime``, ``checkpoint``), so the
JSON Lines the CLI prints read like the documents they came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from .errors import SchemaError
from .schema import CHECKPOINT_TYPE, DISK_NAME, NAME, ULONG

__all__ = ["Origin", "DomainDisk", "Domain", "Moment", "CheckpointDisk", "Checkpoint"]


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a record came from: a file (and archive member) and its index in that stream."""

    path: str | None = None
    member: str | None = None
    index: int = 0
    offset: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "member": self.member, "index": self.index}


@dataclass(frozen=True, slots=True)
class DomainDisk:
    """The facts about one ``<disk>`` of a domain that checkpoint disk alignment needs.

    ``source`` is the source path (``file``, ``dev`` or ``dir``; a network disk's ``name``),
    ``storage`` the disk's ``type`` (file, block, dir, network, volume, ...) and ``protocol`` a
    network source's protocol."""

    target: str
    source: str | None = None
    readonly: bool = False
    device: str = "disk"
    storage: str = "file"
    protocol: str | None = None

    @property
    def empty(self) -> bool:
        """libvirt's ``virStorageSourceIsEmpty``: local storage without a path, or a network
        source without a protocol (a volume is never empty: its pool says where it is)."""
        if self.storage in ("file", "block", "dir"):
            return self.source is None
        if self.storage == "network":
            return self.protocol is None
        return self.storage == "none"


@dataclass(frozen=True, slots=True)
class Domain:
    """A nested ``<domain>`` kept as text, with the facts checkpoints need read from it on demand.

    ``xml`` is the element exactly as the document wrote it, from ``<domain`` to ``</domain>``,
    with the indentation of the enclosing checkpoint taken off (the text a ``virsh dumpxml`` of the
    same domain would show). The writer puts that indentation back, so libvirt's own output
    round-trips byte for byte. The facts (type, name, uuid, disks) are parsed lazily the first
    time one is asked for: most pipelines only pass the domain through. For the same reason the
    parser may hand over a domain whose text is made (decoded, indentation taken off) the first
    time ``xml`` is read: the value is the same, only when the work is done differs.
    """

    xml: str
    _facts: Any = field(default=None, compare=False, hash=False, repr=False)
    _source: Any = field(default=None, compare=False, hash=False, repr=False)

    def __getattr__(self, name: str) -> Any:
        # Reached only when a slot is not set: the xml of a domain made by :meth:`_from_span`.
        if name == "xml":
            source = object.__getattribute__(self, "_source")
            if source is not None:
                span, width = source
                text = span.decode("utf-8")
                if width:
                    text = text.replace("\n" + " " * width, "\n")
                object.__setattr__(self, "xml", text)
                return text
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @classmethod
    def _from_span(cls, span: bytes, width: int, xml: str | None = None) -> "Domain":
        """The domain whose xml is ``span`` (UTF-8, already checked; each line complete markup,
        indented ``width`` spaces more than in ``xml``) with ``width`` spaces of indentation taken
        off every line: made when first read unless given. The writer writes from the span."""
        domain = _new(cls)
        _D_FACTS(domain, None)
        _D_SOURCE(domain, (span, width))
        if xml is not None:
            _D_XML(domain, xml)
        return domain

    def _get_facts(self) -> Any:
        facts = self._facts
        if facts is None:
            from .domain import read_facts

            facts = read_facts(self.xml)
            object.__setattr__(self, "_facts", facts)
        return facts

    @property
    def type(self) -> str | None:
        return self._get_facts().type

    @property
    def name(self) -> str | None:
        return self._get_facts().name

    @property
    def uuid(self) -> str | None:
        return self._get_facts().uuid

    @property
    def disks(self) -> tuple[DomainDisk, ...]:
        return self._get_facts().disks

    @classmethod
    def from_xml(cls, xml: str) -> "Domain":
        """Build a domain from standalone XML, checking what libvirt checks at its top."""
        from .domain import validate_domain_text

        validate_domain_text(xml)
        return cls(xml.strip())


@dataclass(frozen=True, slots=True)
class Moment:
    """libvirt's shared base of checkpoints and snapshots (``virDomainMomentDef``)."""

    name: str | None = None
    description: str | None = None
    parent: str | None = None
    creation_time: int | None = None
    domain: Domain | None = None
    origin: Origin | None = field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class CheckpointDisk:
    """One ``<disk>`` of a checkpoint. ``size`` is kept only in the default (document) mode:
    libvirt never reads it back."""

    name: str
    checkpoint: str = "bitmap"
    bitmap: str | None = None
    size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "checkpoint": self.checkpoint, "bitmap": self.bitmap, "size": self.size}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CheckpointDisk":
        _only_keys(data, ("name", "checkpoint", "bitmap", "size"), "disk")
        name = _str(data, "name", "disk", required=True)
        assert name is not None
        _check(DISK_NAME, name, "disk name")
        checkpoint = _str(data, "checkpoint", "disk") or "bitmap"
        _check(CHECKPOINT_TYPE, checkpoint, "checkpoint")
        bitmap = _str(data, "bitmap", "disk")
        size = _int(data, "size", "disk")
        if checkpoint == "no" and (bitmap is not None or size is not None):
            raise SchemaError(f"disk {name!r}: 'bitmap' and 'size' are not allowed with checkpoint='no'")
        return cls(name, checkpoint, bitmap, size)


@dataclass(frozen=True, slots=True)
class Checkpoint(Moment):
    """A ``<domaincheckpoint>``. ``active`` is set only when read in the internal format."""

    disks: tuple[CheckpointDisk, ...] = ()
    active: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "parent": self.parent,
            "creationTime": self.creation_time,
            "disks": [d.to_dict() for d in self.disks],
            "domain": None if self.domain is None else self.domain.xml,
        }
        if self.active is not None:
            out["active"] = self.active
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, origin: Origin | None = None) -> "Checkpoint":
        """Inverse of :meth:`to_dict`; values are checked against the schema's rules, so a record
        built this way always writes a document libvirt accepts."""
        if not isinstance(data, Mapping):
            raise SchemaError(f"a checkpoint must be a JSON object, not {type(data).__name__}")
        _only_keys(
            data,
            ("type", "name", "description", "parent", "creationTime", "disks", "domain", "active", "source"),
            "checkpoint",
        )
        if data.get("type", "checkpoint") != "checkpoint":
            raise SchemaError(f"'type' must be 'checkpoint', not {data.get('type')!r}")
        name = _str(data, "name", "checkpoint")
        if name is not None:
            _check(NAME, name, "name")
        parent = _str(data, "parent", "checkpoint")
        if parent is not None:
            _check(NAME, parent, "parent")
        creation = _int(data, "creationTime", "checkpoint")
        disks_raw = data.get("disks")
        if disks_raw is None:
            disks_raw = []
        if not isinstance(disks_raw, list):
            raise SchemaError("'disks' must be a list of objects")
        disks = tuple(CheckpointDisk.from_dict(d) if isinstance(d, Mapping) else _bad_disk(d) for d in disks_raw)
        domain_xml = _str(data, "domain", "checkpoint")
        active = data.get("active")
        if active is not None and not isinstance(active, bool):
            if active in (0, 1) and not isinstance(active, float):
                active = bool(active)
            else:
                raise SchemaError(f"'active' must be true, false or null, not {active!r}")
        return cls(
            name=name,
            description=_str(data, "description", "checkpoint") or None,
            parent=parent,
            creation_time=creation,
            domain=None if domain_xml is None else Domain.from_xml(domain_xml),
            disks=disks,
            active=active,
            origin=origin,
        )


def _bad_disk(value: object) -> CheckpointDisk:
    raise SchemaError(f"each disk must be a JSON object, not {type(value).__name__}")


def _only_keys(data: Mapping[str, Any], allowed: Iterable[str], what: str) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise SchemaError(f"unknown {what} field(s): {', '.join(map(repr, unknown))}")


def _str(data: Mapping[str, Any], key: str, what: str, *, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise SchemaError(f"{what} field {key!r} is required")
        return None
    if not isinstance(value, str):
        raise SchemaError(f"{what} field {key!r} must be a string, not {type(value).__name__}")
    return value


def _int(data: Mapping[str, Any], key: str, what: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise SchemaError(f"{what} field {key!r} must be an integer, not {type(value).__name__}")
    if value < 0 or value > (ULONG.maximum or 0):
        raise SchemaError(f"{what} field {key!r} = {value} is out of range 0..{ULONG.maximum}")
    return value


def _check(rule: Any, value: str, key: str) -> None:
    problem = rule.check(value)
    if problem:
        raise SchemaError(f"field {key!r}: {problem}")



# -- building records in bulk --------------------------------------------------------------------
# A frozen dataclass's generated __init__ sets each field through object.__setattr__ (to get past
# its own frozen __setattr__): about 0.1 us a field, which is most of what a record costs when a
# stream holds hundreds of thousands of them. The parsers build records through the slots' own
# descriptors instead: the very same objects (same type, same slots, equal and hashable as usual)
# in half the time. The values are the parsers' (already checked); hand-built records keep using
# the classes themselves.


def _slot_setters(cls: type, names: tuple[str, ...]) -> tuple[Any, ...]:
    setters = []
    for name in names:
        owner = next(k for k in cls.__mro__ if name in k.__dict__)
        setters.append(owner.__dict__[name].__set__)
    return tuple(setters)


_new = object.__new__
_D_XML, _D_FACTS, _D_SOURCE = _slot_setters(Domain, ("xml", "_facts", "_source"))
(_C_NAME, _C_DESCRIPTION, _C_PARENT, _C_TIME, _C_DOMAIN, _C_ORIGIN, _C_DISKS, _C_ACTIVE) = _slot_setters(
    Checkpoint, ("name", "description", "parent", "creation_time", "domain", "origin", "disks", "active")
)
_O_PATH, _O_MEMBER, _O_INDEX, _O_OFFSET = _slot_setters(Origin, ("path", "member", "index", "offset"))


def make_checkpoint(
    name: str | None,
    description: str | None,
    parent: str | None,
    creation_time: int | None,
    domain: Domain | None,
    origin: Origin | None,
    disks: tuple[CheckpointDisk, ...],
    active: bool | None,
) -> Checkpoint:
    """``Checkpoint(...)`` with every field given, built through the slots (see above)."""
    record = _new(Checkpoint)
    _C_NAME(record, name)
    _C_DESCRIPTION(record, description)
    _C_PARENT(record, parent)
    _C_TIME(record, creation_time)
    _C_DOMAIN(record, domain)
    _C_ORIGIN(record, origin)
    _C_DISKS(record, disks)
    _C_ACTIVE(record, active)
    return record


def make_origin(path: str | None, member: str | None, index: int, offset: int) -> Origin:
    """``Origin(path, member, index, offset)``, built through the slots (see above)."""
    origin = _new(Origin)
    _O_PATH(origin, path)
    _O_MEMBER(origin, member)
    _O_INDEX(origin, index)
    _O_OFFSET(origin, offset)
    return origin
