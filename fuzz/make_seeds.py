"""Write the seed corpus for the atheris harness into a directory (default: fuzz/corpus)."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from corpus_seed import BIG_SEEDS, SEEDS, WARM, stream  # noqa: E402

args = [a for a in sys.argv[1:] if a != "--raw"]
raw = "--raw" in sys.argv  # for fuzz_fastpath.py: one document per seed, no chunk-size prefix
out = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
os.makedirs(out, exist_ok=True)
seeds = WARM + [d.rstrip() for d in WARM] + SEEDS if raw else SEEDS + BIG_SEEDS + WARM + [stream()]
for i, seed in enumerate(seeds):
    with open(os.path.join(out, f"seed{i}"), "wb") as fh:
        fh.write(seed if raw else b"\x10\x20" + seed)  # two bytes for the chunk sizes, then the stream
print(out)
