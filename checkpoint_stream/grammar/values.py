"""Value rules: the datatypes of libvirt's schemas (and of its parsers), as data.

A :class:`ValueRule` says which strings a value may be (a whole-value pattern, a set of choices,
a numeric ceiling) and how to tell the user what is wrong. Every reader judges values by calling
:meth:`ValueRule.check`; the fast reader also compiles each rule's pattern into its own document
patterns (:mod:`..readers.fast.patterns`), so a rule changed here changes every path at once.

Patterns are spelled with ASCII classes: ``\\d`` and ``\\w`` would also accept non-ASCII digits and
letters, which the XSD patterns of libvirt's schemas do not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ValueRule",
    "ULONG_MAX",
    "LLONG_MAX",
    "UINT_MAX",
    "XML_WHITESPACE",
    "is_whitespace",
    "collapse",
]

ULONG_MAX = 18446744073709551615  # xsd:unsignedLong
LLONG_MAX = 9223372036854775807  # what libvirt's REDEFINE converts creationTime into
UINT_MAX = 4294967295  # xsd:unsignedInt

#: XML's own whitespace (the S production). Python's ``str.isspace`` is wider (U+00A0, U+2028, ...),
#: which XML is not, so it must not be used on document text.
XML_WHITESPACE = " \t\r\n"
_WS_RE = re.compile(r"[ \t\r\n]*")
_WS_RUN = re.compile(r"[ \t\r\n]+")


def is_whitespace(text: str) -> bool:
    return _WS_RE.fullmatch(text) is not None


def collapse(value: str) -> str:
    """The value as a RELAX NG ``<value>`` of the built-in token type compares it: XML whitespace
    (only space, tab, CR, LF) stripped and collapsed."""
    return " ".join(_WS_RUN.split(value)).strip(" ")


def _as_int(value: str) -> int | None:
    """A string of ASCII digits as an int, without Python's 4300-digit conversion limit getting in
    the way (a long run of digits is only compared, never converted)."""
    if not value or not value.isascii() or not value.isdigit():
        return None
    digits = value.lstrip("0") or "0"
    if len(digits) > 40:
        return 1 << 140  # above every maximum a rule can have
    return int(digits)


_UNSEEN: Any = object()
_REMEMBERED_LENGTH = 64  # characters: longer values (names, paths) rarely recur
_REMEMBERED_VALUES = 512  # per rule


@dataclass(frozen=True, slots=True)
class ValueRule:
    """A datatype: which strings a value may be, and what to say when it is not.

    * ``pattern`` must match the whole value (XSD semantics); ``choices`` is the set of allowed
      values (a RELAX NG ``<choice>`` of ``<value>``\\s); with ``token``, both are compared with the
      value's whitespace collapsed, as RELAX NG compares tokens;
    * ``maximum`` is a numeric ceiling for a value of digits;
    * ``what`` and ``hint`` make the message ("checkpoint name 'a b' is invalid: use ..."), or
      ``message`` does, a template with ``{value!r}``, ``{value}``, ``{stripped!r}``, ``{what}``,
      ``{hint}`` and ``{choices}`` in it.
    """

    what: str
    pattern: re.Pattern[str] | None = None
    hint: str = ""
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    token: bool = False
    message: str | None = None
    #: The verdicts on short values met before (check_remembered): the same few values (units,
    #: lifecycle actions, architectures, buses) recur in every domain, of every VM. A pure
    #: function's results, bounded; a lost update between threads only costs a check.
    _verdicts: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def check_remembered(self, value: str) -> str | None:
        """:meth:`check`, remembered for short values: for the rules of a domain's top, whose
        values recur from VM to VM (a checkpoint's own values, a name or a bitmap, do not: they
        are checked each time, at no cost for remembering)."""
        verdicts = self._verdicts
        found = verdicts.get(value, _UNSEEN)
        if found is not _UNSEEN:
            return found  # type: ignore[no-any-return]
        problem = self.check(value)
        if len(value) <= _REMEMBERED_LENGTH:
            if len(verdicts) >= _REMEMBERED_VALUES:
                verdicts.clear()
            verdicts[value] = problem
        return problem

    def check(self, value: str) -> str | None:
        """``None`` when ``value`` is valid, else what is wrong with it."""
        v = collapse(value) if self.token else value
        if self.choices and v not in self.choices:
            return self.problem(value)
        if self.pattern is not None and self.pattern.fullmatch(v) is None:
            return self.problem(value)
        if self.maximum is not None:
            number = _as_int(v)
            if number is None:
                return self.problem(value)
            if number > self.maximum:
                return self.problem(value, out_of_range=True)
        return None

    def exceeds(self, value: str) -> bool:
        """Whether a value that matched ``pattern`` breaks ``maximum`` (the one part of a rule a
        compiled pattern cannot say): what the fast reader checks after its own match."""
        if self.maximum is None:
            return False
        number = _as_int(value)
        return number is None or number > self.maximum

    def problem(self, value: str | None, out_of_range: bool = False) -> str:
        """The message for ``value`` breaking this rule."""
        if self.message is not None:
            return self.message.format(
                value=value,
                stripped=value.strip(XML_WHITESPACE) if value is not None else None,
                what=self.what,
                hint=self.hint,
                choices=", ".join(sorted(self.choices)),
            )
        if out_of_range:
            return f"{self.what} {value} is out of range: {self.hint}"
        return f"{self.what} {value!r} is invalid: {self.hint}"
