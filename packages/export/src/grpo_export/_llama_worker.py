"""Run by `llama_runtime.gguf_logits` as a script in a process of its own (no torch, no CUDA beside it):
    python _llama_worker.py BINDINGS_DIR MODEL.gguf SEQUENCES.json OUT.npy THREADS
It writes the logits of every sequence, concatenated (`sum(len) × vocab`, float32), with llama.cpp's runtime.
"""

import json
import sys

import numpy as np


def main(bindings: str, model_path: str, sequences_path: str, out_path: str, threads: str) -> None:
    sys.path.insert(0, bindings)
    from llama_cpp import Llama

    with open(sequences_path, encoding="utf-8") as handle:
        sequences = json.load(handle)
    longest = max(len(s) for s in sequences)
    model = Llama(model_path=model_path, n_ctx=longest + 8, n_batch=longest, n_ubatch=longest, logits_all=True,
                  n_gpu_layers=0, n_threads=int(threads), verbose=False)
    rows = []
    for sequence in sequences:
        model.reset()
        model.eval(sequence)
        rows.append(np.array(model.scores[: len(sequence)], dtype=np.float32))
    model.close()
    np.save(out_path, np.concatenate(rows))


if __name__ == "__main__":
    main(*sys.argv[1:6])
