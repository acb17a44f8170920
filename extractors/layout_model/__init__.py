"""The learned layout model: a small layout-aware encoder over a page's words, trained here (`inbound train`,
`pipeline.training`), run on onnxruntime, voting with the rules.

    features   words -> reading order, boxes on a 0..1000 grid, sub-word id bags (a trained tokenizer)
    tags       what a word may be tagged as: a header field, a line-item cell, or nothing
    labels     a layout's words tagged by a document's known values (training data)
    runtime    load a model folder (`load_model`, `ModelError`), run it on a layout's pages
    decode     tags -> candidate values and line items
    combine    rules + model -> one Extraction, `method` on every value, calibrated confidence
"""

from extractors.layout_model.combine import combine
from extractors.layout_model.runtime import DEFAULT_MODEL_DIR, LayoutModel, ModelError, load_model, model_or_none

__all__ = ["DEFAULT_MODEL_DIR", "LayoutModel", "ModelError", "combine", "load_model", "model_or_none"]
