"""Resource limits: what one document may cost at most, with safe defaults.

A breach is a :class:`~.errors.LimitError` for that document, found as early as the framer or the
parser can see it (never after an unbounded amount of work), so in skip mode the stream goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = ["Limits", "DEFAULT_LIMITS"]


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
