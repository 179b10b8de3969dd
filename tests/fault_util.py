"""Streams with faults injected, and the loss accounting the fault tests share.

A stream is many checkpoint documents in libvirt's layout (with or without an XML declaration,
with or without a domain), a few of them damaged: cut short (a crash while writing), a byte
changed, or a run of bytes lost. The accounting checks the promise of skip mode: every document
that is valid on its own comes out exactly once, in order, and between two of them exactly as
many errors as there were damaged documents.
"""

from __future__ import annotations

import random
import re
from typing import Iterable, Sequence

from checkpoint_stream import CheckpointError, iterparse, parse
from checkpoint_stream.records import Checkpoint

DEVICES = [
    "    <interface type='network'>\n      <mac address='52:54:00:{i:02x}:00:01'/>\n      <source network='default'/>\n"
    "      <model type='virtio'/>\n    </interface>",
    "    <graphics type='vnc' port='-1' autoport='yes'>\n      <listen type='address'/>\n    </graphics>",
    "    <input type='tablet' bus='usb'/>",
    "    <memballoon model='virtio'/>",
    "    <serial type='pty'>\n      <target port='0'/>\n    </serial>",
]


def document(i: int, *, declaration: bool, domain: bool) -> bytes:
    """Checkpoint ``c{i}`` (its parent ``c{i-1}``), in libvirt's layout; domains differ in their
    devices from one document to the next."""
    disks = ["vda", "vdb", "vdc"][: 1 + i % 3]
    lines = ["<?xml version='1.0'?>"] if declaration else []
    lines += ["<domaincheckpoint>", f"  <name>c{i}</name>", f"  <description>nightly {i}</description>"]
    if i:
        lines += ["  <parent>", f"    <name>c{i - 1}</name>", "  </parent>"]
    lines += [f"  <creationTime>{1_700_000_000 + i}</creationTime>", "  <disks>"]
    lines += [f"    <disk name='{d}' checkpoint='bitmap' bitmap='c{i}'/>" for d in disks]
    lines += ["  </disks>"]
    if domain:
        vm = f"guest{i % 13}"
        dom = [
            "<domain type='kvm'>",
            f"  <name>{vm}</name>",
            f"  <uuid>6f1c0b2e-93a4-4c2d-8e5f-{i % 13:012x}</uuid>",
            "  <memory unit='KiB'>1048576</memory>",
            "  <vcpu placement='static'>2</vcpu>",
            "  <os>",
            "    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>",
            "  </os>",
            "  <devices>",
        ]
        for d in disks:
            dom += [
                "    <disk type='file' device='disk'>",
                "      <driver name='qemu' type='qcow2'/>",
                f"      <source file='/var/lib/libvirt/images/{vm}-{d}.qcow2'/>",
                f"      <target dev='{d}' bus='virtio'/>",
                "    </disk>",
            ]
        dom += [DEVICES[k].format(i=i % 256) for k in range(len(DEVICES)) if (i >> k) & 1]
        dom += ["  </devices>", "</domain>"]
        lines += ["  " + line for line in dom]
    lines += ["</domaincheckpoint>"]
    return "\n".join(lines).encode() + b"\n"


def damage(doc: bytes, rng: random.Random, how: str) -> bytes:
    """``doc`` cut short, with one byte changed, or with a run of bytes lost (the line break that
    ends a document is kept by the last two: a changed one would be garbage of its own)."""
    if how == "cut":
        return doc[: rng.randrange(1, len(doc) - 2)]
    body = doc[:-1]
    k = rng.randrange(len(body))
    if how == "byte":
        return body[:k] + bytes([rng.randrange(256)]) + body[k + 1 :] + b"\n"
    if how == "lost":
        return body[:k] + body[k + rng.randrange(1, 200) :] + b"\n"
    raise ValueError(how)


def damaged_stream(seed: int, count: int, *, declaration: bool, domain: bool, how: str, share: float = 0.05) -> list[bytes]:
    rng = random.Random(seed)
    docs = []
    for i in range(count):
        doc = document(i, declaration=declaration, domain=domain)
        if rng.random() < share:
            doc = damage(doc, rng, how)
        docs.append(doc)
    return docs


_STARTS = re.compile(rb"<\?xml[ \t\r\n?](?:[^?]|\?(?!>))*\?>[ \t\r\n]*<domaincheckpoint[ \t\r\n/>]|<\?xml[ \t\r\n?]|<domaincheckpoint[ \t\r\n/>]")


def starts(doc: bytes) -> int:
    """How many documents begin in ``doc``: XML declarations and root start tags, a declaration
    followed by a root counting once. A damaged document holding two (its root end tag lost its
    '/', say) is two broken documents to a reader; one holding none is read with what precedes it
    (garbage, or the broken document before it)."""
    return len(_STARTS.findall(doc))


def alone(doc: bytes) -> Checkpoint | None:
    """The record of a document read on its own; None when it is rejected."""
    try:
        return parse(doc)
    except CheckpointError:
        return None


def read(chunks: Iterable[bytes]) -> list[Checkpoint | CheckpointError]:
    return list(iterparse(chunks, on_error="skip", yield_errors=True))


def account(docs: Sequence[bytes], items: Sequence[Checkpoint | CheckpointError], *, exact: bool = True) -> list[str]:
    """What skip mode got wrong on ``docs`` (concatenated) giving ``items``: valid documents lost,
    repeated or out of order, records that are no document's, and damaged documents not
    reported. Empty: none.

    Between two valid documents the damaged ones must be reported: ``exact``, with one error for
    each document start they hold (:func:`starts`), plus one when the first holds none (it is
    reported as garbage or as a document begun at its '<'; later ones without a start are read
    with the broken one before them), which is what documents cut short give; otherwise (a byte changed or lost can damage a start tag, or
    turn an end tag into a start tag) with at least one error and at most one per damaged
    document and extra start."""
    expected = [alone(doc) for doc in docs]
    valid = [(i, r) for i, r in enumerate(expected) if r is not None]
    problems: list[str] = []

    def check(first: int, stop: int, errors: int) -> None:
        if first >= stop:
            low = high = 0
        elif exact:
            # the first damaged one is reported even when no document starts in it (as garbage or
            # as a document begun at its '<'); later ones without a start are read with it
            low = high = sum(starts(docs[k]) for k in range(first, stop)) + (starts(docs[first]) == 0)
        else:
            low, high = 1, sum(max(1, starts(docs[k])) for k in range(first, stop))
        if not low <= errors <= high:
            problems.append(f"documents {first}..{stop - 1}: {stop - first} damaged, {errors} errors ({low}..{high} expected)")

    at = 0  # next valid document expected
    last = -1  # index of the last valid document seen
    errors = 0
    for item in items:
        if isinstance(item, CheckpointError):
            errors += 1
            continue
        if at < len(valid) and item == valid[at][1]:
            i = valid[at][0]
            at += 1
        else:
            problems.append(f"record {item.name!r} is not the next valid document ({valid[at][0] if at < len(valid) else 'none left'})")
            continue
        check(last + 1, i, errors)
        last, errors = i, 0
    problems += [f"valid document {i} lost" for i, _ in valid[at:]]
    if at == len(valid):
        check(last + 1, len(docs), errors)
    return problems
