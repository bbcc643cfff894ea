"""The learning-signal pre-flight: can the recipe's rewards tell the loaded model's completions apart?

GRPO learns only from differences between the completions of one prompt: a prompt group whose completions all
get the same reward has advantage 0 and teaches nothing. Before the first step, `check_learning_signal` samples
`grpo.num_generations` completions for each of a few training prompts (`run.signal_check_prompts`), with the
training's own sampling (temperature, top_p, top_k, min_p, max_completion_length) and prompt (prefill included),
through the model's vLLM engine when it has one, else transformers' generate; it scores them with the recipe's
reward functions, as the trainer calls them (the data set's columns, such as `answer`, as keyword arguments).
(The "before" evaluation samples one completion per prompt at the evaluation's settings, so it cannot show a
group's spread: the check samples its own.)

For each reward: mean, std and the share of prompt groups whose rewards are all equal. If every group is flat for
every reward, the run stops with one `error:` line naming the rewards and what to check, unless
`run.allow_flat_rewards` is true; a partly flat result is a warning with the figures.

Example:
    >>> signal = score_groups(["r"], [[1.0, 1.0, 0.0, 1.0]], [1.0], generations=2)
    >>> signal.rewards[0].flat_share, signal.total_flat_share
    (0.5, 0.5)
"""

from __future__ import annotations

import logging
import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from grpo_training.recipe import RecipeError

if TYPE_CHECKING:
    from grpo_training.prepare import PreparedData
    from grpo_training.recipe import Recipe
    from grpo_training.recipe.lengths import GRPOLengths

logger = logging.getLogger("grpo_training.run")  # the run's logger: the check belongs to the run's log


class FlatRewardsError(RecipeError):
    """Every reward gave every completion of each sampled prompt the same value: training would learn nothing."""


@dataclass(frozen=True)
class RewardSpread:
    """One reward over the sampled completions."""

    name: str
    mean: float
    std: float
    flat_share: float  # prompt groups whose completions all got the same value
    values: tuple[float, ...] = ()  # the distinct values it gave (at most a few, for the message)


@dataclass
class LearningSignal:
    """What the recipe's rewards said about the sampled completions."""

    prompts: int
    generations: int
    rewards: list[RewardSpread]
    total_flat_share: float  # groups whose weighted total reward is flat: their advantages are all 0
    samples: list[str] = field(default_factory=list)

    @property
    def all_flat(self) -> bool:
        """Every group flat for every reward: no advantage can be non-zero."""
        return all(spread.flat_share == 1.0 for spread in self.rewards)

    @property
    def never_vary(self) -> list[RewardSpread]:
        return [spread for spread in self.rewards if spread.flat_share == 1.0]

    def table(self) -> str:
        width = max(len(spread.name) for spread in self.rewards)
        lines = [f"Learning signal: {self.prompts} prompts x {self.generations} completions, scored by the recipe's "
                 "rewards (flat = a prompt's completions all got the same reward: no advantage)"]
        lines += [f"  {s.name:<{width}}  mean {s.mean:8.3f}  std {s.std:7.3f}  flat groups {s.flat_share:6.1%}"
                  for s in self.rewards]
        lines.append(f"  {'total':<{width}}  flat groups {self.total_flat_share:6.1%} (weighted sum)")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"prompts": self.prompts, "generations": self.generations,
                "rewards": [asdict(spread) for spread in self.rewards], "total_flat_share": self.total_flat_share,
                "all_flat": self.all_flat, "samples": self.samples}


def score_groups(names: Sequence[str], per_reward: Sequence[Sequence[float | None]], weights: Sequence[float],
                 generations: int, samples: Sequence[str] = ()) -> LearningSignal:
    """`LearningSignal` from each reward's values over completions grouped `generations` at a time (prompt by
    prompt, as GRPO groups them). A None value (a reward that does not apply) counts as NaN, as TRL counts it."""
    count = len(per_reward[0]) if per_reward else 0
    groups = range(0, count, generations)
    as_float = [[math.nan if value is None else float(value) for value in values] for values in per_reward]
    spreads = []
    for name, values in zip(names, as_float):
        known = [value for value in values if not math.isnan(value)]
        flat = sum(_flat(values[start:start + generations]) for start in groups)
        distinct = tuple(sorted(set(round(value, 4) for value in known)))[:4]
        spreads.append(RewardSpread(name, statistics.fmean(known) if known else math.nan,
                                    statistics.pstdev(known) if len(known) > 1 else 0.0, flat / len(groups), distinct))
    totals = [sum(weight * value for weight, value in zip(weights, column) if not math.isnan(value))
              for column in zip(*as_float)]
    total_flat = sum(_flat(totals[start:start + generations]) for start in groups) / len(groups)
    return LearningSignal(prompts=len(groups), generations=generations, rewards=spreads, total_flat_share=total_flat,
                          samples=list(samples))


def _flat(group: Sequence[float]) -> bool:
    known = [value for value in group if not math.isnan(value)]
    return len(set(known)) <= 1


def sample_completions(recipe: Recipe, model: Any, tokenizer: Any, rows: list[dict[str, Any]],
                       lengths: GRPOLengths) -> list[str]:
    """`num_generations` completions per row with the training's sampling, grouped prompt by prompt (the text
    after the prefill, as the rewards get it in training). `tokenizer`: the prefill tokenizer the trainer uses;
    `lengths`: the run's token budgets (`PreparedData.lengths`)."""
    from grpo_training.evaluation import SamplingSettings
    from grpo_training.evaluation.engines import choose_engine, vllm_engine_of

    grpo = recipe.grpo
    generations = int(grpo.get("num_generations") or 8)
    completion = lengths.max_completion_length
    prompts = [tokenizer(tokenizer.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True),
                         add_special_tokens=False)["input_ids"] for row in rows]

    def sampling(seed: int) -> SamplingSettings:
        return SamplingSettings(temperature=float(grpo.get("temperature", 1.0)), top_p=grpo.get("top_p") or None,
                                top_k=grpo.get("top_k") or None, min_p=grpo.get("min_p") or None,
                                max_new_tokens=int(completion), seed=seed)

    if vllm_engine_of(model) is None:
        # transformers samples every row of a batch on its own: each prompt repeated, in the trainer's generation
        # batches on a GPU (what the memory plan sized), in one batch on a CPU (its cost is reading the weights)
        repeated = [ids for ids in prompts for _ in range(generations)]
        on_cpu = getattr(model, "device", None) is None or model.device.type == "cpu"
        batch = len(repeated) if on_cpu else int(grpo.get("per_device_train_batch_size") or generations)
        engine = choose_engine("hf", model, tokenizer, max(min(batch, len(repeated)), 1), None)
        return [generated.text for generated in engine.generate(repeated, sampling(recipe.run.seed), "learning signal")]
    engine = choose_engine("vllm", model, tokenizer, max(len(prompts), 1), None)
    by_seed = []
    for index in range(generations):  # one seed per completion: vLLM would repeat a seeded request's sample
        by_seed.append([generated.text for generated in engine.generate(prompts, sampling(recipe.run.seed + index),
                                                                          "learning signal")])
    return [by_seed[g][p] for p in range(len(prompts)) for g in range(generations)]


def score_completions(recipe: Recipe, reward_funcs: list[Any], rows: list[dict[str, Any]],
                      completions: list[str]) -> LearningSignal:
    """Score grouped completions (`num_generations` per row, row by row) with the reward functions, called as
    TRL's GRPOTrainer calls them: prompts, conversational completions and every other column of the rows."""
    from grpo_training.recipe.grpo_args import reward_weights

    generations = len(completions) // len(rows)
    repeated = [row for row in rows for _ in range(generations)]
    columns = {key: [row[key] for row in repeated] for key in rows[0] if key not in ("prompt", "completion")}
    prompts = [row["prompt"] for row in repeated]
    conversational = [[{"role": "assistant", "content": text}] for text in completions]
    names = [getattr(func, "__name__", str(func)) for func in reward_funcs]
    values = [list(func(prompts=prompts, completions=conversational, **columns)) for func in reward_funcs]
    weights = reward_weights(recipe, names)
    prefill = recipe.data.prefill
    return score_groups(names, values, weights, generations, samples=[prefill + text for text in completions[:2]])


def check_learning_signal(recipe: Recipe, model: Any, tokenizer: Any, prepared: PreparedData,
                          reward_funcs: list[Any]) -> LearningSignal | None:
    """Sample, score, log the table; raise `FlatRewardsError` when every group is flat for every reward (unless
    `run.allow_flat_rewards`). None when `run.signal_check_prompts` is 0."""
    count = min(recipe.run.signal_check_prompts, prepared.train.num_rows)
    if count == 0:
        return None
    rows = [dict(prepared.train[index]) for index in range(count)]
    logger.info("Stage: learning-signal pre-flight (%d prompts x %s completions)", count,
                recipe.grpo.get("num_generations") or 8)
    completions = sample_completions(recipe, model, tokenizer, rows, prepared.lengths)
    signal = score_completions(recipe, reward_funcs, rows, completions)
    logger.info("%s", signal.table())
    if signal.all_flat:
        message = flat_message(recipe, signal)
        if not recipe.run.allow_flat_rewards:
            raise FlatRewardsError(message)
        logger.warning("%s (run.allow_flat_rewards is true: training anyway)", message)
    elif signal.never_vary or signal.total_flat_share > 0:
        logger.warning("Learning signal: %s never vary within a prompt's completions; %.0f%% of the sampled prompt "
                       "groups have a flat total reward and teach nothing (figures above)",
                       ", ".join(s.name for s in signal.never_vary) or "all rewards vary, yet", 100 * signal.total_flat_share)
    return signal


def flat_message(recipe: Recipe, signal: LearningSignal) -> str:
    """One line: the rewards that never vary, their values, and what to check."""
    rewards = ", ".join(f"{s.name} always {_values(s.values)}" for s in signal.never_vary)
    gold = "the gold answer column (data.loader, data.source: does `answer` hold the final answer?)"
    return (f"rewards: the learning-signal pre-flight's {signal.prompts} prompts x {signal.generations} completions "
            f"got the same reward within every prompt from every reward ({rewards}), so every advantage is 0 and GRPO "
            f"would learn nothing. Check the format tags the rewards expect against the model's chat template and "
            f"data.prefill ({recipe.data.prefill!r}), {gold}, and the completion budget; or set "
            "run.allow_flat_rewards=true to train anyway")


def _values(values: Sequence[float]) -> str:
    return "/".join(f"{value:g}" for value in values) if values else "None"
