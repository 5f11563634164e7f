"""The baselines every ranking model is measured against, all through the `Scorer` protocol.

Each is fitted on a training `InteractionData` and scores a user's history against the whole
catalogue: popularity, item-kNN (cosine), matrix factorisation (implicit's ALS), EASE (Steck
2019, closed form) and text similarity (the mean text vector of the user's recent items).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ml.recsys.data import InteractionData, histories_matrix


@dataclass
class Popularity:
    """log(1 + users who have the item): the same list for everybody."""

    log_counts: np.ndarray

    @classmethod
    def fit(cls, data: InteractionData) -> Popularity:
        return cls(log_counts=np.log1p(data.item_counts()).astype(np.float32))

    def scores(self, users: np.ndarray, histories: list[np.ndarray]) -> np.ndarray:
        return np.broadcast_to(self.log_counts, (len(histories), len(self.log_counts)))


@dataclass
class ItemKNN:
    """Cosine item-item similarity over the users x items matrix, `neighbours` kept per item."""

    similarity: sp.csr_matrix  # items x items

    @classmethod
    def fit(cls, data: InteractionData, *, neighbours: int = 100) -> ItemKNN:
        matrix = data.matrix().tocsc()
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=0)).ravel())
        norms[norms == 0] = 1.0
        cooc = (matrix.T @ matrix).tocsr().astype(np.float32)
        cooc.setdiag(0)
        cooc.eliminate_zeros()
        cosine = sp.diags(1 / norms) @ cooc @ sp.diags(1 / norms)
        return cls(similarity=_top_per_row(sp.csr_matrix(cosine, dtype=np.float32), neighbours))

    def scores(self, users: np.ndarray, histories: list[np.ndarray]) -> np.ndarray:
        hist = histories_matrix(histories, self.similarity.shape[0])
        return (hist @ self.similarity).toarray()


def _top_per_row(matrix: sp.csr_matrix, keep: int) -> sp.csr_matrix:
    """Keep each row's `keep` largest values (the item's nearest neighbours)."""
    rows, cols, values = [], [], []
    for row in range(matrix.shape[0]):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        if start == end:
            continue
        data, index = matrix.data[start:end], matrix.indices[start:end]
        if len(data) > keep:
            top = np.argpartition(-data, keep)[:keep]
            data, index = data[top], index[top]
        rows.append(np.full(len(data), row))
        cols.append(index)
        values.append(data)
    if not rows:
        return sp.csr_matrix(matrix.shape, dtype=np.float32)
    return sp.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
        shape=matrix.shape,
        dtype=np.float32,
    )


@dataclass
class ALS:
    """Implicit-feedback matrix factorisation (Hu et al. 2008) from the `implicit` library."""

    user_factors: np.ndarray
    item_factors: np.ndarray

    @classmethod
    def fit(
        cls,
        data: InteractionData,
        *,
        factors: int = 64,
        regularization: float = 0.05,
        alpha: float = 10.0,
        iterations: int = 15,
        seed: int = 0,
    ) -> ALS:
        from implicit.cpu.als import AlternatingLeastSquares

        model = AlternatingLeastSquares(
            factors=factors,
            regularization=regularization,
            alpha=alpha,
            iterations=iterations,
            random_state=seed,
        )
        model.fit(data.matrix(weighted=True), show_progress=False)
        return cls(
            user_factors=np.asarray(model.user_factors), item_factors=np.asarray(model.item_factors)
        )

    def scores(self, users: np.ndarray, histories: list[np.ndarray]) -> np.ndarray:
        return self.user_factors[users] @ self.item_factors.T


@dataclass
class EASE:
    """Embarrassingly shallow autoencoder: B = I - P / diag(P), P = (X'X + lambda I)^-1."""

    weights: np.ndarray  # items x items, zero diagonal

    @classmethod
    def fit(cls, data: InteractionData, *, l2: float = 500.0) -> EASE:
        matrix = data.matrix()
        # float32: the ridge term keeps the system well-conditioned, at half float64's time
        gram = (matrix.T @ matrix).toarray().astype(np.float32)
        gram[np.diag_indices_from(gram)] += l2
        precision = np.linalg.inv(gram)
        weights = -precision / np.diag(precision)
        weights[np.diag_indices_from(weights)] = 0.0
        return cls(weights=weights.astype(np.float32))

    def scores(self, users: np.ndarray, histories: list[np.ndarray]) -> np.ndarray:
        return histories_matrix(histories, self.weights.shape[0]) @ self.weights


@dataclass
class TextSimilarity:
    """Cosine between each item's text vector and the mean of the user's `recent` items'."""

    item_vectors: np.ndarray  # (n_items, dim), unit length
    recent: int = 10

    def user_vectors(self, histories: list[np.ndarray]) -> np.ndarray:
        dim = self.item_vectors.shape[1]
        out = np.zeros((len(histories), dim), dtype=np.float32)
        for row, history in enumerate(histories):
            if len(history):
                out[row] = self.item_vectors[history[-self.recent :]].mean(axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def scores(self, users: np.ndarray, histories: list[np.ndarray]) -> np.ndarray:
        return self.user_vectors(histories) @ self.item_vectors.T
