"""Training the next-item network: epochs over sequence windows, validation NDCG@10 per epoch,
the best epoch kept, an optional score blend chosen on validation, and held-out test metrics.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from ml.device import autocast, resolve_device
from ml.recsys.blend import Blend, BlendedScorer, blend_choose
from ml.recsys.config import NextItemConfig
from ml.recsys.data import InteractionData, LeaveLastOut, leave_last_out
from ml.recsys.evaluate import RankingReport, ranking_evaluate
from ml.recsys.sequential import NextItemNet, pad_left, training_windows
from ml.training.loop import TrainingCancelled  # one cancel exception for every trainer

Progress = Callable[[float, str], None]


class NetScorer:
    """The `Scorer` protocol over a network: scores from each history's last max_len items."""

    def __init__(self, net: NextItemNet, device: str, batch_size: int = 256) -> None:
        self.net = net
        self.device = device
        self.batch_size = batch_size

    @torch.no_grad()
    def scores(self, users: np.ndarray, histories: list[np.ndarray]) -> np.ndarray:
        self.net.eval()
        vectors = self.net.catalogue_vectors()
        out = []
        for start in range(0, len(histories), self.batch_size):
            chunk = histories[start : start + self.batch_size]
            seq = torch.as_tensor(
                pad_left(chunk, self.net.max_len, self.net.pad), device=self.device
            )
            with autocast(self.device):
                states = self.net.encode(vectors[seq], seq == self.net.pad)[:, -1]
                out.append((states.float() @ vectors[: self.net.n_items].T).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.net.n_items), dtype=np.float32)


@dataclass
class FitResult:
    net: NextItemNet
    best_epoch: int
    epochs_run: int
    history: list[dict[str, Any]]
    validation: RankingReport | None
    stop_reason: str


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - third-party code may use the legacy global RNG
    torch.manual_seed(seed)


def _batch_loss(
    net: NextItemNet, windows: list[np.ndarray], config: NextItemConfig, device: str
) -> torch.Tensor:
    """Cross-entropy of each next item against the catalogue (or sampled negatives)."""
    batch = torch.as_tensor(pad_left(windows, config.max_len + 1, net.pad), device=device)
    inputs, targets = batch[:, :-1], batch[:, 1:]
    pad = inputs == net.pad
    keep = (torch.rand(net.n_items + 1, device=device) >= config.id_dropout).float()
    vectors = net.catalogue_vectors(keep)
    states = net.encode(vectors[inputs], pad)
    valid = targets != net.pad
    states, targets = states[valid], targets[valid]
    if config.negatives == 0 or config.negatives >= net.n_items:
        logits = states @ vectors[: net.n_items].T
        return nn.functional.cross_entropy(logits.float(), targets)
    negatives = torch.randint(0, net.n_items, (config.negatives,), device=device)
    positive = (states * vectors[targets]).sum(-1, keepdim=True)
    negative = states @ vectors[negatives].T
    negative = negative.masked_fill(negatives.unsqueeze(0) == targets.unsqueeze(1), float("-inf"))
    logits = torch.cat([positive, negative], dim=1).float()
    return nn.functional.cross_entropy(
        logits, torch.zeros(len(targets), dtype=torch.long, device=device)
    )


def fit_network(
    config: NextItemConfig,
    train: InteractionData,
    text_vectors: np.ndarray,
    *,
    validation: LeaveLastOut | None = None,
    epochs: int | None = None,
    progress: Progress | None = None,
    progress_span: tuple[float, float] = (0.0, 1.0),
    should_stop: Callable[[], bool] | None = None,
    deadline: float | None = None,
) -> FitResult:
    """Train on `train`'s sequences; with `validation`, keep the epoch with the best NDCG@10.

    Without validation it runs exactly `epochs` (default config.epochs) and keeps the last.
    """
    device = resolve_device(config.device)
    _seed(config.seed)
    known = train.item_counts() > 0
    net = NextItemNet(text_vectors, known, config).to(device)
    optimizer = torch.optim.AdamW(
        net.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    windows = training_windows(train.sequences, config.max_len, config.windows_per_user)
    if not windows:
        raise ValueError("no user has two items in a row to learn from; need more events")
    rng = np.random.default_rng(config.seed)
    total_epochs = epochs or config.epochs
    best: tuple[float, int, dict[str, torch.Tensor] | None] = (-1.0, 0, None)
    best_report: RankingReport | None = None
    history: list[dict[str, Any]] = []
    stale, stop_reason, epochs_run = 0, "completed", 0
    low, high = progress_span
    for epoch in range(1, total_epochs + 1):
        epochs_run = epoch
        net.train()
        order = rng.permutation(len(windows))
        losses = []
        for start in range(0, len(order), config.batch_size):
            if should_stop is not None and should_stop():
                raise TrainingCancelled
            chunk = [windows[i] for i in order[start : start + config.batch_size]]
            with autocast(device):
                loss = _batch_loss(net, chunk, config, device)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimizer.step()
            losses.append(float(loss.detach()))
        record: dict[str, Any] = {"epoch": epoch, "train_loss": float(np.mean(losses))}
        if validation is not None:
            report = ranking_evaluate(NetScorer(net, device), validation)
            record["val_ndcg_at_10"] = report.ndcg
            if report.ndcg > best[0]:
                state = {k: v.detach().clone() for k, v in net.state_dict().items()}
                best, best_report, stale = (report.ndcg, epoch, state), report, 0
            else:
                stale += 1
        history.append(record)
        if progress is not None:
            shown = f" val NDCG@10 {record['val_ndcg_at_10']:.4f}" if validation else ""
            progress(
                low + (high - low) * epoch / total_epochs,
                f"epoch {epoch}/{total_epochs}: loss {record['train_loss']:.3f}{shown}",
            )
        if deadline is not None and time.monotonic() > deadline:
            stop_reason = "time_limit"
            break
        if validation is not None and config.patience and stale >= config.patience:
            stop_reason = "early_stopping"
            break
    if validation is not None and best[2] is not None:
        net.load_state_dict(best[2])
        best_epoch = best[1]
    else:
        best_epoch = epochs_run
    net.eval()
    return FitResult(net, best_epoch, epochs_run, history, best_report, stop_reason)


# Settings that change what blending and scoring do, not the trained network.
_NOT_FIT_KEYS = ("blend", "ease_l2", "ease_neighbours", "refit")
FIT_CACHE_VERSION = 1  # bump when fit_network's behaviour changes


def fit_cache_path(
    folder: Path, config: NextItemConfig, train: InteractionData, text_vectors: np.ndarray
) -> Path:
    """Where the network fitted on `train` with `config` is cached (a folder per key)."""
    digest = hashlib.sha256(f"next-item-fit-v{FIT_CACHE_VERSION}".encode())
    settings = {k: v for k, v in config.to_dict().items() if k not in _NOT_FIT_KEYS}
    digest.update(json.dumps(settings, sort_keys=True).encode())
    digest.update(train.fingerprint().encode())
    digest.update(np.ascontiguousarray(text_vectors, dtype=np.float32).tobytes())
    digest.update(torch.__version__.encode())
    return Path(folder) / f"fit-{digest.hexdigest()[:24]}"


def save_fit(path: Path, fit: FitResult) -> None:
    """The network's weights and its training record; written to a temporary name first."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in fit.net.state_dict().items()}
    save_file(state, str(tmp / "model.safetensors"))
    record = {
        "best_epoch": fit.best_epoch,
        "epochs_run": fit.epochs_run,
        "history": fit.history,
        "stop_reason": fit.stop_reason,
        "validation": None if fit.validation is None else fit.validation.__dict__,
    }
    (tmp / "fit.json").write_text(json.dumps(record), encoding="utf-8")
    tmp.replace(path)


def load_fit(
    path: Path, config: NextItemConfig, train: InteractionData, text_vectors: np.ndarray
) -> FitResult | None:
    """The cached fit at `path`, or None when there is none."""
    if not (path / "fit.json").is_file():
        return None
    record = json.loads((path / "fit.json").read_text(encoding="utf-8"))
    net = NextItemNet(text_vectors, train.item_counts() > 0, config)
    net.load_state_dict(load_file(str(path / "model.safetensors")))
    net.to(resolve_device(config.device)).eval()
    validation = RankingReport(**record["validation"]) if record["validation"] else None
    return FitResult(
        net,
        record["best_epoch"],
        record["epochs_run"],
        record["history"],
        validation,
        record["stop_reason"],
    )


@dataclass
class NextItemTrainResult:
    """The served network (refitted on all data when config.refit), its blend and metrics."""

    net: NextItemNet
    blend: Blend
    data: InteractionData
    metrics: dict[str, Any]
    device: str
    train_seconds: float


def train_next_item(
    config: NextItemConfig,
    data: InteractionData,
    text_vectors: np.ndarray,
    *,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    fit_cache: Path | None = None,
) -> NextItemTrainResult:
    """Choose the epoch and the blend on validation, measure on held-out test items, refit.

    Splits by time: each user's last item is the test target, the one before it the
    validation target. The network is trained on what precedes the validation target; test
    metrics score each user's history up to the test target (their last item) against the
    full catalogue with their own items removed.

    `fit_cache`: a folder where the validation-split network is kept, keyed on the data, the
    text vectors and the training settings, so changes to blending and scoring can be measured
    without training again (a benchmark's iteration aid; the refit is never cached).
    """
    report = progress or (lambda fraction, message: None)
    if len(text_vectors) != data.n_items:
        raise ValueError(f"{len(text_vectors)} text vectors for {data.n_items} catalogue items")
    started = time.monotonic()
    deadline = None if config.max_train_seconds is None else started + config.max_train_seconds
    test = leave_last_out(data)
    validation = leave_last_out(test.train)
    if len(validation.users) == 0:
        raise ValueError(
            f"{data.n_users} users but none with 3 or more items; the split needs them"
        )
    report(0.0, f"training on {data.n_interactions} interactions of {data.n_users} users")
    fit_span = (0.0, 0.6) if config.refit else (0.0, 0.85)
    cached = None
    if fit_cache is not None:
        cache_path = fit_cache_path(fit_cache, config, validation.train, text_vectors)
        cached = load_fit(cache_path, config, validation.train, text_vectors)
    if cached is not None:
        report(fit_span[1], f"network read from the fit cache {cache_path.name}")
        fit = cached
    else:
        fit = fit_network(
            config,
            validation.train,
            text_vectors,
            validation=validation,
            progress=report,
            progress_span=fit_span,
            should_stop=should_stop,
            deadline=deadline,
        )
        if fit_cache is not None:
            save_fit(cache_path, fit)
    device = resolve_device(config.device)
    net_scorer = NetScorer(fit.net, device)
    blend = Blend()
    if config.blend:
        report(fit_span[1], "choosing the blend with EASE and popularity")
        blend = blend_choose(net_scorer, validation, config, text_vectors)
    test_scorer = BlendedScorer.fit(net_scorer, blend, test.train, config, text_vectors)
    test_report = ranking_evaluate(test_scorer, test)
    cold = test.cold_mask()
    cold_report = ranking_evaluate(test_scorer, test, mask=cold)
    from ml.recsys.baselines import Popularity

    popularity_report = ranking_evaluate(Popularity.fit(test.train), test)
    net = fit.net
    if config.refit:
        report(0.65, f"refitting on all the data for {fit.best_epoch} epochs")
        net = fit_network(
            config,
            data,
            text_vectors,
            epochs=fit.best_epoch,
            progress=report,
            progress_span=(0.65, 0.95),
            should_stop=should_stop,
        ).net
    metrics: dict[str, Any] = {
        **test_report.as_dict(),
        **cold_report.as_dict("cold_start_"),
        **{f"popularity_{k}": v for k, v in popularity_report.as_dict().items()},
        "validation_ndcg_at_10": fit.validation.ndcg if fit.validation else None,
        "fit_cache": "hit" if cached is not None else ("written" if fit_cache else None),
        "blend": blend.as_dict(),
        "best_epoch": fit.best_epoch,
        "epochs_run": fit.epochs_run,
        "stop_reason": fit.stop_reason,
        "history": fit.history,
        "n_users": data.n_users,
        "n_items": data.n_items,
        "n_interactions": data.n_interactions,
        "device": device,
        "task_type": "next_item",
    }
    train_seconds = time.monotonic() - started
    metrics["train_seconds"] = train_seconds
    report(0.97, f"test NDCG@10 {test_report.ndcg:.4f}, Recall@10 {test_report.recall:.4f}")
    return NextItemTrainResult(net, blend, data, metrics, device, train_seconds)
