"""Every rule of the grammar, changed on a copy of the grammar (tighter and looser): both readers
built from the changed copy give the same verdict, error class, message and position.

This is what proves that the fast reader is derived from the grammar rather than written beside
it: a rule it had copied (a pattern spelled again, a constant kept apart) would keep the old
behaviour on documents in libvirt's layout while the general reader followed the change. Each
mutation is run on a corpus that exercises the rule (documents that pass the original rule but
not the tighter one, documents the looser one lets in), in libvirt's layout (where the fast
reader answers) and with a comment added (where only the general reader can), in the default
and redefine modes. Two readers are compared: one with its fast reader, one general only
(``Reader(grammar, fast=False)``); and wherever the fast reader alone answers, its record must be
the general reader's. Each mutation must change some verdict (or the test would prove nothing),
and the fast reader must still take documents under it.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from pathlib import Path
from typing import Any, Callable

import pytest

from checkpoint_stream import CheckpointError, parse
from checkpoint_stream.grammar import GRAMMAR, Grammar
from checkpoint_stream.grammar.domain import ChildRule, ChildTextCheck
from checkpoint_stream.grammar.elements import Exclusion
from checkpoint_stream.grammar.values import ValueRule
from checkpoint_stream.limits import DEFAULT_LIMITS
from checkpoint_stream.readers import Options, Reader

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("_mut_corpus", ROOT / "benchmarks" / "corpus.py")
corpus = importlib.util.module_from_spec(_spec)
assert _spec.loader is not None
_spec.loader.exec_module(corpus)

MODES = {"default": {}, "redefine": {"redefine": True}, "internal": {"internal": True}}
BASE = corpus.full_doc(21)
SMALL = corpus.small_doc(5)


def _edit(doc: str, old: str, new: str) -> str:
    assert old in doc, old
    return doc.replace(old, new, 1)


#: Documents in libvirt's layout, each bending some value or structure a rule reads.
DOCS: dict[str, str] = {
    "base": BASE,
    "small": SMALL,
    "big": corpus.big_doc(40),
    "name-upper": _edit(BASE, "<name>c21</name>", "<name>C21</name>"),
    "name-dash": _edit(BASE, "<name>c21</name>", "<name>c-21</name>"),
    "name-space": _edit(BASE, "<name>c21</name>", "<name>c 21</name>"),
    "name-dot-first": _edit(BASE, "<name>c21</name>", "<name>.c21</name>"),
    "parent-upper": _edit(BASE, "<name>c20</name>", "<name>P20</name>"),
    "parent-dot-first": _edit(BASE, "<name>c20</name>", "<name>.p20</name>"),
    "time-2^40+": _edit(BASE, "<creationTime>1553647833</creationTime>", "<creationTime>99999999999999</creationTime>"),
    "time-ulong+": _edit(BASE, "<creationTime>1553647833</creationTime>", "<creationTime>18446744073709551616</creationTime>"),
    "time-small": _edit(BASE, "<creationTime>1553647833</creationTime>", "<creationTime>7</creationTime>"),
    "description": _edit(SMALL, "nightly checkpoint 5", "nightly checkpoint five"),
    "description-digits": _edit(SMALL, "nightly checkpoint 5", "1234"),
    "size-2^40+": _edit(SMALL, "bitmap='c5'/>", "bitmap='c5' size='99999999999999'/>"),
    "size-small": _edit(SMALL, "bitmap='c5'/>", "bitmap='c5' size='4096'/>"),
    "size-ulong+": _edit(SMALL, "bitmap='c5'/>", "bitmap='c5' size='18446744073709551616'/>"),
    "size-on-no": _edit(SMALL, "<disk name='vdb' checkpoint='no'/>", "<disk name='vdb' checkpoint='no' size='5'/>"),
    "bitmap-upper": _edit(SMALL, "bitmap='c5'/>", "bitmap='C5'/>"),
    "bitmap-on-no": _edit(SMALL, "<disk name='vdb' checkpoint='no'/>", "<disk name='vdb' checkpoint='no' bitmap='x'/>"),
    "checkpoint-default": _edit(SMALL, "checkpoint='no'", "checkpoint='default'"),
    "checkpoint-missing": _edit(SMALL, "<disk name='vda' checkpoint='bitmap'", "<disk name='vda'"),
    "disk-sda": _edit(SMALL, "<disk name='vdb'", "<disk name='sdb'"),
    "disk-path": _edit(SMALL, "<disk name='vdb'", "<disk name='/var/lib/b.qcow2'"),
    "disk-nvme": _edit(SMALL, "<disk name='vdb'", "<disk name='nvme0'"),
    "one-disk": _edit(SMALL, "    <disk name='vdb' checkpoint='no'/>\n", ""),
    "no-parent": _edit(SMALL, "  <parent>\n    <name>c4</name>\n  </parent>\n", ""),
    "internal": _edit(SMALL, "</domaincheckpoint>", "  <active>1</active>\n</domaincheckpoint>"),
    "internal-2": _edit(SMALL, "</domaincheckpoint>", "  <active>2</active>\n</domaincheckpoint>"),
    "internal-0": _edit(SMALL, "</domaincheckpoint>", "  <active>0</active>\n</domaincheckpoint>"),
    "disks-empty": _edit(SMALL, "    <disk name='vda' checkpoint='bitmap' bitmap='c5'/>\n    <disk name='vdb' checkpoint='no'/>\n", ""),
    "parent-empty": _edit(SMALL, "    <name>c4</name>\n", ""),
    "dom-name-empty": _edit(BASE, "<name>guest21</name>", "<name></name>"),
    "dom-qemu": _edit(BASE, "<domain type='kvm'>", "<domain type='qemu'>"),
    "dom-bogus": _edit(BASE, "<domain type='kvm'>", "<domain type='bogus'>"),
    "dom-name-dash": _edit(BASE, "<name>guest21</name>", "<name>guest-21</name>"),
    "dom-name-slash": _edit(BASE, "<name>guest21</name>", "<name>guest/21</name>"),
    "dom-name-upper": _edit(BASE, "<name>guest21</name>", "<name>Guest21</name>"),
    "dom-uuid-upper": _edit(BASE, "c7a5fdbd-edaf-9455-926a-000000000015", "C7A5FDBD-EDAF-9455-926A-000000000015"),
    "dom-uuid-short": _edit(BASE, "c7a5fdbd-edaf-9455-926a-000000000015", "c7a5fdbd"),
    "dom-memory-big": _edit(BASE, "<memory unit='KiB'>219136</memory>", "<memory unit='KiB'>4294967296</memory>"),
    "dom-memory-unit": _edit(BASE, "<memory unit='KiB'>", "<memory unit='pages'>"),
    "dom-no-clock": _edit(BASE, "    <clock offset='utc'/>\n", ""),
    "dom-two-clocks": _edit(BASE, "    <clock offset='utc'/>\n", "    <clock offset='utc'/>\n    <clock offset='utc'/>\n"),
    "dom-two-os": _edit(BASE, "    <clock offset='utc'/>\n", "    <os>\n      <type>hvm</type>\n    </os>\n    <clock offset='utc'/>\n"),
    "dom-no-uuid": _edit(BASE, "    <uuid>c7a5fdbd-edaf-9455-926a-000000000015</uuid>\n", ""),
    "dom-no-name": _edit(BASE, "    <name>guest21</name>\n", ""),
    "dom-os-xen": _edit(BASE, ">hvm</type>", ">xen</type>"),
    "dom-os-dos": _edit(BASE, ">hvm</type>", ">dos</type>"),
    "dom-vcpu-nested": _edit(BASE, "    <vcpu placement='static'>1</vcpu>\n", "    <vcpu placement='static'>\n      <x/>\n    </vcpu>\n"),
    "dom-qemu-ns": _edit(
        _edit(BASE, "<domain type='kvm'>", "<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"),
        "  </devices>",
        "  </devices>\n    <qemu:commandline>\n      <qemu:arg value='-S'/>\n    </qemu:commandline>",
    ),
    "dom-title": _edit(BASE, "    <memory unit='KiB'>", "    <title>Guest 21</title>\n    <memory unit='KiB'>"),
}


def _with_comment(doc: str) -> str:
    """The same document outside libvirt's layout (a comment): only the general reader reads it."""
    return doc.replace("<domaincheckpoint>", "<domaincheckpoint><!-- c -->", 1)


# -- grammar edits ------------------------------------------------------------------------------


def _value(key: str, **changes: Any) -> Callable[[Grammar], Grammar]:
    """Change the value rule of a leaf of the checkpoint grammar."""

    def edit(g: Grammar) -> Grammar:
        rule = g.checkpoint.rules[key]
        return g.with_rule(key, dataclasses.replace(rule, text=dataclasses.replace(rule.text, **changes)))

    return edit


def _attribute(key: str, attribute: str, **changes: Any) -> Callable[[Grammar], Grammar]:
    def edit(g: Grammar) -> Grammar:
        rule = g.checkpoint.rules[key]
        attributes = dict(rule.attributes)
        attributes[attribute] = dataclasses.replace(attributes[attribute], **changes)
        return g.with_rule(key, dataclasses.replace(rule, attributes=attributes))

    return edit


def _element(key: str, **changes: Any) -> Callable[[Grammar], Grammar]:
    def edit(g: Grammar) -> Grammar:
        return g.with_rule(key, dataclasses.replace(g.checkpoint.rules[key], **changes))

    return edit


def _domain(**changes: Any) -> Callable[[Grammar], Grammar]:
    def edit(g: Grammar) -> Grammar:
        return g.with_domain(dataclasses.replace(g.domain, **changes))

    return edit


def _domain_attribute(name: str, **changes: Any) -> Callable[[Grammar], Grammar]:
    def edit(g: Grammar) -> Grammar:
        attributes = dict(g.domain.attributes)
        attributes[name] = dataclasses.replace(attributes[name], **changes)
        return g.with_domain(dataclasses.replace(g.domain, attributes=attributes))

    return edit


def _child(tag: str, **changes: Any) -> Callable[[Grammar], Grammar]:
    def edit(g: Grammar) -> Grammar:
        rule = g.domain.children.get(tag, ChildRule())
        return g.with_domain(g.domain.with_child(tag, dataclasses.replace(rule, **changes)))

    return edit


def _child_text(tag: str, **changes: Any) -> Callable[[Grammar], Grammar]:
    def edit(g: Grammar) -> Grammar:
        rule = g.domain.children[tag]
        return g.with_domain(g.domain.with_child(tag, dataclasses.replace(rule, text=dataclasses.replace(rule.text, **changes))))

    return edit


def _drop_child(tag: str) -> Callable[[Grammar], Grammar]:
    def edit(g: Grammar) -> Grammar:
        return g.with_domain(g.domain.with_child(tag, None))

    return edit


def _os_type(**changes: Any) -> Callable[[Grammar], Grammar]:
    def edit(g: Grammar) -> Grammar:
        rule = g.domain.children["os"]
        inner = dict(rule.inner)
        inner["type"] = dataclasses.replace(inner["type"], **changes)
        return g.with_domain(g.domain.with_child("os", dataclasses.replace(rule, inner=inner)))

    return edit


def _redefine_name(rule: ValueRule) -> Callable[[Grammar], Grammar]:
    def edit(g: Grammar) -> Grammar:
        checks = tuple(ChildTextCheck("name", rule) if isinstance(c, ChildTextCheck) and c.child == "name" else c for c in g.domain.redefine)
        return g.with_domain(dataclasses.replace(g.domain, redefine=checks))

    return edit


def _extensions(**changes: Any) -> Callable[[Grammar], Grammar]:
    def edit(g: Grammar) -> Grammar:
        extensions = {uri: names for uri, names in g.domain.extensions.items() if "qemu" not in uri}
        return g.with_domain(dataclasses.replace(g.domain, extensions=extensions))

    return edit


R = re.compile
MUTATIONS: dict[str, Callable[[Grammar], Grammar]] = {
    # -- checkpoint level: value rules ---------------------------------------------------------
    "name tighter (lowercase, no dash)": _value("name", pattern=R(r"[a-z0-9][a-z0-9.]*")),
    "name looser (spaces, leading dot)": _value("name", pattern=R(r"[a-zA-Z0-9_. -]+")),
    "parent name tighter": _value("parent/name", pattern=R(r"[a-z][a-z0-9]*")),
    "parent name looser": _value("parent/name", pattern=R(r"[a-zA-Z0-9_.-]+")),
    "creationTime maximum tighter (2**40)": _value("creationTime", maximum=2**40),
    "creationTime maximum looser (2**80)": _value("creationTime", maximum=2**80),
    "creationTime pattern tighter (up to 10 digits)": _value("creationTime", pattern=R(r"[0-9]{1,10}")),
    "description tighter (no digits)": _value("description", pattern=R(r"[^0-9]*")),
    "active tighter (1 only)": _value("active", choices=("1",)),
    "active looser (0, 1, 2)": _value("active", choices=("0", "1", "2")),
    "disk name tighter (virtio only)": _attribute("disk", "name", pattern=R(r"vd[a-z]+")),
    "disk name looser (any target)": _attribute("disk", "name", pattern=R(r"[a-z][a-z0-9]*|/[^\n\r]+")),
    "disk size maximum tighter (2**40)": _attribute("disk", "size", maximum=2**40),
    "disk size maximum looser (2**80)": _attribute("disk", "size", maximum=2**80),
    "checkpoint type tighter (bitmap only)": _attribute("disk", "checkpoint", choices=("bitmap",)),
    "checkpoint type looser (default too)": _attribute("disk", "checkpoint", choices=("bitmap", "default", "no")),
    "bitmap tighter (lowercase)": _attribute("disk", "bitmap", pattern=R(r"[a-z0-9]*")),
    # -- checkpoint level: structure -----------------------------------------------------------
    "exclusion looser (none)": _element("disk", exclusions=()),
    "exclusion tighter (no size with bitmap)": _element(
        "disk", exclusions=(Exclusion("checkpoint", "no", ("bitmap", "size")), Exclusion("checkpoint", "bitmap", ("size",)))
    ),
    "required attribute tighter (checkpoint)": _element("disk", required_attributes=("name", "checkpoint")),
    "disks tighter (two at least)": _element("disks", min_children={"disk": 2}),
    "disks looser (may be empty)": _element("disks", min_children={}),
    "parent looser (may be empty)": _element("parent", min_children={}),
    "root tighter (no description)": lambda g: g.with_rule(
        "root", dataclasses.replace(g.checkpoint.rules["root"], children={k: v for k, v in g.checkpoint.rules["root"].children.items() if k != "description"})
    ),
    # -- the domain's top ----------------------------------------------------------------------
    "domain type tighter (no kvm)": _domain_attribute("type", choices=("qemu", "test", "xen")),
    "domain type looser (bogus too)": _domain_attribute("type", choices=("bogus", "kvm", "qemu", "test")),
    "domain name tighter (lowercase letters)": _child_text("name", pattern=R(r"[a-z]+[0-9]*")),
    "domain name looser (empty too)": _child_text("name", pattern=R(r"[^\n]*")),
    "domain uuid tighter (lowercase)": _child_text("uuid", pattern=R(r"[a-f0-9]{8}-(?:[a-f0-9]{4}-){3}[a-f0-9]{12}")),
    "domain uuid looser (any hex)": _child_text("uuid", pattern=R(r"[a-fA-F0-9-]+")),
    "domain memory tighter (2**31)": _child_text("memory", maximum=2**31),
    "memory unit looser": _child(
        "memory", attributes={"unit": ValueRule("memory unit", R(r"[a-zA-Z]+")), "dumpCore": ValueRule("dumpCore", choices=("off", "on"))}
    ),
    "clock not allowed": _drop_child("clock"),
    "clock repeatable": _child("clock", max=None),
    "os repeatable": _child("os", max=None),
    "devices text only": _child("devices", text_only=True),
    "vcpu may hold elements": _child("vcpu", text_only=False),
    "uuid required": _domain(required_children=("name", "uuid")),
    "name not required": _domain(required_children=()),
    "os type tighter (xen only)": _os_type(choices=("xen",)),
    "os type looser (dos too)": _os_type(choices=("dos", "exe", "hvm", "linux", "xen", "xenpvh")),
    "redefine name tighter (no dash)": _redefine_name(ValueRule("domain name", R(r"[^/-]*"), message="name {value} cannot contain '/' or '-'")),
    "redefine name looser (slash too)": _redefine_name(ValueRule("domain name", R(r".*"), message="never")),
    "title with a rule": _child("title", text=ValueRule("domain title", R(r"[a-z ]+"), message="title {value!r} is not lowercase")),
    "no qemu extension": _extensions(),
}


def _outcome(data: bytes, reader: Reader, mode: str) -> tuple[Any, ...]:
    try:
        record = parse(data, reader=reader, **MODES[mode])
    except CheckpointError as err:
        return (type(err).__name__, err.message, err.line, err.column, err.offset, err.path)
    return ("record", _values(record), record.active)


def _values(record: Any) -> dict[str, Any]:
    """A record's values, as to_dict() gives them, without where it was read."""
    return {key: value for key, value in record.to_dict().items() if key != "source"}


def _docs() -> list[tuple[str, bytes]]:
    out = []
    for name, doc in DOCS.items():
        out.append((name, doc.encode()))
        out.append((name + " +comment", _with_comment(doc).encode()))
    return out


DOC_LIST = _docs()
BASELINE = {mode: {name: _outcome(data, Reader(GRAMMAR, fast=False), mode) for name, data in DOC_LIST} for mode in MODES}


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_both_readers_follow_a_changed_rule(mutation: str) -> None:
    grammar = MUTATIONS[mutation](GRAMMAR)
    assert grammar != GRAMMAR
    with_fast = Reader(grammar)
    general_only = Reader(grammar, fast=False)
    assert with_fast.fast is not None
    changed = 0
    taken = 0
    options = {mode: Options(**kwargs) for mode, kwargs in MODES.items()}
    for mode in MODES:
        for name, data in DOC_LIST:
            expected = _outcome(data, general_only, mode)
            got = _outcome(data, with_fast, mode)
            assert got == expected, f"{mutation}: {name!r} in {mode} mode: fast {got!r}, general {expected!r}"
            if expected != BASELINE[mode][name]:
                changed += 1
            fast = with_fast.fast.parse(data.strip(), options[mode], DEFAULT_LIMITS)
            if fast is not None:
                taken += 1
                assert expected[0] == "record" and _values(fast) == expected[1], f"{mutation}: {name!r}: the fast reader alone accepted"
    assert changed > 0, f"{mutation}: no verdict changed on the corpus (it would prove nothing)"
    assert taken > 0, f"{mutation}: the fast reader took no document"


def test_the_issue_example_size_maximum() -> None:
    """The example that started it: with the disk size maximum lowered to 2**40, a size above it in
    libvirt's layout is refused exactly as it is with a comment added."""
    grammar = MUTATIONS["disk size maximum tighter (2**40)"](GRAMMAR)
    reader = Reader(grammar)
    doc = DOCS["size-2^40+"].encode()
    with pytest.raises(CheckpointError) as plain:
        parse(doc, reader=reader)
    with pytest.raises(CheckpointError) as commented:
        parse(_with_comment(DOCS["size-2^40+"]).encode(), reader=reader)
    assert plain.value.message == commented.value.message == "<disk>: size 99999999999999 is out of range: write decimal digits only, at most 18446744073709551615"
    assert parse(doc).disks[0].size == 99999999999999  # the grammar shipped is untouched


# -- the two divergences found before the readers were derived from one grammar ---------------


@pytest.mark.parametrize("tag", ["description", "genid", "vcpu", "currentMemory", "on_poweroff", "on_reboot", "on_crash", "on_lockfailure"])
def test_text_only_domain_child_holding_an_element_is_refused_by_both_readers(tag: str) -> None:
    """A text-only child of <domain> holding an element, in libvirt's layout: refused as with a
    comment added (the fast reader had built the domain's top without noting nested children)."""
    base = re.sub(rf"    <{tag}[ >].*\n", "", BASE)  # the child once, nested
    doc = _edit(base, "    <clock offset='utc'/>\n", f"    <{tag}>\n      <b/>\n    </{tag}>\n    <clock offset='utc'/>\n")
    reader = Reader()
    assert reader.fast.parse(doc.encode(), Options(), DEFAULT_LIMITS) is None
    with pytest.raises(CheckpointError) as err:
        parse(doc.encode(), reader=reader)
    assert f"<{tag}> in <domain> holds text only" in err.value.message
    with pytest.raises(CheckpointError) as other:
        parse(_with_comment(doc).encode(), reader=reader)
    assert other.value.message == err.value.message


@pytest.mark.parametrize("first", ["<type/>", "<type></type>", "<type>\n        <b/>\n      </type>"])
def test_os_whose_first_type_is_empty_or_holds_an_element(first: str) -> None:
    """``<os>`` whose first ``<type>`` is empty or holds an element, followed by ``<type>hvm</type>``:
    both readers read the first ``<type>`` (the fast reader had taken the first one-line one)."""
    doc = _edit(BASE, "      <type arch='x86_64' machine='pc'>hvm</type>\n", f"      {first}\n      <type>hvm</type>\n")
    reader = Reader()
    for mode in MODES:
        with pytest.raises(CheckpointError) as err:
            parse(doc.encode(), reader=reader, **MODES[mode])
        with pytest.raises(CheckpointError) as other:
            parse(_with_comment(doc).encode(), reader=Reader(fast=False), **MODES[mode])
        assert (err.value.message, err.value.line, err.value.column) == (other.value.message, other.value.line, other.value.column)
        assert "<os> needs a <type>" in err.value.message


# -- a new disk attribute: one edit to the grammar, plus the record's field -------------------

NEW_ATTRIBUTE_CHECK = r'''
import checkpoint_stream as cs
from checkpoint_stream import CheckpointDisk, parse
from checkpoint_stream.readers import DEFAULT_READER, Options
from checkpoint_stream.limits import DEFAULT_LIMITS
from checkpoint_stream.writer import dumps

doc = (
    "<domaincheckpoint>\n  <name>c1</name>\n  <creationTime>5</creationTime>\n  <disks>\n"
    "    <disk name='vda' checkpoint='bitmap' bitmap='c1' node='n1'/>\n"
    "    <disk name='vdb' checkpoint='no'/>\n  </disks>\n</domaincheckpoint>\n"
)
fast = DEFAULT_READER.fast.parse(doc.encode().strip(), Options(), DEFAULT_LIMITS)
assert fast is not None, "the fast reader does not take the new attribute"
assert fast.disks[0].node == "n1" and fast.disks[1].node is None
general = parse(doc.replace("<domaincheckpoint>", "<domaincheckpoint><!---->"))
assert general == fast and general.disks[0].node == "n1"
assert dumps(fast) == doc, dumps(fast)
assert parse(dumps(fast)) == fast
messages = []
for text in (doc.replace("node='n1'", "node='N!'"), doc.replace("node='n1'", "node='N!'").replace("<domaincheckpoint>", "<domaincheckpoint><!---->")):
    try:
        parse(text)
    except cs.SchemaError as err:
        messages.append(err.message)
assert len(messages) == 2 and messages[0] == messages[1] and "node" in messages[0], messages
disk = CheckpointDisk.from_dict({"name": "vda", "node": "n2"})
assert disk.node == "n2" and disk.to_dict()["node"] == "n2"
try:
    CheckpointDisk.from_dict({"name": "vda", "node": "N!"})
except cs.SchemaError:
    pass
else:
    raise AssertionError("from_dict took a bad node")
print("ok")
'''


def test_a_new_disk_attribute_is_one_edit_to_the_grammar_plus_the_records_field(tmp_path: Path) -> None:
    """Copy the package, add a ``node`` attribute to ``<disk>`` in grammar/checkpoint.py (its rule
    and its field mapping) and the field to ``CheckpointDisk``: both readers read it (the fast
    reader in libvirt's layout), the writer prints it in its place, ``from_dict`` judges it."""
    import shutil
    import subprocess
    import sys

    package = ROOT / "checkpoint_stream"
    copy = tmp_path / "checkpoint_stream"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    grammar = copy / "grammar" / "checkpoint.py"
    text = grammar.read_text()
    old = '"bitmap": BITMAP, "size": SIZE}'
    assert old in text
    text = text.replace(old, '"bitmap": BITMAP, "size": SIZE, "node": ValueRule("node", re.compile(r"[a-z0-9]+"), "use lowercase letters and digits")}')
    old = '        FieldMap("size", "size", convert=int),\n'
    assert old in text
    text = text.replace(old, old + '        FieldMap("node", "node"),\n')
    grammar.write_text(text)
    records = copy / "records.py"
    text = records.read_text()
    old = "    size: int | None = None\n\n    def to_dict(self)"
    assert old in text
    records.write_text(text.replace(old, "    size: int | None = None\n    node: str | None = None\n\n    def to_dict(self)"))
    run = subprocess.run([sys.executable, "-c", NEW_ATTRIBUTE_CHECK], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stdout + run.stderr


def test_value_rule_verdicts_are_remembered_as_computed() -> None:
    """A rule remembers its verdicts on short values (the same units and actions recur in every
    domain): a value judged again gets the same answer, good or bad, the memory stays bounded,
    long values are judged each time, and a changed rule (dataclasses.replace) starts afresh."""
    from checkpoint_stream.grammar import values

    rule = ValueRule("unit", re.compile(r"[KMG]iB"), hint="a binary unit")
    for value in ("KiB", "kib", "KiB", " KiB", "kib"):
        assert rule.check_remembered(value) == rule.check(value)
    assert rule.check_remembered("KiB") is None and rule.check_remembered("kib") is not None
    assert set(rule._verdicts) == {"KiB", "kib", " KiB"}
    long = "K" * (values._REMEMBERED_LENGTH + 1)
    assert rule.check_remembered(long) is not None and long not in rule._verdicts
    for i in range(values._REMEMBERED_VALUES + 10):
        rule.check_remembered(f"{i}iB")
    assert len(rule._verdicts) <= values._REMEMBERED_VALUES
    changed = dataclasses.replace(rule, pattern=re.compile(r"[kmg]ib"))
    assert changed.check_remembered("kib") is None and changed.check_remembered("KiB") is not None
    assert rule == dataclasses.replace(rule) and hash(rule) == hash(dataclasses.replace(rule))
