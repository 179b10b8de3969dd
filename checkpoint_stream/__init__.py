"""checkpoint_stream: stream-parse, validate and write libvirt ``<domaincheckpoint>`` XML.

The pieces, from the inside out: :mod:`.schema` (the grammar, as data), :mod:`.machine` (the
handler state machine), :mod:`.expat_driver` and :mod:`.fastpath` (the two event sources),
:mod:`.framing` (many documents in one byte stream), :mod:`.api` (parse / iterparse /
aiterparse / CheckpointParser), :mod:`.writer`, :mod:`.align`, :mod:`.sources` and :mod:`.cli`.
"""

from .api import CheckpointParser, aiterparse, iterparse, parse
from .errors import CheckpointError, LimitError, NotWellFormedError, SchemaError, SecurityError, SemanticError
from .limits import DEFAULT_LIMITS, Limits
from .records import Checkpoint, CheckpointDisk, Domain, DomainDisk, Moment, Origin
from .sources import SourceError, iter_sources

__all__ = [
    "parse",
    "iterparse",
    "aiterparse",
    "CheckpointParser",
    "iter_sources",
    "SourceError",
    "Checkpoint",
    "CheckpointDisk",
    "Moment",
    "Domain",
    "DomainDisk",
    "Origin",
    "CheckpointError",
    "NotWellFormedError",
    "SchemaError",
    "SemanticError",
    "LimitError",
    "SecurityError",
    "Limits",
    "DEFAULT_LIMITS",
]

__version__ = "0.1.0"
