"""`python -m grpo_training eval ...` and `python -m grpo_training generate ...`.

eval: held-out answer accuracy / format compliance (/ target-language rate) of a model, and of the
model + a LoRA when `--lora` is given; prints the table and writes eval.json.

generate: one prompt (the tutorials' checks), with and without the LoRA, with and without the
system prompt, so you can see what the training changed.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from typing import Any

from grpo_training.evaluation.evaluate import TASKS, adapter_disabled, evaluate
from grpo_training.clean_errors import exits_cleanly
from grpo_training.evaluation.loading import load_for_inference
from grpo_training.evaluation.report import format_eval_table, write_eval_json
from grpo_training.evaluation.sampling import SAMPLING_PRESETS, SamplingSettings

logger = logging.getLogger(__name__)

TUTORIAL_PROMPTS = {
    "phi4_gsm8k": "Which is bigger? 9.11 or 9.9?",
    "r1_dapo": "Solve (x + 2)^2 = 0.",
}


@exits_cleanly  # an adapter for another model: one `error:` line, exit 2
def main_eval(argv: list[str] | None = None) -> int:
    """Evaluate a model (and model + LoRA) on held-out rows; print the table, write the JSON.

    Example:
        python -m grpo_training eval --lora runs/demo/lora --data synthetic --n 64 \\
            --prefix '<reasoning>\\n' --max-new-tokens 96 --out eval.json
    """
    parser = argparse.ArgumentParser(prog="python -m grpo_training eval", description=main_eval.__doc__.splitlines()[0])
    _add_model_arguments(parser)
    parser.add_argument("--data", default="synthetic",
                        help="'synthetic' (generated GSM8K-style problems), a local .jsonl/.parquet file or "
                             "folder, or a Hub id (default: synthetic)")
    parser.add_argument("--loader", choices=("gsm8k", "dapo"), default="gsm8k", help="data schema (default gsm8k)")
    parser.add_argument("--split", default="test", help="split to read from a folder or Hub id (default test)")
    parser.add_argument("--n", type=int, default=64, help="held-out prompts to evaluate (default 64)")
    parser.add_argument("--task", choices=TASKS, default="xml", help="answer format checked (default xml)")
    parser.add_argument("--system-prompt", default=None,
                        help="a grpo_data.SYSTEM_PROMPTS name or literal text (default: xml / dapo_en by loader)")
    parser.add_argument("--prefix", default="", help="assistant prefill, e.g. '<reasoning>\\n' (\\n is a newline)")
    parser.add_argument("--target-language", default=None, help="ISO 639-1 code, e.g. id: also report its rate")
    parser.add_argument("--batch-size", type=int, default=16, help="prompts per generate() call (default 16)")
    parser.add_argument("--out", default="eval.json", help="where to write the JSON report (default eval.json)")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error(f"--n must be >= 1, got {args.n}")
    sampling = _sampling(args)
    try:
        rows = _load_rows(args)
        model, tokenizer, name = load_for_inference(args.model, args.lora, allow_other_base=args.allow_other_base)
    except (OSError, ValueError) as error:  # grpo_data's errors are ValueErrors; missing paths OSErrors
        parser.error(str(error))
    prefix = _unescape(args.prefix)

    common = dict(task=args.task, prefix=prefix, target_language=args.target_language, sampling=sampling,
                  batch_size=args.batch_size, model_name=name)
    with adapter_disabled(model) as base:
        reports = [evaluate(base, tokenizer, rows, label="base", **common)]
    if args.lora:
        reports.append(evaluate(model, tokenizer, rows, label="base+lora", lora=str(args.lora), **common))
    print(format_eval_table(reports))
    path = write_eval_json(args.out, reports)
    print(f"wrote {path}")
    return 0


@exits_cleanly
def main_generate(argv: list[str] | None = None) -> int:
    """Answer one prompt with and without the LoRA, with and without the system prompt.

    Example:
        python -m grpo_training generate --lora runs/demo/lora --prompt "Which is bigger? 9.11 or 9.9?"
    """
    parser = argparse.ArgumentParser(prog="python -m grpo_training generate",
                                     description=main_generate.__doc__.splitlines()[0])
    _add_model_arguments(parser)
    parser.add_argument("--prompt", default=None,
                        help=f"the user message (default: the preset's tutorial check, e.g. {TUTORIAL_PROMPTS['phi4_gsm8k']!r})")
    parser.add_argument("--system-prompt", default="xml",
                        help="a grpo_data.SYSTEM_PROMPTS name or literal text; 'none' = only without (default xml)")
    args = parser.parse_args(argv)
    sampling = _sampling(args)
    prompt = args.prompt or TUTORIAL_PROMPTS[args.preset]
    system_prompt = None if args.system_prompt == "none" else _system_prompt(args.system_prompt)

    try:
        model, tokenizer, name = load_for_inference(args.model, args.lora, allow_other_base=args.allow_other_base)
    except OSError as error:
        parser.error(str(error))
    print(f"model: {name}" + (f" + LoRA {args.lora}" if args.lora else ""))
    print(f"sampling: {sampling.describe()}")
    for result in generate_variants(model, tokenizer, prompt, system_prompt, sampling, with_lora=bool(args.lora)):
        print(f"\n=== {result['variant']} ===\n{result['completion']}")
    return 0


def generate_variants(
    model: Any, tokenizer: Any, prompt: str, system_prompt: str | None, sampling: SamplingSettings, *, with_lora: bool
) -> list[dict[str, str]]:
    """Generate one answer per variant: (base | base+LoRA) x (no system prompt | system prompt).

    Returns:
        dicts with `variant` (e.g. "base+lora, with system prompt") and `completion`.

    Example:
        >>> generate_variants(model, tokenizer, "Which is bigger? 9.11 or 9.9?", None,
        ...                   SamplingSettings(max_new_tokens=64), with_lora=False)[0]["variant"]  # doctest: +SKIP
        'base, no system prompt'
    """
    conversations = [("no system prompt", [{"role": "user", "content": prompt}])]
    if system_prompt:
        conversations.append(("with system prompt",
                              [{"role": "system", "content": system_prompt}, {"role": "user", "content": prompt}]))
    rows = [{"prompt": messages, "answer": None} for _, messages in conversations]
    results = []
    for adapter in (["base", "base+lora"] if with_lora else ["base"]):
        for (context, _), row in zip(conversations, rows):
            completion = _generate_one(model, tokenizer, row["prompt"], sampling, use_adapter=adapter == "base+lora")
            results.append({"variant": f"{adapter}, {context}", "completion": completion})
    return results


def _generate_one(model: Any, tokenizer: Any, messages: list[dict[str, str]], sampling: SamplingSettings,
                  *, use_adapter: bool) -> str:
    import torch
    from transformers import GenerationConfig

    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    encoded = tokenizer(text, return_tensors="pt", add_special_tokens=False).to(model.device)
    config = GenerationConfig(**sampling.generate_kwargs(), eos_token_id=model.generation_config.eos_token_id,
                              pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(sampling.seed)
    if use_adapter:
        with torch.inference_mode():
            output = model.generate(**encoded, generation_config=config)
    else:
        with adapter_disabled(model) as base, torch.inference_mode():
            output = base.generate(**encoded, generation_config=config)
    return tokenizer.decode(output[0, encoded["input_ids"].shape[1]:], skip_special_tokens=True)


def _add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None, help="Hub id or local folder (default: embedded SmolLM2-135M-Instruct)")
    parser.add_argument("--lora", default=None, help="a saved LoRA folder (the run's lora/); adds the base+lora rows")
    parser.add_argument("--allow-other-base", action="store_true",
                        help="apply --lora to --model even though the LoRA names another base model")
    parser.add_argument("--preset", choices=sorted(SAMPLING_PRESETS), default="phi4_gsm8k",
                        help="sampling preset: phi4_gsm8k (temperature 0.8, top_p 0.95, 1024 tokens) or "
                             "r1_dapo (temperature 1.0, top_k 50, 2048 tokens)")
    parser.add_argument("--temperature", type=float, default=None, help="override the preset (0 = greedy)")
    parser.add_argument("--top-p", type=float, default=None, help="override the preset")
    parser.add_argument("--top-k", type=int, default=None, help="override the preset (0 = off)")
    parser.add_argument("--min-p", type=float, default=None, help="override the preset")
    parser.add_argument("--max-new-tokens", type=int, default=None, help="override the preset")
    parser.add_argument("--seed", type=int, default=None, help="override the preset's seed")


def _sampling(args: argparse.Namespace) -> SamplingSettings:
    overrides = {key: getattr(args, key) for key in ("temperature", "top_p", "top_k", "min_p", "max_new_tokens", "seed")
                 if getattr(args, key) is not None}
    if overrides.get("top_k") == 0:
        overrides["top_k"] = None
    return replace(SAMPLING_PRESETS[args.preset], **overrides)


def _system_prompt(value: str) -> str:
    from grpo_data import SYSTEM_PROMPTS

    return SYSTEM_PROMPTS.get(value, _unescape(value))


def _load_rows(args: argparse.Namespace) -> Any:
    import grpo_data

    default_prompt = "xml" if args.loader == "gsm8k" else "dapo_en"
    system_prompt = _system_prompt(args.system_prompt or default_prompt)
    loader = grpo_data.load_gsm8k if args.loader == "gsm8k" else grpo_data.load_dapo
    if args.data == "synthetic":
        source = grpo_data.synthetic_gsm8k(args.n, seed=args.seed if args.seed is not None else 3407)
        rows = loader(source, system_prompt=system_prompt)
    else:
        rows = loader(args.data, split=args.split, system_prompt=system_prompt)
    if len(rows) < args.n:
        logger.warning("--data %s has only %d usable rows; evaluating all of them (asked for %d)",
                       args.data, len(rows), args.n)
    return rows.select(range(min(args.n, len(rows))))


def _unescape(text: str) -> str:
    return text.replace("\\n", "\n").replace("\\t", "\t")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    raise SystemExit(main_eval())
