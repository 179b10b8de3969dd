"""Differential test against real libvirt 9.0 (test driver), when it is installed.

A few hundred REDEFINE documents (valid ones, and mutations that each break one rule) go through
libvirt (``tests/libvirt_driver.py`` under ``/usr/bin/python3``: ``checkpointCreateXML(REDEFINE)``
+ ``getXMLDesc(flags)``) and through checkpoint_stream (``parse(redefine=True,
require_domain=False)`` -- libvirt >= 7.0 accepts a redefine without ``<domain>`` -- then
``align_disks``, then ``dumps`` with the same flags). Both must take the same accept/reject
decision, and accepted documents whose ``<domain>`` is in libvirt's canonical form must come out
byte for byte identical (that covers the escaping, the layout, alignment, default bitmaps and the
SECURE stripping of VNC/SPICE passwords and disk cookies).

Out of scope (this library does not know the target domain or the other checkpoints): uuid
mismatches and parent existence/cycle checks, so every generated parent is created first.
"""

from __future__ import annotations

import os
import random
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest

from checkpoint_stream import CheckpointError, parse
from checkpoint_stream.align import align_disks
from checkpoint_stream.markup.indentation import indent
from checkpoint_stream.writer import dumps
from libvirt_util import SYSTEM_PYTHON, libvirt_unavailable as _libvirt_available

HERE = Path(__file__).resolve().parent
SEED = 20261127
N_VALID = 260
N_MUTANTS = 140


def _driver():
    import sys

    sys.path.insert(0, str(HERE))
    try:
        import libvirt_driver
    finally:
        sys.path.pop(0)
    return libvirt_driver


@pytest.fixture(scope="module")
def driver():
    reason = _libvirt_available()
    if reason:
        pytest.skip(f"libvirt unavailable, differential test not run: {reason}")
    return _driver()


# -- domains --------------------------------------------------------------------------------------

DISK = "<disk type='file' device='disk'><source file='/tmp/cs-differential/{t}.img'/><target dev='{t}' bus='{bus}'/>{ro}</disk>"
CDROM_EMPTY = "<disk type='file' device='cdrom'><target dev='{t}' bus='ide'/><readonly/></disk>"
CDROM_FULL = "<disk type='file' device='cdrom'><source file='/tmp/cs-differential/{t}.iso'/><target dev='{t}' bus='ide'/></disk>"
NET_COOKIES = (
    "<disk type='network' device='disk'><driver name='qemu' type='raw'/>"
    "<source protocol='http' name='x.img'><host name='h.example' port='80'/>"
    "<cookies><cookie name='sess'>SECRET&amp;COOKIE</cookie></cookies></source>"
    "<target dev='{t}' bus='virtio'/></disk>"
)
GRAPHICS = (
    "<graphics type='vnc' port='5900' autoport='no' passwd='VNC&apos;PASS' passwdValidTo='2030-01-01T00:00:00' connected='keep'/>"
    "<graphics type='spice' port='5901' autoport='no' passwd='' connected='disconnect'/>"
)


def _bus(t: str) -> str:
    return "ide" if t.startswith("hd") else "scsi" if t.startswith("sd") else "virtio"


def _raw_domain(uuid: str, name: str, devices: str, os_type: bool = True, memory: bool = True) -> str:
    return (
        f"<domain type='test'><name>{name}</name><uuid>{uuid}</uuid>"
        + ("<memory unit='KiB'>1048576</memory>" if memory else "")
        + ("<os><type arch='i686'>hvm</type></os>" if os_type else "")
        + f"<devices>{devices}</devices></domain>"
    )


def _disks(*specs: str) -> str:
    out = []
    for spec in specs:
        t, _, kind = spec.partition(":")
        if kind == "empty":
            out.append(CDROM_EMPTY.format(t=t))
        elif kind == "cdrom":
            out.append(CDROM_FULL.format(t=t))
        elif kind == "net":
            out.append(NET_COOKIES.format(t=t))
        else:
            out.append(DISK.format(t=t, bus=_bus(t), ro="<readonly/>" if kind == "ro" else ""))
    return "".join(out)


DOMAIN_SPECS = {
    "one": _disks("vda"),
    "four": _disks("vda", "vdb:ro", "hdc:empty", "sda"),
    "secrets": _disks("vda", "vdb:net") + GRAPHICS,
    "cdrom": _disks("vda", "hdc:cdrom", "vdc"),
    "none": "",
}


@lru_cache(maxsize=1)
def _canonical_domains(driver_module) -> dict[str, tuple[str, tuple]]:
    """name -> (libvirt's canonical domain text, its disks as (target, path, usable))."""
    info_req = [{"op": "info"}]
    keys = list(DOMAIN_SPECS)
    uuid, name = driver_module.UUID, driver_module.NAME
    reqs = info_req + [{"op": "canon", "domain": _raw_domain(uuid, name, DOMAIN_SPECS[k])} for k in keys]
    answers = driver_module.run_batch(reqs)
    out = {}
    for key, ans in zip(keys, answers[1:]):
        assert ans["ok"], (key, ans)
        xml = ans["xml"].rstrip("\n")
        out[key] = (xml, _disk_facts(xml))
    return out


def _disk_facts(xml: str) -> tuple:
    from checkpoint_stream import Domain

    return tuple((d.target, d.source, not (d.source is None or d.readonly or d.device == "cdrom")) for d in Domain(xml).disks)


# -- document generation --------------------------------------------------------------------------

NAMES = ["c1", "a", "0", "_x", "-y", "a.b.c", "Z9_-.", "n" * 64]
DESCRIPTIONS = [
    None,
    "plain",
    "a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;",
    "  spaced  ",
    " ",
    "line1\nline2\tTab",
    "caf\u00e9 \u2603 \U0001f600",
    "]]&gt; and &#9; &#13; &#x7f;",
    "<![CDATA[raw <cdata> & stuff]]>",
    "a<!--comment-->b",
    "",
]
BITMAPS = [None, None, "", "b1", "a&amp;b", "&apos;q&quot;", "x&#9;y", "sp ace", "\u00e9t\u00e9"]


def _esc_attr(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace("'", "&apos;")


class Doc:
    def __init__(self, rng: random.Random, domains: dict) -> None:
        self.rng = rng
        self.domain_key = rng.choice(list(domains) + [None]) if rng.random() < 0.95 else None
        if self.domain_key == "none" and rng.random() < 0.7:
            self.domain_key = "four"
        self.domain_xml = domains[self.domain_key][0] if self.domain_key else None
        facts = domains[self.domain_key][1] if self.domain_key else (("vda", "/tmp/cs-differential/vda.img", True),)
        self.name = rng.choice(NAMES)
        self.description = rng.choice(DESCRIPTIONS)
        self.parent = rng.choice([n for n in NAMES if n != self.name]) if rng.random() < 0.3 else None
        self.creation = rng.choice(["1", "5", "007", "0", "1553647812", "9223372036854775807"])
        self.disks: list[str] | None = None
        if rng.random() < 0.7:
            picks = rng.sample(facts, rng.randint(1, len(facts))) if facts else []
            self.disks = []
            for target, path, usable in picks:
                disk_name = path if (path and rng.random() < 0.25) else target
                kind = rng.choice(["bitmap", "no", None]) if usable or rng.random() < 0.2 else "no"
                attrs = f"name='{_esc_attr(disk_name)}'"
                if kind is not None:
                    attrs += f" checkpoint='{kind}'"
                if kind != "no":
                    bm = rng.choice(BITMAPS)
                    if bm is not None:
                        attrs += f" bitmap='{bm}'"
                    if rng.random() < 0.1:
                        attrs += " size='12345'"
                self.disks.append(f"<disk {attrs}/>")
        self.extra: list[str] = []
        self.xml_flags = rng.choice([0, 1, 1, 1, 2, 3, 4, 5])
        self.canonical = True

    def parts(self) -> list[str]:
        parts = []
        if self.name is not None:
            parts.append(f"<name>{self.name}</name>")
        if self.description is not None:
            parts.append(f"<description>{self.description}</description>")
        if self.parent is not None:
            parts.append(f"<parent><name>{self.parent}</name></parent>")
        if self.creation is not None:
            parts.append(f"<creationTime>{self.creation}</creationTime>")
        if self.disks is not None:
            parts.append("<disks>" + "".join(self.disks) + "</disks>")
        if self.domain_xml is not None:
            parts.append("\n  " + indent(self.domain_xml, 2) + "\n")
        return parts + self.extra

    def render(self) -> str:
        parts = self.parts()
        if self.rng.random() < 0.5:
            self.rng.shuffle(parts)
        sep = self.rng.choice(["", "\n  ", " "])
        return "<domaincheckpoint>" + sep + sep.join(parts) + "\n</domaincheckpoint>"

    def setup(self) -> list[str]:
        if self.parent is None:
            return []
        return [f"<domaincheckpoint><name>{self.parent}</name><creationTime>1</creationTime></domaincheckpoint>"]


def _mutate(doc: Doc, rng: random.Random, driver_module) -> str:
    """Break exactly one rule (mostly) and return a label."""
    choice = rng.randrange(24)
    if choice == 0:
        doc.name = rng.choice([".a", "a b", "a/b", "", "\u00e9"])
    elif choice == 1:
        doc.name = None
    elif choice == 2:
        doc.creation = None
    elif choice == 3:
        doc.creation = rng.choice(["9223372036854775808", "18446744073709551615", " 12", "-1", "1e3", "", "18446744073709551616"])
    elif choice == 4:
        doc.disks = (doc.disks or []) + ["<disk name='vdz'/>"]
    elif choice == 5:
        doc.disks = ["<disk name='vda'/>", "<disk name='vda' checkpoint='no'/>"]
    elif choice == 6:
        doc.disks = []
    elif choice == 7:
        doc.disks = ["<disk checkpoint='no'/>"]
    elif choice == 8:
        doc.disks = ["<disk name='vda' checkpoint='default'/>"]
    elif choice == 9:
        doc.disks = ["<disk name='vda' checkpoint='no' bitmap='x'/>"]
    elif choice == 10:
        doc.disks = ["<disk name='vda' size='x'/>"]
    elif choice == 11:
        doc.extra.append(rng.choice(["<foo/>", "<active>1</active>", "<name>dup</name>", "text"]))
    elif choice == 12:
        doc.description = "a<b/>c"
    elif choice == 13:
        doc.parent = ""  # renders <parent><name></name></parent>
    elif choice == 14:
        doc.domain_key, doc.domain_xml = "none", _canonical_domains(driver_module)["none"][0]
    elif choice == 15:
        doc.domain_key = "raw-no-os"
        doc.domain_xml = _raw_domain(driver_module.UUID, driver_module.NAME, DOMAIN_SPECS["one"], os_type=False)
        doc.canonical = False
    elif choice == 16:
        doc.domain_key = "raw-no-memory"
        doc.domain_xml = _raw_domain(driver_module.UUID, driver_module.NAME, DOMAIN_SPECS["one"], memory=False)
        doc.canonical = False
    elif choice == 17:
        doc.domain_key = "raw-cdrom"  # non-canonical: a cdrom with a source but no <readonly/>
        doc.domain_xml = _raw_domain(driver_module.UUID, driver_module.NAME, DOMAIN_SPECS["cdrom"])
        doc.disks = [rng.choice(["<disk name='hdc'/>", "<disk name='hdc' checkpoint='no'/>", "<disk name='vdc'/>"])]
        doc.canonical = False
    elif choice == 18:
        doc.domain_key, doc.domain_xml = "one", _canonical_domains(driver_module)["one"][0]
        doc.disks = ["<disk name='vda'/>", "<disk name='vdb'/>"]  # too many
    elif choice == 19:
        doc.disks = ["<disk name='/tmp/cs-differential/vda.img'/>", "<disk name='vda'/>"]
    elif choice == 20:
        doc.disks = [rng.choice(["<disk name='vdb'/>", "<disk name='hdc' checkpoint='bitmap'/>", "<disk name='vdb' bitmap=''/>"])]
        doc.domain_key, doc.domain_xml = "four", _canonical_domains(driver_module)["four"][0]
    elif choice == 21:
        doc.disks = ["<disk name='ioemu:vda'/>"]
    elif choice == 22:
        doc.extra.append("<domain type='test'><name>x</name></domain>")  # second <domain>
    else:
        doc.disks = ["<disk name='C:\\x'/>"]
    return f"mutation {choice}"


def _ours(text: str, xml_flags: int) -> tuple[bool, str]:
    try:
        record = parse(text, redefine=True, require_domain=False)
    except CheckpointError as exc:
        return False, f"{type(exc).__name__}: {exc.message}"
    try:
        record = align_disks(record)
    except CheckpointError as exc:
        return False, exc.libvirt_message  # type: ignore[attr-defined]
    return True, dumps(record, secure=bool(xml_flags & 1), no_domain=bool(xml_flags & 2), size=bool(xml_flags & 4))


def _corpus(driver_module) -> list[tuple[str, Doc, str]]:
    domains = _canonical_domains(driver_module)
    rng = random.Random(SEED)
    corpus = []
    for i in range(N_VALID):
        doc = Doc(rng, domains)
        corpus.append((f"valid {i}", doc, doc.render()))
    for i in range(N_MUTANTS):
        doc = Doc(rng, domains)
        label = _mutate(doc, rng, driver_module)
        corpus.append((f"mutant {i} ({label})", doc, doc.render()))
    corpus.append(("truncated", doc, "<domaincheckpoint><name>c</name>"))
    return corpus


def test_same_decisions_and_output_as_libvirt(driver) -> None:
    corpus = _corpus(driver)
    requests = [
        {"op": "checkpoint", "xml": text, "flags": 1, "xml_flags": doc.xml_flags, "setup": doc.setup()}
        for _, doc, text in corpus
    ]
    answers = driver.run_batch(requests)
    problems = []
    accepted = compared = same_message = 0
    for (label, doc, text), ans in zip(corpus, answers):
        ok, out = _ours(text, doc.xml_flags)
        if ans.get("error", "").startswith("libvirt_driver:"):
            problems.append(f"{label}: driver failure {ans['error']}")
            continue
        if ok != ans["ok"]:
            problems.append(f"{label}: libvirt {'accepts' if ans['ok'] else 'rejects: ' + ans['error']!s}; we {'accept' if ok else 'reject: ' + out}\n{text}")
            continue
        if not ok and ans["error"].startswith("unsupported configuration: "):
            # alignment errors: libvirt's exact text (our libvirt_message)
            same_message += 1
            if out != ans["error"]:
                problems.append(f"{label}: libvirt says {ans['error']!r}, we say {out!r}")
        if ok:
            accepted += 1
            if doc.canonical:
                compared += 1
                if out != ans["xml"]:
                    problems.append(f"{label}: output differs (flags {doc.xml_flags})\n--- libvirt\n{ans['xml']}--- ours\n{out}")
    assert not problems, f"{len(problems)} of {len(corpus)} differ:\n\n" + "\n\n".join(problems[:8])
    # The corpus must exercise both sides of the decision and the byte comparison.
    assert accepted >= 60 and compared >= 60 and len(corpus) - accepted >= 60 and same_message >= 20, (
        accepted, compared, same_message, len(corpus))


def test_secure_stripping_matches_libvirt(driver) -> None:
    """The domain with VNC/SPICE passwords and a cookie-carrying disk, with and without SECURE."""
    xml = _canonical_domains(driver)["secrets"][0]
    assert "passwd=" in xml and "<cookies>" in xml
    doc = f"<domaincheckpoint><name>s</name><creationTime>5</creationTime>\n  {indent(xml, 2)}\n</domaincheckpoint>"
    answers = driver.run_batch([{"op": "checkpoint", "xml": doc, "flags": 1, "xml_flags": f} for f in (0, 1)])
    for flags, ans in zip((0, 1), answers):
        assert ans["ok"], ans
        assert _ours(doc, flags) == (True, ans["xml"])
    assert "passwd=" not in answers[0]["xml"] and "<cookies>" not in answers[0]["xml"]
