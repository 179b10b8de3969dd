"""Where elements stand in a document's bytes, found by a scan done only when an error is reported.

The readers keep no element positions while they parse (that would cost every document for the
sake of the few rejected ones). When an error needs one (the start tag a mismatched end tag should
have closed, the element a disk alignment rule is about), the bytes the parser has already
accepted are scanned once more here: tags, comments, CDATA sections, processing instructions and
quoted attribute values, which is all the structure well-formed XML can have. The bytes scanned
are those expat accepted, so nothing here judges them; a scan that meets something it cannot
follow simply stops.
"""

from __future__ import annotations

import re
from typing import Iterator

__all__ = ["open_elements", "find_element", "tag_name"]

_NAME = re.compile(rb"[^ \t\r\n/>]+")
_START_TAG = re.compile(rb"<([^ \t\r\n/>!?]+)(?:[^>'\"]|'[^']*'|\"[^\"]*\")*?(/?)>")
_END_TAG = re.compile(rb"</([^ \t\r\n>]+)[ \t\r\n]*>")
_STEP = re.compile(r"([^/\[\]]+)(?:\[([0-9]+)\])?")
_CLOSERS = ((b"<!--", b"-->"), (b"<![CDATA[", b"]]>"), (b"<?", b"?>"))


def _tags(data: bytes | bytearray, start: int, end: int) -> Iterator[tuple[bytes, int, bool]]:
    """The tags of ``data[start:end]`` in order: (name, where it starts, True for a start tag).
    An empty-element tag gives its start and its end."""
    i = start
    while True:
        i = data.find(b"<", i, end)
        if i < 0:
            return
        for opener, closer in _CLOSERS:
            if data.startswith(opener, i):
                j = data.find(closer, i + len(opener), end)
                if j < 0:
                    return
                i = j + len(closer)
                break
        else:
            if data.startswith(b"</", i):
                m = _END_TAG.match(data, i, end)
                if m is None:
                    return
                yield m.group(1), i, False
                i = m.end()
            elif data.startswith(b"<!", i):  # a DOCTYPE: its internal subset may hold '>'
                bracket, gt = data.find(b"[", i, end), data.find(b">", i, end)
                if 0 <= bracket < gt:
                    gt = data.find(b">", max(data.find(b"]", bracket, end), bracket), end)
                if gt < 0:
                    return
                i = gt + 1
            else:
                m = _START_TAG.match(data, i, end)
                if m is None:
                    return
                yield m.group(1), i, True
                if m.group(2):
                    yield m.group(1), i, False
                i = m.end()


def open_elements(data: bytes | bytearray, start: int, end: int) -> list[tuple[bytes, int]]:
    """The elements still open at ``data[end]`` in the document starting at ``data[start]``,
    outermost first: (name, where its start tag begins)."""
    stack: list[tuple[bytes, int]] = []
    for name, at, opening in _tags(data, start, end):
        if opening:
            stack.append((name, at))
        elif stack:
            stack.pop()
    return stack


def find_element(data: bytes | bytearray, start: int, end: int, path: str) -> int | None:
    """Where the start tag of the element named by ``path`` (``/a/b/c[2]``: the second ``<c>``
    child of ``/a/b``) begins in ``data[start:end]``; None when there is no such element."""
    steps = [(m.group(1).encode("utf-8"), int(m.group(2) or 1)) for m in _STEP.finditer(path)]
    if not steps:
        return None
    depth = 0  # elements open
    matched = 0  # how many of them are the path's first steps
    seen = 0  # children of the last matched element named as the next step, so far
    for name, at, opening in _tags(data, start, end):
        if opening:
            depth += 1
            if depth == matched + 1 and name == steps[matched][0]:
                seen += 1
                if seen == steps[matched][1]:
                    matched += 1
                    seen = 0
                    if matched == len(steps):
                        return at
        else:
            if depth == matched and matched:
                return None  # the last element matched closed without the next step
            depth -= 1
    return None


def element_end(data: bytes | bytearray, at: int, end: int) -> int | None:
    """Where the element whose start tag begins at ``data[at]`` ends (just after its end tag, or
    after its empty-element tag) within ``data[:end]``; None when it does not end there."""
    depth = 0
    for _name, where, opening in _tags(data, at, end):
        if opening:
            depth += 1
            continue
        depth -= 1
        if depth == 0:
            m = (_END_TAG if data[where + 1] == 0x2F else _START_TAG).match(data, where, end)  # '</', or '<x/>'
            return m.end() if m is not None else None
    return None


def tag_name(data: bytes | bytearray, at: int, limit: int = 64) -> str:
    """The name at ``data[at]`` (a tag's name, just after its ``<`` or ``</``), shortened to
    ``limit`` characters, for a message."""
    m = _NAME.match(data, at, at + 4 * limit + 4)
    name = m.group(0).decode("utf-8", "replace") if m is not None else "?"
    return name if len(name) <= limit else name[: limit - 3] + "..."
