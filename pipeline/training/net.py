"""The network: transformers' LayoutLM encoder over one position per word, with a tag head and a line-start head.

Why LayoutLM (v1): it is BERT with 2-D box embeddings (x0, y0, x1, y1, width, height) added to each position, which
is what a page of words needs, with no image branch (LayoutLMv2/v3 need a visual backbone, LiLT pairs a text model
we do not have weights for).  It is small, trains from scratch on two cores and exports to ONNX as plain matrix
work.  It takes `inputs_embeds`, so each position is a word: the mean of the word's sub-word embeddings (and its
shape token), which keeps a page of 300 words at 300 positions.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import LayoutLMConfig, LayoutLMModel

from extractors.layout_model.features import GRID, MAX_WORDS

DEFAULT_SIZE = {"hidden": 192, "layers": 4, "heads": 4, "intermediate": 512}


class LayoutTagger(nn.Module):
    def __init__(self, vocab_size: int, n_tags: int, *, hidden: int = 192, layers: int = 4, heads: int = 4,
                 intermediate: int = 512, dropout: float = 0.1) -> None:
        super().__init__()
        self.size = {"hidden": hidden, "layers": layers, "heads": heads, "intermediate": intermediate}
        self.vocab_size, self.n_tags = vocab_size, n_tags
        self.subwords = nn.Embedding(vocab_size, hidden, padding_idx=0)
        config = LayoutLMConfig(vocab_size=2, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                                intermediate_size=intermediate, max_position_embeddings=MAX_WORDS,
                                max_2d_position_embeddings=GRID + 24, hidden_dropout_prob=dropout,
                                attention_probs_dropout_prob=dropout, pad_token_id=0)
        self.encoder = LayoutLMModel(config)
        self.tag_head = nn.Linear(hidden, n_tags)
        self.start_head = nn.Linear(hidden, 2)

    def forward(self, tokens: torch.Tensor, boxes: torch.Tensor, mask: torch.Tensor):
        present = (tokens > 0).unsqueeze(-1).float()
        words = (self.subwords(tokens) * present).sum(2) / present.sum(2).clamp(min=1.0)
        hidden = self.encoder(inputs_embeds=words, bbox=boxes, attention_mask=mask).last_hidden_state
        return self.tag_head(hidden), self.start_head(hidden)
