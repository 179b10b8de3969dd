"""libvirt 9.0's own checkpoint test data: every checkpoint row of the conformance MANIFEST.tsv.

Each row gives an input document, the parse flags libvirt's test program passes and libvirt's
verdict (``pass``/``fail``). Flags map to modes: ``REDEFINE`` -> ``redefine=True``; ``-`` ->
the default document mode, and also create mode with the clock the harness pins
(``creationTime=N`` in harness_adjustments), which is what libvirt's test program does.

The rows run twice: against ``../shared/conformance/libvirt`` when present (skipped with a
reason otherwise) and against this repository's own copy in ``tests/cases/conformance``.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from checkpoint_stream import CheckpointError, SchemaError, parse

HERE = Path(__file__).resolve().parent
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "conformance" / "libvirt"
OWN = HERE / "cases" / "conformance"


def rows(root: Path, kind: str = "checkpoint") -> list[dict[str, str]]:
    lines = [line for line in (root / "MANIFEST.tsv").read_text("utf-8").splitlines() if line and not line.startswith("#")]
    return [row for row in csv.DictReader(lines, delimiter="\t") if row["kind"] == kind]


def params(root: Path, label: str, kind: str = "checkpoint") -> list:
    """One test parameter per ``kind`` row of ``root``'s manifest, or one skipped with the reason."""
    if not (root / "MANIFEST.tsv").is_file():
        reason = f"{label} conformance data not found at {root} (the shared folder is absent in this checkout)"
        return [pytest.param(None, None, id=f"{label}-absent", marks=pytest.mark.skip(reason=reason))]
    return [pytest.param(root, row, id=f"{label}-{row['case'].replace(' ', '_')}") for row in rows(root, kind)]


PARAMS = params(SHARED, "shared") + params(OWN, "own")


def _harness_time(row: dict[str, str]) -> int | None:
    m = re.search(r"creationTime=(\d+)", row["harness_adjustments"])
    return int(m.group(1)) if m else None


def _modes(row: dict[str, str]) -> list[dict]:
    if row["parse_flags"] == "REDEFINE":
        return [{"redefine": True}]
    assert row["parse_flags"] == "-", row["parse_flags"]
    modes: list[dict] = [{}]
    when = _harness_time(row)
    if when is not None:
        modes.append({"create": True, "clock": lambda: when})
    return modes


@pytest.mark.parametrize("root,row", PARAMS)
def test_libvirt_verdict(root: Path, row: dict[str, str]) -> None:
    data = (root / row["input"]).read_bytes()
    for kwargs in _modes(row):
        if row["libvirt_expects"] == "pass":
            record = parse(data, **kwargs)
            assert record.origin is not None and record.origin.index == 0
        else:
            assert row["libvirt_expects"] == "fail"
            with pytest.raises(CheckpointError) as info:
                parse(data, **kwargs)
            # every failing checkpoint row is a schema failure in libvirt (schema_check column)
            assert row["schema_check"].startswith("invalid")
            assert isinstance(info.value, SchemaError), info.value
            assert info.value.line is not None


@pytest.mark.parametrize("root,row", [p for p in PARAMS if p.values[1] is None or p.values[1]["libvirt_expects"] == "pass"])
def test_expected_output_agrees_with_the_record(root: Path, row: dict[str, str]) -> None:
    """libvirt's expected output, read back, carries what the input said (and, in create mode
    with the harness clock, the generated name and time)."""
    source = parse((root / row["input"]).read_bytes(), **_modes(row)[0])
    expected = parse((root / row["expected_output"]).read_bytes(), redefine=True, require_domain=False)
    assert expected.description == source.description
    if row["parse_flags"] == "REDEFINE":
        assert expected == source  # out->out round trip: the same document
        return
    when = _harness_time(row)
    created = parse((root / row["input"]).read_bytes(), create=True, clock=lambda: when)
    assert created.creation_time == expected.creation_time == when
    assert created.name == expected.name
    assert created.parent is None and created.domain is None  # create mode never reads them
    for disk in created.disks:  # disks as requested; libvirt fills bitmap names afterwards
        match = [d for d in expected.disks if d.name == disk.name]
        assert match and match[0].checkpoint == disk.checkpoint


def test_internal_rows_fail_with_the_internal_hint() -> None:
    """The internal-*-invalid rows are rejected because of <active>, and the message says how
    to read them anyway."""
    for root in (SHARED, OWN):
        if not (root / "MANIFEST.tsv").is_file():
            continue
        for row in rows(root):
            if "internal-" not in row["case"]:
                continue
            data = (root / row["input"]).read_bytes()
            with pytest.raises(SchemaError, match=r"internal=True") as info:
                parse(data)
            assert info.value.path == "/domaincheckpoint/active"
            assert parse(data, internal=True).active is (b"<active>1</active>" in data)


def test_own_copy_matches_shared() -> None:
    if not (SHARED / "MANIFEST.tsv").is_file():
        pytest.skip(f"shared conformance data not found at {SHARED}: nothing to compare the copy with")
    own = {row["case"]: row for row in rows(OWN)}
    for row in rows(SHARED):
        assert own[row["case"]] == row
        assert (OWN / row["input"]).read_bytes() == (SHARED / row["input"]).read_bytes()
