"""The fast reader: a document taken apart by patterns made from the grammar.

Most documents in the wild were written by libvirt (fixed element order, single-quoted
attributes, two-space indentation, no comments), others by ElementTree or by hand (one line, other
indentation, double quotes). For a document in the element order libvirt writes, with no comment,
PI or CDATA section, the generated per-document function (:mod:`.compile`) matches the checkpoint
level with one pattern over the bytes (XML whitespace anywhere between elements), reads the disk
list column-wise (:mod:`.disks`), lets expat check the nested domain's well-formedness with no
Python callback at all and reads its top tag by tag, or from its lines once its structure is
learnt (:mod:`.domain`). What it has proven is remembered in the reader's :class:`~.memory.Memory`.

It is an accelerator, not a second opinion: every pattern and residual check comes from the same
rule objects the general reader walks, the domain is judged by the same grammar methods on the
same :class:`~...grammar.domain.DomainTop`, the mode rules are the same function, and anything it
does not recognise, or finds wrong, returns ``None`` so the caller runs the general reader, which
produces the positioned error. Tests run both readers on every corpus, and on grammars changed
rule by rule, and require identical results.

Well-formedness: the pattern admits only a regular subset of XML (fixed tags, attributes and
whitespace, no comment, PI, DOCTYPE or CDATA, '&' only in the five predefined entities of a text
any value may hold), so what expat would still check outside the nested domain is checked on the
captured values (:mod:`.text`): UTF-8, XML characters, no ']]>'. The nested domain is arbitrary
XML: a bare expat parser checks it (as safe as the defused one, since the pattern lets nothing but
an XML declaration precede the root, so no DTD can exist).
"""

from __future__ import annotations

import re
from typing import Any, Callable

from ...grammar import Grammar
from ...limits import Limits
from ...records import Checkpoint, Domain, Origin, Record, set_domain
from ..modes import Options
from .compile import SPLIT_AT, Plan, domain_column, make_plan
from .disks import DiskReader
from .domain import MAX_ATTRS, MAX_FAST_DEPTH, DomainReader
from .memory import Memory
from .moments import MomentReader

__all__ = ["FastReader"]

# Documents written by other tools (lxml's pretty printer, for one) are libvirt's layout with
# double-quoted attributes. When a document holds no apostrophe at all and none of its double
# quotes stands in text (after a '>' before the next '<'), every double quote delimits an attribute
# value or the XML declaration's (the fast reader admits no comment, PI or CDATA: their quotes
# would lie in a refused document either way). Turning them into apostrophes then changes no value
# (a value holds no quote of either kind; expat reads both delimiters alike) and no offset, so the
# fast reader reads the result as it would the original; the domain keeps its text as written:
# every apostrophe in it was a double quote.
_QUOTE_IN_TEXT = re.compile(rb'>[^<"]*"')
# The root start tag of a document in libvirt's layout: the first tag that is no declaration.
_OTHER_ROOT = re.compile(rb"<[A-Za-z_][-A-Za-z0-9._]*")


class FastReader:
    """The fast reader for one grammar, remembering in ``memory``."""

    def __init__(self, grammar: Grammar, memory: Memory) -> None:
        self.grammar = grammar
        self.memory = memory
        # The other kinds of document (snapshots) have a reader each (:mod:`.moments`), made
        # from their own grammar; a document goes to the one its root names.
        self.moments: dict[bytes, MomentReader] = {
            b"<" + doc.root.encode(): MomentReader(grammar, doc, DomainReader(grammar.domain, memory, doc.root), grammar.roots)
            for doc in grammar.documents
            if doc.root != "domaincheckpoint"
        }
        #: The paths of the elements whose general-reader verdict is kept (remember_read), with
        #: the bare root start tag their document must begin with.
        self._remembered: dict[str, bytes] = {
            path: reader.bare_root for reader in self.moments.values() for path in reader.domain_paths
        }
        self.plan: Plan | None = None
        self.disks: DiskReader | None = None
        self.domains: DomainReader | None = None
        if grammar.checkpoint.root != "domaincheckpoint":  # no checkpoint plan: the first kind's reader
            self.end_tag = re.compile(rb"</" + re.escape(grammar.checkpoint.root.encode()) + rb"[ \t\r\n]*>")
            self._parse_at: Callable[..., Record | None] = next(iter(self.moments.values())).parse_at
            return
        self.domains = DomainReader(grammar.domain, memory, grammar.checkpoint.root)
        plan_lists = [
            (tag, grammar.checkpoint.rules[key])
            for tag, key in grammar.checkpoint.root_rule(True).children.items()
            if len(grammar.checkpoint.rules[key].children) == 1
        ]
        for tag, rule in plan_lists:
            ((child_tag, child_key),) = rule.children.items()
            child = grammar.checkpoint.rules[child_key]
            if child_tag in rule.repeatable and child.attributes:
                reader = DiskReader(child_tag, child, memory, rule.min_children.get(child_tag, 0))
                self.disks = reader if reader.usable else None
                break
        #: A root's end tag (of any kind this grammar reads): where a document in this layout ends.
        self.end_tag = re.compile(rb"</(?:" + b"|".join(re.escape(root.encode()) for root in grammar.roots) + rb")[ \t\r\n]*>")
        plan = self.plan = make_plan(grammar, self.disks.read if self.disks is not None else None, self.domains)
        if plan.domain_path is not None:
            self._remembered[plan.domain_path] = b"<" + plan.root + b">"
        main: Callable[..., Record | None] = plan.function  # type: ignore[assignment]
        self._parse_at = main if not self.moments else self._dispatcher(main)

    def remember_read(self, buf: Any, start: int, begin: int, end: int, path: str, options: Options, limits: Limits, domain: Domain) -> None:
        """A domain (``buf[begin:end]``) that the general reader read and judged in the document at
        ``buf[start]``: kept in the memory, so that the fast reader takes the next document
        carrying the same bytes in the same place (a VM's chain) instead of sending it to the
        general reader again. The domains the fast reader declines (a comment inside, a reference
        where the verdict reads, ...) are those. Kept for a checkpoint's domain and for the
        elements a snapshot's reader judges as domains (its domain and inactive domain).

        The verdict is a function of what the key holds: the domain's bytes and the column it
        starts at (its text and indentation), the mode (REDEFINE judges more), the limits, whole
        (a domain read under generous limits is not taken under stricter ones), and the element's
        path, which names the rule that judged it. Kept only for a document whose root start tag
        is bare, as the fast readers find it: no XML declaration, no attribute, no namespace
        declaration for the domain's verdict to depend on. The readers look it up only where they
        would otherwise give the document up (compile.py, moments.py)."""
        head = self._remembered.get(path)
        if head is None or buf[start : start + len(head)] != head:
            return
        span = bytes(buf[begin:end])
        key = (span, domain_column(buf, start, begin), options.redefine, limits, path)
        self.memory.remember_domain(key, domain, 3 * len(span))

    def _dispatcher(self, main: Callable[..., Record | None]) -> Callable[..., Record | None]:
        """The checkpoint plan first (it fails at once on another root), then the reader of the
        document's own root."""
        moments = self.moments
        find = _OTHER_ROOT.search

        def parse_at(buf: Any, start: int, end: int, options: Options, limits: Limits, origin: Origin | None) -> Record | None:
            record = main(buf, start, end, options, limits, origin)
            if record is not None:
                return record
            m = find(buf, start, min(end, start + 4096))
            reader = moments.get(m.group()) if m is not None else None
            return reader.parse_at(buf, start, end, options, limits, origin) if reader is not None else None

        return parse_at

    # -- entry points ---------------------------------------------------------------------------

    def ready(self, limits: Limits) -> Callable[..., Record | None] | None:
        """For a caller that runs the fast reader on many documents under the same limits (the
        framer's hot loop): the per-document function ``(buf, start, end, options, limits,
        origin)``, or None when these limits rule the fast reader out (documents it takes never
        come near them)."""
        if limits.max_depth < MAX_FAST_DEPTH or limits.max_attributes < MAX_ATTRS:
            return None
        return self._parse_at

    def parse_at(self, buf: bytes | bytearray, start: int, end: int, options: Options, limits: Limits, origin: Origin | None = None) -> Record | None:
        """One complete document, ``buf[start:end]``, in libvirt's layout, matched in place; None to
        use the general reader."""
        if limits.max_depth < MAX_FAST_DEPTH or limits.max_attributes < MAX_ATTRS:
            return None
        return self._parse_at(buf, start, end, options, limits, origin)

    def parse(self, doc: bytes, options: Options, limits: Limits, origin: Origin | None = None) -> Record | None:
        """One complete document in libvirt's layout (also with CR LF line ends or double-quoted
        attributes, see :meth:`parse_variant`), or None to use the general reader."""
        return self.parse_span(doc, 0, len(doc), options, limits, origin)

    def parse_span(
        self, buf: bytes | bytearray, start: int, end: int, options: Options, limits: Limits, origin: Origin | None = None
    ) -> Record | None:
        """:meth:`parse` of ``buf[start:end]``, matched in place (no copy unless a variant needs one)."""
        record = self.parse_at(buf, start, end, options, limits, origin)
        if record is None:
            return self.parse_variant(buf, start, end, options, limits, origin)
        return record

    def parse_variant(
        self, buf: bytes | bytearray, start: int, end: int, options: Options, limits: Limits, origin: Origin | None = None
    ) -> Record | None:
        """``buf[start:end]``, a document in libvirt's layout written with CR LF (or CR) line ends,
        with double-quoted attributes, or both; None for anything else (without a copy when it
        has neither).

        XML reads every CR LF and lone CR as LF before anything else (end-of-line handling, which
        the general reader applies to the domain's text too), so the document with LF line ends
        reads alike: the same values, the same domain text. Only offsets inside the document
        differ, and a record holds none (errors are left to the general reader, on the original
        bytes)."""
        cr = buf.find(b"\r", start, end) >= 0
        if not cr and buf.find(b'"', start, end) < 0:
            return None
        doc = bytes(buf[start:end])
        if cr:
            doc = doc.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            record = self.parse_at(doc, 0, len(doc), options, limits, origin)
            if record is not None or b'"' not in doc:
                return record
        return self._requoted(doc, options, limits, origin)  # it holds a double quote: checked above

    def _requoted(self, doc: bytes, options: Options, limits: Limits, origin: Origin | None) -> Record | None:
        if b"'" in doc or _QUOTE_IN_TEXT.search(doc) is not None:
            return None
        record = self.parse_at(doc.replace(b'"', b"'"), 0, len(doc), options, limits, origin)
        if record is not None and not isinstance(record, Checkpoint):
            return None  # a snapshot keeps its sources and cookie as written: the general reader's
        if record is None or record.domain is None:
            return record
        domain = record.domain
        source, held = domain._source, domain._text
        if source is not None:
            domain = Domain._from_span(source[0].replace(b"'", b'"'), source[1])
        elif held is not None:  # as written, for the schemas (records.as_written)
            text, width, markup = held
            domain = Domain._from_text(text.replace(b"'", b'"') if type(text) is bytes else text.replace("'", '"'), width, markup)
        else:
            domain = Domain(domain.xml.replace("'", '"'))
        set_domain(record, domain)  # the record was just made, for this document alone
        return record


SMALL = SPLIT_AT  # documents below this size are matched by the full pattern in one call
