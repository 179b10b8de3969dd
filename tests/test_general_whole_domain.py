"""The general reader with a whole domain in its buffer: expat checks the domain's interior with no
Python handler and its top is read from its text (markup/domain_tags.read_top). The result must be
the one the event-per-element path gives: the same records, and the same errors at the same
places, on every corpus, in every layout and mode, and under random edits."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkpoint_stream.errors import CheckpointError
from checkpoint_stream.grammar import GRAMMAR
from checkpoint_stream.markup.domain_scan import DomainScanner
from checkpoint_stream.markup.domain_tags import read_top
from checkpoint_stream.markup.safe_expat import new_expat_parser
from checkpoint_stream.readers import Options
from checkpoint_stream.readers.general import GeneralDocument
from readers_util import edit_domain_tags, general
from test_fastpath_equivalence import BASE, MODES, _cut, _relaid, corpus, generated, mutations

LAYOUTS = list(corpus.REALISTIC_LAYOUTS)


def _both(doc: bytes, options: Options, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object, int]:
    """(whole-domain result, event-per-element result, how many domains took the whole path)."""
    taken = []
    real = GeneralDocument._whole_dend

    def spy(self: GeneralDocument, tag: str) -> None:
        taken.append(tag)
        real(self, tag)

    with monkeypatch.context() as m:
        m.setattr(GeneralDocument, "_whole_dend", spy)
        whole = general(doc, options)
        m.setattr(GeneralDocument, "whole_domains", False)
        events = general(doc, options)
    return whole, events, len(taken)


def _assert_same(whole: object, events: object, what: str) -> None:
    if isinstance(events, CheckpointError) or isinstance(whole, CheckpointError):
        assert type(whole) is type(events), f"{what}: {whole!r} != {events!r}"
        assert str(whole) == str(events), what
        assert (whole.offset, whole.path, whole.line, whole.column) == (events.offset, events.path, events.line, events.column), what  # type: ignore[union-attr]
        return
    assert whole == events, what
    assert whole.to_dict() == events.to_dict(), what  # type: ignore[attr-defined]
    if whole.domain is not None:  # type: ignore[attr-defined]
        assert whole.domain.xml == events.domain.xml, what  # type: ignore[attr-defined]


def _cases(layout: str) -> dict[str, bytes]:
    out = {}
    for name, data in {**generated(), **{f"mutation {k}": v for k, v in mutations().items()}}.items():
        relaid = data if layout == "libvirt" else _relaid(data, layout)
        if relaid is not None:
            out[name] = _cut(relaid)
    return out


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("mode", ["default", "redefine", "create", "internal"])
def test_whole_domains_read_as_events_on_generated_documents_and_mutations(layout, mode, monkeypatch):
    taken = 0
    for name, doc in _cases(layout).items():
        whole, events, n = _both(doc, Options(**MODES[mode]), monkeypatch)
        _assert_same(whole, events, f"{name} in {layout} ({mode})")
        taken += n
    assert taken >= 20, f"the whole-domain path was taken {taken} times"


@pytest.mark.skipif(not corpus.realistic_files(), reason="benchmarks/realistic/domains is not in this checkout")
@pytest.mark.parametrize("layout", LAYOUTS)
def test_whole_domains_read_as_events_on_real_domains(layout, monkeypatch):
    docs = corpus.realistic_documents(layout, kept_only=False)
    for mode in ("default", "redefine"):
        taken = 0
        for i, data in enumerate(docs):
            whole, events, n = _both(_cut(data), Options(**MODES[mode]), monkeypatch)
            _assert_same(whole, events, f"document {i} in {layout} ({mode})")
            taken += n
        assert taken >= 0.9 * len(docs)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.data())
def test_whole_domains_under_tag_edits(monkeypatch, data):
    """Random edits of the domain's tags (drop, repeat, swap, wrap, text, whitespace, quotes, a
    too-deep nest, a comment, a reference), one line or libvirt's layout: the same result."""
    layout = data.draw(st.sampled_from(["libvirt", "oneline"]))
    doc = _cut(BASE.encode() if layout == "libvirt" else corpus.relayout(BASE, "oneline").encode())
    edited = edit_domain_tags(doc, data, ["drop", "repeat", "swap", "wrap", "text", "quote", "deep", "comment", "ref"])
    for mode in ("default", "redefine"):
        whole, events, _ = _both(edited, Options(**MODES[mode]), monkeypatch)
        _assert_same(whole, events, f"{mode}: {edited!r}")


def _scanned(text: str):
    """The top the event scanner collects from a standalone domain, with child offsets."""
    parser = new_expat_parser()
    state: list = [None, 0]

    def start(tag, attrs):
        state[1] += 1
        if state[0] is None:
            state[0] = DomainScanner(GRAMMAR.domain, attrs)
        else:
            state[0].start(tag, attrs, parser.CurrentByteIndex)

    def end(tag):
        state[1] -= 1
        if state[1]:
            state[0].end()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = lambda data: state[0] is not None and state[0].text(data)
    parser.Parse(text.encode(), True)
    return state[0].top(), state[0].offsets


@pytest.mark.parametrize("layout", LAYOUTS)
def test_read_top_is_the_scanners_top(layout):
    """read_top collects what the event scanner collects (blank children's whitespace stands as
    one line break, which their rule reads alike), with the same child offsets."""
    grammar = GRAMMAR.domain
    compared = 0
    for name, doc in _cases(layout).items():
        m = re.search(rb"<domain[ >].*</domain>", doc, re.S)
        if m is None:
            continue
        text = m.group().decode("utf-8", "replace")
        try:
            expected, offsets = _scanned(text)
        except Exception:
            continue  # not well formed: read_top is never asked
        found = read_top(text, grammar) if "&" not in text and "\r" not in text else None
        if found is None:
            continue
        top, at = found
        assert at == offsets or not text.isascii(), name
        assert dict(top.attrs) == dict(expected.attrs) and top.stray_text == expected.stray_text, name
        assert len(top.children) == len(expected.children), name
        for got, want in zip(top.children, expected.children):
            assert (got.tag, dict(got.attrs), got.nested, dict(got.inner)) == (want.tag, dict(want.attrs), want.nested, dict(want.inner)), name
            if got.nested and grammar.blank_text(got.tag):
                assert got.text == "\n" and want.text.strip(" \t\r\n") == "", name
            else:
                assert got.text == want.text, name
        compared += 1
    assert compared >= 20
