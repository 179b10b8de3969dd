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

import json
import sys

from libvirt_chain_driver import connect, define_vm  # the same setup (this folder is on the path)


def main():
    found = connect()
    if found is None:
        return 3
    libvirt, conn = found
    request = json.load(sys.stdin)
    vms = {}
    answers = []
    for doc in request["documents"]:
        key = doc["vm"]
        if key not in vms:
            vms[key] = define_vm(libvirt, conn, doc["xml"], len(vms) + 1, "snapshot-chain-driver", full_only=True)
        flags = libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE
        if doc.get("current"):
            flags |= libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT
        try:
            snap = vms[key].snapshotCreateXML(doc["xml"], flags)
            answers.append({"ok": True, "name": snap.getName()})
        except libvirt.libvirtError as err:
            answers.append({"ok": False, "error": err.get_error_message()})
    out = {}
    for key, dom in vms.items():
        parents = {}
        for snap in dom.listAllSnapshots(0):
            try:
                parents[snap.getName()] = snap.getParent().getName()
            except libvirt.libvirtError:
                parents[snap.getName()] = None
        roots = sorted(s.getName() for s in dom.listAllSnapshots(libvirt.VIR_DOMAIN_SNAPSHOT_LIST_ROOTS))
        leaves = sorted(s.getName() for s in dom.listAllSnapshots(libvirt.VIR_DOMAIN_SNAPSHOT_LIST_LEAVES))
        current = dom.snapshotCurrent().getName() if dom.hasCurrentSnapshot() else None
        out[key] = {"parents": parents, "roots": roots, "leaves": leaves, "current": current}
    json.dump({"documents": answers, "vms": out}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
