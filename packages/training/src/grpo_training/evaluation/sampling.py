"""How completions are sampled for evaluation, stated once so every table and JSON can repeat it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class SamplingSettings:
    """Sampling parameters for evaluation and one-prompt generation.

    Attributes:
        temperature: softmax temperature; 0 means greedy decoding.
        top_p: nucleus sampling mass; None = off.
        top_k: keep the k most likely tokens; None = off.
        min_p: drop tokens below min_p x the top probability; None = off.
        max_new_tokens: generation budget per completion.
        seed: torch seed set before generating, so a run can be repeated.

    Example:
        >>> SamplingSettings(temperature=0.8, top_p=0.95, max_new_tokens=96).describe()
        'temperature=0.8 top_p=0.95 top_k=off min_p=off max_new_tokens=96 seed=3407'
    """

    temperature: float = 0.8
    top_p: float | None = 0.95
    top_k: int | None = None
    min_p: float | None = None
    max_new_tokens: int = 1024
    seed: int = 3407

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError(f"sampling temperature must be >= 0 (0 = greedy), got {self.temperature}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ValueError(f"sampling top_p must be in (0, 1] or None, got {self.top_p}")
        if self.top_k is not None and self.top_k < 0:
            raise ValueError(f"sampling top_k must be >= 0 or None, got {self.top_k}")
        if self.min_p is not None and not 0 <= self.min_p < 1:
            raise ValueError(f"sampling min_p must be in [0, 1) or None, got {self.min_p}")
        if self.max_new_tokens < 1:
            raise ValueError(f"sampling max_new_tokens must be >= 1, got {self.max_new_tokens}")

    def generate_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `transformers.GenerationConfig`; every filter is set explicitly
        (a model's own generation_config can carry top_k=50 and the like, which would otherwise leak in).

        Example:
            >>> SamplingSettings(temperature=1.0, top_p=None, top_k=50).generate_kwargs()["top_k"]
            50
        """
        if self.temperature == 0:
            return {"do_sample": False, "max_new_tokens": self.max_new_tokens,
                    "temperature": None, "top_p": None, "top_k": None, "min_p": None}
        return {
            "do_sample": True,
            "temperature": self.temperature,
            "top_p": self.top_p if self.top_p is not None else 1.0,
            "top_k": self.top_k if self.top_k is not None else 0,
            "min_p": self.min_p,
            "max_new_tokens": self.max_new_tokens,
        }

    def describe(self) -> str:
        """One line for logs, tables and reports."""
        def shown(value: Any) -> str:
            return "off" if value is None else str(value)

        return (f"temperature={self.temperature} top_p={shown(self.top_p)} top_k={shown(self.top_k)} "
                f"min_p={shown(self.min_p)} max_new_tokens={self.max_new_tokens} seed={self.seed}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


PHI4_GSM8K_SAMPLING = SamplingSettings(temperature=0.8, top_p=0.95, max_new_tokens=1024)
"""Tutorial 1 (Phi-4, GSM8K): vLLM SamplingParams(temperature=0.8, top_p=0.95, max_tokens=1024)."""

R1_DAPO_SAMPLING = SamplingSettings(temperature=1.0, top_p=None, top_k=50, max_new_tokens=2048)
"""Tutorial 2 (DeepSeek-R1-Qwen3, DAPO): SamplingParams(temperature=1.0, top_k=50, max_tokens=2048),
the settings of its with/without-LoRA language comparison."""

SAMPLING_PRESETS: dict[str, SamplingSettings] = {"phi4_gsm8k": PHI4_GSM8K_SAMPLING, "r1_dapo": R1_DAPO_SAMPLING}
