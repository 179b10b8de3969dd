"""Disk alignment against a domain: libvirt's driver layer (spec A.5 and A.6).

libvirt runs this on every plain create (against the live domain) and on a REDEFINE whose document
carries a ``<domain>`` (against that domain): the checkpoint's ``<disks>`` are checked against the
domain's disks and rewritten to list every domain disk, in the domain's order. Without a domain
(a REDEFINE without ``<domain>``, allowed since libvirt 7.0) the disks are kept exactly as given,
duplicates and unknown names included, and only default bitmap names are filled in.

"The domain's order" is libvirt's, not the document's: libvirt's parser sorts a domain's disks
as it reads them (``virDomainDiskInsert``: by bus, then by ``virDiskNameToIndex`` of the target)
and names them by target with ``ioemu:`` stripped; :attr:`.Domain.disks` has both. How often the
domain was parsed matters for a domain not in libvirt's own layout, because the first parse
compares buses and names as written (a disk without ``bus`` is on no bus yet, ``ioemu:vdb`` has
no index) and later ones compare libvirt's (measured with libvirt 9.0, tests/test_align_libvirt.py):

* REDEFINE aligns against the document's ``<domain>`` parsed once: :attr:`.Domain.disks` as is;
* a plain create aligns against a copy of the live domain (``virDomainDefCopy``: written and read
  again), which was defined, and started from a copy, before: parsed at least twice. The second
  parse sorts libvirt's buses and names again, and a third changes nothing. So with the
  ``domain`` argument (the live domain) the disks are sorted once more that way.
  For example disks written ``<target dev='vdb'/>`` then ``<target dev='vda' bus='virtio'/>``
  are ``vdb, vda`` on a REDEFINE (no bus and virtio differ at first) and ``vda, vdb`` on a
  plain create.

Which error a bad request gets does not depend on that order: libvirt checks the requested disks
in document order, each looked up by name, and only then lists the domain's disks.

Errors are :class:`~.errors.SemanticError`. Their ``message`` is libvirt's text without libvirt's
category prefix (``no disk named 'vdz'``), as elsewhere in this library; the full text libvirt
would report, prefix included (``unsupported configuration: no disk named 'vdz'``), is on the
exception as ``libvirt_message``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from .errors import SemanticError
from .markup.facts import default_disk_bus, disk_name_index, libvirt_disk_order
from .records import Checkpoint, CheckpointDisk, Domain, DomainDisk

__all__ = ["align_disks", "assign_default_bitmaps", "CONFIG_UNSUPPORTED", "INTERNAL_ERROR"]

#: libvirt's category prefixes for the errors raised here (VIR_ERR_CONFIG_UNSUPPORTED,
#: VIR_ERR_INTERNAL_ERROR).
CONFIG_UNSUPPORTED = "unsupported configuration: "
INTERNAL_ERROR = "internal error: "

_DISKS_PATH = "/domaincheckpoint/disks/disk"


def _fail(prefix: str, message: str, index: int | None = None) -> SemanticError:
    path = "/domaincheckpoint/domain" if index is None else f"{_DISKS_PATH}[{index + 1}]"
    err = SemanticError(message, path=path)
    err.libvirt_message = prefix + message  # type: ignore[attr-defined]
    return err


def _unusable(disk: DomainDisk) -> bool:
    """libvirt's ``virStorageSourceIsEmpty(src) || src->readonly``. A cdrom is always read-only:
    libvirt's domain post-parse forces ``readonly`` on every cdrom device."""
    return disk.empty or disk.readonly or disk.device == "cdrom"


def _lookup(disks: Sequence[DomainDisk], name: str) -> int:
    """libvirt's ``virDomainDiskIndexByName(def, name, false)``: a name not starting with '/' is a
    target (first exact match); one starting with '/' must be the source of exactly one disk."""
    if not name.startswith("/"):
        for i, disk in enumerate(disks):
            if disk.target == name:
                return i
        return -1
    found = -1
    for i, disk in enumerate(disks):
        if disk.source == name:
            if found != -1:
                return -1  # ambiguous path: not found
            found = i
    return found


def _reparsed(disks: tuple[DomainDisk, ...]) -> tuple[DomainDisk, ...]:
    """The order ``disks`` (in :attr:`.Domain.disks` order) take when libvirt parses the domain
    again: ``virDomainDiskInsert`` now sees libvirt's bus and target name of every disk."""
    keys = [(d.bus or default_disk_bus(d.device, d.target), disk_name_index(d.target)) for d in disks]
    order = libvirt_disk_order(keys)
    if order == list(range(len(disks))):
        return disks
    return tuple(disks[i] for i in order)


def assign_default_bitmaps(checkpoint: Checkpoint) -> Checkpoint:
    """Give every ``bitmap`` disk without a bitmap the checkpoint's name (spec A.5). An explicit
    bitmap, even an empty one, is kept. Returns ``checkpoint`` itself when nothing changes."""
    name = checkpoint.name
    if name is None or not any(d.checkpoint == "bitmap" and d.bitmap is None for d in checkpoint.disks):
        return checkpoint
    disks = tuple(
        replace(d, bitmap=name) if d.checkpoint == "bitmap" and d.bitmap is None else d for d in checkpoint.disks
    )
    return replace(checkpoint, disks=disks)


def align_disks(checkpoint: Checkpoint, domain: Domain | None = None) -> Checkpoint:
    """Return ``checkpoint`` with its disks aligned to ``domain`` as libvirt's driver does, then
    default bitmap names filled in.

    Without ``domain`` the checkpoint's own ``<domain>`` is used, as libvirt's REDEFINE uses it
    (disks in :attr:`.Domain.disks` order). A ``domain`` given is the live domain of a plain
    create, whose disks libvirt has parsed again since (see the module's documentation): they are
    listed in that order. For a domain in libvirt's own layout both orders are the same.

    Without any domain only the default bitmap names are filled in (libvirt's REDEFINE without
    ``<domain>``). Raises :class:`~.errors.SemanticError` with libvirt's message for each rule of
    spec A.6, checked in libvirt's order.
    """
    if domain is None:
        domain = checkpoint.domain
        if domain is None:
            return assign_default_bitmaps(checkpoint)
        dom_disks = domain.disks
    else:
        dom_disks = _reparsed(domain.disks)
    requested = checkpoint.disks
    # 1 (missing domain) cannot happen here: it is the branch above.
    if len(requested) > len(dom_disks):
        raise _fail(CONFIG_UNSUPPORTED, "too many disk checkpoint requests for domain")
    if not dom_disks:
        raise _fail(CONFIG_UNSUPPORTED, "domain must have at least one disk to perform checkpoints")
    default = "bitmap" if not requested else "no"
    chosen: dict[str, CheckpointDisk] = {}  # domain target -> requested disk (renamed to target)
    for i, want in enumerate(requested):
        idx = _lookup(dom_disks, want.name)
        if idx < 0:
            raise _fail(CONFIG_UNSUPPORTED, f"no disk named '{want.name}'", i)
        disk = dom_disks[idx]
        if disk.target in chosen:
            raise _fail(CONFIG_UNSUPPORTED, f"disk '{want.name}' specified twice", i)
        if _unusable(disk) and want.checkpoint != "no":
            raise _fail(CONFIG_UNSUPPORTED, f"disk '{want.name}' is empty or readonly", i)
        chosen[disk.target] = want if want.name == disk.target else replace(want, name=disk.target)
    out: list[CheckpointDisk] = []
    for disk in dom_disks:
        got = chosen.get(disk.target)
        if got is None:
            got = CheckpointDisk(disk.target, "no" if _unusable(disk) else default)
        out.append(got)
    return assign_default_bitmaps(replace(checkpoint, disks=tuple(out)))
