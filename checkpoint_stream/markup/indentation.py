"""A domain kept as text: its line ends and its indentation.

A nested ``<domain>`` is kept with the indentation of the enclosing checkpoint taken off (so
``Domain.xml`` reads like ``virsh dumpxml``) and the writer puts it back. Only whitespace between two
pieces of markup carries indentation; text content, comments, CDATA sections and processing
instructions are left exactly as they are.
"""

from __future__ import annotations

import re

from .domain_tags import RUN

__all__ = ["base_indent", "normalize_newlines", "dedent", "indent", "text_newline", "element_layout"]

# Whitespace between two pieces of markup, outside comments, CDATA sections and PIs (which are
# matched first and left alone). Only such runs carry indentation; text content never does.
_STRUCTURE = re.compile(r"(<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>)|>([ \t\r\n]*\n[ \t\r\n]*)<", re.S)
# When no newline sits inside text content, comments, CDATA or PIs, plain replace is exact. A
# newline in text has text after it before the next '<', or text before it after the last '>':
# each side is a pattern that begins with the newline (so the search skips to newlines; the second
# runs over the reversed text), with a possessive run where the interpreter has one (Python >=
# 3.11: the class after the run excludes what it holds, so nothing changes but the speed).
_NEWLINE_TEXT = re.compile(r"\n[ \t\r]" + RUN + r"[^<\s]")
_NEWLINE_TEXT_REVERSED = re.compile(r"\n[ \t\r]" + RUN + r"[^>\s]")
_OTHER_MARKUP = re.compile(r"<[!?]")


def text_newline(xml: str, markup: bool = True) -> bool:
    """Whether a newline stands in text content, a comment, CDATA section or PI (where
    :func:`dedent` and :func:`indent` must leave it alone). ``markup=False``: the caller knows
    ``xml`` holds no comment, CDATA section or PI."""
    return (
        (markup and _OTHER_MARKUP.search(xml) is not None)
        or _NEWLINE_TEXT.search(xml) is not None
        or _NEWLINE_TEXT_REVERSED.search(xml[::-1]) is not None
    )


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


def dedent(xml: str, width: int, markup: bool = True) -> str:
    """Take ``width`` spaces of indentation off every line break between pieces of markup.
    ``markup=False``: the caller knows ``xml`` holds no comment, CDATA section or PI."""
    if width <= 0 or "\n" not in xml:
        return xml
    pad = "\n" + " " * width
    if not text_newline(xml, markup):
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
    if not text_newline(xml):
        return xml.replace("\n", pad)

    def fix(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            return m.group(1)
        return ">" + m.group(2).replace("\n", pad) + "<"

    return _STRUCTURE.sub(fix, xml)


_TOKEN = re.compile(r"<(?:[^>'\"]|'[^']*'|\"[^\"]*\")*>|[^<]+")


def element_layout(xml: str) -> str:
    """An element whose content is elements (and leaves holding text) laid out as libvirt's
    auto-indenting buffer writes it: one element a line, two spaces a level, an empty element
    self-closed. The same element however it was laid out (one line, other indentation) comes
    out the same; an element holding mixed content, a comment, a PI or a CDATA section is
    returned as it is (no layout to restore there)."""
    if "<!" in xml or "<?" in xml:
        return xml
    tokens = _TOKEN.findall(xml)
    # Whitespace between tags is layout; any other text must be a leaf's whole content.
    items = [t for t in tokens if t[0] == "<" or t.strip(" \t\r\n")]
    lines: list[str] = []
    depth = 0
    i, n = 0, len(items)
    while i < n:
        t = items[i]
        if t[0] != "<":
            return xml  # text beside elements: mixed content
        if t[1] == "/":
            depth -= 1
            lines.append("  " * depth + t)
        elif t.endswith("/>"):
            lines.append("  " * depth + t)
        elif i + 1 < n and items[i + 1].startswith("</"):
            lines.append("  " * depth + t[:-1].rstrip(" \t\r\n") + "/>")
            i += 1
        elif i + 2 < n and items[i + 1][0] != "<" and items[i + 2].startswith("</"):
            lines.append("  " * depth + t + items[i + 1] + items[i + 2])
            i += 2
        else:
            lines.append("  " * depth + t)
            depth += 1
        i += 1
    return "\n".join(lines)
