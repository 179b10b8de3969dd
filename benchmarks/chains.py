"""Chain analysis: what it adds to the parse of the same archive, and the memory it keeps.

    python3 benchmarks/chains.py                 # time, on archives laid out as backup tools do
    python3 benchmarks/chains.py --memory        # peak RSS for 1,000,000 checkpoints of 10,000 VMs

The archives are what a backup tool leaves: per VM a chain of checkpoints in libvirt's layout,
named and numbered like virtnbdbackup's (``virtnbdbackup.N``, a bitmap per disk named after its
checkpoint, creationTime rising), each VM's domain one of the varied structures of
``corpus.varied_domain`` (its own disks, interfaces, devices; every few checkpoints the domain
changes, as a VM's configuration does). Three layouts of the same documents: a folder
(``VM/checkpoints/virtnbdbackup.N.xml``, one file each), a ``.tar.gz`` of that folder, and one
concatenated stream with the VMs' checkpoints interleaved in time (a log pipeline's view).

Timing: rounds alternate "parse only" (every record read through ``iter_sources``, as the command
line reads) and "parse + chain" (the same, fed to :class:`ChainBuilder`, then ``finish()``); the
figure is the median over rounds of (parse + chain) / (parse only) - 1.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import shutil
import statistics
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import corpus  # noqa: E402

from checkpoint_stream import iter_sources  # noqa: E402
from checkpoint_stream.chain import ChainBuilder  # noqa: E402


def checkpoint(vm: int, n: int, structure: int, devices: int, version: int) -> str:
    domain, ndisks = corpus.varied_domain(vm, structure, devices)
    if version:  # the VM's configuration changed: a new domain text from here on
        domain = domain.replace("<currentMemory unit='KiB'>219136<", f"<currentMemory unit='KiB'>{219136 + 1024 * version}<")
    name = f"virtnbdbackup.{n}"
    disks = "".join(f"    <disk name='{corpus._vd(k)}' checkpoint='bitmap' bitmap='{name}'/>\n" for k in range(ndisks))
    parent = f"  <parent>\n    <name>virtnbdbackup.{n - 1}</name>\n  </parent>\n" if n else ""
    return (
        "<domaincheckpoint>\n"
        f"  <name>{name}</name>\n"
        + parent
        + f"  <creationTime>{1_700_000_000 + 86400 * n + vm}</creationTime>\n"
        "  <disks>\n" + disks + "  </disks>\n"
        "  " + domain + "\n"
        "</domaincheckpoint>\n"
    )


def archive_documents(vms: int, per_vm: int, seed: int = 7) -> list[tuple[int, int, str]]:
    pick = random.Random(seed)
    out = []
    for vm in range(vms):
        structure, devices = pick.randrange(64), pick.randrange(1 << 12)
        for n in range(per_vm):
            out.append((vm, n, checkpoint(vm, n, structure, devices, n // 10)))
    return out


def write_archive(root: Path, vms: int, per_vm: int) -> dict[str, str]:
    docs = archive_documents(vms, per_vm)
    folder = root / "folder"
    for vm, n, text in docs:
        path = folder / f"guest{vm}" / "checkpoints" / f"virtnbdbackup.{n}.xml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    tar = root / "archive.tar.gz"
    with tarfile.open(tar, "w:gz") as tf:
        tf.add(folder, arcname="backup")
    stream = root / "stream.xml"
    with open(stream, "w") as f:
        for _, _, text in sorted(docs, key=lambda d: (d[1], d[0])):
            f.write(text)
    return {"folder": str(folder), "tar.gz": str(tar), "stream": str(stream)}


def parse_only(path: str) -> int:
    count = 0
    for _ in iter_sources([path], on_error="skip"):
        count += 1
    return count


def parse_and_chain(path: str) -> int:
    builder = ChainBuilder()
    builder.extend(iter_sources([path], on_error="skip"))
    return sum(len(ch.order) for ch in builder.iter_finish())


def timing(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="chain-bench-"))
    try:
        layouts = write_archive(root, args.vms, args.per_vm)
        total = args.vms * args.per_vm
        print(f"archive: {args.vms} VMs x {args.per_vm} checkpoints = {total} documents; {args.rounds} rounds")
        print(f"{'layout':8} {'parse only':>12} {'parse+chain':>12} {'chain adds':>11}  [min-max]")
        for layout, path in layouts.items():
            assert parse_and_chain(path) == total  # every checkpoint restorable, in order
            parse_only(path)  # warm the page cache and the fast reader
            ratios, plain, chained = [], [], []
            for r in range(args.rounds):
                pair = [(parse_only, plain), (parse_and_chain, chained)]
                if r % 2:
                    pair.reverse()
                times = {}
                for fn, sink in pair:
                    gc.collect()
                    t = time.perf_counter()
                    fn(path)
                    times[fn] = time.perf_counter() - t
                    sink.append(times[fn])
                ratios.append(times[parse_and_chain] / times[parse_only] - 1)
            print(
                f"{layout:8} {statistics.median(plain) / total * 1e6:9.1f} us {statistics.median(chained) / total * 1e6:9.1f} us "
                f"{statistics.median(ratios):+10.1%}  [{min(ratios):+.1%} {max(ratios):+.1%}]"
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def memory(args: argparse.Namespace) -> None:
    """1,000,000 checkpoints of 10,000 VMs, parsed from a stream made on the fly (interleaved in
    time, each VM with its own domain) and fed to one builder: the builder's bytes per
    checkpoint, and the process's peak RSS through parse, analysis and output."""
    vms, per_vm = args.memory_vms, args.memory_per_vm
    pick = random.Random(11)
    shapes = [(pick.randrange(64), pick.randrange(1 << 12)) for _ in range(vms)]

    def chunks():
        for n in range(per_vm):
            batch = []
            for vm in range(vms):
                structure, devices = shapes[vm]
                batch.append(checkpoint(vm, n, structure, devices, n // 10))
            yield "".join(batch).encode()

    from checkpoint_stream import iterparse

    gc.collect()
    base = _rss_mb()
    builder = ChainBuilder()
    t = time.perf_counter()
    builder.extend(iterparse(chunks()))
    read = time.perf_counter() - t
    gc.collect()
    held = _rss_mb() - base
    t = time.perf_counter()
    restorable = problems = 0
    for ch in builder.iter_finish():
        restorable += len(ch.order)
        problems += len(ch.problems)
    analysed = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = vms * per_vm
    print(f"{total} checkpoints of {vms} VMs: read and kept in {read:.1f} s, analysed in {analysed:.1f} s")
    print(f"skeletons held after reading: {held:.0f} MB = {held * 1024 * 1024 / total:.0f} bytes per checkpoint")
    print(f"peak RSS of the process (interpreter included): {peak:.0f} MB; {restorable} restorable, {problems} problems")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vms", type=int, default=40)
    ap.add_argument("--per-vm", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--memory", action="store_true", help="the memory run instead of the timing")
    ap.add_argument("--memory-vms", type=int, default=10_000)
    ap.add_argument("--memory-per-vm", type=int, default=100)
    args = ap.parse_args()
    if args.memory:
        memory(args)
    else:
        timing(args)


if __name__ == "__main__":
    main()
