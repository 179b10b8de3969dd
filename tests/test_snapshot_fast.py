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
        "  <domain type='kvm'>\n    <name>vm1</name>\n    <uuid>9d37b878-a7cc-9f9a-b78f-49b3abad25a8</uuid>\n"
        "    <memory unit='KiB'>1048576</memory>\n    <vcpu placement='static'>1</vcpu>\n    <os>\n      <type arch='x86_64'>hvm</type>\n    </os>\n"
        "  </domain>\n</domainsnapshot>\n"
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
    assert fast.fast is not None and fast.fast.parse(good.strip(), Options(), DEFAULT_LIMITS) is not None  # the fast reader's layout
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


# Values a learnt disk list may meet in place of a good path: each must be read as the general
# reader reads it (refused where it refuses, taken with the same record where it takes).
_VALUES = [
    "/img/{s}.qcow2",
    "",  # empty: the rule refuses it
    "relative/{s}",  # the rule refuses it
    "/img/a&amp;b/{s}",  # a reference: unescaped in the attribute, kept in the source's text
    "/img/&lt;{s}&gt;",
    "/img/&bogus;{s}",  # an undefined entity: not well formed
    "/img/a&b{s}",  # a bare '&': not well formed
    "/img/a<b{s}",  # '<' in a value: not well formed
    "/img/a\x01{s}",  # a control character: not well formed
    "/img/a\tb{s}",  # a TAB: read as a space by expat
    "/img/\u00e9t\u00e9/{s}",  # UTF-8
    "/img/a\ufffe{s}",  # not a character XML allows
    "/img/{s}' bogus='x",  # a second attribute the source does not take
    "/img/{s}'/><source file='/b",  # a second source
    "/img/{s}\"x",
    "/img/" + "x" * 5000 + "{s}",  # longer than any list the reader learns
]


@pytest.mark.parametrize("mode", range(len(MODES)), ids=["document", "redefine", "redefine-relaxed", "create", "internal"])
def test_a_learnt_disk_list_reads_other_values_alike(mode: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A VM's disk list, met again, is learnt whole (readers/fast/moments.py _Template) and read
    next time by comparing its bytes outside the sources' values and judging each value. In
    place of a value: every kind of good and bad value, and lists that differ elsewhere (another
    format, a disk more or less, a self-closed disk, a different attribute name, a byte more
    around a value). The same records and errors as the general reader, with the list taken by
    the template where only its values changed."""
    from checkpoint_stream.readers.fast.moments import MomentReader

    taken = []
    original = MomentReader._from_template

    def counted(*args: object) -> bool:
        ok: bool = original(*args)  # type: ignore[arg-type]
        taken.append(ok)
        return ok

    monkeypatch.setattr(MomentReader, "_from_template", staticmethod(counted))
    fast, general = _both(SNAPSHOT_GRAMMAR)

    def disks(a: str, b: str, extra: str = "") -> str:
        return "    <disk name='vdz' snapshot='no'/>\n" + _DISK.format(name="vda", file=a) + _DISK.format(name="vdb", file=b) + extra

    docs = [_snapshot_with_disks(f"s{s}", disks(f"/img/a{s}", f"/img/b{s}")) for s in range(3)]  # learnt by the third
    for k, value in enumerate(_VALUES):
        docs.append(_snapshot_with_disks(f"v{k}", disks(value.format(s=k), f"/img/b{k}")))
        docs.append(_snapshot_with_disks(f"w{k}", disks(f"/img/a{k}", value.format(s=k))))
    others = [
        disks("/img/a", "/img/b").replace("qcow2", "raw", 1),
        disks("/img/a", "/img/b", "    <disk name='vdc' snapshot='internal'/>\n"),
        _DISK.format(name="vda", file="/img/a") + _DISK.format(name="vdb", file="/img/b"),
        disks("/img/a", "/img/b").replace("<source file=", "<source dev=", 1),
        disks("/img/a", "/img/b").replace("'/img/b'", "'/img/b' ", 1),
        disks("/img/a", "/img/b").replace("type='file'", "type='block'"),
    ]
    docs += [_snapshot_with_disks(f"o{k}", d) for k, d in enumerate(others)]
    data = b"".join(docs)
    assert fast.fast is not None and fast.fast.parse(docs[0].strip(), Options(), DEFAULT_LIMITS) is not None
    got = _read(data, fast, **MODES[mode])
    assert got == _read(data, general, **MODES[mode])
    assert fast.memory.blocks  # the list was learnt...
    assert sum(taken) >= 2 * 3  # ...and read by its template where only values changed
    if mode == 0:
        refused = sum(1 for r in got if isinstance(r, tuple))
        assert 10 < refused < len(docs) - 10


def test_a_learnt_disk_list_respects_the_disk_limit() -> None:
    """The template's items count against ``max_disks`` as the items read one by one do."""
    from checkpoint_stream.limits import Limits

    fast, general = _both(SNAPSHOT_GRAMMAR)
    disks = "".join(_DISK.format(name=f"vd{c}", file=f"/img/{c}") for c in "abc")
    data = b"".join(_snapshot_with_disks(f"s{s}", disks.replace("/img/", f"/img/{s}-")) for s in range(4))
    for limit in (3, 2):  # learnt under the first, then met under a lower limit
        limits = Limits(max_disks=limit)
        assert _read(data, fast, limits=limits) == _read(data, general, limits=limits)
