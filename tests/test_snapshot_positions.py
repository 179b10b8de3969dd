"""One position counter for snapshots too: every snapshot document the library rejects (the
oracle cases' inputs and generated breakages of libvirt's outputs) gives the same class, message,
document index, line, column, offset and path through every entry point: ``parse()``, ``iterparse``
over bytes, a path and a binary file, ``CheckpointParser.feed`` whole and in chunks of 1, 7 and
4096 bytes, ``aiterparse`` and the command line; alone and between a good checkpoint and a good
snapshot (a mixed stream), with its line ends as written and as CR LF."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Iterable

import pytest

import snapshot_oracle_cases as oc
from checkpoint_stream import CheckpointError, CheckpointParser, aiterparse, iterparse, parse
from checkpoint_stream.cli import cli_message
from test_positions import cli_key, key, via_cli_args

BEFORE = b"<domaincheckpoint>\n  <name>before</name>\n</domaincheckpoint>\n"
AFTER = b"<domainsnapshot>\n  <name>after</name>\n</domainsnapshot>\n"


def _rejected() -> dict[str, bytes]:
    cases: dict[str, bytes] = {}
    for case in oc.cases():
        data = case["xml"].encode()
        if not data.strip():
            continue  # no document at all: parse() says so, a stream holds none (test_positions)
        parser = CheckpointParser(kinds="any", on_error="skip")
        parser.feed(data)
        parser.close()
        if parser.errors:  # a stream error (two roots are two documents to a stream: not one)
            cases[case["id"]] = data
    outputs = [a["xml"].encode() for a in oc.load_answers() if a.get("ok")][:12]
    for i, out in enumerate(outputs):  # libvirt's layout, broken one way each
        cases[f"layout/{i}-bogus"] = out.replace(b"  <disks>", b"  <bogus/>\n  <disks>", 1)
        cases[f"layout/{i}-mode"] = out.replace(b"snapshot='internal'", b"snapshot='bogus'", 1).replace(b"snapshot='external'", b"snapshot='bogus'", 1)
        cases[f"layout/{i}-cut"] = out[: len(out) // 2]
    return cases


CASES = _rejected()


def _errors(items: Iterable[Any]) -> list[tuple[Any, ...]]:
    return [key(x) for x in items if isinstance(x, CheckpointError)]


def _feed(data: bytes, size: int) -> list[tuple[Any, ...]]:
    parser = CheckpointParser(kinds="any", on_error="skip")
    items: list[Any] = []
    for i in range(0, max(len(data), 1), size):
        items += parser.feed_items(data[i : i + size])
    return _errors(items + parser.close_items())


def _async(data: bytes) -> list[tuple[Any, ...]]:
    async def chunks() -> Any:
        for i in range(0, len(data), 4096):
            yield data[i : i + 4096]

    async def collect() -> list[Any]:
        return [x async for x in aiterparse(chunks(), kinds="any", on_error="skip", yield_errors=True)]

    return _errors(asyncio.run(collect()))


def test_there_are_cases() -> None:
    assert len(CASES) >= 150


@pytest.mark.parametrize("ends", ["as written", "CR LF"])
@pytest.mark.parametrize("name", list(CASES))
def test_every_entry_point_says_the_same(name: str, ends: str, tmp_path: Path) -> None:
    doc = CASES[name] if ends == "as written" else CASES[name].replace(b"\n", b"\r\n")
    for framing, data in (("alone", doc), ("mixed", BEFORE + doc + b"\n" + AFTER)):
        expected = _feed(data, len(data) + 1)
        assert expected, f"{name} ({framing}): no error"
        path = tmp_path / "case.xml"
        path.write_bytes(data)
        with open(path, "rb") as fh:
            from_file = _errors(iterparse(fh, kinds="any", on_error="skip", yield_errors=True))
        got = {
            "iterparse(bytes)": _errors(iterparse(data, kinds="any", on_error="skip", yield_errors=True)),
            "iterparse(path)": _errors(iterparse(str(path), kinds="any", on_error="skip", yield_errors=True)),
            "iterparse(file)": from_file,
            "aiterparse": _async(data),
            **{f"feed({n})": _feed(data, n) for n in (1, 7, 4096)},
        }
        for face, errors in got.items():
            assert errors == expected, f"{name} ({ends}, {framing}): {face} says {errors}, whole feed says {expected}"
        cli = via_cli_args(path, "--kind", "any")
        assert [c[0] for c in cli] == [cli_message(e[1]) for e in expected], f"{name} ({ends}, {framing}): the command line"
        if framing == "alone":
            assert cli == [(cli_message(m), d, ln, c, o) for _, m, d, ln, c, o, _, _sl, _sc in expected]
            with pytest.raises(CheckpointError) as raised:
                parse(data, kinds="any")
            assert key(raised.value) == expected[0], f"{name} ({ends}): parse()"
            assert cli_key(raised.value)[0] == expected[0][1]
