"""Chains of snapshots (issue #14 item 4): the tree analysis of ``checkpoint_stream.chain`` on
``<domainsnapshot>`` documents, beside and apart from checkpoints.

Every snapshot problem kind alone, in folders, tar archives and concatenated streams; branches
that are no fault; duplicates told apart on every field libvirt keeps; the current snapshot from
``<active>`` (none, one, several); a VM's checkpoints and snapshots as two chains; rejected
documents on the side of their kind; the command line (text, ``--json``, ``--order``, ``--dot``);
the Dask path against the sequential one; and real libvirt 9.0 redefining generated archives in
the computed order (``tests/libvirt_snapshot_chain_driver.py`` under ``/usr/bin/python3``)."""

from __future__ import annotations

import copy
import json
import random
import re
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from checkpoint_stream import chains, iterparse
from checkpoint_stream.chain import KINDS, SNAPSHOT_KINDS, ChainBuilder, build_chains
from checkpoint_stream.cli import main as cli_main
from libvirt_util import SYSTEM_PYTHON, libvirt_unavailable as _libvirt_reason

sys.path.insert(0, str(Path(__file__).parent))
from chain_util import UUIDS, WRITERS, Doc, chain_docs, comparable as _comparable, domain  # noqa: E402
from cli_util import run  # noqa: E402

HERE = Path(__file__).resolve().parent
LAYOUTS = ("folder", "tar", "stream")
T0 = 1_700_000_000
DISKS = "    <disk name='vda' snapshot='internal'/>\n    <disk name='vdb' snapshot='internal'/>"
BROKEN = (
    "<domainsnapshot>\n  <name>s.2</name>\n  <state>running</state>\n  <parent>\n    <name>s.1</name>\n  </parent>\n"
    "  <creationTime>oops</creationTime>\n</domainsnapshot>\n"
)


@dataclass
class Snap:
    """One snapshot document, laid out as libvirt's internal format lays it out (``active``
    ``None``: no ``<active>``, as the public API prints it). ``memory``, ``disks`` and ``extra``
    (inactiveDomain, cookie) are XML pieces."""

    name: str
    parent: str | None = None
    time: int = T0
    vm: str | None = "web"
    uuid: str | None = None
    state: str = "running"
    active: bool | None = False
    description: str | None = None
    memory: str = "<memory snapshot='internal'/>"
    disks: str = DISKS
    extra: str = ""
    dom: str | None = None  # the nested domain's text, when not the VM's usual one
    raw: str | None = None
    path: str | None = None

    def xml(self) -> str:
        if self.raw is not None:
            return self.raw
        out = ["<domainsnapshot>", f"  <name>{escape(self.name)}</name>"]
        if self.description is not None:
            out.append(f"  <description>{escape(self.description)}</description>")
        out.append(f"  <state>{self.state}</state>")
        if self.parent is not None:
            out += ["  <parent>", f"    <name>{escape(self.parent)}</name>", "  </parent>"]
        out.append(f"  <creationTime>{self.time}</creationTime>")
        out.append(f"  {self.memory}")
        if self.disks:
            out += ["  <disks>", self.disks, "  </disks>"]
        if self.dom is not None:
            out.append(self.dom)
        elif self.vm is not None:
            out.append(domain(self.vm, self.uuid))
        if self.extra:
            out.append(self.extra)
        if self.active is not None:
            out.append(f"  <active>{int(self.active)}</active>")
        out.append("</domainsnapshot>")
        return "\n".join(out) + "\n"

    def file_name(self, number: int) -> str:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", self.name)
        return self.path or f"{self.vm or 'novm'}/snapshots/{safe}.xml"


def snaps(count: int, prefix: str = "s.", vm: str = "web", start: int = 0) -> list[Snap]:
    """A straight line of snapshots: prefix0 <- prefix1 <- ..."""
    return [Snap(f"{prefix}{i}", f"{prefix}{i - 1}" if i > start else None, T0 + 60 * i, vm=vm) for i in range(start, start + count)]


def read(source, **kwargs):
    """The chains as a restore of libvirt's metadata files reads them: snapshots and checkpoints,
    ``<active>`` read (the internal format), unless told otherwise."""
    kwargs.setdefault("kinds", "snapshot")
    kwargs.setdefault("internal", True)
    return chains(source, **kwargs)


def _text(docs) -> bytes:
    return "".join(d.xml() for d in docs).encode()


# -- scenarios: documents and what a correct analysis reports -------------------------------------


def _scenario(name: str) -> tuple[list[Snap], set[tuple[str, str | None]], set[tuple[str, str | None]]]:
    s = snaps
    if name == "consistent":
        return s(8), set(), set()
    if name == "branches":
        # revert to s.1, snapshot again; revert to the root, snapshot again: no fault for snapshots
        return s(4) + [Snap("again", "s.1", T0 + 900), Snap("fresh start", "s.0", T0 + 950)], set(), set()
    if name == "disks-change":
        docs = s(4)
        docs[1].disks = "    <disk name='vda' snapshot='internal'/>"
        docs[2].disks = ""  # aligned with the domain on a redefine: every disk
        return docs, set(), set()
    if name == "missing-parent":
        return [d for d in s(6) if d.name != "s.3"], {("missing-parent", "s.4")}, set()
    if name == "self-parent":
        return s(3) + [Snap("loner", "loner", T0 + 500)], {("self-parent", "loner")}, set()
    if name == "cycle":
        docs = s(3) + [Snap("p", "q", T0 + 500), Snap("q", "p", T0 + 600), Snap("r", "q", T0 + 700)]
        return docs, {("cycle", "p"), ("cycle", "q")}, {("time-order", "p")}
    if name == "duplicate-name":
        docs = s(4)
        other = copy.copy(docs[2])
        other.description = "taken again"
        other.path = "web/snapshots/again/s.2.xml"
        return docs + [other], {("duplicate-name", "s.2")}, set()
    if name == "duplicate-copy":
        docs = s(4)
        again = copy.copy(docs[1])
        again.path = "web/snapshots/copy/s.1.xml"
        return docs + [again], {("duplicate-copy", "s.1")}, set()
    if name == "uuid-mismatch":
        web = s(3, prefix="w.")
        db = s(2, prefix="d.", vm="db")
        stray = Snap("d.2", "w.1", T0 + 900, vm="db")
        return web + db + [stray], {("uuid-mismatch", "d.2")}, set()
    if name == "invalid":
        docs = s(5)
        docs[2] = Snap("s.2", raw=BROKEN, path="web/snapshots/s.2.xml")
        return docs, {("invalid", "s.2")}, {("missing-parent", "s.3")}
    if name == "time-order":
        docs = s(3)
        docs[2].time = docs[1].time - 5
        return docs, {("time-order", "s.2")}, set()
    if name == "too-many-current":
        docs = s(4)
        docs[1].active = docs[3].active = True
        return docs, {("too-many-current", "s.1")}, set()
    raise KeyError(name)


SCENARIOS = ["consistent", "branches", "disks-change", *SNAPSHOT_KINDS]


def _pairs(found) -> set[tuple[str, str | None]]:
    return {(p.kind, p.checkpoint) for ch in found for p in ch.problems}


def _check(found, expected, tolerated) -> None:
    pairs = _pairs(found)
    assert expected <= pairs, f"missing {expected - pairs}"
    assert pairs <= expected | tolerated, f"unexpected {pairs - expected - tolerated}"


def test_every_snapshot_kind_has_a_scenario_and_checkpoint_only_kinds_are_left_out() -> None:
    for kind in SNAPSHOT_KINDS:
        assert kind in {k for k, _ in _scenario(kind)[1]}
        assert SNAPSHOT_KINDS[kind] == KINDS.get(kind, SNAPSHOT_KINDS[kind])
    assert not {"fork", "disk-added", "disk-removed", "bitmap-name"} & set(SNAPSHOT_KINDS)
    assert "too-many-current" not in KINDS and SNAPSHOT_KINDS["too-many-current"] == "error"


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", SCENARIOS)
def test_each_snapshot_kind_alone(tmp_path: Path, name: str, layout: str) -> None:
    docs, expected, tolerated = _scenario(name)
    archive = WRITERS[layout](str(tmp_path), docs)
    found = read(archive.entry)
    _check(found, expected, tolerated)
    assert found and all(ch.kind == "snapshot" for ch in found)
    for ch in found:
        for p in ch.problems:
            assert p.severity == SNAPSHOT_KINDS[p.kind] and p.moment == "snapshot"
            assert p.source is not None and p.source.path is not None
            assert p.checkpoint is None or p.checkpoint in p.message
            # the snapshot's own words, libvirt's quoted ones unchanged ("moment")
            assert "checkpoint" not in p.message, p.message
            if p.checkpoint is not None:
                assert p.format().endswith(f"[{p.kind}] (snapshot {p.checkpoint})")
    texts = [p.message for ch in found for p in ch.problems]
    if name == "missing-parent":
        assert any("parent 's.3' of snapshot 's.4' is not in the archive" in t and '"parent s.3 for moment s.4 not found"' in t for t in texts)
    if name == "self-parent":
        assert any(t.startswith("snapshot 'loner' names itself") and '"cannot set moment loner as its own parent"' in t for t in texts)
    if name == "cycle":
        assert any("snapshot 'p' is in a parent cycle (p -> q -> p" in t and "1 snapshot descending from it" in t for t in texts)
    if name == "uuid-mismatch":
        assert any("a snapshot cannot chain across VMs" in t and f"(uuid {UUIDS['web']})" in t for t in texts)
    if name == "invalid":
        assert any("snapshots whose parent is 's.2' cannot be redefined" in t for t in texts)
    if name == "duplicate-name":
        assert any(t.startswith("2 documents define snapshot 's.2' with different content") for t in texts)
    if name == "duplicate-copy":
        assert any(t.startswith("snapshot 's.1' is stored 2 times with identical content") for t in texts)


def test_branches_are_a_tree_not_a_fork_warning(tmp_path: Path) -> None:
    """The tree a revert makes: several leaves, no warning (a checkpoint archive of the same
    shape gets a fork warning)."""
    docs = [
        Snap("base", None, T0),
        Snap("before upgrade", "base", T0 + 10),
        Snap("after upgrade", "before upgrade", T0 + 20),
        Snap("try & revert/1", "base", T0 + 30),
        Snap("other root", None, T0 + 40),
    ]
    archive = WRITERS["folder"](str(tmp_path / "s"), docs)
    (ch,) = read(archive.entry)
    assert not ch.problems and ch.kind == "snapshot" and ch.vm == UUIDS["web"] and ch.vm_name == "web"
    assert ch.order == ("base", "before upgrade", "after upgrade", "try & revert/1", "other root")
    assert ch.roots == ("base", "other root")
    assert ch.leaves == ("after upgrade", "other root", "try & revert/1")
    assert ch.children("base") == ("before upgrade", "try & revert/1")
    assert ch.current is None and ch.restored_current is None  # no <active>1</active>
    assert ch.disks("base") == (("vda", "internal", None), ("vdb", "internal", None))
    assert repr(ch).startswith("Chain(kind='snapshot', ") and "snapshots=5" in repr(ch)
    same_shape = [Doc(d.name.replace(" ", "_").replace("&", "and").replace("/", "_"),
                      d.parent and d.parent.replace(" ", "_"), d.time) for d in docs]
    (checkpoints,) = chains(_text(same_shape))
    assert {p.kind for p in checkpoints.problems} == {"fork"}


# -- duplicates: identical copies and conflicting content, field by field -------------------------


def _inactive(vm: str, memory: str = "1048576") -> str:
    text = domain(vm).replace("<domain type='test'>", "<inactiveDomain type='test'>").replace("</domain>", "</inactiveDomain>")
    return text.replace(">1048576<", f">{memory}<")


VARIANTS = {
    # field: (how the first definition has it, how the second one differs)
    "description": ({}, {"description": "taken again"}),
    "state": ({}, {"state": "paused"}),
    "memory": ({}, {"memory": "<memory snapshot='external' file='/var/lib/libvirt/qemu/snap/web.mem'/>"}),
    "memory-file": (
        {"memory": "<memory snapshot='external' file='/var/lib/libvirt/qemu/snap/a.mem'/>"},
        {"memory": "<memory snapshot='external' file='/var/lib/libvirt/qemu/snap/b.mem'/>"},
    ),
    "disk-mode": ({}, {"disks": "    <disk name='vda' snapshot='internal'/>\n    <disk name='vdb' snapshot='no'/>"}),
    "disk-source": (
        {"disks": "    <disk name='vda' snapshot='external' type='file'>\n      <source file='/images/web-vda.s1'/>\n    </disk>"},
        {"disks": "    <disk name='vda' snapshot='external' type='file'>\n      <source file='/images/web-vda.s2'/>\n    </disk>"},
    ),
    "disk-driver": (
        {"disks": "    <disk name='vda' snapshot='external' type='file'>\n      <source file='/images/web-vda.s1'/>\n    </disk>"},
        {"disks": "    <disk name='vda' snapshot='external' type='file'>\n      <driver type='qcow2'/>\n      <source file='/images/web-vda.s1'/>\n    </disk>"},
    ),
    "cookie": (
        {"extra": "  <cookie>\n    <cpu mode='custom'>\n      <model>Skylake</model>\n    </cpu>\n  </cookie>"},
        {"extra": "  <cookie>\n    <cpu mode='custom'>\n      <model>Haswell</model>\n    </cpu>\n  </cookie>"},
    ),
    "domain": ({}, {"dom": domain("web").replace(">1048576<", ">2097152<")}),
    "inactive-domain": ({"extra": _inactive("web")}, {"extra": _inactive("web", "2097152")}),
    "active": ({}, {"active": True}),
    "parent": ({}, {"parent": None}),
    "creation-time": ({}, {"time": T0 + 61}),
}


@pytest.mark.parametrize("field", list(VARIANTS))
def test_duplicates_differing_in_any_kept_field_conflict(tmp_path: Path, field: str) -> None:
    first, second = VARIANTS[field]
    docs = snaps(4)
    for key, value in first.items():
        setattr(docs[1], key, value)
    again = copy.copy(docs[1])
    for key, value in second.items():
        setattr(again, key, value)
    again.path = "web/snapshots/again/s.1.xml"
    assert again.xml() != docs[1].xml()
    archive = WRITERS["folder"](str(tmp_path / "conflict"), docs + [again])
    (ch,) = read(archive.entry)
    assert _pairs([ch]) == {("duplicate-name", "s.1")}, [p.format() for p in ch.problems]
    (problem,) = ch.problems
    assert len(problem.sources) == 2 and ch.checkpoints == 4 and ch.documents == 5
    # the same text twice is a harmless copy
    same = copy.copy(docs[1])
    same.path = "web/snapshots/copy/s.1.xml"
    archive = WRITERS["folder"](str(tmp_path / "copy"), docs + [same])
    (ch,) = read(archive.entry)
    assert _pairs([ch]) == {("duplicate-copy", "s.1")}
    assert ch.order == ("s.0", "s.1", "s.2", "s.3")


def test_a_copy_laid_out_otherwise_is_still_a_copy() -> None:
    docs = snaps(3)
    text = docs[1].xml()
    relaid = re.sub(r"\n\s*", "\n", text)  # no indentation (double quotes left out: a reader matter on 3.10)
    (ch,) = read((_text(docs) + relaid.encode()))
    assert _pairs([ch]) == {("duplicate-copy", "s.1")}


def test_the_choice_among_conflicting_definitions_does_not_depend_on_reading_order() -> None:
    docs, _, _ = _scenario("duplicate-name")
    a, b = read(_text(docs)), read(_text(docs[::-1]))
    pick_a, pick_b = a[0].source("s.2"), b[0].source("s.2")
    assert _text(docs)[pick_a.offset : pick_a.end] == _text(docs[::-1])[pick_b.offset : pick_b.end]


# -- the current snapshot ----------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
def test_current_is_the_one_active_snapshot(tmp_path: Path, layout: str) -> None:
    docs = snaps(5) + [Snap("branch", "s.1", T0 + 999)]
    # none active: no current (libvirt sets none either)
    archive = WRITERS[layout](str(tmp_path / "none"), docs)
    (ch,) = read(archive.entry)
    assert ch.current is None and ch.restored_current is None and not ch.problems
    # one active, in the middle of a line (reverted to it): current, though it is no leaf
    docs[2].active = True
    archive = WRITERS[layout](str(tmp_path / "one"), docs)
    (ch,) = read(archive.entry)
    assert ch.current == ch.restored_current == "s.2" and not ch.problems
    assert ch.to_dict()["current"] == "s.2" and ch.to_dict()["kind"] == "snapshot"
    # two active: libvirt's "Too many snapshots claiming to be current"
    docs[4].active = True
    archive = WRITERS[layout](str(tmp_path / "two"), docs)
    (ch,) = read(archive.entry)
    (problem,) = ch.problems
    assert problem.kind == "too-many-current" and problem.severity == "error" and ch.errors == (problem,)
    assert problem.checkpoint == "s.2" and problem.related == ("s.2", "s.4") and len(problem.sources) == 2
    assert '"Too many snapshots claiming to be current for domain web"' in problem.message
    assert "'s.2', 's.4'" in problem.message and "'s.4' (the last one) ends up current" in problem.message
    assert ch.current is None and ch.restored_current == "s.4"  # the last one redefined with CURRENT


def test_an_active_snapshot_that_cannot_be_redefined_is_not_current() -> None:
    docs = [d for d in snaps(5) if d.name != "s.2"]
    docs[-1].active = True  # s.4, below the missing s.2
    (ch,) = read(_text(docs))
    assert ch.current is None and ch.restored_current is None
    assert _pairs([ch]) == {("missing-parent", "s.3")} and ch.unrestorable == ("s.3", "s.4")


def test_active_is_read_only_in_the_internal_format() -> None:
    """Through libvirt's public API <active> is ignored: so in REDEFINE mode alone, and the
    current snapshot is then unknown."""
    docs = snaps(3)
    docs[1].active = docs[2].active = True
    (ch,) = read(_text(docs), internal=False)
    assert ch.current is None and ch.restored_current is None and not ch.problems
    (ch,) = read(_text(docs))
    assert [p.kind for p in ch.problems] == ["too-many-current"]


def test_active_counts_only_on_the_definition_that_counts() -> None:
    docs = snaps(3)
    again = copy.copy(docs[1])
    again.active = True
    again.time = docs[1].time + 1  # the newer definition counts
    (ch,) = read(_text(docs + [again]))
    assert _pairs([ch]) == {("duplicate-name", "s.1")}
    assert ch.current == ch.restored_current == "s.1"
    again.time = docs[1].time - 1  # now the older one, which is not active
    (ch,) = read(_text(docs + [again]))
    assert ch.current is None


# -- checkpoints and snapshots of one VM --------------------------------------------------------


def _mixed() -> list:
    checkpoints = chain_docs(3, prefix="c.")
    snapshots = snaps(3) + [Snap("c.1", None, T0 + 500), Snap("x", "c.2", T0 + 600)]  # names shared with checkpoints
    db = snaps(2, prefix="d.", vm="db") + chain_docs(2, prefix="dc.", vm="db")
    return checkpoints + snapshots + db


def test_a_vm_with_both_kinds_has_two_chains(tmp_path: Path) -> None:
    docs = _mixed()
    archive = WRITERS["folder"](str(tmp_path), docs)
    found = read(archive.entry, kinds="any", internal=False)
    assert [(ch.vm_name, ch.kind) for ch in found] == [("db", "checkpoint"), ("db", "snapshot"), ("web", "checkpoint"), ("web", "snapshot")]
    web_c, web_s = found[2], found[3]
    assert web_c.vm == web_s.vm == UUIDS["web"]
    assert web_c.order == ("c.0", "c.1", "c.2") and not web_c.problems
    assert web_s.order == ("s.0", "s.1", "s.2", "c.1") and web_s.unrestorable == ("x",)
    # separate name spaces: "c.1" in both is no duplicate, and a checkpoint is no snapshot's parent
    (problem,) = web_s.problems
    assert problem.kind == "missing-parent" and problem.checkpoint == "x" and "is not in the archive" in problem.message
    assert [p.format() for p in web_s.problems][0].endswith("(snapshot x)")
    assert web_c.to_dict()["kind"] == "checkpoint" and web_s.to_dict()["kind"] == "snapshot"
    assert set(web_c.to_dict()) == set(web_s.to_dict())
    assert sum(ch.documents for ch in found) == len(docs)
    # the same from records in any order, pushed one by one
    items = list(iterparse(_text(docs), kinds="any", on_error="skip", yield_errors=True, redefine=True, require_domain=False))
    random.Random(3).shuffle(items)
    builder = ChainBuilder()
    for item in items:
        builder.add(item)
    assert builder.records == len(docs)
    again = builder.finish()
    def facts(found):
        return [(c.kind, c.vm, c.order, c.current, [(p.kind, p.checkpoint) for p in c.problems]) for c in found]

    assert facts(again) == facts(found)
    assert [c.order for c in build_chains(items)] == [c.order for c in found]


@pytest.mark.parametrize("group_by", ["folder", "none"])
def test_other_groupings_keep_the_kinds_apart(tmp_path: Path, group_by: str) -> None:
    WRITERS["folder"](str(tmp_path), chain_docs(2, prefix="c.") + snaps(2))
    found = read(str(tmp_path), kinds="any", internal=False, group_by=group_by)
    assert [ch.kind for ch in found] == ["checkpoint", "snapshot"]
    assert [ch.order for ch in found] == [("c.0", "c.1"), ("s.0", "s.1")]


def test_a_snapshots_parent_in_another_vm_is_named_there_not_among_checkpoints(tmp_path: Path) -> None:
    docs = chain_docs(2, prefix="w.", vm="web") + snaps(2, prefix="d.", vm="db") + [Snap("d.2", "w.1", T0 + 900, vm="db")]
    found = read(_text(docs), kinds="any", internal=False)
    (db,) = [ch for ch in found if ch.vm_name == "db"]
    (problem,) = db.problems
    assert problem.kind == "missing-parent"  # w.1 is a checkpoint of web: another tree
    docs += snaps(2, prefix="w.", vm="web")
    found = read(_text(docs), kinds="any", internal=False)
    (db,) = [ch for ch in found if ch.vm_name == "db"]
    (problem,) = db.problems
    assert problem.kind == "uuid-mismatch" and "VM 'web'" in problem.message


def test_rejected_documents_go_to_the_side_of_their_kind(tmp_path: Path) -> None:
    docs = chain_docs(3, prefix="c.") + snaps(3)
    WRITERS["folder"](str(tmp_path), docs)
    (tmp_path / "web" / "snapshots" / "s.1.xml").write_text(BROKEN.replace("s.2", "s.1").replace("s.1</name>\n  </parent>", "s.0</name>\n  </parent>"))
    (tmp_path / "web" / "c.1.xml").write_text(docs[1].xml().replace("<creationTime>", "<creationTime>x"))
    found = read(str(tmp_path), kinds="any", internal=False)
    assert [(ch.kind, ch.vm_name) for ch in found] == [("checkpoint", "web"), ("snapshot", "web")]
    checkpoint_side, snapshot_side = found
    assert {(p.kind, p.checkpoint) for p in checkpoint_side.problems} == {("invalid", "c.1"), ("missing-parent", "c.2")}
    assert {(p.kind, p.checkpoint) for p in snapshot_side.problems} == {("invalid", "s.1"), ("missing-parent", "s.2")}
    assert "rejected document" in next(p for p in snapshot_side.problems if p.kind == "missing-parent").message
    # a root refused because the other kind was asked for stays with the kind asked for (here
    # in a folder group: no record of that kind shares its folder)
    found = chains(str(tmp_path))  # checkpoints only: each snapshot document is invalid there
    assert {ch.kind for ch in found} == {"checkpoint"} and sum(p.kind == "invalid" for ch in found for p in ch.problems) == 4
    found = read(str(tmp_path), internal=False)  # snapshots only
    assert {ch.kind for ch in found} == {"snapshot"} and sum(p.kind == "invalid" for ch in found for p in ch.problems) == 4


@pytest.mark.parametrize("seed", range(4))
def test_shuffled_archive_gives_the_same_result(seed: int) -> None:
    docs = []
    for name in SCENARIOS:
        for doc in _scenario(name)[0]:
            doc = copy.copy(doc)
            if doc.raw is not None:
                doc.raw = doc.raw.replace(">s.", f">{name}/s.")
            doc.name = f"{name}/{doc.name}"
            doc.parent = f"{name}/{doc.parent}" if doc.parent else None
            docs.append(doc)
    docs += chain_docs(4)  # and checkpoints among them
    reference = _comparable(read(_text(docs), kinds="any", internal=False))
    shuffled = docs[:]
    random.Random(seed).shuffle(shuffled)
    assert _comparable(read(_text(shuffled), kinds="any", internal=False)) == reference


def test_a_long_snapshot_line_and_a_long_cycle_need_no_recursion() -> None:
    from checkpoint_stream.records import Snapshot

    n = 50_000
    builder = ChainBuilder()
    for i in range(n - 1, -1, -1):
        builder.add(Snapshot(name=f"s{i}", parent=f"s{i - 1}" if i else None, creation_time=i, state="running", active=i == n // 2))
    (ch,) = builder.finish()
    assert ch.kind == "snapshot" and len(ch.order) == n and ch.current == f"s{n // 2}" and not ch.problems
    builder = ChainBuilder()
    for i in range(n):
        builder.add(Snapshot(name=f"s{i}", parent=f"s{(i - 1) % n}", creation_time=i, state="running"))
    (ch,) = builder.finish()
    assert len(ch.errors) == n and {p.kind for p in ch.errors} == {"cycle"} and ch.order == ()


# -- command line --------------------------------------------------------------------------------


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    code = cli_main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


PROBLEM_LINE = re.compile(r"^(?P<where>\S+): (?P<severity>error|warning): (?P<message>.+) \[(?P<kind>[a-z-]+)\]( \((?P<moment>checkpoint|snapshot) (?P<name>.+)\))?$")


def _both_kinds(root: Path) -> list:
    docs = chain_docs(3, prefix="c.") + snaps(4) + [Snap("lost", "gone", T0 + 999), Snap("branch", "s.1", T0 + 800)]
    WRITERS["folder"](str(root), docs)
    return docs


def test_cli_chain_reads_both_kinds_by_default(tmp_path: Path, capsys) -> None:
    _both_kinds(tmp_path)
    code, out, _ = _cli(capsys, "chain", str(tmp_path))
    assert code == 1  # the snapshot whose parent is missing
    head = f"VM web (uuid {UUIDS['web']}): "
    assert out.startswith(head + "3 checkpoints, current: c.2\n")
    assert "\n" + head + "6 snapshots, current: none\n" in out
    assert out.index("3 checkpoints") < out.index("6 snapshots")
    # the snapshot tree, drawn like the checkpoint tree (a branch is drawn, never warned about)
    assert "s.0\n  |\n  +- s.1\n      |\n      +- s.2\n      |   |\n      |   +- s.3\n      |     \n      +- branch\n" in out
    assert "not restorable: lost\n" in out
    lines = [PROBLEM_LINE.match(line) for line in out.splitlines() if ": error: " in line or ": warning: " in line]
    assert all(lines), out
    assert {(m["kind"], m["moment"], m["name"]) for m in lines} == {("missing-parent", "snapshot", "lost")}
    assert out.endswith("2 groups, 9 documents read, 1 error, 0 warnings\n")
    # --kind checkpoint: checkpoints only; the snapshot documents are rejected as another root
    code, out, _ = _cli(capsys, "chain", "--kind", "checkpoint", str(tmp_path))
    assert not re.search(r": \d+ snapshots?, current", out) and out.count("[invalid]") == 6 and code == 1
    code, out, _ = _cli(capsys, "chain", "--kind", "snapshot", str(tmp_path))
    assert head + "6 snapshots" in out and not re.search(r": \d+ checkpoints?, current", out) and out.count("[invalid]") == 3


def test_cli_chain_json_has_the_kind(tmp_path: Path, capsys) -> None:
    _both_kinds(tmp_path)
    code, out, _ = _cli(capsys, "chain", "--json", str(tmp_path))
    objects = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and [o["kind"] for o in objects] == ["checkpoint", "snapshot"]
    assert set(objects[0]) == set(objects[1])
    snapshot = objects[1]
    assert snapshot["vm"] == UUIDS["web"] and snapshot["checkpoints"] == 6 and snapshot["current"] is None
    assert snapshot["order"] == ["s.0", "s.1", "s.2", "s.3", "branch"] and snapshot["unrestorable"] == ["lost"]
    assert snapshot["children"]["s.1"] == ["s.2", "branch"]
    (problem,) = snapshot["problems"]
    assert set(problem) == {"kind", "severity", "checkpoint", "message", "source"}
    assert problem["kind"] == "missing-parent" and problem["checkpoint"] == "lost"


def test_cli_chain_order_marks_snapshot_lines(tmp_path: Path, capsys) -> None:
    docs = _both_kinds(tmp_path / "f")
    for layout in LAYOUTS:
        archive = WRITERS[layout](str(tmp_path / layout), docs)
        code, out, err = _cli(capsys, "chain", "--order", archive.entry)
        assert code == 1 and "[missing-parent]" in err and "(snapshot lost)" in err
        rows = [line.split("\t") for line in out.splitlines()]
        assert [r[1] for r in rows if len(r) == 3] == ["c.0", "c.1", "c.2"]  # checkpoint lines as before
        assert [r[1] for r in rows if len(r) == 4] == ["s.0", "s.1", "s.2", "s.3", "branch"]
        assert all(r[3] == "snapshot" for r in rows if len(r) == 4)
        assert all(r[0] == UUIDS["web"] and r[2] in archive.refs for r in rows)
        if layout == "stream":  # PATH@OFFSET:LENGTH is exactly the document
            data = Path(archive.entry).read_bytes()
            for r in rows:
                offset, length = map(int, r[2].rsplit("@", 1)[1].split(":"))
                assert re.search(rf"<name>{re.escape(r[1])}</name>", data[offset : offset + length].decode())


def test_cli_chain_dot_and_internal(tmp_path: Path, capsys) -> None:
    _both_kinds(tmp_path / "both")
    code, out, err = _cli(capsys, "chain", "--dot", str(tmp_path / "both"))
    assert out.count("subgraph cluster_") == 2 and "6 snapshots, current: none" in out and "3 checkpoints" in out
    assert '"1:lost" [label="lost", color=red' in out and '"1:gone" [label="gone\\n(missing)"' in out
    # libvirt's metadata files (the internal format): the current snapshot is read from <active>
    docs = snaps(4)
    docs[2].active = True
    WRITERS["folder"](str(tmp_path / "meta"), docs)
    code, out, _ = _cli(capsys, "chain", "--internal", str(tmp_path / "meta"))
    assert code == 0 and out.startswith(f"VM web (uuid {UUIDS['web']}): 4 snapshots, current: s.2\n")
    docs[3].active = True
    WRITERS["folder"](str(tmp_path / "meta2"), docs)
    code, out, _ = _cli(capsys, "chain", "--internal", str(tmp_path / "meta2"))
    assert code == 1 and "[too-many-current] (snapshot s.2)" in out and "current: none" in out
    bare = [Snap(f"b.{i}", f"b.{i - 1}" if i else None, T0 + i, vm=None) for i in range(2)]
    WRITERS["folder"](str(tmp_path / "bare"), bare + chain_docs(1, prefix="c.", vm=None))
    code, out, _ = _cli(capsys, "chain", "--group-by", "none", str(tmp_path / "bare"))
    assert code == 0 and out.startswith("All checkpoints: 1 checkpoint, current: c.0\n")
    assert "\nAll snapshots: 2 snapshots, current: none\nb.0\n" in out


# -- Dask: the same chains as the sequential analysis ---------------------------------------------


def _fleet(root: Path) -> list[str]:
    """Checkpoints and snapshots of three VMs over folders, a tar archive and a concatenated
    stream, with every snapshot problem, rejected documents of both kinds with and without a
    readable VM, documents without a domain, and a snapshot whose parent is in another VM."""
    root.mkdir(parents=True, exist_ok=True)
    docs: list = []
    for vm in ("web", "db"):
        docs += chain_docs(4, prefix=f"{vm}.c", vm=vm) + snaps(6, prefix=f"{vm}.s", vm=vm)
    docs += [Snap("db.stray", "web.s2", T0 + 999, vm="db"), Snap("web.branch", "web.s1", T0 + 998), Snap("web.lost", "none", T0 + 50)]
    docs += [Snap("loop.a", "loop.b", T0 + 1), Snap("loop.b", "loop.a", T0 + 2), Snap("self", "self", T0 + 3, vm="db")]
    again = copy.copy(docs[6])
    again.description = "again"
    again.path = "web/again/x.xml"
    docs.append(again)
    docs += [Snap(f"bare.{i}", f"bare.{i - 1}" if i else None, T0 + i, vm=None, path=f"bare/{i}.xml") for i in range(3)]
    docs += [Snap("bare.x", "db.s1", T0 + 9, vm=None, path="bare/x.xml")]  # its parent: only a VM has it
    docs.append(Snap("s.2", raw=BROKEN, path="web/snapshots/broken.xml"))
    docs.append(Doc("bad", raw="<domaincheckpoint><name>bad</name><creationTime>x</creationTime></domaincheckpoint>", path="bare/bad.xml"))
    third = snaps(3, prefix="t.s", vm="db") + chain_docs(2, prefix="t.c", vm="db")
    WRITERS["folder"](str(root / "tree"), docs)
    WRITERS["tar"](str(root / "tar"), snaps(3, prefix="tar.s", vm="web", start=6) + third[:2])
    WRITERS["stream"](str(root / "stream"), third[2:] + [Snap("st.1", "web.s5", T0 + 70)])
    return [str(root / "tree"), str(root / "tar" / "archive.tar.gz"), str(root / "stream" / "stream.xml")]


def _dask():
    pytest.importorskip("dask", reason="the Dask path needs the [dask] extra")
    pytest.importorskip("pandas", reason="the Dask path needs the [dask] extra")
    return pytest.importorskip("checkpoint_stream.dask", reason="the Dask path needs the [dask] extra")


def test_dask_chains_equal_the_sequential_ones(tmp_path: Path) -> None:
    cd = _dask()
    import dask

    paths = _fleet(tmp_path)
    for group_by in ("uuid", "folder", "none"):
        theirs = chains(paths, kinds="any", group_by=group_by)
        assert {ch.kind for ch in theirs} == {"checkpoint", "snapshot"}
        with dask.config.set(scheduler="sync"):
            mine = cd.chains(paths, kinds="any", group_by=group_by)
        assert [c.to_dict() for c in mine] == [c.to_dict() for c in theirs]
        assert [[p.format() for p in c.problems] for c in mine] == [[p.format() for p in c.problems] for c in theirs]
        assert [c.location(n) for c in mine for n in c.order] == [c.location(n) for c in theirs for n in c.order]
        if group_by == "uuid":
            kinds = {p.kind for c in theirs for p in c.problems}
            assert {"uuid-mismatch", "cycle", "self-parent", "missing-parent", "duplicate-name", "invalid"} <= kinds


@pytest.mark.parametrize("args", [["chain"], ["chain", "--order"], ["chain", "--json"]], ids=" ".join)
def test_cli_jobs_equals_the_sequential_cli_with_snapshots(tmp_path: Path, args: list[str]) -> None:
    _dask()
    paths = _fleet(tmp_path)
    want = run(*args, *paths, timeout=300)
    got = run(*args[:1], "--jobs", "2", *args[1:], *paths, timeout=300)
    assert got.stdout.decode() == want.stdout.decode()
    assert got.stderr.decode() == want.stderr.decode()
    assert got.returncode == want.returncode == 1
    if args == ["chain"]:  # the records read: of both kinds (the Dask path counts them in the chains)
        records = sum(ch.documents for ch in chains(paths, kinds="any"))
        assert records >= 40 and f" groups, {records} documents read, " in want.stdout.decode()


# -- real libvirt --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def libvirt_redefine():
    reason = _libvirt_reason()
    if reason:
        pytest.skip(f"libvirt unavailable, snapshot chain differential test not run: {reason}")

    def redefine(documents: list[tuple[str, str, bool]]) -> dict:
        request = {"documents": [{"vm": vm, "xml": xml, "current": current} for vm, xml, current in documents]}
        proc = subprocess.run(
            [SYSTEM_PYTHON, str(HERE / "libvirt_snapshot_chain_driver.py")],
            input=json.dumps(request), capture_output=True, text=True, timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    return redefine


def _fetch(origin) -> str:
    if origin.member is not None:
        with tarfile.open(origin.path) as tf:
            data = tf.extractfile(origin.member).read()  # type: ignore[union-attr]
    else:
        data = Path(origin.path).read_bytes()
    end = origin.end if origin.end is not None else len(data)
    return data[origin.offset : end].decode()


def _restore_plan(found) -> list[tuple[str, str, bool]]:
    """Every restorable snapshot in the computed order, with the CURRENT flag where its document
    (the definition that counts) says <active>1</active>."""
    plan = []
    for ch in found:
        for name in ch.order:
            text = _fetch(ch.source(name))
            plan.append((ch.vm or ch.folder, text, "<active>1</active>" in text))
    return plan


def _agree(found, answer, plan) -> None:
    refused = [(p[1][:80], a["error"]) for p, a in zip(plan, answer["documents"]) if not a["ok"]]
    assert not refused
    for ch in found:
        if not ch.order:
            continue
        vm = answer["vms"][ch.vm or ch.folder]
        assert vm["parents"] == {n: ch.parent(n) for n in ch.order}
        assert vm["roots"] == sorted(ch.roots)
        assert vm["leaves"] == sorted(ch.leaves)
        assert vm["current"] == ch.restored_current
        if ch.current is not None:
            assert vm["current"] == ch.current


@pytest.mark.parametrize("layout", ["folder", "stream"])
@pytest.mark.parametrize("name", SCENARIOS)
def test_libvirt_redefines_the_computed_order(tmp_path: Path, libvirt_redefine, name: str, layout: str) -> None:
    """libvirt 9.0 accepts every snapshot of the computed order (with CURRENT on the active ones)
    and builds the tree this analysis describes: parents, roots, leaves, the current snapshot."""
    docs, _, _ = _scenario(name)
    archive = WRITERS[layout](str(tmp_path), docs)
    found = read(archive.entry)
    plan = _restore_plan(found)
    _agree(found, libvirt_redefine(plan), plan)


NOT_FOUND = re.compile(r"parent (?P<parent>.+) for moment (?P<child>.+) not found|cannot set moment (?P<self>.+) as its own parent")


@pytest.mark.parametrize("name", ["missing-parent", "self-parent", "cycle", "uuid-mismatch", "invalid"])
def test_libvirt_refuses_what_is_unrestorable(tmp_path: Path, libvirt_redefine, name: str) -> None:
    """After the computed order, the snapshots this analysis calls unrestorable are refused, in
    libvirt's words that the problems quote."""
    docs, _, _ = _scenario(name)
    archive = WRITERS["folder"](str(tmp_path), docs)
    found = read(archive.entry)
    plan = _restore_plan(found)
    later = [(ch.vm or ch.folder, _fetch(ch.source(n)), False, n) for ch in found for n in ch.unrestorable]
    assert later
    answer = libvirt_redefine(plan + [item[:3] for item in later])
    results = answer["documents"]
    assert all(a["ok"] for a in results[: len(plan)])
    for (_, _, _, n), result in zip(later, results[len(plan) :]):
        assert not result["ok"], n
        m = NOT_FOUND.search(result["error"])
        assert m and n in (m["child"], m["self"]), result["error"]
        own = [p for ch in found for p in ch.problems if p.checkpoint == n and p.kind in ("missing-parent", "self-parent")]
        for problem in own:  # the problem quotes libvirt (a descendant has no problem of its own)
            assert m.group(0) in problem.message, (problem.message, result["error"])


def _generated(seed: int) -> list[Snap]:
    """A small archive of two VMs' snapshot trees: branches, free-text names, equal and backward
    clocks, 0-2 snapshots claiming to be current, now and then a missing parent or a copy."""
    rng = random.Random(seed)
    docs: list[Snap] = []
    for vm in ("web", "db"):
        mine: list[Snap] = []
        t = T0
        for i in range(rng.randint(3, 10)):
            name = rng.choice([f"{vm}.{i}", f"{vm} snapshot {i}", f"{vm}/before & after {i}"])
            parent = rng.choice(mine).name if mine and rng.random() < 0.85 else None
            t += rng.choice([0, 1, 60, 3600, -7200])
            mine.append(Snap(name, parent, t, vm=vm))
        if rng.random() < 0.3:
            mine.append(Snap(f"{vm}.orphan", f"{vm}.gone", t + 5, vm=vm))
        for doc in rng.sample(mine, min(len(mine), rng.choice([0, 1, 1, 2]))):
            doc.active = True
        if rng.random() < 0.3:
            again = copy.copy(rng.choice(mine))
            again.path = f"{vm}/copies/{seed}.xml"
            mine.append(again)
        docs += mine
    rng.shuffle(docs)
    return docs


@pytest.mark.parametrize("seed", range(12))
def test_libvirt_agrees_on_generated_archives(tmp_path: Path, libvirt_redefine, seed: int) -> None:
    docs = _generated(seed)
    archive = WRITERS["folder" if seed % 2 else "tar"](str(tmp_path), docs)
    found = read(archive.entry)
    assert [ch.vm_name for ch in found] == ["db", "web"]
    plan = _restore_plan(found)
    _agree(found, libvirt_redefine(plan), plan)
    actives = {d.name for d in docs if d.active}
    for ch in found:
        mine = [n for n in ch.names if n in actives]
        assert (len(mine) > 1) == any(p.kind == "too-many-current" for p in ch.problems)
