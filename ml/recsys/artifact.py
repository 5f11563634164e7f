"""The next-item model on disk (written atomically) and loaded for serving.

Layout of an artifact directory:

    tessera_next_item.json   manifest: format, task type, the catalogue's item ids in index
                             order, hyper-parameters, blend weights, the text encoder it used
    model.safetensors        the network (its buffers hold the items' text vectors)
    popularity.npy           log(1 + users) per item, for the blend
    ease.npz                 sparse EASE weights (only when the blend uses them)
    metrics.json             held-out metrics of the version
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from safetensors.torch import load_file, save_file

from ml.device import resolve_device
from ml.recsys.baselines import Popularity, TextSimilarity
from ml.recsys.blend import Blend, place_cold, sparse_ease, standardised
from ml.recsys.config import NextItemConfig
from ml.recsys.data import histories_matrix
from ml.recsys.sequential import NextItemNet
from ml.recsys.training import NextItemTrainResult
from ml.training.artifact import METRICS_NAME, atomic_directory, write_json

MANIFEST_NAME = "tessera_next_item.json"
FORMAT_NAME = "tessera-next-item-model"
FORMAT_VERSION = 1


def is_next_item_artifact(artifact_dir: Path) -> bool:
    return (Path(artifact_dir) / MANIFEST_NAME).is_file()


def save_next_item_model(
    result: NextItemTrainResult,
    config: NextItemConfig,
    output_dir: Path,
    *,
    encoder: dict[str, str],
) -> Path:
    """Write the artifact; `output_dir` appears only when complete (see atomic_directory)."""
    net = result.net
    with atomic_directory(Path(output_dir)) as tmp:
        state = {k: v.detach().float().cpu().contiguous() for k, v in net.state_dict().items()}
        save_file(state, str(tmp / "model.safetensors"))
        np.save(tmp / "popularity.npy", Popularity.fit(result.data).log_counts)
        ease = sparse_ease(result.data, config) if result.blend.ease else None
        if ease is not None:
            sp.save_npz(tmp / "ease.npz", ease)
        write_json(
            tmp / MANIFEST_NAME,
            {
                "format": FORMAT_NAME,
                "format_version": FORMAT_VERSION,
                "task_type": "next_item",
                "item_ids": list(map(int, result.data.item_ids)),
                "known": (result.data.item_counts() > 0).tolist(),
                "text_dim": int(net.text.shape[1]),
                "config": config.to_dict(),
                "blend": result.blend.as_dict()
                if ease is not None or not result.blend.ease
                else {**result.blend.as_dict(), "ease": 0.0},
                "encoder": encoder,
            },
        )
        write_json(tmp / METRICS_NAME, result.metrics)
    return Path(output_dir)


def read_next_item_manifest(artifact_dir: Path) -> dict[str, Any]:
    path = Path(artifact_dir) / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path} is missing: {artifact_dir} is not a next-item model") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is unreadable or corrupt: {exc}") from exc
    if manifest.get("format") != FORMAT_NAME or manifest.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} is not a {FORMAT_NAME} v{FORMAT_VERSION} manifest; retrain the model"
        )
    return manifest


class NextItemModel:
    """A loaded next-item model: scores candidate items after a user's recent items.

    Items trained on are scored from their learnt vectors; any other item (added after the
    training run) from its text vector, which the caller supplies (`new_item_vectors`). Items
    with no training events, new ones included, are then placed by their text similarity to
    the user's recent items (`ml.recsys.blend.place_cold`), as in the offline evaluation.
    """

    def __init__(self, artifact_dir: Path, device: str = "auto") -> None:
        artifact_dir = Path(artifact_dir)
        manifest = read_next_item_manifest(artifact_dir)
        self.config = NextItemConfig.from_dict(manifest["config"])
        self.item_ids: list[int] = [int(i) for i in manifest["item_ids"]]
        self.index = {item_id: i for i, item_id in enumerate(self.item_ids)}
        self.encoder: dict[str, str] = manifest.get("encoder", {})
        self.blend = Blend(**manifest["blend"])
        self.device = resolve_device(device)
        state = load_file(str(artifact_dir / "model.safetensors"))
        text = state["text"][:-1].numpy()
        known = np.asarray(manifest["known"], dtype=bool)
        self.net = NextItemNet(text, known, self.config)
        self.net.load_state_dict(state)
        self.net.to(self.device).eval()
        self.log_popularity = np.load(artifact_dir / "popularity.npy")
        # events per catalogue item in the training data (popularity.npy is log1p of them)
        self.counts = np.rint(np.expm1(self.log_popularity.astype(np.float64)))
        self.text_vectors = text  # (n_items, text_dim), the encoder's vectors
        # first and second moments of the catalogue's text vectors: the z-scores of a user's
        # text similarities come from them without a product with the whole catalogue
        self._text_sum = text.astype(np.float64).sum(axis=0)
        self._text_gram = text.T.astype(np.float64) @ text.astype(np.float64)
        self._cold_index = np.flatnonzero(self.counts == 0)
        ease_path = artifact_dir / "ease.npz"
        self.ease = sp.load_npz(ease_path).tocsr() if ease_path.is_file() else None
        with torch.no_grad():
            self._vectors = self.net.catalogue_vectors()
        self._lock = threading.Lock()  # torch modules are not re-entrant across threads

    @property
    def text_dim(self) -> int:
        return int(self.net.text.shape[1])

    def unknown_item_ids(self, item_ids: Sequence[int]) -> list[int]:
        """Ids this model was not trained on: the caller supplies their text vectors."""
        return [int(i) for i in item_ids if int(i) not in self.index]

    @torch.no_grad()
    def score(
        self,
        recent_item_ids: Sequence[int],
        candidate_ids: Sequence[int],
        new_item_vectors: dict[int, np.ndarray] | None = None,
    ) -> dict[int, float]:
        """Blended score per candidate (higher: more likely next); unscorable ids are left out.

        `recent_item_ids` oldest first; `new_item_vectors` text vectors of ids the model does
        not know. Scores are comparable across candidates of one call, not across users.
        """
        new_item_vectors = new_item_vectors or {}
        net = self.net
        with self._lock:
            sequence = []
            for item_id in list(recent_item_ids)[-net.max_len :]:
                index = self.index.get(int(item_id))
                if index is not None:
                    sequence.append(self._vectors[index])
                elif int(item_id) in new_item_vectors:
                    sequence.append(self._new_vector(new_item_vectors[int(item_id)]))
            new_ids = [
                int(i)
                for i in candidate_ids
                if int(i) not in self.index and int(i) in new_item_vectors
            ]
            new_vectors = (
                self._new_vector(np.stack([new_item_vectors[i] for i in new_ids]))
                if new_ids
                else torch.zeros((0, net.dim), device=self.device)
            )
            if sequence:
                seq = torch.stack(sequence).unsqueeze(0)
                pad = torch.zeros(seq.shape[:2], dtype=torch.bool, device=self.device)
                state = net.encode(seq, pad)[0, -1]
                network = torch.cat([self._vectors[: net.n_items] @ state, new_vectors @ state])
                network = network.float().cpu().numpy()[None, :]
            else:  # no history: the network has nothing to say; popularity decides
                network = np.zeros((1, net.n_items + len(new_ids)), dtype=np.float32)
        total = standardised(network)
        known_history = [self.index[int(i)] for i in recent_item_ids if int(i) in self.index]
        if self.blend.ease and self.ease is not None:
            ease = (
                histories_matrix([np.array(known_history, dtype=np.int64)], net.n_items) @ self.ease
            )
            ease_row = np.concatenate([ease.toarray()[0], np.zeros(len(new_ids), dtype=np.float32)])
            total += self.blend.ease * standardised(ease_row[None, :])
        if self.blend.popularity:
            pop = np.concatenate([self.log_popularity, np.zeros(len(new_ids), dtype=np.float32)])
            total += self.blend.popularity * standardised(pop[None, :])
        position = {**self.index, **{i: net.n_items + k for k, i in enumerate(new_ids)}}
        if self.blend.cold_after is not None:
            total = self._place_cold(total, recent_item_ids, new_ids, new_item_vectors, position)
        return {
            int(i): float(total[0, position[int(i)]]) for i in candidate_ids if int(i) in position
        }

    def _place_cold(
        self,
        total: np.ndarray,
        recent_item_ids: Sequence[int],
        new_ids: list[int],
        new_item_vectors: dict[int, np.ndarray],
        position: dict[int, int],
    ) -> np.ndarray:
        """`total` (1, n_items + len(new_ids)) with items without training events (new ones
        included) placed by the cosine of their text to the mean text vector of the user's
        latest `TextSimilarity.recent` items, as `BlendedScorer` does offline; only those
        items' cosines are computed (a request must not multiply the whole catalogue)."""
        recent_vectors = []
        for item_id in list(recent_item_ids)[-TextSimilarity.recent :]:
            index = self.index.get(int(item_id))
            if index is not None:
                recent_vectors.append(self.text_vectors[index])
            elif int(item_id) in new_item_vectors:
                recent_vectors.append(np.asarray(new_item_vectors[int(item_id)]))
        if not recent_vectors:
            return total  # no history: nothing to match the text against
        user = np.mean(recent_vectors, axis=0).astype(np.float64)
        user = user / max(float(np.linalg.norm(user)), 1e-12)
        n_total = total.shape[1]
        new = np.zeros((0, len(user)))
        if new_ids:
            new = np.stack([np.asarray(new_item_vectors[i], dtype=np.float64) for i in new_ids])
        # mean and spread of the similarities over catalogue + new items, from the moments
        mean = (self._text_sum + new.sum(axis=0)) @ user / n_total
        second = user @ (self._text_gram + new.T @ new) @ user / n_total
        std = float(np.sqrt(max(second - mean**2, 0.0))) or 1.0
        cold = np.zeros(n_total, dtype=bool)
        cold[self._cold_index] = True
        cold[self.net.n_items :] = True
        text_z = np.zeros((1, n_total), dtype=np.float32)  # only cold items' values are read
        text_z[0, self._cold_index] = (self.text_vectors[self._cold_index] @ user - mean) / std
        text_z[0, self.net.n_items :] = (new @ user - mean) / std
        seen = np.zeros((1, n_total), dtype=bool)
        seen[0, [position[int(i)] for i in recent_item_ids if int(i) in position]] = True
        return place_cold(total, text_z, cold, seen, self.blend)

    def _new_vector(self, text_vectors: np.ndarray) -> torch.Tensor:
        tensor = torch.as_tensor(np.asarray(text_vectors, dtype=np.float32), device=self.device)
        return self.net.text_only_vectors(tensor)


def load_next_item_model(artifact_dir: Path, device: str = "auto") -> NextItemModel:
    return NextItemModel(Path(artifact_dir), device=device)
