"""Map a recipe's `grpo` section onto the pinned TRL 1.14.2 / transformers 5 `GRPOConfig`.

The tutorials were written for older versions; their arguments are translated, not copied:
- `warmup_ratio` (gone in transformers 5) becomes a float `warmup_steps` < 1, which is a ratio there;
- `per_device_train_batch_size` not a multiple of `num_generations` is raised to one (as Unsloth does);
- 8-bit / paged optimizers need bitsandbytes on CUDA: elsewhere they become `adamw_torch`;
- `use_vllm` only when vllm can be imported;
- on a CPU, bf16 mixed precision is off unless the recipe asks for it (float32 is faster there);
- the token budgets are the run's `GRPOLengths` (`grpo_training.recipe.lengths`: the completion budget,
  when the recipe leaves it unset, is `model.max_seq_length - max_prompt_length`);
- `reward_weights` follow the reward functions by name (`rewards[].weight`; a function the recipe does not
  list, e.g. one an app adds, weighs 1.0);
- `mask_truncated_completions` and `epsilon_high`, when the recipe leaves them out, are passed as TRL's
  defaults (False; = `epsilon`): Unsloth reads them as unset and, with `loss_type: dapo`, switches to the
  DAPO paper's True / 0.28, so the same recipe would train differently on the two backends.
Every change is returned as a notice and logged in one line. The plan holds the complete config
arguments; the backends build their GRPOConfig from it (`GRPOArgsPlan.settings`, `GRPOArgsPlan.trl_kwargs`).

Example:
    >>> from grpo_training.recipe import Recipe
    >>> from grpo_training.recipe.lengths import GRPOLengths
    >>> recipe = Recipe(grpo={"num_generations": 4, "per_device_train_batch_size": 1})
    >>> plan = plan_grpo_args(recipe, output_dir="/tmp/x", lengths=GRPOLengths.from_recipe(recipe, 100), cuda=False)
    >>> plan.kwargs["per_device_train_batch_size"], plan.kwargs["max_completion_length"]
    (4, 412)
"""

from __future__ import annotations

import importlib.util
import logging
import math
from dataclasses import dataclass, field, fields
from typing import Any

from grpo_training.recipe.custom_rewards import reward_key
from grpo_training.recipe.grpo import GRPOSettings
from grpo_training.recipe.lengths import GRPOLengths
from grpo_training.recipe.ranges import check_ranges
from grpo_training.recipe.secrets import check_no_secrets
from grpo_training.recipe.sections import Recipe, RecipeError

logger = logging.getLogger(__name__)

TRL_DEFAULTS = {f.name: f.default for f in fields(GRPOSettings) if f.name in ("epsilon", "mask_truncated_completions")}

BITSANDBYTES_OPTIMIZERS = {
    "adamw_8bit", "adamw_bnb_8bit", "paged_adamw_8bit", "paged_adamw_32bit", "paged_adamw",
    "lion_8bit", "paged_lion_8bit", "paged_lion_32bit", "paged_lion", "adamw_apex_fused",
    "ademamix_8bit", "paged_ademamix_8bit", "paged_ademamix_32bit", "rmsprop_bnb_8bit",
}
OUR_FIELDS = ("max_prompt_length", "warmup_ratio", "vllm_sampling_kwargs")


@dataclass
class GRPOArgsPlan:
    """The GRPOConfig keyword arguments a run will use, and why they differ from the recipe."""

    kwargs: dict[str, Any]
    notices: list[str] = field(default_factory=list)

    @property
    def trl_kwargs(self) -> dict[str, Any]:
        """Only TRL's own GRPOConfig fields (for Unsloth's patched config)."""
        return {key: value for key, value in self.kwargs.items() if key not in OUR_FIELDS}

    def settings(self) -> GRPOSettings:
        """Our `GRPOSettings` (TRL's GRPOConfig + our fields) from the plan, TRL's errors turned into RecipeErrors."""
        try:
            return GRPOSettings(**self.kwargs)
        except (ValueError, TypeError) as error:
            raise RecipeError(f"grpo: TRL's GRPOConfig refused the settings: {error}") from error


def module_available(name: str) -> bool:
    """True when `name` can be imported (without importing it)."""
    return importlib.util.find_spec(name) is not None


def plan_grpo_args(
    recipe: Recipe,
    *,
    output_dir: str,
    lengths: GRPOLengths,
    cuda: bool,
    backend: str = "trl",
    reward_names: list[str] | None = None,
) -> GRPOArgsPlan:
    """Translate `recipe.grpo` (+ run/lora/rewards values) into GRPOConfig keyword arguments.

    Args:
        recipe: a validated recipe.
        output_dir: the run folder (checkpoints land in it).
        lengths: the token budgets, with the prompt budget the data preparation settled on
            (`PreparedData.lengths`).
        cuda: whether training runs on a CUDA device.
        backend: "trl" or "unsloth" (Unsloth handles gradient checkpointing itself).
        reward_names: the `__name__` of each reward function the trainer gets, in order; None = the recipe's.

    Raises:
        RecipeError: a value out of range or fields in conflict (`grpo_training.recipe.ranges`), a secret.
    """
    check_no_secrets(recipe.grpo, "grpo")  # never in training_args.bin, even for a recipe built without the checks
    check_ranges(recipe)  # e.g. warmup_ratio beside warmup_steps, in a recipe changed after the checks
    kwargs = dict(recipe.grpo)
    notices: list[str] = []
    _map_warmup_ratio(kwargs, notices)
    _fit_batch_to_generations(kwargs, notices)
    _fit_hardware(kwargs, notices, cuda)
    _set_lengths(kwargs, notices, lengths)
    if backend == "trl":
        kwargs["gradient_checkpointing"] = bool(recipe.lora.gradient_checkpointing)
        if recipe.lora.gradient_checkpointing:
            kwargs.setdefault("gradient_checkpointing_kwargs", {"use_reentrant": False})
    kwargs["reward_weights"] = reward_weights(recipe, reward_names)
    kwargs["output_dir"] = output_dir
    kwargs["run_name"] = recipe.run.name
    kwargs["seed"] = recipe.run.seed
    kwargs["report_to"] = resolve_report_to(recipe)
    kwargs.setdefault("logging_steps", 1)
    kwargs.setdefault("beta", 0.0)
    kwargs.setdefault("loss_type", "dapo")
    kwargs.setdefault("mask_truncated_completions", TRL_DEFAULTS["mask_truncated_completions"])
    kwargs.setdefault("epsilon_high", kwargs.get("epsilon", TRL_DEFAULTS["epsilon"]))
    kwargs.setdefault("save_strategy", "steps" if kwargs.get("save_steps") else "no")
    kwargs.setdefault("disable_tqdm", True)  # our progress bar (with the reward) replaces the Trainer's
    return GRPOArgsPlan(kwargs=kwargs, notices=notices)


def _map_warmup_ratio(kwargs: dict[str, Any], notices: list[str]) -> None:
    ratio = kwargs.pop("warmup_ratio", None)  # in range, and not beside warmup_steps: check_ranges
    if ratio is not None:
        kwargs["warmup_steps"] = float(ratio)
        notices.append(f"warmup_ratio={ratio} -> warmup_steps={ratio} (transformers 5: a float < 1 is a ratio)")


def _fit_batch_to_generations(kwargs: dict[str, Any], notices: list[str]) -> None:
    num_generations = kwargs.get("num_generations", GRPOSettings.num_generations)
    batch = kwargs.get("per_device_train_batch_size", 8)
    accumulation = kwargs.get("gradient_accumulation_steps", 1)
    explicit_generation_batch = kwargs.get("generation_batch_size") or kwargs.get("steps_per_generation")
    # TRL needs the global generation batch (per device x accumulation x processes) to be whole prompt groups.
    from grpo_training.distributed import world_size

    if not explicit_generation_batch and (batch * accumulation * world_size()) % num_generations != 0:
        raised = math.ceil(batch / num_generations) * num_generations
        kwargs["per_device_train_batch_size"] = raised
        notices.append(f"per_device_train_batch_size {batch} is not a multiple of num_generations {num_generations}: "
                       f"raised to {raised} (as Unsloth does)")


def _fit_hardware(kwargs: dict[str, Any], notices: list[str], cuda: bool) -> None:
    optim = str(kwargs.get("optim", "adamw_torch"))
    if optim in BITSANDBYTES_OPTIMIZERS and not (cuda and module_available("bitsandbytes")):
        kwargs["optim"] = "adamw_torch"
        why = "no CUDA device" if not cuda else "bitsandbytes is not installed"
        notices.append(f"optim {optim} needs bitsandbytes on a GPU ({why}): using adamw_torch")

    if kwargs.get("use_vllm") and not module_available("vllm"):
        kwargs["use_vllm"] = False
        notices.append("use_vllm requested but vllm is not importable: generating with transformers")

    if not cuda and kwargs.get("bf16") is None and not kwargs.get("fp16"):
        kwargs["bf16"] = False
        notices.append("CPU: float32 training (bf16 off; set grpo.bf16=true to force it)")
    if not cuda and kwargs.get("fp16"):
        kwargs["fp16"] = False
        notices.append("CPU: fp16 mixed precision is not supported: float32 training")


def _set_lengths(kwargs: dict[str, Any], notices: list[str], lengths: GRPOLengths) -> None:
    kwargs["max_prompt_length"] = lengths.max_prompt_length
    kwargs["max_completion_length"] = lengths.max_completion_length
    if lengths.completion_is_derived:
        notices.append(f"max_completion_length = max_seq_length {lengths.max_seq_length} - max_prompt_length "
                       f"{lengths.max_prompt_length} = {lengths.max_completion_length}")


def resolve_report_to(recipe: Recipe) -> list[str]:
    """`run.report_to` as a list, without swanlab when its mode is 'disabled'."""
    report_to = recipe.run.report_to
    targets = [report_to] if isinstance(report_to, str) else list(report_to)
    targets = [target for target in targets if target not in ("none", "")]
    if recipe.run.swanlab_mode == "disabled":
        targets = [target for target in targets if target != "swanlab"]
    return targets or ["none"]


def reward_weights(recipe: Recipe, reward_names: list[str] | None = None) -> list[float]:
    """One weight per reward function, by name: the recipe's `rewards[].weight`, 1.0 for a function it does
    not list. `reward_names` None: the recipe's own functions, in order.

    Example:
        >>> from grpo_training.recipe.sections import RewardsConfig, RewardSpec
        >>> recipe = Recipe(rewards=RewardsConfig([RewardSpec("xmlcount", 0.5), RewardSpec("pkg.mod:brevity", 2.0)]))
        >>> reward_weights(recipe), reward_weights(recipe, ["brevity", "added_by_app", "xmlcount"])
        ([0.5, 2.0], [2.0, 1.0, 0.5])
    """
    weights = {reward_key(spec.name): spec.weight for spec in recipe.rewards.funcs}
    names = [reward_key(spec.name) for spec in recipe.rewards.funcs] if reward_names is None else reward_names
    return [weights.get(name, 1.0) for name in names]


def build_grpo_settings(plan: GRPOArgsPlan) -> GRPOSettings:
    """`plan.settings()`: our `GRPOSettings` (TRL's GRPOConfig + our fields), TRL's errors turned into RecipeErrors."""
    return plan.settings()
