"""Measuring a GRPO run on a GPU: seconds per optimizer step, rollout time and tokens, peak memory.

Shared by `gpu_grpo.py` (paths a, c, d) and `tutorial1_raw_unsloth.py` (path b) so every path is
measured by the same code. Times are taken between `torch.cuda.synchronize()` calls.

Example:
    >>> clock = StepClock()                                   # doctest: +SKIP
    >>> trainer.add_callback(clock); time_rollouts(trainer, clock); trainer.train()  # doctest: +SKIP
    >>> write_measurement("out.json", clock, path="b", model_dir="/tmp/models/llama-1b")  # doctest: +SKIP
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback

GIB = 1024**3


class StepClock(TrainerCallback):
    """Per optimizer step: wall seconds, rollout seconds and generated tokens, the seconds Python's
    garbage collector paused the step (and the rollout); every training log; and, at the first rollout,
    the process facts that can slow a launch-bound rollout (live threads, gc state, torch settings)."""

    def __init__(self, progress_file: str | Path | None = None) -> None:
        self.progress_file = Path(progress_file) if progress_file else None
        self.step_seconds: list[float] = []
        self.rollout_seconds: list[float] = []
        self.rollout_tokens: list[int] = []
        self.gc_seconds: list[float] = []
        self.rollout_gc_seconds: list[float] = []
        self.logs: list[dict[str, Any]] = []
        self.process_facts: dict[str, Any] = {}
        self.in_rollout = False
        self._started = 0.0
        self._rollout_s = 0.0
        self._rollout_tokens = 0
        self._gc_s = 0.0
        self._rollout_gc_s = 0.0
        self._gc_started = 0.0
        gc.callbacks.append(self._time_gc)

    def _time_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
            return
        paused = time.perf_counter() - self._gc_started
        self._gc_s += paused
        if self.in_rollout:
            self._rollout_gc_s += paused

    def add_rollout(self, seconds: float, tokens: int) -> None:
        self._rollout_s += seconds
        self._rollout_tokens += tokens

    def note_process(self) -> None:
        """Record, once, what else this process runs and how: a rollout of a small model is bound by the
        CPU launching kernels, so threads holding the GIL or longer gc pauses show up in its seconds."""
        if self.process_facts:
            return
        self.process_facts = {
            "threads": sorted(thread.name for thread in threading.enumerate()),
            "gc_enabled": gc.isenabled(), "gc_threshold": list(gc.get_threshold()),
            "gc_tracked_objects": len(gc.get_objects()), "gc_frozen_objects": gc.get_freeze_count(),
            "switch_interval_s": sys.getswitchinterval(), "torch_threads": torch.get_num_threads(),
            "tf32_matmul": torch.backends.cuda.matmul.allow_tf32, "cudnn_benchmark": torch.backends.cudnn.benchmark,
            "cpu_affinity": len(os.sched_getaffinity(0)), "modules_loaded": len(sys.modules),
        }

    def on_step_begin(self, args, state, control, **kwargs):
        torch.cuda.synchronize()
        self._started = time.perf_counter()
        return control

    def on_step_end(self, args, state, control, **kwargs):
        torch.cuda.synchronize()
        self.step_seconds.append(time.perf_counter() - self._started)
        self.rollout_seconds.append(self._rollout_s)
        self.rollout_tokens.append(self._rollout_tokens)
        self.gc_seconds.append(self._gc_s)
        self.rollout_gc_seconds.append(self._rollout_gc_s)
        self._rollout_s, self._rollout_tokens, self._gc_s, self._rollout_gc_s = 0.0, 0, 0.0, 0.0
        if self.progress_file is not None:  # a run killed at its time limit still leaves its steps
            self.progress_file.write_text(json.dumps({"step_seconds": self.step_seconds,
                                                      "rollout_seconds": self.rollout_seconds,
                                                      "rollout_tokens": self.rollout_tokens,
                                                      "peak_allocated_gib": torch.cuda.max_memory_allocated() / GIB,
                                                      "peak_reserved_gib": torch.cuda.max_memory_reserved() / GIB}))
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs:
            self.logs.append({"step": state.global_step, **{k: v for k, v in logs.items() if isinstance(v, (int, float))}})
        return control


def _count_tokens(completion_ids: Any) -> int:
    if isinstance(completion_ids, torch.Tensor):
        return int(completion_ids.numel())
    if isinstance(completion_ids, (list, tuple)) and completion_ids and isinstance(completion_ids[0], (list, tuple, torch.Tensor)):
        return sum(len(ids) for ids in completion_ids)
    return 0


def time_rollouts(trainer: Any, clock: StepClock) -> str:
    """Wrap the trainer's rollout method (TRL 1.14.2 `_generate_single_turn`, which Unsloth's trainer keeps)
    so each call's seconds and completion tokens reach `clock`. Returns the wrapped method's name."""
    name = "_generate_single_turn" if hasattr(trainer, "_generate_single_turn") else "_generate"
    original = getattr(trainer, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        clock.note_process()
        torch.cuda.synchronize()
        clock.in_rollout = True
        started = time.perf_counter()
        try:
            out = original(*args, **kwargs)
            torch.cuda.synchronize()
        finally:
            clock.in_rollout = False
        ids = out[0] if isinstance(out, tuple) else out
        if name == "_generate" and isinstance(out, tuple) and len(out) > 2:
            ids = out[2]  # _generate returns (prompt_ids, completion_ids, ...) in TRL 1.14.2
        clock.add_rollout(time.perf_counter() - started, _count_tokens(ids))
        return out

    setattr(trainer, name, timed)
    return name


def summarise(clock: StepClock, warmup: int) -> dict[str, Any]:
    """Medians over the steps after `warmup`: s/step, rollout share, generated tok/s (rollout only)."""
    steps = clock.step_seconds[warmup:]
    rollout_s = clock.rollout_seconds[warmup:]
    tokens = clock.rollout_tokens[warmup:]
    out: dict[str, Any] = {"measured_steps": len(steps)}
    if steps:
        out["s_per_step_median"] = statistics.median(steps)
        out["s_per_step_min"] = min(steps)
        out["s_per_step_max"] = max(steps)
    if rollout_s and sum(rollout_s) > 0:
        out["rollout_s_median"] = statistics.median(rollout_s)
        out["rollout_share"] = sum(rollout_s) / sum(steps)
        out["gen_tok_per_s"] = sum(tokens) / sum(rollout_s)
        out["gen_tokens_per_step"] = statistics.median(tokens)
    if clock.gc_seconds[warmup:]:
        out["gc_s_mean"] = statistics.mean(clock.gc_seconds[warmup:])
        out["rollout_gc_s_mean"] = statistics.mean(clock.rollout_gc_seconds[warmup:])
    rewards = [row["reward"] for row in clock.logs if "reward" in row]
    if rewards:
        out["reward_first"], out["reward_last"] = rewards[0], rewards[-1]
    lengths = [row["completions/mean_length"] for row in clock.logs if "completions/mean_length" in row]
    if lengths:
        out["completion_mean_length_median"] = statistics.median(lengths)
    return out


def memory_report() -> dict[str, float]:
    """Peak torch allocation/reservation of this process, and device memory in use now (any allocator)."""
    free, total = torch.cuda.mem_get_info()
    return {
        "peak_allocated_gib": torch.cuda.max_memory_allocated() / GIB,
        "peak_reserved_gib": torch.cuda.max_memory_reserved() / GIB,
        "device_used_now_gib": (total - free) / GIB,
        "device_total_gib": total / GIB,
    }


def versions() -> dict[str, str]:
    """Versions of the libraries that decide the figures."""
    import importlib.metadata as metadata

    found = {"gpu": torch.cuda.get_device_name(0), "cuda": str(torch.version.cuda)}
    for name in ("torch", "transformers", "trl", "peft", "accelerate", "unsloth", "unsloth_zoo", "bitsandbytes", "vllm", "triton"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def write_measurement(out_file: str | Path, clock: StepClock, *, warmup: int, **facts: Any) -> dict[str, Any]:
    """Write one path's figures (summary, raw per-step lists, memory, versions) as JSON, atomically."""
    record = {
        **facts,
        **summarise(clock, warmup),
        **memory_report(),
        "warmup_steps": warmup,
        "step_seconds": clock.step_seconds,
        "rollout_seconds": clock.rollout_seconds,
        "rollout_tokens": clock.rollout_tokens,
        "gc_seconds": clock.gc_seconds,
        "rollout_gc_seconds": clock.rollout_gc_seconds,
        "process_facts": clock.process_facts,
        "logs": clock.logs,
        "versions": versions(),
    }
    target = Path(out_file)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(json.dumps(record, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, target)
    return record


def process_gpu_gib(pid: int) -> float | None:
    """This process's whole GPU memory (torch's pool, vLLM's, the CUDA context) as nvidia-smi sees it;
    None where nvidia-smi lists no processes (a container's PID namespace)."""
    try:
        listing = subprocess.run(["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in listing.splitlines():
        fields = [field.strip() for field in line.split(",")]
        if len(fields) == 2 and fields[0] == str(pid) and fields[1].isdigit():
            return int(fields[1]) / 1024
    return None


def sample_memory(path: str, every_seconds: float = 5.0, *, whole_process: bool = False) -> None:
    """Write this process's peak GPU memory so far to `path` every few seconds, from a daemon thread:
    a run stopped at its time limit in the middle of its first step still leaves its peak. With
    `whole_process` (untimed recipe runs only: it starts nvidia-smi every few seconds, work the timed
    paths' tutorial side does not do), also the process's whole use (nvidia-smi) and the device's
    (total - free; every process on it)."""
    started = time.perf_counter()
    peaks: dict[str, float | None] = {"process": None, "device": None}

    def loop() -> None:
        while True:
            if whole_process:
                process = process_gpu_gib(os.getpid())
                if process is not None:
                    peaks["process"] = max(peaks["process"] or 0.0, process)
                free, total = torch.cuda.mem_get_info()
                peaks["device"] = max(peaks["device"] or 0.0, (total - free) / GIB)
            Path(path).write_text(json.dumps({"peak_allocated_gib": torch.cuda.max_memory_allocated() / GIB,
                                              "peak_reserved_gib": torch.cuda.max_memory_reserved() / GIB,
                                              "peak_process_gib": peaks["process"], "peak_device_used_gib": peaks["device"],
                                              "seconds": time.perf_counter() - started}))
            time.sleep(every_seconds)

    threading.Thread(target=loop, daemon=True, name="sample-memory").start()


def _frame_text(frame: Any) -> str:
    code = frame.f_code
    parts = Path(code.co_filename).parts
    return f"{'/'.join(parts[-3:])}:{frame.f_lineno} {code.co_name}"


def sample_stacks(path: str, clock: StepClock, every_seconds: float = 2.0, depth: int = 10) -> None:
    """Where a slow step spends its seconds, without a profiler: every few seconds, from a daemon thread,
    the innermost `depth` Python frames of every other thread (the autograd engine's threads included),
    counted per optimizer step (the clock's) and written to `path` (JSON) each time. Sampling only reads
    `sys._current_frames()` under the GIL (faulthandler's periodic C-level dump crashed the Unsloth workers).
    A C++ or CUDA call shows up as the Python frame that made it; a thread blocked waiting shows as its wait.
    """
    counts: dict[str, dict[str, int]] = {}
    started = time.perf_counter()

    def loop() -> None:
        own = threading.get_ident()
        names = {}
        while True:
            time.sleep(every_seconds)
            names.update({thread.ident: thread.name for thread in threading.enumerate()})
            step = f"step {len(clock.step_seconds) + 1}" + (" rollout" if clock.in_rollout else "")
            bucket = counts.setdefault(step, {})
            for ident, frame in sys._current_frames().items():
                if ident == own or names.get(ident, "").startswith("sample-"):
                    continue
                frames = []
                while frame is not None and len(frames) < depth:
                    frames.append(_frame_text(frame))
                    frame = frame.f_back
                key = f"[{names.get(ident, ident)}] " + " <- ".join(frames)
                bucket[key] = bucket.get(key, 0) + 1
            top = {step_name: dict(sorted(stacks.items(), key=lambda item: -item[1])[:25])
                   for step_name, stacks in counts.items()}
            Path(path).write_text(json.dumps({"every_seconds": every_seconds, "seconds": time.perf_counter() - started,
                                              "stacks": top}, indent=1))

    threading.Thread(target=loop, daemon=True, name="sample-stacks").start()
