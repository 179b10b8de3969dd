"""The checkpoint-stream command line, run as a subprocess: ``python -m checkpoint_stream``."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_util import run  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
VM1 = EXAMPLES / "vm1" / "checkpoints"
ERROR_LINE = re.compile(r"^(?P<where>.+?):(?P<line>\d+):(?P<col>\d+): error: (?P<msg>.+) \(document (?P<doc>\d+), offset (?P<offset>\d+)\)$")
KEYS = ["type", "name", "description", "parent", "creationTime", "disks", "domain", "vm", "vmName", "source"]




def doc(name: str, broken: bool = False) -> bytes:
    if broken:
        return b"<domaincheckpoint>\n  <name>%s</nam>\n</domaincheckpoint>\n" % name.encode()
    return b"<domaincheckpoint>\n  <name>%s</name>\n</domaincheckpoint>\n" % name.encode()


def jsonl(out: bytes) -> list[dict]:
    return [json.loads(line) for line in out.decode().splitlines()]


def has_writer() -> bool:
    try:
        from checkpoint_stream.writer import dumps  # noqa: F401
    except ImportError:
        return False
    return True


needs_writer = pytest.mark.skipif(not has_writer(), reason="checkpoint_stream.writer is not there yet")


# -- parse ----------------------------------------------------------------------------------------


def test_parse_example_directory_prints_json_lines():
    proc = run("parse", "examples/vm1/checkpoints")
    assert proc.returncode == 0, proc.stderr
    objs = jsonl(proc.stdout)
    assert [o["name"] for o in objs] == sorted(p.stem for p in VM1.glob("*.xml"))
    for o in objs:
        assert list(o) == KEYS
        assert o["type"] == "checkpoint"
        assert o["domain"].startswith("<domain type='kvm'>")
        assert o["source"]["member"] is None and o["source"]["index"] == 0
        assert all(set(d) == {"name", "checkpoint", "bitmap", "size"} for d in o["disks"])
    assert [o["parent"] for o in objs[1:]] == [o["name"] for o in objs[:-1]]


def test_parse_redefine_examples_and_log_and_archive_agree():
    direct = jsonl(run("parse", "--redefine", "examples/vm1/checkpoints").stdout)
    archive = run("parse", "--redefine", "examples/vm1-checkpoints.tar.gz")
    assert archive.returncode == 0, archive.stderr
    tar = jsonl(archive.stdout)
    assert [o["name"] for o in tar] == [o["name"] for o in direct]
    assert [{k: v for k, v in o.items() if k != "source"} for o in tar] == [
        {k: v for k, v in o.items() if k != "source"} for o in direct
    ]
    assert all(o["source"]["member"].endswith(o["name"] + ".xml") for o in tar)
    log = run("parse", "examples/checkpoints.log")
    assert log.returncode == 0, log.stderr
    objs = jsonl(log.stdout)
    assert [o["name"] for o in objs] == [o["name"] for o in direct]
    assert [o["source"]["index"] for o in objs] == list(range(len(objs)))
    assert all(o["domain"] is None for o in objs)


def test_parse_stdin_default_and_dash():
    data = doc("a") + b"\n<!-- x -->\n" + doc("b")
    for args in (("parse",), ("parse", "-")):
        proc = run(*args, input=data)
        assert proc.returncode == 0
        objs = jsonl(proc.stdout)
        assert [o["name"] for o in objs] == ["a", "b"]
        assert objs[0]["source"] == {"path": "<stdin>", "member": None, "index": 0}


def test_parse_stop_mode_error_format_and_exit_1():
    data = doc("a") + doc("b", broken=True) + doc("c")
    proc = run("parse", input=data)
    assert proc.returncode == 1
    assert [o["name"] for o in jsonl(proc.stdout)] == ["a"]
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1
    m = ERROR_LINE.match(lines[0])
    assert m, lines[0]
    assert (m["where"], m["line"], m["doc"]) == ("<stdin>", "5", "1")  # line 2 of document 1, line 5 of the input
    assert 10 <= int(m["col"]) <= 15  # within the stray end tag </nam> of line 2
    assert "mismatched tag" in m["msg"]


def test_parse_skip_mode_goes_on(tmp_path):
    p = tmp_path / "s.xml"
    p.write_bytes(doc("a") + doc("b", broken=True) + doc("c") + b"junk" + doc("d"))
    proc = run("parse", "--on-error", "skip", str(p))
    assert proc.returncode == 1
    assert [o["name"] for o in jsonl(proc.stdout)] == ["a", "c", "d"]
    assert [o["source"]["index"] for o in jsonl(proc.stdout)] == [0, 2, 4]
    errs = [ERROR_LINE.match(line) for line in proc.stderr.decode().splitlines()]
    assert all(errs)
    assert [(e["where"], e["doc"]) for e in errs] == [(str(p), "1"), (str(p), "3")]
    assert "garbage" in errs[1]["msg"]


def test_parse_internal_has_active():
    data = b"<domaincheckpoint><name>a</name><active>1</active></domaincheckpoint>"
    proc = run("parse", "--internal", input=data)
    assert proc.returncode == 0, proc.stderr
    (obj,) = jsonl(proc.stdout)
    assert obj["active"] is True
    assert "active" not in jsonl(run("parse", input=doc("b")).stdout)[0]
    assert run("parse", input=data).returncode == 1  # <active> only in the internal format


def test_parse_redefine_requires_domain_unless_relaxed():
    proc = run("parse", "--redefine", input=b"<domaincheckpoint><name>a</name><creationTime>5</creationTime></domaincheckpoint>")
    assert proc.returncode == 1 and b"error:" in proc.stderr
    proc = run(
        "parse", "--redefine", "--no-require-domain", input=b"<domaincheckpoint><name>a</name><creationTime>5</creationTime></domaincheckpoint>"
    )
    assert proc.returncode == 0, proc.stderr
    assert jsonl(proc.stdout)[0]["creationTime"] == 5


def test_parse_limit_flags():
    data = b"<domaincheckpoint><name>a</name><disks><disk name='vda'/><disk name='vdb'/></disks></domaincheckpoint>"
    assert run("parse", input=data).returncode == 0
    proc = run("parse", "--max-disks", "1", input=data)
    assert proc.returncode == 1 and b"error:" in proc.stderr
    assert run("parse", "--max-document-bytes", "20", input=data).returncode == 1
    assert run("parse", "--max-depth", "2", input=data).returncode == 1


@pytest.mark.parametrize("kind", ["gz", "tar", "tgz", "txz", "zip"])
def test_parse_compressed_and_archives(tmp_path, kind):
    files = {"x/one.xml": doc("one") + doc("two"), "x/two.xml": doc("three"), "x/skip.txt": b"no"}
    if kind == "gz":
        path = tmp_path / "log.xml.gz"
        path.write_bytes(gzip.compress(files["x/one.xml"] + files["x/two.xml"]))
    elif kind == "zip":
        path = tmp_path / "a.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in files.items():
                zf.writestr(name, data)
    else:
        path = tmp_path / {"tar": "a.tar", "tgz": "a.tgz", "txz": "a.tar.xz"}[kind]
        with tarfile.open(path, {"tar": "w", "tgz": "w:gz", "txz": "w:xz"}[kind]) as tf:
            for name, data in files.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    proc = run("parse", str(path))
    assert proc.returncode == 0, proc.stderr
    objs = jsonl(proc.stdout)
    assert [o["name"] for o in objs] == ["one", "two", "three"]
    if kind != "gz":
        assert [(o["source"]["member"], o["source"]["index"]) for o in objs] == [("x/one.xml", 0), ("x/one.xml", 1), ("x/two.xml", 0)]


def test_archive_member_in_error_location(tmp_path):
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("m.xml", doc("ok") + doc("bad", broken=True))
    proc = run("parse", str(path))
    assert proc.returncode == 1
    m = ERROR_LINE.match(proc.stderr.decode().strip())
    assert m and m["where"] == f"{path}:m.xml" and m["doc"] == "1"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need os.mkfifo (POSIX)")
def test_parse_fifo(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    def writer():
        with open(fifo, "wb") as fh:
            for i in range(3):
                fh.write(doc(f"f{i}"))
                fh.flush()

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    proc = run("parse", str(fifo))
    t.join(10)
    assert proc.returncode == 0, proc.stderr
    assert [o["name"] for o in jsonl(proc.stdout)] == ["f0", "f1", "f2"]


def test_output_is_flushed_per_record_on_a_pipe_that_stays_open():
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "checkpoint_stream", "parse"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env=env,
    )
    try:
        got = []
        for name in ("p1", "p2"):
            proc.stdin.write(doc(name))
            proc.stdin.flush()
            line = proc.stdout.readline()  # would hang if the record waited for more input
            got.append(json.loads(line)["name"])
        assert got == ["p1", "p2"]
    finally:
        proc.stdin.close()
        rest = proc.stdout.read()
        proc.wait(30)
    assert rest == b"" and proc.returncode == 0


def test_broken_pipe_is_quiet(tmp_path):
    p = tmp_path / "big.xml"
    p.write_bytes(doc("n") * 20000)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "checkpoint_stream", "parse", str(p)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env=env,
    )
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    proc.wait(30)
    assert err == b""
    assert proc.returncode != 0


# -- errors of usage and I/O ----------------------------------------------------------------------


def test_missing_file_is_exit_2(tmp_path):
    proc = run("parse", str(tmp_path / "missing.xml"))
    assert proc.returncode == 2
    assert proc.stderr.decode().strip() == f"{tmp_path / 'missing.xml'}: error: No such file or directory"


def test_io_error_outranks_rejected_and_skip_goes_on(tmp_path):
    good = tmp_path / "g.xml"
    good.write_bytes(doc("g") + doc("b", broken=True))
    bad = tmp_path / "bad.tgz"
    bad.write_bytes(b"\x1f\x8b\x08 not really gzip")
    proc = run("parse", "--on-error", "skip", str(bad), str(good))
    assert proc.returncode == 2
    assert [o["name"] for o in jsonl(proc.stdout)] == ["g"]
    assert proc.stderr.decode().count("error:") == 2


@pytest.mark.parametrize(
    "args",
    [(), ("bogus",), ("parse", "--nope"), ("parse", "--redefine", "--create"), ("parse", "--max-depth", "0"), ("parse", "--on-error", "maybe"), ("parse", "--no-require-domain")],
)
def test_usage_errors_are_exit_2(args):
    proc = run(*args, input=doc("a"))
    assert proc.returncode == 2
    assert b"error" in proc.stderr


def test_help_and_version():
    assert run("--help").returncode == 0
    proc = run("--version")
    assert proc.returncode == 0 and proc.stdout.strip().startswith(b"checkpoint-stream")
    for cmd in ("parse", "format", "normalize", "validate"):
        out = run(cmd, "--help")
        assert out.returncode == 0 and b"--on-error" in out.stdout


def test_progress_on_stderr_only_when_asked():
    data = doc("a") + doc("b")
    quiet = run("parse", input=data)
    assert quiet.stderr == b""  # stderr is not a terminal here: no progress by default
    loud = run("parse", "--progress", input=data)
    assert loud.returncode == 0
    text = loud.stderr.decode()
    assert "2 documents" in text and "B/s" in text and "documents/s" in text
    assert jsonl(loud.stdout) == jsonl(quiet.stdout)


def test_main_in_process_returns_status(capsys):
    from checkpoint_stream.cli import main

    assert main(["parse", str(VM1)]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == len(list(VM1.glob("*.xml")))
    assert main(["parse", "/nonexistent/path.xml"]) == 2
    assert main(["nonsense"]) == 2


# -- validate ---------------------------------------------------------------------------------------


def test_validate_summary_and_exit_codes():
    ok = run("validate", "examples/vm1/checkpoints", "--redefine")
    assert ok.returncode == 0, ok.stderr
    n = len(list(VM1.glob("*.xml")))
    assert ok.stdout.decode() == f"{n} documents, {n} valid, 0 invalid\n"
    data = doc("a") + doc("b", broken=True) + doc("c") + doc("d", broken=True)
    bad = run("validate", input=data)
    assert bad.returncode == 1
    assert bad.stdout.decode() == "4 documents, 2 valid, 2 invalid\n"
    assert [ERROR_LINE.match(x)["doc"] for x in bad.stderr.decode().splitlines()] == ["1", "3"]
    stop = run("validate", "--on-error", "stop", input=data)
    assert stop.returncode == 1
    assert stop.stdout.decode() == "2 documents, 1 valid, 1 invalid\n"


# -- normalize / format (need the writer) -----------------------------------------------------------


@needs_writer
def test_normalize_examples_is_libvirt_layout_byte_for_byte():
    proc = run("normalize", "--redefine", "examples/vm1/checkpoints")
    assert proc.returncode == 0, proc.stderr
    expected = b"".join(p.read_bytes() for p in sorted(VM1.glob("*.xml")))
    assert proc.stdout == expected


@needs_writer
def test_normalize_flags_and_errors():
    src = (VM1 / sorted(os.listdir(VM1))[0]).read_bytes()
    proc = run("normalize", "--no-domain", input=src + doc("x", broken=True))
    assert proc.returncode == 1
    assert b"<domain " not in proc.stdout and proc.stdout.count(b"<domaincheckpoint>") == 1
    assert ERROR_LINE.match(proc.stderr.decode().strip())["doc"] == "1"
    messy = b"<?xml version='1.0'?><domaincheckpoint><name>m</name>  <creationTime>7</creationTime></domaincheckpoint>"
    proc = run("normalize", input=messy)
    assert proc.returncode == 0
    assert proc.stdout == b"<domaincheckpoint>\n  <name>m</name>\n  <creationTime>7</creationTime>\n</domaincheckpoint>\n"


@needs_writer
def test_normalize_align_rejects_a_disk_the_domain_lacks():
    src = (VM1 / sorted(os.listdir(VM1))[0]).read_text()
    bad = src.replace("<disk name='vdb'", "<disk name='vdz'")
    proc = run("normalize", "--align", input=bad.encode())
    assert proc.returncode == 1
    assert b"error:" in proc.stderr and b"(document 0, offset " in proc.stderr
    assert run("normalize", input=bad.encode()).returncode == 0  # without --align it is kept as written


@needs_writer
def test_format_round_trips_parse_output():
    parsed = run("parse", "--redefine", "examples/vm1/checkpoints")
    proc = run("format", input=parsed.stdout)
    assert proc.returncode == 0, proc.stderr
    expected = b"".join(p.read_bytes() for p in sorted(VM1.glob("*.xml")))
    assert proc.stdout == expected
    again = run("parse", "--redefine", input=proc.stdout)
    assert [{k: v for k, v in o.items() if k != "source"} for o in jsonl(again.stdout)] == [
        {k: v for k, v in o.items() if k != "source"} for o in jsonl(parsed.stdout)
    ]


@needs_writer
def test_format_errors_name_path_and_line(tmp_path):
    p = tmp_path / "in.jsonl"
    p.write_text('{"name": "a"}\n\nnot json\n{"name": 5}\n{"name": "b", "bogus": 1}\n[1]\n{"name": "c"}\n')
    stop = run("format", str(p))
    assert stop.returncode == 1
    assert stop.stderr.decode().splitlines() == [f"{p}:3: error: invalid JSON: Expecting value (column 1)"]
    assert stop.stdout.count(b"<domaincheckpoint>") == 1
    skip = run("format", "--on-error", "skip", str(p))
    assert skip.returncode == 1
    lines = skip.stderr.decode().splitlines()
    assert [line.split(": error:")[0] for line in lines] == [f"{p}:{n}" for n in (3, 4, 5, 6)]
    assert skip.stdout.count(b"<domaincheckpoint>") == 2


@needs_writer
def test_format_internal_writes_active():
    line = json.dumps({"name": "a", "active": True}).encode() + b"\n"
    proc = run("format", "--internal", input=line)
    assert proc.returncode == 0, proc.stderr
    assert b"<active>1</active>" in proc.stdout


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal (os.openpty)")
def test_progress_is_on_by_default_when_stderr_is_a_terminal():
    master, slave = os.openpty()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "checkpoint_stream", "parse"],
            input=doc("a") + doc("b"),
            stdout=subprocess.PIPE,
            stderr=slave,
            cwd=REPO,
            env=env,
            timeout=60,
        )
        os.close(slave)
        slave = -1
        seen = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO once the terminal has no writer left
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    assert proc.returncode == 0
    assert b"2 documents" in seen and b"Traceback" not in seen
    assert [o["name"] for o in jsonl(proc.stdout)] == ["a", "b"]
