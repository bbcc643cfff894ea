"""The one error a bad recipe raises, kept apart so that trl-free modules can raise it.

Example:
    >>> str(RecipeError("grpo.max_steps: expected int, got str 'yes'"))
    "grpo.max_steps: expected int, got str 'yes'"
"""

from __future__ import annotations


class RecipeError(ValueError):
    """A recipe is invalid; the message names the field (`section.field`) and what is expected."""
