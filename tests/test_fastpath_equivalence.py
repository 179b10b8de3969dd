"""The fast reader (readers/fast) is an accelerator, never a second opinion.

Every document of every corpus we can find (libvirt's conformance files, tests/cases, generated
documents in libvirt's layout, and mutations of them that each break one rule) is run through
both the fast reader and the general reader (readers.general.GeneralDocument, called directly),
in every mode, and the results must agree: when the fast reader returns a record, the general
reader returns an equal record (same fields, same domain text); when it returns None, the general
reader decides (and is checked against the public parse() face). We also require the fast reader
to take the documents in libvirt's layout, so that it cannot silently die. (That both readers
follow every rule of the grammar when it changes is tests/test_grammar_mutations.py.)
"""

from __future__ import annotations

import importlib.util
import itertools
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkpoint_stream import parse
from checkpoint_stream.errors import CheckpointError
from checkpoint_stream.limits import DEFAULT_LIMITS, Limits
from checkpoint_stream.readers import Options, Reader
from checkpoint_stream.readers.fast import lines as fast_lines
from checkpoint_stream.records import Checkpoint, CheckpointDisk, Origin
from readers_util import READER, edit_domain_tags, fast_parse, forget, general

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "conformance" / "libvirt"
CASES = Path(__file__).resolve().parent / "cases"


def _load_corpus():
    spec = importlib.util.spec_from_file_location("_perf_corpus", ROOT / "benchmarks" / "corpus.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


corpus = _load_corpus()

CLOCK = 1700000000.0
MODES = {
    "default": {},
    "redefine": {"redefine": True},
    "redefine-no-domain": {"redefine": True, "require_domain": False},
    "create": {"create": True, "clock": lambda: CLOCK},
    "internal": {"internal": True},
}


def _options(mode: str) -> Options:
    return Options(**MODES[mode])


def _cut(data: bytes) -> bytes:
    """What the framer hands the fast scanner: from the first markup to the root's end tag."""
    data = data.lstrip(b" \t\r\n")
    end = data.rfind(b"</domaincheckpoint>")
    return data[: end + len(b"</domaincheckpoint>")] if end >= 0 else data


def check_same(doc: bytes, mode: str, limits: Limits = DEFAULT_LIMITS) -> bool:
    """Assert the two paths agree on ``doc``; return whether the fast scanner took it."""
    options = _options(mode)
    fast = fast_parse(doc, options, limits, Origin(None, None, 0, 0))
    slow = general(doc, options, limits)
    if fast is None:
        return False
    assert isinstance(slow, Checkpoint), f"fast path accepted what the general path refuses ({mode}): {slow!r}\n{doc[:400]!r}"
    assert fast == slow
    assert fast.to_dict() == slow.to_dict()
    assert (fast.domain is None) == (slow.domain is None)
    if fast.domain is not None:
        assert fast.domain.xml == slow.domain.xml
    assert fast.active == slow.active
    assert type(fast.disks) is tuple and all(type(d) is CheckpointDisk for d in fast.disks)
    assert [hash(d) for d in fast.disks] == [hash(d) for d in slow.disks]
    return True


def check_face(data: bytes, mode: str) -> None:
    """The public face (framer + fast path + general path) agrees with the general path alone."""
    doc = _cut(data)
    slow = general(doc, _options(mode))
    try:
        got: Checkpoint | CheckpointError = parse(data, **MODES[mode])
    except CheckpointError as err:
        got = err
    if isinstance(slow, Checkpoint):
        assert isinstance(got, Checkpoint), got
        assert got == slow and got.to_dict() == slow.to_dict()
    elif _cut(data) == data.strip():  # a bare document: the same error class either way
        assert isinstance(got, CheckpointError), got
        assert type(got) is type(slow), (got, slow)


# -- corpora -------------------------------------------------------------------------------------


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.xml") if b"<domaincheckpoint" in p.read_bytes())


def conformance_files() -> list[Path]:
    return _files(SHARED) if SHARED.is_dir() else []


def case_files() -> list[Path]:
    return _files(CASES) if CASES.is_dir() else []


def generated() -> dict[str, bytes]:
    docs = {
        "small": corpus.small_doc(7),
        "small-first": corpus.small_doc(1).replace("  <parent>\n    <name>c0</name>\n  </parent>\n", ""),
        "full": corpus.full_doc(3),
        "full-first": corpus.full_doc(0),
        "full-many-disks": corpus.full_doc(5, ndisks=30),
        "big": corpus.big_doc(300),
        "long-disk-value": corpus.big_doc(300).replace("bitmap='big'", "bitmap='" + "b" * 7000 + "'", 1),
        "no-disks": "<domaincheckpoint>\n  <name>n</name>\n  <creationTime>5</creationTime>\n</domaincheckpoint>\n",
        "name-only": "<domaincheckpoint>\n  <name>only</name>\n</domaincheckpoint>",
        "empty-root": "<domaincheckpoint>\n</domaincheckpoint>",
        "decl": "<?xml version='1.0' encoding='UTF-8'?>\n" + corpus.full_doc(4),
        "decl-double": '<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n' + corpus.small_doc(4),
        "sizes": corpus.small_doc(2).replace("bitmap='c2'/>", "bitmap='c2' size='1048576'/>"),
        "disk-names": corpus.small_doc(3).replace(
            "<disk name='vdb' checkpoint='no'/>",
            "<disk name='ioemu:hda1' checkpoint='no'/>\n    <disk name='/dev/sdb'/>\n    <disk name='C:\\disk' bitmap='x'/>\n    <disk name='xvdz_9'/>",
        ),
        "internal-1": corpus.full_doc(2).replace("</domaincheckpoint>", "  <active>1</active>\n</domaincheckpoint>"),
        "internal-0": corpus.small_doc(2).replace("</domaincheckpoint>", "  <active>0</active>\n</domaincheckpoint>"),
        "domain-col4": corpus.full_doc(6).replace("\n", "\n  ").replace("\n  </domaincheckpoint>", "\n</domaincheckpoint>"),
        "metadata": corpus.full_doc(8).replace(
            "  <clock offset='utc'/>",
            "  <metadata>\n      <app:info xmlns:app='http://example.org/app'>x</app:info>\n    </metadata>\n    <clock offset='utc'/>",
        ),
        "title-genid": corpus.full_doc(9).replace(
            "  <memory unit='KiB'>", "  <title>My guest</title>\n    <genid/>\n    <memory unit='KiB'>"
        ),
        "qemu-ns": corpus.full_doc(10)
        .replace("<domain type='kvm'>", "<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>")
        .replace("  </devices>", "  </devices>\n    <qemu:commandline>\n      <qemu:arg value='-S'/>\n    </qemu:commandline>"),
        "lxc-exe": corpus.full_doc(11)
        .replace("<domain type='kvm'>", "<domain type='lxc'>")
        .replace("<type arch='x86_64' machine='pc'>hvm</type>\n      <boot dev='hd'/>", "<type>exe</type>\n      <init>/sbin/init</init>"),
        "entity-description": corpus.small_doc(5).replace("nightly checkpoint 5", "a &amp; b"),
        "deep": corpus.full_doc(12).replace(
            "  <clock offset='utc'/>",
            "  <cpu>\n" + "".join(f"      {'  ' * k}<l{k}>\n" for k in range(14)) + "".join(
                f"      {'  ' * k}</l{k}>\n" for k in reversed(range(14))
            ) + "    </cpu>\n    <clock offset='utc'/>",
        ),
        "memory-units": corpus.full_doc(13).replace("<memory unit='KiB'>219136</memory>", "<memory unit='GiB' dumpCore='on'>4</memory>"),
    }
    return {k: v.encode() if isinstance(v, str) else v for k, v in docs.items()}


BASE = corpus.full_doc(21)
# Each mutation breaks (or bends) exactly one rule of the base document.
MUTATIONS = {
    "name-invalid": ("<name>c21</name>", "<name>../c21</name>"),
    "name-dup": ("<name>c21</name>", "<name>c21</name>\n  <name>c22</name>"),
    "name-empty": ("<name>c21</name>", "<name></name>"),
    "parent-invalid": ("<name>c20</name>", "<name>a b</name>"),
    "time-ulong": ("<creationTime>1553647833</creationTime>", "<creationTime>18446744073709551616</creationTime>"),
    "time-llong": ("<creationTime>1553647833</creationTime>", "<creationTime>9223372036854775808</creationTime>"),
    "time-text": ("<creationTime>1553647833</creationTime>", "<creationTime>soon</creationTime>"),
    "time-space": ("<creationTime>1553647833</creationTime>", "<creationTime> 1553647833</creationTime>"),
    "disk-name": ("<disk name='vda'", "<disk name='foo'"),
    "disk-no-bitmap": ("<disk name='vdd' checkpoint='no'/>", "<disk name='vdd' checkpoint='no' bitmap='x'/>"),
    "disk-no-size": ("<disk name='vdd' checkpoint='no'/>", "<disk name='vdd' checkpoint='no' size='1'/>"),
    "disk-kind": ("<disk name='vdd' checkpoint='no'/>", "<disk name='vdd' checkpoint='maybe'/>"),
    "disk-empty-bitmap": ("bitmap='c21'/>\n    <disk name='vdb'", "bitmap=''/>\n    <disk name='vdb'"),
    "disk-size-huge": ("bitmap='c21'/>\n    <disk name='vdb'", "bitmap='c21' size='18446744073709551616'/>\n    <disk name='vdb'"),
    "disk-dup-attr": ("<disk name='vda'", "<disk name='vda' name='vdx'"),
    "disk-extra-attr": ("<disk name='vda'", "<disk name='vda' type='x'"),
    "disk-double-quotes": ("<disk name='vda'", '<disk name="vda"'),
    "disk-order": ("<disk name='vda' checkpoint='bitmap' bitmap='c21'/>", "<disk name='vda' bitmap='c21' checkpoint='bitmap'/>"),
    "disks-empty": ("<disks>\n", "<disks>\n  </disks>\n  <disks>\n"),
    "disks-comment": ("<disks>\n", "<disks>\n    <!-- c -->\n"),
    "domain-type": ("<domain type='kvm'>", "<domain type='bogus'>"),
    "domain-type-space": ("<domain type='kvm'>", "<domain type=' kvm'>"),
    "domain-no-type": ("<domain type='kvm'>", "<domain>"),
    "domain-id": ("<domain type='kvm'>", "<domain type='kvm' id='4294967296'>"),
    "domain-attr": ("<domain type='kvm'>", "<domain type='kvm' foo='1'>"),
    "domain-xmlns": ("<domain type='kvm'>", "<domain type='kvm' xmlns='urn:x'>"),
    "domain-name-slash": ("<name>guest21</name>", "<name>guest/21</name>"),
    "domain-name-empty": ("<name>guest21</name>", "<name></name>"),
    "domain-name-self": ("<name>guest21</name>", "<name/>"),
    "domain-name-entity": ("<name>guest21</name>", "<name>guest&#10;21</name>"),
    "domain-name-amp": ("<name>guest21</name>", "<name>guest&amp;21</name>"),
    "domain-no-name": ("    <name>guest21</name>\n", ""),
    "domain-uuid": ("-000000000015</uuid>", "-00000000001Z</uuid>"),
    "domain-uuid-dup": ("  <memory unit=", "  <uuid>c7a5fdbd-edaf-9455-926a-000000000015</uuid>\n    <memory unit="),
    "domain-memory-zero": ("'KiB'>219136</memory>", "'KiB'>0</memory>"),
    "domain-memory-text": ("'KiB'>219136</memory>", "'KiB'>lots</memory>"),
    "domain-memory-unit": ("<memory unit='KiB'>", "<memory unit='XB'>"),
    "domain-memory-huge": ("<memory unit='KiB'>219136", "<memory unit='EiB'>9999"),
    "domain-no-memory": ("    <memory unit='KiB'>219136</memory>\n", ""),
    "domain-unknown-child": ("  <clock offset='utc'/>", "  <bogus/>\n    <clock offset='utc'/>"),
    "domain-child-xmlns": ("<clock offset='utc'/>", "<clock offset='utc' xmlns='urn:x'/>"),
    "domain-undeclared-prefix": ("  <clock offset='utc'/>", "  <qemu:x/>\n    <clock offset='utc'/>"),
    "domain-dup-clock": ("  <clock offset='utc'/>", "  <clock offset='utc'/>\n    <clock offset='utc'/>"),
    "domain-no-os": ("    <os>\n      <type arch='x86_64' machine='pc'>hvm</type>\n      <boot dev='hd'/>\n    </os>\n", ""),
    "domain-os-type": (">hvm</type>", ">dos</type>"),
    "domain-os-no-type": ("      <type arch='x86_64' machine='pc'>hvm</type>\n", ""),
    "domain-os-exe": (">hvm</type>", ">exe</type>"),
    "domain-os-type-space": (">hvm</type>", "> hvm</type>"),
    "domain-stray-text": ("  <clock offset='utc'/>", "  stray\n    <clock offset='utc'/>"),
    "domain-comment": ("  <clock offset='utc'/>", "  <!-- c -->\n    <clock offset='utc'/>"),
    "domain-cdata": ("<on_reboot>restart</on_reboot>", "<on_reboot><![CDATA[restart]]></on_reboot>"),
    "domain-gt-text": ("<on_reboot>restart</on_reboot>", "<on_reboot>re>start</on_reboot>"),
    "domain-gt-attr": ("<clock offset='utc'/>", "<clock offset='u>tc'/>"),
    "domain-odd-indent": ("    <clock offset='utc'/>", "   <clock offset='utc'/>"),
    "domain-tab": ("    <clock offset='utc'/>", "\t<clock offset='utc'/>"),
    "domain-two-on-line": ("<clock offset='utc'/>", "<clock offset='utc'/><pm/>"),
    "domain-mismatch": ("</on_reboot>", "</on_rebooot>"),
    "domain-unclosed": ("    </devices>\n", ""),
    "domain-crlf": ("<clock offset='utc'/>\n", "<clock offset='utc'/>\r\n"),
    "domain-double-quoted": ("<clock offset='utc'/>", '<clock offset="utc"/>'),
    "domain-dup-attr": ("<clock offset='utc'/>", "<clock offset='utc' offset='x'/>"),
    "domain-many-attrs": ("<boot dev='hd'/>", "<boot dev='hd'" + "".join(f" a{i}='x'" for i in range(300)) + "/>"),
    "domain-other-vm": ("<name>guest21</name>\n    <uuid>c7a5fdbd-edaf-9455-926a-000000000015</uuid>",
                        "<name>other-vm</name>\n    <uuid>00112233445566778899aabbccddeeff</uuid>"),
    "domain-second": ("  </domain>\n", "  </domain>\n  <domain type='kvm'>\n    <name>x</name>\n  </domain>\n"),
    "description": ("  <creationTime>", "  <description>a desc</description>\n  <creationTime>"),
    "description-empty": ("  <creationTime>", "  <description></description>\n  <creationTime>"),
    "description-entity": ("  <creationTime>", "  <description>x &lt; y</description>\n  <creationTime>"),
    "description-cr": ("  <creationTime>", "  <description>a\rb</description>\n  <creationTime>"),
    "order": ("  <creationTime>1553647833</creationTime>\n", "") ,
    "active": ("</domaincheckpoint>", "  <active>1</active>\n</domaincheckpoint>"),
    "active-2": ("</domaincheckpoint>", "  <active>2</active>\n</domaincheckpoint>"),
    "doctype-inside": ("  <clock offset='utc'/>", "  <!DOCTYPE x [<!ENTITY e 'x'>]>\n    <clock offset='utc'/>"),
    "entity-undeclared": ("<on_reboot>restart</on_reboot>", "<on_reboot>&e;</on_reboot>"),
    "root-attr": ("<domaincheckpoint>", "<domaincheckpoint foo='1'>"),
    "root-xmlns": ("<domaincheckpoint>", "<domaincheckpoint xmlns='urn:x'>"),
    "nul": ("<name>c21</name>", "<name>c\x0121</name>"),
    "bad-utf8": ("<name>c21</name>", "<name>c21</name>"),  # bytes broken below
    # What expat checks and the pattern does not: now checked on the captured values themselves.
    "description-control": ("  <creationTime>", "  <description>a\x01b</description>\n  <creationTime>"),
    "description-cdata-end": ("  <creationTime>", "  <description>a ]]> b</description>\n  <creationTime>"),
    "description-fffe": ("  <creationTime>", "  <description>a\ufffeb</description>\n  <creationTime>"),
    "description-utf8": ("  <creationTime>", "  <description>caf\u00e9 \u2603</description>\n  <creationTime>"),
    "description-bad-entity": ("  <creationTime>", "  <description>a &bogus; b</description>\n  <creationTime>"),
    "description-charref": ("  <creationTime>", "  <description>a &#65; b</description>\n  <creationTime>"),
    "disk-bitmap-control": ("bitmap='c21'/>\n    <disk name='vdb'", "bitmap='c\x0b21'/>\n    <disk name='vdb'"),
    "disk-bitmap-utf8": ("bitmap='c21'/>\n    <disk name='vdb'", "bitmap='c\u00e921'/>\n    <disk name='vdb'"),
    "disk-bitmap-gt": ("bitmap='c21'/>\n    <disk name='vdb'", "bitmap='c>21'/>\n    <disk name='vdb'"),
    "disk-path-ffff": ("<disk name='vda'", "<disk name='/a\uffffb'"),
    "domain-control": ("<on_reboot>restart</on_reboot>", "<on_reboot>re\x02start</on_reboot>"),
    "unknown-element": ("  <creationTime>", "  <foo/>\n  <creationTime>"),
    "text-in-root": ("  <creationTime>", "  text\n  <creationTime>"),
}


def mutations() -> dict[str, bytes]:
    out = {}
    for key, (old, new) in MUTATIONS.items():
        assert old in BASE, key
        doc = BASE.replace(old, new, 1).encode()
        if key == "bad-utf8":
            doc = doc.replace(b"<name>c21</name>", b"<name>c\xff21</name>")
        if key == "description-utf8":  # and an overlong, invalid encoding of '/' in a second copy
            out["description-overlong"] = doc.replace(b"caf", b"c\xc0\xafaf")
        out[key] = doc
    out["moved-disks"] = BASE.replace("  <creationTime>1553647833</creationTime>\n", "").replace(
        "  <domain", "  <creationTime>1553647833</creationTime>\n  <domain"
    ).encode()
    return out


# -- the tests -------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(MODES))
def test_conformance_files(mode):
    files = conformance_files()
    if not files:
        pytest.skip(f"libvirt conformance data not found at {SHARED}")
    for path in files:
        data = path.read_bytes()
        check_same(_cut(data), mode)
        check_face(data, mode)


@pytest.mark.parametrize("mode", list(MODES))
def test_case_files(mode):
    files = case_files()
    if not files:
        pytest.skip(f"no checkpoint documents under {CASES}")
    for path in files:
        data = path.read_bytes()
        check_same(_cut(data), mode)
        check_face(data, mode)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("name", list(generated()))
def test_generated(name, mode):
    data = generated()[name]
    check_same(_cut(data), mode)
    check_face(data, mode)


@pytest.mark.parametrize("mode", list(MODES))
def test_mutations(mode):
    for name, data in mutations().items():
        try:
            check_same(_cut(data), mode)
            check_face(data, mode)
        except AssertionError as exc:
            raise AssertionError(f"mutation {name!r}: {exc}") from None


def test_mutations_change_the_document():
    base = BASE.encode()
    assert all(doc != base for doc in mutations().values())


# Documents in libvirt's layout that the general path accepts: the fast path must take them.
TAKEN = {
    "default": ["small", "small-first", "full", "full-first", "full-many-disks", "big", "no-disks", "name-only",
                "empty-root", "decl", "decl-double", "sizes", "disk-names", "domain-col4", "metadata",
                "title-genid", "qemu-ns", "lxc-exe", "entity-description", "memory-units"],
    "redefine": ["full", "full-many-disks", "big", "decl", "domain-col4", "metadata", "title-genid", "qemu-ns",
                 "lxc-exe", "memory-units"],
    "redefine-no-domain": ["small", "no-disks", "full", "big"],
    "create": ["small", "small-first", "full", "big", "no-disks", "name-only", "empty-root", "sizes"],
    "internal": ["internal-1", "internal-0"],
}


@pytest.mark.parametrize("mode", list(TAKEN))
def test_fast_path_takes_libvirt_layout(mode):
    docs = generated()
    for name in TAKEN[mode]:
        doc = _cut(docs[name])
        assert isinstance(general(doc, _options(mode)), Checkpoint), f"{name} should be valid in {mode}"
        assert check_same(doc, mode), f"the fast path did not take {name!r} in {mode} mode"


def test_fast_path_takes_conformance_redefine():
    path = SHARED / "checkpoint" / "out" / "redefine.xml"
    if not path.is_file():
        pytest.skip(f"libvirt conformance data not found at {SHARED}")
    doc = _cut(path.read_bytes())
    for mode in ("default", "redefine"):
        assert check_same(doc, mode), f"redefine.xml not taken by the fast path in {mode} mode"


def test_domain_verdict_cache_ignores_only_valid_names():
    """The domain-top verdict is cached with a VM's name and uuid left out of the key when they are
    valid: another VM of the same layout is taken, and a bad name or uuid is still refused after a
    good one was cached."""
    docs = mutations()
    for mode in ("default", "redefine"):
        assert check_same(_cut(BASE.encode()), mode)
        assert check_same(_cut(docs["domain-other-vm"]), mode)
        for bad in ("domain-uuid", "domain-name-slash", "domain-name-empty", "domain-name-self"):
            assert fast_parse(_cut(docs[bad]), _options(mode), DEFAULT_LIMITS) is None or mode == "default" and bad == "domain-name-slash", bad
            check_same(_cut(docs[bad]), mode)


def test_many_attributes_below_the_domain():
    """limits.max_attributes holds for elements deep in the domain too (the general path counts them)."""
    doc = _cut(mutations()["domain-many-attrs"])
    assert fast_parse(doc, Options(), DEFAULT_LIMITS) is None
    assert not isinstance(general(doc, Options()), Checkpoint)
    assert check_same(doc, "default", Limits(max_attributes=400))


def test_fast_path_refuses_mutations_it_cannot_judge():
    """Markup the fast reader cannot read exactly (a comment or CDATA section, '>' in text) goes
    to the general path (None), never to a guess. (A fresh reader: the general reader's verdict
    on such a domain, once reached, is kept for the next document with the same bytes, see
    test_general_memory.py.)"""
    docs = mutations()
    for name in ("domain-comment", "domain-cdata", "domain-gt-text", "disks-comment"):
        assert fast_parse(_cut(docs[name]), Options(), DEFAULT_LIMITS, reader=Reader()) is None, name


@pytest.mark.parametrize("mode", ["default", "redefine", "redefine-no-domain", "create"])
def test_fast_path_takes_domains_in_other_layouts(mode):
    """A domain not in libvirt's layout (a line indented otherwise, a tab, two elements on one
    line, double quotes) is read tag by tag, with the general path's result."""
    docs = mutations()
    for name in ("domain-odd-indent", "domain-tab", "domain-two-on-line", "domain-double-quoted"):
        doc = _cut(docs[name])
        assert isinstance(general(doc, _options(mode)), Checkpoint), name
        assert check_same(doc, mode), f"the fast path did not take {name!r} in {mode} mode"


def test_crlf_domain_reads_as_its_lf_twin():
    """XML's end-of-line handling applies to the kept domain text too: a CR LF file gives the
    record its LF twin gives, on both paths (no CR leaks into Domain.xml)."""
    lf = _cut(BASE.encode())
    crlf = lf.replace(b"\n", b"\r\n")
    twin = fast_parse(lf, Options(), DEFAULT_LIMITS)
    assert twin is not None
    slow = general(crlf, Options(), DEFAULT_LIMITS)
    assert slow == twin and "\r" not in slow.domain.xml
    fast = fast_parse(crlf, Options(), DEFAULT_LIMITS)  # CR between disks: left to the general path
    assert fast is None or fast == twin
    # a CR LF domain after an LF checkpoint level is taken by the fast path, normalised
    mixed = lf[: lf.index(b"<domain ")] + lf[lf.index(b"<domain ") :].replace(b"\n", b"\r\n")
    fast = fast_parse(mixed, Options(), DEFAULT_LIMITS)
    assert fast is not None and fast == twin and "\r" not in fast.domain.xml


LIMITS = [
    Limits(max_text=20),
    Limits(max_text=6000),
    Limits(max_depth=4),
    Limits(max_depth=8),
    Limits(max_attributes=1),
    Limits(max_attributes=3),
    Limits(max_disks=1),
]


@pytest.mark.parametrize("limits", LIMITS, ids=lambda l: repr(l))
def test_limits(limits):
    docs = list(generated().items()) + list(mutations().items())
    for (name, data), mode in itertools.product(docs, ("default", "redefine")):
        try:
            check_same(_cut(data), mode, limits)
        except AssertionError as exc:
            raise AssertionError(f"{name!r} {mode}: {exc}") from None


@pytest.mark.parametrize("mode", ["default", "redefine"])
def test_random_edits(mode):
    """Seeded single-character edits of a full document: wherever the fast path still answers, it
    answers as the general path does."""
    import random

    rng = random.Random(20261127)
    base = BASE.encode()
    alphabet = [b"<", b">", b"'", b'"', b"&", b"/", b" ", b"\n", b"\t", b"x", b"=", b"!", b"0", b"\r"]
    taken = 0
    for _ in range(600):
        i = rng.randrange(len(base))
        op = rng.randrange(3)
        if op == 0:
            doc = base[:i] + base[i + 1 :]
        elif op == 1:
            doc = base[:i] + rng.choice(alphabet) + base[i:]
        else:
            doc = base[:i] + rng.choice(alphabet) + base[i + 1 :]
        try:
            taken += check_same(_cut(doc), mode)
        except AssertionError as exc:
            raise AssertionError(f"edit at {i} (op {op}): {exc}") from None
    assert taken > 0  # some edits (in names, values) keep the document valid and in layout


def test_doctype_never_fast():
    """The fast path parses without the security handlers: it must never see a DOCTYPE."""
    doc = b"<!DOCTYPE domaincheckpoint [<!ENTITY e 'x'>]>\n" + corpus.small_doc(1).replace("c1</name>", "&e;</name>", 1).encode()
    assert fast_parse(doc, Options(), DEFAULT_LIMITS) is None
    assert not isinstance(general(doc, Options()), Checkpoint)


# -- the line path: a domain judged from lines seen before ---------------------------------------
# The fast reader remembers the lines of every domain the full path accepted (each checked by expat as
# complete markup) and the verdict on their token sequence. These tests run every mutation and
# many line-level edits against a memory warmed by the base document (so the edited domain goes
# the line path) and against a cold memory (so it goes the full path): both must agree with the
# general path.

def _forget() -> None:
    forget()


def _clear_domains() -> None:
    """Empty the whole-domain cache (it would answer before the line memory for the same bytes)."""
    READER.memory.domains = {}
    READER.memory.domain_chars = 0


def _domain_span(doc: bytes) -> bytes:
    plan = READER.fast.plan
    k = next(i for i, p in enumerate(plan.pieces) if p.kind == "opaque")
    return plan.full.fullmatch(doc).group(k + 1)


def _domain_lines(doc: bytes) -> int:
    """The number of lines of the document's domain (layouts are kept by it)."""
    return doc[doc.index(b"<domain ") : doc.index(b"</domain>")].count(b"\n") + 1


def _twin(doc: bytes) -> bytes:
    """The document with its domain's name one letter longer: another VM of the same structure
    (the same skeleton of markup, other bytes)."""
    domain = re.search(rb"<domain[ \t\r\n>]", doc)
    assert domain is not None
    at = doc.index(b"<name>", domain.start()) + len(b"<name>")
    return doc[:at] + b"z" + doc[at:]


def _warm(*docs: bytes) -> None:
    """Learn the docs' domains: a structure is learnt when a domain of it is met with other bytes
    than the first one (here the docs themselves, after their twins)."""
    _forget()
    for doc in docs:
        for mode in ("default", "redefine"):
            for data in (_twin(doc), doc):
                fast_parse(_cut(data), _options(mode), DEFAULT_LIMITS)
                _clear_domains()
    assert READER.memory.lines.verdicts, "nothing was learned"
    _clear_domains()  # the whole-domain cache would answer first for the same bytes


@pytest.mark.parametrize("memory", ["warm", "cold"])
@pytest.mark.parametrize("mode", ["default", "redefine", "create"])
def test_line_path_agrees_on_mutations(mode, memory):
    for name, data in mutations().items():
        if memory == "warm":
            _warm(BASE.encode())
        else:
            _forget()
        try:
            check_same(_cut(data), mode)
        except AssertionError as exc:
            raise AssertionError(f"mutation {name!r} ({memory} memory): {exc}") from None


def test_line_path_is_taken_without_the_full_path(monkeypatch):
    """Another VM of the same layout (name, uuid, source paths and a driver differ) is judged from the
    remembered lines: the full domain check is not run again, and the record is the general path's."""
    _warm(corpus.full_doc(1).encode())

    def refuse(*args, **kwargs):
        raise AssertionError("the full domain check ran")

    other = corpus.full_doc(2).replace("<driver name='qemu' type='qcow2'/>", "<driver name='qemu' type='raw'/>", 1).encode()
    with monkeypatch.context() as m:
        m.setattr(READER.fast.domains, "full", refuse)
        _clear_domains()
        fast = fast_parse(_cut(other), Options(), DEFAULT_LIMITS)
    assert fast is not None and fast == general(_cut(other), Options())
    # a line never seen that changes the domain's top (an unknown child) is not judged by the lines
    bogus = corpus.full_doc(3).replace("  <clock offset='utc'/>", "  <bogus/>\n    <clock offset='utc'/>").encode()
    assert READER.fast.domains.lines.judge(_domain_span(_cut(bogus)), 2, False) is False
    assert check_same(_cut(bogus), "default") is False


def test_line_path_checks_new_lines_with_expat():
    """A new line in a known position is taken only if expat accepts it as markup."""
    _warm(BASE.encode())
    for bad in ("<name>guest\x0121</name>", "<name>guest&bogus;21</name>", "<name>guest&#0;21</name>",
                "<name a='1' a='2'>guest21</name>", "<name>gu\udcffest</name>"):
        doc = BASE.replace("<name>guest21</name>", bad).encode("utf-8", "surrogateescape")
        raw = READER.fast.plan.full.fullmatch(_cut(doc))
        if raw is not None:
            assert READER.fast.domains.lines.judge(_domain_span(_cut(doc)), 2, False) is False, bad
        assert check_same(_cut(doc), "default") is False, bad
        assert not isinstance(general(_cut(doc), Options()), Checkpoint), bad


def _pool() -> list[bytes]:
    lines: set[bytes] = set()
    for data in list(generated().values()) + list(mutations().values()):
        lines.update(line.strip(b" ") for line in _cut(data).split(b"\n"))
    return sorted(lines)


POOL = _pool()
WARM = [generated()[k] for k in ("full", "metadata", "title-genid", "qemu-ns", "lxc-exe", "memory-units")]
_WARMED: list[object] = []


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_line_path_line_edits(data):
    """Random line-level edits of a known domain (replace a line by any line of the corpora at any
    indentation, drop, repeat, swap): with the memory warm, the fast path agrees with the general path."""
    if not _WARMED or _WARMED[0] is not READER.memory.lines:
        _warm(*WARM, BASE.encode())
        _WARMED[:] = [READER.memory.lines]
    lines = BASE.encode().split(b"\n")
    first = next(i for i, line in enumerate(lines) if line.startswith(b"  <domain "))
    last = next(i for i, line in enumerate(lines) if line == b"  </domain>")
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(first + 1, last - 1))
        op = data.draw(st.sampled_from(["replace", "drop", "repeat", "swap", "indent"]))
        if op == "replace":
            lines[i] = b" " * data.draw(st.sampled_from([2, 4, 6, 8, 5])) + data.draw(st.sampled_from(POOL))
        elif op == "drop":
            del lines[i]
            last -= 1
        elif op == "repeat":
            lines.insert(i, lines[i])
            last += 1
        elif op == "swap":
            j = data.draw(st.integers(first + 1, last - 1))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            lines[i] = b"  " + lines[i] if data.draw(st.booleans()) else lines[i][2:]
    doc = b"\n".join(lines)
    _clear_domains()
    for mode in ("default", "redefine"):
        check_same(_cut(doc), mode)


# -- the disk list, small (one tag at a time) and bulk (more than 16 disks, read column-wise) ------

DISK_EDITS = {
    "junk-between": ("/>\n    <disk name='sdq'", "/>x\n    <disk name='sdq'"),
    "junk-head": ("<disks>\n", "<disks>\n  x\n"),
    "junk-tail": ("\n  </disks>", "\n    x\n  </disks>"),
    "comment-between": ("/>\n    <disk name='sdq'", "/>\n    <!-- c -->\n    <disk name='sdq'"),
    "tab-gap": ("/>\n    <disk name='sdq'", "/>\n\t<disk name='sdq'"),
    "cr-gap": ("/>\n    <disk name='sdq'", "/>\r\n    <disk name='sdq'"),
    "bad-name": ("<disk name='sdq'", "<disk name='foo'"),
    "newline-in-name": ("<disk name='sdq'", "<disk name='/a\n/b'"),
    "tab-in-name": ("<disk name='sdq'", "<disk name='/a\tb'"),
    "path-name": ("<disk name='sdq'", "<disk name='/var/lib/a b.qcow2'"),
    "windows-name": ("<disk name='sdq'", "<disk name='C:\\disk'"),
    "gt-in-name": ("<disk name='sdq'", "<disk name='/a>b'"),
    "amp-in-name": ("<disk name='sdq'", "<disk name='/a&amp;b'"),
    "quote-name": ("<disk name='sdq'", "<disk name=\"sdq\""),
    "no-with-bitmap": ("<disk name='sdq' checkpoint='bitmap' bitmap='big'/>", "<disk name='sdq' checkpoint='no' bitmap='big'/>"),
    "no-with-size": ("<disk name='sdq' checkpoint='bitmap' bitmap='big'/>", "<disk name='sdq' checkpoint='no' size='1'/>"),
    "size": ("<disk name='sdq' checkpoint='bitmap' bitmap='big'/>", "<disk name='sdq' checkpoint='bitmap' bitmap='big' size='42'/>"),
    "size-huge": ("<disk name='sdq' checkpoint='bitmap' bitmap='big'/>", "<disk name='sdq' bitmap='big' size='18446744073709551616'/>"),
    "empty-bitmap": ("bitmap='big'/>\n    <disk name='sdq'", "bitmap=''/>\n    <disk name='sdq'"),
    "cdata-end-in-bitmap": ("bitmap='big'/>\n    <disk name='sdq'", "bitmap='a]]>b'/>\n    <disk name='sdq'"),
    "utf8-bitmap": ("bitmap='big'/>\n    <disk name='sdq'", "bitmap='b\u00efg'/>\n    <disk name='sdq'"),
    "fffe-bitmap": ("bitmap='big'/>\n    <disk name='sdq'", "bitmap='b\ufffeg'/>\n    <disk name='sdq'"),
    "control-bitmap": ("bitmap='big'/>\n    <disk name='sdq'", "bitmap='b\x01g'/>\n    <disk name='sdq'"),
    "attribute-order": ("<disk name='sdq' checkpoint='bitmap' bitmap='big'/>", "<disk name='sdq' bitmap='big' checkpoint='bitmap'/>"),
    "dup-attribute": ("<disk name='sdq' checkpoint='bitmap'", "<disk name='sdq' checkpoint='bitmap' checkpoint='bitmap'"),
    "unknown-attribute": ("<disk name='sdq' checkpoint='bitmap'", "<disk name='sdq' type='x' checkpoint='bitmap'"),
    "open-close": ("<disk name='sdq' checkpoint='bitmap' bitmap='big'/>", "<disk name='sdq' checkpoint='bitmap' bitmap='big'></disk>"),
    "other-element": ("<disk name='sdq' checkpoint='bitmap' bitmap='big'/>", "<disc name='sdq'/>"),
    "space-before-slash": ("<disk name='sdq' checkpoint='bitmap' bitmap='big'/>", "<disk name='sdq' checkpoint='bitmap' bitmap='big' />"),
    "no-space": ("<disk name='sdq' checkpoint='bitmap'", "<disk name='sdq'checkpoint='bitmap'"),
    "long-gap": ("/>\n    <disk name='sdq'", "/>\n" + " " * 3000 + "<disk name='sdq'"),
    "long-name": ("<disk name='sdq'", "<disk name='/" + "a" * 3000 + "'"),
    "bad-utf8": ("bitmap='big'/>\n    <disk name='sdq'", "bitmap='b\udcc3]]>\udca9g'/>\n    <disk name='sdq'"),
}


def _disk_docs(ndisks: int) -> dict[str, bytes]:
    base = corpus.big_doc(ndisks)
    out = {}
    for key, (old, new) in DISK_EDITS.items():
        assert old in base, (key, ndisks)
        out[key] = base.replace(old, new, 1).encode("utf-8", "surrogateescape")
    return out


@pytest.mark.parametrize("ndisks", [20, 40, 300])
@pytest.mark.parametrize("limits", [DEFAULT_LIMITS, Limits(max_text=2000), Limits(max_disks=25)], ids=["default", "text", "disks"])
def test_disk_list_edits(ndisks, limits):
    """One rule bent in the disk list, in both the one-tag-at-a-time and the column-wise reader:
    the fast path agrees with the general path, and takes the valid ones."""
    taken = set()
    for name, doc in _disk_docs(ndisks).items():
        for mode in ("default", "redefine"):
            try:
                if check_same(_cut(doc), mode, limits):
                    taken.add(name)
            except AssertionError as exc:
                raise AssertionError(f"{name!r} {mode}: {exc}") from None
    if limits is DEFAULT_LIMITS:
        assert {"path-name", "windows-name", "size", "utf8-bitmap", "long-gap", "long-name"} <= taken
    assert not taken & {"junk-between", "junk-head", "junk-tail", "bad-name", "newline-in-name", "fffe-bitmap", "bad-utf8"}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_disk_list_random_edits(data):
    """Random character edits inside a 30-disk list: wherever the fast path answers, it answers as
    the general path does."""
    base = corpus.big_doc(30).encode()
    lo, hi = base.index(b"<disks>"), base.index(b"</disks>") + 8
    doc = base
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(lo, hi))
        c = data.draw(st.sampled_from([b"<", b">", b"'", b'"', b"&", b"/", b" ", b"\n", b"\t", b"x", b"=", b"!", b"0", b"]", b"\xc3", b"\x01"]))
        op = data.draw(st.integers(0, 2))
        doc = doc[:i] + doc[i + 1 :] if op == 0 else doc[:i] + c + doc[i:] if op == 1 else doc[:i] + c + doc[i + 1 :]
    check_same(_cut(doc), "default")


def test_layout_path_values_and_refusals(monkeypatch):
    """After two VMs of one layout, a third is checked against the layout (constant lines compared
    as bytes, changed lines against their value patterns) with no expat run; values outside the
    plain set, or a changed line that alters the top, go the other ways, and every answer is the
    general path's."""
    first = corpus.full_doc(1).encode()
    second = corpus.full_doc(2).encode()
    _warm(first)
    assert fast_parse(_cut(second), Options(), DEFAULT_LIMITS) is not None  # per line: makes the layout
    assert READER.memory.lines.layouts.get((2, _domain_lines(second))), "no layout was remembered"

    def no_expat(*args, **kwargs):
        raise AssertionError("expat ran")

    third = corpus.full_doc(3).encode()
    import checkpoint_stream.readers.fast.domain as fast_domain

    with monkeypatch.context() as m:
        m.setattr(fast_domain, "ParserCreate", no_expat)
        m.setattr(fast_lines, "ParserCreate", no_expat)
        _clear_domains()
        fast = fast_parse(_cut(third), Options(), DEFAULT_LIMITS)
    assert fast is not None and fast == general(_cut(third), Options())
    base = corpus.full_doc(4)
    edits = {
        "name-slash": ("<name>guest4</name>", "<name>guest/4</name>"),
        "name-amp": ("<name>guest4</name>", "<name>guest&amp;4</name>"),
        "name-utf8": ("<name>guest4</name>", "<name>gu\u00e9st4</name>"),
        "name-empty": ("<name>guest4</name>", "<name></name>"),
        "name-control": ("<name>guest4</name>", "<name>gu\x01est4</name>"),
        "uuid-bad": ("-000000000004</uuid>", "-00000000000Z</uuid>"),
        "path-equals": ("guest4-vda.qcow2", "guest4=vda.qcow2"),
        "path-amp": ("guest4-vda.qcow2", "guest4&amp;vda.qcow2"),
        "path-lt": ("guest4-vda.qcow2", "guest4&lt;vda.qcow2"),
        "path-charref": ("guest4-vda.qcow2", "guest4&#0;vda.qcow2"),
        "path-utf8": ("guest4-vda.qcow2", "guest4-v\u00e9a.qcow2"),
        "path-quote": ("file='/var/lib/libvirt/images/guest4-vda.qcow2'", "file=\"/var/lib/libvirt/images/guest4'vda.qcow2\""),
        "path-attr-added": ("guest4-vda.qcow2'/>", "guest4-vda.qcow2' index='1'/>"),
        "path-attr-dup": ("guest4-vda.qcow2'/>", "guest4-vda.qcow2' file='x'/>"),
        "path-gt": ("guest4-vda.qcow2", "guest4>vda.qcow2"),
        "path-tab": ("guest4-vda.qcow2", "guest4\tvda.qcow2"),
        "line-joined": ("guest4-vda.qcow2'/>\n", "guest4-vda.qcow2'/><x/>\n"),
        "plain": ("guest4-vda.qcow2", "other-disk_4.img"),
    }
    for name, (old, new) in edits.items():
        assert old in base, name
        doc = base.replace(old, new, 1).encode("utf-8")
        for mode in ("default", "redefine"):
            _clear_domains()
            try:
                check_same(_cut(doc), mode)
            except AssertionError as exc:
                raise AssertionError(f"{name!r} {mode}: {exc}") from None
    assert check_same(_cut(base.replace("guest4-vda.qcow2", "other-disk_4.img").encode()), "default")


def test_threads_share_the_memory_safely():
    """Threads parsing at once share what the scanner remembers: each gets the records a lone
    parse gives."""
    import threading

    streams = [b"".join(corpus.full_doc(i + k * 1000).encode() for i in range(150)) for k in range(4)]
    _forget()
    expected = [[r.to_dict() for r in iterparse_records(s)] for s in streams]
    _forget()
    got: list[list[dict] | None] = [None] * len(streams)

    def work(k: int) -> None:
        got[k] = [r.to_dict() for r in iterparse_records(streams[k])]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(streams))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == expected


def iterparse_records(data: bytes):
    from checkpoint_stream import iterparse

    return list(iterparse(data))


def test_first_sights_are_not_learnt_and_recurring_structures_are(monkeypatch):
    """A stream whose domains each have a structure of their own (1, 2, 3, ... disks) learns
    nothing (learning costs about a second reading and pays only when a structure comes back), so
    a first pass costs what a reader without memory costs; nor does it lower the recognition
    average. When structures recur (new VMs with 1 to 4 disks), each is learnt the second time it
    is met and recognised from then on. Every record is the general path's."""
    _forget()
    learn = READER.fast.domains.lines.learn

    def refuse(*args, **kwargs):
        raise AssertionError("a structure met once was learnt")

    unique = [corpus.full_doc(i, ndisks=i).encode() for i in range(5, 245)]
    with monkeypatch.context() as m:
        m.setattr(READER.fast.domains.lines, "learn", refuse)
        for doc in unique:
            check_same(_cut(doc), "default")
    memory = READER.memory.lines
    assert not memory.verdicts
    assert memory.rate == 1.0
    learnt = []

    def counting(*args, **kwargs):
        learnt.append(args)
        return learn(*args, **kwargs)

    recurring = [corpus.full_doc(1000 + i, ndisks=1 + i % 4).encode() for i in range(400)]
    with monkeypatch.context() as m:
        m.setattr(READER.fast.domains.lines, "learn", counting)
        for doc in recurring:
            check_same(_cut(doc), "default")
    assert 4 <= len(learnt) <= 8  # each of the 4 structures once (and again only if its lines varied)
    assert READER.memory.lines.rate >= fast_lines.RATE_TRUSTED


# -- libvirt's layout written with double quotes (lxml's pretty printer), or CR LF line ends -----


def _double_quoted(doc: bytes) -> bytes:
    return doc.replace(b"'", b'"')


VARIANTS = {
    "double quotes": _double_quoted,
    "CR LF": lambda doc: doc.replace(b"\n", b"\r\n"),
    "CR": lambda doc: doc.replace(b"\n", b"\r"),
    "CR LF and double quotes": lambda doc: _double_quoted(doc).replace(b"\n", b"\r\n"),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("memory", ["warm", "cold"])
@pytest.mark.parametrize("mode", ["default", "redefine"])
def test_variant_documents_agree_with_the_general_path(mode, memory, variant):
    """Every mutation, written with double quotes and/or CR LF (or CR) line ends, gets the general
    path's answer; the valid ones are read by the fast path (quotes turned into apostrophes, line
    ends into LF), and a record's domain keeps the text the general path keeps: its quotes as
    written, its line ends LF (XML's end-of-line handling)."""
    make = VARIANTS[variant]
    taken = 0
    for name, data in mutations().items():
        if memory == "warm":
            _warm(BASE.encode())
        else:
            _forget()
        doc = make(_cut(data))
        try:
            if check_same(doc, mode):
                taken += 1
                record = fast_parse(doc, _options(mode), DEFAULT_LIMITS)
                if record.domain is not None and "double quotes" in variant:
                    assert "'" not in record.domain.xml and '"' in record.domain.xml
        except AssertionError as exc:
            raise AssertionError(f"mutation {name!r} with {variant} ({memory} memory): {exc}") from None
    _forget()
    assert check_same(make(_cut(BASE.encode())), mode), "the fast path declined the base document"
    assert taken > 1


def test_double_quoted_documents_that_cannot_be_requoted_are_read_as_written():
    """An apostrophe anywhere, or a double quote in text, leaves the quotes as they are (turning
    them would change a value): the fast path reads the double quotes themselves (the disk list
    and the domain), with the general path's result."""
    doc = _double_quoted(_cut(corpus.full_doc(3).encode()))
    with_apostrophe = doc.replace(b"<name>c3</name>", b"<name>c3</name>\n  <description>it's</description>", 1)
    quote_in_text = doc.replace(b"<name>c3</name>", b'<name>c3</name>\n  <description>say "hi"</description>', 1)
    for data in (with_apostrophe, quote_in_text):
        assert check_same(data, "default")
        slow = general(data, _options("default"))
        assert isinstance(slow, Checkpoint) and slow.description in ("it's", 'say "hi"')
        assert '"' in slow.domain.xml and parse(data) == slow
    mixed = with_apostrophe.replace(b'checkpoint="bitmap"', b"checkpoint='bitmap'", 1)  # both quotes in one list
    assert fast_parse(mixed, _options("default"), DEFAULT_LIMITS) is None
    assert parse(mixed) == general(mixed, _options("default"))


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_a_stream_of_variant_documents_is_read_in_the_hot_loop(monkeypatch, variant):
    """The framer's hot loop reads such documents itself (no general path), and gives the records
    the general path gives, domains as it keeps them, origins in order."""
    import checkpoint_stream.framing as framing
    from checkpoint_stream import iterparse

    docs = [VARIANTS[variant](corpus.full_doc(i).encode()) for i in range(1, 30)]

    def refuse(*args, **kwargs):
        raise AssertionError("the general path ran")

    monkeypatch.setattr(framing.Framer, "_feed_general", refuse)
    records = list(iterparse(b"".join(docs)))
    assert [r.origin.index for r in records] == list(range(len(docs)))
    for doc, record in zip(docs, records):
        slow = general(_cut(doc), _options("default"))
        assert record == slow and record.domain.xml == slow.domain.xml


# -- domains in any layout: read tag by tag ---------------------------------------------------------

OTHER_LAYOUTS = [layout for layout in corpus.REALISTIC_LAYOUTS if layout != "libvirt"]
# "generated deep" is deeper than the fast reader's levels in every layout. ElementTree writes an
# empty root as "<domaincheckpoint />", which the general path reads.
_LEFT_IN_ETREE = ("generated empty-root",)


def _relaid(doc: bytes, layout: str) -> bytes | None:
    """``doc`` in another layout (None when ElementTree cannot rewrite it: a comment would be lost)."""
    if layout == "etree" and (b"<!--" in doc or b"<?" in doc or b"<![CDATA[" in doc or b"&" in doc):
        return None
    try:
        text = doc.decode("utf-8")
    except UnicodeDecodeError:  # bad bytes: the same mutation in libvirt's layout covers it
        return None
    try:
        return corpus.relayout(text, layout).encode("utf-8", "surrogatepass")
    except Exception:  # ElementTree refuses what is not well formed
        return None


@pytest.mark.parametrize("layout", OTHER_LAYOUTS)
@pytest.mark.parametrize("mode", ["default", "redefine", "create"])
def test_other_layouts_agree_on_generated_documents_and_mutations(layout, mode):
    """Every generated document and every mutation, in one line, four spaces, tabs and
    ElementTree's layout: the fast path gives the general path's result, and takes every valid
    document that holds no comment, CDATA section or '>' in text."""
    _forget()
    cases = {**{f"generated {k}": v for k, v in generated().items()}, **{f"mutation {k}": v for k, v in mutations().items()}}
    taken = 0
    for name, data in cases.items():
        relaid = _relaid(data, layout)
        if relaid is None:
            continue
        doc = _cut(relaid)
        try:
            took = check_same(doc, mode)
        except AssertionError as exc:
            raise AssertionError(f"{name} in {layout}: {exc}") from None
        taken += took
        plain = not any(bad in doc for bad in (b"<!--", b"<![CDATA[", b"<?", b"&", b"\r", b"\xef\xbb\xbf"))
        left = name in ("generated deep",) or layout == "etree" and name in _LEFT_IN_ETREE
        if plain and not left and name.startswith("generated") and isinstance(general(doc, _options(mode)), Checkpoint):
            assert took, f"{name} in {layout} ({mode}) was left to the general path"
    assert taken >= 10


REALISTIC_AVAILABLE = bool(corpus.realistic_files())


@pytest.mark.skipif(not REALISTIC_AVAILABLE, reason="benchmarks/realistic/domains is not in this checkout")
@pytest.mark.parametrize("layout", list(corpus.REALISTIC_LAYOUTS))
def test_realistic_domains_agree_in_every_layout(layout):
    """Checkpoints around libvirt's own test domains (benchmarks/realistic), every layout, three
    modes, cold and warm: the fast path gives the general path's result, and takes nearly all."""
    docs = corpus.realistic_documents(layout, kept_only=False)
    for mode in ("default", "redefine", "create"):
        _forget()
        for rnd in ("cold", "warm"):
            taken = 0
            for i, data in enumerate(docs):
                try:
                    taken += check_same(_cut(data), mode)
                except AssertionError as exc:
                    raise AssertionError(f"document {i} in {layout} ({mode}, {rnd}): {exc}") from None
            if mode == "default":
                assert taken >= 0.9 * len(docs), (layout, rnd, taken)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_tag_level_edits_in_one_line(data):
    """Random edits of a one-line domain at the level of tags (drop, repeat, swap, wrap in an
    element, text or whitespace put between tags, an attribute double-quoted or spread over
    lines): the fast path agrees with the general path."""
    doc = _cut(corpus.relayout(BASE, "oneline").encode())
    edited = edit_domain_tags(doc, data, ["drop", "repeat", "swap", "wrap", "text", "space", "quote", "spread"])
    _forget()
    for mode in ("default", "redefine"):
        check_same(edited, mode)


ROOT_CASES = {
    # ElementTree's way: the domain's extension namespaces declared on the root
    "declared on the root": (True, b"<domaincheckpoint xmlns:q='http://libvirt.org/schemas/domain/qemu/1.0'>", b"<q:commandline><q:arg value='-x'/></q:commandline>"),
    "double quotes, tab in the tag": (True, b'<domaincheckpoint\txmlns:q="http://libvirt.org/schemas/domain/qemu/1.0" >', b"<q:commandline/>"),
    "declared, unused": (True, b"<domaincheckpoint xmlns:a='urn:x' xmlns:b='urn:y'>", b""),
    "prefix not declared": (False, b"<domaincheckpoint xmlns:a='urn:x'>", b"<q:commandline/>"),
    "not libvirt's namespace": (False, b"<domaincheckpoint xmlns:q='urn:other'>", b"<q:commandline/>"),
    "an attribute the root does not take": (False, b"<domaincheckpoint id='1'>", b""),
    "a default namespace": (False, b"<domaincheckpoint xmlns='urn:x'>", b""),
    "declared twice": (False, b"<domaincheckpoint xmlns:a='urn:x' xmlns:a='urn:x'>", b""),
    "a reference in the value": (False, b"<domaincheckpoint xmlns:a='urn:&amp;'>", b""),
    "a name expat refuses": (False, b"<domaincheckpoint xmlns:a!b='urn:x'>", b""),
    "a tab in the value": (True, b"<domaincheckpoint xmlns:q='http://libvirt.org/schemas/domain/qemu/1.0\t'>", b""),
}


@pytest.mark.parametrize("name", list(ROOT_CASES))
@pytest.mark.parametrize("mode", ["default", "redefine", "internal"])
def test_root_attributes(name, mode):
    """Attributes on the root (where ElementTree declares a domain's namespaces): the fast path
    takes what the root's rule accepts, with the declarations applied to the domain, and gives
    the general path's result; anything else goes the general way."""
    taken, root, extension = ROOT_CASES[name]
    doc = _cut(BASE.encode()).replace(b"<domaincheckpoint>", root, 1)
    if mode == "internal":
        doc = doc.replace(b"</domaincheckpoint>", b"  <active>1</active>\n</domaincheckpoint>", 1)
    doc = doc.replace(b"  </domain>", b"    " + extension + b"\n  </domain>", 1) if extension else doc
    _forget()
    took = check_same(doc, mode)
    assert took == (taken and isinstance(general(doc, _options(mode)), Checkpoint)), name
    if not took:
        assert fast_parse(doc, _options(mode), DEFAULT_LIMITS) is None


def test_memory_sizes_are_classed_outside_redefine_only():
    """Outside REDEFINE only a child's value rule reads its text, so another VM's memory size or
    vCPU count reads as the same domain top (one verdict remembered); in REDEFINE libvirt's parser
    compares them (memory and maximum, vCPUs), so they stay in the key. Either way a size that a
    rule refuses is refused after a good one was remembered, and both paths agree."""
    from checkpoint_stream.grammar import GRAMMAR

    g = GRAMMAR.domain
    assert g.text_class("memory", "1048576", False) == g.text_class("memory", "2097152", False) == (True,)
    assert g.text_class("memory", "12x", False) == (False,)
    assert g.text_class("memory", "1048576") is None and g.text_class("vcpu", "2") is None
    assert g.text_readers("memory", False) and not g.text_readers("memory")
    base = _cut(BASE.encode())
    assert re.search(rb"<memory[^>]*>\d+</memory>", base) and re.search(rb"<vcpu[^>]*>\d+</vcpu>", base)

    def sized(memory: str, vcpus: str) -> bytes:
        doc = re.sub(rb"(<memory[^>]*>)\d+(</memory>)", rb"\g<1>" + memory.encode() + rb"\g<2>", base)
        return re.sub(rb"(<vcpu[^>]*>)\d+(</vcpu>)", rb"\g<1>" + vcpus.encode() + rb"\g<2>", doc)

    domains = READER.fast.domains
    for mode in ("default", "redefine"):
        redefine = mode == "redefine"
        forget()
        tops = READER.fast.memory.tops
        for i, (memory, vcpus) in enumerate([("1048576", "2"), ("2097152", "4"), ("4096", "1")]):
            doc = sized(memory, vcpus)
            domain = doc[doc.index(b"<domain ") : doc.rindex(b"</domain>") + 9].decode()
            assert domains.any_layout(domain, 2, redefine, DEFAULT_LIMITS.max_attributes) is not None
            assert len(tops) == (1 if mode == "default" else i + 1), (mode, i)
        for memory, vcpus in [("1048576", "2"), ("2097152", "4"), ("4096", "1")]:
            assert check_same(sized(memory, vcpus), mode)
        for bad in (sized("12x", "2"), sized("1048576", "0"), sized("99999999999999999999", "2")):
            assert fast_parse(bad, _options(mode), DEFAULT_LIMITS) is None
            check_same(bad, mode)


def test_child_verdicts_remembered_by_key_judge_as_the_grammar_does():
    """DomainGrammar.judge with keys and a verdict table (the fast reader's memory of single
    children) says what check says, for tops whose children recur in other tops, refused children
    included (a remembered refusal is still a refusal), and the table stays bounded."""
    from checkpoint_stream.grammar import GRAMMAR
    from checkpoint_stream.grammar.domain import DomainChild, DomainTop

    g = GRAMMAR.domain
    good = [
        DomainChild("name", {}, "vm1"),
        DomainChild("uuid", {}, "9d37b878-a7cc-9f9a-b78f-49b3abad25a8"),
        DomainChild("memory", {"unit": "KiB"}, "1048576"),
        DomainChild("vcpu", {"placement": "static"}, "2"),
        DomainChild("os", {}, "\n", True, {"type": "hvm"}),
        DomainChild("clock", {"offset": "utc"}, ""),
        DomainChild("devices", {}, "\n", True),
    ]
    bad = {
        2: DomainChild("memory", {"unit": "parsecs"}, "1048576"),
        3: DomainChild("vcpu", {"placement": "sometimes"}, "2"),
        5: DomainChild("clock", {"offset": "whenever"}, ""),
        6: DomainChild("devices", {"bogus": "1"}, "\n", True),
    }

    def key(c):
        return (c.tag, tuple(sorted(c.attrs.items())), c.nested, c.text if c.tag not in ("name", "uuid") else "", tuple(sorted(c.inner.items())))

    verdicts: dict = {}
    tops = []
    for i, child in [(None, None), *bad.items(), (None, None), *reversed(bad.items())]:
        children = list(good)
        if i is not None:
            children[i] = child
        tops.append(DomainTop({"type": "kvm"}, tuple(children)))
    for top in tops * 2:
        keys = [key(c) for c in top.children]
        for redefine in (False, True):
            assert g.judge(top, {}, redefine, keys, verdicts) == g.judge(top, {}, redefine)
    assert [g.judge(t, {}, False) for t in tops[:6]] == [True, False, False, False, False, True]
    assert 0 < len(verdicts) <= 4096 and False in verdicts.values()


def test_a_domain_read_tag_by_tag_makes_its_text_when_first_read():
    """A domain the fast reader reads tag by tag (not in libvirt's layout) keeps its text to be
    dedented when ``xml`` is first read (a validation never reads it); the value, equality, hash
    and a pickle round trip are those of the domain the general reader makes."""
    import pickle

    from checkpoint_stream.markup.indentation import dedent

    docs = mutations()
    for name in ("domain-odd-indent", "domain-tab", "domain-two-on-line"):
        doc = _cut(docs[name])
        forget()
        fast = fast_parse(doc, _options("default"), DEFAULT_LIMITS)
        assert fast is not None and fast.domain is not None, name
        held = object.__getattribute__(fast.domain, "_text")
        assert held is not None, name
        with pytest.raises(AttributeError):
            object.__getattribute__(fast.domain, "xml")  # not made yet
        pickled = pickle.dumps(fast)  # pickling makes it
        slow = general(doc, _options("default"))
        assert pickle.loads(pickled) == slow
        assert fast.domain.xml == slow.domain.xml == dedent(held[0], held[1]), name
        assert fast == slow and hash(fast.domain) == hash(slow.domain)
        again = pickle.loads(pickle.dumps(fast))
        assert again == slow and again.domain.xml == slow.domain.xml
