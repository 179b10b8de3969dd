"""Snapshot documents broken at random (bytes deleted, inserted, replaced, cut): every one is a
record or a CheckpointError, never another exception, and the fast and the general reader agree,
in every mode. The seeds are libvirt's own outputs (its layout, the fast reader's ground)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import snapshot_oracle_cases as oc
from checkpoint_stream import CheckpointError, iterparse
from checkpoint_stream.grammar import SNAPSHOT_GRAMMAR
from checkpoint_stream.readers import Reader

SEEDS = [a["xml"].encode() for a in oc.load_answers() if a.get("ok")]
FAST, GENERAL = Reader(SNAPSHOT_GRAMMAR), Reader(SNAPSHOT_GRAMMAR, fast=False)
PIECES = [b"<", b">", b"/>", b"'", b'"', b"&", b"&amp;", b"\x00", b"\xff", b"\r", b"\n", b" ", b"<!-- c -->", b"<disk name='vdz'/>",
          b"<source file='x'/>", b"snapshot='manual'", b"</disks>", b"<domainsnapshot>", b"</domain>", b"type='network'"]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))


@st.composite
def broken(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        how = draw(st.sampled_from(["delete", "insert", "replace", "cut"]))
        if how == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif how == "insert":
            data[at:at] = draw(st.sampled_from(PIECES))
        elif how == "replace" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif how == "cut":
            del data[at:]
    return bytes(data)


def _read(data: bytes, reader: Reader, **kwargs: object) -> list[object]:
    errors: list[CheckpointError] = []
    records = list(iterparse(data, reader=reader, on_error="skip", on_error_callback=errors.append, **kwargs))  # type: ignore[arg-type]
    return records + [(type(e).__name__, e.message, e.offset, e.path) for e in errors]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(broken(), st.sampled_from([{}, {"redefine": True}, {"create": True, "clock": lambda: 9}, {"internal": True}]))
def test_broken_snapshots_are_records_or_errors_and_both_readers_agree(data: bytes, mode: dict) -> None:
    assert _read(data, FAST, **mode) == _read(data, GENERAL, **mode)
