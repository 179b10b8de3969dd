"""The snapshot fast reader (readers/fast/moments.py) against the general reader: the same records
and the same errors on every document, and the same change when a rule of the grammar changes.

Documents: libvirt's snapshot test files, the 339 oracle cases (inputs, and libvirt's outputs:
its own layout), and generated records written in libvirt's layout, in every parse mode. The fast
reader must also actually take libvirt's layout (else it would prove nothing): the share it takes
is asserted.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import snapshot_oracle_cases as oc
from checkpoint_stream import CheckpointError, iterparse
from checkpoint_stream.grammar import SNAPSHOT_GRAMMAR, Grammar
from checkpoint_stream.grammar.snapshot import SNAPSHOT
from checkpoint_stream.grammar.values import ValueRule
from checkpoint_stream.limits import DEFAULT_LIMITS
from checkpoint_stream.readers import Options, Reader
from checkpoint_stream.writer import dumps
from test_snapshot_roundtrip import snapshots

HERE = Path(__file__).resolve().parent
FILES = sorted((HERE / "cases" / "conformance" / "snapshot").glob("*/*.xml"))
OUTPUTS = [a["xml"].encode() for a in oc.load_answers() if a.get("ok")] + [p.read_bytes() for p in FILES if p.parent.name == "out"]
# libvirt's outputs also with double quotes (ElementTree's) and CR LF line ends: the fast reader's
# variants (readers/fast/reader.py parse_variant) must give what the general reader gives.
VARIANTS = [d.replace(b"'", b'"') for d in OUTPUTS[::7]] + [d.replace(b"\n", b"\r\n") for d in OUTPUTS[::7]]
DOCUMENTS = [p.read_bytes() for p in FILES] + [c["xml"].encode() for c in oc.cases()] + OUTPUTS + VARIANTS
MODES = [{}, {"redefine": True}, {"redefine": True, "require_domain": False}, {"create": True, "clock": lambda: 7}, {"internal": True}]


def _read(data: bytes, reader: Reader, **kwargs: object) -> list[object]:
    errors: list[CheckpointError] = []
    records: list[object] = list(iterparse(data, reader=reader, on_error="skip", on_error_callback=errors.append, **kwargs))  # type: ignore[arg-type]
    return records + [(e.message, e.offset, e.line, e.column, e.path) for e in errors]


def _both(grammar: Grammar) -> tuple[Reader, Reader]:
    return Reader(grammar), Reader(grammar, fast=False)


@pytest.mark.parametrize("mode", range(len(MODES)), ids=["document", "redefine", "redefine-relaxed", "create", "internal"])
def test_fast_and_general_agree_on_every_document(mode: int) -> None:
    fast, general = _both(SNAPSHOT_GRAMMAR)
    kwargs = MODES[mode]
    for data in DOCUMENTS:
        assert _read(data, fast, **kwargs) == _read(data, general, **kwargs), data[:200]


def test_the_fast_reader_takes_libvirts_layout() -> None:
    fast, _ = _both(SNAPSHOT_GRAMMAR)
    assert fast.fast is not None
    taken = [d for d in OUTPUTS if fast.fast.parse(d.strip(), Options(internal=b"<active>" in d), DEFAULT_LIMITS) is not None]
    # What it leaves: sources holding elements (network hosts, seclabels), old-style <domain><uuid>.
    assert len(taken) >= 0.9 * len(OUTPUTS), (len(taken), len(OUTPUTS))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(snapshots())
def test_generated_documents_read_alike(record: object) -> None:
    fast, general = _both(SNAPSHOT_GRAMMAR)
    data = dumps(record, secure=True).encode()  # type: ignore[arg-type]
    for kwargs in MODES:
        assert _read(data, fast, **kwargs) == _read(data, general, **kwargs)


def _changed(rule_key: str, **changes: object) -> Grammar:
    rules = dict(SNAPSHOT.rules)
    rules[rule_key] = dataclasses.replace(rules[rule_key], **changes)  # type: ignore[arg-type]
    return Grammar(dataclasses.replace(SNAPSHOT, rules=rules), SNAPSHOT_GRAMMAR.domain)


def test_a_changed_rule_changes_both_readers() -> None:
    """One rule edited in the grammar (disk modes without 'manual'; states without 'crashed'):
    both readers follow it, and the fast reader still takes the documents the rule allows."""
    disk = SNAPSHOT.rules["disk"]
    no_manual = ValueRule("disk snapshot mode", choices=("no", "internal", "external"), message="bad mode {value!r}")
    grammar = _changed("disk", attributes={**disk.attributes, "snapshot": no_manual})
    doc = b"<domainsnapshot>\n  <name>s</name>\n  <disks>\n    <disk name='vda' snapshot='%s'/>\n  </disks>\n</domainsnapshot>"
    fast, general = _both(grammar)
    for mode in (b"manual", b"internal"):
        assert _read(doc % mode, fast) == _read(doc % mode, general)
    assert fast.fast is not None and fast.fast.parse(doc % b"manual", Options(), DEFAULT_LIMITS) is None
    assert fast.fast.parse(doc % b"internal", Options(), DEFAULT_LIMITS) is not None
    assert isinstance(_read(doc % b"manual", general)[0], tuple)  # refused
    state = SNAPSHOT.rules["state"]
    grammar = _changed("state", text=dataclasses.replace(state.text, choices=("running",)))  # type: ignore[arg-type]
    fast, general = _both(grammar)
    doc = b"<domainsnapshot>\n  <name>s</name>\n  <state>%s</state>\n</domainsnapshot>"
    for value in (b"running", b"crashed"):
        assert _read(doc % value, fast) == _read(doc % value, general)
    assert isinstance(_read(doc % b"crashed", fast)[0], tuple)


@pytest.mark.parametrize("kinds", ["snapshot", "any"])
def test_parse_of_one_snapshot_takes_the_fast_reader(kinds: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """parse() of one document in libvirt's layout, with ``kinds``, needs no push parser (as
    for a checkpoint): the same record as iterparse gives, with no CheckpointParser made."""
    import checkpoint_stream as cs
    from checkpoint_stream import api

    docs = [d for d in OUTPUTS if d.lstrip().startswith(b"<domainsnapshot")][:40]
    assert len(docs) >= 20
    want = [list(iterparse(d, kinds=kinds))[0] for d in docs]  # type: ignore[arg-type]

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("a push parser was set up for one snapshot in libvirt's layout")

    monkeypatch.setattr(api, "CheckpointParser", refused)
    assert [cs.parse(d, kinds=kinds) for d in docs] == want  # type: ignore[arg-type]


def test_parse_of_one_document_of_a_kind_not_asked_for_is_still_refused() -> None:
    import checkpoint_stream as cs

    doc = next(d for d in OUTPUTS if d.lstrip().startswith(b"<domainsnapshot"))
    with pytest.raises(CheckpointError, match="domaincheckpoint"):
        cs.parse(doc)
    checkpoint = b"<domaincheckpoint>\n  <name>c1</name>\n</domaincheckpoint>\n"
    with pytest.raises(CheckpointError, match="domainsnapshot"):
        cs.parse(checkpoint, kinds="snapshot")
    assert cs.parse(checkpoint, kinds="any").name == "c1"


def _snapshot_with_disks(name: str, disks: str) -> bytes:
    return (
        f"<domainsnapshot>\n  <name>{name}</name>\n  <state>disk-snapshot</state>\n  <disks>\n{disks}  </disks>\n"
        "  <domain>\n    <uuid>9d37b878-a7cc-9f9a-b78f-49b3abad25a8</uuid>\n  </domain>\n</domainsnapshot>\n"
    ).encode()


_DISK = "    <disk name='{name}' snapshot='external' type='file'>\n      <driver type='qcow2'/>\n      <source file='{file}'/>\n    </disk>\n"
_EDGES = [
    ("vda", "/img/{s}.qcow2"),
    ("/dev/a/>b", "/img/{s}-x.qcow2"),  # '/>' and '>' inside values: the cut must not be fooled
    ("/dev/c>d", "/img/a/>b/{s}"),
    ("vdc", "relative/{s}.qcow2"),  # a path the rule refuses, after the same item was read with a good one
    ("vdd", "/img/{s}'x"),  # not well formed
]


@pytest.mark.parametrize("mode", range(len(MODES)), ids=["document", "redefine", "redefine-relaxed", "create", "internal"])
def test_disks_read_again_with_other_sources_read_alike(mode: int) -> None:
    """A VM's snapshots repeat their disks but for the source's file: the fast reader remembers a
    disk by its bytes with the source cut out and judges each source anew. Mixed with self-closed
    disks, values holding '>' or '/>', sources the rule refuses after the same disk was read with
    a good one, and broken XML: the same records and errors as the general reader."""
    fast, general = _both(SNAPSHOT_GRAMMAR)
    docs = []
    for s in range(6):
        disks = "    <disk name='vdz' snapshot='no'/>\n"
        for name, file in _EDGES[: 2 + s % 4] if s < 4 else _EDGES:
            disks += _DISK.format(name=name, file=file.format(s=f"s{s}"))
        docs.append(_snapshot_with_disks(f"s{s}", disks + "    <disk name='vdy' snapshot='internal'/>\n"))
    good = _snapshot_with_disks("g", _DISK.format(name="vda", file="/img/g.qcow2"))
    data = b"".join(docs + [good, good.replace(b"/img/g", b"img/g"), good])
    got = _read(data, fast, **MODES[mode])
    assert got == _read(data, general, **MODES[mode])
    if mode == 0:  # some are read, not all refused, and the bad paths are refused where they stand
        assert sum(1 for r in got if not isinstance(r, tuple)) == 4
        refused = [r[0] for r in got if isinstance(r, tuple)]
        assert sum("relative/s" in m for m in refused) == 4 and sum("'img/g.qcow2'" in m for m in refused) == 1


def test_a_one_attribute_source_is_judged_as_the_grammar_judges_any_source() -> None:
    """The fast reader judges a ``<source>`` of one attribute by source_attribute_rule: the same
    verdict as source_attributes_problem for every disk type, attribute and kind of value."""
    from checkpoint_stream.grammar.snapshot import source_attribute_rule, source_attributes_problem

    rule = SNAPSHOT.rules["disk/source"]
    kinds = [*rule.source_rules, "bogus"]
    names = sorted({name for shape in rule.source_rules.values() for name in shape[0]} | {"bogus", "type"})
    values = ["/var/lib/a.qcow2", "relative.qcow2", "", "C:\\x", "nbd", "gluster", "vol/img", "10809", "/dev/sdb", "a\nb"]
    checked = 0
    for kind in kinds:
        for name in names:
            vr = source_attribute_rule(rule, kind, name)
            for value in values:
                fast = vr is not None and vr.check(value) is None
                assert fast == (source_attributes_problem({name: value}, kind, rule) is None), (kind, name, value)
                checked += fast
    assert checked > 5  # some sources are taken
