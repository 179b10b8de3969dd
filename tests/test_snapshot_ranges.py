"""Byte ranges (scale-out) over a stream mixing checkpoints and snapshots: every block size gives
the sequential parse's records, errors and document indices (kinds='any' and 'snapshot')."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import checkpoint_stream as cs
from checkpoint_stream.scaleout import ranges

DOCS = [
    b"<domaincheckpoint>\n  <name>c1</name>\n  <creationTime>5</creationTime>\n</domaincheckpoint>\n",
    b"<domainsnapshot>\n  <name>s 1</name>\n  <state>running</state>\n  <memory snapshot='no'/>\n</domainsnapshot>\n",
    b"<?xml version='1.0'?>\n<domainsnapshot><name>s2</name><disks><disk name='vda' snapshot='external'><source file='/a'/></disk></disks></domainsnapshot>",
    b"<domainsnapshot><name>bad</name><bogus/></domainsnapshot>",
    b"<domainsnapshot><name>cut",
    b"junk line\n",
]


def key(item: Any) -> tuple[Any, ...]:
    if isinstance(item, cs.CheckpointError):
        return (type(item).__name__, item.message, item.document, item.line, item.column, item.offset)
    o = item.origin
    return ("record", item, o.index, o.offset, o.end)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.sampled_from(DOCS), max_size=8), cut=st.integers(1, 1 << 16), kinds=st.sampled_from(["any", "snapshot"]))
def test_ranges_equal_the_sequential_parse(tmp_path: Path, parts: list[bytes], cut: int, kinds: str) -> None:
    data = b"".join(parts)
    path = tmp_path / "mixed.log"
    path.write_bytes(data)
    want = [key(i) for i in cs.iter_sources([str(path)], on_error="skip", kinds=kinds)]
    blocksize = 1 + cut % (len(data) + 8)
    got = [key(i) for p in ranges.sequential_ranges(lambda: open(path, "rb"), str(path), blocksize, {"kinds": kinds}) for i in p]
    assert got == want


def test_dataframe_rows_say_the_kind() -> None:
    import pytest

    pytest.importorskip("dask", reason="dask is in the 'dask' extra: pip install '.[dask]'")
    from checkpoint_stream import dask as cd

    snap = cs.parse(DOCS[2], kinds="snapshot")
    point = cs.parse(DOCS[0])
    rows = cd._rows([point, snap], per_disk=False)
    assert [r[cd.RECORD_COLUMNS.index("kind")] for r in rows] == ["checkpoint", "snapshot"]
    disks = cd._rows([snap], per_disk=True)
    assert len(disks) == 1 and disks[0][cd.DISK_COLUMNS.index("snapshot")] == "external"
    assert disks[0][cd.DISK_COLUMNS.index("checkpoint")] is None
