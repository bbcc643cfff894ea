"""Longest first: the first generation batch holds the longest training prompts, and their completions run to the
full completion budget, so a run that cannot hold its longest sequences fails at step 1, not when the longest
prompt and the longest completion finally come together, minutes or hours in.

TRL's GRPOTrainer draws prompts through `RepeatSampler` (shuffled with `args.seed`, each prompt repeated
`num_generations` times, each generation batch repeated for `steps_per_generation` x `num_iterations`).
`LongestFirstSampler` draws the same shuffled order, then swaps the longest prompts into the first generation
batch (each prompt still comes once per epoch); later epochs are TRL's order. `FullLengthFirstGeneration` holds
the end-of-sequence token back until `max_completion_length` tokens (transformers' `min_new_tokens`, vLLM's
`min_tokens`) for the first generation of a fresh run only. `put_longest_first` installs both on a trainer;
`run.longest_first: false` leaves TRL's order and lengths.

Example:
    >>> longest_first([3, 0, 2, 1, 4], lengths=[5, 50, 7, 40, 6], batch=2)
    [1, 3, 2, 0, 4]
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from transformers import TrainerCallback
from trl.trainer.utils import RepeatSampler

logger = logging.getLogger("grpo_training.run")


def longest_first(order: Sequence[int], lengths: Sequence[int], batch: int) -> list[int]:
    """`order` with the `batch` longest prompts (by `lengths`) swapped into its first `batch` places."""
    order = list(order)
    longest = sorted(range(len(lengths)), key=lambda index: -lengths[index])[:batch]
    position = {index: place for place, index in enumerate(order)}
    for slot, index in enumerate(longest):
        place = position[index]
        displaced = order[slot]
        order[slot], order[place] = index, displaced
        position[index], position[displaced] = slot, place
    return order


class LongestFirstSampler(RepeatSampler):
    """TRL's `RepeatSampler` whose first epoch starts with the longest prompts."""

    def __init__(self, inner: RepeatSampler, lengths: Sequence[int]) -> None:
        super().__init__(inner.data_source, mini_repeat_count=inner.mini_repeat_count, batch_size=inner.batch_size,
                         repeat_count=inner.repeat_count, shuffle=inner.shuffle, seed=inner.seed)
        self.lengths = list(lengths)
        self.epochs_started = 0

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            order = torch.randperm(self.num_samples, generator=self.generator).tolist()
        else:
            order = list(range(self.num_samples))
        if self.epochs_started == 0:
            order = longest_first(order, self.lengths, self.batch_size)
        self.epochs_started += 1
        chunks = [order[start:start + self.batch_size] for start in range(0, len(order), self.batch_size)]
        for chunk in (chunk for chunk in chunks if len(chunk) == self.batch_size):
            for _ in range(self.repeat_count):
                for index in chunk:
                    for _ in range(self.mini_repeat_count):
                        yield index


class FullLengthFirstGeneration(TrainerCallback):
    """The first generation of a fresh run is held to the full completion budget (no end-of-sequence token before
    it), through whichever generator the trainer has: transformers' generate or vLLM (TRL's or Unsloth's)."""

    def __init__(self, trainer: Any) -> None:
        self.trainer = trainer
        self.forced: list[tuple[Any, str, Any]] = []  # (settings, key, the value it had) to put back after step 1

    def _settings(self) -> list[tuple[Any, str]]:
        trainer = self.trainer
        found = []
        vllm = getattr(trainer, "vllm_generation", None)
        if vllm is not None and isinstance(getattr(vllm, "generation_kwargs", None), dict):
            found.append((vllm.generation_kwargs, "min_tokens"))
        if isinstance(getattr(trainer, "generation_kwargs", None), dict):
            found.append((trainer.generation_kwargs, "min_new_tokens"))
        if getattr(trainer, "generation_config", None) is not None:
            found.append((trainer.generation_config, "min_new_tokens"))
        return found

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step > 0:  # resumed: its first steps already ran
            return
        for settings, key in self._settings():
            self.forced.append((settings, key, _read(settings, key)))
            _write(settings, key, self.trainer.max_completion_length)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        for settings, key, value in self.forced:
            _write(settings, key, value)
        self.forced = []


def _read(settings: Any, key: str) -> Any:
    """A generation setting of a kwargs dict or a `GenerationConfig` (None: not set)."""
    return settings.get(key) if isinstance(settings, dict) else getattr(settings, key, None)


def _write(settings: Any, key: str, value: Any) -> None:
    """Set a generation setting; None takes a dict's key away (as it was before)."""
    if not isinstance(settings, dict):
        setattr(settings, key, value)
    elif value is None:
        settings.pop(key, None)
    else:
        settings[key] = value


def put_longest_first(trainer: Any, tokenizer: Any) -> None:
    """Make `trainer` draw its first generation batch from the longest training prompts (their token lengths
    under `tokenizer`, the trainer's prefill tokenizer) and generate their completions to the full budget."""
    import grpo_data

    lengths = grpo_data.prompt_token_lengths(trainer.train_dataset, tokenizer)
    original = trainer._get_train_sampler

    def sampler(dataset: Any = None) -> RepeatSampler:
        inner = original(dataset)
        if dataset is not None and dataset is not trainer.train_dataset:
            return inner
        return LongestFirstSampler(inner, lengths)

    trainer._get_train_sampler = sampler
    trainer.add_callback(FullLengthFirstGeneration(trainer))
    logger.info("Longest first: step 1 generates for the longest prompts (%d tokens and down) to the full completion "
                "budget (%d tokens), so a run that cannot hold them fails at its first step",
                max(lengths) if lengths else 0, trainer.max_completion_length)
