"""The next-item network: a causal transformer (SASRec-style) over item vectors.

An item's vector is a projection of its text vector plus a learnt id vector; items nobody has
touched yet (and, during training, a random `id_dropout` share of the others) use the text
projection alone, so a new item is rankable from its text the moment it exists.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ml.recsys.config import NextItemConfig


class NextItemNet(nn.Module):
    """Scores every catalogue item as the next one after a sequence of items."""

    def __init__(self, text_vectors: np.ndarray, known: np.ndarray, config: NextItemConfig) -> None:
        super().__init__()
        n_items, text_dim = text_vectors.shape
        self.n_items = n_items
        self.pad = n_items  # the extra last row: padding, zero text, never known
        self.max_len = config.max_len
        self.dim = config.dim
        text = torch.zeros(n_items + 1, text_dim)
        text[:n_items] = torch.as_tensor(text_vectors, dtype=torch.float32)
        known_rows = torch.zeros(n_items + 1)
        known_rows[:n_items] = torch.as_tensor(known, dtype=torch.float32)
        self.register_buffer("text", text)
        self.register_buffer("known", known_rows)
        self.text_proj = nn.Linear(text_dim, config.dim)
        self.item_id = nn.Embedding(n_items + 1, config.dim)
        nn.init.zeros_(self.item_id.weight)  # at first the model reads text only
        self.position = nn.Embedding(config.max_len, config.dim)
        layer = nn.TransformerEncoderLayer(
            config.dim,
            config.heads,
            4 * config.dim,
            config.dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(config.dim)
        self.dropout = nn.Dropout(config.dropout)
        self.heads = config.heads

    def catalogue_vectors(self, id_keep: torch.Tensor | None = None) -> torch.Tensor:
        """(n_items + 1, dim): text projection + id vector where the item is known (and kept)."""
        gate = self.known if id_keep is None else self.known * id_keep
        return self.text_proj(self.text) + self.item_id.weight * gate.unsqueeze(-1)

    def text_only_vectors(self, text_vectors: torch.Tensor) -> torch.Tensor:
        """Vectors of items outside the catalogue the model was trained on (new items)."""
        return self.text_proj(text_vectors)

    def encode(self, sequence_vectors: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        """(B, T, dim) item vectors, right-aligned with `pad` (B, T) True on the left padding
        -> (B, T, dim) states; the state at t predicts the item after position t."""
        batch, length, _ = sequence_vectors.shape
        # Position 0 is the most recent item: recency, not absolute position, is what matters.
        positions = torch.arange(length - 1, -1, -1, device=sequence_vectors.device)
        x = sequence_vectors * math.sqrt(self.dim) + self.position(positions)
        x = self.dropout(x) * (~pad).unsqueeze(-1)
        eye = torch.eye(length, dtype=torch.bool, device=x.device)
        causal = torch.triu(torch.ones(length, length, dtype=torch.bool, device=x.device), 1)
        # Padding is hidden from every position but itself (a row with nothing to attend to
        # would be NaN); padded positions' outputs are never read.
        blocked = causal.unsqueeze(0) | (pad.unsqueeze(1) & ~eye.unsqueeze(0))
        mask = blocked.repeat_interleave(self.heads, dim=0)
        return self.norm(self.encoder(x, mask=mask))


def pad_left(sequences: list[np.ndarray], length: int, pad: int) -> np.ndarray:
    """Each sequence's last `length` items, right-aligned in a (B, length) array of `pad`."""
    out = np.full((len(sequences), length), pad, dtype=np.int64)
    for row, seq in enumerate(sequences):
        tail = np.asarray(seq[-length:], dtype=np.int64)
        if len(tail):
            out[row, length - len(tail) :] = tail
    return out


def training_windows(
    sequences: tuple[np.ndarray, ...] | list[np.ndarray], max_len: int, per_user: int = 0
) -> list[np.ndarray]:
    """Cut each sequence into windows of max_len + 1 items (inputs + next items), from the end,
    overlapping by one item so every transition is a target exactly once per epoch.

    `per_user` > 0 keeps only each user's most recent windows (tastes drift; old history is
    still read as context by later windows' inputs only when it falls inside them).
    """
    windows = []
    for seq in sequences:
        end, taken = len(seq), 0
        while end >= 2 and (not per_user or taken < per_user):
            taken += 1
            start = max(0, end - max_len - 1)
            windows.append(np.asarray(seq[start:end], dtype=np.int64))
            end = start + 1
    return windows
