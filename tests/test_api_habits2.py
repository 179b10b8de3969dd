"""The API fits Python habits, continued (issue #15, items 4, 5 and 8): every face takes its modes
and limits as typed keyword-only parameters, records print no secret, and ``to_dict`` is one line
of ``checkpoint-stream parse``, whose JSON Schema ships with the package."""

from __future__ import annotations

import dataclasses
import inspect
import json
from pathlib import Path
from typing import Any, Callable

import pytest

import checkpoint_stream as cs
from checkpoint_stream.api import make_options
from checkpoint_stream.limits import Limits
from checkpoint_stream.readers import Options
from faces_util import collect

DOC = b"<domaincheckpoint>\n  <name>a</name>\n  <creationTime>5</creationTime>\n</domaincheckpoint>\n"
ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "cases"

FACES: dict[str, Callable[..., Any]] = {
    "parse": cs.parse,
    "iterparse": cs.iterparse,
    "aiterparse": cs.aiterparse,
    "iter_sources": cs.iter_sources,
    "CheckpointParser": cs.CheckpointParser,
}


# -- typed keyword-only parameters ----------------------------------------------------------------


@pytest.mark.parametrize("face", FACES)
def test_every_mode_and_limit_is_a_typed_keyword(face: str) -> None:
    params = inspect.signature(FACES[face]).parameters
    assert not any(p.kind is p.VAR_KEYWORD for p in params.values()), "no **kwargs: an IDE completes every keyword"
    expected: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(Options)}
    expected.update({f.name: None for f in dataclasses.fields(Limits)})
    expected.update(limits=None, reader=None)
    for name, default in expected.items():
        assert name in params, f"{face}() does not take {name}="
        param = params[name]
        assert param.kind is param.KEYWORD_ONLY, name
        assert param.default == default, name
        assert param.annotation is not inspect.Parameter.empty, name
    # The limit keywords are annotated as ints, the modes as what Options holds.
    assert "int" in str(params["max_depth"].annotation) and "bool" in str(params["redefine"].annotation)


def test_make_options_takes_every_option() -> None:
    params = inspect.signature(make_options).parameters
    assert list(params) == [f.name for f in dataclasses.fields(Options)]
    assert make_options(align=True, internal=True) == Options(align=True, internal=True)


@pytest.mark.parametrize("face", FACES)
def test_a_misspelt_keyword_is_a_type_error_naming_it(face: str) -> None:
    with pytest.raises(TypeError, match="redefin"):
        collect(face, DOC, redefin=True)
    with pytest.raises(TypeError, match="max_dpeth"):
        collect(face, DOC, max_dpeth=3)


@pytest.mark.parametrize("face", FACES)
def test_keywords_take_effect_in_every_face(face: str) -> None:
    if face == "parse":
        with pytest.raises(cs.LimitError, match="max_text"):
            collect(face, DOC, max_text=1)
        with pytest.raises(cs.SemanticError):
            collect(face, DOC, redefine=True)  # no <domain>
    else:
        skip: dict[str, Any] = {} if face in ("iter_sources",) else {"yield_errors": True} if face != "CheckpointParser" else {}
        got = collect(face, DOC, on_error="skip", max_text=1, **skip)
        if face == "CheckpointParser":
            assert got == []
        else:
            assert [type(e) for e in got] == [cs.LimitError]
        got = collect(face, DOC, on_error="skip", redefine=True, **skip)
        assert all(isinstance(e, cs.SemanticError) for e in got)
    # A limit of its own keyword overrides the one of ``limits``; the others stay.
    record = collect(face, DOC, limits=Limits(max_text=1), max_text=100)[0]
    assert record.name == "a"
    assert collect(face, DOC, redefine=True, require_domain=False)[0].creation_time == 5


ALIGNABLE = (
    "<domain type='test'>\n  <name>vm</name>\n  <devices>\n"
    "    <disk type='file' device='disk'>\n      <source file='/v/vda.img'/>\n      <target dev='vda' bus='virtio'/>\n    </disk>\n"
    "    <disk type='file' device='cdrom'>\n      <target dev='hdc' bus='ide'/>\n      <readonly/>\n    </disk>\n"
    "  </devices>\n</domain>"
)


@pytest.mark.parametrize("face", FACES)
def test_align_is_a_mode_of_every_face(face: str) -> None:
    record = cs.Checkpoint(name="c1", creation_time=5, domain=cs.Domain(ALIGNABLE))
    doc = cs.dumps(record).encode()
    plain = cs.parse(doc)
    aligned = cs.align_disks(plain)
    assert [(d.name, d.checkpoint, d.bitmap) for d in aligned.disks] == [("vda", "bitmap", "c1"), ("hdc", "no", None)]
    assert plain.disks == ()
    assert collect(face, doc, align=True) == [aligned]
    assert collect(face, doc) == [plain]


# -- to_dict is one parse line ----------------------------------------------------------------------

SECRET_DOMAIN = (CASES / "secure" / "secdom.xml").read_text().strip()
SECRETS = ("VNCPASS", "SPICEPASS", "SECRETCOOKIE")


def _documents() -> list[tuple[str, Any]]:
    """Every record of every XML document of tests/cases and examples/ (archives included), read
    in the default mode and, for the internal format's cases, in that mode too."""
    found: list[tuple[str, Any]] = []
    sources = sorted(str(p) for p in (ROOT / "tests" / "cases").rglob("*.xml"))
    sources += [str(ROOT / "examples"), str(ROOT / "examples" / "vm1-checkpoints.tar.gz")]
    for item in cs.iter_sources(sources, on_error="skip"):
        if isinstance(item, cs.Checkpoint):
            found.append(("document", item))
    for path in sorted((ROOT / "tests" / "cases").rglob("internal-*.xml")):
        for item in cs.iter_sources(str(path), on_error="skip", internal=True):
            if isinstance(item, cs.Checkpoint):
                found.append(("internal", item))
    return found


DOCUMENTS = _documents()


def test_the_corpus_is_large_enough() -> None:
    assert len(DOCUMENTS) >= 30
    assert any(record.active is not None for _, record in DOCUMENTS)
    assert any(record.domain is None for _, record in DOCUMENTS) and any(record.domain is not None for _, record in DOCUMENTS)
    assert any(record.origin is not None and record.origin.member for _, record in DOCUMENTS)  # from an archive


def test_to_dict_keys_are_a_parse_lines() -> None:
    uuid = "4DEA22B31D52D8F32516782E98AB3FA0"
    domain = cs.Domain(f"<domain type='kvm'><name>vm1</name><uuid>{uuid}</uuid><os><type>hvm</type></os></domain>")
    record = cs.Checkpoint(name="n1", parent="n0", creation_time=7, domain=domain, origin=cs.Origin("a.tar", "x/n1.xml", 3, 100, 200))
    data = record.to_dict()
    assert list(data) == ["type", "name", "description", "parent", "creationTime", "disks", "domain", "vm", "vmName", "source"]
    assert data["type"] == "checkpoint"
    assert data["vm"] == "4dea22b3-1d52-d8f3-2516-782e98ab3fa0" and data["vmName"] == "vm1"
    assert data["source"] == {"path": "a.tar", "member": "x/n1.xml", "index": 3}
    assert data["domain"] == domain.xml
    bare = cs.Checkpoint(name="n2", active=False).to_dict()
    assert bare["vm"] is bare["vmName"] is bare["source"] is bare["domain"] is None
    assert list(bare)[7] == "active" and bare["active"] is False
    assert record.to_dict(domain=False)["domain"] is None and record.to_dict(domain=False)["vm"] == data["vm"]
    json.dumps(data)  # one JSON line as it is


@pytest.mark.parametrize("mode,record", DOCUMENTS)
def test_a_parse_line_reads_back(mode: str, record: Any) -> None:
    data = json.loads(json.dumps(record.to_dict(secure=True)))
    back = cs.Checkpoint.from_dict(data)
    assert back == record and back.active == record.active
    assert back.origin is not None and record.origin is not None
    assert (back.origin.path, back.origin.member, back.origin.index) == (record.origin.path, record.origin.member, record.origin.index)
    given = cs.Origin("elsewhere.xml")
    assert cs.Checkpoint.from_dict(data, origin=given).origin is given
    internal = mode == "internal"
    assert cs.parse(cs.dumps(back, secure=True, size=True, internal=internal), internal=internal) == record


def test_from_dict_checks_vm_against_the_domain() -> None:
    record = cs.Checkpoint(name="n1", domain=cs.Domain.from_xml(SECRET_DOMAIN))
    data = record.to_dict(secure=True)
    assert cs.Checkpoint.from_dict({**data, "vm": data["vm"].upper().replace("-", "")}) == record  # the same uuid
    with pytest.raises(cs.SchemaError, match="'vm'"):
        cs.Checkpoint.from_dict({**data, "vm": "00000000-0000-0000-0000-000000000000"})
    with pytest.raises(cs.SchemaError, match="'vmName'"):
        cs.Checkpoint.from_dict({**data, "vmName": "other"})
    with pytest.raises(cs.SchemaError, match="'vmName'"):
        cs.Checkpoint.from_dict({**data, "vmName": 3})
    # A --no-domain line: no domain to check them against, they are dropped.
    no_domain = record.to_dict(domain=False)
    assert cs.Checkpoint.from_dict({**no_domain, "vmName": "anything"}) == cs.Checkpoint(name="n1")
    with pytest.raises(cs.SchemaError, match="source field 'index'"):
        cs.Checkpoint.from_dict({**data, "source": {"path": None, "member": None, "index": -1}})
    with pytest.raises(cs.SchemaError, match="unknown source field"):
        cs.Checkpoint.from_dict({**data, "source": {"path": None, "member": None, "index": 0, "offset": 3}})


# -- secrets ----------------------------------------------------------------------------------------


def test_to_dict_strips_what_libvirt_hides_unless_secure() -> None:
    record = cs.Checkpoint(name="n1", domain=cs.Domain.from_xml(SECRET_DOMAIN))
    shown = record.to_dict()["domain"]
    kept = record.to_dict(secure=True)["domain"]
    assert kept == record.domain.xml  # type: ignore[union-attr]
    for secret in SECRETS:
        assert secret in kept and secret not in shown
    assert "passwdValidTo=" in shown and "<auth username='admin'>" in shown  # what libvirt keeps, kept
    assert shown == cs.parse(cs.dumps(record)).domain.xml  # type: ignore[union-attr]  # as the writer strips it


def test_strip_secrets_moved_below_the_records() -> None:
    from checkpoint_stream import writer
    from checkpoint_stream.markup import secrets

    assert writer.strip_secrets is secrets.strip_secrets
    assert "strip_secrets" in writer.__all__


def test_repr_summarises_the_domain_and_never_shows_a_secret() -> None:
    record = cs.Checkpoint(name="n1", parent="n0", creation_time=5, domain=cs.Domain.from_xml(SECRET_DOMAIN), disks=(cs.CheckpointDisk("vda"),))
    text = repr(record)
    for secret in SECRETS:
        assert secret not in text
    size = len(SECRET_DOMAIN.encode())
    assert text == (
        f"Checkpoint(name='n1', parent='n0', creation_time=5, disks=1, "
        f"domain=<Domain test 'd' uuid=c7a5fdbd-edaf-9455-926a-d65c16db1809 {size / 1024:.1f} KiB>)"
    )
    assert "<devices>" not in repr(record.domain) and "<devices>" not in str(record)
    assert repr(cs.Checkpoint(name="x", active=True)) == "Checkpoint(name='x', parent=None, creation_time=None, disks=0, active=True, domain=None)"
    assert repr(cs.Domain("no xml")) == "<Domain 6 B>"  # a repr never fails
    # Equality and hashing are the dataclass's, as before.
    twin = cs.Checkpoint(name="n1", parent="n0", creation_time=5, domain=cs.Domain(SECRET_DOMAIN), disks=(cs.CheckpointDisk("vda"),))
    assert twin == record and hash(twin) == hash(record) and len({twin, record}) == 1
    assert twin != cs.Checkpoint(name="n1")


# -- the JSON Schema of a parse line ----------------------------------------------------------------

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is in the 'test' extra: pip install -e .[test]")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SCHEMA = cs.output_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_the_schema_follows_the_grammar() -> None:
    from checkpoint_stream.grammar import GRAMMAR

    disk = GRAMMAR.checkpoint.rules["disk"]
    props = SCHEMA["$defs"]["disk"]["properties"]
    assert props["name"]["pattern"] == f"^(?:{disk.attributes['name'].pattern.pattern})$"  # type: ignore[union-attr]
    assert props["checkpoint"]["enum"] == list(disk.attributes["checkpoint"].choices)
    assert props["size"]["maximum"] == disk.attributes["size"].maximum
    assert list(props) == [f.field for f in disk.fields]
    leaves = {rule.field: rule for rule in GRAMMAR.checkpoint.rules.values() if rule.field is not None}
    assert SCHEMA["$defs"]["momentName"]["pattern"] == f"^{leaves['name'].text.pattern.pattern}$"  # type: ignore[union-attr]
    assert SCHEMA["$defs"]["momentName"]["pattern"] == f"^{leaves['parent'].text.pattern.pattern}$"  # type: ignore[union-attr]
    assert SCHEMA["$defs"]["checkpoint"]["properties"]["creationTime"]["maximum"] == leaves["creationTime"].text.maximum  # type: ignore[union-attr]
    exclusion = disk.exclusions[0]
    assert SCHEMA["$defs"]["disk"]["if"]["properties"][exclusion.attribute]["const"] == exclusion.value
    assert sorted(SCHEMA["$defs"]["disk"]["then"]["properties"]) == sorted(exclusion.forbidden)
    assert set(SCHEMA["$defs"]["checkpoint"]["properties"]) == set(cs.Checkpoint(name="a", active=True).to_dict())


def test_the_snapshot_schema_follows_the_grammar() -> None:
    from checkpoint_stream.grammar.snapshot import SNAPSHOT

    rules = SNAPSHOT.rules
    snap = SCHEMA["$defs"]["snapshot"]["properties"]
    disk = SCHEMA["$defs"]["snapshotDisk"]["properties"]
    assert set(snap) == set(cs.Snapshot(name="a", active=True).to_dict())
    assert set(snap) - {"active"} == set(SCHEMA["$defs"]["snapshot"]["required"])
    assert list(disk) == list(cs.SnapshotDisk("vda").to_dict())
    assert disk["snapshot"]["oneOf"][1]["enum"] == list(rules["disk"].attributes["snapshot"].choices)
    assert disk["type"]["enum"] == list(rules["disk"].attributes["type"].choices)
    assert disk["driver"]["oneOf"][1]["enum"] == list(rules["disk/driver"].attributes["type"].choices)
    assert snap["memory"]["oneOf"][1]["properties"]["snapshot"]["enum"] == list(rules["memory"].attributes["snapshot"].choices)
    assert set(rules["state"].text.choices) <= set(snap["state"]["oneOf"][1]["enum"])  # type: ignore[union-attr]


def test_the_schema_ships_with_the_package() -> None:
    """The file output_schema() reads is the one the package data (pyproject.toml) ships; a
    built wheel holding it was checked by hand (pip wheel, unzip -l): building one here would
    need the network."""
    import fnmatch
    import re

    schema = ROOT / "checkpoint_stream" / "schemas" / "parse-output.schema.json"
    assert json.loads(schema.read_text(encoding="utf-8")) == SCHEMA
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    section = pyproject.split("[tool.setuptools.package-data]", 1)[1].split("\n[", 1)[0]
    line = re.search(r"^checkpoint_stream\s*=\s*\[(.*)\]", section, re.M)
    assert line is not None
    globs = re.findall(r'"([^"]+)"', line.group(1))
    assert any(fnmatch.fnmatch("schemas/parse-output.schema.json", g) for g in globs), globs
    assert re.search(r'^test = \[.*"jsonschema', pyproject, re.M), "jsonschema is in the test extra"


def _errors(data: Any) -> list[str]:
    return [e.message for e in VALIDATOR.iter_errors(data)]


@pytest.mark.parametrize("secure", [False, True])
def test_every_record_of_the_corpus_fits_the_schema(secure: bool) -> None:
    for _, record in DOCUMENTS:
        for data in (record.to_dict(secure=secure), record.to_dict(secure=secure, domain=False)):
            assert _errors(json.loads(json.dumps(data))) == [], repr(record)


def test_the_command_lines_output_fits_the_schema_and_is_to_dict() -> None:
    from cli_util import run

    proc = run("parse", "examples")
    lines = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert len(lines) >= 10
    records = [item for item in cs.iter_sources("examples", on_error="skip") if isinstance(item, cs.Checkpoint)]
    for line in lines:
        assert _errors(line) == []
    assert lines == [record.to_dict() for record in records]


def test_the_schema_refuses_wrong_shapes() -> None:
    good = cs.Checkpoint(
        name="n1", creation_time=5, disks=(cs.CheckpointDisk("vda", "bitmap", "n1", 10), cs.CheckpointDisk("vdb", "no")), origin=cs.Origin("a.xml")
    ).to_dict()
    assert _errors(good) == []
    bad_shapes: dict[str, Any] = {
        "missing name": {k: v for k, v in good.items() if k != "name"},
        "missing source": {k: v for k, v in good.items() if k != "source"},
        "disks not a list": {**good, "disks": {"name": "vda"}},
        "bad checkpoint attribute": {**good, "disks": [{**good["disks"][0], "checkpoint": "maybe"}]},
        "bitmap with checkpoint='no'": {**good, "disks": [{**good["disks"][1], "bitmap": "b"}]},
        "bad disk name": {**good, "disks": [{**good["disks"][0], "name": "nvme0"}]},
        "disk field missing": {**good, "disks": [{k: v for k, v in good["disks"][0].items() if k != "size"}]},
        "unknown field": {**good, "extra": 1},
        "bad name": {**good, "name": ".hidden"},
        "creationTime a string": {**good, "creationTime": "5"},
        "negative creationTime": {**good, "creationTime": -1},
        "wrong type": {**good, "type": "snapshot"},
        "vm not canonical": {**good, "vm": "4DEA22B31D52D8F32516782E98AB3FA0"},
        "active not a flag": {**good, "active": 1},
        "source index negative": {**good, "source": {"path": "a", "member": None, "index": -1}},
        "domain not a domain": {**good, "domain": "<domaincheckpoint/>"},
    }
    for what, data in bad_shapes.items():
        assert _errors(data), f"{what}: accepted"


# -- generated records ------------------------------------------------------------------------------

_names = st.from_regex(r"[a-zA-Z0-9_-][a-zA-Z0-9_.-]{0,20}", fullmatch=True)
_attr_chars = st.characters(blacklist_categories=("Cs", "Cc"))
_disk_names = st.one_of(
    st.from_regex(r"(ioemu:)?(fd|hd|sd|vd|xvd|ubd)[a-zA-Z0-9_]{1,6}", fullmatch=True),
    st.builds(lambda p, t: p + t, st.sampled_from(["/", "C:\\"]), st.text(_attr_chars, min_size=1, max_size=20)),
)
_domains = st.sampled_from([None] + [record.domain for _, record in DOCUMENTS if record.domain is not None][:5])


@st.composite
def _disks(draw: Any) -> cs.CheckpointDisk:
    name = draw(_disk_names)
    if draw(st.booleans()):
        return cs.CheckpointDisk(name, "no")
    bitmap = draw(st.one_of(st.none(), st.text(_attr_chars, max_size=20)))
    size = draw(st.one_of(st.none(), st.integers(0, 18446744073709551615))) if bitmap is not None else None
    return cs.CheckpointDisk(name, "bitmap", bitmap, size)


@st.composite
def _records(draw: Any) -> cs.Checkpoint:
    origin = draw(st.one_of(st.none(), st.builds(cs.Origin, st.one_of(st.none(), st.text(max_size=10)), st.one_of(st.none(), st.text(max_size=10)), st.integers(0, 10**6))))
    return cs.Checkpoint(
        name=draw(st.one_of(st.none(), _names)),
        description=draw(st.one_of(st.none(), st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30))),
        parent=draw(st.one_of(st.none(), _names)),
        creation_time=draw(st.one_of(st.none(), st.integers(0, 18446744073709551615))),
        domain=draw(_domains),
        disks=tuple(draw(st.lists(_disks(), max_size=4))),
        active=draw(st.one_of(st.none(), st.booleans())),
        origin=origin,
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_records())
def test_generated_records_fit_the_schema_and_read_back(record: cs.Checkpoint) -> None:
    data = json.loads(json.dumps(record.to_dict(secure=True)))
    assert _errors(data) == []
    back = cs.Checkpoint.from_dict(data)
    assert back == record and back.active == record.active
    assert (back.origin is None) == (record.origin is None)


def test_a_stream_that_is_no_path_is_named_by_the_caller() -> None:
    import io

    record = next(iter(cs.iterparse(io.BytesIO(DOC), path="s3://bucket/a.xml", member="m")))
    assert isinstance(record, cs.Checkpoint) and record.origin is not None
    assert (record.origin.path, record.origin.member) == ("s3://bucket/a.xml", "m")
    errors = list(cs.iterparse(io.BytesIO(b"<nope/>"), path="s3://bucket/b.xml", on_error="skip", yield_errors=True))
    assert [getattr(e, "source", None) for e in errors] == ["s3://bucket/b.xml"]
