#!/usr/bin/python3
"""Redefine checkpoint documents into libvirt's in-process test driver, in a given order, and
report what libvirt did: for the chain tests' differential part.

Run under the system Python that has python3-libvirt (``/usr/bin/python3``), as a subprocess:
standalone on purpose (stdlib + libvirt only), like ``libvirt_driver.py``. One process is one
fresh driver state. Reads one JSON object on stdin::

    {"documents": [{"vm": KEY, "xml": DOC}, ...]}

Documents go, in order, to the VM named by their ``vm`` key; a VM is defined (and started: the
test driver only takes checkpoints on running domains) from the ``<domain>`` of the first document
of its key, or from a built-in domain with disks vda and vdb when that document has none. Every
document is redefined with ``virDomainCheckpointCreateXML(xml, REDEFINE)``. Answers one JSON
object::

    {"documents": [{"ok": true, "name": N} | {"ok": false, "error": MESSAGE}, ...],
     "vms": {KEY: {"parents": {N: P|null}, "roots": [...], "leaves": [...], "current": C|null}}}

``current`` is probed as in ``shared/tools/libvirt-chain-oracle``: libvirt 9.0 has no public call
for the current checkpoint, so a plain checkpoint is created last and its parent is the current
one. Exit status 3 (and nothing on stdout) when libvirt cannot be imported.
"""

import json
import os
import sys
from xml.dom import minidom

PROBE = "chain-driver-current-probe"


def builtin_domain(number, prefix="chain-driver"):
    disks = "".join(
        "<disk type='file' device='disk'><source file='/tmp/%s/%s.img'/>"
        "<target dev='%s' bus='virtio'/></disk>" % (prefix, t, t)
        for t in ("vda", "vdb")
    )
    return (
        "<domain type='test'><name>%s-%d</name><uuid>c7a5fdbd-edaf-9455-926a-%012d</uuid>"
        "<memory unit='KiB'>1048576</memory><os><type arch='x86_64'>hvm</type></os><devices>%s</devices></domain>"
        % (prefix, number, number, disks)
    )


def nested_domain(xml, full_only=False):
    """The document's ``<domain>`` as text (``full_only``: only one with a type, not a snapshot's
    old-style ``<domain><uuid>``), or None."""
    try:
        root = minidom.parseString(xml.encode("utf-8")).documentElement
    except Exception:  # noqa: BLE001 - libvirt judges the document itself
        return None
    for node in root.childNodes:
        if node.nodeType == node.ELEMENT_NODE and node.tagName == "domain" and (node.getAttribute("type") or not full_only):
            return node.toxml()
    return None


def connect():
    """(libvirt, a connection to a fresh test driver without its default VM), or None without
    libvirt."""
    os.environ.setdefault("LIBVIRT_LOG_OUTPUTS", "1:file:/dev/null")
    try:
        import libvirt
    except ImportError:
        return None
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    conn = libvirt.open("test:///default")
    old = conn.lookupByName("test")
    if old.isActive():
        old.destroy()
    old.undefine()
    return libvirt, conn


def define_vm(libvirt, conn, xml, number, prefix="chain-driver", full_only=False):
    """The VM of a document: its ``<domain>`` defined, else a built-in one."""
    text = nested_domain(xml, full_only)
    if text is not None:
        try:
            return conn.defineXML(text)
        except libvirt.libvirtError:
            pass
    return conn.defineXML(builtin_domain(number, prefix))


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
            dom = define_vm(libvirt, conn, doc["xml"], len(vms) + 1)
            dom.create()
            vms[key] = dom
        try:
            cp = vms[key].checkpointCreateXML(doc["xml"], libvirt.VIR_DOMAIN_CHECKPOINT_CREATE_REDEFINE)
            answers.append({"ok": True, "name": cp.getName()})
        except libvirt.libvirtError as err:
            answers.append({"ok": False, "error": err.get_error_message()})
    out = {}
    for key, dom in vms.items():
        parents = {}
        for cp in dom.listAllCheckpoints(0):
            try:
                parents[cp.getName()] = cp.getParent().getName()
            except libvirt.libvirtError:
                parents[cp.getName()] = None
        roots = sorted(c.getName() for c in dom.listAllCheckpoints(libvirt.VIR_DOMAIN_CHECKPOINT_LIST_ROOTS))
        leaves = sorted(c.getName() for c in dom.listAllCheckpoints(libvirt.VIR_DOMAIN_CHECKPOINT_LIST_LEAVES))
        probe = dom.checkpointCreateXML("<domaincheckpoint><name>%s</name></domaincheckpoint>" % PROBE, 0)
        try:
            current = probe.getParent().getName()
        except libvirt.libvirtError:
            current = None
        out[key] = {"parents": parents, "roots": roots, "leaves": leaves, "current": current}
    json.dump({"documents": answers, "vms": out}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
