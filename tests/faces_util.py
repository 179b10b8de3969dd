"""Every public face of the parser run on the same bytes, for tests parametrised over the faces
(as ijson's tests run each input kind): ``parse``, ``iterparse``, ``aiterparse`` (fed in two
chunks), ``iter_sources`` and ``CheckpointParser``."""

from __future__ import annotations

import asyncio
from typing import Any

import checkpoint_stream as cs

FACES = ("parse", "iterparse", "aiterparse", "iter_sources", "CheckpointParser")


def collect(face: str, data: bytes, split: int = 7, **kwargs: Any) -> list[Any]:
    """What ``face`` makes of ``data``, as a list (``aiterparse`` gets it cut at ``split``)."""
    if face == "parse":
        return [cs.parse(data, **kwargs)]
    if face == "iterparse":
        return list(cs.iterparse(data, **kwargs))
    if face == "iter_sources":
        return list(cs.iter_sources(data, **kwargs))
    if face == "CheckpointParser":
        parser = cs.CheckpointParser(**kwargs)
        return parser.feed(data) + parser.close()

    async def chunks() -> Any:
        yield data[:split]
        yield data[split:]

    async def run() -> list[Any]:
        return [item async for item in cs.aiterparse(chunks(), **kwargs)]

    return asyncio.run(run())
