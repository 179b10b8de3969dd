"""The nested ``<domain>``: what is checked at its top, the facts read from it, its indentation.

libvirt validates the nested domain against its full ``domain.rng`` and re-formats it from its
own model. checkpoint_stream keeps the domain as text and checks what libvirt's domain grammar
requires at the domain's top (the rules below, matched against libvirt 9.0 with its test driver;
see the README for what lies deeper and is not checked). The rules are data, like
:mod:`.schema`: one table for the attributes, one for the children.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Sequence

from .errors import SchemaError

__all__ = [
    "DOMAIN_TYPES",
    "DOMAIN_CHILDREN",
    "DOMAIN_REQUIRED",
    "DomainTop",
    "check_domain_top",
    "check_domain_redefine",
    "read_facts",
    "validate_domain_text",
    "dedent",
    "indent",
]

#: ``hvs`` in domaincommon.rng: the values of ``<domain type=...>``.
DOMAIN_TYPES = frozenset(
    "qemu kqemu kvm xen lxc uml openvz test vmware hyperv vbox phyp vz bhyve hvf".split()
)

#: The children ``domaincontents`` allows at the domain's top, each with how often it may occur
#: (1 = at most once, None = any number). Namespaced extensions are listed by namespace below.
DOMAIN_CHILDREN: Mapping[str, int | None] = {
    **{
        tag: 1
        for tag in (
            "name uuid genid title description metadata cpu os bootloader bootloader_args clock "
            "memory maxMemory currentMemory memoryBacking vcpu vcpus iothreads iothreadids "
            "defaultiothread cputune numatune resource blkiotune memtune features on_reboot "
            "on_poweroff on_crash on_lockfailure pm perf idmap devices keywrap launchSecurity"
        ).split()
    },
    "sysinfo": None,
    "seclabel": None,
}

#: Children the schema requires at the top. (``<os>`` and ``<memory>`` are optional for the
#: schema; libvirt's domain parser, which only runs on REDEFINE, requires them: see below.)
DOMAIN_REQUIRED: tuple[str, ...] = ("name",)

#: ``<os><type>`` values of the schema (oshvm, osexe, osxen).
OS_TYPES = frozenset({"hvm", "exe", "xen", "linux", "xenpvh"})

#: Namespaces whose elements libvirt's domain grammar allows at the top (driver extensions).
DOMAIN_EXTENSION_NAMESPACES = frozenset(
    {
        "http://libvirt.org/schemas/domain/qemu/1.0",
        "http://libvirt.org/schemas/domain/lxc/1.0",
        "http://libvirt.org/schemas/domain/bhyve/1.0",
        "http://libvirt.org/schemas/domain/xen/1.0",
        "http://libvirt.org/schemas/domain/vmware/1.0",
    }
)

#: The elements each extension namespace contributes at the domain's top.
DOMAIN_EXTENSION_ELEMENTS: Mapping[str, frozenset[str]] = {
    "http://libvirt.org/schemas/domain/qemu/1.0": frozenset({"commandline", "capabilities", "deprecation", "override"}),
    "http://libvirt.org/schemas/domain/lxc/1.0": frozenset({"namespace"}),
    "http://libvirt.org/schemas/domain/bhyve/1.0": frozenset({"commandline"}),
    "http://libvirt.org/schemas/domain/xen/1.0": frozenset({"commandline"}),
    "http://libvirt.org/schemas/domain/vmware/1.0": frozenset({"datacenterpath"}),
}
#: Top-level children whose content is text only (no element inside).
TEXT_ONLY_CHILDREN = frozenset(
    "name uuid genid title description memory currentMemory vcpu on_poweroff on_reboot on_crash on_lockfailure".split()
)
#: Top-level children that take no attribute at all.
NO_ATTRIBUTE_CHILDREN = frozenset({"name", "uuid", "genid", "title", "description"})

_UNSIGNED_INT = re.compile(r"[0-9]+")
_NAME_TEXT = re.compile(r"[^\n]+")  # objectNameWithSlash (domain <name> and <title>)
_MEMORY_UNIT = re.compile(r"[bB](?:[yY][tT][eE][sS]?)?|[kKmMgGtTpPeE](?:[iI]?[bB])?")  # basictypes.rng unit
_XML_SPACE = re.compile(r"[ \t\r\n]+")
_XML_SPACE_ONLY = re.compile(r"[ \t\r\n]*")
#: libvirt's VIR_DOMAIN_MEMORY_MAX: memory is kept in KiB and must stay below LLONG_MAX bytes.
_LLONG_MAX = 9223372036854775807
_MEMORY_MAX_KIB = -(-_LLONG_MAX // 1024) - 1  # 9007199254740991


def token(value: str) -> str:
    """The value as a RELAX NG ``<value>`` (built-in token type) compares it: XML whitespace
    (only space, tab, CR, LF; not Python's wider ``str.split`` set) stripped and collapsed."""
    return " ".join(_XML_SPACE.split(value)).strip(" ")


def memory_scale(unit: str | None) -> int:
    """Bytes per unit of a ``scaledInteger`` (libvirt's virScaleInteger); the default is KiB."""
    if not unit:
        return 1024
    u = unit.lower()
    if u[0] == "b":
        return 1
    base = 1024 if len(u) == 1 or u[1:] == "ib" else 1000
    return base ** ("kmgtpe".index(u[0]) + 1)
_UUID = re.compile(r"[a-fA-F0-9]{32}|[a-fA-F0-9]{8}-(?:[a-fA-F0-9]{4}-){3}[a-fA-F0-9]{12}")


@dataclass(frozen=True, slots=True)
class DomainTop:
    """What a driver collects at the domain's top: the start tag's attributes, the children in
    order (tag, attributes, direct text) and any non-whitespace text directly inside."""

    attrs: Mapping[str, str]
    children: Sequence[tuple[str, Mapping[str, str], str]]
    stray_text: str | None = None
    #: The text of ``<os><type>`` when ``<os>`` has one (None: no <type> in <os>, or no <os>).
    os_type: str | None = None
    #: Whether ``<os>`` has an ``<init>`` child (libvirt's parser needs one for type ``exe``).
    os_init: bool = False
    #: Indexes (into ``children``) of the children that hold elements of their own.
    nested: frozenset[int] = frozenset()


def check_domain_top(top: DomainTop, namespaces: Mapping[str, str] | None = None) -> tuple[str, int] | None:
    """Return ``(problem, child index or -1)`` for the first rule the domain's top breaks.

    These are the schema's rules: they apply in every mode, since libvirt validates the nested
    domain even when it then ignores it. :func:`check_domain_redefine` adds the parser's.
    """
    attrs = top.attrs
    ns = dict(namespaces or {})
    for name, value in attrs.items():
        if name.startswith("xmlns:"):
            ns[name[6:]] = value
    for name, value in attrs.items():
        if name == "type":
            if token(value) not in DOMAIN_TYPES:  # an RNG <value> compares tokens
                return (f"<domain type={value!r}> is not a hypervisor type libvirt knows (one of {', '.join(sorted(DOMAIN_TYPES))})", -1)
        elif name == "id":
            if not _UNSIGNED_INT.fullmatch(value) or int(value) > 4294967295:
                return (f"<domain id={value!r}> must be an unsigned 32-bit integer", -1)
        elif name.startswith("xmlns:"):
            continue
        elif name == "xmlns":
            if value:
                return (f"<domain> must be in no namespace: remove xmlns={value!r}", -1)
        else:
            return (f"attribute {name!r} is not allowed on <domain>", -1)
    if "type" not in attrs:
        return ("<domain> needs a type attribute such as type='kvm' (a bare <domain><uuid>...</uuid></domain> is the old snapshot style, not valid in a checkpoint)", -1)
    if top.stray_text is not None:
        return (f"text {top.stray_text!r} is not allowed directly in <domain>", -1)
    seen: dict[str, int] = {}
    for i, (tag, cattrs, text) in enumerate(top.children):
        prefix, colon, local = tag.rpartition(":")
        if colon:
            uri = cattrs.get(f"xmlns:{prefix}", ns.get(prefix))
            if uri not in DOMAIN_EXTENSION_NAMESPACES:
                if uri is None:
                    return (f"element <{tag}> is not allowed in <domain>: its prefix {prefix!r} is not declared", i)
                return (f"element <{tag}> is not allowed in <domain> (namespace {uri!r} is not one of libvirt's domain extensions)", i)
            allowed = DOMAIN_EXTENSION_ELEMENTS[uri]
            if local not in allowed:
                return (f"element <{tag}> is not allowed in <domain>: that namespace has only <{'>, <'.join(sorted(allowed))}>", i)
            continue
        if cattrs.get("xmlns"):
            return (f"element <{tag}> in <domain> must be in no namespace: remove xmlns={cattrs['xmlns']!r}", i)
        if tag in TEXT_ONLY_CHILDREN and i in top.nested:
            return (f"<{tag}> in <domain> holds text only: remove the elements inside it", i)
        if tag in NO_ATTRIBUTE_CHILDREN:
            for aname, avalue in cattrs.items():
                if not aname.startswith("xmlns:") and not (aname == "xmlns" and not avalue):
                    return (f"attribute {aname!r} is not allowed on <{tag}> in <domain>", i)
        limit = DOMAIN_CHILDREN.get(tag, 0)
        if limit == 0:
            return (f"element <{tag}> is not allowed in <domain>", i)
        count = seen.get(tag, 0) + 1
        seen[tag] = count
        if limit is not None and count > limit:
            return (f"element <{tag}> appears more than once in <domain>", i)
        if tag == "name" and not _NAME_TEXT.fullmatch(text):
            return (f"domain name {text!r} is invalid: it must be non-empty and on one line", i)
        if tag == "uuid" and not _UUID.fullmatch(text):
            return (f"domain uuid {text!r} is invalid: use 32 hex digits, optionally as 8-4-4-4-12", i)
        if tag == "title" and not _NAME_TEXT.fullmatch(text):
            return (f"domain title {text!r} is invalid: it must be non-empty and on one line", i)
        if tag == "genid" and not (_XML_SPACE_ONLY.fullmatch(text) or _UUID.fullmatch(text)):
            return (f"domain genid {text!r} is invalid: leave it empty or use a uuid", i)
        if tag == "metadata" and not _XML_SPACE_ONLY.fullmatch(text):
            return (f"text {text.strip()!r} is not allowed directly in <metadata>: wrap it in an element of your own namespace", i)
        if tag == "memory":
            if not _UNSIGNED_INT.fullmatch(text) or int(text) > 18446744073709551615:
                return (f"domain memory {text!r} is invalid: write decimal digits only", i)
            for aname, avalue in cattrs.items():
                if aname == "unit":
                    if not _MEMORY_UNIT.fullmatch(avalue):
                        return (f"<memory unit={avalue!r}> is not a unit libvirt knows (use b, KiB, MiB, GiB, KB, MB...)", i)
                elif aname == "dumpCore":
                    if avalue not in ("on", "off"):
                        return (f"<memory dumpCore={avalue!r}> must be 'on' or 'off'", i)
                elif not aname.startswith("xmlns:") and not (aname == "xmlns" and not avalue):
                    return (f"attribute {aname!r} is not allowed on <memory>", i)
        if tag == "os" and (top.os_type is None or token(top.os_type) not in OS_TYPES):
            return (f"<os> needs a <type> of {', '.join(sorted(OS_TYPES))}, not {top.os_type!r}", i)
    for tag in DOMAIN_REQUIRED:
        if tag not in seen:
            return (f"<domain> needs a <{tag}> element", -1)
    return None


def check_domain_redefine(top: DomainTop) -> tuple[str, int] | None:
    """What libvirt's domain parser (it runs on REDEFINE only) refuses among what can be seen at
    the domain's top: an inexact type, no ``<os><type>``, no ``<memory>`` above 0, a '/' in the
    name. Messages are libvirt's own."""
    dtype = top.attrs["type"]
    if dtype not in DOMAIN_TYPES:
        return (f"invalid domain type {dtype}", -1)
    texts = {tag: text for tag, _, text in top.children}
    if "/" in texts.get("name", ""):
        return (f"name {texts['name']} cannot contain '/'", -1)
    if top.os_type is None:
        return ("an os <type> must be specified", -1)
    if top.os_type not in OS_TYPES:
        return (f"unknown OS type {top.os_type!r}", -1)
    if top.os_type == "exe" and not top.os_init:
        return ("init binary must be specified: an <os> of type 'exe' needs <init>", -1)
    memory = texts.get("memory")
    if memory is None:
        return ("Memory size must be specified via <memory> or in the <numa> configuration", -1)
    unit = next((a.get("unit") for tag, a, _ in top.children if tag == "memory"), None)
    scale = memory_scale(unit)
    value = int(memory)
    if value > _LLONG_MAX // scale:
        return (f"memory value too large: {memory}{unit or ''} (libvirt's limit is {_MEMORY_MAX_KIB} KiB)", -1)
    kib = -(-value * scale // 1024)
    if kib > _MEMORY_MAX_KIB:
        return (f"memory size value too large: {memory}{unit or ''} is more than {_MEMORY_MAX_KIB} KiB", -1)
    if kib == 0:
        return ("Memory size must be specified via <memory> or in the <numa> configuration", -1)
    return None


# -- facts, read lazily from the text -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DomainFacts:
    type: str | None
    name: str | None
    uuid: str | None
    disks: tuple  # tuple[DomainDisk, ...]


def read_facts(xml: str) -> DomainFacts:
    """Parse the domain text once (with expat, defused) for type, name, uuid and disks."""
    from .expat_driver import new_expat_parser
    from .records import DomainDisk

    parser = new_expat_parser()
    stack: list[str] = []
    texts: dict[str, list[str]] = {"name": [], "uuid": []}
    dtype: list[str | None] = [None]
    disks: list[DomainDisk] = []
    current: dict[str, object] = {}

    def start(tag: str, attrs: dict[str, str]) -> None:
        depth = len(stack)
        stack.append(tag)
        if depth == 0:
            dtype[0] = attrs.get("type")
        elif depth == 2 and tag == "disk" and stack[1] == "devices":
            current.clear()
            current.update(
                device=attrs.get("device", "disk"),
                storage=attrs.get("type", "file"),
                source=None,
                protocol=None,
                target=None,
                readonly=False,
            )
        elif depth == 3 and stack[1] == "devices" and stack[2] == "disk":
            if tag == "target":
                current["target"] = attrs.get("dev")
            elif tag == "source":
                current["source"] = attrs.get("file") or attrs.get("dev") or attrs.get("dir") or attrs.get("name")
                current["protocol"] = attrs.get("protocol")
            elif tag == "readonly":
                current["readonly"] = True

    def end(tag: str) -> None:
        depth = len(stack) - 1
        stack.pop()
        if depth == 2 and tag == "disk" and stack[1] == "devices" and current.get("target"):
            disks.append(
                DomainDisk(
                    str(current["target"]),
                    current["source"] if current["source"] else None,  # type: ignore[arg-type]
                    bool(current["readonly"]),
                    str(current["device"]),
                    str(current["storage"]),
                    current["protocol"],  # type: ignore[arg-type]
                )
            )

    def chars(data: str) -> None:
        if len(stack) == 2 and stack[1] in texts:
            texts[stack[1]].append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.Parse(xml.encode("utf-8"), True)
    name = "".join(texts["name"]) or None
    uuid = "".join(texts["uuid"]) or None
    return DomainFacts(dtype[0], name, uuid, tuple(disks))


#: Children of ``<domain>`` whose direct text the top checks look at.
TOP_TEXT_CHILDREN = frozenset({"name", "uuid", "memory", "title", "genid", "metadata"})


def validate_domain_text(xml: str) -> None:
    """Check standalone domain XML (for records built by hand or from JSON) by exactly the rules a
    nested domain meets: it is read as the domain of a checkpoint, through the same parser."""
    from .api import parse
    from .errors import CheckpointError

    text = xml.strip()
    if not text.startswith("<domain") or text[7:8] not in (" ", "\t", "\r", "\n", ">", "/"):
        raise SchemaError(f"expected a <domain> element, not {text[:20]!r}")
    try:
        parse(f"<domaincheckpoint>{text}</domaincheckpoint>")
    except CheckpointError as err:  # positions would be those of the wrapper: keep the verdict
        raise type(err)(f"domain XML: {err.message}") from None


# -- indentation ----------------------------------------------------------------------------------

# Whitespace between two pieces of markup, outside comments, CDATA sections and PIs (which are
# matched first and left alone). Only such runs carry indentation; text content never does.
_STRUCTURE = re.compile(r"(<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>)|>([ \t\r\n]*\n[ \t\r\n]*)<", re.S)
# When no newline sits inside text content, comments, CDATA or PIs, plain replace is exact.
_TEXT_NEWLINE = re.compile(r"[^>\s][ \t\r]*\n|\n[ \t\r]*[^<\s]|<[!?]")


def base_indent(xml: str, column: int) -> int:
    """The indentation to take off a domain's lines: that of its end tag when ``</domain>`` starts
    its own line (so a domain that shares its first line with other markup is still right),
    else the column its start tag was found at."""
    i = xml.rfind("\n")
    if i >= 0:
        tail = xml[i + 1 :]
        stripped = tail.lstrip(" ")
        if stripped.startswith("</"):
            return len(tail) - len(stripped)
    return column


def normalize_newlines(xml: str) -> str:
    """XML's end-of-line handling (CR LF and lone CR become LF), which a parser applies to the
    whole document before anything else: the domain is kept as text, so it is applied here."""
    if "\r" in xml:
        return xml.replace("\r\n", "\n").replace("\r", "\n")
    return xml


def dedent(xml: str, width: int) -> str:
    """Take ``width`` spaces of indentation off every line break between pieces of markup."""
    if width <= 0 or "\n" not in xml:
        return xml
    pad = "\n" + " " * width
    if _TEXT_NEWLINE.search(xml) is None:
        return xml.replace(pad, "\n")

    def fix(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            return m.group(1)
        return ">" + m.group(2).replace(pad, "\n") + "<"

    return _STRUCTURE.sub(fix, xml)


def indent(xml: str, width: int) -> str:
    """Inverse of :func:`dedent`: add ``width`` spaces after every structural line break."""
    if width <= 0 or "\n" not in xml:
        return xml
    pad = "\n" + " " * width
    if _TEXT_NEWLINE.search(xml) is None:
        return xml.replace("\n", pad)

    def fix(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            return m.group(1)
        return ">" + m.group(2).replace("\n", pad) + "<"

    return _STRUCTURE.sub(fix, xml)
