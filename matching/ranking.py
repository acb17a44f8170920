"""Ranking a printed line's candidate products as a clerk would, once no exact key settled it.

`read_query` reads the line once; `rank_products` takes the n-gram index's shortlist for it (plus every
product whose name + spec or alias is the printed text word for word, and the products this supplier was
confirmed as that bear the printed name) and ranks each candidate by:

  text      the n-gram cosine and `_likeness`: rapidfuzz's token-set ratio, less for the words the product
            has and the print lacks (a superset scored 100 before: 青椒 printed is not 青椒(进口)), and for
            the words the print has and the product lacks; an abbreviation or OCR slip of a word still says it;
  exact     a lift when the print names the product word for word (`name_key`: its name + spec, its name
            with no other spec printed, or one of its aliases), which beats a longer variant;
  sizes     `spec_agreement` (330 mL vs 500 mL are different products);
  unit      the printed unit one the product can express (`unit_fit`: a small lift), or not (ranked down,
            never auto-accepted); where the product named exactly cannot express it and a variant holding
            the whole printed name can (青椒, 3 袋: the 青椒 sold by the 袋), the variant goes first;
  history   a small lift for the products the supplier sells (its supplier-product rows) or was confirmed
            as (its learned product aliases), less than what an exact name is worth.
The weights are the constants below; the auto-accept gate (`options.auto_accept`, `auto_margin`) on top of the
scores is calibrated by `inbound bench matching`.  The method is `exact_name` when the winner is named exactly.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from functools import lru_cache

from rapidfuzz import fuzz

from matching.master import MasterData
from matching.normalize import join_cjk, name_key, normalize_name
from matching.result import Candidate, Match, MatchMethod, MatchOptions
from matching.specs import Spec, read_specs, spec_agreement, undecided_dims
from matching.units import PrintedUnit, read_unit, unit_fit

__all__ = ["Query", "rank_products", "read_query"]

_TEXT = 0.4              # weight of the n-gram cosine and of `_likeness`, each
_EXTRA_COST = 0.5        # the product's words the print lacks: the likeness falls by this times their share
_MISSING_COST = 0.5      # the print's words the product lacks (a pack text printed costs every candidate alike)
_TEXT_LIFT = 0.14        # the printed text is the product's name + spec, word for word
_NAME_LIFT = 0.09        # the printed description is its name, and the spec printed (if any) its spec
_ALIAS_LIFT = 0.08       # the printed text is one of its aliases
_UNIT_MISFIT = 0.85      # the product's units cannot express the printed unit
_UNIT_FIT = 0.03         # ... they can
_HISTORY_LIFT = 0.04     # the supplier sells it (a supplier-product row) or its lines were confirmed as it
_BEND = 0.95             # scores above this bend towards 1 (`_soft_cap`)
_PRODUCT_CACHE = 1 << 13  # products whose words are kept read (see below)
_RUNS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\s\u3400-\u9fff\uf900-\ufaff]+")


@dataclass(frozen=True, slots=True)
class _Words:
    """A normalised name as a bag of what it says, order aside: its Chinese characters and its other words
    (Latin, digits); size: their characters, the weight of the whole."""

    chars: frozenset[str]
    words: frozenset[str]
    size: int


@dataclass(frozen=True, slots=True)
class Query:
    """A line read once for every candidate.  text: description + spec as printed; norm: `normalize_name` of
    it; key, name, spec_key: `name_key` of the whole text, of the description alone, of the spec alone ("" when
    not printed); spec: its sizes; unit: its unit; sold: positions of the products the supplier has
    supplier-product rows for; confirmed: ids of the products its lines were confirmed as."""

    text: str
    norm: str
    words: _Words
    key: str
    name: str
    spec_key: str
    spec: Spec
    unit: PrintedUnit
    supplier_id: str
    sold: frozenset[int]
    confirmed: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Ranked:
    """One candidate: its rank (the score before `_soft_cap`), position, unit fit (1 fits, 0 no unit printed,
    -1 cannot), the lift for how exactly the print names it (0 when it does not), and whether it says all
    the print says (a variant of the printed name holds it whole)."""

    rank: float
    pos: int
    fit: int
    exact: float
    holds_print: bool


def read_query(*, description: str, spec: str, unit: str, supplier_id: str, master: MasterData) -> Query:
    """A printed line (its description, spec and unit columns; "" where not printed) read for ranking."""
    text = f"{description} {spec}".strip()
    sizes = read_specs(text)
    norm = normalize_name(text)
    return Query(text, norm, _read_words(norm), join_cjk(norm), name_key(description), name_key(spec), sizes,
                 read_unit(unit, text, specs=sizes), supplier_id,
                 master.supplier_catalogue.get(supplier_id, frozenset()),
                 master.learned.confirmed.get(supplier_id, frozenset()))


def _read_words(norm: str) -> _Words:
    """`norm` (normalised) as `_Words`."""
    runs = _RUNS.findall(norm)
    chars = frozenset(r for r in runs if len(r) == 1 and "\u3400" <= r <= "\ufaff")
    words = frozenset(r for r in runs if r not in chars)
    return _Words(chars, words, len(chars) + sum(len(w) for w in words))


# The caches below hold what products' names and labels say: the same products come up line after line (a
# supplier's catalogue), and each entry is small; bounded so a worker's memory is too (some 15 MB when full).
@lru_cache(maxsize=_PRODUCT_CACHE)
def _label_words(norm: str) -> _Words:
    return _read_words(norm)


@lru_cache(maxsize=_PRODUCT_CACHE)
def _name_words(name: str) -> _Words:
    return _read_words(normalize_name(name))


@lru_cache(maxsize=2 * _PRODUCT_CACHE)
def _key_of(text: str) -> str:
    """`name_key`, cached for product names, labels and specs."""
    return name_key(text)


@lru_cache(maxsize=4 * _PRODUCT_CACHE)
def _stands_for(short: str, word: str) -> bool:
    """A printed word stands for a word of ours: the same; our word cut short or with letters left out
    (Choc, Jce, Skt: same first letter, the letters in order); or, from four letters on, an OCR slip apart."""
    if short == word:
        return True
    if short.isalpha() and len(short) >= 2 and short[0] == word[0]:
        rest = iter(word)
        if all(ch in rest for ch in short):
            return True
    return len(short) >= 4 and fuzz.ratio(short, word) >= 75


def _unsaid(ours: _Words, theirs: _Words, *, ours_is_print: bool) -> float:
    """The share (by characters) of `ours` that `theirs` does not say: its Chinese characters that `theirs`
    lacks, its words no word of `theirs` stands for (the print's word being the short one)."""
    if not ours.size:
        return 0.0
    lost = len(ours.chars - theirs.chars)
    for word in ours.words - theirs.words:
        for other in theirs.words:
            if _stands_for(word, other) if ours_is_print else _stands_for(other, word):
                break
        else:
            lost += len(word)
    return lost / ours.size


def _likeness(q: Query, pos: int, master: MasterData) -> tuple[float, bool]:
    """(0..1, whether the product says all the print says): the token-set ratio (word order costs nothing),
    less for the share of the product's name the print does not say (the spec it leaves out is for the spec
    agreement to judge) and for the share of the print the product does not say; never below the plain
    ratio, which already costs a Chinese name its extra characters."""
    label = master.product_norm[pos]
    extra = _unsaid(_name_words(master.products[pos].name), q.words, ours_is_print=False)
    missing = _unsaid(q.words, _label_words(label), ours_is_print=True)
    shared = fuzz.token_set_ratio(q.norm, label) * (1 - _EXTRA_COST * extra - _MISSING_COST * missing)
    return max(fuzz.ratio(q.norm, label), shared) / 100, missing == 0


def _exactness(q: Query, pos: int, named: frozenset[int], master: MasterData) -> float:
    """The lift for a printed name that is this product's own: its name + spec, else its name alone where the
    line prints no other spec than the product's, else one of its aliases (`named`: from `rows_named`)."""
    product = master.products[pos]
    if pos in named and _key_of(product.label) in (q.key, q.name):
        return _TEXT_LIFT
    if q.name and _key_of(product.name) == q.name and q.spec_key in ("", _key_of(product.spec)):
        return _NAME_LIFT
    return _ALIAS_LIFT if pos in named else 0.0


def _rank(q: Query, cos: float, pos: int, named: frozenset[int], master: MasterData) -> _Ranked:
    """One candidate ranked (see the module docstring)."""
    product = master.products[pos]
    exact = _exactness(q, pos, named, master)
    fit = unit_fit(q.unit, product, q.supplier_id, master)
    likeness, holds_print = _likeness(q, pos, master)
    if exact:                     # its name is the print's, word for word: the sizes it adds are the spec's to judge
        cos = likeness = 1.0
    rank = (_TEXT * (cos + likeness) + exact) * spec_agreement(q.spec, master.product_specs[pos])
    rank *= _UNIT_MISFIT if fit < 0 else 1.0
    known = pos in q.sold or product.id in q.confirmed
    return _Ranked(rank + (_UNIT_FIT if fit > 0 else 0.0) + (_HISTORY_LIFT if known else 0.0), pos, fit, exact,
                   holds_print)


def _soft_cap(rank: float) -> float:
    """The rank as a 0..1 score: itself up to `_BEND`, then bending towards 1 without reaching it, so that two
    strong candidates keep their order and their lead (a hard cap at 1 made them equal)."""
    room = 1 - _BEND
    return rank if rank <= _BEND else _BEND + room * (1 - math.exp(-(rank - _BEND) / room))


def _variant_in_unit(ranked: list[_Ranked]) -> list[_Ranked]:
    """A clerk reads "青椒, 3 袋" as the 青椒 sold by the 袋: where the product named exactly cannot express the
    printed unit and one that says all the print says (青椒(进口), 小包装青椒) can, that one goes first, just
    ahead (and is not auto-accepted: the supplier may have a 袋 of its own)."""
    top = ranked[0]
    if not top.exact or top.fit >= 0:
        return ranked
    fitting = next((r for r in ranked[1:] if r.fit > 0 and r.holds_print), None)
    if fitting is None:
        return ranked
    return [replace(fitting, rank=top.rank + 0.01)] + [r for r in ranked if r is not fitting]


def _history_rows(q: Query, master: MasterData) -> tuple[int, ...]:
    """The index rows of the products this supplier was confirmed as that bear the printed name (a bare
    "Chip Resistor" is one of the few it sells, not any of the hundreds in the master)."""
    rows: list[int] = []
    for product_id in q.confirmed if q.name else ():
        pos = master.product_pos.get(product_id)
        if pos is not None and _key_of(master.products[pos].name) == q.name:
            rows += [r for r in master.index.rows_named(_key_of(master.products[pos].label))
                     if master.row_product[r] == pos]
    return tuple(rows)


def _candidates(q: Query, master: MasterData, options: MatchOptions) -> tuple[dict[int, float], frozenset[int]]:
    """Product position -> best cosine over its rows, for the shortlist and the rows that must be in it; and
    the positions the print names word for word."""
    named_rows = master.index.rows_named(q.key) + master.index.rows_named("" if q.spec_key else q.name)
    best_cos: dict[int, float] = {}
    for row, cos in master.index.shortlist(q.text, options.shortlist, also=named_rows + _history_rows(q, master),
                                           norm=q.norm, specs=q.spec):
        pos = int(master.row_product[row])
        best_cos[pos] = max(cos, best_cos.get(pos, 0.0))
    return best_cos, frozenset(int(master.row_product[r]) for r in named_rows)


def _decided(q: Query, first: _Ranked, second: _Ranked, master: MasterData) -> bool:
    """Whether the line tells the first two apart: not both named by it alike (two sizes of one name, no size
    printed), and, unless it names the first alone, no size on which they differ left unprinted."""
    if first.exact and first.exact == second.exact:
        return False
    return first.exact > second.exact or not undecided_dims(q.spec, master.product_specs[first.pos],
                                                            master.product_specs[second.pos])


def rank_products(q: Query, master: MasterData, options: MatchOptions) -> Match:
    """The line's candidates ranked, best first, with the auto-accept gate: a score of at least
    `options.auto_accept`, a lead of `options.auto_margin`, a unit the winner can express, the winner not put
    first by `_variant_in_unit`, and the first two told apart (`_decided`)."""
    best_cos, named = _candidates(q, master, options)
    if not best_cos:
        return Match(None, "", 0.0, MatchMethod.NONE)
    ranked = sorted((_rank(q, cos, pos, named, master) for pos, cos in best_cos.items()),
                    key=lambda r: (-r.rank, r.pos))
    shown = _variant_in_unit(ranked)
    cands = tuple(Candidate(master.products[r.pos].id, master.products[r.pos].label, round(_soft_cap(r.rank), 4))
                  for r in shown[: options.top_k])
    top, first = cands[0], shown[0]
    if top.score < options.min_score:
        return Match(None, "", top.score, MatchMethod.NONE, cands)
    margin = top.score - (cands[1].score if len(cands) > 1 else 0.0)
    auto = top.score >= options.auto_accept and margin >= options.auto_margin and first.fit >= 0
    if auto and len(shown) > 1:
        auto = first is ranked[0] and _decided(q, first, shown[1], master)
    method = MatchMethod.EXACT_NAME if first.exact else MatchMethod.FUZZY
    return Match(top.id, top.name, top.score, method, cands, auto_accepted=auto)
