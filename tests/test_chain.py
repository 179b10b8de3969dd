"""Chains (``checkpoint_stream.chain`` and ``checkpoint-stream chain``): every problem kind alone
and combined, from folders, tar archives and concatenated streams; order independence; grouping;
long chains; the command line's outputs; and real libvirt redefining archives in the computed
order (``tests/libvirt_chain_driver.py`` under ``/usr/bin/python3``)."""

from __future__ import annotations

import copy
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from checkpoint_stream import chain as chain_mod
from checkpoint_stream import iterparse
from checkpoint_stream.chain import KINDS, ChainBuilder, build_chains, chains, canonical_uuid
from checkpoint_stream.cli import main as cli_main
from libvirt_util import SYSTEM_PYTHON, libvirt_unavailable as _libvirt_reason

sys.path.insert(0, str(Path(__file__).parent))
from chain_util import UUIDS, WRITERS, Doc, chain_docs, comparable as _comparable  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
LAYOUTS = ("folder", "tar", "stream")
BROKEN = "<domaincheckpoint>\n  <name>virtnbdbackup.2</name>\n  <creationTime>oops</creationTime>\n</domaincheckpoint>\n"


# -- scenarios: documents and what a correct analysis reports -------------------------------------
# Each: (documents, {(kind, checkpoint)} expected, {(kind, checkpoint)} also tolerated).


def _scenario(name: str) -> tuple[list[Doc], set[tuple[str, str | None]], set[tuple[str, str | None]]]:
    c = chain_docs
    if name == "consistent":
        return c(12), set(), set()
    if name == "missing-parent":
        docs = [d for d in c(6) if d.name != "virtnbdbackup.3"]
        return docs, {("missing-parent", "virtnbdbackup.4")}, set()
    if name == "self-parent":
        docs = c(3) + [Doc("loner", "loner", 1_700_000_500)]
        return docs, {("self-parent", "loner")}, set()
    if name == "cycle":
        docs = c(3) + [Doc("p", "q", 1_700_000_500), Doc("q", "p", 1_700_000_600), Doc("r", "q", 1_700_000_700)]
        # q -> p -> q; r hangs from the cycle. q is p's only child (r too): q has 2 children.
        return docs, {("cycle", "p"), ("cycle", "q")}, {("fork", "q"), ("time-order", "p")}
    if name == "duplicate-name":
        docs = c(4)
        other = copy.copy(docs[2])
        other.description = "taken again"
        other.path = "web/again/virtnbdbackup.2.xml"
        return docs + [other], {("duplicate-name", "virtnbdbackup.2")}, set()
    if name == "duplicate-copy":
        docs = c(4)
        again = copy.copy(docs[1])
        again.path = "web/copy/virtnbdbackup.1.xml"
        return docs + [again], {("duplicate-copy", "virtnbdbackup.1")}, set()
    if name == "uuid-mismatch":
        web = c(3, prefix="w.")
        db = c(2, prefix="d.", vm="db")
        stray = Doc("d.2", "w.1", 1_700_000_900, vm="db")
        return web + db + [stray], {("uuid-mismatch", "d.2")}, set()
    if name == "invalid":
        docs = c(5)
        docs[2] = Doc("virtnbdbackup.2", raw=BROKEN, path="web/virtnbdbackup.2.xml")
        return docs, {("invalid", "virtnbdbackup.2")}, {("missing-parent", "virtnbdbackup.3")}
    if name == "fork":
        docs = c(3) + [Doc("branch", "virtnbdbackup.1", 1_700_000_900)]
        return docs, {("fork", "virtnbdbackup.1")}, set()
    if name == "time-order":
        docs = c(3)
        docs[2].time = docs[1].time - 5
        return docs, {("time-order", "virtnbdbackup.2")}, set()
    if name == "disk-added":
        docs = c(3)
        docs[0].disks = {"vda": ("bitmap", None)}
        docs[1].disks = {"vda": ("bitmap", None)}
        return docs, {("disk-added", "virtnbdbackup.2")}, set()
    if name == "disk-removed":
        docs = c(3)
        docs[2].disks = {"vda": ("bitmap", None), "vdb": ("no", None)}
        return docs, {("disk-removed", "virtnbdbackup.2")}, set()
    if name == "bitmap-name":
        docs = c(3)
        docs[1].disks = {"vda": ("bitmap", "backup-1"), "vdb": ("bitmap", "virtnbdbackup.1")}
        return docs, {("bitmap-name", "virtnbdbackup.1")}, set()
    raise KeyError(name)


SCENARIOS = ["consistent", *KINDS]


def _pairs(found) -> set[tuple[str, str | None]]:
    return {(p.kind, p.checkpoint) for ch in found for p in ch.problems}


def _check(found, expected, tolerated) -> None:
    pairs = _pairs(found)
    assert expected <= pairs, f"missing {expected - pairs}"
    assert pairs <= expected | tolerated, f"unexpected {pairs - expected - tolerated}"


def test_every_kind_has_a_scenario() -> None:
    assert set(KINDS) <= set(SCENARIOS)
    for kind in KINDS:
        _, expected, _ = _scenario(kind)
        assert kind in {k for k, _ in expected}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", SCENARIOS)
def test_each_kind_alone(tmp_path: Path, name: str, layout: str) -> None:
    docs, expected, tolerated = _scenario(name)
    archive = WRITERS[layout](str(tmp_path), docs)
    found = chains(archive.entry)
    _check(found, expected, tolerated)
    for ch in found:
        for p in ch.problems:
            assert p.severity == KINDS[p.kind]
            assert p.source is not None and p.source.path is not None
            assert p.message and (p.checkpoint is None or p.checkpoint in p.message)


def test_all_kinds_combined(tmp_path: Path) -> None:
    """One archive holding every scenario at once (names made distinct): the same problems."""
    all_docs, expected, tolerated = [], set(), set()
    for number, name in enumerate(SCENARIOS):
        docs, exp, tol = _scenario(name)
        prefix = f"s{number}-"
        for doc in docs:
            doc = copy.copy(doc)
            if doc.raw is not None:
                doc.raw = doc.raw.replace(doc.name, prefix + doc.name)
            doc.name = prefix + doc.name
            doc.parent = prefix + doc.parent if doc.parent else None
            if doc.disks:
                doc.disks = {k: (m, prefix + b if b else None) for k, (m, b) in doc.disks.items()}
            doc.path = f"{doc.vm or 'novm'}/{name}/{doc.path.rsplit('/', 1)[-1] if doc.path else doc.name + '.xml'}"
            all_docs.append(doc)
        expected |= {(k, prefix + c if c else c) for k, c in exp}
        tolerated |= {(k, prefix + c if c else c) for k, c in tol}
    # the bitmap of the bitmap-name scenario was renamed along: it is still not the checkpoint's name
    for layout in LAYOUTS:
        root = tmp_path / layout
        archive = WRITERS[layout](str(root), all_docs)
        found = chains(archive.entry)
        _check(found, expected, tolerated)
        # The broken document's VM cannot be read from it. In a folder or a tar archive it goes
        # with the one VM of its folder; a stream holds both VMs, so it stays with its folder.
        unknown = [ch for ch in found if ch.vm is None]
        assert {ch.vm for ch in found} - {None} == {UUIDS["web"], UUIDS["db"]}
        if layout == "stream":
            (alone,) = unknown
            assert [p.kind for p in alone.problems] == ["invalid"] and alone.checkpoints == 0
        else:
            assert not unknown


# -- order, tree, grouping ---------------------------------------------------------------------


def test_order_is_parents_first_by_time_then_name_not_file_name(tmp_path: Path) -> None:
    docs = chain_docs(12)  # virtnbdbackup.10 sorts before virtnbdbackup.2 by name
    archive = WRITERS["folder"](str(tmp_path), docs[::-1])
    (ch,) = chains(archive.entry)
    assert ch.order == tuple(f"virtnbdbackup.{i}" for i in range(12))
    assert ch.roots == ("virtnbdbackup.0",) and ch.leaves == ("virtnbdbackup.11",)
    assert ch.current == ch.restored_current == "virtnbdbackup.11"
    assert ch.vm == UUIDS["web"] and ch.vm_name == "web" and ch.checkpoints == 12
    assert ch.children("virtnbdbackup.3") == ("virtnbdbackup.4",)
    assert ch.parent("virtnbdbackup.0") is None


def test_order_ties_by_creation_time_then_name() -> None:
    t = 1_700_000_000
    docs = [Doc("root", None, t), Doc("b", "root", t + 5), Doc("a", "root", t + 5), Doc("c", "root", t + 1), Doc("z", "c", t - 100)]
    (ch,) = chains("".join(d.xml() for d in docs).encode())
    # c first (oldest child), then its child z (ready, older than a and b), then a and b by name.
    assert ch.order == ("root", "c", "z", "a", "b")
    assert ch.current is None  # three leaves
    assert ch.restored_current == "z"  # libvirt follows the first branch redefined
    assert ch.children("root") == ("c", "a", "b")


def _docs_text(docs) -> bytes:
    return "".join(d.xml() for d in docs).encode()


@pytest.mark.parametrize("seed", range(8))
def test_shuffled_archive_gives_the_same_result(seed: int) -> None:
    docs = []
    for name in SCENARIOS:
        for doc in _scenario(name)[0]:
            doc = copy.copy(doc)
            if doc.raw is not None:
                doc.raw = doc.raw.replace(doc.name, f"{name}/{doc.name}")
            doc.name = f"{name}/{doc.name}"
            doc.parent = f"{name}/{doc.parent}" if doc.parent else None
            docs.append(doc)
    reference = _comparable(chains(_docs_text(docs)))
    shuffled = docs[:]
    random.Random(seed).shuffle(shuffled)
    assert _comparable(chains(_docs_text(shuffled))) == reference


def test_the_same_uuid_spelled_three_ways_is_one_vm() -> None:
    u = UUIDS["web"]
    spellings = [u, u.upper(), u.replace("-", "")]
    docs = [Doc(f"cp{i}", f"cp{i - 1}" if i else None, 1000 + i, uuid=s) for i, s in enumerate(spellings)]
    (ch,) = chains(_docs_text(docs))
    assert ch.vm == u and ch.order == ("cp0", "cp1", "cp2") and not ch.problems
    assert canonical_uuid(u.upper().replace("-", "")) == u


def test_vm_name_does_not_group_and_a_renamed_vm_keeps_its_chain() -> None:
    docs = [
        Doc("a0", None, 1000, vm="web"),
        Doc("a1", "a0", 2000, vm="web"),
        Doc("b0", None, 1000, vm="web", uuid=UUIDS["db"]),  # another VM that is also called web
        Doc("a2", "a1", 3000, vm="db", uuid=UUIDS["web"]),  # the first VM, renamed
    ]
    found = chains(_docs_text(docs))
    by_vm = {ch.vm: ch for ch in found}
    assert set(by_vm) == {UUIDS["web"], UUIDS["db"]}
    assert by_vm[UUIDS["web"]].order == ("a0", "a1", "a2")
    assert by_vm[UUIDS["web"]].vm_name == "db"  # the name in its most recent checkpoint
    assert by_vm[UUIDS["db"]].order == ("b0",)


def test_documents_without_domain_are_grouped_by_folder(tmp_path: Path) -> None:
    docs = [Doc("x0", None, 1, vm=None, path="vm1/x0.xml"), Doc("x1", "x0", 2, vm=None, path="vm1/x1.xml")]
    docs += [Doc("x0", None, 1, vm=None, path="vm2/x0.xml"), Doc("y1", "x0", 2, vm=None, path="vm2/y1.xml")]
    WRITERS["folder"](str(tmp_path / "f"), docs)
    found = chains(str(tmp_path / "f"))
    assert sorted((ch.folder, ch.order) for ch in found) == [
        (str(tmp_path / "f" / "vm1"), ("x0", "x1")),
        (str(tmp_path / "f" / "vm2"), ("x0", "y1")),
    ]
    assert all(ch.vm is None and not ch.problems for ch in found)
    archive = WRITERS["tar"](str(tmp_path / "t"), docs)
    found = chains(archive.entry)
    assert sorted(ch.folder for ch in found) == [f"{archive.entry}:vm1", f"{archive.entry}:vm2"]
    # one group: the two x0 differ only by where they are, so they are copies
    (one,) = chains(archive.entry, group_by="none")
    assert {(p.kind, p.checkpoint) for p in one.problems} == {("duplicate-copy", "x0"), ("fork", "x0")}


def test_group_by_folder_splits_a_vm_across_folders(tmp_path: Path) -> None:
    docs = chain_docs(4)
    docs[2].path = "later/virtnbdbackup.2.xml"
    docs[3].path = "later/virtnbdbackup.3.xml"
    WRITERS["folder"](str(tmp_path), docs)
    (by_uuid,) = chains(str(tmp_path))
    assert by_uuid.order == tuple(d.name for d in docs) and not by_uuid.problems
    found = chains(str(tmp_path), group_by="folder")
    assert len(found) == 2 and all(ch.vm == UUIDS["web"] for ch in found)
    later = next(ch for ch in found if ch.folder.endswith("later"))
    # its parent is in the other folder of the same VM: named, and not restorable from here
    (problem,) = later.errors
    assert problem.kind == "uuid-mismatch" or problem.kind == "missing-parent"
    assert "virtnbdbackup.1" in problem.message
    with pytest.raises(ValueError):
        ChainBuilder("disk")


def test_rejected_document_keeps_its_vm_and_the_chain_around_it() -> None:
    docs = chain_docs(5)
    broken = docs[2].xml().replace("<creationTime>", "<creationTime>x")
    text = "".join(d.xml() for d in docs[:2]) + broken + "".join(d.xml() for d in docs[3:])
    (ch,) = chains(text.encode())
    assert ch.vm == UUIDS["web"]  # the uuid was read from the rejected document itself
    assert ch.order == ("virtnbdbackup.0", "virtnbdbackup.1")
    assert ch.unrestorable == ("virtnbdbackup.3", "virtnbdbackup.4")
    invalid = [p for p in ch.problems if p.kind == "invalid"]
    assert len(invalid) == 1 and invalid[0].checkpoint == "virtnbdbackup.2" and invalid[0].source.index == 2
    assert "line 6, column 3" in invalid[0].message  # where in the document: its <creationTime>
    (child,) = [p for p in ch.problems if p.kind == "missing-parent"]
    assert child.checkpoint == "virtnbdbackup.3" and "rejected" in child.message
    assert "1 descendant" in child.message


def test_builder_takes_records_in_any_order_from_iterparse() -> None:
    text = _docs_text(chain_docs(6))
    items = list(iterparse(text, on_error="skip", yield_errors=True))
    builder = ChainBuilder()
    for item in reversed(items):
        builder.add(item)
    (ch,) = builder.finish()
    assert ch.order == tuple(f"virtnbdbackup.{i}" for i in range(6))
    assert build_chains(items)[0].order == ch.order
    with pytest.raises(TypeError):
        ChainBuilder().add("not a record")  # type: ignore[arg-type]


def test_a_long_single_chain_needs_no_recursion() -> None:
    """100,000 checkpoints in one chain, fed from records made in memory (the analysis, not the
    parser, is under test): no recursion limit, the right order, the last one current."""
    from checkpoint_stream.records import Checkpoint, CheckpointDisk

    disks = (CheckpointDisk("vda"),)
    n = 100_000
    builder = ChainBuilder()
    for i in range(n - 1, -1, -1):
        builder.add(Checkpoint(name=f"c{i}", parent=f"c{i - 1}" if i else None, creation_time=i, disks=disks))
    (ch,) = builder.finish()
    assert len(ch.order) == n and ch.order[0] == "c0" and ch.order[-1] == f"c{n - 1}"
    assert ch.current == f"c{n - 1}" and ch.roots == ("c0",) and not ch.problems
    # and a cycle of the same length
    builder = ChainBuilder()
    for i in range(n):
        builder.add(Checkpoint(name=f"c{i}", parent=f"c{(i - 1) % n}", creation_time=i, disks=disks))
    (ch,) = builder.finish()
    assert len(ch.errors) == n and {p.kind for p in ch.errors} == {"cycle"} and ch.order == ()


def test_duplicate_name_choice_does_not_depend_on_reading_order() -> None:
    docs, _, _ = _scenario("duplicate-name")
    a = chains(_docs_text(docs))
    b = chains(_docs_text(docs[::-1]))
    # the definition chosen is the same content either way (it is another document of the stream)
    pick_a = a[0].source("virtnbdbackup.2")
    pick_b = b[0].source("virtnbdbackup.2")
    text_a = _docs_text(docs)[pick_a.offset : pick_a.end]
    text_b = _docs_text(docs[::-1])[pick_b.offset : pick_b.end]
    assert text_a == text_b


# -- command line --------------------------------------------------------------------------------


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    code = cli_main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


PROBLEM_LINE = re.compile(r"^(?P<where>\S+): (?P<severity>error|warning): (?P<message>.+) \[(?P<kind>[a-z-]+)\]( \(checkpoint (?P<name>.+)\))?$")


@pytest.mark.parametrize("name", SCENARIOS)
def test_cli_reports_each_problem_and_the_exit_status(tmp_path: Path, capsys, name: str) -> None:
    docs, expected, tolerated = _scenario(name)
    archive = WRITERS["tar"](str(tmp_path), docs)
    code, out, err = _cli(capsys, "chain", archive.entry)
    lines = [PROBLEM_LINE.match(line) for line in out.splitlines() if ": error: " in line or ": warning: " in line]
    assert all(lines), out
    pairs = {(m["kind"], m["name"]) for m in lines}
    assert expected <= pairs <= expected | tolerated
    for m in lines:
        assert m["where"].startswith(archive.entry + ":")  # PATH:MEMBER
    errors = any(KINDS[k] == "error" for k, _ in expected)
    assert code == (1 if errors else 0)


def test_cli_tree_is_drawn_like_virsh(tmp_path: Path, capsys) -> None:
    t = 1_700_000_000
    docs = [Doc("a", None, t), Doc("b", "a", t + 1), Doc("c", "b", t + 2), Doc("d", "b", t + 3), Doc("j", "c", t + 4), Doc("e", "a", t + 5)]
    WRITERS["folder"](str(tmp_path), docs)
    code, out, _ = _cli(capsys, "chain", str(tmp_path))
    # virsh 9.0 `checkpoint-list --tree` for the same checkpoints (children by name there; by
    # creationTime here, which is the same order in this archive)
    virsh = "a\n  |\n  +- b\n  |   |\n  |   +- c\n  |   |   |\n  |   |   +- j\n  |   |     \n  |   +- d\n  |     \n  +- e\n    \n"
    assert virsh in out
    assert out.startswith(f"VM web (uuid {UUIDS['web']}): 6 checkpoints, current: none\n")
    assert code == 0


def test_cli_tree_matches_real_virsh(tmp_path: Path, capsys) -> None:
    virsh = shutil.which("virsh")
    if virsh is None:
        pytest.skip("virsh is not installed (apt-get install libvirt-clients): the tree is compared with a recorded one above")
    t = 1_700_000_000
    docs = [Doc("a", None, t), Doc("b", "a", t + 1), Doc("c", "b", t + 2), Doc("d", "b", t + 3), Doc("j", "c", t + 4), Doc("e", "a", t + 5), Doc("x", None, t + 6)]
    for doc in docs:
        doc.vm = None
        doc.disks = {"vda": ("no", None)}
    WRITERS["folder"](str(tmp_path), docs)
    commands = "; ".join(f"checkpoint-create test {tmp_path / 'novm' / (d.name + '.xml')} --redefine" for d in docs)
    proc = subprocess.run([virsh, "-q", "-c", "test:///default", commands + "; checkpoint-list test --tree"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    code, out, _ = _cli(capsys, "chain", str(tmp_path))
    body = out.split("\n", 1)[1]
    assert body.startswith(proc.stdout.rstrip("\n") + "\n"), (proc.stdout, body)


def test_cli_order_lines(tmp_path: Path, capsys) -> None:
    docs = chain_docs(11) + chain_docs(2, prefix="d.", vm="db")
    for layout in LAYOUTS:
        archive = WRITERS[layout](str(tmp_path / layout), docs[::-1])
        code, out, err = _cli(capsys, "chain", "--order", archive.entry)
        assert code == 0 and err == ""
        rows = [line.split("\t") for line in out.splitlines()]
        assert all(len(r) == 3 for r in rows)
        web = [r[1] for r in rows if r[0] == UUIDS["web"]]
        assert web == [f"virtnbdbackup.{i}" for i in range(11)]
        assert [r[1] for r in rows if r[0] == UUIDS["db"]] == ["d.0", "d.1"]
        for r in rows:
            assert r[2] in archive.refs, (r, list(archive.refs)[:3])


def test_cli_order_fetches_stream_documents(tmp_path: Path, capsys) -> None:
    """A document of a concatenated stream is located as PATH@OFFSET:LENGTH: exactly its bytes."""
    docs = chain_docs(4)
    archive = WRITERS["stream"](str(tmp_path), docs)
    _, out, _ = _cli(capsys, "chain", "--order", archive.entry)
    data = Path(archive.entry).read_bytes()
    for line, doc in zip(out.splitlines(), docs):
        m = re.fullmatch(r".*@(\d+):(\d+)", line.split("\t")[2])
        assert m
        piece = data[int(m[1]) : int(m[1]) + int(m[2])]
        assert piece.decode() == doc.xml().rstrip("\n")


def test_cli_json(tmp_path: Path, capsys) -> None:
    docs, _, _ = _scenario("uuid-mismatch")
    WRITERS["folder"](str(tmp_path), docs)
    code, out, _ = _cli(capsys, "chain", "--json", str(tmp_path))
    objects = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and len(objects) == 2
    for obj in objects:
        assert {"vm", "vmName", "checkpoints", "roots", "leaves", "current", "order", "problems"} <= set(obj)
        for p in obj["problems"]:
            assert set(p) == {"kind", "severity", "checkpoint", "message", "source"}
            assert set(p["source"]) == {"path", "member", "index"}
    db = next(o for o in objects if o["vm"] == UUIDS["db"])
    assert db["vmName"] == "db" and db["checkpoints"] == 3 and db["order"] == ["d.0", "d.1"]
    assert [(p["kind"], p["checkpoint"]) for p in db["problems"]] == [("uuid-mismatch", "d.2")]


def test_cli_dot(tmp_path: Path, capsys) -> None:
    docs, _, _ = _scenario("missing-parent")
    docs += _scenario("fork")[0][-1:]
    WRITERS["folder"](str(tmp_path), docs)
    code, out, err = _cli(capsys, "chain", "--dot", str(tmp_path))
    assert code == 1
    assert out.startswith("digraph checkpoints {\n") and out.endswith("}\n")
    assert out.count("subgraph cluster_") == 1
    assert '"0:virtnbdbackup.3" [label="virtnbdbackup.3\\n(missing)", style=dashed, color=red' in out
    assert '"0:virtnbdbackup.3" -> "0:virtnbdbackup.4" [color=red, style=dashed];' in out
    assert '"0:virtnbdbackup.1" [label="virtnbdbackup.1", color=orange' in out  # the fork
    assert "[missing-parent]" in err  # problems on standard error, the graph alone on standard output
    dot = shutil.which("dot")
    if dot is not None:
        proc = subprocess.run([dot, "-Tsvg"], input=out, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr


def test_cli_exit_status_and_io_errors(tmp_path: Path, capsys) -> None:
    WRITERS["folder"](str(tmp_path / "ok"), chain_docs(3))
    assert _cli(capsys, "chain", str(tmp_path / "ok"))[0] == 0
    docs, _, _ = _scenario("fork")  # warnings only
    WRITERS["folder"](str(tmp_path / "warn"), docs)
    assert _cli(capsys, "chain", str(tmp_path / "warn"))[0] == 0
    code, _, err = _cli(capsys, "chain", str(tmp_path / "absent"))
    assert code == 2 and "absent" in err
    assert _cli(capsys, "chain", "--group-by", "colour", str(tmp_path))[0] == 2
    assert _cli(capsys, "chain", "--json", "--dot", str(tmp_path))[0] == 2
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.xml").write_text("<domaincheckpoint><name>x</name><bogus/></domaincheckpoint>")
    code, out, err = _cli(capsys, "chain", "--on-error", "stop", str(tmp_path / "bad"))
    assert code == 1 and "bogus" in err and out == ""


# -- real libvirt --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def libvirt_redefine():
    reason = _libvirt_reason()
    if reason:
        pytest.skip(f"libvirt unavailable, chain differential test not run: {reason}")

    def redefine(documents: list[tuple[str, str]]) -> dict:
        request = {"documents": [{"vm": vm, "xml": xml} for vm, xml in documents]}
        proc = subprocess.run(
            [SYSTEM_PYTHON, str(HERE / "libvirt_chain_driver.py")], input=json.dumps(request), capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    return redefine


def _fetch(archive_entry: str, origin) -> str:
    if origin.member is not None:
        with tarfile.open(origin.path) as tf:
            data = tf.extractfile(origin.member).read()  # type: ignore[union-attr]
    else:
        data = Path(origin.path).read_bytes()
    end = origin.end if origin.end is not None else len(data)
    return data[origin.offset : end].decode()


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", SCENARIOS)
def test_libvirt_redefines_the_computed_order(tmp_path: Path, libvirt_redefine, name: str, layout: str) -> None:
    """Every checkpoint of the computed order is accepted, and libvirt builds the tree this
    analysis describes (parents, roots, leaves, and the current checkpoint after the restore)."""
    docs, _, _ = _scenario(name)
    archive = WRITERS[layout](str(tmp_path), docs)
    found = chains(archive.entry)
    plan = [(ch.vm or ch.folder, _fetch(archive.entry, ch.source(n))) for ch in found for n in ch.order]
    answer = libvirt_redefine(plan)
    refused = [(p[1][:60], a["error"]) for p, a in zip(plan, answer["documents"]) if not a["ok"]]
    assert not refused
    for ch in found:
        if not ch.order:
            continue
        vm = answer["vms"][ch.vm or ch.folder]
        assert vm["parents"] == {n: ch.parent(n) for n in ch.order}
        assert vm["roots"] == sorted(ch.roots) and vm["leaves"] == sorted(ch.leaves)
        assert vm["current"] == ch.restored_current
        if ch.current is not None:
            assert vm["current"] == ch.current


NOT_FOUND = re.compile(r"parent (?P<parent>.+) for moment (?P<child>.+) not found|cannot set moment (?P<self>.+) as its own parent")


@pytest.mark.parametrize("name", [k for k in KINDS] + ["consistent"])
def test_libvirt_behaves_on_each_kind_as_documented(tmp_path: Path, libvirt_redefine, name: str) -> None:
    """Redefine everything: the computed order, then every other document of the archive (the
    unrestorable ones, the other definitions of a duplicated name, the rejected ones). libvirt
    refuses exactly the documents this analysis calls unrestorable or invalid, with "parent P for
    moment C not found" for a broken ancestry ("cannot set moment C as its own parent" for a
    self-parent); it accepts duplicates (the last one wins) and every warning kind."""
    docs, _, _ = _scenario(name)
    archive = WRITERS["folder"](str(tmp_path), docs)
    found = chains(archive.entry)
    plan, expect_refused = [], []
    chosen = set()
    for ch in found:
        key = ch.vm or ch.folder
        for n in ch.order:
            plan.append((key, _fetch(archive.entry, ch.source(n))))
            chosen.add(os.path.realpath(ch.source(n).path))
    later = []
    for path in sorted(archive.refs):
        if os.path.realpath(path) in chosen:
            continue
        text = Path(path).read_text()
        owner = next((ch for ch in found if any(os.path.realpath(s.path) == os.path.realpath(path) for p in ch.problems for s in p.sources)), None)
        owner = owner or next(ch for ch in found if any(os.path.realpath(ch.source(n).path) == os.path.realpath(path) for n in ch.names))
        later.append((owner.vm or owner.folder, text, path))
    for key, text, path in later:
        plan.append((key, text))
    answer = libvirt_redefine(plan)
    results = answer["documents"]
    assert all(a["ok"] for a in results[: len(plan) - len(later)])
    unrestorable = {n for ch in found for n in ch.unrestorable}
    invalid = {p.source.path for ch in found for p in ch.problems if p.kind == "invalid"}
    for (key, text, path), result in zip(later, results[len(plan) - len(later) :]):
        doc_name = re.search(r"<name>([^<]*)</name>", text)[1]
        if path in invalid:
            assert not result["ok"], path
        elif doc_name in unrestorable:
            assert not result["ok"], path
            m = NOT_FOUND.search(result["error"])
            assert m and doc_name in (m["child"], m["self"]), result["error"]
            if m["self"]:  # libvirt's own words for it are in the problem's message
                assert any(p.kind == "self-parent" and m.group(0) in p.message for ch in found for p in ch.problems)
        else:
            # another definition of a name already redefined: accepted, silently replacing it
            assert result["ok"], (path, result)
            assert any(p.kind in ("duplicate-name", "duplicate-copy") and p.checkpoint == doc_name for ch in found for p in ch.problems)


def test_shared_chain_oracle_agrees(tmp_path: Path) -> None:
    """The project's own driver and ``shared/tools/libvirt-chain-oracle`` see the same libvirt."""
    oracle = REPO.parent / "shared" / "tools" / "libvirt-chain-oracle"
    if not oracle.exists():
        pytest.skip(f"{oracle} is not here (the project's own libvirt driver is used above)")
    if _libvirt_reason():
        pytest.skip(f"libvirt unavailable: {_libvirt_reason()}")
    docs, _, _ = _scenario("fork")
    archive = WRITERS["tar"](str(tmp_path), docs)
    (ch,) = chains(archive.entry)
    refs = [archive.refs[ch.location(n)] for n in ch.order]
    out = tmp_path / "oracle.json"
    proc = subprocess.run([str(oracle), "redefine", "--quiet", "--json", str(out), "--base", str(tmp_path), *refs], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert all(d["ok"] for d in result["documents"])
    (vm,) = result["vms"]
    assert vm["roots"] == list(ch.roots) and vm["leaves"] == sorted(ch.leaves) and vm["current"] == ch.restored_current


# -- the example restore script -----------------------------------------------------------------


SCRIPT = REPO / "examples" / "redefine-archive.sh"


def _run_script(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, list[tuple[str, str]]]:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed: the example script is not run")
    bin_dir = tmp_path / "bin"
    log = tmp_path / "log"
    bin_dir.mkdir(exist_ok=True)
    shutil.rmtree(log, ignore_errors=True)
    log.mkdir()
    virsh = bin_dir / "virsh"
    # virsh [-c URI] checkpoint-create DOMAIN FILE --redefine: shift the -c pair away first
    virsh.write_text("#!/bin/sh\nif [ \"$1\" = -c ]; then shift 2; fi\nn=$(ls \"$VIRSH_LOG\" | grep -c xml)\n"
                     "[ \"$1\" = checkpoint-create ] && [ \"$4\" = --redefine ] || { echo \"unexpected: $*\" >&2; exit 9; }\n"
                     "printf '%s' \"$2\" > \"$VIRSH_LOG/$n.vm\"\ncp \"$3\" \"$VIRSH_LOG/$n.xml\"\n")
    virsh.chmod(0o755)
    cli = bin_dir / "checkpoint-stream"
    cli.write_text(f"#!/bin/sh\nexec {sys.executable} -m checkpoint_stream \"$@\"\n")
    cli.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", VIRSH_LOG=str(log),
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([bash, str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=300)
    calls = []
    for k in range(len(list(log.glob("*.xml")))):
        calls.append(((log / f"{k}.vm").read_text(), (log / f"{k}.xml").read_text()))
    return proc, calls


@pytest.mark.parametrize("layout", LAYOUTS)
def test_example_script_redefines_in_order(tmp_path: Path, layout: str) -> None:
    docs = chain_docs(11) + chain_docs(3, prefix="d.", vm="db")
    archive = WRITERS[layout](str(tmp_path / "a"), docs[::-1])
    proc, calls = _run_script(tmp_path, "-c", "qemu:///system", archive.entry)
    assert proc.returncode == 0, proc.stderr
    by_name = {d.name: d for d in docs}
    web = [xml for vm, xml in calls if vm == UUIDS["web"]]
    assert [re.search(r"<name>(.*?)</name>", x)[1] for x in web] == [f"virtnbdbackup.{i}" for i in range(11)]
    for vm, xml in calls:  # each call got exactly its document
        name = re.search(r"<name>(.*?)</name>", xml)[1]
        assert xml.rstrip("\n") == by_name[name].xml().rstrip("\n")
        assert vm == UUIDS[by_name[name].vm]


def test_example_script_stops_on_errors_unless_forced(tmp_path: Path) -> None:
    docs, _, _ = _scenario("missing-parent")
    WRITERS["folder"](str(tmp_path / "a"), docs)
    proc, calls = _run_script(tmp_path, str(tmp_path / "a"))
    assert proc.returncode == 1 and calls == [] and "[missing-parent]" in proc.stderr
    proc, calls = _run_script(tmp_path, "--force", str(tmp_path / "a"))
    assert proc.returncode == 0
    assert [re.search(r"<name>(.*?)</name>", x)[1] for _, x in calls] == ["virtnbdbackup.0", "virtnbdbackup.1", "virtnbdbackup.2"]
    nodomain = [Doc("x0", None, 1, vm=None, path="x0.xml"), Doc("x1", "x0", 2, vm=None, path="x1.xml")]
    WRITERS["folder"](str(tmp_path / "n"), nodomain)
    proc, calls = _run_script(tmp_path, str(tmp_path / "n"))
    assert proc.returncode == 2 and "--domain" in proc.stderr
    proc, calls = _run_script(tmp_path, "--domain", "myvm", str(tmp_path / "n"))
    assert proc.returncode == 0 and [vm for vm, _ in calls] == ["myvm", "myvm"]


@pytest.mark.parametrize(
    "content, why",
    [
        ("", "empty"),
        ("  \n<!-- nothing -->\n", "only a comment"),
        ("<domaincheckpoint>\n  <name>virtnbdbackup.2</name>\n  <parent>\n    <name>virtnbdbackup.1</name>\n  </parent>\n</domaincheckpoint>\n", "no creationTime"),
        ("<domainsnapshot>\n  <name>virtnbdbackup.2</name>\n</domainsnapshot>\n", "another root"),
        ("<domaincheckpoint>\n  <name>virtnbdbackup.2</name>\n  <creationTime>1</creationTime>\n", "cut short"),
    ],
)
def test_what_libvirt_refuses_on_redefine_is_invalid(tmp_path: Path, capsys, content: str, why: str) -> None:
    """A restore reads documents as libvirt's REDEFINE does: a file with no document, one without
    creationTime, another root, a cut-short one: each is `invalid`, and the rest is analysed."""
    docs = chain_docs(4)
    WRITERS["folder"](str(tmp_path), docs)
    (tmp_path / "web" / "virtnbdbackup.2.xml").write_text(content)
    (ch,) = chains(str(tmp_path))
    invalid = [p for p in ch.problems if p.kind == "invalid"]
    assert len(invalid) == 1 and invalid[0].source.path.endswith("virtnbdbackup.2.xml"), why
    assert ch.order == ("virtnbdbackup.0", "virtnbdbackup.1")
    assert ch.unrestorable == ("virtnbdbackup.3",)
    code, out, _ = _cli(capsys, "chain", str(tmp_path))
    assert code == 1 and "[invalid]" in out
    # without a <domain> a checkpoint is still restorable (libvirt >= 7.0 takes it on REDEFINE)
    bare = [Doc(d.name, d.parent, d.time, vm=None, path=f"bare/{d.name}.xml") for d in docs]
    WRITERS["folder"](str(tmp_path / "bare"), bare)
    (ch,) = chains(str(tmp_path / "bare"))
    assert ch.order == tuple(d.name for d in docs) and not ch.errors and ch.vm is None


def test_chain_accessors_answer_for_every_checkpoint() -> None:
    docs, _, _ = _scenario("duplicate-name")
    docs += _scenario("bitmap-name")[0][1:2]  # virtnbdbackup.1 again, with other bitmaps: a second duplicate
    (ch,) = chains(_docs_text(docs))
    for name in ch.names:
        assert ch.parent(name) == (None if name == "virtnbdbackup.0" else f"virtnbdbackup.{int(name[-1]) - 1}")
        assert ch.creation_time(name) is not None
        assert ch.source(name).path is None and ch.source(name).end > ch.source(name).offset
    # the definition of virtnbdbackup.1 that counts is one of the two; its disks are its own
    disks = ch.disks("virtnbdbackup.1")
    assert {d[0] for d in disks} == {"vda", "vdb"} and all(d[1] == "bitmap" for d in disks)
    assert ch.disks("virtnbdbackup.0") == (("vda", "bitmap", "virtnbdbackup.0"), ("vdb", "bitmap", "virtnbdbackup.0"))
    with pytest.raises(KeyError):
        ch.parent("nope")
    with pytest.raises(KeyError):
        ch.children("nope")
    assert dict(ch.links())["virtnbdbackup.3"] == "virtnbdbackup.2"
