"""The parse modes: libvirt's REDEFINE and plain create, this library's default "document" mode,
and the internal format. One function, :func:`build_checkpoint`, applies them to the values of a
schema-valid document: both readers call it, so a mode is decided in one place.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable

from ..errors import CheckpointError, SemanticError
from ..grammar.values import LLONG_MAX
from ..libvirt_schemas import LibvirtSchemas, resolve
from ..records import Checkpoint, CheckpointDisk, Domain, Origin, make_checkpoint

__all__ = ["Options", "build_checkpoint"]


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
    domain."""

    redefine: bool = False
    create: bool = False
    internal: bool = False
    require_domain: bool = True
    clock: Callable[[], float] | None = None
    self_parent: bool = False
    align: bool = False
    libvirt_schemas: LibvirtSchemas | None = None

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
