"""The nested ``<domain>`` judged by libvirt's own RELAX NG schemas, on request.

The built-in rules judge a domain at its top only (:mod:`.grammar.domain`); libvirt validates the
whole of it against ``domain.rng`` (about 8,000 lines of RELAX NG, which ``domaincheckpoint.rng``
nests). Re-writing that grammar here would drift from every libvirt release, so this module asks
the schemas of the libvirt installed on the machine instead, through libxml2's RELAX NG validator
(the one libvirt itself uses) as lxml binds it. lxml is an optional dependency (the ``libvirt``
extra): it is imported only when schemas are asked for, and asking without it is an error that
says what to install, never a silent fallback to the built-in rules.

What is validated: the domain element as the record holds it (``Domain.xml``: the checkpoint's
indentation taken off, line ends as LF; the same lines as in the document), with the namespace
declarations of the document's root carried onto its start tag, against ``domain.rng`` of the
chosen directory. Compiling the schemas takes a while, so one compiled validator is kept per
directory for the life of the process (:func:`resolve`); verdicts are kept per domain text in a
bounded LRU cache, so the checkpoints of one VM, which repeat its domain, cost one validation.

libxml2 reports an error inside an ``<interleave>`` (most of the domain grammar) as the child
of the interleave that failed ("Extra element devices in interleave"). A rejected domain is
therefore diagnosed further, once (the verdict is cached): elements and attributes are taken out
one at a time, and the one whose removal makes the domain valid is what is reported, in words
("element 'bogus' is not allowed in <devices>"), on its own line. libxml2's own text stays on
the fault (``raw``) and on the error (``libxml2_message``).
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Iterator, Union

__all__ = [
    "LibvirtSchemas",
    "LibvirtSchemasUnavailable",
    "SchemaFault",
    "SCHEMA_DIRS",
    "ENV_VAR",
    "INSTALL_HINT",
    "resolve",
    "find_directory",
    "root_namespaces",
]

#: Where libvirt installs its schemas ("auto" looks here, in this order, after :data:`ENV_VAR`).
SCHEMA_DIRS = ("/usr/share/libvirt/schemas", "/usr/local/share/libvirt/schemas")
#: An environment variable naming the schema directory "auto" should use first.
ENV_VAR = "CHECKPOINT_STREAM_LIBVIRT_SCHEMAS"
#: What to install for the validator.
INSTALL_HINT = "pip install 'checkpoint-stream[libvirt]'"
#: Domains whose verdict is kept (each key holds the domain's text: a few KB).
CACHE_SIZE = 256
#: How many validations the diagnosis of one rejected domain may run (each costs a validation).
DIAGNOSIS_BUDGET = 400

SchemasSpec = Union["LibvirtSchemas", str, "os.PathLike[str]", None]


class LibvirtSchemasUnavailable(RuntimeError):
    """Schemas were asked for and cannot be used: lxml is not installed (``missing == "lxml"``),
    or no schema directory holding ``domain.rng`` was found (``missing == "schemas"``). A
    configuration problem, not a bad document: it is no :class:`~.errors.CheckpointError`."""

    def __init__(self, message: str, missing: str) -> None:
        super().__init__(message)
        self.missing = missing


@dataclass(frozen=True, slots=True)
class SchemaFault:
    """Why the schemas reject a domain. ``line`` is 1-based within the domain's text (None when
    unknown), ``path`` the element's path within the domain (``/domain/devices/bogus``),
    ``element`` its tag as written (to find it on its line), ``raw`` libxml2's own messages."""

    message: str
    raw: str
    line: int | None = None
    path: str | None = None
    element: str | None = None


@dataclass(frozen=True, slots=True, eq=False)
class LibvirtSchemas:
    """One schema directory, compiled: :meth:`check` judges a domain's text.

    ``directory`` is where ``domain.rng`` was found, ``version`` the libvirt version that
    installed it when it can be read (dpkg's records, pkg-config's ``libvirt.pc``), else None.
    Equal when the directory is; pickled as the directory (it is compiled again on the other side:
    Dask workers). Get one with :func:`resolve`, which compiles a directory once per process."""

    directory: str
    version: str | None
    _engine: "_Engine" = field(repr=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LibvirtSchemas) and other.directory == self.directory

    def __hash__(self) -> int:
        return hash(("LibvirtSchemas", self.directory))

    def __reduce__(self) -> tuple[Any, ...]:
        return (resolve, (self.directory,))

    def describe(self) -> str:
        """``DIR (libvirt VERSION)``, or ``DIR`` when the version is unknown: for reports."""
        return f"{self.directory} (libvirt {self.version})" if self.version else self.directory

    def check(self, xml: str | bytes, namespaces: tuple[str, ...] = ()) -> SchemaFault | None:
        """None when the domain ``xml`` (``<domain ...>`` to ``</domain>``, text or UTF-8 bytes) is
        valid with the root's namespace declarations ``namespaces`` (raw ``xmlns:p='uri'`` texts)
        carried onto it, else why not. The verdict is cached by (text, declarations)."""
        return self._engine.check(xml, namespaces)

    def cache_info(self) -> tuple[int, int, int]:
        """(hits, misses, entries) of the verdict cache: what a stream cost in validations."""
        engine = self._engine
        return engine.hits, engine.misses, len(engine.cache)


# -- finding the schemas -----------------------------------------------------------------------


def find_directory(spec: str | os.PathLike[str] = "auto") -> str:
    """The schema directory ``spec`` names ("auto": :data:`ENV_VAR`, then :data:`SCHEMA_DIRS`,
    then pkg-config's ``datadir`` of libvirt), as an absolute real path holding ``domain.rng``."""
    if os.fspath(spec) != "auto":
        path = os.fspath(spec)
        if os.path.isfile(path) and os.path.basename(path).endswith(".rng"):
            path = os.path.dirname(path) or "."
        if not os.path.isfile(os.path.join(path, "domain.rng")):
            raise LibvirtSchemasUnavailable(
                f"no libvirt schemas in {path!r}: the directory must hold domain.rng (Debian: "
                "apt-get install libvirt0, which puts them in /usr/share/libvirt/schemas)",
                "schemas",
            )
        return os.path.realpath(path)
    tried = []
    env = os.environ.get(ENV_VAR)
    candidates = ([env] if env else []) + list(SCHEMA_DIRS)
    for path in candidates:
        tried.append(path)
        if os.path.isfile(os.path.join(path, "domain.rng")):
            return os.path.realpath(path)
    datadir = _pkg_config_datadir()
    if datadir:
        path = os.path.join(datadir, "libvirt", "schemas")
        tried.append(path)
        if os.path.isfile(os.path.join(path, "domain.rng")):
            return os.path.realpath(path)
    raise LibvirtSchemasUnavailable(
        f"libvirt's schemas were not found (looked in {', '.join(tried)}): install libvirt's "
        f"library package (Debian/Ubuntu: apt-get install libvirt0; Fedora: dnf install libvirt-libs), "
        f"or name the directory that holds domain.rng (--libvirt-schemas DIR, or ${ENV_VAR})",
        "schemas",
    )


def _pkg_config_datadir() -> str | None:
    try:
        done = subprocess.run(
            ["pkg-config", "--variable=datadir", "libvirt"], capture_output=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    out = done.stdout.decode("utf-8", "replace").strip()
    return out if done.returncode == 0 and out else None


def libvirt_version(directory: str) -> str | None:
    """The version of the libvirt that installed ``directory``, when it can be read cheaply:
    the dpkg package that owns ``domain.rng``, else a ``libvirt.pc`` of the same prefix. Never
    required: None when unknown."""
    target = os.path.join(directory, "domain.rng")
    version = _dpkg_version(target)
    if version:
        return version
    prefix = os.path.dirname(os.path.dirname(os.path.dirname(directory)))  # PREFIX/share/libvirt/schemas
    for pc_dir in _pkgconfig_dirs(prefix):
        try:
            with open(os.path.join(pc_dir, "libvirt.pc"), encoding="utf-8", errors="replace") as f:
                for line in f:
                    if line.startswith("Version:"):
                        return line.split(":", 1)[1].strip() or None
        except OSError:
            continue
    return None


def _pkgconfig_dirs(prefix: str) -> Iterator[str]:
    for lib in ("lib", "lib64"):
        yield os.path.join(prefix, lib, "pkgconfig")
        base = os.path.join(prefix, lib)
        try:
            names = sorted(os.listdir(base))
        except OSError:
            continue
        for name in names:
            if "-linux-" in name:
                yield os.path.join(base, name, "pkgconfig")


def _dpkg_version(target: str) -> str | None:
    info = "/var/lib/dpkg/info"
    try:
        names = sorted(n for n in os.listdir(info) if n.startswith("libvirt") and n.endswith(".list"))
    except OSError:
        return None
    owner = None
    candidates = {target, os.path.realpath(target)}
    for name in names:
        try:
            with open(os.path.join(info, name), encoding="utf-8", errors="replace") as f:
                if any(line.rstrip("\n") in candidates for line in f):
                    owner = name[: -len(".list")].split(":")[0]
                    break
        except OSError:
            continue
    if owner is None:
        return None
    try:
        with open("/var/lib/dpkg/status", encoding="utf-8", errors="replace") as f:
            package = None
            for line in f:
                if line.startswith("Package: "):
                    package = line[9:].strip()
                elif package == owner and line.startswith("Version: "):
                    return line[9:].strip()
    except OSError:
        return None
    return None


# -- compiled once per directory ---------------------------------------------------------------

# A memo, not state the interpreter depends on: the compiled validator of each directory asked
# for, so that every parser of a process (one per file of a folder) shares one compilation.
_COMPILED: dict[str, LibvirtSchemas] = {}
_COMPILING = threading.Lock()


def resolve(spec: SchemasSpec) -> LibvirtSchemas | None:
    """What a ``libvirt_schemas=`` keyword asks for: None (the built-in rules), a
    :class:`LibvirtSchemas` (as it is), ``"auto"`` (the schemas of the libvirt installed here) or a
    directory. Raises :class:`LibvirtSchemasUnavailable` when lxml or the schemas are missing."""
    if spec is None or isinstance(spec, LibvirtSchemas):
        return spec
    if not isinstance(spec, (str, os.PathLike)):
        raise TypeError(f"libvirt_schemas must be None, 'auto' or a directory, not {type(spec).__name__}")
    etree = _lxml()
    directory = find_directory(spec)
    with _COMPILING:
        found = _COMPILED.get(directory)
        if found is None:
            found = LibvirtSchemas(directory, libvirt_version(directory), _Engine(etree, directory))
            _COMPILED[directory] = found
    return found


def _lxml() -> Any:
    try:
        etree = importlib.import_module("lxml.etree")
    except ImportError:
        raise LibvirtSchemasUnavailable(
            f"validating domains by libvirt's schemas needs lxml (libxml2's RELAX NG validator): {INSTALL_HINT}",
            "lxml",
        ) from None
    return etree


# -- the root's namespace declarations ----------------------------------------------------------

_TAG_REST = re.compile(rb"(?:[^>'\"]|'[^']*'|\"[^\"]*\")*>")
_XMLNS = re.compile(rb"""[ \t\r\n](xmlns(?::[^ \t\r\n=/>]+)?)[ \t\r\n]*=[ \t\r\n]*('[^']*'|"[^"]*")""")
_XMLNS_TEXT = re.compile(r"""[ \t\r\n](xmlns(?::[^ \t\r\n=/>]+)?)[ \t\r\n]*=""")


def root_namespaces(data: bytes | bytearray, at: int, end: int | None = None) -> tuple[str, ...]:
    """The namespace declarations (``xmlns:p='uri'`` as written) of the start tag at ``data[at]``."""
    m = _TAG_REST.match(data, at, len(data) if end is None else end)
    if m is None:
        return ()
    tag = bytes(data[at : m.end()])
    if b"xmlns" not in tag:
        return ()
    return tuple(
        (name + b"=" + value).decode("utf-8", "replace") for name, value in _XMLNS.findall(tag)
    )


def _carried(xml: str | bytes, namespaces: tuple[str, ...]) -> str | bytes:
    """``xml`` with the root's declarations its own start tag does not make added to it (on its
    first line: no line moves)."""
    if not namespaces:
        return xml
    if isinstance(xml, bytes):
        xml = xml.decode("utf-8")
    if not xml.startswith("<domain"):
        return xml
    head_end = xml.find(">")
    own = set(_XMLNS_TEXT.findall(xml, 0, head_end if head_end > 0 else len(xml)))
    extra = [decl for decl in namespaces if decl.split("=", 1)[0] not in own]
    if not extra:
        return xml
    return "<domain " + " ".join(extra) + xml[len("<domain") :]


# -- the engine ---------------------------------------------------------------------------------


class _Engine:
    """The compiled ``domain.rng`` of one directory, its verdict cache, and the diagnosis."""

    def __init__(self, etree: Any, directory: str) -> None:
        self.etree = etree
        self.directory = directory
        try:
            self.relaxng = etree.RelaxNG(file=os.path.join(directory, "domain.rng"))
        except (etree.RelaxNGParseError, etree.XMLSyntaxError, OSError) as err:
            raise LibvirtSchemasUnavailable(f"cannot compile {directory}/domain.rng: {err}", "schemas") from None
        self.parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
        self.lenient = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=True)
        self.lock = threading.Lock()
        self.cache: OrderedDict[tuple[str | bytes, tuple[str, ...]], SchemaFault | None] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self._names: _Names | None = None

    def check(self, xml: str | bytes, namespaces: tuple[str, ...]) -> SchemaFault | None:
        key = (xml, namespaces)
        cache = self.cache
        with self.lock:
            try:
                verdict = cache[key]
            except KeyError:
                pass
            else:
                self.hits += 1
                if len(cache) > 1:
                    cache.move_to_end(key)
                return verdict
            self.misses += 1
            verdict = self._judge(_carried(xml, namespaces))
            cache[key] = verdict
            while len(cache) > CACHE_SIZE:
                cache.popitem(last=False)
            return verdict

    def _judge(self, xml: str | bytes) -> SchemaFault | None:
        etree = self.etree
        data = xml.encode("utf-8") if isinstance(xml, str) else xml
        try:
            root = etree.fromstring(data, self.parser)
        except etree.XMLSyntaxError as err:
            # A domain the fast reader left unread (Options.schemas_judge_domain) may be no XML at
            # all: then a fault, and the framer reads the document in full for its own words.
            if not _well_formed(data):
                return SchemaFault(f"the domain is not well-formed XML: {err.msg}", str(err.msg), None, "/domain", "domain")
            # Well-formed XML, so this is a namespace error: a prefix nobody declares. libxml2
            # reads on (libvirt too): the element keeps its prefixed name in no namespace, which
            # only "any element" content (<metadata>) admits.
            root = etree.fromstring(data, self.lenient)
            if root is None:
                line = getattr(err, "lineno", None)
                return SchemaFault(f"the domain cannot be read by libxml2: {err.msg}", str(err.msg), line, "/domain", "domain")
        if self.relaxng.validate(root):
            return None
        entries = list(self.relaxng.error_log)
        return _Diagnosis(self, root, entries).fault()

    def valid(self, root: Any) -> bool:
        return bool(self.relaxng.validate(root))

    @property
    def names(self) -> "_Names":
        if self._names is None:
            self._names = _Names(self.etree, self.directory)
        return self._names


def _well_formed(data: bytes) -> bool:
    """Whether expat, as the readers run it, takes ``data`` as one well-formed element."""
    from xml.parsers.expat import ExpatError, ParserCreate

    try:
        ParserCreate("UTF-8").Parse(data, True)
    except ExpatError:
        return False
    return True


def _raw(log: Any) -> str:
    return "\n".join(f"line {e.line}: {e.message}" if e.line else e.message for e in log)


# -- what the schemas name: for the words of a diagnosis ------------------------------------------

_RNG = "{http://relaxng.org/ns/structure/1.0}"
_ANY = "*"


@dataclass(frozen=True, slots=True)
class _Content:
    """What the elements of one name may hold, over all their definitions in the schemas:
    child element names, attribute names (``_ANY``: any name), and for each attribute and for the
    element's text the literal values the schemas list, None where any text may stand."""

    children: frozenset[str]
    attributes: frozenset[str]
    attribute_values: dict[str, frozenset[str] | None]
    text_values: frozenset[str] | None


class _Names:
    """Which elements, attributes and values each element name may hold anywhere in the schemas
    (the union over its definitions): enough to tell "not allowed here" from "allowed, but wrong".
    Only the words of a diagnosis depend on it: the verdict is libxml2's."""

    def __init__(self, etree: Any, directory: str) -> None:
        self.defines: dict[str, list[Any]] = {}
        self.elements: dict[str, list[Any]] = {}
        self._content: dict[str, _Content] = {}
        seen: set[str] = set()
        todo = [os.path.join(directory, "domain.rng")]
        while todo:
            path = todo.pop()
            if path in seen or not os.path.isfile(path):
                continue
            seen.add(path)
            try:
                tree = etree.parse(path)
            except (etree.XMLSyntaxError, OSError):
                continue
            for node in tree.iter(_RNG + "include"):
                todo.append(os.path.join(os.path.dirname(path), node.get("href", "")))
            for node in tree.iter(_RNG + "define"):
                self.defines.setdefault(node.get("name", ""), []).append(node)
            for node in tree.iter(_RNG + "element"):
                for name in _names_of(node):
                    self.elements.setdefault(name, []).append(node)

    def content(self, name: str) -> _Content:
        found = self._content.get(name)
        if found is None:
            children: set[str] = set()
            attributes: dict[str, set[str] | None] = {}
            text: list[set[str] | None] = [set()]
            for element in self.elements.get(name, [_ANY_ELEMENT]) if name in self.elements else ():
                self._walk(list(element), children, attributes, text)
            if name not in self.elements:
                children.add(_ANY)
                attributes[_ANY] = None
                text[0] = None
            found = self._content[name] = _Content(
                frozenset(children),
                frozenset(attributes),
                {k: (frozenset(v) if v is not None else None) for k, v in attributes.items()},
                frozenset(text[0]) if text[0] is not None else None,
            )
        return found

    def _walk(self, nodes: list[Any], children: set[str], attributes: dict[str, set[str] | None], text: list[set[str] | None]) -> None:
        stack = [(node, set()) for node in nodes]  # type: list[tuple[Any, set[str]]]
        refs: set[str] = set()
        while stack:
            node, _ = stack.pop()
            tag = node.tag if isinstance(node.tag, str) else ""
            if tag == _RNG + "element":
                children.update(_names_of(node))
            elif tag == _RNG + "attribute":
                values = self._values(node)
                for name in _names_of(node):
                    if name in attributes and attributes[name] is None:
                        continue
                    if values is None:
                        attributes[name] = None
                    else:
                        attributes.setdefault(name, set()).update(values)  # type: ignore[union-attr]
            elif tag == _RNG + "ref":
                ref = node.get("name", "")
                if ref not in refs:
                    refs.add(ref)
                    for define in self.defines.get(ref, ()):
                        stack.extend((child, set()) for child in define)
            elif tag == _RNG + "value":
                if text[0] is not None:
                    text[0].add((node.text or "").strip())
            elif tag in (_RNG + "data", _RNG + "text"):
                text[0] = None
            elif tag in (_RNG + "name", _RNG + "anyName", _RNG + "nsName", _RNG + "param"):
                continue
            else:
                stack.extend((child, set()) for child in node)

    def _values(self, attribute: Any) -> set[str] | None:
        """The literal values an attribute's pattern lists, None when it takes any text."""
        values: set[str] = set()
        stack = [c for c in attribute if isinstance(c.tag, str) and c.tag not in (_RNG + "name", _RNG + "anyName", _RNG + "nsName")]
        if not stack:
            return None  # <attribute name="x"/>: text
        refs: set[str] = set()
        while stack:
            node = stack.pop()
            tag = node.tag if isinstance(node.tag, str) else ""
            if tag == _RNG + "value":
                values.add((node.text or "").strip())
            elif tag in (_RNG + "data", _RNG + "text"):
                return None
            elif tag == _RNG + "ref":
                ref = node.get("name", "")
                if ref not in refs:
                    refs.add(ref)
                    for define in self.defines.get(ref, ()):
                        stack.extend(define)
            else:
                stack.extend(node)
        return values


_ANY_ELEMENT: Any = None


def _names_of(node: Any) -> list[str]:
    """The local names an <element> or <attribute> pattern gives (``_ANY`` for a name class)."""
    name = node.get("name")
    if name:
        return [_local(name.strip())]
    for child in node:
        if not isinstance(child.tag, str):
            continue
        if child.tag == _RNG + "name":
            return [_local((child.text or "").strip())]
        if child.tag == _RNG + "choice":
            names = [_local((n.text or "").strip()) for n in child if n.tag == _RNG + "name"]
            if names and len(names) == len(child):
                return names
        return [_ANY]
    return [_ANY]


def _local(name: str) -> str:
    return name.split(":", 1)[1] if ":" in name else name


# -- the diagnosis of a rejected domain -------------------------------------------------------

_PRECISE = re.compile(
    r"Type (?P<type>\S+) doesn't allow value '(?P<value>.*)'"
    r"|Element (?P<parent>\S+) has extra content: (?P<extra>\S+)"
    r"|Invalid attribute (?P<attr>\S+) for element (?P<owner>\S+)"
    r"|Expecting an element (?P<missing>\S+), got nothing"
    r"|Expecting element (?P<expected>\S+), got (?P<got>\S+)"
    r"|Did not expect element (?P<unexpected>\S+) there"
    r"|Element (?P<badattrs>\S+) failed to validate attributes"
    r"|Element (?P<badcontent>\S+) failed to validate content"
    r"|Extra element (?P<interextra>\S+) in interleave"
    r"|Error validating value ?(?P<valuename>.*)"
    r"|Error validating datatype (?P<datatype>\S+)"
)


class _Diagnosis:
    """Words a rejected domain's fault and finds its element. First what the schemas' names make
    certain (an element or attribute no definition of its parent names, a value outside a list of
    values), in document order; then, from the element libxml2 names down, children before their
    parent, the attribute or element whose removal makes the domain valid; else libxml2's words."""

    def __init__(self, engine: _Engine, root: Any, entries: list[Any]) -> None:
        self.engine = engine
        self.names = engine.names
        self.root = root
        self.tree = root.getroottree()
        self.entries = entries
        self.raw = _raw(entries)
        self.budget = DIAGNOSIS_BUDGET

    def fault(self) -> SchemaFault:
        found = self._static(self.root)
        if found is None:
            try:
                found = self._search(self._start())
            except _OutOfBudget:
                found = None
        return found if found is not None else self._from_libxml2()

    def valid(self) -> bool:
        if self.budget <= 0:
            raise _OutOfBudget
        self.budget -= 1
        return self.engine.valid(self.root)

    # -- certain from the names -----------------------------------------------------------------

    def _static(self, node: Any) -> SchemaFault | None:
        name = self._name(node)
        content = self.names.content(_local(name))
        for attr, value in node.attrib.items():
            if attr.startswith("{http://www.w3.org/XML/1998/namespace}"):
                continue
            local = attr.rsplit("}", 1)[-1]
            shown = self._qualified_attribute(node, attr)
            if _ANY in content.attributes:
                continue
            if local not in content.attributes:
                return self._fault(node, f"attribute {_quote(shown)} is not allowed on <{name}>")
            values = content.attribute_values.get(local)
            if values is not None and value.strip() not in values and self._fixed_by(node, attr, values):
                return self._fault(node, f"invalid value {_quote(value)} for attribute {_quote(shown)} of <{name}>{_one_of(values)}")
        elements = [c for c in node if isinstance(c.tag, str)]
        if not elements and content.text_values is not None and content.text_values:
            text = (node.text or "").strip()
            if text not in content.text_values and self._fixed_by(node, None, content.text_values):
                return self._fault(node, f"invalid value {_quote(text)} for <{name}>{_one_of(content.text_values)}")
        if _ANY in content.children:
            return None  # any element may stand here (metadata, custom elements): not judged by name
        for child in elements:
            child_name = self._name(child)
            if _local(child_name) not in content.children:
                return self._fault(child, f"element {_quote(child_name)} is not allowed in <{name}>")
            found = self._static(child)
            if found is not None:
                return found
        return None

    def _fixed_by(self, node: Any, attr: str | None, values: frozenset[str]) -> bool:
        """Whether one of the listed ``values`` (a few tried) in place of the attribute's value (or
        the text) makes the domain valid: then the value was the fault."""
        old = node.get(attr) if attr is not None else node.text
        try:
            for value in sorted(values)[:8]:
                if attr is not None:
                    node.set(attr, value)
                else:
                    node.text = value
                if self.valid():
                    return True
            return False
        except _OutOfBudget:
            return False
        finally:
            if attr is not None:
                node.set(attr, old)
            else:
                node.text = old

    # -- by removal --------------------------------------------------------------------------------

    def _start(self) -> Any:
        """The deepest element libxml2's errors name on a line (the domain when none)."""
        best = self.root
        depth = 0
        for e in self.entries:
            if not e.line or not e.path:
                continue
            try:
                found = self.tree.xpath(e.path)
            except Exception:  # a path lxml cannot read back
                continue
            if found and hasattr(found[0], "tag"):
                d = e.path.count("/")
                if d > depth:
                    best, depth = found[0], d
        return best

    def _search(self, start: Any) -> SchemaFault | None:
        for name in list(start.attrib):
            if self._without_attribute(start, name):
                return self._bad_attribute(start, name)
        for node in self._post_order(start):
            for name in list(node.attrib):
                if self._without_attribute(node, name):
                    return self._bad_attribute(node, name)
            if self._without_element(node):
                return self._bad_element(node)
        return None

    def _post_order(self, start: Any) -> Iterator[Any]:
        for child in start:
            if isinstance(child.tag, str):
                yield from self._post_order(child)
                yield child

    def _without_element(self, node: Any) -> bool:
        parent = node.getparent()
        index = parent.index(node)
        tail = node.tail
        parent.remove(node)
        try:
            return self.valid()
        finally:
            parent.insert(index, node)
            node.tail = tail

    def _without_attribute(self, node: Any, name: str) -> bool:
        value = node.attrib.pop(name)
        try:
            return self.valid()
        finally:
            node.set(name, value)

    def _bad_attribute(self, node: Any, name: str) -> SchemaFault:
        shown = self._qualified_attribute(node, name)
        return self._fault(node, f"attribute {shown}={_quote(node.get(name))} is not valid on <{self._name(node)}>")

    def _bad_element(self, node: Any) -> SchemaFault:
        parent = node.getparent()
        pname, name = self._name(parent), self._name(node)
        if any(s is not node and s.tag == node.tag for s in parent):
            return self._fault(node, f"<{name}> appears more often in <{pname}> than the schema allows")
        text = (node.text or "").strip()
        typed = self._type_note(node)
        if text and len(node) == 0 and typed:
            return self._fault(node, f"invalid value {_quote(text)} for <{name}>{typed}")
        missing = self._missing_child(node)
        if missing:
            return self._fault(node, f"<{name}> lacks a required element <{missing}>")
        return self._fault(
            node,
            f"element <{name}> is not valid in <{pname}> as written (it lacks a required attribute or element, "
            "or holds a combination the schema does not allow)",
        )

    def _missing_child(self, node: Any) -> str | None:
        for e in self.entries:
            m = _PRECISE.search(e.message)
            if m is not None and m.group("missing") and e.line == node.sourceline:
                return m.group("missing")
        return None

    def _type_note(self, node: Any) -> str:
        for e in self.entries:
            m = _PRECISE.search(e.message)
            if m is not None and m.group("type") and e.line == node.sourceline:
                return f" (not a valid {m.group('type')})"
        return ""

    # -- libxml2's own words ---------------------------------------------------------------------

    def _from_libxml2(self) -> SchemaFault:
        """libxml2's first error that names an element on a line, in words."""
        best = None
        for e in self.entries:
            if e.line:
                best = e
                break
        if best is None:
            return SchemaFault(f"the domain is not valid by libvirt's schemas: {_words(self.raw)}", self.raw, 1, "/domain", "domain")
        path = best.path or None
        element = path.rsplit("/", 1)[-1].split("[", 1)[0] if path else None
        return SchemaFault(_words(best.message, element), self.raw, best.line, path, element)

    def _fault(self, node: Any, message: str) -> SchemaFault:
        return SchemaFault(message, self.raw, node.sourceline, self.tree.getpath(node), self._name(node))

    @staticmethod
    def _name(node: Any) -> str:
        local = node.tag.rsplit("}", 1)[-1]
        return f"{node.prefix}:{local}" if node.prefix else local

    @staticmethod
    def _qualified_attribute(node: Any, name: str) -> str:
        if not name.startswith("{"):
            return name
        uri, local = name[1:].split("}", 1)
        for prefix, value in node.nsmap.items():
            if value == uri and prefix:
                return f"{prefix}:{local}"
        return local


class _OutOfBudget(Exception):
    pass


def _one_of(values: frozenset[str]) -> str:
    listed = sorted(values)
    if len(listed) > 12:
        return ""
    return " (one of: " + ", ".join(listed) + ")"


def _quote(text: str | None) -> str:
    text = text or ""
    if len(text) > 60:
        text = text[:57] + "..."
    return "'" + text + "'"


def _words(message: str, element: str | None = None) -> str:
    """libxml2's RELAX NG message, said plainly (its own text when it is not one of these)."""
    text = message.splitlines()[0] if message else ""
    text = re.sub(r"^line \d+: ", "", text)
    m = _PRECISE.search(text)
    if m is None:
        return text
    g = m.groupdict()
    if g["type"]:
        where = f" for <{element}>" if element else ""
        return f"invalid value {_quote(g['value'])}{where} (not a valid {g['type']})"
    if g["extra"]:
        return f"element {_quote(g['extra'])} is not allowed in <{g['parent']}>"
    if g["attr"]:
        return f"attribute {_quote(g['attr'])} is not allowed on <{g['owner']}>"
    if g["missing"]:
        return f"a required element <{g['missing']}> is missing" + (f" in <{element}>" if element else "")
    if g["expected"]:
        return f"element {_quote(g['got'])} is not allowed here: <{g['expected']}> is expected"
    if g["unexpected"]:
        return f"element {_quote(g['unexpected'])} is not allowed here"
    if g["badattrs"]:
        return f"an attribute of <{g['badattrs']}> is not valid (or a required one is missing)"
    if g["badcontent"]:
        inner = element if element and element != g["badcontent"] else g["badcontent"]
        return f"the content of <{inner}> is not valid"
    if g["interextra"]:
        return f"element <{g['interextra']}> is not valid where it stands"
    if g["datatype"]:
        return "invalid value" + (f" for <{element}>" if element else "") + f" (not a valid {g['datatype']})"
    if g["valuename"] is not None:
        return "invalid value" + (f" for <{element}>" if element else "")
    return text
