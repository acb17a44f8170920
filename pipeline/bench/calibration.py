"""Calibration of the reader's confidence against the ground truth (issue 14, item 5).

The review screen marks a value below `REVIEW_THRESHOLD` as low; a value above it goes through unmarked,
so the promise is about those: "a value reported without a review mark is right at least 99.5 % of the
time on unseen families". F1 cannot show that: it counts a wrong value at 0.99 and one at 0.31 alike,
while only the first slips past the person. So every scored value the reader reported is kept with its
confidence (`Judged`), and this module turns them into confidence bucket -> share right, the share right
at the review threshold, the lowest threshold that keeps the promise, and the most confident wrong values.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Iterable, Sequence

REVIEW_THRESHOLD = 0.8  # review_ui/views.py LOW_CONFIDENCE (tests/test_eval.py keeps the two equal)
TARGET = 0.995
BUCKET_EDGES = (0.5, 0.8, 0.9, 0.95, 0.98, 0.99)


@dataclass(frozen=True, slots=True)
class Judged:
    """One scored value the reader reported: a header field, a line cell, or a cell of a spurious line
    (`expected` None: nothing should have been there, so it is wrong whatever it says)."""

    document: str
    field: str           # "total_amount", "line 3 quantity", "extra line 4 amount"
    expected: str | None
    got: str
    confidence: float
    right: bool


def bucket_labels(edges: Sequence[float] = BUCKET_EDGES) -> list[str]:
    """'<0.5', '0.5-0.8', ..., '>=0.99': a bucket holds [low, high)."""
    return [f"<{edges[0]:g}"] + [f"{a:g}-{b:g}" for a, b in zip(edges, edges[1:])] + [f">={edges[-1]:g}"]


@dataclass(frozen=True)
class Share:
    count: int
    right: int

    @property
    def share(self) -> float | None:
        return self.right / self.count if self.count else None

    def to_json(self) -> dict:
        share = self.share
        return {"count": self.count, "right": self.right, "share_right": None if share is None else round(share, 4)}


def _at_or_above(values: Sequence[Judged], threshold: float) -> Share:
    kept = [v for v in values if v.confidence >= threshold]
    return Share(len(kept), sum(v.right for v in kept))


def lowest_threshold(values: Sequence[Judged], target: float = TARGET) -> float | None:
    """The lowest confidence t such that the values at or above t are right at least `target` of the time;
    None when no t gets there. Only the reported confidences are candidates (between two of them nothing
    changes). The share need not grow with t, so every candidate is tried, lowest first."""
    ordered = sorted(values, key=lambda v: -v.confidence)
    best, count, right, i = None, 0, 0, 0
    while i < len(ordered):   # walk from the top down; the last t that reaches the target is the lowest
        t = ordered[i].confidence
        while i < len(ordered) and ordered[i].confidence == t:
            count, right, i = count + 1, right + ordered[i].right, i + 1
        if right >= target * count:
            best = t
    return best


@dataclass(frozen=True)
class Calibration:
    """Confidence bucket -> share right, and what a review threshold lets through unmarked."""

    buckets: list[tuple[str, Share]]
    threshold: float
    at_threshold: Share
    target: float
    lowest: float | None          # the lowest threshold reaching `target`, None when none does
    at_lowest: Share | None
    confident_wrong: list[Judged]  # the most confident wrong values, most confident first

    def to_json(self) -> dict:
        return {"buckets": [{"range": label, **s.to_json()} for label, s in self.buckets],
                "threshold": self.threshold, "at_or_above_threshold": self.at_threshold.to_json(),
                "target": self.target, "lowest_threshold_for_target": self.lowest,
                "at_or_above_lowest_threshold": self.at_lowest.to_json() if self.at_lowest else None,
                "confident_wrong": [{"document": v.document, "field": v.field, "expected": v.expected, "got": v.got,
                                     "confidence": round(v.confidence, 4)} for v in self.confident_wrong]}


def calibrate(values: Iterable[Judged], threshold: float = REVIEW_THRESHOLD, target: float = TARGET,
              top: int = 10, edges: Sequence[float] = BUCKET_EDGES) -> Calibration:
    """Bucket the values by confidence (a bucket holds [low, high)) and measure what `threshold` lets through."""
    values = list(values)
    counts = [[0, 0] for _ in range(len(edges) + 1)]
    for v in values:
        slot = counts[bisect_right(edges, v.confidence)]
        slot[0] += 1
        slot[1] += v.right
    buckets = [(label, Share(n, r)) for label, (n, r) in zip(bucket_labels(edges), counts)]
    lowest = lowest_threshold(values, target)
    wrong = sorted((v for v in values if not v.right), key=lambda v: (-v.confidence, v.document, v.field))
    return Calibration(buckets, threshold, _at_or_above(values, threshold), target, lowest,
                       _at_or_above(values, lowest) if lowest is not None else None, wrong[:top])
