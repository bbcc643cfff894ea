"""Logits of a GGUF file computed by llama.cpp's own runtime (libllama, built from the same sdist as the
quantizer) through the sdist's ctypes bindings: the file is memory-mapped and run as llama.cpp and Ollama
run it, on the CPU, never de-quantised into another framework.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

from grpo_export.errors import ExportVerificationError
from grpo_export.llama_cpp import ensure_llama_cpp_tools


def _llama_class(cache_dir: Path | None = None):
    tools = ensure_llama_cpp_tools(cache_dir)
    os.environ.setdefault("LLAMA_CPP_LIB_PATH", str(tools.runtime_library.parent))
    if str(tools.bindings) not in sys.path:
        sys.path.insert(0, str(tools.bindings))
    from llama_cpp import Llama

    return Llama


def gguf_logits(path: str | Path, sequences: list[torch.Tensor], *, threads: int | None = None,
                cache_dir: Path | None = None) -> list[torch.Tensor]:
    """Float32 logits (`len × vocab` per sequence) of the GGUF at `path` on the token ids `sequences`,
    teacher-forced, computed by llama.cpp.

    Example:
        >>> gguf_logits("model.Q8_0.gguf", [torch.tensor([1, 2, 3])])[0].shape  # doctest: +SKIP
        torch.Size([3, 49152])
    """
    Llama = _llama_class(cache_dir)
    longest = max(len(s) for s in sequences)
    try:
        model = Llama(model_path=str(path), n_ctx=longest + 8, n_batch=longest, n_ubatch=longest, logits_all=True,
                      n_gpu_layers=0, n_threads=threads or os.cpu_count() or 1, verbose=False)
    except Exception as error:  # noqa: BLE001 - llama.cpp refuses what it cannot run: that is the finding
        raise ExportVerificationError(f"llama.cpp could not load {path}: {error}") from error
    try:
        results = []
        for sequence in sequences:
            model.reset()
            model.eval(sequence.tolist())
            results.append(torch.from_numpy(model.scores[: len(sequence)].copy()).float())
        return results
    finally:
        model.close()
