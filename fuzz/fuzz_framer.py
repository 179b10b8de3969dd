"""atheris harness for the framer and parser (see README.md).

Properties checked on every input:

* nothing but a :class:`CheckpointError` ever comes out (any other exception is a finding);
* the result does not depend on how the bytes are cut into chunks: one feed, and the same bytes
  fed in chunks whose sizes come from the input, give the same records and errors for the same documents;
* every record is that of a standalone document: parsing the stream from the record's offset
  gives that record first.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import atheris

with atheris.instrument_imports():
    from checkpoint_stream.api import CheckpointParser
    from checkpoint_stream.errors import CheckpointError

LIMITS = {"max_document_bytes": 1 << 16, "max_text": 4096, "max_depth": 64, "max_attributes": 32, "max_disks": 64}


def run(data: bytes, sizes: list[int]) -> list:
    parser = CheckpointParser(on_error="skip", **LIMITS)
    items = []
    i = 0
    k = 0
    while i < len(data):
        n = sizes[k % len(sizes)] if sizes else len(data)
        k += 1
        items += parser.feed_items(data[i : i + n])
        i += n
    items += parser.close_items()
    for item in items:
        if not isinstance(item, CheckpointError) and type(item).__name__ != "Checkpoint":
            raise AssertionError(f"unexpected item {item!r}")
    return items


def key(items: list) -> list:
    # Error positions, messages and even the class may depend on chunking when a document has
    # several faults (text is checked as it arrives, so a schema fault in a text piece can be seen
    # before a well-formedness fault later in the same text run); which documents fail, and the
    # records, may not.
    return [("error", x.document) if isinstance(x, CheckpointError) else x for x in items]


def TestOneInput(raw: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(raw)
    sizes = [fdp.ConsumeIntInRange(1, 64) for _ in range(fdp.ConsumeIntInRange(1, 4))]
    data = fdp.ConsumeBytes(fdp.remaining_bytes())
    whole = run(data, [])
    chunked = run(data, sizes)
    if key(whole) != key(chunked):
        raise AssertionError(f"chunking changed the result:\n{key(whole)}\n{key(chunked)}")
    for item in whole:
        if not isinstance(item, CheckpointError):
            again = run(data[item.origin.offset :], [])
            first = next((x for x in again), None)
            if first != item:
                raise AssertionError(f"record {item!r} is not what its document parses to alone: {first!r}")


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
