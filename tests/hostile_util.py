"""Helpers for the hostile-input and fuzz tests (owned by the hostile helper)."""

from __future__ import annotations

from typing import Any, Iterable

from checkpoint_stream.api import CheckpointParser
from checkpoint_stream.errors import CheckpointError
from checkpoint_stream.records import Checkpoint


def good(name: str) -> bytes:
    """A small valid document (no domain: valid in the default mode)."""
    return (
        "<domaincheckpoint>\n"
        f"  <name>{name}</name>\n"
        "  <creationTime>1553647812</creationTime>\n"
        "  <disks>\n"
        f"    <disk name='vda' checkpoint='bitmap' bitmap='{name}'/>\n"
        "  </disks>\n"
        "</domaincheckpoint>\n"
    ).encode()


def items_of(chunks: Iterable[bytes], **kwargs: Any) -> list[Checkpoint | CheckpointError]:
    """Every item (records and errors, in stream order) of a skip-mode parse of ``chunks``."""
    parser = CheckpointParser(on_error="skip", **kwargs)
    items: list[Checkpoint | CheckpointError] = []
    for chunk in chunks:
        items += parser.feed_items(chunk)
    items += parser.close_items()
    return items


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


def shape(items: list[Checkpoint | CheckpointError]) -> list[str]:
    """Records as their names, errors as their class names."""
    return [type(x).__name__ if isinstance(x, CheckpointError) else f"record:{x.name}" for x in items]


def sandwich(bad: bytes, sizes: Iterable[int] = (1 << 30, 64 * 1024, 7, 1)) -> list[list[Checkpoint | CheckpointError]]:
    """``good(before) + bad + good(after)`` parsed whole and in chunks of each size."""
    data = good("before") + bad + b"\n" + good("after")
    return [items_of(chunked(data, n)) for n in sizes]
