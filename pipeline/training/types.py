"""What training takes and gives (the entry points are in the package's __init__)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class TrainingDoc:
    name: str
    data: bytes
    truth: dict[str, Any]            # the contract JSON (fields, lines) the document's words are labelled by
    origin: str = "confirmed"        # generated | weak | confirmed


@dataclass(frozen=True, slots=True)
class TrainResult:
    model_dir: Path                  # model.onnx, tokenizer.json, meta.json, weights.pt
    data_version: str
    code_version: str
    metrics: dict[str, Any]          # {"validation": {"fields_f1", "lines_f1", ...}, "documents": n, ...}
    skipped: dict[str, int] = field(default_factory=dict)   # reason -> documents that could not be labelled


@dataclass(frozen=True, slots=True)
class RetrainResult:
    candidate: TrainResult
    # set name ("confirmed_held_back", "generated_held_back") -> {"candidate": fields F1, "base": fields F1}
    scores: dict[str, dict[str, float]]

    @property
    def better_or_equal(self) -> bool:
        """The candidate scores at least as well as the base model on every held-back set."""
        return all(s["candidate"] >= s["base"] for s in self.scores.values())
