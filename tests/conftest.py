"""Shared test fixtures.

``../shared`` (the conformance data and the libvirt oracle) sits beside the repository in the
team's workplace and in CI. The project must work without it: tests that read it use the
``shared_dir`` fixture, which skips with a stated reason when it is absent, and keep copies of
the cases they need under ``tests/cases/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CASES = Path(__file__).resolve().parent / "cases"


@pytest.fixture
def shared_dir() -> Path:
    if not (SHARED / "conformance" / "libvirt" / "MANIFEST.tsv").is_file():
        pytest.skip(f"../shared is not present beside the repository ({SHARED}): libvirt conformance data unavailable")
    return SHARED


@pytest.fixture
def cases_dir() -> Path:
    return CASES
