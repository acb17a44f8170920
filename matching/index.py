"""The fuzzy name index: TF-IDF over character n-grams, held as numpy postings, for the first cut.

Each indexed row (a product's name + spec, or one of its aliases) becomes a set of features:
  - for runs of Chinese characters: each character and each pair of neighbours (`c:可`, `b:可口`);
  - for Latin/digit tokens: the token itself (`w:resistor`), its first three letters (`p:res`, which is
    what "Res" and "Resistor" share) and, from 4 letters on, its letter trigrams with word edges
    (`t: re`), which survive OCR slips;
  - spec tokens from `matching.specs` (`s:volume_ml=330`), so 0.33L and 330ml meet.
Each row's `name_key` is kept too (`rows_named`), so a printed name that equals a product's name + spec or
an alias finds that row whatever the n-gram ranking says.
Weights are IDF, rows L2-normalised; a query scores every row with one `np.bincount` over the postings
of its features (features in more than `max_df` of the rows are skipped: they carry no information and
would cost the most).  `shortlist` returns the best rows for the ranking in `matching.ranking`.

Build once per master snapshot (seconds at 100k products), then query for many documents.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from matching.normalize import join_cjk, normalize_name
from matching.specs import Spec, read_specs

__all__ = ["NgramIndex", "features"]

_RUNS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[a-z0-9ω.%]+")


def features(text: str, *, norm: str | None = None, specs: Spec | None = None) -> set[str]:
    """The features of one name (see the module docstring); `text` may be raw, it is normalised here unless
    the caller has `norm` (`normalize_name(text)`) and `specs` (`read_specs(text)`) already."""
    return _features(normalize_name(text) if norm is None else norm, read_specs(text) if specs is None else specs)


def _features(norm: str, specs: Spec) -> set[str]:
    out: set[str] = set()
    for run in _RUNS.findall(norm):
        if "\u3400" <= run[0] <= "\ufaff":
            out.update("c:" + ch for ch in run)
            out.update("b:" + run[i:i + 2] for i in range(len(run) - 1))
            continue
        out.add("w:" + run)
        if len(run) >= 3 and run[:3].isalpha():
            out.add("p:" + run[:3])                  # Scr, Skt, Choc: suppliers shorten by cutting
        if len(run) >= 4 and not run.isdigit():
            padded = f" {run} "
            out.update("t:" + padded[i:i + 3] for i in range(len(padded) - 2))
    out.update(f"s:{dim}={value}" for dim, value in specs)
    return out


@dataclass(frozen=True, slots=True)
class NgramIndex:
    """Postings in CSR form: feature `f` owns rows `rows[starts[f]:starts[f+1]]` with `weights[...]`.

    vocab: feature -> feature number.  idf: per feature.  n_rows: rows indexed.
    by_key: `name_key` of a row's text -> the rows with that key.
    """

    vocab: dict[str, int]
    idf: np.ndarray
    starts: np.ndarray
    rows: np.ndarray
    weights: np.ndarray
    n_rows: int
    max_postings: int
    by_key: dict[str, tuple[int, ...]]

    @classmethod
    def build(cls, texts: list[str], *, max_df: float = 0.08) -> NgramIndex:
        """Index `texts` (row i is texts[i])."""
        vocab: dict[str, int] = {}
        row_feats: list[list[int]] = []
        by_key: dict[str, tuple[int, ...]] = {}
        for r, text in enumerate(texts):
            norm = normalize_name(text)
            row_feats.append([vocab.setdefault(f, len(vocab)) for f in _features(norm, read_specs(text))])
            key = join_cjk(norm)
            by_key[key] = by_key.get(key, ()) + (r,)
        df = np.zeros(len(vocab), dtype=np.int64)
        for feats in row_feats:
            df[feats] += 1
        n = max(1, len(texts))
        idf = np.log((n + 1) / (df + 1)).astype(np.float32) + 1.0
        counts = df.copy()
        starts = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(counts, out=starts[1:])
        rows = np.empty(int(starts[-1]), dtype=np.int32)
        weights = np.empty(int(starts[-1]), dtype=np.float32)
        fill = starts[:-1].copy()
        for r, feats in enumerate(row_feats):
            if not feats:
                continue
            w = idf[feats]
            w = w / math.sqrt(float(np.dot(w, w)))
            pos = fill[feats]
            rows[pos] = r
            weights[pos] = w
            fill[feats] += 1
        return cls(vocab=vocab, idf=idf, starts=starts, rows=rows, weights=weights, n_rows=len(texts),
                   max_postings=max(1000, int(max_df * n)), by_key=by_key)

    def rows_named(self, key: str) -> tuple[int, ...]:
        """The rows whose text has this `name_key` (none for "")."""
        return self.by_key.get(key, ()) if key else ()

    def query_vector(self, text: str, *, norm: str | None = None,
                     specs: Spec | None = None) -> tuple[list[int], np.ndarray]:
        """The query's known features and their normalised weights (`norm`, `specs` as for `features`)."""
        ids = [self.vocab[f] for f in features(text, norm=norm, specs=specs) if f in self.vocab]
        if not ids:
            return [], np.zeros(0, dtype=np.float32)
        w = self.idf[ids]
        return ids, w / math.sqrt(float(np.dot(w, w)))

    def scores(self, text: str, *, norm: str | None = None, specs: Spec | None = None) -> np.ndarray:
        """Cosine similarity of `text` with every row (0 where nothing is shared)."""
        ids, w = self.query_vector(text, norm=norm, specs=specs)
        parts_r, parts_w = [], []
        for fid, qw in zip(ids, w):
            a, b = self.starts[fid], self.starts[fid + 1]
            if b - a > self.max_postings:
                continue
            parts_r.append(self.rows[a:b])
            parts_w.append(self.weights[a:b] * qw)
        if not parts_r:
            return np.zeros(self.n_rows, dtype=np.float64)
        return np.bincount(np.concatenate(parts_r), weights=np.concatenate(parts_w), minlength=self.n_rows)

    def shortlist(self, text: str, k: int, *, allowed: np.ndarray | None = None, also: tuple[int, ...] = (),
                  norm: str | None = None, specs: Spec | None = None) -> list[tuple[int, float]]:
        """The `k` best rows for `text` as (row, cosine), best first; `allowed` (bool mask) restricts rows;
        `also`: rows returned in any case (after the best, unless among them), such as `rows_named` ones;
        `norm`, `specs` as for `features`."""
        sims = self.scores(text, norm=norm, specs=specs)
        if allowed is not None:
            sims = np.where(allowed, sims, 0.0)
        best = float(sims.max()) if self.n_rows else 0.0
        if k <= 0 or best <= 0:
            return []
        # Rows far below the best cosine never reach the top k after re-scoring; dropping them first makes
        # the partition work on hundreds of rows instead of every row.
        keep = np.flatnonzero(sims >= best * 0.25)
        if len(keep) < k:                              # few close rows: still return k candidates
            keep = np.flatnonzero(sims > 0)
        if len(keep) > k:
            keep = keep[np.argpartition(-sims[keep], k - 1)[:k]]
        keep = keep[np.argsort(-sims[keep], kind="stable")]
        out = [(int(r), float(sims[r])) for r in keep]
        seen = {r for r, _ in out}
        return out + [(r, float(sims[r])) for r in also if r not in seen and (allowed is None or allowed[r])]

    def nbytes(self) -> int:
        """Memory held by the arrays (the vocabulary dict is not counted; see the bench for the total)."""
        return int(self.idf.nbytes + self.starts.nbytes + self.rows.nbytes + self.weights.nbytes)
