"""GGUF export with llama.cpp's own tools: `convert_hf_to_gguf.py` for f32/f16/bf16/q8_0, `llama-quantize`
for K-quants and the rest. Several methods in one call convert once (to f16/bf16) and quantise many.
Every file is reloaded and compared with the merged model before the folder is renamed into place.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from grpo_export.errors import ExportError, ExportVerificationError
from grpo_export.llama_cpp import ensure_llama_cpp_source, ensure_quantizer, llama_cpp_home
from grpo_export.llama_runtime import (
    LlamaRun,
    LlamaRuntimeCrash,
    LlamaTokenizerCrash,
    ensure_fallback_fits,
    gguf_run,
    transformers_gguf_logits,
)
from grpo_export.logit_check import (
    Calibration,
    calibrated_check,
    check_sequences,
    check_strings,
    relative_logit_error,
    top1_agreement,
)
from grpo_export.logits_by_layer import run_device, streamed_logits
from grpo_export.modelfile import render_modelfile
from grpo_export.output_folders import (
    check_replaceable,
    ensure_free_space,
    plain_name,
    scratch_dir,
    staged_output_dir,
    write_marker,
)
from grpo_export.processes import run_in_own_group
from grpo_export.quant_sim import FLOOR_TYPE, simulate_activations, simulate_quantisation
from grpo_export.safetensors_files import CheckpointReader

logger = logging.getLogger(__name__)

CONVERTER_TYPES = ("f32", "f16", "bf16", "q8_0")
"""Written directly by convert_hf_to_gguf.py."""
QUANTIZER_TYPES = ("q2_k", "q3_k_s", "q3_k_m", "q3_k_l", "q4_0", "q4_1", "q4_k_s", "q4_k_m",
                   "q5_0", "q5_1", "q5_k_s", "q5_k_m", "q6_k", "q8_0", "f16", "bf16")
"""Written by llama-quantize from a 16-bit GGUF."""
METHOD_ALIASES = {"not_quantized": "f16", "fast_quantized": "q8_0", "quantized": "q4_k_m"}
"""Unsloth's names for common choices."""
DEFAULT_METHODS = ("q8_0",)

BYTES_PER_WEIGHT = {"f32": 4.0, "f16": 2.0, "bf16": 2.0, "q8_0": 1.07, "q6_k": 0.83, "q5_0": 0.69,
                    "q5_1": 0.75, "q5_k_s": 0.69, "q5_k_m": 0.72, "q4_0": 0.57, "q4_1": 0.63, "q4_k_s": 0.58,
                    "q4_k_m": 0.61, "q3_k_s": 0.44, "q3_k_m": 0.49, "q3_k_l": 0.53, "q2_k": 0.36}


def normalise_methods(methods: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """Lower-case, resolve Unsloth aliases, drop duplicates (order kept), and reject unknown names.

    Example:
        >>> normalise_methods(["Q4_K_M", "q8_0", "quantized"])
        ['q4_k_m', 'q8_0']
        >>> normalise_methods(None)
        ['q8_0']
    """
    if methods is None:
        methods = DEFAULT_METHODS
    if isinstance(methods, str):
        methods = [methods]
    resolved: list[str] = []
    for method in methods:
        name = METHOD_ALIASES.get(method.lower(), method.lower())
        if name not in CONVERTER_TYPES and name not in QUANTIZER_TYPES:
            raise ExportError(f"Unknown GGUF method {method!r}. Choose from "
                              f"{sorted(set(CONVERTER_TYPES) | set(QUANTIZER_TYPES) | set(METHOD_ALIASES))}.")
        if name not in resolved:
            resolved.append(name)
    if not resolved:
        raise ExportError("No GGUF method given.")
    return resolved


def gguf_file_name(model_name: str, method: str) -> str:
    """`<model_name>.<METHOD>.gguf`, as Unsloth names its files.

    Example:
        >>> gguf_file_name("smollm2-grpo", "q4_k_m")
        'smollm2-grpo.Q4_K_M.gguf'
    """
    return f"{model_name}.{method.upper()}.gguf"


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ExportError(f"Cannot read {path}: {error}. Is this a model folder written by merge()?") from error


def _check_merged_dir(merged_dir: Path) -> dict:
    config = _read_json(merged_dir / "config.json")
    if not any(merged_dir.glob("*.safetensors")) and not any(merged_dir.glob("*.bin")):
        raise ExportError(f"{merged_dir} has no weights (*.safetensors). Pass a merged_16bit folder from merge().")
    if "quantization_config" in config:
        raise ExportError(f"{merged_dir} holds a quantised (e.g. merged_4bit) model; GGUF conversion needs a "
                          "16-bit merge: run merge(..., method='merged_16bit') first.")
    if (merged_dir / "adapter_config.json").is_file():
        raise ExportError(f"{merged_dir} is a LoRA adapter folder; merge it first with merge().")
    return config


def converter_view(merged_dir: Path, config: dict, into: Path) -> Path:
    """A folder the converter reads in place of `merged_dir`: symlinks to its files, plus fixes for known
    converter/transformers-5 mismatches. One: Phi-3/Phi-4's converter takes the GPT-2 BPE path only
    when tokenizer_config.json says `GPT2Tokenizer`, and transformers 5 may write `TokenizersBackend`.

    Example:
        >>> converter_view(Path("model"), {"architectures": ["LlamaForCausalLM"]}, Path("tmp"))  # doctest: +SKIP
        PosixPath('model')
    """
    architectures = config.get("architectures") or []
    tokenizer_config_path = merged_dir / "tokenizer_config.json"
    needs_fix = (
        "Phi3ForCausalLM" in architectures
        and not (merged_dir / "tokenizer.model").is_file()
        and tokenizer_config_path.is_file()
        and _read_json(tokenizer_config_path).get("tokenizer_class") != "GPT2Tokenizer"
    )
    if not needs_fix:
        return merged_dir
    into.mkdir(parents=True, exist_ok=True)
    for item in merged_dir.iterdir():
        if item.name != "tokenizer_config.json":
            (into / item.name).symlink_to(item.absolute())
    tokenizer_config = _read_json(tokenizer_config_path)
    tokenizer_config["tokenizer_class"] = "GPT2Tokenizer"
    (into / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2), encoding="utf-8")
    return into


def _run_logged(command: list[str], log_path: Path, what: str) -> None:
    with log_path.open("a", encoding="utf-8") as log:
        log.write(f"$ {' '.join(command)}\n")
        log.flush()
        result = run_in_own_group(command, stdout=log, stderr=subprocess.STDOUT, death_signal=signal.SIGKILL)
    if result.returncode != 0:
        tail = "\n".join(log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-25:])
        raise ExportError(f"{what} failed (exit {result.returncode}). Last lines of its log:\n{tail}")


def convert_to_gguf(model_dir: Path, outfile: Path, outtype: str, log_path: Path, cache_dir: Path | None = None) -> Path:
    """Run llama.cpp's `convert_hf_to_gguf.py` (from the cached sdist) on a Hugging Face model folder.

    Example:
        >>> convert_to_gguf(Path("model"), Path("model.F16.gguf"), "f16", Path("convert.log"))  # doctest: +SKIP
    """
    tools = ensure_llama_cpp_source(cache_dir)
    command = [sys.executable, str(tools.converter), str(model_dir), "--outfile", str(outfile), "--outtype", outtype]
    _run_logged(command, log_path, f"convert_hf_to_gguf.py --outtype {outtype} on {model_dir}")
    return outfile


def quantize_gguf(source: Path, outfile: Path, method: str, log_path: Path, cache_dir: Path | None = None,
                  threads: int | None = None) -> Path:
    """Run `llama-quantize` (built once from the cached sdist) to turn a 16-bit GGUF into `method`.

    Example:
        >>> quantize_gguf(Path("m.F16.gguf"), Path("m.Q4_K_M.gguf"), "q4_k_m", Path("q.log"))  # doctest: +SKIP
    """
    quantizer = ensure_quantizer(cache_dir)
    command = [str(quantizer), str(source), str(outfile), method.upper(), str(threads or os.cpu_count() or 1)]
    _run_logged(command, log_path, f"llama-quantize {method.upper()} on {source.name}")
    return outfile


def expected_file_type(method: str) -> str:
    """Name of the `gguf.LlamaFileType` member a GGUF written with `method` must declare.

    Example:
        >>> expected_file_type("q4_k_m"), expected_file_type("f32")
        ('MOSTLY_Q4_K_M', 'ALL_F32')
    """
    return "ALL_F32" if method == "f32" else f"MOSTLY_{method.upper()}"


def check_gguf_metadata(path: Path, method: str, architecture_hint: str | None = None) -> dict:
    """Read a GGUF's header: file type matches `method`, tensors present, tokenizer embedded (its llama.cpp
    model and pre-tokenizer are reported: "gpt2"/"smollm" for SmolLM2, "llama" for a SentencePiece vocabulary).

    Example:
        >>> check_gguf_metadata(Path("m.Q8_0.gguf"), "q8_0")["file_type"]  # doctest: +SKIP
        'MOSTLY_Q8_0'
    """
    import gguf

    try:
        reader = gguf.GGUFReader(str(path))
    except Exception as error:  # noqa: BLE001 - any parse failure means a broken file
        raise ExportVerificationError(f"{path} is not a readable GGUF file: {error}") from error

    def field(name):
        entry = reader.fields.get(name)
        return None if entry is None else entry.contents()

    file_type = gguf.LlamaFileType(field("general.file_type")).name if field("general.file_type") is not None else None
    if file_type != expected_file_type(method):
        raise ExportVerificationError(f"{path}: declares file type {file_type}, expected {expected_file_type(method)}.")
    tokens = field("tokenizer.ggml.tokens")
    if not reader.tensors or not tokens:
        raise ExportVerificationError(f"{path}: no tensors or no embedded tokenizer.")
    return {"architecture": field("general.architecture"), "file_type": file_type,
            "tensors": len(reader.tensors), "vocab": len(tokens),
            "tokenizer_model": field("tokenizer.ggml.model"), "tokenizer_pre": field("tokenizer.ggml.pre")}


GGUF_CALIBRATION = Calibration(multiple=2.0, floor=0.005)
"""A GGUF run by llama.cpp may differ from the merged model (float32) by 2 × what its type does to the same
model as llama.cpp computes it (weights rounded to the type, activations rounded as llama.cpp's CPU matrix
products round them: `quant_sim`), plus 0.005. Measured on the embedded SmolLM2 with a LoRA (error ÷
unavoidable): correct f16 ×1.32–1.55 (its f16 KV cache is not simulated), q8_0 ×0.83–1.05, q4_k_m ×0.38–0.40
(held to q4_0); a wrong file fails by far (the base passed off as the merge in f16: ×65; a wrong config:
see the tests). A LoRA whose effect is of the order of a type's own noise cannot be told apart at that type:
the merged model's tensor check, which the GGUF is converted from, is what guarantees the LoRA is in."""


@dataclass
class GgufReference:
    """The merged model's float32 logits on the check texts, computed once for all methods; and the check
    texts as strings with the ids and text its tokenizer makes of them, for llama.cpp's tokenizer to match."""

    merged_dir: Path
    config: object
    sequences: list
    logits: list
    device: torch.device
    texts: list = field(default_factory=list)
    text_ids: list = field(default_factory=list)
    decoded: list = field(default_factory=list)
    tokenizer: object = None


def gguf_reference(merged_dir: Path, device=None) -> GgufReference:
    """The merged model's logits on the check texts, layers streamed from its files (memory: one layer).

    Example:
        >>> gguf_reference(Path("model")).logits[0].shape  # doctest: +SKIP
        torch.Size([61, 49152])
    """
    from transformers import AutoConfig, AutoTokenizer

    run_on = run_device(device)
    tokenizer = AutoTokenizer.from_pretrained(str(merged_dir))
    sequences = check_sequences(tokenizer)
    texts = check_strings(tokenizer)
    text_ids = [tokenizer(text, add_special_tokens=False)["input_ids"] for text in texts]
    # No clean-up of spaces: the check texts have none of the " ." / " 's" it rewrites, which llama.cpp
    # rewrites for some pre-tokenizers and transformers 5 never does for BPE.
    decoded = [tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
               for ids in text_ids]
    config = AutoConfig.from_pretrained(str(merged_dir))
    logits = streamed_logits(config, CheckpointReader(merged_dir).get, sequences, device=run_on)
    return GgufReference(merged_dir, config, sequences, logits, run_on, texts, text_ids, decoded, tokenizer)


def _vocabulary_advice(path: Path, metadata: dict) -> str:
    return (f"{path.name} says tokenizer.ggml.model={metadata.get('tokenizer_model')!r}, "
            f"pre={metadata.get('tokenizer_pre')!r}: llama.cpp's converter did not read the model's tokenizer files "
            "as the tokenizer they are (e.g. a byte-level BPE tokenizer.json with `byte_fallback` or a SentencePiece-"
            "style decoder is written as SentencePiece's 'llama' vocabulary). Give the model folder the tokenizer "
            "files of the original model (tokenizer.json, tokenizer_config.json) and export again.")


def _first_difference(got, want) -> int:
    """Index of the first item where two sequences differ (the shorter one's length when one extends the other)."""
    return next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))


def check_tokenization(path: Path, reference: GgufReference, run: LlamaRun, metadata: dict) -> str:
    """llama.cpp's ids for the check texts must be the model tokenizer's, and its text for the tokenizer's ids the
    tokenizer's text; else `ExportVerificationError` naming the file, the first difference and what to do.

    Example:
        >>> check_tokenization(Path("m.Q8_0.gguf"), reference, run, metadata)  # doctest: +SKIP
        "3 texts, 197 tokens: llama.cpp's ids and text are the tokenizer's"
    """
    def token(ids: list[int], at: int) -> str:
        if at >= len(ids):
            return "(end of text)"
        piece = reference.tokenizer.convert_ids_to_tokens(ids[at]) if reference.tokenizer is not None else None
        return f"{ids[at]} {piece!r}"

    checked = zip(reference.texts, reference.text_ids, run.token_ids, strict=True)
    for number, (text, want, got) in enumerate(checked, 1):
        if list(got) != list(want):
            at = _first_difference(got, want)
            raise ExportVerificationError(
                f"Tokenization check of {path} failed: llama.cpp tokenizes check text {number} differently from the "
                f"model's tokenizer, first at token {at}: llama.cpp {token(got, at)}, tokenizer {token(want, at)} "
                f"({len(got)} vs {len(want)} tokens; text {text[:60]!r}...). Prompts run with this file are not what "
                f"the model was trained on. {_vocabulary_advice(path, metadata)}")
    for number, (want, got) in enumerate(zip(reference.decoded, run.detokenized, strict=True), 1):
        if got != want:
            at = _first_difference(got, want)
            raise ExportVerificationError(
                f"Tokenization check of {path} failed: llama.cpp detokenizes check text {number}'s ids to other text "
                f"than the model's tokenizer, first at character {at}: llama.cpp {got[max(at - 20, 0):at + 20]!r}, "
                f"tokenizer {want[max(at - 20, 0):at + 20]!r}. {_vocabulary_advice(path, metadata)}")
    return (f"{len(reference.texts)} texts, {sum(len(i) for i in reference.text_ids)} tokens: llama.cpp's ids and "
            "text are the tokenizer's")


def verify_gguf(path: Path, method: str, reference: GgufReference, cache_dir: Path | None = None) -> dict:
    """Check a GGUF: its header (file type, tensors, tokenizer); then, in one llama.cpp process, its logits, and
    the check texts tokenized and detokenized by llama.cpp, which must give the merged model tokenizer's ids and
    text (`check_tokenization`; llama.cpp crashing on them is a failed check: a broken vocabulary); then the
    logits against the merged model's, allowed `GGUF_CALIBRATION` × the error of the method's type on the merged
    model (weights and activations rounded as llama.cpp does; K-quants: the simple type they are at least as
    accurate as; q2/q3: reported, not enforced).

    Example:
        >>> verify_gguf(Path("out/m.Q8_0.gguf"), "q8_0", gguf_reference(Path("model")))  # doctest: +SKIP
        {'method': 'q8_0', 'ratio': 1.4, ...}
    """
    metadata = check_gguf_metadata(path, method)
    runtime = "llama.cpp"
    try:
        run = gguf_run(path, reference.sequences, reference.texts, reference.text_ids, cache_dir=cache_dir)
        candidate, tokenization = run.logits, check_tokenization(path, reference, run, metadata)
    except LlamaTokenizerCrash as crash:
        raise ExportVerificationError(
            f"llama.cpp crashed tokenizing text with {path} (signal {crash.signal}): its vocabulary is broken, and "
            f"llama.cpp, llama-cli and Ollama cannot read a prompt with it (its logits on token ids ran). "
            f"{_vocabulary_advice(path, metadata)}\n{crash.tail}") from crash
    except LlamaRuntimeCrash as crash:
        ensure_fallback_fits(path, crash, llama_cpp_home(cache_dir))
        logger.warning("%s Checking %s with transformers' GGUF loader instead (the whole model de-quantised "
                       "in host memory; llama.cpp's tokenization not checked).", crash, path.name)
        candidate, runtime = transformers_gguf_logits(path, reference.sequences), "transformers (llama.cpp crashed)"
        tokenization = "not checked: llama.cpp crashed loading the file"
    floor_type = FLOOR_TYPE.get(method)
    figures = {"method": method, "file": path.name, "bytes": path.stat().st_size, "runtime": runtime, **metadata,
               "tokenization": tokenization}
    if floor_type is None:
        error = relative_logit_error(candidate, reference.logits)
        logger.warning("GGUF %s: relative logit error %.4g (not checked: no calibration for %s)", path.name, error, method)
        return {**figures, "relative_logit_error": error, "top1_agreement": top1_agreement(candidate, reference.logits)}
    merged = CheckpointReader(reference.merged_dir)
    run_on = reference.device

    def quantised(key: str):
        return simulate_quantisation(merged.get(key).to(run_on, torch.float32), floor_type)

    rounded = streamed_logits(reference.config, quantised, reference.sequences, device=run_on,
                              linear_inputs=lambda x: simulate_activations(x, method))
    check = calibrated_check(f"GGUF {path.name}", candidate, rounded, reference.logits, GGUF_CALIBRATION)
    return {**figures, **check.as_dict(), "calibrated_against": floor_type}


@dataclass(frozen=True)
class GgufPlan:
    """In which order `to_gguf` writes: the 16-bit `intermediate` (when K-quants need one) first, then the
    `quantised` methods from it, then the intermediate is deleted (unless it was asked for) and the converter
    writes the `direct` ones (q8_0 and the other converter types) from the merged model. At most the
    intermediate and the K-quants share the disk with the merged model: at 14.66 B, 29 + 9 GB, not 29 + 9 + 16.

    Example:
        >>> plan_gguf(["q8_0", "q4_k_m"])
        GgufPlan(intermediate='f16', quantised=('q4_k_m',), direct=('q8_0',))
        >>> plan_gguf(["q8_0"])
        GgufPlan(intermediate=None, quantised=(), direct=('q8_0',))
    """

    intermediate: str | None
    quantised: tuple[str, ...]
    direct: tuple[str, ...]

    def peak_bytes(self, chosen: list[str], n_weights: float, intermediate_elsewhere: bool = False) -> float:
        """The most bytes the plan's files hold at once in the output folder (the intermediate + K-quants, or all
        files at the end); `intermediate_elsewhere`: an intermediate that was not asked for is in a work folder on
        another file system (see `scratch_bytes`)."""
        size = {m: BYTES_PER_WEIGHT.get(m, 2.0) * n_weights for m in (*chosen, self.intermediate or "f16")}
        counted = self.intermediate and not (intermediate_elsewhere and self.intermediate not in chosen)
        with_intermediate = (size[self.intermediate] if counted else 0) + sum(size[m] for m in self.quantised)
        return max(with_intermediate, sum(size[m] for m in chosen))

    def scratch_bytes(self, chosen: list[str], n_weights: float) -> float:
        """Bytes the work folder holds at most: the intermediate, when it was not asked for."""
        needed = self.intermediate and self.intermediate not in chosen
        return BYTES_PER_WEIGHT.get(self.intermediate, 2.0) * n_weights if needed else 0.0


def plan_gguf(methods: list[str]) -> GgufPlan:
    """The order of `to_gguf`'s writes for normalised `methods` (see `GgufPlan`)."""
    quantised = tuple(m for m in methods if m not in CONVERTER_TYPES)
    if not quantised:
        return GgufPlan(None, (), tuple(methods))
    intermediate = "bf16" if "bf16" in methods else "f16"
    return GgufPlan(intermediate, quantised, tuple(m for m in methods if m in CONVERTER_TYPES and m != intermediate))


WORK_DIR_ENV = "GRPO_EXPORT_WORK_DIR"
MODEL_NAME = "model_name (CLI: --model-name)"


def gguf_work_dir(work_dir: str | Path | None, out_dir: Path) -> Path:
    """The folder for `to_gguf`'s intermediate files: `work_dir`, else `$GRPO_EXPORT_WORK_DIR`, else `out_dir`'s
    parent. A folder that was named must exist.

    Example:
        >>> gguf_work_dir("/tmp", Path("/runs/r/gguf"))
        PosixPath('/tmp')
    """
    named = work_dir or os.environ.get(WORK_DIR_ENV)
    if not named:
        return out_dir.parent
    folder = Path(named).absolute()
    if not folder.is_dir():
        source = "work_dir" if work_dir else f"${WORK_DIR_ENV}"
        raise ExportError(f"{source} {folder}: no such folder; create it, or leave it unset to work beside {out_dir}")
    return folder


def same_file_system(first: Path, second: Path) -> bool:
    """Whether two existing-or-not folders are on one file system (their nearest existing parents are)."""
    def device(path: Path) -> int:
        while not path.exists():
            path = path.parent
        return path.stat().st_dev
    return device(first) == device(second)


def to_gguf(merged_dir: str | Path, out_dir: str | Path, methods=DEFAULT_METHODS, *, model_name: str | None = None,
            overwrite: bool = True, cache_dir: str | Path | None = None, work_dir: str | Path | None = None,
            write_modelfile: bool = True, report: list | None = None) -> list[Path]:
    """Convert a merged model folder to one or more GGUF files in `out_dir`, with an Ollama Modelfile.

    f32/f16/bf16/q8_0 are written by llama.cpp's `convert_hf_to_gguf.py` from the merged model; any other
    method (q4_k_m, q5_k_m, ...) by `llama-quantize` from a 16-bit GGUF converted once and deleted before the
    converter's types are written (`GgufPlan`; the quantizer is built once with cmake and cached). Each file is reloaded and compared with the merged
    model; a failed check raises `ExportVerificationError` and leaves `out_dir` as it was.

    Args:
        merged_dir: folder written by `merge(..., method="merged_16bit")` (or any HF model folder).
        out_dir: destination folder for `<model_name>.<METHOD>.gguf` files and `Modelfile`.
        methods: one name or several; default "q8_0" (as Unsloth). Unsloth aliases accepted.
        model_name: file name stem, a plain name (no path separator, not `..`); default: `merged_dir`'s name.
        cache_dir: where llama.cpp's tools are cached (default `$GRPO_CACHE` or ~/.cache/grpo-toolkit).
        work_dir: where the 16-bit intermediate of K-quants goes (default `$GRPO_EXPORT_WORK_DIR`, else beside
            `out_dir`): another disk, or a RAM disk, when the output's disk cannot hold the merged model, the
            intermediate and the K-quants at once (14.66 B: 29 + 29 + 9 GB).
        report: if a list is given, one dict of verification figures per file is appended to it.

    Returns:
        Paths of the GGUF files, in the order of `methods`.

    Example:
        >>> to_gguf("model", "model-gguf", ["q4_k_m", "q8_0", "q5_k_m"])  # doctest: +SKIP
        [PosixPath('.../model-gguf/model.Q4_K_M.gguf'), PosixPath('.../model-gguf/model.Q8_0.gguf'), ...]
    """
    merged_dir, out_dir = Path(merged_dir).absolute(), Path(out_dir).absolute()
    model_name = plain_name(model_name, MODEL_NAME) if model_name is not None else merged_dir.name
    chosen = normalise_methods(methods)
    check_replaceable(out_dir, "gguf")
    config = _check_merged_dir(merged_dir)
    cache_dir = Path(cache_dir) if cache_dir else None
    weight_bytes = sum(p.stat().st_size for p in merged_dir.glob("*.safetensors"))
    n_weights = weight_bytes / 2  # a 16-bit checkpoint; over-estimates for fp32 ones, which is the safe side
    plan = plan_gguf(chosen)
    work_dir = gguf_work_dir(work_dir, out_dir)
    elsewhere = not same_file_system(work_dir, out_dir.parent)
    ensure_free_space(out_dir.parent, int(plan.peak_bytes(chosen, n_weights, elsewhere)), f"GGUF export to {out_dir}")
    if elsewhere:
        ensure_free_space(work_dir, int(plan.scratch_bytes(chosen, n_weights)), f"the GGUF intermediate in {work_dir}")

    steps = bool(plan.intermediate) + len(plan.quantised) + len(plan.direct) + len(chosen) + 1
    with staged_output_dir(out_dir, kind="gguf", overwrite=overwrite) as staging, \
            scratch_dir(out_dir, where=work_dir) as work, \
            tqdm(total=steps, desc=f"GGUF {model_name}", unit="step") as progress:
        work = Path(work)
        log_path = work / "llama.cpp.log"
        source = converter_view(merged_dir, config, work / "converter-input")
        written: dict[str, Path] = {}

        def convert(method: str, into: Path) -> None:
            progress.set_postfix_str(f"convert {method}")
            written[method] = convert_to_gguf(source, into / gguf_file_name(model_name, method), method, log_path,
                                              cache_dir)
            progress.update()

        if plan.intermediate:
            convert(plan.intermediate, staging if plan.intermediate in chosen else work)
            for method in plan.quantised:
                progress.set_postfix_str(f"quantise {method}")
                written[method] = quantize_gguf(written[plan.intermediate], staging / gguf_file_name(model_name, method),
                                                method, log_path, cache_dir)
                progress.update()
            if plan.intermediate not in chosen:
                written.pop(plan.intermediate).unlink()  # before the direct types: the disk never holds all at once
        for method in plan.direct:
            convert(method, staging)
        progress.set_postfix_str("reference logits")
        reference = gguf_reference(merged_dir)
        checked: list[dict] = []
        progress.update()
        for method in chosen:
            progress.set_postfix_str(f"verify {method}")
            figures = verify_gguf(written[method], method, reference, cache_dir)
            checked.append(figures)
            if report is not None:
                report.append(figures)
            progress.update()
        write_marker(staging, checks=checked)
        if write_modelfile:
            names = [gguf_file_name(model_name, m) for m in chosen]
            (staging / "Modelfile").write_text(render_modelfile(names[0], merged_dir, names[1:]), encoding="utf-8")
    return [out_dir / gguf_file_name(model_name, m) for m in chosen]
