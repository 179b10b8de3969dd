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
from typing import Any, Callable, Mapping, Sequence

from .errors import SemanticError
from .markup.facts import default_disk_bus, disk_name_index, libvirt_disk_order
from .records import Checkpoint, CheckpointDisk, Domain, DomainDisk, Snapshot, SnapshotDisk

__all__ = [
    "align_disks",
    "align_snapshot_disks",
    "snapshot_default_mode",
    "assign_default_bitmaps",
    "CONFIG_UNSUPPORTED",
    "INTERNAL_ERROR",
]

#: libvirt's category prefixes for the errors raised here (VIR_ERR_CONFIG_UNSUPPORTED,
#: VIR_ERR_INTERNAL_ERROR).
CONFIG_UNSUPPORTED = "unsupported configuration: "
INTERNAL_ERROR = "internal error: "

def _fail(prefix: str, message: str, index: int | None = None, root: str = "domaincheckpoint") -> SemanticError:
    path = f"/{root}/domain" if index is None else f"/{root}/disks/disk[{index + 1}]"
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


def _requested(dom_disks: Sequence[DomainDisk], chosen: Mapping[str, Any], name: str, index: int, fail: Callable[..., SemanticError]) -> DomainDisk:
    """The domain disk a moment's disk entry ``name`` (its ``index``-th) names, in libvirt's
    order of checks for both kinds: unknown, then already requested (``chosen``: by target)."""
    idx = _lookup(dom_disks, name)
    if idx < 0:
        raise fail(CONFIG_UNSUPPORTED, f"no disk named '{name}'", index)
    disk = dom_disks[idx]
    if disk.target in chosen:
        raise fail(CONFIG_UNSUPPORTED, f"disk '{name}' specified twice", index)
    return disk


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
        disk = _requested(dom_disks, chosen, want.name, i, _fail)
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


# -- snapshots (snapshot spec S.5) -----------------------------------------------------------------


def snapshot_default_mode(snapshot: Snapshot) -> str:
    """The mode a REDEFINE aligns a snapshot's unlisted disks with (``virDomainSnapshotRedefinePrep``):
    ``external`` for a disk-only snapshot or an external one (memory or any disk external), else
    ``internal``."""
    if snapshot.state == "disk-snapshot" or snapshot.memory == "external" or any(d.snapshot == "external" for d in snapshot.disks):
        return "external"
    return "internal"


def _snap_fail(prefix: str, message: str, index: int | None = None) -> SemanticError:
    return _fail(prefix, message, index, "domainsnapshot")


def _setting(disk: DomainDisk) -> str | None:
    """The domain disk's own snapshot mode after libvirt's post-parse (a read-only disk: ``no``)."""
    if disk.snapshot is not None:
        return disk.snapshot
    return "no" if disk.readonly or disk.device == "cdrom" else None


def _external_name(source: str, name: str) -> str:
    """``virDomainSnapshotDefAssignExternalNames``: the source without its extension (a '.' after
    the last '/'), then '.' and the snapshot's name."""
    dot = source.rfind(".")
    if dot > source.rfind("/"):
        source = source[:dot]
    return f"{source}.{name}"


def align_snapshot_disks(
    snapshot: Snapshot,
    domain: Domain | None = None,
    *,
    default: str | None = None,
    uniform_internal: bool = True,
    regular_file: Callable[[str], bool] | None = None,
) -> Snapshot:
    """Return ``snapshot`` with its disks aligned to a domain as libvirt's
    ``virDomainSnapshotAlignDisks`` does (spec S.5.1), external file names generated for the
    external disks that have none (S.5.2).

    The domain is the snapshot's own full ``<domain>``, else ``domain`` (the existing snapshot's,
    or the live domain); without either the snapshot is returned as it is (libvirt would say
    ``missing domain in snapshot`` unless it has one). ``default`` is the mode of unlisted
    disks (``None``: a REDEFINE's, :func:`snapshot_default_mode`); ``uniform_internal`` as
    libvirt's drivers pass it. ``regular_file(path)``: when given, a source it says is not a
    regular file gets no generated name (libvirt stat()s the source; this library does not
    look at the machine it runs on unless asked). Raises :class:`~.errors.SemanticError` with
    libvirt's message, in libvirt's order.
    """
    dom = snapshot.domain if snapshot.domain is not None and snapshot.domain.type is not None else domain
    if dom is None:
        return snapshot
    if default is None:
        default = snapshot_default_mode(snapshot)
    dom_disks = dom.disks
    requested = snapshot.disks
    if len(requested) > len(dom_disks):
        raise _snap_fail(CONFIG_UNSUPPORTED, "too many disk snapshot requests for domain")
    require_match = uniform_internal and default == "internal"
    if not dom_disks:
        return snapshot
    chosen: dict[str, tuple[int, SnapshotDisk]] = {}
    for i, want in enumerate(requested):
        disk = _requested(dom_disks, chosen, want.name, i, _snap_fail)
        setting = _setting(disk)
        mode = want.snapshot
        if mode is None:
            mode = setting if setting is not None and (not require_match or setting == "no") else default
        elif require_match and mode != default and not (mode == "no" and setting == "no"):
            raise _snap_fail(CONFIG_UNSUPPORTED, f"disk '{want.name}' must use snapshot mode '{default}'", i)
        path = want.path
        if path is not None and mode != "external":
            raise _snap_fail(CONFIG_UNSUPPORTED, f"file '{path}' for disk '{want.name}' requires use of external snapshot mode", i)
        chosen[disk.target] = (i, replace(want, name=disk.target, snapshot=mode))
    out: list[SnapshotDisk] = []
    where: list[int | None] = []
    for disk in dom_disks:
        got = chosen.get(disk.target)
        if got is None:
            setting = _setting(disk)
            mode = "no" if disk.empty else setting if setting is not None else default
            out.append(SnapshotDisk(disk.target, mode))
            where.append(None)
        else:
            out.append(got[1])
            where.append(got[0])
    by_target = {d.target: d for d in dom_disks}
    seen: dict[str, str] = {}  # generated or given path -> disk name
    for k, sd in enumerate(out):
        if sd.snapshot != "external" or sd.path is not None:
            if sd.path is not None:
                seen.setdefault(sd.path, sd.name)
            continue
        index = where[k]
        if sd.type != "file":
            raise _snap_fail(CONFIG_UNSUPPORTED, f"cannot generate external snapshot name for disk '{sd.name}' on a '{sd.type}' device", index)
        source = by_target[sd.name].source
        if source is None:
            raise _snap_fail(CONFIG_UNSUPPORTED, f"cannot generate external snapshot name for disk '{sd.name}' without source", index)
        if regular_file is not None and not regular_file(source):
            raise _snap_fail(
                CONFIG_UNSUPPORTED,
                f"source for disk '{sd.name}' is not a regular file; refusing to generate external snapshot name",
                index,
            )
        path = _external_name(source, snapshot.name or "")
        if path in seen:
            raise _snap_fail(
                CONFIG_UNSUPPORTED, f"cannot generate external snapshot name for disk '{sd.name}': collision with disk '{seen[path]}'", index
            )
        seen[path] = sd.name
        out[k] = replace(sd, source=f"<source file='{_attr(path)}'/>")
    return replace(snapshot, disks=tuple(out))


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&apos;").replace('"', "&quot;")
