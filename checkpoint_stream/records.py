"""Records: what a parsed document *is*, independent of how it was read or will be written.

Frozen, slotted and hashable, equal by value, so records can be put in sets, used as dict keys,
compared across runs and shared between threads without copies. Where a record came from
(:class:`Origin`) rides along but takes no part in equality: the same checkpoint read from two
archives is the same checkpoint.

``to_dict`` / ``from_dict`` speak the XML vocabulary (``creationTime``, ``checkpoint``), so the
JSON Lines the CLI prints read like the documents they came from: ``to_dict()`` *is* one line of
``checkpoint-stream parse``, described by the JSON Schema :func:`output_schema` loads.
``from_dict`` judges every value by the grammar's own rules (:mod:`.grammar`), the same ones the
readers apply.

A record keeps its domain as written, passwords included (a backup must restore what it saved);
what shows a record to people or to other programs does not: ``to_dict()`` strips what libvirt
prints only with its SECURE flag unless asked, and ``repr`` shows a summary of the domain.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Iterable, Mapping

from .errors import CheckpointError, SchemaError
from .grammar import GRAMMAR, Grammar
from .grammar.elements import ElementRule
from .limits import DEFAULT_LIMITS
from .markup.domain_scan import scan_domain_text
from .markup.facts import RawFacts, libvirt_disks, read_facts
from .markup.identity import layout_identity
from .markup.indentation import dedent
from .markup.secrets import strip_secrets
from .grammar.snapshot import SNAPSHOT, judge_source, uuid_only_problem

__all__ = [
    "Origin",
    "DomainDisk",
    "Domain",
    "Moment",
    "CheckpointDisk",
    "Checkpoint",
    "SnapshotDisk",
    "Snapshot",
    "Record",
    "make_checkpoint",
    "make_snapshot",
    "make_snapshot_disk",
    "make_origin",
    "as_written",
    "record_attribute",
    "canonical_uuid",
    "output_schema",
]

_HEX = frozenset("0123456789abcdef")


def renamed(text: str, tag: str, as_tag: str = "domain") -> str:
    """The element ``text`` (a ``tag`` element, stripped) under the name ``as_tag``: by default
    ``domain``, so that the domain scanner, the schemas, read its top (a snapshot's
    inactiveDomain, a disk source, a cookie); or back from ``domain`` to its own name."""
    n = len(tag) + 1
    close = f"</{tag}>"
    if text.endswith(close):
        return f"<{as_tag}" + text[n : -len(close)] + f"</{as_tag}>"
    return f"<{as_tag}" + text[n:]


def canonical_uuid(text: str | None) -> str | None:
    """A domain uuid as one spelling (lowercase, 8-4-4-4-12): the 32-hex-digit form, upper case
    and the dashed form are the same VM, and JSON consumers should not have to know it. Text that
    is no uuid is kept as it is."""
    if text is None:
        return None
    if len(text) == 36 and text.islower() and text[8] == text[13] == text[18] == text[23] == "-" and _HEX.issuperset(text[:8] + text[9:13] + text[14:18] + text[19:23] + text[24:]):
        return text  # already canonical, as libvirt writes it: no new string (chains hold millions)
    raw = text.strip()
    h = raw.replace("-", "").lower()
    if len(h) != 32 or not _HEX.issuperset(h):
        return raw or None
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def output_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one line of ``checkpoint-stream parse``, that is, of
    ``Checkpoint.to_dict()``: shipped with the package, so that consumers in other languages
    validate against the very file the tests check the output with."""
    text = resources.files(__package__).joinpath("schemas").joinpath("parse-output.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / (1024 * 1024):.1f} MiB"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a record came from: a file (and archive member), its index in that stream, and the
    byte range ``[offset, end)`` its document takes there (``end`` is ``None`` when unknown). The
    range lets a restore step fetch one document of a concatenated stream without parsing again."""

    path: str | None = None
    member: str | None = None
    index: int = 0
    offset: int = 0
    end: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "member": self.member, "index": self.index}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Origin":
        """Inverse of :meth:`to_dict` (a parse line's ``source``)."""
        if not isinstance(data, Mapping):
            raise SchemaError(f"'source' must be an object or null, not {type(data).__name__}")
        _only_keys(data, ("path", "member", "index"), "source")
        path, member, index = data.get("path"), data.get("member"), data.get("index", 0)
        for key, value in (("path", path), ("member", member)):
            if value is not None and not isinstance(value, str):
                raise SchemaError(f"source field {key!r} must be a string or null, not {type(value).__name__}")
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise SchemaError(f"source field 'index' must be an integer of 0 or more, not {index!r}")
        return cls(path, member, index)


@dataclass(frozen=True, slots=True)
class DomainDisk:
    """The facts about one ``<disk>`` of a domain that checkpoint disk alignment needs, as
    libvirt's domain parser has them (a checkpoint names a disk by libvirt's target, and lists
    the disks in libvirt's order).

    ``target`` is libvirt's target name: the ``<target dev>`` without one leading ``ioemu:``,
    which libvirt strips (``ioemu:vda`` is the disk ``vda``). ``source`` is the source path
    (``file``, ``dev`` or ``dir``; a network disk's ``name``), ``storage`` the disk's ``type``
    (file, block, dir, network, volume, ...) and ``protocol`` a network source's protocol.
    ``bus`` is the bus libvirt gives the disk: the target's ``bus`` attribute, or without one the
    default libvirt derives (floppy: fdc; hd: ide, sd: scsi, vd: virtio, xvd: xen, ubd: uml;
    else ide). It was added after the other facts and takes no part in equality, so
    that ``DomainDisk`` values built before it existed (without a bus) still compare equal."""

    target: str
    source: str | None = None
    readonly: bool = False
    device: str = "disk"
    storage: str = "file"
    protocol: str | None = None
    bus: str | None = field(default=None, compare=False)
    #: The disk's ``snapshot`` attribute: the snapshot mode its snapshots default to (libvirt's
    #: domain post-parse makes it ``no`` for a read-only disk). Later still, outside equality.
    snapshot: str | None = field(default=None, compare=False)

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
class _Facts:
    type: str | None
    name: str | None
    uuid: str | None
    disks: tuple[DomainDisk, ...]


def _facts(raw: RawFacts) -> _Facts:
    """The facts of a domain as libvirt's parser leaves it: its disks in libvirt's order, under
    libvirt's target names, with libvirt's buses (:func:`~.markup.facts.libvirt_disks`)."""
    return _Facts(raw.type, raw.name, raw.uuid, tuple(DomainDisk(*d) for d in libvirt_disks(raw.disks)))


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
    _text: Any = field(default=None, compare=False, hash=False, repr=False)

    def __getattr__(self, name: str) -> Any:
        # Reached only when a slot is not set: the xml of a domain made by :meth:`_from_span` or
        # :meth:`_from_text`.
        if name == "xml":
            source = object.__getattribute__(self, "_source")
            if source is not None:
                span, width = source
                text = span.decode("utf-8")
                if width:
                    text = text.replace("\n" + " " * width, "\n")
                object.__setattr__(self, "xml", text)
                return text
            held = object.__getattribute__(self, "_text")
            if held is not None:
                written, width, markup = held
                text = dedent(written if type(written) is str else written.decode("utf-8"), width, markup)
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
        _D_TEXT(domain, None)
        if xml is not None:
            _D_XML(domain, xml)
        return domain

    @classmethod
    def _from_text(cls, text: str | bytes, width: int, markup: bool = False) -> "Domain":
        """The domain whose xml is ``text`` as its document wrote it (well formed, LF line ends;
        bytes: UTF-8, already checked) with ``width`` spaces of indentation taken off its
        structural line breaks (:func:`~.markup.indentation.dedent`): made when first read (a
        validation never reads it, see :func:`as_written`). ``markup``: the text may hold a
        comment, CDATA section or PI (the general reader's domain; the fast reader reads none)."""
        domain = _new(cls)
        _D_FACTS(domain, None)
        _D_SOURCE(domain, None)
        _D_TEXT(domain, (text, width, markup))
        return domain

    def __repr__(self) -> str:
        # A domain is kilobytes of XML and may hold passwords: neither belongs in a log line.
        size = len(self.xml.encode("utf-8"))
        try:
            name, uuid = self.identity
            kind = self.type
        except Exception:  # a domain made by hand that is no XML: a repr must still come out
            name = uuid = kind = None
        words = ["Domain"]
        if kind is not None:
            words.append(kind)
        if name is not None:
            words.append(repr(name))
        if uuid is not None:
            words.append(f"uuid={canonical_uuid(uuid)}")
        words.append(_size(size))
        return f"<{' '.join(words)}>"

    def _get_facts(self) -> _Facts:
        facts: _Facts | None = self._facts
        if facts is None:
            facts = _facts(read_facts(self.xml))
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
    def identity(self) -> tuple[str | None, str | None]:
        """``(name, uuid)``: from the facts when they are known, else, for a domain kept in
        libvirt's layout, from its name and uuid lines alone (no parse: an archive-level pass
        asks this of every record)."""
        facts = self._facts
        if facts is None:
            source = self._source
            if source is not None:
                found = layout_identity(*source)
                if found is not None:
                    return found
            facts = self._get_facts()
        return facts.name, facts.uuid

    @property
    def disks(self) -> tuple[DomainDisk, ...]:
        """The domain's disks in the order libvirt's parser puts them (by bus and target as
        written, see :mod:`.markup.facts`): the order a REDEFINE of a checkpoint carrying this
        domain lists them in (:func:`~.align.align_disks` explains the plain create's). For a
        domain libvirt itself printed, the document order."""
        return self._get_facts().disks

    @classmethod
    def from_xml(cls, xml: str, *, grammar: Grammar = GRAMMAR, tag: str = "domain", uuid_only: bool = False) -> "Domain":
        """Build a domain from standalone XML, judged by exactly the rules a nested domain meets
        (well-formedness, the security policy and limits, the domain grammar's top). ``tag``: the
        element's name (a snapshot's ``inactiveDomain``); ``uuid_only``: a snapshot's old-style
        ``<domain><uuid>…</uuid></domain>`` is taken too."""
        text = xml.strip()
        n = len(tag) + 1
        if not text.startswith("<" + tag) or text[n : n + 1] not in (" ", "\t", "\r", "\n", ">", "/"):
            raise SchemaError(f"expected a <{tag}> element, not {text[:20]!r}")
        if tag != "domain":
            text = renamed(text, tag)
        try:
            top = scan_domain_text(text, grammar.domain, DEFAULT_LIMITS)
        except CheckpointError as err:
            raise type(err)(f"{tag} XML: {err.message}") from None
        if not (uuid_only and uuid_only_problem(top) is None):
            problem = grammar.domain.check(top)
            if problem:
                raise SchemaError(f"{tag} XML: {problem[0]}")
        if tag != "domain":
            text = xml.strip()
        return cls(text)


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
    libvirt never reads it back. Fields follow ``grammar.checkpoint.DISK.fields``."""

    name: str
    checkpoint: str = "bitmap"
    bitmap: str | None = None
    size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {f.field: getattr(self, f.field) for f in GRAMMAR.checkpoint.rules["disk"].fields}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, grammar: Grammar = GRAMMAR) -> "CheckpointDisk":
        """Inverse of :meth:`to_dict`, each value judged by the grammar's ``<disk>`` rule."""
        rule = grammar.checkpoint.rules["disk"]
        _only_keys(data, [f.field for f in rule.fields], "disk")
        attrs: dict[str, str] = {}
        for f in rule.fields:
            value = data.get(f.field)
            if value is not None:
                attrs[f.attribute] = _text(value, f.convert is int, f.field, "disk")
        for name in rule.required_attributes:
            if name not in attrs:
                raise SchemaError(f"disk field {name!r} is required")
        problem = rule.check_attributes(attrs)
        if problem:
            raise SchemaError(problem)
        return cls(*rule.record_values(attrs))


#: Record attribute for a field of the XML vocabulary, where the two differ.
_ATTRIBUTE = {"creationTime": "creation_time"}


def record_attribute(field: str) -> str:
    """The record's attribute for a field of the XML vocabulary (``creationTime`` ->
    ``creation_time``; the others are spelled alike)."""
    return _ATTRIBUTE.get(field, field)


@dataclass(frozen=True, slots=True)
class Checkpoint(Moment):
    """A ``<domaincheckpoint>``. ``active`` is set only when read in the internal format."""

    disks: tuple[CheckpointDisk, ...] = ()
    active: bool | None = None

    def __repr__(self) -> str:
        # The dataclass's repr would print the whole domain, passwords included.
        parts = [f"name={self.name!r}"]
        if self.description is not None:
            shown = self.description if len(self.description) <= 40 else self.description[:39] + "\u2026"
            parts.append(f"description={shown!r}")
        parts += [f"parent={self.parent!r}", f"creation_time={self.creation_time!r}", f"disks={len(self.disks)}"]
        if self.active is not None:
            parts.append(f"active={self.active!r}")
        parts.append(f"domain={self.domain!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def to_dict(self, *, secure: bool = False, domain: bool = True) -> dict[str, Any]:
        """The record as one line of ``checkpoint-stream parse``: ``type``, then its fields in the
        XML vocabulary and libvirt's order (``active`` only when set), then ``vm`` and ``vmName``
        (the domain's canonical uuid and its name, or null) and ``source`` (the origin, or
        null). :func:`output_schema` describes it.

        Unless ``secure``, the domain's text is stripped of what libvirt prints only with
        ``VIR_DOMAIN_CHECKPOINT_XML_SECURE`` (VNC/SPICE passwords, network disk cookies), as the
        writer strips it: a record with secrets then no longer round-trips through
        :meth:`from_dict`. ``domain=False`` leaves the domain's text out (null) without making
        it, as ``parse --no-domain`` prints it: ``vm`` and ``vmName`` still name the VM."""
        out: dict[str, Any] = {"type": "checkpoint"}
        for key in _JSON_KEYS:
            value = getattr(self, record_attribute(key))
            if key == "disks":
                value = [d.to_dict() for d in value]
            elif key == "domain":
                value = None if value is None or not domain else value.xml if secure else strip_secrets(value.xml)
            elif key == "active" and value is None:
                continue
            out[key] = value
        return _with_vm_and_source(out, self.domain, self.origin)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, origin: Origin | None = None, grammar: Grammar = GRAMMAR) -> "Checkpoint":
        """Inverse of :meth:`to_dict`. Every value is judged by the grammar's rule for its element
        (the rule the readers apply), so a record built this way writes a document libvirt
        accepts. Every key may be left out but ``type`` must be ``checkpoint`` when given.

        ``vm`` and ``vmName`` are derived from the domain: when the domain is given they must
        agree with it (a line edited on one side only is refused, not half believed); when it is
        null (a ``parse --no-domain`` line) they are taken as they come and dropped. The origin is
        ``origin``, or when not given the line's ``source``."""
        if not isinstance(data, Mapping):
            raise SchemaError(f"a checkpoint must be a JSON object, not {type(data).__name__}")
        leaves = _leaves(grammar)
        _only_keys(data, ["type", "source", "vm", "vmName", "disks", *leaves], "checkpoint")
        if data.get("type", "checkpoint") != "checkpoint":
            raise SchemaError(f"'type' must be 'checkpoint', not {data.get('type')!r}")
        values: dict[str, Any] = {}
        for key, rule in leaves.items():
            value = data.get(key)
            if value is None:
                continue
            if rule.opaque:
                values[key] = Domain.from_xml(_text(value, False, key, "checkpoint"), grammar=grammar)
                continue
            if rule.kind == "flag":
                if isinstance(value, bool) or (value in (0, 1) and not isinstance(value, float)):
                    values[key] = bool(value)
                    continue
                raise SchemaError(f"{key!r} must be true, false or null, not {value!r}")
            text = _text(value, rule.kind == "integer", key, "checkpoint")
            problem = rule.text.check(text) if rule.text is not None else None
            if problem:
                raise SchemaError(f"field {key!r}: {problem}")
            values[key] = value
        disks_raw = data.get("disks")
        if disks_raw is None:
            disks_raw = []
        if not isinstance(disks_raw, list):
            raise SchemaError("'disks' must be a list of objects")
        disks = tuple(CheckpointDisk.from_dict(d, grammar=grammar) if isinstance(d, Mapping) else _bad_disk(d) for d in disks_raw)
        if "description" in values:
            values["description"] = values["description"] or None  # libvirt: empty text means absent
        _check_vm(data, values.get("domain"))
        if origin is None and data.get("source") is not None:
            origin = Origin.from_dict(data["source"])
        return cls(**{_ATTRIBUTE.get(k, k): v for k, v in values.items()}, disks=disks, origin=origin)


@dataclass(frozen=True, slots=True)
class SnapshotDisk:
    """One ``<disk>`` of a snapshot, as libvirt's parser holds it (``virDomainSnapshotDiskDef``).

    ``snapshot`` is the mode (``no``, ``internal``, ``external``, ``manual``, or ``None`` when
    the document leaves it to the driver); ``type`` the storage type (libvirt's default is
    ``file``); ``source`` the ``<source>`` element as written (its indentation taken off), or
    ``None`` when there is none or it is empty; ``driver`` the image format of ``<driver
    type>``; ``max_size`` the driver's metadata cache size in bytes (0 and absent are ``None``);
    ``delete_in_progress`` libvirt's ``<snapshotDeleteInProgress/>`` mark."""

    name: str
    snapshot: str | None = None
    type: str = "file"
    source: str | None = None
    driver: str | None = None
    max_size: int | None = None
    delete_in_progress: bool = False

    @property
    def path(self) -> str | None:
        """The source's path: ``file`` for a file, ``dev`` for a block device, the network
        source's ``name`` (libvirt's ``src->path``); ``None`` without one."""
        if self.source is None:
            return None
        attrs = source_attributes(self.source)
        key = {"file": "file", "block": "dev", "network": "name"}.get(self.type, "file")
        return attrs.get(key) or None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "snapshot": self.snapshot,
            "type": self.type,
            "source": self.source,
            "driver": self.driver,
            "maxSize": self.max_size,
            "snapshotDeleteInProgress": self.delete_in_progress,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SnapshotDisk":
        """Inverse of :meth:`to_dict`, each value judged by the snapshot grammar's rules."""
        if not isinstance(data, Mapping):
            raise SchemaError(f"each disk must be a JSON object, not {type(data).__name__}")
        _only_keys(data, ("name", "snapshot", "type", "source", "driver", "maxSize", "snapshotDeleteInProgress"), "disk")
        rules = SNAPSHOT.rules
        attrs = {k: _text(data[k], False, k, "disk") for k in ("name", "snapshot", "type") if data.get(k) is not None}
        if "name" not in attrs:
            raise SchemaError("disk field 'name' is required")
        kind = attrs.pop("type", "file")
        source = data.get("source")
        driver = data.get("driver")
        size = data.get("maxSize")
        deleting = data.get("snapshotDeleteInProgress", False)
        if not isinstance(deleting, bool):
            raise SchemaError(f"disk field 'snapshotDeleteInProgress' must be true or false, not {deleting!r}")
        # The type is an attribute only beside a path or a format (libvirt prints it then only).
        problem = rules["disk"].check_attributes({**attrs, "type": kind} if (source or driver or kind != "file") else attrs)
        if problem:
            raise SchemaError(problem)
        if source is not None:
            source = _text(source, False, "source", "disk")
            problem = source_problem(source, kind, rules["disk/source"])
            if problem:
                raise SchemaError(f"disk {attrs['name']!r}: {problem}")
        if driver is not None:
            problem = rules["disk/driver"].check_attributes({"type": _text(driver, False, "driver", "disk")})
            if problem:
                raise SchemaError(problem)
        if size is not None:
            problem = rules["disk/driver/metadata_cache/max_size"].text.check(_text(size, True, "maxSize", "disk"))  # type: ignore[union-attr]
            if problem:
                raise SchemaError(problem)
        for key, value in (("source", source), ("driver", driver), ("maxSize", size)):
            if value is not None:
                child = rules["disk"].child_excluded({**attrs, "type": kind}, "driver" if key == "maxSize" else key)
                if child:
                    raise SchemaError(child)
        return cls(attrs["name"], attrs.get("snapshot"), kind, source, driver, size or None, deleting)


@dataclass(frozen=True, slots=True)
class Snapshot(Moment):
    """A ``<domainsnapshot>``: the moment's fields, then ``state``, the memory snapshot's mode
    and file, the disks, the domain as it was when inactive (``inactive_domain``), the
    hypervisor's save ``cookie`` (its XML as written) and, in the internal format, ``active``.
    ``domain`` may be a snapshot's old-style ``<domain><uuid>U</uuid></domain>`` (its ``type``
    is then ``None``)."""

    state: str | None = None
    memory: str | None = None
    memory_file: str | None = None
    disks: tuple[SnapshotDisk, ...] = ()
    inactive_domain: Domain | None = None
    cookie: str | None = None
    active: bool | None = None

    def __repr__(self) -> str:
        parts = [f"name={self.name!r}", f"state={self.state!r}", f"parent={self.parent!r}", f"creation_time={self.creation_time!r}"]
        if self.memory is not None:
            parts.append(f"memory={self.memory!r}")
        parts.append(f"disks={len(self.disks)}")
        if self.active is not None:
            parts.append(f"active={self.active!r}")
        parts.append(f"domain={self.domain!r}")
        return f"Snapshot({', '.join(parts)})"

    def to_dict(self, *, secure: bool = False, domain: bool = True) -> dict[str, Any]:
        """The record as one line of ``checkpoint-stream parse``, ``"type": "snapshot"``; the
        fields in libvirt's order and the XML vocabulary (``memory`` is ``{"snapshot", "file"}``
        or null), then ``vm``, ``vmName`` and ``source`` as for checkpoints. ``secure`` and
        ``domain`` as :meth:`Checkpoint.to_dict` (they apply to ``inactiveDomain`` too)."""

        def dom(value: Domain | None) -> str | None:
            if value is None or not domain:
                return None
            return value.xml if secure else strip_secrets(value.xml)

        out: dict[str, Any] = {
            "type": "snapshot",
            "name": self.name,
            "description": self.description,
            "state": self.state,
            "parent": self.parent,
            "creationTime": self.creation_time,
            "memory": None if self.memory is None else {"snapshot": self.memory, "file": self.memory_file},
            "disks": [d.to_dict() for d in self.disks],
            "domain": dom(self.domain),
            "inactiveDomain": dom(self.inactive_domain),
            "cookie": self.cookie,
        }
        if self.active is not None:
            out["active"] = self.active
        return _with_vm_and_source(out, self.domain, self.origin)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, origin: Origin | None = None, grammar: Grammar = GRAMMAR) -> "Snapshot":
        """Inverse of :meth:`to_dict`, every value judged by the snapshot grammar's rule for its
        element (the rules the readers apply); ``type`` must be ``snapshot`` when given."""
        if not isinstance(data, Mapping):
            raise SchemaError(f"a snapshot must be a JSON object, not {type(data).__name__}")
        keys = ("type", "source", "vm", "vmName", "name", "description", "state", "parent", "creationTime", "memory", "disks",
                "domain", "inactiveDomain", "cookie", "active")
        _only_keys(data, keys, "snapshot")
        if data.get("type", "snapshot") != "snapshot":
            raise SchemaError(f"'type' must be 'snapshot', not {data.get('type')!r}")
        rules = SNAPSHOT.rules
        values: dict[str, Any] = {}
        for key, rule_key in (("name", "name"), ("description", "description"), ("state", "state"), ("parent", "parent/name")):
            value = data.get(key)
            if value is not None:
                text = _text(value, False, key, "snapshot")
                problem = rules[rule_key].text.check(text)  # type: ignore[union-attr]
                if problem:
                    raise SchemaError(f"field {key!r}: {problem}")
                values[key] = text
        created = data.get("creationTime")
        if created is not None:
            _text(created, True, "creationTime", "snapshot")
            values["creation_time"] = created
        memory = data.get("memory")
        if memory is not None:
            if not isinstance(memory, Mapping):
                raise SchemaError(f"'memory' must be an object or null, not {type(memory).__name__}")
            _only_keys(memory, ("snapshot", "file"), "memory")
            attrs = {k: _text(memory[k], False, k, "memory") for k in ("snapshot", "file") if memory.get(k) is not None}
            problem = rules["memory"].check_attributes(attrs)
            if problem:
                raise SchemaError(problem)
            values["memory"] = attrs.get("snapshot", "external" if "file" in attrs else None)
            values["memory_file"] = attrs.get("file")
        disks_raw = data.get("disks") or []
        if not isinstance(disks_raw, list):
            raise SchemaError("'disks' must be a list of objects")
        values["disks"] = tuple(SnapshotDisk.from_dict(d) for d in disks_raw)
        if data.get("domain") is not None:
            values["domain"] = Domain.from_xml(_text(data["domain"], False, "domain", "snapshot"), grammar=grammar, uuid_only=True)
        if data.get("inactiveDomain") is not None:
            text = _text(data["inactiveDomain"], False, "inactiveDomain", "snapshot")
            values["inactive_domain"] = Domain.from_xml(text, grammar=grammar, tag="inactiveDomain")
        if data.get("cookie") is not None:
            text = _text(data["cookie"], False, "cookie", "snapshot").strip()
            if not (text.startswith("<cookie") and (text.endswith("</cookie>") or text.endswith("/>"))):
                raise SchemaError("'cookie' must be a <cookie> element")
            try:
                scan_domain_text(renamed(text, "cookie"), grammar.domain, DEFAULT_LIMITS)
            except CheckpointError as err:
                raise type(err)(f"cookie XML: {err.message}") from None
            values["cookie"] = text
        active = data.get("active")
        if active is not None:
            if isinstance(active, bool) or (active in (0, 1) and not isinstance(active, float)):
                values["active"] = bool(active)
            else:
                raise SchemaError(f"'active' must be true, false or null, not {active!r}")
        if "description" in values:
            values["description"] = values["description"] or None
        _check_vm(data, values.get("domain"))
        if origin is None and data.get("source") is not None:
            origin = Origin.from_dict(data["source"])
        return cls(**values, origin=origin)


#: A record of either kind.
Record = Checkpoint | Snapshot

_SOURCE_TAG = re.compile(r"<source((?:[^>'\"]|'[^']*'|\"[^\"]*\")*?)(/?)>")
_ATTR = re.compile(r"([^\s=]+)\s*=\s*(?:'([^']*)'|\"([^\"]*)\")")
_ENTITIES = {"&lt;": "<", "&gt;": ">", "&amp;": "&", "&apos;": "'", "&quot;": '"'}
_ENTITY = re.compile(r"&(?:lt|gt|amp|apos|quot|#[0-9]+|#x[0-9a-fA-F]+);")


def _unescape(value: str) -> str:
    if "&" not in value:
        return value

    def one(m: "re.Match[str]") -> str:
        t = m.group(0)
        if t in _ENTITIES:
            return _ENTITIES[t]
        return chr(int(t[3:-1], 16) if t[2] == "x" else int(t[2:-1]))

    return _ENTITY.sub(one, value)


def source_attributes(xml: str) -> dict[str, str]:
    """The attributes of a ``<source>`` element's start tag (values unescaped)."""
    m = _SOURCE_TAG.match(xml)
    if m is None:
        return {}
    return {a.group(1): _unescape(a.group(2) if a.group(2) is not None else a.group(3)) for a in _ATTR.finditer(m.group(1))}


def source_problem(xml: str, kind: str, rule: ElementRule) -> str | None:
    """What is wrong with a standalone ``<source>`` of a disk of type ``kind``, by the rule's
    ``source_rules`` (the reader judges a nested one by the same function on its top)."""
    text = xml.strip()
    if not text.startswith("<source") or text[7:8] not in (" ", "\t", "\r", "\n", ">", "/"):
        return f"expected a <source> element, not {text[:20]!r}"
    try:
        top = scan_domain_text(renamed(text, "source"), GRAMMAR.domain, DEFAULT_LIMITS)
    except CheckpointError as err:
        return f"source XML: {err.message}"
    found = judge_source(top, kind, rule)
    return None if found is None else found[0]


def _with_vm_and_source(out: dict[str, Any], domain: Domain | None, origin: Origin | None) -> dict[str, Any]:
    """A parse line's last keys, for either kind: ``vm`` and ``vmName`` (the domain's canonical
    uuid and name, or null) and ``source``."""
    if domain is not None:
        name, uuid = domain.identity
        out["vm"], out["vmName"] = canonical_uuid(uuid), name
    else:
        out["vm"] = out["vmName"] = None
    out["source"] = None if origin is None else origin.to_dict()
    return out


def _check_vm(data: Mapping[str, Any], domain: Domain | None) -> None:
    """``vm`` and ``vmName``, when given, agree with ``domain`` (see :meth:`Checkpoint.from_dict`)."""
    for key in ("vm", "vmName"):
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise SchemaError(f"{key!r} must be a string or null, not {type(value).__name__}")
    if domain is None:
        return
    name, uuid = domain.identity
    if "vm" in data and canonical_uuid(data["vm"]) != canonical_uuid(uuid):
        raise SchemaError(f"'vm' is {data['vm']!r} but the domain's uuid is {canonical_uuid(uuid)!r}")
    if "vmName" in data and data["vmName"] != name:
        raise SchemaError(f"'vmName' is {data['vmName']!r} but the domain's name is {name!r}")


def _json_keys(grammar: Grammar) -> tuple[str, ...]:
    """The record's fields in the XML vocabulary, in libvirt's layout order."""
    cg = grammar.checkpoint
    root = cg.root_rule(True)
    keys = []
    for tag in cg.layout:
        rule = cg.rules[root.children[tag]]
        if rule.field is None and len(rule.children) == 1:
            child = cg.rules[next(iter(rule.children.values()))]
            keys.append(child.field if child.field is not None else tag)  # a wrapper (parent) or a list (disks)
        else:
            keys.append(rule.field or tag)
    return tuple(keys)


def _leaves(grammar: Grammar) -> dict[str, ElementRule]:
    """JSON key -> rule, for every element of the checkpoint grammar that fills a record field."""
    return {rule.field: rule for rule in grammar.checkpoint.rules.values() if rule.field is not None}


def _bad_disk(value: object) -> CheckpointDisk:
    raise SchemaError(f"each disk must be a JSON object, not {type(value).__name__}")


def _only_keys(data: Mapping[str, Any], allowed: Iterable[str], what: str) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise SchemaError(f"unknown {what} field(s): {', '.join(map(repr, unknown))}")


def _text(value: Any, integer: bool, key: str, what: str) -> str:
    """A JSON value as the text an XML document would hold, type-checked."""
    if integer:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SchemaError(f"{what} field {key!r} must be an integer, not {type(value).__name__}")
        return str(value)
    if not isinstance(value, str):
        raise SchemaError(f"{what} field {key!r} must be a string, not {type(value).__name__}")
    return value


_JSON_KEYS = _json_keys(GRAMMAR)


# -- building records in bulk --------------------------------------------------------------------
# A frozen dataclass's generated __init__ sets each field through object.__setattr__ (to get past
# its own frozen __setattr__): about 0.1 us a field, which is most of what a record costs when a
# stream holds hundreds of thousands of them. The readers build records through the slots' own
# descriptors instead: the very same objects (same type, same slots, equal and hashable as usual)
# in half the time. The values are the readers' (already checked); hand-built records keep using
# the classes themselves.


def slot_setters(cls: type, names: tuple[str, ...]) -> tuple[Any, ...]:
    setters = []
    for name in names:
        owner = next(k for k in cls.__mro__ if name in k.__dict__)
        setters.append(owner.__dict__[name].__set__)
    return tuple(setters)


_new = object.__new__


def as_written(domain: Domain) -> str | bytes:
    """The text of ``domain`` as its document wrote it, where the reader kept it (the span or
    text a :meth:`Domain._from_span` or :meth:`Domain._from_text` domain is made from: the
    checkpoint's indentation still on, UTF-8 bytes or text, line ends LF or as written), else
    :attr:`Domain.xml`. libvirt validates a document as given, so this is what its schemas are
    shown (:mod:`.libvirt_schemas`); it also spares a domain nobody reads the decoding and the
    dedent that ``xml`` costs."""
    source = domain._source
    if source is not None:
        written: str | bytes = source[0]
        return written
    held = domain._text
    if held is not None:
        written = held[0]
        return written
    return domain.xml

_D_XML, _D_FACTS, _D_SOURCE, _D_TEXT = slot_setters(Domain, ("xml", "_facts", "_source", "_text"))
(_C_NAME, _C_DESCRIPTION, _C_PARENT, _C_TIME, _C_DOMAIN, _C_ORIGIN, _C_DISKS, _C_ACTIVE) = slot_setters(
    Checkpoint, ("name", "description", "parent", "creation_time", "domain", "origin", "disks", "active")
)
_O_PATH, _O_MEMBER, _O_INDEX, _O_OFFSET, _O_END = slot_setters(Origin, ("path", "member", "index", "offset", "end"))
_S_FIELDS = ("name", "description", "parent", "creation_time", "domain", "origin", "state", "memory", "memory_file", "disks",
             "inactive_domain", "cookie", "active")
_S_SETTERS = slot_setters(Snapshot, _S_FIELDS)
_SD_SETTERS = slot_setters(SnapshotDisk, ("name", "snapshot", "type", "source", "driver", "max_size", "delete_in_progress"))
_SD_NAME, _SD_SNAPSHOT, _SD_TYPE, _SD_SOURCE, _SD_DRIVER, _SD_MAX_SIZE, _SD_DELETING = _SD_SETTERS
#: Sets a record's domain (a reader's own, just made record only).
set_domain = _C_DOMAIN


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


def make_snapshot(*values: Any) -> Snapshot:
    """``Snapshot(...)`` with every field given in declaration order, built through the slots."""
    record = _new(Snapshot)
    for setter, value in zip(_S_SETTERS, values):
        setter(record, value)
    return record


def make_snapshot_disk(
    name: str, snapshot: str | None, type: str, source: str | None, driver: str | None, max_size: int | None, delete_in_progress: bool
) -> SnapshotDisk:
    """``SnapshotDisk(...)`` with every field given in declaration order, built through the slots
    (one call a field: a snapshot has a few disks, each made anew)."""
    disk = _new(SnapshotDisk)
    _SD_NAME(disk, name)
    _SD_SNAPSHOT(disk, snapshot)
    _SD_TYPE(disk, type)
    _SD_SOURCE(disk, source)
    _SD_DRIVER(disk, driver)
    _SD_MAX_SIZE(disk, max_size)
    _SD_DELETING(disk, delete_in_progress)
    return disk


def make_origin(path: str | None, member: str | None, index: int, offset: int, end: int | None) -> Origin:
    """``Origin(path, member, index, offset, end)``, built through the slots (see above)."""
    origin = _new(Origin)
    _O_PATH(origin, path)
    _O_MEMBER(origin, member)
    _O_INDEX(origin, index)
    _O_OFFSET(origin, offset)
    _O_END(origin, end)
    return origin
