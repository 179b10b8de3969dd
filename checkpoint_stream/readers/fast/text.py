"""What expat would still check in a value the fast reader's patterns captured."""

from __future__ import annotations

__all__ = ["utf8_text", "xml_text", "unescape"]

_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&"))  # &amp; last


def utf8_text(raw: bytes) -> str | None:
    """Decode UTF-8 as expat reads it: invalid sequences and U+FFFE / U+FFFF are errors."""
    if raw.isascii():
        return raw.decode("ascii")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\ufffe" in text or "\uffff" in text:
        return None
    return text


def xml_text(raw: bytes) -> str | None:
    """Character data the patterns captured (no markup, no control character, references only to
    the five predefined entities): decoded and checked as expat would (UTF-8, no U+FFFE/U+FFFF, no
    ']]>'), references replaced. None where expat would refuse it."""
    if b"]]>" in raw:
        return None
    text = utf8_text(raw)
    if text is not None and "&" in text:
        text = unescape(text)
    return text


def unescape(text: str) -> str:
    for entity, char in _ENTITIES:
        text = text.replace(entity, char)
    return text
