#!/usr/bin/python3
"""Redefine snapshot documents into libvirt's in-process test driver, in a given order, and report
what libvirt did: for the snapshot chain tests' differential part.

Run under the system Python that has python3-libvirt (``/usr/bin/python3``), as a subprocess:
stdlib + libvirt only, sharing ``libvirt_chain_driver.py``'s setup. One process is one
fresh driver state. Reads one JSON object on stdin::

    {"documents": [{"vm": KEY, "xml": DOC, "current": BOOL}, ...]}

Documents go, in order, to the VM named by their ``vm`` key; a VM is defined (not started: the
test driver redefines snapshots of an inactive domain) from the ``<domain>`` of the first document
of its key, or from a built-in domain with disks vda and vdb when that document has none or it
cannot be defined. Every document is redefined with ``virDomainSnapshotCreateXML(xml, REDEFINE)``,
with ``CURRENT`` added when its ``current`` is true (how a restore carries over libvirt's
``<active>1</active>``, which the public API does not read). Answers one JSON object::

    {"documents": [{"ok": true, "name": N} | {"ok": false, "error": MESSAGE}, ...],
     "vms": {KEY: {"parents": {N: P|null}, "roots": [...], "leaves": [...], "current": C|null}}}

``roots`` and ``leaves`` are ``listAllSnapshots`` with the ROOTS and LEAVES flags (sorted),
``current`` is ``snapshotCurrent()`` when ``hasCurrentSnapshot()``. Exit status 3 (and nothing on
stdout) when libvirt cannot be imported.
"""

import sys

from libvirt_chain_driver import define_vm, serve  # the same setup and run (this folder is on the path)


def _inactive_vm(libvirt, conn, xml, number):
    return define_vm(libvirt, conn, xml, number, "snapshot-chain-driver", full_only=True)


def _redefine(libvirt, dom, doc):
    flags = libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE
    if doc.get("current"):
        flags |= libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT
    return dom.snapshotCreateXML(doc["xml"], flags)


def _listed(libvirt, dom, which):
    flags = {None: 0, "roots": libvirt.VIR_DOMAIN_SNAPSHOT_LIST_ROOTS, "leaves": libvirt.VIR_DOMAIN_SNAPSHOT_LIST_LEAVES}[which]
    return dom.listAllSnapshots(flags)


def _current(libvirt, dom):
    return dom.snapshotCurrent().getName() if dom.hasCurrentSnapshot() else None


def main():
    return serve(_inactive_vm, _redefine, _listed, _current)


if __name__ == "__main__":
    sys.exit(main())
