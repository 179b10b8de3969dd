"""The facts checkpoints need from a domain kept as text: its type, name, uuid and disks.

Read once, lazily, when a record's ``Domain`` is first asked for one (most pipelines only pass the
domain through), by a small walk over expat events with this library's security policy.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .safe_expat import new_expat_parser

__all__ = ["RawDisk", "RawFacts", "read_facts"]


class RawDisk(NamedTuple):
    """One ``<devices><disk>`` with a target: what disk alignment needs."""

    target: str
    source: str | None
    readonly: bool
    device: str
    storage: str
    protocol: str | None


class RawFacts(NamedTuple):
    type: str | None
    name: str | None
    uuid: str | None
    disks: tuple[RawDisk, ...]


def read_facts(xml: str) -> RawFacts:
    """Parse the domain text once for type, name, uuid and disks."""
    parser = new_expat_parser()
    stack: list[str] = []
    texts: dict[str, list[str]] = {"name": [], "uuid": []}
    dtype: list[str | None] = [None]
    disks: list[RawDisk] = []
    current: dict[str, Any] = {}

    def start(tag: str, attrs: dict[str, str]) -> None:
        depth = len(stack)
        stack.append(tag)
        if depth == 0:
            dtype[0] = attrs.get("type")
        elif depth == 2 and tag == "disk" and stack[1] == "devices":
            current.clear()
            current.update(
                device=attrs.get("device", "disk"),
                storage=attrs.get("type", "file"),
                source=None,
                protocol=None,
                target=None,
                readonly=False,
            )
        elif depth == 3 and stack[1] == "devices" and stack[2] == "disk":
            if tag == "target":
                current["target"] = attrs.get("dev")
            elif tag == "source":
                current["source"] = attrs.get("file") or attrs.get("dev") or attrs.get("dir") or attrs.get("name")
                current["protocol"] = attrs.get("protocol")
            elif tag == "readonly":
                current["readonly"] = True

    def end(tag: str) -> None:
        depth = len(stack) - 1
        stack.pop()
        if depth == 2 and tag == "disk" and stack[1] == "devices" and current.get("target"):
            disks.append(
                RawDisk(
                    str(current["target"]),
                    current["source"] or None,
                    bool(current["readonly"]),
                    str(current["device"]),
                    str(current["storage"]),
                    current["protocol"],
                )
            )

    def chars(data: str) -> None:
        if len(stack) == 2 and stack[1] in texts:
            texts[stack[1]].append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.Parse(xml.encode("utf-8"), True)
    return RawFacts(dtype[0], "".join(texts["name"]) or None, "".join(texts["uuid"]) or None, tuple(disks))
