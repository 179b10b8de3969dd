"""The handler state machine: parser events in, a validated checkpoint or snapshot record out.

It knows nothing of bytes, files or expat. A driver feeds it ``start`` / ``text`` / ``end`` events
for the document level and one ``domain`` event for each opaque element (the nested domain, a
snapshot disk's source, a cookie: the driver captures it whole), each with the byte offset in the
document where it begins. The root tag picks the document grammar (:class:`~..grammar.
checkpoint.CheckpointGrammar`: checkpoint or snapshot) among those the caller accepts; every
structural rule comes from its tables, read through the :class:`~..grammar.elements.ElementRule`
checks the fast reader shares; the mode rules are applied once, by :func:`.modes.build_record`. Errors carry a byte offset only: lines and columns are
worked out when the error is reported (:mod:`..positions`).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..errors import SchemaError, SemanticError
from ..grammar import Grammar
from ..grammar.checkpoint import CheckpointGrammar
from ..grammar.domain import DomainTop
from ..grammar.elements import ElementRule
from ..grammar.values import is_whitespace
from ..grammar.snapshot import judge_source, uuid_only_problem
from ..records import CheckpointDisk, Domain, Origin, Record
from .modes import Options, build_record

__all__ = ["CheckpointMachine"]


class _Frame:
    __slots__ = ("rule", "key", "tag", "offset", "counts", "parts", "path", "attrs")

    def __init__(self, rule: ElementRule, key: str, offset: int, path: str, attrs: Mapping[str, str] = {}) -> None:
        self.rule = rule
        self.attrs = attrs
        self.key = key
        self.tag = rule.tag
        self.offset = offset
        self.counts: dict[str, int] = {}
        self.parts: list[str] = []
        self.path = path


class CheckpointMachine:
    """One document's worth of state. Use a fresh machine per document."""

    __slots__ = (
        "grammar", "options", "stack", "fields", "disks", "done", "document", "item", "pending",
        "_root_rule", "_root_offset", "_namespaces", "_rules",
    )

    def __init__(self, grammar: Grammar, options: Options) -> None:
        self.grammar = grammar
        self.options = options
        self.stack: list[_Frame] = []
        self.fields: dict[str, Any] = {}
        # The document's list items: records made at their start tag (a checkpoint disk), or the
        # field values of those made at their end (a snapshot disk: ``item`` while it is open).
        self.disks: list[Any] = []
        self.item: dict[str, Any] | None = None
        self.pending: tuple[ElementRule, str] | None = None  # the opaque element being captured
        self.done = False
        self.document: CheckpointGrammar = grammar.checkpoint  # until the root says otherwise
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
        if rule.exclusions:
            problem = rule.child_excluded(frame.attrs, tag)
            if problem:
                raise SchemaError(problem, offset=offset, path=path)
        child = self._rules[key]
        if child.opaque:
            self.pending = (child, path)
            return True  # judged (domain()) when the driver hands it over whole
        if attrs or child.required_attributes or child.requirements:
            problem = child.check_attributes(attrs)
            if problem:
                raise SchemaError(problem, offset=offset, path=path)
        stack.append(_Frame(child, key, offset, path, attrs))
        if child.fields:
            if child.item_at_end:
                self.item = {f.field: f.value(attrs) for f in child.fields}
            elif tag in rule.repeatable:  # a list item made at once (a checkpoint disk)
                self.disks.append(CheckpointDisk(*child.record_values(attrs)))
            else:  # attributes of an element inside the document or an item (memory, driver)
                target = self.item if self.item is not None else self.fields
                for f in child.fields:
                    if f.attribute in attrs:
                        target[f.field] = f.value(attrs)
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
                (self.item if self.item is not None else self.fields)[rule.field] = value
        problem = rule.missing_problem(frame.counts)
        if problem:
            raise SchemaError(problem, offset=frame.offset, path=frame.path)
        if rule.item_at_end:
            self.disks.append(self.item)
            self.item = None
        if not self.stack:
            self.done = True

    def domain(self, domain: Domain, top: DomainTop, offset: int, child_offsets: Sequence[int] = ()) -> None:
        """The opaque element :meth:`start` announced (the nested domain, mostly), captured whole
        by the driver, with what it saw at its top (and, when the driver knows them, where each
        of its children starts, for the error position). Judged as its rule's ``judge`` says."""
        if self.pending is None:  # a driver that reports the nested domain without a start event
            rule, path = self._rules["domain"], f"{self.path}/domain"
        else:
            (rule, path), self.pending = self.pending, None
        judge = rule.judge
        value: Any = domain
        if judge == "source":
            kind = (self.item or {}).get("type") or "file"
            problem = judge_source(top, kind, rule)
            value = domain.xml
        elif judge == "any":
            problem = None
            value = domain.xml
        elif judge == "domain-or-uuid" and uuid_only_problem(top) is None:
            problem = None
        else:
            grammar = self.grammar.domain
            problem = grammar.check(top, self._namespaces)
            if not problem and self.options.redefine:
                found = grammar.check_redefine(top)
                if found:
                    raise SemanticError(found[0], offset=offset, path=path)
        if problem:
            index = problem[1]
            if 0 <= index < len(child_offsets):
                offset = child_offsets[index]
                path = f"{path}/{top.children[index].tag}"
            raise SchemaError(problem[0], offset=offset, path=path)
        field = rule.field or "domain"
        (self.item if self.item is not None else self.fields)[field] = value

    # -- helpers ------------------------------------------------------------------------------

    def _start_root(self, tag: str, attrs: Mapping[str, str], offset: int) -> None:
        grammar = self.grammar
        path = f"/{tag}"
        document = grammar.document(tag)
        if document is None:
            roots = grammar.roots
            local = tag.rpartition(":")[2]
            if local in roots:
                raise SchemaError(f"<{local}> must not be in a namespace (found prefix {tag.partition(':')[0]!r})", offset=offset, path=path)
            expected = " or ".join(f"'{r}'" for r in roots)
            message = f"expecting root element of {expected}, not '{tag}'"
            if local in ("domaincheckpoint", "domainsnapshot"):
                message += " (choose the kinds of document to accept: kinds='any', or --kind any)"
            raise SchemaError(message, offset=offset, path=path)
        if document is not grammar.checkpoint:
            self.document = document
            self._rules = document.rules
            self._root_rule = document.root_rule(self.options.internal)
        rule = self._root_rule
        problem = rule.check_attributes(attrs)
        if problem:
            raise SchemaError(problem, offset=offset, path=path)
        for name, value in attrs.items():
            if name.startswith("xmlns:"):
                self._namespaces[name[6:]] = value
        self._root_offset = offset
        self.stack.append(_Frame(rule, "root", offset, path))

    def finish(self, origin: Origin | None = None) -> Record:
        """Apply the mode's rules to a complete, schema-valid document."""
        return build_record(self.document.root, self.fields, self.disks, self.options, origin, self._root_offset)
