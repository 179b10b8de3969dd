"""A well-formed domain read tag by tag: its structure proven by one pattern, whatever its layout.

Once expat has checked a domain's text, and '<' and '>' occur in it only as tag delimiters (as
many '>' as '<'; an element's tag never starts '<!' or '<?', so a comment, PI or CDATA section
fails the match), a tag is '<' [^<>]* '>' and an empty element's tag is the one whose last
character before '>' is '/'. The patterns below pair each start tag with the next end tag at its
level: a proper nesting of the tags, so the only one (a balanced sequence has one). Levels are
spelled out up to ``DEPTH`` below ``<domain>`` (a deeper domain fails the match), which bounds
its depth for the limits. Every alternative begins with a character the others cannot, so a
failed match gives up in linear time. What a verdict reads (the domain's and its children's
attributes, a child's text, a grandchild's text) is matched exactly and holds no reference.

Both readers use it: the fast reader to key and judge a domain in any layout, the general reader
(:func:`read_top`) to collect the very top its event scanner would, with no Python call per
element, when a domain arrives whole.
"""

from __future__ import annotations

import re
import sys

from ..grammar.domain import DomainChild, DomainGrammar, DomainTop

__all__ = ["RUN", "TAG", "DEPTH", "read_top", "attributes", "inner_texts", "element_pattern"]

#: The quantifier for a run of one character class that is always followed by a character outside
#: it: possessive where the interpreter has possessive quantifiers (Python >= 3.11), which means
#: the same there but keeps no backtracking state. Only single-class runs of the readers' own
#: layout patterns use it: never a group (Debian's 3.11.2 matches some possessive groups wrongly),
#: never a value rule's pattern (there a possessive run could change what the rule accepts).
RUN = "*+" if sys.version_info >= (3, 11) else "*"
TAG = r"[A-Za-z_][-\w.:]" + RUN  # never gives characters back to what follows it
DEPTH = 12  # levels below <domain> the patterns spell out

S = "[ \t\n]"  # XML whitespace but CR (a text holding a CR is read once its line ends are normalised)
ATTR = rf"""{S}+[^\s=<>/'"&]+{S}*={S}*(?:'[^'<&]*'|"[^"<&]*")"""
_OPEN = rf"<[^/<>!?][^<>]{RUN}"  # an element's tag but its '>'
END = rf"</[^<>]{RUN}>"


def element_pattern(depth: int) -> str:
    """An element ``depth`` levels below <domain>, with its content."""
    content = rf"[^<]{RUN}" if depth >= DEPTH else content_pattern(depth)
    return rf"{_OPEN}(?:(?<=/)>|(?<!/)>{content}{END})"


def content_pattern(depth: int) -> str:
    """What an element ``depth`` levels below <domain> holds: text and elements, in any order."""
    return rf"[^<]{RUN}(?:{element_pattern(depth + 1)}[^<]{RUN})*"


def blank_content_pattern(depth: int) -> str:
    """The content of an element whose own text is whitespace (its elements may hold any)."""
    return rf"{S}{RUN}(?:{element_pattern(depth + 1)}{S}{RUN})*"


#: Whitespace, then a child of <domain> (groups 1-7) or else all the rest (group 8: from text beside
#: the children, or a child the pattern does not take; all of it, so that the match is the last
#: and findall stops there). A child: tag, raw attributes, '/' when empty; group 4 its text when it
#: holds text only, without reference; group 5 '>' when it holds text only, with one; group 6 its
#: content when it holds elements and its own text is whitespace, else group 7.
CHILD = re.compile(
    rf"{S}{RUN}(?:<({TAG})((?:{ATTR})*){S}{RUN}"
    rf"(?:(/)>|>([^<&]{RUN}){END}|(>)[^<]{RUN}{END}|>({blank_content_pattern(1)}){END}|>({content_pattern(1)}){END})"
    r"|([^ \t\n][\s\S]*))"  # never whitespace alone: where runs are not possessive (Python 3.10), {S}* gives some back
)
HEAD = re.compile(rf"<domain((?:{ATTR})*){S}{RUN}>")
DOMAIN_END = "</domain>"
#: A direct element of a child's content, with all it holds: tag, raw attributes (ending in '/'
#: when empty), its text with group 4 '</' when it holds text only, else its content (group 5).
GRANDCHILD = re.compile(rf"<({TAG})([^<>]{RUN})>(?:(?<=/>)|([^<]{RUN})(</)[^<>]{RUN}>|({content_pattern(2)}){END})")
ELEMENT_2 = re.compile(element_pattern(2))  # what a child's direct text is left without
ELEMENT_3 = re.compile(element_pattern(3))  # what a grandchild's direct text is left without
_ATTR_PAIR = re.compile(rf"""([^\s=]+){S}*={S}*('[^']*'|"[^"]*")""")
_ATTR_WHITESPACE = str.maketrans("\t\n", "  ")


def attributes(raw: str) -> dict[str, str]:
    """The attributes of a tag as expat reports them (they hold no reference: see ATTR)."""
    attrs = {name: value[1:-1] for name, value in _ATTR_PAIR.findall(raw)}
    if "\t" in raw or "\n" in raw:  # attribute-value normalisation: each whitespace character is a space
        return {name: value.translate(_ATTR_WHITESPACE) for name, value in attrs.items()}
    return attrs


def inner_texts(content: str, names: frozenset[str]) -> dict[str, str] | None:
    """The direct text of the first direct element of each of ``names`` in a child's content (""
    when empty); None when one holds a reference (its text would need decoding)."""
    found: dict[str, str] = {}
    for m in GRANDCHILD.finditer(content):
        name = m.group(1)
        if name in names and name not in found:
            if m.group(2).endswith("/"):
                text = ""
            elif m.group(4):
                text = m.group(3)
            else:
                text = ELEMENT_3.sub("", m.group(5))
            if "&" in text:
                return None
            found[name] = text
    return found


def read_top(text: str, grammar: DomainGrammar) -> tuple[DomainTop, list[int]] | None:
    """The top of the well-formed domain ``text`` (``<domain`` to ``</domain>``, LF line ends, no
    reference, comment, PI or CDATA section) as the general reader's event scanner collects it
    (:class:`..markup.domain_scan.DomainScanner`), but for the direct text of a child whose rule
    only asks it to be whitespace, which stands as one line break (judged alike:
    :meth:`~..grammar.domain.DomainGrammar.blank_text`); and where each child's start tag begins
    (characters into ``text``). None when the patterns cannot say (text beside the children, a
    domain deeper than DEPTH levels, a '>' in text or in a value)."""
    if text.count("<") != text.count(">"):
        return None
    head = HEAD.match(text)
    if head is None or not text.endswith(DOMAIN_END):
        return None
    children: list[DomainChild] = []
    offsets: list[int] = []
    no_inner: dict[str, str] = {}
    collects = grammar.collects_text
    blank_text = grammar.blank_text
    inner_tags = grammar.inner_tags
    for m in CHILD.finditer(text, head.end(), len(text) - len(DOMAIN_END)):
        tag, raw, _empty, leaf, referring, blank, other, rest = m.groups()
        if rest is not None or referring is not None:
            return None
        attrs = attributes(raw) if raw else {}
        if blank is None and other is None:
            children.append(DomainChild(tag, attrs, (leaf or "") if collects(tag) else "", False, no_inner))
        else:
            content = blank if blank is not None else other
            direct = ""
            if collects(tag):
                direct = "\n" if blank is not None and blank_text(tag) else ELEMENT_2.sub("", content)
            names = inner_tags(tag)
            inner = inner_texts(content, names) if names else no_inner
            if inner is None:
                return None
            children.append(DomainChild(tag, attrs, direct, True, inner))
        offsets.append(m.start(1) - 1)
    return DomainTop(attributes(head.group(1)), tuple(children), None), offsets
