"""One document's prolog and epilog as libxml2 (so libvirt) judges them, and what may stand between
two documents of a stream (#12, item 5).

Each case is a document with something before or after it, and libvirt 9.0's verdict on it
(recorded with ``shared/tools/libvirt-oracle``): the recorded verdicts are asserted against
``parse()`` always, and against live libvirt when python3-libvirt is installed. The stream rule is
that a stream of one document is judged as libvirt judges that document; between two documents the
previous one's epilog meets the next one's prolog (README, "Framing").
"""

from __future__ import annotations

import pytest

from checkpoint_stream import CheckpointError, CheckpointParser, parse

from test_differential_libvirt import _driver, _libvirt_available

DOC = "<domaincheckpoint><name>c1</name></domaincheckpoint>"
DOC2 = "<domaincheckpoint><name>c2</name></domaincheckpoint>"
BOM = "\ufeff"
DECL = "<?xml version='1.0'?>"

#: (before, after, libvirt accepts, what our error says when it refuses)
CASES: list[tuple[str, str, bool, str | None]] = [
    ("", "", True, None),
    (" " + DECL, "", False, "XML declaration allowed only at the start of the document"),
    ("\n" + DECL + "\n", "\n", False, "XML declaration allowed only at the start of the document"),
    ("<!-- c -->" + DECL, "", False, "XML declaration allowed only at the start of the document"),
    ("<?pi x?>" + DECL, "", False, "XML declaration allowed only at the start of the document"),
    ("<?XML x?>", "", False, "Invalid PI name"),
    ("<?Xml?>", "", False, "Invalid PI name"),
    ("", "<?XML x?>", False, "Invalid PI name"),
    ("<? x?>", "", False, "no target name"),
    ("<?1pi?>", "", False, "no target name"),
    ("", "<? x?>", False, "no target name"),
    ("<!-- a -- b -->", "", False, "Double hyphen within comment"),
    ("<!-- a --->", "", False, "Double hyphen within comment"),
    ("", "<!-- a -- b -->", False, "Double hyphen within comment"),
    ("", "<!-- a --->", False, "Double hyphen within comment"),
    ("<!-- \x01 -->", "", False, "control character"),
    ("<?pi \x01?>", "", False, "control character"),
    ("<!--->", "", False, "garbage"),
    (BOM + BOM, "", False, "second byte order mark"),
    (" " + BOM, "", False, "byte order mark after the start of the stream"),
    ("<!-- c -->" + BOM, "", False, "byte order mark after the start of the stream"),
    ("", BOM, False, "byte order mark that begins no document"),
    ("", BOM + " <!-- c -->", False, "byte order mark that begins no document"),
    (BOM + " " + DECL, "", False, "XML declaration allowed only at the start of the document"),
    ("", DECL, False, None),
    ("", "text", False, "garbage between documents"),
    ("", "\n" + DECL + "\n", False, None),
    (DECL.replace("1.0", "1."), "", True, None),
    (DECL.replace("1.0", "1.5"), "", True, None),
    (DECL.replace("1.0", "1"), "", False, "unsupported XML version"),
    (DECL.replace("1.0", "0.9"), "", False, "unsupported XML version"),
    (DECL.replace("1.0", "10.0"), "", False, "unsupported XML version"),
    (BOM + DECL, "", True, None),
    (BOM + " <!-- c -->\n", "", True, None),
    (BOM, "", True, None),
    ("\r\n<!-- c -->", "", True, None),
    ("<?xmlfoo?>", "<?xmlfoo?>", True, None),
    ("<?xml-stylesheet href='a'?>", "", True, None),
    ("<?a:b?>", "", True, None),
    ("<?pi?><?pi-x?><?pi\tx??>", "<?pi?><!---->\n", True, None),
    ("<!---->", "<!-- - -->", True, None),
    (DECL + "<!-- c --><?pi x?>\n", "\n<!-- end -->\n", True, None),
]


def _case_id(case: tuple[str, str, bool, str | None]) -> str:
    return repr(case[0] + "|" + case[1])[:60]


@pytest.mark.parametrize("before, after, accepted, says", CASES, ids=[_case_id(c) for c in CASES])
def test_one_document_as_libxml2_judges_it(before: str, after: str, accepted: bool, says: str | None) -> None:
    data = (before + DOC + after).encode("utf-8")
    if accepted:
        assert parse(data).name == "c1"
        return
    with pytest.raises(CheckpointError) as info:
        parse(data)
    if says is not None:
        assert says in str(info.value)


@pytest.mark.parametrize("before, after, accepted, says", CASES, ids=[_case_id(c) for c in CASES])
def test_verdict_does_not_depend_on_chunking(before: str, after: str, accepted: bool, says: str | None) -> None:
    data = (before + DOC + after).encode("utf-8")

    def items(size: int) -> list[tuple[str, object]]:
        p = CheckpointParser(on_error="skip")
        got = []
        for i in range(0, len(data), size):
            got += p.feed_items(data[i : i + size])
        got += p.close_items()
        return [(type(x).__name__, str(x)) for x in got]

    whole = items(len(data))
    kinds = [kind for kind, _ in whole]
    assert (kinds == ["Checkpoint"]) if accepted else any(kind != "Checkpoint" for kind in kinds)
    for size in (1, 2, 3, 7):
        assert items(size) == whole, size


def test_between_documents_the_epilog_meets_the_next_prolog() -> None:
    """A declaration may follow the previous document's epilog (whitespace, comments, PIs), and a
    byte order mark may begin the next document once, as `cat a.xml b.xml` makes them."""
    ok = [
        DOC + "\n" + DECL + "\n" + DOC2,
        DOC + "\n<!-- end of a -->\n<?pi x?>" + DECL + DOC2,
        DOC + "\n" + BOM + DECL + "\n" + DOC2,
        DOC + "\n<!-- a -->" + BOM + "\n<!-- b -->\n" + DOC2,
        BOM + DECL + DOC + "\n" + BOM + DECL + DOC2 + "\n",
    ]
    for stream in ok:
        p = CheckpointParser(on_error="skip")
        got = p.feed_items(stream.encode()) + p.close_items()
        assert [getattr(x, "name", x) for x in got] == ["c1", "c2"], stream


@pytest.mark.parametrize(
    "gap, says",
    [
        ("\n" + BOM + " " + DECL, "XML declaration allowed only at the start of the document"),
        ("\n" + BOM + BOM + DECL, "second byte order mark"),
        ("<!-- a -- b -->", "Double hyphen within comment"),
        ("<?XML x?>", "Invalid PI name"),
    ],
)
def test_between_documents_a_fault_loses_no_valid_document(gap: str, says: str) -> None:
    stream = (DOC + gap + DOC2 + "\n" + DOC.replace("c1", "c3")).encode()
    p = CheckpointParser(on_error="skip")
    got = p.feed_items(stream) + p.close_items()
    names = [x.name for x in got if not isinstance(x, CheckpointError)]
    errors = [str(x) for x in got if isinstance(x, CheckpointError)]
    assert len(errors) == 1 and says in errors[0]
    # A misplaced declaration breaks the document it begins (libvirt refuses that document);
    # anything else is garbage of its own, and the documents around it are kept.
    assert names == (["c1", "c3"] if "declaration" in says else ["c1", "c2", "c3"])


@pytest.fixture(scope="module")
def libvirt_driver():  # type: ignore[no-untyped-def]
    reason = _libvirt_available()
    if reason:
        pytest.skip(f"libvirt unavailable, differential test not run: {reason}")
    return _driver()


def test_recorded_verdicts_are_libvirts(libvirt_driver) -> None:  # type: ignore[no-untyped-def]
    requests = [{"op": "checkpoint", "xml": before + DOC + after, "flags": 0} for before, after, _, _ in CASES]
    answers = libvirt_driver.run_batch(requests)
    wrong = [
        (before + "|" + after, ans)
        for (before, after, accepted, _), ans in zip(CASES, answers)
        if ans["ok"] != accepted
    ]
    assert not wrong
