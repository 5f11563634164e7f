"""`lr_schedule`: linear decay after warm-up (the default) or a constant rate (plain fine-tune)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ml.training import TrainConfig
from ml.training.loop import lr_scheduler

BASE = Path("/models/minilm")


def _rates(config: TrainConfig, total_steps: int) -> list[float]:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = lr_scheduler(optimizer, config, total_steps)
    rates = []
    for _ in range(total_steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_default_warms_up_then_decays_linearly() -> None:
    rates = _rates(TrainConfig(BASE), total_steps=20)  # warmup_fraction 0.1: 2 steps
    assert rates[:3] == pytest.approx([0.0, 0.5, 1.0])
    assert rates[3:] == pytest.approx([(20 - s) / 18 for s in range(3, 20)])


def test_constant_without_warm_up_keeps_the_rate() -> None:
    config = TrainConfig(BASE, lr_schedule="constant", warmup_fraction=0.0)
    assert _rates(config, total_steps=10) == pytest.approx([1.0] * 10)


def test_constant_with_warm_up_ramps_then_holds() -> None:
    config = TrainConfig(BASE, lr_schedule="constant", warmup_fraction=0.25)
    assert _rates(config, total_steps=8) == pytest.approx([0.0, 0.5, 1, 1, 1, 1, 1, 1])
