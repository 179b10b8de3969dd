"""Helpers for tests that run the two readers apart: the fast reader alone, the general reader
alone, on one complete document, with the grammar and memory of a given Reader."""

from __future__ import annotations

from checkpoint_stream.errors import CheckpointError
from checkpoint_stream.limits import DEFAULT_LIMITS, Limits
from checkpoint_stream.positions import locate
from checkpoint_stream.readers import DEFAULT_READER, Options, Reader
from checkpoint_stream.records import Checkpoint, Origin

READER = DEFAULT_READER


def fast_parse(doc: bytes, options: Options, limits: Limits = DEFAULT_LIMITS, origin: Origin | None = None, reader: Reader = READER) -> Checkpoint | None:
    """The fast reader alone (variants included): a record, or None for "not mine"."""
    assert reader.fast is not None
    return reader.fast.parse(doc, options, limits, origin)


def general(doc: bytes, options: Options, limits: Limits = DEFAULT_LIMITS, reader: Reader = READER) -> Checkpoint | CheckpointError:
    """The general reader alone, as the framer drives it for a whole document: the record, or
    the error with its position worked out as the framer does."""
    try:
        g = reader.general(options, limits, doc, 0)
        if not g.feed(len(doc), True):
            return CheckpointError("no root end")
        return g.finish(Origin(None, None, 0, 0))
    except CheckpointError as err:
        err.line, err.column = locate(doc, 0, err.offset or 0)
        return err


def forget(reader: Reader = READER) -> None:
    reader.forget()
