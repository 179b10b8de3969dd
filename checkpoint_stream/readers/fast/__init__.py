"""The fast reader, split by concern: :mod:`.regexgen` (value rules carried into patterns),
:mod:`.compile` (the document pattern and per-document function generated from the grammar),
:mod:`.disks` (the disk list), :mod:`.domain` and :mod:`.lines` (the nested domain), :mod:`.text`
(what expat would still check in a captured value), :mod:`.memory` (what it remembers) and
:mod:`.reader` (the entry points)."""

from .memory import Memory
from .reader import FastReader

__all__ = ["FastReader", "Memory"]
