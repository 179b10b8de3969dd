"""Who a rejected document was: its checkpoint name and its domain's uuid, read best-effort.

A document the parser rejected yields no record, yet an archive-level view (:mod:`..chain`) still
wants to say *which* checkpoint is broken and which VM it belonged to, so that its children are
reported as waiting for it and it is listed with its own VM. Nothing here judges the document:
these are plain pattern searches over the bytes at hand when the error was raised (the framer
holds the document from its start up to at least the error; what follows may or may not have
arrived). An answer is given only when it is unambiguous text; otherwise ``None``.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

__all__ = ["Identity", "identify", "layout_identity", "plain_text"]


class Identity(NamedTuple):
    checkpoint: str | None
    domain_uuid: str | None


_ENTITIES = {b"lt": "<", b"gt": ">", b"amp": "&", b"apos": "'", b"quot": '"'}
_REFERENCE = re.compile(rb"&(?:(lt|gt|amp|apos|quot)|#([0-9]{1,7})|#x([0-9a-fA-F]{1,6}));")


def _reference(m: "re.Match[bytes]") -> bytes:
    if m.group(1):
        return _ENTITIES[m.group(1)].encode()
    code = int(m.group(2)) if m.group(2) else int(m.group(3), 16)
    return chr(min(code, 0x10FFFF)).encode("utf-8", "surrogatepass")


@functools.lru_cache(maxsize=8)
def _patterns(root: bytes, name: bytes, domain: bytes, uuid: bytes) -> tuple["re.Pattern[bytes]", ...]:
    def leaf(tag: bytes) -> "re.Pattern[bytes]":
        t = re.escape(tag)
        return re.compile(rb"<" + t + rb"[ \t\r\n]*>([^<]{0,4096})</" + t + rb"[ \t\r\n]*>")

    return (
        re.compile(rb"(?:\xef\xbb\xbf)?(?:[ \t\r\n]+|<\?(?:[^?]|\?(?!>))*\?>|<!--(?:[^-]|-(?!->))*-->)*"),
        re.compile(rb"<" + re.escape(root) + rb"[ \t\r\n/>]"),
        re.compile(rb"<" + re.escape(domain) + rb"[ \t\r\n/>]"),
        leaf(name),
        leaf(uuid),
        re.compile(rb"<\?xml[ \t\r\n?]|<" + re.escape(root) + rb"[ \t\r\n/>]"),
    )


def plain_text(raw: bytes) -> str | None:
    """Element text as a string: entity and character references resolved, surrounding
    whitespace dropped; ``None`` for empty text or anything that is not plain UTF-8 text."""
    raw = raw.strip(b" \t\r\n")
    if b"&" in raw:
        if raw.count(b"&") != len(_REFERENCE.findall(raw)):
            return None  # an entity the document could not have declared: not plain text
        raw = _REFERENCE.sub(_reference, raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text or None


def identify(
    data: bytes | bytearray,
    start: int,
    root: str,
    *,
    name: str = "name",
    domain: str = "domain",
    uuid: str = "uuid",
    parent: str = "parent",
) -> Identity:
    """The checkpoint name (the first ``<name>`` before the nested ``<domain>``, outside
    ``<parent>``) and the domain
    uuid (the first ``<uuid>`` after it) of the document starting at ``data[start]`` (its prolog,
    then its root start tag), searched up to the next document's start."""
    prolog, root_at, domain_at, name_at, uuid_at, next_doc = _patterns(root.encode(), name.encode(), domain.encode(), uuid.encode())
    own = root_at.match(data, prolog.match(data, start).end())  # type: ignore[union-attr]
    if own is None:  # not a document of this grammar (garbage, another root): no identity
        return Identity(None, None)
    following = next_doc.search(data, own.end())
    end = following.start() if following is not None else len(data)
    dom = domain_at.search(data, own.end(), end)
    head_end = dom.start() if dom is not None else end
    checkpoint = None
    for found in name_at.finditer(data, own.end(), head_end):
        # <parent><name>P</name></parent> holds a name too: the checkpoint's is outside it.
        opened = data.rfind(b"<" + parent.encode(), own.end(), found.start())
        if opened < 0 or data.rfind(b"</" + parent.encode(), opened, found.start()) >= 0:
            checkpoint = plain_text(found.group(1))
            break
    domain_uuid = None
    if dom is not None:
        found_uuid = uuid_at.search(data, dom.end(), end)
        if found_uuid is not None:
            domain_uuid = plain_text(found_uuid.group(1))
    return Identity(checkpoint, domain_uuid)


def _line_text(span: bytes, lead: bytes, tag: bytes) -> bytes | None:
    """The text of the first line ``lead<tag>TEXT</tag>`` of ``span`` (``None`` if there is none):
    plain finds, which cost less than a pattern on every record of an archive."""
    start = span.find(lead + b"<" + tag + b">")
    if start < 0:
        return None
    start += len(lead) + len(tag) + 2
    end = span.find(b"<", start)
    close = b"</" + tag + b">\n"
    if end < 0 or span[end : end + len(close)] != close or span.find(b"\n", start, end) >= 0:
        return None
    return span[start:end]


def _exact(raw: bytes | None) -> str | None:
    """A line's text exactly as a parser reads it, or ``None`` when only a parser can say."""
    if raw is None or b"&" in raw or raw[:1] in _SPACE or raw[-1:] in _SPACE:
        return None
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return None


_SPACE = (b" ", b"\t", b"\r")
_LEADS = tuple(b"\n" + b" " * (width + 2) for width in range(8))


@functools.lru_cache(maxsize=16)
def _layout_pattern(width: int) -> "re.Pattern[bytes]":
    """Compiled on first use (an import must stay cheap: the command line starts with it)."""
    lead = re.escape(b"\n" + b" " * (width + 2))
    return re.compile(lead + rb"<name>([^<&\n]*)</name>" + lead + rb"<uuid>([^<&\n]*)</uuid>\n")


def layout_identity(span: bytes, width: int) -> tuple[str | None, str | None] | None:
    """The name and uuid of a domain kept as a span in libvirt's layout (``<domain`` to
    ``</domain>``, each top-level child on a line of its own, indented ``width`` + 2 spaces):
    read from those lines alone, without parsing the domain. libvirt writes ``<uuid>`` right after
    ``<name>``: one pattern finds both; other layouts look for each line. ``None`` when the lines
    cannot say it exactly (no such line, a reference or surrounding whitespace in the text, a
    start tag with attributes): the caller then reads the domain's facts, so the answer is always
    the one a full parse gives."""
    if width < 8:
        found = _layout_pattern(width).search(span, 0, 4096)
        if found is not None:
            raw_name, raw_uuid = found.groups()
            if raw_name[:1] not in _SPACE and raw_name[-1:] not in _SPACE and raw_uuid[:1] not in _SPACE and raw_uuid[-1:] not in _SPACE:
                try:
                    return raw_name.decode() or None, raw_uuid.decode() or None
                except UnicodeDecodeError:
                    pass
    lead = _LEADS[width] if width < 8 else b"\n" + b" " * (width + 2)
    name, uuid = _exact(_line_text(span, lead, b"name")), _exact(_line_text(span, lead, b"uuid"))
    if name is None or uuid is None:
        return None
    return name or None, uuid or None
