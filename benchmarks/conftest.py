"""Benchmarks run only when asked (setup.cfg's testpaths is ``tests`` and addopts has
``--benchmark-disable``)::

    python3 -m pytest benchmarks --benchmark-enable -p no:cacheprovider

Peers and the memory check: ``python3 benchmarks/peers.py`` (see its docstring).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # for ``import corpus``
sys.path.insert(0, str(HERE.parent))  # the package, when not installed
