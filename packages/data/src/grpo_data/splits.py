"""Deterministic train / held-out split for evaluation."""

from __future__ import annotations

import datasets


def split_train_eval(
    dataset: datasets.Dataset, eval_size: int | float, seed: int = 0
) -> tuple[datasets.Dataset, datasets.Dataset]:
    """Split rows into disjoint (train, eval) sets; the same seed gives the same split.

    Args:
        dataset: rows to split.
        eval_size: number of eval rows (int >= 1) or their fraction (float in (0, 1)).
        seed: shuffling seed.

    Returns:
        (train, eval).

    Example:
        >>> rows = datasets.Dataset.from_dict({"x": list(range(10))})
        >>> train, held_out = split_train_eval(rows, 2, seed=0)
        >>> (train.num_rows, held_out.num_rows)
        (8, 2)
    """
    rows = dataset.num_rows
    if isinstance(eval_size, bool) or not isinstance(eval_size, (int, float)):
        raise TypeError(f"eval_size must be an int (rows) or a float (fraction), not {type(eval_size).__name__}")
    if isinstance(eval_size, int) and not 1 <= eval_size < rows:
        raise ValueError(f"eval_size={eval_size} rows must be between 1 and {rows - 1} (the dataset has {rows} rows)")
    if isinstance(eval_size, float) and not 0.0 < eval_size < 1.0:
        raise ValueError(f"eval_size={eval_size} as a fraction must be in (0, 1)")
    parts = dataset.train_test_split(test_size=eval_size, seed=seed, shuffle=True, keep_in_memory=True)
    return parts["train"], parts["test"]
