"""Sequential validation vs. Dask on 1 and 2 local worker processes, over a generated sharded archive.

    python3 benchmarks/dask_bench.py [--size-mb 500] [--shards 200] [--plain] [--dir DIR] [--rounds 1] [--quiet-wait 60]

The archive is a folder of ``--shards`` files (``*.xml.gz``, or plain ``*.xml`` with ``--plain``)
of concatenated checkpoints of 40 VMs, ``--size-mb`` megabytes of XML in all, a few documents
broken. With ``--dir``, an archive made there before with the same parameters is reused. Timed,
each over the same folder:

* ``cli sequential`` / ``cli --jobs N``: ``checkpoint-stream validate ARCHIVE`` with and
  without ``--jobs N``, as a user runs it (interpreter start, Dask import, cluster start and
  stop included: the "cold" figures); standard output, standard error and exit status must be
  the same;
* ``two halves, no Dask``: the ceiling, two sequential commands at once, each on every other
  shard: what two processes do side by side on this machine's cores (two hyperthreads of one
  core give less than two cores);
* ``sequential``: what ``checkpoint-stream validate`` does, in this process: every item of
  ``iter_sources`` in skip mode, counted as valid or invalid;
* ``dask N (total)``: ``checkpoint_stream.dask.run_partitions(jobs=N, counting=True)``, cluster
  start and stop included, in this process (no interpreter start, Dask already imported);
* ``dask N (warm)``: the same computation on a cluster already running, through its address
  (what ``--scheduler`` costs per run on a long-lived cluster).

The counts of every run are checked against the sequential ones. Speed-ups are sequential time
over each; the summary gives the figures of issue #16 (goals: ``--jobs 2`` at least 1.7 times
the sequential speed, ``--jobs 1`` at most 10 % slower), cold and warm. The machine's load is
printed before and after: on a shared machine, take the best of several ``--rounds`` (the runs of
each round are interleaved) and let each run wait for an idle moment (``--quiet-wait``).
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import checkpoint_stream as cs  # noqa: E402


def _doc(name: str, parent: str | None, uuid: str, vm: str, t: int, disks: int) -> bytes:
    p = f"  <parent>\n    <name>{parent}</name>\n  </parent>\n" if parent else ""
    targets = [f"vd{chr(97 + i)}" for i in range(disks)]
    cdisks = "".join(f"    <disk name='{d}' checkpoint='bitmap' bitmap='{name}'/>\n" for d in targets)
    ddisks = "".join(
        f"      <disk type='file' device='disk'>\n        <driver name='qemu' type='qcow2'/>\n"
        f"        <source file='/var/lib/libvirt/images/{vm}-{d}.qcow2'/>\n        <target dev='{d}' bus='virtio'/>\n"
        f"      </disk>\n" for d in targets
    )
    return (
        f"<domaincheckpoint>\n  <name>{name}</name>\n{p}  <creationTime>{t}</creationTime>\n  <disks>\n{cdisks}  </disks>\n"
        f"  <domain type='kvm'>\n    <name>{vm}</name>\n    <uuid>{uuid}</uuid>\n    <memory unit='KiB'>4194304</memory>\n"
        f"    <vcpu placement='static'>2</vcpu>\n    <os>\n      <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>\n"
        f"      <boot dev='hd'/>\n    </os>\n    <features>\n      <acpi/>\n      <apic/>\n    </features>\n"
        f"    <devices>\n      <emulator>/usr/bin/qemu-system-x86_64</emulator>\n{ddisks}"
        f"      <interface type='network'>\n        <mac address='52:54:00:{t % 256:02x}:00:01'/>\n"
        f"        <source network='default'/>\n        <model type='virtio'/>\n      </interface>\n"
        f"      <console type='pty'/>\n    </devices>\n  </domain>\n</domaincheckpoint>\n"
    ).encode()


def generate(top: Path, size_mb: float, shards: int, plain: bool, seed: int = 1) -> int:
    """Write the archive (or reuse the one made before with the same parameters); return its
    XML size in bytes."""
    stamp = top / ".made"
    params = f"{size_mb} {shards} {plain} {seed}"
    if stamp.exists() and stamp.read_text().split("\n")[0] == params:
        return int(stamp.read_text().split("\n")[1])
    if top.exists():
        shutil.rmtree(top)
    rng = random.Random(seed)
    top.mkdir(parents=True, exist_ok=True)
    vms = [(f"{i:08x}-1111-4000-8000-{i:012x}", f"vm{i}") for i in range(40)]
    counters = {uuid: 0 for uuid, _ in vms}
    per_shard = int(size_mb * 1e6 / shards)
    total = 0
    for s in range(shards):
        docs: list[bytes] = []
        size = 0
        while size < per_shard:
            uuid, vm = rng.choice(vms)
            n = counters[uuid]
            counters[uuid] += 1
            doc = _doc(f"{vm}.{n}", f"{vm}.{n - 1}" if n else None, uuid, vm, 1700000000 + 60 * n, 1 + n % 3)
            if rng.random() < 0.002:
                doc = doc.replace(b"<creationTime>", b"<creationTime>x", 1)
            docs.append(doc)
            size += len(doc)
        data = b"".join(docs)
        total += len(data)
        if plain:
            (top / f"shard-{s:04d}.xml").write_bytes(data)
        else:
            (top / f"shard-{s:04d}.xml.gz").write_bytes(gzip.compress(data, 1))
    stamp.write_text(f"{params}\n{total}\n")
    return total


def sequential(top: str) -> tuple[int, int]:
    valid = invalid = 0
    for item in cs.iter_sources([top], on_error="skip"):
        if isinstance(item, cs.Checkpoint):
            valid += 1
        else:
            invalid += 1
    return valid, invalid


def counted(items: Any) -> tuple[int, int]:
    """(valid, invalid) of a counted run's items: runs of records as counts, then errors."""
    from checkpoint_stream.scaleout.inputs import Records

    valid = invalid = 0
    for item in items:
        if isinstance(item, Records):
            valid += item.count
        else:
            invalid += 1
    return valid, invalid


def _busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (Linux: /proc/stat)."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def wait_for_quiet(limit: float) -> None:
    """Wait (at most ``limit`` seconds) until the machine was nearly idle (under 0.3 CPU-seconds
    busy) for a whole second: on a shared machine, another process's burst would be timed as
    ours (a 2-worker run on 2 cores loses half its speed to one busy process)."""
    if limit <= 0 or not os.path.exists("/proc/stat"):
        return
    end = time.monotonic() + limit
    while time.monotonic() < end:
        before = _busy_seconds()
        time.sleep(1.0)
        if _busy_seconds() - before < 0.3:
            return


def load() -> str:
    return "load average " + " ".join(open("/proc/loadavg").read().split()[:3]) if os.path.exists("/proc/loadavg") else "load unknown"


CEILING = "two halves, no Dask"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=float, default=500.0)
    ap.add_argument("--shards", type=int, default=200)
    ap.add_argument("--plain", action="store_true", help="plain *.xml shards (default: *.xml.gz)")
    ap.add_argument("--dir", help="where the archive is made (default: a temporary folder, removed after)")
    ap.add_argument("--rounds", type=int, default=1, help="timed rounds of each (the best is kept)")
    ap.add_argument("--no-cli", action="store_true", help="time the API only")
    ap.add_argument("--cli-only", action="store_true", help="time the command line only")
    ap.add_argument("--quiet-wait", type=float, default=0.0, metavar="SECONDS", help="before each timed run, wait up to this long for an idle machine")
    args = ap.parse_args()

    from checkpoint_stream.dask import local_cluster, run_partitions

    base = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="cs-dask-bench-"))
    top = base / "archive"
    try:
        t = time.perf_counter()
        xml = generate(top, args.size_mb, args.shards, args.plain)
        on_disk = sum(p.stat().st_size for p in top.iterdir() if not p.name.startswith("."))
        print(f"archive: {args.shards} shards, {xml / 1e6:.0f} MB of XML ({on_disk / 1e6:.0f} MB on disk), ready in {time.perf_counter() - t:.1f} s")
        print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; before: {load()}", flush=True)

        def cli(*extra: str) -> tuple[int, bytes, bytes]:
            proc = subprocess.run([sys.executable, "-m", "checkpoint_stream", "validate", *extra, str(top)], capture_output=True)
            return proc.returncode, proc.stdout, proc.stderr

        shards = sorted(str(p) for p in top.iterdir() if not p.name.startswith("."))

        def halves() -> None:
            """The ceiling: two sequential commands at once, each on every other shard (no Dask;
            what two processes on this machine's cores do side by side)."""
            procs = [
                subprocess.Popen([sys.executable, "-m", "checkpoint_stream", "validate", *shards[i::2]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for i in (0, 1)
            ]
            for proc in procs:
                proc.wait()

        def timed(fn: Any) -> tuple[float, Any]:
            wait_for_quiet(args.quiet_wait)
            t0 = time.perf_counter()
            result = fn()
            return time.perf_counter() - t0, result

        summary: list[str] = []

        def verdicts(label: str, seq: float, one: float, two: float) -> None:
            summary.append(
                f"{label:<6} --jobs 2: {seq / two:4.2f}x the sequential speed (goal >= 1.7x: {'met' if seq / two >= 1.7 else 'missed'}); "
                f"--jobs 1: {one / seq - 1:+.1%} (goal <= +10%: {'met' if one / seq - 1 <= 0.10 else 'missed'})"
            )

        if not args.no_cli:
            # Interleaved rounds: a burst of load elsewhere hits every variant alike.
            variants: dict[str, tuple[str, ...]] = {"cli sequential": (), "cli --jobs 1": ("--jobs", "1"), "cli --jobs 2": ("--jobs", "2")}
            times: dict[str, list[float]] = {name: [] for name in variants}
            times[CEILING] = []
            want_cli = None
            for _ in range(args.rounds):
                for name, extra in variants.items():
                    took, got_cli = timed(lambda: cli(*extra))
                    times[name].append(took)
                    if want_cli is None:
                        want_cli = got_cli
                    assert got_cli == want_cli, (name, got_cli[0], want_cli[0])
                times[CEILING].append(timed(halves)[0])
            assert want_cli is not None
            cold = {name: min(ts) for name, ts in times.items()}
            for name, fastest in cold.items():
                ratio = f"  speed-up {cold['cli sequential'] / fastest:4.2f}x" if name != "cli sequential" else f"  {want_cli[1].decode().strip()}"
                print(f"{name:<20} {fastest:7.2f} s{ratio}  (rounds: {' '.join(f'{x:.2f}' for x in times[name])})", flush=True)
            per_round = [s / j for s, j in zip(times["cli sequential"], times["cli --jobs 2"])]
            ceiling = [s / c for s, c in zip(times["cli sequential"], times[CEILING])]
            print(f"per round: --jobs 2 {' '.join(f'{x:.2f}' for x in per_round)}x; ceiling {' '.join(f'{x:.2f}' for x in ceiling)}x")
            verdicts("cold", cold["cli sequential"], cold["cli --jobs 1"], cold["cli --jobs 2"])
            summary.append(
                f"       the ceiling (two plain processes on halves, no Dask): {cold['cli sequential'] / cold[CEILING]:4.2f}x; "
                f"--jobs 2 reaches {cold[CEILING] / cold['cli --jobs 2']:.0%} of it"
            )
        if not args.cli_only:
            def best(fn: Any) -> tuple[float, Any]:
                runs = [timed(fn) for _ in range(args.rounds)]
                return min(r[0] for r in runs), runs[-1][1]

            seq_time, want = best(lambda: sequential(str(top)))
            print(f"{'sequential':<20} {seq_time:7.2f} s  {xml / 1e6 / seq_time:6.1f} MB/s  valid={want[0]} invalid={want[1]}", flush=True)
            warm: dict[int, float] = {}
            for jobs in (1, 2):
                total, got = best(lambda: counted(run_partitions(str(top), jobs=jobs, counting=True)))
                assert got == want, (got, want)
                with local_cluster(jobs) as cluster:
                    warm[jobs], got = best(lambda: counted(run_partitions(str(top), scheduler=cluster.scheduler_address, counting=True)))
                assert got == want, (got, want)
                print(f"{f'dask {jobs} (total)':<20} {total:7.2f} s  speed-up {seq_time / total:4.2f}x")
                print(f"{f'dask {jobs} (warm)':<20} {warm[jobs]:7.2f} s  speed-up {seq_time / warm[jobs]:4.2f}x", flush=True)
            verdicts("warm", seq_time, warm[1], warm[2])
        print(f"after: {load()}")
        for line in summary:
            print(line)
    finally:
        if not args.dir:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
