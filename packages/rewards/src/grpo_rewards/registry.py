"""Name -> reward factory registry, so recipes can name rewards as strings (open-r1's ``get_reward_funcs``)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from .base import Reward
from .language_reward import Language
from .length_rewards import CosineScaled, Repetition, SoftOverlong
from .math_reward import MathAccuracy
from .tutorial_rewards import TUTORIAL_REWARDS
from .think_answer_rewards import ThinkAnswerFormat, ThinkAnswerTagCount
from .think_rewards import AnswerCheck, NumberCheck, ThinkFormatApprox, ThinkFormatExact
from .xml_rewards import Correctness, Integer, SoftFormat, StrictFormat, XmlCount

__all__ = ["REWARDS", "TUTORIAL_REWARDS", "get_reward_funcs", "reward_params"]

REWARDS: dict[str, Callable[..., Reward]] = {
    factory.__dict__["__name__"]: factory
    for factory in (
        XmlCount, SoftFormat, StrictFormat, Integer, Correctness,
        ThinkFormatExact, ThinkFormatApprox, AnswerCheck, NumberCheck,
        Language, MathAccuracy,
        SoftOverlong, Repetition, CosineScaled, ThinkAnswerFormat, ThinkAnswerTagCount,
    )
}


def reward_params(name: str) -> list[str]:
    """Names of the parameters the reward ``name`` accepts.

    >>> reward_params("soft_format")
    ['prefix', 'log_every']
    """
    return list(inspect.signature(_factory(name)).parameters)


def _factory(name: str, compat: str | None = None) -> Callable[..., Any]:
    if compat == "tutorial":
        if name in TUTORIAL_REWARDS:
            return TUTORIAL_REWARDS[name]
        if isinstance(name, str) and name in REWARDS:
            raise ValueError(f"reward {name!r} has no tutorial version; compat='tutorial' covers: {', '.join(TUTORIAL_REWARDS)}")
    try:
        return REWARDS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown reward {name!r}; valid names: {', '.join(REWARDS)}") from None


def get_reward_funcs(
    names: Sequence[str | Mapping[str, Mapping[str, Any]]],
    compat: Literal["tutorial"] | None = None,
    **params: Any,
) -> list[Any]:
    """Build the reward callables for ``GRPOTrainer(reward_funcs=...)`` from their registry names.

    Args:
        names: registry names, or one-key mappings ``{name: {param: value}}`` for per-reward
            parameters (they win over shared ones).
        compat: ``None`` for the fixed rewards; ``"tutorial"`` for the tutorials' own functions,
            bugs included (same names and scores as the notebooks, so a run's curves can be laid
            beside the tutorials' logs). They take only ``reasoning_start``/``reasoning_end``;
            ``prefix`` and ``log_every`` are skipped, as the notebooks had neither.
        **params: shared parameters (``prefix``, ``reasoning_start``, ``reasoning_end``,
            ``log_every``, ...), given to every reward that accepts them and skipped for the others.

    Returns:
        one picklable reward per name, in order; each has ``__name__`` equal to its name.

    Raises:
        ValueError: an unknown name (the message lists the valid ones), an unknown ``compat``, or
            with ``compat="tutorial"`` a reward the tutorials did not have.
        TypeError: a per-reward parameter the reward does not take, or a malformed entry.

    >>> funcs = get_reward_funcs(["think_format_approx", {"language": {"target": "id"}}], prefix="<think>")
    >>> [f.__name__ for f in funcs], funcs[0].prefix
    (['think_format_approx', 'language'], '<think>')
    >>> tutorial, = get_reward_funcs(["correctness"], compat="tutorial")
    >>> tutorial(completions=[[{"role": "assistant", "content": "<answer>72.0</answer>"}]], answer=["72"])  # its string equality
    [0.0]
    """
    if compat not in (None, "tutorial"):
        raise ValueError(f"compat must be None or 'tutorial', got {compat!r}")
    if isinstance(names, (str, Mapping)):
        names = [names]
    funcs = []
    for entry in names:
        if isinstance(entry, str):
            name, own = entry, {}
        elif isinstance(entry, Mapping) and len(entry) == 1:
            name, own = next(iter(entry.items()))
            own = dict(own or {})
        else:
            raise TypeError(f"reward entry {entry!r} must be a name or a one-key mapping {{name: {{param: value}}}}")
        factory = _factory(name, compat)
        accepted = inspect.signature(factory).parameters
        for param in own:
            if param not in accepted:
                raise TypeError(f"reward {name!r} does not take parameter {param!r}; it takes: {', '.join(accepted)}")
        kwargs = {key: value for key, value in params.items() if key in accepted}
        kwargs.update(own)
        funcs.append(factory(**kwargs))
    return funcs
