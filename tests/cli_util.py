"""Running the command line as a user does, for the CLI tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(
    *args: str, input: bytes | None = None, timeout: float = 60, forbid: tuple[bytes, ...] = (b"Traceback",)
) -> subprocess.CompletedProcess:
    """``checkpoint-stream ARGS`` from the repository, stdin ``input``; nothing in ``forbid`` may
    appear on stderr (never a Python traceback)."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [sys.executable, "-m", "checkpoint_stream", *args],
        input=input if input is not None else b"",
        capture_output=True,
        timeout=timeout,
        cwd=REPO,
        env=env,
    )
    for text in forbid:
        assert text not in proc.stderr, proc.stderr.decode()
    return proc
