"""Seed documents for the fuzzers (small, generated: nothing large is stored)."""

from __future__ import annotations

DOMAIN = (
    "  <domain type='kvm'>\n"
    "    <name>vm1</name>\n"
    "    <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>\n"
    "    <memory unit='KiB'>219136</memory>\n"
    "    <os>\n"
    "      <type arch='x86_64' machine='pc'>hvm</type>\n"
    "    </os>\n"
    "    <devices>\n"
    "      <disk type='file' device='disk'>\n"
    "        <source file='/var/lib/vda.img'/>\n"
    "        <target dev='vda' bus='virtio'/>\n"
    "      </disk>\n"
    "    </devices>\n"
    "  </domain>\n"
)

METADATA = "<metadata><x:y xmlns:x='urn:x'><![CDATA[</domain></domaincheckpoint>]]></x:y></metadata>"

SEEDS: list[bytes] = [
    b"<domaincheckpoint><name>a</name></domaincheckpoint>",
    (
        "<?xml version='1.0' encoding='UTF-8'?>\n<domaincheckpoint>\n  <name>c1</name>\n"
        "  <description>caf\u00e9 &amp; <![CDATA[</domaincheckpoint>]]></description>\n"
        "  <parent>\n    <name>c0</name>\n  </parent>\n  <creationTime>1553647812</creationTime>\n"
        "  <disks>\n    <disk name='vda' checkpoint='bitmap' bitmap='c1' size='1048576'/>\n"
        "    <disk name='vdb' checkpoint='no'/>\n  </disks>\n" + DOMAIN + "</domaincheckpoint>\n"
    ).encode(),
    (
        "<domaincheckpoint>\n  <name>c2</name>\n  <!-- a comment -->\n  <?pi x?>\n  <creationTime>5</creationTime>\n"
        + DOMAIN.replace("<devices>", METADATA + "\n    <devices>")
        + "</domaincheckpoint>\n"
    ).encode(),
    b'<domaincheckpoint><name>d</name><disks><disk name="vda"/></disks></domaincheckpoint>',
    b'<?xml version="1.0" encoding="ISO-8859-1"?>\n<!DOCTYPE d [<!ENTITY a "b"><!ATTLIST disk checkpoint CDATA "no">]>\n'
    b"<domaincheckpoint><name>&a;</name></domaincheckpoint>",
]

# Big tokens (over the framer's 4 KiB threshold): a comment and an attribute value. Seeds the atheris
# harness only (the hypothesis tests keep to small documents).
BIG_SEEDS: list[bytes] = [
    b"<domaincheckpoint><!-- c --><name>e</name><!--" + b"x" * 5000 + b"--><disks><disk name='vda' bitmap='"
    + b"y" * 5000 + b"'/></disks></domaincheckpoint>",
]


def stream() -> bytes:
    return b"\n".join(SEEDS) + b"\n"


def _layout_doc(i: int, ndisks: int) -> bytes:
    """A document in libvirt's own layout (what the fast scanner takes), with ``ndisks`` disks."""
    disks = "".join(
        f"    <disk name='vd{chr(97 + k % 26)}{k // 26 or ''}' checkpoint='bitmap' bitmap='c{i}'/>\n"
        if k % 3 else f"    <disk name='/var/lib/d{k}.img' checkpoint='no'/>\n"
        for k in range(ndisks)
    )
    return (
        f"<domaincheckpoint>\n  <name>c{i}</name>\n  <description>night &amp; day {i}</description>\n"
        f"  <parent>\n    <name>c{i - 1}</name>\n  </parent>\n  <creationTime>{1553647812 + i}</creationTime>\n"
        f"  <disks>\n{disks}  </disks>\n"
        + DOMAIN.replace("vm1", f"vm{i}").replace("d65c16db1809", f"{i:012x}")
        + "</domaincheckpoint>\n"
    ).encode()


# Documents the fast scanner takes: the atheris fast-path harness warms its memory with them (and
# seeds from them), so that mutations reach the paths that reuse what it remembers.
WARM: list[bytes] = [_layout_doc(1, 2), _layout_doc(2, 20), _layout_doc(3, 0).replace(b"  <disks>\n  </disks>\n", b"")]
