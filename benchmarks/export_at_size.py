"""Export at real size: each stage of `python -m grpo_export` in its own process, with its wall
time, peak host memory (RSS of the process tree, sampled every 0.5 s), peak GPU memory (NVML, every process
of the tree) and the disk it wrote.

    python benchmarks/export_at_size.py lora MODEL_DIR LORA_DIR --r 32 --alpha 64 [--targets q_proj ...]
    python benchmarks/export_at_size.py stage NAME --results R.jsonl [--measure PATH] -- COMMAND ...
    python benchmarks/export_at_size.py table R.jsonl [...]
    python benchmarks/export_at_size.py smoke WORK_DIR      (a tiny Llama through merge + GGUF f16/q8_0/q4_k_m)

`lora` writes a PEFT adapter for MODEL_DIR with random non-zero B matrices (a trained-looking LoRA: the
merge changes most weights) without loading the model. On a GPU machine without network access,
`device/install.sh export` runs lora, merged and GGUF as stages (device/README.md).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import threading
import time
from pathlib import Path

ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def write_lora(model_dir: Path, out: Path, r: int, alpha: int, targets: list[str], seed: int = 0) -> None:
    """A LoRA adapter folder for `model_dir` (shapes from its checkpoint headers), A ~ PEFT's Kaiming-uniform
    init, B ~ N(0, 0.02)."""
    import torch
    from safetensors.torch import save_file

    from grpo_export.safetensors_files import CheckpointReader

    reader = CheckpointReader(model_dir)
    generator = torch.Generator().manual_seed(seed)
    tensors = {}
    for key in reader.keys():
        module = key.removesuffix(".weight")
        if not key.endswith(".weight") or module.rsplit(".", 1)[-1] not in targets:
            continue
        out_features, in_features = reader.shape(key)
        bound = 1 / math.sqrt(in_features)
        tensors[f"base_model.model.{module}.lora_A.weight"] = (
            (torch.rand(r, in_features, generator=generator) * 2 - 1) * bound).to(torch.bfloat16)
        tensors[f"base_model.model.{module}.lora_B.weight"] = (
            torch.randn(out_features, r, generator=generator) * 0.02).to(torch.bfloat16)
    out.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out / "adapter_model.safetensors"), metadata={"format": "pt"})
    config = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": r, "lora_alpha": alpha, "lora_dropout": 0.0,
              "target_modules": targets, "bias": "none", "base_model_name_or_path": str(model_dir),
              "fan_in_fan_out": False, "use_rslora": False, "use_dora": False}
    (out / "adapter_config.json").write_text(json.dumps(config, indent=2))
    print(f"LoRA r{r} on {len(tensors) // 2} layers -> {out}")


def smoke(work: Path) -> None:
    """A tiny random Llama (widths of 256, the SmolLM2 tokenizer in .gpu-inputs) through the whole export: the
    device's first minute shows the code paths work before the large runs start."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig

    from grpo_export import merge, to_gguf

    tokenizer = AutoTokenizer.from_pretrained(Path(__file__).resolve().parents[1] / ".gpu-inputs" / "tok-smollm2")
    config = LlamaConfig(hidden_size=256, intermediate_size=512, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, vocab_size=len(tokenizer), tie_word_embeddings=True,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(config).to(torch.bfloat16).save_pretrained(work / "base")
    tokenizer.save_pretrained(work / "base")
    write_lora(work / "base", work / "lora", 8, 16, list(ALL_LINEAR))
    merged = merge(work / "base", work / "lora", work / "merged")
    report: list[dict] = []
    to_gguf(merged, work / "gguf", ["f16", "q8_0", "q4_k_m"], report=report)
    for figures in report:
        print(json.dumps({k: figures.get(k) for k in ("method", "relative_logit_error", "unavoidable_error", "ratio",
                                                     "passed")}))


def _tree(pid: int):
    import psutil

    try:
        parent = psutil.Process(pid)
        return [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _gpu_bytes(pids: set[int]) -> int:
    try:
        import pynvml

        pynvml.nvmlInit()
        used = 0
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            for proc in pynvml.nvmlDeviceGetComputeRunningProcesses(handle):
                if proc.pid in pids and proc.usedGpuMemory:
                    used += proc.usedGpuMemory
        return used
    except Exception:  # noqa: BLE001 - no NVML here: no GPU figure
        return 0


def _disk(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def run_stage(name: str, command: list[str], results: Path, measure: list[Path]) -> int:
    started = time.monotonic()
    process = subprocess.Popen(command)
    peaks = {"rss": 0, "gpu": 0}

    def sample() -> None:
        while process.poll() is None:
            tree = _tree(process.pid)
            rss = 0
            for proc in tree:
                try:
                    rss += proc.memory_info().rss
                except Exception:  # noqa: BLE001 - a child ended between listing and reading
                    pass
            peaks["rss"] = max(peaks["rss"], rss)
            peaks["gpu"] = max(peaks["gpu"], _gpu_bytes({p.pid for p in tree}))
            time.sleep(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = process.wait()
    sampler.join(timeout=2)
    record = {"stage": name, "rc": code, "wall_s": round(time.monotonic() - started, 1),
              "peak_rss_gib": round(peaks["rss"] / 2**30, 2), "peak_gpu_gib": round(peaks["gpu"] / 2**30, 2),
              "disk_gb": round(sum(_disk(p) for p in measure) / 1e9, 2), "command": " ".join(command)}
    with results.open("a") as handle:
        handle.write(json.dumps(record) + "\n")
    print(json.dumps(record), flush=True)
    return code


def table(paths: list[Path]) -> str:
    rows = [json.loads(line) for path in paths for line in path.read_text().splitlines() if line.strip()]
    lines = ["| stage | rc | wall | peak host RSS | peak GPU | disk written |", "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['stage']} | {row['rc']} | {row['wall_s']:.0f} s | {row['peak_rss_gib']:.1f} GiB | "
                     f"{row['peak_gpu_gib']:.1f} GiB | {row['disk_gb']:.1f} GB |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    lora = commands.add_parser("lora")
    lora.add_argument("model_dir", type=Path)
    lora.add_argument("out", type=Path)
    lora.add_argument("--r", type=int, default=16)
    lora.add_argument("--alpha", type=int, default=16)
    lora.add_argument("--targets", nargs="+", default=list(ALL_LINEAR))
    stage = commands.add_parser("stage")
    stage.add_argument("name")
    stage.add_argument("--results", type=Path, required=True)
    stage.add_argument("--measure", type=Path, action="append", default=[])
    smoke_test = commands.add_parser("smoke")
    smoke_test.add_argument("work", type=Path)
    show = commands.add_parser("table")
    show.add_argument("results", type=Path, nargs="+")
    argv = sys.argv[1:]
    command = argv[argv.index("--") + 1:] if "--" in argv else []
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    if args.command == "lora":
        write_lora(args.model_dir, args.out, args.r, args.alpha, args.targets)
        return 0
    if args.command == "smoke":
        smoke(args.work)
        return 0
    if args.command == "stage":
        return run_stage(args.name, command, args.results, args.measure)
    print(table(args.results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
