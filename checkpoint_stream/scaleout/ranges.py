"""One large uncompressed stream parsed in byte ranges, with exactly the sequential result.

Why not just cut at the next ``<domaincheckpoint``: what the sequential framer does at a given byte
depends on what came before (inside a broken document it resynchronises from where the error was
found; a ``<domaincheckpoint`` in a comment is no document start), so a range that starts "at the
next document" may disagree with the sequential parse for broken input. The design here is exact
for any input, and costs nothing extra when the stream is healthy:

* **Clean points.** Right after a good document ends at byte ``p``, the sequential framer holds
  nothing but ``p`` (no document in progress, no resynchronisation pending): a framer started fresh
  at ``p`` (with the stream's offset and line count there) produces exactly what follows. The end
  of every record is such a point, and so is the start of a fresh framer.
* **Speculation.** Range ``j`` starts a fresh framer at its first candidate (``<?xml`` or the root
  start tag at or after its start) and parses past its end up to the first record that ends after
  the next range's candidate: the trajectory, its items and its clean points.
* **Plan.** From range 0 (which starts at byte 0, so is true), the true trajectory follows a range
  until one of its clean points is a clean point of a later range, then follows that range: from a
  shared clean point on, both framers do the same. When a range stops before meeting a later one
  (a long stretch of broken documents, no good document to agree on), the plan parses on from the
  range's last clean point itself (a *repair*: sequential, only over that stretch).
* **Ownership.** An item belongs to the range its position falls in (a record's start, an error's
  offset): the document straddling a boundary belongs to the range in which it starts. Document
  indices are the items' ordinals in the true sequence, set once the plan has counted them.

Line numbers counted from the stream's start (``source_line``) need the line breaks of every byte
before a range: a first pass counts them per range (:func:`line_summary`, a ``bytes.count`` pass,
cheap next to parsing), and a prefix sum gives each range's starting count.
"""

from __future__ import annotations

import bisect
import codecs
import os
import re
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Iterator

from ..api import CheckpointParser
from ..errors import CheckpointError
from ..positions import StreamPosition, utf8_cut
from ..readers import reader_for
from ..records import Moment, Origin
from ..sources import CHUNK_SIZE, display_name

__all__ = [
    "Opener",
    "LineState",
    "Summary",
    "Speculation",
    "Plan",
    "boundaries",
    "line_summary",
    "line_seeds",
    "speculate",
    "make_plan",
    "assemble",
    "item_key",
]

#: Opens the stream for reading (a local path: ``open(path, "rb")``; an fsspec file: its ``open``).
Opener = Callable[[], IO[bytes]]

_OVERLAP = 32  # longer than any candidate match ('<domaincheckpoint' and one byte)


def boundaries(size: int, blocksize: int) -> list[int]:
    """Range starts ``s_0 = 0 < s_1 < ...`` and the end: ``[0, B, 2B, ..., size]`` (one range for an
    empty stream)."""
    if blocksize <= 0:
        raise ValueError(f"blocksize must be positive, not {blocksize}")
    starts = list(range(0, max(size, 1), blocksize))
    return starts + [size]


# -- line counts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineState:
    """What the bytes before a position hold for line counting, as the framer keeps it for the
    bytes it dropped (:class:`~..positions.DroppedLines`): line breaks, characters of the last
    unfinished line, and whether they end with a CR."""

    lines: int = 0
    tail: int = 0
    cr: bool = False

    def then(self, summary: "Summary") -> "LineState":
        """The state after this one's bytes and then ``summary``'s (DroppedLines.drop's rule)."""
        if not summary.size:
            return self
        lines = self.lines + summary.breaks - (1 if self.cr and summary.first_lf else 0)
        tail = summary.tail if summary.breaks else self.tail + summary.tail
        return LineState(lines, tail, summary.last_cr)


@dataclass(frozen=True)
class Summary:
    """Line facts of a run of bytes counted on its own: ``breaks`` (LF, CR LF and lone CR),
    characters after the last break (all of them when there is none), first byte LF, last byte CR."""

    size: int = 0
    breaks: int = 0
    tail: int = 0
    first_lf: bool = False
    last_cr: bool = False


def _chars(data: bytes) -> int:
    return len(data.decode("utf-8", "surrogateescape"))


def _summarise(pieces: Iterator[bytes]) -> Summary:
    """Summary of the concatenation of ``pieces`` (cut anywhere: characters are decoded
    incrementally, a CR LF split between two pieces is one break)."""
    size = breaks = tail = 0
    first_lf = False
    decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
    prev_cr = False
    for piece in pieces:
        if not piece:
            continue
        if not size:
            first_lf = piece[0] == 0x0A
        size += len(piece)
        lf = piece.count(b"\n")
        cr = piece.count(b"\r")
        n = lf + cr - piece.count(b"\r\n") - (1 if prev_cr and piece[0] == 0x0A else 0)
        if lf or cr:
            breaks += n
            last = max(piece.rfind(b"\n"), piece.rfind(b"\r"))
            decoder.reset()
            tail = len(decoder.decode(piece[last + 1 :]))
        else:
            tail += len(decoder.decode(piece))
        prev_cr = piece[-1] == 0x0D
    tail += len(decoder.decode(b"", True))
    return Summary(size, breaks, tail, first_lf, prev_cr)


def _cut(fh: IO[bytes], at: int) -> int:
    """``at`` moved back (by up to 3 bytes) so that no valid UTF-8 sequence spans it: counting on
    both sides of such a cut adds up to counting the whole, as the framer's own drops do."""
    if at <= 0:
        return 0
    back = min(at, 3)
    fh.seek(at - back)
    return at - back + utf8_cut(fh.read(back), back)


def _pieces(fh: IO[bytes], start: int, stop: int) -> Iterator[bytes]:
    fh.seek(start)
    left = stop - start
    while left > 0:
        piece = fh.read(min(CHUNK_SIZE * 16, left))
        if not piece:
            return
        left -= len(piece)
        yield piece


def line_summary(opener: Opener, start: int, stop: int) -> Summary:
    """Line facts of the bytes of range ``[start, stop)``, its ends moved to UTF-8 cuts."""
    with opener() as fh:
        a, b = _cut(fh, start), _cut(fh, stop)
        return _summarise(_pieces(fh, a, b))


def line_seeds(summaries: list[Summary]) -> list[LineState]:
    """The line state at the (cut) start of each range: a prefix sum of the summaries."""
    state = LineState()
    seeds = []
    for summary in summaries:
        seeds.append(state)
        state = state.then(summary)
    return seeds


# -- speculation --------------------------------------------------------------------------------


def _candidates(roots: tuple[str, ...]) -> "re.Pattern[bytes]":
    """Where a document may start: an XML declaration or a root's start tag (the framer's own
    resynchronisation points), for every kind of document the reading accepts."""
    tags = b"|".join(re.escape(root.encode()) for root in roots)
    return re.compile(rb"<\?xml[ \t\r\n?]|<(?:" + tags + rb")[ \t\r\n/>]")


def _find(fh: IO[bytes], pattern: "re.Pattern[bytes]", start: int, size: int) -> int | None:
    """The first candidate at or after ``start``, or None."""
    at = start
    fh.seek(at)
    carry = b""
    while at < size:
        piece = fh.read(CHUNK_SIZE * 4)
        if not piece:
            return None
        data = carry + piece
        m = pattern.search(data)
        if m is not None:
            return at - len(carry) + m.start()
        at += len(piece)
        carry = data[-_OVERLAP:]
    return None


def item_key(item: Any) -> int:
    """Where an item stands in its stream: a record's first byte, an error's offset (between its
    document's start and the next item's)."""
    if isinstance(item, Moment):
        origin = item.origin
        return origin.offset if origin is not None else 0
    offset = getattr(item, "offset", None)
    return offset if isinstance(offset, int) else 0


def _parser(path: str, offset: int, lines: LineState, parse_kwargs: dict[str, Any]) -> CheckpointParser:
    """A parser in the state the sequential one is in at a clean point ``offset``: the stream's
    offset and the line count there (so every offset, line and message it reports is the stream's)."""
    parser = CheckpointParser(on_error="skip", path=display_name(path), **parse_kwargs)
    # Indices are set by the plan (a prefix count over the ranges), so each range counts from 0.
    return parser.resume_at(StreamPosition(offset, lines.lines, lines.tail, lines.cr))


def _seed_at(opener: Opener, cut_start: int, seed: LineState, offset: int) -> LineState:
    """The line state at ``offset`` (a document start or a record end: no UTF-8 sequence spans
    it), from the state at the cut ``cut_start <= offset``."""
    if offset <= cut_start:
        return seed
    with opener() as fh:
        return seed.then(_summarise(_pieces(fh, cut_start, offset)))


@dataclass
class Trajectory:
    """What a framer started fresh at ``start`` produced: items in order and its clean points,
    ``(position, items emitted up to and including the record that ends there)``, the first being
    ``(start, 0)``. ``eof``: it read to the end of the stream and closed."""

    start: int
    items: list[Any] = field(default_factory=list)
    clean: list[tuple[int, int]] = field(default_factory=list)
    eof: bool = False


def _run(
    opener: Opener,
    path: str,
    start: int,
    lines: LineState,
    parse_kwargs: dict[str, Any],
    stop: Callable[[int], bool],
    give_up: int | None,
) -> Trajectory:
    """Parse from the clean point ``start`` until ``stop(end)`` holds for a record's end (that
    record included), the bytes fed pass ``give_up``, or the stream ends. Chunks are cut at
    multiples of the sources' chunk size from the stream's start, as a sequential read cuts them."""
    traj = Trajectory(start, clean=[(start, 0)])
    parser = _parser(path, start, lines, parse_kwargs)
    items, clean = traj.items, traj.clean
    with opener() as fh:
        fh.seek(start)
        at = start
        while True:
            want = CHUNK_SIZE - at % CHUNK_SIZE
            chunk = fh.read(want)
            final = not chunk
            out = parser.close_items() if final else parser.feed_items(chunk)
            at += len(chunk)
            for item in out:
                items.append(item)
                if isinstance(item, Moment):
                    end = item.origin.end if item.origin is not None else None
                    if end is not None:
                        clean.append((end, len(items)))
                        if not final and stop(end):
                            return traj
            if final:
                traj.eof = True
                return traj
            if give_up is not None and at > give_up:
                return traj


@dataclass
class Speculation:
    """Range ``block``'s trajectory (None: no document can start in or after it), split into the
    items of its own range (``own``: kept where they were made) and those past it (``spill``: few,
    sent to the plan)."""

    block: int
    start: int | None
    clean: list[tuple[int, int]]
    own_count: int
    spill: list[Any]
    eof: bool


def speculate(
    opener: Opener,
    path: str,
    block: int,
    bounds: list[int],
    seed: LineState,
    parse_kwargs: dict[str, Any],
) -> tuple[list[Any], Speculation]:
    """Range ``block``'s speculative parse: ``(own items, speculation)``."""
    size = bounds[-1]
    start_at, stop_at = bounds[block], bounds[block + 1]
    reader = parse_kwargs.get("reader") or reader_for(parse_kwargs.get("kinds", "checkpoint"))
    pattern = _candidates(reader.grammar.roots)
    with opener() as fh:
        cut = _cut(fh, start_at)
        start = 0 if block == 0 else _find(fh, pattern, start_at, size)
        following = _find(fh, pattern, stop_at, size) if stop_at < size else None
    if start is None:
        return [], Speculation(block, None, [], 0, [], True)
    lines = _seed_at(opener, cut, seed, start)
    blocksize = max(stop_at - start_at, 1)
    if following is None:
        traj = _run(opener, path, start, lines, parse_kwargs, lambda end: False, None)
    else:
        nxt = following
        traj = _run(opener, path, start, lines, parse_kwargs, lambda end: end > nxt, nxt + 2 * blocksize)
    keys = [item_key(item) for item in traj.items]
    own = bisect.bisect_left(keys, stop_at) if block + 1 < len(bounds) - 1 else len(keys)
    return traj.items[:own], Speculation(block, start, traj.clean, own, traj.items[own:], traj.eof)


# -- the plan -----------------------------------------------------------------------------------


@dataclass
class Plan:
    """For each range, its pieces in order: ``("own", a, b, first)`` (its own items ``a:b``) or
    ``("item", item, ordinal)``; ``first`` and ``ordinal`` are document indices in the stream."""

    pieces: list[list[tuple[Any, ...]]]
    total: int


def make_plan(
    opener: Opener,
    path: str,
    bounds: list[int],
    seeds: list[LineState],
    specs: list[Speculation],
    parse_kwargs: dict[str, Any],
) -> Plan:
    """Follow the true trajectory through the ranges' speculations (see the module docstring)."""
    runs = [s for s in specs if s.start is not None]
    where: dict[int, list[tuple[int, int]]] = {}  # clean point -> [(run number, count there)]
    for n, spec in enumerate(runs):
        for pos, count in spec.clean:
            where.setdefault(pos, []).append((n, count))
    blocks = len(bounds) - 1
    pieces: list[list[tuple[Any, ...]]] = [[] for _ in range(blocks)]
    ordinal = 0

    def place(item: Any) -> None:
        nonlocal ordinal
        key = item_key(item)
        block = min(max(bisect.bisect_right(bounds, key) - 1, 0), blocks - 1)
        pieces[block].append(("item", item, ordinal))
        ordinal += 1

    def take(spec: Speculation, a: int, b: int) -> None:
        nonlocal ordinal
        own_b = min(b, spec.own_count)
        if a < own_b:
            pieces[spec.block].append(("own", a, own_b, ordinal))
            ordinal += own_b - a
        for i in range(max(a, spec.own_count), b):
            place(spec.spill[i - spec.own_count])

    def later(pos: int, after: int) -> tuple[int, int] | None:
        found = [(n, count) for n, count in where.get(pos, ()) if n > after]
        return max(found) if found else None

    if not runs:
        return Plan(pieces, 0)
    current, frm = 0, 0
    while True:
        spec = runs[current]
        handed = False
        for pos, count in spec.clean:
            if count < frm:
                continue
            to = later(pos, current)
            if to is not None:
                take(spec, frm, count)
                current, frm = to
                handed = True
                break
        if handed:
            continue
        if spec.eof:
            take(spec, frm, spec.own_count + len(spec.spill))
            break
        # The range stopped before agreeing with any later one: parse on from its last clean
        # point (true, as the whole trajectory from the hand-in is) until one agrees.
        pos, count = spec.clean[-1]
        take(spec, frm, count)
        after = current
        block = bisect.bisect_right(bounds, pos) - 1
        lines = _seed_at_cut(opener, bounds, seeds, block, pos)
        repair = _run(opener, path, pos, lines, parse_kwargs, lambda end: later(end, after) is not None, None)
        for item in repair.items:
            place(item)
        if repair.eof:
            break
        current, frm = later(repair.clean[-1][0], after)  # type: ignore[misc]
    return Plan(pieces, ordinal)


def _seed_at_cut(opener: Opener, bounds: list[int], seeds: list[LineState], block: int, pos: int) -> LineState:
    block = min(max(block, 0), len(seeds) - 1)
    with opener() as fh:
        cut = _cut(fh, bounds[block])
    return _seed_at(opener, cut, seeds[block], pos)


def _renumber(item: Any, ordinal: int) -> Any:
    """Set an item's document index to its ordinal in the stream. The item was made by this
    range's own parser and is seen by no one else yet: set in place (a record's origin is
    replaced, through the slot, as the readers build records)."""
    if isinstance(item, Moment):
        o = item.origin
        if o is not None and o.index != ordinal:
            object.__setattr__(item, "origin", Origin(o.path, o.member, ordinal, o.offset, o.end))
    elif isinstance(item, CheckpointError):
        item.document = ordinal
    return item


def assemble(own: list[Any], pieces: list[tuple[Any, ...]]) -> list[Any]:
    """A range's items in stream order, with their document indices."""
    out: list[Any] = []
    for piece in pieces:
        if piece[0] == "own":
            _, a, b, first = piece
            out.extend(_renumber(item, first + i) for i, item in enumerate(own[a:b]))
        else:
            out.append(_renumber(piece[1], piece[2]))
    return out


def sequential_ranges(
    opener: Opener, path: str, blocksize: int, parse_kwargs: dict[str, Any], size: int | None = None
) -> list[list[Any]]:
    """Every range's items, computed here one after the other: what the Dask graph computes in
    parallel (tests and debugging use it without a cluster)."""
    if size is None:
        with opener() as fh:
            size = fh.seek(0, os.SEEK_END)
    bounds = boundaries(size, blocksize)
    summaries = [line_summary(opener, bounds[j], bounds[j + 1]) for j in range(len(bounds) - 1)]
    seeds = line_seeds(summaries)
    results = [speculate(opener, path, j, bounds, seeds[j], parse_kwargs) for j in range(len(bounds) - 1)]
    plan = make_plan(opener, path, bounds, seeds, [spec for _, spec in results], parse_kwargs)
    return [assemble(own, plan.pieces[j]) for j, (own, _) in enumerate(results)]
