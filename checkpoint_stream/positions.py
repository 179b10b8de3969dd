"""The one position counter: where a byte offset lies, as a line and a column.

Errors carry byte offsets (cheap to keep, exact whatever the chunking); a line and a column are
worked out from the bytes only when an error is raised, here, so that every entry point (a whole
document, a stream fed in chunks of any size, a file, an archive member) says the same thing.

Lines end at LF, CR LF or a lone CR, as XML's end-of-line handling (and expat) count them.
Columns count characters, as expat does: UTF-8 decoded, an undecodable byte counting as one.
"""

from __future__ import annotations

__all__ = ["locate"]


def locate(data: bytes | bytearray, start: int, offset: int) -> tuple[int, int]:
    """Line and column (both 1-based) of ``data[start + offset]``, counted from ``data[start]``."""
    end = min(start + max(offset, 0), len(data))
    line = 1 + data.count(b"\n", start, end) + data.count(b"\r", start, end) - data.count(b"\r\n", start, end)
    line_start = max(data.rfind(b"\n", start, end), data.rfind(b"\r", start, end)) + 1
    if line_start < start:
        line_start = start
    column = len(bytes(data[line_start:end]).decode("utf-8", "surrogateescape")) + 1
    return line, column
