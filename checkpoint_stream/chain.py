"""Chains: the archive-level view of checkpoints and snapshots. Per VM and kind, the tree that
``<parent>`` links make, the problems that would stop or distort a restore, and the order that
redefines the tree into libvirt (parents before children).

libvirt's own rules (``src/conf/virdomainmomentobjlist.c``, 9.0) are the reference:

* ``virDomainMomentCheckCycles``: a redefined checkpoint whose parent is itself, or is not
  defined yet, is refused (``parent P for moment C not found``); a parent that would close a loop
  is refused too. So a checkpoint can be redefined only once its whole ancestry is, and the
  members of a stored cycle never can: they are refused in any order.
* ``virDomainMomentUpdateRelations`` links each checkpoint to its parent by name.
* ``virDomainMomentFindLeaf``: the current checkpoint is the single leaf, found only when the tree
  has one root and every checkpoint down from it has exactly one child; otherwise there is none.
* A redefinition of a name already defined replaces it: libvirt accepts duplicates silently,
  the last one wins.

Snapshots go through the same analysis (libvirt redefines them through the same
``virDomainMomentObjList`` code, with the same "moment" texts), as trees of their own: checkpoints
and snapshots are separate name spaces, so each VM has a checkpoint chain and a snapshot chain
(:attr:`Chain.kind`). What differs for snapshots: the current snapshot is not derived from the
tree but stored, as ``<active>1</active>`` in libvirt's internal format (its metadata files; the
drivers load them and complain "Too many snapshots claiming to be current" when several do), and
set on a restore by the CURRENT flag of a redefine; a branch is normal (reverting to a snapshot
and taking another one makes one); a snapshot lists every disk it saves, so disks coming and
going are no fault; there are no bitmaps. :data:`SNAPSHOT_KINDS` lists the problems a snapshot
chain can have.

Beyond libvirt, this module works offline on a whole archive: it groups checkpoints per VM (by
the nested domain's uuid, or by folder, or all in one), tells identical copies from conflicting
definitions, names the parent that is missing and what depends on it, tells a parent that belongs
to another VM from one that is absent, and warns where a restore would succeed but the chain is
not what a backup tool expects (forks, clocks going backwards, disks that come and go, bitmaps
not named after their checkpoint).

Memory: only a skeleton of each checkpoint is kept while the archive is read: its name, parent,
creationTime, its disks' names, checkpoint modes and bitmaps (one shared tuple per distinct disk
set), a fingerprint of its content, and where it came from, in columns (about 150 bytes per
checkpoint, most of it the name). Nothing else of a record outlives :meth:`ChainBuilder.add`.
Every step of the analysis is linear in the number of checkpoints (sorting aside) and free of
recursion, so a single chain of a million checkpoints is no harder than a million roots.
"""

from __future__ import annotations

import heapq

import os
import zlib
from array import array
from collections import Counter
from typing import Any, Iterable, Iterator, Literal, Sequence

from .api import iter_sources, iterparse
from .errors import CheckpointError
from .records import Checkpoint, Origin, Snapshot, canonical_uuid
from .sources import SourceError

__all__ = [
    "ChainBuilder",
    "Chain",
    "Problem",
    "build_chains",
    "chains",
    "KINDS",
    "SNAPSHOT_KINDS",
    "ERROR",
    "WARNING",
    "GroupBy",
    "RESTORE_MODE",
]

GroupBy = Literal["uuid", "folder", "none"]
ERROR, WARNING = "error", "warning"
CHECKPOINT, SNAPSHOT = "checkpoint", "snapshot"

#: Every problem kind of a checkpoint chain and its severity, in the order reports list them.
KINDS: dict[str, str] = {
    "invalid": ERROR,
    "missing-parent": ERROR,
    "self-parent": ERROR,
    "cycle": ERROR,
    "duplicate-name": ERROR,
    "uuid-mismatch": ERROR,
    "duplicate-copy": WARNING,
    "fork": WARNING,
    "time-order": WARNING,
    "disk-added": WARNING,
    "disk-removed": WARNING,
    "bitmap-name": WARNING,
}
#: Every problem kind of a snapshot chain and its severity, in the order reports list them: the
#: checkpoint chain's relation problems, and ``too-many-current``; no ``fork`` (a branch is normal
#: for snapshots), ``disk-added``/``disk-removed`` or ``bitmap-name`` (backup-chain matters).
SNAPSHOT_KINDS: dict[str, str] = {
    "invalid": ERROR,
    "missing-parent": ERROR,
    "self-parent": ERROR,
    "cycle": ERROR,
    "duplicate-name": ERROR,
    "uuid-mismatch": ERROR,
    "too-many-current": ERROR,
    "duplicate-copy": WARNING,
    "time-order": WARNING,
}
_SEVERITY: dict[str, str] = {**KINDS, **SNAPSHOT_KINDS}
_KIND_RANK = {
    kind: rank
    for rank, kind in enumerate(
        ("invalid", "missing-parent", "self-parent", "cycle", "duplicate-name", "uuid-mismatch", "too-many-current",
         "duplicate-copy", "fork", "time-order", "disk-added", "disk-removed", "bitmap-name")
    )
}
_MOMENT_RANK = {CHECKPOINT: 0, SNAPSHOT: 1}
_NO_TIME = -(1 << 63)  # creationTime absent (only outside REDEFINE mode): sorts first
_NO_END = -1
_WHITESPACE = b" \t\r\n"
_QUOTES = bytes.maketrans(b"'", b'"')
_DOMAIN_CACHE_BYTES = 16 << 20  # domain texts remembered (a VM's domain repeats along its chain)
_DOMAIN_HEAD = 256  # bytes of a domain's text that key it (its name and uuid are there)
_STDIN = "<stdin>"
_CYCLE_SHOWN = 8  # members a cycle's message lists


# -- results -------------------------------------------------------------------------------------


class Problem:
    """One thing found wrong (``severity`` ``"error"``) or worth a look (``"warning"``).

    ``kind`` is one of :data:`KINDS` (of :data:`SNAPSHOT_KINDS` in a snapshot chain);
    ``checkpoint`` the name of the checkpoint, or in a snapshot chain of the snapshot, concerned
    (``None`` for a rejected document whose name could not be read); ``moment`` which of the two
    it is (``"checkpoint"`` or ``"snapshot"``, the chain's :attr:`Chain.kind`); ``message`` says
    what to fix; ``source`` is the :class:`~.records.Origin` of the document concerned (path,
    archive member, index in its stream); ``related`` names the others involved (a cycle's
    members, a fork's children, ...) and ``sources`` every document involved (the copies of a
    duplicate)."""

    __slots__ = ("kind", "severity", "checkpoint", "message", "source", "related", "sources", "document", "moment")

    def __init__(
        self,
        kind: str,
        checkpoint: str | None,
        message: str,
        source: Origin | None,
        related: tuple[str, ...] = (),
        sources: tuple[Origin, ...] = (),
        *,
        moment: str = CHECKPOINT,
    ) -> None:
        self.kind = kind
        self.severity = _SEVERITY[kind]
        self.checkpoint = checkpoint
        self.message = message
        self.source = source
        self.related = related
        self.sources = sources or ((source,) if source is not None else ())
        self.moment = moment
        #: The document's index in its stream, when that file (or member) holds several.
        self.document: int | None = None

    def __repr__(self) -> str:
        return f"Problem({self.kind!r}, {self.checkpoint!r}, {self.message!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Problem) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[Any, ...]:
        return (self.kind, self.checkpoint, self.message, _origin_key(self.source), self.related, self.moment)

    @property
    def where(self) -> str:
        """``PATH[:MEMBER]`` of the document concerned (``<input>`` when unknown)."""
        return where(self.source)

    def to_dict(self) -> dict[str, Any]:
        """``kind``, ``severity``, ``checkpoint`` (the name, in a snapshot chain the snapshot's:
        every problem has one shape; the chain's ``kind`` says which), ``message``, ``source``."""
        return {
            "kind": self.kind,
            "severity": self.severity,
            "checkpoint": self.checkpoint,
            "message": self.message,
            "source": None if self.source is None else self.source.to_dict(),
        }

    def format(self) -> str:
        """``PATH[:MEMBER]: error|warning: MESSAGE [kind] (checkpoint NAME)`` (``(snapshot NAME)``
        in a snapshot chain)."""
        tail = f" ({self.moment} {self.checkpoint})" if self.checkpoint is not None else ""
        document = f" (document {self.document})" if self.document is not None else ""
        return f"{self.where}: {self.severity}: {self.message}{document} [{self.kind}]{tail}"


def where(origin: Origin | None) -> str:
    if origin is None or origin.path is None:
        return "<input>" if origin is None or origin.member is None else f"<input>:{origin.member}"
    return origin.path if not origin.member else f"{origin.path}:{origin.member}"


def _origin_key(origin: Origin | None) -> tuple[str, str, int]:
    if origin is None:
        return ("", "", -1)
    return (origin.path or "", origin.member or "", origin.index)


class _Same:
    """In a disk skeleton: the bitmap is named after the checkpoint (or not named, which libvirt
    reads the same way). Skeletons then repeat along a chain and are kept once."""

    def __reduce__(self) -> str:
        # Compared by identity: a chain pickled to another process (a Dask worker's result) must
        # come back holding this module's one instance, not a copy that is nothing's ``_SAME``.
        return "_SAME"

    __slots__ = ()

    def __repr__(self) -> str:
        return "SAME"


_SAME = _Same()
_OBJ, _INT = 5, 5  # row stride of a group's columns: (name, parent, disks, path, member), (time, stable, index, offset, end)


class Chain:
    """The checkpoints, or the snapshots, of one VM (or one folder, or the whole input: see
    ``group_by``). ``kind`` says which: ``"checkpoint"`` or ``"snapshot"`` (separate trees, as
    they are separate name spaces in libvirt; everything below says "checkpoint" for either).

    ``vm`` is the domain uuid (canonical: lowercase, dashed) or ``None``; ``vm_name`` the
    domain's name in its most recent checkpoint; ``folder`` the folder or archive of a group
    made by folder. The tree is the *restorable* one, what libvirt holds after a correct restore:
    ``roots``, ``leaves``, ``current`` (libvirt's pick: the single leaf, if there is exactly one),
    ``order`` (every restorable checkpoint, parents first, ties by creationTime then name).
    ``restored_current`` is what libvirt 9.0 actually holds as current after redefining ``order``:
    each redefined checkpoint becomes current when there is none yet or its parent is current, so
    after a fork it is the end of the first branch redefined (the same as ``current`` when there is
    a single leaf). ``unrestorable`` names the checkpoints no order can redefine (broken ancestry),
    by name. :meth:`parent`, :meth:`children`, :meth:`source`, :meth:`creation_time` and
    :meth:`disks` answer for every checkpoint of the group, restorable or not.

    In a snapshot chain, ``current`` is the snapshot whose record says ``active`` (libvirt's
    internal format, ``<active>1</active>``; read with ``internal=True``), when exactly one does
    and it is restorable; ``restored_current`` is what libvirt holds after ``order`` is redefined
    with the CURRENT flag on each active one: the last active one of ``order`` (the same as
    ``current`` unless several claim to be current, a ``too-many-current`` error). Neither is
    derived from the tree: libvirt sets a current snapshot only when told to.
    """

    __slots__ = (
        "kind",
        "vm",
        "vm_name",
        "folder",
        "roots",
        "leaves",
        "current",
        "restored_current",
        "order",
        "unrestorable",
        "problems",
        "_names",
        "_index",
        "_parents",
        "_rows",
        "_group",
        "_kids",
        "_multi",
    )

    def __init__(
        self,
        *,
        vm: str | None,
        vm_name: str | None,
        folder: str | None,
        roots: tuple[str, ...],
        leaves: tuple[str, ...],
        current: str | None,
        restored_current: str | None,
        order: tuple[str, ...],
        unrestorable: tuple[str, ...],
        problems: tuple[Problem, ...],
        names: list[str],
        index: dict[str, int],
        parents: list[str | None],
        rows: list[int] | None,
        group: "_Group",
        multi: set[tuple[str | None, str | None]],
        kind: str = CHECKPOINT,
    ) -> None:
        self.kind = kind
        self.vm = vm
        self.vm_name = vm_name
        self.folder = folder
        self.roots = roots
        self.leaves = leaves
        self.current = current
        self.restored_current = restored_current
        self.order = order
        self.unrestorable = unrestorable
        self.problems = problems
        self._names = names
        self._index = index
        self._parents = parents
        self._rows = rows  # checkpoint -> row of the definition that counts (None: the same)
        self._group = group
        self._multi = multi
        self._kids: dict[int, list[int]] | None = None

    def __repr__(self) -> str:
        if self.kind == SNAPSHOT:
            return f"Chain(kind='snapshot', vm={self.vm!r}, vm_name={self.vm_name!r}, snapshots={self.checkpoints}, problems={len(self.problems)})"
        return f"Chain(vm={self.vm!r}, vm_name={self.vm_name!r}, checkpoints={self.checkpoints}, problems={len(self.problems)})"

    @property
    def checkpoints(self) -> int:
        """Distinct checkpoint names in the group (restorable or not); in a snapshot chain,
        distinct snapshot names."""
        return len(self._names)

    @property
    def documents(self) -> int:
        """Records read into the group (every definition of a duplicated name counts; rejected
        documents do not)."""
        return len(self._group.ints) // _INT

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._names))

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == ERROR)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == WARNING)

    def _i(self, name: str) -> int:
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(f"no {self.kind} {name!r} in this chain") from None

    def _row(self, name: str) -> int:
        """The row, in the group's columns, of the definition that counts."""
        i = self._i(name)
        return i if self._rows is None else self._rows[i]

    def parent(self, name: str) -> str | None:
        return self._parents[self._i(name)]

    def creation_time(self, name: str) -> int | None:
        value = self._group.ints[self._row(name) * _INT]
        return None if value == _NO_TIME else value

    def disks(self, name: str) -> tuple[tuple[str, str | None, str | None], ...]:
        """``(disk name, checkpoint mode, bitmap)`` of each disk the checkpoint lists (a bitmap
        not named in the document is given its default, the checkpoint's name). In a snapshot
        chain: ``(disk name, snapshot mode, None)``, the mode ``None`` where the document leaves
        it to the driver."""
        skeleton = self._group.objs[self._row(name) * _OBJ + 2]
        if self.kind == SNAPSHOT:
            return tuple((d[0], d[1], None) for d in skeleton)
        return tuple((d[0], d[1], name if d[2] is _SAME else d[2]) for d in skeleton)

    def source(self, name: str) -> Origin:
        """Where the definition that counts came from (of a duplicate name: the one redefined)."""
        return self._group.origin(self._row(name))

    def children(self, name: str) -> tuple[str, ...]:
        """The checkpoints whose parent is ``name``, by creationTime then name."""
        kids = self._kids
        if kids is None:
            kids = {}
            index = self._index
            for child, parent in enumerate(self._parents):
                if parent is not None and parent in index:
                    kids.setdefault(index[parent], []).append(child)
            key = self._sort_key
            for members in kids.values():
                members.sort(key=key)
            self._kids = kids
        return tuple(self._names[i] for i in kids.get(self._i(name), ()))

    def links(self) -> Iterator[tuple[str, str]]:
        """``(checkpoint, parent)`` for every checkpoint of the group that names a parent (the
        parent may be missing, or in another group)."""
        for name, parent in zip(self._names, self._parents):
            if parent is not None:
                yield name, parent

    def _sort_key(self, i: int) -> tuple[int, str]:
        row = i if self._rows is None else self._rows[i]
        return (self._group.ints[row * _INT], self._names[i])

    def location(self, name: str) -> str:
        """``PATH[:MEMBER]`` of the checkpoint's document, with ``@OFFSET:LENGTH`` when that file
        or member holds several documents (a concatenated stream): enough to fetch it."""
        origin = self.source(name)
        text = where(origin)
        if (origin.path, origin.member) in self._multi and origin.end is not None:
            text += f"@{origin.offset}:{origin.end - origin.offset}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """One JSON object: ``kind``, ``vm``, ``vmName``, ``checkpoints``, ``roots``, ``leaves``,
        ``current``, ``order``, ``problems``, and ``folder``, ``restoredCurrent``,
        ``unrestorable``, ``parents``, ``children``. A snapshot chain has the same keys
        (``checkpoints`` counts its snapshots): ``kind`` tells the two apart."""
        children = {}
        for name in self.order:
            kids = self.children(name)
            if kids:
                children[name] = list(kids)
        return {
            "kind": self.kind,
            "vm": self.vm,
            "vmName": self.vm_name,
            "folder": self.folder,
            "checkpoints": self.checkpoints,
            "roots": list(self.roots),
            "leaves": list(self.leaves),
            "current": self.current,
            "restoredCurrent": self.restored_current,
            "order": list(self.order),
            "unrestorable": list(self.unrestorable),
            "parents": {name: self._parents[i] for name, i in sorted(self._index.items())},
            "children": children,
            "problems": [p.to_dict() for p in self.problems],
        }


# -- the builder ---------------------------------------------------------------------------------


class _Group:
    """Every definition read for one group, in two columns of fixed stride (one row per
    document): objects ``(name, parent, disk skeleton, path, member)`` and 64-bit integers
    ``(creationTime, content digest, index, offset, end)``. A snapshot group's disk skeleton is
    ``(name, snapshot mode)`` per disk, and its rows whose record says ``active`` are listed in
    ``actives``.

    ``key``: a checkpoint group's is a uuid, ``("folder", F)`` or ``("all", None)``; a snapshot
    group's is ``("snapshot", K)`` with K one of those (:func:`_kind_key`)."""

    __slots__ = ("key", "kind", "folder", "uuid", "uuids", "vm_name", "best_time", "best_name", "objs", "ints", "invalid", "actives")

    def __init__(self, key: Any, uuid: str | None, kind: str = CHECKPOINT) -> None:
        self.key = key
        self.kind = kind
        base = _base_key(key, kind)
        self.folder: str | None = base[1] if isinstance(base, tuple) else None
        self.uuid = uuid
        self.uuids: set[str | None] = set()  # for groups made otherwise: the VMs seen
        self.vm_name: str | None = None
        self.best_time = _NO_TIME  # (creationTime, name) of the record vm_name is from
        self.best_name = ""
        self.objs: list[Any] = []
        self.ints = array("q")
        self.invalid: list[tuple[Origin, str | None, str]] = []
        self.actives: list[int] = []

    def origin(self, row: int) -> Origin:
        o, i = row * _OBJ, row * _INT
        end = self.ints[i + 4]
        return Origin(self.objs[o + 3], self.objs[o + 4], self.ints[i + 2], self.ints[i + 3], None if end == _NO_END else end)


def _digest(data: bytes) -> int:
    """A content digest that is the same in every process (``hash`` is salted per process): the
    CRC-32 and the length. It tells copies from conflicting definitions of one name (two texts
    of one length that differ yet share a CRC-32: about one pair in four billion), and breaks ties
    reproducibly."""
    return ((len(data) & 0x7FFFFFFF) << 32) | zlib.crc32(data)


def _kind_key(base: Any, kind: str) -> Any:
    """The group key of ``kind`` for a base key (a uuid, ``("folder", F)``, ``("all", None)``)."""
    return base if kind == CHECKPOINT else (SNAPSHOT, base)


def _base_key(key: Any, kind: str) -> Any:
    return key if kind == CHECKPOINT else key[1]


def _rejected_kind(err: CheckpointError) -> str:
    """The side a rejected document belongs to: the snapshots' when its element path is in a
    ``<domainsnapshot>``, else the checkpoints' (as for a document whose root could not be read).
    A root refused because another kind was asked for goes with the kind that was asked for."""
    message = err.message
    if message.startswith("expecting root element of 'domainsnapshot',"):
        return SNAPSHOT
    if message.startswith("expecting root element of 'domaincheckpoint',"):
        return CHECKPOINT
    path = err.path
    if path is not None and (path == "/domainsnapshot" or path.startswith("/domainsnapshot/") or path.startswith("/domainsnapshot[")):
        return SNAPSHOT
    return CHECKPOINT


def folder_of(path: str | None, member: str | None) -> str:
    """The folder a document without a domain is grouped by: its directory, or for an archive
    member the archive and the member's directory. Public because the chains analysed across
    Dask workers (:mod:`.scaleout.grouping`) must group by this very rule."""
    if path is None:
        path = "<input>"
    if member is not None:
        return f"{path}:{os.path.normpath(os.path.dirname(member) or '.')}"
    if path == _STDIN or path == "<input>":
        return path
    return os.path.normpath(os.path.dirname(path) or ".")


class ChainBuilder:
    """Push-style: :meth:`add` every record (and every rejected document, as the
    :class:`~.errors.CheckpointError` that skip mode yields), in any order, then :meth:`finish`.

    ``group_by``: ``"uuid"`` (default) groups by the nested domain's uuid, documents without a
    domain by their folder (an archive member: by archive and member folder); ``"folder"`` by
    folder only; ``"none"``: everything in one group. Checkpoints and snapshots
    (:class:`~.records.Snapshot` records) are grouped apart: a group is one kind's.
    """

    def __init__(self, group_by: GroupBy = "uuid") -> None:
        if group_by not in ("uuid", "folder", "none"):
            raise ValueError(f"group_by must be 'uuid', 'folder' or 'none', not {group_by!r}")
        self.group_by = group_by
        self._by_uuid = group_by == "uuid"
        self._groups: dict[Any, _Group] = {}  # a uuid, or ("folder", F), or ("all", None)
        # Domain text -> (uuid, name, digest), keyed by the text's head (its name and uuid lines:
        # one entry per VM, the latest text) and checked against the whole text on every hit.
        self._domains: dict[bytes, tuple[bytes, tuple[str | None, str | None, int]]] = {}
        self._domain_bytes = 0
        self._skeletons: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self._odd: set[int] = set()  # ids of skeletons with a bitmap not named after its checkpoint
        self._folders: dict[tuple[str | None, str | None], _Group] = {}
        self._snapshot_folders: dict[tuple[str | None, str | None], _Group] = {}
        self._multi: set[tuple[str | None, str | None]] = set()
        self._names: dict[str, str] = {}
        self._invalid: list[tuple[Origin, str | None, str | None, str, str]] = []
        self.records = 0

    # -- reading ---------------------------------------------------------------------------------

    def add(self, item: Checkpoint | Snapshot | CheckpointError | SourceError) -> None:
        """Take one record (or one rejected document, or one unreadable input)."""
        self.extend((item,))

    def extend(self, items: Iterable[Any]) -> "ChainBuilder":
        """Take every item of ``items`` (records, rejected documents, unreadable inputs). The
        loop of an archive-level pass: everything it touches is bound once, tomli style, so that
        the skeleton costs about a microsecond a record. Snapshots take a path of their own
        (:meth:`_add_snapshot`), off the checkpoints' loop."""
        groups, folders, domains, skeletons = self._groups, self._folders, self._domains, self._skeletons
        by_uuid, multi, odd = self._by_uuid, self._multi, self._odd
        # One string per name, shared by the checkpoint and its children's <parent>: a table of
        # the builder's own (sys.intern's table is the interpreter's, and keeps them on 3.12).
        intern, crc32, new_group, other_group = self._names.setdefault, zlib.crc32, _Group, self._other_group
        known_domain, checkpoint_type, same, no_time, no_end = self._domain, Checkpoint, _SAME, _NO_TIME, _NO_END
        head = _DOMAIN_HEAD
        last: _Group | None = None
        objs_extend: Any = None
        ints_extend: Any = None
        count = 0
        try:
            for item in items:
                if type(item) is not checkpoint_type and not isinstance(item, Checkpoint):
                    if isinstance(item, Snapshot):
                        count += 1
                        self._add_snapshot(item)
                        continue
                    if isinstance(item, (CheckpointError, SourceError)):
                        self._add_rejected(item)
                        continue
                    raise TypeError(f"ChainBuilder takes records and errors, not {type(item).__name__}")
                count += 1
                domain = item.domain
                if domain is None:
                    uuid = vm_name = None
                    digest = 0
                else:
                    source = domain._source
                    if source is not None:
                        span = source[0]
                        seen = domains.get(span[:head])
                        known = seen[1] if seen is not None and seen[0] == span else known_domain(domain)
                    else:
                        known = known_domain(domain)
                    uuid, vm_name, digest = known
                origin = item.origin
                if origin is None:
                    path = member = None
                    index = offset = 0
                    end = no_end
                else:
                    path, member, index, offset = origin.path, origin.member, origin.index, origin.offset
                    stop = origin.end
                    end = no_end if stop is None else stop
                    if index == 1:
                        multi.add((path, member))
                if uuid is not None and by_uuid:
                    group = groups.get(uuid)
                    if group is None:
                        group = groups[uuid] = new_group(uuid, uuid)
                else:
                    found = folders.get((path, member))
                    group = found if found is not None else other_group(path, member)
                    if not by_uuid:
                        group.uuids.add(uuid)
                name = item.name
                name = intern(name, name) if name is not None else ""
                parent = item.parent
                if parent is not None:
                    parent = intern(parent, parent)
                time = item.creation_time
                if time is None:
                    time = no_time
                disks: tuple[Any, ...] = item.disks
                if disks:
                    skeleton = tuple([(d.name, d.checkpoint, same if d.bitmap is None or d.bitmap == name else d.bitmap, d.size) for d in disks])
                    shared = skeletons.get(skeleton)
                    if shared is None:
                        shared = skeletons[skeleton] = skeleton
                        if any(d[1] == "bitmap" and d[2] is not same for d in skeleton):
                            odd.add(id(skeleton))
                    disks = shared
                else:
                    disks = ()
                if vm_name is not None and time >= group.best_time:
                    if time > group.best_time or name >= group.best_name:
                        group.best_time = time
                        group.best_name = name
                        group.vm_name = vm_name
                description = item.description
                if description is not None:
                    digest ^= crc32(description.encode()) + 1
                if item.active is not None:
                    digest ^= 2 + item.active
                if group is not last:
                    last = group
                    objs_extend, ints_extend = group.objs.extend, group.ints.extend
                objs_extend((name, parent, disks, path, member))
                ints_extend((time, digest, index, offset, end))
        finally:
            self.records += count
        return self

    def _other_group(self, path: str | None, member: str | None, kind: str = CHECKPOINT) -> _Group:
        base: Any = ("all", None) if self.group_by == "none" else ("folder", folder_of(path, member))
        key = _kind_key(base, kind)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(key, None, kind)
        folders = self._folders if kind == CHECKPOINT else self._snapshot_folders
        if len(folders) > 4096:
            folders.clear()  # one entry per file: remembered for a stream's run of documents
        folders[(path, member)] = group
        return group

    def _add_snapshot(self, item: Snapshot) -> None:
        """One snapshot record into its group: the same skeleton as a checkpoint's (its disks as
        ``(name, snapshot mode)``), a content digest over every field libvirt keeps, and its row
        noted when the record says ``active``."""
        domain = item.domain
        if domain is None:
            uuid = vm_name = None
            digest = 0
        else:
            source = domain._source
            seen = self._domains.get(source[0][:_DOMAIN_HEAD]) if source is not None else None
            uuid, vm_name, digest = seen[1] if seen is not None and seen[0] == source[0] else self._domain(domain)
        origin = item.origin
        if origin is None:
            path = member = None
            index = offset = 0
            end = _NO_END
        else:
            path, member, index, offset = origin.path, origin.member, origin.index, origin.offset
            end = _NO_END if origin.end is None else origin.end
            if index == 1:
                self._multi.add((path, member))
        if uuid is not None and self._by_uuid:
            key = (SNAPSHOT, uuid)
            group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = _Group(key, uuid, SNAPSHOT)
        else:
            found = self._snapshot_folders.get((path, member))
            group = found if found is not None else self._other_group(path, member, SNAPSHOT)
            if not self._by_uuid:
                group.uuids.add(uuid)
        intern = self._names.setdefault
        name = item.name
        name = intern(name, name) if name is not None else ""
        parent = item.parent
        if parent is not None:
            parent = intern(parent, parent)
        time = item.creation_time
        if time is None:
            time = _NO_TIME
        disks: tuple[Any, ...] = ()
        if item.disks:
            skeleton = tuple([(d.name, d.snapshot) for d in item.disks])
            disks = self._skeletons.setdefault(skeleton, skeleton)
        if vm_name is not None and time >= group.best_time:
            if time > group.best_time or name >= group.best_name:
                group.best_time = time
                group.best_name = name
                group.vm_name = vm_name
        inactive = item.inactive_domain
        if inactive is not None:
            held = inactive._source
            text = held[0] if held is not None else inactive.xml.encode("utf-8")
            inactive_digest = _digest(text.translate(_QUOTES, _WHITESPACE))
        else:
            inactive_digest = -1
        fields = (
            item.description,
            item.state,
            item.memory,
            item.memory_file,
            tuple([(d.name, d.snapshot, d.type, d.source, d.driver, d.max_size, d.delete_in_progress) for d in item.disks]),
            inactive_digest,
            item.cookie,
            item.active,
        )
        digest ^= zlib.crc32(repr(fields).encode("utf-8", "surrogatepass")) + 1
        if item.active:
            group.actives.append(len(group.ints) // _INT)
        group.objs.extend((name, parent, disks, path, member))
        group.ints.extend((time, digest, index, offset, end))

    def _domain(self, domain: Any) -> tuple[str | None, str | None, int]:
        """(canonical uuid, name, content digest) of a nested domain. A domain kept in libvirt's
        layout is remembered by its text: along one VM's chain it repeats."""
        source = domain._source
        name, uuid = domain.identity
        text = source[0] if source is not None else domain.xml.encode("utf-8")
        # Formatting does not count: whitespace between and around markup, and the quotes around
        # attribute values, are left out of the digest.
        known = (canonical_uuid(uuid), name, _digest(text.translate(_QUOTES, _WHITESPACE)))
        if source is not None:
            if self._domain_bytes + len(text) > _DOMAIN_CACHE_BYTES:
                self._domains.clear()
                self._domain_bytes = 0
            self._domains[text[:_DOMAIN_HEAD]] = (text, known)
            self._domain_bytes += len(text)
        return known

    def _add_rejected(self, err: CheckpointError | SourceError) -> None:
        if isinstance(err, SourceError):
            origin = Origin(err.path, err.member, 0, 0, None)
            self._invalid.append((origin, None, None, f"cannot read: {err.message}", CHECKPOINT))
            return
        origin = Origin(err.source, err.member, err.document or 0, err.offset or 0, None)
        if err.document:
            self._multi.add((err.source, err.member))
        detail = err.described(document=False)  # the problem's source names the document
        self._invalid.append((origin, err.checkpoint, canonical_uuid(err.domain_uuid), detail, _rejected_kind(err)))

    # -- analysis --------------------------------------------------------------------------------

    def finish(self) -> list[Chain]:
        """Every group's chain, sorted by VM name, uuid and folder. The builder is spent."""
        return list(self.iter_finish())

    def iter_finish(self) -> Iterator[Chain]:
        """Like :meth:`finish`, one chain at a time: a group's columns are held by its chain
        only, so a caller that drops each chain after use holds one at a time."""
        self._place_rejected()
        groups = self._groups
        self._groups = {}
        self._domains.clear()
        self._folders.clear()
        self._snapshot_folders.clear()
        self._names = {}
        # Where each name is defined, for a parent missing from its own group.
        wanted: set[str] = set()
        names_of: dict[Any, set[str]] = {}
        for key, group in groups.items():
            names = set(group.objs[0::_OBJ])
            names_of[key] = names
            wanted.update(p for p in set(group.objs[1::_OBJ]) if p is not None and p not in names)
        elsewhere: dict[str, list[_Group]] = {}
        if wanted:
            for key, group in groups.items():
                for name in names_of[key] & wanted:
                    elsewhere.setdefault(name, []).append(group)
        del names_of
        odd = self._odd
        for key in sorted(groups, key=lambda k: _group_sort_key(groups[k])):
            group = groups.pop(key)
            yield _analyse(group, elsewhere, self._multi, odd)

    def _place_rejected(self) -> None:
        """A rejected document goes with its VM when its domain uuid could be read; else with the
        one VM whose documents (of either kind) share its folder; else with its folder. On the
        side of its kind (:func:`_rejected_kind`)."""
        if not self._invalid:
            return
        by_folder: dict[str, set[Any]] | None = None
        for origin, name, uuid, detail, kind in self._invalid:
            base: Any
            if self.group_by == "none":
                base = ("all", None)
            elif self._by_uuid and uuid is not None:
                base = uuid
            else:
                folder = folder_of(origin.path, origin.member)
                base = ("folder", folder)
                if self._by_uuid:
                    if by_folder is None:
                        by_folder = self._groups_byfolder_of()
                    owners = by_folder.get(folder, set())
                    if len(owners) == 1:
                        base = next(iter(owners))
            key = _kind_key(base, kind)
            group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = _Group(key, base if isinstance(base, str) else None, kind)
                if not isinstance(base, str):
                    group.uuids.add(uuid)
            group.invalid.append((origin, name, detail))
        self._invalid = []

    def _groups_byfolder_of(self) -> dict[str, set[Any]]:
        """Each folder's owners: the base keys (a VM's uuid, or a folder's own key) of the groups,
        of either kind, with records there."""
        found: dict[str, set[Any]] = {}
        folders: dict[tuple[str | None, str | None], str] = {}
        for key, group in self._groups.items():
            objs = group.objs
            base = _base_key(key, group.kind)
            for place in set(zip(objs[3::_OBJ], objs[4::_OBJ])):
                folder = folders.get(place)
                if folder is None:
                    folder = folders[place] = folder_of(*place)
                found.setdefault(folder, set()).add(base)
        return found




def _group_sort_key(group: _Group) -> tuple[str, str, str, int]:
    """VM name, uuid, folder; a VM's (or folder's) checkpoints before its snapshots."""
    return (group.vm_name or "", group.uuid or "", group.folder or "", _MOMENT_RANK[group.kind])


def build_chains(items: Iterable[Any], *, group_by: GroupBy = "uuid") -> list[Chain]:
    """The chains of ``items``: records, and the errors skip mode yields (``iterparse(...,
    on_error="skip", yield_errors=True)``), from any source, in any order."""
    return ChainBuilder(group_by).extend(items).finish()


def chains(source: Any, *, group_by: GroupBy = "uuid", **parse_kwargs: Any) -> list[Chain]:
    """The chains of an archive: ``source`` is a path (a file, a folder, an archive, ``"-"``) or
    a list of paths, or anything else :func:`~.api.iterparse` reads (bytes, a binary file, an
    iterable of chunks). Documents are read as libvirt reads them on a restore: in REDEFINE mode,
    a ``<domain>`` not required (``parse_kwargs`` change the modes and limits). Rejected documents
    do not stop the analysis: each is an ``invalid`` problem (a file that holds no document
    too), and the chain around it is analysed."""
    parse_kwargs.pop("on_error", None)
    parse_kwargs = {**RESTORE_MODE, **parse_kwargs} if not ({"create", "redefine"} & set(parse_kwargs)) else parse_kwargs
    if isinstance(source, (str, os.PathLike)):
        source = [source]
    if isinstance(source, (list, tuple)):
        items: Iterable[Any] = iter_sources(source, on_error="skip", empty="error", **parse_kwargs)
    else:
        items = iterparse(source, on_error="skip", yield_errors=True, **parse_kwargs)
    return build_chains(items, group_by=group_by)


#: How a restore reads an archive: libvirt's REDEFINE, which since 7.0 takes a checkpoint without
#: its ``<domain>``; a checkpoint that is its own parent comes through, to be reported as the
#: relation problem it is (``self-parent``).
RESTORE_MODE: dict[str, Any] = {"redefine": True, "require_domain": False, "self_parent": True}


# -- one group -----------------------------------------------------------------------------------


def _analyse(group: _Group, elsewhere: dict[str, list[_Group]], multi: set[Any], odd: set[int]) -> Chain:
    objs, ints = group.objs, group.ints
    noun = group.kind  # "checkpoint" or "snapshot", as the messages say
    snap = noun == SNAPSHOT
    names: list[str] = objs[0::_OBJ]
    index = {name: i for i, name in enumerate(names)}
    problems: list[Problem] = []
    rows: list[int] | None = None
    if len(index) != len(names):
        rows = _one_definition_each(group, names, problems)
        names = [names[r] for r in rows]
        index = {name: i for i, name in enumerate(names)}
        parents: list[str | None] = [objs[r * _OBJ + 1] for r in rows]
        disks: list[Any] = [objs[r * _OBJ + 2] for r in rows]
        times = array("q", [ints[r * _INT] for r in rows])
    else:
        parents = objs[1::_OBJ]
        disks = objs[2::_OBJ]
        times = ints[0::_INT]
    n = len(names)

    def origin(i: int) -> Origin:
        return group.origin(i if rows is None else rows[i])

    # Parent links: a row, -1 for a root, -2 for a parent that is not here (or is itself).
    get = index.get
    up = [-1 if p is None else get(p, -2) for p in parents]
    selfish = [i for i, j in enumerate(up) if j == i]
    for i in selfish:
        up[i] = -2
    broken = [i for i, j in enumerate(up) if j == -2]
    counts = Counter(up)

    # The order: sorted by (creationTime, name); when that already puts every parent first (the
    # usual archive), one pass marks what is restorable and checks each link.
    key = list(zip(times, names))
    candidates = sorted(range(n), key=key.__getitem__)
    state = bytearray(n)  # 1 restorable, 2 not
    ranked: list[int] = []
    restored = -1
    disk_links: list[int] = []
    simple = True
    for i in candidates:
        j = up[i]
        if j >= 0:
            s = state[j]
            if not s:
                simple = False  # a parent later in the order: a cycle, or a clock gone backwards
                break
            if disks[i] is not disks[j]:
                disk_links.append(i)
            if s == 2:
                state[i] = 2
                continue
        elif j == -2:
            state[i] = 2
            continue
        state[i] = 1
        ranked.append(i)
        if restored < 0 or j == restored:
            restored = i
    kids_start = kids = None
    if not simple or broken:
        kids_start, kids = _children(up, n)
    if not simple:
        state, ranked, restored, disk_links = _general_order(up, kids_start, kids, key, disks)  # type: ignore[arg-type]

    def descendants(i: int, seen: set[int] | None = None) -> int:
        """Moments below row ``i`` (``seen``: rows not to count again, for a cycle)."""
        count, stack = 0, [i]
        while stack:
            k = stack.pop()
            for m in kids[kids_start[k] : kids_start[k + 1]]:  # type: ignore[index]
                if seen is not None:
                    if m in seen:
                        continue
                    seen.add(m)
                count += 1
                stack.append(m)
        return count

    def and_descendants(i: int) -> str:
        d = descendants(i)
        if not d:
            return ""
        return f"; its {d} descendant{'s' if d > 1 else ''} cannot be redefined either"

    # Broken links.
    invalid_names = {name: where for where, name, _ in group.invalid if name is not None}
    for i in broken:
        name, parent = names[i], parents[i]
        assert parent is not None
        if parent == name:
            problems.append(
                Problem(
                    "self-parent",
                    name,
                    f"{noun} {name!r} names itself as its parent: libvirt refuses it (\"cannot set moment "
                    f"{name} as its own parent\"); correct its <parent> or remove it to make it a root{and_descendants(i)}",
                    origin(i),
                )
            )
        elif parent in invalid_names:
            problems.append(
                Problem(
                    "missing-parent",
                    name,
                    f"parent {parent!r} of {noun} {name!r} is in a rejected document ({_short(invalid_names[parent])}): "
                    f"fix that document first; until then libvirt refuses {name!r} (\"parent {parent} for moment "
                    f"{name} not found\"){and_descendants(i)}",
                    origin(i),
                    related=(parent,),
                )
            )
        else:
            others = [g for g in elsewhere.get(parent, ()) if g is not group and g.kind == noun]
            if others:
                other = min(others, key=_group_sort_key)
                problems.append(
                    Problem(
                        "uuid-mismatch",
                        name,
                        f"parent {parent!r} of {noun} {name!r} is not in {_describe(group)} but in "
                        f"{_describe(other)}: a {noun} cannot chain across VMs (libvirt: \"parent {parent} for "
                        f"moment {name} not found\"); if {name!r} was taken from that VM, restore it there; if the "
                        f"name only happens to be the same, add {parent!r} of this VM to the archive{and_descendants(i)}",
                        origin(i),
                        related=(parent,),
                    )
                )
            else:
                problems.append(
                    Problem(
                        "missing-parent",
                        name,
                        f"parent {parent!r} of {noun} {name!r} is not in the archive: libvirt refuses "
                        f"{name!r} (\"parent {parent} for moment {name} not found\"); add the document of "
                        f"{parent!r}, or remove <parent> to make {name!r} a root{and_descendants(i)}",
                        origin(i),
                        related=(parent,),
                    )
                )

    # Cycles: only where a walk up from an unrestorable checkpoint meets itself.
    if not simple:
        walked = bytearray(n)  # 0 unseen, 1 on the current walk, 2 done
        for start in range(n):
            if state[start] == 1 or walked[start]:
                continue
            walk = []
            i = start
            while i >= 0 and not walked[i]:
                walked[i] = 1
                walk.append(i)
                i = up[i]
            if i >= 0 and walked[i] == 1:
                problems.extend(_cycle(walk[walk.index(i) :], names, parents, origin, descendants, noun))
            for k in walk:
                walked[k] = 2

    # Warnings. A branch is normal for snapshots (revert, then snapshot again): no fork there.
    forks: dict[int, list[int]] = {} if snap else {j: [] for j, count in counts.items() if j >= 0 and count > 1}
    if forks:
        for i, j in enumerate(up):
            branch = forks.get(j)
            if branch is not None:
                branch.append(i)
    for j, branch in forks.items():
        branch.sort(key=key.__getitem__)
        count = len(branch)
        listed = ", ".join(repr(names[k]) for k in branch)
        problems.append(
            Problem(
                "fork",
                names[j],
                f"checkpoint {names[j]!r} has {count} children ({listed}): with several leaves libvirt has no single "
                "current checkpoint, and after a restore it makes current the end of whichever branch is "
                "redefined first, so the next incremental backup chains on an arbitrary branch; remove the "
                "stale branch, or check that the fork is intended",
                origin(j),
                related=tuple(names[k] for k in branch),
            )
        )
    if not simple:
        for i in range(n):
            j = up[i]
            if j >= 0 and times[i] != _NO_TIME and times[j] != _NO_TIME and times[i] < times[j]:
                problems.append(
                    Problem(
                        "time-order",
                        names[i],
                        f"{noun} {names[i]!r} (creationTime {times[i]}) is older than its parent {names[j]!r} "
                        f"(creationTime {times[j]}): a clock went backwards or <parent> is wrong; check both",
                        origin(i),
                        related=(names[j],),
                    )
                )
    if snap:
        disk_links = []  # a snapshot lists every disk it saves: disks that come and go are no fault
    for i in disk_links:
        problems.extend(_disk_changes(names[i], names[up[i]], disks[i], disks[up[i]], origin(i)))
    if odd and not snap:
        for i in range(n):
            if id(disks[i]) in odd:
                name = names[i]
                for disk in disks[i]:
                    if disk[1] == "bitmap" and disk[2] is not _SAME:
                        problems.append(
                            Problem(
                                "bitmap-name",
                                name,
                                f"disk {disk[0]!r} of checkpoint {name!r} names bitmap {disk[2]!r}: libvirt's QEMU "
                                f"driver names a checkpoint's bitmap after the checkpoint ({name!r}) and requires "
                                "that when it creates one; rename the bitmap or drop the bitmap attribute",
                                origin(i),
                            )
                        )

    # Rejected documents.
    for where_, bad_name, detail in group.invalid:
        problems.append(
            Problem(
                "invalid",
                bad_name,
                f"document rejected: {detail}: fix it"
                + (f"; {noun}s whose parent is {bad_name!r} cannot be redefined until then" if bad_name is not None else ""),
                where_,
            )
        )

    leaves = tuple(sorted(names[i] for i in ranked if i not in counts))
    current = leaves[0] if len(leaves) == 1 else None
    if snap:
        current, restored = _current_snapshot(group, names, rows, key, state, ranked, origin, problems)

    for problem in problems:
        source = problem.source
        if source is not None and (source.index or (source.path, source.member) in multi):
            problem.document = source.index
        if snap:
            problem.moment = SNAPSHOT
    problems.sort(key=lambda p: (p.severity != ERROR, _KIND_RANK[p.kind], p.checkpoint or "", _origin_key(p.source)))
    vm = group.uuid
    if vm is None and len(group.uuids) == 1:
        vm = next(iter(group.uuids))
    return Chain(
        vm=vm,
        vm_name=group.vm_name,
        folder=group.folder,
        roots=tuple(names[i] for i in ranked if up[i] == -1),
        leaves=leaves,
        current=current,
        restored_current=names[restored] if restored >= 0 else None,
        order=tuple(names[i] for i in ranked),
        unrestorable=tuple(sorted(names[i] for i in range(n) if state[i] != 1)),
        problems=tuple(problems),
        names=names,
        index=index,
        parents=parents,
        rows=rows,
        group=group,
        multi=multi,
        kind=noun,
    )


def _current_snapshot(
    group: _Group, names: list[str], rows: list[int] | None, key: list[Any], state: bytearray, ranked: list[int], origin: Any, problems: list[Problem]
) -> tuple[str | None, int]:
    """A snapshot chain's current snapshot (the one active record, if restorable) and the row
    libvirt holds as current after a restore (the last active one redefined); several active
    records are libvirt's "Too many snapshots claiming to be current"."""
    if not group.actives:
        return None, -1
    if rows is None:
        actives = list(group.actives)
    else:  # of a duplicated name, only the definition that counts
        at = {r: i for i, r in enumerate(rows)}
        actives = [at[r] for r in group.actives if r in at]
    actives.sort(key=key.__getitem__)
    active = set(actives)
    restored = next((i for i in reversed(ranked) if i in active), -1)
    current = names[actives[0]] if len(actives) == 1 and state[actives[0]] == 1 else None
    if len(actives) > 1:
        listed = ", ".join(repr(names[k]) for k in actives)
        said = "Too many snapshots claiming to be current" + (f" for domain {group.vm_name}" if group.vm_name else "")
        after = (
            f"redefined in this order with the CURRENT flag on each, {names[restored]!r} (the last one) ends up current"
            if restored >= 0
            else "none of them can be redefined"
        )
        problems.append(
            Problem(
                "too-many-current",
                names[actives[0]],
                f"{len(actives)} snapshots claim to be current (<active>1</active>): {listed}; libvirt, loading them, "
                f"reports \"{said}\" and makes current whichever it reads last; {after}; keep <active>1</active> on "
                "the current snapshot only and set the others to 0",
                origin(actives[0]),
                related=tuple(names[k] for k in actives),
                sources=tuple(origin(k) for k in actives),
            )
        )
    return current, restored


def _one_definition_each(group: _Group, names: list[str], problems: list[Problem]) -> list[int]:
    """The row of the definition that counts, for every name (in first-seen order), reporting
    each name defined more than once: identical copies are harmless, different content is an
    error (libvirt keeps whichever is redefined last)."""
    objs, ints = group.objs, group.ints
    noun = group.kind
    first: dict[str, int] = {}
    extra: dict[str, list[int]] = {}
    for row, name in enumerate(names):
        if first.setdefault(name, row) != row:
            extra.setdefault(name, [first[name]]).append(row)
    all_names = set(first)

    def content(r: int) -> tuple[Any, ...]:
        return (objs[r * _OBJ + 1], ints[r * _INT], objs[r * _OBJ + 2], ints[r * _INT + 1])

    for name, rows in extra.items():
        rows.sort(key=lambda r: _origin_key(group.origin(r)))
        copies = tuple(group.origin(r) for r in rows)
        places = ", ".join(_short(o) for o in copies)
        if len({content(r) for r in rows}) == 1:
            first[name] = rows[0]
            problems.append(
                Problem(
                    "duplicate-copy",
                    name,
                    f"{noun} {name!r} is stored {len(rows)} times with identical content ({places}): "
                    "harmless, one copy is redefined; delete the others to keep the archive unambiguous",
                    copies[0],
                    sources=copies,
                )
            )
            continue
        # The definition that counts: one whose parent is here, then the newest, then by content
        # (a reproducible choice, independent of the reading order and of places).
        best = min(
            rows,
            key=lambda r: (
                not (objs[r * _OBJ + 1] is None or objs[r * _OBJ + 1] in all_names),
                -ints[r * _INT],
                objs[r * _OBJ + 1] or "",
                repr(objs[r * _OBJ + 2]),
                ints[r * _INT + 1],
                _origin_key(group.origin(r)),
            ),
        )
        first[name] = best
        problems.append(
            Problem(
                "duplicate-name",
                name,
                f"{len(rows)} documents define {noun} {name!r} with different content ({places}): libvirt "
                "silently keeps whichever is redefined last, so the restored chain would depend on the order; "
                f"keep the right one and remove the others (this analysis uses {_short(group.origin(best))})",
                group.origin(best),
                sources=copies,
            )
        )
    return list(first.values())


def _general_order(
    up: list[int], start: "array[int]", kids: "array[int]", key: list[Any], disks: list[Any]
) -> tuple[bytearray, list[int], int, list[int]]:
    """For an archive whose (creationTime, name) order does not put every parent first: what is
    restorable (what hangs from a root), Kahn's order with a heap (among the checkpoints ready,
    the smallest (creationTime, name) next), the current checkpoint after the restore, and the
    links whose disks differ."""
    n = len(up)
    state = bytearray(b"\x02") * n
    heap = [(key[i], i) for i in range(n) if up[i] == -1]
    heapq.heapify(heap)
    ranked: list[int] = []
    restored = -1
    while heap:
        _, i = heapq.heappop(heap)
        state[i] = 1
        ranked.append(i)
        if restored < 0 or up[i] == restored:
            restored = i
        for k in kids[start[i] : start[i + 1]]:
            heapq.heappush(heap, (key[k], k))
    disk_links = [i for i in range(n) if up[i] >= 0 and disks[i] is not disks[up[i]]]
    return state, ranked, restored, disk_links


def _cycle(loop: list[int], names: list[str], parents: list[str | None], origin: Any, descendants: Any, noun: str = CHECKPOINT) -> list[Problem]:
    members = tuple(sorted(names[k] for k in loop))  # one tuple, shared by every member's problem
    # Written parent first (a -> b: b is a's parent), from the smallest name: the same text
    # whatever the reading order.
    chain = [names[k] for k in loop]  # each one's parent is the next
    first = chain.index(min(chain))
    chain = chain[first:] + chain[:first]
    shown = chain[:_CYCLE_SHOWN]
    text = " -> ".join(shown + [chain[0]]) if len(chain) <= _CYCLE_SHOWN else " -> ".join(shown) + f" -> ... ({len(chain)} {noun}s in all)"
    seen = set(loop)
    feeding = sum(descendants(k, seen) for k in loop)
    tail = f"; {feeding} {noun}{'s' if feeding != 1 else ''} descending from it cannot be redefined either" if feeding else ""
    return [
        Problem(
            "cycle",
            names[k],
            f"{noun} {names[k]!r} is in a parent cycle ({text}, each the child of the next): no order can "
            f"redefine its members (libvirt: \"parent {parents[k]} for moment {names[k]} not found\"); break the "
            f"cycle by correcting one <parent>{tail}",
            origin(k),
            related=members,
        )
        for k in loop
    ]


def _disk_changes(name: str, parent: str, mine_disks: tuple[Any, ...], their_disks: tuple[Any, ...], where_: Origin) -> list[Problem]:
    mine = {d[0] for d in mine_disks if d[1] == "bitmap"}
    theirs = {d[0] for d in their_disks if d[1] == "bitmap"}
    added = sorted(mine - theirs)
    removed = sorted(theirs - mine)
    out = []
    if added:
        out.append(
            Problem(
                "disk-added",
                name,
                f"checkpoint {name!r} tracks disk{'s' if len(added) > 1 else ''} {', '.join(added)} with a bitmap, "
                f"its parent {parent!r} does not: an incremental backup of {'them' if len(added) > 1 else 'it'} "
                f"cannot chain from {parent!r}; take a full backup first",
                where_,
                related=(parent,),
            )
        )
    if removed:
        out.append(
            Problem(
                "disk-removed",
                name,
                f"checkpoint {name!r} no longer tracks disk{'s' if len(removed) > 1 else ''} {', '.join(removed)} "
                f"that its parent {parent!r} tracks with a bitmap: the chain of "
                f"{'those disks' if len(removed) > 1 else 'that disk'} ends at {parent!r}",
                where_,
                related=(parent,),
            )
        )
    return out


def _children(up: Sequence[int], n: int) -> tuple["array[int]", "array[int]"]:
    """Children of every row, counting-sorted: row i's are ``kids[start[i]:start[i + 1]]``."""
    start = array("q", bytes(8 * (n + 1)))
    for j in up:
        if j >= 0:
            start[j + 1] += 1
    for i in range(n):
        start[i + 1] += start[i]
    fill = array("q", start)
    kids = array("q", bytes(8 * max(start[n], 0)))
    for i, j in enumerate(up):
        if j >= 0:
            kids[fill[j]] = i
            fill[j] += 1
    return start, kids


def _short(origin: Origin | None) -> str:
    text = where(origin)
    if origin is not None and origin.index:
        text += f" document {origin.index}"
    return text


def _describe(group: _Group) -> str:
    if group.uuid is not None:
        named = f" {group.vm_name!r}" if group.vm_name else ""
        return f"VM{named} (uuid {group.uuid})"
    return f"folder {group.folder}"
