"""The command line as a new user meets it (issue #15): error positions an editor finds, errors a
program can read (``--errors json``), grep's ``-l``/``-L``/``-q``, loud empty input, secrets left
out of ``parse``, limits named by their flag, pv-like progress, Ctrl-C in ``validate``,
``parse --fields``, and ``--align`` errors at the disk element. Every test runs the real command
(``python -m checkpoint_stream``) and checks exit status, standard output and standard error
apart."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import select
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_util import REPO, command, env, json_lines, read_pty, run  # noqa: E402

VM1 = REPO / "examples" / "vm1" / "checkpoints"
ERROR_KEYS = [
    "type", "class", "message", "path", "member", "document", "line", "column",
    "documentLine", "documentColumn", "offset", "element",
]
TEXT_ERROR = re.compile(r"^(?P<where>.+?):(?P<line>\d+):(?P<col>\d+): error: (?P<msg>.+) \(document (?P<doc>\d+), offset (?P<offset>\d+)\)$")
HINT = b"checkpoint-stream: reading standard input (Ctrl-D to end)"


def doc(name: str, broken: bool = False) -> bytes:
    end = b"</nam>" if broken else b"</name>"
    return b"<domaincheckpoint>\n  <name>%s%s\n</domaincheckpoint>\n" % (name.encode(), end)


def position(data: bytes, offset: int) -> tuple[int, int]:
    """Line and column (1-based) of byte ``offset``, counted from the start of ``data``."""
    line = data.count(b"\n", 0, offset) + 1
    return line, offset - (data.rfind(b"\n", 0, offset) + 1) + 1


def names(out: bytes) -> list[str]:
    return [obj["name"] for obj in json_lines(out)]


@pytest.fixture
def mixed(tmp_path: Path) -> tuple[Path, bytes]:
    """Two good documents, a log line between documents, a broken one, a good one."""
    data = doc("a") + doc("b") + b"Dec 07 02:38:38 host backup[123]: done\n" + doc("c", broken=True) + doc("d")
    path = tmp_path / "mixed.xml"
    path.write_bytes(data)
    return path, data


# -- 1. positions from the start of the file; validate counts no garbage as a document ------------


def test_error_lines_count_from_the_start_of_the_file(mixed: tuple[Path, bytes]) -> None:
    path, data = mixed
    proc = run("parse", "--on-error", "skip", str(path))
    assert proc.returncode == 1
    assert names(proc.stdout) == ["a", "b", "d"]
    found = [TEXT_ERROR.match(line) for line in proc.stderr.decode().splitlines()]
    assert all(found), proc.stderr.decode()
    garbage, broken = found
    assert (garbage["where"], garbage["line"], garbage["col"]) == (str(path), "7", "1")
    assert "garbage between documents" in garbage["msg"]
    # the broken end tag is on line 9 of the file (line 2 of its document), as sed/an editor count
    assert broken["line"] == "9"
    assert data.splitlines()[8] == b"  <name>c</nam>"
    for m in found:  # the line and column are those of the byte offset printed beside them
        assert position(data, int(m["offset"])) == (int(m["line"]), int(m["col"]))


def test_error_in_an_archive_member_counts_from_the_member(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("m.xml", doc("ok") + doc("ok2") + doc("bad", broken=True))
    proc = run("validate", str(path))
    assert proc.returncode == 1
    m = TEXT_ERROR.match(proc.stderr.decode().strip())
    assert m, proc.stderr
    assert (m["where"], m["line"], m["doc"]) == (f"{path}:m.xml", "8", "2")


def test_validate_counts_garbage_apart(mixed: tuple[Path, bytes]) -> None:
    path, _ = mixed
    proc = run("validate", str(path))
    assert proc.returncode == 1
    assert proc.stdout.decode() == "4 documents, 3 valid, 1 invalid; 1 stretch of garbage between documents\n"
    assert len(proc.stderr.decode().splitlines()) == 2  # the garbage and the broken document
    only_garbage = run("validate", input=doc("a") + b"stray text\n" + doc("b") + b"more\n" + doc("c"))
    assert only_garbage.returncode == 1  # reported as errors: not a clean run
    assert only_garbage.stdout.decode() == "3 documents, 3 valid, 0 invalid; 2 stretches of garbage between documents\n"
    clean = run("validate", input=doc("a") + doc("b"))
    assert (clean.returncode, clean.stdout, clean.stderr) == (0, b"2 documents, 2 valid, 0 invalid\n", b"")


def test_format_errors_give_the_line_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"name": "a"}\n\nnot json\n')
    text = run("format", str(path))
    assert text.returncode == 1
    assert text.stderr.decode() == f"{path}:3: error: invalid JSON: Expecting value (column 1)\n"
    (obj,) = json_lines(run("format", "--errors", "json", str(path)).stderr)
    assert (obj["line"], obj["documentLine"], obj["path"], obj["class"]) == (3, 3, str(path), "NotWellFormedError")


# -- 2. --errors json, -l, -L, -q -----------------------------------------------------------------------


def test_errors_json_one_object_per_line_and_stdout_untouched(mixed: tuple[Path, bytes]) -> None:
    path, data = mixed
    text = run("parse", "--on-error", "skip", str(path))
    proc = run("parse", "--on-error", "skip", "--errors", "json", str(path))
    assert proc.returncode == text.returncode == 1
    assert proc.stdout == text.stdout  # the records are what they were
    garbage, broken = json_lines(proc.stderr)
    for obj in (garbage, broken):
        assert list(obj) == ERROR_KEYS
        assert obj["type"] == "error" and obj["path"] == str(path) and obj["member"] is None
        assert position(data, obj["offset"]) == (obj["line"], obj["column"])
    assert garbage["class"] == broken["class"] == "NotWellFormedError"
    assert (broken["document"], broken["line"], broken["documentLine"], broken["documentColumn"]) == (3, 9, 2, broken["column"])
    assert "mismatched tag" in broken["message"]
    # the same errors as the text lines, field for field
    for line, obj in zip(text.stderr.decode().splitlines(), (garbage, broken)):
        m = TEXT_ERROR.match(line)
        assert m and (int(m["line"]), int(m["col"]), int(m["doc"]), int(m["offset"])) == (
            obj["line"], obj["column"], obj["document"], obj["offset"]
        )


def test_errors_json_element_source_error_and_warning(tmp_path: Path) -> None:
    bad = b"<domaincheckpoint><name>a</name><disks><disk name='vda' checkpoint='sometimes'/></disks></domaincheckpoint>\n"
    (schema,) = json_lines(run("validate", "--errors", "json", input=bad).stderr)
    assert schema["class"] == "SchemaError" and schema["element"] == "/domaincheckpoint/disks/disk"
    empty = tmp_path / "empty.xml"
    empty.write_bytes(b"")
    missing = tmp_path / "missing.xml"
    proc = run("validate", "--errors", "json", str(missing), str(empty))
    assert proc.returncode == 2  # an unreadable input outranks the rest
    source, warning = json_lines(proc.stderr)
    assert list(source) == list(warning) == ERROR_KEYS
    assert source == dict.fromkeys(ERROR_KEYS) | {
        "type": "error", "class": "SourceError", "message": "No such file or directory", "path": str(missing)
    }
    assert warning["type"] == "warning" and warning["path"] == str(empty)
    assert warning["message"].startswith("no document found")
    assert proc.stdout == b"0 documents, 0 valid, 0 invalid\n"


def test_files_with_and_without_errors_like_grep(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.xml", tmp_path / "bad.xml"
    good.write_bytes(doc("g1") + doc("g2"))
    bad.write_bytes(doc("b1") + doc("b2", broken=True) + doc("b3", broken=True))
    archive = tmp_path / "a.tar"
    with tarfile.open(archive, "w") as tf:
        for member, data in (("x/ok.xml", doc("t1")), ("x/ko.xml", doc("t2", broken=True))):
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    paths = [str(good), str(bad), str(archive)]
    for command_ in ("parse", "normalize", "validate"):
        with_ = run(command_, "-l", *paths)
        assert with_.returncode == 1, command_
        assert with_.stdout.decode().splitlines() == [str(bad), f"{archive}:x/ko.xml"], command_
        assert with_.stderr == b"", command_  # names only: a rejected document is a "match", as in grep -l
        without = run(command_, "--files-without-errors", *paths)
        assert without.returncode == 1
        assert without.stdout.decode().splitlines() == [str(good), f"{archive}:x/ok.xml"], command_
        quiet = run(command_, "-l", "-q", *paths)
        assert (quiet.returncode, quiet.stderr) == (1, b"")
        assert quiet.stdout == with_.stdout
    clean = run("parse", "-l", str(good))
    assert (clean.returncode, clean.stdout, clean.stderr) == (0, b"", b"")
    assert run("parse", "-L", str(good)).stdout.decode() == f"{good}\n"
    assert run("parse", "-l", "-L", str(good)).returncode == 2  # one or the other
    missing = run("validate", "-l", str(tmp_path / "missing.xml"), str(bad))
    assert missing.returncode == 2  # an input that cannot be read outranks a rejected document
    assert missing.stdout.decode().splitlines() == [str(bad)]
    assert "missing.xml: error: " in missing.stderr.decode()  # still reported, as grep reports it


def test_format_lists_json_files(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    good.write_text(json.dumps({"name": "a"}) + "\n")
    bad.write_text(json.dumps({"name": "b"}) + "\n{nope\n")
    proc = run("format", "-l", str(good), str(bad))
    assert (proc.returncode, proc.stdout.decode()) == (1, f"{bad}\n")
    assert proc.stderr == b""  # names only
    assert run("format", str(good), str(bad)).stderr.decode().startswith(f"{bad}:2: error:")
    assert run("format", "-L", str(good), str(bad)).stdout.decode() == f"{good}\n"


def test_quiet_is_the_exit_status_only(mixed: tuple[Path, bytes]) -> None:
    path, _ = mixed
    parse = run("parse", "-q", "--on-error", "skip", str(path))
    assert (parse.returncode, parse.stderr) == (1, b"")
    assert names(parse.stdout) == ["a", "b", "d"]  # the records are still written
    validate = run("validate", "--quiet", str(path))
    assert (validate.returncode, validate.stdout, validate.stderr) == (1, b"", b"")
    assert run("validate", "-q", input=doc("a")).returncode == 0
    assert run("validate", "-q", input=b"").returncode == 1  # an empty input says so, silently
    assert run("validate", "-q", "--progress", input=doc("a")).stderr != b""  # asked for: drawn


# -- 3. empty input is loud ------------------------------------------------------------------------


def _empty_inputs(tmp_path: Path) -> dict[str, Path]:
    empty = tmp_path / "empty.xml"
    empty.write_bytes(b"  \n<!-- nothing -->\n")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "notes.txt").write_text("no XML here")
    archive = tmp_path / "a.tgz"
    with tarfile.open(archive, "w:gz") as tf:
        info = tarfile.TarInfo("README")
        info.size = 2
        tf.addfile(info, io.BytesIO(b"hi"))
    return {"file": empty, "folder": folder, "archive": archive}


@pytest.mark.parametrize("kind", ["file", "folder", "archive", "stdin"])
@pytest.mark.parametrize("command_", ["parse", "validate", "normalize"])
def test_an_input_without_documents_is_a_warning_and_status_1(tmp_path: Path, kind: str, command_: str) -> None:
    path = "-" if kind == "stdin" else str(_empty_inputs(tmp_path)[kind])
    shown = "<stdin>" if kind == "stdin" else path
    proc = run(command_, path)
    assert proc.returncode == 1
    (line,) = proc.stderr.decode().splitlines()
    assert line.startswith(f"{shown}: warning: no document found (")
    why = {"file": "empty", "stdin": "empty", "folder": "folder", "archive": "archive"}[kind]
    assert why in line
    assert proc.stdout == (b"0 documents, 0 valid, 0 invalid\n" if command_ == "validate" else b"")
    allowed = run(command_, "--allow-empty", path)
    assert (allowed.returncode, allowed.stderr) == (0, b"")


def test_empty_input_beside_good_ones_and_a_missing_one(tmp_path: Path) -> None:
    inputs = _empty_inputs(tmp_path)
    good = tmp_path / "good.xml"
    good.write_bytes(doc("g"))
    proc = run("parse", str(inputs["folder"]), str(good), str(inputs["file"]))
    assert proc.returncode == 1
    assert names(proc.stdout) == ["g"]
    assert [line.split(": warning:")[0] for line in proc.stderr.decode().splitlines()] == [str(inputs["folder"]), str(inputs["file"])]
    missing = run("parse", str(tmp_path / "missing.xml"), str(good), str(inputs["file"]))
    assert missing.returncode == 2  # an unreadable path still outranks everything
    assert names(missing.stdout) == ["g"]
    assert missing.stderr.decode().count("No such file or directory") == 1
    assert missing.stderr.decode().count("warning: no document found") == 1


def test_folders_take_compressed_xml_in_any_case(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_bytes(doc("plain"))
    (tmp_path / "B.XML.GZ").write_bytes(gzip.compress(doc("gzipped")))
    (tmp_path / "c.json").write_text("{}")
    proc = run("parse", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert sorted(names(proc.stdout)) == ["gzipped", "plain"]


def test_format_reads_a_folder_of_json_lines(tmp_path: Path) -> None:
    lines = run("parse", input=doc("x") + doc("y")).stdout
    (tmp_path / "one.jsonl").write_bytes(lines)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "two.json").write_bytes(run("parse", input=doc("z")).stdout)
    (tmp_path / "ignored.xml").write_bytes(doc("not-json"))
    proc = run("format", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert re.findall(rb"<name>(\w+)</name>", proc.stdout) == [b"x", b"y", b"z"]
    nothing = tmp_path / "nothing"
    nothing.mkdir()
    (nothing / "a.xml").write_bytes(doc("a"))
    empty = run("format", str(nothing))
    assert empty.returncode == 1
    assert empty.stderr.decode() == f"{nothing}: warning: no document found (no *.jsonl or *.json file in the folder)\n"


def test_help_says_what_folders_take() -> None:
    fmt = run("format", "--help")
    text = " ".join(fmt.stdout.decode().split())
    assert "*.jsonl and *.json files" in text
    for command_ in ("parse", "validate", "normalize", "chain"):
        text = " ".join(run(command_, "--help").stdout.decode().split())
        assert "*.xml and *.xml.gz/.xml.xz/.xml.bz2 files" in text and "any case" in text, command_


# -- 4. secrets ----------------------------------------------------------------------------------------


def test_parse_strips_the_domains_secrets_unless_secure() -> None:
    src = sorted(VM1.glob("*.xml"))[0].read_text()
    assert "<devices>" in src
    secret = src.replace("<devices>", "<devices>\n      <graphics type='vnc' port='-1' passwd='hunter2'/>", 1)
    plain = run("parse", input=secret.encode())
    assert plain.returncode == 0, plain.stderr
    (obj,) = json_lines(plain.stdout)
    assert "hunter2" not in obj["domain"] and "<graphics type='vnc'" in obj["domain"]
    secure = run("parse", "--secure", input=secret.encode())
    (kept,) = json_lines(secure.stdout)
    assert "passwd='hunter2'" in kept["domain"]


# -- 5. limits named by their flag ----------------------------------------------------------------------


def test_limit_errors_name_the_flag() -> None:
    data = b"<domaincheckpoint><name>a</name><disks><disk name='vda'/><disk name='vdb'/></disks></domaincheckpoint>\n"
    proc = run("parse", "--max-disks", "1", input=data)
    assert proc.returncode == 1
    assert "(limit max_disks, --max-disks)" in proc.stderr.decode()
    (obj,) = json_lines(run("parse", "--max-disks", "1", "--errors", "json", input=data).stderr)
    assert obj["class"] == "LimitError" and obj["message"].endswith("(limit max_disks, --max-disks)")
    deep = run("validate", "--max-depth", "2", input=data)
    assert "(limit max_depth, --max-depth)" in deep.stderr.decode()


# -- 6. progress, Ctrl-C, the standard-input hint --------------------------------------------------------


def test_progress_with_a_known_size_is_like_pv(tmp_path: Path) -> None:
    path = tmp_path / "many.xml"
    path.write_bytes(b"".join(doc(f"n{i}") for i in range(3000)))
    size = path.stat().st_size
    proc = run("validate", "--progress", str(path))
    assert proc.returncode == 0
    assert proc.stdout == b"3000 documents, 3000 valid, 0 invalid\n"  # stdout untouched
    last = proc.stderr.decode().replace("\x1b[K", "").split("\r")[-1].strip()
    assert last.startswith("100%"), last
    assert f"/ {size / 1024:.1f} KiB" in last and "/s" in last and "ETA 0:00:00" in last and "3000 documents" in last
    compressed = tmp_path / "many.xml.gz"
    compressed.write_bytes(gzip.compress(path.read_bytes()))
    gz = run("validate", "--progress", str(compressed)).stderr.decode()
    assert "100%" in gz  # counted in compressed bytes, against the size on disk


def test_progress_without_a_size_shows_bytes_documents_rates() -> None:
    proc = run("parse", "--progress", input=doc("a") + doc("b"))
    text = proc.stderr.decode()
    assert "2 documents" in text and "documents/s" in text and "%" not in text


def test_validate_prints_its_summary_when_interrupted() -> None:
    proc = subprocess.Popen(
        command("validate", "--progress"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env=env(),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdin and proc.stdout and proc.stderr
    os.set_blocking(proc.stderr.fileno(), False)
    seen = b""
    try:
        proc.stdin.write(doc("a") + doc("b", broken=True) + doc("c"))
        proc.stdin.flush()
        deadline = time.monotonic() + 30
        # each later chunk draws the progress line (documents counted before it): wait for "3"
        while b"3 documents" not in seen and time.monotonic() < deadline:
            time.sleep(0.3)
            proc.stdin.write(b"<!-- tick -->\n")
            proc.stdin.flush()
            seen += proc.stderr.read() or b""
        assert b"3 documents" in seen, seen
        proc.send_signal(signal.SIGINT)
        out = proc.stdout.read()
        proc.wait(30)
    finally:
        proc.stdin.close()
    os.set_blocking(proc.stderr.fileno(), True)
    seen += proc.stderr.read()
    assert proc.returncode == 130
    assert out == b"3 documents, 2 valid, 1 invalid; interrupted\n"
    assert b"Traceback" not in seen and b"error: not well-formed" in seen


pty = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal (os.openpty)")


@pty
def test_a_terminal_on_standard_input_is_told_how_to_end() -> None:
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen(command("parse"), stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO, env=env())
        os.close(slave)
        slave = -1
        assert proc.stdout and proc.stderr
        # said before anything is typed (waited for with a time limit: a missing hint must fail
        # the test, not leave it waiting on a terminal that never ends)
        ready, _, _ = select.select([proc.stderr], [], [], 30)
        assert ready, "no hint within 30 s"
        first = proc.stderr.readline()
        assert first.rstrip(b"\n") == HINT
        os.write(master, doc("typed") + b"\x04")  # Ctrl-D at the start of a line: end of input
        out, err = proc.communicate(timeout=30)
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    assert proc.returncode == 0, err
    assert names(out) == ["typed"]
    assert err == b""  # the hint only, once
    assert HINT not in run("parse", input=doc("piped")).stderr  # a pipe needs no hint


@pty
def test_no_hint_when_a_path_is_given_or_quiet(tmp_path: Path) -> None:
    path = tmp_path / "a.xml"
    path.write_bytes(doc("a"))
    for args in (("parse", str(path)), ("parse", "-q", "-")):
        master, slave = os.openpty()
        try:
            data = b"" if args[-1] != "-" else doc("b") + b"\x04"
            proc = subprocess.Popen(command(*args), stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO, env=env())
            os.close(slave)
            slave = -1
            if data:
                os.write(master, data)
            out, err = proc.communicate(timeout=30)
        finally:
            if slave >= 0:
                os.close(slave)
            os.close(master)
        assert proc.returncode == 0 and err == b"", (args, err)


@pty
def test_progress_by_default_on_a_terminal_not_with_quiet(tmp_path: Path) -> None:
    path = tmp_path / "a.xml"
    path.write_bytes(doc("a") + doc("b"))
    for args, shown in ((("validate", str(path)), True), (("validate", "-q", str(path)), False)):
        master, slave = os.openpty()
        try:
            proc = subprocess.run(command(*args), stdout=subprocess.PIPE, stderr=slave, cwd=REPO, env=env(), timeout=60)
            os.close(slave)
            slave = -1
            seen = read_pty(master)
        finally:
            if slave >= 0:
                os.close(slave)
            os.close(master)
        assert proc.returncode == 0
        assert (b"100%" in seen) is shown, seen


# -- 7. parse --fields ----------------------------------------------------------------------------------


def test_fields_keep_only_the_keys_given_in_that_order() -> None:
    proc = run("parse", "--fields", "vmName,name,parent,creationTime,vm", str(VM1))
    assert proc.returncode == 0, proc.stderr
    objs = json_lines(proc.stdout)
    assert len(objs) == len(list(VM1.glob("*.xml")))
    full = json_lines(run("parse", str(VM1)).stdout)
    for obj, whole in zip(objs, full):
        assert list(obj) == ["vmName", "name", "parent", "creationTime", "vm"]
        assert obj == {key: whole[key] for key in obj}
    assert objs[0]["vm"] and objs[0]["vmName"]  # the VM, from the domain
    no_domain = json_lines(run("parse", "--no-domain", "--fields", "name,domain,vm", str(VM1)).stdout)
    assert all(o["domain"] is None and o["vm"] == objs[0]["vm"] for o in no_domain)


def test_every_key_of_a_parse_line_is_a_field() -> None:
    from checkpoint_stream.cli import PARSE_FIELDS

    line = json_lines(run("parse", "--internal", input=b"<domaincheckpoint><name>a</name><active>1</active></domaincheckpoint>").stdout)[0]
    assert list(line) == [f for f in PARSE_FIELDS if f in line]
    snap = json_lines(run("parse", "--internal", input=b"<domainsnapshot><name>a</name><active>1</active></domainsnapshot>").stdout)[0]
    assert list(snap) == [f for f in PARSE_FIELDS if f in snap] and snap["type"] == "snapshot"
    assert set(line) | set(snap) == set(PARSE_FIELDS)


def test_unknown_field_is_a_usage_error_listing_the_valid_ones() -> None:
    proc = run("parse", "--fields", "name,nmae", input=doc("a"))
    assert proc.returncode == 2 and proc.stdout == b""
    text = proc.stderr.decode()
    assert "unknown field 'nmae'" in text and "valid: type, name, description, state, parent, creationTime" in text and "vmName" in text


# -- 8. --align: errors at the disk element ---------------------------------------------------------------


@pytest.mark.parametrize("command_", ["parse", "normalize", "validate"])
def test_align_error_points_at_the_disk(tmp_path: Path, command_: str) -> None:
    src = sorted(VM1.glob("*.xml"))[0].read_bytes()
    bad = src.replace(b"<disk name='vdb'", b"<disk name='vdz'", 1)
    assert bad != src
    path = tmp_path / "two.xml"
    path.write_bytes(src + bad)  # the bad one second: its line counts from the file's start
    proc = run(command_, "--align", "--on-error", "skip", str(path))
    assert proc.returncode == 1
    m = TEXT_ERROR.match(proc.stderr.decode().strip())
    assert m, proc.stderr
    want = len(src.splitlines()) + bad.splitlines().index(next(x for x in bad.splitlines() if b"'vdz'" in x)) + 1
    assert (int(m["line"]), m["doc"]) == (want, "1")
    assert "vdz" in m["msg"]
    (obj,) = json_lines(run(command_, "--align", "--on-error", "skip", "--errors", "json", str(path)).stderr)
    assert obj["element"] == "/domaincheckpoint/disks/disk[2]" and obj["line"] == want and obj["documentLine"] < want
