"""Recipe configuration: dataclasses for each YAML section, loading, command-line overrides, validation.

A recipe is one YAML file with the sections `model`, `lora`, `grpo`, `rewards`, `data`, `evaluation`
and `run`. The `grpo` section holds fields of TRL's `GRPOConfig` (extended by `GRPOSettings` with
the few fields the tutorials set that TRL 1.14.2 does not have); every other section is one of the
small dataclasses below. `load_recipe` reads the file, applies `--set section.field=value` overrides,
and checks every field name, type, reward name, system prompt and data path, so a bad recipe fails
before any model is loaded, naming the field.

Example:
    >>> recipe = load_recipe(DEMO_RECIPE, ["grpo.max_steps=2"])
    >>> recipe.grpo["max_steps"]
    2
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import logging
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from trl import GRPOConfig

from grpo_training.recipe_files import DEMO_RECIPE, RECIPES_DIR  # noqa: F401  (re-exported: the public names)
from grpo_training.recipe_ranges import check_recipe_ranges

logger = logging.getLogger(__name__)


class RecipeError(ValueError):
    """A recipe is invalid; the message names the field (`section.field`) and what is expected."""


# --------------------------------------------------------------------------------------- sections


@dataclass
class ModelConfig:
    """Which model to load and how (the tutorials' `FastLanguageModel.from_pretrained` arguments)."""

    name: str | None = field(default=None, metadata={"help": "Hub id or local folder; None = the embedded "
                             "SmolLM2-135M-Instruct when no GPU is present (an error on a GPU)."})
    max_seq_length: int = field(default=512, metadata={"help": "Prompt + completion token budget."})
    load_in_4bit: bool = field(default=False, metadata={"help": "bitsandbytes 4-bit base weights (GPU only)."})
    fast_inference: bool = field(default=False, metadata={"help": "Unsloth: generate with vLLM (needs vllm)."})
    gpu_memory_utilization: float = field(default=0.7, metadata={"help": "Unsloth/vLLM share of GPU memory."})
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
class GRPOSettings(GRPOConfig):
    """TRL's `GRPOConfig` plus the tutorial fields that TRL 1.14.2 lacks.

    Defaults differ from TRL's in two places: `max_completion_length` is None (derived as
    `model.max_seq_length - max_prompt_length`), and `output_dir` is set by the run.
    """

    max_prompt_length: int | None = field(default=None, metadata={"help": "Prompt token budget. Not a TRL "
                                          "field: applied by dropping longer prompts (counted and logged); None = "
                                          "derived from data.prompt_length_quantile or the longest prompt."})
    warmup_ratio: float | None = field(default=None, metadata={"help": "Fraction of steps to warm up; "
                                       "transformers 5 has no warmup_ratio, so it is passed as a float "
                                       "warmup_steps < 1."})
    vllm_sampling_kwargs: dict | None = field(default=None, metadata={"help": "Extra vLLM SamplingParams "
                                              "arguments for the unsloth backend (seed, stop, "
                                              "include_stop_str_in_output); '{eos_token}' in stop becomes the "
                                              "tokenizer's EOS. min_p/top_p/top_k/temperature come from the "
                                              "GRPOConfig fields."})
    max_completion_length: int | None = field(default=None, metadata={"help": "Completion token budget; "
                                              "None = model.max_seq_length - max_prompt_length."})


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

    before: bool = field(default=True, metadata={"help": "Evaluate the base model before training."})
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


# GRPOConfig fields that other sections own: one source of truth for each value.
OWNED_ELSEWHERE = {
    "output_dir": "run.output_dir",
    "run_name": "run.name",
    "report_to": "run.report_to",
    "seed": "run.seed",
    "gradient_checkpointing": "lora.gradient_checkpointing",
    "reward_weights": "rewards[].weight",
}

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
    config (`grpo_training.grpo_args.build_grpo_args`), because the run folder and the backend decide
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


# ----------------------------------------------------------------------------------- type checks


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def coerce_value(value: Any, annotation: Any, where: str) -> Any:
    """Return `value` as `annotation` (str -> int/float/bool where unambiguous), or raise RecipeError.

    Example:
        >>> coerce_value("5e-6", float, "grpo.learning_rate")
        5e-06
        >>> coerce_value("yes", int, "grpo.max_steps")
        Traceback (most recent call last):
        ...
        grpo_training.config.RecipeError: grpo.max_steps: expected int, got str 'yes'
    """
    origin = typing.get_origin(annotation)
    if annotation is Any or annotation is typing.Any:
        return value
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if value is None and type(None) in options:
            return None
        errors = []
        # Try exact-type matches first so that "5" stays a str for `str | int` fields.
        for option in sorted(options, key=lambda o: 0 if _exact_match(value, o) else 1):
            if option is type(None):
                continue
            try:
                return coerce_value(value, option, where)
            except RecipeError as error:
                errors.append(error)
        raise RecipeError(f"{where}: expected {_type_name(annotation)}, got {type(value).__name__} {value!r}")
    if origin in (list, tuple) or annotation in (list, tuple):
        if isinstance(value, str) and origin is list:  # a single name where a list is expected
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise RecipeError(f"{where}: expected a list, got {type(value).__name__} {value!r}")
        args = typing.get_args(annotation)
        if args and origin is list:
            return [coerce_value(item, args[0], f"{where}[{index}]") for index, item in enumerate(value)]
        return list(value)
    if origin is dict or annotation is dict:
        if not isinstance(value, dict):
            raise RecipeError(f"{where}: expected a mapping, got {type(value).__name__} {value!r}")
        return dict(value)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        allowed = [member.value for member in annotation]
        if isinstance(value, annotation):
            return value
        if value in allowed:
            return annotation(value)
        raise RecipeError(f"{where}: expected one of {allowed}, got {value!r}")
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise RecipeError(f"{where}: expected bool, got {type(value).__name__} {value!r}")
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        raise RecipeError(f"{where}: expected int, got {type(value).__name__} {value!r}")
    if annotation is float:
        if isinstance(value, int) and not isinstance(value, bool):
            return value  # an int is a valid float; keeps `save_steps: 10` an int
        if isinstance(value, float):
            return value
        if isinstance(value, str):
            try:
                return float(value)  # PyYAML reads "5e-6" (no dot) as a string
            except ValueError:
                pass
        raise RecipeError(f"{where}: expected float, got {type(value).__name__} {value!r}")
    if annotation is str:
        if isinstance(value, str):
            return value
        raise RecipeError(f"{where}: expected str, got {type(value).__name__} {value!r}")
    return value  # anything exotic (callables, configs): left to the library to check


def _exact_match(value: Any, option: Any) -> bool:
    if option is float:
        return isinstance(value, float)
    if option is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(option, type) and isinstance(value, option)


def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(cls) if f.init}


def grpo_field_types() -> dict[str, Any]:
    """Field name -> type of every field of `GRPOSettings` (TRL's GRPOConfig plus ours).

    Example:
        >>> grpo_field_types()["learning_rate"]
        <class 'float'>
    """
    return _field_types(GRPOSettings)


def _build_section(cls: type, values: Any, section: str) -> Any:
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise RecipeError(f"{section}: expected a mapping of fields, got {type(values).__name__} {values!r}")
    types_ = _field_types(cls)
    unknown = sorted(set(values) - set(types_))
    if unknown:
        raise RecipeError(
            f"{section}.{unknown[0]}: unknown field; {section} fields are: {', '.join(sorted(types_))}"
        )
    return cls(**{name: coerce_value(value, types_[name], f"{section}.{name}") for name, value in values.items()})


def _build_grpo(values: Any) -> dict[str, Any]:
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise RecipeError(f"grpo: expected a mapping of GRPOConfig fields, got {type(values).__name__}")
    types_ = grpo_field_types()
    result = {}
    for name, value in values.items():
        if name in OWNED_ELSEWHERE:
            raise RecipeError(f"grpo.{name}: set {OWNED_ELSEWHERE[name]} instead (one place for each value)")
        if name not in types_:
            close = difflib.get_close_matches(name, list(types_), n=3)
            hint = f"; similar fields: {', '.join(close)}" if close else ""
            raise RecipeError(f"grpo.{name}: unknown field, not in TRL 1.14.2's GRPOConfig nor ours{hint}")
        result[name] = coerce_value(value, types_[name], f"grpo.{name}")
    return result


def _build_rewards(values: Any) -> RewardsConfig:
    """Accepts a list of names / {name, weight, params}, or {funcs|names: [...], weights, params}."""
    shared: dict[str, Any] = {}
    weights = None
    if values is None:
        return RewardsConfig()
    if isinstance(values, dict):
        unknown = sorted(set(values) - {"funcs", "names", "weights", "params"})
        if unknown:
            raise RecipeError(f"rewards.{unknown[0]}: unknown field; use funcs (or names), weights, params")
        shared = coerce_value(values.get("params") or {}, dict, "rewards.params")
        weights = values.get("weights")
        items = values.get("funcs", values.get("names", []))
    else:
        items = values
    if not isinstance(items, list):
        raise RecipeError(f"rewards: expected a list of reward names or {{name, weight, params}}, got {items!r}")
    specs = []
    for index, item in enumerate(items):
        where = f"rewards[{index}]"
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict):
            raise RecipeError(f"{where}: expected a reward name or {{name, weight, params}}, got {item!r}")
        specs.append(_build_section(RewardSpec, item, where) if "name" in item else None)
        if specs[-1] is None:
            raise RecipeError(f"{where}.name: missing; every reward needs a name")
    if weights is not None:
        weights = coerce_value(weights, list[float], "rewards.weights")
        if len(weights) != len(specs):
            raise RecipeError(f"rewards.weights: {len(weights)} weights for {len(specs)} rewards")
        for spec, weight in zip(specs, weights):
            spec.weight = weight
    return RewardsConfig(funcs=specs, params=shared)


# ------------------------------------------------------------------------------------ overrides


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split `section.field=value` into the path and a YAML-parsed value.

    Example:
        >>> parse_override("grpo.learning_rate=1e-5")
        (['grpo', 'learning_rate'], '1e-5')
        >>> parse_override("lora.target_modules=[q_proj, v_proj]")
        (['lora', 'target_modules'], ['q_proj', 'v_proj'])
    """
    if "=" not in text:
        raise RecipeError(f"override {text!r}: expected section.field=value (e.g. grpo.learning_rate=1e-5)")
    path, raw = text.split("=", 1)
    keys = [key for key in path.strip().split(".") if key]
    if len(keys) < 2:
        raise RecipeError(f"override {text!r}: expected section.field=value (e.g. grpo.learning_rate=1e-5)")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return keys, value


def apply_overrides(raw: dict[str, Any], overrides: list[str] | None) -> dict[str, Any]:
    """Set each `section.field=value` (list items by index: `rewards.0.weight=2`) in the raw recipe dict."""
    for text in overrides or []:
        keys, value = parse_override(text)
        node: Any = raw
        for depth, key in enumerate(keys[:-1]):
            if isinstance(node, list):
                node = node[_list_index(node, key, keys[: depth + 1])]
            else:
                if node.get(key) is None:
                    node[key] = {}
                node = node[key]
        last = keys[-1]
        if isinstance(node, list):
            node[_list_index(node, last, keys)] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            raise RecipeError(f"override {text!r}: {'.'.join(keys[:-1])} is not a section")
    return raw


def _list_index(node: list, key: str, path: list[str]) -> int:
    if not key.isdigit() or int(key) >= len(node):
        raise RecipeError(f"override path {'.'.join(path)}: {key!r} is not an index of a {len(node)}-item list")
    return int(key)


# ------------------------------------------------------------------------------------- loading


def recipe_from_dict(raw: dict[str, Any], *, source_path: str | None = None, check_files: bool = True) -> Recipe:
    """Build and validate a `Recipe` from a dict in the YAML schema.

    Example:
        >>> recipe_from_dict({"grpo": {"max_stepz": 3}})
        Traceback (most recent call last):
        ...
        grpo_training.config.RecipeError: grpo.max_stepz: unknown field, not in TRL 1.14.2's GRPOConfig nor ours; similar fields: max_steps, save_steps, eval_steps
    """
    if not isinstance(raw, dict):
        raise RecipeError(f"recipe: expected a mapping with sections {', '.join(SECTIONS)}, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise RecipeError(f"{unknown[0]}: unknown section; sections are {', '.join(SECTIONS)}")
    recipe = Recipe(
        model=_build_section(ModelConfig, raw.get("model"), "model"),
        lora=_build_section(LoraConfig, raw.get("lora"), "lora"),
        grpo=_build_grpo(raw.get("grpo")),
        rewards=_build_rewards(raw.get("rewards")),
        data=_build_section(DataConfig, raw.get("data"), "data"),
        evaluation=_build_section(EvaluationConfig, raw.get("evaluation"), "evaluation"),
        run=_build_section(RunConfig, raw.get("run"), "run"),
        source_path=source_path,
    )
    validate_recipe(recipe, check_files=check_files, base_dir=Path(source_path).parent if source_path else None)
    return recipe


def load_recipe(path: str | Path, overrides: list[str] | None = None, *, check_files: bool = True) -> Recipe:
    """Read a YAML recipe, apply `section.field=value` overrides, validate it (no model is loaded).

    Args:
        path: the YAML file.
        overrides: e.g. `["grpo.learning_rate=1e-5", "data.source=/data/gsm8k"]`.
        check_files: check that a local data source exists.

    Raises:
        RecipeError: naming the field that is wrong and what is expected.

    Example:
        >>> load_recipe(DEMO_RECIPE, ["data.loader=mnist"])
        Traceback (most recent call last):
        ...
        grpo_training.config.RecipeError: data.loader: 'mnist' is not a loader; expected one of gsm8k, dapo
    """
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"recipe file {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise RecipeError(f"recipe file {path} is not valid YAML: {error}") from None
    raw = apply_overrides(raw, overrides)
    return recipe_from_dict(raw, source_path=str(path), check_files=check_files)


def validate_recipe(recipe: Recipe, *, check_files: bool = True, base_dir: Path | None = None) -> None:
    """Cross-field checks that need no model: names that must exist, values in range
    (`grpo_training.recipe_ranges`), files present."""
    from grpo_rewards import REWARDS, reward_params

    data = recipe.data
    if data.loader not in LOADERS:
        raise RecipeError(f"data.loader: {data.loader!r} is not a loader; expected one of {', '.join(LOADERS)}")
    if data.source != "synthetic" and check_files and looks_like_path(data.source):
        resolved = resolve_data_source(data.source, base_dir)
        if not resolved.exists():
            raise RecipeError(f"data.source: {data.source!r} does not exist (looked at {resolved}); give a Hub id, "
                              "an existing .jsonl/.json/.parquet file or folder, or 'synthetic'")
    if data.one_shot and data.loader != "gsm8k":
        raise RecipeError(f"data.one_shot: tutorial 1's one-shot example is for the gsm8k loader, not {data.loader!r}; "
                          "set data.one_shot=false")
    if not recipe.rewards.funcs:
        raise RecipeError("rewards: no reward functions; list at least one of " + ", ".join(sorted(REWARDS)))
    for index, spec in enumerate(recipe.rewards.funcs):
        if ":" in spec.name:  # an import path: grpo_training.custom_rewards checks it below
            continue
        if spec.name not in REWARDS:
            raise RecipeError(f"rewards[{index}].name: unknown reward {spec.name!r}; known: {', '.join(sorted(REWARDS))}")
        accepted = reward_params(spec.name)
        for param in spec.params:
            if param not in accepted:
                raise RecipeError(f"rewards[{index}].params.{param}: reward {spec.name!r} takes no such parameter; "
                                  f"it takes: {', '.join(accepted)}")
    if check_files and any(":" in spec.name for spec in recipe.rewards.funcs):
        from grpo_training.custom_rewards import check_imported_rewards

        check_imported_rewards(recipe, base_dir)
    if recipe.run.backend not in BACKENDS:
        raise RecipeError(f"run.backend: {recipe.run.backend!r}; expected one of {', '.join(BACKENDS)}")
    if recipe.run.swanlab_mode not in SWANLAB_MODES:
        raise RecipeError(f"run.swanlab_mode: {recipe.run.swanlab_mode!r}; expected one of {', '.join(SWANLAB_MODES)}")
    if recipe.evaluation.task not in ("xml", "think"):
        raise RecipeError(f"evaluation.task: {recipe.evaluation.task!r}; expected xml or think")
    if recipe.evaluation.engine not in ("auto", "vllm", "hf"):
        raise RecipeError(f"evaluation.engine: {recipe.evaluation.engine!r}; expected auto, vllm or hf")
    if recipe.model.dtype not in (None, "auto", "float32", "bfloat16", "float16"):
        raise RecipeError(f"model.dtype: {recipe.model.dtype!r}; expected float32, bfloat16, float16 or auto")
    if recipe.lora.gradient_checkpointing not in (True, False, "unsloth"):
        raise RecipeError(f"lora.gradient_checkpointing: {recipe.lora.gradient_checkpointing!r}; expected "
                          "true, false or 'unsloth'")
    check_recipe_ranges(recipe)  # every ranged value, e.g. learning rate > 0, max_steps >= 1 or -1
    grpo = recipe.grpo
    if grpo.get("max_prompt_length") and grpo.get("max_completion_length"):
        total = grpo["max_prompt_length"] + grpo["max_completion_length"]
        if total > recipe.model.max_seq_length:
            logger.warning("grpo.max_prompt_length + grpo.max_completion_length = %d exceeds model.max_seq_length = %d",
                           total, recipe.model.max_seq_length)
    if data.system_prompt is not None:
        resolve_system_prompt_text(data.system_prompt)


def looks_like_path(source: str) -> bool:
    """True when a data source names a local file or folder rather than a Hub id.

    Example:
        >>> looks_like_path("openai/gsm8k"), looks_like_path("./data/train.jsonl")
        (False, True)
    """
    if source.startswith((".", "/", "~")) or source.endswith((".jsonl", ".json", ".parquet")):
        return True
    return Path(source).expanduser().exists()


def resolve_data_source(source: str, base_dir: Path | None = None) -> Path:
    """A local data source as a path (relative paths: from the working directory, else the recipe's folder)."""
    path = Path(source).expanduser()
    if not path.is_absolute() and not path.exists() and base_dir is not None and (base_dir / path).exists():
        return base_dir / path
    return path


def resolve_system_prompt_text(value: str) -> str:
    """A `grpo_data.SYSTEM_PROMPTS` name -> its text; any other string is the literal prompt.

    Example:
        >>> resolve_system_prompt_text("Answer briefly.")
        'Answer briefly.'
    """
    from grpo_data import SYSTEM_PROMPTS

    return SYSTEM_PROMPTS.get(value, value)


def dump_recipe(recipe: Recipe, path: str | Path) -> Path:
    """Write the recipe as YAML (atomically) and return the path."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(yaml.safe_dump(recipe.to_dict(), sort_keys=False, allow_unicode=True), encoding="utf-8")
    tmp.replace(path)
    return path
