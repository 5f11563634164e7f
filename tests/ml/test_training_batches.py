"""Length-grouped training batches: every row once per epoch, little padding, seeded."""

import torch

from ml.training.loop import training_batches


def _lengths(n: int = 2000) -> list[int]:
    generator = torch.Generator().manual_seed(0)
    return (torch.randint(4, 64, (n,), generator=generator)).tolist()


def _padding_ratio(lengths: list[int], batches: list[list[int]]) -> float:
    padded = sum(max(lengths[i] for i in b) * len(b) for b in batches)
    return padded / sum(lengths)


def test_every_row_appears_exactly_once_with_the_usual_batch_count():
    lengths = _lengths(1999)
    for grouped in (True, False):
        batches = training_batches(
            lengths, 16, torch.Generator().manual_seed(1), group_by_length=grouped
        )
        rows = [i for b in batches for i in b]
        assert sorted(rows) == list(range(len(lengths)))
        assert len(batches) == -(-len(lengths) // 16)
        assert all(1 <= len(b) <= 16 for b in batches)


def test_grouping_cuts_padding_and_keeps_random_order():
    lengths = _lengths()
    plain = training_batches(lengths, 16, torch.Generator().manual_seed(1), group_by_length=False)
    grouped = training_batches(lengths, 16, torch.Generator().manual_seed(1), group_by_length=True)
    assert _padding_ratio(lengths, plain) > 1.5
    assert _padding_ratio(lengths, grouped) < 1.1
    # Batch order is shuffled, not sorted: batch maxima do not decrease monotonically.
    maxima = [max(lengths[i] for i in b) for b in grouped]
    assert maxima != sorted(maxima, reverse=True) and maxima != sorted(maxima)


def test_same_seed_same_batches_other_seed_other_batches():
    lengths = _lengths(500)

    def make(seed: int) -> list[list[int]]:
        return training_batches(
            lengths, 8, torch.Generator().manual_seed(seed), group_by_length=True
        )

    assert make(3) == make(3)
    assert make(3) != make(4)
