"""Deterministic train / held-out split for evaluation, disjoint by question."""

from __future__ import annotations

import logging

import datasets

from grpo_data.rows import MAX_LOGGED_DUPLICATES, normalized_question

logger = logging.getLogger(__name__)


def first_of_each_question(dataset: datasets.Dataset, question_column: str = "question") -> datasets.Dataset:
    """`dataset` with only the first row of each question (`normalized_question`); the others are logged with
    their row numbers (from 1). The loaders already do this; a data set built another way may not have.

    Example:
        >>> rows = datasets.Dataset.from_dict({"question": ["a?", "b?", "A? "]})
        >>> list(first_of_each_question(rows)["question"])
        ['a?', 'b?']
    """
    first_row: dict[str, int] = {}
    keep, repeats = [], []
    for index, question in enumerate(dataset[:][question_column]):
        key = normalized_question(question)
        if key in first_row:
            repeats.append(f"row {index + 1} (= row {first_row[key]})")
        else:
            first_row[key] = index + 1
            keep.append(index)
    if not repeats:
        return dataset
    shown = ", ".join(repeats[:MAX_LOGGED_DUPLICATES]) + (", ..." if len(repeats) > MAX_LOGGED_DUPLICATES else "")
    logger.warning("split_train_eval: %d of %d rows repeat an earlier row's %s and were dropped, so that no held-out "
                   "question is also trained on: %s", len(repeats), dataset.num_rows, question_column, shown)
    return dataset.select(keep)


def split_train_eval(
    dataset: datasets.Dataset, eval_size: int | float, seed: int = 0, question_column: str = "question"
) -> tuple[datasets.Dataset, datasets.Dataset]:
    """Split rows into (train, eval) sets that share no question; the same seed gives the same split.

    A question that appears more than once (compared case- and whitespace-blind) is kept once, before the split,
    so it cannot land on both sides (see `first_of_each_question`).

    Args:
        dataset: rows to split.
        eval_size: number of eval rows (int >= 1) or their fraction (float in (0, 1)).
        seed: shuffling seed.
        question_column: the column compared for repeated questions (when the data set has it).

    Returns:
        (train, eval).

    Example:
        >>> rows = datasets.Dataset.from_dict({"x": list(range(10))})
        >>> train, held_out = split_train_eval(rows, 2, seed=0)
        >>> (train.num_rows, held_out.num_rows)
        (8, 2)
    """
    if question_column in dataset.column_names:
        dataset = first_of_each_question(dataset, question_column)
    rows = dataset.num_rows
    if isinstance(eval_size, bool) or not isinstance(eval_size, (int, float)):
        raise TypeError(f"eval_size must be an int (rows) or a float (fraction), not {type(eval_size).__name__}")
    if isinstance(eval_size, int) and not 1 <= eval_size < rows:
        raise ValueError(f"eval_size={eval_size} rows must be between 1 and {rows - 1} (the dataset has {rows} rows)")
    if isinstance(eval_size, float) and not 0.0 < eval_size < 1.0:
        raise ValueError(f"eval_size={eval_size} as a fraction must be in (0, 1)")
    parts = dataset.train_test_split(test_size=eval_size, seed=seed, shuffle=True, keep_in_memory=True)
    return parts["train"], parts["test"]
