"""What a recipe needs on one GPU, from the recipe and the model's config.json alone (no weights are read).

The model is built on PyTorch's `meta` device from its config (shapes, no memory), which gives its exact
linear layers for any architecture. The plan adds, in GiB:

- weights: the base model's, 16-bit, or 4-bit (bitsandbytes NF4: 0.5 byte per linear weight plus one fp32
  scale per 64; embeddings, the output layer and any vision tower stay 16-bit);
- LoRA: its parameters and gradients (fp32) and the optimizer's two states (8-bit optimizers: 2 bytes per
  parameter, 32-bit ones 8);
- activations of the training pass under gradient checkpointing, for `per_device_train_batch_size`
  sequences of prompt + completion tokens: each layer's input kept (tokens x hidden x 2 bytes x layers; on the
  CPU under Unsloth's 'unsloth' checkpointing) and one layer recomputed with its gradients;
- logits of the loss: sequences x completion tokens x vocabulary x 4 bytes (TRL); Unsloth computes them one
  sequence at a time;
- generation: transformers' generate keeps a KV cache for the generation batch (layers x 2 x kv_heads x
  head_dim x tokens x 2 bytes), freed before the training pass; vLLM (Unsloth's `fast_inference`) holds its
  share of the card (`gpu_memory_utilization`) for its weights, that KV cache and its working memory (1 GiB
  plus its sampler's fp32 logits for the sequences it runs at once), and the training model uses vLLM's weights;
- CUDA: the context, kernels and, with vLLM, its CUDA graphs (one per batch size up to the sequences it runs at
  once, which Unsloth chooses from what the share leaves for the KV cache), beside what torch allocates; torch's
  caching allocator holds ~5 % over what the training pass allocates.

`plan_memory` returns a `MemoryPlan`: its rows, the total, the budget and whether it fits.

Example:
    >>> from grpo_training.recipe import Recipe
    >>> shape = ModelShape.from_config(tiny_llama_config())
    >>> plan = plan_memory(Recipe(), shape, budget=4 * GIB)
    >>> plan.fits, [row.name for row in plan.rows][:3]
    (True, ['weights', 'LoRA + optimizer', 'activations'])
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from grpo_training.memory_sizes import GIB
from grpo_training.recipe import RecipeError
from grpo_training.recipe.lengths import GRPOLengths

if TYPE_CHECKING:
    from grpo_training.recipe import Recipe

NF4_BYTES = 0.5 + 4 / 64  # 4-bit weight + one fp32 absmax per block of 64
CUDA_CONTEXT = 1.0 * GIB  # context, cuBLAS workspaces, kernels: outside torch's allocator
VLLM_WORKING = 1.0 * GIB  # vLLM's own activations inside its reservation, beside the sampler's logits
# vLLM's max_num_seqs as Unsloth chooses it (unsloth_zoo.vllm_utils, 256 asked): (GiB left for the KV cache at
# most, sequences); more than the last limit leaves vLLM's default, 256. vLLM's sampler profiles fp32 logits for
# that many sequences and captures a CUDA graph for each batch size up to it.
UNSLOTH_SEQUENCES = ((2, 8), (4, 16), (8, 32), (12, 48), (16, 64), (24, 80), (40, 96), (48, 112), (80, 128))
VLLM_DEFAULT_SEQUENCES = 256
# vLLM's CUDA graphs, beside its reservation: a fixed part and a part per layer x hidden size, for 8 and for 256
# sequences (linear between), fitted to what vLLM reported capturing ("Graph capturing finished ... took"):
# 0.21 GiB (1.07 B, 8 sequences), 0.64 (14.66 B, 8), 1.43, 1.71, 1.93 (4 B, 8 B, 14.66 B, 256).
VLLM_GRAPHS = {8: (0.128 * GIB, 2.50e-6 * GIB), 256: (1.068 * GIB, 4.25e-6 * GIB)}
ALLOCATOR_SLACK = 0.05  # torch's caching allocator: reserved over allocated in the training pass
EIGHT_BIT_OPTIMIZERS = ("adamw_8bit", "paged_adamw_8bit", "adamw_bnb_8bit", "paged_adam_8bit", "adam8bit",
                        "paged_lion_8bit", "lion_8bit", "ademamix_8bit", "paged_ademamix_8bit")
ALL_LINEAR = "all-linear"


@dataclass(frozen=True)
class ModelShape:
    """The sizes of a model that memory depends on, read from its config."""

    name: str
    quantizable: int  # weights of the linear layers bitsandbytes quantizes
    other: int  # embeddings, output layer, norms, vision tower: kept 16-bit
    linears: tuple[tuple[str, int, int], ...]  # (module name, in, out) of every decoder linear layer
    layers: int
    hidden: int
    intermediate: int
    attention: int  # heads x head_dim
    kv_heads: int
    head_dim: int
    vocab: int

    @property
    def parameters(self) -> int:
        return self.quantizable + self.other

    @classmethod
    def from_config(cls, config: Any, name: str = "") -> ModelShape:
        """Build the model on the meta device (no memory) and read its layers."""
        import torch
        from transformers import AutoModelForCausalLM

        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(config)
        text = getattr(config, "text_config", None) or config
        linears, quantizable, other = [], 0, 0
        for module_name, module in model.named_modules():
            if isinstance(module, torch.nn.Linear) and _in_decoder(module_name):
                linears.append((module_name, module.in_features, module.out_features))
        quantized = {module_name for module_name, _, _ in linears}
        for param_name, param in model.named_parameters():
            if param_name.rsplit(".", 1)[0] in quantized and param_name.endswith(".weight"):
                quantizable += param.numel()
            else:
                other += param.numel()
        heads = text.num_attention_heads
        head_dim = getattr(text, "head_dim", None) or text.hidden_size // heads
        return cls(name=name or getattr(config, "_name_or_path", "") or type(config).__name__,
                   quantizable=quantizable, other=other, linears=tuple(linears), layers=text.num_hidden_layers,
                   hidden=text.hidden_size, intermediate=getattr(text, "intermediate_size", 4 * text.hidden_size),
                   attention=heads * head_dim, kv_heads=getattr(text, "num_key_value_heads", None) or heads,
                   head_dim=head_dim, vocab=text.vocab_size)

    def lora_parameters(self, rank: int, targets: list[str] | str) -> int:
        """LoRA parameters on the targeted linear layers: rank x (in + out) each."""
        chosen = [(n, i, o) for n, i, o in self.linears
                  if targets == ALL_LINEAR or n.rsplit(".", 1)[-1] in set(targets)]
        return sum(rank * (i + o) for _, i, o in chosen)

    def kv_bytes_per_token(self) -> int:
        return self.layers * 2 * self.kv_heads * self.head_dim * 2


def _in_decoder(module_name: str) -> bool:
    """A linear layer of the language model's decoder (not the output layer, not a vision tower)."""
    leaf = module_name.rsplit(".", 1)[-1]
    return leaf != "lm_head" and "vision" not in module_name and "multi_modal" not in module_name


def read_model_shape(recipe: Recipe) -> ModelShape:
    """The recipe's model's shape, from its config.json (a local folder, or fetched alone from the Hub)."""
    from transformers import AutoConfig

    name = recipe.model.name
    if not name:
        from grpo_training.embedded import embedded_model_path

        name = str(embedded_model_path())
    try:
        config = AutoConfig.from_pretrained(name, trust_remote_code=recipe.model.trust_remote_code)
    except (OSError, ValueError) as error:
        reason = str(error).strip().splitlines()[0]
        raise RecipeError(f"model.name: cannot read the config.json of {name!r} for the memory plan ({reason}); give "
                          "a local model folder or a Hub id this machine can reach") from None
    return ModelShape.from_config(config, name=recipe.model.name or "embedded SmolLM2-135M-Instruct")


# ------------------------------------------------------------------------------------ settings


@dataclass(frozen=True)
class StepShape:
    """What one GRPO step holds, from the recipe's `grpo` section (TRL's defaults where unset)."""

    sequences: int  # per device per optimizer micro-step (TRL: completions, not prompts)
    generation_sequences: int  # completions generated at once
    prompt: int
    completion: int
    completion_known: bool

    @property
    def tokens(self) -> int:
        return self.prompt + self.completion

    @classmethod
    def from_recipe(cls, recipe: Recipe) -> StepShape:
        grpo = recipe.grpo
        generations = int(grpo.get("num_generations") or 8)
        batch = int(grpo.get("per_device_train_batch_size") or 8)
        accumulation = int(grpo.get("gradient_accumulation_steps") or 1)
        explicit = grpo.get("generation_batch_size") or grpo.get("steps_per_generation")
        if not explicit and (batch * accumulation) % generations:
            batch = math.ceil(batch / generations) * generations  # as grpo_args raises it
        if grpo.get("generation_batch_size"):
            generation = int(grpo["generation_batch_size"])
        else:
            generation = batch * int(grpo.get("steps_per_generation") or accumulation)
        lengths = GRPOLengths.from_recipe(recipe)
        prompt, completion = lengths.longest_step()
        return cls(batch, generation, prompt, completion, lengths.max_completion_length is not None)


def optimizer_bytes(optim: str) -> int:
    """Bytes of optimizer state per trainable parameter (Adam's two moments)."""
    if optim in EIGHT_BIT_OPTIMIZERS:
        return 2
    if optim in ("sgd",):
        return 0
    return 8


# ------------------------------------------------------------------------------------ the plan


@dataclass(frozen=True)
class PlanRow:
    name: str
    bytes: float
    detail: str


@dataclass
class MemoryPlan:
    """The plan's rows (GiB figures), its total and the budget it is checked against."""

    model: str
    rows: list[PlanRow]
    total: float
    training: float  # what the training pass holds beside vLLM (weights when no vLLM)
    vllm_need: float  # vLLM's weights + the generation batch's KV cache + its working memory (0: no vLLM)
    vllm_share: float | None  # gpu_memory_utilization handed to vLLM
    card: float | None  # bytes of the card (None: not known, e.g. on a CPU without model.gpu_memory)
    budget: float | None  # bytes the run may use: model.gpu_memory, else the card
    notes: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)

    @property
    def fits(self) -> bool:
        return self.budget is None or self.total <= self.budget

    def table(self) -> str:
        """The plan as a small text table."""
        width = max(len(row.name) for row in self.rows)
        lines = [f"Memory plan for {self.model}:"]
        lines += [f"  {row.name:<{width}}  {row.bytes / GIB:6.2f} GiB  {row.detail}" for row in self.rows]
        lines.append(f"  {'total':<{width}}  {self.total / GIB:6.2f} GiB  " + self.verdict())
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def verdict(self) -> str:
        if self.budget is None:
            return "(no GPU found and no model.gpu_memory given: not checked)"
        where = f"{self.budget / GIB:.1f} GiB"
        if self.fits:
            return f"fits {where}" + (f" (vLLM gpu_memory_utilization {self.vllm_share:.2f})" if self.vllm_share else "")
        return f"does NOT fit {where}" + (f"; fits with: {'; '.join(self.suggestions)}" if self.suggestions else
                                          "; no single change found: combine them or use a larger card")

    def to_dict(self) -> dict[str, Any]:
        gib = lambda value: None if value is None else round(value / GIB, 3)  # noqa: E731
        return {"model": self.model, "rows": {row.name: {"gib": gib(row.bytes), "detail": row.detail} for row in self.rows},
                "total_gib": gib(self.total), "budget_gib": gib(self.budget), "card_gib": gib(self.card),
                "vllm_gpu_memory_utilization": self.vllm_share, "fits": self.fits, "notes": self.notes,
                "suggestions": self.suggestions}


def uses_vllm(recipe: Recipe, backend: str) -> bool:
    """Unsloth starts a vLLM engine (`model.fast_inference` on the unsloth backend), whether it generates the
    rollouts (`grpo.use_vllm`) or only the evaluation."""
    return backend == "unsloth" and recipe.model.fast_inference


def plan_memory(recipe: Recipe, shape: ModelShape, *, budget: float | None = None, card: float | None = None,
                backend: str = "unsloth", suggest: bool = True) -> MemoryPlan:
    """The memory plan of `recipe` on `shape`.

    Args:
        budget: bytes the run may use (None: not checked).
        card: bytes of the whole card (vLLM's share is a fraction of it); None: the budget.
        backend: "unsloth" (chunked logits, offloaded checkpointing, vLLM when asked) or "trl".
        suggest: when it does not fit, try fewer generations, a shorter context, 4-bit, vLLM's auto share.
    """
    card = card if card is not None else budget
    step = StepShape.from_recipe(recipe)
    weight_bytes = 4 if recipe.model.dtype == "float32" else 2
    four_bit = recipe.model.load_in_4bit
    rows: list[PlanRow] = []
    notes: list[str] = []

    weights = shape.quantizable * (NF4_BYTES if four_bit else weight_bytes) + shape.other * weight_bytes
    rows.append(PlanRow("weights", weights, f"{shape.parameters / 1e9:.2f} B parameters, "
                        f"{'4-bit' if four_bit else f'{8 * weight_bytes}-bit'}"))
    lora_params = shape.lora_parameters(recipe.lora.r, recipe.lora.target_modules)
    optim = str(recipe.grpo.get("optim", "adamw_torch"))
    lora = lora_params * (4 + 4 + optimizer_bytes(optim))
    rows.append(PlanRow("LoRA + optimizer", lora, f"{lora_params / 1e6:.1f} M parameters r{recipe.lora.r}, "
                        f"gradients, {optim}"))

    tokens = step.sequences * step.tokens
    per_token_layer = 2 * (4 * shape.hidden + 2 * shape.attention + 2 * shape.kv_heads * shape.head_dim
                           + 3 * shape.intermediate) + 2 * (shape.hidden + 2 * shape.intermediate)
    checkpointing = recipe.lora.gradient_checkpointing
    if checkpointing == "unsloth" and backend == "unsloth":
        kept, how = 2 * tokens * shape.hidden * 2, "layer inputs offloaded to the CPU"
    elif checkpointing:
        kept, how = shape.layers * tokens * shape.hidden * 2, "checkpointed"
    else:
        kept, how = (shape.layers - 1) * tokens * per_token_layer, "no checkpointing: every layer kept"
    activations = kept + tokens * per_token_layer
    rows.append(PlanRow("activations", activations, f"{step.sequences} x {step.tokens} tokens, {how}"))

    chunked = backend == "unsloth"
    logit_sequences = 1 if chunked else step.sequences
    logits = logit_sequences * step.completion * shape.vocab * 4
    rows.append(PlanRow("logits", logits, f"{logit_sequences} x {step.completion} x {shape.vocab:,} vocab x 4 bytes"
                        + (" (one sequence at a time)" if chunked else "")))
    if not step.completion_known:
        notes.append(f"prompt and completion budgets are set after tokenizing: counted as {step.tokens} tokens")

    kv_need = step.generation_sequences * step.tokens * shape.kv_bytes_per_token()
    training_pass = (lora + activations + logits) * (1 + ALLOCATOR_SLACK)
    vllm = uses_vllm(recipe, backend)
    share: float | None = None
    vllm_need = 0.0
    if vllm:
        sequences = vllm_sequences(weights + kv_need + VLLM_WORKING, weights, shape)  # before the share is known
        vllm_need = weights + kv_need + _vllm_working(sequences, shape)
        share, reserved = _vllm_share(recipe, vllm_need, card)
        sequences = vllm_sequences(reserved, weights, shape)
        working = _vllm_working(sequences, shape)
        rows.append(PlanRow("vLLM", reserved, f"gpu_memory_utilization {share:.2f}: weights (shared with training) "
                            f"+ KV cache {kv_need / GIB:.2f} GiB for {step.generation_sequences} x {step.tokens} tokens "
                            f"+ {working / GIB:.1f} GiB working memory ({sequences} sequences at once)"))
        rows[0] = PlanRow("weights", 0.0, rows[0].detail + f" ({weights / GIB:.2f} GiB, inside vLLM's share)")
        if reserved < vllm_need:
            notes.append(f"vLLM's share {reserved / GIB:.2f} GiB is below the {vllm_need / GIB:.2f} GiB its weights and "
                         "the generation batch's KV cache need: it generates fewer sequences at once")
        context = CUDA_CONTEXT + vllm_graphs(sequences, shape)
        training = training_pass
        total = reserved + training_pass + context
    else:
        generation = kv_need + step.generation_sequences * shape.vocab * 4
        rows.append(PlanRow("generation", generation, f"KV cache for {step.generation_sequences} x {step.tokens} "
                            "tokens (transformers' generate; freed before the training pass)"))
        context = CUDA_CONTEXT
        training = weights + max(training_pass, generation * (1 + ALLOCATOR_SLACK))
        total = training + context
    rows.append(PlanRow("CUDA", context, "context and kernels" + (", vLLM's CUDA graphs" if vllm else "")))
    plan = MemoryPlan(model=shape.name, rows=rows, total=total, training=training, vllm_need=vllm_need,
                      vllm_share=share, card=card, budget=budget, notes=notes)
    if suggest and not plan.fits:
        plan.suggestions = _suggestions(recipe, shape, budget, card, backend)
    return plan


def vllm_sequences(reserved: float, weights: float, shape: ModelShape) -> int:
    """vLLM's max_num_seqs as Unsloth chooses it from the bytes `reserved` leaves for the KV cache, after the
    weights and Unsloth's own estimate of the CUDA graphs (172 graphs of layers x hidden x 4 bytes, 0.15-1 GiB).

    Example:
        >>> shape = ModelShape.from_config(tiny_llama_config())
        >>> vllm_sequences(1 * GIB, 0, shape), vllm_sequences(100 * GIB, 0, shape)
        (8, 256)
    """
    graphs = min(max(172 * shape.layers * shape.hidden * 4, 0.15 * GIB), 1.0 * GIB)
    left = (reserved - weights - graphs) / GIB
    return next((sequences for limit, sequences in UNSLOTH_SEQUENCES if left <= limit), VLLM_DEFAULT_SEQUENCES)


def vllm_graphs(sequences: int, shape: ModelShape) -> float:
    """Bytes of vLLM's CUDA graphs for batch sizes up to `sequences`, on `shape` (`VLLM_GRAPHS`)."""
    low, high = VLLM_GRAPHS[8], VLLM_GRAPHS[256]
    weight = (min(max(sequences, 8), 256) - 8) / (256 - 8)
    fixed, per_layer_width = (a + weight * (b - a) for a, b in zip(low, high))
    return fixed + per_layer_width * shape.layers * shape.hidden


def _vllm_working(sequences: int, shape: ModelShape) -> float:
    """vLLM's working memory inside its share: activations and its sampler's fp32 logits (twice) per sequence."""
    return VLLM_WORKING + sequences * shape.vocab * 4 * 2


def _vllm_share(recipe: Recipe, need: float, card: float | None) -> tuple[float, float]:
    """(gpu_memory_utilization, bytes vLLM reserves): the recipe's fraction, or for `auto` the need over the card."""
    value = recipe.model.gpu_memory_utilization
    if value != "auto":
        return float(value), float(value) * card if card else need
    if not card:
        return 0.0, need
    share = min(math.ceil(need / card * 100) / 100, 0.95)
    return share, share * card


def _suggestions(recipe: Recipe, shape: ModelShape, budget: float, card: float | None, backend: str) -> list[str]:
    """Single changes that make the recipe fit, each with its total."""
    found = []
    for label, changed in _alternatives(recipe):
        plan = plan_memory(changed, shape, budget=budget, card=card, backend=backend, suggest=False)
        if plan.fits:
            found.append(f"{label} ({plan.total / GIB:.1f} GiB)")
    return found


def _alternatives(recipe: Recipe) -> list[tuple[str, Recipe]]:
    out = []
    if recipe.model.gpu_memory_utilization != "auto" and recipe.model.fast_inference:
        changed = copy.deepcopy(recipe)
        changed.model.gpu_memory_utilization = "auto"
        out.append(("model.gpu_memory_utilization=auto", changed))
    if not recipe.model.load_in_4bit:
        changed = copy.deepcopy(recipe)
        changed.model.load_in_4bit = True
        out.append(("model.load_in_4bit=true", changed))
    generations = int(recipe.grpo.get("num_generations") or 8)
    for fewer in sorted({max(2, generations // 2), max(2, generations // 4)}, reverse=True):
        if fewer < generations:
            changed = copy.deepcopy(recipe)
            batch = int(changed.grpo.get("per_device_train_batch_size") or 8)
            changed.grpo.update(num_generations=fewer, per_device_train_batch_size=min(batch, fewer))
            out.append((f"grpo.num_generations={fewer} grpo.per_device_train_batch_size={min(batch, fewer)}", changed))
    lengths = GRPOLengths.from_recipe(recipe)
    for shorter in (lengths.max_seq_length * 3 // 4, lengths.max_seq_length // 2):
        changed = copy.deepcopy(recipe)
        changed.model.max_seq_length = shorter
        label = f"model.max_seq_length={shorter}"
        completion = lengths.completion_for_context(shorter)
        if completion is not None:
            changed.grpo["max_completion_length"] = completion
            label += f" grpo.max_completion_length={completion}"
        try:
            GRPOLengths.from_recipe(changed)
        except RecipeError:
            continue  # the prompt budget fills the shorter context: the recipe check would refuse it
        out.append((label, changed))
    return out


def tiny_llama_config() -> Any:
    """A small Llama config (for examples and tests)."""
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=1000, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2)
