"""The token budgets of a GRPO step and their rules, in one place: `model.max_seq_length` shared by the
prompt (`grpo.max_prompt_length`) and the completion (`grpo.max_completion_length`).

`GRPOLengths.__post_init__` (as TRL's `GRPOConfig.__post_init__` does for its fields) checks the ranges and
the conflicts and derives what the recipe leaves unset: the completion budget is `max_seq_length -
max_prompt_length` once the prompt budget is known. The prompt budget is the recipe's, or settled by the data
(`grpo_training.prepare.prepare_data`, then `with_prompt_budget`). Every other module reads these fields.
Nothing here imports trl.

Example:
    >>> lengths = GRPOLengths(max_seq_length=512)
    >>> lengths.max_completion_length is None, lengths.prompt_cap  # before the data: half the context for a prompt
    (True, 256)
    >>> settled = lengths.with_prompt_budget(100)
    >>> settled.max_prompt_length, settled.max_completion_length, settled.completion_is_derived
    (100, 412, True)
    >>> GRPOLengths(max_seq_length=512, max_completion_length=512)
    Traceback (most recent call last):
    ...
    grpo_training.recipe.sections.RecipeError: grpo.max_completion_length: 512 tokens fill model.max_seq_length=512, leaving no room for the prompt; lower it or raise model.max_seq_length
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from grpo_training.recipe.ranges import AT_LEAST_ONE
from grpo_training.recipe.sections import Recipe, RecipeError

logger = logging.getLogger("grpo_training.recipe")


@dataclass(frozen=True)
class GRPOLengths:
    """Prompt and completion token budgets within `max_seq_length`; None = not known yet.

    `max_completion_length` is the recipe's, or derived as `max_seq_length - max_prompt_length` when the
    recipe leaves it unset and the prompt budget is known (`completion_is_derived`).
    """

    max_seq_length: int
    max_prompt_length: int | None = None
    max_completion_length: int | None = None
    completion_is_derived: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        for name, other in (("max_prompt_length", "the completion"), ("max_completion_length", "the prompt")):
            value = getattr(self, name)
            if value is None:
                continue
            problem = AT_LEAST_ONE.problem(value)
            if problem:
                raise RecipeError(f"grpo.{name}: {problem}")
            if value >= self.max_seq_length:
                raise RecipeError(f"grpo.{name}: {value} tokens fill model.max_seq_length={self.max_seq_length}, "
                                  f"leaving no room for {other}; lower it or raise model.max_seq_length")
        if self.max_completion_length is None and self.max_prompt_length is not None:
            object.__setattr__(self, "max_completion_length", self.max_seq_length - self.max_prompt_length)
            object.__setattr__(self, "completion_is_derived", True)

    @classmethod
    def from_recipe(cls, recipe: Recipe, prompt_budget: int | None = None) -> GRPOLengths:
        """The recipe's lengths; `prompt_budget`: the one the data settled on, when the recipe sets none.

        Example:
            >>> GRPOLengths.from_recipe(Recipe(grpo={"max_completion_length": 96})).prompt_cap
            416
        """
        lengths = cls(recipe.model.max_seq_length, recipe.grpo.get("max_prompt_length"),
                      recipe.grpo.get("max_completion_length"))
        return lengths if prompt_budget is None else lengths.with_prompt_budget(prompt_budget)

    def with_prompt_budget(self, prompt_budget: int) -> GRPOLengths:
        """The lengths once the data settled the prompt budget (a budget the recipe sets stands)."""
        if self.max_prompt_length is not None:
            return self
        return GRPOLengths(self.max_seq_length, prompt_budget, self.recipe_completion_length)

    @property
    def recipe_completion_length(self) -> int | None:
        """The completion budget the recipe sets (None when it is derived or unknown)."""
        return None if self.completion_is_derived else self.max_completion_length

    @property
    def prompt_cap(self) -> int:
        """The longest prompt the context takes with room left for a completion: `max_seq_length -
        max_completion_length`, or half the context while the completion budget is not known."""
        if self.max_completion_length is None:
            return max(1, self.max_seq_length // 2)
        return max(1, self.max_seq_length - self.max_completion_length)

    @property
    def overflow(self) -> int:
        """Tokens by which the recipe's prompt + completion budgets exceed `max_seq_length` (0 when they fit)."""
        if self.max_prompt_length is None or self.max_completion_length is None:
            return 0
        return max(0, self.max_prompt_length + self.max_completion_length - self.max_seq_length)

    def warn_if_over_context(self) -> None:
        """Log a warning when the recipe's prompt + completion budgets exceed `max_seq_length`."""
        if self.overflow:
            logger.warning("grpo.max_prompt_length + grpo.max_completion_length = %d exceeds model.max_seq_length = %d",
                           self.max_seq_length + self.overflow, self.max_seq_length)

    def longest_step(self) -> tuple[int, int]:
        """The longest (prompt, completion) a step may hold, before the data has settled the prompt budget:
        an unknown prompt budget leaves the whole context to the completion, an unknown completion budget the rest.

        Example:
            >>> GRPOLengths(512).longest_step(), GRPOLengths(512, max_completion_length=96).longest_step()
            ((0, 512), (416, 96))
        """
        completion = self.max_completion_length
        prompt = self.max_prompt_length
        if prompt is None:
            prompt = self.max_seq_length - completion if completion is not None else 0
        if completion is None:
            completion = self.max_seq_length - prompt
        if prompt + completion > self.max_seq_length:
            prompt = max(self.max_seq_length - completion, 0)
        return prompt, completion

    def completion_for_context(self, max_seq_length: int) -> int | None:
        """The completion budget to set when `model.max_seq_length` shrinks to `max_seq_length`; None when the
        recipe sets none or its own still leaves room for the prompt.

        Example:
            >>> GRPOLengths(1024, 256, 700).completion_for_context(768), GRPOLengths(1024, 256).completion_for_context(768)
            (512, None)
        """
        completion = self.recipe_completion_length
        prompt = self.max_prompt_length
        if completion is None or completion < max_seq_length - (prompt or 0):
            return None
        return max(max_seq_length - (prompt or max_seq_length // 2), 1)
