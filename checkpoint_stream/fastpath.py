"""The fast scanner: libvirt's own layout, recognised by compiled patterns instead of events.

Most documents in the wild were written by libvirt, so they share one layout: fixed element order,
single-quoted attributes, two-space indentation, no comments. For such a document this module
lets expat check well-formedness with no Python callback at all, takes the checkpoint level apart
with one regular expression, and checks the nested domain's top from its indentation (proven
sound below) instead of from per-element events.

It is an accelerator, not a second parser: the value rules are those of :mod:`.schema`, the mode
rules those of :func:`.machine.build_checkpoint`, the domain rules those of
:func:`.domain.check_domain_top`, and anything it does not recognise, or finds wrong, returns
``None`` so the caller runs the general path, which produces the positioned error. The tests run
both paths on every corpus and require identical results.
"""

from __future__ import annotations

import re
from typing import Any

from .domain import DomainTop, check_domain_redefine, check_domain_top
from .errors import CheckpointError
from .expat_driver import new_expat_parser
from .limits import Limits
from .machine import Options, build_checkpoint
from .records import Checkpoint, CheckpointDisk, Domain, Origin
from .schema import NAME, ULONG_MAX

__all__ = ["fast_parse"]

_WS = r"[ \t\r\n]*"


def _q(body: str) -> str:
    """Either quote, as an XML declaration allows."""
    return "(?:'" + body + "'|\"" + body + "\")"


_DECL = (
    r"(?:<\?xml[ \t\r\n]+version=" + _q(r"1\.0")
    + r"(?:[ \t\r\n]+encoding=" + _q(r"(?i:utf-?8)") + ")?"
    + r"(?:[ \t\r\n]+standalone=" + _q("(?:yes|no)") + ")?" + _WS + r"\?>" + _WS + ")?"
)
_NAME = NAME.pattern.pattern if NAME.pattern else ""
_ATTR_VALUE = r"[^'<&\t\n\r]"
_DISK = (
    r"<disk name='(?:(?:ioemu:)?(?:fd|hd|sd|vd|xvd|ubd)[a-zA-Z0-9_]+|(?:/|[a-zA-Z]:\\)" + _ATTR_VALUE + r"+)'"
    r"(?: checkpoint='(?:bitmap|no)')?(?: bitmap='" + _ATTR_VALUE + r"*')?(?: size='[0-9]{1,20}')?/>"
)
_CHECKPOINT = re.compile(
    _DECL
    + rf"<domaincheckpoint>{_WS}"
    + rf"(?:<name>(?P<name>{_NAME})</name>{_WS})?"
    + rf"(?:<description>(?P<description>[^<&\r]*)</description>{_WS})?"
    + rf"(?:<parent>{_WS}<name>(?P<parent>{_NAME})</name>{_WS}</parent>{_WS})?"
    + rf"(?:<creationTime>(?P<creationTime>[0-9]{{1,20}})</creationTime>{_WS})?"
    + rf"(?:<disks>(?P<disks>(?:{_WS}{_DISK})+){_WS}</disks>{_WS})?"
    + rf"(?:(?P<domain><domain[ \t\r\n>].*</domain>){_WS})?"
    + rf"(?:<active>(?P<active>[01])</active>{_WS})?"
    + r"</domaincheckpoint>",
    re.S,
)
_DISK_FIELDS = re.compile(r"<disk name='([^']*)'(?: checkpoint='([a-z]+)')?(?: bitmap=('[^']*'))?(?: size='([0-9]+)')?/>")

# -- the nested domain in canonical layout ------------------------------------------------------
# Every line is one of: an open tag, a self-closing tag, a one-line leaf <a>text</a>, a close tag.
_TAG = r"[A-Za-z_][-\w.:]*"
_ATTRS = r"(?: [^\s=<>/'\"]+=(?:'[^'<\n]*'|\"[^\"<\n]*\"))*"
_OPEN = rf"<{_TAG}{_ATTRS}>"
_SELF = rf"<{_TAG}{_ATTRS}/>"
_LEAF = rf"<(?P<leaf>{_TAG}){_ATTRS}>[^<\n]*</(?P=leaf)>"
_CLOSE = rf"</{_TAG}>"
_LINES = re.compile(rf"<domain{_ATTRS}>(?:\n *(?:{_OPEN}|{_SELF}|{_LEAF}|{_CLOSE}))*\n</domain>")
# Soundness: given that expat found the tags balanced, and that (1) the line after an open tag is
# indented two more and is not a close tag, and (2) the line after any other line is indented the
# same unless it is a close tag, which is indented two less, induction over the lines shows that
# every line is indented exactly twice its depth. So the children of <domain> are exactly the
# lines indented by two spaces.
_AFTER_OPEN = re.compile(rf"^( *){_OPEN}\n(?!\1  <[^/])", re.M)
_AFTER_OTHER = re.compile(rf"^( *)(  )(?:{_SELF}|{_LEAF}|{_CLOSE})\n(?!\1\2<[^/]|\1</)", re.M)
_CHILDREN = re.compile(rf"^  <({_TAG})(?:{_ATTRS})(?:/>|>([^<\n]*)</{_TAG}>|>)$", re.M)
_DOMAIN_ATTR = re.compile(r"""([^\s=]+)=(?:'([^']*)'|"([^"]*)")""")
_TEXT_NEWLINE = re.compile(r"[^>\s][ \t\r]*\n|\n[ \t\r]*[^<\s]|<[!?]")


_OS_TYPE = re.compile(r"^  <os(?: [^>\n]*)?>\n(?:    .*\n)*?    <type(?: [^>\n]*)?>([^<\n]*)</type>$", re.M)


def _domain(span: str, column: int, redefine: bool) -> Domain | None:
    if span.count("<domain") != 1 or span.count("</domain") != 1 or _TEXT_NEWLINE.search(span):
        return None
    xml = span.replace("\n" + " " * column, "\n") if column else span
    if _LINES.fullmatch(xml) is None or _AFTER_OPEN.search(xml) or _AFTER_OTHER.search(xml):
        return None
    head = xml[: xml.index(">")]
    attrs: dict[str, str] = {}
    for name, single, double in _DOMAIN_ATTR.findall(head):
        value = single or double
        if "&" in value or name in attrs:
            return None
        attrs[name] = value
    children = _CHILDREN.findall(xml)
    for tag, text in children:
        if "&" in text:
            return None
    os_type = None
    if any(tag == "os" for tag, _ in children):
        m = _OS_TYPE.search(xml)
        if m is None or "&" in m.group(1):
            return None
        os_type = m.group(1)
    top = DomainTop(attrs, [(t, {}, x) for t, x in children], None, os_type)
    if check_domain_top(top) is not None or (redefine and check_domain_redefine(top) is not None):
        return None
    return Domain(xml)


def fast_parse(doc: bytes, options: Options, limits: Limits, origin: Origin | None = None) -> Checkpoint | None:
    """Parse one complete document in libvirt's layout, or return None to use the general path."""
    try:
        text = doc.decode("utf-8")
    except UnicodeDecodeError:
        return None
    m = _CHECKPOINT.fullmatch(text)
    if m is None:
        return None
    parser = new_expat_parser()
    try:
        parser.Parse(doc, True)
    except Exception:
        return None
    fields: dict[str, Any] = {}
    get = m.group
    name = get("name")
    if name is not None:
        fields["name"] = name
    description = get("description")
    if description is not None:
        fields["description"] = description
    parent = get("parent")
    if parent is not None:
        fields["parent"] = parent
    created = get("creationTime")
    if created is not None:
        if int(created) > ULONG_MAX:
            return None
        fields["creationTime"] = created
    active = get("active")
    if active is not None:
        if not options.internal:
            return None
        fields["active"] = active
    span = get("domain")
    if span is not None:
        begin = m.start("domain")
        line_start = text.rfind("\n", 0, begin) + 1
        column = begin - line_start if text[line_start:begin].strip(" ") == "" else 0
        domain = _domain(span, column, options.redefine)
        if domain is None:
            return None
        fields["domain"] = domain
    block = get("disks")
    if block is not None:
        if "checkpoint='no' bitmap=" in block or "checkpoint='no' size=" in block:
            return None
        found = _DISK_FIELDS.findall(block)
        if len(found) > limits.max_disks:
            return None
        disks = tuple(
            [
                CheckpointDisk(n, c or "bitmap", b[1:-1] if b else None, int(s) if s else None)
                for n, c, b, s in found
            ]
        )
        if any(d.size is not None and d.size > ULONG_MAX for d in disks):
            return None
    else:
        disks = ()
    try:
        return build_checkpoint(fields, disks, options, origin)
    except CheckpointError:
        return None
