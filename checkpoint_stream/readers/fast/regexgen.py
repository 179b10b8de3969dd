"""Value rules carried into the fast reader's patterns.

The fast reader matches a whole document in libvirt's layout with one pattern, so it wants each
value rule as a piece of that pattern. A rule's pattern cannot just be pasted in: it must match
only within its value (a class like ``[^\\n\\r]`` would run past the closing quote), and over bytes
it must mean what it means over characters. :func:`fragment` therefore rewrites a rule's pattern
into one that matches exactly the strings the rule accepts *and* that consist of characters of a
given alphabet (the characters a value may hold raw in the layout the fast reader reads), so:

* the piece cannot run past its value's delimiter (no delimiter is in the alphabet), and
* a value the piece matches is one the rule accepts, and a value the rule accepts made of such
  characters is one the piece matches; any other value makes the match fail, and the document
  goes to the general reader, which reports it.

The rewrite walks the rule's parsed pattern (``re._parser``; ``sre_parse`` before Python 3.11).
What it cannot carry over exactly (anchors, lookarounds, backreferences, flags) gives ``None``,
and the fast reader then captures the value loosely and calls the rule itself: slower, never
different.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Iterable

try:  # Python >= 3.11
    from re import _parser as _sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse as _sre_parse

from ...grammar.values import ValueRule
from ...markup.domain_tags import RUN  # (re-exported for the fast reader's modules)

__all__ = ["fragment", "value_fragment", "char_class", "RUN"]


_CATEGORY = {
    "CATEGORY_DIGIT": r"\d",
    "CATEGORY_NOT_DIGIT": r"\D",
    "CATEGORY_SPACE": r"\s",
    "CATEGORY_NOT_SPACE": r"\S",
    "CATEGORY_WORD": r"\w",
    "CATEGORY_NOT_WORD": r"\W",
}
_SINGLE = ("LITERAL", "NOT_LITERAL", "ANY", "IN")
_NEVER = "(?!)"


def _esc(c: str) -> str:
    """One character for use inside a character class (or alone)."""
    o = ord(c)
    if c.isalnum() and o < 128:
        return c
    if o < 0x100:
        return f"\\x{o:02x}"
    if o < 0x10000:
        return f"\\u{o:04x}"
    return f"\\U{o:08x}"


def char_class(chars: Iterable[str], negate: bool = False) -> str:
    """A character class holding exactly ``chars`` (or all but them), runs written as ranges."""
    codes = sorted(set(map(ord, chars)))
    if not codes:
        return "[\\s\\S]" if negate else _NEVER
    if len(codes) == 1 and not negate:
        return re.escape(chr(codes[0]))
    parts = []
    i = 0
    while i < len(codes):
        j = i
        while j + 1 < len(codes) and codes[j + 1] == codes[j] + 1:
            j += 1
        if j - i >= 2:
            parts.append(f"{_esc(chr(codes[i]))}-{_esc(chr(codes[j]))}")
        else:
            parts.extend(_esc(chr(c)) for c in codes[i : j + 1])
        i = j + 1
    return f"[{'^' if negate else ''}{''.join(parts)}]"


def _repeat(inner: str, lo: int, hi: str, lazy: bool) -> str:
    count = {("0", ""): "*", ("1", ""): "+", ("0", "1"): "?"}.get((str(lo), hi), f"{{{lo},{hi}}}")
    single = inner.startswith("[") and inner.endswith("]") and inner.count("[") == 1 or len(inner) == 1
    return (inner if single else f"(?:{inner})") + count + ("?" if lazy else "")


def _single_source(op: str, av: Any) -> tuple[str, bool] | None:
    """The source of a single-character node, and whether it is a negated set."""
    if op == "LITERAL":
        return _esc(chr(av)), False
    if op == "NOT_LITERAL":
        return f"[^{_esc(chr(av))}]", True
    if op == "ANY":
        return "[^\\n]", True
    if op == "IN":
        negate = False
        parts = []
        for iop, iav in av:
            name = str(iop)
            if name == "NEGATE":
                negate = True
            elif name == "LITERAL":
                parts.append(_esc(chr(iav)))
            elif name == "RANGE":
                parts.append(f"{_esc(chr(iav[0]))}-{_esc(chr(iav[1]))}")
            elif name == "CATEGORY" and str(iav) in _CATEGORY:
                parts.append(_CATEGORY[str(iav)])
            else:
                return None
        return f"[{'^' if negate else ''}{''.join(parts)}]", negate
    return None


class _Rewriter:
    def __init__(self, excluded: str, ascii_only: bool) -> None:
        self.excluded = excluded
        self.ascii_only = ascii_only
        self.allowed_ascii = [chr(i) for i in range(128) if chr(i) not in excluded]

    def single(self, op: str, av: Any) -> str | None:
        found = _single_source(op, av)
        if found is None:
            return None
        src, negated = found
        rx = re.compile(src)
        if self.ascii_only:
            return char_class(c for c in self.allowed_ascii if rx.fullmatch(c))
        bad = [c for c in self.excluded if rx.fullmatch(c)]
        if not bad:
            return src
        if negated and src.startswith("[^"):
            return "[^" + src[2:-1] + "".join(_esc(c) for c in self.excluded) + "]"
        return f"(?:(?!{char_class(self.excluded)}){src})"

    def sequence(self, nodes: Any) -> str | None:
        out = []
        for op, av in nodes:
            piece = self.node(str(op), av)
            if piece is None:
                return None
            out.append(piece)
        return "".join(out)

    def node(self, op: str, av: Any) -> str | None:
        if op in _SINGLE:
            return self.single(op, av)
        if op in ("MAX_REPEAT", "MIN_REPEAT"):
            lo, hi, sub = av
            inner = self.sequence(sub)
            if inner is None:
                return None
            top = "" if hi == _sre_parse.MAXREPEAT else str(hi)
            return _repeat(inner, lo, top, op == "MIN_REPEAT")
        if op == "SUBPATTERN":
            _group, add_flags, del_flags, sub = av
            if add_flags or del_flags:
                return None
            inner = self.sequence(sub)
            return None if inner is None else f"(?:{inner})"
        if op == "BRANCH":
            alternatives = [self.sequence(alt) for alt in av[1]]
            if any(a is None for a in alternatives):
                return None
            return "(?:" + "|".join(alternatives) + ")"  # type: ignore[arg-type]
        return None  # anchors, lookarounds, backreferences, atomic groups: not carried over


def fragment(pattern: re.Pattern[str], excluded: str, *, ascii_only: bool = False) -> str | None:
    """A regex source matching exactly the strings ``pattern`` fullmatches that hold no character
    of ``excluded`` (and only ASCII with ``ascii_only``); ``None`` when that cannot be done."""
    if pattern.flags & ~re.UNICODE:
        return None
    try:
        parsed = _sre_parse.parse(pattern.pattern, pattern.flags)
    except Exception:  # pragma: no cover - a pattern that compiled parses
        return None
    body = _Rewriter(excluded, ascii_only).sequence(parsed)
    return None if body is None else f"(?:{body})"


@functools.lru_cache(maxsize=256)
def value_fragment(rule: ValueRule, excluded: str, *, ascii_only: bool = False) -> str | None:
    """The pattern piece for a value judged by ``rule`` (see :func:`fragment`): ``None`` when the
    reader must capture the value loosely and call the rule instead. A rule with a ``maximum``
    still needs :meth:`~..grammar.values.ValueRule.exceeds` after the match."""
    if rule.token:
        return None
    if rule.choices:
        if rule.pattern is not None:
            return None
        usable = [c for c in rule.choices if not any(x in excluded for x in c) and (c.isascii() or not ascii_only)]
        return "(?:" + "|".join(re.escape(c) for c in sorted(usable, key=len, reverse=True)) + ")" if usable else _NEVER
    if rule.pattern is None:
        return None
    return fragment(rule.pattern, excluded, ascii_only=ascii_only)
