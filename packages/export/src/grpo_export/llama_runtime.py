"""Logits of a GGUF file computed by llama.cpp's own runtime (libllama, built from the same sdist as the
quantizer) through the sdist's ctypes bindings: the file is memory-mapped and run as llama.cpp and Ollama
run it, on the CPU, never de-quantised into another framework. It runs in a process of its own
(`_llama_worker.py`): libllama never shares a process with torch and CUDA, the mapped file leaves with the
process, and a crash in the runtime is a clear failed check instead of the end of the export.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from grpo_export.errors import ExportVerificationError
from grpo_export.llama_cpp import end_with_parent, ensure_llama_cpp_tools

WORKER = Path(__file__).with_name("_llama_worker.py")


class LlamaRuntimeCrash(RuntimeError):
    """llama.cpp's runtime died on a signal: a fault of this machine's build, not a verdict on the file
    (seen on the lent GPU machine, where the runtime built there crashes in `llama_model_load_from_file`)."""


def transformers_gguf_logits(path: str | Path, sequences: list[torch.Tensor]) -> list[torch.Tensor]:
    """The fallback when llama.cpp's runtime crashes: the GGUF de-quantised by transformers' loader (float32,
    the whole model in host memory: about 4 bytes per weight), teacher-forced on `sequences`.

    Example:
        >>> transformers_gguf_logits("model.Q8_0.gguf", [torch.tensor([1, 2, 3])])  # doctest: +SKIP
    """
    from transformers import AutoModelForCausalLM

    path = Path(path)
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    try:
        with torch.no_grad():
            return [model(input_ids=s.unsqueeze(0)).logits[0].float() for s in sequences]
    finally:
        del model


def gguf_logits(path: str | Path, sequences: list[torch.Tensor], *, threads: int | None = None,
                cache_dir: Path | None = None) -> list[torch.Tensor]:
    """Float32 logits (`len × vocab` per sequence) of the GGUF at `path` on the token ids `sequences`,
    teacher-forced, computed by llama.cpp in a child process.

    Example:
        >>> gguf_logits("model.Q8_0.gguf", [torch.tensor([1, 2, 3])])[0].shape  # doctest: +SKIP
        torch.Size([3, 49152])
    """
    tools = ensure_llama_cpp_tools(cache_dir)
    with tempfile.TemporaryDirectory(prefix="grpo-llama-") as work:
        sequences_file, out_file = Path(work) / "sequences.json", Path(work) / "logits.npy"
        sequences_file.write_text(json.dumps([s.tolist() for s in sequences]), encoding="utf-8")
        command = [sys.executable, "-X", "faulthandler", str(WORKER), str(tools.bindings), str(path),
                   str(sequences_file), str(out_file), str(threads or os.cpu_count() or 1)]
        environment = {**os.environ, "LLAMA_CPP_LIB_PATH": str(tools.runtime_library.parent)}
        result = subprocess.run(command, capture_output=True, text=True, env=environment, preexec_fn=end_with_parent)
        tail = "\n".join((result.stderr or "").strip().splitlines()[-15:])
        if result.returncode < 0:
            raise LlamaRuntimeCrash(f"llama.cpp's runtime crashed (signal {-result.returncode}) loading {path}:\n{tail}")
        if result.returncode != 0 or not out_file.is_file():
            raise ExportVerificationError(f"llama.cpp could not run {path} (exit {result.returncode}):\n{tail}")
        logits = torch.from_numpy(np.load(out_file))
    split = [len(s) for s in sequences]
    return list(torch.split(logits, split))
