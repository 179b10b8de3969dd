"""The grammar: every rule of the checkpoint and snapshot levels and of the nested domain's top,
as data.

Nothing in this package parses. :mod:`.values` holds the datatypes, :mod:`.elements` the element
rules and the checks every reader shares, :mod:`.checkpoint` the ``<domaincheckpoint>`` grammar
with its field mapping and libvirt's layout, :mod:`.snapshot` the ``<domainsnapshot>`` one,
:mod:`.domain` the domain's top. A :class:`Grammar` bundles the document grammars a reader
accepts (the first is its main one, ``checkpoint``) and a domain grammar; the readers (:mod:`..readers`) are built from
one, so a changed copy (:meth:`Grammar.with_rule`, :meth:`Grammar.with_domain`) gives readers that
follow the change on every path: that is how the tests prove the readers agree rule by rule.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .checkpoint import CHECKPOINT, CheckpointGrammar
from .domain import DOMAIN, DomainGrammar
from .elements import ElementRule
from .snapshot import SNAPSHOT
from .values import ValueRule

__all__ = [
    "Grammar",
    "GRAMMAR",
    "SNAPSHOT_GRAMMAR",
    "ANY_GRAMMAR",
    "KIND_GRAMMARS",
    "ElementRule",
    "ValueRule",
    "CheckpointGrammar",
    "DocumentGrammar",
    "DomainGrammar",
]

#: A document grammar (``<domaincheckpoint>`` or ``<domainsnapshot>``); the class keeps its first name.
DocumentGrammar = CheckpointGrammar


@dataclass(frozen=True)
class Grammar:
    """The document grammars a reader accepts and the grammar of their nested domain's top.

    ``checkpoint`` is the main document grammar (the one the fast reader and the writer are
    generated from; despite its name it may be the snapshot grammar); ``others`` are further
    kinds of document the same stream may hold, told apart by their root tag."""

    checkpoint: CheckpointGrammar
    domain: DomainGrammar
    others: tuple[CheckpointGrammar, ...] = ()

    @property
    def documents(self) -> tuple[CheckpointGrammar, ...]:
        return (self.checkpoint, *self.others)

    @property
    def roots(self) -> tuple[str, ...]:
        return tuple(g.root for g in self.documents)

    def document(self, root: str) -> CheckpointGrammar | None:
        """The document grammar whose root tag is ``root``, if this grammar accepts that kind."""
        for g in self.documents:
            if g.root == root:
                return g
        return None

    def with_rule(self, key: str, rule: ElementRule) -> "Grammar":
        """A copy with one element rule of the checkpoint grammar replaced."""
        return replace(self, checkpoint=self.checkpoint.with_rule(key, rule))

    def with_domain(self, domain: DomainGrammar) -> "Grammar":
        return replace(self, domain=domain)


#: libvirt 9.0's checkpoint grammar.
GRAMMAR = Grammar(CHECKPOINT, DOMAIN)
#: libvirt 9.0's snapshot grammar.
SNAPSHOT_GRAMMAR = Grammar(SNAPSHOT, DOMAIN)
#: Both kinds in one stream, checkpoints first.
ANY_GRAMMAR = Grammar(CHECKPOINT, DOMAIN, (SNAPSHOT,))
#: The grammar for each choice of kinds a caller may make.
KIND_GRAMMARS = {"checkpoint": GRAMMAR, "snapshot": SNAPSHOT_GRAMMAR, "any": ANY_GRAMMAR}
