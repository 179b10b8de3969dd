"""The domain's top, collected from parser events: what :class:`~..grammar.domain.DomainGrammar`
judges, gathered exactly as its tables say (which children's text, which grandchildren).

The expat reader feeds a :class:`DomainScanner` the events inside a nested ``<domain>``;
:func:`scan_domain_text` feeds it from a standalone domain (a record built by hand or from JSON),
so both are judged by the same collection and the same rules.
"""

from __future__ import annotations

from typing import Any
from xml.parsers import expat

from ..errors import LimitError, NotWellFormedError, SecurityError
from ..grammar.domain import DomainChild, DomainGrammar, DomainTop
from ..limits import Limits, start_tag_problem, text_message
from .safe_expat import SECURITY_ERRORS, expat_message, new_expat_parser, security_message

__all__ = ["DomainScanner", "scan_domain", "scan_domain_text"]


class DomainScanner:
    """Collects the top of one domain from ``start`` / ``text`` / ``end`` events below its start
    tag. Depth 1 is inside ``<domain>``: its children start there."""

    __slots__ = ("grammar", "attrs", "children", "offsets", "depth", "_stray", "_text", "_inner", "_inner_tag", "_inner_text")

    def __init__(self, grammar: DomainGrammar, attrs: dict[str, str]) -> None:
        self.grammar = grammar
        self.attrs = attrs
        # [tag, attrs, text parts or None, nested, inner texts, inner tags read]
        self.children: list[list[Any]] = []
        self.offsets: list[int] = []  # where each child's start tag begins (caller's offsets)
        self.depth = 1
        self._stray: list[str] = []
        self._text: list[str] | None = None  # the current child's text parts, when read
        self._inner: dict[str, str] | None = None
        self._inner_tag: str | None = None
        self._inner_text: list[str] = []

    def start(self, tag: str, attrs: dict[str, str], offset: int = -1) -> None:
        depth = self.depth
        if depth == 1:
            grammar = self.grammar
            self._text = [] if grammar.collects_text(tag) else None
            self.children.append([tag, attrs, self._text, False, {}, grammar.inner_tags(tag)])
            self.offsets.append(offset)
        elif depth == 2:
            child = self.children[-1]
            child[3] = True
            if tag in child[5] and tag not in child[4]:
                self._inner = child[4]
                self._inner_tag = tag
                self._inner_text = []
        self.depth = depth + 1

    def in_any_content(self) -> bool:
        """Whether the next element starts inside a child where any element may stand."""
        return self.depth > 1 and self.grammar.any_content(self.children[-1][0])

    def where(self, domain_path: str) -> str:
        """The path of the domain's child the next element starts in (the domain itself at its top)."""
        return f"{domain_path}/{self.children[-1][0]}" if self.depth > 1 else domain_path

    def text(self, data: str) -> None:
        depth = self.depth
        if depth == 2:
            if self._text is not None:
                self._text.append(data)
        elif depth == 3:
            if self._inner_tag is not None:
                self._inner_text.append(data)
        elif depth == 1 and (self._stray or data.strip(" \t\r\n")):  # pieces depend on chunking
            self._stray.append(data)

    def end(self) -> bool:
        """An element ends; True when it was the domain itself."""
        self.depth -= 1
        if self.depth == 2 and self._inner_tag is not None:
            self._inner[self._inner_tag] = "".join(self._inner_text)  # type: ignore[index]
            self._inner_tag = None
        return self.depth == 0

    def top(self) -> DomainTop:
        stray = "".join(self._stray).strip(" \t\r\n") or None  # XML whitespace only: U+00A0 is text
        children = tuple(
            DomainChild(tag, attrs, "" if text is None else "".join(text), nested, inner)
            for tag, attrs, text, nested, inner, _ in self.children
        )
        return DomainTop(self.attrs, children, stray)


def scan_domain_text(xml: str, grammar: DomainGrammar, limits: Limits) -> DomainTop:
    """The top of a standalone domain, under the same limits and security policy as a nested one.
    Raises :class:`~..errors.NotWellFormedError` (or ``SecurityError``) and ``LimitError``."""
    return scan_domain(xml.encode("utf-8"), grammar, limits).top()


def scan_domain(data: bytes, grammar: DomainGrammar, limits: Limits, base: int = 0) -> DomainScanner:
    """The scanner fed from a domain's bytes, its children's offsets ``base`` plus their byte
    offset in ``data`` (the general reader gives a nested domain's own offset, so that they are
    document offsets). Raises as :func:`scan_domain_text`."""
    parser = new_expat_parser()
    state: list[Any] = [None, 0, 0]  # scanner, depth (the domain is 2, as below a checkpoint), text run

    def start(tag: str, attrs: dict[str, str]) -> None:
        depth = state[1] = state[1] + 1
        state[2] = 0
        problem = start_tag_problem(tag, attrs, depth + 1, limits)
        if problem is not None:
            raise LimitError(problem[0])
        if state[0] is None:
            if tag != grammar.tag:
                raise NotWellFormedError(f"expected a <{grammar.tag}> element, not <{tag}>")
            state[0] = DomainScanner(grammar, attrs)
        else:
            state[0].start(tag, attrs, base + parser.CurrentByteIndex)

    def text(data: str) -> None:
        state[2] += len(data)
        if state[2] > limits.max_text:
            raise LimitError(text_message(limits))
        if state[0] is not None:
            state[0].text(data)

    def end(tag: str) -> None:
        state[1] -= 1
        state[2] = 0
        if state[1]:
            state[0].end()

    parser.StartElementHandler = start
    parser.CharacterDataHandler = text
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise NotWellFormedError(expat_message(exc)) from None
    except SECURITY_ERRORS as exc:
        raise SecurityError(security_message(exc)) from None
    scanner: DomainScanner = state[0]
    return scanner
