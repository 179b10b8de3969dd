"""Helpers for tests that run the two readers apart: the fast reader alone, the general reader
alone, on one complete document, with the grammar and memory of a given Reader."""

from __future__ import annotations

import re
from typing import Any

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
        g.remember = None  # alone: what it judges is not offered to the fast reader's memory
        if not g.feed(len(doc), True):
            return CheckpointError("no root end")
        return g.finish(Origin(None, None, 0, 0))
    except CheckpointError as err:
        err.line, err.column = locate(doc, 0, err.offset or 0)
        return err


def forget(reader: Reader = READER) -> None:
    reader.forget()


_TOKEN = re.compile(rb"<[^<>]*>|[^<]+")
#: What edit_domain_tags may insert, by operation.
TAG_EDITS = {
    "text": [b"t", b" ", b"\n\t", b"a&amp;b", b"&#x41;", b"a>b"],
    "space": [b" ", b"\n    ", b"\t\t"],
    "deep": [b"<a>" * 14 + b"</a>" * 14],
    "comment": [b"<!-- c -->"],
    "ref": [b"<title>a&amp;b</title>"],
}


def edit_domain_tags(doc: bytes, data: Any, ops: list[str]) -> bytes:
    """``doc`` with its nested domain edited at the level of tags, 1 to 3 times, by operations
    drawn (hypothesis ``data``) from ``ops``: drop, repeat, swap or wrap a token, insert one of
    TAG_EDITS' pieces, double-quote a tag's attributes or spread them over lines."""
    from hypothesis import strategies as st

    begin = doc.index(b"<domain ")
    end = doc.index(b"</domain>") + len(b"</domain>")
    tokens = _TOKEN.findall(doc[begin:end])
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(1, len(tokens) - 2))
        op = data.draw(st.sampled_from(ops))
        if op == "drop":
            del tokens[i]
        elif op == "repeat":
            tokens.insert(i, tokens[i])
        elif op == "swap":
            j = data.draw(st.integers(1, len(tokens) - 2))
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif op == "wrap":
            tokens[i : i + 1] = [b"<x>", tokens[i], b"</x>"]
        elif op in TAG_EDITS:
            tokens.insert(i, data.draw(st.sampled_from(TAG_EDITS[op])))
        elif op == "quote":
            tokens[i] = tokens[i].replace(b"'", b'"')
        elif op == "spread":
            tokens[i] = tokens[i].replace(b" ", b"\n\t ")
        else:
            raise ValueError(op)
    return doc[:begin] + b"".join(tokens) + doc[end:]
