"""Keep the prompts up to a length quantile and derive the generation lengths, as tutorial 2 does.

TRL 1.14 has no ``max_prompt_length``: this filter is what bounds prompt length in training.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import datasets
import numpy as np

REPORTED_QUANTILES = (0.5, 0.9, 0.95, 0.99)


@dataclass
class PromptLengthStats:
    """Prompt lengths in tokens (chat template with generation prompt) and the lengths derived from them.

    ``max_prompt_length`` is ``quantile_length + 1`` (the tutorial's margin); ``max_completion_length``
    is ``max_seq_length - max_prompt_length`` when ``max_seq_length`` was given, else None.
    """

    rows_read: int
    rows_kept: int
    quantile: float
    quantile_length: int
    max_prompt_length: int
    max_completion_length: int | None
    max_seq_length: int | None
    min_length: int
    max_length: int
    mean_length: float
    length_quantiles: dict[str, float] = field(default_factory=dict)

    @property
    def rows_dropped(self) -> int:
        """Rows longer than ``quantile_length``."""
        return self.rows_read - self.rows_kept

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict, with ``rows_dropped`` included."""
        return {**asdict(self), "rows_dropped": self.rows_dropped}


def completion_budget(max_seq_length: int, max_prompt_length: int) -> int:
    """The completion token budget a sequence budget leaves after the prompt budget (the one place this
    default is computed; < 1 means no room, which each caller reports in its own terms).

    Example:
        >>> completion_budget(512, 100)
        412
    """
    return max_seq_length - max_prompt_length


def prompt_token_lengths(dataset: datasets.Dataset, tokenizer: Any, *, batch_size: int = 1000) -> list[int]:
    """Token count of each row's ``prompt`` rendered by the tokenizer's chat template (with generation prompt).

    Example:
        >>> lengths = prompt_token_lengths(dataset, tokenizer)  # doctest: +SKIP
    """
    if "prompt" not in dataset.column_names:
        raise ValueError(f"dataset has no 'prompt' column (it has {dataset.column_names}); load it with load_gsm8k/load_dapo")

    def measure(batch: dict[str, list]) -> dict[str, list[int]]:
        tokens = tokenizer.apply_chat_template(batch["prompt"], add_generation_prompt=True, tokenize=True)
        if isinstance(tokens, Mapping):  # transformers 5 may return a BatchEncoding
            tokens = tokens["input_ids"]
        return {"prompt_length": [len(ids) for ids in tokens]}

    measured = dataset.select_columns(["prompt"]).map(
        measure,
        batched=True,
        batch_size=batch_size,
        remove_columns=["prompt"],
        keep_in_memory=True,
        new_fingerprint=uuid.uuid4().hex,  # a tokenizer does not hash stably; nothing is cached
        desc="Measuring prompt lengths",
    )
    return measured["prompt_length"]


def filter_by_prompt_length(
    dataset: datasets.Dataset,
    tokenizer: Any,
    quantile: float = 0.9,
    max_seq_length: int | None = None,
    *,
    batch_size: int = 1000,
) -> tuple[datasets.Dataset, PromptLengthStats]:
    """Keep the rows whose prompt is no longer than the ``quantile`` of prompt lengths.

    Args:
        dataset: rows with a ``prompt`` column of chat messages (from ``load_gsm8k`` / ``load_dapo``).
        tokenizer: any Hugging Face tokenizer with a chat template.
        quantile: fraction of prompt lengths to keep, in (0, 1]; 0.9 as in tutorial 2.
        max_seq_length: the model's sequence budget; when given, ``max_completion_length`` is derived.
        batch_size: rows per ``apply_chat_template`` call.

    Returns:
        (kept rows, stats). Use ``stats.max_prompt_length`` and ``stats.max_completion_length`` in
        the GRPO configuration.

    Raises:
        ValueError: empty dataset, no ``prompt`` column, quantile out of range, or ``max_seq_length``
            leaving no room for a completion.

    Example:
        >>> kept, stats = filter_by_prompt_length(rows, tokenizer, 0.9, max_seq_length=512)  # doctest: +SKIP
        >>> stats.max_prompt_length == stats.quantile_length + 1  # doctest: +SKIP
        True
    """
    if not 0.0 < quantile <= 1.0:
        raise ValueError(f"quantile must be in (0, 1], got {quantile}")
    if dataset.num_rows == 0:
        raise ValueError("dataset is empty: there are no prompts to measure")
    lengths = np.asarray(prompt_token_lengths(dataset, tokenizer, batch_size=batch_size))
    quantile_length = int(np.quantile(lengths, quantile))
    max_prompt_length = quantile_length + 1
    max_completion_length = None
    if max_seq_length is not None:
        max_completion_length = completion_budget(max_seq_length, max_prompt_length)
        if max_completion_length <= 0:
            raise ValueError(
                f"max_seq_length={max_seq_length} leaves no room for completions: the kept prompts need "
                f"max_prompt_length={max_prompt_length} tokens (the {quantile:.0%} quantile + 1). "
                "Raise max_seq_length or lower the quantile."
            )
    kept_indices = np.flatnonzero(lengths <= quantile_length)
    kept = dataset if len(kept_indices) == len(lengths) else dataset.select(kept_indices)
    stats = PromptLengthStats(
        rows_read=len(lengths),
        rows_kept=len(kept_indices),
        quantile=quantile,
        quantile_length=quantile_length,
        max_prompt_length=max_prompt_length,
        max_completion_length=max_completion_length,
        max_seq_length=max_seq_length,
        min_length=int(lengths.min()),
        max_length=int(lengths.max()),
        mean_length=round(float(lengths.mean()), 2),
        length_quantiles={f"p{round(q * 100)}": float(np.quantile(lengths, q)) for q in REPORTED_QUANTILES},
    )
    return kept, stats
