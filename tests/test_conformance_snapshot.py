"""libvirt 9.0's own snapshot test data (qemudomainsnapshotxml2xmltest): every snapshot row of the
conformance MANIFEST.tsv, byte for byte.

libvirt's test program parses each input with the row's parse flags (``REDEFINE``, ``INTERNAL``
or none), lets its post-parse hook set the name and time of a plain create (``creationTime=N`` in
harness_adjustments, or nothing when the mock clock is 0), and formats with the row's format flags
(``SECURE``, ``INTERNAL``, ``CURRENT``) and the uuid it was given (printed as ``<domain><uuid>``
when the document holds no domain; ``TEST_RUNNING`` forces the state to running). The same steps
here: ``parse(kinds="snapshot")`` in the matching mode, then ``dumps``; the result must be the
expected output file exactly. The rows run against ``../shared/conformance/libvirt`` when present
and against this repository's own copy in ``tests/cases/conformance``.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from checkpoint_stream import CheckpointError, SchemaError, Snapshot, parse
from checkpoint_stream.writer import dumps

from test_conformance import OWN, SHARED, params

#: The uuid libvirt's snapshot test program gives the formatter (the manifest abbreviates it).
TEST_UUID = "9d37b878-a7cc-9f9a-b78f-49b3abad25a8"


PARAMS = params(SHARED, "shared", "snapshot") + params(OWN, "own", "snapshot")


def _harness(row: dict[str, str]) -> tuple[dict, str | None]:
    """The parse keywords and the formatter's uuid libvirt's test program uses for ``row``."""
    flags = set(row["parse_flags"].split("|")) - {"-"}
    adjust = row["harness_adjustments"]
    if "REDEFINE" in flags:
        kwargs: dict = {"redefine": True, "require_domain": False, "internal": "INTERNAL" in flags}
    else:
        m = re.search(r"creationTime=(\d+)", adjust)
        when = int(m.group(1)) if m else 0
        kwargs = {"create": True, "clock": lambda: when}
    uuid = None if re.search(r"uuid NULL", adjust) else TEST_UUID if "9d37b878" in adjust else None
    return kwargs, uuid


@pytest.mark.parametrize("root,row", PARAMS)
def test_snapshot_row(root: Path, row: dict[str, str]) -> None:
    data = (root / row["input"]).read_bytes()
    if row["expected_output"] == "-":  # checked by libvirt's schema test only
        if row["libvirt_expects"].startswith("pass"):
            assert isinstance(parse(data, kinds="snapshot"), Snapshot)
        else:
            with pytest.raises(SchemaError) as info:
                parse(data, kinds="snapshot")
            assert info.value.line is not None and info.value.path is not None
        return
    kwargs, uuid = _harness(row)
    record = parse(data, kinds="snapshot", **kwargs)
    assert isinstance(record, Snapshot)
    if "TEST_RUNNING" in row["harness_adjustments"]:
        record = dataclasses.replace(record, state="running")
    formats = set(row["format_flags"].split(" ")[0].split("|"))
    if "CURRENT" in formats:
        assert record.active is True
    text = dumps(record, secure="SECURE" in formats, internal="INTERNAL" in formats, uuid=uuid)
    assert text == (root / row["expected_output"]).read_text("utf-8")


@pytest.mark.parametrize("root,row", [p for p in PARAMS if p.values[1] is None or p.values[1]["expected_output"] != "-"])
def test_expected_output_round_trips(root: Path, row: dict[str, str]) -> None:
    """libvirt's output read back and written again is the same bytes, in every mode that reads
    it (write(parse(x)) == x for libvirt's own output)."""
    expected = (root / row["expected_output"]).read_text("utf-8")
    internal = "<active>" in expected
    record = parse(expected, kinds="snapshot", internal=internal)
    assert dumps(record, secure=True, internal=internal) == expected
    assert parse(dumps(record, secure=True, internal=internal), kinds="snapshot", internal=internal) == record


def test_kinds_guard_the_root() -> None:
    """A snapshot is an error where only checkpoints are accepted, and the reverse; 'any' takes both."""
    snapshot = "<domainsnapshot><name>s</name></domainsnapshot>"
    with pytest.raises(SchemaError, match="expecting root element of 'domaincheckpoint', not 'domainsnapshot'"):
        parse(snapshot)
    with pytest.raises(SchemaError, match="expecting root element of 'domainsnapshot', not 'domaincheckpoint'"):
        parse("<domaincheckpoint><name>c</name></domaincheckpoint>", kinds="snapshot")
    assert isinstance(parse(snapshot, kinds="any"), Snapshot)
    with pytest.raises(ValueError):
        parse(snapshot, kinds="snapshots")  # type: ignore[arg-type]
    with pytest.raises(CheckpointError):
        parse("<domainsnapshot><name>s</name></domainsnapshot>", kinds="snapshot", redefine=True)
