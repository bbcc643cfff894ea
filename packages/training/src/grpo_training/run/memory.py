"""End of a run: stop the vLLM engine Unsloth attached to the model and hand the accelerator's cached memory back."""

from __future__ import annotations

import logging
import os
from typing import Any

logger = logging.getLogger("grpo_training.run")  # the run's logger: these lines belong to the run's log


def shutdown_vllm(model: Any) -> None:
    """Stop the vLLM engine Unsloth attached to `model` (its KV-cache reservation is most of the GPU) and drop
    the references to it: best effort for code that goes on in this process. It is not enough to free the GPU:
    the process still holds most of the GPU's memory after it, so the apps train in a process of their own and
    export in another (`grpo_training.cli.app.train_in_fresh_process`)."""
    from grpo_training.evaluation.engines import vllm_engine_holders

    holders = vllm_engine_holders(model)
    if not holders:
        return
    try:
        holders[0].vllm_engine.llm_engine.engine_core.shutdown()
    except Exception as error:  # noqa: BLE001 - a vLLM without this call still frees what gc collects
        logger.info("vLLM engine shutdown: %s", error)
    for holder in holders:
        holder.vllm_engine = None


def release_accelerator_memory() -> None:
    """Collect what the finished run left and return the allocator's cached blocks to the GPU; log what this
    process still holds, so a benchmark can tell whether the next stage starts on a free GPU."""
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        logger.info("After the run this process holds %.1f GiB of GPU memory (torch: %.1f GiB allocated, "
                    "%.1f GiB reserved)", _process_gpu_gib(), torch.cuda.memory_allocated() / 2**30,
                    torch.cuda.memory_reserved() / 2**30)


def _process_gpu_gib() -> float:
    try:
        import pynvml

        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(int(os.environ.get("LOCAL_RANK", 0)))
        return sum(p.usedGpuMemory or 0 for p in pynvml.nvmlDeviceGetComputeRunningProcesses(handle)
                   if p.pid == os.getpid()) / 2**30
    except Exception:  # noqa: BLE001 - no NVML: torch's figures say enough
        return float("nan")
