"""The API fits Python habits (toward issue #15, item 5): paths, typed keywords, one error family,
the top level holding the API and nothing else."""

from __future__ import annotations

import asyncio
import gzip
import types
from pathlib import Path

import pytest

import checkpoint_stream as cs
from checkpoint_stream import CheckpointStreamError, NotWellFormedError, SourceError

DOC = b"<domaincheckpoint>\n  <name>a</name>\n  <creationTime>5</creationTime>\n</domaincheckpoint>\n"
TWO = DOC + DOC.replace(b">a<", b">b<")


def test_parse_reads_a_path(tmp_path: Path) -> None:
    plain = tmp_path / "one.xml"
    plain.write_bytes(DOC)
    packed = tmp_path / "one.xml.gz"
    packed.write_bytes(gzip.compress(DOC))
    assert cs.parse(plain) == cs.parse(DOC) == cs.parse(packed)
    origin = cs.parse(plain).origin
    assert origin is not None and origin.path == str(plain)
    assert cs.parse(DOC.decode()).name == "a"  # a str is the document's text, never a path
    two = tmp_path / "two.xml"
    two.write_bytes(TWO)
    with pytest.raises(NotWellFormedError, match="expected one document"):
        cs.parse(two)
    empty = tmp_path / "empty.xml"
    empty.write_bytes(b"")
    with pytest.raises(NotWellFormedError, match="no document found"):
        cs.parse(empty)
    with pytest.raises(SourceError):
        cs.parse(tmp_path / "missing.xml")


def test_keywords_are_checked_by_name() -> None:
    with pytest.raises(TypeError, match="redefin"):
        cs.parse(DOC, redefin=True)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="on_error"):
        cs.parse(DOC, on_error="skip")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="redefin"):
        cs.CheckpointParser(redefin=True)
    with pytest.raises(TypeError, match="redefin"):
        list(cs.iterparse(DOC, redefin=True))
    assert cs.parse(DOC, redefine=True, require_domain=False, max_depth=64).name == "a"
    with pytest.raises(cs.LimitError):
        cs.parse(DOC, max_text=1)


def test_aiterparse_takes_paths_and_binary_files(tmp_path: Path) -> None:
    folder = tmp_path / "vm"
    folder.mkdir()
    (folder / "1.xml").write_bytes(DOC)
    (folder / "2.xml").write_bytes(TWO)

    async def collect(source: object) -> list[str | None]:
        return [getattr(r, "name", None) async for r in cs.aiterparse(source)]

    expected = [getattr(r, "name", None) for r in cs.iterparse(str(folder))]
    assert asyncio.run(collect(str(folder))) == expected == ["a", "a", "b"]
    assert asyncio.run(collect(folder)) == expected
    with open(folder / "2.xml", "rb") as fh:
        assert asyncio.run(collect(fh)) == ["a", "b"]


def test_one_error_family() -> None:
    assert issubclass(cs.CheckpointError, CheckpointStreamError) and issubclass(cs.CheckpointError, ValueError)
    assert issubclass(SourceError, CheckpointStreamError) and issubclass(SourceError, OSError)
    for bad in (b"<nope/>", Path("/nonexistent/checkpoint.xml")):
        with pytest.raises(CheckpointStreamError):
            cs.parse(bad)


def test_top_level_is_the_api() -> None:
    for name in ("dumps", "write", "iter_xml", "align_disks"):
        assert callable(getattr(cs, name)) and name in cs.__all__
    shown = dir(cs)
    assert shown == sorted(cs.__all__)
    assert not any(isinstance(getattr(cs, name), types.ModuleType) for name in shown)
    assert isinstance(cs.records, types.ModuleType)  # still importable, just not offered
    record = cs.parse(DOC)
    assert cs.parse(cs.dumps(record)) == record
