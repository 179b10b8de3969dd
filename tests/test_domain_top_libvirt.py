"""The domain's top judged as libvirt 9.0 judges it (issue #12, items 2 and 3), case by case.

Several hundred variants of a checkpoint's ``<domain>``, each changing one direct child of it
(every child ``domaincommon.rng`` allows there, and the driver extensions): good and bad values,
attributes, text, elements inside, repetition. Each carries libvirt 9.0's verdict, recorded
through ``tests/libvirt_driver.py`` (the test driver; ``checkpointCreateXML`` with flags 0 and
with REDEFINE), so that:

* (a) the library's verdict is asserted against the recorded one always, in the default and
  create modes (libvirt without REDEFINE: the schema alone judges the domain) and in redefine
  mode (libvirt's domain parser too, and the driver's disk alignment, hence ``align=True``), for
  the document on one line (the general reader) and in libvirt's layout (the fast reader); where
  only libvirt's parser refuses, the message is libvirt's;
* the fast reader agrees with the general reader on every case, with a cold and a warm memory;
* (b) with python3-libvirt installed, the same documents go through live libvirt and must get
  the recorded verdicts (skipped, saying why, without it).

Deep content (what lies inside ``<devices>``, ``<os>``, ``<cpu>``...) is not judged by the
built-in rules and has no case here. To re-record after a deliberate change: run this file with
``python tests/test_domain_top_libvirt.py`` (it prints the table from live libvirt).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Mapping, NamedTuple, Sequence

import pytest
from libvirt_util import SYSTEM_PYTHON, libvirt_unavailable as _libvirt_available

HERE = Path(__file__).resolve().parent


from checkpoint_stream import CheckpointError, SemanticError, parse
from checkpoint_stream.markup.indentation import indent
from checkpoint_stream.readers import Options
from checkpoint_stream.records import Checkpoint, Origin
from readers_util import fast_parse, forget, general


# -- the cases ------------------------------------------------------------------------------------

UUID = "c7a5fdbd-edaf-9455-926a-d65c16db1809"  # the uuid of the batch driver's domain (tests/libvirt_driver.py)
DISK = "<disk type='file' device='disk'><source file='/tmp/cs-differential/vda.img'/><target dev='vda' bus='virtio'/></disk>"
QEMU = "http://libvirt.org/schemas/domain/qemu/1.0"
LXC = "http://libvirt.org/schemas/domain/lxc/1.0"
BASE = (
    ("name", "<name>cstest</name>"),
    ("uuid", f"<uuid>{UUID}</uuid>"),
    ("memory", "<memory unit='KiB'>1048576</memory>"),
    ("os", "<os><type arch='i686'>hvm</type></os>"),
    ("devices", f"<devices>{DISK}</devices>"),
)


class Case(NamedTuple):
    """One domain: the base domain with some children replaced (``None``: removed) and some added."""

    label: str
    children: tuple[str, ...]
    domain_attrs: str = " type='test'"
    root_attrs: str = ""

    def document(self, layout: bool = False) -> str:
        """The checkpoint document; ``layout``: in libvirt's layout (2-space indentation), which
        the fast reader takes, else on one line (the general reader)."""
        domain = f"<domain{self.domain_attrs}>" + "".join(self.children) + "</domain>"
        if layout:
            domain = indent(_layout(domain), 2)
            return f"<domaincheckpoint{self.root_attrs}>\n  <name>c1</name>\n  <creationTime>1</creationTime>\n  {domain}\n</domaincheckpoint>"
        return f"<domaincheckpoint{self.root_attrs}><name>c1</name><creationTime>1</creationTime>{domain}</domaincheckpoint>"


def _layout(xml: str) -> str:
    """``xml`` (markup without comments) in libvirt's layout: one element a line, two spaces a
    level, a leaf's text on its line. Text beside elements stays where it is (that is no longer
    the layout: the fast reader leaves such a domain to the general reader)."""
    tokens = [t for t in re.split(r"(<[^>]*>)", xml) if t]
    lines: list[str] = []
    depth = 0
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t.startswith("</"):
            depth -= 1
            lines.append("  " * depth + t)
        elif t.endswith("/>"):
            lines.append("  " * depth + t)
        elif t.startswith("<"):
            if i + 1 < len(tokens) and tokens[i + 1].startswith("</"):
                lines.append("  " * depth + t[:-1] + "/>")
                i += 1
            elif i + 2 < len(tokens) and not tokens[i + 1].startswith("<") and tokens[i + 2].startswith("</") and "\n" not in tokens[i + 1]:
                lines.append("  " * depth + t + tokens[i + 1] + tokens[i + 2])
                i += 2
            else:
                lines.append("  " * depth + t)
                depth += 1
        else:
            lines[-1] += t
        i += 1
    return "\n".join(lines)


def _case(label: str, replace: Mapping[str, str | None] | None = None, add: Sequence[str] = (), domain_attrs: str = " type='test'", root_attrs: str = "") -> Case:
    replace = replace or {}
    kids = [replace[tag] if tag in replace else xml for tag, xml in BASE]
    return Case(label, tuple(k for k in kids if k is not None) + tuple(add), domain_attrs, root_attrs)


def _values(tag: str, values: Sequence[str], attrs: str = "") -> list[Case]:
    return [_case(f"<{tag}{attrs}>{v!r}", add=[f"<{tag}{attrs}>{v}</{tag}>"]) for v in values]


def _shapes(tag: str, inner: str = "", *, dup: bool = True, replace: bool = False) -> list[Case]:
    """The generic mutations of one child: an unknown attribute, text, an element inside, twice."""
    good = f"<{tag}>{inner}</{tag}>"
    put = (lambda label, xml: _case(label, replace={tag: xml})) if replace else (lambda label, xml: _case(label, add=[xml]))
    out = [
        put(f"<{tag}> unknown attribute", f"<{tag} bogus='1'>{inner}</{tag}>"),
        put(f"<{tag}> text inside", f"<{tag}>{inner}text</{tag}>"),
        put(f"<{tag}> whitespace inside", f"<{tag}>{inner} \n </{tag}>"),
        put(f"<{tag}> xmlns attribute", f"<{tag} xmlns='urn:x'>{inner}</{tag}>"),
        put(f"<{tag}> empty xmlns", f"<{tag} xmlns=''>{inner}</{tag}>"),
        put(f"<{tag}> entity text", f"<{tag}>{inner}&#32;</{tag}>"),
    ]
    if "<" not in inner and tag not in CONTAINERS:  # a leaf: an element inside is the child's own concern
        out.append(put(f"<{tag}> element inside", f"<{tag}>{inner}<bogus/></{tag}>"))
    if dup:
        out.append(_case(f"<{tag}> twice", add=[good, good]) if not replace else _case(f"<{tag}> twice", add=[good]))
    return out


#: children whose elements are deep content (not judged here): an unknown element inside them is not a case
CONTAINERS = frozenset("metadata memoryBacking memtune blkiotune cputune numatune vcpus iothreadids idmap features pm perf keywrap devices resource clock cpu os sysinfo seclabel launchSecurity".split())


def cases() -> list[Case]:
    out: list[Case] = [_case("base")]
    add = out.append
    # the <domain> start tag
    for attrs in (" type='kvm'", " type=' kvm'", " type='bogus'", "", " type='test' id='5'", " type='test' id='-1'", " type='test' bogus='1'", " type='test' id='4294967296'"):
        add(_case(f"<domain{attrs}>", domain_attrs=attrs))
    add(_case("text in <domain>", add=["stray"]))
    add(_case("unknown child", add=["<bogus/>"]))
    # name
    for v in ("x", "", " a", "a b", "a/b", "a\nb", "é", "&amp;", "a\tb"):
        add(_case(f"<name>{v!r}", replace={"name": f"<name>{v}</name>"}))
    add(_case("no <name>", replace={"name": None}))
    out += _shapes("name", "cstest", replace=True)
    # uuid
    for v in (UUID.replace("-", ""), UUID.upper(), f" {UUID}", "abc", "", UUID[:-1] + "g", f"{UUID}\n"):
        add(_case(f"<uuid>{v!r}", replace={"uuid": f"<uuid>{v}</uuid>"}))
    add(_case("no <uuid>", replace={"uuid": None}))
    out += _shapes("uuid", UUID, replace=True)
    # genid
    for v in ("", " ", "\n", UUID, UUID.replace("-", ""), "abc", f" {UUID}", "0" * 32):
        add(_case(f"<genid>{v!r}", add=[f"<genid>{v}</genid>"]))
    add(_case("<genid/>", add=["<genid/>"]))
    out += _shapes("genid", UUID)
    # title, description
    for v in ("t", "", " ", "a\nb", "a b é"):
        add(_case(f"<title>{v!r}", add=[f"<title>{v}</title>"]))
    out += _shapes("title", "t")
    for v in ("", "d", " ", "a\nb"):
        add(_case(f"<description>{v!r}", add=[f"<description>{v}</description>"]))
    out += _shapes("description", "d")
    # metadata
    add(_case("<metadata/>", add=["<metadata/>"]))
    add(_case("<metadata> with a namespaced element", add=["<metadata><app:x xmlns:app='urn:app'>1</app:x></metadata>"]))
    add(_case("<metadata> with an element in no namespace", add=["<metadata><x/></metadata>"]))
    out += _shapes("metadata")
    # memory
    for v in ("1024", "0", " 1024", "1024 ", "abc", "-1", "+1", "", "18446744073709551615", "18446744073709551616", "9007199254740991", "9007199254740992", "1e3", "０"):
        add(_case(f"<memory>{v!r}", replace={"memory": f"<memory>{v}</memory>"}))
    for unit in ("b", "bytes", "KiB", "k", "KB", "MiB", "G", "TiB", "P", "E", "EiB", "kib", "Kb", "x", "", " KiB", "KiB "):
        add(_case(f"<memory unit={unit!r}>", replace={"memory": f"<memory unit='{unit}'>1024</memory>"}))
    for v in ("on", "off", " on", "on ", "yes", "", "ON"):
        add(_case(f"<memory dumpCore={v!r}>", replace={"memory": f"<memory dumpCore='{v}'>1024</memory>"}))
    add(_case("<memory unit='b'>1023", replace={"memory": "<memory unit='b'>1023</memory>"}))
    add(_case("<memory unit='E'>8", replace={"memory": "<memory unit='E'>8</memory>"}))
    add(_case("<memory unit='P'>8192", replace={"memory": "<memory unit='P'>8192</memory>"}))
    add(_case("no <memory>", replace={"memory": None}))
    out += _shapes("memory", "1024", replace=True)
    # currentMemory
    for v in ("1024", "1048576", "2097152", "0", "abc", "-1", " 1", "1 ", "", "18446744073709551615", "18446744073709551616", "9007199254740992"):
        add(_case(f"<currentMemory>{v!r}", add=[f"<currentMemory>{v}</currentMemory>"]))
    for unit in ("KiB", "MiB", "bogus", "", " KiB", "EiB"):
        add(_case(f"<currentMemory unit={unit!r}>", add=[f"<currentMemory unit='{unit}'>1</currentMemory>"]))
    add(_case("<currentMemory dumpCore>", add=["<currentMemory dumpCore='on'>1</currentMemory>"]))
    out += _shapes("currentMemory", "1024")
    add(_case("<currentMemory> without <memory>", replace={"memory": None}, add=["<currentMemory>1024</currentMemory>"]))
    # maxMemory
    for attrs, v in (
        (" slots='16'", "4194304"),
        ("", "4194304"),
        (" slots='abc'", "4194304"),
        (" slots=' 16'", "4194304"),
        (" slots='-1'", "4194304"),
        (" slots='4294967296'", "4194304"),
        (" slots='0'", "4194304"),
        (" slots='16' unit='GiB'", "4"),
        (" slots='16' unit='bogus'", "4"),
        (" slots='16'", "abc"),
        (" slots='16'", " 1"),
        (" slots='16'", "0"),
        (" slots='16'", "1024"),
        (" slots='16'", "18446744073709551616"),
        (" slots='16'", ""),
        (" slots='16' dumpCore='on'", "4194304"),
    ):
        add(_case(f"<maxMemory{attrs}>{v!r}", add=[f"<maxMemory{attrs}>{v}</maxMemory>"]))
    out += [c._replace(children=tuple(x.replace("<maxMemory>", "<maxMemory slots='16'>").replace("<maxMemory ", "<maxMemory slots='16' ") for x in c.children)) for c in _shapes("maxMemory", "4194304")]
    # vcpu
    for v in ("1", "2", "0", "65535", "65536", " 2", "2 ", "abc", "", "-1", "+1", "01"):
        add(_case(f"<vcpu>{v!r}", add=[f"<vcpu>{v}</vcpu>"]))
    for attrs in (
        " placement='static'",
        " placement='auto'",
        " placement='bogus'",
        " placement=' auto'",
        " cpuset='0-3'",
        " cpuset='0,2,^1'",
        " cpuset='x'",
        " cpuset=''",
        " current='1'",
        " current='2'",
        " current='3'",
        " current='0'",
        " current='abc'",
        " current=' 1'",
        " current='65536'",
        " bogus='1'",
    ):
        add(_case(f"<vcpu{attrs}>2", add=[f"<vcpu{attrs}>2</vcpu>"]))
    out += _shapes("vcpu", "2")
    # vcpus, iothreadids, memoryBacking, memtune, blkiotune, cputune, numatune, idmap, features, pm
    for tag, inner in (
        ("vcpus", "<vcpu id='0' enabled='yes'/>"),
        ("iothreadids", "<iothread id='1'/>"),
        ("memoryBacking", "<nosharepages/>"),
        ("memtune", "<hard_limit>1048576</hard_limit>"),
        ("blkiotune", "<weight>500</weight>"),
        ("cputune", "<shares>2048</shares>"),
        ("numatune", "<memory mode='strict' nodeset='0'/>"),
        ("idmap", "<uid start='0' target='1000' count='10'/>"),
        ("features", "<acpi/>"),
        ("pm", "<suspend-to-mem enabled='no'/>"),
        ("perf", "<event name='cmt' enabled='yes'/>"),
        ("keywrap", "<cipher name='aes' state='on'/>"),
        ("devices", ""),
        ("resource", "<partition>/machine</partition>"),
        ("iothreads", "2"),
        ("bootloader", "/usr/bin/pygrub"),
        ("bootloader_args", "-q"),
    ):
        if tag != "devices":
            add(_case(f"<{tag}/>", add=[f"<{tag}/>"]))
            add(_case(f"<{tag}> with content", add=[f"<{tag}>{inner}</{tag}>"]))
            out += _shapes(tag, inner)
    out += _shapes("devices", DISK, replace=True)
    add(_case("<devices/>", replace={"devices": "<devices/>"}))
    add(_case("no <devices>", replace={"devices": None}))
    # iothreads
    for v in ("0", "1", " 1", "abc", "-1", "4294967295", "4294967296", ""):
        add(_case(f"<iothreads>{v!r}", add=[f"<iothreads>{v}</iothreads>"]))
    # defaultiothread
    for attrs in ("", " thread_pool_min='1'", " thread_pool_max='2'", " thread_pool_min='1' thread_pool_max='2'", " thread_pool_min='2' thread_pool_max='1'", " thread_pool_min='abc'", " thread_pool_max='-1'", " thread_pool_min=' 1'"):
        add(_case(f"<defaultiothread{attrs}/>", add=[f"<defaultiothread{attrs}/>"]))
    out += _shapes("defaultiothread")
    # resource
    add(_case("<resource> with fibrechannel", add=["<resource><fibrechannel appid='x'/></resource>"]))
    add(_case("<resource> whitespace", add=["<resource> </resource>"]))
    # sysinfo
    for attrs, inner in (
        (" type='smbios'", ""),
        (" type='smbios'", "<bios><entry name='vendor'>x</entry></bios>"),
        (" type='fwcfg'", ""),
        (" type='fwcfg'", "<entry name='opt/x'>v</entry>"),
        ("", ""),
        (" type='bogus'", ""),
        (" type=' smbios'", ""),
        (" type='smbios' bogus='1'", ""),
        (" type='smbios'", "text"),
        (" type='smbios'", " "),
    ):
        add(_case(f"<sysinfo{attrs}>{inner!r}", add=[f"<sysinfo{attrs}>{inner}</sysinfo>"]))
    add(_case("<sysinfo> twice", add=["<sysinfo type='smbios'/>", "<sysinfo type='fwcfg'/>"]))
    # os
    for xml in (
        "<os><type>hvm</type></os>",
        "<os><type> hvm </type></os>",
        "<os><type>linux</type></os>",
        "<os><type>xen</type></os>",
        "<os><type>exe</type><init>/bin/sh</init></os>",
        "<os><type>exe</type></os>",
        "<os><type>bogus</type></os>",
        "<os/>",
        "<os></os>",
        "<os firmware='efi'><type>hvm</type></os>",
        "<os firmware='bios'><type>hvm</type></os>",
        "<os firmware='bogus'><type>hvm</type></os>",
        "<os firmware='efi'><type>linux</type></os>",
        "<os bogus='1'><type>hvm</type></os>",
        "<os><type>hvm</type>text</os>",
        "<os><type>hvm</type> </os>",
        "<os xmlns='urn:x'><type>hvm</type></os>",
    ):
        add(_case(xml, replace={"os": xml}))
    add(_case("no <os>", replace={"os": None}))
    add(_case("<os> twice", add=["<os><type>hvm</type></os>"]))
    add(_case("no <os>, <bootloader>", replace={"os": None}, add=["<bootloader/>"]))
    add(_case("<bootloader> with <os> hvm", add=["<bootloader>/usr/bin/pygrub</bootloader>"]))
    add(_case("<bootloader_args> alone", add=["<bootloader_args>-q</bootloader_args>"]))
    # clock
    for attrs in (
        " offset='utc'",
        " offset='localtime'",
        " offset='localtime' adjustment='reset'",
        " offset='utc' adjustment='-10'",
        " offset='utc' adjustment='x'",
        " offset='timezone' timezone='Europe/Paris'",
        " offset='timezone'",
        " offset='timezone' timezone='a b'",
        " offset='variable' adjustment='123' basis='utc'",
        " offset='variable' adjustment='reset'",
        " offset='variable' basis='bogus'",
        " offset='variable'",
        " offset='absolute' start='1234'",
        " offset='absolute'",
        " offset='absolute' start='x'",
        " offset='utc' start='1'",
        " offset='utc' timezone='UTC'",
        " offset='bogus'",
        " offset=' utc'",
        "",
        " offset='utc' bogus='1'",
    ):
        add(_case(f"<clock{attrs}/>", add=[f"<clock{attrs}/>"]))
    out += [c._replace(children=tuple(x.replace("<clock", "<clock offset='utc'") for x in c.children)) for c in _shapes("clock", "<timer name='rtc'/>")]
    # lifecycle
    for tag, values in (
        ("on_poweroff", ("destroy", "restart", "preserve", "rename-restart", "coredump-destroy", " destroy", "destroy ", "bogus", "", "DESTROY")),
        ("on_reboot", ("destroy", "restart", "preserve", "rename-restart", "coredump-restart", " restart", "bogus", "")),
        ("on_crash", ("destroy", "restart", "preserve", "rename-restart", "coredump-destroy", "coredump-restart", " preserve", "bogus", "")),
        ("on_lockfailure", ("poweroff", "restart", "pause", "ignore", "destroy", " pause", "bogus", "")),
    ):
        out += _values(tag, values)
        out += _shapes(tag, values[0])
    # perf, keywrap, pm
    # seclabel
    for attrs, inner in (
        (" type='none'", ""),
        (" type='none' relabel='no'", ""),
        (" type='none' relabel='yes'", ""),
        (" type='none'", "<label>x</label>"),
        (" type='dynamic'", ""),
        (" type='dynamic' model='selinux'", ""),
        (" model='selinux'", ""),
        ("", ""),
        (" type='dynamic' relabel='yes'", "<baselabel>x</baselabel>"),
        (" type='dynamic' relabel='no'", ""),
        (" type='static' model='selinux' relabel='yes'", "<label>system_u:system_r:svirt_t:s0:c1</label>"),
        (" type='static' model='selinux'", ""),
        (" type='static' model='dac' relabel='no'", "<label>+0:+0</label>"),
        (" type='bogus'", ""),
        (" type=' none'", ""),
        (" type='none' bogus='1'", ""),
        (" type='none'", "text"),
        (" type='none'", " "),
    ):
        add(_case(f"<seclabel{attrs}>{inner!r}", add=[f"<seclabel{attrs}>{inner}</seclabel>"]))
    add(_case("<seclabel> twice", add=["<seclabel type='none' model='selinux'/>", "<seclabel type='none' model='dac'/>"]))
    # launchSecurity
    for attrs, inner in (
        ("", ""),
        (" type='s390-pv'", ""),
        (" type='s390-pv'", " "),
        (" type='s390-pv'", "<policy>0x1</policy>"),
        (" type='sev'", "<policy>0x0033</policy>"),
        (" type='sev'", "<cbitpos>47</cbitpos><reducedPhysBits>1</reducedPhysBits><policy>0x0033</policy>"),
        (" type='sev' kernelHashes='yes'", "<policy>0x0033</policy>"),
        (" type='sev' kernelHashes='bogus'", "<policy>0x0033</policy>"),
        (" type='sev'", ""),
        (" type='bogus'", ""),
        (" type=' s390-pv'", ""),
        (" type='s390-pv' bogus='1'", ""),
        (" type='s390-pv'", "text"),
    ):
        add(_case(f"<launchSecurity{attrs}>{inner!r}", add=[f"<launchSecurity{attrs}>{inner}</launchSecurity>"]))
    add(_case("<launchSecurity> twice", add=["<launchSecurity type='s390-pv'/>", "<launchSecurity type='s390-pv'/>"]))
    # cpu
    for attrs, inner in (
        ("", ""),
        (" mode='host-model'", ""),
        (" mode='host-passthrough' migratable='on'", ""),
        (" mode='custom' match='exact' check='partial'", "<model>qemu64</model>"),
        (" mode='maximum'", ""),
        (" mode='bogus'", ""),
        (" match='bogus'", ""),
        (" check='bogus'", ""),
        (" migratable='yes'", ""),
        (" mode=' host-model'", ""),
        (" bogus='1'", ""),
        ("", "text"),
        ("", " "),
        ("", "<topology sockets='1' dies='1' cores='2' threads='1'/>"),
    ):
        add(_case(f"<cpu{attrs}>{inner!r}", add=[f"<cpu{attrs}>{inner}</cpu>"]))
    add(_case("<cpu> twice", add=["<cpu/>", "<cpu/>"]))
    # extension namespaces
    q = f" xmlns:qemu='{QEMU}'"
    add(_case("qemu:commandline", add=["<qemu:commandline><qemu:arg value='-x'/></qemu:commandline>"], domain_attrs=" type='test'" + q))
    add(_case("qemu:commandline, prefix on the root", add=["<qemu:commandline/>"], root_attrs=q))
    add(_case("qemu:commandline, prefix on itself", add=[f"<qemu:commandline{q}/>"]))
    add(_case("qemu:commandline twice", add=["<qemu:commandline/>", "<qemu:commandline/>"], domain_attrs=" type='test'" + q))
    add(_case("qemu:capabilities twice", add=["<qemu:capabilities/>", "<qemu:capabilities/>"], domain_attrs=" type='test'" + q))
    add(_case("qemu:deprecation", add=["<qemu:deprecation behavior='omit'/>"], domain_attrs=" type='test'" + q))
    add(_case("qemu:deprecation bogus", add=["<qemu:deprecation behavior='bogus'/>"], domain_attrs=" type='test'" + q))
    add(_case("qemu:deprecation without behavior", add=["<qemu:deprecation/>"], domain_attrs=" type='test'" + q))
    add(_case("qemu:override", add=["<qemu:override/>"], domain_attrs=" type='test'" + q))
    add(_case("qemu:bogus", add=["<qemu:bogus/>"], domain_attrs=" type='test'" + q))
    add(_case("qemu:commandline bogus attribute", add=["<qemu:commandline bogus='1'/>"], domain_attrs=" type='test'" + q))
    add(_case("qemu:commandline text", add=["<qemu:commandline>text</qemu:commandline>"], domain_attrs=" type='test'" + q))
    add(_case("commandline, default namespace", add=[f"<commandline xmlns='{QEMU}'/>"]))
    add(_case("commandline, default namespace, twice", add=[f"<commandline xmlns='{QEMU}'/>", f"<commandline xmlns='{QEMU}'/>"]))
    add(_case("commandline, default namespace and prefix", add=[f"<commandline xmlns='{QEMU}'/>", "<qemu:commandline/>"], domain_attrs=" type='test'" + q))
    add(_case("bogus, default qemu namespace", add=[f"<bogus xmlns='{QEMU}'/>"]))
    add(_case("lxc:namespace", add=[f"<lxc:namespace xmlns:lxc='{LXC}'/>"]))
    add(_case("lxc:namespace twice", add=["<lxc:namespace/>", "<lxc:namespace/>"], domain_attrs=f" type='test' xmlns:lxc='{LXC}'"))
    add(_case("lxc:namespace sharenet", add=["<lxc:namespace><lxc:sharenet type='netns' value='x'/></lxc:namespace>"], domain_attrs=f" type='test' xmlns:lxc='{LXC}'"))
    add(_case("undeclared prefix", add=["<qemu:commandline/>"]))  # not well formed: namespace error
    add(_case("unknown namespace", add=["<x:commandline xmlns:x='urn:x'/>"]))
    add(_case("bhyve:commandline", add=["<b:commandline xmlns:b='http://libvirt.org/schemas/domain/bhyve/1.0'/>"]))
    add(_case("xen:commandline twice", add=["<x:commandline/>", "<x:commandline/>"], domain_attrs=" type='test' xmlns:x='http://libvirt.org/schemas/domain/xen/1.0'"))
    add(_case("vmware:datacenterpath", add=["<v:datacenterpath xmlns:v='http://libvirt.org/schemas/domain/vmware/1.0'>dc1</v:datacenterpath>"]))
    add(_case("vmware:datacenterpath empty", add=["<v:datacenterpath xmlns:v='http://libvirt.org/schemas/domain/vmware/1.0'/>"]))
    add(_case("vmware:datacenterpath nested", add=["<v:datacenterpath xmlns:v='http://libvirt.org/schemas/domain/vmware/1.0'><v:x/></v:datacenterpath>"]))
    add(_case("vmware:datacenterpath attribute", add=["<v:datacenterpath xmlns:v='http://libvirt.org/schemas/domain/vmware/1.0' a='1'>x</v:datacenterpath>"]))
    add(_case("qemu prefix for a libvirt element", add=["<qemu:vcpu>2</qemu:vcpu>"], domain_attrs=" type='test'" + q))
    add(_case("throttlegroups", add=["<throttlegroups/>"]))
    # padded values of token-compared attributes (the schema collapses them; the parser may not)
    for xml in (
        "<os firmware=' efi'><type>hvm</type></os>",
        "<os firmware='efi '><type>hvm</type></os>",
    ):
        add(_case(xml, replace={"os": xml}))
    for xml in (
        "<seclabel type='none' relabel=' no'/>",
        "<seclabel type='dynamic' relabel='yes '/>",
        "<seclabel type='static' relabel=' yes'><label>x</label></seclabel>",
        "<seclabel type='dynamic ' model='selinux'/>",
        "<cpu match=' exact'/>",
        "<cpu check=' full'/>",
        "<cpu migratable=' on'/>",
        "<cpu mode='host-model '/>",
        "<launchSecurity type='sev' kernelHashes=' yes'><policy>0x0033</policy></launchSecurity>",
        "<launchSecurity type='sev '><policy>0x0033</policy></launchSecurity>",
        "<clock offset='variable' basis=' utc'/>",
        "<clock offset='utc' adjustment=' reset'/>",
        "<clock offset='utc' adjustment='reset '/>",
        "<clock offset='utc '/>",
        "<clock offset=' timezone' timezone='UTC'/>",
        "<clock offset=' variable' adjustment='1'/>",
        "<clock offset=' absolute' start='1'/>",
        "<clock offset='localtime' adjustment='+5'/>",
        "<clock offset='timezone' timezone=''/>",
        "<vcpu placement='static '>2</vcpu>",
        "<vcpu placement='auto' current='1'>2</vcpu>",
        "<vcpu current='02'>2</vcpu>",
        "<vcpu>02</vcpu>",
        "<sysinfo type='fwcfg '/>",
        "<on_crash>\tdestroy</on_crash>",
        "<on_reboot>restart\n</on_reboot>",
        "<genid>\t</genid>",
        "<iothreads>04294967295</iothreads>",
        "<maxMemory slots='16' unit='KiB'>1048576</maxMemory>",
        "<maxMemory slots='16' unit='KiB'>1048575</maxMemory>",
        "<maxMemory slots='16' unit='b'>1073741824</maxMemory>",
        "<maxMemory slots='16' unit='b'>1073741823</maxMemory>",
        "<maxMemory slots='16' unit='E'>8</maxMemory>",
        "<maxMemory slots='16' unit='EiB'>7</maxMemory>",
        "<maxMemory slots='016'>4194304</maxMemory>",
        "<currentMemory unit='E'>8</currentMemory>",
        "<currentMemory unit='EiB'>7</currentMemory>",
        "<currentMemory unit='b'>1</currentMemory>",
        "<currentMemory unit='KiB'>9007199254740991</currentMemory>",
        "<currentMemory unit='KiB'>9007199254740990</currentMemory>",
        "<currentMemory unit='MiB'>8796093022208</currentMemory>",
        "<currentMemory unit='MiB'>8796093022207</currentMemory>",
        "<defaultiothread thread_pool_min='4294967295'/>",
        "<defaultiothread thread_pool_max='0'/>",
    ):
        add(_case(xml, add=[xml]))
    add(_case("<memory unit='KiB'>9007199254740990", replace={"memory": "<memory unit='KiB'>9007199254740990</memory>"}))
    add(_case("<memory unit='MiB'>8796093022207", replace={"memory": "<memory unit='MiB'>8796093022207</memory>"}))
    add(_case("<memory unit='MiB'>8796093022208", replace={"memory": "<memory unit='MiB'>8796093022208</memory>"}))
    add(_case("<memory unit='EiB'>7", replace={"memory": "<memory unit='EiB'>7</memory>"}))
    add(_case("qemu:deprecation padded", add=["<qemu:deprecation behavior=' omit'/>"], domain_attrs=" type='test'" + q))
    add(_case("qemu:deprecation whitespace", add=["<qemu:deprecation behavior='omit'> </qemu:deprecation>"], domain_attrs=" type='test'" + q))
    add(_case("qemu:deprecation text", add=["<qemu:deprecation behavior='omit'>x</qemu:deprecation>"], domain_attrs=" type='test'" + q))
    add(_case("qemu:commandline whitespace", add=["<qemu:commandline> </qemu:commandline>"], domain_attrs=" type='test'" + q))
    add(_case("lxc:namespace text", add=[f"<lxc:namespace xmlns:lxc='{LXC}'>x</lxc:namespace>"]))
    add(_case("commandline, default namespace, text", add=[f"<commandline xmlns='{QEMU}'>x</commandline>"]))
    add(_case("commandline, default namespace, attribute", add=[f"<commandline xmlns='{QEMU}' a='1'/>"]))
    add(_case("namespace, default lxc namespace", add=[f"<namespace xmlns='{LXC}'/>"]))
    add(_case("qemu:commandline xmlns:x attribute", add=["<qemu:commandline xmlns:x='urn:x'/>"], domain_attrs=" type='test'" + q))
    add(_case("<devices> xmlns:x attribute", replace={"devices": f"<devices xmlns:x='urn:x'>{DISK}</devices>"}))
    return out


# -- libvirt 9.0's verdicts, recorded: label -> (accepted without REDEFINE, accepted with REDEFINE,
#    libvirt's message when only REDEFINE refuses, its category prefix removed) --------------------

RECORDED: dict[str, tuple[bool, bool, str | None]] = {
    'base': (True, True, None),
    "<domain type='kvm'>": (True, True, None),
    "<domain type=' kvm'>": (True, False, 'invalid domain type  kvm'),
    "<domain type='bogus'>": (False, False, None),
    '<domain>': (False, False, None),
    "<domain type='test' id='5'>": (True, True, None),
    "<domain type='test' id='-1'>": (False, False, None),
    "<domain type='test' bogus='1'>": (False, False, None),
    "<domain type='test' id='4294967296'>": (False, False, None),
    'text in <domain>': (False, False, None),
    'unknown child': (False, False, None),
    "<name>'x'": (True, True, None),
    "<name>''": (False, False, None),
    "<name>' a'": (True, True, None),
    "<name>'a b'": (True, True, None),
    "<name>'a/b'": (True, False, "name a/b cannot contain '/'"),
    "<name>'a\\nb'": (False, False, None),
    "<name>'é'": (True, True, None),
    "<name>'&amp;'": (True, True, None),
    "<name>'a\\tb'": (True, True, None),
    'no <name>': (False, False, None),
    '<name> unknown attribute': (False, False, None),
    '<name> text inside': (True, True, None),
    '<name> whitespace inside': (False, False, None),
    '<name> xmlns attribute': (False, False, None),
    '<name> empty xmlns': (True, True, None),
    '<name> entity text': (True, True, None),
    '<name> element inside': (False, False, None),
    '<name> twice': (False, False, None),
    "<uuid>'c7a5fdbdedaf9455926ad65c16db1809'": (True, True, None),
    "<uuid>'C7A5FDBD-EDAF-9455-926A-D65C16DB1809'": (True, True, None),
    "<uuid>' c7a5fdbd-edaf-9455-926a-d65c16db1809'": (False, False, None),
    "<uuid>'abc'": (False, False, None),
    "<uuid>''": (False, False, None),
    "<uuid>'c7a5fdbd-edaf-9455-926a-d65c16db180g'": (False, False, None),
    "<uuid>'c7a5fdbd-edaf-9455-926a-d65c16db1809\\n'": (False, False, None),
    'no <uuid>': (True, False, 'definition for checkpoint c1 must use uuid c7a5fdbd-edaf-9455-926a-d65c16db1809'),
    '<uuid> unknown attribute': (False, False, None),
    '<uuid> text inside': (False, False, None),
    '<uuid> whitespace inside': (False, False, None),
    '<uuid> xmlns attribute': (False, False, None),
    '<uuid> empty xmlns': (True, True, None),
    '<uuid> entity text': (False, False, None),
    '<uuid> element inside': (False, False, None),
    '<uuid> twice': (False, False, None),
    "<genid>''": (True, True, None),
    "<genid>' '": (True, False, 'malformed genid element'),
    "<genid>'\\n'": (True, False, 'malformed genid element'),
    "<genid>'c7a5fdbd-edaf-9455-926a-d65c16db1809'": (True, True, None),
    "<genid>'c7a5fdbdedaf9455926ad65c16db1809'": (True, True, None),
    "<genid>'abc'": (False, False, None),
    "<genid>' c7a5fdbd-edaf-9455-926a-d65c16db1809'": (False, False, None),
    "<genid>'00000000000000000000000000000000'": (True, True, None),
    '<genid/>': (True, True, None),
    '<genid> unknown attribute': (False, False, None),
    '<genid> text inside': (False, False, None),
    '<genid> whitespace inside': (False, False, None),
    '<genid> xmlns attribute': (False, False, None),
    '<genid> empty xmlns': (True, True, None),
    '<genid> entity text': (False, False, None),
    '<genid> element inside': (False, False, None),
    '<genid> twice': (False, False, None),
    "<title>'t'": (True, True, None),
    "<title>''": (False, False, None),
    "<title>' '": (True, True, None),
    "<title>'a\\nb'": (False, False, None),
    "<title>'a b é'": (True, True, None),
    '<title> unknown attribute': (False, False, None),
    '<title> text inside': (True, True, None),
    '<title> whitespace inside': (False, False, None),
    '<title> xmlns attribute': (False, False, None),
    '<title> empty xmlns': (True, True, None),
    '<title> entity text': (True, True, None),
    '<title> element inside': (False, False, None),
    '<title> twice': (False, False, None),
    "<description>''": (True, True, None),
    "<description>'d'": (True, True, None),
    "<description>' '": (True, True, None),
    "<description>'a\\nb'": (True, True, None),
    '<description> unknown attribute': (False, False, None),
    '<description> text inside': (True, True, None),
    '<description> whitespace inside': (True, True, None),
    '<description> xmlns attribute': (False, False, None),
    '<description> empty xmlns': (True, True, None),
    '<description> entity text': (True, True, None),
    '<description> element inside': (False, False, None),
    '<description> twice': (False, False, None),
    '<metadata/>': (True, True, None),
    '<metadata> with a namespaced element': (True, True, None),
    '<metadata> with an element in no namespace': (True, True, None),
    '<metadata> unknown attribute': (False, False, None),
    '<metadata> text inside': (False, False, None),
    '<metadata> whitespace inside': (True, True, None),
    '<metadata> xmlns attribute': (False, False, None),
    '<metadata> empty xmlns': (True, True, None),
    '<metadata> entity text': (True, True, None),
    '<metadata> twice': (False, False, None),
    "<memory>'1024'": (True, True, None),
    "<memory>'0'": (True, False, 'Memory size must be specified via <memory> or in the <numa> configuration'),
    "<memory>' 1024'": (False, False, None),
    "<memory>'1024 '": (False, False, None),
    "<memory>'abc'": (False, False, None),
    "<memory>'-1'": (False, False, None),
    "<memory>'+1'": (False, False, None),
    "<memory>''": (False, False, None),
    "<memory>'18446744073709551615'": (True, False, 'value too large: 18446744073709551615'),
    "<memory>'18446744073709551616'": (False, False, None),
    "<memory>'9007199254740991'": (True, True, None),
    "<memory>'9007199254740992'": (True, False, 'value too large: 9007199254740992'),
    "<memory>'1e3'": (False, False, None),
    "<memory>'０'": (False, False, None),
    "<memory unit='b'>": (True, True, None),
    "<memory unit='bytes'>": (True, True, None),
    "<memory unit='KiB'>": (True, True, None),
    "<memory unit='k'>": (True, True, None),
    "<memory unit='KB'>": (True, True, None),
    "<memory unit='MiB'>": (True, True, None),
    "<memory unit='G'>": (True, True, None),
    "<memory unit='TiB'>": (True, True, None),
    "<memory unit='P'>": (True, True, None),
    "<memory unit='E'>": (True, False, 'value too large: 1024E'),
    "<memory unit='EiB'>": (True, False, 'value too large: 1024EiB'),
    "<memory unit='kib'>": (True, True, None),
    "<memory unit='Kb'>": (True, True, None),
    "<memory unit='x'>": (False, False, None),
    "<memory unit=''>": (False, False, None),
    "<memory unit=' KiB'>": (False, False, None),
    "<memory unit='KiB '>": (False, False, None),
    "<memory dumpCore='on'>": (True, True, None),
    "<memory dumpCore='off'>": (True, True, None),
    "<memory dumpCore=' on'>": (True, False, "Invalid value for attribute 'dumpCore' in element 'memory': ' on'."),
    "<memory dumpCore='on '>": (True, False, "Invalid value for attribute 'dumpCore' in element 'memory': 'on '."),
    "<memory dumpCore='yes'>": (False, False, None),
    "<memory dumpCore=''>": (False, False, None),
    "<memory dumpCore='ON'>": (False, False, None),
    "<memory unit='b'>1023": (True, True, None),
    "<memory unit='E'>8": (True, False, 'value too large: 8E'),
    "<memory unit='P'>8192": (True, False, 'value too large: 8192P'),
    'no <memory>': (True, False, 'Memory size must be specified via <memory> or in the <numa> configuration'),
    '<memory> unknown attribute': (False, False, None),
    '<memory> text inside': (False, False, None),
    '<memory> whitespace inside': (False, False, None),
    '<memory> xmlns attribute': (False, False, None),
    '<memory> empty xmlns': (True, True, None),
    '<memory> entity text': (False, False, None),
    '<memory> element inside': (False, False, None),
    '<memory> twice': (False, False, None),
    "<currentMemory>'1024'": (True, True, None),
    "<currentMemory>'1048576'": (True, True, None),
    "<currentMemory>'2097152'": (True, True, None),
    "<currentMemory>'0'": (True, True, None),
    "<currentMemory>'abc'": (False, False, None),
    "<currentMemory>'-1'": (False, False, None),
    "<currentMemory>' 1'": (False, False, None),
    "<currentMemory>'1 '": (False, False, None),
    "<currentMemory>''": (False, False, None),
    "<currentMemory>'18446744073709551615'": (True, False, 'value too large: 18446744073709551615'),
    "<currentMemory>'18446744073709551616'": (False, False, None),
    "<currentMemory>'9007199254740992'": (True, False, 'value too large: 9007199254740992'),
    "<currentMemory unit='KiB'>": (True, True, None),
    "<currentMemory unit='MiB'>": (True, True, None),
    "<currentMemory unit='bogus'>": (False, False, None),
    "<currentMemory unit=''>": (False, False, None),
    "<currentMemory unit=' KiB'>": (False, False, None),
    "<currentMemory unit='EiB'>": (True, True, None),
    '<currentMemory dumpCore>': (False, False, None),
    '<currentMemory> unknown attribute': (False, False, None),
    '<currentMemory> text inside': (False, False, None),
    '<currentMemory> whitespace inside': (False, False, None),
    '<currentMemory> xmlns attribute': (False, False, None),
    '<currentMemory> empty xmlns': (True, True, None),
    '<currentMemory> entity text': (False, False, None),
    '<currentMemory> element inside': (False, False, None),
    '<currentMemory> twice': (False, False, None),
    '<currentMemory> without <memory>': (True, False, 'Memory size must be specified via <memory> or in the <numa> configuration'),
    "<maxMemory slots='16'>'4194304'": (True, True, None),
    "<maxMemory>'4194304'": (False, False, None),
    "<maxMemory slots='abc'>'4194304'": (False, False, None),
    "<maxMemory slots=' 16'>'4194304'": (False, False, None),
    "<maxMemory slots='-1'>'4194304'": (False, False, None),
    "<maxMemory slots='4294967296'>'4194304'": (False, False, None),
    "<maxMemory slots='0'>'4194304'": (True, False, 'both maximum memory size and memory slot count must be specified'),
    "<maxMemory slots='16' unit='GiB'>'4'": (True, True, None),
    "<maxMemory slots='16' unit='bogus'>'4'": (False, False, None),
    "<maxMemory slots='16'>'abc'": (False, False, None),
    "<maxMemory slots='16'>' 1'": (False, False, None),
    "<maxMemory slots='16'>'0'": (True, False, 'both maximum memory size and memory slot count must be specified'),
    "<maxMemory slots='16'>'1024'": (True, False, 'maximum memory size must be equal or greater than the actual memory size'),
    "<maxMemory slots='16'>'18446744073709551616'": (False, False, None),
    "<maxMemory slots='16'>''": (False, False, None),
    "<maxMemory slots='16' dumpCore='on'>'4194304'": (False, False, None),
    '<maxMemory> unknown attribute': (False, False, None),
    '<maxMemory> text inside': (False, False, None),
    '<maxMemory> whitespace inside': (False, False, None),
    '<maxMemory> xmlns attribute': (False, False, None),
    '<maxMemory> empty xmlns': (True, True, None),
    '<maxMemory> entity text': (False, False, None),
    '<maxMemory> element inside': (False, False, None),
    '<maxMemory> twice': (False, False, None),
    "<vcpu>'1'": (True, True, None),
    "<vcpu>'2'": (True, True, None),
    "<vcpu>'0'": (False, False, None),
    "<vcpu>'65535'": (True, True, None),
    "<vcpu>'65536'": (False, False, None),
    "<vcpu>' 2'": (False, False, None),
    "<vcpu>'2 '": (False, False, None),
    "<vcpu>'abc'": (False, False, None),
    "<vcpu>''": (False, False, None),
    "<vcpu>'-1'": (False, False, None),
    "<vcpu>'+1'": (False, False, None),
    "<vcpu>'01'": (True, True, None),
    "<vcpu placement='static'>2": (True, True, None),
    "<vcpu placement='auto'>2": (True, True, None),
    "<vcpu placement='bogus'>2": (False, False, None),
    "<vcpu placement=' auto'>2": (True, False, "Invalid value for attribute 'placement' in element 'vcpu': ' auto'."),
    "<vcpu cpuset='0-3'>2": (True, True, None),
    "<vcpu cpuset='0,2,^1'>2": (True, True, None),
    "<vcpu cpuset='x'>2": (False, False, None),
    "<vcpu cpuset=''>2": (False, False, None),
    "<vcpu current='1'>2": (True, True, None),
    "<vcpu current='2'>2": (True, True, None),
    "<vcpu current='3'>2": (True, False, 'maximum vCPU count must not be less than current vCPU count'),
    "<vcpu current='0'>2": (False, False, None),
    "<vcpu current='abc'>2": (False, False, None),
    "<vcpu current=' 1'>2": (False, False, None),
    "<vcpu current='65536'>2": (False, False, None),
    "<vcpu bogus='1'>2": (False, False, None),
    '<vcpu> unknown attribute': (False, False, None),
    '<vcpu> text inside': (False, False, None),
    '<vcpu> whitespace inside': (False, False, None),
    '<vcpu> xmlns attribute': (False, False, None),
    '<vcpu> empty xmlns': (True, True, None),
    '<vcpu> entity text': (False, False, None),
    '<vcpu> element inside': (False, False, None),
    '<vcpu> twice': (False, False, None),
    '<vcpus/>': (True, True, None),
    '<vcpus> with content': (True, True, None),
    '<vcpus> unknown attribute': (False, False, None),
    '<vcpus> text inside': (False, False, None),
    '<vcpus> whitespace inside': (True, True, None),
    '<vcpus> xmlns attribute': (False, False, None),
    '<vcpus> empty xmlns': (True, True, None),
    '<vcpus> entity text': (True, True, None),
    '<vcpus> twice': (False, False, None),
    '<iothreadids/>': (True, True, None),
    '<iothreadids> with content': (True, True, None),
    '<iothreadids> unknown attribute': (False, False, None),
    '<iothreadids> text inside': (False, False, None),
    '<iothreadids> whitespace inside': (True, True, None),
    '<iothreadids> xmlns attribute': (False, False, None),
    '<iothreadids> empty xmlns': (True, True, None),
    '<iothreadids> entity text': (True, True, None),
    '<iothreadids> twice': (False, False, None),
    '<memoryBacking/>': (True, True, None),
    '<memoryBacking> with content': (True, True, None),
    '<memoryBacking> unknown attribute': (False, False, None),
    '<memoryBacking> text inside': (False, False, None),
    '<memoryBacking> whitespace inside': (True, True, None),
    '<memoryBacking> xmlns attribute': (False, False, None),
    '<memoryBacking> empty xmlns': (True, True, None),
    '<memoryBacking> entity text': (True, True, None),
    '<memoryBacking> twice': (False, False, None),
    '<memtune/>': (True, True, None),
    '<memtune> with content': (True, True, None),
    '<memtune> unknown attribute': (False, False, None),
    '<memtune> text inside': (False, False, None),
    '<memtune> whitespace inside': (True, True, None),
    '<memtune> xmlns attribute': (False, False, None),
    '<memtune> empty xmlns': (True, True, None),
    '<memtune> entity text': (True, True, None),
    '<memtune> twice': (False, False, None),
    '<blkiotune/>': (True, True, None),
    '<blkiotune> with content': (True, True, None),
    '<blkiotune> unknown attribute': (False, False, None),
    '<blkiotune> text inside': (False, False, None),
    '<blkiotune> whitespace inside': (True, True, None),
    '<blkiotune> xmlns attribute': (False, False, None),
    '<blkiotune> empty xmlns': (True, True, None),
    '<blkiotune> entity text': (True, True, None),
    '<blkiotune> twice': (False, False, None),
    '<cputune/>': (True, True, None),
    '<cputune> with content': (True, True, None),
    '<cputune> unknown attribute': (False, False, None),
    '<cputune> text inside': (False, False, None),
    '<cputune> whitespace inside': (True, True, None),
    '<cputune> xmlns attribute': (False, False, None),
    '<cputune> empty xmlns': (True, True, None),
    '<cputune> entity text': (True, True, None),
    '<cputune> twice': (False, False, None),
    '<numatune/>': (True, True, None),
    '<numatune> with content': (True, True, None),
    '<numatune> unknown attribute': (False, False, None),
    '<numatune> text inside': (False, False, None),
    '<numatune> whitespace inside': (True, True, None),
    '<numatune> xmlns attribute': (False, False, None),
    '<numatune> empty xmlns': (True, True, None),
    '<numatune> entity text': (True, True, None),
    '<numatune> twice': (False, False, None),
    '<idmap/>': (True, True, None),
    '<idmap> with content': (True, True, None),
    '<idmap> unknown attribute': (False, False, None),
    '<idmap> text inside': (False, False, None),
    '<idmap> whitespace inside': (True, True, None),
    '<idmap> xmlns attribute': (False, False, None),
    '<idmap> empty xmlns': (True, True, None),
    '<idmap> entity text': (True, True, None),
    '<idmap> twice': (False, False, None),
    '<features/>': (True, True, None),
    '<features> with content': (True, True, None),
    '<features> unknown attribute': (False, False, None),
    '<features> text inside': (False, False, None),
    '<features> whitespace inside': (True, True, None),
    '<features> xmlns attribute': (False, False, None),
    '<features> empty xmlns': (True, True, None),
    '<features> entity text': (True, True, None),
    '<features> twice': (False, False, None),
    '<pm/>': (True, True, None),
    '<pm> with content': (True, True, None),
    '<pm> unknown attribute': (False, False, None),
    '<pm> text inside': (False, False, None),
    '<pm> whitespace inside': (True, True, None),
    '<pm> xmlns attribute': (False, False, None),
    '<pm> empty xmlns': (True, True, None),
    '<pm> entity text': (True, True, None),
    '<pm> twice': (False, False, None),
    '<perf/>': (False, False, None),
    '<perf> with content': (True, True, None),
    '<perf> unknown attribute': (False, False, None),
    '<perf> text inside': (False, False, None),
    '<perf> whitespace inside': (True, True, None),
    '<perf> xmlns attribute': (False, False, None),
    '<perf> empty xmlns': (True, True, None),
    '<perf> entity text': (True, True, None),
    '<perf> twice': (False, False, None),
    '<keywrap/>': (False, False, None),
    '<keywrap> with content': (True, True, None),
    '<keywrap> unknown attribute': (False, False, None),
    '<keywrap> text inside': (False, False, None),
    '<keywrap> whitespace inside': (True, True, None),
    '<keywrap> xmlns attribute': (False, False, None),
    '<keywrap> empty xmlns': (True, True, None),
    '<keywrap> entity text': (True, True, None),
    '<keywrap> twice': (False, False, None),
    '<resource/>': (True, False, 'An error occurred, but the cause is unknown'),
    '<resource> with content': (True, True, None),
    '<resource> unknown attribute': (False, False, None),
    '<resource> text inside': (False, False, None),
    '<resource> whitespace inside': (True, True, None),
    '<resource> xmlns attribute': (False, False, None),
    '<resource> empty xmlns': (True, True, None),
    '<resource> entity text': (True, True, None),
    '<resource> twice': (False, False, None),
    '<iothreads/>': (False, False, None),
    '<iothreads> with content': (True, True, None),
    '<iothreads> unknown attribute': (False, False, None),
    '<iothreads> text inside': (False, False, None),
    '<iothreads> whitespace inside': (False, False, None),
    '<iothreads> xmlns attribute': (False, False, None),
    '<iothreads> empty xmlns': (True, True, None),
    '<iothreads> entity text': (False, False, None),
    '<iothreads> element inside': (False, False, None),
    '<iothreads> twice': (False, False, None),
    '<bootloader/>': (True, True, None),
    '<bootloader> with content': (True, True, None),
    '<bootloader> unknown attribute': (False, False, None),
    '<bootloader> text inside': (True, True, None),
    '<bootloader> whitespace inside': (True, True, None),
    '<bootloader> xmlns attribute': (False, False, None),
    '<bootloader> empty xmlns': (True, True, None),
    '<bootloader> entity text': (True, True, None),
    '<bootloader> element inside': (False, False, None),
    '<bootloader> twice': (False, False, None),
    '<bootloader_args/>': (True, True, None),
    '<bootloader_args> with content': (True, True, None),
    '<bootloader_args> unknown attribute': (False, False, None),
    '<bootloader_args> text inside': (True, True, None),
    '<bootloader_args> whitespace inside': (True, True, None),
    '<bootloader_args> xmlns attribute': (False, False, None),
    '<bootloader_args> empty xmlns': (True, True, None),
    '<bootloader_args> entity text': (True, True, None),
    '<bootloader_args> element inside': (False, False, None),
    '<bootloader_args> twice': (False, False, None),
    '<devices> unknown attribute': (False, False, None),
    '<devices> text inside': (False, False, None),
    '<devices> whitespace inside': (True, True, None),
    '<devices> xmlns attribute': (False, False, None),
    '<devices> empty xmlns': (True, True, None),
    '<devices> entity text': (True, True, None),
    '<devices> twice': (False, False, None),
    '<devices/>': (True, False, 'domain must have at least one disk to perform checkpoints'),
    'no <devices>': (True, False, 'domain must have at least one disk to perform checkpoints'),
    "<iothreads>'0'": (True, True, None),
    "<iothreads>'1'": (True, True, None),
    "<iothreads>' 1'": (False, False, None),
    "<iothreads>'abc'": (False, False, None),
    "<iothreads>'-1'": (False, False, None),
    "<iothreads>'4294967295'": (True, False, 'failed to populate iothreadids'),
    "<iothreads>'4294967296'": (False, False, None),
    "<iothreads>''": (False, False, None),
    '<defaultiothread/>': (True, True, None),
    "<defaultiothread thread_pool_min='1'/>": (True, True, None),
    "<defaultiothread thread_pool_max='2'/>": (True, True, None),
    "<defaultiothread thread_pool_min='1' thread_pool_max='2'/>": (True, True, None),
    "<defaultiothread thread_pool_min='2' thread_pool_max='1'/>": (True, True, None),
    "<defaultiothread thread_pool_min='abc'/>": (False, False, None),
    "<defaultiothread thread_pool_max='-1'/>": (False, False, None),
    "<defaultiothread thread_pool_min=' 1'/>": (False, False, None),
    '<defaultiothread> unknown attribute': (False, False, None),
    '<defaultiothread> text inside': (False, False, None),
    '<defaultiothread> whitespace inside': (True, True, None),
    '<defaultiothread> xmlns attribute': (False, False, None),
    '<defaultiothread> empty xmlns': (True, True, None),
    '<defaultiothread> entity text': (True, True, None),
    '<defaultiothread> element inside': (False, False, None),
    '<defaultiothread> twice': (False, False, None),
    '<resource> with fibrechannel': (True, True, None),
    '<resource> whitespace': (True, False, 'An error occurred, but the cause is unknown'),
    "<sysinfo type='smbios'>''": (True, True, None),
    '<sysinfo type=\'smbios\'>"<bios><entry name=\'vendor\'>x</entry></bios>"': (True, True, None),
    "<sysinfo type='fwcfg'>''": (True, True, None),
    '<sysinfo type=\'fwcfg\'>"<entry name=\'opt/x\'>v</entry>"': (True, True, None),
    "<sysinfo>''": (False, False, None),
    "<sysinfo type='bogus'>''": (False, False, None),
    "<sysinfo type=' smbios'>''": (True, False, "Invalid value for attribute 'type' in element 'sysinfo': ' smbios'."),
    "<sysinfo type='smbios' bogus='1'>''": (False, False, None),
    "<sysinfo type='smbios'>'text'": (False, False, None),
    "<sysinfo type='smbios'>' '": (True, True, None),
    '<sysinfo> twice': (True, True, None),
    '<os><type>hvm</type></os>': (True, True, None),
    '<os><type> hvm </type></os>': (True, False, "unknown OS type ' hvm '"),
    '<os><type>linux</type></os>': (True, True, None),
    '<os><type>xen</type></os>': (True, True, None),
    '<os><type>exe</type><init>/bin/sh</init></os>': (True, True, None),
    '<os><type>exe</type></os>': (True, False, 'init binary must be specified'),
    '<os><type>bogus</type></os>': (False, False, None),
    '<os/>': (False, False, None),
    '<os></os>': (False, False, None),
    "<os firmware='efi'><type>hvm</type></os>": (True, True, None),
    "<os firmware='bios'><type>hvm</type></os>": (True, True, None),
    "<os firmware='bogus'><type>hvm</type></os>": (False, False, None),
    "<os firmware='efi'><type>linux</type></os>": (False, False, None),
    "<os bogus='1'><type>hvm</type></os>": (False, False, None),
    '<os><type>hvm</type>text</os>': (False, False, None),
    '<os><type>hvm</type> </os>': (True, True, None),
    "<os xmlns='urn:x'><type>hvm</type></os>": (False, False, None),
    'no <os>': (True, False, 'an os <type> must be specified'),
    '<os> twice': (False, False, None),
    'no <os>, <bootloader>': (True, False, 'an os <type> must be specified'),
    '<bootloader> with <os> hvm': (True, True, None),
    '<bootloader_args> alone': (True, True, None),
    "<clock offset='utc'/>": (True, True, None),
    "<clock offset='localtime'/>": (True, True, None),
    "<clock offset='localtime' adjustment='reset'/>": (True, True, None),
    "<clock offset='utc' adjustment='-10'/>": (True, True, None),
    "<clock offset='utc' adjustment='x'/>": (False, False, None),
    "<clock offset='timezone' timezone='Europe/Paris'/>": (True, True, None),
    "<clock offset='timezone'/>": (True, False, "missing 'timezone' attribute for clock with offset='timezone'"),
    "<clock offset='timezone' timezone='a b'/>": (False, False, None),
    "<clock offset='variable' adjustment='123' basis='utc'/>": (True, True, None),
    "<clock offset='variable' adjustment='reset'/>": (False, False, None),
    "<clock offset='variable' basis='bogus'/>": (False, False, None),
    "<clock offset='variable'/>": (True, True, None),
    "<clock offset='absolute' start='1234'/>": (True, True, None),
    "<clock offset='absolute'/>": (False, False, None),
    "<clock offset='absolute' start='x'/>": (False, False, None),
    "<clock offset='utc' start='1'/>": (False, False, None),
    "<clock offset='utc' timezone='UTC'/>": (False, False, None),
    "<clock offset='bogus'/>": (False, False, None),
    "<clock offset=' utc'/>": (True, False, "unknown clock offset ' utc'"),
    '<clock/>': (False, False, None),
    "<clock offset='utc' bogus='1'/>": (False, False, None),
    '<clock> unknown attribute': (False, False, None),
    '<clock> text inside': (False, False, None),
    '<clock> whitespace inside': (True, True, None),
    '<clock> xmlns attribute': (False, False, None),
    '<clock> empty xmlns': (True, True, None),
    '<clock> entity text': (True, True, None),
    '<clock> twice': (False, False, None),
    "<on_poweroff>'destroy'": (True, True, None),
    "<on_poweroff>'restart'": (True, True, None),
    "<on_poweroff>'preserve'": (True, True, None),
    "<on_poweroff>'rename-restart'": (True, True, None),
    "<on_poweroff>'coredump-destroy'": (False, False, None),
    "<on_poweroff>' destroy'": (True, False, 'unknown on_poweroff action:  destroy'),
    "<on_poweroff>'destroy '": (True, False, 'unknown on_poweroff action: destroy '),
    "<on_poweroff>'bogus'": (False, False, None),
    "<on_poweroff>''": (False, False, None),
    "<on_poweroff>'DESTROY'": (False, False, None),
    '<on_poweroff> unknown attribute': (False, False, None),
    '<on_poweroff> text inside': (False, False, None),
    '<on_poweroff> whitespace inside': (True, False, 'unknown on_poweroff action: destroy \n '),
    '<on_poweroff> xmlns attribute': (False, False, None),
    '<on_poweroff> empty xmlns': (True, True, None),
    '<on_poweroff> entity text': (True, False, 'unknown on_poweroff action: destroy '),
    '<on_poweroff> element inside': (False, False, None),
    '<on_poweroff> twice': (False, False, None),
    "<on_reboot>'destroy'": (True, True, None),
    "<on_reboot>'restart'": (True, True, None),
    "<on_reboot>'preserve'": (True, True, None),
    "<on_reboot>'rename-restart'": (True, True, None),
    "<on_reboot>'coredump-restart'": (False, False, None),
    "<on_reboot>' restart'": (True, False, 'unknown on_reboot action:  restart'),
    "<on_reboot>'bogus'": (False, False, None),
    "<on_reboot>''": (False, False, None),
    '<on_reboot> unknown attribute': (False, False, None),
    '<on_reboot> text inside': (False, False, None),
    '<on_reboot> whitespace inside': (True, False, 'unknown on_reboot action: destroy \n '),
    '<on_reboot> xmlns attribute': (False, False, None),
    '<on_reboot> empty xmlns': (True, True, None),
    '<on_reboot> entity text': (True, False, 'unknown on_reboot action: destroy '),
    '<on_reboot> element inside': (False, False, None),
    '<on_reboot> twice': (False, False, None),
    "<on_crash>'destroy'": (True, True, None),
    "<on_crash>'restart'": (True, True, None),
    "<on_crash>'preserve'": (True, True, None),
    "<on_crash>'rename-restart'": (True, True, None),
    "<on_crash>'coredump-destroy'": (True, True, None),
    "<on_crash>'coredump-restart'": (True, True, None),
    "<on_crash>' preserve'": (True, False, 'unknown on_crash action:  preserve'),
    "<on_crash>'bogus'": (False, False, None),
    "<on_crash>''": (False, False, None),
    '<on_crash> unknown attribute': (False, False, None),
    '<on_crash> text inside': (False, False, None),
    '<on_crash> whitespace inside': (True, False, 'unknown on_crash action: destroy \n '),
    '<on_crash> xmlns attribute': (False, False, None),
    '<on_crash> empty xmlns': (True, True, None),
    '<on_crash> entity text': (True, False, 'unknown on_crash action: destroy '),
    '<on_crash> element inside': (False, False, None),
    '<on_crash> twice': (False, False, None),
    "<on_lockfailure>'poweroff'": (True, True, None),
    "<on_lockfailure>'restart'": (True, True, None),
    "<on_lockfailure>'pause'": (True, True, None),
    "<on_lockfailure>'ignore'": (True, True, None),
    "<on_lockfailure>'destroy'": (False, False, None),
    "<on_lockfailure>' pause'": (True, False, 'unknown on_lockfailure action:  pause'),
    "<on_lockfailure>'bogus'": (False, False, None),
    "<on_lockfailure>''": (False, False, None),
    '<on_lockfailure> unknown attribute': (False, False, None),
    '<on_lockfailure> text inside': (False, False, None),
    '<on_lockfailure> whitespace inside': (True, False, 'unknown on_lockfailure action: poweroff \n '),
    '<on_lockfailure> xmlns attribute': (False, False, None),
    '<on_lockfailure> empty xmlns': (True, True, None),
    '<on_lockfailure> entity text': (True, False, 'unknown on_lockfailure action: poweroff '),
    '<on_lockfailure> element inside': (False, False, None),
    '<on_lockfailure> twice': (False, False, None),
    "<seclabel type='none'>''": (True, True, None),
    "<seclabel type='none' relabel='no'>''": (True, True, None),
    "<seclabel type='none' relabel='yes'>''": (False, False, None),
    "<seclabel type='none'>'<label>x</label>'": (False, False, None),
    "<seclabel type='dynamic'>''": (True, True, None),
    "<seclabel type='dynamic' model='selinux'>''": (True, True, None),
    "<seclabel model='selinux'>''": (True, True, None),
    "<seclabel>''": (True, True, None),
    "<seclabel type='dynamic' relabel='yes'>'<baselabel>x</baselabel>'": (True, True, None),
    "<seclabel type='dynamic' relabel='no'>''": (False, False, None),
    "<seclabel type='static' model='selinux' relabel='yes'>'<label>system_u:system_r:svirt_t:s0:c1</label>'": (True, True, None),
    "<seclabel type='static' model='selinux'>''": (False, False, None),
    "<seclabel type='static' model='dac' relabel='no'>'<label>+0:+0</label>'": (True, True, None),
    "<seclabel type='bogus'>''": (False, False, None),
    "<seclabel type=' none'>''": (True, False, "Invalid value for attribute 'type' in element 'seclabel': ' none'."),
    "<seclabel type='none' bogus='1'>''": (False, False, None),
    "<seclabel type='none'>'text'": (False, False, None),
    "<seclabel type='none'>' '": (True, True, None),
    '<seclabel> twice': (True, True, None),
    "<launchSecurity>''": (False, False, None),
    "<launchSecurity type='s390-pv'>''": (True, True, None),
    "<launchSecurity type='s390-pv'>' '": (True, True, None),
    "<launchSecurity type='s390-pv'>'<policy>0x1</policy>'": (False, False, None),
    "<launchSecurity type='sev'>'<policy>0x0033</policy>'": (True, True, None),
    "<launchSecurity type='sev'>'<cbitpos>47</cbitpos><reducedPhysBits>1</reducedPhysBits><policy>0x0033</policy>'": (True, True, None),
    "<launchSecurity type='sev' kernelHashes='yes'>'<policy>0x0033</policy>'": (True, True, None),
    "<launchSecurity type='sev' kernelHashes='bogus'>'<policy>0x0033</policy>'": (False, False, None),
    "<launchSecurity type='sev'>''": (False, False, None),
    "<launchSecurity type='bogus'>''": (False, False, None),
    "<launchSecurity type=' s390-pv'>''": (True, False, "Invalid value for attribute 'type' in element 'launchSecurity': ' s390-pv'."),
    "<launchSecurity type='s390-pv' bogus='1'>''": (False, False, None),
    "<launchSecurity type='s390-pv'>'text'": (False, False, None),
    '<launchSecurity> twice': (False, False, None),
    "<cpu>''": (True, True, None),
    "<cpu mode='host-model'>''": (True, True, None),
    "<cpu mode='host-passthrough' migratable='on'>''": (True, True, None),
    "<cpu mode='custom' match='exact' check='partial'>'<model>qemu64</model>'": (True, True, None),
    "<cpu mode='maximum'>''": (True, True, None),
    "<cpu mode='bogus'>''": (False, False, None),
    "<cpu match='bogus'>''": (False, False, None),
    "<cpu check='bogus'>''": (False, False, None),
    "<cpu migratable='yes'>''": (False, False, None),
    "<cpu mode=' host-model'>''": (True, False, "Invalid mode attribute ' host-model'"),
    "<cpu bogus='1'>''": (False, False, None),
    "<cpu>'text'": (False, False, None),
    "<cpu>' '": (True, True, None),
    '<cpu>"<topology sockets=\'1\' dies=\'1\' cores=\'2\' threads=\'1\'/>"': (True, True, None),
    '<cpu> twice': (False, False, None),
    'qemu:commandline': (True, True, None),
    'qemu:commandline, prefix on the root': (True, True, None),
    'qemu:commandline, prefix on itself': (True, True, None),
    'qemu:commandline twice': (False, False, None),
    'qemu:capabilities twice': (False, False, None),
    'qemu:deprecation': (True, True, None),
    'qemu:deprecation bogus': (False, False, None),
    'qemu:deprecation without behavior': (False, False, None),
    'qemu:override': (True, True, None),
    'qemu:bogus': (False, False, None),
    'qemu:commandline bogus attribute': (False, False, None),
    'qemu:commandline text': (False, False, None),
    'commandline, default namespace': (True, True, None),
    'commandline, default namespace, twice': (False, False, None),
    'commandline, default namespace and prefix': (False, False, None),
    'bogus, default qemu namespace': (False, False, None),
    'lxc:namespace': (True, True, None),
    'lxc:namespace twice': (False, False, None),
    'lxc:namespace sharenet': (True, True, None),
    'undeclared prefix': (False, False, None),
    'unknown namespace': (False, False, None),
    'bhyve:commandline': (True, True, None),
    'xen:commandline twice': (False, False, None),
    'vmware:datacenterpath': (True, True, None),
    'vmware:datacenterpath empty': (True, True, None),
    'vmware:datacenterpath nested': (False, False, None),
    'vmware:datacenterpath attribute': (False, False, None),
    'qemu prefix for a libvirt element': (False, False, None),
    'throttlegroups': (False, False, None),
    "<os firmware=' efi'><type>hvm</type></os>": (True, False, 'unknown firmware value  efi'),
    "<os firmware='efi '><type>hvm</type></os>": (True, False, 'unknown firmware value efi '),
    "<seclabel type='none' relabel=' no'/>": (True, False, "Invalid value for attribute 'relabel' in element 'seclabel': ' no'."),
    "<seclabel type='dynamic' relabel='yes '/>": (True, False, "Invalid value for attribute 'relabel' in element 'seclabel': 'yes '."),
    "<seclabel type='static' relabel=' yes'><label>x</label></seclabel>": (True, False, "Invalid value for attribute 'relabel' in element 'seclabel': ' yes'."),
    "<seclabel type='dynamic ' model='selinux'/>": (True, False, "Invalid value for attribute 'type' in element 'seclabel': 'dynamic '."),
    "<cpu match=' exact'/>": (True, False, "Invalid value for attribute 'match' in element 'cpu': ' exact'."),
    "<cpu check=' full'/>": (True, False, "Invalid value for attribute 'check' in element 'cpu': ' full'."),
    "<cpu migratable=' on'/>": (True, False, "Invalid value for attribute 'migratable' in element 'cpu': ' on'."),
    "<cpu mode='host-model '/>": (True, False, "Invalid mode attribute 'host-model '"),
    "<launchSecurity type='sev' kernelHashes=' yes'><policy>0x0033</policy></launchSecurity>": (True, False, "Invalid value for attribute 'kernelHashes' in element 'launchSecurity': ' yes'."),
    "<launchSecurity type='sev '><policy>0x0033</policy></launchSecurity>": (True, False, "Invalid value for attribute 'type' in element 'launchSecurity': 'sev '."),
    "<clock offset='variable' basis=' utc'/>": (True, False, "unknown clock basis ' utc'"),
    "<clock offset='utc' adjustment=' reset'/>": (True, False, "unknown clock adjustment ' reset'"),
    "<clock offset='utc' adjustment='reset '/>": (True, False, "unknown clock adjustment 'reset '"),
    "<clock offset='utc '/>": (True, False, "unknown clock offset 'utc '"),
    "<clock offset=' timezone' timezone='UTC'/>": (True, False, "unknown clock offset ' timezone'"),
    "<clock offset=' variable' adjustment='1'/>": (True, False, "unknown clock offset ' variable'"),
    "<clock offset=' absolute' start='1'/>": (True, False, "unknown clock offset ' absolute'"),
    "<clock offset='localtime' adjustment='+5'/>": (True, True, None),
    "<clock offset='timezone' timezone=''/>": (False, False, None),
    "<vcpu placement='static '>2</vcpu>": (True, False, "Invalid value for attribute 'placement' in element 'vcpu': 'static '."),
    "<vcpu placement='auto' current='1'>2</vcpu>": (True, True, None),
    "<vcpu current='02'>2</vcpu>": (True, True, None),
    '<vcpu>02</vcpu>': (True, True, None),
    "<sysinfo type='fwcfg '/>": (True, False, "Invalid value for attribute 'type' in element 'sysinfo': 'fwcfg '."),
    '<on_crash>\tdestroy</on_crash>': (True, False, 'unknown on_crash action: \tdestroy'),
    '<on_reboot>restart\n</on_reboot>': (True, False, 'unknown on_reboot action: restart\n'),
    '<genid>\t</genid>': (True, False, 'malformed genid element'),
    '<iothreads>04294967295</iothreads>': (True, False, 'failed to populate iothreadids'),
    "<maxMemory slots='16' unit='KiB'>1048576</maxMemory>": (True, True, None),
    "<maxMemory slots='16' unit='KiB'>1048575</maxMemory>": (True, False, 'maximum memory size must be equal or greater than the actual memory size'),
    "<maxMemory slots='16' unit='b'>1073741824</maxMemory>": (True, True, None),
    "<maxMemory slots='16' unit='b'>1073741823</maxMemory>": (True, True, None),
    "<maxMemory slots='16' unit='E'>8</maxMemory>": (True, False, 'value too large: 8E'),
    "<maxMemory slots='16' unit='EiB'>7</maxMemory>": (True, True, None),
    "<maxMemory slots='016'>4194304</maxMemory>": (True, True, None),
    "<currentMemory unit='E'>8</currentMemory>": (True, False, 'value too large: 8E'),
    "<currentMemory unit='EiB'>7</currentMemory>": (True, True, None),
    "<currentMemory unit='b'>1</currentMemory>": (True, True, None),
    "<currentMemory unit='KiB'>9007199254740991</currentMemory>": (True, True, None),
    "<currentMemory unit='KiB'>9007199254740990</currentMemory>": (True, True, None),
    "<currentMemory unit='MiB'>8796093022208</currentMemory>": (True, False, 'value too large: 8796093022208MiB'),
    "<currentMemory unit='MiB'>8796093022207</currentMemory>": (True, True, None),
    "<defaultiothread thread_pool_min='4294967295'/>": (True, False, "Invalid value for attribute 'thread_pool_min' in element 'defaultiothread': '4294967295'. Expected integer value"),
    "<defaultiothread thread_pool_max='0'/>": (True, True, None),
    "<memory unit='KiB'>9007199254740990": (True, True, None),
    "<memory unit='MiB'>8796093022207": (True, True, None),
    "<memory unit='MiB'>8796093022208": (True, False, 'value too large: 8796093022208MiB'),
    "<memory unit='EiB'>7": (True, True, None),
    'qemu:deprecation padded': (True, True, None),
    'qemu:deprecation whitespace': (True, True, None),
    'qemu:deprecation text': (False, False, None),
    'qemu:commandline whitespace': (True, True, None),
    'lxc:namespace text': (False, False, None),
    'commandline, default namespace, text': (False, False, None),
    'commandline, default namespace, attribute': (False, False, None),
    'namespace, default lxc namespace': (True, True, None),
    'qemu:commandline xmlns:x attribute': (True, True, None),
    '<devices> xmlns:x attribute': (True, True, None),
}


# -- (a) the library against the recorded verdicts -----------------------------------------------

CASES = cases()
MODES: dict[str, dict[str, object]] = {
    "default": {},
    "create": {"create": True, "clock": lambda: 1700000000.0},
    "redefine": {"redefine": True, "align": True},
}
#: Where this library's message is its own although libvirt's parser has one: libvirt names the
#: domain's real uuid, which a checkpoint document alone cannot know.
OWN_MESSAGES = {"no <uuid>": "definition for checkpoint must use uuid"}


def _accepts(verdicts: tuple[bool, bool, str | None], mode: str) -> bool:
    return verdicts[1] if mode == "redefine" else verdicts[0]


def _ours(text: str, mode: str) -> Checkpoint | CheckpointError:
    try:
        return parse(text, **MODES[mode])  # type: ignore[arg-type]
    except CheckpointError as err:
        return err


def test_every_case_has_a_recorded_verdict() -> None:
    labels = [c.label for c in CASES]
    assert len(labels) == len(set(labels))
    assert set(labels) == set(RECORDED)
    # Both sides of every decision are exercised, and the parser-only refusals too.
    verdicts = list(RECORDED.values())
    assert sum(v[0] for v in verdicts) > 300 and sum(not v[0] for v in verdicts) > 300
    assert sum(v[2] is not None for v in verdicts) > 60


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("layout", [False, True], ids=["one-line", "libvirt-layout"])
def test_library_gives_libvirts_verdict(mode: str, layout: bool) -> None:
    problems = []
    for case in CASES:
        want = _accepts(RECORDED[case.label], mode)
        got = _ours(case.document(layout), mode)
        if isinstance(got, Checkpoint) != want:
            problems.append(f"{case.label!r}: libvirt {'accepts' if want else 'refuses'}; we {'accept' if isinstance(got, Checkpoint) else 'refuse: ' + got.message}")
    assert not problems, f"{len(problems)} of {len(CASES)} differ ({mode}):\n" + "\n".join(problems[:20])


def test_redefine_refusals_of_libvirts_parser_say_what_libvirt_says() -> None:
    """Where only REDEFINE refuses (libvirt's domain parser and driver), the error is a
    SemanticError with libvirt's message (this library's own words only add to it)."""
    problems = []
    for case in CASES:
        message = RECORDED[case.label][2]
        if message is None:
            continue
        got = _ours(case.document(), "redefine")
        expected = OWN_MESSAGES.get(case.label, message)
        if not isinstance(got, SemanticError) or expected not in got.message:
            problems.append(f"{case.label!r}: libvirt says {message!r}; we {got!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("mode", list(MODES))
def test_fast_reader_agrees_with_the_general_reader(mode: str) -> None:
    """Every case in libvirt's layout through both readers, with a cold memory and then with
    what the others left in it: the fast reader returns the general reader's record or leaves
    the document to it. It must also take the good ones (else it would silently be dead)."""
    options = Options(**MODES[mode])  # type: ignore[arg-type]
    taken = 0
    for cold in (True, False):
        forget()
        for case in CASES:
            doc = case.document(True).encode()
            if cold:
                forget()
            fast = fast_parse(doc, options, origin=Origin(None, None, 0, 0))
            slow = general(doc, options)
            if fast is None:
                continue
            taken += 1
            assert isinstance(slow, Checkpoint), f"{case.label!r}: the fast reader accepts what the general reader refuses: {slow!r}"
            assert fast == slow, case.label
            assert _without_vm_name(fast.to_dict()) == _without_vm_name(slow.to_dict()), case.label
    assert taken > 2 * 200, taken


def _without_vm_name(data: dict[str, object]) -> dict[str, object]:
    # vm and vmName are compared apart: see test_vm_identity_is_the_same_on_both_readers.
    return {k: v for k, v in data.items() if k not in ("vm", "vmName")}


@pytest.mark.parametrize("label", ["<name>' a'", "<uuid> empty xmlns"])
def test_vm_identity_is_the_same_on_both_readers(label: str) -> None:
    case = next(c for c in CASES if c.label == label)
    doc = case.document(True).encode()
    forget()
    fast = fast_parse(doc, Options(), origin=Origin(None, None, 0, 0))
    slow = general(doc, Options())
    assert isinstance(fast, Checkpoint) and isinstance(slow, Checkpoint)
    assert (fast.to_dict()["vm"], fast.to_dict()["vmName"]) == (slow.to_dict()["vm"], slow.to_dict()["vmName"])


# -- (b) the same cases through live libvirt ------------------------------------------------------


def _driver():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(HERE))
    try:
        import libvirt_driver
    finally:
        sys.path.pop(0)
    return libvirt_driver


def _live_verdicts() -> dict[str, tuple[bool, bool, str | None]]:
    """libvirt's verdicts on every case, both layouts (they must agree), as RECORDED holds them."""
    requests = []
    for case in CASES:
        for layout in (False, True):
            for flags in (0, 1):
                requests.append({"op": "checkpoint", "xml": case.document(layout), "flags": flags})
    answers = _driver().run_batch(requests, timeout=900)
    out = {}
    prefix = re.compile(r"^(XML error|internal error|unsupported configuration|numerical overflow|invalid argument): ")
    for i, case in enumerate(CASES):
        plain, redefine, plain_l, redefine_l = answers[4 * i : 4 * i + 4]
        for ans in (plain, redefine, plain_l, redefine_l):
            assert not ans.get("error", "").startswith("libvirt_driver:"), ans
        assert (plain["ok"], redefine["ok"]) == (plain_l["ok"], redefine_l["ok"]), f"{case.label!r}: libvirt's verdict depends on the layout"
        message = prefix.sub("", redefine["error"]) if plain["ok"] and not redefine["ok"] else None
        out[case.label] = (plain["ok"], redefine["ok"], message)
    return out


def test_recorded_verdicts_are_live_libvirts() -> None:
    reason = _libvirt_available()
    if reason:
        pytest.skip(f"libvirt unavailable, the recorded verdicts are not re-checked: {reason}")
    live = _live_verdicts()
    changed = [f"{label!r}: recorded {RECORDED[label]}, libvirt now {live[label]}" for label in RECORDED if live[label] != RECORDED[label]]
    assert not changed, "\n".join(changed)


if __name__ == "__main__":  # re-record: print the table from live libvirt
    for label, verdicts in _live_verdicts().items():
        print(f"    {label!r}: {verdicts!r},")
