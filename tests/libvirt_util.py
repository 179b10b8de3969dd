"""Whether real libvirt can be asked here, for the differential tests.

python3-libvirt lives in Debian's ``/usr/bin/python3``, which need not be the interpreter running
the tests: the tests ask libvirt through a driver run by that interpreter, and skip, saying why,
when it cannot import libvirt. Asked once per test session.
"""

from __future__ import annotations

import functools
import os
import subprocess

SYSTEM_PYTHON = "/usr/bin/python3"


@functools.lru_cache(maxsize=None)
def libvirt_unavailable() -> str | None:
    """Why real libvirt cannot be asked here (``None``: it can)."""
    if not os.path.exists(SYSTEM_PYTHON):
        return f"{SYSTEM_PYTHON} does not exist"
    try:
        proc = subprocess.run([SYSTEM_PYTHON, "-c", "import libvirt"], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot run {SYSTEM_PYTHON}: {exc}"
    if proc.returncode != 0:
        return f"python3-libvirt is not importable by {SYSTEM_PYTHON} (apt-get install python3-libvirt)"
    return None
