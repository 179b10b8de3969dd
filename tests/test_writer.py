"""The writer: libvirt's layout (spec A.8), its escaping table, the flags, SECURE stripping,
and writing streams of records to text and binary files."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from checkpoint_stream import Checkpoint, CheckpointDisk, Domain, parse
from checkpoint_stream.writer import dumps, escape, iter_xml, strip_secrets, write

CASES = Path(__file__).resolve().parent / "cases" / "libvirt"
PROBES = Path(__file__).resolve().parent / "cases" / "secure"


def test_full_layout_in_libvirt_order() -> None:
    record = Checkpoint(
        name="c1",
        description="d",
        parent="p0",
        creation_time=7,
        disks=(CheckpointDisk("vda", "bitmap", "b", 5), CheckpointDisk("vdb", "no")),
        domain=Domain("<domain type='kvm'>\n  <name>d</name>\n</domain>"),
    )
    assert dumps(record, size=True) == (
        "<domaincheckpoint>\n"
        "  <name>c1</name>\n"
        "  <description>d</description>\n"
        "  <parent>\n"
        "    <name>p0</name>\n"
        "  </parent>\n"
        "  <creationTime>7</creationTime>\n"
        "  <disks>\n"
        "    <disk name='vda' checkpoint='bitmap' bitmap='b' size='5'/>\n"
        "    <disk name='vdb' checkpoint='no'/>\n"
        "  </disks>\n"
        "  <domain type='kvm'>\n"
        "    <name>d</name>\n"
        "  </domain>\n"
        "</domaincheckpoint>\n"
    )


def test_optional_parts_are_left_out() -> None:
    assert dumps(Checkpoint(name="c")) == "<domaincheckpoint>\n  <name>c</name>\n</domaincheckpoint>\n"
    # libvirt's escaper prints nothing for a NULL string: a record without a name has no <name>.
    assert dumps(Checkpoint()) == "<domaincheckpoint>\n</domaincheckpoint>\n"
    assert "<description>" not in dumps(Checkpoint(name="c", description=""))
    assert "<creationTime>" not in dumps(Checkpoint(name="c", creation_time=0))
    assert "<disks>" not in dumps(Checkpoint(name="c", disks=()))


def test_disk_attributes() -> None:
    def disk_line(d: CheckpointDisk, **kw) -> str:
        return dumps(Checkpoint(name="c", disks=(d,)), **kw).splitlines()[3].strip()

    assert disk_line(CheckpointDisk("vda", "bitmap", "")) == "<disk name='vda' checkpoint='bitmap' bitmap=''/>"
    assert disk_line(CheckpointDisk("vda", "bitmap")) == "<disk name='vda' checkpoint='bitmap'/>"
    # size= only with size=True, only with a bitmap, only when known
    assert disk_line(CheckpointDisk("vda", "bitmap", "b", 9)) == "<disk name='vda' checkpoint='bitmap' bitmap='b'/>"
    assert disk_line(CheckpointDisk("vda", "bitmap", None, 9), size=True) == "<disk name='vda' checkpoint='bitmap'/>"
    assert disk_line(CheckpointDisk("vda", "bitmap", "b", None), size=True) == "<disk name='vda' checkpoint='bitmap' bitmap='b'/>"
    assert disk_line(CheckpointDisk("vda", "bitmap", "b", 0), size=True) == "<disk name='vda' checkpoint='bitmap' bitmap='b' size='0'/>"
    with pytest.raises(ValueError):
        dumps(Checkpoint(name="c", disks=(CheckpointDisk("vda", "maybe"),)))


@pytest.mark.parametrize(
    "raw, escaped",
    [
        ("plain", "plain"),
        ("&<>\"'", "&amp;&lt;&gt;&quot;&apos;"),
        ("]]>", "]]&gt;"),
        ("a\tb\nc\rd", "a\tb\nc\rd"),
        ("".join(map(chr, range(1, 9))) + "\x0b\x0c" + "".join(map(chr, range(0x0E, 0x1A))), ""),
        ("\x1a\x1f\x7f\u00e9\U0001f600", "\x1a\x1f\x7f\u00e9\U0001f600"),
        ("x\x01&\x1a", "x&amp;\x1a"),
    ],
)
def test_escape_table(raw: str, escaped: str) -> None:
    assert escape(raw) == escaped


def test_escaping_applies_to_every_escaped_field() -> None:
    nasty = "a&<>\"'\x01b"
    record = Checkpoint(
        name=nasty, description=nasty, parent=nasty, disks=(CheckpointDisk("/" + nasty, "bitmap", nasty),)
    )
    text = dumps(record)
    esc = "a&amp;&lt;&gt;&quot;&apos;b"
    assert f"<name>{esc}</name>" in text
    assert f"<description>{esc}</description>" in text
    assert f"    <name>{esc}</name>" in text
    assert f"<disk name='/{esc}' checkpoint='bitmap' bitmap='{esc}'/>" in text


def test_iter_xml_pieces_join_to_dumps() -> None:
    record = parse((CASES / "checkpoint/out/internal-active-invalid.xml").read_bytes(), internal=True)
    for kw in ({}, {"secure": True}, {"no_domain": True}, {"internal": True}, {"size": True, "internal": True}):
        pieces = list(iter_xml(record, **kw))
        assert all(isinstance(p, str) for p in pieces)
        assert "".join(pieces) == dumps(record, **kw)


def test_no_domain_and_internal_flags() -> None:
    data = (CASES / "checkpoint/out/internal-active-invalid.xml").read_text()
    record = parse(data, internal=True)
    assert record.active is True
    assert dumps(record, internal=True) == data
    plain = dumps(record)
    assert "<active>" not in plain and "<domain " in plain
    bare = dumps(record, no_domain=True, internal=True)
    assert "<domain " not in bare and bare.endswith("  </disks>\n  <active>1</active>\n</domaincheckpoint>\n")
    inactive = parse((CASES / "checkpoint/out/internal-inactive-invalid.xml").read_bytes(), internal=True)
    assert "  <active>0</active>\n" in dumps(inactive, internal=True)


# -- SECURE ---------------------------------------------------------------------------------------

SECRET_DOMAIN = """<domain type='test'>
  <name>d</name>
  <devices>
    <disk type='network' device='disk'>
      <source protocol='http' name='x.img'>
        <host name='h.example' port='80'/>
        <cookies>
          <cookie name='sess'>SECRETCOOKIE</cookie>
        </cookies>
      </source>
      <backingStore type='network' index='1'>
        <source protocol='https' name='b.img'>
          <host name='h' port='443'/>
          <cookies>
            <cookie name='bk'>BACKCOOKIE</cookie>
          </cookies>
        </source>
        <backingStore/>
      </backingStore>
      <target dev='vda' bus='virtio'/>
    </disk>
    <graphics type='vnc' port='5900' autoport='no' passwd='VNCPASS' passwdValidTo='2030-01-01T00:00:00' connected='keep'>
      <listen type='address'/>
    </graphics>
    <graphics type='spice' port='5901' autoport='no' passwd='a&apos;b&amp;&lt;' connected='disconnect'/>
    <graphics type='sdl' passwd='notsecret'/>
  </devices>
  <metadata>
    <x:graphics xmlns:x='http://x' passwd='keep'/>
    <source><cookies>keep</cookies></source>
  </metadata>
</domain>"""

SECRET_DOMAIN_STRIPPED = """<domain type='test'>
  <name>d</name>
  <devices>
    <disk type='network' device='disk'>
      <source protocol='http' name='x.img'>
        <host name='h.example' port='80'/>
      </source>
      <backingStore type='network' index='1'>
        <source protocol='https' name='b.img'>
          <host name='h' port='443'/>
        </source>
        <backingStore/>
      </backingStore>
      <target dev='vda' bus='virtio'/>
    </disk>
    <graphics type='vnc' port='5900' autoport='no' passwdValidTo='2030-01-01T00:00:00' connected='keep'>
      <listen type='address'/>
    </graphics>
    <graphics type='spice' port='5901' autoport='no' connected='disconnect'/>
    <graphics type='sdl' passwd='notsecret'/>
  </devices>
  <metadata>
    <x:graphics xmlns:x='http://x' passwd='keep'/>
    <source><cookies>keep</cookies></source>
  </metadata>
</domain>"""


def test_strip_secrets_removes_passwd_and_cookies_only() -> None:
    assert strip_secrets(SECRET_DOMAIN) == SECRET_DOMAIN_STRIPPED


def test_strip_secrets_leaves_text_without_secrets_untouched() -> None:
    xml = "<domain type='kvm'><name>passwd</name><description>cookies</description></domain>"
    assert strip_secrets(xml) is xml


def test_strip_secrets_handles_non_ascii_and_source_left_empty() -> None:
    xml = (
        "<domain type='kvm'>\n  <name>\u00e9t\u00e9</name>\n  <devices>\n"
        "    <disk type='network' device='disk'>\n      <source protocol='http' name='\u00e9.img'>\n"
        "        <cookies>\n          <cookie name='s'>v</cookie>\n        </cookies>\n      </source>\n"
        "    </disk>\n    <graphics type='vnc' passwd=\"\u00e9'x\"/>\n  </devices>\n</domain>"
    )
    assert strip_secrets(xml) == (
        "<domain type='kvm'>\n  <name>\u00e9t\u00e9</name>\n  <devices>\n"
        "    <disk type='network' device='disk'>\n      <source protocol='http' name='\u00e9.img'/>\n"
        "    </disk>\n    <graphics type='vnc'/>\n  </devices>\n</domain>"
    )


def test_secure_flag_only_affects_the_domain() -> None:
    record = Checkpoint(name="passwd", description="passwd='x' <cookies>", domain=Domain(SECRET_DOMAIN))
    with_secrets = dumps(record, secure=True)
    without = dumps(record)
    assert "VNCPASS" in with_secrets and "SECRETCOOKIE" in with_secrets
    assert "VNCPASS" not in without and "SECRETCOOKIE" not in without and "BACKCOOKIE" not in without
    assert "<description>passwd=&apos;x&apos; &lt;cookies&gt;</description>" in without
    assert without == with_secrets.replace("  " + SECRET_DOMAIN.replace("\n", "\n  "), "  " + SECRET_DOMAIN_STRIPPED.replace("\n", "\n  "))


def test_secure_matches_libvirt_probe_files() -> None:
    # The oracle probes' inputs (tests/cases/secure/secdom*.xml): what libvirt removed there.
    for name in ("secdom.xml", "secdom2.xml"):
        xml = (PROBES / name).read_text().strip()
        out = strip_secrets(xml)
        for secret in ("VNCPASS", "SPICEPASS", "SECRETCOOKIE", "BACKCOOKIE", "passwd=''", "<cookies>"):
            assert secret not in out
        for kept in ("passwdValidTo='2030-01-01T00:00:00'", "<auth username="):
            assert (kept in out) == (kept in xml)


# -- write() --------------------------------------------------------------------------------------


def _records(n: int):
    for i in range(n):
        yield Checkpoint(name=f"c{i}", description="caf\u00e9", creation_time=i + 1)


def test_write_to_text_and_binary_files() -> None:
    text = io.StringIO()
    assert write(_records(3), text) == 3
    expected = "".join(dumps(r) for r in _records(3))
    assert text.getvalue() == expected
    binary = io.BytesIO()
    assert write(_records(3), binary) == 3
    assert binary.getvalue() == expected.encode("utf-8")


def test_write_to_real_files(tmp_path: Path) -> None:
    path = tmp_path / "out.xml"
    with open(path, "wb") as fh:
        write(_records(2), fh, no_domain=True)
    with open(path, "a", encoding="utf-8") as fh:
        write(_records(1), fh)
    data = path.read_bytes().decode("utf-8")
    assert data == "".join(dumps(r) for r in _records(2)) + dumps(next(_records(1)))


def test_write_is_lazy_and_streams() -> None:
    """Each document is written before the next record is pulled (constant memory)."""
    out = io.StringIO()
    seen: list[int] = []

    def gen():
        for i in range(5):
            seen.append(out.tell())
            yield Checkpoint(name=f"c{i}")

    write(gen(), out)
    assert seen[0] == 0 and all(b > a for a, b in zip(seen, seen[1:]))


def test_written_stream_parses_back() -> None:
    from checkpoint_stream import iterparse

    buf = io.BytesIO()
    write(_records(4), buf)
    assert list(iterparse(buf.getvalue())) == list(_records(4))


@pytest.mark.parametrize(
    "xml",
    [
        "<domain type='kvm'>\n  <name>d</name>\n</domain>",
        "<domain type='kvm'><name>a\nb</name></domain>",
        "<domain type='kvm'>\n  <description>\nx</description>\n</domain>",
        "<domain type='kvm'>\n  <!-- a\n  <b> -->\n</domain>",
        "<domain type='kvm'>\n  <![CDATA[>\n  <]]>\n</domain>",
        "<domain type='kvm'>\n\n  <name>d</name> \n</domain>",
        "<domain type='kvm'>\n\t<name>?</name>\n</domain>",
        "<domain type='kvm'><name>d</name></domain>",
    ],
)
def test_fast_indent_matches_domain_indent(xml: str) -> None:
    from checkpoint_stream.markup.indentation import indent
    from checkpoint_stream.writer import _indent2

    assert _indent2(xml) == indent(xml, 2)
    record = Checkpoint(name="c", domain=Domain(xml))
    assert dumps(record, secure=True).endswith("  " + indent(xml, 2) + "\n</domaincheckpoint>\n")


@pytest.mark.parametrize("ndisks", [1, 16, 17, 300])
def test_many_disks_write_as_few(ndisks: int) -> None:
    """Lists longer than a few disks are formatted column-wise: the same text, line for line, as
    the one-disk-at-a-time path (checked against lines formatted here one by one), with escaping
    and bad types handled the same way."""

    def expected(disks: tuple[CheckpointDisk, ...]) -> str:
        out = []
        for d in disks:
            if d.bitmap is None:
                out.append(f"    <disk name='{escape(d.name)}' checkpoint='{d.checkpoint}'/>\n")
            else:
                out.append(f"    <disk name='{escape(d.name)}' checkpoint='{d.checkpoint}' bitmap='{escape(d.bitmap)}'/>\n")
        return "  <disks>\n" + "".join(out) + "  </disks>\n"

    plain = tuple(
        CheckpointDisk(f"vd{i}", "no", None) if i % 3 == 2 else CheckpointDisk(f"vd{i}", "bitmap", None if i % 5 == 4 else f"b{i}")
        for i in range(ndisks)
    )
    for disks in (plain, plain[:-1] + (CheckpointDisk("/a&b", "bitmap", "x<y"),), plain[:-1] + (CheckpointDisk("/a", "bitmap", "\x01'"),)):
        text = dumps(Checkpoint(name="c", disks=disks))
        assert text == "<domaincheckpoint>\n  <name>c</name>\n" + expected(disks) + "</domaincheckpoint>\n"
        assert parse(text.encode()).disks == tuple(
            CheckpointDisk(d.name, d.checkpoint, d.bitmap if d.bitmap is None else escape(d.bitmap).replace("&lt;", "<").replace("&amp;", "&").replace("&apos;", "'")) for d in disks
        )
    with pytest.raises(ValueError, match="checkpoint must be"):
        dumps(Checkpoint(name="c", disks=plain + (CheckpointDisk("vdz", "maybe"),)))


@pytest.mark.parametrize("nasty", ["plain", "a&<>\"'\x01b", "caf\u00e9", "x\ty"])
def test_hot_paths_write_what_the_escaping_path_writes(nasty: str) -> None:
    """The writer's fast forms (the common full record, any record, many disks) give exactly what
    the value-by-value escaping path gives, for plain values and for values that need escaping."""
    from checkpoint_stream.writer import DEFAULT_WRITER, _flags

    def _escaping_path(record):
        flags = _flags(False, False, False, False)
        return DEFAULT_WRITER.escaped(record, flags, DEFAULT_WRITER.rest(record, flags))

    disk_sets = [
        (CheckpointDisk("vda", "bitmap", nasty), CheckpointDisk("/" + nasty, "no")),
        tuple(CheckpointDisk(f"vd{i}", "bitmap", nasty if i % 2 else None) for i in range(20)),
        tuple(CheckpointDisk(f"vd{i}", "bitmap", f"b{i % 3}" if i % 2 else None) for i in range(20)),
        (CheckpointDisk("vda", "bitmap", "b"), CheckpointDisk("vdb", "no")),  # only the head may need escaping
        (),
    ]
    for disks in disk_sets:
        for record in (
            Checkpoint(name="c" + nasty, description=nasty, parent="p" + nasty, creation_time=7, disks=disks),
            Checkpoint(name="c", description=nasty, disks=disks),
            Checkpoint(parent=nasty, creation_time=9),
        ):
            assert dumps(record) == _escaping_path(record)


def _reindented(doc: str, delta: int) -> str:
    """The document with every line but the first and last moved ``delta`` columns (the domain
    then stands 2 + delta columns in)."""
    lines = doc.split("\n")
    body = [(" " * delta + line) if delta >= 0 else line[-delta:] for line in lines[1:-2]]
    return "\n".join([lines[0], *body, *lines[-2:]])


@pytest.mark.parametrize("delta", [0, 2, -2, 5])
def test_domain_written_from_its_span_as_from_its_text(delta: int) -> None:
    """A domain the fast path keeps as a span of its document (its lines proven to be complete
    markup) is written from that span: the same text the writer makes from the domain's xml, at
    every indentation it stood at, with '?' and '!' in values, with and without SECURE."""
    import dataclasses

    from checkpoint_stream.readers import DEFAULT_READER

    base = (CASES / "checkpoint/out/redefine.xml").read_text()
    variants = [
        base,
        base.replace("    <name>QEMUGuest1</name>\n", "    <name>QEMUGuest1</name>\n    <title>why? now!</title>\n"),
        base.replace("    </devices>\n", "      <graphics type='vnc' port='5900' autoport='no' passwd='s?!'/>\n    </devices>\n"),
    ]
    DEFAULT_READER.forget()
    for doc in variants:
        data = _reindented(doc, delta)
        from_span = 0
        # Another VM of the same structure first (read tag by tag), then this one (learnt: the
        # span kept), then again (read by the lines learnt).
        twin = data.replace("<name>QEMUGuest1</name>", "<name>QEMUGuest2</name>", 1)
        assert twin != data
        for text in (twin, data, data):
            DEFAULT_READER.memory.domains = {}  # not the domain read before, by its bytes
            record = parse(text)
            if record.domain._source is not None:
                from_span += 1
            as_text = dataclasses.replace(record, domain=Domain(record.domain.xml))
            assert as_text.domain._source is None
            for secure in (True, False):
                assert dumps(record, secure=secure) == dumps(as_text, secure=secure)
                assert "".join(iter_xml(record, secure=secure)) == dumps(as_text, secure=secure)
            if delta == 0:
                assert dumps(record, secure=True) == text
        assert from_span >= 1


def test_shared_disk_tails_stay_bounded() -> None:
    """The tails of long disk lists are remembered across records (a chain's records each bring
    a bitmap name of their own): the memory stays bounded and every record is still right."""
    from checkpoint_stream.writer import _TAILS_MAX, DEFAULT_WRITER

    _TAILS = DEFAULT_WRITER.tails

    for i in range(3 * _TAILS_MAX):
        disks = tuple(CheckpointDisk(f"vd{k}", "bitmap", f"c{i}") for k in range(17))
        text = dumps(Checkpoint(name=f"c{i}", disks=disks))
        assert text.count(f" bitmap='c{i}'/>\n") == 17
        assert len(_TAILS["bitmap"]) <= _TAILS_MAX
