"""The async face: aiterparse over an async iterable of bytes and over an asyncio.StreamReader."""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

import pytest

import checkpoint_stream as cs

DOCS = [
    b"<domaincheckpoint><name>a</name></domaincheckpoint>\n",
    b"<?xml version='1.0'?>\n<domaincheckpoint><name>b</name><disks><disk name='vda'/></disks></domaincheckpoint>",
    b"<domaincheckpoint><name>.bad</name></domaincheckpoint>",
    b"<!-- between --><domaincheckpoint><name>c</name></domaincheckpoint>",
]
STREAM = b"".join(DOCS)


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        await asyncio.sleep(0)
        yield data[i : i + size]


async def _collect(source, **kwargs) -> list:
    return [item async for item in cs.aiterparse(source, **kwargs)]


@pytest.mark.parametrize("size", [1, 7, 64, len(STREAM)])
def test_async_iterable_gives_the_same_items_as_iterparse(size: int) -> None:
    expected = list(cs.iterparse(STREAM, on_error="skip", yield_errors=True))
    got = asyncio.run(_collect(_chunks(STREAM, size), on_error="skip", yield_errors=True))
    assert [r for r in got if isinstance(r, cs.Checkpoint)] == [r for r in expected if isinstance(r, cs.Checkpoint)]
    assert [r.name for r in got if isinstance(r, cs.Checkpoint)] == ["a", "b", "c"]
    errors = [(type(e), e.document, e.line, e.column) for e in got if isinstance(e, cs.CheckpointError)]
    assert errors == [(type(e), e.document, e.line, e.column) for e in expected if isinstance(e, cs.CheckpointError)]
    assert errors and errors[0][0] is cs.SchemaError and errors[0][1] == 2


def test_stream_reader_source_and_raise_mode() -> None:
    async def run() -> tuple[list, BaseException | None]:
        reader = asyncio.StreamReader()
        reader.feed_data(DOCS[0])
        reader.feed_data(DOCS[1])
        reader.feed_data(DOCS[2])
        reader.feed_eof()
        got: list = []
        try:
            async for record in cs.aiterparse(reader, chunk_size=5):
                got.append(record)
        except cs.CheckpointError as err:
            return got, err
        return got, None

    got, err = asyncio.run(run())
    assert [r.name for r in got] == ["a", "b"]
    assert isinstance(err, cs.SchemaError) and err.document == 2


def test_record_arrives_before_the_stream_ends() -> None:
    async def run() -> str:
        reader = asyncio.StreamReader()
        reader.feed_data(DOCS[0])  # no EOF: the stream stays open
        agen = cs.aiterparse(reader)
        record = await asyncio.wait_for(agen.__anext__(), timeout=10)
        reader.feed_eof()
        await agen.aclose()
        return record.name

    assert asyncio.run(run()) == "a"
