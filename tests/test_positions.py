"""One position counter: every error case of the suite gives the same class, message, document
index, line, column, offset and path through every entry point.

The entry points: ``parse()``, ``iterparse`` over bytes, over a path and over a binary file,
``CheckpointParser.feed`` fed whole and in chunks of 1, 7, 4096 and 65536 bytes, ``aiterparse``,
and the command line (``validate``, whose report prints message, line, column, document and
offset). Each case is run alone and between two good documents, with its line ends as written, as
CR LF and as lone CR. Lines and columns are also checked against expat's own counting wherever the
error is expat's.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
from pathlib import Path
from typing import Any, Iterable
from xml.parsers import expat

import pytest

from checkpoint_stream import CheckpointError, CheckpointParser, aiterparse, iterparse, parse
from checkpoint_stream.cli import cli_message, main
from hostile_util import good

import test_fastpath_equivalence as equivalence
import test_schema_rules as schema_rules

MB = 1 << 20


def _cases() -> dict[str, bytes]:
    cases: dict[str, bytes] = {}
    for case in schema_rules.CASES:
        if case.err is not None and not case.redefine:
            cases[f"schema:{case.id}"] = case.doc.encode()
    base = equivalence.BASE.encode()
    for name, doc in equivalence.mutations().items():
        if not isinstance(equivalence.general(equivalence._cut(doc), equivalence._options("default")), equivalence.Checkpoint):
            cases[f"mutation:{name}"] = doc
    assert base not in cases.values()
    # limits, found by the framer while bytes arrive or by the reader at a complete tag
    small = good("x")
    cases["limit:attribute-2MiB"] = small.replace(b"bitmap='x'", b"bitmap='" + b"v" * (2 * MB) + b"'")
    cases["limit:attribute-2MiB-later-line"] = small.replace(b"<disk name='vda'", b"<disk\n\n  name='vda'").replace(b"bitmap='x'", b"bitmap='" + b"w" * (2 * MB) + b"'")
    cases["limit:text-2MiB"] = small.replace(b"<creationTime>1553647812</creationTime>", b"<description>" + b"t" * (2 * MB) + b"</description>")
    cases["limit:depth"] = small.replace(b"</disks>", b"</disks>\n  <domain type='kvm'>" + b"<a>" * 300 + b"</a>" * 300 + b"</domain>")
    cases["limit:attributes"] = small.replace(b"<disk name='vda'", b"<disk " + b" ".join(b"a%d='1'" % i for i in range(300)) + b" name='vda'")
    cases["garbage:text"] = b"hello there\n"
    cases["decl:version"] = b"<?xml version='2.0'?>\n" + small
    cases["decl:encoding"] = b"<?xml version='1.0' encoding='no-such-thing'?>\n" + small
    cases["utf8:invalid"] = small.replace(b"<name>x</name>", b"<name>x\xff</name>")
    cases["doctype"] = b"<!DOCTYPE domaincheckpoint [<!ENTITY e 'x'>]>\n" + small
    return cases


CASES = _cases()
LINE_ENDS = {"as written": lambda d: d, "CR LF": lambda d: d.replace(b"\n", b"\r\n"), "CR": lambda d: d.replace(b"\n", b"\r")}


def key(err: CheckpointError) -> tuple[Any, ...]:
    return (type(err).__name__, err.message, err.document, err.line, err.column, err.offset, err.path, err.source_line, err.source_column)


def cli_key(err: CheckpointError) -> tuple[Any, ...]:
    return (err.message, err.document, err.line, err.column, err.offset)


def _errors(items: Iterable[Any]) -> list[tuple[Any, ...]]:
    return [key(x) for x in items if isinstance(x, CheckpointError)]


def cli_expected(data: bytes) -> list[tuple[Any, ...]]:
    """What the command line prints of the errors of ``data``: the message with a limit's flag,
    the document index, the line and column counted from the start of the file, the offset."""
    parser = CheckpointParser(on_error="skip")
    items = parser.feed_items(data) + parser.close_items()
    return [
        (cli_message(x.message), x.document, x.source_line, x.source_column, x.offset)
        for x in items
        if isinstance(x, CheckpointError)
    ]


def via_feed(data: bytes, size: int) -> list[tuple[Any, ...]]:
    parser = CheckpointParser(on_error="skip")
    items: list[Any] = []
    for i in range(0, max(len(data), 1), size):
        items += parser.feed_items(data[i : i + size])
    items += parser.close_items()
    return _errors(items)


def via_async(data: bytes) -> list[tuple[Any, ...]]:
    async def chunks() -> Any:
        for i in range(0, len(data), 4096):
            yield data[i : i + 4096]

    async def collect() -> list[Any]:
        return [x async for x in aiterparse(chunks(), on_error="skip", yield_errors=True)]

    return _errors(asyncio.run(collect()))


_CLI_LINE = re.compile(r"^.+?:(?P<line>\d+):(?P<col>\d+): error: (?P<msg>.+) \(document (?P<doc>\d+), offset (?P<offset>\d+)\)$")


def via_cli(path: Path) -> list[tuple[Any, ...]]:
    return via_cli_args(path, "--kind", "checkpoint")


def via_cli_args(path: Path, *args: str) -> list[tuple[Any, ...]]:
    """The errors ``validate ARGS PATH`` prints: message, document, line, column, offset."""
    err = io.StringIO()
    out = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        main(["validate", "--no-progress", *args, str(path)])
    found = []
    for line in err.getvalue().splitlines():
        m = _CLI_LINE.match(line)
        assert m is not None, line
        found.append((m["msg"], int(m["doc"]), int(m["line"]), int(m["col"]), int(m["offset"])))
    return found


def _expat_position(doc: bytes) -> tuple[int, int] | None:
    parser = expat.ParserCreate("UTF-8")
    try:
        parser.Parse(doc, True)
    except expat.ExpatError as exc:
        return exc.lineno, exc.offset + 1
    return None


@pytest.mark.parametrize("ends", list(LINE_ENDS))
@pytest.mark.parametrize("name", list(CASES))
def test_every_entry_point_says_the_same(name: str, ends: str, tmp_path: Path) -> None:
    doc = LINE_ENDS[ends](CASES[name])
    for framing, data in (("alone", doc), ("between two good documents", good("before") + doc + b"\n" + good("after"))):
        expected = via_feed(data, len(data) + 1)
        assert expected, f"{name} ({ends}, {framing}): no error at all"
        path = tmp_path / "case.xml"
        path.write_bytes(data)
        with open(path, "rb") as fh:
            from_file = _errors(iterparse(fh, on_error="skip", yield_errors=True))
        got = {
            "iterparse(bytes)": _errors(iterparse(data, on_error="skip", yield_errors=True)),
            "iterparse(path)": _errors(iterparse(str(path), on_error="skip", yield_errors=True)),
            "iterparse(file)": from_file,
            "aiterparse": via_async(data),
            # byte by byte up to 64 KiB (a 2 MiB case fed a byte at a time proves no more than at 7)
            **{f"feed({n})": via_feed(data, n) for n in ((1, 7, 4096, 65536) if len(data) < 65536 else (7, 4096, 65536))},
        }
        for face, errors in got.items():
            assert errors == expected, f"{name} ({ends}, {framing}): {face} says {errors}, whole feed says {expected}"
        cli = via_cli(path)
        assert cli == cli_expected(data), f"{name} ({ends}, {framing}): the command line"
        if framing == "alone":  # one document: counted from the file's start or the document's, the same
            assert cli == [(cli_message(m), d, ln, c, o) for _, m, d, ln, c, o, _, _sl, _sc in expected], f"{name} ({ends}): the command line"
        if framing == "alone":
            with pytest.raises(CheckpointError) as raised:
                parse(data)
            assert key(raised.value) == expected[0], f"{name} ({ends}): parse()"
            first = expected[0]
            if first[0] == "NotWellFormedError" and first[1].startswith("not well-formed XML:") and b"<!DOCTYPE" not in data:
                position = _expat_position(data)
                if position is not None:
                    assert (first[3], first[4]) == position, f"{name} ({ends}): expat counts {position}"


def test_cr_line_ends_are_counted_as_expat_counts_them() -> None:
    """The case from the issue: a document with lone CR line ends, an error on its fourth line."""
    doc = b"<domaincheckpoint>\r  <name>c</name>\r  <disks>\r    <disk name='vda' bogus='1'/>\r  </disks>\r</domaincheckpoint>\r"
    with pytest.raises(CheckpointError) as one:
        parse(doc)
    (two,) = [x for x in iterparse(doc, on_error="skip", yield_errors=True) if isinstance(x, CheckpointError)]
    assert (one.value.line, one.value.column) == (two.line, two.column) == (4, 5)


def test_a_2_mib_attribute_is_one_error_wherever_it_is_read() -> None:
    """The case from the issue: a 2 MiB attribute value under default limits gives one message,
    at the value's first character, through parse() and iterparse(file)."""
    doc = CASES["limit:attribute-2MiB"]
    with pytest.raises(CheckpointError) as whole:
        parse(doc)
    (chunked,) = [x for x in iterparse(io.BytesIO(doc), on_error="skip", yield_errors=True) if isinstance(x, CheckpointError)]
    assert key(whole.value) == key(chunked)
    column = doc.split(b"\n")[4].index(b"bitmap='") + len(b"bitmap='") + 1
    assert (whole.value.line, whole.value.column) == (5, column)
    assert whole.value.message == "<disk> has an attribute value longer than 1048576 characters (limit max_text)"

