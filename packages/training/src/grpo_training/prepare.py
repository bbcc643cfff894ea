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
from grpo_data.sources import looks_like_local_path

from grpo_training.recipe import Recipe, RecipeError
from grpo_training.recipe.checks import resolve_data_source, resolve_system_prompt_text
from grpo_training.recipe.lengths import GRPOLengths

logger = logging.getLogger(__name__)


@dataclass
class PreparedData:
    """Training and held-out prompts, and the token budgets they fit in (the prompt budget settled on them)."""

    train: datasets.Dataset
    eval: datasets.Dataset | None
    lengths: GRPOLengths
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def max_prompt_length(self) -> int:
        """The prompt budget: every training prompt fits in it."""
        return self.lengths.max_prompt_length


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
    """All prompt rows of the recipe's data source (synthetic, local or Hub), with the load report.

    Needs no model or tokenizer, so a run calls it before loading the model: bad data fails in seconds.

    Raises:
        RecipeError: "data: no training prompts left: ..." when no row of the source is usable (naming
            the file and the reasons), or `data.eval_rows` asks for as many rows as there are.
        grpo_data.DataFormatError, grpo_data.DataSourceError: a source that cannot be read.
    """
    import grpo_data

    data = recipe.data
    system_prompt = resolve_system_prompt_text(data.system_prompt) if data.system_prompt is not None else None
    report = grpo_data.LoadReport()
    if data.source == "synthetic":
        schema = "dapo" if data.loader == "dapo" else "gsm8k"
        source: Any = grpo_data.synthetic_gsm8k(data.synthetic_rows, seed=recipe.data_seed, schema=schema)
        logger.info("Data: %d SYNTHETIC %s-style problems (seed %d)", data.synthetic_rows, schema, recipe.data_seed)
    elif looks_like_local_path(data.source):
        source = str(resolve_data_source(data.source, Path(recipe.source_path).parent if recipe.source_path else None))
    else:
        source = data.source
    loader = grpo_data.load_dapo if data.loader == "dapo" else grpo_data.load_gsm8k
    config = data.config or ("en" if data.loader == "dapo" else "main")
    extra = {"one_shot": True} if data.one_shot else {}
    try:
        rows = loader(source, config=config, split=data.split, system_prompt=system_prompt, report=report, **extra)
    except grpo_data.NoUsableRowsError as error:
        raise RecipeError(f"data: no training prompts left: {error}") from None
    stats = report.to_dict()
    check_eval_rows(data.eval_rows, rows.num_rows, stats.get("source") or data.source)
    logger.info("Data: %s -> %d rows read, %d kept, %d dropped %s", stats.get("source"), stats.get("rows_read", 0),
                stats.get("rows_kept", 0), stats.get("rows_dropped", 0), stats.get("dropped_by_reason") or "")
    return rows, stats


def check_eval_rows(eval_rows: int, usable_rows: int, source: str) -> None:
    """Refuse a held-out split that would leave no training row.

    Example:
        >>> check_eval_rows(64, 512, "synthetic")
        >>> check_eval_rows(600, 512, "train.jsonl")
        Traceback (most recent call last):
        ...
        grpo_training.recipe.sections.RecipeError: data.eval_rows: 600 held-out rows asked for, but train.jsonl has 512 usable rows; hold out at most 511 so that some are left for training
    """
    if eval_rows and eval_rows >= usable_rows:
        raise RecipeError(f"data.eval_rows: {eval_rows} held-out rows asked for, but {source} has {usable_rows} usable rows; "
                          f"hold out at most {usable_rows - 1} so that some are left for training")


def prepare_data(recipe: Recipe, tokenizer: Any, loaded: tuple[datasets.Dataset, dict[str, Any]] | None = None) -> PreparedData:
    """Load prompts, split off the held-out rows, and settle the prompt budget.

    Args:
        recipe: a validated recipe.
        tokenizer: the trainer's tokenizer (with the prefill in its template, see `with_prefill`),
            so that prompt lengths count every token the model is given.
        loaded: what `load_prompts(recipe)` returned, when the caller loaded the prompts already.

    Returns:
        `PreparedData`; prompts longer than the budget are dropped and counted in `stats`. The budget is
        `grpo.max_prompt_length` when set; else it is derived from the data (the length quantile, or the
        longest prompt) but never beyond what the context leaves for a prompt (`GRPOLengths.prompt_cap`):
        longer prompts are dropped and counted, not allowed to set the budget.
    """
    import grpo_data

    data = recipe.data
    rows, load_stats = loaded if loaded is not None else load_prompts(recipe)
    stats: dict[str, Any] = {"load": load_stats}
    held_out = None
    if data.eval_rows:
        rows, held_out = grpo_data.split_train_eval(rows, data.eval_rows, seed=recipe.data_seed)
        stats["eval_rows"] = held_out.num_rows
    if data.max_train_rows is not None and rows.num_rows > data.max_train_rows:
        rows = rows.shuffle(seed=recipe.data_seed).select(range(data.max_train_rows))

    budgets = GRPOLengths.from_recipe(recipe)
    max_prompt_length = budgets.max_prompt_length
    if data.prompt_length_quantile is not None:
        rows, length_stats = grpo_data.filter_by_prompt_length(rows, tokenizer, data.prompt_length_quantile)
        stats["prompt_length"] = length_stats.to_dict()
        logger.info("Prompt lengths: kept %d of %d rows up to the %.0f%% quantile (%d tokens)", length_stats.rows_kept,
                    length_stats.rows_read, 100 * data.prompt_length_quantile, length_stats.quantile_length)
        if max_prompt_length is None:
            max_prompt_length = length_stats.max_prompt_length
    lengths = grpo_data.prompt_token_lengths(rows, tokenizer)
    cap = budgets.prompt_cap
    if budgets.max_prompt_length is None:
        # Derived from the data, but never past the context: one enormous prompt is dropped (and counted)
        # instead of becoming everyone's budget and squeezing out the completions.
        fitting = [length for length in lengths if length <= cap]
        longest_fitting = max(fitting) if fitting else cap
        max_prompt_length = longest_fitting if max_prompt_length is None else min(max_prompt_length, cap)
        stats["context_prompt_cap"] = cap
    too_long = [index for index, length in enumerate(lengths) if length > max_prompt_length]
    if too_long:
        keep = [index for index, length in enumerate(lengths) if length <= max_prompt_length]
        rows = rows.select(keep)
        logger.warning("Dropped %d of %d prompts longer than the prompt budget of %d tokens (longest: %d; the context "
                       "leaves at most %d for a prompt)", len(too_long), len(lengths), max_prompt_length, max(lengths), cap)
    stats["dropped_too_long"] = len(too_long)
    if rows.num_rows == 0:
        raise RecipeError(
            f"data: no training prompts left: {load_stats.get('rows_kept', '?')} usable rows in {load_stats.get('source')}, "
            f"{stats.get('eval_rows', 0)} held out (data.eval_rows), "
            f"{stats.get('prompt_length', {}).get('rows_dropped', 0)} over the length quantile, {len(too_long)} longer "
            f"than the prompt budget of {max_prompt_length} tokens; check data.source, grpo.max_prompt_length and "
            "model.max_seq_length")
    stats["train_rows"] = rows.num_rows
    stats["max_prompt_length"] = max_prompt_length
    return PreparedData(train=rows, eval=held_out, lengths=budgets.with_prompt_budget(max_prompt_length), stats=stats)


def build_reward_funcs(recipe: Recipe, tokenizer: Any | None = None) -> list[Any]:
    """The recipe's reward functions, in order, via `grpo_rewards.get_reward_funcs` (import paths:
    `grpo_training.recipe.custom_rewards.ImportedReward`).

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
    from grpo_training.recipe.custom_rewards import ImportedReward, is_import_path

    registered = [spec for spec in recipe.rewards.funcs if not is_import_path(spec.name)]
    entries = [{spec.name: spec.params} if spec.params else spec.name for spec in registered]
    try:
        funcs = iter(get_reward_funcs(entries, **shared))
        base_dir = Path(recipe.source_path).parent if recipe.source_path else None
        return [ImportedReward(spec.name, spec.params, base_dir) if is_import_path(spec.name) else next(funcs)
                for spec in recipe.rewards.funcs]
    except (TypeError, ValueError) as error:
        raise RecipeError(f"rewards: {error}") from error
