"""The readers: a document's bytes in, a validated record (or a positioned error) out.

Two readers, both derived from one :class:`~..grammar.Grammar`: the general reader
(:mod:`.general`, expat events driving the state machine of :mod:`.machine`), which reads any
document and words every error, and the fast reader (:mod:`.fast`), which takes documents in
libvirt's own layout by patterns generated from the same rules and leaves everything else to the
general one. :mod:`.modes` holds the parse modes both apply. A :class:`Reader` bundles them for one
grammar with the fast reader's memory; the faces use :data:`DEFAULT_READER` unless given another.
No I/O happens here.
"""

from __future__ import annotations

from ..grammar import ANY_GRAMMAR, GRAMMAR, SNAPSHOT_GRAMMAR, Grammar
from ..limits import Limits
from .fast import FastReader, Memory
from .general import GeneralDocument
from .modes import Options, build_checkpoint

__all__ = ["Reader", "DEFAULT_READER", "KINDS", "reader_for", "Options", "GeneralDocument", "FastReader", "Memory", "build_checkpoint"]


class Reader:
    """Both readers for one grammar, and what the fast one remembers.

    ``memory``: the fast reader's :class:`~.fast.memory.Memory` (a new one by default); readers
    that should share what they learnt pass the same one. ``fast=False`` gives the general reader
    alone (every document read through expat events): slower, the same results.
    """

    def __init__(self, grammar: Grammar = GRAMMAR, *, memory: Memory | None = None, fast: bool = True) -> None:
        self.grammar = grammar
        self.memory = memory if memory is not None else Memory()
        self.fast: FastReader | None = FastReader(grammar, self.memory) if fast else None

    def general(self, options: Options, limits: Limits, buffer: bytes | bytearray, start: int) -> GeneralDocument:
        """A general reader for the document starting at ``buffer[start]``; a domain it judges is
        offered to the fast reader's memory (:meth:`.fast.reader.FastReader.remember_read`)."""
        document = GeneralDocument(self.grammar, options, limits, buffer, start)
        if self.fast is not None:
            document.remember = self.fast.remember_read
        return document

    def forget(self) -> None:
        """Drop what the fast reader remembers, as in a new reader. Results never depend on it;
        benchmarks use it to read a corpus as never seen before."""
        self.memory.forget()


#: The reader the faces use by default: libvirt 9.0's grammar. Its memory is bounded (see
#: :mod:`.fast.memory`) and shared by the calls that do not bring their own reader.
DEFAULT_READER = Reader()


#: The kinds of document a caller may accept: ``checkpoint`` (the default), ``snapshot``, ``any``.
KINDS = ("checkpoint", "snapshot", "any")
_KIND_READERS: dict[str, Reader] = {"checkpoint": DEFAULT_READER}


def reader_for(kinds: str) -> Reader:
    """The shared reader for documents of ``kinds`` (one of :data:`KINDS`); made on first use."""
    reader = _KIND_READERS.get(kinds)
    if reader is None:
        if kinds not in KINDS:
            raise ValueError(f"kinds must be one of {', '.join(map(repr, KINDS))}, not {kinds!r}")
        grammar = SNAPSHOT_GRAMMAR if kinds == "snapshot" else ANY_GRAMMAR
        reader = _KIND_READERS[kinds] = Reader(grammar, memory=DEFAULT_READER.memory)
    return reader
