"""Sequential validation vs. Dask on 1 and 2 local worker processes, over a generated sharded archive.

    python3 benchmarks/dask_bench.py [--size-mb 500] [--shards 200] [--plain] [--dir DIR] [--rounds 1]

The archive is a folder of ``--shards`` files (``*.xml.gz``, or plain ``*.xml`` with ``--plain``)
of concatenated checkpoints of 40 VMs, ``--size-mb`` megabytes of XML in all, a few documents
broken. Timed, each over the same folder:

* ``sequential``: what ``checkpoint-stream validate`` does, one process: every item of
  ``iter_sources`` in skip mode, counted as valid or invalid;
* ``dask N (total)``: ``checkpoint_stream.dask.run_partitions(jobs=N, transform=keep_errors)``,
  cluster start and stop included (what ``validate --jobs N`` costs);
* ``dask N (warm)``: the same computation on a cluster already running, through its address
  (what ``--scheduler`` costs per run on a long-lived cluster).

* ``cli sequential`` / ``cli --jobs N``: ``checkpoint-stream validate ARCHIVE`` with and
  without ``--jobs N``, as a user runs it (interpreter start, Dask import and cluster start
  included); standard output and exit status must be the same.

The counts of every run are checked against the sequential ones. Speed-ups are sequential time
over each.
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
    """Write the archive; return its XML size in bytes."""
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
    valid = invalid = 0
    for item in items:
        if item is None:
            valid += 1
        else:
            invalid += 1
    return valid, invalid


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=float, default=500.0)
    ap.add_argument("--shards", type=int, default=200)
    ap.add_argument("--plain", action="store_true", help="plain *.xml shards (default: *.xml.gz)")
    ap.add_argument("--dir", help="where the archive is made (default: a temporary folder, removed after)")
    ap.add_argument("--rounds", type=int, default=1, help="timed rounds of each (the best is kept)")
    ap.add_argument("--no-cli", action="store_true", help="time the API only")
    ap.add_argument("--cli-only", action="store_true", help="time the command line only")
    args = ap.parse_args()

    from checkpoint_stream.dask import keep_errors, local_cluster, run_partitions

    base = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="cs-dask-bench-"))
    top = base / "archive"
    try:
        t = time.perf_counter()
        xml = generate(top, args.size_mb, args.shards, args.plain)
        on_disk = sum(p.stat().st_size for p in top.iterdir())
        print(f"archive: {args.shards} shards, {xml / 1e6:.0f} MB of XML ({on_disk / 1e6:.0f} MB on disk), made in {time.perf_counter() - t:.1f} s")
        print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")

        def best(fn: Any) -> tuple[float, Any]:
            times, result = [], None
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                result = fn()
                times.append(time.perf_counter() - t0)
            return min(times), result

        def cli(*extra: str) -> tuple[int, bytes]:
            proc = subprocess.run([sys.executable, "-m", "checkpoint_stream", "validate", *extra, str(top)], capture_output=True)
            return proc.returncode, proc.stdout

        if not args.no_cli:
            cli_time, cli_want = best(lambda: cli())
            print(f"{'cli sequential':<20} {cli_time:7.2f} s  {cli_want[1].decode().strip()}", flush=True)
            for jobs in (1, 2):
                t_jobs, got_cli = best(lambda: cli("--jobs", str(jobs)))
                assert got_cli == cli_want, (got_cli, cli_want)
                print(f"{f'cli --jobs {jobs}':<20} {t_jobs:7.2f} s  speed-up {cli_time / t_jobs:4.2f}x", flush=True)
        if args.cli_only:
            return
        seq_time, want = best(lambda: sequential(str(top)))
        print(f"{'sequential':<20} {seq_time:7.2f} s  {xml / 1e6 / seq_time:6.1f} MB/s  valid={want[0]} invalid={want[1]}", flush=True)
        for jobs in (1, 2):
            total, got = best(lambda: counted(run_partitions(str(top), jobs=jobs, transform=keep_errors)))
            assert got == want, (got, want)
            with local_cluster(jobs) as cluster:
                warm, got = best(lambda: counted(run_partitions(str(top), scheduler=cluster.scheduler_address, transform=keep_errors)))
            assert got == want, (got, want)
            print(f"{f'dask {jobs} (total)':<20} {total:7.2f} s  speed-up {seq_time / total:4.2f}x")
            print(f"{f'dask {jobs} (warm)':<20} {warm:7.2f} s  speed-up {seq_time / warm:4.2f}x", flush=True)
    finally:
        if not args.dir:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
