"""The handler state machine: parser events in, a validated checkpoint record out.

It knows nothing of bytes, files or expat. A driver feeds it ``start`` / ``text`` / ``end`` events
for the checkpoint level and one ``domain`` event for the nested domain (which the driver captures
whole), each with the byte offset in the document where it begins. Every structural rule comes
from the grammar's tables (:class:`~..grammar.checkpoint.CheckpointGrammar`), read through the
:class:`~..grammar.elements.ElementRule` checks the fast reader shares; the mode rules are applied
once, by :func:`.modes.build_checkpoint`. Errors carry a byte offset only: lines and columns are
worked out when the error is reported (:mod:`..positions`).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..errors import SchemaError, SemanticError
from ..grammar import Grammar
from ..grammar.domain import DomainTop
from ..grammar.elements import ElementRule
from ..grammar.values import is_whitespace
from ..records import Checkpoint, CheckpointDisk, Domain, Origin
from .modes import Options, build_checkpoint

__all__ = ["CheckpointMachine"]


class _Frame:
    __slots__ = ("rule", "key", "tag", "offset", "counts", "parts", "path")

    def __init__(self, rule: ElementRule, key: str, offset: int, path: str) -> None:
        self.rule = rule
        self.key = key
        self.tag = rule.tag
        self.offset = offset
        self.counts: dict[str, int] = {}
        self.parts: list[str] = []
        self.path = path


class CheckpointMachine:
    """One document's worth of state. Use a fresh machine per document."""

    __slots__ = ("grammar", "options", "stack", "fields", "disks", "done", "_root_rule", "_root_offset", "_namespaces", "_rules")

    def __init__(self, grammar: Grammar, options: Options) -> None:
        self.grammar = grammar
        self.options = options
        self.stack: list[_Frame] = []
        self.fields: dict[str, Any] = {}
        self.disks: list[CheckpointDisk] = []
        self.done = False
        self._rules = grammar.checkpoint.rules
        self._root_rule = grammar.checkpoint.root_rule(options.internal)
        self._root_offset: int | None = None
        self._namespaces: dict[str, str] = {}  # prefixes declared on the root (seen by the domain)

    @property
    def path(self) -> str:
        return self.stack[-1].path if self.stack else ""

    @property
    def depth(self) -> int:
        return len(self.stack)

    # -- events -------------------------------------------------------------------------------

    def start(self, tag: str, attrs: Mapping[str, str], offset: int) -> bool:
        """An element starts. Returns True for an opaque element (the nested domain): the caller
        then captures it whole and reports it with :meth:`domain`."""
        stack = self.stack
        if not stack:
            self._start_root(tag, attrs, offset)
            return False
        frame = stack[-1]
        rule = frame.rule
        key = rule.children.get(tag)
        path = f"{frame.path}/{tag}"
        if key is None:
            raise SchemaError(rule.unknown_child_problem(tag), offset=offset, path=path)
        count = frame.counts.get(tag, 0) + 1
        frame.counts[tag] = count
        if count > 1:
            problem = rule.count_problem(tag, count)
            if problem:
                raise SchemaError(problem, offset=offset, path=path)
            path = f"{path}[{count}]"
        child = self._rules[key]
        if child.opaque:
            return True  # judged by the domain grammar when the driver hands it over
        if attrs or child.required_attributes:
            problem = child.check_attributes(attrs)
            if problem:
                raise SchemaError(problem, offset=offset, path=path)
        stack.append(_Frame(child, key, offset, path))
        if child.fields:
            self.disks.append(CheckpointDisk(*child.record_values(attrs)))
        return False

    def text(self, data: str, offset: int) -> None:
        frame = self.stack[-1]
        if frame.rule.text is not None:
            frame.parts.append(data)
        elif not is_whitespace(data):
            # Point at the first character that is not whitespace. The driver gives where the
            # piece of text starts; expat reports a line break as a piece of its own, so the
            # leading whitespace of a piece holding more is spaces and tabs, a byte each.
            lead = len(data) - len(data.lstrip(" \t\r\n"))
            shown = data.strip(" \t\r\n")
            if len(shown) > 40:
                shown = shown[:37] + "..."
            raise SchemaError(
                f"text {shown!r} is not allowed directly in <{frame.tag}>",
                offset=offset + len(data[:lead].encode("utf-8")),
                path=frame.path,
            )

    def end(self, tag: str, offset: int) -> None:
        frame = self.stack.pop()
        rule = frame.rule
        if rule.text is not None:
            value = "".join(frame.parts)
            problem = rule.text.check(value)
            if problem:
                raise SchemaError(problem, offset=frame.offset, path=frame.path)
            if rule.field is not None:
                self.fields[rule.field] = value
        problem = rule.missing_problem(frame.counts)
        if problem:
            raise SchemaError(problem, offset=frame.offset, path=frame.path)
        if not self.stack:
            self.done = True

    def domain(self, domain: Domain, top: DomainTop, offset: int, child_offsets: Sequence[int] = ()) -> None:
        """The nested domain, captured whole by the driver, with what it saw at its top (and, when
        the driver knows them, where each child of the domain starts, for the error position)."""
        path = f"{self.path}/domain"
        grammar = self.grammar.domain
        problem = grammar.check(top, self._namespaces)
        if problem:
            index = problem[1]
            if 0 <= index < len(child_offsets):
                offset = child_offsets[index]
                path = f"{path}/{top.children[index].tag}"
            raise SchemaError(problem[0], offset=offset, path=path)
        if self.options.redefine:
            problem = grammar.check_redefine(top)
            if problem:
                raise SemanticError(problem[0], offset=offset, path=path)
        self.fields["domain"] = domain

    # -- helpers ------------------------------------------------------------------------------

    def _start_root(self, tag: str, attrs: Mapping[str, str], offset: int) -> None:
        root = self.grammar.checkpoint.root
        path = f"/{tag}"
        if tag != root:
            if tag.rpartition(":")[2] == root:
                raise SchemaError(f"<{root}> must not be in a namespace (found prefix {tag.partition(':')[0]!r})", offset=offset, path=path)
            raise SchemaError(f"expecting root element of '{root}', not '{tag}'", offset=offset, path=path)
        rule = self._root_rule
        problem = rule.check_attributes(attrs)
        if problem:
            raise SchemaError(problem, offset=offset, path=path)
        for name, value in attrs.items():
            if name.startswith("xmlns:"):
                self._namespaces[name[6:]] = value
        self._root_offset = offset
        self.stack.append(_Frame(rule, "root", offset, path))

    def finish(self, origin: Origin | None = None) -> Checkpoint:
        """Apply the mode's rules to a complete, schema-valid document."""
        f = self.fields
        created = f.get("creationTime")
        return build_checkpoint(
            f.get("name"),
            f.get("description"),
            f.get("parent"),
            None if created is None else int(created),
            f.get("domain"),
            f.get("active"),
            tuple(self.disks),
            self.options,
            origin,
            self._root_offset,
            self.grammar.checkpoint.root,
        )
