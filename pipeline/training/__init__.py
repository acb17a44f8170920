"""Training the learned layout model (needs torch + transformers; the reading runtime never imports this).

    TrainingDoc      one document to learn from: its bytes and its truth (contract JSON: generated ground truth,
                     a weak label, or a clerk's confirmed reading)
    train_model      `inbound train`: a versioned dataset -> a model folder (model.onnx, tokenizer.json,
                     meta.json with metrics, data version, code version; weights.pt to continue from)
    retrain          learning from use: confirmed documents (+ a share of generated pages) on top of a base model,
                     scored against the base model on a held-back part of the confirmed documents and on
                     generated held-back families, so that the caller can promote it or not
"""

from pipeline.training.types import RetrainResult, TrainingDoc, TrainResult


def train_model(*args, **kwargs) -> TrainResult:
    """See pipeline.training.train.train_model (imported here only when called: it needs torch)."""
    from pipeline.training.train import train_model as run
    return run(*args, **kwargs)


def retrain(*args, **kwargs) -> RetrainResult:
    """See pipeline.training.train.retrain."""
    from pipeline.training.train import retrain as run
    return run(*args, **kwargs)

__all__ = ["RetrainResult", "TrainResult", "TrainingDoc", "retrain", "train_model"]
