#!/usr/bin/python3
"""Batch driver for libvirt's in-process *test* driver: ``<domainsnapshot>`` documents.

Run under the system Python that has python3-libvirt (``/usr/bin/python3``), as a subprocess:
it reads JSON Lines requests on stdin and answers one JSON line per request on stdout (flushed
after each), so hundreds of documents cost one process start. Standalone on purpose (stdlib +
libvirt only): it must not import checkpoint_stream, which may live in another interpreter.

Each request behaves as one fresh run of ``shared/tools/libvirt-oracle --snapshot`` would
(same connection URI, same domain set-up, same public API calls); only the domain's name and the
directory of the disk images differ (``cstest`` and ``/tmp/cs-snapdiff`` instead of ``oracle``
and ``/tmp/libvirt-oracle``). Requests:

* ``{"op": "snapshot", "xml": DOC, "flags": CREATE_FLAGS, "xml_flags": XML_FLAGS,
  "inactive": BOOL, "disks": "vda,vdb"}``:

  - without REDEFINE (bit 1 of ``flags``): the built-in domain (type 'test', uuid and name of
    ``{"op": "info"}``) with the disks given as for the oracle's ``--disks`` (default
    ``vda,vdb``; an item may end in ``:ro`` (``<readonly/>``) or ``:empty`` (cdrom without
    source); targets ``hd*`` use bus ide, ``sd*`` scsi, others virtio; sources
    ``/tmp/cs-snapdiff/<target>.img``, created as empty regular files);
  - with REDEFINE: the document's own ``<domain>`` (the root's ``xmlns``/``xmlns:*``
    declarations copied onto it) if it has a ``type`` attribute; if that cannot be defined, or
    has no ``type`` (old style ``<domain><uuid>``), a disk-less domain with the document's
    ``<uuid>`` and ``<name>``; failing that (or without any ``<domain>``), the built-in domain;
  - the domain is started unless ``inactive``; every snapshot of a previous request is gone;
  - with REDEFINE and a ``<parent>`` naming another snapshot, a stub parent (state shutoff,
    creationTime 1, the domain's full inactive XML) is redefined first, errors ignored;
  - optional ``"existing": true`` (REDEFINE only, like the oracle's ``--existing``): a snapshot
    with the document's name and state (default shutoff) and the full domain is redefined first;
  - then ``snapshotCreateXML(DOC, flags)`` and ``getXMLDesc(xml_flags)``.

  Answer ``{"ok": true, "xml": ...}`` or ``{"ok": false, "error": MESSAGE}``, MESSAGE exactly as
  ``libvirtError.get_error_message()`` gives it (with its category prefix, e.g. ``XML error:``).
  Problems of the driver itself (not libvirt's verdict on the document) start with
  ``libvirt_snapshot_driver:``.
* ``{"op": "info"}``: ``{"ok": true, "uuid": ..., "name": ..., "disk_dir": ...}``.

Speed: one connection for the whole batch; the domain is kept from one request to the next when
the next one needs the very same definitions and run state, its snapshots could all be deleted and
its definition and state did not change (otherwise every domain is undefined and the set-up is
redone from scratch). Set ``CS_SNAPSHOT_DRIVER_FRESH=1`` to redo the set-up for every request,
``CS_SNAPSHOT_DRIVER_STATS=1`` to get the number of set-ups and reuses on stderr at the end.

Exit status 3 (and nothing on stdout) when libvirt cannot be imported.
"""

import json
import os
import sys
from xml.dom import minidom
from xml.sax.saxutils import escape

UUID = "c7a5fdbd-edaf-9455-926a-d65c16db1809"
NAME = "cstest"
DISK_DIR = "/tmp/cs-snapdiff"
DEFAULT_DISKS = "vda,vdb"
PREFIX = "libvirt_snapshot_driver: "


def builtin_domain(disks, uuid=UUID, name=NAME):
    """The built-in domain, exactly as libvirt-oracle's ``builtin_domain`` (other name/dir)."""
    devs = []
    for item in [d for d in disks.split(",") if d]:
        target, _, kind = item.partition(":")
        bus = "ide" if target.startswith("hd") else "scsi" if target.startswith("sd") else "virtio"
        if kind == "empty":
            devs.append("<disk type='file' device='cdrom'><target dev='%s' bus='%s'/>"
                        "<readonly/></disk>" % (target, bus))
        else:
            path = os.path.join(DISK_DIR, target + ".img")
            os.makedirs(DISK_DIR, exist_ok=True)
            open(path, "a").close()
            devs.append("<disk type='file' device='disk'><source file='%s'/>"
                        "<target dev='%s' bus='%s'/>%s</disk>"
                        % (escape(path), target, bus, "<readonly/>" if kind == "ro" else ""))
    return ("<domain type='test'><name>%s</name><uuid>%s</uuid>"
            "<memory unit='KiB'>1048576</memory><os><type arch='i686'>hvm</type></os>"
            "<devices>%s</devices></domain>" % (escape(name), escape(uuid), "".join(devs)))


def child(elem, tag):
    for n in elem.childNodes:
        if n.nodeType == n.ELEMENT_NODE and n.tagName == tag:
            return n
    return None


def text_of(elem, tag):
    n = child(elem, tag) if elem is not None else None
    return "".join(t.data for t in n.childNodes
                   if t.nodeType in (t.TEXT_NODE, t.CDATA_SECTION_NODE)) if n else None


def plan(text, redefine, disks):
    """What libvirt-oracle would set up for this document: (candidate domain XMLs, name, parent,
    root element or None)."""
    root = None
    try:
        root = minidom.parseString(text.encode("utf-8")).documentElement
    except Exception:  # noqa: BLE001 - any parse problem is libvirt's to report
        pass
    name = text_of(root, "name") if root is not None else None
    parent = (text_of(child(root, "parent"), "name")
              if root is not None and child(root, "parent") else None)
    if redefine and root is not None and child(root, "domain") is not None:
        d = child(root, "domain")
        for attr, val in root.attributes.items():
            if (attr == "xmlns" or attr.startswith("xmlns:")) and not d.hasAttribute(attr):
                d.setAttribute(attr, val)
        candidates = [d.toxml()] if d.getAttribute("type") else []
        candidates += [builtin_domain("", (text_of(d, "uuid") or UUID).strip(),
                                      (text_of(d, "name") or NAME).strip()),
                       builtin_domain(disks)]
    else:
        candidates = [builtin_domain(disks)]
    return candidates, name, parent, root


class Driver:
    def __init__(self, libvirt):
        self.lv = libvirt
        self.fresh = os.environ.get("CS_SNAPSHOT_DRIVER_FRESH") == "1"
        self.conn = libvirt.open("test:///default")
        self.dom = None
        self.key = None          # (candidates, inactive) the current domain was set up for
        self.fingerprint = None  # its state right after the set-up
        self.reused = self.setups = 0
        self.teardown()

    def teardown(self):
        lv = self.lv
        for d in self.conn.listAllDomains(0):
            try:
                if d.isActive():
                    d.destroy()
            except lv.libvirtError:
                pass
            try:
                d.undefineFlags(lv.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
            except lv.libvirtError:
                d.undefine()
        self.dom = self.key = self.fingerprint = None

    def state_of(self, dom):
        lv = self.lv
        return (dom.UUIDString(), dom.name(), dom.isActive(), tuple(dom.state()),
                dom.XMLDesc(lv.VIR_DOMAIN_XML_INACTIVE | lv.VIR_DOMAIN_XML_SECURE),
                dom.XMLDesc(lv.VIR_DOMAIN_XML_SECURE) if dom.isActive() else None)

    def reusable(self, key):
        """Whether the current domain can serve a request that needs ``key``, once its
        snapshots are deleted."""
        lv = self.lv
        if self.fresh or self.dom is None or key != self.key:
            return False
        try:
            if len(self.conn.listAllDomains(0)) != 1:
                return False
            dom = self.dom
            for snap in dom.listAllSnapshots(lv.VIR_DOMAIN_SNAPSHOT_LIST_ROOTS):
                try:
                    snap.delete(lv.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN)
                except lv.libvirtError:
                    return False
            if dom.snapshotNum(0) != 0 or dom.hasCurrentSnapshot(0):
                return False
            return self.state_of(dom) == self.fingerprint
        except lv.libvirtError:
            return False

    def setup(self, candidates, inactive):
        """Define (and start) the domain as libvirt-oracle does; returns an error text or None."""
        lv = self.lv
        key = (tuple(candidates), bool(inactive))
        if self.reusable(key):
            self.reused += 1
            return None
        self.setups += 1
        self.teardown()
        dom = None
        for i, xml in enumerate(candidates):
            try:
                dom = self.conn.defineXML(xml)
                break
            except lv.libvirtError as e:
                if i == len(candidates) - 1:
                    return PREFIX + "cannot define domain: " + e.get_error_message()
        if not inactive:
            try:
                dom.create()
            except lv.libvirtError as e:
                self.teardown()
                return PREFIX + "cannot start domain: " + e.get_error_message()
        self.dom, self.key, self.fingerprint = dom, key, self.state_of(dom)
        return None

    def snapshot(self, req):
        lv = self.lv
        text = req["xml"]
        cflags = int(req.get("flags", 0))
        xflags = int(req.get("xml_flags", 0))
        disks = req.get("disks", DEFAULT_DISKS)
        if disks is None:
            disks = DEFAULT_DISKS
        redefine = bool(cflags & 1)
        candidates, name, parent, root = plan(text, redefine, disks)
        err = self.setup(candidates, req.get("inactive", False))
        if err:
            return {"ok": False, "error": err}
        dom = self.dom
        full = dom.XMLDesc(lv.VIR_DOMAIN_XML_INACTIVE)
        tag = "domainsnapshot"
        if redefine and parent and parent != name:
            stub = "<%s><name>%s</name><state>shutoff</state><creationTime>1</creationTime>%s</%s>" % (
                tag, escape(parent), full, tag)
            try:
                dom.snapshotCreateXML(stub, 1)
            except lv.libvirtError:
                pass
        if redefine and req.get("existing") and name:
            state = text_of(root, "state") or "shutoff"
            seed = "<%s><name>%s</name><state>%s</state><creationTime>1</creationTime>%s</%s>" % (
                tag, escape(name), escape(state), full, tag)
            try:
                dom.snapshotCreateXML(seed, 1)
            except lv.libvirtError:
                pass
        try:
            snap = dom.snapshotCreateXML(text, cflags)
            out = snap.getXMLDesc(xflags)
        except lv.libvirtError as e:
            return {"ok": False, "error": e.get_error_message()}
        return {"ok": True, "xml": out}


def main():
    os.environ.setdefault("LIBVIRT_LOG_OUTPUTS", "1:file:/dev/null")
    try:
        import libvirt
    except ImportError:
        return 3
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    driver = Driver(libvirt)

    def handle(req):
        op = req.get("op")
        if op == "info":
            return {"ok": True, "uuid": UUID, "name": NAME, "disk_dir": DISK_DIR}
        if op == "snapshot":
            return driver.snapshot(req)
        return {"ok": False, "error": PREFIX + "unknown op %r" % (op,)}

    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = handle(json.loads(line))
        except Exception as exc:  # report, keep the batch going
            answer = {"ok": False, "error": PREFIX + "%s: %s" % (type(exc).__name__, exc)}
            try:
                driver.teardown()
            except Exception:  # noqa: BLE001
                pass
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    if os.environ.get("CS_SNAPSHOT_DRIVER_STATS") == "1":
        sys.stderr.write("libvirt_snapshot_driver: %d set-ups, %d reuses\n" % (driver.setups, driver.reused))
    return 0


if __name__ == "__main__":
    sys.exit(main())
