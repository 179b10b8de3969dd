"""checkpoint_stream: stream-parse, validate and write libvirt ``<domaincheckpoint>`` XML.

The layers, from the bottom up (each imports only from the layers below it):

* :mod:`.errors`, :mod:`.limits`, :mod:`.positions` -- the error family, resource limits, and the
  one place where a byte offset becomes a line and a column; :mod:`.libvirt_schemas` -- the nested
  domain judged by libvirt's own RELAX NG schemas, on request (lxml imported only then);
* :mod:`.grammar` -- every rule, as data: values, elements, the checkpoint grammar with its field
  mapping and libvirt's layout, the nested domain's top;
* :mod:`.markup` -- the defused expat parser, a domain's indentation, its top and its facts, and
  what libvirt shows of a domain only on request (its secrets);
* :mod:`.records` -- what a document is (``Checkpoint``, ``Domain``, ...);
* :mod:`.readers` -- the general reader (expat events through a state machine) and the fast
  reader (patterns generated from the grammar), both derived from one grammar;
* :mod:`.framing` -- many documents in one byte stream, fed in chunks of any size;
* :mod:`.sources` -- files, folders, compressed files, archives, pipes, standard input;
* :mod:`.api` -- the faces: ``parse``, ``iterparse``, ``aiterparse``, ``CheckpointParser``,
  ``iter_sources``, and the one on_error policy;
* :mod:`.writer` and :mod:`.align` -- libvirt's output layout, and its disk alignment;
* :mod:`.chain` -- the archive-level view: per VM, the checkpoint tree, its problems and the
  redefine order (``chains``, ``build_chains``, ``ChainBuilder``);
* :mod:`.cli` -- the ``checkpoint-stream`` command.
"""

from .align import align_disks
from .api import CheckpointParser, aiterparse, iter_sources, iterparse, parse
from .chain import Chain, ChainBuilder, Problem, build_chains, chains
from .errors import (
    CheckpointError,
    CheckpointStreamError,
    LimitError,
    NotWellFormedError,
    SchemaError,
    SecurityError,
    SemanticError,
)
from .libvirt_schemas import LibvirtSchemas, LibvirtSchemasUnavailable
from .libvirt_schemas import resolve as load_libvirt_schemas
from .limits import DEFAULT_LIMITS, Limits
from .records import Checkpoint, CheckpointDisk, Domain, DomainDisk, Moment, Origin, Snapshot, SnapshotDisk, output_schema
from .sources import SourceError
from .version import __version__
from .writer import dumps, iter_xml, write

__all__ = [
    "parse",
    "iterparse",
    "aiterparse",
    "CheckpointParser",
    "iter_sources",
    "dumps",
    "write",
    "iter_xml",
    "align_disks",
    "chains",
    "build_chains",
    "ChainBuilder",
    "Chain",
    "Problem",
    "SourceError",
    "Checkpoint",
    "CheckpointDisk",
    "Snapshot",
    "SnapshotDisk",
    "Moment",
    "Domain",
    "DomainDisk",
    "Origin",
    "output_schema",
    "CheckpointStreamError",
    "CheckpointError",
    "NotWellFormedError",
    "SchemaError",
    "SemanticError",
    "LimitError",
    "SecurityError",
    "Limits",
    "DEFAULT_LIMITS",
    "load_libvirt_schemas",
    "LibvirtSchemas",
    "LibvirtSchemasUnavailable",
    "__version__",
]


def __dir__() -> list[str]:
    """The public names only: the submodules stay importable (``checkpoint_stream.records``...)
    but are not offered as if they were the API."""
    return sorted(__all__)
