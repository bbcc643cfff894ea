"""End-to-end logit checks calibrated against the error that cannot be avoided.

Logits are compared on fixed chat-formatted question/answer texts, teacher-forced (one forward pass of
the whole batch, every position compared). The measure is the relative logit error
‖candidate − reference‖ / ‖reference − its row means‖ over all positions. The reference is the model the
export comes from, in float32. An export passes when its error is at most `multiple` times the error
that rounding (or quantising) that same model to the export's type already adds on the same positions,
plus a small `floor` for the runtime's own arithmetic: a correct export adds nothing beyond its type's
rounding, a wrong one (missing LoRA, wrong config, wrong tensor names) adds far more.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

from grpo_export.errors import ExportVerificationError

logger = logging.getLogger(__name__)

CHECK_TEXTS: tuple[tuple[str, str], ...] = (
    ("Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
     "How many clips did Natalia sell altogether in April and May?",
     "<reasoning>\nIn May she sold 48 / 2 = 24 clips, so 48 + 24 = 72 in all.\n</reasoning>\n<answer>\n72\n</answer>"),
    ("Which is bigger? 9.11 or 9.9?", "<think>\n9.9 is 9.90, which is more than 9.11.\n</think>\n9.9 is bigger."),
    ("Write one sentence about the sea.", "The sea keeps every colour of the sky and gives none of it back."),
)
"""Fixed questions with fixed answers in the formats the apps train (a GSM8K one, the tutorials' test
question, a free-text one)."""


def check_sequences(tokenizer, texts=CHECK_TEXTS) -> list[torch.Tensor]:
    """Token ids of each (question, answer) as a chat (the tokenizer's template) or as plain text.

    Example:
        >>> ids = check_sequences(tokenizer)  # doctest: +SKIP
        >>> len(ids)  # doctest: +SKIP
        3
    """
    templated = bool(getattr(tokenizer, "chat_template", None))  # a template writes its special tokens itself
    return [torch.tensor(tokenizer(text, add_special_tokens=not templated)["input_ids"], dtype=torch.long)
            for text in check_strings(tokenizer, texts)]


def check_strings(tokenizer, texts=CHECK_TEXTS) -> list[str]:
    """Each (question, answer) as the text the model reads: the chat template's rendering (special tokens
    written out, as `check_sequences` tokenizes it) or the plain text.

    Example:
        >>> check_strings(tokenizer)[0].startswith("<|im_start|>")  # doctest: +SKIP
        True
    """
    strings = []
    for question, answer in texts:
        if getattr(tokenizer, "chat_template", None):
            strings.append(tokenizer.apply_chat_template([{"role": "user", "content": question},
                                                          {"role": "assistant", "content": answer}], tokenize=False))
        else:
            strings.append(f"{question}\n{answer}")
    return strings


def relative_logit_error(candidate: list[torch.Tensor], reference: list[torch.Tensor]) -> float:
    """‖candidate − reference‖ / ‖reference − row means‖ over all positions (vocabularies cut to the shorter).

    Example:
        >>> reference = [torch.tensor([[0.0, 2.0], [2.0, 0.0]])]
        >>> round(relative_logit_error([torch.tensor([[0.0, 2.1], [2.0, 0.1]])], reference), 4)
        0.0707
    """
    error = spread = 0.0
    for got, want in zip(candidate, reference, strict=True):
        vocab = min(got.shape[-1], want.shape[-1])  # a GGUF may drop padded vocabulary rows
        got, want = got[:, :vocab].double(), want[:, :vocab].double()
        if not torch.isfinite(got).all():
            raise ExportVerificationError("The exported model produced NaN or infinite logits.")
        error += float(((got - want) ** 2).sum())
        spread += float(((want - want.mean(-1, keepdim=True)) ** 2).sum())
    return (error / max(spread, 1e-30)) ** 0.5


def top1_agreement(candidate: list[torch.Tensor], reference: list[torch.Tensor]) -> float:
    """Share of positions whose highest logit is the same token (reported, not a pass criterion: random and
    near-tied logits make it measure rounding).

    Example:
        >>> top1_agreement([torch.tensor([[0.0, 1.0]])], [torch.tensor([[0.0, 2.0]])])
        1.0
    """
    same = total = 0
    for got, want in zip(candidate, reference, strict=True):
        vocab = min(got.shape[-1], want.shape[-1])
        same += int((got[:, :vocab].argmax(-1) == want[:, :vocab].argmax(-1)).sum())
        total += got.shape[0]
    return same / max(total, 1)


@dataclass(frozen=True)
class Calibration:
    """Pass rule: error ≤ multiple × unavoidable + floor.

    Example:
        >>> Calibration(2.0, 0.01).allows(error=0.05, unavoidable=0.02)
        True
    """

    multiple: float
    floor: float

    def allows(self, error: float, unavoidable: float) -> bool:
        return error <= self.multiple * unavoidable + self.floor


@dataclass
class LogitCheck:
    """One calibrated comparison's figures.

    Example:
        >>> LogitCheck("q8_0", 0.03, 0.02, 0.99, Calibration(3.0, 0.01)).ratio
        1.5
    """

    what: str
    error: float
    unavoidable: float
    top1_agreement: float
    calibration: Calibration

    @property
    def ratio(self) -> float:
        return self.error / self.unavoidable if self.unavoidable > 0 else float("inf") if self.error else 1.0

    @property
    def passed(self) -> bool:
        return self.calibration.allows(self.error, self.unavoidable)

    def summary(self) -> str:
        return (f"relative logit error {self.error:.4g} vs {self.unavoidable:.4g} from rounding alone "
                f"(×{self.ratio:.2f}; allowed ×{self.calibration.multiple:g} + {self.calibration.floor:g}), "
                f"top-1 agreement {self.top1_agreement:.1%}")

    def as_dict(self) -> dict:
        return {"what": self.what, "relative_logit_error": self.error, "unavoidable_error": self.unavoidable,
                "ratio": self.ratio, "top1_agreement": self.top1_agreement, "passed": self.passed,
                "allowed_multiple": self.calibration.multiple, "allowed_floor": self.calibration.floor}


def calibrated_check(what: str, candidate: list[torch.Tensor], rounded: list[torch.Tensor],
                     reference: list[torch.Tensor], calibration: Calibration) -> LogitCheck:
    """Compare `candidate` (the export's logits) and `rounded` (the reference model rounded to the export's
    type) with `reference`; raise `ExportVerificationError` when the export adds more than `calibration`
    allows.

    Example:
        >>> ref = [torch.tensor([[0.0, 2.0]])]
        >>> calibrated_check("x", ref, ref, ref, Calibration(2.0, 1e-6)).passed
        True
    """
    check = LogitCheck(what, relative_logit_error(candidate, reference), relative_logit_error(rounded, reference),
                       top1_agreement(candidate, reference), calibration)
    if not check.passed:
        raise ExportVerificationError(f"Verification of {what} failed: {check.summary()}. The export was not "
                                      "written: it differs from the model it came from by more than its type's "
                                      "rounding explains.")
    logger.info("Verified %s: %s", what, check.summary())
    return check
