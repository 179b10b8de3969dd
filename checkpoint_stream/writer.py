"""Write checkpoint records as libvirt writes them, byte for byte (spec A.8).

libvirt's formatter (``virDomainCheckpointDefFormat``) prints a fixed layout whatever the input
order was::

    <domaincheckpoint>
      <name>ESC(name)</name>                         when the name is set
      <description>ESC(description)</description>    when the description is non-empty
      <parent>
        <name>ESC(parent)</name>
      </parent>                                      when a parent is set
      <creationTime>N</creationTime>                 when set and not 0
      <disks>
        <disk name='..' checkpoint='..'[ bitmap='..'[ size='N']]/>
      </disks>                                       when there are disks
      <domain ...>...</domain>                       unless no_domain (re-indented by 2 spaces)
      <active>0|1</active>                           only with internal=True
    </domaincheckpoint>

Escaping (libvirt's ``virBufferEscapeString``) is the same for text and attribute values:
``& < > " '`` become entities; TAB, LF and CR are copied raw (even inside attributes, so such
output does not round-trip); U+0001-U+0008, U+000B, U+000C and U+000E-U+0019 are dropped; every
other character is copied raw. U+0000 cannot reach libvirt's C strings; it is dropped here too.

``secure=False`` (the default, as in libvirt) hides what libvirt's domain formatter hides without
``VIR_DOMAIN_DEF_FORMAT_SECURE``: the ``passwd`` attribute of vnc/spice ``<graphics>`` and the
``<cookies>`` of disk sources (see :func:`strip_secrets`). The rest of the nested domain is copied
as stored: libvirt re-formats it from its own model, so the output equals libvirt's only when the
stored domain is already in libvirt's canonical form (as in every document libvirt wrote).

Records are trusted: the writer does not re-validate names (use ``Checkpoint.from_dict`` or the
parser for that). A record without a name gets no ``<name>`` line, which is what libvirt's escaper
does with a NULL string.
"""

from __future__ import annotations

import io
import re
from typing import IO, Any, Iterable, Iterator

from .domain import indent
from .records import Checkpoint, Domain

__all__ = ["escape", "iter_xml", "dumps", "write", "strip_secrets"]

# -- escaping -------------------------------------------------------------------------------------

_DROPPED = "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19"
_NEEDS_ESCAPE = re.compile("[&<>\"'" + "".join(f"\\x{ord(c):02x}" for c in _DROPPED) + "]")
_TABLE: dict[int, str | None] = {
    ord("&"): "&amp;",
    ord("<"): "&lt;",
    ord(">"): "&gt;",
    ord('"'): "&quot;",
    ord("'"): "&apos;",
    **{ord(c): None for c in _DROPPED},
}


_DROPS = re.compile("[" + "".join(f"\\x{ord(c):02x}" for c in _DROPPED) + "]")


def escape(value: str) -> str:
    """libvirt's ``virBufferEscapeString`` for one value (text or attribute alike)."""
    found = _NEEDS_ESCAPE.search(value)
    if found is None:
        return value
    if _DROPS.search(value, found.start()) is not None:
        return value.translate(_TABLE)
    # No character to drop: five C-level replaces ('&' first) are about 6x faster than translate.
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;").replace("'", "&apos;")


# -- SECURE ---------------------------------------------------------------------------------------

_SECRET_HINT = re.compile(r"passwd\s*=|<cookies[\s/>]")
_START_TAG = re.compile(r"""<[^\s/>!?]+(?:\s+[^\s=/>]+\s*=\s*(?:'[^']*'|"[^"]*"))*\s*/?>""")
_END_TAG = re.compile(r"</[^\s>]+\s*>")
_PASSWD_ATTR = re.compile(r"""\s+passwd\s*=\s*(?:'[^']*'|"[^"]*")""")
_SECURE_GRAPHICS = frozenset({"vnc", "spice"})


def strip_secrets(xml: str) -> str:
    """Remove what libvirt prints only with the SECURE flag from a domain's text.

    That is (oracle findings, section 3): the ``passwd`` attribute of ``<graphics type='vnc'>`` and
    ``<graphics type='spice'>`` under ``<devices>`` (``passwdValidTo`` and ``connected`` stay),
    and every ``<cookies>`` element of a ``<source>`` (disk sources, backing stores included),
    together with the line it stood on. Text without ``passwd=`` or ``<cookies`` is returned as is
    without being parsed; otherwise the domain is parsed with expat to find the exact spans, so
    look-alikes in comments, CDATA or ``<metadata>`` are left alone.
    """
    if ("passwd" not in xml and "<cookies" not in xml) or _SECRET_HINT.search(xml) is None:
        return xml
    from .expat_driver import new_expat_parser

    data = xml.encode("utf-8")
    parser = new_expat_parser()
    stack: list[str] = []
    cuts: list[tuple[int, int, str]] = []  # (start byte, end byte, replacement)
    pending: list[int] = []  # start offsets of open <cookies> elements to remove
    metadata_depth = [0]

    def start(tag: str, attrs: dict[str, str]) -> None:
        parent = stack[-1] if stack else None
        stack.append(tag)
        if tag == "metadata" and len(stack) == 2:
            metadata_depth[0] = len(stack)
        if metadata_depth[0] and len(stack) > metadata_depth[0]:
            return
        pos = parser.CurrentByteIndex
        if tag == "graphics" and parent == "devices" and len(stack) == 3 and "passwd" in attrs:
            if attrs.get("type") in _SECURE_GRAPHICS:
                m = _START_TAG.match(xml, _char_index(data, pos))
                if m is not None:
                    tag_text = m.group(0)
                    new = _PASSWD_ATTR.sub("", tag_text, count=1)
                    cuts.append((m.start(), m.end(), new))
        elif tag == "cookies" and parent == "source" and not pending:
            pending.append(_char_index(data, pos))

    def end(tag: str) -> None:
        depth = len(stack)
        stack.pop()
        if tag == "metadata" and depth == metadata_depth[0]:
            metadata_depth[0] = 0
            return
        if tag == "cookies" and pending and stack and stack[-1] == "source" and not (metadata_depth[0] and depth > metadata_depth[0]):
            begin = pending.pop()
            at = _char_index(data, parser.CurrentByteIndex)
            m = _START_TAG.match(xml, at) if xml.startswith("<cookies", at) else _END_TAG.match(xml, at)
            stop = m.end() if m is not None else at
            # Take the line break and indentation before <cookies> with it.
            lead = begin
            while lead > 0 and xml[lead - 1] in " \t":
                lead -= 1
            if lead > 0 and xml[lead - 1] == "\n":
                lead -= 1
            else:
                lead = begin
            cuts.append((lead, stop, ""))

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.Parse(data, True)
    if not cuts:
        return xml
    cuts.sort()
    out: list[str] = []
    last = 0
    for begin, stop, repl in cuts:
        if begin < last:
            continue
        out.append(xml[last:begin])
        out.append(repl)
        last = stop
    out.append(xml[last:])
    return _collapse_empty_sources("".join(out))


_EMPTY_SOURCE = re.compile(r"""(<source(?:\s+[^\s=/>]+\s*=\s*(?:'[^']*'|"[^"]*"))*)\s*>\s*</source\s*>""")


def _collapse_empty_sources(xml: str) -> str:
    # A <source> whose only child was <cookies> is printed by libvirt as an empty element.
    if "</source>" not in xml:
        return xml
    return _EMPTY_SOURCE.sub(r"\1/>", xml)


def _char_index(data: bytes, byte_index: int) -> int:
    """Character index in the str of ``data`` for a byte offset expat reported."""
    if data.isascii():
        return byte_index
    return len(data[:byte_index].decode("utf-8"))


# -- formatting -----------------------------------------------------------------------------------

_HEAD = "<domaincheckpoint>\n"
_TAIL = "</domaincheckpoint>\n"
_CHECKPOINT_ATTR = {"bitmap": " checkpoint='bitmap'", "no": " checkpoint='no'", None: "", "default": ""}
_DISK_OPEN = "    <disk name='"


def _head(record: Checkpoint, size: bool, rest: str = "") -> str:
    """Everything before ``<domain>``, followed by ``rest``, as one string."""
    if not size:
        out = _head_plain(record, rest)
        if out is not None:
            return out
    return _head_escaped(record, size) + rest


class _NeedsEscaping(Exception):
    """A bitmap name needs escaping: _head_escaped writes the record."""


class _KindTails(dict[Any, str]):
    """Bitmap name -> the rest of a ``<disk/>`` line after the disk's name, for one checkpoint
    type; made the first time a pair is met. A record's disks mostly share one bitmap name (the
    checkpoint's), so a line of a long list costs its name and one lookup. Bounded: cleared
    when full."""

    __slots__ = ("after",)

    def __init__(self, after: str) -> None:
        self.after = after

    def __missing__(self, bitmap: Any) -> str:
        if bitmap is None:
            tail = f"{self.after}/>\n"
        elif type(bitmap) is not str:
            raise TypeError(bitmap)
        elif _NEEDS_ESCAPE.search(bitmap) is not None:
            raise _NeedsEscaping
        else:
            tail = f"{self.after} bitmap='{bitmap}'/>\n"
        if len(self) >= _TAILS_MAX:
            self.clear()  # another thread's lookup at worst makes its tail again
        self[bitmap] = tail
        return tail


class _Tails(dict[Any, _KindTails]):
    """Checkpoint type -> its _KindTails; KeyError for an unknown type."""

    __slots__ = ()

    def __missing__(self, kind: Any) -> _KindTails:
        tails = self[kind] = _KindTails("'" + _CHECKPOINT_ATTR[kind])
        return tails


_TAILS = _Tails()
_TAILS_MAX = 1024
_BULK_DISKS = 16


def _head_plain(record: Checkpoint, rest: str) -> str | None:
    """The hot path: values written as is, then one C-level search over all of them (escaping is
    per character, so a concatenation needs it exactly when some value does); when only the
    head's values need it (an apostrophe in a description), the head is made again from them
    escaped. None when a disk's value needs escaping, a checkpoint type is unknown or a value has
    the wrong type: then _head_escaped writes the record or reports the error."""
    name = record.name
    description = record.description
    parent = record.parent
    created = record.creation_time
    if name is not None and description and parent is not None and created:
        # The most common record (a chain's checkpoint): its head made by one f-string.
        out = (
            f"<domaincheckpoint>\n  <name>{name}</name>\n  <description>{description}</description>\n"
            f"  <parent>\n    <name>{parent}</name>\n  </parent>\n  <creationTime>{int(created)}</creationTime>\n"
        )
    else:
        out = _head_lines(name, description, parent, created)
    disks = record.disks
    lines = values = ""
    if disks:
        try:
            lines, values = _many_disk_lines(disks) if len(disks) > _BULK_DISKS else _few_disk_lines(disks)
        except (KeyError, TypeError, _NeedsEscaping):
            return None
    if _NEEDS_ESCAPE.search(f"{name or ''}{description or ''}{parent or ''}{values}") is not None:
        if _NEEDS_ESCAPE.search(values) is not None:
            return None
        out = _escaped_head_lines(record)
    if disks:
        return f"{out}  <disks>\n{lines}  </disks>\n{rest}"
    return out + rest


def _head_lines(name: str | None, description: str | None, parent: str | None, created: int | None) -> str:
    """The document's start and its head elements, from values ready to write."""
    out = _HEAD
    if name is not None:
        out += f"  <name>{name}</name>\n"
    if description:
        out += f"  <description>{description}</description>\n"
    if parent is not None:
        out += f"  <parent>\n    <name>{parent}</name>\n  </parent>\n"
    if created:
        out += f"  <creationTime>{int(created)}</creationTime>\n"
    return out


def _escaped_head_lines(record: Checkpoint) -> str:
    """_head_lines with the head's values escaped. libvirt's escaper skips only NULL strings: an
    empty parent name prints as ``<name></name>``."""
    name = record.name
    description = record.description
    parent = record.parent
    return _head_lines(
        None if name is None else escape(name),
        description and escape(description),
        None if parent is None else escape(parent),
        record.creation_time,
    )


def _few_disk_lines(disks: tuple[Any, ...]) -> tuple[str, str]:
    """The ``<disk/>`` lines of a few disks, written as is, and their values concatenated (for the
    one escape check). KeyError for an unknown checkpoint type, TypeError for a value of the wrong
    type: the escaping path then reports it."""
    kinds = _CHECKPOINT_ATTR
    out = ""
    values = ""
    for d in disks:
        bitmap = d.bitmap
        if bitmap is None:
            out += f"    <disk name='{d.name}'{kinds[d.checkpoint]}/>\n"
            values += d.name
        else:
            out += f"    <disk name='{d.name}'{kinds[d.checkpoint]} bitmap='{bitmap}'/>\n"
            values += d.name + bitmap
    return out, values


def _many_disk_lines(disks: tuple[Any, ...]) -> tuple[str, str]:
    """_few_disk_lines for a long list, made by one join of pieces: each disk's name and a tail
    shared by the disks of the same type and bitmap (bitmap names checked when their tail is
    made; the names are the values returned). The records of a large document may lie scattered
    in memory, and there every pass over the disks or per-disk string costs a cache miss per
    disk; so there are no per-disk strings and two passes (C-level comprehensions)."""
    names = [d.name for d in disks]
    tails = _TAILS
    after = [tails[d.checkpoint][d.bitmap] for d in disks]
    parts = [_DISK_OPEN] * (3 * len(names))
    parts[1::3] = names
    parts[2::3] = after
    return "".join(parts), "".join(names)


def _head_escaped(record: Checkpoint, size: bool) -> str:
    """Everything before ``<domain>`` with each value escaped, the ``size`` flag, and the errors
    for records built by hand."""
    out = _escaped_head_lines(record)
    disks = record.disks
    if disks:
        out += "  <disks>\n"
        for disk in disks:
            try:
                kind = _CHECKPOINT_ATTR[disk.checkpoint]
            except KeyError:
                raise ValueError(f"disk {disk.name!r}: checkpoint must be 'bitmap' or 'no', not {disk.checkpoint!r}") from None
            dname = escape(disk.name)
            bitmap = disk.bitmap
            if bitmap is None:
                out += f"    <disk name='{dname}'{kind}/>\n"
                continue
            bitmap = escape(bitmap)
            if size and disk.size is not None:
                out += f"    <disk name='{dname}'{kind} bitmap='{bitmap}' size='{int(disk.size)}'/>\n"
            else:
                out += f"    <disk name='{dname}'{kind} bitmap='{bitmap}'/>\n"
        out += "  </disks>\n"
    return out


# A line break that is not between '>' and indentation followed by '<' (text spans lines).
_NL_NOT_STRUCTURAL = re.compile(r"\n(?:(?<!>\n)|[ \t]*+(?!<))")


def _indent2(xml: str) -> str:
    """``domain.indent(xml, 2)``, with a fast exact path for libvirt's own layout: every line
    break follows a '>' and precedes indentation and a '<', and there is no '!' or '?' at all (so
    no comment, CDATA section or PI). Then every line break is structural and a plain replace
    gives what :func:`.domain.indent` gives."""
    if "!" not in xml and "?" not in xml and _NL_NOT_STRUCTURAL.search(xml) is None:
        return xml.replace("\n", "\n  ")
    return indent(xml, 2)


def _domain(domain: Domain, secure: bool) -> str:
    """The domain's lines, two spaces in. A domain the parser kept as a span of its document is
    written from that span: the fast path proved each of its lines complete markup (fastpath's
    line memory), so every line break is structural and re-indenting is one replace, or nothing
    when it stood two spaces in, as libvirt writes it (no search for text line breaks)."""
    source = domain._source
    if source is not None:
        span, width = source
        if secure or (b"passwd" not in span and b"<cookies" not in span):  # as strip_secrets
            text = span.decode("utf-8")
            if width != 2:
                text = text.replace("\n" + " " * width, "\n  ")
            return f"  {text}\n"
    xml = domain.xml
    if not secure:
        xml = strip_secrets(xml)
    return f"  {_indent2(xml)}\n"


def iter_xml(
    record: Checkpoint,
    *,
    no_domain: bool = False,
    secure: bool = False,
    size: bool = False,
    internal: bool = False,
) -> Iterator[str]:
    """Yield the document for ``record`` in pieces (str), as libvirt would print it.

    Flags mirror libvirt's format flags: ``no_domain`` (NO_DOMAIN), ``secure`` (SECURE),
    ``size`` (SIZE: print ``size=`` on bitmap disks that have one); ``internal`` adds the
    pre-merge ``<active>`` element for records read with ``internal=True``.
    """
    yield _head(record, size)
    if record.domain is not None and not no_domain:
        yield _domain(record.domain, secure)
    if internal and record.active is not None:
        yield "  <active>1</active>\n" if record.active else "  <active>0</active>\n"
    yield _TAIL


def dumps(
    record: Checkpoint,
    *,
    no_domain: bool = False,
    secure: bool = False,
    size: bool = False,
    internal: bool = False,
) -> str:
    """The whole document for ``record`` as one string (see :func:`iter_xml`)."""
    rest = _TAIL
    if internal and record.active is not None:
        rest = ("  <active>1</active>\n" if record.active else "  <active>0</active>\n") + rest
    domain = record.domain
    if domain is not None and not no_domain:
        rest = _domain(domain, secure) + rest
    return _head(record, size, rest)


def _is_text_file(file: Any) -> bool:
    if isinstance(file, io.TextIOBase):
        return True
    if isinstance(file, (io.RawIOBase, io.BufferedIOBase)):
        return False
    mode = getattr(file, "mode", None)
    if isinstance(mode, str):
        return "b" not in mode
    return hasattr(file, "encoding")


def write(
    records: Iterable[Checkpoint],
    file: IO[str] | IO[bytes],
    *,
    no_domain: bool = False,
    secure: bool = False,
    size: bool = False,
    internal: bool = False,
) -> int:
    """Write every record of ``records`` (any iterable, consumed lazily) to ``file``, one document
    after the other, and return how many were written.

    ``file`` may be a text file (str is written) or a binary one (UTF-8 bytes are written). Memory
    stays constant: each document is written as soon as it is formatted and nothing is kept.
    """
    put = file.write
    text = _is_text_file(file)
    count = 0
    for record in records:
        doc = dumps(record, no_domain=no_domain, secure=secure, size=size, internal=internal)
        put(doc if text else doc.encode("utf-8"))  # type: ignore[arg-type]
        count += 1
    return count
