"""The expat parser every part of this library uses, made safe in defusedxml's way.

Any DOCTYPE (and so any entity declaration, internal subset or external DTD), any entity
declaration, unparsed entity or external reference raises before anything is expanded or fetched,
with defusedxml's own exception classes, which readers turn into :class:`~..errors.SecurityError`.
"""

from __future__ import annotations

from typing import Any
from xml.parsers import expat

from defusedxml.common import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

__all__ = ["new_expat_parser", "security_message", "SECURITY_ERRORS", "expat_message"]

#: What the security handlers raise.
SECURITY_ERRORS = (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden)


def _forbid_dtd(name: str, sysid: str | None, pubid: str | None, has_internal_subset: bool) -> None:
    raise DTDForbidden(name, sysid, pubid)


def _forbid_entity(name: str, is_pe: bool, value: str | None, base: str | None, sysid: str | None, pubid: str | None, notation: str | None) -> None:
    raise EntitiesForbidden(name, value, base, sysid, pubid, notation)


def _forbid_unparsed(name: str, base: str | None, sysid: str | None, pubid: str | None, notation: str | None) -> None:
    raise EntitiesForbidden(name, None, base, sysid, pubid, notation)


def _forbid_external(context: str, base: str | None, sysid: str | None, pubid: str | None) -> int:
    raise ExternalReferenceForbidden(context, base, sysid, pubid)


def new_expat_parser() -> Any:
    """An expat parser with this library's security policy installed (no handlers otherwise).

    It reads the bytes as UTF-8 whatever the XML declaration says, as libvirt does (the framer
    checks that a declared name is a known encoding), and so never guesses UTF-16 either. Where
    expat defers re-parsing an unfinished token (expat >= 2.6), that is switched off: the framer
    follows big tokens itself (see :mod:`..framing`), and the same bytes must give the same
    events with every expat."""
    parser = expat.ParserCreate("UTF-8")
    parser.StartDoctypeDeclHandler = _forbid_dtd
    parser.EntityDeclHandler = _forbid_entity
    parser.UnparsedEntityDeclHandler = _forbid_unparsed
    parser.ExternalEntityRefHandler = _forbid_external
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    deferral = getattr(parser, "SetReparseDeferralEnabled", None)
    if deferral is not None:
        deferral(False)
    return parser


def security_message(exc: Exception) -> str:
    if isinstance(exc, DTDForbidden):
        return f"a DOCTYPE (<!DOCTYPE {exc.name} ...>) is not allowed: DTDs and entities are refused before anything is expanded"
    if isinstance(exc, EntitiesForbidden):
        return f"entity declaration {exc.name!r} is not allowed: entities are refused before anything is expanded"
    if isinstance(exc, ExternalReferenceForbidden):
        return f"external reference {exc.sysid!r} is not allowed: nothing is fetched"
    return str(exc)


def expat_message(exc: expat.ExpatError) -> str:
    """expat's own words for a well-formedness error."""
    return "not well-formed XML: " + (expat.ErrorString(exc.code) if exc.code else str(exc))
