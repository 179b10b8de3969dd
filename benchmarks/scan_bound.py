"""How far a compiled domain scan could take a first sight, at best (issue #17, item 4).

    python3 benchmarks/scan_bound.py [--layouts libvirt,oneline] [--rounds 9]
    python3 benchmarks/scan_bound.py --one-pass VARIANT LAYOUT (ours|lxml|none)   # for callgrind

At first sight the fast reader checks a new domain with expat (no callback), then reads its top
tag by tag (``DomainReader.any_layout``: one pattern over the domain, then Python per child) and
has the grammar judge it. A compiled build (a C extension or mypyc, as the issue allows) could take
the scan; the judging stays the grammar's. This measures the ceiling of that trade without writing
it: a first pass records, for every domain of the realistic corpus, what the scan produced (the
key its verdict is remembered by, the texts, the namespaces); then each timed first sight (memory
forgotten) answers the scan from that table, as if it cost nothing, and the grammar judges as
usual (``table``); ``table+noexpat`` also makes expat's check free. ``normal`` is the reader as
shipped. Each round times ours (``iterparse``) and lxml (``fromstring``, the facts, ``tostring`` of
the domain, as in ``peers.py``) one after the other; the ratio lxml/ours is taken per round.

The variants patch the reader's module in this process only; nothing here is a way to run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import corpus  # noqa: E402
import peers  # noqa: E402
import checkpoint_stream as cs  # noqa: E402
from checkpoint_stream.readers import DEFAULT_READER  # noqa: E402
from checkpoint_stream.readers.fast import domain as D  # noqa: E402

VARIANTS = ("normal", "table", "table+noexpat")


def prepare(variant: str, stream: bytes) -> None:
    """Record every domain's scan in one pass, then install ``variant``."""
    original_any, original_verdict = D.DomainReader.any_layout, D.DomainReader._verdict
    scans: dict[Any, Any] = {}
    current: list[Any] = [None]

    def recording_any(self: Any, span: str, column: int, redefine: bool, max_attributes: int, namespaces: Any = ()) -> Any:
        current[0] = (span, column, redefine, max_attributes, namespaces)
        return original_any(self, span, column, redefine, max_attributes, namespaces)

    def recording_verdict(self: Any, key: Any, texts: dict[int, str], top: Any, namespaces: Any) -> bool:
        scans[current[0]] = (key, dict(texts), namespaces)
        return original_verdict(self, key, texts, top, namespaces)

    def table_any(self: Any, span: str, column: int, redefine: bool, max_attributes: int, namespaces: Any = ()) -> Any:
        found = scans.get((span, column, redefine, max_attributes, namespaces))
        if found is None:
            return original_any(self, span, column, redefine, max_attributes, namespaces)
        key, texts, ns = found
        if not self._verdict(key, texts, self.any_top, ns):
            return None
        return D.Domain._from_text(span, D.base_indent(span, column)) if "\n" in span else D.Domain(span)

    D.DomainReader.any_layout, D.DomainReader._verdict = recording_any, recording_verdict  # type: ignore[method-assign]
    DEFAULT_READER.forget()
    sum(1 for _ in cs.iterparse(stream))
    D.DomainReader.any_layout, D.DomainReader._verdict = original_any, original_verdict  # type: ignore[method-assign]
    if variant != "normal":
        D.DomainReader.any_layout = table_any  # type: ignore[method-assign]
    if variant == "table+noexpat":

        class _Checked:
            def Parse(self, data: bytes, final: bool) -> int:  # noqa: N802 - expat's name
                return 1

        D.ParserCreate = lambda *args: _Checked()  # type: ignore[assignment]
    print(f"  {variant}: {len(scans)} domains' scans recorded", file=sys.stderr)


def lxml_runner() -> Any:
    import lxml.etree as LET

    parser = LET.XMLParser(resolve_entities=False, no_network=True)
    return peers._tree_runner_tostring(lambda d: LET.fromstring(d, parser), LET.tostring)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layouts", default="libvirt,oneline")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--one-pass", nargs=3, metavar=("VARIANT", "LAYOUT", "WHAT"), help="one untimed pass of ours, lxml or none (for callgrind)")
    args = ap.parse_args()
    run_lxml = lxml_runner()
    if args.one_pass:
        variant, layout, what = args.one_pass
        docs = corpus.realistic_documents(layout)
        stream = b"".join(docs)
        prepare(variant, stream)
        run_lxml(docs[:3], b"")
        DEFAULT_READER.forget()
        if what == "ours":
            sum(1 for _ in cs.iterparse(stream))
        elif what == "lxml":
            run_lxml(docs, stream)
        return
    # Each variant in a process of its own (a variant patches this process's reader).
    import subprocess

    for layout in args.layouts.split(","):
        for variant in VARIANTS:
            code = (
                "import sys, statistics, time; sys.argv = ['x']; sys.path.insert(0, %r); import scan_bound as s; "
                "s.timed(%r, %r, %d)" % (str(HERE), variant, layout, args.rounds)
            )
            subprocess.run([sys.executable, "-c", code], check=True)


def timed(variant: str, layout: str, rounds: int) -> None:
    docs = corpus.realistic_documents(layout)
    stream = b"".join(docs)
    prepare(variant, stream)
    run_lxml = lxml_runner()
    ratios = []
    for _ in range(rounds):
        DEFAULT_READER.forget()
        t = time.perf_counter()
        sum(1 for _ in cs.iterparse(stream))
        ours = time.perf_counter() - t
        t = time.perf_counter()
        run_lxml(docs, stream)
        ratios.append((time.perf_counter() - t) / ours)
    print(f"{layout:8s} {variant:14s} first sight: {statistics.median(ratios):.2f}x lxml [{min(ratios):.2f}-{max(ratios):.2f}]", flush=True)


if __name__ == "__main__":
    main()
