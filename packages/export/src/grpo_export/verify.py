"""Verification: reload what an export wrote and compare it with the model it came from.

Every export function calls one of these before renaming its temp folder into place, so a failed check
(`ExportVerificationError`) fails the export and leaves the previous artefact untouched.

The comparisons run on fixed prompts: the reference model's greedy continuation of each prompt is
computed once, then the candidate is run teacher-forced on the same tokens. Top-1 agreement at every
position of that trajectory is exactly "the candidate generates the same greedy tokens".
"""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file

from grpo_export.errors import ExportVerificationError

logger = logging.getLogger(__name__)

DEFAULT_PROMPTS: tuple[str, ...] = (
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
    "How many clips did Natalia sell altogether in April and May?",
    "Which is bigger? 9.11 or 9.9?",
    "Write one sentence about the sea.",
)
"""Fixed verification prompts (a GSM8K question, the tutorials' test question, a free-text one)."""


@dataclass(frozen=True)
class Reference:
    """Token ids (prompt + greedy continuation) and the reference model's fp32 logits on them.

    Example:
        >>> ref = Reference(input_ids=[torch.tensor([1, 2, 3])], logits=[torch.zeros(3, 5)], prompt_lengths=[2])
        >>> ref.positions
        1
    """

    input_ids: list[torch.Tensor]
    logits: list[torch.Tensor]
    prompt_lengths: list[int]

    @property
    def positions(self) -> int:
        """Number of generated positions compared (the prompt's last position predicts the first)."""
        return sum(len(ids) - start for ids, start in zip(self.input_ids, self.prompt_lengths))


@dataclass
class Comparison:
    """How a candidate model's logits compare with a `Reference`.

    Example:
        >>> Comparison(top1_agreement=1.0, max_abs_logit_diff=0.01, relative_logit_error=0.001).top1_agreement
        1.0
    """

    top1_agreement: float
    max_abs_logit_diff: float
    relative_logit_error: float
    details: dict = field(default_factory=dict)

    def summary(self) -> str:
        return (f"top-1 agreement {self.top1_agreement:.1%}, max |Δlogit| {self.max_abs_logit_diff:.4g}, "
                f"relative logit error {self.relative_logit_error:.4g}")


@dataclass(frozen=True)
class Tolerance:
    """Pass criteria for a comparison; `None` disables a criterion.

    Example:
        >>> TOLERANCES["q8_0"].min_top1_agreement
        0.95
    """

    min_top1_agreement: float | None = 1.0
    max_relative_logit_error: float | None = None


TOLERANCES: dict[str, Tolerance] = {
    "merged_16bit:float32": Tolerance(1.0, 1e-4),
    "merged_16bit:bfloat16": Tolerance(0.97, 0.05),  # weights rounded to bf16 (8 bits of mantissa)
    "merged_16bit:float16": Tolerance(0.99, 0.01),
    "f32": Tolerance(1.0, 1e-4),
    "f16": Tolerance(1.0, 0.01),
    "bf16": Tolerance(1.0, 0.05),
    "q8_0": Tolerance(0.95, 0.1),
}
"""Per-export pass criteria. K-quants (q4_k_m, q5_k_m, ...) are only required to load and give finite
logits: their agreement is measured and reported, not enforced (see README)."""
LOAD_AND_GENERATE_ONLY = Tolerance(None, None)


def _as_fp32_logits(model, input_ids: torch.Tensor) -> torch.Tensor:
    device = next(model.parameters()).device
    with torch.no_grad():
        out = model(input_ids=input_ids.unsqueeze(0).to(device))
    return out.logits[0].float().cpu()


def prompt_token_ids(tokenizer, prompts: tuple[str, ...] | list[str] = DEFAULT_PROMPTS) -> list[torch.Tensor]:
    """Tokenise `prompts`, with the tokenizer's chat template when it has one.

    Example:
        >>> ids = prompt_token_ids(tokenizer, ["Hi"])  # doctest: +SKIP
    """
    encoded = []
    for prompt in prompts:
        if getattr(tokenizer, "chat_template", None):
            ids = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                                tokenize=True, return_dict=True)["input_ids"]
        else:
            ids = tokenizer(prompt)["input_ids"]
        encoded.append(torch.tensor(ids, dtype=torch.long))
    return encoded


def make_reference(model, tokenizer, prompts=DEFAULT_PROMPTS, max_new_tokens: int = 24) -> Reference:
    """Greedy-generate `max_new_tokens` after each prompt and record fp32 logits on the whole sequence.

    Example:
        >>> ref = make_reference(model, tokenizer)  # doctest: +SKIP
        >>> ref.positions  # doctest: +SKIP
        48
    """
    model.eval()
    device = next(model.parameters()).device
    input_ids, logits, starts = [], [], []
    for ids in prompt_token_ids(tokenizer, prompts):
        with torch.no_grad():
            generated = model.generate(input_ids=ids.unsqueeze(0).to(device),
                                       attention_mask=torch.ones_like(ids).unsqueeze(0).to(device),
                                       max_new_tokens=max_new_tokens, min_new_tokens=max_new_tokens,
                                       do_sample=False, pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id)
        sequence = generated[0].cpu()
        input_ids.append(sequence)
        logits.append(_as_fp32_logits(model, sequence))
        starts.append(len(ids))
    return Reference(input_ids=input_ids, logits=logits, prompt_lengths=starts)


def compare_with_reference(model, reference: Reference) -> Comparison:
    """Run `model` teacher-forced on the reference tokens and compare logits at generated positions.

    Example:
        >>> compare_with_reference(model, make_reference(model, tokenizer)).top1_agreement  # doctest: +SKIP
        1.0
    """
    agree = total = 0
    max_abs = 0.0
    err_sq = ref_sq = 0.0
    for ids, ref_logits, start in zip(reference.input_ids, reference.logits, reference.prompt_lengths):
        logits = _as_fp32_logits(model, ids)
        if not torch.isfinite(logits).all():
            raise ExportVerificationError("The reloaded model produced NaN/inf logits on a verification prompt.")
        # position p predicts token p+1: compare the positions that predict the generated tokens
        window = slice(start - 1, len(ids) - 1)
        candidate, expected = logits[window], ref_logits[window]
        vocab = min(candidate.shape[-1], expected.shape[-1])  # GGUF may drop padded vocab rows
        candidate, expected = candidate[:, :vocab], expected[:, :vocab]
        agree += int((candidate.argmax(-1) == expected.argmax(-1)).sum())
        total += candidate.shape[0]
        diff = candidate - expected
        max_abs = max(max_abs, float(diff.abs().max()))
        err_sq += float((diff ** 2).sum())
        ref_sq += float(((expected - expected.mean(-1, keepdim=True)) ** 2).sum())
    return Comparison(top1_agreement=agree / max(total, 1), max_abs_logit_diff=max_abs,
                      relative_logit_error=(err_sq / max(ref_sq, 1e-30)) ** 0.5, details={"positions": total})


def check_comparison(comparison: Comparison, tolerance: Tolerance, what: str) -> Comparison:
    """Raise `ExportVerificationError` naming `what` when `comparison` misses `tolerance`.

    Example:
        >>> check_comparison(Comparison(1.0, 0.0, 0.0), Tolerance(1.0, 0.01), "x").top1_agreement
        1.0
    """
    failures = []
    if tolerance.min_top1_agreement is not None and comparison.top1_agreement < tolerance.min_top1_agreement:
        failures.append(f"top-1 agreement {comparison.top1_agreement:.1%} < {tolerance.min_top1_agreement:.0%}")
    if (tolerance.max_relative_logit_error is not None
            and comparison.relative_logit_error > tolerance.max_relative_logit_error):
        failures.append(f"relative logit error {comparison.relative_logit_error:.4g} > "
                        f"{tolerance.max_relative_logit_error}")
    if failures:
        raise ExportVerificationError(
            f"Verification of {what} failed: {'; '.join(failures)} ({comparison.summary()}). The export was "
            "not written. If the source model is expected to be this sensitive, inspect it before exporting."
        )
    logger.info("Verified %s: %s", what, comparison.summary())
    return comparison


def verify_lora_dir(model, lora_dir: Path, adapter_name: str = "default") -> None:
    """Check a saved PEFT adapter folder: config loads, and its tensors equal the in-memory adapter's.

    Example:
        >>> verify_lora_dir(peft_model, Path("grpo_saved_lora"))  # doctest: +SKIP
    """
    from peft import PeftConfig, get_peft_model_state_dict

    lora_dir = Path(lora_dir)
    weights = lora_dir / "adapter_model.safetensors"
    if not weights.is_file() or not (lora_dir / "adapter_config.json").is_file():
        raise ExportVerificationError(f"{lora_dir} lacks adapter_model.safetensors or adapter_config.json.")
    config = PeftConfig.from_pretrained(str(lora_dir))
    expected = get_peft_model_state_dict(model, adapter_name=adapter_name)
    saved = load_file(str(weights))
    if set(saved) != set(expected):
        missing, extra = sorted(set(expected) - set(saved))[:3], sorted(set(saved) - set(expected))[:3]
        raise ExportVerificationError(f"{weights}: tensor names differ from the model's adapter "
                                      f"(missing e.g. {missing}, unexpected e.g. {extra}).")
    for name, tensor in expected.items():
        if not torch.equal(saved[name].cpu(), tensor.detach().cpu().to(saved[name].dtype)):
            raise ExportVerificationError(f"{weights}: tensor {name} differs from the in-memory adapter.")
    logger.info("Verified LoRA adapter %s (%s, r=%s, %d tensors)", lora_dir, config.peft_type,
                getattr(config, "r", "?"), len(saved))


def free_model(model) -> None:
    """Drop a model's memory eagerly (large models would otherwise linger until the next GC)."""
    del model
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
