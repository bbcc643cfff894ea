"""Data and reward preparation for a run: prompts from grpo_data, the held-out split, the prompt
budget, the prefill, and the reward functions from grpo_rewards.

The prefill (e.g. `<reasoning>\\n`): TRL 1.14.2's GRPOTrainer renders conversational prompts with
`add_generation_prompt=True` and never with `continue_final_message`, so a prompt ending in an
assistant message would be closed and followed by a *new* assistant header (checked in
`trl/trainer/grpo_trainer.py`, `_tokenize_prompts`; transformers refuses both flags together). We
therefore keep prompts as system + user messages and give the trainer a copy of the tokenizer
whose chat template appends the prefill after the generation prompt. Generation continues the
prefill, the decoded completion is the text *after* it, and the format rewards receive the prefill
as `prefix` so they score `prefill + completion`.

Example:
    >>> from transformers import AutoTokenizer  # doctest: +SKIP
    >>> with_prefill(tokenizer, "<reasoning>\\n").apply_chat_template(  # doctest: +SKIP
    ...     [{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=True)
    '<|im_start|>user\\nHi<|im_end|>\\n<|im_start|>assistant\\n<reasoning>\\n'
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets

from grpo_training.config import Recipe, RecipeError, looks_like_path, resolve_data_source, resolve_system_prompt_text

logger = logging.getLogger(__name__)


@dataclass
class PreparedData:
    """Training and held-out prompts, and the prompt budget they fit in."""

    train: datasets.Dataset
    eval: datasets.Dataset | None
    max_prompt_length: int
    stats: dict[str, Any] = field(default_factory=dict)


def with_prefill(tokenizer: Any, prefill: str) -> Any:
    """A copy of `tokenizer` whose chat template adds `prefill` after the generation prompt.

    The original tokenizer is unchanged (it is the one saved with the LoRA).
    """
    if not prefill:
        return tokenizer
    template = tokenizer.chat_template
    if not template:
        raise RecipeError("data.prefill needs a tokenizer with a chat template; this one has none")
    patched = copy.deepcopy(tokenizer)
    # json.dumps gives a valid Jinja string literal (quotes, newlines and backslashes escaped).
    patched.chat_template = template + "{% if add_generation_prompt %}{{ " + json.dumps(prefill) + " }}{% endif %}"
    return patched


def load_prompts(recipe: Recipe) -> tuple[datasets.Dataset, dict[str, Any]]:
    """All prompt rows of the recipe's data source (synthetic, local or Hub), with the load report."""
    import grpo_data

    data = recipe.data
    system_prompt = resolve_system_prompt_text(data.system_prompt) if data.system_prompt is not None else None
    report = grpo_data.LoadReport()
    if data.source == "synthetic":
        schema = "dapo" if data.loader == "dapo" else "gsm8k"
        source: Any = grpo_data.synthetic_gsm8k(data.synthetic_rows, seed=recipe.data_seed, schema=schema)
        logger.info("Data: %d SYNTHETIC %s-style problems (seed %d)", data.synthetic_rows, schema, recipe.data_seed)
    elif looks_like_path(data.source):
        source = str(resolve_data_source(data.source, Path(recipe.source_path).parent if recipe.source_path else None))
    else:
        source = data.source
    loader = grpo_data.load_dapo if data.loader == "dapo" else grpo_data.load_gsm8k
    config = data.config or ("en" if data.loader == "dapo" else "main")
    extra = {"one_shot": True} if data.one_shot else {}
    rows = loader(source, config=config, split=data.split, system_prompt=system_prompt, report=report, **extra)
    stats = report.to_dict()
    logger.info("Data: %s -> %d rows read, %d kept, %d dropped %s", stats.get("source"), stats.get("rows_read", 0),
                stats.get("rows_kept", 0), stats.get("rows_dropped", 0), stats.get("dropped_by_reason") or "")
    return rows, stats


def prepare_data(recipe: Recipe, tokenizer: Any) -> PreparedData:
    """Load prompts, split off the held-out rows, and settle the prompt budget.

    Args:
        recipe: a validated recipe.
        tokenizer: the trainer's tokenizer (with the prefill in its template, see `with_prefill`),
            so that prompt lengths count every token the model is given.

    Returns:
        `PreparedData`; prompts longer than the budget are dropped and counted in `stats`.
    """
    import grpo_data

    data = recipe.data
    rows, load_stats = load_prompts(recipe)
    stats: dict[str, Any] = {"load": load_stats}
    held_out = None
    if data.eval_rows:
        rows, held_out = grpo_data.split_train_eval(rows, data.eval_rows, seed=recipe.data_seed)
        stats["eval_rows"] = held_out.num_rows
    if data.max_train_rows is not None and rows.num_rows > data.max_train_rows:
        rows = rows.shuffle(seed=recipe.data_seed).select(range(data.max_train_rows))

    max_prompt_length = recipe.grpo.get("max_prompt_length")
    if data.prompt_length_quantile is not None:
        rows, length_stats = grpo_data.filter_by_prompt_length(rows, tokenizer, data.prompt_length_quantile)
        stats["prompt_length"] = length_stats.to_dict()
        logger.info("Prompt lengths: kept %d of %d rows up to the %.0f%% quantile (%d tokens)", length_stats.rows_kept,
                    length_stats.rows_read, 100 * data.prompt_length_quantile, length_stats.quantile_length)
        if max_prompt_length is None:
            max_prompt_length = length_stats.max_prompt_length
    lengths = grpo_data.prompt_token_lengths(rows, tokenizer)
    if max_prompt_length is None:
        max_prompt_length = max(lengths)
    too_long = [index for index, length in enumerate(lengths) if length > max_prompt_length]
    if too_long:
        keep = [index for index, length in enumerate(lengths) if length <= max_prompt_length]
        rows = rows.select(keep)
        logger.info("Dropped %d prompts longer than max_prompt_length=%d tokens", len(too_long), max_prompt_length)
    stats["dropped_too_long"] = len(too_long)
    if rows.num_rows == 0:
        raise RecipeError(f"data: no training prompts left (max_prompt_length={max_prompt_length}, "
                          f"eval_rows={data.eval_rows}); check data.source and grpo.max_prompt_length")
    stats["train_rows"] = rows.num_rows
    stats["max_prompt_length"] = max_prompt_length
    return PreparedData(train=rows, eval=held_out, max_prompt_length=max_prompt_length, stats=stats)


def build_reward_funcs(recipe: Recipe, tokenizer: Any | None = None) -> list[Any]:
    """The recipe's reward functions, in order, via `grpo_rewards.get_reward_funcs` (import paths:
    `grpo_training.custom_rewards.ImportedReward`).

    Shared parameters: the recipe's `rewards.params`, the prefill as `prefix`, and (when a reward
    takes them) the tokenizer's own reasoning tags for the think family.
    """
    from grpo_rewards import get_reward_funcs

    shared = dict(recipe.rewards.params)
    if recipe.data.prefill:
        shared.setdefault("prefix", recipe.data.prefill)
    if tokenizer is not None and "reasoning_start" not in shared:
        from grpo_training.reasoning_tokens import find_reasoning_tokens

        tokens = find_reasoning_tokens(tokenizer)
        shared.setdefault("reasoning_start", tokens.reasoning_start)
        shared.setdefault("reasoning_end", tokens.reasoning_end)
    from grpo_training.custom_rewards import ImportedReward, is_import_path

    registered = [spec for spec in recipe.rewards.funcs if not is_import_path(spec.name)]
    entries = [{spec.name: spec.params} if spec.params else spec.name for spec in registered]
    try:
        funcs = iter(get_reward_funcs(entries, **shared))
        base_dir = Path(recipe.source_path).parent if recipe.source_path else None
        return [ImportedReward(spec.name, spec.params, base_dir) if is_import_path(spec.name) else next(funcs)
                for spec in recipe.rewards.funcs]
    except (TypeError, ValueError) as error:
        raise RecipeError(f"rewards: {error}") from error
