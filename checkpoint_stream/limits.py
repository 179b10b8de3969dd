"""Resource limits: what one document may cost at most, with safe defaults.

A breach is a :class:`~.errors.LimitError` for that document, found as early as the framer or the
parser can see it (never after an unbounded amount of work), so in skip mode the stream goes on.
Each limit can be set by keyword (``CheckpointParser(max_depth=64)``, ``iterparse(..., max_text=...)``).

The defaults are far above anything libvirt writes (its own checkpoints are a few KiB; a domain
with thousands of disks stays under a few MiB) and low enough that one hostile document costs at
most about ``max_document_bytes`` of memory and linear time:

* ``max_document_bytes`` is checked while a document is being buffered, before its end tag comes;
* ``max_depth`` and ``max_attributes`` when the offending start tag is read;
* ``max_text`` bounds one attribute value, one text node (CDATA included), one comment or one
  processing instruction, in characters (a comment or PI in bytes while it is still arriving);
  an over-long attribute value, comment or PI is reported while it is still arriving, and a document whose bytes run
  longer than ``max_text`` without a ``>`` is handed to the incremental parser at once, so neither
  waits for the whole document;
* ``max_disks`` when the offending ``<disk>`` is read.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = ["Limits", "DEFAULT_LIMITS", "start_tag_problem", "attributes_message", "attribute_value_message", "text_message"]


@dataclass(frozen=True, slots=True)
class Limits:
    #: Bytes of one document, from its first byte to the end of its root end tag.
    max_document_bytes: int = 64 * 1024 * 1024
    #: Element nesting depth, the root being depth 1 (libvirt's own domains stay under 10).
    max_depth: int = 256
    #: Attributes on one element.
    max_attributes: int = 256
    #: Characters of one attribute value or one text node; also bounds any single markup token.
    max_text: int = 1024 * 1024
    #: ``<disk>`` entries in one checkpoint.
    max_disks: int = 1_000_000

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"limit {f.name} must be a positive integer, not {value!r}")


DEFAULT_LIMITS = Limits()


def start_tag_problem(tag: str, attrs: dict[str, str], depth: int, limits: Limits) -> tuple[str, str | None] | None:
    """The limit a start tag breaks, as ``(message, the attribute concerned or None)``, or None.

    The one wording of these limits, whoever finds the breach: the expat reader at a complete
    tag, or the framer while a huge tag is still arriving (it says the same, at the same place)."""
    if depth > limits.max_depth:
        return (f"elements nest deeper than {limits.max_depth} levels (limit max_depth)", None)
    if len(attrs) > limits.max_attributes:
        return (attributes_message(tag, limits), None)
    if attrs and max(map(len, attrs.values())) > limits.max_text:
        name = next(name for name, value in attrs.items() if len(value) > limits.max_text)
        return (attribute_value_message(tag, limits), name)
    return None


def attributes_message(tag: str, limits: Limits) -> str:
    return f"<{tag}> has more than {limits.max_attributes} attributes (limit max_attributes)"


def attribute_value_message(tag: str, limits: Limits) -> str:
    return f"<{tag}> has an attribute value longer than {limits.max_text} characters (limit max_text)"


def markup_message(what: str, limits: Limits) -> str:
    return f"a {what} is longer than {limits.max_text} characters (limit max_text)"


def text_message(limits: Limits) -> str:
    return f"a text node is longer than {limits.max_text} characters (limit max_text)"
