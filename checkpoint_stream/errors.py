"""One exception family for everything a document can get wrong.

Every error derives from :class:`CheckpointError`, itself a :class:`ValueError`, so callers that
only want "bad input" can catch ``ValueError`` while a pipeline can tell a broken byte stream
(:class:`NotWellFormedError`) from a document that is XML but not a checkpoint
(:class:`SchemaError`) from one that breaks a rule of the chosen mode (:class:`SemanticError`).

Positions are attached by the layer that knows them (the expat driver, the framer, the source
reader), so the state machine stays free of I/O, as in h11.
"""

from __future__ import annotations

__all__ = [
    "CheckpointStreamError",
    "CheckpointError",
    "NotWellFormedError",
    "SchemaError",
    "SemanticError",
    "LimitError",
    "SecurityError",
]


class CheckpointStreamError(Exception):
    """Everything this library raises for its input: a rejected document (:class:`CheckpointError`,
    a ``ValueError``) or an input that could not be read (:class:`~.sources.SourceError`, an
    ``OSError``). ``except CheckpointStreamError`` catches both, while the standard bases still let
    ``except ValueError`` / ``except OSError`` code tell bad data from failed I/O."""


class CheckpointError(ValueError, CheckpointStreamError):
    """A document in the stream was rejected.

    Attributes (all may be ``None`` when the layer raising the error could not know them):

    * ``message`` -- what is wrong and, where it helps, what to write instead;
    * ``document`` -- 0-based index of the document in its stream;
    * ``line`` / ``column`` -- 1-based, counted from the first byte of that document (what libvirt,
      which sees one document at a time, would say);
    * ``source_line`` / ``source_column`` -- 1-based, counted from the first byte of the stream:
      the file, archive member or standard input (what ``grep -n`` and an editor say);
    * ``offset`` -- byte offset in the whole stream where the problem was found;
    * ``between_documents`` -- True for garbage between documents (a log line, a stray tag): an
      entry of the stream that is no document at all;
    * ``path`` -- element path such as ``/domaincheckpoint/disks/disk[2]``;
    * ``source`` -- file path (and archive member) the stream came from;
    * ``checkpoint`` / ``domain_uuid`` -- the rejected document's checkpoint name and domain uuid,
      when they could be read from the bytes at hand (best effort: see :mod:`.markup.identity`).
    """

    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        document: int | None = None,
        line: int | None = None,
        column: int | None = None,
        offset: int | None = None,
        path: str | None = None,
        source: str | None = None,
        member: str | None = None,
        source_line: int | None = None,
        source_column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.document = document
        self.line = line
        self.column = column
        self.offset = offset
        self.path = path
        self.source = source
        self.member = member
        self.source_line = source_line
        self.source_column = source_column
        self.between_documents = False
        self.checkpoint: str | None = None
        self.domain_uuid: str | None = None

    def __str__(self) -> str:
        return self.described()

    def described(self, *, document: bool = True) -> str:
        """The message with where it was found: ``(document N, line L, column C, at PATH)``,
        the parts that are known (``document=False``: for a report that names it otherwise)."""
        where = []
        if document and self.document is not None:
            where.append(f"document {self.document}")
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column}")
        if self.path:
            where.append(f"at {self.path}")
        return f"{self.message} ({', '.join(where)})" if where else self.message

    def __reduce__(self) -> tuple[object, ...]:  # keep the keyword-only fields through pickling (multiprocessing)
        return (_rebuild, (type(self), self.message, self.__dict__))

    def located(self, **where: object) -> "CheckpointError":
        """Fill in the position fields that are still unknown, and return self."""
        for key, value in where.items():
            if value is not None and getattr(self, key, None) is None:
                setattr(self, key, value)
        return self

    def to_dict(self) -> dict[str, object]:
        """The error as JSON-ready data (used by the CLI's skip mode)."""
        return {
            "error": type(self).__name__,
            "message": self.message,
            "document": self.document,
            "line": self.line,
            "column": self.column,
            "sourceLine": self.source_line,
            "sourceColumn": self.source_column,
            "betweenDocuments": self.between_documents,
            "offset": self.offset,
            "path": self.path,
            "source": self.source,
            "member": self.member,
        }


def _rebuild(cls: type[CheckpointError], message: str, state: dict[str, object]) -> CheckpointError:
    err = cls.__new__(cls)
    ValueError.__init__(err, message)
    err.__dict__.update(state)
    return err


class NotWellFormedError(CheckpointError):
    """The bytes are not a well-formed XML document (expat's verdict, or the framer's)."""


class SchemaError(CheckpointError):
    """Well-formed XML that libvirt's ``domaincheckpoint.rng`` would reject."""


class SemanticError(CheckpointError):
    """Valid against the schema, but breaks a rule of the mode (redefine, create) or of disk
    alignment, as libvirt's parser or driver layer would."""


class LimitError(CheckpointError):
    """A resource limit (document size, depth, attribute length, ...) was exceeded."""


class SecurityError(NotWellFormedError):
    """A DTD, entity declaration or external reference: refused before anything is expanded."""
