"""Inputs: paths, globs, folders and URLs, each expanded into the units one partition reads.

A folder is expanded into its files (one partition each) by the sources' own walk
(:func:`~..sources.walk_files`: :data:`~..sources.XML_NAMES`, sorted by path, a folder that cannot
be read reported in its place), so a folder of shards is read in parallel; every file is still read by
:func:`~..api.iter_sources`, so compressed files and archive members come out exactly as
``iterparse(path)`` gives them. A URL (``scheme://...``, other than ``file://``) is opened with
fsspec, when that file system is installed, and its bytes fed to the parser.
"""

from __future__ import annotations

import glob
import math
import os
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from ..api import iter_sources, iterparse
from ..records import Moment
from ..sources import XML_NAMES, SourceError, walk_files

__all__ = ["Unit", "StreamBegins", "UnitEnds", "Records", "runs", "expand", "read_unit", "read_units", "batches", "batch_size", "largest_first"]

_GLOB = frozenset("*?[")


@dataclass(frozen=True)
class Unit:
    """What one partition reads: a local ``path`` through the sources, a ``url`` through fsspec,
    or an ``error`` found while expanding (an unreadable folder), delivered as an item."""

    path: str | None = None
    url: str | None = None
    error: SourceError | None = None


@dataclass(frozen=True)
class StreamBegins:
    """In a marked run (``marks=True``): a stream (a file, an archive member) begins here, before
    its items. The command line needs it to warn about a stream without any document and to list
    streams (``-L``) exactly as the sequential run does, which sees ``on_stream``."""

    path: str | None
    member: str | None


@dataclass(frozen=True)
class UnitEnds:
    """In a marked run: the items of one unit end here. A batch holds several units, so the command
    line counts these to know when every unit of one of its arguments is through (an argument
    without any stream is warned about)."""


@dataclass(frozen=True)
class Records:
    """In a counted run (``counting=True`` of :func:`~checkpoint_stream.dask.run_partitions`):
    ``count`` good records in a row, in place of the records themselves. A validation needs only
    their number; shipping, unpacking and looping over one item per record costs the process
    that gathers the results CPU time (measured: about 0.1 s for 380,000 records), taken from
    the workers when they share its cores."""

    count: int


def runs(items: Iterable[Any]) -> list[Any]:
    """``items`` with every run of consecutive records (:class:`~..records.Checkpoint`, or the
    None :func:`~checkpoint_stream.dask.keep_errors` makes of one) replaced by one
    :class:`Records` of their number; everything else kept, in order."""
    out: list[Any] = []
    run = 0
    for item in items:
        if item is None or isinstance(item, Moment):
            run += 1
            continue
        if run:
            out.append(Records(run))
            run = 0
        out.append(item)
    if run:
        out.append(Records(run))
    return out


def _is_url(text: str) -> bool:
    return "://" in text and not text.startswith("file://")


def expand(sources: str | os.PathLike[str] | Unit | Iterable[str | os.PathLike[str] | Unit], *, folders: bool = True) -> list[Unit]:
    """The units of ``sources`` (a path, a glob, a URL, a unit, or a list of them), in order. A glob that
    matches nothing, like a missing path, stays as it is: reading it reports the error as data."""
    if isinstance(sources, (str, os.PathLike, Unit)):
        sources = [sources]
    units: list[Unit] = []
    for source in sources:
        if isinstance(source, Unit):  # already expanded (the command line expands per argument)
            units.append(source)
            continue
        text = os.fspath(source)
        if text.startswith("file://"):
            text = text[len("file://") :]
        if _is_url(text):
            units.extend(_url_units(text))
            continue
        matches = [text]
        if _GLOB & set(text) and not os.path.exists(text):
            matches = sorted(glob.glob(text, recursive=True)) or [text]
        for path in matches:
            if folders and os.path.isdir(path):
                units.extend(Unit(path=p) if e is None else Unit(error=e) for p, e in walk_files(path, XML_NAMES))
            else:
                units.append(Unit(path=path))
    return units


def _url_units(url: str) -> list[Unit]:
    try:
        import fsspec  # type: ignore[import-untyped, unused-ignore]  # here: only URLs need it (it comes with Dask)
    except ImportError:  # pragma: no cover - fsspec comes with dask
        return [Unit(error=SourceError("cannot read a URL: fsspec is not installed", path=url))]
    try:
        fs, _, paths = fsspec.get_fs_token_paths(url)
    except (ImportError, ValueError, OSError) as err:
        return [Unit(error=SourceError(f"cannot open: {err}", path=url))]
    if not paths:
        return [Unit(url=url)]
    return [Unit(url=fs.unstrip_protocol(p)) for p in paths]


def read_unit(
    unit: Unit,
    on_error: str,
    parse_kwargs: dict[str, Any],
    *,
    empty: str = "skip",
    transform: Callable[[Any], Any] | None = None,
    marks: bool = False,
) -> list[Any]:
    """Every item of one unit: records and, in skip mode, the errors (rejected documents and
    inputs that cannot be read) as items, never raised. ``marks``: a :class:`StreamBegins` before
    each stream's items and a :class:`UnitEnds` after the unit's (neither goes through
    ``transform``)."""
    out: list[Any] = []
    begun = (lambda path, member: out.append(StreamBegins(path, member))) if marks else None
    items: Iterator[Any]
    if unit.error is not None:
        if on_error != "skip":
            raise unit.error
        items = iter([unit.error])
    elif unit.url is not None:
        if begun is not None:
            begun(unit.url, None)
        items = _read_url(unit.url, on_error, parse_kwargs)
    else:
        assert unit.path is not None
        items = iter_sources([unit.path], on_error=on_error, empty=empty, on_stream=begun, **parse_kwargs)
    # One item at a time: ``begun`` appends to ``out`` between two items of the generator.
    keep = out.append
    for item in items:
        keep(item if transform is None else transform(item))
    if marks:
        out.append(UnitEnds())
    return out


def _read_url(url: str, on_error: str, parse_kwargs: dict[str, Any]) -> Iterator[Any]:
    import fsspec  # type: ignore[import-untyped, unused-ignore]

    try:
        opened = fsspec.open(url, "rb", compression="infer")
        fh = opened.open()
    except (OSError, ValueError) as err:
        error = SourceError(f"cannot open: {err}", path=url)
        if on_error != "skip":
            raise error from err
        yield error
        return
    with fh:
        try:
            yield from iterparse(fh, on_error=on_error, yield_errors=True, path=url, **parse_kwargs)
        except SourceError:
            raise
        except OSError as err:
            error = SourceError(f"read error: {err}", path=url)
            if on_error != "skip":
                raise error from err
            yield error


def read_units(
    units: tuple[Unit, ...],
    on_error: str,
    parse_kwargs: dict[str, Any],
    *,
    empty: str = "skip",
    transform: Callable[[Any], Any] | None = None,
    marks: bool = False,
) -> list[Any]:
    """Every item of several units, in order: one partition of many small files (a task costs
    milliseconds of scheduling, a small shard about as much to parse)."""
    out: list[Any] = []
    for unit in units:
        out.extend(read_unit(unit, on_error, parse_kwargs, empty=empty, transform=transform, marks=marks))
    return out


def _size(unit: Unit) -> int:
    try:
        return os.path.getsize(unit.path) if unit.path is not None else 0
    except OSError:
        return 0


def batches(units: list[Unit], workers: int, *, largest: int = 64 << 20, smallest: int = 64 << 10) -> list[tuple[Unit, ...]]:
    """Consecutive units grouped into batches that shrink toward the end (guided scheduling):
    each holds about ``1/(2 * workers)`` of the bytes not yet batched, but at most ``1/(8 *
    workers)`` of all of them (nor more than ``largest``) and at least ``1/(32 * workers)`` (nor
    less than ``smallest``), on-disk sizes. Order is kept.

    Why this shape: the batches are few, so a task's scheduling (milliseconds, as much as
    parsing a small shard) is paid rarely; none holds more than an eighth of a worker's share,
    so results (records, for ``parse``) come back in pieces that fit in memory, and the caller
    starts on them early; the last are small, so that when one worker runs out of work the
    others are through within a small batch, not within an eighth of the archive. Started
    largest first (:func:`largest_first`), they are the longest-processing-time-first
    schedule."""
    sizes = [_size(u) for u in units]
    total = sum(sizes)
    workers = max(workers, 1)
    floor = max(smallest, total // (32 * workers))
    largest = max(floor, min(largest, total // (8 * workers)))
    out: list[tuple[Unit, ...]] = []
    batch: list[Unit] = []
    held = 0
    left = total
    target = max(floor, min(largest, left // (2 * workers)))
    for unit, size in zip(units, sizes):
        batch.append(unit)
        held += size
        if held >= target:
            out.append(tuple(batch))
            left -= held
            batch, held = [], 0
            target = max(floor, min(largest, left // (2 * workers)))
    if batch:
        out.append(tuple(batch))
    return out


def batch_size(batch: tuple[Unit, ...]) -> int:
    """A batch's bytes on disk: the weight :func:`largest_first` orders by."""
    return sum(_size(u) for u in batch)


def largest_first(weights: list[int]) -> list[int]:
    """The indices of ``weights``, heaviest first, in input order among those of about the same
    weight (within a quarter of an octave, about a fifth): the order to start the tasks in.
    Longest-processing-time first, so that the last tasks to start are the short ones and the
    workers finish together; a file much larger than the others, wherever it is in the input,
    starts first instead of last. Batches of about the same weight keep their input order, so
    that results come back in the order the caller consumes them (the first output is not held
    back until nearly the end, and the caller's work on them overlaps the workers')."""
    return sorted(range(len(weights)), key=lambda i: (-int(4 * math.log2(weights[i] + 1)), i))
