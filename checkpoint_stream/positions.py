"""The one position counter: where a byte offset lies, as a line and a column.

Errors carry byte offsets (cheap to keep, exact whatever the chunking); a line and a column are
worked out from the bytes only when an error is raised, here, so that every entry point (a whole
document, a stream fed in chunks of any size, a file, an archive member) says the same thing.

Lines end at LF, CR LF or a lone CR, as XML's end-of-line handling (and expat) count them.
Columns count characters, as expat does: UTF-8 decoded, an undecodable byte counting as one.

A stream's bytes are dropped once consumed (the framer keeps constant memory), so positions
counted from the stream's first byte need what the dropped bytes held: :class:`DroppedLines` keeps
that as three numbers, updated once per drop, never per document or per event.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["locate", "DroppedLines", "StreamPosition", "utf8_cut"]


def locate(data: bytes | bytearray, start: int, offset: int) -> tuple[int, int]:
    """Line and column (both 1-based) of ``data[start + offset]``, counted from ``data[start]``."""
    end = min(start + max(offset, 0), len(data))
    breaks, last = _line_breaks(data, start, end)
    return 1 + breaks, _chars(data, last + 1 if last >= 0 else start, end) + 1


def _line_breaks(data: bytes | bytearray, start: int, end: int) -> tuple[int, int]:
    """The line breaks in ``data[start:end]`` (LF, CR LF, a lone CR) and the index of the last
    break's last byte (-1 when none): the one home of the line rule. A CR is searched for first
    (memchr): most streams hold none, and then one count is all it costs."""
    breaks = data.count(b"\n", start, end)
    last = data.rfind(b"\n", start, end) if breaks else -1
    if data.find(b"\r", start, end) >= 0:
        breaks += data.count(b"\r", start, end) - data.count(b"\r\n", start, end)
        last = max(last, data.rfind(b"\r", start, end))
    return breaks, last


def _chars(data: bytes | bytearray, start: int, end: int) -> int:
    """Characters in ``data[start:end]`` by :func:`locate`'s rule, without copying the bytes."""
    if start >= end:
        return 0
    with memoryview(data) as view:
        return len(str(view[start:end], "utf-8", "surrogateescape"))


def utf8_cut(data: bytes | bytearray, end: int) -> int:
    """Where to cut ``data`` at or just before ``end`` so that no UTF-8 sequence still unfinished
    at ``end`` is split: the characters counted on each side of the cut then add up to those
    counted over the whole (a split sequence would count byte by byte on the first side)."""
    for back in range(1, 4):
        i = end - back
        if i < 0:
            break
        byte = data[i]
        if byte < 0x80:
            break
        if byte >= 0xC0:  # a lead byte: is its sequence still short of its length at ``end``?
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return i if back < need else end
    return end


class DroppedLines:
    """What the bytes dropped from a stream's start held, for line and column counting: line breaks,
    the characters of the unfinished last line, and whether they ended with a CR (an LF first in
    what follows then ends no further line).

    Callers cut with :func:`utf8_cut`, so no character spans a drop. :meth:`locate` also remembers
    the last place it located (a mark, in the kept bytes), and counts from there when asked for a
    later one: the errors of a stream come in stream order, so locating all of them in a large
    buffer stays linear."""

    __slots__ = ("lines", "tail", "cr", "mark", "mark_line", "mark_column")

    def __init__(self) -> None:
        self.lines = 0
        self.tail = 0
        self.cr = False
        self._unmark()

    def _unmark(self) -> None:
        # Counting starts again from the kept bytes' start, whose line and column are those of
        # the dropped bytes' end (read then: a caller may set the three counts before any use).
        self.mark = -1  # else an index in the kept bytes, never inside a UTF-8 sequence
        self.mark_line = 0  # the stream's line there
        self.mark_column = 0  # characters before it on that line

    def drop(self, data: bytes | bytearray, end: int) -> None:
        """Account for ``data[:end]``, about to be dropped (O(end), once per byte of the stream)."""
        if end <= 0:
            return
        breaks, last = _line_breaks(data, 0, end)
        if self.cr and data[0] == 0x0A:
            breaks -= 1  # the LF of a CR LF pair cut by the previous drop
        self.lines += breaks
        self.tail = _chars(data, last + 1, end) if last >= 0 else self.tail + _chars(data, 0, end)
        self.cr = data[end - 1] == 0x0D
        if self.mark >= end:
            self.mark -= end
        else:
            self._unmark()

    def locate(self, data: bytes | bytearray, index: int) -> tuple[int, int]:
        """Line and column (1-based, counted from the stream's first byte) of ``data[index]``, where
        ``data`` holds the bytes kept after every drop so far."""
        index = min(max(index, 0), len(data))
        cut = utf8_cut(data, index)  # what lies between is one unfinished sequence: a byte, a column
        if cut < self.mark:
            self._unmark()
        if self.mark < 0:
            self.mark, self.mark_line, self.mark_column = 0, self.lines + 1, self.tail
        m = self.mark
        breaks, line_start = _line_breaks(data, m, cut)
        if m < cut and data[m] == 0x0A and (data[m - 1] == 0x0D if m else self.cr):
            breaks -= 1  # the LF of a CR LF pair the mark (or a drop) cut: its line was counted
        if line_start >= 0:
            column = _chars(data, line_start + 1, cut)
        else:
            column = self.mark_column + _chars(data, m, cut)
        self.mark, self.mark_line, self.mark_column = cut, self.mark_line + breaks, column
        return self.mark_line, column + index - cut + 1


@dataclass(frozen=True)
class StreamPosition:
    """A place in a stream where a parser can start instead of at its first byte: the byte
    ``offset``, the stream's line breaks before it (``lines``), the characters of its unfinished
    last line (``tail``), whether the bytes before it end with a CR (``cr``: an LF first in what
    follows then ends no further line), and the index of the next document (``index``).

    A parser started there (:meth:`~.api.CheckpointParser.resume_at`) and fed the stream's bytes
    from ``offset`` reports every offset, line, column and document index as one that read the
    whole stream would, provided ``offset`` is a clean point: the stream's start, or the end of a
    good document (``origin.end``), where the framer keeps nothing but the position. That is how
    one huge stream is parsed in byte ranges by several processes
    (:mod:`checkpoint_stream.scaleout.ranges`)."""

    offset: int = 0
    lines: int = 0
    tail: int = 0
    cr: bool = False
    index: int = 0
