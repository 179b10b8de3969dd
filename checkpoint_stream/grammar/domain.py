"""The nested ``<domain>`` at its top: libvirt's domain grammar and parser rules there, as data.

libvirt validates a checkpoint's nested domain against its full ``domain.rng`` and, on REDEFINE,
parses it with its domain parser. This library keeps the domain as text and judges what can be
seen at its top: the ``<domain>`` start tag, its direct children (tag, attributes, text, whether
they hold elements) and the few grandchildren the rules read (``<os><type>``, ``<os><init>``).
Readers collect exactly that into a :class:`DomainTop` (what to collect is read from the tables
below: :meth:`DomainGrammar.collects_text`, :meth:`DomainGrammar.inner_tags`) and hand it to
:meth:`DomainGrammar.check` and :meth:`DomainGrammar.check_redefine`.

Matched against libvirt 9.0 with its test driver; see the README for what lies deeper and is not
checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, NamedTuple, Sequence

from .values import LLONG_MAX, UINT_MAX, ULONG_MAX, ValueRule

__all__ = [
    "DOMAIN_TYPES",
    "OS_TYPES",
    "UUID",
    "ChildRule",
    "DomainChild",
    "DomainTop",
    "DomainGrammar",
    "DOMAIN",
    "memory_scale",
]

#: ``hvs`` in domaincommon.rng: the values of ``<domain type=...>``.
DOMAIN_TYPES = tuple(sorted("qemu kqemu kvm xen lxc uml openvz test vmware hyperv vbox phyp vz bhyve hvf".split()))
#: ``<os><type>`` values of the schema (oshvm, osexe, osxen).
OS_TYPES = ("exe", "hvm", "linux", "xen", "xenpvh")

UUID = re.compile(r"[a-fA-F0-9]{32}|[a-fA-F0-9]{8}-(?:[a-fA-F0-9]{4}-){3}[a-fA-F0-9]{12}")
_ONE_LINE = re.compile(r"[^\n]+")  # objectNameWithSlash (domain <name> and <title>)
#: What RELAX NG lets stand between elements (and inside an element declared empty): whitespace.
_BLANK = re.compile(r"[ \t\r\n]*")
#: libvirt's VIR_DOMAIN_MEMORY_MAX: memory is kept in KiB and must stay below LLONG_MAX bytes.
_MEMORY_MAX_KIB = -(-LLONG_MAX // 1024) - 1  # 9007199254740991


class DomainChild(NamedTuple):
    """A direct child of ``<domain>`` as a reader saw it: ``text`` is its direct text when the
    grammar reads it (else ""), ``nested`` whether it holds elements, ``inner`` the direct text of
    the first of each grandchild the grammar reads (a key present = that grandchild exists)."""

    tag: str
    attrs: Mapping[str, str]
    text: str
    nested: bool = False
    inner: Mapping[str, str] = {}


@dataclass(frozen=True, slots=True)
class DomainTop:
    """What a reader collects at the domain's top: the start tag's attributes, the children in
    order, and any non-whitespace text directly inside (``None``: none)."""

    attrs: Mapping[str, str]
    children: Sequence[DomainChild]
    stray_text: str | None = None


@dataclass(frozen=True, slots=True)
class ChildRule:
    """One child libvirt's domain grammar allows at the top.

    ``max``: how often it may occur (``None``: any number). ``text``: its direct text is read and
    must pass this rule. ``text_only``: no element may stand inside it. ``attributes``: the only
    attributes it may carry, with their rules (``None``: not checked here). ``inner``: the
    grandchildren read (tag -> rule of their text; ``None``: only whether it is there), and
    ``required_inner`` those that must be there (reported with their rule's message).
    ``any_content``: elements of any name may stand anywhere inside it (libvirt's ``anyName``, as
    in ``<metadata>``), so a document root's start tag found there is content; anywhere else in
    the domain it can only mean that the document was cut short before it (readers resume there).
    ``required_attributes``: attributes it must carry. ``needs_elements``: it must hold at least
    one element (a ``oneOrMore`` inside, as in ``<perf>``). ``forms``: the schema's alternative
    shapes (a ``<choice>`` of attribute groups, as in ``<clock>``): the child must fit one of them,
    ``attributes`` then being those every form allows.
    """

    max: int | None = 1
    text: ValueRule | None = None
    text_only: bool = False
    attributes: Mapping[str, ValueRule] | None = None
    inner: Mapping[str, ValueRule | None] = field(default_factory=dict)
    required_inner: tuple[str, ...] = ()
    any_content: bool = False
    required_attributes: tuple[str, ...] = ()
    needs_elements: bool = False
    forms: tuple["Form", ...] = ()


@dataclass(frozen=True, slots=True)
class Form:
    """One alternative shape of a child (a group of a RELAX NG ``<choice>``): the attributes it
    allows beside the child's common ones, those it requires, what its content must be
    (``"empty"``: no element inside; ``"elements"``: at least one; ``None``: either), and the
    grandchildren whose text it needs (as ``<os firmware>`` needs an ``hvm`` ``<type>``)."""

    attributes: Mapping[str, ValueRule]
    required: tuple[str, ...] = ()
    content: str | None = None
    inner: Mapping[str, ValueRule] = field(default_factory=dict)


# -- libvirt's domain parser (REDEFINE only): ordered checks, each saying what it reads ----------


@dataclass(frozen=True, slots=True)
class AttributeCheck:
    attribute: str
    rule: ValueRule

    reads: tuple[str, ...] = ()

    def __call__(self, top: DomainTop) -> str | None:
        value = top.attrs.get(self.attribute)
        return None if value is None else self.rule.check(value)


@dataclass(frozen=True, slots=True)
class ChildTextCheck:
    """A child's text judged by a value rule (its only reader: texts that pass alike read alike)."""

    child: str
    rule: ValueRule

    reads: tuple[str, ...] = ()

    def __call__(self, top: DomainTop) -> str | None:
        for c in top.children:
            if c.tag == self.child:
                return self.rule.check(c.text)
        return None


@dataclass(frozen=True, slots=True)
class ChildAttributeCheck:
    """An attribute of every child ``child`` (in no namespace) judged by a value rule, as libvirt's
    parser reads it: exactly, where the schema compared tokens (``' on'`` passes the schema)."""

    child: str
    attribute: str
    rule: ValueRule

    reads: tuple[str, ...] = ()

    def __call__(self, top: DomainTop) -> str | None:
        for c in top.children:
            if c.tag == self.child and not c.attrs.get("xmlns"):
                value = c.attrs.get(self.attribute)
                if value is not None:
                    problem = self.rule.check(value)
                    if problem:
                        return problem
        return None


@dataclass(frozen=True, slots=True)
class InnerCheck:
    """A grandchild's text: required (``missing`` is said when there is none) and judged by ``rule``."""

    child: str
    inner: str
    missing: str
    rule: ValueRule

    reads: tuple[str, ...] = ()

    def __call__(self, top: DomainTop) -> str | None:
        for c in top.children:
            if c.tag == self.child and self.inner in c.inner:
                return self.rule.check(c.inner[self.inner])
        return self.missing


@dataclass(frozen=True, slots=True)
class FunctionCheck:
    """A rule that reads several things at once; ``reads`` names the children whose text it reads
    (their texts are then never taken as interchangeable by the fast reader's memory)."""

    function: Callable[[DomainTop], str | None]
    reads: tuple[str, ...] = ()

    def __call__(self, top: DomainTop) -> str | None:
        return self.function(top)


Check = Any  # AttributeCheck | ChildTextCheck | InnerCheck | FunctionCheck


def _passes(rule: ValueRule) -> Callable[[str], Any]:
    """A test that returns None exactly when ``rule`` refuses the text."""
    if rule.pattern is not None and not rule.choices and not rule.token and rule.maximum is None:
        return rule.pattern.fullmatch
    return lambda text: True if rule.check(text) is None else None


def memory_scale(unit: str | None) -> int:
    """Bytes per unit of a ``scaledInteger`` (libvirt's virScaleInteger); the default is KiB."""
    if not unit:
        return 1024
    u = unit.lower()
    if u[0] == "b":
        return 1
    base = 1024 if len(u) == 1 or u[1:] == "ib" else 1000
    return int(base ** ("kmgtpe".index(u[0]) + 1))


def _exe_needs_init(top: DomainTop) -> str | None:
    for c in top.children:
        if c.tag == "os" and c.inner.get("type") == "exe" and "init" not in c.inner:
            return "init binary must be specified: an <os> of type 'exe' needs <init>"
    return None


def _memory_size(top: DomainTop) -> str | None:
    memory = next((c for c in top.children if c.tag == "memory"), None)
    if memory is None:
        return "Memory size must be specified via <memory> or in the <numa> configuration"
    unit = memory.attrs.get("unit")
    scale = memory_scale(unit)
    value = int(memory.text)  # the schema's rule made it digits, at most ULONG_MAX
    if value > LLONG_MAX // scale:
        return f"memory value too large: {memory.text}{unit or ''} (libvirt's limit is {_MEMORY_MAX_KIB} KiB)"
    kib = -(-value * scale // 1024)
    if kib > _MEMORY_MAX_KIB:
        return f"memory size value too large: {memory.text}{unit or ''} is more than {_MEMORY_MAX_KIB} KiB"
    if kib == 0:
        return "Memory size must be specified via <memory> or in the <numa> configuration"
    return None


def _child(top: DomainTop, tag: str) -> DomainChild | None:
    """The first child ``tag`` in no namespace (the one libvirt's parser reads)."""
    for c in top.children:
        if c.tag == tag and not c.attrs.get("xmlns"):
            return c
    return None


def _kib(child: DomainChild) -> int | None:
    """A scaled memory value in KiB as libvirt's virDomainParseMemory keeps it (rounded up), or
    None when it exceeds LLONG_MAX bytes (its "value too large"). The schema made it digits."""
    value = int(child.text)
    scale = memory_scale(child.attrs.get("unit"))
    if value > LLONG_MAX // scale:
        return None
    return -(-value * scale // 1024)


def _too_large(tag: str) -> Callable[[DomainTop], str | None]:
    def check(top: DomainTop) -> str | None:
        child = _child(top, tag)
        if child is not None and _kib(child) is None:
            return f"value too large: {child.text}{child.attrs.get('unit', '')}"
        return None

    return check


def _max_memory(top: DomainTop) -> str | None:
    """virDomainDefParseMemory: a maximum needs slots and a size, and is no less than the memory."""
    child = _child(top, "maxMemory")
    if child is None:
        return None
    kib = _kib(child)
    if kib is None:
        return f"value too large: {child.text}{child.attrs.get('unit', '')}"
    if kib == 0 or int(child.attrs.get("slots", "0")) == 0:
        return "both maximum memory size and memory slot count must be specified"
    memory = _child(top, "memory")
    if memory is not None:
        total = _kib(memory)
        if total is not None and kib < total:
            return "maximum memory size must be equal or greater than the actual memory size"
    return None


def _vcpu_current(top: DomainTop) -> str | None:
    child = _child(top, "vcpu")
    if child is not None and "current" in child.attrs and int(child.attrs["current"]) > int(child.text):
        return "maximum vCPU count must not be less than current vCPU count"
    return None


def _iothreads(top: DomainTop) -> str | None:
    # virDomainIOThreadIDDefArrayInit sizes a bitmap of iothreads + 1 bits: UINT_MAX wraps to 0.
    child = _child(top, "iothreads")
    if child is not None and int(child.text) == UINT_MAX:
        return "failed to populate iothreadids"
    return None


def _clock_timezone(top: DomainTop) -> str | None:
    child = _child(top, "clock")
    if child is not None and child.attrs.get("offset") == "timezone" and "timezone" not in child.attrs:
        return "missing 'timezone' attribute for clock with offset='timezone'"
    return None


def _resource(top: DomainTop) -> str | None:
    # virDomainResourceDefParse returns nothing without <partition> or <fibrechannel>, and
    # reports nothing either: libvirt's generic message.
    child = _child(top, "resource")
    if child is not None and not child.nested:
        return "An error occurred, but the cause is unknown"
    return None


def _uuid_required(top: DomainTop) -> str | None:
    # Not the domain parser's but the driver's (virDomainCheckpointRedefinePrep): without <uuid>
    # the parser makes a random one, which never equals the uuid of the domain redefined on.
    if _child(top, "uuid") is None:
        return (
            "definition for checkpoint must use uuid of its domain: this <domain> has no <uuid> "
            "(libvirt makes a random one, which never matches)"
        )
    return None


def _prop(tag: str, attribute: str, choices: Sequence[str]) -> ChildAttributeCheck:
    """libvirt's virXMLPropEnum and friends: an exact value, with their message."""
    return ChildAttributeCheck(
        tag,
        attribute,
        ValueRule(attribute, choices=tuple(choices), message=f"Invalid value for attribute '{attribute}' in element '{tag}': '{{value}}'."),
    )


#: (message, index of the child it concerns or -1 for the domain itself)
Problem = tuple[str, int]
_NO_TAGS: frozenset[str] = frozenset()


@dataclass(frozen=True)
class DomainGrammar:
    """The domain's top: the tables every reader collects for and judges by."""

    tag: str
    attributes: Mapping[str, ValueRule]
    required_attribute: str
    missing_attribute: str
    children: Mapping[str, ChildRule]
    required_children: tuple[str, ...]
    #: Namespaces whose elements libvirt's domain grammar allows at the top (driver extensions),
    #: with the elements each contributes and their rules (each is judged as a child is).
    extensions: Mapping[str, Mapping[str, ChildRule]]
    #: libvirt's domain parser (REDEFINE), in the order it reports.
    redefine: tuple[Check, ...]
    # Derived from the tables above when the grammar is made (see __post_init__).
    _collected: frozenset[str] = field(init=False, repr=False, compare=False)
    _inner: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)
    _text_readers: dict[str, tuple[ValueRule, ...]] = field(init=False, repr=False, compare=False)
    _text_tests: dict[str, tuple[Callable[[str], Any], ...]] = field(init=False, repr=False, compare=False)
    _plain_readers: dict[str, tuple[ValueRule, ...]] = field(init=False, repr=False, compare=False)
    _plain_tests: dict[str, tuple[Callable[[str], Any], ...]] = field(init=False, repr=False, compare=False)
    _plain: dict[str, int | None] = field(init=False, repr=False, compare=False)
    _any_content: frozenset[str] = field(init=False, repr=False, compare=False)
    _ext_text: frozenset[str] = field(init=False, repr=False, compare=False)
    _blank: frozenset[str] = field(init=False, repr=False, compare=False)

    # -- what readers collect -------------------------------------------------------------------

    def __post_init__(self) -> None:
        # Derived once from the tables (readers ask for each child of every domain).
        collected = {
            tag for tag, rule in self.children.items() if rule.text is not None
        } | {c.child for c in self.redefine if isinstance(c, ChildTextCheck)}
        # Extension elements are named by their local name (any prefix, or a default namespace).
        ext_text = frozenset(local for rules in self.extensions.values() for local, rule in rules.items() if rule.text is not None)
        inner = {tag: frozenset(rule.inner) for tag, rule in self.children.items() if rule.inner}
        readers: dict[str, tuple[ValueRule, ...]] = {}
        for tag, rule in self.children.items():
            if rule.text is None or any(tag in c.reads for c in self.redefine):
                continue
            readers[tag] = (rule.text, *(c.rule for c in self.redefine if isinstance(c, ChildTextCheck) and c.child == tag))
        object.__setattr__(self, "_collected", frozenset(collected & set(self.children)) | ext_text)
        object.__setattr__(self, "_ext_text", ext_text)
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_text_readers", readers)
        # The same judgements as fast as they come: a rule that is a pattern alone is that
        # pattern's fullmatch (None when it fails), any other rule is asked in full.
        object.__setattr__(self, "_text_tests", {tag: tuple(_passes(rule) for rule in rules) for tag, rules in readers.items() if rules})
        # Outside REDEFINE libvirt's domain parser does not run: a child's own value rule is then
        # all that reads its text (memory sizes, vCPU counts included).
        plain = {tag: (rule.text,) for tag, rule in self.children.items() if rule.text is not None}
        object.__setattr__(self, "_plain_readers", plain)
        object.__setattr__(self, "_plain_tests", {tag: (_passes(rules[0]),) for tag, rules in plain.items()})
        # Children judged only by how often they occur: tag -> their maximum.
        object.__setattr__(
            self,
            "_plain",
            {
                tag: rule.max
                for tag, rule in self.children.items()
                if rule.text is None
                and not rule.text_only
                and rule.attributes is None
                and not rule.inner
                and not rule.required_inner
                and not rule.required_attributes
                and not rule.needs_elements
                and not rule.forms
            },
        )
        object.__setattr__(self, "_any_content", frozenset(tag for tag, rule in self.children.items() if rule.any_content))
        object.__setattr__(
            self,
            "_blank",
            frozenset(
                tag
                for tag, rules in readers.items()
                if all(r.pattern is _BLANK and not r.choices and r.maximum is None for r in rules)
            ),
        )

    def any_content(self, tag: str) -> bool:
        """Whether any element may stand inside the child ``tag`` (see :attr:`ChildRule.any_content`)."""
        return tag in self._any_content

    def collects_text(self, tag: str) -> bool:
        """Whether a child's direct text is read (so a reader must collect it). An extension
        element's tag may carry any prefix: its local name decides."""
        return tag in self._collected or (":" in tag and tag.rpartition(":")[2] in self._ext_text)

    def blank_text(self, tag: str) -> bool:
        """Whether a child's text is read only to be XML whitespace (the rule of an element that
        holds elements only): any whitespace then reads alike, so a reader that knows the text
        is whitespace need not collect it."""
        return tag in self._blank

    def inner_tags(self, tag: str) -> frozenset[str]:
        """The grandchildren of a child ``tag`` that are read."""
        return self._inner.get(tag, _NO_TAGS)

    def all_inner_tags(self) -> frozenset[str]:
        out: set[str] = set()
        for tags in self._inner.values():
            out.update(tags)
        return frozenset(out)

    def text_readers(self, tag: str, redefine: bool = True) -> tuple[ValueRule, ...] | None:
        """The value rules that alone read a child's text, in :meth:`text_class` order (None:
        its text is not classed). ``redefine=False``: in the other modes, where libvirt's domain
        parser (:meth:`check_redefine`) does not run."""
        return (self._text_readers if redefine else self._plain_readers).get(tag)

    def text_class(self, tag: str, text: str, redefine: bool = True) -> tuple[bool, ...] | None:
        """What every rule reading a child's text makes of ``text``, when value rules are its only
        readers: two texts of the same class give every verdict alike (the fast reader's memory
        keys domains by it, so that another VM's name or uuid is not a new domain). ``None`` when a
        rule reads the text together with other things, or nothing reads it. ``redefine=False``:
        in the other modes, where only the child's own rule reads it (so another VM's memory size
        is no new domain either)."""
        tests = (self._text_tests if redefine else self._plain_tests).get(tag)
        if tests is None:
            return None
        if len(tests) == 1:
            return (tests[0](text) is not None,)
        return tuple([test(text) is not None for test in tests])

    # -- judging --------------------------------------------------------------------------------

    def check(self, top: DomainTop, namespaces: Mapping[str, str] | None = None) -> Problem | None:
        """The first rule of the schema the domain's top breaks: ``(message, child index or -1)``.

        These rules apply in every mode, since libvirt validates the nested domain even when it
        then ignores it; :meth:`check_redefine` adds its parser's."""
        return self._check(top, namespaces, None, None)

    def _check(
        self, top: DomainTop, namespaces: Mapping[str, str] | None, keys: Sequence[Any] | None, verdicts: dict[Any, bool] | None
    ) -> Problem | None:
        """:meth:`check`; with ``keys`` and ``verdicts`` (see :meth:`judge`) a child's own rule
        (:meth:`_check_rule`) is asked once per key, and a refusal it remembered is worded
        ``_REMEMBERED``."""
        attrs = top.attrs
        ns = dict(namespaces or {})
        for name, value in attrs.items():
            if name.startswith("xmlns:"):
                ns[name[6:]] = value
        for name, value in attrs.items():
            rule = self.attributes.get(name)
            if rule is not None:
                problem = rule.check_remembered(value)
                if problem:
                    return (problem, -1)
            elif name == "xmlns":
                if value:
                    return (f"<{self.tag}> must be in no namespace: remove xmlns={value!r}", -1)
            elif not name.startswith("xmlns:"):
                return (f"attribute {name!r} is not allowed on <{self.tag}>", -1)
        if self.required_attribute not in attrs:
            return (self.missing_attribute, -1)
        if top.stray_text is not None:
            return (f"text {top.stray_text!r} is not allowed directly in <{self.tag}>", -1)
        seen: dict[str, int] = {}
        plain = self._plain
        for i, child in enumerate(top.children):
            tag = child.tag
            if tag in plain and "xmlns" not in child.attrs:  # nothing but how often it occurs
                count = seen[tag] = seen.get(tag, 0) + 1
                limit = plain[tag]
                if count > 1 and limit is not None and count > limit:
                    return (f"element <{tag}> appears more than once in <{self.tag}>", i)
                continue
            problem = self._check_child(child, ns, seen, keys[i] if keys is not None else None, verdicts)
            if problem:
                return (problem, i)
        for tag in self.required_children:
            if tag not in seen:
                return (f"<{self.tag}> needs a <{tag}> element", -1)
        return None

    def _check_child(self, child: DomainChild, ns: Mapping[str, str], seen: dict[str, int], key: Any = None, verdicts: dict[Any, bool] | None = None) -> str | None:
        tag, cattrs = child.tag, child.attrs
        prefix, colon, local = tag.rpartition(":")
        default_ns = cattrs.get("xmlns")
        if colon or default_ns:
            uri = cattrs.get(f"xmlns:{prefix}", ns.get(prefix)) if colon else default_ns
            allowed = self.extensions.get(uri) if uri is not None else None
            if allowed is None:
                if not colon:
                    return f"element <{tag}> in <{self.tag}> must be in no namespace: remove xmlns={default_ns!r}"
                if uri is None:
                    return f"element <{tag}> is not allowed in <{self.tag}>: its prefix {prefix!r} is not declared"
                return f"element <{tag}> is not allowed in <{self.tag}> (namespace {uri!r} is not one of libvirt's domain extensions)"
            rule = allowed.get(local)
            if rule is None:
                return f"element <{tag}> is not allowed in <{self.tag}>: that namespace has only <{'>, <'.join(sorted(allowed))}>"
            counted = f"{{{uri}}}{local}"  # one element, however its namespace is declared
        else:
            rule = self.children.get(tag)
            if rule is None:
                return f"element <{tag}> is not allowed in <{self.tag}>"
            counted = tag
        count = seen[counted] = seen.get(counted, 0) + 1
        if rule.max is not None and count > rule.max:
            return f"element <{tag}> appears more than once in <{self.tag}>"
        if verdicts is None or key is None or colon or default_ns:  # a namespaced child: not remembered
            return self._check_rule(tag, rule, child)
        ok = verdicts.get(key)
        if ok is None:
            ok = self._check_rule(tag, rule, child) is None
            if len(verdicts) >= _VERDICTS_MAX:
                verdicts.clear()
            verdicts[key] = ok
        return None if ok else _REMEMBERED

    def _check_rule(self, tag: str, rule: ChildRule, child: DomainChild) -> str | None:
        """What a child's own rule says of it: content, attributes, text, grandchildren."""
        cattrs = child.attrs
        if rule.text_only and child.nested:
            return f"<{tag}> in <{self.tag}> holds text only: remove the elements inside it"
        if rule.needs_elements and not child.nested:
            return f"<{tag}> in <{self.tag}> must hold at least one element"
        if rule.attributes is not None:
            common = rule.attributes
            extra: dict[str, str] = {}
            for aname, avalue in cattrs.items():
                arule = common.get(aname)
                if arule is None:
                    if aname.startswith("xmlns:") or aname == "xmlns":
                        continue
                    if rule.forms:
                        extra[aname] = avalue
                        continue
                    return f"attribute {aname!r} is not allowed on <{tag}> in <{self.tag}>"
                problem = arule.check_remembered(avalue)
                if problem:
                    return problem
            for aname in rule.required_attributes:
                if aname not in cattrs:
                    return f"<{tag}> in <{self.tag}> needs a {aname} attribute"
            if rule.forms:
                problem = self._check_forms(tag, rule.forms, extra, child)
                if problem:
                    return problem
        if rule.text is not None:
            problem = rule.text.check_remembered(child.text)
            if problem:
                return problem
        for inner in rule.required_inner:
            irule = rule.inner.get(inner)
            if inner not in child.inner:
                return irule.problem(None) if irule is not None else f"<{tag}> needs an <{inner}> element"
        for inner, irule in rule.inner.items():
            if irule is not None and inner in child.inner:
                problem = irule.check_remembered(child.inner[inner])
                if problem:
                    return problem
        return None

    def _check_forms(self, tag: str, forms: Sequence[Form], attrs: Mapping[str, str], child: DomainChild) -> str | None:
        """The first form the child fits, else what is wrong with it in the form its attributes
        come closest to (the first whose required attributes it carries with good values)."""
        best: str | None = None
        for form in forms:
            problem = None
            for aname, avalue in attrs.items():
                arule = form.attributes.get(aname)
                if arule is None:
                    problem = f"attribute {aname!r} is not allowed on <{tag}> in <{self.tag}> here"
                    break
                problem = arule.check_remembered(avalue)
                if problem:
                    break
            key_ok = all(r in attrs and form.attributes[r].check_remembered(attrs[r]) is None for r in form.required)
            if problem is None:
                missing = [r for r in form.required if r not in attrs]
                if missing:
                    problem = f"<{tag}> in <{self.tag}> needs a {missing[0]} attribute"
                elif form.content == "empty" and child.nested:
                    problem = f"<{tag}> in <{self.tag}> must be empty in this form"
                elif form.content == "elements" and not child.nested:
                    problem = f"<{tag}> in <{self.tag}> must hold an element in this form"
                else:
                    for inner, irule in form.inner.items():
                        if inner in child.inner and irule.check_remembered(child.inner[inner]):
                            problem = f"<{tag}> in <{self.tag}>: {irule.problem(child.inner[inner])}"
                            break
            if problem is None:
                return None
            if best is None and key_ok and form.required:
                best = problem
        if best is not None:
            return best
        shown = " ".join(f"{k}={v!r}" for k, v in attrs.items())
        return f"<{tag}{' ' + shown if shown else ''}> in <{self.tag}> fits none of the forms libvirt allows"

    def check_redefine(self, top: DomainTop) -> Problem | None:
        """What libvirt's domain parser (it runs on REDEFINE only) refuses among what can be seen
        at the domain's top, in its order; messages are libvirt's own."""
        for check in self.redefine:
            problem = check(top)
            if problem:
                return (problem, -1)
        return None

    def judge(
        self, top: DomainTop, namespaces: Mapping[str, str] | None, redefine: bool, keys: Sequence[Any] | None = None, verdicts: dict[Any, bool] | None = None
    ) -> bool:
        """Whether the domain's top passes (the verdict alone, for the fast reader).

        ``keys`` (one per child, hashable; None: not remembered) and ``verdicts`` (a dict the
        caller keeps, at most 4,096 entries here): a reader that names each child by what its own
        rule reads of it (its tag, attributes as written, nesting, its text or the text's
        :meth:`text_class`, the inner texts read) has that rule asked once per name; children
        recur from VM to VM far more than whole tops do."""
        return self._check(top, namespaces, keys, verdicts) is None and not (redefine and self.check_redefine(top) is not None)

    def with_child(self, tag: str, rule: ChildRule | None) -> "DomainGrammar":
        """A copy with one child's rule replaced (``None``: the child no longer allowed)."""
        children = dict(self.children)
        if rule is None:
            children.pop(tag, None)
        else:
            children[tag] = rule
        return replace(self, children=children)


_NONE: Mapping[str, ValueRule] = {}
#: What :meth:`DomainGrammar.judge` makes of a child refusal it remembered (it says only whether).
_REMEMBERED = "refused (remembered)"
_VERDICTS_MAX = 4096
_DIGITS = re.compile(r"[0-9]+")


def _blank(tag: str) -> ValueRule:
    return ValueRule(f"text in <{tag}>", _BLANK, message=f"text {{stripped!r}} is not allowed directly in <{tag}>")


def _choice(tag: str, attribute: str | None, choices: Sequence[str]) -> ValueRule:
    """A schema choice of values (tokens: RELAX NG collapses the value's whitespace first)."""
    where = f"<{tag} {attribute}={{value!r}}>" if attribute else f"<{tag}>{{value}}</{tag}>"
    return ValueRule(f"{tag} {attribute or 'value'}", choices=tuple(choices), token=True, message=f"{where} must be one of {{choices}}")


def _typed(tag: str, attribute: str | None, what: str, pattern: "re.Pattern[str]", maximum: int | None = None) -> ValueRule:
    """A schema datatype (compared as written: no whitespace around it)."""
    where = f"<{tag} {attribute}={{value!r}}>" if attribute else f"<{tag}>{{value!r}}</{tag}>"
    return ValueRule(f"{tag} {attribute or 'value'}", pattern, maximum=maximum, message=f"{where} is invalid: {what}")


def _unsigned(tag: str, attribute: str | None = None) -> ValueRule:
    return _typed(tag, attribute, "write an unsigned 32-bit integer in decimal digits", _DIGITS, UINT_MAX)


def _ulong(tag: str, attribute: str | None = None) -> ValueRule:
    return _typed(tag, attribute, "write an unsigned 64-bit integer in decimal digits", _DIGITS, ULONG_MAX)


#: basictypes.rng ``unit``: the unit of a scaled integer.
_UNIT_PATTERN = re.compile(r"[bB](?:[yY][tT][eE][sS]?)?|[kKmMgGtTpPeE](?:[iI]?[bB])?")


def _unit(tag: str) -> ValueRule:
    return ValueRule(
        f"{tag} unit", _UNIT_PATTERN, message=f"<{tag} unit={{value!r}}> is not a unit libvirt knows (use b, KiB, MiB, GiB, KB, MB...)"
    )


def _scaled(tag: str, **attributes: ValueRule) -> ChildRule:
    """basictypes.rng ``scaledInteger``: an unsignedLong with an optional unit."""
    return ChildRule(text=_ulong(tag), text_only=True, attributes={"unit": _unit(tag), **attributes})


def _container(tag: str, **attributes: ValueRule) -> ChildRule:
    """A child holding elements only (its content lies deeper and is not judged here)."""
    return ChildRule(text=_blank(tag), attributes=dict(attributes))


#: countCPU: an unsignedShort of at least 1.
_COUNT_CPU = re.compile(r"0*[1-9][0-9]*")
_CPUSET = re.compile(r"(?:[0-9]+(?:-[0-9]+)?|\^[0-9]+)(?:,(?:[0-9]+(?:-[0-9]+)?|\^[0-9]+))*")
_TIME_DELTA = re.compile(r"[-+]?[0-9]+")
_LIFECYCLE = {
    "on_poweroff": ("destroy", "restart", "preserve", "rename-restart"),
    "on_reboot": ("destroy", "restart", "preserve", "rename-restart"),
    "on_crash": ("destroy", "restart", "preserve", "rename-restart", "coredump-destroy", "coredump-restart"),
    "on_lockfailure": ("poweroff", "restart", "pause", "ignore"),
}
_YES_NO = ("yes", "no")
_ON_OFF = ("on", "off")
_INT_MAX = 2147483647


def _lifecycle(tag: str) -> ChildRule:
    return ChildRule(text=_choice(tag, None, _LIFECYCLE[tag]), text_only=True, attributes=_NONE)


def _extension(text: ValueRule | None = None, text_only: bool = False, **attributes: ValueRule) -> ChildRule:
    return ChildRule(text=text, text_only=text_only, attributes=dict(attributes))


DOMAIN = DomainGrammar(
    tag="domain",
    attributes={
        "type": ValueRule(
            "hypervisor type",
            choices=DOMAIN_TYPES,
            token=True,
            message="<domain type={value!r}> is not a hypervisor type libvirt knows (one of {choices})",
        ),
        "id": ValueRule(
            "domain id", re.compile(r"[0-9]+"), maximum=UINT_MAX, message="<domain id={value!r}> must be an unsigned 32-bit integer"
        ),
    },
    required_attribute="type",
    missing_attribute=(
        "<domain> needs a type attribute such as type='kvm' (a bare <domain><uuid>...</uuid></domain> "
        "is the old snapshot style, not valid in a checkpoint)"
    ),
    children={
        "name": ChildRule(
            text=ValueRule("domain name", _ONE_LINE, message="domain name {value!r} is invalid: it must be non-empty and on one line"),
            text_only=True,
            attributes=_NONE,
        ),
        "uuid": ChildRule(
            text=ValueRule("domain uuid", UUID, message="domain uuid {value!r} is invalid: use 32 hex digits, optionally as 8-4-4-4-12"),
            text_only=True,
            attributes=_NONE,
        ),
        "genid": ChildRule(
            text=ValueRule(
                "domain genid",
                re.compile(r"[ \t\r\n]*|" + UUID.pattern),
                message="domain genid {value!r} is invalid: leave it empty or use a uuid",
            ),
            text_only=True,
            attributes=_NONE,
        ),
        "title": ChildRule(
            text=ValueRule("domain title", _ONE_LINE, message="domain title {value!r} is invalid: it must be non-empty and on one line"),
            text_only=True,
            attributes=_NONE,
        ),
        "description": ChildRule(text_only=True, attributes=_NONE),
        "metadata": ChildRule(
            text=ValueRule(
                "metadata text",
                _BLANK,
                message="text {stripped!r} is not allowed directly in <metadata>: wrap it in an element of your own namespace",
            ),
            attributes=_NONE,
            any_content=True,  # libvirt 9.0 accepts even a <domaincheckpoint> in no namespace there (oracle)
        ),
        "memory": ChildRule(
            text=ValueRule(
                "domain memory", _DIGITS, maximum=ULONG_MAX, message="domain memory {value!r} is invalid: write decimal digits only"
            ),
            text_only=True,
            attributes={
                "unit": ValueRule(
                    "memory unit",
                    _UNIT_PATTERN,
                    message="<memory unit={value!r}> is not a unit libvirt knows (use b, KiB, MiB, GiB, KB, MB...)",
                ),
                "dumpCore": ValueRule("dumpCore", choices=_ON_OFF, token=True, message="<memory dumpCore={value!r}> must be 'on' or 'off'"),
            },
        ),
        "maxMemory": ChildRule(
            text=_ulong("maxMemory"),
            text_only=True,
            attributes={"unit": _unit("maxMemory"), "slots": _unsigned("maxMemory", "slots")},
            required_attributes=("slots",),
        ),
        "currentMemory": _scaled("currentMemory"),
        "memoryBacking": _container("memoryBacking"),
        "memtune": _container("memtune"),
        "blkiotune": _container("blkiotune"),
        "cputune": _container("cputune"),
        "numatune": _container("numatune"),
        "vcpu": ChildRule(
            text=_typed("vcpu", None, "write a count of 1 to 65535 in decimal digits", _COUNT_CPU, 65535),
            text_only=True,
            attributes={
                "placement": _choice("vcpu", "placement", ("static", "auto")),
                "cpuset": _typed("vcpu", "cpuset", "write a CPU list such as 0-3,^2", _CPUSET),
                "current": _typed("vcpu", "current", "write a count of 1 to 65535 in decimal digits", _COUNT_CPU, 65535),
            },
        ),
        "vcpus": _container("vcpus"),
        "iothreads": ChildRule(text=_unsigned("iothreads"), text_only=True, attributes=_NONE),
        "iothreadids": _container("iothreadids"),
        "defaultiothread": ChildRule(
            text=_blank("defaultiothread"),
            text_only=True,
            attributes={"thread_pool_min": _unsigned("defaultiothread", "thread_pool_min"), "thread_pool_max": _unsigned("defaultiothread", "thread_pool_max")},
        ),
        "resource": _container("resource"),
        "sysinfo": ChildRule(
            max=None,
            text=_blank("sysinfo"),
            attributes=_NONE,
            forms=(
                Form({"type": _choice("sysinfo", "type", ("smbios",))}, required=("type",)),
                Form({"type": _choice("sysinfo", "type", ("fwcfg",))}, required=("type",)),
            ),
        ),
        "os": ChildRule(
            text=_blank("os"),
            attributes=_NONE,
            inner={
                "type": ValueRule(
                    "OS type", choices=OS_TYPES, token=True, message="<os> needs a <type> of {choices}, not {value!r}"
                ),
                "init": None,
            },
            required_inner=("type",),
            forms=(
                Form(
                    {"firmware": _choice("os", "firmware", ("bios", "efi"))},
                    required=("firmware",),
                    inner={"type": ValueRule("OS type", choices=("hvm",), token=True, message="firmware= needs an <os> of <type> hvm, not {value!r}")},
                ),
                Form({}),
            ),
        ),
        "bootloader": ChildRule(text_only=True, attributes=_NONE),
        "bootloader_args": ChildRule(text_only=True, attributes=_NONE),
        "idmap": _container("idmap"),
        "features": _container("features"),
        "clock": ChildRule(
            text=_blank("clock"),
            attributes=_NONE,
            forms=(
                Form(
                    {
                        "offset": _choice("clock", "offset", ("localtime", "utc")),
                        "adjustment": _typed(
                            "clock", "adjustment", "write a number of seconds or reset", re.compile(r"[-+]?[0-9]+|[ \t\r\n]*reset[ \t\r\n]*")
                        ),
                    },
                    required=("offset",),
                ),
                Form(
                    {
                        "offset": _choice("clock", "offset", ("timezone",)),
                        "timezone": _typed("clock", "timezone", "write a time zone name such as Europe/Paris", re.compile(r"[a-zA-Z0-9_.+\-/]+")),
                    },
                    required=("offset",),
                ),
                Form(
                    {
                        "offset": _choice("clock", "offset", ("variable",)),
                        "adjustment": _typed("clock", "adjustment", "write a number of seconds", _TIME_DELTA),
                        "basis": _choice("clock", "basis", ("utc", "localtime")),
                    },
                    required=("offset",),
                ),
                Form(
                    {"offset": _choice("clock", "offset", ("absolute",)), "start": _ulong("clock", "start")},
                    required=("offset", "start"),
                ),
            ),
        ),
        **{tag: _lifecycle(tag) for tag in _LIFECYCLE},
        "pm": _container("pm"),
        "perf": ChildRule(text=_blank("perf"), attributes=_NONE, needs_elements=True),
        "devices": _container("devices"),
        "seclabel": ChildRule(
            max=None,
            text=_blank("seclabel"),
            attributes={"model": ValueRule("seclabel model")},
            forms=(
                Form({"type": _choice("seclabel", "type", ("dynamic",)), "relabel": _choice("seclabel", "relabel", ("yes",))}),
                Form(
                    {"type": _choice("seclabel", "type", ("static",)), "relabel": _choice("seclabel", "relabel", _YES_NO)},
                    required=("type",),
                    content="elements",  # its <label>
                ),
                Form(
                    {"type": _choice("seclabel", "type", ("none",)), "relabel": _choice("seclabel", "relabel", ("no",))},
                    required=("type",),
                    content="empty",
                ),
            ),
        ),
        "keywrap": ChildRule(text=_blank("keywrap"), attributes=_NONE, needs_elements=True),
        "launchSecurity": ChildRule(
            text=_blank("launchSecurity"),
            attributes=_NONE,
            forms=(
                Form(
                    {"type": _choice("launchSecurity", "type", ("sev",)), "kernelHashes": _choice("launchSecurity", "kernelHashes", _YES_NO)},
                    required=("type",),
                    content="elements",  # its <policy>
                ),
                Form({"type": _choice("launchSecurity", "type", ("s390-pv",))}, required=("type",), content="empty"),
            ),
        ),
        "cpu": _container(
            "cpu",
            mode=_choice("cpu", "mode", ("custom", "host-model", "host-passthrough", "maximum")),
            match=_choice("cpu", "match", ("minimum", "exact", "strict")),
            check=_choice("cpu", "check", ("none", "partial", "full")),
            migratable=_choice("cpu", "migratable", _ON_OFF),
        ),
    },
    required_children=("name",),
    extensions={
        "http://libvirt.org/schemas/domain/qemu/1.0": {
            "commandline": _extension(_blank("commandline")),
            "capabilities": _extension(_blank("capabilities")),
            "deprecation": ChildRule(
                text=_blank("deprecation"),
                text_only=True,
                attributes={"behavior": _choice("deprecation", "behavior", ("none", "omit", "reject", "crash"))},
                required_attributes=("behavior",),
            ),
            "override": _extension(_blank("override")),
        },
        "http://libvirt.org/schemas/domain/lxc/1.0": {"namespace": _extension(_blank("namespace"))},
        "http://libvirt.org/schemas/domain/bhyve/1.0": {"commandline": _extension(_blank("commandline"))},
        "http://libvirt.org/schemas/domain/xen/1.0": {"commandline": _extension(_blank("commandline"))},
        "http://libvirt.org/schemas/domain/vmware/1.0": {"datacenterpath": _extension(text_only=True)},
    },
    redefine=(
        AttributeCheck("type", ValueRule("domain type", choices=DOMAIN_TYPES, message="invalid domain type {value}")),
        ChildTextCheck("name", ValueRule("domain name", re.compile(r"[^/]*"), message="name {value} cannot contain '/'")),
        # virUUIDParse: hex digits (whitespace around them skipped); empty text asks for a new one.
        ChildTextCheck("genid", ValueRule("domain genid", re.compile(r"|[ \t\r\n]*(?:" + UUID.pattern + r")[ \t\r\n]*"), message="malformed genid element")),
        _prop("memory", "dumpCore", _ON_OFF),
        FunctionCheck(_too_large("currentMemory"), reads=("currentMemory",)),
        FunctionCheck(_max_memory, reads=("maxMemory", "memory")),
        _prop("vcpu", "placement", ("static", "auto")),
        FunctionCheck(_vcpu_current, reads=("vcpu",)),
        FunctionCheck(_iothreads, reads=("iothreads",)),
        *(
            ChildAttributeCheck(
                "defaultiothread",
                name,
                ValueRule(
                    name,
                    _DIGITS,
                    maximum=_INT_MAX,
                    message=f"Invalid value for attribute '{name}' in element 'defaultiothread': '{{value}}'. Expected integer value",
                ),
            )
            for name in ("thread_pool_min", "thread_pool_max")
        ),
        FunctionCheck(_resource),
        *(ChildTextCheck(tag, ValueRule(tag, choices=values, message=f"unknown {tag} action: {{value}}")) for tag, values in _LIFECYCLE.items()),
        ChildAttributeCheck("clock", "offset", ValueRule("clock offset", choices=("localtime", "utc", "timezone", "variable", "absolute"), message="unknown clock offset '{value}'")),
        FunctionCheck(_clock_timezone),
        ChildAttributeCheck("clock", "adjustment", ValueRule("clock adjustment", re.compile(r"reset|[-+]?[0-9]+"), message="unknown clock adjustment '{value}'")),
        ChildAttributeCheck("clock", "basis", ValueRule("clock basis", choices=("utc", "localtime"), message="unknown clock basis '{value}'")),
        ChildAttributeCheck("os", "firmware", ValueRule("firmware", choices=("bios", "efi"), message="unknown firmware value {value}")),
        InnerCheck("os", "type", "an os <type> must be specified", ValueRule("OS type", choices=OS_TYPES, message="unknown OS type {value!r}")),
        FunctionCheck(_exe_needs_init, reads=()),
        ChildAttributeCheck("cpu", "mode", ValueRule("cpu mode", choices=("custom", "host-model", "host-passthrough", "maximum"), message="Invalid mode attribute '{value}'")),
        _prop("cpu", "match", ("minimum", "exact", "strict")),
        _prop("cpu", "check", ("none", "partial", "full")),
        _prop("cpu", "migratable", _ON_OFF),
        _prop("sysinfo", "type", ("smbios", "fwcfg")),
        _prop("seclabel", "type", ("dynamic", "static", "none")),
        _prop("seclabel", "relabel", _YES_NO),
        _prop("launchSecurity", "type", ("sev", "s390-pv")),
        _prop("launchSecurity", "kernelHashes", _YES_NO),
        FunctionCheck(_memory_size, reads=("memory",)),
        FunctionCheck(_uuid_required),
    ),
)
