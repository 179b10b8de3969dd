"""Dask: an archive of checkpoint documents as a :class:`dask.bag.Bag` of records, a Dask
DataFrame, or per-VM chains analysed across workers (``pip install 'checkpoint-stream[dask]'``).

Importing :mod:`checkpoint_stream` never imports Dask; this module does. Nothing here runs a
process pool of its own: the graphs run on whatever Dask scheduler is in use (a
``distributed.Client`` when one is active), so one archive on a laptop and thousands of tarballs
on a cluster are the same call.

* :func:`read_checkpoints` -- records (and, with ``on_error="skip"``, the rejected documents and
  the inputs that cannot be read, as items carrying their source): one partition per file (a
  folder is read file by file, globs and fsspec URLs are expanded), or with ``blocksize`` one
  plain stream cut into byte ranges that give exactly the sequential result;
* :func:`to_dataframe` -- one row per record (or per disk), through ``dask.dataframe.from_map``
  with a declared ``meta``;
* :func:`chains` / :func:`chain_bag` -- the chain analysis of :func:`checkpoint_stream.chains`,
  grouped by VM across workers, with the same result;
* :func:`run_partitions` / :func:`run_chains` -- for the command line: on a local cluster of
  ``jobs`` processes or at a scheduler's address, items in a stable order (by source, then
  document index).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import operator
import os
import pickle
from typing import Any, Callable, Iterable, Iterator, Literal, Sequence

import dask
import dask.bag as db
from dask.delayed import Delayed, delayed

# Dask's functions carry no annotations: called through these, their results are ``Any`` where
# this module's annotations take over, instead of untyped calls in a strictly typed module.
_DASK: Any = dask
_BAG: Any = db

from .chain import RESTORE_MODE, Chain, build_chains
from .errors import CheckpointError
from .records import Checkpoint, Moment, Snapshot, canonical_uuid
from .scaleout import grouping, ranges
from .scaleout.inputs import StreamBegins, Unit, UnitEnds, batch_size, batches, expand, largest_first, read_unit, read_units, runs
from .sources import SourceError, display_name, plain_stream

__all__ = [
    "read_checkpoints",
    "to_dataframe",
    "chains",
    "chain_bag",
    "run_partitions",
    "run_chains",
    "run_chain_report",
    "local_cluster",
    "keep_errors",
    "RECORD_COLUMNS",
    "DISK_COLUMNS",
]

OnError = Literal["raise", "skip"]
Sources = Any  # a path, a glob, a URL, or a list of them

#: The DataFrame's columns (:func:`to_dataframe`), one row per record or rejected document.
RECORD_COLUMNS = ("name", "parent", "creationTime", "vm", "vmName", "disks", "kind", "path", "member", "document", "message")
#: With ``per_disk=True``: one row per disk of each record.
DISK_COLUMNS = ("name", "vm", "vmName", "path", "member", "document", "disk", "checkpoint", "bitmap", "size", "snapshot")
_INTEGERS = frozenset({"creationTime", "disks", "document", "size"})


def keep_errors(item: Any) -> Any:
    """A ``transform`` for validation: a record becomes ``None`` (counted, not shipped back from
    the workers), an error stays as it is."""
    return None if isinstance(item, Moment) else item


def _counted(transform: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    """The per-item function of a counted run: a record is dropped as soon as it is read (a
    batch's records, kept until the batch is packed, would hold memory and give the garbage
    collector work: measured, half as much CPU again), the rest goes through ``transform``."""
    return keep_errors if transform is None else functools.partial(_drop_records, transform)


def _drop_records(transform: Callable[[Any], Any], item: Any) -> Any:
    return None if isinstance(item, Moment) else transform(item)


# -- the bag --------------------------------------------------------------------------------------


def read_checkpoints(
    urlpath_or_paths: Sources,
    *,
    on_error: OnError = "skip",
    blocksize: int | None = None,
    transform: Callable[[Any], Any] | None = None,
    **parse_kwargs: Any,
) -> db.Bag:
    """A bag of the records of every document of ``urlpath_or_paths``: paths (files, folders,
    compressed files, tar and zip archives, read as :func:`~checkpoint_stream.iterparse` reads
    them), globs, or URLs of any file system fsspec has installed (their bytes fed to the parser;
    ``.gz``/``.bz2``/``.xz`` by their names).

    ``on_error="skip"`` (default): a rejected document (:class:`~checkpoint_stream.CheckpointError`)
    or an input that cannot be read (:class:`~checkpoint_stream.SourceError`) is an item of the bag,
    with its source, never a failed task; ``"raise"``: the task fails with it.

    One partition per file by default. ``blocksize=N``: a plain (uncompressed, not archived) file
    larger than ``N`` bytes is cut into ranges of ``N`` bytes, as ``dask.bag.read_text`` cuts
    lines; records, errors and document indices are those of a sequential parse, the document
    straddling a boundary in the partition where it starts (:mod:`.scaleout.ranges`). Other
    inputs keep one partition each. ``transform`` (picklable) is applied to each item on the
    workers (:func:`keep_errors`). Other keywords are :func:`~checkpoint_stream.iterparse`'s.
    """
    bag: db.Bag = _BAG.from_delayed(_parts(urlpath_or_paths, on_error, blocksize, transform, parse_kwargs, "skip"))
    return bag


def _parts(
    sources: Sources,
    on_error: OnError,
    blocksize: int | None,
    transform: Callable[[Any], Any] | None,
    parse_kwargs: dict[str, Any],
    empty: str,
    workers: int | None = None,
    marks: bool = False,
) -> list[Delayed]:
    """One delayed list of items per partition: per file, per byte range, or (``workers``
    given) per batch of small files, in input order. ``marks``: with the stream and unit marks
    of :func:`~.scaleout.inputs.read_unit` (a file cut into ranges: its stream begins with the
    first range, its unit ends with the last)."""
    _check(on_error, parse_kwargs)
    parts: list[Delayed] = []
    units = expand(sources)
    small: list[Unit] = []  # with ``workers``: files read whole, batched

    def flush() -> None:
        parts.extend(
            delayed(read_units, pure=True)(batch, on_error, parse_kwargs, empty=empty, transform=transform, marks=marks)
            for batch in batches(small, workers or 1)
        )
        small.clear()

    for unit in units:
        size = _splittable_size(unit, blocksize)
        if size is None or blocksize is None:
            if workers is not None:
                small.append(unit)
            else:
                parts.append(delayed(read_unit, pure=True)(unit, on_error, parse_kwargs, empty=empty, transform=transform, marks=marks))
            continue
        assert unit.path is not None
        flush()
        parts.extend(_range_parts(unit.path, size, blocksize, on_error, transform, parse_kwargs, empty, marks))
    flush()
    return parts


def _check(on_error: OnError, parse_kwargs: dict[str, Any]) -> None:
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
    for key in ("yield_errors", "path", "member", "on_error_callback"):
        if key in parse_kwargs:
            raise TypeError(f"read_checkpoints() sets {key!r} itself")


def _splittable_size(unit: Unit, blocksize: int | None) -> int | None:
    if blocksize is None or unit.path is None:
        return None
    if blocksize <= 0:
        raise ValueError(f"blocksize must be positive, not {blocksize}")
    if not plain_stream(unit.path):
        return None
    try:
        size = os.path.getsize(unit.path)
    except OSError:
        return None
    return size if size > blocksize else None


def _range_parts(
    path: str,
    size: int,
    blocksize: int,
    on_error: OnError,
    transform: Callable[[Any], Any] | None,
    parse_kwargs: dict[str, Any],
    empty: str,
    marks: bool = False,
) -> list[Delayed]:
    """The graph of :mod:`.scaleout.ranges`: line counts per range, their prefix sum, one
    speculative parse per range, the plan (one small task), then each range's items."""
    opener = functools.partial(open, path, "rb")
    bounds = ranges.boundaries(size, blocksize)
    n = len(bounds) - 1
    summaries = [delayed(ranges.line_summary, pure=True)(opener, bounds[j], bounds[j + 1]) for j in range(n)]
    seeds = delayed(ranges.line_seeds, pure=True)(summaries)
    specs = [delayed(ranges.speculate, pure=True, nout=2)(opener, path, j, bounds, seeds[j], parse_kwargs) for j in range(n)]
    plan = delayed(ranges.make_plan, pure=True)(opener, path, bounds, seeds, [s[1] for s in specs], parse_kwargs)
    return [
        delayed(_range_items, pure=True)(
            specs[j][0], delayed(operator.getitem, pure=True)(plan.pieces, j), on_error, transform, path, j == 0 and empty == "error", plan.total, parse_kwargs,
            begins=marks and j == 0, ends=marks and j == n - 1,
        )
        for j in range(n)
    ]


def _range_items(
    own: list[Any],
    pieces: list[tuple[Any, ...]],
    on_error: OnError,
    transform: Callable[[Any], Any] | None,
    path: str,
    empty_is_error: bool,
    total: int,
    parse_kwargs: dict[str, Any],
    *,
    begins: bool = False,
    ends: bool = False,
) -> list[Any]:
    items = ranges.assemble(own, pieces)
    if empty_is_error and total == 0:
        # A file that holds no document at all: reported as the sources report it.
        items = list(read_unit(Unit(path=path), "skip", parse_kwargs, empty="error"))
    if on_error == "raise":
        for item in items:
            if isinstance(item, (CheckpointError, SourceError)):
                raise item
    if transform is not None:
        items = [transform(item) for item in items]
    if begins:
        items.insert(0, StreamBegins(display_name(path), None))
    if ends:
        items.append(UnitEnds())
    return items


# -- the DataFrame --------------------------------------------------------------------------------


def _dtypes(columns: Sequence[str]) -> dict[str, str]:
    return {c: ("Int64" if c in _INTEGERS else "string") for c in columns}


def _frame(rows: list[tuple[Any, ...]], per_disk: bool) -> Any:
    import pandas as pd  # type: ignore[import-untyped, unused-ignore]

    columns = DISK_COLUMNS if per_disk else RECORD_COLUMNS
    data = list(zip(*rows)) if rows else [() for _ in columns]
    return pd.DataFrame({c: pd.array(list(values), dtype=dtype) for (c, dtype), values in zip(_dtypes(columns).items(), data)})


def _rows(items: Iterable[Any], per_disk: bool) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for item in items:
        if isinstance(item, (Checkpoint, Snapshot)):
            domain = item.domain
            name_uuid = domain.identity if domain is not None else (None, None)
            vm = canonical_uuid(name_uuid[1])
            o = item.origin
            path, member, index = (None, None, None) if o is None else (o.path, o.member, o.index)
            if per_disk:
                if isinstance(item, Snapshot):  # the mode in the 'snapshot' column; the checkpoint columns null
                    for s in item.disks:
                        rows.append((item.name, vm, name_uuid[0], path, member, index, s.name, None, None, None, s.snapshot))
                else:
                    for d in item.disks:
                        rows.append((item.name, vm, name_uuid[0], path, member, index, d.name, d.checkpoint, d.bitmap, d.size, None))
            else:
                kind = "snapshot" if isinstance(item, Snapshot) else "checkpoint"
                rows.append((item.name, item.parent, item.creation_time, vm, name_uuid[0], len(item.disks), kind, path, member, index, None))
        elif per_disk:
            continue
        elif isinstance(item, CheckpointError):
            rows.append((item.checkpoint, None, None, canonical_uuid(item.domain_uuid), None, None, type(item).__name__, item.source, item.member, item.document, item.message))
        elif isinstance(item, SourceError):
            rows.append((None, None, None, None, None, None, type(item).__name__, item.path, item.member, None, item.message))
    return rows


def _unit_frame(unit: Unit, on_error: OnError, parse_kwargs: dict[str, Any], per_disk: bool) -> Any:
    return _frame(_rows(read_unit(unit, on_error, parse_kwargs), per_disk), per_disk)


def _items_frame(items: list[Any], per_disk: bool) -> Any:
    return _frame(_rows(items, per_disk), per_disk)


def to_dataframe(
    urlpath_or_paths: Sources,
    *,
    per_disk: bool = False,
    on_error: OnError = "skip",
    blocksize: int | None = None,
    **parse_kwargs: Any,
) -> Any:
    """A Dask DataFrame of ``urlpath_or_paths`` (what :func:`read_checkpoints` reads): one row per
    record and per rejected document (:data:`RECORD_COLUMNS`: ``kind`` is ``"checkpoint"``, ``"snapshot"`` or the
    error's class, ``vm`` the domain's canonical uuid, ``disks`` a count), or with
    ``per_disk=True`` one row per disk of each record (:data:`DISK_COLUMNS`). Strings are
    pandas ``string``, integers nullable ``Int64``. Built with ``dask.dataframe.from_map`` (one
    partition per file) and a declared ``meta``; with ``blocksize``, from the byte-range
    partitions."""
    import dask.dataframe

    dd: Any = dask.dataframe
    meta = _frame([], per_disk)
    if blocksize is None:
        units = expand(urlpath_or_paths)
        for key in ("yield_errors", "path", "member"):
            if key in parse_kwargs:
                raise TypeError(f"to_dataframe() sets {key!r} itself")
        return dd.from_map(
            _unit_frame, units, meta=meta, on_error=on_error, parse_kwargs=parse_kwargs, per_disk=per_disk, label="checkpoints", enforce_metadata=False
        )
    bag = read_checkpoints(urlpath_or_paths, on_error=on_error, blocksize=blocksize, **parse_kwargs)
    parts: Any = bag
    return dd.from_delayed([delayed(_items_frame, pure=True)(part, per_disk) for part in parts.to_delayed()], meta=meta, verify_meta=False)


# -- chains ---------------------------------------------------------------------------------------


def _concat(parts: Iterable[list[Any]]) -> list[Any]:
    return [x for part in parts for x in part]


def _whole(items: Iterable[Any], group_by: str) -> list[Chain]:
    return build_chains(items, group_by=group_by)  # type: ignore[arg-type]


def _merge_whole(parts: Iterable[Any]) -> Any:
    return list(itertools.chain.from_iterable(parts))


def chain_bag(
    urlpath_or_paths: Sources,
    *,
    group_by: Literal["uuid", "folder", "none"] = "uuid",
    blocksize: int | None = None,
    **parse_kwargs: Any,
) -> db.Bag:
    """A bag of the chains of ``urlpath_or_paths``, unordered (:func:`chains` sorts them).

    Documents are read as :func:`checkpoint_stream.chains` reads them (libvirt's REDEFINE, a
    domain not required, a file without documents rejected). With ``group_by="uuid"`` the
    records are shuffled by VM and each VM's chain is analysed where it lands, by the unchanged
    :class:`~checkpoint_stream.ChainBuilder` (see :mod:`.scaleout.grouping`); documents without a
    domain are analysed by folder in one task. ``"folder"`` and ``"none"`` analyse in one task
    (the reading is still spread)."""
    parse_kwargs = _restore_kwargs(parse_kwargs)
    items: Any = _BAG.from_delayed(_parts(urlpath_or_paths, "skip", blocksize, None, parse_kwargs, "error"))
    return _chain_graph(items, group_by)


def _restore_kwargs(parse_kwargs: dict[str, Any]) -> dict[str, Any]:
    """How :func:`checkpoint_stream.chains` reads: libvirt's REDEFINE without a required domain,
    unless a mode is asked for."""
    parse_kwargs.pop("on_error", None)
    if not ({"create", "redefine"} & set(parse_kwargs)):
        parse_kwargs = {**RESTORE_MODE, **parse_kwargs}
    return parse_kwargs


def _chain_graph(items: Any, group_by: str) -> db.Bag:
    """The chains of a bag of items (the graph of :func:`chain_bag`)."""
    result: db.Bag
    if group_by != "uuid":
        whole = items.reduction(list, _merge_whole, split_every=False)
        result = _BAG.from_delayed([delayed(_whole, pure=True)(whole.to_delayed(), group_by)])
        return result
    facts = items.reduction(grouping.partition_facts, grouping.merge_facts, split_every=False)
    routed = items.map(grouping.route).map(grouping.resolve, facts)
    grouped = routed.groupby(operator.itemgetter(0), shuffle="tasks")
    defined = grouped.map(grouping.summarise).reduction(_concat, grouping.merge_summaries, split_every=False)
    result = grouped.map(grouping.analyse, facts, defined).flatten()
    return result


def chains(
    urlpath_or_paths: Sources,
    *,
    group_by: Literal["uuid", "folder", "none"] = "uuid",
    blocksize: int | None = None,
    **parse_kwargs: Any,
) -> list[Chain]:
    """The chains of an archive, computed on the Dask scheduler in use, in the order of
    :func:`checkpoint_stream.chains` (VM name, uuid, folder), equal to what it returns."""
    bag: Any = chain_bag(urlpath_or_paths, group_by=group_by, blocksize=blocksize, **parse_kwargs)
    found: list[Chain] = bag.compute()
    return sorted(found, key=grouping.sort_key)


# -- for the command line -------------------------------------------------------------------------


@contextlib.contextmanager
def _client(jobs: int | None, scheduler: str | None) -> Iterator[Any]:
    """A client on a local cluster of ``jobs`` processes (one thread each: parsing holds the GIL),
    or at ``scheduler``'s address; neither: None (the scheduler in use computes). The local
    cluster's workers are forked when that is safe (:func:`_start_method`)."""
    if scheduler is None and jobs is None:
        yield None
        return
    try:
        import distributed
    except ImportError as err:  # pragma: no cover - the [dask] extra installs it
        raise ImportError("a cluster needs distributed: pip install 'checkpoint-stream[dask]'") from err
    Client: Any = distributed.Client

    if scheduler is not None:
        with Client(scheduler) as client:
            yield client
        return
    assert jobs is not None
    with local_cluster(jobs, start_method=_start_method()) as cluster, Client(cluster) as client:
        yield client


def local_cluster(n_workers: int, *, start_method: str | None = None) -> Any:
    """A ``distributed.LocalCluster`` as ``--jobs`` starts it: ``n_workers`` processes of one
    thread each (parsing is pure Python and holds the GIL, so more threads only contend), no
    dashboard (a short local run is watched by nobody, and with bokeh installed the dashboard
    alone takes a second to import; nor can two runs at once collide on its port), the workers'
    housekeeping slowed down (:func:`_worker_config`). ``start_method``: how the worker
    processes start (``"spawn"``, ``"fork"``, ``"forkserver"``), for these workers only; None:
    Dask's configuration (``distributed.worker.multiprocessing-method``, ``spawn`` unless set).
    A context manager: ``with local_cluster(2) as cluster``."""
    import distributed

    if n_workers < 1:
        raise ValueError(f"jobs must be at least 1, not {n_workers}")
    LocalCluster: Any = distributed.LocalCluster
    config = _worker_config()
    if start_method is not None:
        # In force while the constructor starts the workers, and only then: a worker the nanny
        # restarts later (one that died) starts as configured, by default spawned.
        config["distributed.worker.multiprocessing-method"] = start_method
    with _DASK.config.set(config):  # the workers are given the configuration in force when they start
        return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None)


def _start_method() -> str | None:
    """``"fork"`` when the local cluster's workers can safely be forked from this process, else
    None (Dask's configured method, ``spawn`` by default).

    Why: a spawned worker is a new interpreter that imports distributed, numpy and this package
    again (about half a second of CPU each, on the cores that are to parse; with two workers on
    two cores, more than a second of wall time, and as long again to stop), where a forked one
    starts with them already imported, in a few tens of milliseconds.

    When it is safe: forking copies only the thread that forks, so a lock another thread holds
    at that moment stays locked in the child forever. Here the only other threads are
    distributed's own (its event loop, and the thread that starts each worker process), which
    support the ``fork`` method Dask offers; so this process must have had no thread of its own
    before the cluster started (the command line has none: ``threading.active_count() == 1``).
    Only on Linux: on macOS system libraries are not fork-safe (Python spawns there by default).
    Not when the user chose a method (``DASK_DISTRIBUTED__WORKER__MULTIPROCESSING_METHOD``, or a
    Dask configuration other than the default ``spawn``). And standard output and error are
    flushed first: a forked child flushes the buffers it inherited when it exits, and would
    write again whatever this process had buffered (if they cannot be flushed, no fork)."""
    import multiprocessing
    import sys
    import threading

    key = "distributed.worker.multiprocessing-method"
    if sys.platform != "linux" or "fork" not in multiprocessing.get_all_start_methods():
        return None
    if "DASK_DISTRIBUTED__WORKER__MULTIPROCESSING_METHOD" in os.environ or _DASK.config.get(key, "spawn") != "spawn":
        return None
    if threading.active_count() != 1:
        return None
    for stream in (sys.stdout, sys.stderr):
        if stream is None:
            continue
        try:
            stream.flush()
        except (OSError, ValueError):
            return None
    return "fork"


def _worker_config() -> dict[str, Any]:
    """The local workers' housekeeping, slowed down: their statistical profiler (a stack sample
    every 10 ms), the event loop's health tick (20 ms) and the memory and system monitors each
    take the GIL from the parsing thread, and together cost the run about a tenth (measured: 500
    MB on 2 workers, 3.75 s against 3.3-3.5 s). A short local run is watched by nobody's
    dashboard. The workers are given this configuration when they start."""
    return {
        "distributed.worker.profile.enabled": False,
        "distributed.admin.tick.interval": "1s",
        "distributed.admin.system-monitor.interval": "5s",
        "distributed.worker.memory.monitor-interval": "5s",
    }


def _pack(items: list[Any]) -> bytes:
    """A partition's items as one pickle. Handed a list, distributed serialises it item by item
    (about 20 µs each: a second for the 50,000 items of one batch, more than parsing them took);
    one ``pickle.dumps`` of the list is a few milliseconds."""
    return pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL)


def _unpack(data: bytes) -> list[Any]:
    items: list[Any] = pickle.loads(data)  # bytes this run's own workers made
    return items


def _read_packed(
    batch: tuple[Unit, ...],
    on_error: OnError,
    parse_kwargs: dict[str, Any],
    empty: str,
    transform: Callable[[Any], Any] | None,
    marks: bool,
    counting: bool = False,
) -> bytes:
    """One batch's items, read on a worker and packed (:func:`_pack`); ``counting``: runs of
    records as :class:`~.scaleout.inputs.Records`."""
    if counting:
        return _pack(runs(read_units(batch, on_error, parse_kwargs, empty=empty, transform=_counted(transform), marks=marks)))
    return _pack(read_units(batch, on_error, parse_kwargs, empty=empty, transform=transform, marks=marks))


def _pack_runs(items: list[Any]) -> bytes:
    return _pack(runs(items))


def run_partitions(
    paths: Sources,
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
    on_error: OnError = "skip",
    blocksize: int | None = None,
    transform: Callable[[Any], Any] | None = None,
    marks: bool = False,
    counting: bool = False,
    **parse_kwargs: Any,
) -> Iterator[Any]:
    """Every item of ``paths`` (:func:`read_checkpoints`; a path may also be an expanded
    :class:`~.scaleout.inputs.Unit`), computed on a local cluster of ``jobs``
    processes, or on the cluster at ``scheduler`` (an address), or on the scheduler in use;
    yielded in a stable order (by source, then document index) as soon as each partition and
    those before it are done. The cluster started here is closed when the iterator ends or is
    closed. ``transform`` runs on the workers (:func:`keep_errors` for a validation). Files are
    read in batches that shrink toward the end (:func:`~.scaleout.inputs.batches`), started
    largest first: a task's scheduling costs milliseconds, as much as parsing a small shard, and
    the workers finish together. ``marks``: with a
    :class:`~.scaleout.inputs.StreamBegins` before each stream's items and a
    :class:`~.scaleout.inputs.UnitEnds` after each unit's, what the command line needs to report
    exactly as its sequential run does. ``blocksize``: a plain file larger than that is cut into
    byte ranges (:func:`read_checkpoints`); the other files are batched. ``counting`` (a
    validation): the records do not come back, each run of them (records, or the Nones
    ``transform`` makes of them: :func:`keep_errors`) is one :class:`~.scaleout.inputs.Records`
    of their number."""
    with _client(jobs, scheduler) as client:
        workers = len(client.scheduler_info()["workers"]) if client is not None else (jobs or os.cpu_count() or 1)
        futures: list[Any]
        if client is not None and blocksize is None:
            futures = _submit_batches(client, paths, max(workers, 1), on_error, transform, parse_kwargs, marks, counting)
        else:
            parts = _parts(paths, on_error, blocksize, _counted(transform) if counting else transform, parse_kwargs, "skip", max(workers, 1), marks)
            if client is None:
                for part in _DASK.compute(*parts):
                    yield from (runs(part) if counting else part)
                return
            futures = client.compute([delayed(_pack_runs if counting else _pack, pure=True)(part) for part in parts])
        try:
            for i, future in enumerate(futures):
                part = _unpack(future.result())
                future.release()
                futures[i] = None
                yield from part
        finally:
            for future in futures:
                if future is not None:
                    future.cancel()


def _submit_batches(
    client: Any,
    paths: Sources,
    workers: int,
    on_error: OnError,
    transform: Callable[[Any], Any] | None,
    parse_kwargs: dict[str, Any],
    marks: bool,
    counting: bool,
) -> list[Any]:
    """The futures of every batch of ``paths``, in input order, submitted largest first.

    ``client.map`` gives its tasks the priorities of their order in its list, where
    ``client.compute`` leaves independent tasks in the order ``dask.order`` finds for them, not
    the list's; so the batches are handed over heaviest first
    (:func:`~.scaleout.inputs.largest_first`), and the futures put back in input order. Plain
    tasks, not a graph: nothing to optimise or order, one message to the scheduler."""
    _check(on_error, parse_kwargs)
    found = batches(expand(paths), workers)
    order = largest_first([batch_size(b) for b in found])
    submitted = client.map(
        _read_packed,
        [found[i] for i in order],
        key="checkpoint_stream-read",
        pure=False,
        on_error=on_error,
        parse_kwargs=parse_kwargs,
        empty="skip",
        transform=transform,
        marks=marks,
        counting=counting,
    )
    futures: list[Any] = [None] * len(found)
    for i, future in zip(order, submitted):
        futures[i] = future
    return futures


def run_chains(
    paths: Sources,
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
    group_by: Literal["uuid", "folder", "none"] = "uuid",
    blocksize: int | None = None,
    **parse_kwargs: Any,
) -> list[Chain]:
    """:func:`chains` on a local cluster of ``jobs`` processes or at ``scheduler``."""
    with _client(jobs, scheduler):
        return chains(paths, group_by=group_by, blocksize=blocksize, **parse_kwargs)


def _is_source_error(item: Any) -> bool:
    return isinstance(item, SourceError)


def _readable(item: Any) -> bool:
    return not isinstance(item, SourceError)


def _is_record(item: Any) -> bool:
    return isinstance(item, Moment)


def run_chain_report(
    paths: Sources,
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
    group_by: Literal["uuid", "folder", "none"] = "uuid",
    blocksize: int | None = None,
    **parse_kwargs: Any,
) -> tuple[list[Chain], int, list[SourceError]]:
    """What ``checkpoint-stream chain`` reports, computed in one graph on a local cluster of
    ``jobs`` processes or at ``scheduler``: the chains (sorted as :func:`chains` sorts them) of
    everything but the inputs that cannot be read, the number of records read, and the errors of
    those inputs in source order (``blocksize``: as :func:`read_checkpoints`). The command line reports an unreadable input as an I/O error
    (exit status 2), not as a problem of a chain, so it must not reach the analysis."""
    parse_kwargs = _restore_kwargs(parse_kwargs)
    with _client(jobs, scheduler) as client:
        workers = len(client.scheduler_info()["workers"]) if client is not None else (jobs or os.cpu_count() or 1)
        items: Any = _BAG.from_delayed(_parts(paths, "skip", blocksize, None, parse_kwargs, "error", max(workers, 1)))
        graph = _chain_graph(items.filter(_readable), group_by)
        found, failed, records = _DASK.compute(graph, items.filter(_is_source_error), items.filter(_is_record).count())
    return sorted(found, key=grouping.sort_key), int(records), list(failed)
