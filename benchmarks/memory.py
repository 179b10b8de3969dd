"""Peak memory of reading streams whose documents carry long values (issue #18, item 5).

Each case runs in a fresh interpreter, reads a generated stream through ``iterparse`` in 64 KiB
chunks (records dropped as they come) and prints the peak RSS. The cases are the ones that grew
the fast reader's memory without bound while it was bounded in entries only:

* ``line70k``: every domain has a different 70 KB line (a long ``<description>``);
* ``bitmap100k``: every disk's bitmap name is a different 100 KB string;
* ``title100k``: every domain has a different 100 KB ``<title>``;
* ``plain``: the same documents without the long values (the baseline);
* ``comment320m``: one document holding a 320 MiB comment (``max_text`` raised to 1 GiB, so only
  ``max_document_bytes``, 64 MiB, stops it), then one small document;
* ``doc70m``: one 70 MiB document, a domain with many devices (past ``max_document_bytes``), then
  one small document. For these two the target is the limit + 32 MB (``--docs`` is not used).
* ``disks70m``: one 70 MiB document of ``<disk>`` elements: the disks read are Python objects
  until ``max_disks`` (1,000,000) or the size limit stops it, so it holds more than the bytes.

Usage: ``python benchmarks/memory.py [--docs N] [case ...]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from typing import Iterator

CASES = ("plain", "line70k", "bitmap100k", "title100k", "comment320m", "doc70m", "disks70m")
_SMALL = b"<domaincheckpoint><name>after</name></domaincheckpoint>\n"


def _document(i: int, case: str) -> bytes:
    long = f"{i:08d}" + "x" * (70_000 if case == "line70k" else 100_000)
    bitmap = long if case == "bitmap100k" else f"c{i}"
    lines = [
        "<domaincheckpoint>",
        f"  <name>c{i}</name>",
        f"  <creationTime>{1_700_000_000 + i}</creationTime>",
        "  <disks>",
        f"    <disk name='vda' checkpoint='bitmap' bitmap='{bitmap}'/>",
        "  </disks>",
        "  <domain type='kvm'>",
        f"    <name>guest{i % 7}</name>",
        f"    <uuid>6f1c0b2e-93a4-4c2d-8e5f-{i % 7:012x}</uuid>",
    ]
    if case == "title100k":
        lines.append(f"    <title>{long}</title>")
    if case == "line70k":
        lines.append(f"    <description>{long}</description>")
    lines += [
        "    <memory unit='KiB'>1048576</memory>",
        "    <os>",
        "      <type arch='x86_64'>hvm</type>",
        "    </os>",
        "    <devices>",
        "      <disk type='file' device='disk'>",
        f"        <source file='/var/lib/libvirt/images/guest{i % 7}.qcow2'/>",
        "        <target dev='vda' bus='virtio'/>",
        "      </disk>",
        "    </devices>",
        "  </domain>",
        "</domaincheckpoint>",
    ]
    return ("\n".join(lines) + "\n").encode()


# One large document, then a small one: (head, piece repeated, times, tail).
_DEVICE = b"      <disk type='file' device='disk'>\n        <source file='/var/lib/libvirt/images/x.qcow2'/>\n      </disk>\n"
_LARGE = {
    "comment320m": (b"<domaincheckpoint><name>a</name><!--", b"y" * 65536, 320 * 16, b"--></domaincheckpoint>\n"),
    "doc70m": (
        b"<domaincheckpoint>\n  <name>big</name>\n  <domain type='kvm'>\n    <name>g</name>\n    <devices>\n",
        _DEVICE * 512,
        70 * 1024 * 1024 // len(_DEVICE * 512),
        b"    </devices>\n  </domain>\n</domaincheckpoint>\n",
    ),
    "disks70m": (
        b"<domaincheckpoint>\n  <name>big</name>\n  <disks>\n",
        b"    <disk name='vda' checkpoint='no'/>\n" * 1024,
        70 * 1024 * 1024 // len(b"    <disk name='vda' checkpoint='no'/>\n" * 1024),
        b"  </disks>\n</domaincheckpoint>\n",
    ),
}


def _chunks(case: str, docs: int) -> Iterator[bytes]:
    if case in _LARGE:
        head, piece, times, tail = _LARGE[case]
        yield head
        for _ in range(times):
            yield piece
        yield tail + _SMALL
        return
    pending = bytearray()
    for i in range(docs):
        pending += _document(i, case)
        while len(pending) >= 65536:
            yield bytes(pending[:65536])
            del pending[:65536]
    if pending:
        yield bytes(pending)


def _child(case: str, docs: int) -> None:
    import resource

    from checkpoint_stream import iterparse

    extra = {"max_text": 1 << 30} if case == "comment320m" else {}
    count = sum(1 for _ in iterparse(_chunks(case, docs), on_error="skip", yield_errors=True, **extra))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{case:<11} {docs:>6} documents ({count} read): peak RSS {peak:.1f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=4000)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("cases", nargs="*", default=list(CASES))
    args = ap.parse_args()
    if args.child:
        _child(args.child, args.docs)
        return
    for case in args.cases:
        subprocess.run([sys.executable, __file__, "--child", case, "--docs", str(args.docs)], check=True)


if __name__ == "__main__":
    main()
