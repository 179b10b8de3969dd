#!/usr/bin/python3
"""Batch driver for libvirt's in-process *test* driver, for the differential tests.

Run under the system Python that has python3-libvirt (``/usr/bin/python3``), as a subprocess:
it reads JSON Lines requests on stdin and answers one JSON line per request on stdout, so many
documents cost one process start. Standalone on purpose (stdlib + libvirt only): it must not
import checkpoint_stream, which may live in another interpreter. Modelled on
``shared/tools/libvirt-oracle`` (same connection URI, same public API calls).

Requests:

* ``{"op": "canon", "domain": XML}`` -- define ``XML`` on the test connection (it must use the
  uuid and name of the driver's domain, see ``{"op": "info"}``) and answer libvirt's canonical
  inactive, secure form: ``{"ok": true, "xml": ...}``; on failure ``{"ok": false, "error": ...}``.
  The domain keeps running, so later checkpoint requests are accepted.
* ``{"op": "checkpoint", "xml": DOC, "flags": CREATE_FLAGS, "xml_flags": XML_FLAGS,
  "setup": [DOC, ...]}`` -- delete every checkpoint of the domain, redefine each setup document
  (errors ignored: they exist to provide parents), then ``checkpointCreateXML(DOC, flags)`` and
  ``getXMLDesc(xml_flags)``. Answer ``{"ok": true, "xml": ...}`` or
  ``{"ok": false, "error": <libvirt message with its category prefix>}``.
* ``{"op": "info"}`` -- ``{"ok": true, "uuid": ..., "name": ...}``.

Exit status 3 (and nothing on stdout) when libvirt cannot be imported.
"""

import json
import os
import sys

UUID = "c7a5fdbd-edaf-9455-926a-d65c16db1809"
NAME = "cstest"
BASE_DOMAIN = (
    "<domain type='test'><name>%s</name><uuid>%s</uuid><memory unit='KiB'>1048576</memory>"
    "<os><type arch='i686'>hvm</type></os><devices>"
    "<disk type='file' device='disk'><source file='/tmp/cs-differential/vda.img'/>"
    "<target dev='vda' bus='virtio'/></disk></devices></domain>" % (NAME, UUID)
)


def main():
    os.environ.setdefault("LIBVIRT_LOG_OUTPUTS", "1:file:/dev/null")
    try:
        import libvirt
    except ImportError:
        return 3
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    conn = libvirt.open("test:///default")
    try:
        old = conn.lookupByName("test")
        if old.isActive():
            old.destroy()
        old.undefine()
    except libvirt.libvirtError:
        pass
    dom = conn.defineXML(BASE_DOMAIN)
    dom.create()

    def clear():
        for cp in dom.listAllCheckpoints(libvirt.VIR_DOMAIN_CHECKPOINT_LIST_ROOTS):
            try:
                cp.delete(libvirt.VIR_DOMAIN_CHECKPOINT_DELETE_CHILDREN)
            except libvirt.libvirtError:
                pass

    def handle(req):
        op = req.get("op")
        if op == "info":
            return {"ok": True, "uuid": UUID, "name": NAME}
        if op == "canon":
            try:
                d = conn.defineXML(req["domain"])
                xml = d.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE)
            except libvirt.libvirtError as e:
                return {"ok": False, "error": e.get_error_message()}
            return {"ok": True, "xml": xml}
        if op == "checkpoint":
            clear()
            for stub in req.get("setup", ()):
                try:
                    dom.checkpointCreateXML(stub, 1)
                except libvirt.libvirtError:
                    pass
            try:
                cp = dom.checkpointCreateXML(req["xml"], req.get("flags", 0))
                out = cp.getXMLDesc(req.get("xml_flags", 0))
            except libvirt.libvirtError as e:
                return {"ok": False, "error": e.get_error_message()}
            return {"ok": True, "xml": out}
        return {"ok": False, "error": "libvirt_driver: unknown op %r" % (op,)}

    os.makedirs("/tmp/cs-differential", exist_ok=True)
    open("/tmp/cs-differential/vda.img", "a").close()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = handle(json.loads(line))
        except Exception as exc:  # report, keep the batch going
            answer = {"ok": False, "error": "libvirt_driver: %s: %s" % (type(exc).__name__, exc)}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


def run_batch(requests, python="/usr/bin/python3", timeout=120):
    """Helper for the tests: run ``requests`` (dicts) through one driver process, return the
    answers in order. Raises RuntimeError when the driver fails."""
    import subprocess

    payload = "".join(json.dumps(r) + "\n" for r in requests)
    proc = subprocess.run(
        [python, os.path.abspath(__file__)],
        input=payload.encode("utf-8"),
        capture_output=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError("libvirt_driver exited %d: %s" % (proc.returncode, proc.stderr.decode("utf-8", "replace")))
    answers = [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines() if line.strip()]
    if len(answers) != len(requests):
        raise RuntimeError("libvirt_driver answered %d of %d requests" % (len(answers), len(requests)))
    return answers


if __name__ == "__main__":
    sys.exit(main())
