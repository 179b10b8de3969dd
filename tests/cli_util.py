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


def env() -> dict[str, str]:
    """The environment the command runs in: this repository's package first on the path."""
    return dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def command(*args: str) -> list[str]:
    """The argument vector of ``checkpoint-stream ARGS`` (for Popen, when run() will not do)."""
    return [sys.executable, "-m", "checkpoint_stream", *args]


def json_lines(text: bytes) -> list[dict]:
    """Every line of ``text`` as a JSON object: a line that is not one fails the test (stdout and
    stderr of ``--errors json`` must hold nothing else)."""
    import json

    objects = []
    for line in text.decode().splitlines():
        value = json.loads(line)
        assert isinstance(value, dict), line
        objects.append(value)
    return objects


def read_pty(master: int) -> bytes:
    """All that was written to a pseudo-terminal's other side, once nobody holds it open any more
    (EIO, on Linux, then says the writers are gone)."""
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    return seen
