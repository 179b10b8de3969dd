"""Snapshot (``<domainsnapshot>``) cases for the differential tests against real libvirt 9.0.

``cases()`` returns about 300 deterministic cases, each ``{"id", "xml", "flags", "xml_flags",
"inactive", "disks"}``: the request fields of ``tests/libvirt_snapshot_driver.py`` (which mimics
one run of ``shared/tools/libvirt-oracle --snapshot``), see ``shared/spec/snapshot-xml.md``.

* ``flags``: the create flags. REDEFINE (1) or a plain create (0); many carry VALIDATE (512),
  which makes libvirt check the RELAX NG schema: the library validates unconditionally, so for
  it the most useful plain-create answers are those with 512. A case without 512 whose document
  breaks the schema shows what libvirt's parser alone does. A few cases use other flags (CURRENT 2,
  HALT 8, QUIESCE 64, ... and the flag errors).
* ``xml_flags``: 1 (SECURE) except two cases with 2 and 4 (the ``GetXMLDesc`` flag error).
* ``inactive``: whether the domain is left shut off; ``disks``: the built-in domain's disks in
  the oracle's ``--disks`` syntax (``vda,vdb:ro,hdc:empty``; sources
  ``/tmp/cs-snapdiff/<target>.img``). With REDEFINE, a document's ``<domain type=...>`` replaces
  the built-in domain; the full domains here use the built-in domain's uuid and name
  (``UUID``, ``DOMAIN_NAME``) and its disk files, unless a case is about a mismatch.

Ids are ``<group>/<label>``; groups: ``plain`` (create, flags 0), ``plain-v`` (create + VALIDATE),
``redef`` (REDEFINE), ``redef-v`` (REDEFINE + VALIDATE), ``flags`` (flag rules), ``wf``
(well-formedness).

``run(cases)`` runs the cases through the batch driver (one ``/usr/bin/python3`` process) and
returns one answer per case, in order: ``{"id", "ok": True, "xml"}`` or ``{"id", "ok": False,
"error"}``; when libvirt cannot be asked there, every answer is ``{"id", "skip": REASON}``
(``unavailable()`` gives the reason alone). ``tests/cases/snapshot-oracle/answers.jsonl`` stores
these answers (one JSON object a line, in case order; ``load_answers()``), so tests can compare
with libvirt's answers where libvirt is absent.

Every answer was checked against fresh runs of the real ``libvirt-oracle --snapshot`` with the
same flags, ``--disks`` and ``--inactive``: identical once the oracle's ``/tmp/libvirt-oracle/``
and domain name ``oracle`` are read as the driver's ``/tmp/cs-snapdiff/`` and ``cstest`` (and
creationTime masked, see below). Each answer is also independent of the other cases (same
answers case by case in separate processes with an empty disk directory, and in shuffled order).

**Masking.** A plain create (no REDEFINE) takes ``<creationTime>`` from the clock, so in an
accepted plain-create answer that value is the time of the run, not a property of the document:
the stored answers keep it as libvirt gave it, and every comparison must mask it (use
``masked(case, answer)``, or ``mask_creation_time(xml)`` on a plain-create output). Every plain-create document that libvirt accepts has a ``<name>``
(otherwise the name, too, would be the clock); REDEFINE documents carry their own
``creationTime``. Nothing else in the answers depends on the clock or on chance.

Regenerate (needs python3-libvirt for ``/usr/bin/python3``)::

    python3 tests/snapshot_oracle_cases.py --write   # run all cases, write answers.jsonl
    python3 tests/snapshot_oracle_cases.py --check   # run again, compare (creationTime masked)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

SYSTEM_PYTHON = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))
DRIVER = os.path.join(HERE, "libvirt_snapshot_driver.py")
ANSWERS = os.path.join(HERE, "cases", "snapshot-oracle", "answers.jsonl")

UUID = "c7a5fdbd-edaf-9455-926a-d65c16db1809"  # the batch driver's built-in domain
OTHER_UUID = "c7a5fdbd-edaf-9455-926a-d65c16db1808"
DOMAIN_NAME = "cstest"
DIR = "/tmp/cs-snapdiff"

REDEFINE, CURRENT, NO_METADATA, HALT, DISK_ONLY, REUSE_EXT = 1, 2, 4, 8, 16, 32
QUIESCE, ATOMIC, LIVE, VALIDATE = 64, 128, 256, 512

MEM_EXT = "<memory snapshot='external' file='/tmp/cs-snapdiff-mem'/>"


# --- building blocks ------------------------------------------------------------------------

def _disk(target, kind="file", bus=None):
    """A domain ``<disk>``: ``file`` (source DIR/target.img), ``ro`` (read-only), ``empty``
    (cdrom without source), ``null`` (source /dev/null), or a source path."""
    bus = bus or ("ide" if target.startswith("hd") else "scsi" if target.startswith("sd") else "virtio")
    if kind == "empty":
        return "<disk type='file' device='cdrom'><target dev='%s' bus='%s'/><readonly/></disk>" % (target, bus)
    src = {"file": "%s/%s.img" % (DIR, target), "ro": "%s/%s.img" % (DIR, target), "null": "/dev/null"}.get(kind, kind)
    return "<disk type='file' device='disk'><source file='%s'/><target dev='%s' bus='%s'/>%s</disk>" % (
        src, target, bus, "<readonly/>" if kind == "ro" else "")


def domain(*disks, name=DOMAIN_NAME, uuid=UUID, tag="domain", dtype="test"):
    """A full domain (type 'test'); ``disks`` are ``(target, kind)`` pairs for ``_disk``."""
    devs = "".join(_disk(t, k) for t, k in disks)
    return ("<%s type='%s'><name>%s</name><uuid>%s</uuid><memory unit='KiB'>1048576</memory>"
            "<os><type arch='i686'>hvm</type></os><devices>%s</devices></%s>" % (tag, dtype, name, uuid, devs, tag))


DOM = domain(("vda", "file"), ("vdb", "file"))               # same as the built-in domain's disks
DOM3 = domain(("vda", "file"), ("vdb", "ro"), ("hdc", "empty"))  # file, read-only, empty cdrom
DOM0 = domain()                                              # no disks
INACTIVE_DOM = domain(("vda", "file"), tag="inactiveDomain")


def snap(*parts, root="domainsnapshot", attrs=""):
    return "<%s%s>%s</%s>" % (root, attrs, "".join(parts), root)


def name(text="s"):
    return "<name>%s</name>" % text


def redef(*parts, state="running", ctime="5", nm="s", dom=DOM):
    """A REDEFINE document: name, state, creationTime, then ``parts``, then ``dom``."""
    head = []
    if nm is not None:
        head.append(name(nm))
    if state is not None:
        head.append("<state>%s</state>" % state)
    if ctime is not None:
        head.append("<creationTime>%s</creationTime>" % ctime)
    return snap(*head, *parts, dom or "")


def disks(*items):
    return "<disks>%s</disks>" % "".join(items)


# --- the cases ------------------------------------------------------------------------------

def cases() -> list[dict]:
    out: list[dict] = []

    def add(group, label, xml, flags=0, inactive=False, disks_spec="vda,vdb", xml_flags=1):
        out.append({"id": "%s/%s" % (group, label), "xml": xml, "flags": flags, "xml_flags": xml_flags,
                    "inactive": inactive, "disks": disks_spec})

    def plain(label, xml, modes=("v",), **kw):
        """A plain create; ``modes``: "v" = with VALIDATE, "" = without."""
        for m in modes:
            add("plain-v" if m == "v" else "plain", label, xml, flags=VALIDATE if m == "v" else 0, **kw)

    def redefine(label, xml, modes=("",), extra=0, **kw):
        for m in modes:
            add("redef-v" if m == "v" else "redef", label, xml,
                flags=REDEFINE | extra | (VALIDATE if m == "v" else 0), **kw)

    V, N, B = ("v",), ("",), ("v", "")  # with VALIDATE, without, both

    # ---- plain create: schema-valid documents ------------------------------------------------
    # (without VALIDATE the answer is the same; a few check that)
    plain("name", snap(name()), modes=B)
    plain("name-escapes", snap(name("a&amp;b&lt;c&gt;d")))
    plain("name-slash", snap(name("x/y")))
    plain("name-unicode", snap(name("sn\u00e4p-\u2713")))
    plain("name-padded", snap(name("  s  ")))
    plain("name-newline", snap(name("l1\nl2")))
    plain("name-cdata", snap("<name><![CDATA[a<b]]></name>"))
    plain("description", snap(name(), "<description>d &amp; &lt;e&gt;\nline</description>"))
    plain("description-empty", snap(name(), "<description></description>"))
    plain("disks-empty", snap(name(), "<disks/>"))
    plain("active-1", snap(name(), "<active>1</active>"))
    plain("active-padded", snap(name(), "<active> 1 </active>"))
    plain("cookie", snap(name(), "<cookie><cpu mode='host-model'><x:y xmlns:x='urn:x' a='1'>t</x:y></cpu>"
                                 "<slirpHelper/></cookie>"))
    plain("domain-uuid", snap(name(), "<domain><uuid>%s</uuid></domain>" % UUID))
    plain("domain-full-ignored", snap(name(), domain(("vda", "file"), name="other", uuid=OTHER_UUID)))
    plain("inactive-domain-ignored", snap(name(), INACTIVE_DOM))
    plain("redefine-fields-ignored", snap(name(), "<state>shutoff</state><creationTime>x y</creationTime>"
                                                  "<parent><name>p</name></parent>"))
    plain("state-padded-ignored", snap(name(), "<state> running </state>"))
    plain("whitespace-comments-pi", snap("\n  <!-- c -->", name(), "\n  <?pi x?>\n  ",
                                         "<memory snapshot='internal'/>\n"))
    plain("all-children-shuffled", snap("<disks><disk name='vda' snapshot='internal'/></disks>",
                                        "<memory snapshot='internal'/>", "<description>d</description>",
                                        name()))
    # memory
    plain("memory-no", snap(name(), "<memory snapshot='no'/>"))
    plain("memory-internal", snap(name(), "<memory snapshot='internal'/>"))
    plain("memory-external", snap(name(), MEM_EXT), modes=B)
    plain("memory-file-only", snap(name(), "<memory file='/tmp/m'/>"))
    plain("memory-file-escapes", snap(name(), "<memory snapshot='external' file='/tmp/m &amp; &apos;n&apos;'/>"))
    plain("memory-internal-inactive", snap(name(), "<memory snapshot='internal'/>"), inactive=True, modes=B)
    plain("memory-external-inactive", snap(name(), MEM_EXT), inactive=True)
    plain("name-only-inactive", snap(name()), inactive=True)
    # disks, internal memory (uniform internal)
    plain("disk-internal", snap(name(), disks("<disk name='vda' snapshot='internal'/>")))
    plain("disk-unset", snap(name(), disks("<disk name='vda'/>")))
    plain("disk-unset-type-file", snap(name(), disks("<disk name='vda' type='file'/>")))
    plain("disks-reversed", snap(name(), disks("<disk name='vdb' snapshot='internal'/>",
                                               "<disk name='vda' snapshot='internal'/>")))
    plain("disk-by-path", snap(name(), disks("<disk name='%s/vdb.img' snapshot='internal'/>" % DIR)))
    # disks with external memory (default external)
    plain("ext-default-names", snap(name("ext snap"), MEM_EXT))
    plain("ext-disk-source", snap(name(), MEM_EXT, disks(
        "<disk name='vda' snapshot='external'><source file='/tmp/cs-snapdiff-out/a.qcow2'/></disk>")))
    plain("ext-disk-source-implies", snap(name(), MEM_EXT, disks("<disk name='vdb'><source file='/tmp/o2'/></disk>")))
    plain("ext-disk-no", snap(name(), MEM_EXT, disks("<disk name='vda' snapshot='no'/>")))
    plain("ext-disk-internal", snap(name(), MEM_EXT, disks("<disk name='vdb' snapshot='internal'/>")))
    plain("ext-driver-only", snap(name(), MEM_EXT, disks("<disk name='vda'><driver type='qcow2'/></disk>")))
    plain("ext-driver-and-source", snap(name(), MEM_EXT, disks(
        "<disk name='vda' snapshot='external'><source file='/tmp/o3'/><driver type='qed'/></disk>")))
    for fmt in ("cow",):
        plain("ext-driver-" + fmt, snap(name(), MEM_EXT, disks("<disk name='vda'><driver type='%s'/></disk>" % fmt)))
    plain("ext-driver-bare", snap(name(), MEM_EXT, disks("<disk name='vda' snapshot='external'><driver/></disk>")))
    plain("ext-source-bare", snap(name(), MEM_EXT, disks("<disk name='vda' snapshot='external'><source/></disk>")))
    for label, unit, value in (("kib", "KiB", "10"), ("none", None, "5"),
                               ("k", "k", "3"), ("kb", "kb", "1"), ("g", "G", "1"),
                               ("e", "E", "15"), ("zero", "KiB", "0"),
                               ("max", "bytes", "18446744073709551615")):
        plain("ext-max-size-" + label, snap(name(), MEM_EXT, disks(
            "<disk name='vda'><driver type='qcow2'><metadata_cache><max_size%s>%s</max_size>"
            "</metadata_cache></driver></disk>" % ("" if unit is None else " unit='%s'" % unit, value))))
    plain("ext-metadata-cache-empty", snap(name(), MEM_EXT, disks(
        "<disk name='vda'><driver type='qcow2'><metadata_cache/></driver></disk>")))
    plain("ext-block", snap(name(), MEM_EXT, disks(
        "<disk name='vda' snapshot='external' type='block'><source dev='/dev/sdz'/></disk>")))
    plain("ext-network-nbd", snap(name(), MEM_EXT, disks(
        "<disk name='vda' snapshot='external' type='network'><source protocol='nbd' name='x'>"
        "<host name='h' port='1'/></source></disk>")))
    plain("ext-network-gluster", snap(name(), MEM_EXT, disks(
        "<disk name='vda' type='network'><source protocol='gluster' name='vol/img'>"
        "<host name='g1' port='24007'/><host name='g2'/></source></disk>")))
    plain("ext-network-iscsi", snap(name(), MEM_EXT, disks(
        "<disk name='vda' type='network'><source protocol='iscsi' name='iqn.2013-07.com.example:iscsi-pool/1'>"
        "<host name='i' port='3260'/></source></disk>")))
    plain("ext-source-seclabel", snap(name(), MEM_EXT, disks(
        "<disk name='vda' snapshot='external'><source file='/tmp/o4'>"
        "<seclabel model='dac' relabel='no'/></source></disk>")))
    plain("ext-readonly-empty", snap(name(), MEM_EXT), disks_spec="vda,vdb:ro,hdc:empty")
    plain("ext-readonly-listed", snap(name(), MEM_EXT, disks("<disk name='vdb' snapshot='external'/>")),
          disks_spec="vda,vdb:ro,hdc:empty")
    plain("ext-name-dots", snap(name("v1.2 final"), MEM_EXT), disks_spec="vda")
    plain("ext-collision-other-way", snap(name(), MEM_EXT, disks(
        "<disk name='vdb'><source file='%s/vda.s'/></disk>" % DIR)))
    # built-in domain variants
    plain("domain-no-disks", snap(name()), disks_spec="")
    plain("domain-no-disks-ext", snap(name(), MEM_EXT), disks_spec="")
    plain("domain-ro-empty", snap(name()), disks_spec="vda,vdb:ro,hdc:empty")
    plain("domain-buses", snap(name(), disks("<disk name='hdb' snapshot='internal'/>")), disks_spec="sda,hdb,vdc")
    # other create flags that change nothing (HALT stops the domain after the snapshot)
    add("flags", "halt", snap(name(), MEM_EXT), flags=HALT | VALIDATE)
    add("flags", "after-halt", snap(name("after")), flags=VALIDATE)
    add("flags", "quiesce-atomic-live", snap(name()), flags=QUIESCE | ATOMIC | LIVE | VALIDATE)

    # ---- plain create: the parser accepts, the schema rejects (both modes) --------------------
    plain("name-markup", snap("<name>a<b>x</b>c</name>"), modes=B)
    plain("name-twice", snap(name("first"), name("second")), modes=B)
    plain("unknown-element", snap(name(), "<bogus/>"), modes=B)
    plain("unknown-root-attribute", snap(name(), attrs=" foo='x'"), modes=B)
    plain("revert-disks", snap(name(), "<revertDisks><disk name='vda'/></revertDisks>"), modes=B)
    plain("state-pmsuspended-ignored", snap(name(), "<state>pmsuspended</state>"), modes=B)
    plain("memory-unknown-attribute", snap(name(), "<memory snapshot='internal' foo='x'/>"), modes=B)
    plain("memory-twice", snap(name(), "<memory file='/tmp/m'/><memory snapshot='internal'/>"), modes=B)
    plain("memory-bare", snap(name(), "<memory/>"), modes=B)
    plain("disks-non-disk-child", snap(name(), disks("<bogus name='vda' snapshot='internal'/>")), modes=B)
    plain("driver-raw", snap(name(), MEM_EXT, disks("<disk name='vda'><driver type='raw'/></disk>")), modes=B)
    plain("driver-empty-type", snap(name(), MEM_EXT, disks(
        "<disk name='vda' snapshot='external'><driver type=''/></disk>")), modes=B)
    plain("source-empty-file", snap(name(), MEM_EXT, disks(
        "<disk name='vda' snapshot='external'><source file=''/></disk>")), modes=B)
    plain("max-size-empty", snap(name(), MEM_EXT, disks(
        "<disk name='vda'><driver type='qcow2'><metadata_cache><max_size unit='KiB'></max_size>"
        "</metadata_cache></driver></disk>")), modes=B)
    plain("startup-policy", snap(name(), MEM_EXT, disks(
        "<disk name='vda'><source file='/tmp/o5' startupPolicy='optional'/></disk>")), modes=B)
    plain("snapshot-no-type-file", snap(name(), MEM_EXT, disks("<disk name='vda' snapshot='no' type='file'/>")),
          modes=B)
    plain("internal-type-file", snap(name(), disks("<disk name='vda' snapshot='internal' type='file'/>")), modes=B)
    plain("snapshot-delete-in-progress", snap(name(), MEM_EXT, disks(
        "<disk name='vda'><snapshotDeleteInProgress/></disk>")), modes=B)
    plain("network-seclabel", snap(name(), MEM_EXT, disks(
        "<disk name='vda' type='network'><source protocol='nbd' name='x'><host name='h'/>"
        "<seclabel model='dac' relabel='no'/></source></disk>")), modes=B)
    plain("active-2", snap(name(), "<active>2</active>"), modes=B)
    plain("parent-empty", snap(name(), "<parent/>"), modes=B)
    plain("domain-uuid-bad", snap(name(), "<domain><uuid>not-a-uuid</uuid></domain>"), modes=B)
    plain("namespace-prefixed-child", snap(name(), "<x:memory xmlns:x='urn:x' snapshot='bogus'/>"), modes=B)
    plain("root-prefixed", "<x:domainsnapshot xmlns:x='urn:x'><name>s</name></x:domainsnapshot>", modes=B)
    plain("namespace-root", snap(name(), attrs=" xmlns='urn:x'"), modes=V)  # without VALIDATE: a clock name

    # ---- plain create: error catalogue (S.7), both modes --------------------------------------
    plain("root-checkpoint", "<domaincheckpoint><name>s</name></domaincheckpoint>", modes=B)
    plain("root-other", "<snapshot/>", modes=V)
    for label, value in (("empty", ""), ("default", "default"), ("padded", " external"), ("bogus", "bogus")):
        plain("memory-snapshot-" + label, snap(name(), "<memory snapshot='%s'/>" % value),
              modes=B if label in ("empty", "padded") else N)
    plain("memory-manual", snap(name(), "<memory snapshot='manual'/>"), modes=B)
    plain("memory-manual-relative", snap(name(), "<memory snapshot='manual' file='rel'/>"), modes=N)
    plain("memory-internal-file", snap(name(), "<memory snapshot='internal' file='/tmp/m'/>"), modes=B)
    plain("memory-internal-relative", snap(name(), "<memory snapshot='internal' file='rel'/>"), modes=N)
    plain("memory-external-no-file", snap(name(), "<memory snapshot='external'/>"), modes=B)
    plain("memory-relative", snap(name(), "<memory file='mem.img'/>"), modes=B)
    plain("memory-file-empty", snap(name(), "<memory file=''/>"), modes=B)
    plain("disk-no-name", snap(name(), disks("<disk snapshot='internal'/>")), modes=B)
    plain("disk-empty-name", snap(name(), disks("<disk name='' snapshot='internal'/>")), modes=B)
    for label, value in (("empty", ""), ("bogus", "bogus"), ("padded", " no ")):
        plain("disk-snapshot-" + label, snap(name(), disks("<disk name='vda' snapshot='%s'/>" % value)),
              modes=N if label == "bogus" else B)
    for label, value in (("empty", ""), ("none", "none"), ("volume", "volume"), ("dir", "dir")):
        plain("disk-type-" + label, snap(name(), MEM_EXT, disks("<disk name='vda' type='%s'/>" % value)),
              modes=B if label in ("empty", "volume") else N)
    plain("disk-manual", snap(name(), disks("<disk name='vda' snapshot='manual'/>")), modes=B)
    plain("disk-manual-ext", snap(name(), MEM_EXT, disks("<disk name='vdb' snapshot='manual'/>")), modes=N)
    for label, value in (("bogus", "bogus"), ("none", "none")):
        plain("driver-type-" + label, snap(name(), MEM_EXT, disks(
            "<disk name='vda'><driver type='%s'/></disk>" % value)), modes=B if label == "bogus" else N)
    for label, unit, value in (("abc", "bytes", "abc"), ("unit-bogus", "bogus", "1"),
                               ("overflow", "E", "16"), ("too-big", "bytes", "18446744073709551616")):
        plain("max-size-" + label, snap(name(), MEM_EXT, disks(
            "<disk name='vda'><driver type='qcow2'><metadata_cache><max_size%s>%s</max_size>"
            "</metadata_cache></driver></disk>" % ("" if unit is None else " unit='%s'" % unit, value))),
              modes=N if label == "negative" else B)
    plain("disk-source-relative", snap(name(), MEM_EXT, disks(
        "<disk name='vda' snapshot='external'><source file='rel.qcow2'/></disk>")), modes=B)
    plain("disk-block-relative", snap(name(), MEM_EXT, disks(
        "<disk name='vda' type='block'><source dev='sdz'/></disk>")), modes=N)
    plain("network-no-protocol", snap(name(), MEM_EXT, disks(
        "<disk name='vda' type='network'><source name='x'/></disk>")), modes=N)
    plain("network-bad-protocol", snap(name(), MEM_EXT, disks(
        "<disk name='vda' type='network'><source protocol='bogus' name='x'/></disk>")), modes=N)
    # alignment
    plain("too-many-disks", snap(name(), disks("<disk name='vda'/>", "<disk name='vdb'/>", "<disk name='vdc'/>")))
    plain("no-disk-named", snap(name(), disks("<disk name='vdz' snapshot='internal'/>")))
    plain("no-disk-path", snap(name(), disks("<disk name='/tmp/nothere.img' snapshot='internal'/>")))
    plain("no-disk-ioemu", snap(name(), disks("<disk name='ioemu:vda' snapshot='no'/>")))
    plain("disk-name-not-target", snap(name(), disks("<disk name='bad' snapshot='internal'/>")), modes=B)
    plain("disk-twice", snap(name(), disks("<disk name='vda' snapshot='internal'/>",
                                           "<disk name='vda' snapshot='internal'/>")))
    plain("disk-twice-by-path", snap(name(), disks("<disk name='vda'/>", "<disk name='%s/vda.img'/>" % DIR)))
    plain("disk-no-must-internal", snap(name(), disks("<disk name='vda' snapshot='no'/>")))
    plain("disk-no-must-internal-inactive", snap(name(), disks("<disk name='vda' snapshot='no'/>")), inactive=True)
    plain("disk-source-must-internal", snap(name(), disks("<disk name='vda'><source file='/tmp/o6'/></disk>")))
    plain("file-requires-external", snap(name(), MEM_EXT, disks(
        "<disk name='vda' snapshot='internal'><source file='/tmp/o7'/></disk>")), modes=B)
    plain("file-requires-external-no", snap(name(), MEM_EXT, disks(
        "<disk name='vdb' snapshot='no'><source file='/tmp/o8'/></disk>")), modes=N)
    # external names
    plain("ext-block-no-path", snap(name(), MEM_EXT, disks("<disk name='vda' type='block'/>")))
    plain("ext-network-no-path", snap(name(), MEM_EXT, disks("<disk name='vdb' type='network'/>")), modes=B)
    plain("ext-empty-cdrom", snap(name(), MEM_EXT, disks("<disk name='hdc' snapshot='external'/>")),
          disks_spec="vda,hdc:empty")
    plain("ext-collision", snap(name(), MEM_EXT, disks("<disk name='vda'><source file='%s/vdb.s'/></disk>" % DIR)))
    # flags
    add("flags", "current-without-redefine", snap(name()), flags=CURRENT)
    add("flags", "no-metadata", snap(name()), flags=NO_METADATA)
    add("flags", "disk-only", snap(name()), flags=DISK_ONLY | VALIDATE)
    add("flags", "reuse-ext", snap(name(), MEM_EXT), flags=REUSE_EXT)
    add("flags", "xml-flags-no-domain", snap(name()), flags=VALIDATE, xml_flags=2)
    add("flags", "xml-flags-size", snap(name()), flags=VALIDATE, xml_flags=4)
    add("flags", "redefine-halt", redef(), flags=REDEFINE | HALT)
    add("flags", "redefine-no-metadata", redef(), flags=REDEFINE | NO_METADATA)
    add("flags", "redefine-disk-only", redef(state="disk-snapshot"), flags=REDEFINE | DISK_ONLY)
    add("flags", "redefine-current", redef(), flags=REDEFINE | CURRENT | VALIDATE)
    # well-formedness (the document name is "(domain_snapshot)")
    for label, xml in (("empty", ""), ("unclosed", "<domainsnapshot>"),
                       ("entity", "<domainsnapshot><name>&bogus;</name></domainsnapshot>"),
                       ("two-roots", "<domainsnapshot/><domainsnapshot/>"),
                       ("line-4", "<domainsnapshot>\n  <name>s</name>\n  <disks>\n</domainsnapshot>")):
        add("wf", label, xml, flags=VALIDATE)

    # ---- REDEFINE: valid documents --------------------------------------------------------------
    redefine("basic", redef(), modes=B)
    for st in ("paused", "crashed"):
        redefine("state-" + st, redef(state=st))
    redefine("state-shutoff", redef(state="shutoff"))
    redefine("state-disk-snapshot", redef(state="disk-snapshot"), modes=B)
    redefine("state-pmsuspended", redef(state="pmsuspended"), modes=B)
    for label, value in (("space", " 12"), ("plus", "+5"), ("minus", "-3"), ("zero", "0"),
                         ("max", "9223372036854775807"), ("min", "-9223372036854775808"),
                         ("newline", "\n7")):
        redefine("ctime-" + label, redef(ctime=value), modes=B if label in ("space", "minus", "zero") else N)
    redefine("name-escapes", redef(nm="a &amp; b &lt;c&gt; 'q'"))
    redefine("name-slash", redef(nm="a b/c"), modes=V)
    redefine("description", redef("<description>x &amp; y</description>"))
    redefine("description-empty", redef("<description></description>"))
    redefine("parent", redef("<parent><name>p</name></parent>"))
    redefine("parent-empty-name", redef("<parent><name></name></parent>"))
    redefine("memory-no", redef("<memory snapshot='no'/>"))
    redefine("memory-external", redef(MEM_EXT), modes=B)
    redefine("memory-file-only-paused", redef("<memory file='/tmp/m'/>", state="paused"))
    redefine("memory-no-shutoff", redef("<memory snapshot='no'/>", state="shutoff"))
    redefine("memory-no-disk-snapshot", redef("<memory snapshot='no'/>", state="disk-snapshot"))
    redefine("disks-empty", redef("<disks/>"))
    redefine("disks-internal", redef(disks("<disk name='vda' snapshot='internal'/>")))
    redefine("disks-internal-shutoff", redef(disks("<disk name='vdb' snapshot='internal'/>"), state="shutoff"))
    redefine("disk-external", redef(disks("<disk name='vda' snapshot='external'/>")))
    redefine("disk-external-memory-no", redef("<memory snapshot='no'/>", disks(
        "<disk name='vda' snapshot='external'/>")))
    redefine("disk-external-source", redef(disks(
        "<disk name='vdb' snapshot='external' type='file'><driver type='qcow2'><metadata_cache>"
        "<max_size unit='KiB'>10</max_size></metadata_cache></driver><source file='/tmp/r1'/></disk>")), modes=B)
    redefine("disk-external-block", redef(disks("<disk name='vda' type='block'><source dev='/dev/sdz'/></disk>")))
    redefine("disk-snapshot-mixed", redef(disks("<disk name='vda' snapshot='no'/>"), state="disk-snapshot"))
    redefine("delete-in-progress", redef(disks("<disk name='vda'><snapshotDeleteInProgress/></disk>"),
                                         state="disk-snapshot"), modes=B)
    redefine("delete-in-progress-content", redef(disks(
        "<disk name='vdb' snapshot='external'><snapshotDeleteInProgress x='1'>t</snapshotDeleteInProgress>"
        "<source file='/tmp/r2'/></disk>"), state="disk-snapshot"))
    redefine("revert-disks", redef("<revertDisks><disk name='vda'/></revertDisks>"), modes=B)
    redefine("cookie", redef("<cookie><cpu mode='custom'/></cookie>"), modes=B)
    redefine("cookie-shutoff", redef("<cookie><cpu/></cookie>", state="shutoff"))
    redefine("active", redef("<active>1</active>"), modes=B)
    redefine("current", redef("<active>1</active>"), extra=CURRENT)
    redefine("inactive-domain", redef(INACTIVE_DOM), modes=B)
    redefine("dom3-running", redef(dom=DOM3))
    redefine("dom3-disk-snapshot", redef(state="disk-snapshot", dom=DOM3))
    redefine("dom3-list-readonly-no", redef(disks("<disk name='vdb' snapshot='no'/>"), state="disk-snapshot",
                                            dom=DOM3))
    redefine("dom-no-disks", redef(dom=DOM0))
    redefine("dom-no-disks-disk-snapshot", redef(state="disk-snapshot", dom=DOM0))
    redefine("dom-other-name-uuid", redef(dom=domain(("vda", "file"), name="other", uuid=OTHER_UUID)))
    redefine("dom-first", snap(DOM, name(), "<state>paused</state>", "<creationTime>9</creationTime>"))
    redefine("target-inactive", redef(), inactive=True)
    redefine("target-inactive-disk-snapshot", redef(state="disk-snapshot"), inactive=True)
    redefine("namespace-prefix-copied", snap("<x:name>s</x:name>", name(), "<state>running</state>",
                                             "<creationTime>5</creationTime>", DOM, attrs=" xmlns:x='urn:x'"))
    redefine("all-fields", redef("<description>d</description>", "<parent><name>p</name></parent>",
                                 "<memory snapshot='no'/>",
                                 disks("<disk name='vda' snapshot='external'><source file='/tmp/r3'/></disk>",
                                       "<disk name='vdb' snapshot='external'/>"), INACTIVE_DOM,
                                 state="shutoff", ctime="1700000000"), modes=B)
    redefine("unknown-element", redef("<bogus/>"), modes=B)
    redefine("parent-empty", redef("<parent/>"), modes=B)
    redefine("memory-bare", redef("<memory/>"), modes=B)
    redefine("no-type-file", redef(disks("<disk name='vda' snapshot='no' type='file'/>"), state="disk-snapshot"),
             modes=B)

    # ---- REDEFINE: error catalogue ------------------------------------------------------------
    redefine("no-name", redef(nm=None))
    redefine("name-empty", redef(nm=""))
    redefine("namespace-root", snap(name(), "<state>running</state><creationTime>5</creationTime>", DOM,
                                    attrs=" xmlns='urn:x'"), modes=B)
    redefine("ctime-missing", redef(ctime=None))
    for label, value in (("empty", ""), ("trailing-space", "12 "), ("abc", "abc"),
                         ("overflow", "9223372036854775808"), ("decimal", "1.5"), ("text", "x y")):
        redefine("ctime-" + label, redef(ctime=value), modes=B if label in ("trailing-space", "text") else N)
    redefine("state-missing", redef(state=None))
    redefine("state-empty", redef(state=""), modes=B)
    for label, value in (("nostate", "nostate"), ("bogus", "bogus"), ("upper", "Running"),
                         ("padded", " running ")):
        redefine("state-" + label, redef(state=value), modes=N if label == "upper" else B)
    redefine("no-domain", redef(dom=None), modes=B)
    redefine("domain-type-empty", redef(dom="<domain type=''><name>cstest</name><uuid>%s</uuid></domain>" % UUID),
             modes=B)
    redefine("domain-old-style", redef(dom="<domain><uuid>%s</uuid></domain>" % UUID), modes=B)
    redefine("domain-bare", redef(dom="<domain type='test'/>"), modes=B)
    redefine("domain-bad-memory-unit", redef(dom=DOM.replace("<memory unit='KiB'>1048576</memory>",
                                                             "<memory unit='bogus'>1</memory>")))
    redefine("domain-bad-type", redef(dom=DOM.replace("type='test'", "type='bogus'", 1)), modes=B)
    redefine("inactive-domain-bare", redef("<inactiveDomain type='test'/>"), modes=B)
    redefine("inactive-domain-no-os", redef("<inactiveDomain type='test'><name>x</name></inactiveDomain>"))
    redefine("inactive-domain-uuid", redef("<inactiveDomain><uuid>%s</uuid></inactiveDomain>" % UUID), modes=B)
    # the document's <domain> cannot be defined (duplicate targets) nor can a domain with its name
    # (blank), so the built-in domain (UUID) is the target, and the document's uuid differs
    redefine("uuid-mismatch", redef(dom=domain(("vda", "file"), ("vda", "file"), name="  ", uuid=OTHER_UUID)),
             modes=B)
    redefine("memory-internal-shutoff", redef("<memory snapshot='internal'/>", state="shutoff"))
    redefine("memory-external-shutoff", redef(MEM_EXT, state="shutoff"))
    redefine("memory-internal-disk-snapshot", redef("<memory snapshot='internal'/>", state="disk-snapshot"))
    redefine("disk-no-shutoff", redef(disks("<disk name='vda' snapshot='no'/>"), state="shutoff"))
    redefine("disk-no-running", redef(disks("<disk name='vdb' snapshot='no'/>")))
    redefine("disk-manual", redef(disks("<disk name='vda' snapshot='manual'/>")))
    redefine("disk-manual-disk-snapshot", redef(disks("<disk name='vda' snapshot='manual'/>"), state="disk-snapshot"))
    redefine("no-disk-named", redef(disks("<disk name='vdc' snapshot='internal'/>")))
    redefine("disks-no-domain-disks", redef(disks("<disk name='vda'/>"), dom=DOM0))
    redefine("file-requires-external", redef(disks(
        "<disk name='vda' snapshot='internal'><source file='/tmp/r4'/></disk>")))
    redefine("not-regular-file", redef(state="disk-snapshot", dom=domain(("vda", "null"))))
    redefine("collision", redef(state="disk-snapshot", dom=domain(("vda", "file"), ("vdb", "%s/vda.img" % DIR))))
    redefine("ext-block-no-path", redef(disks("<disk name='vdb' snapshot='external' type='block'/>")))
    redefine("ext-empty-cdrom", redef(disks("<disk name='hdc' snapshot='external'/>"), dom=DOM3))
    redefine("parent-self", redef("<parent><name>s</name></parent>"))
    # the oracle seeds a parent named after the direct text of <name> only ("p"); libvirt reads "pq"
    redefine("parent-not-found", redef("<parent><name>p<b>q</b></name></parent>"))

    ids = [c["id"] for c in out]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    return out


# --- running the cases ----------------------------------------------------------------------

def unavailable(python: str = SYSTEM_PYTHON) -> str | None:
    """Why libvirt cannot be asked here (``None``: it can)."""
    if not os.path.exists(python):
        return "%s does not exist" % python
    try:
        proc = subprocess.run([python, "-c", "import libvirt"], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return "cannot run %s: %s" % (python, exc)
    if proc.returncode != 0:
        return "python3-libvirt is not importable by %s (apt-get install python3-libvirt)" % python
    return None


def run(cases: list[dict], python: str = SYSTEM_PYTHON, timeout: float = 900) -> list[dict]:
    """Answer every case through one driver process: ``{"id", "ok": True, "xml"}`` or
    ``{"id", "ok": False, "error"}``, in order. When libvirt cannot be asked, every answer is
    ``{"id", "skip": REASON}``. Raises RuntimeError when the driver itself fails."""
    why = unavailable(python)
    if why is None:
        payload = "".join(json.dumps({"op": "snapshot", "xml": c["xml"], "flags": c["flags"],
                                      "xml_flags": c["xml_flags"], "inactive": c["inactive"],
                                      "disks": c["disks"]}) + "\n" for c in cases)
        proc = subprocess.run([python, DRIVER], input=payload.encode("utf-8"), capture_output=True,
                              timeout=timeout)
        if proc.returncode == 3:
            why = "python3-libvirt is not importable by %s" % python
        elif proc.returncode != 0:
            raise RuntimeError("libvirt_snapshot_driver exited %d: %s"
                               % (proc.returncode, proc.stderr.decode("utf-8", "replace")))
    if why is not None:
        return [{"id": c["id"], "skip": why} for c in cases]
    lines = [ln for ln in proc.stdout.decode("utf-8").splitlines() if ln.strip()]
    if len(lines) != len(cases):
        raise RuntimeError("libvirt_snapshot_driver answered %d of %d cases" % (len(lines), len(cases)))
    answers = []
    for c, line in zip(cases, lines):
        a = json.loads(line)
        if not a["ok"] and a["error"].startswith("libvirt_snapshot_driver:"):
            raise RuntimeError("case %s: %s" % (c["id"], a["error"]))
        answers.append({"id": c["id"], "ok": a["ok"], **({"xml": a["xml"]} if a["ok"] else {"error": a["error"]})})
    return answers


_CTIME = re.compile(r"^(  <creationTime>)-?[0-9]+(</creationTime>)$", re.M)


def mask_creation_time(xml: str) -> str:
    """``xml`` with the top-level ``<creationTime>`` value replaced by ``*`` (for plain creates,
    where it is the clock)."""
    return _CTIME.sub(r"\1*\2", xml, count=1)


def masked(case: dict, answer: dict) -> dict:
    """The comparable form of an answer: creationTime masked where the clock set it."""
    if answer.get("ok") and not case["flags"] & REDEFINE:
        return dict(answer, xml=mask_creation_time(answer["xml"]))
    return answer


def load_answers(path: str = ANSWERS) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _main(argv):
    import time

    todo = cases()
    start = time.monotonic()
    answers = run(todo)
    took = time.monotonic() - start
    if answers and "skip" in answers[0]:
        sys.stderr.write("skipped: %s\n" % answers[0]["skip"])
        return 3
    if "--write" in argv:
        os.makedirs(os.path.dirname(ANSWERS), exist_ok=True)
        with open(ANSWERS, "w", encoding="utf-8", newline="\n") as f:
            for a in answers:
                f.write(json.dumps(a, ensure_ascii=False) + "\n")
    bad = 0
    if "--check" in argv:
        stored = {a["id"]: a for a in load_answers()}
        for c, a in zip(todo, answers):
            old = stored.get(c["id"])
            if old is None or masked(c, old) != masked(c, a):
                bad += 1
                print("differs: %s" % c["id"])
    ok = sum(1 for a in answers if a["ok"])
    print("%d cases, %d accepted, %d rejected, %.2fs%s"
          % (len(answers), ok, len(answers) - ok, took, ", %d differ" % bad if "--check" in argv else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
