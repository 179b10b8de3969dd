"""The three ways of reading a document (spec A.3): the default document mode, libvirt's
REDEFINE (``redefine=True``) and libvirt's plain create (``create=True``), plus the internal
format (``internal=True``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from checkpoint_stream import CheckpointDisk, CheckpointParser, SchemaError, SemanticError, parse

CASES = Path(__file__).resolve().parent / "cases"
DOMAIN = "<domain type='test'><name>d</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid><memory>1024</memory><os><type>hvm</type></os></domain>"


def doc(*parts: str) -> str:
    return "<domaincheckpoint>" + "".join(parts) + "</domaincheckpoint>"


FULL = doc(
    "<name>c</name><description>d</description><parent><name>p</name></parent>",
    "<creationTime>42</creationTime>",
    "<disks><disk name='vda' bitmap='b' size='99'/><disk name='vdb' checkpoint='no'/></disks>",
    DOMAIN,
)


# -- default document mode --------------------------------------------------------------------


def test_default_mode_keeps_every_field_as_written() -> None:
    record = parse(FULL)
    assert record.name == "c"
    assert record.description == "d"
    assert record.parent == "p"
    assert record.creation_time == 42
    assert record.disks == (CheckpointDisk("vda", "bitmap", "b", 99), CheckpointDisk("vdb", "no", None, None))
    assert record.domain is not None and record.domain.xml == DOMAIN
    assert record.active is None


def test_default_mode_requires_nothing() -> None:
    record = parse("<domaincheckpoint/>")
    assert (record.name, record.creation_time, record.parent, record.domain, record.disks) == (None, None, None, None, ())


def test_default_mode_keeps_times_beyond_signed_64_bit() -> None:
    assert parse(doc("<creationTime>18446744073709551615</creationTime>")).creation_time == 18446744073709551615


# -- redefine -----------------------------------------------------------------------------------


def test_redefine_reads_everything_but_size() -> None:
    record = parse(FULL, redefine=True)
    assert (record.name, record.parent, record.creation_time) == ("c", "p", 42)
    assert record.disks == (CheckpointDisk("vda", "bitmap", "b", None), CheckpointDisk("vdb", "no", None, None))
    assert record.domain is not None and record.domain.type == "test"


@pytest.mark.parametrize(
    "text,value",
    [("9223372036854775807", 9223372036854775807), ("0", 0), ("007", 7), ("5", 5)],
)
def test_redefine_creation_time(text: str, value: int) -> None:
    assert parse(doc("<name>c</name>", f"<creationTime>{text}</creationTime>", DOMAIN), redefine=True).creation_time == value


def test_redefine_creation_time_beyond_signed_64_bit() -> None:
    text = doc("<name>c</name><creationTime>9223372036854775808</creationTime>", DOMAIN)
    with pytest.raises(SemanticError) as info:
        parse(text, redefine=True)
    assert "missing creationTime from existing checkpoint" in info.value.message
    assert "9223372036854775807" in info.value.message  # says what the limit is
    assert (info.value.line, info.value.column, info.value.path) == (1, 1, "/domaincheckpoint")
    assert parse(text).creation_time == 9223372036854775808  # fine in the default mode


def test_redefine_needs_creation_time() -> None:
    with pytest.raises(SemanticError, match="missing creationTime from existing checkpoint: add <creationTime>"):
        parse(doc("<name>c</name>", DOMAIN), redefine=True)


@pytest.mark.parametrize("text", ["<domaincheckpoint/>", doc("<creationTime>5</creationTime>", DOMAIN)])
def test_redefine_needs_a_name_first(text: str) -> None:
    with pytest.raises(SemanticError, match="a redefined checkpoint must have a name"):
        parse(text, redefine=True, require_domain=False)


def test_redefine_needs_the_domain_unless_relaxed() -> None:
    text = doc("<name>c</name><creationTime>5</creationTime><disks><disk name='vda' size='1'/></disks>")
    with pytest.raises(SemanticError) as info:
        parse(text, redefine=True)
    assert "must carry its <domain>" in info.value.message
    assert "require_domain=False" in info.value.message  # says how to relax it
    record = parse(text, redefine=True, require_domain=False)
    assert record.domain is None
    assert record.disks == (CheckpointDisk("vda", "bitmap", None, None),)


def test_redefine_runs_the_domain_parser_rules() -> None:
    text = doc("<name>c</name><creationTime>5</creationTime><domain type='kvm'><name>d</name></domain>")
    assert parse(text).domain is not None  # schema-valid
    with pytest.raises(SemanticError, match=r"an os <type> must be specified"):
        parse(text, redefine=True)


def test_redefine_schema_errors_still_come_first() -> None:
    with pytest.raises(SchemaError, match="checkpoint name '.c' is invalid"):
        parse(doc("<name>.c</name>"), redefine=True)


# -- create -------------------------------------------------------------------------------------


def test_create_validates_then_drops_time_parent_domain_and_size() -> None:
    record = parse(FULL, create=True, clock=lambda: 1700000000.75)
    assert record.name == "c"
    assert record.description == "d"
    assert record.creation_time == 1700000000  # the clock, truncated
    assert record.parent is None and record.domain is None
    assert record.disks == (CheckpointDisk("vda", "bitmap", "b", None), CheckpointDisk("vdb", "no", None, None))


def test_create_names_an_unnamed_checkpoint_after_the_clock() -> None:
    record = parse("<domaincheckpoint/>", create=True, clock=lambda: 1525889631)
    assert (record.name, record.creation_time) == ("1525889631", 1525889631)


def test_create_uses_the_injected_clock_per_document() -> None:
    ticks = iter([100, 200])
    parser = CheckpointParser(create=True, clock=lambda: next(ticks))
    records = parser.feed(b"<domaincheckpoint/><domaincheckpoint/>") + parser.close()
    assert [(r.name, r.creation_time) for r in records] == [("100", 100), ("200", 200)]


def test_create_default_clock_is_wall_time() -> None:
    import time

    before = int(time.time())
    record = parse("<domaincheckpoint/>", create=True)
    assert before <= (record.creation_time or 0) <= int(time.time())


@pytest.mark.parametrize(
    "part,message",
    [
        ("<creationTime>x</creationTime>", "creationTime 'x' is invalid"),
        ("<creationTime>18446744073709551616</creationTime>", "is out of range"),
        ("<parent/>", "<parent> must hold exactly one <name>"),
        ("<domain type='bogus'><name>d</name></domain>", "is not a hypervisor type"),
        ("<disks><disk name='vda' size='x'/></disks>", "size 'x' is invalid"),
    ],
)
def test_create_still_rejects_bad_values_it_drops(part: str, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        parse(doc(part), create=True, clock=lambda: 1)


def test_create_accepts_a_time_redefine_would_refuse() -> None:
    record = parse(doc("<creationTime>9223372036854775808</creationTime>"), create=True, clock=lambda: 1)
    assert record.creation_time == 1


def test_create_and_redefine_exclude_each_other() -> None:
    with pytest.raises(ValueError, match="exclude each other"):
        parse("<domaincheckpoint/>", create=True, redefine=True)
    with pytest.raises(ValueError):
        CheckpointParser(create=True, redefine=True)


# -- internal format ----------------------------------------------------------------------------


@pytest.mark.parametrize("name,active", [("internal-inactive.xml", False), ("internal-active.xml", True)])
def test_internal_founding_examples(name: str, active: bool) -> None:
    data = (CASES / name).read_bytes()
    record = parse(data, internal=True)
    assert record.active is active
    assert record.name == "1525889631" and record.parent == "1525111885"
    assert record.domain is not None and record.domain.name == "QEMUGuest1"
    assert [d.target for d in record.domain.disks] == ["vda", "vdb"]
    assert parse(data, internal=True, redefine=True).active is active
    assert record.to_dict()["active"] is active


@pytest.mark.parametrize("name", ["internal-inactive.xml", "internal-active.xml"])
def test_internal_examples_are_rejected_without_internal(name: str) -> None:
    data = (CASES / name).read_bytes()
    with pytest.raises(SchemaError) as info:
        parse(data)
    err = info.value
    assert "internal=True" in err.message and "<active>" in err.message
    lines = data.decode().splitlines()
    assert lines[err.line - 1].strip().startswith("<active>")  # type: ignore[operator]
    assert err.column == lines[err.line - 1].index("<active>") + 1  # type: ignore[operator]
    with pytest.raises(SchemaError, match="internal=True"):
        parse(data, redefine=True)


@pytest.mark.parametrize(
    "part,error,message",
    [
        ("", SemanticError, "needs an <active>0</active> or <active>1</active>"),
        ("<active>2</active>", SchemaError, "active flag '2' is invalid: use 0 or 1"),
        ("<active> 1</active>", SchemaError, "active flag ' 1' is invalid"),
        ("<active>1</active><active>1</active>", SchemaError, "element <active> appears more than once"),
    ],
)
def test_internal_active_rules(part: str, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        parse(doc("<name>c</name>", part), internal=True)


def test_internal_active_may_stand_anywhere() -> None:
    assert parse(doc("<active>0</active><name>c</name>"), internal=True).active is False
