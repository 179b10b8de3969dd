"""The handler state machine: parser events in, validated checkpoint records out.

It knows nothing of bytes, files or expat. A driver feeds it ``start`` / ``text`` / ``end``
events for the checkpoint level and one ``domain`` event for the nested domain, which the driver
captures whole (as a byte span) so that the bulk of a document costs no Python call per element.
Every structural rule comes from :data:`.schema.GRAMMAR`; the rules of the modes (libvirt's
REDEFINE and plain create, and this library's default "document" mode) are applied once, in
:func:`build_checkpoint`, which the fast scanner shares.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from .domain import DomainTop, check_domain_redefine, check_domain_top
from .errors import CheckpointError, SchemaError, SemanticError
from .records import Checkpoint, CheckpointDisk, Domain, Origin, make_checkpoint
from .schema import GRAMMAR, LLONG_MAX, ROOT, ElementRule, is_whitespace

__all__ = ["Options", "CheckpointMachine", "build_checkpoint", "Position"]

#: (line, column, byte offset in the document): line and column 1-based.
Position = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Options:
    """How to read documents. ``redefine`` and ``create`` are libvirt's two parse modes; neither
    is this library's default "document" mode, which reports what each document says."""

    redefine: bool = False
    create: bool = False
    internal: bool = False
    require_domain: bool = True
    clock: Callable[[], float] | None = None

    def __post_init__(self) -> None:
        if self.redefine and self.create:
            raise ValueError("'redefine' and 'create' exclude each other (libvirt parses a document either way, not both)")

    @property
    def root_rule(self) -> ElementRule:
        return GRAMMAR["root+internal" if self.internal else "root"]


# Which field of the record a leaf element fills: data, read by _Frame.end.
_FIELD_OF_LEAF: Mapping[str, str] = {
    "name": "name",
    "description": "description",
    "creationTime": "creationTime",
    "parent/name": "parent",
    "active": "active",
}


class _Frame:
    __slots__ = ("rule", "key", "tag", "pos", "counts", "parts", "path")

    def __init__(self, rule: ElementRule, key: str, pos: Position, path: str) -> None:
        self.rule = rule
        self.key = key
        self.tag = rule.tag
        self.pos = pos
        self.counts: dict[str, int] = {}
        self.parts: list[str] = []
        self.path = path


def _error(cls: type[CheckpointError], message: str, pos: Position | None, path: str | None) -> CheckpointError:
    if pos is None:
        return cls(message, path=path)
    return cls(message, line=pos[0], column=pos[1], offset=pos[2], path=path)


class CheckpointMachine:
    """One document's worth of state. Use a fresh machine per document."""

    __slots__ = ("options", "stack", "fields", "disks", "done", "_root_rule", "_root_pos", "_namespaces")

    def __init__(self, options: Options) -> None:
        self.options = options
        self.stack: list[_Frame] = []
        self.fields: dict[str, Any] = {}
        self.disks: list[CheckpointDisk] = []
        self.done = False
        self._root_rule = options.root_rule
        self._root_pos: Position | None = None
        self._namespaces: dict[str, str] = {}  # prefixes declared on the root (seen by the domain)

    @property
    def path(self) -> str:
        return self.stack[-1].path if self.stack else ""

    @property
    def depth(self) -> int:
        return len(self.stack)

    # -- events -------------------------------------------------------------------------------

    def start(self, tag: str, attrs: Mapping[str, str], pos: Position) -> bool:
        """An element starts. Returns True for an opaque element (the nested domain): the caller
        then captures it whole and reports it with :meth:`domain`."""
        stack = self.stack
        if not stack:
            self._start_root(tag, attrs, pos)
            return False
        frame = stack[-1]
        rule = frame.rule
        key = rule.children.get(tag)
        path = f"{frame.path}/{tag}"
        if key is None:
            if rule.text is not None:
                msg = f"<{frame.tag}> holds text only: element <{tag}> is not allowed in it"
            else:
                msg = f"element <{tag}> is not allowed in <{frame.tag}>"
                hint = GRAMMAR["root"].hints.get(tag) if frame.key == "root" else None
                if hint:
                    msg += f" ({hint})"
            raise _error(SchemaError, msg, pos, path)
        count = frame.counts.get(tag, 0) + 1
        frame.counts[tag] = count
        if count > 1:
            if tag not in rule.repeatable:
                raise _error(SchemaError, f"element <{tag}> appears more than once in <{frame.tag}>", pos, path)
            path = f"{path}[{count}]"
        child = GRAMMAR[key]
        if child.opaque:
            return True  # the domain checks its own attributes (domain.check_domain_top)
        if attrs or child.required_attributes:
            self._check_attributes(child, attrs, pos, path)
        stack.append(_Frame(child, key, pos, path))
        if key == "disk":
            self._add_disk(attrs)
        return False

    def text(self, data: str, pos: Position) -> None:
        frame = self.stack[-1]
        if frame.rule.text is not None:
            frame.parts.append(data)
        elif not is_whitespace(data):
            # Point at the first character that is not whitespace (the driver gives where the
            # piece of text starts; pieces never hold markup, so counting characters is exact
            # up to line-end normalisation).
            lead = len(data) - len(data.lstrip(" \t\r\n"))
            if lead:
                skipped = data[:lead]
                breaks = skipped.count("\n")
                column = lead - skipped.rfind("\n") if breaks else pos[1] + lead
                pos = (pos[0] + breaks, column, pos[2] + len(skipped.encode("utf-8")))
            shown = data.strip(" \t\r\n")
            if len(shown) > 40:
                shown = shown[:37] + "..."
            raise _error(SchemaError, f"text {shown!r} is not allowed directly in <{frame.tag}>", pos, frame.path)

    def end(self, tag: str, pos: Position) -> None:
        frame = self.stack.pop()
        rule = frame.rule
        if rule.text is not None:
            value = "".join(frame.parts)
            problem = rule.text.check(value)
            if problem:
                raise _error(SchemaError, problem, frame.pos, frame.path)
            self.fields[_FIELD_OF_LEAF[frame.key]] = value
        for child, minimum in rule.min_children.items():
            if frame.counts.get(child, 0) < minimum:
                what = "exactly one" if rule.max_children.get(child, 0) == 1 or child not in rule.repeatable else "at least one"
                raise _error(SchemaError, f"<{frame.tag}> must hold {what} <{child}>", frame.pos, frame.path)
        if not self.stack:
            self.done = True

    def domain(
        self, domain: Domain, top: DomainTop, pos: Position, child_positions: Sequence[Position] = ()
    ) -> None:
        """The nested domain, captured whole by the driver, with what it saw at its top (and, when
        the driver knows them, where each child of the domain starts, for the error position)."""
        path = f"{self.path}/domain"
        problem = check_domain_top(top, self._namespaces)
        if problem:
            index = problem[1]
            if 0 <= index < len(child_positions):
                pos = child_positions[index]
                path = f"{path}/{top.children[index][0]}"
            raise _error(SchemaError, problem[0], pos, path)
        if self.options.redefine:
            problem = check_domain_redefine(top)
            if problem:
                raise _error(SemanticError, problem[0], pos, path)
        self.fields["domain"] = domain

    # -- helpers ------------------------------------------------------------------------------

    def _start_root(self, tag: str, attrs: Mapping[str, str], pos: Position) -> None:
        path = f"/{tag}"
        if tag != ROOT:
            local = tag.rpartition(":")[2]
            if local == ROOT:
                raise _error(SchemaError, f"<{ROOT}> must not be in a namespace (found prefix {tag.partition(':')[0]!r})", pos, path)
            raise _error(SchemaError, f"expecting root element of '{ROOT}', not '{tag}'", pos, path)
        rule = self._root_rule
        for name in attrs:
            if name == "xmlns":
                if attrs[name]:
                    raise _error(SchemaError, f"<{ROOT}> must be in no namespace: remove xmlns={attrs[name]!r}", pos, path)
                continue
            if name.startswith("xmlns:"):
                self._namespaces[name[6:]] = attrs[name]
                continue  # a namespace declaration is not an attribute for RELAX NG
            raise _error(SchemaError, f"attribute {name!r} is not allowed on <{ROOT}>", pos, path)
        self._root_pos = pos
        self.stack.append(_Frame(rule, "root", pos, path))

    def _check_attributes(self, rule: ElementRule, attrs: Mapping[str, str], pos: Position, path: str) -> None:
        allowed = rule.attributes
        for name, value in attrs.items():
            vrule = allowed.get(name)
            if vrule is None:
                if name.startswith("xmlns:") or (name == "xmlns" and not value):
                    continue
                if name == "xmlns":
                    raise _error(SchemaError, f"<{rule.tag}> must be in no namespace: remove xmlns={value!r}", pos, path)
                raise _error(SchemaError, f"attribute {name!r} is not allowed on <{rule.tag}>", pos, path)
            problem = vrule.check(value)
            if problem:
                raise _error(SchemaError, f"<{rule.tag}>: {problem}", pos, path)
        for name in rule.required_attributes:
            if name not in attrs:
                raise _error(SchemaError, f"<{rule.tag}> needs a {name!r} attribute", pos, path)
        for attr, value, forbidden in rule.exclusions:
            if attrs.get(attr) == value:
                for other in forbidden:
                    if other in attrs:
                        label = f"disk {attrs['name']!r}" if "name" in attrs else f"<{rule.tag}>"
                        raise _error(
                            SchemaError,
                            f"{label}: attribute {other!r} is not allowed with {attr}={value!r}",
                            pos,
                            path,
                        )

    def _add_disk(self, attrs: Mapping[str, str]) -> None:
        size = attrs.get("size")
        self.disks.append(
            CheckpointDisk(attrs["name"], attrs.get("checkpoint", "bitmap"), attrs.get("bitmap"), None if size is None else int(size))
        )

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
            self._root_pos,
        )


def build_checkpoint(
    name: str | None,
    description: str | None,
    parent: str | None,
    created: int | None,
    domain: Domain | None,
    active: str | None,
    disks: tuple[CheckpointDisk, ...],
    options: Options,
    origin: Origin | None = None,
    pos: Position | None = None,
) -> Checkpoint:
    """Turn the values of a schema-valid document into a record, by the rules of ``options``.

    Shared by the state machine and the fast scanner: the one place where modes are decided.
    ``created`` is the creationTime already read as an integer (the schema bounds it by ULONG).
    """
    description = description or None  # libvirt: empty text means absent
    if not (options.internal or options.redefine or options.create):  # the default: as written
        return make_checkpoint(name, description, parent, created, domain, origin, disks, None)
    if options.internal:
        if active is None:
            raise _error(
                SemanticError,
                "the internal format needs an <active>0</active> or <active>1</active> element",
                pos,
                _ROOT_PATH,
            )
        active_flag: bool | None = active == "1"
    else:
        active_flag = None
    if options.redefine:
        if name is None:
            raise _error(SemanticError, "a redefined checkpoint must have a name: add <name>", pos, _ROOT_PATH)
        if created is None or created > LLONG_MAX:
            detail = (
                "add <creationTime>"
                if created is None
                else f"{created} does not fit libvirt's signed 64-bit creationTime (max {LLONG_MAX})"
            )
            raise _error(SemanticError, f"missing creationTime from existing checkpoint: {detail}", pos, _ROOT_PATH)
        if parent is not None and parent == name:
            raise _error(SemanticError, f"cannot set moment {name} as its own parent", pos, _ROOT_PATH)
        if domain is None and options.require_domain:
            raise _error(
                SemanticError,
                "a redefined checkpoint must carry its <domain> (libvirt >= 7.0 relaxed this: "
                "pass require_domain=False, or --no-require-domain, to accept it)",
                pos,
                _ROOT_PATH,
            )
        return make_checkpoint(name, description, parent, created, domain, origin, _without_sizes(disks), active_flag)
    if options.create:
        clock = options.clock or time.time
        now = int(clock())
        return make_checkpoint(
            name if name is not None else str(now), description, None, now, None, origin, _without_sizes(disks), active_flag
        )
    return make_checkpoint(name, description, parent, created, domain, origin, disks, active_flag)


_ROOT_PATH = f"/{ROOT}"


def _without_sizes(disks: tuple[CheckpointDisk, ...]) -> tuple[CheckpointDisk, ...]:
    """libvirt's REDEFINE and create parses never read a disk's size."""
    if any(d.size is not None for d in disks):
        return tuple(CheckpointDisk(d.name, d.checkpoint, d.bitmap) for d in disks)
    return disks
