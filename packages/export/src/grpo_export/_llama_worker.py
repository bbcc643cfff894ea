"""Run by `llama_runtime.gguf_run` as a script in a process of its own (no torch, no CUDA beside it):
    python _llama_worker.py BINDINGS_DIR MODEL.gguf SEQUENCES.json OUT.npy THREADS [TEXTS.json TOKENS.json]
It writes the logits of every sequence, concatenated (`sum(len) × vocab`, float32), with llama.cpp's runtime.
Then, given TEXTS.json (`{"texts": [...], "ids": [[...], ...]}`), it tokenizes each text with llama.cpp (special
tokens parsed, no BOS added) and detokenizes each list of ids (special tokens rendered), and writes
`[{"ids": [...], "text": "..."}, ...]` to TOKENS.json. The logits are on disk before the first text is
tokenized: a crash while tokenizing (a broken vocabulary aborts llama.cpp) is told apart from one while loading.
"""

import ctypes
import json
import os
import sys

import numpy as np


def detokenize(llama_cpp, vocab, ids: list) -> bytes:
    """llama.cpp's own detokenizer on the whole list (as llama-cli prints text), special tokens rendered."""
    tokens = (llama_cpp.llama_token * max(len(ids), 1))(*ids)
    size = 64 + 16 * len(ids)
    while True:
        buffer = ctypes.create_string_buffer(size)
        written = llama_cpp.llama_detokenize(vocab, tokens, len(ids), buffer, size, False, True)
        if written >= 0:
            return buffer.raw[:written]
        size = -written + 1


def main(bindings: str, model_path: str, sequences_path: str, out_path: str, threads: str,
         texts_path: str | None = None, tokens_path: str | None = None) -> None:
    sys.path.insert(0, bindings)
    import llama_cpp
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
    with open(out_path + ".partial", "wb") as handle:
        np.save(handle, np.concatenate(rows))
    os.replace(out_path + ".partial", out_path)
    if texts_path:
        with open(texts_path, encoding="utf-8") as handle:
            given = json.load(handle)
        vocab = llama_cpp.llama_model_get_vocab(model.model)
        results = [{"ids": model.tokenize(text.encode("utf-8"), add_bos=False, special=True),
                    "text": detokenize(llama_cpp, vocab, ids).decode("utf-8", errors="replace")}
                   for text, ids in zip(given["texts"], given["ids"], strict=True)]
        with open(tokens_path, "w", encoding="utf-8") as handle:
            json.dump(results, handle)
    model.close()


if __name__ == "__main__":
    main(*sys.argv[1:8])
