"""Recommendation core: interaction data, leave-last-out evaluation, baselines, and the
next-item model (a small transformer whose item vectors start from text embeddings).

Framework-free like the rest of ml/: plain ids, numpy arrays and frozen dataclasses in and out.
Data and evaluation helpers are numpy-only; the model modules import torch.
"""

from __future__ import annotations

from ml.recsys.config import NextItemConfig
from ml.recsys.data import Interaction, InteractionData, LeaveLastOut, leave_last_out

__all__ = ["Interaction", "InteractionData", "LeaveLastOut", "NextItemConfig", "leave_last_out"]
