"""The chain analysis split by VM: each VM's chain is analysed where its documents land, by the
unchanged :class:`~checkpoint_stream.chain.ChainBuilder`, with the same result as one builder
over the whole archive.

What one VM's analysis needs from the rest of the archive, and how it gets it:

* **Where a rejected document goes** when its own bytes name no VM: with the one VM whose records
  share its folder, else with its folder. The folders' owners are gathered from every partition
  first (:func:`partition_facts`), and such a document is routed accordingly (:func:`route`): given
  the VM's uuid, or sent to the group of documents without a domain.
* **Which files hold several documents** (their problems name the document index): gathered the
  same way, and told to each builder by a stand-in error at index 1 of that file, placed in a
  group of its own that is then dropped.
* **Where a missing parent is defined instead** (``uuid-mismatch`` names that VM or folder): each
  group's names and wanted parents are summarised (:func:`summarise`), and each builder is given,
  for every wanted parent defined elsewhere, a stand-in record in the group the whole-archive
  analysis would name (same uuid and VM name, or same folder), whose chain is dropped.

Records without a domain are grouped by folder inside one task (the chain module's own fallback
grouping, done by the chain module); VMs are spread over the workers.

Snapshots travel with their VM's checkpoints (one task per VM holds both; the builder keeps the
two kinds apart) and are summarised, and stood in for, as snapshots: a missing parent is looked
for among the chains of the same kind only, as the whole-archive analysis looks for it.
"""

from __future__ import annotations

from typing import Any, Iterable

from ..chain import Chain, ChainBuilder, folder_of
from ..errors import CheckpointError, NotWellFormedError
from ..records import Checkpoint, Domain, Origin, Snapshot, canonical_uuid

__all__ = ["NO_DOMAIN", "route", "partition_facts", "merge_facts", "summarise", "merge_summaries", "analyse", "sort_key"]

#: The group key of the records without a domain (grouped by folder by the chain module itself),
#: and of the rejected documents that go with them.
NO_DOMAIN = "\x00no-domain"
_DEFER = "\x00defer"
_STAND_IN = "\x00stand-in"  # no real name or uuid holds a NUL byte: stand-ins never meet real ones
_STAND_IN_PATH = "\x00stand-in/\x00stand-in.xml"


_RECORDS = (Checkpoint, Snapshot)
_KIND_RANK = {"checkpoint": 0, "snapshot": 1}


def _uuid(record: Checkpoint | Snapshot) -> str | None:
    domain = record.domain
    return None if domain is None else canonical_uuid(domain.identity[1])


def _place(item: Any) -> tuple[str | None, str | None]:
    if isinstance(item, _RECORDS):
        o = item.origin
        return (None, None) if o is None else (o.path, o.member)
    if isinstance(item, CheckpointError):
        return item.source, item.member
    return getattr(item, "path", None), getattr(item, "member", None)


def route(item: Any) -> tuple[str, Any]:
    """``(group key, item)``: a VM's uuid, :data:`NO_DOMAIN`, or (a rejected document that names
    no VM) a key that :func:`resolve` settles once the folders' owners are known."""
    if isinstance(item, _RECORDS):
        return (_uuid(item) or NO_DOMAIN, item)
    if isinstance(item, CheckpointError):
        uuid = canonical_uuid(item.domain_uuid)
        if uuid is not None:
            return (uuid, item)
    return (_DEFER, item)


def partition_facts(items: Iterable[Any]) -> tuple[dict[str, set[str]], set[tuple[str | None, str | None]]]:
    """Of one partition: each folder's owners (the groups with records there: a uuid, or the
    folder's own group) and the files that hold several documents."""
    owners: dict[str, set[str]] = {}
    multi: set[tuple[str | None, str | None]] = set()
    for item in items:
        if isinstance(item, _RECORDS):
            o = item.origin
            path, member, index = (None, None, 0) if o is None else (o.path, o.member, o.index)
            folder = folder_of(path, member)
            owners.setdefault(folder, set()).add(_uuid(item) or "\x00folder")
            if index == 1:
                multi.add((path, member))
        elif isinstance(item, CheckpointError) and item.document:
            multi.add((item.source, item.member))
    return owners, multi


def merge_facts(parts: Iterable[tuple[dict[str, set[str]], set[tuple[str | None, str | None]]]]) -> tuple[dict[str, set[str]], set[Any]]:
    owners: dict[str, set[str]] = {}
    multi: set[Any] = set()
    for part_owners, part_multi in parts:
        for folder, keys in part_owners.items():
            owners.setdefault(folder, set()).update(keys)
        multi |= part_multi
    return owners, multi


def resolve(pair: tuple[str, Any], facts: tuple[dict[str, set[str]], set[Any]]) -> tuple[str, Any]:
    """Settle where a rejected document that names no VM goes (``chain``'s rule): to the one VM
    whose records share its folder (given that VM's uuid, so its builder places it there), else
    with the documents without a domain (where the builder places it by folder)."""
    key, item = pair
    if key != _DEFER:
        return pair
    owners = facts[0].get(folder_of(*_place(item)), set())
    if len(owners) == 1:
        (owner,) = owners
        if owner != "\x00folder":
            if isinstance(item, CheckpointError):
                copy = _copy_error(item)
                copy.domain_uuid = owner
                return (owner, copy)
            # An input that could not be read: the builder places it by folder, and in that VM's
            # task the folder's records are that VM's only (stand-ins never share a folder).
            return (owner, item)
    return (NO_DOMAIN, item)


def _copy_error(err: CheckpointError) -> CheckpointError:
    copy = type(err).__new__(type(err))
    ValueError.__init__(copy, err.message)
    copy.__dict__.update(err.__dict__)
    return copy


# -- summaries and the analysis ----------------------------------------------------------------


def sort_key(chain: Chain) -> tuple[str, str, str, int]:
    """The order ``ChainBuilder.finish`` returns chains in (VM name, the uuid of a group made by
    uuid, folder; checkpoints before snapshots). A folder's group has no uuid of its own there,
    even when its chain names the one VM it holds (``vm``): a folder's checkpoint and snapshot
    groups sort by kind, whichever of them holds one VM only."""
    return (chain.vm_name or "", (chain.vm if chain.folder is None else None) or "", chain.folder or "", _KIND_RANK[chain.kind])


def _build(pairs: Iterable[tuple[str, Any]], extra: Iterable[Any] = ()) -> list[Chain]:
    builder = ChainBuilder("uuid")
    builder.extend(item for _, item in pairs)
    builder.extend(extra)
    return builder.finish()


def summarise(group: tuple[str, list[tuple[str, Any]]]) -> list[dict[str, Any]]:
    """Per chain of one group (records only): its sort key, description facts, names, the parents
    it wants from elsewhere, and a place of one of its documents."""
    key, pairs = group
    records = [(k, item) for k, item in pairs if isinstance(item, _RECORDS)]
    out = []
    for chain in _build(records):
        names = set(chain.names)
        wanted = {p for p in chain.to_dict()["parents"].values() if p is not None and p not in names}
        place = chain.source(chain.names[0]) if chain.names else Origin()
        out.append(
            {
                "key": key,
                "kind": chain.kind,
                "sort": sort_key(chain),
                "vm": chain.vm if chain.folder is None else None,
                "vm_name": chain.vm_name,
                "folder": chain.folder,
                "names": names,
                "wanted": wanted,
                "place": (place.path, place.member),
            }
        )
    return out


def merge_summaries(parts: Iterable[list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """For every name some chain wants from elsewhere: the chains that define it."""
    summaries = [s for part in parts for s in part]
    wanted: set[str] = set()
    for s in summaries:
        wanted |= s["wanted"]
    defined: dict[str, list[dict[str, Any]]] = {}
    for s in summaries:
        for name in s["names"] & wanted:
            defined.setdefault(name, []).append({k: s[k] for k in ("key", "kind", "sort", "vm", "vm_name", "folder", "place")})
    return defined


def _stand_in_record(name: str, other: dict[str, Any]) -> Checkpoint | Snapshot:
    """A record of ``name`` in a group described as ``other`` is (same kind, same uuid and VM
    name, or same folder), so that a builder names that group as the whole-archive analysis
    does."""
    record = Snapshot if other["kind"] == "snapshot" else Checkpoint
    if other["vm"] is not None:
        vm_name = other["vm_name"]
        xml = "<domain type='kvm'>\n" + (f"  <name>{_escape(vm_name)}</name>\n" if vm_name is not None else "") + f"  <uuid>{other['vm']}</uuid>\n</domain>"
        return record(name=name, domain=Domain(xml), origin=Origin(_STAND_IN_PATH, None, 0, 0, None))
    path, member = other["place"]
    return record(name=name, origin=Origin(path, member, 0, 0, None))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def analyse(
    group: tuple[str, list[tuple[str, Any]]],
    facts: tuple[dict[str, set[str]], set[Any]],
    defined: dict[str, list[dict[str, Any]]],
) -> list[Chain]:
    """The chains of one group (one VM, or every folder of documents without a domain), as the
    whole-archive analysis gives them."""
    key, pairs = group
    records = [item for _, item in pairs if isinstance(item, _RECORDS)]
    mine = _build([(key, r) for r in records])  # names and wanted parents of this group's chains
    extra: list[Any] = []
    for chain in mine:
        names = set(chain.names)
        for parent in {p for p in chain.to_dict()["parents"].values() if p is not None and p not in names}:
            others = [o for o in defined.get(parent, ()) if o["kind"] == chain.kind and not (o["key"] == key and o["sort"] == sort_key(chain))]
            if key == NO_DOMAIN:
                others = [o for o in others if o["vm"] is not None]  # folder groups are all here
            if others:
                extra.append(_stand_in_record(parent, min(others, key=lambda o: o["sort"])))
    multi = facts[1]
    places = {_place(item) for _, item in pairs}
    for path, member in sorted(places & multi, key=lambda p: (p[0] or "", p[1] or "")):
        stand_in = NotWellFormedError(_STAND_IN, document=1, source=path, member=member)
        stand_in.domain_uuid = _STAND_IN
        extra.append(stand_in)
    chains = _build(pairs, extra)
    if key == NO_DOMAIN:
        return [c for c in chains if c.folder is not None]
    return [c for c in chains if c.vm == key and c.folder is None]
