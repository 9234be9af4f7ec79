"""Product matching: exact names and aliases by longest match, one-typo fuzzy matching for
names of 3+ characters, and homophone variants of 2-character names."""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from ..lexicon import (
    ALL_UNITS,
    CONFUSABLE,
    FOOD_EMOJI,
    HEARD_AS_WORDS,
    OTHER_FOODS,
    REGIONAL_BY_CUE,
    REGIONAL_NAMES,
)
from .folding import fold
from .model import CatalogEntry

#: Stands for a food the catalog's names are part of but that is another food ("圆白菜").
OTHER_FOOD = CatalogEntry("", "", (), "", "", 0)


class Catalog:
    """Lookup tables built once from the catalog: exact names and aliases for longest match,
    and names of 3+ characters grouped by length for one-typo fuzzy matching."""

    __slots__ = (
        "_fuzzy",
        "_fuzzy_chars",
        "_index",
        "_lengths",
        "_variants",
        "by_cue",
        "entries",
        "first_chars",
        "heard",
        "units",
    )

    def __init__(self, entries: Sequence[CatalogEntry]) -> None:
        self.entries: tuple[CatalogEntry, ...] = tuple(entries)
        # The products' own units the lexicon lacks ("甘蔗" by the 节): count units too.
        self.units: dict[str, str] = {
            u: "p"
            for u in (fold(e.unit).strip() for e in self.entries)
            if u and len(u) <= 2 and u not in ALL_UNITS
        }
        index: dict[str, tuple[CatalogEntry, bool]] = {}
        # Canonical names first so an alias can never shadow another product's real name.
        for e in self.entries:
            index.setdefault(fold(e.name).strip(), (e, False))
        for e in self.entries:
            for a in e.aliases:
                index.setdefault(fold(a).strip(), (e, True))
        index.pop("", None)
        self._index = index
        fuzzy: dict[int, list[str]] = {}
        for key in index:
            if len(key) >= 3:
                fuzzy.setdefault(len(key), []).append(key)
        self._fuzzy = fuzzy
        self._fuzzy_chars = frozenset("".join(k for ks in fuzzy.values() for k in ks))
        # Names of 2-4 characters with one character typed as a homophone ("鸡旦", "葫萝卜");
        # a variant that two products share, or that is itself a name, is left out. Only the
        # 2-character ones are looked for anywhere; longer ones only as a word the catalog
        # lacks (3+ characters have one-edit fuzzy matching otherwise).
        variants: dict[str, CatalogEntry | None] = {}
        for key, (e, _) in index.items():
            if len(key) > 4:
                continue
            for pos in range(len(key)):
                for c in CONFUSABLE.get(key[pos], ""):
                    v = key[:pos] + c + key[pos + 1 :]
                    if v in index:
                        continue
                    prev = variants.get(v, e)
                    variants[v] = e if prev is e else None
        self._variants = {v: e for v, e in variants.items() if e is not None}
        # 2-character names whose second character dictation writes as a word ("山要").
        heard: dict[str, CatalogEntry | None] = {}
        for key, (e, _) in index.items():
            if len(key) == 2:
                for c in HEARD_AS_WORDS.get(key[1], ""):
                    v = key[0] + c
                    if v not in index:
                        heard[v] = e if heard.get(v, e) is e else None
        self.heard = {v: e for v, e in heard.items() if e is not None}
        # Regional names and other foods after the typo tables: only the catalog's own words
        # get typo tolerance ("大柿子" must not be one edit from 洋柿子).
        for word, standard in REGIONAL_NAMES.items():
            hit = index.get(standard)
            if hit is not None:
                index.setdefault(word, (hit[0], True))
        self.by_cue: dict[str, tuple[CatalogEntry, tuple[str, ...]]] = {}
        for word, (standard, cues) in REGIONAL_BY_CUE.items():
            hit = index.get(standard)
            if hit is not None and word not in index:
                self.by_cue[word] = (hit[0], cues)
        for emoji, names in FOOD_EMOJI.items():  # "🍅2斤"
            hit = next((index[n] for n in names if n in index), None)
            if hit is not None and hit[0] is not OTHER_FOOD:
                index.setdefault(emoji, (hit[0], True))
        for word in OTHER_FOODS:
            index.setdefault(word, (OTHER_FOOD, True))
        lengths: dict[str, set[int]] = {}
        for key in index:
            lengths.setdefault(key[0], set()).add(len(key))
        self._lengths = {c: tuple(sorted(ls, reverse=True)) for c, ls in lengths.items()}
        self.first_chars = frozenset(self._lengths)  # characters a name or alias starts with

    def __len__(self) -> int:
        return len(self.entries)

    def match_at(self, s: str, i: int, hi: int) -> tuple[int, CatalogEntry, bool] | None:
        """Longest name or alias starting at s[i] -> (length, entry, is_alias)."""
        if i >= hi:
            return None  # ("香菜要把": nothing after the 把)
        lengths = self._lengths.get(s[i])
        if lengths is None:
            return None
        for n in lengths:
            if i + n <= hi:
                hit = self._index.get(s[i : i + n])
                if hit is not None:
                    return n, hit[0], hit[1]
        return None

    def variant_in(self, s: str, lo: int, hi: int) -> tuple[int, int, CatalogEntry] | None:
        """The first 2-character homophone variant of a name in s[lo:hi] -> (start, end, entry)."""
        variants = self._variants
        for i in range(lo, hi - 1):
            e = variants.get(s[i : i + 2])
            if e is not None:
                return i, i + 2, e
        return None

    def variant_ending(self, s: str, lo: int, hi: int) -> tuple[int, int, CatalogEntry] | None:
        """A 3-4 character name with one character heard as a homophone, ending the unknown
        word s[lo:hi] ("葫萝卜" is 胡萝卜, though it ends in 萝卜 like "青萝卜")."""
        for n in (4, 3):
            if hi - n >= lo:
                e = self._variants.get(s[hi - n : hi])
                if e is not None:
                    return hi - n, hi, e
        return None

    def fuzzy_in(self, s: str, lo: int, hi: int) -> tuple[int, int, CatalogEntry, float] | None:
        """A window of s[lo:hi] one edit away from a 3+ character name -> (start, end, entry,
        similarity). Longer names are tried first; only CJK windows are considered."""
        for n in sorted(self._fuzzy, reverse=True):
            if n > hi - lo:
                continue
            choices = self._fuzzy[n]
            for i in range(lo, hi - n + 1):
                window = s[i : i + n]
                # One edit away means at most one character foreign to every name.
                if sum(c not in self._fuzzy_chars for c in window) > 1:
                    continue
                if not all("\u4e00" <= c <= "\u9fff" for c in window):
                    continue
                got = process.extractOne(
                    window, choices, scorer=Levenshtein.distance, score_cutoff=1
                )
                if got is not None:
                    entry = self._index[got[0]][0]
                    return i, i + n, entry, 1.0 - got[1] / n
        return None


_LAST_BUILT: list[tuple[tuple[CatalogEntry, ...], Catalog]] = []


def as_catalog(catalog: Sequence[CatalogEntry] | Catalog) -> Catalog:
    """Callers that pass a plain list every time still build the indexes only once per
    distinct catalog (the tuple comparison is cheap: identical entries short-circuit)."""
    if isinstance(catalog, Catalog):
        return catalog
    key = tuple(catalog)
    if _LAST_BUILT and _LAST_BUILT[0][0] == key:
        return _LAST_BUILT[0][1]
    built = Catalog(key)
    _LAST_BUILT[:] = [(key, built)]
    return built
