"""Held-out evaluation: sample completions in batches, then score answers, format and language.

The scores come from the same `grpo_rewards` functions the training uses, with the same prefill
(`prefix`), so "format compliance" here means exactly what the format reward pays for.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from grpo_rewards import get_reward_funcs
from grpo_rewards.language_reward import TARGET_SCORE
from grpo_training.evaluation.engines import HFGenerate
from grpo_training.evaluation.sampling import SamplingSettings
from grpo_training.reasoning_tokens import (
    TEXT_REASONING_END,
    TEXT_REASONING_START,
    ReasoningTokens,
    find_reasoning_tokens,
)

logger = logging.getLogger(__name__)

Task = Literal["xml", "think"]
TASKS: tuple[str, ...] = ("xml", "think")
SAMPLES_KEPT = 4


@dataclass
class EvalReport:
    """Result of one `evaluate` call.

    Rates are fractions of `n` prompts (one completion each). `answer_accuracy` counts a row whose
    gold answer cannot be parsed as wrong; `answers_scored` says how many had a usable gold.
    """

    label: str
    task: str
    n: int
    answer_accuracy: float
    format_compliance: float
    target_language: str | None
    target_language_rate: float | None
    answers_scored: int
    truncated_rate: float
    mean_completion_tokens: float
    prefix: str
    sampling: SamplingSettings
    model: str = ""
    lora: str | None = None
    seconds: float = 0.0
    engine: str = "hf-generate"
    tokens_per_second: float = 0.0
    samples: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate(
    model: Any,
    tokenizer: Any,
    dataset: Any,
    *,
    task: Task,
    prefix: str = "",
    target_language: str | None = None,
    sampling: SamplingSettings,
    batch_size: int = 16,
    label: str = "before",
    model_name: str = "",
    lora: str | None = None,
    engine: Any | None = None,
) -> EvalReport:
    """Sample one completion per row and measure answer accuracy, format compliance and language.

    Args:
        model: a causal LM (plain or PEFT); evaluated as it is (see `adapter_disabled` for "base").
        tokenizer: its tokenizer, with a chat template and a pad token.
        dataset: rows with `prompt` (chat messages, optionally ending with an assistant prefill
            message) and `answer` (gold final answer); a `datasets.Dataset` or a list of dicts.
        task: "xml" (`<reasoning>`/`<answer>`: correctness + strict format rewards) or "think"
            (reasoning end tag then the answer: number_check + think_format_exact rewards, with the
            tokenizer's reasoning markers).
        prefix: the assistant prefill. Rows without an assistant message get it appended; rows
            that end with one must carry exactly this text. Completions are scored as prefix + text.
        target_language: ISO 639-1 code; when set, the rate of completions whose reasoning langid
            reads as this language is reported too.
        sampling: how to sample (state it wherever the numbers are shown).
        batch_size: prompts per `generate` call (left-padded).
        label: name of this evaluation in tables ("before", "after", "base", "base+lora").
        model_name, lora: recorded in the report.
        engine: how to generate (`grpo_training.evaluation.engines`): default transformers' `generate` on
            `model` in batches of `batch_size`; `VLLMGenerate(model, lora_dir)` for the model's vLLM engine.

    Returns:
        An `EvalReport` with the rates and a few sample completions.

    Example:
        >>> report = evaluate(model, tokenizer, held_out, task="xml", prefix="<reasoning>\\n",
        ...                   sampling=SamplingSettings(max_new_tokens=96), label="before")  # doctest: +SKIP
        >>> report.format_compliance  # doctest: +SKIP
        0.53
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    rows = _rows(dataset)
    if not rows:
        raise ValueError("evaluate() got an empty dataset; give it at least one held-out row")
    prompts = [_with_prefill(row, prefix, index) for index, row in enumerate(rows)]
    golds = [None if row["answer"] is None else str(row["answer"]) for row in rows]
    engine = engine or HFGenerate(model, tokenizer, batch_size)
    prompt_ids = [tokenizer(_render(tokenizer, messages), add_special_tokens=False)["input_ids"] for messages in prompts]

    started = time.perf_counter()
    generated = engine.generate(prompt_ids, sampling, label)
    seconds = time.perf_counter() - started
    completions = [g.text for g in generated]
    lengths = [g.tokens for g in generated]
    truncated = sum(g.truncated for g in generated)

    scores = score_completions(completions, golds, task=task, prefix=prefix, target_language=target_language,
                               reasoning=find_reasoning_tokens(tokenizer) if task == "think" else None)
    correct, formatted, in_language = scores.correct, scores.formatted, scores.in_target_language

    n = len(rows)
    samples = [
        {
            "question": _question(prompts[i]),
            "gold": golds[i],
            "completion": prefix + completions[i],
            "correct": correct[i],
            "formatted": formatted[i],
            **({"in_target_language": in_language[i]} if in_language else {}),
        }
        for i in range(min(SAMPLES_KEPT, n))
    ]
    report = EvalReport(
        label=label,
        task=task,
        n=n,
        answer_accuracy=sum(correct) / n,
        format_compliance=sum(formatted) / n,
        target_language=target_language,
        target_language_rate=(sum(in_language) / n) if in_language is not None else None,
        answers_scored=scores.answers_scored,
        truncated_rate=truncated / n,
        mean_completion_tokens=sum(lengths) / n,
        prefix=prefix,
        sampling=sampling,
        model=model_name,
        lora=lora,
        seconds=round(seconds, 1),
        engine=engine.name,
        tokens_per_second=round(sum(lengths) / seconds, 1) if seconds > 0 else 0.0,
        samples=samples,
    )
    logger.info(
        "eval %s: answer accuracy %.3f, format compliance %.3f%s on %d prompts (%s)",
        label, report.answer_accuracy, report.format_compliance,
        "" if report.target_language_rate is None else f", {target_language} rate {report.target_language_rate:.3f}",
        n, sampling.describe(),
    )
    return report


@contextlib.contextmanager
def adapter_disabled(model: Any) -> Iterator[Any]:
    """Run the base model of a PEFT model (adapters off); a plain model is yielded unchanged.

    Example:
        >>> with adapter_disabled(peft_model) as base:  # doctest: +SKIP
        ...     before = evaluate(base, tokenizer, rows, task="xml", sampling=s, label="base")
    """
    disable = getattr(model, "disable_adapter", None)
    if disable is None:
        yield model
        return
    with disable():
        yield model


def _rows(dataset: Any) -> list[dict[str, Any]]:
    rows = [dict(row) for row in dataset]
    for index, row in enumerate(rows):
        for column in ("prompt", "answer"):
            if column not in row:
                raise ValueError(f"evaluation row {index} has no {column!r} column (it has {sorted(row)}); "
                                 "load the data with grpo_data (prompt = chat messages, answer = gold answer)")
        if not isinstance(row["prompt"], list) or not row["prompt"]:
            raise ValueError(f"evaluation row {index}: 'prompt' must be a non-empty list of chat messages, "
                             f"got {row['prompt']!r:.120}")
    return rows


def _with_prefill(row: dict[str, Any], prefix: str, index: int) -> list[dict[str, str]]:
    messages = [dict(message) for message in row["prompt"]]
    last = messages[-1]
    if last.get("role") == "assistant":
        if last.get("content") != prefix:
            raise ValueError(
                f"evaluation row {index}: the prompt ends with the assistant prefill {last.get('content')!r} "
                f"but prefix={prefix!r}; pass prefix={last.get('content')!r} so completions are scored "
                "as the model continues them"
            )
        return messages
    if prefix:
        messages.append({"role": "assistant", "content": prefix})
    return messages


def _render(tokenizer: Any, messages: list[dict[str, str]]) -> str:
    prefilled = messages[-1]["role"] == "assistant"
    return tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=not prefilled, continue_final_message=prefilled
    )


@dataclass
class CompletionScores:
    """Per-completion verdicts of `score_completions`."""

    correct: list[bool]
    formatted: list[bool]
    in_target_language: list[bool] | None
    answers_scored: int


def score_completions(
    completions: Sequence[str],
    answers: Sequence[str | None],
    *,
    task: Task,
    prefix: str = "",
    target_language: str | None = None,
    reasoning: ReasoningTokens | None = None,
) -> CompletionScores:
    r"""Judge completions with the training rewards: right answer, right format, target language.

    Args:
        completions: generated texts (without the prefill).
        answers: gold answers, one per completion (None = no usable gold: counted as not correct).
        task: "xml": `correctness` > 0 and `strict_format` > 0; "think": `number_check` > 0 and
            `think_format_exact` > 0, with the `reasoning` markers (default `<think>`/`</think>`).
        prefix: the prefill; each completion is scored as prefix + completion.
        target_language: when set, `language` reward at its top score counts as "in the target language"
            (the reasoning part: between `<reasoning>` tags for xml, the reasoning markers for think).

    Example:
        >>> s = score_completions(["7\n</reasoning>\n<answer>\n7\n</answer>"], ["7"], task="xml", prefix="<reasoning>\n")
        >>> s.correct, s.formatted
        ([True], [True])
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    if len(completions) != len(answers):
        raise ValueError(f"{len(completions)} completions but {len(answers)} answers; give one gold answer each")
    if task == "xml":
        answer_reward, format_reward = get_reward_funcs(["correctness", "strict_format"], prefix=prefix)
        start, end = "<reasoning>", "</reasoning>"
    else:
        markers = reasoning or ReasoningTokens(TEXT_REASONING_START, TEXT_REASONING_END, None, None, False)
        start, end = markers.reasoning_start, markers.reasoning_end
        answer_reward, format_reward = get_reward_funcs(
            ["number_check", "think_format_exact"], prefix=prefix, reasoning_start=start, reasoning_end=end
        )
    texts = list(completions)
    answer_scores = answer_reward(completions=texts, answer=list(answers))
    format_scores = format_reward(completions=texts)
    in_language = None
    if target_language:
        (language_reward,) = get_reward_funcs(
            [{"language": {"target": target_language}}], prefix=prefix, reasoning_start=start, reasoning_end=end
        )
        in_language = [score == TARGET_SCORE for score in language_reward(completions=texts)]
    return CompletionScores(
        correct=[score is not None and score > 0 for score in answer_scores],
        formatted=[score > 0 for score in format_scores],
        in_target_language=in_language,
        answers_scored=sum(score is not None for score in answer_scores),
    )


def _question(messages: list[dict[str, str]]) -> str:
    users = [m["content"] for m in messages if m.get("role") == "user"]
    return users[-1] if users else ""
