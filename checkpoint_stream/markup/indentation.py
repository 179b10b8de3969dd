"""A domain kept as text: its line ends and its indentation.

A nested ``<domain>`` is kept with the indentation of the enclosing checkpoint taken off (so
``Domain.xml`` reads like ``virsh dumpxml``) and the writer puts it back. Only whitespace between two
pieces of markup carries indentation; text content, comments, CDATA sections and processing
instructions are left exactly as they are.
"""

from __future__ import annotations

import re

from .domain_tags import RUN

__all__ = ["base_indent", "normalize_newlines", "dedent", "indent", "text_newline"]

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


def text_newline(xml: str) -> bool:
    """Whether a newline stands in text content, a comment, CDATA section or PI (where
    :func:`dedent` and :func:`indent` must leave it alone)."""
    return (
        _OTHER_MARKUP.search(xml) is not None
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


def dedent(xml: str, width: int) -> str:
    """Take ``width`` spaces of indentation off every line break between pieces of markup."""
    if width <= 0 or "\n" not in xml:
        return xml
    pad = "\n" + " " * width
    if not text_newline(xml):
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
