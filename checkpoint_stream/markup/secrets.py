"""What libvirt prints of a domain only with its SECURE flag, and how to take it out.

A record's domain is kept as the document wrote it, passwords included (a backup must restore
what it saved). Every way out of the library that does not ask for them, the writer
(``secure=False``) and ``Checkpoint.to_dict()``, takes them out here, so that they leave the
library by one rule and the same look-alikes (in comments, CDATA or ``<metadata>``) are left alone.
"""

from __future__ import annotations

import re

from .safe_expat import new_expat_parser

__all__ = ["strip_secrets", "may_hold_secrets"]

_SECRET_HINT = re.compile(r"passwd\s*=|<cookies[\s/>]")
_START_TAG = re.compile(r"""<[^\s/>!?]+(?:\s+[^\s=/>]+\s*=\s*(?:'[^']*'|"[^"]*"))*\s*/?>""")
_END_TAG = re.compile(r"</[^\s>]+\s*>")
_PASSWD_ATTR = re.compile(r"""\s+passwd\s*=\s*(?:'[^']*'|"[^"]*")""")
_SECURE_GRAPHICS = frozenset({"vnc", "spice"})


def strip_secrets(xml: str) -> str:
    """Remove what libvirt prints only with the SECURE flag from a domain's text.

    That is (oracle findings, section 3): the ``passwd`` attribute of ``<graphics type='vnc'>`` and
    ``<graphics type='spice'>`` under ``<devices>`` (``passwdValidTo`` and ``connected`` stay),
    and every ``<cookies>`` element of a ``<source>`` (disk sources, backing stores included),
    together with the line it stood on. Text without ``passwd=`` or ``<cookies`` is returned as is
    without being parsed; otherwise the domain is parsed with expat to find the exact spans, so
    look-alikes in comments, CDATA or ``<metadata>`` are left alone.
    """
    if not may_hold_secrets(xml) or _SECRET_HINT.search(xml) is None:
        return xml
    data = xml.encode("utf-8")
    parser = new_expat_parser()
    stack: list[str] = []
    cuts: list[tuple[int, int, str]] = []  # (start byte, end byte, replacement)
    pending: list[int] = []  # start offsets of open <cookies> elements to remove
    metadata_depth = [0]

    def start(tag: str, attrs: dict[str, str]) -> None:
        parent = stack[-1] if stack else None
        stack.append(tag)
        if tag == "metadata" and len(stack) == 2:
            metadata_depth[0] = len(stack)
        if metadata_depth[0] and len(stack) > metadata_depth[0]:
            return
        pos = parser.CurrentByteIndex
        if tag == "graphics" and parent == "devices" and len(stack) == 3 and "passwd" in attrs:
            if attrs.get("type") in _SECURE_GRAPHICS:
                m = _START_TAG.match(xml, _char_index(data, pos))
                if m is not None:
                    tag_text = m.group(0)
                    new = _PASSWD_ATTR.sub("", tag_text, count=1)
                    cuts.append((m.start(), m.end(), new))
        elif tag == "cookies" and parent == "source" and not pending:
            pending.append(_char_index(data, pos))

    def end(tag: str) -> None:
        depth = len(stack)
        stack.pop()
        if tag == "metadata" and depth == metadata_depth[0]:
            metadata_depth[0] = 0
            return
        if tag == "cookies" and pending and stack and stack[-1] == "source" and not (metadata_depth[0] and depth > metadata_depth[0]):
            begin = pending.pop()
            at = _char_index(data, parser.CurrentByteIndex)
            m = _START_TAG.match(xml, at) if xml.startswith("<cookies", at) else _END_TAG.match(xml, at)
            stop = m.end() if m is not None else at
            # Take the line break and indentation before <cookies> with it.
            lead = begin
            while lead > 0 and xml[lead - 1] in " \t":
                lead -= 1
            if lead > 0 and xml[lead - 1] == "\n":
                lead -= 1
            else:
                lead = begin
            cuts.append((lead, stop, ""))

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.Parse(data, True)
    if not cuts:
        return xml
    cuts.sort()
    out: list[str] = []
    last = 0
    for begin, stop, repl in cuts:
        if begin < last:
            continue
        out.append(xml[last:begin])
        out.append(repl)
        last = stop
    out.append(xml[last:])
    return _collapse_empty_sources("".join(out))


_EMPTY_SOURCE = re.compile(r"""(<source(?:\s+[^\s=/>]+\s*=\s*(?:'[^']*'|"[^"]*"))*)\s*>\s*</source\s*>""")


def _collapse_empty_sources(xml: str) -> str:
    # A <source> whose only child was <cookies> is printed by libvirt as an empty element.
    if "</source>" not in xml:
        return xml
    return _EMPTY_SOURCE.sub(r"\1/>", xml)


def _char_index(data: bytes, byte_index: int) -> int:
    """Character index in the str of ``data`` for a byte offset expat reported."""
    if data.isascii():
        return byte_index
    return len(data[:byte_index].decode("utf-8"))


def may_hold_secrets(data: str | bytes) -> bool:
    """Whether ``data`` (a domain's text) could hold what :func:`strip_secrets` takes out: when
    not, it is the same text stripped, and need not be parsed."""
    if isinstance(data, bytes):
        return b"passwd" in data or b"<cookies" in data
    return "passwd" in data or "<cookies" in data
