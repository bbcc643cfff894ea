"""Logits of a GGUF file computed by llama.cpp's own runtime (libllama, built from the same sdist as the
quantizer) through the sdist's ctypes bindings: the file is memory-mapped and run as llama.cpp and Ollama
run it, on the CPU, never de-quantised into another framework. It runs in a process of its own
(`_llama_worker.py`): libllama never shares a process with torch and CUDA, the mapped file leaves with the
process, and a crash in the runtime is a clear failed check instead of the end of the export. In the same
process, once the logits are written, llama.cpp tokenizes and detokenizes the check texts (`gguf_run`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from grpo_export.errors import ExportVerificationError
from grpo_export.llama_cpp import end_with_parent, ensure_llama_cpp_tools

WORKER = Path(__file__).with_name("_llama_worker.py")


class LlamaRuntimeCrash(RuntimeError):
    """llama.cpp's runtime died on a signal: a fault of this machine's build, not a verdict on the file
    (a runtime built with a copy of libstdc++ exported from each library crashes in `llama_model_load_from_file`)."""


def fallback_host_bytes(path: str | Path) -> int:
    """Host memory `transformers_gguf_logits` needs for the GGUF at `path`: every weight in float32 (4 bytes),
    read from the file's header (about 59 GB for a 14.66 B model, whatever its quantisation).

    Example:
        >>> fallback_host_bytes("phi4.Q4_K_M.gguf") / 1e9  # doctest: +SKIP
        58.6
    """
    import gguf

    return 4 * sum(int(tensor.n_elements) for tensor in gguf.GGUFReader(str(path)).tensors)


def available_host_bytes() -> int:
    """Host memory the system can give a new allocation without swapping (`psutil`'s "available")."""
    import psutil

    return int(psutil.virtual_memory().available)


def ensure_fallback_fits(path: str | Path, crash: LlamaRuntimeCrash, llama_home: Path) -> None:
    """Refuse the transformers fallback where it cannot fit: an export of a 14 B model on a 32-64 GB host would
    otherwise be killed for memory after its GGUFs were written. Raises `ExportVerificationError` naming the need,
    what is free and how to get a working llama.cpp runtime.

    Example:
        >>> ensure_fallback_fits("m.Q8_0.gguf", crash, Path("~/.cache/grpo-toolkit/llama.cpp-0.3.36-shared"))  # doctest: +SKIP
    """
    needed, available = fallback_host_bytes(path), available_host_bytes()
    if needed > available:
        raise ExportVerificationError(
            f"{crash}\nChecking {Path(path).name} without llama.cpp (transformers' GGUF loader, float32) needs "
            f"{needed / 2**30:.1f} GiB of host memory and {available / 2**30:.1f} GiB is available, so it was not "
            f"checked and nothing was written. Give llama.cpp a runtime that works: delete {llama_home} and export "
            f"again with another compiler for its build (e.g. CC=/usr/bin/gcc CXX=/usr/bin/g++ where CC/CXX name "
            f"another toolchain, or CC=gcc-12 CXX=g++-12), or on a machine with "
            f"{needed / 2**30:.0f} GiB free.") from crash


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


class LlamaTokenizerCrash(ExportVerificationError):
    """llama.cpp ran the file's logits, then died on a signal tokenizing text: the file's vocabulary is broken
    (e.g. a GPT-2 byte-level vocabulary written as SentencePiece's "llama", where llama.cpp's byte fallback
    looks up `<0x0A>`-style tokens that do not exist and aborts). A failed check, not a runtime fault."""

    def __init__(self, message: str, signal: int, tail: str):
        super().__init__(message)
        self.signal, self.tail = signal, tail


@dataclass
class LlamaRun:
    """What llama.cpp made of a GGUF: `logits` (per sequence), and per check text the ids it tokenizes the text
    to (`token_ids`) and the text it detokenizes the reference ids to (`detokenized`)."""

    logits: list[torch.Tensor]
    token_ids: list[list[int]] = field(default_factory=list)
    detokenized: list[str] = field(default_factory=list)


def gguf_run(path: str | Path, sequences: list[torch.Tensor], texts: list[str] = (), text_ids: list[list[int]] = (),
             *, threads: int | None = None, cache_dir: Path | None = None) -> LlamaRun:
    """Float32 logits (`len × vocab` per sequence) of the GGUF at `path` on the token ids `sequences`,
    teacher-forced, computed by llama.cpp in a child process; then, in that process, `texts` tokenized by
    llama.cpp (special tokens parsed, no BOS added) and `text_ids` detokenized by it (special tokens rendered).

    Raises `LlamaRuntimeCrash` when the runtime dies on a signal before the logits are written (a fault of
    this machine's build), `LlamaTokenizerCrash` when it dies after them, tokenizing (a broken vocabulary),
    `ExportVerificationError` when it refuses the file.

    Example:
        >>> run = gguf_run("m.Q8_0.gguf", [torch.tensor([1, 2, 3])], ["Hi"], [[26843]])  # doctest: +SKIP
        >>> run.logits[0].shape, run.token_ids, run.detokenized  # doctest: +SKIP
        (torch.Size([3, 49152]), [[26843]], ['Hi'])
    """
    tools = ensure_llama_cpp_tools(cache_dir)
    with tempfile.TemporaryDirectory(prefix="grpo-llama-") as work:
        sequences_file, out_file = Path(work) / "sequences.json", Path(work) / "logits.npy"
        texts_file, tokens_file = Path(work) / "texts.json", Path(work) / "tokens.json"
        sequences_file.write_text(json.dumps([s.tolist() for s in sequences]), encoding="utf-8")
        command = [sys.executable, "-X", "faulthandler", str(WORKER), str(tools.bindings), str(path),
                   str(sequences_file), str(out_file), str(threads or os.cpu_count() or 1)]
        if texts:
            texts_file.write_text(json.dumps({"texts": list(texts), "ids": [list(map(int, i)) for i in text_ids]}),
                                  encoding="utf-8")
            command += [str(texts_file), str(tokens_file)]
        environment = {**os.environ, "LLAMA_CPP_LIB_PATH": str(tools.runtime_library.parent)}
        result = subprocess.run(command, capture_output=True, text=True, env=environment, preexec_fn=end_with_parent)
        tail = "\n".join((result.stderr or "").strip().splitlines()[-15:])
        if result.returncode < 0 and texts and out_file.is_file() and not tokens_file.is_file():
            raise LlamaTokenizerCrash(f"llama.cpp crashed (signal {-result.returncode}) tokenizing text with {path}, "
                                      f"after running its logits:\n{tail}", -result.returncode, tail)
        if result.returncode < 0:
            raise LlamaRuntimeCrash(f"llama.cpp's runtime crashed (signal {-result.returncode}) loading {path}:\n{tail}")
        if result.returncode != 0 or not out_file.is_file() or (texts and not tokens_file.is_file()):
            raise ExportVerificationError(f"llama.cpp could not run {path} (exit {result.returncode}):\n{tail}")
        logits = torch.from_numpy(np.load(out_file))
        tokens = json.loads(tokens_file.read_text(encoding="utf-8")) if texts else []
    split = [len(s) for s in sequences]
    return LlamaRun(list(torch.split(logits, split)), [t["ids"] for t in tokens], [t["text"] for t in tokens])


def gguf_logits(path: str | Path, sequences: list[torch.Tensor], *, threads: int | None = None,
                cache_dir: Path | None = None) -> list[torch.Tensor]:
    """Float32 logits (`len × vocab` per sequence) of the GGUF at `path` on the token ids `sequences`,
    teacher-forced, computed by llama.cpp in a child process (`gguf_run` without texts).

    Example:
        >>> gguf_logits("model.Q8_0.gguf", [torch.tensor([1, 2, 3])])[0].shape  # doctest: +SKIP
        torch.Size([3, 49152])
    """
    return gguf_run(path, sequences, threads=threads, cache_dir=cache_dir).logits
