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


def serve(open_vm, redefine, listed, current_of):
    """The driver's run, for checkpoints or snapshots: each document of the request on stdin
    redefined in order into its VM (``open_vm(libvirt, conn, xml, number)`` makes a VM from its
    key's first document, ``redefine(libvirt, dom, doc)`` returns the moment made), then each
    VM's tree: ``listed(libvirt, dom, which)`` lists its moments (``which``: None, "roots" or
    "leaves"), ``current_of(libvirt, dom)`` names its current one. The answer on stdout; 3 when
    libvirt cannot be imported."""
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
            vms[key] = open_vm(libvirt, conn, doc["xml"], len(vms) + 1)
        try:
            answers.append({"ok": True, "name": redefine(libvirt, vms[key], doc).getName()})
        except libvirt.libvirtError as err:
            answers.append({"ok": False, "error": err.get_error_message()})
    out = {}
    for key, dom in vms.items():
        parents = {}
        for moment in listed(libvirt, dom, None):
            try:
                parents[moment.getName()] = moment.getParent().getName()
            except libvirt.libvirtError:
                parents[moment.getName()] = None
        roots = sorted(m.getName() for m in listed(libvirt, dom, "roots"))
        leaves = sorted(m.getName() for m in listed(libvirt, dom, "leaves"))
        out[key] = {"parents": parents, "roots": roots, "leaves": leaves, "current": current_of(libvirt, dom)}
    json.dump({"documents": answers, "vms": out}, sys.stdout)
    return 0


def _running_vm(libvirt, conn, xml, number):
    dom = define_vm(libvirt, conn, xml, number)
    dom.create()  # the test driver only takes checkpoints on running domains
    return dom


def _redefine(libvirt, dom, doc):
    return dom.checkpointCreateXML(doc["xml"], libvirt.VIR_DOMAIN_CHECKPOINT_CREATE_REDEFINE)


def _listed(libvirt, dom, which):
    flags = {None: 0, "roots": libvirt.VIR_DOMAIN_CHECKPOINT_LIST_ROOTS, "leaves": libvirt.VIR_DOMAIN_CHECKPOINT_LIST_LEAVES}[which]
    return dom.listAllCheckpoints(flags)


def _current(libvirt, dom):
    probe = dom.checkpointCreateXML("<domaincheckpoint><name>%s</name></domaincheckpoint>" % PROBE, 0)
    try:
        return probe.getParent().getName()
    except libvirt.libvirtError:
        return None


def main():
    return serve(_running_vm, _redefine, _listed, _current)


if __name__ == "__main__":
    sys.exit(main())
