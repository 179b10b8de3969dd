"""The package type-checks under ``mypy --strict`` (setup.cfg's [mypy] section), so that the
hints a user's IDE and type checker read are complete and true."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_package_is_clean_under_mypy_strict() -> None:
    pytest.importorskip("mypy", reason="mypy is not installed (pip install mypy): the strict type check cannot run here")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "setup.cfg"), "checkpoint_stream"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout
