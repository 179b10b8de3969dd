"""checkpoint_stream against the other ways to read the same documents, in one run.

    python3 benchmarks/peers.py                 # all shapes, peers, writer, 1 GB peak-RSS check
    python3 benchmarks/peers.py --rounds 9 --rss-gb 0   # more rounds, skip the RSS check
    python3 benchmarks/peers.py --only parse --shapes realistic,realistic-oneline --fresh

The realistic shapes come first: checkpoints around libvirt's own test domains
(``benchmarks/realistic``, see ``corpus.realistic_documents``), those the default mode accepts, in
libvirt's layout (``realistic``), on one line, as ElementTree's ``indent`` + ``tostring`` writes
them, with 4-space and with tab indentation, and in libvirt's layout with each VM's domain in 5
consecutive checkpoints (``realistic-chain5``). There checkpoint_stream runs first sight (its
memory forgotten before every round, untimed), warm (a second pass: forgotten, one untimed pass,
then the timed one; a structure is learnt when met the second time, so a third pass is given
too) and with its memory disabled (the fast reader with a ``NullMemory``, which
keeps nothing; and, for comparison, ``Reader(fast=False)``, the general reader alone); it and the
tree builders also give the domain as text (``Domain.xml``;
``tostring`` of the domain subtree), and every ``ours`` row is also given as a ratio to lxml
(per round, median and spread). ``--fresh`` adds the same shapes measured with a fresh interpreter
per round (pyexpat, lxml, ours first sight and a second pass, in the same process).

Every contestant reads the same generated corpus and extracts the same facts: name, description,
parent, creationTime, the disks (name, checkpoint, bitmap, size) and the domain kept whole (as
text for checkpoint_stream, as a subtree for the tree builders). The baseline is bare pyexpat: a
parser per document, no callbacks (the cost of only checking well-formedness). Peers get the
documents already split; checkpoint_stream runs twice: iterparse over the concatenated stream
(framing it itself) and parse() on each split document, with validation fully on (schema, mode
rules, domain top checks), and with what its scanner remembers between documents (domains it
proved, disk tags) forgotten before every round, so that each round reads the corpus as new.

Measurement on a noisy machine: each round runs every contestant once, in a rotated order; the
ratio to pyexpat is taken per round (pyexpat runs in every round) and the median over rounds is
reported with its spread (min-max). MB/s and documents/s come from the median time.
Peers that are not installed are skipped with a note.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import corpus  # noqa: E402
import checkpoint_stream as cs  # noqa: E402
from checkpoint_stream.readers import DEFAULT_READER, Memory, Reader  # noqa: E402

forget = DEFAULT_READER.forget

COUNTS = {"small": 20000, "full": 4000, "vm": 4000, "disks20k": 1, "mixed": 4000, "unique": 4000}


# -- contestants: each takes (docs, stream) and returns the number of records -----------------------


def run_pyexpat(docs: list[bytes], stream: bytes) -> int:
    from xml.parsers.expat import ParserCreate

    for d in docs:
        ParserCreate().Parse(d, True)
    return len(docs)


def run_checkpoint_stream(docs: list[bytes], stream: bytes) -> int:
    forget()  # every round reads the corpus as never seen (the scanner remembers domains it proved)
    n = 0
    for r in cs.iterparse(stream):
        (r.name, r.description, r.parent, r.creation_time, r.disks, r.domain)
        n += 1
    return n


def run_checkpoint_stream_parse(docs: list[bytes], stream: bytes) -> int:
    forget()
    parse = cs.parse
    for d in docs:
        r = parse(d)
        (r.name, r.description, r.parent, r.creation_time, r.disks, r.domain)
    return len(docs)


def _tree_facts(root: Any) -> tuple:
    disks = [(d.get("name"), d.get("checkpoint"), d.get("bitmap"), d.get("size")) for d in root.iterfind("disks/disk")]
    return (
        root.findtext("name"),
        root.findtext("description"),
        root.findtext("parent/name"),
        root.findtext("creationTime"),
        disks,
        root.find("domain"),
    )


def _tree_runner(fromstring: Callable[[bytes], Any]) -> Callable[[list[bytes], bytes], int]:
    def run(docs: list[bytes], stream: bytes) -> int:
        for d in docs:
            _tree_facts(fromstring(d))
        return len(docs)

    return run


def run_xmltodict_factory() -> Callable[[list[bytes], bytes], int] | str:
    try:
        import xmltodict
    except ImportError:
        return "xmltodict is not installed"

    def run(docs: list[bytes], stream: bytes) -> int:
        for d in docs:
            root = xmltodict.parse(d)["domaincheckpoint"]
            disks = (root.get("disks") or {}).get("disk", [])
            if isinstance(disks, dict):
                disks = [disks]
            (
                root.get("name"),
                root.get("description"),
                (root.get("parent") or {}).get("name"),
                root.get("creationTime"),
                [(x.get("@name"), x.get("@checkpoint"), x.get("@bitmap"), x.get("@size")) for x in disks],
                root.get("domain"),
            )
        return len(docs)

    return run


# -- the realistic corpus (corpus.realistic_documents): first sight, warm, memory disabled -----------

#: shape -> (layout, chain): checkpoints around libvirt's own test domains (benchmarks/realistic).
REALISTIC = {("realistic" if name == "libvirt" else f"realistic-{name}"): shape for name, shape in corpus.REALISTIC_SHAPES.items()}


class _NeverSeen(dict):  # type: ignore[type-arg]
    """A table that keeps nothing: every structure is met for the first time."""

    def __setitem__(self, key: Any, value: Any) -> None:
        pass


class NullMemory(Memory):
    """A fast reader's memory that keeps nothing: no domain by its bytes, no verdict on a top or a child, no
    disk tag tail, no line, layout or structure (so nothing is ever learnt, and every domain is
    checked by expat and judged from its text as at first sight). ``Reader(memory=NullMemory())``
    is the fast reader with its memory disabled (``Reader(fast=False)`` is another thing: the
    general reader alone)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines.shapes = _NeverSeen()
        self.children = _NeverSeen()
        self.child_tops = _NeverSeen()

    def forget(self, domains: bool = True, disks: bool = True) -> None:
        super().forget(domains, disks)
        self.lines.shapes = _NeverSeen()
        self.children = _NeverSeen()
        self.child_tops = _NeverSeen()

    def remember_domain(self, key: Any, domain: Any, size: Any = None) -> None:
        pass

    def remember_top(self, key: Any, ok: bool, size: int | None = None) -> None:
        pass

    def remember_rest(self, rest: str, fields: Any) -> None:
        pass


NO_MEMORY_READER = Reader(memory=NullMemory())
GENERAL_READER = Reader(fast=False)  # not "memory disabled": no fast reader at all (for comparison)


def _ours_realistic(parse_each: bool, reader: Reader | None = None) -> Callable[[list[bytes], bytes], int]:
    """checkpoint_stream on the realistic corpus: the facts, and the domain's text (``xml``: what
    the tree builders' ``tostring`` of the domain gives them)."""

    def run(docs: list[bytes], stream: bytes) -> int:
        n = 0
        records: Any = (cs.parse(d, reader=reader) for d in docs) if parse_each else cs.iterparse(stream, reader=reader)
        for r in records:
            (r.name, r.description, r.parent, r.creation_time, r.disks, r.domain.xml if r.domain is not None else None)
            n += 1
        return n

    return run


def _tree_runner_tostring(
    fromstring: Callable[[bytes], Any], tostring: Callable[[Any], Any]
) -> Callable[[list[bytes], bytes], int]:
    """A tree builder on the realistic corpus: the same facts, and the domain serialised back."""

    def run(docs: list[bytes], stream: bytes) -> int:
        for d in docs:
            facts = _tree_facts(fromstring(d))
            if facts[5] is not None:
                tostring(facts[5])
        return len(docs)

    return run


def _twice(
    prepare: Callable[[], Any], run: Callable[[list[bytes], bytes], int], docs: list[bytes], stream: bytes
) -> Callable[[], Any]:
    """Warm: the memory forgotten, then a first pass (untimed): the timed run is the second pass."""

    def warm() -> None:
        prepare()
        run(docs, stream)

    return warm


def realistic_contestants(
    docs: list[bytes], stream: bytes
) -> tuple[dict[str, Callable[[], int]], dict[str, Callable[[], Any]], list[str]]:
    """(timed functions, untimed preparations run before each timing, notes) for one realistic
    shape. First sight: the default reader's memory forgotten before every round (untimed);
    warm: forgotten, then one untimed pass over the same documents; memory disabled: the fast
    reader with a :class:`NullMemory`."""
    import xml.etree.ElementTree as ET

    iterparse = _ours_realistic(False)
    each = _ours_realistic(True)
    no_memory = _ours_realistic(False, NO_MEMORY_READER)
    general = _ours_realistic(False, GENERAL_READER)
    funcs: dict[str, Callable[[], int]] = {
        "pyexpat (no callbacks)": lambda: run_pyexpat(docs, stream),
        "ours iterparse, first sight": lambda: iterparse(docs, stream),
        "ours parse each, first sight": lambda: each(docs, stream),
        "ours iterparse, warm": lambda: iterparse(docs, stream),
        "ours iterparse, third pass": lambda: iterparse(docs, stream),
        "ours iterparse, memory disabled": lambda: no_memory(docs, stream),
        "ours iterparse, general reader alone": lambda: general(docs, stream),
    }
    prepare: dict[str, Callable[[], Any]] = {
        "ours iterparse, first sight": forget,
        "ours parse each, first sight": forget,
        "ours iterparse, warm": _twice(forget, iterparse, docs, stream),
        "ours iterparse, third pass": _twice(_twice(forget, iterparse, docs, stream), iterparse, docs, stream),
        "ours iterparse, memory disabled": forget,  # the default reader's memory: not used here
    }
    notes = []
    try:
        import lxml.etree as LET

        parser = LET.XMLParser(resolve_entities=False, no_network=True)
        lxml_fromstring = lambda d: LET.fromstring(d, parser)  # noqa: E731
        run_lxml = _tree_runner_tostring(lxml_fromstring, LET.tostring)
        run_lxml_tree = _tree_runner(lxml_fromstring)
        funcs["lxml (+ tostring of the domain)"] = lambda: run_lxml(docs, stream)
        funcs["lxml (tree only)"] = lambda: run_lxml_tree(docs, stream)
    except ImportError:
        notes.append("lxml is not installed: skipped")
    run_et = _tree_runner_tostring(ET.fromstring, ET.tostring)
    funcs["ElementTree (+ tostring of the domain)"] = lambda: run_et(docs, stream)
    x = run_xmltodict_factory()
    if isinstance(x, str):
        notes.append(x + ": skipped")
    else:
        run_x = x
        funcs["xmltodict (domain as a dict)"] = lambda: run_x(docs, stream)
    return funcs, prepare, notes


def bench_realistic(rounds: int, shapes: list[str]) -> None:
    for shape, (layout, chain) in REALISTIC.items():
        if shape not in shapes:
            continue
        docs = corpus.realistic_documents(layout, chain)
        if not docs:
            print(f"\nnote: {corpus.REALISTIC_DIR} is missing: {shape} skipped")
            continue
        stream = b"".join(docs)
        count = len(docs)
        funcs, prepare, notes = realistic_contestants(docs, stream)
        for note in notes:
            print(f"note: {note}")
        for name, f in funcs.items():  # warm up, and check every contestant saw every document
            prepare.get(name, lambda: None)()
            assert f() == count, name
        res, times = measure(funcs, rounds, "pyexpat (no callbacks)", prepare, with_times=True)
        size = len(stream)
        files = len(corpus.realistic_files())
        print(
            f"\n== {shape}: {count} documents ({count // chain} of {files} domain files, layout {layout!r}"
            + (f", each VM's domain in {chain} consecutive checkpoints" if chain > 1 else "")
            + f"), {size / 1e6:.2f} MB ({size / count:.0f} B/doc), {rounds} rounds"
        )
        print(f"{'contestant':40} {'MB/s':>8} {'us/doc':>8} {'x pyexpat':>10} {'spread':>15} {'ours/this':>10}")
        lxml = "lxml (+ tostring of the domain)"
        for n, v in res.items():
            vs = ""
            if lxml in times and n.startswith("ours"):
                per = [tl / t for tl, t in zip(times[lxml], times[n])]
                vs = f"  x lxml {statistics.median(per):.3f} [{min(per):.3f}-{max(per):.3f}]"
            rate = f"{size / v['time'] / 1e6:8.1f} {v['time'] / count * 1e6:8.1f}"
            print(f"{n:40} {rate} {v['ratio']:10.3f}   [{v['lo']:.3f}-{v['hi']:.3f}]{vs}")


FRESH_CHILD = r"""
import json, sys, time
sys.path.insert(0, {root!r})
from xml.parsers.expat import ParserCreate
import lxml.etree as LET
import checkpoint_stream as cs
data = open({path!r}, "rb").read()
sizes = json.loads(open({path!r} + ".json").read())
docs, at = [], 0
for n in sizes:
    docs.append(data[at : at + n]); at += n
parser = LET.XMLParser(resolve_entities=False, no_network=True)

def facts(root):
    return (root.findtext("name"), root.findtext("description"), root.findtext("parent/name"), root.findtext("creationTime"),
            [(d.get("name"), d.get("checkpoint"), d.get("bitmap"), d.get("size")) for d in root.iterfind("disks/disk")],
            root.find("domain"))

def pyexpat():
    for d in docs:
        ParserCreate().Parse(d, True)

def lxml():
    for d in docs:
        dom = facts(LET.fromstring(d, parser))[5]
        if dom is not None:
            LET.tostring(dom)

def ours():
    for r in cs.iterparse(data):
        (r.name, r.description, r.parent, r.creation_time, r.disks, r.domain.xml if r.domain is not None else None)

out = {{}}
for name in {order!r}:
    for label in ([name] if name != "ours" else ["first", "warm", "third"]):  # warm: a second pass, same process
        t0 = time.perf_counter(); globals()[name](); out[label] = time.perf_counter() - t0
print(json.dumps(out))
"""


FRESH_LABELS = {
    "first": "ours iterparse, first sight",
    "warm": "ours iterparse, warm (2nd pass)",
    "third": "ours iterparse, 3rd pass",
    "lxml": "lxml (+ tostring)",
}


def bench_fresh(rounds: int, shapes: list[str]) -> None:
    """Each round a fresh interpreter: bare pyexpat, lxml (+ tostring of the domain) and
    checkpoint_stream's iterparse (its first pass in the process, then a second one: warm), in a
    rotated order; the ratios taken per round, the median reported with the min-max spread."""
    import json
    import tempfile

    for shape, (layout, chain) in REALISTIC.items():
        if shape not in shapes:
            continue
        docs = corpus.realistic_documents(layout, chain)
        if not docs:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "docs.xml")
            with open(path, "wb") as fh:
                fh.write(b"".join(docs))
            with open(path + ".json", "w") as fh:
                json.dump([len(d) for d in docs], fh)
            names = ["pyexpat", "ours", "lxml"]
            times: dict[str, list[float]] = {}
            for r in range(rounds):
                order = names[r % 3 :] + names[: r % 3]
                code = FRESH_CHILD.format(root=str(HERE.parent), path=path, order=order)
                done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
                for k, v in json.loads(done.stdout).items():
                    times.setdefault(k, []).append(v)
        print(f"\n== {shape}, a fresh interpreter per round: {len(docs)} documents, {rounds} rounds")
        for label in ("first", "warm", "third", "lxml"):
            to_expat = [b / t for b, t in zip(times["pyexpat"], times[label])]
            line = f"{FRESH_LABELS[label]:36}"
            line += f" x pyexpat {statistics.median(to_expat):.3f} [{min(to_expat):.3f}-{max(to_expat):.3f}]"
            if label != "lxml":
                to_lxml = [b / t for b, t in zip(times["lxml"], times[label])]
                line += f"   x lxml {statistics.median(to_lxml):.3f} [{min(to_lxml):.3f}-{max(to_lxml):.3f}]"
            print(line)


BASELINE: Any = None  # another checkout's checkpoint_stream (--against), measured in the same rounds


def load_baseline(tree: str) -> Any:
    """The package of another checkout, imported under a name of its own (its imports are all
    relative), so that it runs in the same rounds as this one: an A/B that the machine's drift
    cannot skew."""
    import importlib.util

    pkg = os.path.join(tree, "checkpoint_stream")
    spec = importlib.util.spec_from_file_location("baseline_checkpoint_stream", os.path.join(pkg, "__init__.py"), submodule_search_locations=[pkg])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _baseline_forget() -> None:
    import importlib

    for name, attr in (("readers", "DEFAULT_READER"), ("fastpath", None)):
        try:
            sub = importlib.import_module(f"baseline_checkpoint_stream.{name}")
        except ImportError:
            continue
        (getattr(sub, attr).forget if attr else sub.forget)()
        return


def run_baseline(docs: list[bytes], stream: bytes) -> int:
    _baseline_forget()
    n = 0
    for r in BASELINE.iterparse(stream):
        (r.name, r.description, r.parent, r.creation_time, r.disks, r.domain)
        n += 1
    return n


def run_baseline_parse(docs: list[bytes], stream: bytes) -> int:
    _baseline_forget()
    parse = BASELINE.parse
    for d in docs:
        r = parse(d)
        (r.name, r.description, r.parent, r.creation_time, r.disks, r.domain)
    return len(docs)


def contestants() -> tuple[dict[str, Callable[[list[bytes], bytes], int]], list[str]]:
    found: dict[str, Callable[[list[bytes], bytes], int]] = {
        "pyexpat (no callbacks)": run_pyexpat,
        "checkpoint_stream.iterparse": run_checkpoint_stream,
        "checkpoint_stream.parse (each)": run_checkpoint_stream_parse,
    }
    if BASELINE is not None:
        found["baseline.iterparse"] = run_baseline
        found["baseline.parse (each)"] = run_baseline_parse
    notes = []
    import xml.etree.ElementTree as ET

    found["xml.etree.ElementTree"] = _tree_runner(ET.fromstring)
    try:
        import defusedxml.ElementTree as DET

        found["defusedxml.ElementTree"] = _tree_runner(DET.fromstring)
    except ImportError:
        notes.append("defusedxml is not installed: skipped")
    try:
        import lxml.etree as LET

        parser = LET.XMLParser(resolve_entities=False, no_network=True)
        found["lxml.etree"] = _tree_runner(lambda d: LET.fromstring(d, parser))
    except ImportError:
        notes.append("lxml is not installed: skipped")
    x = run_xmltodict_factory()
    if isinstance(x, str):
        notes.append(x + ": skipped")
    else:
        found["xmltodict"] = x
    return found, notes


# -- measuring ----------------------------------------------------------------------------------------


def measure(
    funcs: dict[str, Callable[[], Any]],
    rounds: int,
    base: str,
    prepare: dict[str, Callable[[], Any]] | None = None,
    with_times: bool = False,
) -> Any:
    """Interleaved rounds. ``prepare``: by contestant, an untimed step run just before each of its
    timings (forgetting the memory, a first pass). ``with_times``: also return the times."""
    names = list(funcs)
    prepare = prepare or {}
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]  # rotate who runs first
        for n in order:
            if n in prepare:
                prepare[n]()
            gc.collect()
            t0 = time.perf_counter()
            funcs[n]()
            times[n].append(time.perf_counter() - t0)
    out = {}
    for n in names:
        ratios = [b / t for b, t in zip(times[base], times[n])]
        out[n] = {
            "time": statistics.median(times[n]),
            "ratio": statistics.median(ratios),
            "lo": min(ratios),
            "hi": max(ratios),
        }
    return (out, times) if with_times else out


def bench_parsers(rounds: int, shapes: list[str]) -> None:
    funcs, notes = contestants()
    for note in notes:
        print(f"note: {note}")
    for shape, count in COUNTS.items():
        if shape not in shapes:
            continue
        docs = corpus.documents(shape, count)
        stream = b"".join(docs)
        docs = [d.rstrip() for d in docs]
        for name, f in funcs.items():  # warm up, and check every contestant saw every document
            assert f(docs, stream) == count, name
        reps = rounds if shape != "disks20k" else rounds * 3
        res = measure({n: (lambda f=f: f(docs, stream)) for n, f in funcs.items()}, reps, "pyexpat (no callbacks)")
        size = len(stream)
        print(f"\n== {shape}: {count} documents, {size / 1e6:.2f} MB ({size / count:.0f} B/doc), {reps} rounds")
        print(f"{'contestant':32} {'MB/s':>8} {'docs/s':>10} {'x pyexpat':>10} {'spread':>15}")
        best_peer = max(
            v["ratio"] for n, v in res.items() if n != "pyexpat (no callbacks)" and not n.startswith(("checkpoint_stream", "baseline"))
        )
        for n, v in res.items():
            print(f"{n:32} {size / v['time'] / 1e6:8.1f} {count / v['time']:10.0f} {v['ratio']:10.3f}   [{v['lo']:.3f}-{v['hi']:.3f}]")
        ours = res["checkpoint_stream.iterparse"]["ratio"]
        each = res["checkpoint_stream.parse (each)"]["ratio"]
        print(f"checkpoint_stream / best peer: {ours / best_peer:.2f}x (iterparse over the stream), {each / best_peer:.2f}x (parse per document)")
        if BASELINE is not None:
            print(
                f"checkpoint_stream / baseline: {ours / res['baseline.iterparse']['ratio']:.3f}x (iterparse), "
                f"{each / res['baseline.parse (each)']['ratio']:.3f}x (parse each)"
            )


# -- snapshots (issue #14) ------------------------------------------------------------------------

SNAPSHOT_READER = cs.readers.reader_for("snapshot")


def _snapshot_tree_facts(root: Any) -> tuple:
    memory = root.find("memory")
    disks = [
        (d.get("name"), d.get("snapshot"), d.get("type"), d.find("source").get("file") if d.find("source") is not None else None,
         d.find("driver").get("type") if d.find("driver") is not None else None)
        for d in root.iterfind("disks/disk")
    ]
    return (
        root.findtext("name"), root.findtext("description"), root.findtext("state"), root.findtext("parent/name"),
        root.findtext("creationTime"), None if memory is None else (memory.get("snapshot"), memory.get("file")), disks,
        root.find("domain"),
    )


def _snapshot_tree_runner(fromstring: Callable[[bytes], Any], tostring: Callable[[Any], Any] | None) -> Callable[[list[bytes], bytes], int]:
    def run(docs: list[bytes], stream: bytes) -> int:
        for d in docs:
            facts = _snapshot_tree_facts(fromstring(d))
            if tostring is not None and facts[7] is not None:
                tostring(facts[7])
        return len(docs)

    return run


def _ours_snapshots(parse_each: bool) -> Callable[[list[bytes], bytes], int]:
    def run(docs: list[bytes], stream: bytes) -> int:
        n = 0
        records: Any = (cs.parse(d, kinds="snapshot") for d in docs) if parse_each else cs.iterparse(stream, kinds="snapshot")
        for r in records:
            (r.name, r.description, r.state, r.parent, r.creation_time, r.memory, r.memory_file, r.disks,
             r.domain.xml if r.domain is not None else None)
            n += 1
        return n

    return run


def bench_snapshots(rounds: int, shapes: list[str]) -> None:
    """Snapshots (<domainsnapshot>): the same facts from every contestant (name, description,
    state, parent, creationTime, memory, disks with their mode, type, file and format, the domain
    as text), first sight for checkpoint_stream (its memory forgotten before every round) and a
    second pass; ratios to bare pyexpat per round, and to the best peer."""
    import xml.etree.ElementTree as ET

    forget_snapshots = SNAPSHOT_READER.forget
    for shape in corpus.SNAPSHOT_SHAPES:
        if shape not in shapes:
            continue
        docs = corpus.snapshot_documents(shape)
        if not docs:
            print(f"\n== {shape}: no documents (benchmarks/realistic missing?)")
            continue
        stream = b"".join(docs)
        docs = [d.rstrip() for d in docs]
        iterparse, each = _ours_snapshots(False), _ours_snapshots(True)
        funcs: dict[str, Callable[[], int]] = {
            "pyexpat (no callbacks)": lambda: run_pyexpat(docs, stream),
            "ours iterparse, first sight": lambda: iterparse(docs, stream),
            "ours parse each, first sight": lambda: each(docs, stream),
            "ours iterparse, second pass": lambda: iterparse(docs, stream),
        }
        prepare: dict[str, Callable[[], Any]] = {
            "ours iterparse, first sight": forget_snapshots,
            "ours parse each, first sight": forget_snapshots,
            "ours iterparse, second pass": _twice(forget_snapshots, iterparse, docs, stream),
        }
        peers = []
        try:
            import lxml.etree as LET

            parser = LET.XMLParser(resolve_entities=False, no_network=True)
            run_lxml = _snapshot_tree_runner(lambda d: LET.fromstring(d, parser), LET.tostring)
            funcs["lxml (+ tostring of the domain)"] = lambda: run_lxml(docs, stream)
            peers.append("lxml (+ tostring of the domain)")
        except ImportError:
            print("note: lxml is not installed: skipped")
        run_et = _snapshot_tree_runner(ET.fromstring, ET.tostring)
        funcs["ElementTree (+ tostring of the domain)"] = lambda: run_et(docs, stream)
        peers.append("ElementTree (+ tostring of the domain)")
        for name, f in funcs.items():
            assert f() == len(docs), name
        res = measure(funcs, rounds, "pyexpat (no callbacks)", prepare)
        size = len(stream)
        print(f"\n== {shape}: {len(docs)} documents, {size / 1e6:.2f} MB ({size / len(docs):.0f} B/doc), {rounds} rounds")
        print(f"{'contestant':40} {'MB/s':>8} {'docs/s':>10} {'x pyexpat':>10} {'spread':>15}")
        for n, v in res.items():
            print(f"{n:40} {size / v['time'] / 1e6:8.1f} {len(docs) / v['time']:10.0f} {v['ratio']:10.3f}   [{v['lo']:.3f}-{v['hi']:.3f}]")
        best = max(res[p]["ratio"] for p in peers)
        for n in ("ours iterparse, first sight", "ours parse each, first sight", "ours iterparse, second pass"):
            print(f"{n} / best peer: {res[n]['ratio'] / best:.2f}x")


def bench_writer(rounds: int, shapes: list[str]) -> None:
    try:
        from checkpoint_stream.writer import dumps
    except ImportError:
        print("\nnote: checkpoint_stream.writer.dumps not available: writer benchmark skipped")
        return
    import xml.etree.ElementTree as ET

    funcs: dict[str, Callable[[], Any]] = {}
    for shape, count in COUNTS.items():
        if shape not in shapes:
            continue
        stream = corpus.stream(shape, count)
        records = list(cs.iterparse(stream))
        trees = [ET.fromstring(d) for d in corpus.documents(shape, count)]
        funcs = {"checkpoint_stream.writer.dumps": lambda: [dumps(r, secure=True) for r in records]}
        if BASELINE is not None:
            import importlib

            base_dumps = importlib.import_module("baseline_checkpoint_stream.writer").dumps
            base_records = list(BASELINE.iterparse(stream))
            funcs["baseline.writer.dumps"] = lambda: [base_dumps(r, secure=True) for r in base_records]
        funcs["ElementTree.tostring"] = lambda: [ET.tostring(t) for t in trees]
        try:
            import lxml.etree as LET

            ltrees = [LET.fromstring(d) for d in corpus.documents(shape, count)]
            funcs["lxml.etree.tostring"] = lambda: [LET.tostring(t) for t in ltrees]
        except ImportError:
            print("note: lxml is not installed: skipped")
        for f in funcs.values():  # warm up, as the parsers are (the first large allocation after the
            f()  # previous shape's objects were freed can cost one contestant tens of milliseconds)
        reps = rounds if shape != "disks20k" else rounds * 3
        res = measure(funcs, reps, "checkpoint_stream.writer.dumps")
        size = len(stream)
        print(f"\n== writer, {shape}: {count} records, {size / 1e6:.2f} MB of XML, {reps} rounds")
        print(f"{'writer':32} {'MB/s':>8} {'docs/s':>10} {'dumps/this':>10} {'spread':>15}")
        for n, v in res.items():
            print(f"{n:32} {size / v['time'] / 1e6:8.1f} {count / v['time']:10.0f} {1 / v['ratio']:10.3f}   [{1 / v['hi']:.3f}-{1 / v['lo']:.3f}]")


RSS_CHILD = r"""
import resource, sys, time
sys.path.insert(0, {here!r}); sys.path.insert(0, {root!r})
import corpus, checkpoint_stream as cs
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
total = int({gb} * 1e9)
t0 = time.perf_counter()
n = sum(1 for _ in cs.iterparse(corpus.endless(total)))
dt = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(n, before, peak, dt, hwm)
"""


def bench_rss(gb: float) -> None:
    if gb <= 0:
        return
    code = RSS_CHILD.format(here=str(HERE), root=str(HERE.parent), gb=gb)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    n, before, peak, dt, hwm = int(out[0]), int(out[1]), int(out[2]), float(out[3]), int(out[4])
    size = gb * 1e9
    print(f"\n== peak RSS: {gb:g} GB stream generated on the fly (full-domain documents), {n} records in {dt:.1f} s "
          f"({size / dt / 1e6:.1f} MB/s)")
    # ru_maxrss survives exec (Linux keeps the larger of the parent's high-water mark at fork
    # and the child's), which is why this runs first, while the parent is small; VmHWM is the
    # child's own address space only.
    print(f"peak RSS (getrusage ru_maxrss) {peak / 1024:.1f} MB, VmHWM {hwm / 1024:.1f} MB "
          f"(interpreter and imports before parsing: {before / 1024:.1f} MB); "
          f"target < 64 MB: {'met' if max(peak, hwm) / 1024 < 64 else 'NOT met'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--rss-gb", type=float, default=1.0, help="size of the peak-RSS stream in GB (0: skip)")
    ap.add_argument("--only", choices=("parse", "write", "rss"), default=None)
    ap.add_argument(
        "--shapes",
        default=",".join([*REALISTIC, *COUNTS, *corpus.SNAPSHOT_SHAPES]),
        help=f"comma-separated subset of {','.join([*REALISTIC, *COUNTS, *corpus.SNAPSHOT_SHAPES])} (the realistic ones: checkpoints around "
        "libvirt's own test domains, benchmarks/realistic, in several layouts; first sight, warm, memory disabled)",
    )
    ap.add_argument("--fresh", action="store_true", help="also the realistic shapes with a fresh interpreter per round (pyexpat, lxml, ours first sight and warm)")
    ap.add_argument("--against", metavar="DIR", help="another checkout (git worktree) whose checkpoint_stream runs in the same rounds")
    args = ap.parse_args()
    if args.against:
        global BASELINE
        BASELINE = load_baseline(args.against)
    import lxml.etree as LET  # noqa: F401  (version line only; absent lxml is handled above)
    from importlib.metadata import version
    from xml.parsers.expat import EXPAT_VERSION

    def v(name: str) -> str:
        try:
            return version(name)
        except Exception:
            return "absent"

    print(f"{platform.python_implementation()} {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, "
          f"{EXPAT_VERSION}; lxml {v('lxml')}, defusedxml {v('defusedxml')}, xmltodict {v('xmltodict')}")
    if args.only in (None, "rss"):
        bench_rss(args.rss_gb)  # first: the parent is still small (see bench_rss)
    if args.only in (None, "parse"):
        bench_realistic(args.rounds, args.shapes.split(","))
        if args.fresh:
            bench_fresh(args.rounds, args.shapes.split(","))
        bench_parsers(args.rounds, args.shapes.split(","))
        bench_snapshots(args.rounds, args.shapes.split(","))
    if args.only in (None, "write"):
        bench_writer(args.rounds, args.shapes.split(","))


if __name__ == "__main__":
    main()
