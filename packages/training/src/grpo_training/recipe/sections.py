"""The recipe's sections as dataclasses, `Recipe`, the validated whole, and `RecipeError`, what a bad recipe raises.

A recipe is one YAML file with the sections `model`, `lora`, `grpo`, `rewards`, `data`, `evaluation`
and `run`. Every section but `grpo` is one of the small dataclasses here; `grpo` holds fields of TRL's
`GRPOConfig` (`grpo_training.recipe.grpo.GRPOSettings`) and stays a dict. Nothing here imports trl, so
every recipe module can raise `RecipeError` before the backend is chosen.

Example:
    >>> Recipe(data=DataConfig(seed=7)).data_seed
    7
    >>> str(RecipeError("grpo.max_steps: expected int, got str 'yes'"))
    "grpo.max_steps: expected int, got str 'yes'"
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal


class RecipeError(ValueError):
    """A recipe is invalid; the message names the field (`section.field`) and what is expected."""


@dataclass
class ModelConfig:
    """Which model to load and how (the tutorials' `FastLanguageModel.from_pretrained` arguments)."""

    name: str | None = field(default=None, metadata={"help": "Hub id or local folder; None = the embedded "
                             "SmolLM2-135M-Instruct when no GPU is present (an error on a GPU)."})
    max_seq_length: int = field(default=512, metadata={"help": "Prompt + completion token budget."})
    load_in_4bit: bool = field(default=False, metadata={"help": "bitsandbytes 4-bit base weights (GPU only)."})
    fast_inference: bool = field(default=False, metadata={"help": "Unsloth: generate with vLLM (needs vllm)."})
    gpu_memory_utilization: float | Literal["auto"] = field(default="auto", metadata={"help": "vLLM's share of the card "
                                                "(Unsloth fast_inference): auto = what the memory plan needs for "
                                                "the generation batch, or a fraction such as 0.7."})
    gpu_memory: str | float | None = field(default=None, metadata={"help": "GPU memory the run may use, e.g. "
                                           "'24GB' (GB = GiB, as cards are sold); None = the card found. A recipe "
                                           "over it is refused before loading; below the card, torch is held to it."})
    max_lora_rank: int | None = field(default=None, metadata={"help": "Unsloth/vLLM max LoRA rank; None = lora.r."})
    dtype: str | None = field(default=None, metadata={"help": "float32 | bfloat16 | float16 | None (auto: "
                              "float32 on CPU, the checkpoint's dtype on GPU)."})
    multimodal: bool | None = field(default=None, metadata={"help": "Load with Unsloth's FastModel (Gemma-3); "
                                    "None = when the name contains 'gemma-3'."})
    trust_remote_code: bool = field(default=False, metadata={"help": "Allow custom modelling code."})


@dataclass
class LoraConfig:
    """LoRA adapter settings (the tutorials' `get_peft_model` arguments)."""

    r: int = field(default=16, metadata={"help": "LoRA rank."})
    alpha: int = field(default=16, metadata={"help": "LoRA alpha (scaling = alpha / r)."})
    dropout: float = field(default=0.0, metadata={"help": "LoRA dropout."})
    target_modules: list[str] | str = field(default="all-linear", metadata={"help": "Module names, or "
                                            "'all-linear'."})
    gradient_checkpointing: bool | str = field(default=False, metadata={"help": "False | True | 'unsloth' "
                                               "(Unsloth's offloaded variant; True on the trl backend)."})
    random_state: int = field(default=3407, metadata={"help": "Seed for the adapter's initialisation."})



@dataclass
class RewardSpec:
    """One reward function of `grpo_rewards`, its weight and its own parameters."""

    name: str
    weight: float = 1.0
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class RewardsConfig:
    """The reward functions, in order, and parameters shared by all of them (e.g. `prefix`)."""

    funcs: list[RewardSpec] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """Reward names in order."""
        return [spec.name for spec in self.funcs]


@dataclass
class DataConfig:
    """Which data set to train on and how prompts are built."""

    loader: str = field(default="gsm8k", metadata={"help": "gsm8k | dapo"})
    source: str = field(default="synthetic", metadata={"help": "Hub id, local file/folder, or 'synthetic'."})
    config: str | None = field(default=None, metadata={"help": "Hub configuration; None = main (gsm8k) / en (dapo)."})
    split: str = field(default="train", metadata={"help": "Split to read."})
    synthetic_rows: int = field(default=512, metadata={"help": "Rows generated when source is 'synthetic'."})
    system_prompt: str | None = field(default="xml", metadata={"help": "A name in grpo_data.SYSTEM_PROMPTS or "
                                      "literal text; None = no system message."})
    one_shot: bool = field(default=False, metadata={"help": "gsm8k: put tutorial 1's worked example "
                           "(grpo_data.one_shot_messages) between the system and the user message."})
    prefill: str = field(default="", metadata={"help": "Text the assistant turn starts with (e.g. "
                         "'<reasoning>\\n'); generation continues it and the format rewards get it as prefix."})
    prompt_length_quantile: float | None = field(default=None, metadata={"help": "Keep prompts up to this "
                                                 "length quantile (tutorial 2: 0.9); None = keep all."})
    eval_rows: int = field(default=0, metadata={"help": "Held-out rows for evaluation (0 = no evaluation)."})
    max_train_rows: int | None = field(default=None, metadata={"help": "Cap on training rows (None = all)."})
    seed: int | None = field(default=None, metadata={"help": "Shuffle/split/synthetic seed; None = run.seed."})


@dataclass
class EvaluationConfig:
    """Before/after evaluation on the held-out rows (see `grpo_training.evaluation`)."""

    before: bool = field(default=True, metadata={"help": "Evaluate the base model (the LoRA disabled) beside the "
                                                          "trained one."})
    after: bool = field(default=True, metadata={"help": "Evaluate base + LoRA after training."})
    task: str = field(default="xml", metadata={"help": "xml | think: which answer format is checked."})
    target_language: str | None = field(default=None, metadata={"help": "e.g. 'id': also report the rate "
                                        "of completions in this language."})
    temperature: float = field(default=0.8, metadata={"help": "Sampling temperature (tutorial 1: 0.8)."})
    top_p: float = field(default=0.95, metadata={"help": "Nucleus sampling (tutorial 1: 0.95)."})
    top_k: int = field(default=0, metadata={"help": "Top-k (0 = off; tutorial 2: 50)."})
    max_new_tokens: int = field(default=1024, metadata={"help": "Tokens per answer (tutorial 1: 1024)."})
    batch_size: int = field(default=16, metadata={"help": "Prompts per generate() call."})
    engine: str = field(default="auto", metadata={"help": "auto | vllm | hf: auto generates through the model's "
                        "vLLM engine when it has one (model.fast_inference on a GPU), else transformers' generate."})


@dataclass
class RunConfig:
    """Where a run writes, how it logs, and its seed. Owns GRPOConfig's output_dir, run_name,
    report_to and seed (set them here, not in `grpo`)."""

    output_dir: str = field(default="runs", metadata={"help": "Parent folder of run folders."})
    name: str | None = field(default=None, metadata={"help": "Run folder name; None = <recipe>-<timestamp>."})
    backend: str = field(default="auto", metadata={"help": "auto | trl | unsloth"})
    report_to: list[str] | str = field(default="swanlab", metadata={"help": "swanlab | none | any "
                                       "transformers integration (list allowed)."})
    swanlab_mode: str = field(default="local", metadata={"help": "local (no account, no network; logs in "
                              "<run>/swanlog) | cloud | offline | disabled"})
    swanlab_project: str = field(default="grpo-toolkit", metadata={"help": "SwanLab project name."})
    log_completions_every: int = field(default=5, metadata={"help": "Log sampled completions every N steps "
                                       "(0 = never)."})
    seed: int = field(default=3407, metadata={"help": "Seed for training, data and sampling."})
    signal_check_prompts: int = field(default=4, metadata={"help": "Learning-signal pre-flight: training prompts "
                                      "sampled num_generations times and scored before the first step (0 = skip)."})
    allow_flat_rewards: bool = field(default=False, metadata={"help": "Train even when the pre-flight finds every "
                                     "reward flat within every prompt's completions (nothing to learn from)."})
    longest_first: bool = field(default=True, metadata={"help": "Step 1 generates for the longest training prompts, "
                                "to the full completion budget, so a run that cannot hold them fails at its first step."})


SECTION_TYPES: dict[str, type] = {
    "model": ModelConfig,
    "lora": LoraConfig,
    "data": DataConfig,
    "evaluation": EvaluationConfig,
    "run": RunConfig,
}
SECTIONS = ("model", "lora", "grpo", "rewards", "data", "evaluation", "run")
LOADERS = ("gsm8k", "dapo")
BACKENDS = ("auto", "trl", "unsloth")
SWANLAB_MODES = ("local", "cloud", "offline", "disabled")


@dataclass
class Recipe:
    """A validated recipe. `grpo` stays a dict of `GRPOSettings` fields until a run builds the
    config (`grpo_training.recipe.grpo_args.plan_grpo_args`), because the run folder and the backend decide
    some values.

    Example:
        >>> recipe = Recipe()
        >>> recipe.model.max_seq_length
        512
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    lora: LoraConfig = field(default_factory=LoraConfig)
    grpo: dict[str, Any] = field(default_factory=dict)
    rewards: RewardsConfig = field(default_factory=RewardsConfig)
    data: DataConfig = field(default_factory=DataConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    run: RunConfig = field(default_factory=RunConfig)
    source_path: str | None = None

    @property
    def data_seed(self) -> int:
        """The data seed (data.seed, else run.seed)."""
        return self.run.seed if self.data.seed is None else self.data.seed

    def to_dict(self) -> dict[str, Any]:
        """Plain dict in the YAML schema (what `recipe.yaml` in a run folder holds)."""
        return {
            "model": dataclasses.asdict(self.model),
            "lora": dataclasses.asdict(self.lora),
            "grpo": dict(self.grpo),
            "rewards": {
                "funcs": [dataclasses.asdict(spec) for spec in self.rewards.funcs],
                "params": dict(self.rewards.params),
            },
            "data": dataclasses.asdict(self.data),
            "evaluation": dataclasses.asdict(self.evaluation),
            "run": dataclasses.asdict(self.run),
        }
