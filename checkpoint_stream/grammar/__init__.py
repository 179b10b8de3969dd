"""The grammar: every rule of the checkpoint level and of the nested domain's top, as data.

Nothing in this package parses. :mod:`.values` holds the datatypes, :mod:`.elements` the element
rules and the checks every reader shares, :mod:`.checkpoint` the ``<domaincheckpoint>`` grammar
with its field mapping and libvirt's layout, :mod:`.domain` the domain's top. A :class:`Grammar`
bundles a checkpoint grammar and a domain grammar; the readers (:mod:`..readers`) are built from
one, so a changed copy (:meth:`Grammar.with_rule`, :meth:`Grammar.with_domain`) gives readers that
follow the change on every path: that is how the tests prove the readers agree rule by rule.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .checkpoint import CHECKPOINT, CheckpointGrammar
from .domain import DOMAIN, DomainGrammar
from .elements import ElementRule
from .values import ValueRule

__all__ = ["Grammar", "GRAMMAR", "ElementRule", "ValueRule", "CheckpointGrammar", "DomainGrammar"]


@dataclass(frozen=True)
class Grammar:
    """A document grammar and the grammar of its nested domain's top."""

    checkpoint: CheckpointGrammar
    domain: DomainGrammar

    def with_rule(self, key: str, rule: ElementRule) -> "Grammar":
        """A copy with one element rule of the checkpoint grammar replaced."""
        return replace(self, checkpoint=self.checkpoint.with_rule(key, rule))

    def with_domain(self, domain: DomainGrammar) -> "Grammar":
        return replace(self, domain=domain)


#: libvirt 9.0's checkpoint grammar.
GRAMMAR = Grammar(CHECKPOINT, DOMAIN)
