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
    """

    max: int | None = 1
    text: ValueRule | None = None
    text_only: bool = False
    attributes: Mapping[str, ValueRule] | None = None
    inner: Mapping[str, ValueRule | None] = field(default_factory=dict)
    required_inner: tuple[str, ...] = ()
    any_content: bool = False


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
    #: with the elements each contributes.
    extensions: Mapping[str, frozenset[str]]
    #: libvirt's domain parser (REDEFINE), in the order it reports.
    redefine: tuple[Check, ...]
    # Derived from the tables above when the grammar is made (see __post_init__).
    _collected: frozenset[str] = field(init=False, repr=False, compare=False)
    _inner: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)
    _text_readers: dict[str, tuple[ValueRule, ...]] = field(init=False, repr=False, compare=False)
    _text_tests: dict[str, tuple[Callable[[str], Any], ...]] = field(init=False, repr=False, compare=False)
    _plain: dict[str, int | None] = field(init=False, repr=False, compare=False)
    _any_content: frozenset[str] = field(init=False, repr=False, compare=False)

    # -- what readers collect -------------------------------------------------------------------

    def __post_init__(self) -> None:
        # Derived once from the tables (readers ask for each child of every domain).
        collected = {
            tag for tag, rule in self.children.items() if rule.text is not None
        } | {c.child for c in self.redefine if isinstance(c, ChildTextCheck)}
        inner = {tag: frozenset(rule.inner) for tag, rule in self.children.items() if rule.inner}
        readers: dict[str, tuple[ValueRule, ...]] = {}
        for tag, rule in self.children.items():
            if rule.text is None or any(tag in c.reads for c in self.redefine):
                continue
            readers[tag] = (rule.text, *(c.rule for c in self.redefine if isinstance(c, ChildTextCheck) and c.child == tag))
        object.__setattr__(self, "_collected", frozenset(collected & set(self.children)))
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_text_readers", readers)
        # The same judgements as fast as they come: a rule that is a pattern alone is that
        # pattern's fullmatch (None when it fails), any other rule is asked in full.
        object.__setattr__(self, "_text_tests", {tag: tuple(_passes(rule) for rule in rules) for tag, rules in readers.items() if rules})
        # Children judged only by how often they occur: tag -> their maximum.
        object.__setattr__(
            self,
            "_plain",
            {
                tag: rule.max
                for tag, rule in self.children.items()
                if rule.text is None and not rule.text_only and rule.attributes is None and not rule.inner and not rule.required_inner
            },
        )
        object.__setattr__(self, "_any_content", frozenset(tag for tag, rule in self.children.items() if rule.any_content))

    def any_content(self, tag: str) -> bool:
        """Whether any element may stand inside the child ``tag`` (see :attr:`ChildRule.any_content`)."""
        return tag in self._any_content

    def collects_text(self, tag: str) -> bool:
        """Whether a child's direct text is read (so a reader must collect it)."""
        return tag in self._collected

    def inner_tags(self, tag: str) -> frozenset[str]:
        """The grandchildren of a child ``tag`` that are read."""
        return self._inner.get(tag, _NO_TAGS)

    def all_inner_tags(self) -> frozenset[str]:
        out: set[str] = set()
        for tags in self._inner.values():
            out.update(tags)
        return frozenset(out)

    def text_readers(self, tag: str) -> tuple[ValueRule, ...] | None:
        """The value rules that alone read a child's text, in :meth:`text_class` order (None:
        its text is not classed)."""
        return self._text_readers.get(tag)

    def text_class(self, tag: str, text: str) -> tuple[bool, ...] | None:
        """What every rule reading a child's text makes of ``text``, when value rules are its only
        readers: two texts of the same class give every verdict alike (the fast reader's memory
        keys domains by it, so that another VM's name or uuid is not a new domain). ``None`` when a
        rule reads the text together with other things, or nothing reads it."""
        tests = self._text_tests.get(tag)
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
        attrs = top.attrs
        ns = dict(namespaces or {})
        for name, value in attrs.items():
            if name.startswith("xmlns:"):
                ns[name[6:]] = value
        for name, value in attrs.items():
            rule = self.attributes.get(name)
            if rule is not None:
                problem = rule.check(value)
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
            problem = self._check_child(child, ns, seen)
            if problem:
                return (problem, i)
        for tag in self.required_children:
            if tag not in seen:
                return (f"<{self.tag}> needs a <{tag}> element", -1)
        return None

    def _check_child(self, child: DomainChild, ns: Mapping[str, str], seen: dict[str, int]) -> str | None:
        tag, cattrs = child.tag, child.attrs
        prefix, colon, local = tag.rpartition(":")
        if colon:
            uri = cattrs.get(f"xmlns:{prefix}", ns.get(prefix))
            allowed = self.extensions.get(uri) if uri is not None else None
            if allowed is None:
                if uri is None:
                    return f"element <{tag}> is not allowed in <{self.tag}>: its prefix {prefix!r} is not declared"
                return f"element <{tag}> is not allowed in <{self.tag}> (namespace {uri!r} is not one of libvirt's domain extensions)"
            if local not in allowed:
                return f"element <{tag}> is not allowed in <{self.tag}>: that namespace has only <{'>, <'.join(sorted(allowed))}>"
            return None
        if cattrs.get("xmlns"):
            return f"element <{tag}> in <{self.tag}> must be in no namespace: remove xmlns={cattrs['xmlns']!r}"
        rule = self.children.get(tag)
        if rule is None:
            return f"element <{tag}> is not allowed in <{self.tag}>"
        count = seen.get(tag, 0) + 1
        seen[tag] = count
        if rule.max is not None and count > rule.max:
            return f"element <{tag}> appears more than once in <{self.tag}>"
        if rule.text_only and child.nested:
            return f"<{tag}> in <{self.tag}> holds text only: remove the elements inside it"
        if rule.attributes is not None:
            for aname, avalue in cattrs.items():
                arule = rule.attributes.get(aname)
                if arule is None:
                    if aname.startswith("xmlns:") or (aname == "xmlns" and not avalue):
                        continue
                    return f"attribute {aname!r} is not allowed on <{tag}> in <{self.tag}>"
                problem = arule.check(avalue)
                if problem:
                    return problem
        if rule.text is not None:
            problem = rule.text.check(child.text)
            if problem:
                return problem
        for inner in rule.required_inner:
            irule = rule.inner.get(inner)
            if inner not in child.inner:
                return irule.problem(None) if irule is not None else f"<{tag}> needs an <{inner}> element"
        for inner, irule in rule.inner.items():
            if irule is not None and inner in child.inner:
                problem = irule.check(child.inner[inner])
                if problem:
                    return problem
        return None

    def check_redefine(self, top: DomainTop) -> Problem | None:
        """What libvirt's domain parser (it runs on REDEFINE only) refuses among what can be seen
        at the domain's top, in its order; messages are libvirt's own."""
        for check in self.redefine:
            problem = check(top)
            if problem:
                return (problem, -1)
        return None

    def judge(self, top: DomainTop, namespaces: Mapping[str, str] | None, redefine: bool) -> bool:
        """Whether the domain's top passes (the verdict alone, for the fast reader)."""
        return self.check(top, namespaces) is None and not (redefine and self.check_redefine(top) is not None)

    def with_child(self, tag: str, rule: ChildRule | None) -> "DomainGrammar":
        """A copy with one child's rule replaced (``None``: the child no longer allowed)."""
        children = dict(self.children)
        if rule is None:
            children.pop(tag, None)
        else:
            children[tag] = rule
        return replace(self, children=children)


_NONE: Mapping[str, ValueRule] = {}
_TEXT_ONLY = ChildRule(text_only=True)

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
                re.compile(r"[ \t\r\n]*"),
                message="text {stripped!r} is not allowed directly in <metadata>: wrap it in an element of your own namespace",
            ),
            any_content=True,  # libvirt 9.0 accepts even a <domaincheckpoint> in no namespace there (oracle)
        ),
        "memory": ChildRule(
            text=ValueRule(
                "domain memory", re.compile(r"[0-9]+"), maximum=ULONG_MAX, message="domain memory {value!r} is invalid: write decimal digits only"
            ),
            text_only=True,
            attributes={
                "unit": ValueRule(
                    "memory unit",
                    re.compile(r"[bB](?:[yY][tT][eE][sS]?)?|[kKmMgGtTpPeE](?:[iI]?[bB])?"),  # basictypes.rng unit
                    message="<memory unit={value!r}> is not a unit libvirt knows (use b, KiB, MiB, GiB, KB, MB...)",
                ),
                "dumpCore": ValueRule("dumpCore", choices=("off", "on"), message="<memory dumpCore={value!r}> must be 'on' or 'off'"),
            },
        ),
        "currentMemory": _TEXT_ONLY,
        "vcpu": _TEXT_ONLY,
        "on_poweroff": _TEXT_ONLY,
        "on_reboot": _TEXT_ONLY,
        "on_crash": _TEXT_ONLY,
        "on_lockfailure": _TEXT_ONLY,
        "os": ChildRule(
            inner={
                "type": ValueRule(
                    "OS type", choices=OS_TYPES, token=True, message="<os> needs a <type> of {choices}, not {value!r}"
                ),
                "init": None,
            },
            required_inner=("type",),
        ),
        **{
            tag: ChildRule()
            for tag in (
                "cpu bootloader bootloader_args clock maxMemory memoryBacking vcpus iothreads iothreadids "
                "defaultiothread cputune numatune resource blkiotune memtune features pm perf idmap devices "
                "keywrap launchSecurity"
            ).split()
        },
        "sysinfo": ChildRule(max=None),
        "seclabel": ChildRule(max=None),
    },
    required_children=("name",),
    extensions={
        "http://libvirt.org/schemas/domain/qemu/1.0": frozenset({"commandline", "capabilities", "deprecation", "override"}),
        "http://libvirt.org/schemas/domain/lxc/1.0": frozenset({"namespace"}),
        "http://libvirt.org/schemas/domain/bhyve/1.0": frozenset({"commandline"}),
        "http://libvirt.org/schemas/domain/xen/1.0": frozenset({"commandline"}),
        "http://libvirt.org/schemas/domain/vmware/1.0": frozenset({"datacenterpath"}),
    },
    redefine=(
        AttributeCheck("type", ValueRule("domain type", choices=DOMAIN_TYPES, message="invalid domain type {value}")),
        ChildTextCheck("name", ValueRule("domain name", re.compile(r"[^/]*"), message="name {value} cannot contain '/'")),
        InnerCheck("os", "type", "an os <type> must be specified", ValueRule("OS type", choices=OS_TYPES, message="unknown OS type {value!r}")),
        FunctionCheck(_exe_needs_init, reads=()),
        FunctionCheck(_memory_size, reads=("memory",)),
    ),
)
