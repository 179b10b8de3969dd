"""checkpoint_stream.dask: the same records, errors, indices, frames and chains as the sequential
path, on a real multi-process cluster (distributed.LocalCluster, 2 workers), with byte-range
partitions, and through a worker killed mid-run."""

from __future__ import annotations

import gzip
import io
import os
import random
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import checkpoint_stream as cs
from checkpoint_stream.scaleout import ranges

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_util import run  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
_REASON = "checkpoint_stream.dask needs the [dask] extra: pip install 'checkpoint-stream[dask]'"


def test_importing_the_package_never_imports_dask() -> None:
    code = "import sys, checkpoint_stream, checkpoint_stream.scaleout.ranges, checkpoint_stream.scaleout.grouping; " \
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed', 'pandas', 'fsspec')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# -- comparing items -------------------------------------------------------------------------------


def key(item: Any) -> tuple[Any, ...]:
    """Everything an item says: a record by value and its origin; an error by class, message and
    every position."""
    if isinstance(item, cs.Checkpoint):
        o = item.origin
        return ("record", item, o.path, o.member, o.index, o.offset, o.end)
    if isinstance(item, cs.CheckpointError):
        return (
            type(item).__name__, item.message, item.document, item.line, item.column, item.offset, item.source,
            item.member, item.path, getattr(item, "source_line", None), getattr(item, "source_column", None),
        )
    return (type(item).__name__, str(item))


def sequential(source: Any, **kwargs: Any) -> list[Any]:
    return list(cs.iter_sources([source] if not isinstance(source, list) else source, on_error="skip", **kwargs))


# -- streams with everything between and inside documents ---------------------------------------

GOOD = [
    b"<?xml version='1.0' encoding='UTF-8'?>\n<domaincheckpoint>\n  <name>a1</name>\n  <creationTime>5</creationTime>\n</domaincheckpoint>\n",
    b"<domaincheckpoint><name>b2</name><description>caf\xc3\xa9 \xe2\x82\xac</description><disks><disk name='vda'/></disks></domaincheckpoint>",
    b"<domaincheckpoint>\r\n  <name>c3</name>\r\n  <parent><name>a1</name></parent>\r\n</domaincheckpoint>",
    b"<domaincheckpoint><name>d4</name><description>&lt;domaincheckpoint&gt; in text</description></domaincheckpoint>",
]
BROKEN = [
    b"<domaincheckpoint><name>x</name><bogus/></domaincheckpoint>",  # schema
    b"<domaincheckpoint><name>y</name></domaincheckpint>",  # mismatched tag
    b"<domaincheckpoint><name>z</name><description>cut",  # truncated (resynchronises at the next start)
    b"<?xml version='2.0'?><domaincheckpoint><name>v</name></domaincheckpoint>",  # bad version
    b"<domaincheckpoint><name>\xff</name></domaincheckpoint>",  # not UTF-8
    b"<domaincheckpoint><!-- <domaincheckpoint><name>in</name></domaincheckpoint> --><name>w</name></domaincheckpoint>",
]
BETWEEN = [b"", b"\n", b"\r\n", b"  \n", b"<!-- note -->\n", b"junk line \xc3\xa9\n", b"</stray>", b"\x00\x01", b"<?pi x?>", b"\r"]


@st.composite
def streams(draw: Any) -> bytes:
    parts = draw(st.lists(st.tuples(st.sampled_from(BETWEEN), st.sampled_from(GOOD + BROKEN)), max_size=8))
    tail = draw(st.sampled_from(BETWEEN + [b"<domaincheckpoint><name>end"]))
    return b"".join(a + b for a, b in parts) + tail


def range_items(path: str, blocksize: int, **kwargs: Any) -> list[list[Any]]:
    return ranges.sequential_ranges(lambda: open(path, "rb"), path, blocksize, kwargs)


#: Examples of the byte-range property test: 150 by default (about 2 s), FUZZ_EXAMPLES=2000 for a
#: longer hunt (the fuzz tests read the same variable).
RANGE_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", os.environ.get("DASK_RANGE_EXAMPLES", "150")))


@settings(max_examples=RANGE_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=streams(), cut=st.integers(min_value=1, max_value=1 << 20), tiny=st.booleans())
def test_byte_ranges_equal_the_sequential_parse(tmp_path: Path, data: bytes, cut: int, tiny: bool) -> None:
    path = tmp_path / "stream.log"
    path.write_bytes(data)
    blocksize = 1 + cut % (len(data) + 8) if not tiny else 1 + cut % 7
    parts = range_items(str(path), blocksize)
    assert len(parts) == len(ranges.boundaries(len(data), blocksize)) - 1
    assert [key(i) for p in parts for i in p] == [key(i) for i in sequential(str(path))]
    # each item in the range where it starts
    bounds = ranges.boundaries(len(data), blocksize)
    for j, part in enumerate(parts):
        for item in part:
            assert bounds[j] <= ranges.item_key(item) < max(bounds[j + 1], bounds[j] + 1) or j == len(parts) - 1


def test_byte_ranges_in_redefine_mode_and_every_small_block(tmp_path: Path) -> None:
    data = b"".join(GOOD + BROKEN[:2] + [b"junk\n"] + GOOD)
    path = tmp_path / "s.log"
    path.write_bytes(data)
    want = [key(i) for i in sequential(str(path), redefine=True, require_domain=False)]
    for blocksize in list(range(1, 40)) + [97, 256, len(data) - 1, len(data)]:
        got = [key(i) for p in range_items(str(path), blocksize, redefine=True, require_domain=False) for i in p]
        assert got == want, blocksize


def test_a_long_broken_stretch_is_repaired(tmp_path: Path) -> None:
    """Ranges inside a run of broken documents agree with nothing: the plan parses on itself."""
    data = GOOD[0] + b"".join(BROKEN[:2] * 40) + b"garbage " * 50 + GOOD[1] + GOOD[2]
    path = tmp_path / "s.log"
    path.write_bytes(data)
    want = [key(i) for i in sequential(str(path))]
    for blocksize in (3, 50, 333):
        assert [key(i) for p in range_items(str(path), blocksize) for i in p] == want


# -- a generated sharded archive -------------------------------------------------------------------


def _doc(name: str, parent: str | None, uuid: str, vm: str, t: int) -> bytes:
    p = f"  <parent>\n    <name>{parent}</name>\n  </parent>\n" if parent else ""
    return (
        f"<domaincheckpoint>\n  <name>{name}</name>\n{p}  <creationTime>{t}</creationTime>\n  <disks>\n"
        f"    <disk name='vda' checkpoint='bitmap' bitmap='{name}'/>\n  </disks>\n  <domain type='kvm'>\n"
        f"    <name>{vm}</name>\n    <uuid>{uuid}</uuid>\n    <memory unit='KiB'>1048576</memory>\n    <os>\n"
        f"      <type arch='x86_64' machine='pc'>hvm</type>\n    </os>\n    <devices>\n      <disk type='file' device='disk'>\n"
        f"        <source file='/var/lib/libvirt/images/{vm}.qcow2'/>\n        <target dev='vda' bus='virtio'/>\n"
        f"      </disk>\n    </devices>\n  </domain>\n</domaincheckpoint>\n"
    ).encode()


def make_archive(top: Path, shards: int = 100, per_shard: int = 6, seed: int = 7) -> list[str]:
    """``shards`` files: gzip'd and plain concatenated streams in a folder tree, and tarballs of
    one document per member beside it (a folder walk takes ``*.xml[.gz]`` only: tarballs are
    named as inputs of their own), VMs spread across shards (so each VM's chain is split over
    partitions), some documents broken or cut short, some garbage, documents without a domain,
    an empty file. Returns the inputs: the folder, then the tarballs."""
    rng = random.Random(seed)
    top.mkdir(parents=True, exist_ok=True)
    tars = top.parent / "tars"
    tars.mkdir(exist_ok=True)
    vms = [(f"{i:08x}-0000-4000-8000-{i:012x}", f"vm{i}") for i in range(12)]
    counters = {uuid: 0 for uuid, _ in vms}
    for s in range(shards):
        docs = []
        for _ in range(per_shard):
            uuid, vm = rng.choice(vms)
            n = counters[uuid]
            counters[uuid] += 1
            parent = f"{vm}.{n - 1}" if n else None
            doc = _doc(f"{vm}.{n}", parent, uuid if rng.random() > 0.05 else uuid.upper(), vm, 1700000000 + n * 60)
            r = rng.random()
            if r < 0.06:
                doc = doc.replace(b"<creationTime>", b"<creationTim>", 1)  # broken: not well-formed
            elif r < 0.1:
                doc = doc[: len(doc) // 2]  # cut short
            elif r < 0.13:
                doc = b"log line between documents\n" + doc
            docs.append(doc)
        if s % 3 == 0:
            with tarfile.open(tars / f"shard-{s:03d}.tar.gz", "w:gz") as tf:
                for i, doc in enumerate(docs):
                    info = tarfile.TarInfo(f"vm/{s}/{i}.xml")
                    info.size = len(doc)
                    tf.addfile(info, io.BytesIO(doc))
        elif s % 3 == 1:
            (top / f"shard-{s:03d}.xml.gz").write_bytes(gzip.compress(b"".join(docs)))
        else:
            sub = top / f"d{s % 5}"
            sub.mkdir(exist_ok=True)
            (sub / f"shard-{s:03d}.xml").write_bytes(b"".join(docs))
    (top / "empty.xml").write_bytes(b"")
    # Documents without a domain in one folder, one naming a parent that only a VM has.
    nodom = top / "nodomain"
    nodom.mkdir(exist_ok=True)
    (nodom / "a.xml").write_bytes(b"<domaincheckpoint><name>x.0</name><creationTime>1</creationTime></domaincheckpoint>")
    (nodom / "b.xml").write_bytes(b"<domaincheckpoint><name>x.1</name><parent><name>vm3.0</name></parent><creationTime>2</creationTime></domaincheckpoint>")
    (nodom / "c.xml").write_bytes(b"<domaincheckpoint><name>bad</name><creationTime>x</creationTime></domaincheckpoint>")
    return [str(top)] + sorted(str(p) for p in tars.glob("*.tar.gz"))


# -- on a cluster ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    pytest.importorskip("dask", reason=_REASON)
    pytest.importorskip("pandas", reason=_REASON)
    distributed = pytest.importorskip("distributed", reason=_REASON)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with distributed.Client(cluster) as c:
            yield c


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return make_archive(tmp_path_factory.mktemp("fleet") / "archive")


def dask_module() -> Any:
    return pytest.importorskip("checkpoint_stream.dask", reason=_REASON)


@pytest.mark.parametrize("source", ["vm1/checkpoints", "archive", "vm1-checkpoints.tar.gz", "checkpoints.log", ""])
def test_examples_equal_the_sequential_parse(client: Any, source: str) -> None:
    cd = dask_module()
    path = str(EXAMPLES / source) if source else str(EXAMPLES)
    bag = cd.read_checkpoints(path)
    assert [key(i) for i in bag.compute()] == [key(i) for i in sequential(path)]
    assert [c.to_dict() for c in cd.chains(path)] == [c.to_dict() for c in cs.chains(path)]
    for group_by in ("folder", "none"):
        assert [c.to_dict() for c in cd.chains(path, group_by=group_by)] == [c.to_dict() for c in cs.chains(path, group_by=group_by)]


def test_sharded_archive_items_frames_and_chains(client: Any, archive: list[str]) -> None:
    cd = dask_module()
    want = sequential(archive)
    assert any(isinstance(i, cs.CheckpointError) for i in want) and len(want) > 300
    bag = cd.read_checkpoints(archive)
    assert bag.npartitions >= 100
    assert [key(i) for i in bag.compute()] == [key(i) for i in want]
    # a glob and a list of paths read the same files
    top = Path(archive[0])
    files = sorted(str(p) for p in top.glob("shard-*.gz"))
    assert len(files) > 20
    assert [key(i) for i in cd.read_checkpoints(str(top / "shard-*.gz")).compute()] == [key(i) for i in sequential(files)]
    # chains: shuffled by VM, analysed where they land, the same as one process
    mine = cd.chains(archive)
    theirs = cs.chains(archive)
    assert [c.to_dict() for c in mine] == [c.to_dict() for c in theirs]
    assert [[p.format() for p in c.problems] for c in mine] == [[p.format() for p in c.problems] for c in theirs]
    assert [c.location(n) for c in mine for n in c.order] == [c.location(n) for c in theirs for n in c.order]
    assert any(p.kind == "invalid" for c in mine for p in c.problems)
    # the frame: one row per item, one per disk
    df = cd.to_dataframe(archive).compute()
    records = [i for i in want if isinstance(i, cs.Checkpoint)]
    assert len(df) == len(want)
    assert (df["kind"] == "checkpoint").sum() == len(records)
    assert list(df[df["kind"] == "checkpoint"]["name"]) == [r.name for r in records]
    assert set(df[df["kind"] != "checkpoint"]["kind"]) <= {"NotWellFormedError", "SchemaError", "SemanticError", "SourceError"}
    assert int(df["disks"].sum()) == sum(len(r.disks) for r in records)
    disks = cd.to_dataframe(archive, per_disk=True).compute()
    assert len(disks) == sum(len(r.disks) for r in records)
    assert str(df["creationTime"].dtype) == "Int64" and str(df["vm"].dtype).startswith("string")


def test_byte_range_partitions_on_the_cluster(client: Any, tmp_path: Path) -> None:
    cd = dask_module()
    rng = random.Random(3)
    pieces = [rng.choice(GOOD + BROKEN[:2] + BROKEN[3:]) + rng.choice(BETWEEN) for _ in range(3000)]
    path = tmp_path / "big.log"
    path.write_bytes(b"".join(pieces))
    want = [key(i) for i in sequential(str(path))]
    for blocksize in (4096, 65537, 1 << 20):
        bag = cd.read_checkpoints(str(path), blocksize=blocksize)
        assert bag.npartitions == len(ranges.boundaries(path.stat().st_size, blocksize)) - 1
        assert [key(i) for i in bag.compute()] == want
    got = list(cd.run_partitions(str(path), blocksize=10000))
    assert [key(i) for i in got] == want
    df = cd.to_dataframe(str(path), blocksize=50000).compute()
    assert list(df["document"]) == list(range(len(want)))


def test_errors_are_data_and_raise_mode_fails_the_task(client: Any, tmp_path: Path) -> None:
    cd = dask_module()
    missing = str(tmp_path / "missing.xml")
    items = cd.read_checkpoints([str(EXAMPLES / "checkpoints.log"), missing]).compute()
    assert isinstance(items[-1], cs.SourceError) and items[-1].path == missing
    bad = tmp_path / "bad.xml"
    bad.write_bytes(BROKEN[0])
    with pytest.raises(cs.SchemaError):
        cd.read_checkpoints(str(bad), on_error="raise").compute()


def test_fsspec_urls(client: Any) -> None:
    cd = dask_module()
    fsspec = pytest.importorskip("fsspec", reason=_REASON)
    data = (EXAMPLES / "checkpoints.log").read_bytes()
    fs = fsspec.filesystem("file")
    assert fs is not None
    want = [key(i)[1:2] for i in sequential(str(EXAMPLES / "checkpoints.log"))]
    url = "file://" + str(EXAMPLES / "checkpoints.log")
    assert [key(i)[1:2] for i in cd.read_checkpoints(url).compute()] == want
    # a URL of another file system: its bytes fed to the parser (in memory, in this process)
    mem = fsspec.filesystem("memory")
    mem.pipe("/fleet/a.log.gz", gzip.compress(data))
    got = cd.read_checkpoints("memory://fleet/*.gz").compute(scheduler="sync")
    assert [i for i in got] == [i for i in cs.iterparse(data)]
    assert got[0].origin.path.startswith("memory://") and got[0].origin.path.endswith("/fleet/a.log.gz")


def test_run_partitions_with_jobs_and_keep_errors(archive: list[str]) -> None:
    cd = dask_module()
    want = sequential(archive)
    got = list(cd.run_partitions(archive, jobs=1, transform=cd.keep_errors))
    assert len(got) == len(want)
    assert [key(i) for i in got if i is not None] == [key(i) for i in want if not isinstance(i, cs.Checkpoint)]


def test_run_partitions_counting_gives_counts_and_errors_in_order(client: Any, archive: list[str]) -> None:
    """``counting=True`` (what ``validate --jobs`` asks for): runs of records come back as their
    number, the errors as they are, in input order; on the cluster in use and at its address."""
    from checkpoint_stream.scaleout.inputs import Records, runs

    cd = dask_module()
    want = runs(sequential(archive))
    assert sum(isinstance(i, Records) for i in want) > 10
    for got in (list(cd.run_partitions(archive, counting=True)), list(cd.run_partitions(archive, scheduler=client.scheduler.address, counting=True))):
        assert [key(i) if not isinstance(i, Records) else i for i in got] == [key(i) if not isinstance(i, Records) else i for i in want]


# -- batches: their shape and the order they start in -------------------------------------------


def test_batches_shrink_toward_the_end_and_keep_the_order(tmp_path: Path) -> None:
    from checkpoint_stream.scaleout.inputs import Unit, batch_size, batches, largest_first

    units = []
    for i in range(200):
        path = tmp_path / f"s{i:03d}.xml"
        path.write_bytes(b"x" * 100_000)
        units.append(Unit(path=str(path)))
    for workers in (1, 2, 4):
        found = batches(units, workers)
        assert [u for b in found for u in b] == units  # every unit once, in order
        sizes = [batch_size(b) for b in found]
        assert sizes[:-1] == sorted(sizes[:-1], reverse=True)  # guided: never growing (the last is the rest)
        assert max(sizes) <= 200 * 100_000 // (8 * workers) + 100_000  # none more than an eighth of a worker's share
        assert sizes[-2] <= 200 * 100_000 // (32 * workers) + 100_000  # a short tail
        assert len(found) <= 40 * workers  # few tasks
        assert largest_first(sizes) == list(range(len(found)))  # already heaviest first: input order
    # a file much larger than the others starts first, wherever it is; equal ones keep their order
    assert largest_first([1000, 1000, 50_000, 1000, 1010]) == [2, 0, 1, 3, 4]
    assert batches([], 2) == []


def test_runs_count_consecutive_records() -> None:
    from checkpoint_stream.scaleout.inputs import Records, StreamBegins, UnitEnds, runs

    record = next(iter(cs.iterparse(GOOD[0])))
    err = cs.SchemaError("bad")
    begins = StreamBegins("a", None)
    assert runs([begins, record, record, None, err, record, UnitEnds()]) == [begins, Records(3), err, Records(1), UnitEnds()]
    assert runs([]) == [] and runs([None]) == [Records(1)]


# -- how the local cluster's workers start ---------------------------------------------------------


def test_workers_are_forked_only_when_it_is_safe() -> None:
    """Forked: in a fresh process without threads of its own, on Linux, with no start method
    chosen by the user. Not once this process runs a thread of its own, nor with the
    environment variable set. And nothing the parent had buffered on standard output is written
    twice (a forked child flushes what it inherited)."""
    pytest.importorskip("distributed", reason=_REASON)
    code = (
        "import sys, threading, time\n"
        "import checkpoint_stream.dask as cd\n"
        "print('method', cd._start_method(), end=' ')\n"
        "sys.stdout.write('buffered ')\n"
        "items = list(cd.run_partitions(sys.argv[1], jobs=1, counting=True))\n"
        "print(sum(getattr(i, 'count', 0) for i in items), end=' ')\n"
        "t = threading.Thread(target=time.sleep, args=(1,)); t.start()\n"
        "print('with a thread', cd._start_method())\n"
    )
    path = str(EXAMPLES / "checkpoints.log")
    n = sum(isinstance(i, cs.Checkpoint) for i in sequential(path))
    env = {k: v for k, v in os.environ.items() if k != "DASK_DISTRIBUTED__WORKER__MULTIPROCESSING_METHOD"}
    env["DASK_LOGGING__DISTRIBUTED"] = "error"
    out = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, check=True, env=env).stdout
    method = "fork" if sys.platform == "linux" else "None"
    assert out == f"method {method} buffered {n} with a thread None\n"
    env["DASK_DISTRIBUTED__WORKER__MULTIPROCESSING_METHOD"] = "spawn"
    out = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, check=True, env=env).stdout
    assert out == f"method None buffered {n} with a thread None\n"


# -- a worker killed mid-run -------------------------------------------------------------------


def _kill_once(marker: str, item: Any) -> Any:
    """Kill this worker process the first time any worker gets here (the marker file says a
    worker already died)."""
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return item
    os.close(fd)
    os._exit(1)


def test_a_killed_worker_loses_and_repeats_nothing(client: Any, archive: list[str], tmp_path: Path) -> None:
    import functools

    cloudpickle = pytest.importorskip("cloudpickle", reason=_REASON)
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import the tests
    cd = dask_module()
    marker = tmp_path / "killed"
    want = sequential(archive)
    try:
        bag = cd.read_checkpoints(archive, transform=functools.partial(_kill_once, str(marker)))
        got = bag.compute(retries=2)
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert marker.exists()  # a worker did die
    assert [key(i) for i in got] == [key(i) for i in want]  # every record exactly once, in order
    client.wait_for_workers(2, timeout=60)


# -- the command line: --jobs and --scheduler -----------------------------------------------------


def test_the_cli_without_jobs_never_imports_dask() -> None:
    code = (
        "import sys; from checkpoint_stream.cli import main; "
        f"status = main(['validate', '-q', {str(EXAMPLES)!r}]); "
        "print(status, sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed', 'pandas', 'fsspec')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "0 []"


def test_jobs_without_dask_installed_is_a_usage_error() -> None:
    """Dask hidden from the import system, as on an install without the extra."""
    code = (
        "import sys\n"
        "class Hide:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('dask', 'distributed'):\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Hide())\n"
        "from checkpoint_stream.cli import main\n"
        f"sys.exit(main(['validate', '--jobs', '2', {str(EXAMPLES)!r}]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == "checkpoint-stream: error: --jobs needs the dask extra: pip install 'checkpoint-stream[dask]'\n"


@pytest.mark.parametrize(
    "args, words",
    [
        (["validate", "--jobs", "2"], "--jobs cannot read standard input"),
        (["validate", "--jobs", "2", "-"], "--jobs cannot read standard input"),
        (["parse", "--scheduler", "tcp://127.0.0.1:1", "-"], "--scheduler cannot read standard input"),
        (["validate", "--jobs", "2", "--progress", "x"], "--progress does not apply with --jobs"),
        (["chain", "--jobs", "2", "--on-error", "stop", "x"], "chain --on-error stop does not apply with --jobs"),
        (["validate", "--jobs", "2", "--scheduler", "tcp://127.0.0.1:1", "x"], "not allowed with argument"),
        (["validate", "--jobs", "0", "x"], "must be a positive integer"),
        (["normalize", "--jobs", "2", "x"], "unrecognized arguments: --jobs"),
    ],
)
def test_what_jobs_cannot_do_is_refused(args: list[str], words: str) -> None:
    proc = run(*args)
    assert proc.returncode == 2 and proc.stdout == b""
    assert words in proc.stderr.decode()


#: Every output shape of the three commands, each compared byte for byte with the sequential run.
CLI_CASES = [
    ["validate"],
    ["validate", "--on-error", "stop"],
    ["validate", "-l"],
    ["validate", "-L"],
    ["validate", "-q"],
    ["validate", "--errors", "json", "--allow-empty"],
    ["parse", "--fields", "name,vm,source"],
    ["parse", "--on-error", "stop", "--redefine", "--no-require-domain"],
    ["chain"],
    ["chain", "--order"],
    ["chain", "--json", "--group-by", "folder"],
]


@pytest.fixture(scope="module")
def cli_inputs(archive: list[str], tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The sharded archive, the examples, a folder without any XML file, and a missing file (an
    input that cannot be read: exit status 2 outranks the rest)."""
    empty = tmp_path_factory.mktemp("nothing")
    (empty / "notes.txt").write_text("no XML here\n")
    return [*archive, str(EXAMPLES), str(empty), str(empty / "missing.xml")]


def _same_output(args: list[str], scale: list[str]) -> None:
    want = run(*args)
    got = run(*args[:1], *scale, *args[1:])
    assert got.stderr.decode() == want.stderr.decode()
    assert got.stdout.decode() == want.stdout.decode()
    assert got.returncode == want.returncode


@pytest.mark.parametrize("args", CLI_CASES, ids=[" ".join(a) for a in CLI_CASES])
def test_cli_at_a_scheduler_equals_the_sequential_cli(client: Any, cli_inputs: list[str], args: list[str]) -> None:
    _same_output([*args, *cli_inputs], ["--scheduler", client.scheduler.address])


@pytest.mark.parametrize("command", ["validate", "parse", "chain"])
def test_cli_jobs_2_equals_the_sequential_cli(cli_inputs: list[str], command: str) -> None:
    """A local cluster of two processes, started and stopped by the command."""
    _same_output([command, *cli_inputs], ["--jobs", "2"])


def test_cli_jobs_on_the_examples(tmp_path: Path) -> None:
    for args in (["validate", str(EXAMPLES)], ["chain", "--dot", str(EXAMPLES / "archive"), str(EXAMPLES / "vm1")]):
        _same_output(args, ["--jobs", "2"])


# -- the public interfaces the scale-out uses ------------------------------------------------------


def test_a_parser_resumed_at_a_clean_point_reports_the_streams_positions() -> None:
    """Started at a good document's end with the line facts there, a parser reports what the
    parser of the whole stream reports for everything after it."""
    from checkpoint_stream.positions import StreamPosition

    data = GOOD[0] + b"junk\r\n" + GOOD[2] + BROKEN[1] + b"\n" + GOOD[1] + BROKEN[0]
    whole = list(cs.iterparse(data, on_error="skip", yield_errors=True))
    first = whole[0]
    assert isinstance(first, cs.Checkpoint)
    end = first.origin.end
    before = data[:end]
    tail = before.rsplit(b"\n", 1)[-1]
    position = StreamPosition(end, before.count(b"\n"), len(tail.decode()), before.endswith(b"\r"), index=1)
    parser = cs.CheckpointParser(on_error="skip").resume_at(position)
    rest = parser.feed_items(data[end:]) + parser.close_items()
    assert [key(i) for i in rest] == [key(i) for i in whole[1:]]
    with pytest.raises(ValueError):
        parser.resume_at(position)


def test_chains_pickle_with_their_sentinel() -> None:
    """A chain's disk skeletons compare one sentinel by identity: it survives pickling as itself."""
    import pickle

    from checkpoint_stream import chain as chain_module

    assert pickle.loads(pickle.dumps(chain_module._SAME)) is chain_module._SAME
    mine = cs.chains(str(EXAMPLES))
    theirs = pickle.loads(pickle.dumps(mine))
    assert [c.to_dict() for c in theirs] == [c.to_dict() for c in mine]


def test_plain_stream_is_the_sources_rule(tmp_path: Path) -> None:
    from checkpoint_stream.sources import plain_stream

    log = tmp_path / "a.log"
    log.write_bytes(GOOD[0])
    gz = tmp_path / "a.xml.gz"
    gz.write_bytes(gzip.compress(GOOD[0]))
    disguised = tmp_path / "b.xml"
    disguised.write_bytes(gzip.compress(GOOD[0]))  # compressed, whatever its name says
    assert plain_stream(str(log)) and not plain_stream(str(gz)) and not plain_stream(str(disguised))
    assert not plain_stream(str(EXAMPLES / "vm1-checkpoints.tar.gz")) and not plain_stream(str(tmp_path))


@pytest.fixture(scope="module")
def big_stream(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One concatenated log of 2000 documents of several VMs, some broken, garbage between some."""
    rng = random.Random(11)
    pieces = []
    for n in range(2000):
        vm = n % 5
        doc = _doc(f"vm{vm}.{n // 5}", f"vm{vm}.{n // 5 - 1}" if n >= 5 else None, f"{vm:08x}-0000-4000-8000-{vm:012x}", f"vm{vm}", 1700000000 + n)
        if rng.random() < 0.05:
            doc = rng.choice(BROKEN)
        pieces.append(doc + rng.choice(BETWEEN))
    path = tmp_path_factory.mktemp("stream") / "big.log"
    path.write_bytes(b"".join(pieces))
    return str(path)


def test_marks_with_byte_ranges(client: Any, big_stream: str) -> None:
    """The stream and unit marks the command line counts on come out of a file cut into byte
    ranges as out of a file read whole: one stream begins before the first range, the unit ends
    after the last."""
    from checkpoint_stream.scaleout.inputs import StreamBegins, UnitEnds

    cd = dask_module()
    assert os.path.getsize(big_stream) > 16 * 65536  # 16 ranges and more
    whole = list(cd.run_partitions([big_stream, str(EXAMPLES)], marks=True))
    cut = list(cd.run_partitions([big_stream, str(EXAMPLES)], marks=True, blocksize=65536))
    assert [key(i) if not isinstance(i, (StreamBegins, UnitEnds)) else i for i in cut] == [
        key(i) if not isinstance(i, (StreamBegins, UnitEnds)) else i for i in whole
    ]
    assert isinstance(cut[0], StreamBegins) and cut[0].path == big_stream


def test_the_program_ends_with_mains_status_and_all_output_after_a_cluster(tmp_path: Path) -> None:
    """After a run on Dask the program leaves without the interpreter's teardown (os._exit): the
    output is still whole (more than a pipe's buffer of it) and the status is main's."""
    pytest.importorskip("distributed", reason=_REASON)
    log = (EXAMPLES / "checkpoints.log").read_bytes()
    for i in range(3):
        (tmp_path / f"{i}.xml").write_bytes(log * 10)
    (tmp_path / "3.xml").write_bytes(b"<domaincheckpoint><name>x</name>")
    want = run("parse", "--on-error", "skip", str(tmp_path))
    got = run("parse", "--on-error", "skip", "--jobs", "1", str(tmp_path))
    assert want.returncode == got.returncode == 1
    assert len(got.stdout) > 65536
    assert (got.stdout, got.stderr) == (want.stdout, want.stderr)


def test_command_is_main_then_exit_without_a_cluster() -> None:
    """Without Dask the program exits the usual way (SystemExit: atexit handlers and the
    interpreter's teardown run), with main's status."""
    code = (
        "import atexit, sys\n"
        "from checkpoint_stream.cli import command\n"
        "atexit.register(lambda: print('atexit ran'))\n"
        f"command(['validate', '-q', {str(EXAMPLES)!r}, '/nonexistent.xml'])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stdout == "atexit ran\n"
    assert "distributed" not in proc.stderr
