"""Chains: the archive-level view of checkpoints. Per VM, the tree that ``<parent>`` links make,
the problems that would stop or distort a restore, and the order that redefines the tree into
libvirt (parents before children).

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
import sys
import zlib
from array import array
from typing import Any, Iterable, Iterator, Literal, Sequence

from .api import iter_sources, iterparse
from .errors import CheckpointError
from .records import Checkpoint, Origin
from .sources import SourceError

__all__ = [
    "ChainBuilder",
    "Chain",
    "Problem",
    "build_chains",
    "chains",
    "KINDS",
    "ERROR",
    "WARNING",
    "GroupBy",
]

GroupBy = Literal["uuid", "folder", "none"]
ERROR, WARNING = "error", "warning"

#: Every problem kind and its severity, in the order reports list them.
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
_KIND_RANK = {kind: rank for rank, kind in enumerate(KINDS)}
_NO_TIME = -(1 << 63)  # creationTime absent (only outside REDEFINE mode): sorts first
_NO_END = -1
_WHITESPACE = b" \t\r\n"
_QUOTES = bytes.maketrans(b"'", b'"')
_DOMAIN_CACHE_BYTES = 16 << 20  # domain texts remembered (a VM's domain repeats along its chain)
_STDIN = "<stdin>"
_CYCLE_SHOWN = 8  # members a cycle's message lists


# -- results -------------------------------------------------------------------------------------


class Problem:
    """One thing found wrong (``severity`` ``"error"``) or worth a look (``"warning"``).

    ``kind`` is one of :data:`KINDS`; ``checkpoint`` the checkpoint's name (``None`` for a
    rejected document whose name could not be read); ``message`` says what to fix; ``source``
    is the :class:`~.records.Origin` of the document concerned (path, archive member, index in
    its stream); ``related`` names the other checkpoints involved (a cycle's members, a fork's
    children, ...) and ``sources`` every document involved (the copies of a duplicate)."""

    __slots__ = ("kind", "severity", "checkpoint", "message", "source", "related", "sources", "document")

    def __init__(
        self,
        kind: str,
        checkpoint: str | None,
        message: str,
        source: Origin | None,
        related: tuple[str, ...] = (),
        sources: tuple[Origin, ...] = (),
    ) -> None:
        self.kind = kind
        self.severity = KINDS[kind]
        self.checkpoint = checkpoint
        self.message = message
        self.source = source
        self.related = related
        self.sources = sources or ((source,) if source is not None else ())
        #: The document's index in its stream, when that file (or member) holds several.
        self.document: int | None = None

    def __repr__(self) -> str:
        return f"Problem({self.kind!r}, {self.checkpoint!r}, {self.message!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Problem) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[Any, ...]:
        return (self.kind, self.checkpoint, self.message, _origin_key(self.source), self.related)

    @property
    def where(self) -> str:
        """``PATH[:MEMBER]`` of the document concerned (``<input>`` when unknown)."""
        return where(self.source)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "checkpoint": self.checkpoint,
            "message": self.message,
            "source": None if self.source is None else self.source.to_dict(),
        }

    def format(self) -> str:
        """``PATH[:MEMBER]: error|warning: MESSAGE [kind] (checkpoint NAME)``."""
        tail = f" (checkpoint {self.checkpoint})" if self.checkpoint is not None else ""
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


class Chain:
    """The checkpoints of one VM (or one folder, or the whole input: see ``group_by``).

    ``vm`` is the domain uuid (canonical: lowercase, dashed) or ``None``; ``vm_name`` the
    domain's name in its most recent checkpoint; ``folder`` the folder or archive of a group
    made by folder. The tree is the *restorable* one, what libvirt holds after a correct restore:
    ``roots``, ``leaves``, ``current`` (libvirt's pick: the single leaf, if there is exactly one),
    ``order`` (every restorable checkpoint, parents first, ties by creationTime then name).
    ``restored_current`` is what libvirt 9.0 actually holds as current after redefining ``order``:
    each redefined checkpoint becomes current when there is none yet or its parent is current, so
    after a fork it is the end of the first branch redefined (the same as ``current`` when there is
    a single leaf).
    ``unrestorable`` names the checkpoints no order can redefine (broken ancestry).
    :meth:`parent`, :meth:`children`, :meth:`source`, :meth:`creation_time` and :meth:`disks`
    answer for every checkpoint of the group, restorable or not.
    """

    __slots__ = (
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
        "_times",
        "_disks",
        "_origins",
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
        times: array,
        disks: list[tuple[Any, ...]],
        origins: list[Origin],
        multi: set[tuple[str | None, str | None]],
    ) -> None:
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
        self._times = times
        self._disks = disks
        self._origins = origins
        self._multi = multi
        self._kids: dict[int, list[int]] | None = None

    def __repr__(self) -> str:
        return f"Chain(vm={self.vm!r}, vm_name={self.vm_name!r}, checkpoints={self.checkpoints}, problems={len(self.problems)})"

    @property
    def checkpoints(self) -> int:
        """Distinct checkpoint names in the group (restorable or not)."""
        return len(self._names)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._names))

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == ERROR)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == WARNING)

    def _id(self, name: str) -> int:
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(f"no checkpoint {name!r} in this chain") from None

    def parent(self, name: str) -> str | None:
        return self._parents[self._id(name)]

    def creation_time(self, name: str) -> int | None:
        value = self._times[self._id(name)]
        return None if value == _NO_TIME else value

    def disks(self, name: str) -> tuple[tuple[str, str, str | None], ...]:
        """``(disk name, checkpoint mode, bitmap)`` of each disk the checkpoint lists."""
        return tuple(d[:3] for d in self._disks[self._id(name)])

    def source(self, name: str) -> Origin | None:
        """Where the definition that counts came from (of a duplicate name: the one redefined)."""
        return self._origins[self._id(name)]

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
        return tuple(self._names[i] for i in kids.get(self._id(name), ()))

    def links(self) -> Iterator[tuple[str, str]]:
        """``(checkpoint, parent)`` for every checkpoint of the group that names a parent, in
        name order (the parent may be missing, or in another group)."""
        for name, parent in zip(self._names, self._parents):
            if parent is not None:
                yield name, parent

    def _sort_key(self, i: int) -> tuple[int, str]:
        return (self._times[i], self._names[i])

    def location(self, name: str) -> str:
        """``PATH[:MEMBER]`` of the checkpoint's document, with ``@OFFSET:LENGTH`` when that file
        or member holds several documents (a concatenated stream): enough to fetch it."""
        origin = self.source(name)
        text = where(origin)
        if origin is not None and (origin.path, origin.member) in self._multi and origin.end is not None:
            text += f"@{origin.offset}:{origin.end - origin.offset}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """One JSON object: ``vm``, ``vmName``, ``checkpoints``, ``roots``, ``leaves``,
        ``current``, ``order``, ``problems``, and ``folder``, ``restoredCurrent``,
        ``unrestorable``, ``parents``, ``children``."""
        children = {}
        for name in self.order:
            kids = self.children(name)
            if kids:
                children[name] = list(kids)
        return {
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
            "parents": {name: self._parents[i] for i, name in sorted(enumerate(self._names), key=lambda p: p[1])},
            "children": children,
            "problems": [p.to_dict() for p in self.problems],
        }


# -- the builder ---------------------------------------------------------------------------------


class _Group:
    """Every definition read for one group, in columns (one row per document)."""

    __slots__ = (
        "key",
        "uuid",
        "uuids",
        "vm_name",
        "best",
        "names",
        "parents",
        "times",
        "disks",
        "fps",
        "stable",
        "paths",
        "members",
        "indexes",
        "offsets",
        "ends",
        "invalid",
    )

    def __init__(self, key: tuple[str, str | None]) -> None:
        self.key = key
        self.uuid: str | None = key[1] if key[0] == "uuid" else None
        self.uuids: set[str | None] = set()  # for groups made otherwise: the VMs seen
        self.vm_name: str | None = None
        self.best: tuple[int, str] | None = None  # (creationTime, name) of the record vm_name is from
        self.names: list[str] = []
        self.parents: list[str | None] = []
        self.times = array("q")
        self.disks: list[tuple[Any, ...]] = []
        self.fps = array("q")  # content fingerprint (equality within this process)
        self.stable = array("q")  # content digest, the same in every process (ties)
        self.paths: list[str | None] = []
        self.members: list[str | None] = []
        self.indexes = array("q")
        self.offsets = array("q")
        self.ends = array("q")
        self.invalid: list[tuple[Origin, str | None, str]] = []

    def origin(self, i: int) -> Origin:
        end = self.ends[i]
        return Origin(self.paths[i], self.members[i], self.indexes[i], self.offsets[i], None if end == _NO_END else end)


def _digest(data: bytes) -> int:
    """A 64-bit content digest that is the same in every process (``hash`` is salted per
    process): it breaks ties between conflicting definitions, so the choice is reproducible."""
    return ((zlib.crc32(data) << 32) | zlib.adler32(data)) - (1 << 63)


def canonical_uuid(text: str | None) -> str | None:
    """A domain uuid as one spelling (lowercase, 8-4-4-4-12): the 32-hex-digit form, upper case
    and the dashed form are the same VM. Text that is no uuid is kept as it is."""
    if text is None:
        return None
    raw = text.strip()
    hexdigits = raw.replace("-", "").lower()
    if len(hexdigits) != 32 or any(c not in "0123456789abcdef" for c in hexdigits):
        return raw or None
    h = hexdigits
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _folder(path: str | None, member: str | None) -> str:
    """The folder a document without a domain is grouped by: its directory, or for an archive
    member the archive and the member's directory."""
    if path is None:
        path = "<input>"
    if member is not None:
        return f"{path}:{os.path.dirname(member) or '.'}"
    if path == _STDIN or path == "<input>":
        return path
    return os.path.dirname(path) or "."


class ChainBuilder:
    """Push-style: :meth:`add` every record (and every rejected document, as the
    :class:`~.errors.CheckpointError` that skip mode yields), in any order, then :meth:`finish`.

    ``group_by``: ``"uuid"`` (default) groups by the nested domain's uuid, documents without a
    domain by their folder (an archive member: by archive and member folder); ``"folder"`` by
    folder only; ``"none"``: everything in one group.
    """

    def __init__(self, group_by: GroupBy = "uuid") -> None:
        if group_by not in ("uuid", "folder", "none"):
            raise ValueError(f"group_by must be 'uuid', 'folder' or 'none', not {group_by!r}")
        self.group_by = group_by
        self._groups: dict[tuple[str, str | None], _Group] = {}
        self._domains: dict[bytes, tuple[str | None, str | None, int]] = {}
        self._domain_bytes = 0
        self._disk_sets: dict[tuple[Any, ...], tuple[Any, ...]] = {(): ()}
        self._folders: dict[tuple[str | None, str | None], str] = {}
        self._multi: set[tuple[str | None, str | None]] = set()
        self._invalid: list[tuple[Origin, str | None, str | None, str]] = []
        self.records = 0

    # -- reading ---------------------------------------------------------------------------------

    def add(self, item: Checkpoint | CheckpointError | SourceError) -> None:
        """Take one record (or one rejected document, or one unreadable input)."""
        if type(item) is not Checkpoint:
            if isinstance(item, Checkpoint):
                pass
            elif isinstance(item, (CheckpointError, SourceError)):
                return self._add_rejected(item)
            else:
                raise TypeError(f"ChainBuilder.add() takes records and errors, not {type(item).__name__}")
        self.records += 1
        domain = item.domain
        if domain is None:
            uuid = vm_name = None
            dfp = 0
        else:
            uuid, vm_name, dfp = self._domain(domain)
        origin = item.origin
        if origin is None:
            path = member = None
            index = offset = 0
            end = _NO_END
        else:
            path, member, index, offset = origin.path, origin.member, origin.index, origin.offset
            end = _NO_END if origin.end is None else origin.end
            if index:
                self._multi.add((path, member))
        if uuid is not None and self.group_by == "uuid":
            key: tuple[str, str | None] = ("uuid", uuid)
        elif self.group_by == "none":
            key = ("all", None)
        else:
            folder = self._folders.get((path, member))
            if folder is None:
                folder = self._folders[(path, member)] = _folder(path, member)
            key = ("folder", folder)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(key)
        name = sys.intern(item.name) if item.name is not None else ""
        parent = item.parent
        if parent is not None:
            parent = sys.intern(parent)
        time = item.creation_time
        if time is None:
            time = _NO_TIME
        disks = item.disks
        if disks:
            skeleton = tuple([(d.name, d.checkpoint, d.bitmap, d.size) for d in disks])
            disks = self._disk_sets.setdefault(skeleton, skeleton)
        else:
            disks = ()
        if group.key[0] != "uuid":
            group.uuids.add(uuid)
        if vm_name is not None:
            best = group.best
            if best is None or time > best[0] or (time == best[0] and name > best[1]):
                group.best = (time, name)
                group.vm_name = vm_name
        group.names.append(name)
        group.parents.append(parent)
        group.times.append(time)
        group.disks.append(disks)
        description = item.description
        group.fps.append(hash((name, description, parent, time, disks, item.active, dfp)))
        group.stable.append(dfp ^ zlib.crc32(description.encode()) if description is not None else dfp)
        group.paths.append(path)
        group.members.append(member)
        group.indexes.append(index)
        group.offsets.append(offset)
        group.ends.append(end)

    def _domain(self, domain: Any) -> tuple[str | None, str | None, int]:
        """(canonical uuid, name, content fingerprint) of a nested domain. A domain kept in
        libvirt's layout is remembered by its text: along one VM's chain it repeats."""
        source = domain._source
        if source is not None:
            span = source[0]
            known = self._domains.get(span)
            if known is not None:
                return known
            name, uuid = domain.identity
            text = span
        else:
            name, uuid = domain.identity
            text = domain.xml.encode("utf-8")
        # Formatting does not count: whitespace between and around markup, and the quotes
        # around attribute values, are left out of the fingerprint.
        known = (canonical_uuid(uuid), name, _digest(text.translate(_QUOTES, _WHITESPACE)))
        if source is not None:
            if self._domain_bytes + len(text) > _DOMAIN_CACHE_BYTES:
                self._domains.clear()
                self._domain_bytes = 0
            self._domains[text] = known
            self._domain_bytes += len(text)
        return known

    def _add_rejected(self, err: CheckpointError | SourceError) -> None:
        if isinstance(err, SourceError):
            origin = Origin(err.path, err.member, 0, 0, None)
            self._invalid.append((origin, None, None, f"cannot read: {err.message}"))
            return
        origin = Origin(err.source, err.member, err.document or 0, err.offset or 0, None)
        if err.document:
            self._multi.add((err.source, err.member))
        where = []
        if err.line is not None:
            where.append(f"line {err.line}")
            if err.column is not None:
                where.append(f"column {err.column}")
        if err.path:
            where.append(f"at {err.path}")
        detail = f"{err.message} ({', '.join(where)})" if where else err.message
        self._invalid.append((origin, err.checkpoint, canonical_uuid(err.domain_uuid), detail))

    def extend(self, items: Iterable[Any]) -> "ChainBuilder":
        for item in items:
            self.add(item)
        return self

    # -- analysis --------------------------------------------------------------------------------

    def finish(self) -> list[Chain]:
        """Every group's chain, sorted by VM name, uuid and folder. The builder is spent."""
        return list(self.iter_finish())

    def iter_finish(self) -> Iterator[Chain]:
        """Like :meth:`finish`, one chain at a time: each group's columns are dropped once its
        chain is made, so the peak is the skeletons plus one group's analysis."""
        self._place_rejected()
        groups = self._groups
        self._groups = {}
        self._domains.clear()
        # Where each name is defined, for a parent missing from its own group.
        wanted: set[str] = set()
        for group in groups.values():
            wanted.update(_missing_parents(group))
        elsewhere: dict[str, list[_Group]] = {}
        if wanted:
            for group in groups.values():
                for name in set(group.names) & wanted:
                    elsewhere.setdefault(name, []).append(group)
        for key in sorted(groups, key=lambda k: _group_sort_key(groups[k])):
            group = groups.pop(key)
            yield _analyse(group, elsewhere, self._multi, self.group_by)

    def _place_rejected(self) -> None:
        """A rejected document goes with its VM when its domain uuid could be read; else with the
        one VM whose documents share its folder; else with its folder."""
        if not self._invalid:
            return
        by_folder: dict[str, set[tuple[str, str | None]]] | None = None
        for origin, name, uuid, detail in self._invalid:
            key: tuple[str, str | None]
            if self.group_by == "none":
                key = ("all", None)
            elif self.group_by == "uuid" and uuid is not None:
                key = ("uuid", uuid)
            else:
                folder = _folder(origin.path, origin.member)
                key = ("folder", folder)
                if self.group_by == "uuid":
                    if by_folder is None:
                        by_folder = self._groups_by_folder()
                    owners = by_folder.get(folder, set())
                    if len(owners) == 1:
                        key = next(iter(owners))
            group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = _Group(key)
                if key[0] != "uuid":
                    group.uuids.add(uuid)
            group.invalid.append((origin, name, detail))
        self._invalid = []

    def _groups_by_folder(self) -> dict[str, set[tuple[str, str | None]]]:
        found: dict[str, set[tuple[str, str | None]]] = {}
        folders: dict[tuple[str | None, str | None], str] = {}
        for key, group in self._groups.items():
            for path, member in set(zip(group.paths, group.members)):
                folder = folders.get((path, member))
                if folder is None:
                    folder = folders[(path, member)] = _folder(path, member)
                found.setdefault(folder, set()).add(key)
        return found


def _group_sort_key(group: _Group) -> tuple[str, str, str]:
    return (group.vm_name or "", group.uuid or "", group.key[1] or "" if group.key[0] != "uuid" else "")


def _missing_parents(group: _Group) -> set[str]:
    names = set(group.names)
    return {p for p in set(group.parents) if p is not None and p not in names}


def build_chains(items: Iterable[Any], *, group_by: GroupBy = "uuid") -> list[Chain]:
    """The chains of ``items``: records, and the errors skip mode yields (``iterparse(...,
    on_error="skip", yield_errors=True)``), from any source, in any order."""
    return ChainBuilder(group_by).extend(items).finish()


def chains(source: Any, *, group_by: GroupBy = "uuid", **parse_kwargs: Any) -> list[Chain]:
    """The chains of an archive: ``source`` is anything :func:`~.api.iterparse` reads (a path:
    file, folder, archive, ``"-"``; bytes; a binary file; an iterable of chunks), or a list of
    paths. Rejected documents do not stop the analysis: each is an ``invalid`` problem, and the
    chain around it is analysed. ``parse_kwargs`` go to the parser (modes, limits)."""
    parse_kwargs.pop("on_error", None)
    if isinstance(source, (list, tuple)):
        items: Iterable[Any] = iter_sources(source, on_error="skip", **parse_kwargs)
    else:
        items = iterparse(source, on_error="skip", yield_errors=True, **parse_kwargs)
    return build_chains(items, group_by=group_by)


# -- one group -----------------------------------------------------------------------------------


def _analyse(group: _Group, elsewhere: dict[str, list[_Group]], multi: set[Any], group_by: str) -> Chain:
    names, fps = group.names, group.fps
    problems: list[Problem] = []

    # 1. One definition per name: copies are harmless, conflicting definitions are an error.
    first: dict[str, int] = {}
    extra: dict[str, list[int]] = {}
    for row, name in enumerate(names):
        if first.setdefault(name, row) != row:
            extra.setdefault(name, [first[name]]).append(row)
    chosen: dict[str, int] = first
    if extra:
        all_names = set(first)
        for name, rows in extra.items():
            rows.sort(key=lambda r: _origin_key(group.origin(r)))
            copies = tuple(group.origin(r) for r in rows)
            places = ", ".join(_short(o) for o in copies)
            distinct = {fps[r] for r in rows}
            if len(distinct) == 1:
                chosen[name] = rows[0]
                problems.append(
                    Problem(
                        "duplicate-copy",
                        name,
                        f"checkpoint {name!r} is stored {len(rows)} times with identical content ({places}): "
                        "harmless, one copy is redefined; delete the others to keep the archive unambiguous",
                        copies[0],
                        sources=copies,
                    )
                )
                continue
            # The definition that counts: one whose parent is here, then the newest, then by
            # content (a reproducible choice, independent of the reading order and of places).
            best = min(
                rows,
                key=lambda r: (
                    not (group.parents[r] is None or group.parents[r] in all_names),
                    -group.times[r],
                    group.parents[r] or "",
                    group.disks[r],
                    group.stable[r],
                    _origin_key(group.origin(r)),
                ),
            )
            chosen[name] = best
            problems.append(
                Problem(
                    "duplicate-name",
                    name,
                    f"{len(rows)} documents define checkpoint {name!r} with different content ({places}): libvirt "
                    "silently keeps whichever is redefined last, so the restored chain would depend on the order; "
                    f"keep the right one and remove the others (this analysis uses {_short(group.origin(best))})",
                    group.origin(best),
                    sources=copies,
                )
            )

    # 2. The group's checkpoints, one row each, by name.
    order_names = sorted(chosen)
    n = len(order_names)
    index = {name: i for i, name in enumerate(order_names)}
    rows = [chosen[name] for name in order_names]
    del chosen, first
    parents = [group.parents[r] for r in rows]
    times = array("q", (group.times[r] for r in rows))
    disks = [group.disks[r] for r in rows]
    origins = [group.origin(r) for r in rows]
    up = array("q", bytes(8 * n))  # parent row, -1 for a root, -2 broken
    invalid_names = {name: origin for origin, name, _ in group.invalid if name is not None}
    descendants_of: list[int] = []
    for i in range(n):
        parent = parents[i]
        if parent is None:
            up[i] = -1
            continue
        j = index.get(parent)
        if j is not None and j != i:
            up[i] = j
            continue
        up[i] = -2
        descendants_of.append(i)
    kids_start, kids = _children(up, n)

    def descendants(i: int, seen: set[int] | None = None) -> int:
        """Checkpoints below row ``i`` (``seen``: rows not to count again, for a cycle)."""
        count, stack = 0, [i]
        while stack:
            k = stack.pop()
            for m in kids[kids_start[k] : kids_start[k + 1]]:
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

    for i in descendants_of:
        name, parent = order_names[i], parents[i]
        assert parent is not None
        if parent == name:
            problems.append(
                Problem(
                    "self-parent",
                    name,
                    f"checkpoint {name!r} names itself as its parent: libvirt refuses it (\"cannot set moment "
                    f"{name} as its own parent\"); correct its <parent> or remove it to make it a root{and_descendants(i)}",
                    origins[i],
                )
            )
        elif parent in invalid_names:
            problems.append(
                Problem(
                    "missing-parent",
                    name,
                    f"parent {parent!r} of checkpoint {name!r} is in a rejected document ({_short(invalid_names[parent])}): "
                    f"fix that document first; until then libvirt refuses {name!r} (\"parent {parent} for moment "
                    f"{name} not found\"){and_descendants(i)}",
                    origins[i],
                    related=(parent,),
                )
            )
        else:
            others = [g for g in elsewhere.get(parent, ()) if g is not group]
            if others:
                other = min(others, key=_group_sort_key)
                problems.append(
                    Problem(
                        "uuid-mismatch",
                        name,
                        f"parent {parent!r} of checkpoint {name!r} belongs to {_describe(other)}, not to "
                        f"{_describe(group)}: a checkpoint cannot chain across VMs (libvirt: \"parent {parent} for "
                        f"moment {name} not found\"); restore it with the VM it was taken from, or correct its "
                        f"<parent>{and_descendants(i)}",
                        origins[i],
                        related=(parent,),
                    )
                )
            else:
                problems.append(
                    Problem(
                        "missing-parent",
                        name,
                        f"parent {parent!r} of checkpoint {name!r} is not in the archive: libvirt refuses "
                        f"{name!r} (\"parent {parent} for moment {name} not found\"); add the document of "
                        f"{parent!r}, or remove <parent> to make {name!r} a root{and_descendants(i)}",
                        origins[i],
                        related=(parent,),
                    )
                )

    # 3. Cycles: walk up from every row; a walk that meets itself closed a loop.
    state = bytearray(n)  # 0 unseen, 1 on the current walk, 2 done
    for start in range(n):
        if state[start]:
            continue
        walk = []
        i = start
        while i >= 0 and not state[i]:
            state[i] = 1
            walk.append(i)
            i = up[i]
        if i >= 0 and state[i] == 1:
            loop = walk[walk.index(i) :]
            members = tuple(sorted(order_names[k] for k in loop))  # one tuple, shared by every member's problem
            shown = [order_names[k] for k in reversed(loop[-_CYCLE_SHOWN:])]
            cycle_text = " -> ".join(shown + [shown[0]] if len(loop) <= _CYCLE_SHOWN else shown + ["..."])
            if len(loop) > _CYCLE_SHOWN:
                cycle_text += f", {len(loop)} checkpoints in all"
            seen = set(loop)
            feeding = sum(descendants(k, seen) for k in loop)
            tail = f"; {feeding} checkpoint{'s' if feeding != 1 else ''} descending from it cannot be redefined either" if feeding else ""
            for k in loop:
                problems.append(
                    Problem(
                        "cycle",
                        order_names[k],
                        f"checkpoint {order_names[k]!r} is in a parent cycle ({cycle_text}): no order can redefine "
                        f"its members (libvirt: \"parent {parents[k]} for moment {order_names[k]} not found\"); "
                        f"break the cycle by correcting one <parent>{tail}",
                        origins[k],
                        related=members,
                    )
                )
        for k in walk:
            state[k] = 2

    # 4. The restorable tree: what hangs from the roots. Order: parents first, ties by
    #    creationTime then name (the sorted order itself when it already puts parents first).
    restorable = bytearray(n)
    stack = [i for i in range(n) if up[i] == -1]
    reached = 0
    while stack:
        i = stack.pop()
        restorable[i] = 1
        reached += 1
        stack.extend(kids[kids_start[i] : kids_start[i + 1]])
    key = list(zip(times, order_names))
    ranked = sorted((i for i in range(n) if restorable[i]), key=key.__getitem__)
    position = array("q", bytes(8 * n))
    for p, i in enumerate(ranked):
        position[i] = p
    if any(up[i] >= 0 and position[up[i]] > position[i] for i in ranked):
        ranked = _heap_order(up, kids_start, kids, key, restorable)
    roots = tuple(order_names[i] for i in ranked if up[i] == -1)
    leaves_rows = [i for i in ranked if not any(restorable[k] for k in kids[kids_start[i] : kids_start[i + 1]])]
    leaves = tuple(sorted(order_names[i] for i in leaves_rows))
    current = leaves[0] if len(leaves) == 1 else None
    # What libvirt 9.0 holds as current once ``order`` is redefined (measured with the test
    # driver): a redefined checkpoint becomes current when there is none yet or its parent is.
    restored = -1
    for i in ranked:
        if restored < 0 or up[i] == restored:
            restored = i
    unrestorable = tuple(order_names[i] for i in range(n) if not restorable[i])

    # 5. Warnings along each parent link (restorable or not: a fix may make it restorable).
    for i in range(n):
        name = order_names[i]
        count = kids_start[i + 1] - kids_start[i]
        if count > 1:
            branch = sorted(kids[kids_start[i] : kids_start[i + 1]], key=key.__getitem__)
            listed = ", ".join(repr(order_names[k]) for k in branch)
            problems.append(
                Problem(
                    "fork",
                    name,
                    f"checkpoint {name!r} has {count} children ({listed}): with several leaves libvirt has no single "
                    "current checkpoint, and after a restore it makes current the end of whichever branch is "
                    "redefined first, so the next incremental backup chains on an arbitrary branch; remove the "
                    "stale branch, or check that the fork is intended",
                    origins[i],
                    related=tuple(order_names[k] for k in branch),
                )
            )
        j = up[i]
        for disk in disks[i]:
            if disk[1] == "bitmap" and disk[2] is not None and disk[2] != name:
                problems.append(
                    Problem(
                        "bitmap-name",
                        name,
                        f"disk {disk[0]!r} of checkpoint {name!r} names bitmap {disk[2]!r}: libvirt's QEMU driver "
                        f"names a checkpoint's bitmap after the checkpoint ({name!r}) and requires that when it "
                        "creates one; rename the bitmap or drop the bitmap attribute",
                        origins[i],
                    )
                )
        if j < 0:
            continue
        parent = order_names[j]
        if times[i] != _NO_TIME and times[j] != _NO_TIME and times[i] < times[j]:
            problems.append(
                Problem(
                    "time-order",
                    name,
                    f"checkpoint {name!r} (creationTime {times[i]}) is older than its parent {parent!r} (creationTime "
                    f"{times[j]}): a clock went backwards or <parent> is wrong; check both",
                    origins[i],
                    related=(parent,),
                )
            )
        if disks[i] is not disks[j]:
            mine = {d[0] for d in disks[i] if d[1] == "bitmap"}
            theirs = {d[0] for d in disks[j] if d[1] == "bitmap"}
            added = sorted(mine - theirs)
            removed = sorted(theirs - mine)
            if added:
                problems.append(
                    Problem(
                        "disk-added",
                        name,
                        f"checkpoint {name!r} tracks disk{'s' if len(added) > 1 else ''} {', '.join(added)} with a "
                        f"bitmap, its parent {parent!r} does not: an incremental backup of "
                        f"{'them' if len(added) > 1 else 'it'} cannot chain from {parent!r}; take a full backup first",
                        origins[i],
                        related=(parent,),
                    )
                )
            if removed:
                problems.append(
                    Problem(
                        "disk-removed",
                        name,
                        f"checkpoint {name!r} no longer tracks disk{'s' if len(removed) > 1 else ''} "
                        f"{', '.join(removed)} that its parent {parent!r} tracks with a bitmap: the chain of "
                        f"{'those disks' if len(removed) > 1 else 'that disk'} ends at {parent!r}",
                        origins[i],
                        related=(parent,),
                    )
                )

    # 6. Rejected documents.
    for origin, bad_name, detail in group.invalid:
        problems.append(
            Problem(
                "invalid",
                bad_name,
                f"document rejected: {detail}: fix it"
                + (f"; checkpoints whose parent is {bad_name!r} cannot be redefined until then" if bad_name is not None else ""),
                origin,
            )
        )

    for problem in problems:
        source = problem.source
        if source is not None and (source.index or (source.path, source.member) in multi):
            problem.document = source.index
    problems.sort(key=lambda p: (p.severity != ERROR, _KIND_RANK[p.kind], p.checkpoint or "", _origin_key(p.source)))
    folder = group.key[1] if group.key[0] != "uuid" else None
    vm = group.uuid
    if vm is None and len(group.uuids) == 1:
        vm = next(iter(group.uuids))
    chain = Chain(
        vm=vm,
        vm_name=group.vm_name,
        folder=folder,
        roots=roots,
        leaves=leaves,
        current=current,
        restored_current=order_names[restored] if restored >= 0 else None,
        order=tuple(order_names[i] for i in ranked),
        unrestorable=unrestorable,
        problems=tuple(problems),
        names=order_names,
        index=index,
        parents=parents,
        times=times,
        disks=disks,
        origins=origins,
        multi=multi,
    )
    return chain


def _children(up: Sequence[int], n: int) -> tuple[array, array]:
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


def _heap_order(up: Sequence[int], start: Sequence[int], kids: Sequence[int], key: list[Any], restorable: bytearray) -> list[int]:
    """Kahn's order with a heap: parents first, and among the checkpoints ready, the smallest
    (creationTime, name) next."""
    heap = [(key[i], i) for i in range(len(up)) if up[i] == -1 and restorable[i]]
    heapq.heapify(heap)
    out = []
    while heap:
        _, i = heapq.heappop(heap)
        out.append(i)
        for k in kids[start[i] : start[i + 1]]:
            heapq.heappush(heap, (key[k], k))
    return out


def _short(origin: Origin | None) -> str:
    text = where(origin)
    if origin is not None and origin.index:
        text += f" document {origin.index}"
    return text


def _describe(group: _Group) -> str:
    if group.uuid is not None:
        named = f" {group.vm_name!r}" if group.vm_name else ""
        return f"VM{named} (uuid {group.uuid})"
    return f"folder {group.key[1]}"
