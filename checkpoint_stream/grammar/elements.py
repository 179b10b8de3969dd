"""Element rules: what an element may hold and carry, and the checks every reader shares.

An :class:`ElementRule` is one element of a grammar: its children (each at most once unless
repeatable, some required), its attributes (in libvirt's order: the order the writer prints
them in and the fast reader expects), the exclusions between attributes, the datatype of its text
when it is a leaf, and which record field it fills. The checks are methods, so the state machine,
the fast reader and ``from_dict`` judge an element by the very same code.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from .values import ValueRule

__all__ = ["ElementRule", "Exclusion", "FieldMap", "Printing", "Requirement", "namespace_problem"]


@dataclass(frozen=True, slots=True)
class Exclusion:
    """libvirt's ``<choice>`` between attribute groups: when ``attribute`` is ``value``, none of
    ``forbidden`` may be present (``checkpoint='no'`` excludes ``bitmap`` and ``size``)."""

    attribute: str
    value: str
    forbidden: tuple[str, ...]
    #: Child elements that may not appear then either (a snapshot disk with ``snapshot='no'`` is
    #: empty; a network disk has no ``<driver>``).
    forbidden_children: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Requirement:
    """An attribute required unless another attribute has one of some values (libvirt's
    snapshot ``<memory>``: ``file`` is required unless ``snapshot`` is ``no`` or ``internal``)."""

    needs: str
    unless: str
    values: tuple[str, ...]

    def problem(self, tag: str, attrs: Mapping[str, str]) -> str | None:
        if self.needs in attrs or attrs.get(self.unless) in self.values:
            return None
        allowed = " or ".join(repr(v) for v in self.values)
        return f"<{tag}> needs a {self.needs!r} attribute unless {self.unless} is {allowed}"


@dataclass(frozen=True, slots=True)
class Printing:
    """When libvirt's formatter prints an element or an attribute (spec A.8): ``when`` the value is
    "present" (not None) or "nonempty" (neither None, empty nor 0); only with the writer's
    ``flag`` on; only when attribute ``requires`` is printed too; never for a value in ``omit``."""

    when: str = "present"
    flag: str | None = None
    requires: str | None = None
    omit: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FieldMap:
    """How one attribute becomes a record field: its name in the record, the value when the
    attribute is absent, and a conversion of the text (``int`` for numbers)."""

    attribute: str
    field: str
    default: Any = None
    convert: Callable[[str], Any] | None = None

    def value(self, attrs: Mapping[str, str]) -> Any:
        raw = attrs.get(self.attribute)
        if raw is None:
            return self.default
        return raw if self.convert is None else self.convert(raw)


def namespace_problem(tag: str, name: str, value: str) -> str | None:
    """Namespace declarations are not attributes for RELAX NG; a default namespace other than
    none puts the element outside libvirt's grammar. ``None``: the attribute is a declaration
    that is fine here; ``""``: it is no declaration at all."""
    if name.startswith("xmlns:"):
        return None
    if name == "xmlns":
        return None if not value else f"<{tag}> must be in no namespace: remove xmlns={value!r}"
    return ""


@dataclass(frozen=True, slots=True)
class ElementRule:
    """One element of a grammar.

    ``children`` maps a child tag to the key of its rule in the grammar; a child may occur at most
    once (libvirt's ``<interleave>`` of optionals) unless listed in ``repeatable``, and at least
    ``min_children[tag]`` times. ``text`` is the datatype of a leaf's text, or ``None`` for
    element-only content (only whitespace between the children). An ``opaque`` element (the
    nested domain) is not walked: its reader captures it whole and judges it by the domain
    grammar. ``field`` is the record field a leaf fills; ``fields`` map attributes to the fields
    of the record an element with attributes becomes (a disk).
    """

    tag: str
    children: Mapping[str, str] = dataclasses.field(default_factory=dict)
    repeatable: frozenset[str] = frozenset()
    min_children: Mapping[str, int] = dataclasses.field(default_factory=dict)
    attributes: Mapping[str, ValueRule] = dataclasses.field(default_factory=dict)
    required_attributes: tuple[str, ...] = ()
    exclusions: tuple[Exclusion, ...] = ()
    requirements: tuple[Requirement, ...] = ()
    text: ValueRule | None = None
    opaque: bool = False
    #: How the reader judges an opaque element it captured whole: "domain" (the domain grammar's
    #: top), "domain-or-uuid" (that, or a snapshot's old-style ``<domain><uuid>``),
    #: "inactiveDomain" (a domain under another name), "source" (a disk source's top, by
    #: ``source_rules``) or "any" (any well-formed content).
    judge: str = "domain"
    #: For a "source" judge: the disk ``type`` -> (allowed attributes, allowed children).
    source_rules: Mapping[str, tuple[Mapping[str, ValueRule], frozenset[str], tuple[str, ...]]] = dataclasses.field(default_factory=dict)
    #: The rule builds its record item at its end (it has children that fill the item's fields),
    #: not at its start.
    item_at_end: bool = False
    field: str | None = None
    #: How a leaf's text is typed in a record and in JSON: "text", "integer" or "flag" (0/1).
    kind: str = "text"
    fields: tuple[FieldMap, ...] = ()
    #: Shown after "element <x> is not allowed" for tags users are known to try.
    hints: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: When the writer prints this element, and (by name) those of its attributes that are not
    #: simply printed when present.
    printing: Printing = Printing()
    attribute_printing: Mapping[str, Printing] = dataclasses.field(default_factory=dict)

    @property
    def is_leaf(self) -> bool:
        return self.text is not None

    def check_attributes(self, attrs: Mapping[str, str], present: tuple[str, ...] = ()) -> str | None:
        """What is wrong with ``attrs`` on this element, or ``None``: unknown attributes, values,
        required attributes, exclusions, in that order (as the state machine meets them).

        ``present`` names attributes the caller has checked itself and left out of ``attrs`` (the
        fast reader judges a disk's name apart from its other attributes)."""
        allowed = self.attributes
        tag = self.tag
        for name, value in attrs.items():
            rule = allowed.get(name)
            if rule is None:
                ns = namespace_problem(tag, name, value)
                if ns is None:
                    continue
                return ns or f"attribute {name!r} is not allowed on <{tag}>"
            problem = rule.check(value)
            if problem:
                return f"<{tag}>: {problem}"
        for name in self.required_attributes:
            if name not in attrs and name not in present:
                return f"<{tag}> needs a {name!r} attribute"
        for req in self.requirements:
            problem = req.problem(tag, attrs)
            if problem:
                return problem
        for ex in self.exclusions:
            if attrs.get(ex.attribute) == ex.value:
                for other in ex.forbidden:
                    if other in attrs:
                        label = f"{tag} {attrs['name']!r}" if "name" in attrs else f"<{tag}>"
                        return f"{label}: attribute {other!r} is not allowed with {ex.attribute}={ex.value!r}"
        return None

    def child_excluded(self, attrs: Mapping[str, str], child: str) -> str | None:
        """Whether ``child`` may not appear in this element given its attributes ``attrs``."""
        for ex in self.exclusions:
            if child in ex.forbidden_children and attrs.get(ex.attribute) == ex.value:
                label = f"{self.tag} {attrs['name']!r}" if "name" in attrs else f"<{self.tag}>"
                return f"{label}: element <{child}> is not allowed with {ex.attribute}={ex.value!r}"
        return None

    def record_values(self, attrs: Mapping[str, str]) -> tuple[Any, ...]:
        """The record fields of an element with attributes (checked), in ``fields`` order."""
        return tuple(f.value(attrs) for f in self.fields)

    def count_problem(self, child: str, count: int) -> str | None:
        """``count`` occurrences of ``child`` so far: too many?"""
        if count > 1 and child not in self.repeatable:
            return f"element <{child}> appears more than once in <{self.tag}>"
        return None

    def missing_problem(self, counts: Mapping[str, int]) -> str | None:
        """At the element's end: a required child missing?"""
        for child, minimum in self.min_children.items():
            if counts.get(child, 0) < minimum:
                if child not in self.repeatable:
                    what = "exactly one"
                else:
                    what = "at least one" if minimum == 1 else f"at least {minimum}"
                return f"<{self.tag}> must hold {what} <{child}>"
        return None

    def unknown_child_problem(self, child: str, hint: str | None = None) -> str:
        if self.text is not None:
            return f"<{self.tag}> holds text only: element <{child}> is not allowed in it"
        msg = f"element <{child}> is not allowed in <{self.tag}>"
        hint = hint or self.hints.get(child)
        return f"{msg} ({hint})" if hint else msg
