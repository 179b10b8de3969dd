"""Write the seed corpus for the atheris harness into a directory (default: fuzz/corpus)."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from corpus_seed import BIG_SEEDS, SEEDS, stream  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
os.makedirs(out, exist_ok=True)
for i, seed in enumerate(SEEDS + BIG_SEEDS + [stream()]):
    with open(os.path.join(out, f"seed{i}"), "wb") as fh:
        fh.write(b"\x10\x20" + seed)  # two bytes for the chunk sizes, then the stream
print(out)
