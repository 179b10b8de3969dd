"""The command line when its surroundings fail: standard streams closed, full or abandoned by
their reader, an interrupt, a hostile ``format`` line. Each test runs ``python -m
checkpoint_stream`` as a subprocess, the way a shell would, and checks the exit status and what
came out: the work must not depend on standard error, and a failure of standard output must be a
clean message (never "internal error", never a traceback) with the documented status.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "checkpoint_stream"]
ENV = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
DOCUMENTS = 2000
BAD_EVERY = 100  # documents 7, 107, 207, ... are broken: 20 of 2,000

posix = pytest.mark.skipif(os.name != "posix" or not os.path.exists("/bin/sh"), reason="needs a POSIX shell")
dev_full = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")


def doc(name: str, broken: bool = False) -> bytes:
    end = b"</nam>" if broken else b"</name>"
    return b"<domaincheckpoint>\n  <name>%s%s\n</domaincheckpoint>\n" % (name.encode(), end)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,000 documents, 20 of them broken (skip mode reports them and goes on: exit 1)."""
    path = tmp_path_factory.mktemp("faults") / "big.xml"
    path.write_bytes(b"".join(doc(f"c{i}", broken=i % BAD_EVERY == 7) for i in range(DOCUMENTS)))
    return path


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,000 good documents: nothing to report on standard error."""
    path = tmp_path_factory.mktemp("faults") / "clean.xml"
    path.write_bytes(b"".join(doc(f"c{i}") for i in range(DOCUMENTS)))
    return path


def run(*args: str, input: bytes = b"", **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    """The command with standard streams as the caller says (captured by default)."""
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    kwargs.setdefault("env", ENV)
    proc = subprocess.run([*CLI, *args], input=input, cwd=REPO, timeout=120, **kwargs)
    if proc.stderr:
        assert b"Traceback" not in proc.stderr and b"internal error" not in proc.stderr, proc.stderr.decode()
    return proc


def run_sh(redirect: str, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    """The command run by ``sh -c 'exec CLI... REDIRECT'``: the shell closes a descriptor
    (``2>&-``) before Python starts, which ``stderr=subprocess.DEVNULL`` does not do."""
    script = f'exec "$@" {redirect}'
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.run(["/bin/sh", "-c", script, "sh", *CLI, *args], input=b"", cwd=REPO, env=ENV, timeout=120, **kwargs)


def names(out: bytes) -> list[str]:
    return [json.loads(line)["name"] for line in out.decode().splitlines()]


def good_names() -> list[str]:
    return [f"c{i}" for i in range(DOCUMENTS) if i % BAD_EVERY != 7]


def dead_pipe() -> int:
    """The write end of a pipe whose read end is already closed: every write fails with EPIPE,
    deterministically (no race with a reader that closes late)."""
    read, write = os.pipe()
    os.close(read)
    return write


# -- 1. standard error closed at startup ----------------------------------------------------------


@posix
@pytest.mark.parametrize("extra", [(), ("--progress",)])
def test_stderr_closed_loses_no_record_and_keeps_the_status(big: Path, extra: tuple[str, ...]) -> None:
    """``2>&-``: Python sets sys.stderr to None; the first error report used to raise
    AttributeError and end the run after 7 records. Every good record must come out and the
    status be the one of a run with standard error open (1: some rejected)."""
    normal = run("parse", "--on-error", "skip", str(big))
    closed = run_sh("2>&-", "parse", "--on-error", "skip", *extra, str(big), stderr=None)
    assert normal.returncode == 1
    assert names(normal.stdout) == good_names()
    assert closed.returncode == normal.returncode
    assert closed.stdout == normal.stdout


@posix
def test_stderr_closed_stop_mode_and_validate(big: Path) -> None:
    """The same for the default stop mode (records up to the first rejected one, exit 1) and for
    validate, whose summary goes to standard output."""
    stop = run_sh("2>&-", "parse", str(big), stderr=None)
    assert stop.returncode == 1
    assert names(stop.stdout) == ["c0", "c1", "c2", "c3", "c4", "c5", "c6"]
    summary = run_sh("2>&-", "validate", str(big), stderr=None)
    assert summary.returncode == 1
    assert summary.stdout == b"2000 documents, 1980 valid, 20 invalid\n"


# -- 2. standard output closed at startup ----------------------------------------------------------


@posix
@pytest.mark.parametrize("args", [("parse",), ("validate",), ("format",), ("--help",), ("--version",)])
def test_stdout_closed_is_a_clean_error(big: Path, args: tuple[str, ...]) -> None:
    """``>&-``: a one-line message naming standard output and exit 2, not "internal error:
    AttributeError" (nor, for --help, a silent 0)."""
    files = (str(big),) if args[0] in ("parse", "validate") else ()
    proc = run_sh(">&-", *args, *files, stdout=None)
    assert proc.returncode == 2
    assert proc.stderr.decode() == "checkpoint-stream: cannot write to standard output: Bad file descriptor\n"


# -- 3. progress on a failing standard error ------------------------------------------------------


@dev_full
def test_progress_on_a_full_stderr_does_not_stop_the_work(big: Path) -> None:
    """``--progress 2>/dev/full``: the first progress write used to end the run with nothing
    written. Progress is best-effort: same output, same status as without it."""
    normal = run("parse", "--on-error", "skip", str(big))
    with open("/dev/full", "wb") as full:
        proc = run("parse", "--on-error", "skip", "--progress", str(big), stderr=full)
    assert proc.returncode == normal.returncode == 1
    assert proc.stdout == normal.stdout


@pytest.mark.parametrize("command", ["parse", "validate", "chain"])
def test_progress_on_a_broken_stderr_pipe_does_not_stop_the_work(big: Path, command: str) -> None:
    """Standard error a pipe whose reader went away: neither progress nor the error reports may
    stop the run or change its status (not 141: that is for standard output)."""
    normal = run(command, "--on-error", "skip", str(big))
    write = dead_pipe()
    try:
        proc = run(command, "--on-error", "skip", "--progress", str(big), stderr=write)
    finally:
        os.close(write)
    assert proc.returncode == normal.returncode == 1
    assert proc.stdout == normal.stdout


# -- 4. format: a line nested without end ----------------------------------------------------------


@pytest.fixture(scope="module")
def good_lines() -> list[bytes]:
    proc = run("parse", input=doc("a") + doc("b") + doc("c"))
    assert proc.returncode == 0
    lines: list[bytes] = proc.stdout.splitlines()
    return lines


@pytest.mark.parametrize("hostile", [b"[" * 100_000, b'{"a":' * 100_000, b"[" * 100_000 + b"]" * 100_000])
def test_format_deeply_nested_line_is_an_error_and_the_next_lines_go_on(
    tmp_path: Path, good_lines: list[bytes], hostile: bytes
) -> None:
    """A line of 100,000 nested arrays used to end ``format`` with RecursionError (internal error,
    exit 2) and drop the good lines after it, even in skip mode. It is now a rejected line,
    reported with its line number; the lines after it are written."""
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\n".join([good_lines[0], hostile, good_lines[1], good_lines[2]]) + b"\n")
    skip = run("format", "--on-error", "skip", str(path))
    assert skip.returncode == 1
    assert skip.stdout.count(b"<domaincheckpoint>") == 3
    written = [line.strip() for line in skip.stdout.splitlines() if b"<name>" in line]
    assert written == [b"<name>a</name>", b"<name>b</name>", b"<name>c</name>"]
    assert skip.stderr.decode() == f"{path}:2: error: invalid JSON: arrays and objects nest deeper than 64 levels\n"
    stop = run("format", str(path))
    assert stop.returncode == 1
    assert stop.stdout.count(b"<domaincheckpoint>") == 1
    assert stop.stderr.decode() == skip.stderr.decode()


def test_format_brackets_inside_strings_are_not_nesting(tmp_path: Path, good_lines: list[bytes]) -> None:
    """The depth check skips JSON strings (escaped quotes included): a description full of
    brackets is a good document."""
    obj = json.loads(good_lines[0])
    obj["description"] = 'say \\"[' + "[{" * 500 + '"'
    path = tmp_path / "in.jsonl"
    path.write_bytes(json.dumps(obj).encode() + b"\n")
    proc = run("format", str(path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(b"<domaincheckpoint>") == 1


def test_json_depth_scan() -> None:
    from checkpoint_stream.cli import MAX_JSON_DEPTH, _json_too_deep

    assert not _json_too_deep(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)
    assert _json_too_deep(b"[" * (MAX_JSON_DEPTH + 1))
    assert not _json_too_deep(b"[]" * 10_000)  # many brackets, shallow
    assert not _json_too_deep(b'["\\"' + b"[" * 1000 + b'"]')  # an escaped quote does not end the string
    assert _json_too_deep(b'{"k\\\\":' + b"[" * 1000)  # an escaped backslash does


# -- 5. standard output that cannot be written -----------------------------------------------------


@dev_full
@pytest.mark.parametrize(
    "args",
    [("parse",), ("normalize",), ("validate",), ("chain",), ("chain", "--json"), ("--help",), ("parse", "--help")],
)
def test_full_stdout_is_a_clean_error(big: Path, args: tuple[str, ...]) -> None:
    """``>/dev/full``: "cannot write to standard output: No space left on device", exit 2, not
    "internal error: OSError" (and not a silent 0 for --help)."""
    files = () if "--help" in args else (str(big),)
    with open("/dev/full", "wb") as full:
        proc = run(*args, *files, stdout=full)
    assert proc.returncode == 2
    lines = proc.stderr.decode().splitlines()
    assert lines[-1] == "checkpoint-stream: cannot write to standard output: No space left on device"
    assert sum("standard output" in line for line in lines) == 1


@dev_full
def test_full_stdout_for_format(tmp_path: Path, good_lines: list[bytes]) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\n".join(good_lines * 1000) + b"\n")
    with open("/dev/full", "wb") as full:
        proc = run("format", str(path), stdout=full)
    assert proc.returncode == 2
    assert proc.stderr.decode() == "checkpoint-stream: cannot write to standard output: No space left on device\n"


# -- 6. exit statuses -------------------------------------------------------------------------------


def test_exit_status_0_1_2(tmp_path: Path) -> None:
    assert run("parse", input=doc("a")).returncode == 0
    assert run("parse", "--on-error", "skip", input=doc("a") + doc("b", broken=True)).returncode == 1
    assert run("parse", str(tmp_path / "missing.xml")).returncode == 2
    assert run("parse", "--no-such-flag").returncode == 2


def test_exit_status_141_when_the_reader_goes_away(clean: Path) -> None:
    """``parse big | head -1``: 141, as a C filter killed by SIGPIPE, and nothing on standard
    error. (The output, about 300 KB, cannot all fit in the pipe before the reader leaves.)"""
    proc = subprocess.Popen([*CLI, "parse", str(clean)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO, env=ENV)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    proc.wait(60)
    assert proc.returncode == 141
    assert err == b""


@pytest.mark.parametrize("args", [("parse",), ("validate",), ("--help",)])
def test_exit_status_141_on_a_pipe_without_reader(clean: Path, args: tuple[str, ...]) -> None:
    """Standard output a pipe nobody reads any more, from the first write on (validate's only
    write is its summary, --help's the help text): 141, silently."""
    files = () if args == ("--help",) else (str(clean),)
    write = dead_pipe()
    try:
        proc = run(*args, *files, stdout=write)
    finally:
        os.close(write)
    assert proc.returncode == 141
    assert proc.stderr == b""


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="needs POSIX signals")
def test_exit_status_130_on_sigint() -> None:
    """Ctrl-C while the filter waits for input: 130, no traceback, the records so far written."""
    proc = subprocess.Popen(
        [*CLI, "parse"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env=ENV,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # not ignored, whoever runs the tests
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    try:
        proc.stdin.write(doc("first"))
        proc.stdin.flush()
        assert json.loads(proc.stdout.readline())["name"] == "first"  # running, blocked on its input
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
    finally:
        proc.stdin.close()
    err = proc.stderr.read()
    assert proc.returncode == 130
    assert b"Traceback" not in err and b"internal error" not in err


def test_help_documents_the_exit_statuses() -> None:
    """The exit-status table is in ``--help`` of the program and of every command, laid out as
    written (not reflowed into one paragraph)."""
    from checkpoint_stream.cli import EXIT_STATUS_HELP

    assert [line.split()[0] for line in EXIT_STATUS_HELP.splitlines()[1:]] == ["0", "1", "2", "130", "141"]
    for args in [(), ("parse",), ("format",), ("normalize",), ("validate",), ("chain",)]:
        proc = run(*args, "--help", env=dict(ENV, COLUMNS="100"))
        assert proc.returncode == 0
        assert EXIT_STATUS_HELP in proc.stdout.decode(), args


@pytest.mark.parametrize("command", ["parse", "validate", "normalize", "format"])
@pytest.mark.parametrize("stop", [False, True])
def test_missing_input_is_reported_and_the_others_read(tmp_path, command: str, stop: bool) -> None:
    """A path that cannot be read costs only itself, in every command and with --on-error stop
    too (which stops at a rejected document, not at an unreadable input); exit status 2."""
    doc = b"<domaincheckpoint><name>%s</name></domaincheckpoint>\n"
    if command == "format":
        a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
        for path, name in ((a, b"a"), (b, b"b")):
            path.write_bytes(subprocess.run([sys.executable, "-m", "checkpoint_stream", "parse", "-"], input=doc % name, capture_output=True, check=True).stdout)
        missing = tmp_path / "missing.jsonl"
    else:
        a, b = tmp_path / "a.xml", tmp_path / "b.xml"
        a.write_bytes(doc % b"a")
        b.write_bytes(doc % b"b")
        missing = tmp_path / "missing.xml"
    args = [command, *(["--on-error", "stop"] if stop else []), str(a), str(missing), str(b)]
    result = subprocess.run([sys.executable, "-m", "checkpoint_stream", *args], capture_output=True)
    assert result.returncode == 2, result.stderr
    assert result.stderr.decode().count("No such file or directory") == 1
    out = result.stdout.decode()
    if command == "validate":
        assert out.strip() == "2 documents, 2 valid, 0 invalid"
    else:
        assert ">a<" in out.replace('"a"', ">a<") and ">b<" in out.replace('"b"', ">b<")
