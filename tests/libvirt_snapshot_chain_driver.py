#!/usr/bin/python3
"""Redefine snapshot documents into libvirt's in-process test driver, in a given order, and report
what libvirt did: for the snapshot chain tests' differential part.

Run under the system Python that has python3-libvirt (``/usr/bin/python3``), as a subprocess:
standalone on purpose (stdlib + libvirt only), like ``libvirt_chain_driver.py``. One process is one
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
import os
import sys
from xml.dom import minidom


def builtin_domain(number):
    disks = "".join(
        "<disk type='file' device='disk'><source file='/tmp/snapshot-chain-driver/%s.img'/>"
        "<target dev='%s' bus='virtio'/></disk>" % (t, t)
        for t in ("vda", "vdb")
    )
    return (
        "<domain type='test'><name>snapshot-chain-driver-%d</name><uuid>c7a5fdbd-edaf-9455-926a-%012d</uuid>"
        "<memory unit='KiB'>1048576</memory><os><type arch='x86_64'>hvm</type></os><devices>%s</devices></domain>"
        % (number, number, disks)
    )


def nested_domain(xml):
    try:
        root = minidom.parseString(xml.encode("utf-8")).documentElement
    except Exception:  # noqa: BLE001 - libvirt judges the document itself
        return None
    for node in root.childNodes:
        if node.nodeType == node.ELEMENT_NODE and node.tagName == "domain" and node.getAttribute("type"):
            return node.toxml()
    return None


def main():
    os.environ.setdefault("LIBVIRT_LOG_OUTPUTS", "1:file:/dev/null")
    try:
        import libvirt
    except ImportError:
        return 3
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    request = json.load(sys.stdin)
    conn = libvirt.open("test:///default")
    old = conn.lookupByName("test")
    if old.isActive():
        old.destroy()
    old.undefine()
    vms = {}
    answers = []
    for doc in request["documents"]:
        key = doc["vm"]
        if key not in vms:
            text = nested_domain(doc["xml"])
            dom = None
            if text is not None:
                try:
                    dom = conn.defineXML(text)
                except libvirt.libvirtError:
                    dom = None
            if dom is None:
                dom = conn.defineXML(builtin_domain(len(vms) + 1))
            vms[key] = dom
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
