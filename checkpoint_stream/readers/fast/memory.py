"""What the fast reader remembers between documents: one object, owned by its reader, bounded.

Checkpoints of one VM repeat its domain verbatim; a fleet's VMs share a few domain structures; a
disk list repeats one tag tail. A :class:`Memory` keeps what was proven about them, so the next
document costs less. Everything in it is a pure function of the bytes it was computed from (and
of the reader's grammar), so results never depend on it: a reader with a cold memory gives the
same records (the tests run both ways). It changes nothing outside itself.

Bounds (each part is dropped whole when full, never grown past them), in entries and in bytes,
so that long values (a 70 KB line, a 100 KB bitmap name or title in every document) cannot grow
it: about 32 MiB in all, counting each entry's key and value (8 of them the children's tables).

* domains by their bytes: 64 entries and 3 MiB of text (a domain over 768 KiB is not kept);
* verdicts on a domain's top: 4,096 and 1 MiB of keys (a key over 64 KiB is not kept);
* verdicts on a single child of a domain's top: 4,096 (kept by the domain grammar's judge), of
  keys of at most 512 characters of text; as many children read, by the same keys;
* disk tag tails read: 4,096 and 1 MiB (a tail over 64 KiB is not kept);
* snapshot disks judged, by their bytes with the source cut out: 4,096 of at most 1 KiB each;
  snapshot disk lists learnt whole: 1,024 and 2 MiB (a list over 16 KiB is not learnt), about
  as much again as their templates' text;
* lines of domains and their tokens: 16,384 each and 2 MiB of lines (twice that with their
  tokens; a domain over 256 KiB is not learnt), 4,096 verdicts on token sequences, 4 layouts per
  indentation and number of lines, 256 layouts built per epoch (see :mod:`.lines`), and the
  hashes of 4,096 domain structures met (a structure is learnt when it is met again, never at
  first sight).

Threads may share a memory: every update is a single dictionary operation or replaces a part
whole, so a reader sees a consistent part (a lost update costs a recomputation, nothing else).
"""

from __future__ import annotations

from itertools import count
from typing import Any

__all__ = ["Memory", "LineMemory"]

DOMAINS_MAX = 1024  # bounded in memory by DOMAIN_CHARS_MAX (a few thousand domains of real size)
DOMAIN_CHARS_MAX = 3 * 1024 * 1024
TOPS_MAX = 4096
TOP_BYTES_MAX = 1024 * 1024
RESTS_MAX = 4096
REST_BYTES_MAX = 1024 * 1024
LINES_MAX = 1 << 14
LINE_BYTES_MAX = 2 * 1024 * 1024
VERDICTS_MAX = 4096
SHAPES_MAX = 4096
CHILD_KEY_MAX = 512  # characters of a domain child's key for its verdict to be remembered
CHILDREN_MAX = 4096
ITEM_BYTES_MAX = 1024  # bytes of a snapshot disk, its source cut out, for its verdict to be remembered
BLOCKS_MAX = 1024
BLOCK_BYTES_MAX = 16 * 1024  # bytes of a snapshot's disk list for it to be learnt whole
BLOCKS_BYTES_MAX = 2 * 1024 * 1024


class LineMemory:
    """What the line path remembers (see :mod:`.lines`). Replaced whole when full, never cleared
    in place, so a reader that bound the old one keeps a consistent view: ids, lines and verdicts
    of one epoch."""

    __slots__ = ("lines", "size", "bytes", "tokens", "token_of", "next_id", "verdicts", "layouts", "varying", "builds", "rate", "count", "shapes")

    def __init__(self) -> None:
        self.lines: dict[int, dict[bytes, int]] = {}  # by indentation width: line -> token id
        self.size = 0
        self.bytes = 0  # of the lines kept (their tokens hold at most as much again)
        self.tokens: dict[Any, int] = {}  # token -> id
        self.token_of: dict[int, Any] = {}  # id -> token
        self.next_id = count()
        self.verdicts: set[tuple[Any, ...]] = set()
        # by (width, number of lines): the latest layouts, most recent first
        self.layouts: dict[tuple[int, int], list[Any]] = {}
        self.varying: dict[tuple[int, tuple[int, ...]], frozenset[int]] = {}  # lines seen to change
        self.builds = 0
        self.rate = 1.0  # moving average of the share of new domains recognised
        self.count = 0
        self.shapes: dict[int, int] = {}  # structures of domains met: the hash of the first bytes (see DomainReader._recurs)

    def token_id(self, token: Any) -> int:
        """The token's id. next() and setdefault() are each one C-level step, so two tokens never
        get one id (an id may be drawn and left unused)."""
        i = self.tokens.get(token)
        if i is None:
            i = self.tokens.setdefault(token, next(self.next_id))
            self.token_of[i] = token
        return i


class Memory:
    """Everything a fast reader remembers; see the module docstring for the bounds."""

    __slots__ = ("domains", "domain_chars", "tops", "top_bytes", "children", "child_tops", "rests", "rest_bytes", "lines", "attributes", "blocks", "block_bytes")

    def __init__(self) -> None:
        self.domains: dict[tuple[Any, ...], Any] = {}
        self.domain_chars = 0
        self.tops: dict[tuple[Any, ...], bool] = {}
        self.top_bytes = 0
        #: The verdicts of the domain grammar on single children of a domain's top, by the
        #: readers' key of a child (see DomainGrammar.judge; bounded there).
        self.children: dict[Any, bool] = {}
        #: Children of a domain's top as read (DomainChild), by the same key, when their text is
        #: their own, and their attributes by their raw text (a string key): at most
        #: CHILDREN_MAX entries, of keys of at most CHILD_KEY_MAX characters.
        self.child_tops: dict[Any, Any] = {}
        self.rests: dict[str, Any] = {}
        self.rest_bytes = 0
        self.lines = LineMemory()
        #: Snapshot disks judged, by their bytes with the source cut out (readers/fast/moments.py), at most 4096.
        self.attributes: dict[Any, Any] = {}
        #: Snapshot disk lists learnt whole, by their bytes up to the first source's value
        #: (readers/fast/moments.py): BLOCKS_MAX entries, BLOCKS_BYTES_MAX bytes.
        self.blocks: dict[Any, Any] = {}
        self.block_bytes = 0

    def forget(self, domains: bool = True, disks: bool = True) -> None:
        """Drop what is remembered (as in a new reader)."""
        if domains:
            self.lines = LineMemory()
            self.domains = {}
            self.domain_chars = 0
            self.tops = {}
            self.top_bytes = 0
            self.children = {}
            self.child_tops = {}
        if disks:
            self.rests = {}
            self.rest_bytes = 0
            self.attributes = {}
            self.blocks = {}
            self.block_bytes = 0

    def remember_block(self, key: tuple[Any, ...], template: Any, size: int) -> None:
        """``size``: the list's bytes (its template holds about as much again, as text)."""
        if len(self.blocks) >= BLOCKS_MAX or self.block_bytes + size > BLOCKS_BYTES_MAX:
            self.blocks = {}
            self.block_bytes = 0
        self.blocks[key] = template
        self.block_bytes += size

    def remember_domain(self, key: tuple[Any, ...], domain: Any, size: int | None = None) -> None:
        """``size``: what the entry holds, when more than its key's bytes (a domain the general
        reader read holds its text besides, and its dedented text once read)."""
        if size is None:
            size = len(key[0])
        if size > DOMAIN_CHARS_MAX // 4:
            return
        if len(self.domains) >= DOMAINS_MAX or self.domain_chars + size > DOMAIN_CHARS_MAX:
            self.domains = {}
            self.domain_chars = 0
        self.domains[key] = domain
        self.domain_chars += size

    def remember_top(self, key: tuple[Any, ...], ok: bool, size: int | None = None) -> None:
        """``size``: about how many bytes of text the key holds, when the caller knows it more
        cheaply than :func:`_size` counts it."""
        if size is None:
            size = _size(key)
        if size > TOP_BYTES_MAX // 16:
            return
        tops = self.tops
        if len(tops) >= TOPS_MAX or self.top_bytes + size > TOP_BYTES_MAX:
            tops = self.tops = {}
            self.top_bytes = 0
        tops[key] = ok
        self.top_bytes += size

    def remember_rest(self, rest: str, fields: Any) -> None:
        size = len(rest)
        if size > REST_BYTES_MAX // 16:
            return
        rests = self.rests
        if len(rests) >= RESTS_MAX or self.rest_bytes + size > REST_BYTES_MAX:
            rests = self.rests = {}
            self.rest_bytes = 0
        rests[rest] = fields
        self.rest_bytes += size


def _size(value: Any) -> int:
    """About how many bytes of text a key holds (its strings and bytes, nested in tuples)."""
    if isinstance(value, (str, bytes)):
        return len(value) + 1
    if isinstance(value, tuple):
        return sum(_size(v) for v in value) + 1
    return 1
