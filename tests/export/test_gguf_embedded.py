"""GGUF on the embedded SmolLM2 (LoRA-merged): f16 + q8_0 + q4_k_m in one call, verified on reload; the check's
refusals on a tiny model with the same tokenizer."""

from __future__ import annotations

import json
import math

import gguf
import pytest

from grpo_export import ExportError, ExportVerificationError
from grpo_export.gguf_export import (
    GgufReference,
    check_tokenization,
    convert_to_gguf,
    gguf_reference,
    normalise_methods,
    plan_gguf,
    to_gguf,
    verify_gguf,
)
from grpo_export.llama_runtime import LlamaRun

from conftest import make_tiny_model

GGUF_IMPORT_LAYOUT = {
    "normalizer": {"type": "Sequence", "normalizers": []},
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": True},
    "decoder": {"type": "Sequence", "decoders": [
        {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}]},
}
"""What transformers 5.17's GGUF import wrote for SmolLM2's byte-level BPE (with `byte_fallback: true`): the
embedded model's tokenizer.json before it was fixed, which llama.cpp's converter writes as a SentencePiece vocabulary."""


@pytest.fixture(scope="module")
def tiny_q8_0(embedded_tokenizer, tmp_path_factory):
    """A tiny random llama (the embedded tokenizer) converted straight to q8_0, and its reference logits."""
    folder = tmp_path_factory.mktemp("tiny-q8_0")
    model_dir = make_tiny_model("llama", folder / "tiny", embedded_tokenizer)
    path = convert_to_gguf(model_dir, folder / "tiny.Q8_0.gguf", "q8_0", folder / "convert.log")
    return model_dir, path, gguf_reference(model_dir)


@pytest.mark.slow
def test_one_call_writes_each_method_and_a_modelfile(embedded_gguf):
    paths, report = embedded_gguf
    assert [p.name for p in paths] == ["smollm2-grpo.F16.gguf", "smollm2-grpo.Q8_0.gguf", "smollm2-grpo.Q4_K_M.gguf"]
    folder = paths[0].parent
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == sorted([*(p.name for p in paths), "Modelfile"])
    modelfile = (folder / "Modelfile").read_text()
    assert modelfile.startswith("FROM ./smollm2-grpo.F16.gguf\n")
    assert "<|im_start|>assistant" in modelfile and 'PARAMETER stop "<|im_end|>"' in modelfile
    assert not list(folder.parent.glob(".gguf.*"))  # no temp folders left behind


@pytest.mark.slow
def test_each_file_passes_the_calibrated_llama_cpp_check(embedded_gguf):
    """llama.cpp's own runtime on each file, against the merged model, within GGUF_CALIBRATION × what the type's
    rounding does to the merged weights (q4_k_m: measured against q4_0, which it is at least as good as)."""
    _, report = embedded_gguf
    by_method = {r["method"]: r for r in report}
    assert all(r["passed"] for r in report), report
    assert by_method["q4_k_m"]["calibrated_against"] == "q4_0"
    assert by_method["f16"]["relative_logit_error"] < by_method["q8_0"]["relative_logit_error"] \
        < by_method["q4_k_m"]["relative_logit_error"]
    assert by_method["q4_k_m"]["file_type"] == "MOSTLY_Q4_K_M"
    assert by_method["q4_k_m"]["bytes"] < by_method["q8_0"]["bytes"] < by_method["f16"]["bytes"]


@pytest.mark.slow
def test_the_files_have_a_byte_level_vocabulary_that_llama_cpp_tokenizes_as_the_tokenizer(embedded_gguf):
    """The embedded model's tokenizer is SmolLM2's original byte-level BPE: llama.cpp's converter writes it as
    "gpt2" with SmolLM's pre-tokenizer, and llama.cpp tokenizes and detokenizes the check texts as transformers."""
    _, report = embedded_gguf
    for figures in report:
        assert (figures["tokenizer_model"], figures["tokenizer_pre"]) == ("gpt2", "smollm"), figures
        assert figures["tokenization"].endswith("llama.cpp's ids and text are the tokenizer's"), figures


def test_a_gguf_whose_vocabulary_llama_cpp_cannot_tokenize_fails_the_check(embedded_tokenizer, tmp_path):
    """A model folder with the GGUF-import tokenizer layout (byte_fallback, SentencePiece-style decoder): the
    converter writes a "llama" vocabulary for byte-level tokens, llama.cpp runs its logits on token ids but aborts
    on the first text it tokenizes. That is a failed check, not the fallback for a crashing runtime."""
    model_dir = make_tiny_model("llama", tmp_path / "tiny-hybrid", embedded_tokenizer)
    data = json.loads((model_dir / "tokenizer.json").read_text())
    data.update(GGUF_IMPORT_LAYOUT)
    data["model"]["byte_fallback"] = True
    (model_dir / "tokenizer.json").write_text(json.dumps(data))
    with pytest.raises(ExportVerificationError, match=r"llama.cpp crashed tokenizing text with .*tiny-hybrid.F16.gguf"
                                                      r"(.|\n)*tokenizer.ggml.model='llama'(.|\n)*export again"):
        to_gguf(model_dir, tmp_path / "gguf", "f16")
    assert not (tmp_path / "gguf").exists()


def test_a_tokenization_or_detokenization_difference_fails_the_check(embedded_tokenizer, tmp_path):
    """llama.cpp's ids (or text) for a check text differing from the tokenizer's: the message names the file, the
    first differing token (or character) and what to do."""
    text = "<|im_start|>user\nWhich is bigger? 9.11 or 9.9?<|im_end|>\n"
    ids = embedded_tokenizer(text, add_special_tokens=False)["input_ids"]
    reference = GgufReference(tmp_path, None, [], [], None, [text], [ids], [text], embedded_tokenizer)
    metadata = {"tokenizer_model": "gpt2", "tokenizer_pre": "default"}
    path = tmp_path / "m.Q8_0.gguf"
    assert "1 texts" in check_tokenization(path, reference, LlamaRun([], [ids], [text]), metadata)
    split = [*ids[:3], embedded_tokenizer.convert_tokens_to_ids("W"), *ids[4:]]
    with pytest.raises(ExportVerificationError, match=r"m.Q8_0.gguf failed: llama.cpp tokenizes check text 1 "
                                                      r"differently .* first at token 3: llama.cpp \d+ 'W', tokenizer "
                                                      r"\d+ 'Which'.*pre='default'.*export again"):
        check_tokenization(path, reference, LlamaRun([], [split], [text]), metadata)
    with pytest.raises(ExportVerificationError, match=r"detokenizes check text 1's ids to other text .* character 18"):
        check_tokenization(path, reference, LlamaRun([], [ids], [text.replace("Which", "WĠhich")]), metadata)


@pytest.mark.slow
def test_a_gguf_without_the_lora_fails_the_check(embedded_dir, embedded_merged_dir, tmp_path):
    """The base model converted instead of the merge: right architecture, tokenizer and type, wrong weights."""
    wrong = convert_to_gguf(embedded_dir, tmp_path / "base.F16.gguf", "f16", tmp_path / "convert.log")
    with pytest.raises(ExportVerificationError, match="more than its type's rounding explains"):
        verify_gguf(wrong, "f16", gguf_reference(embedded_merged_dir))


def test_a_q8_0_gguf_of_a_wrongly_configured_model_fails_the_check(tiny_q8_0, tmp_path):
    """Every weight right, the model llama.cpp runs wrong (its norm epsilon), in the 8-bit type."""
    import shutil

    model_dir, _, reference = tiny_q8_0
    bad = tmp_path / "bad"
    shutil.copytree(model_dir, bad)
    config = json.loads((bad / "config.json").read_text())
    config["rms_norm_eps"] = 0.1
    (bad / "config.json").write_text(json.dumps(config))
    wrong = convert_to_gguf(bad, tmp_path / "bad.Q8_0.gguf", "q8_0", tmp_path / "convert.log")
    with pytest.raises(ExportVerificationError, match="more than its type's rounding explains"):
        verify_gguf(wrong, "q8_0", reference)


@pytest.mark.slow
def test_smollm2_width_576_makes_llama_cpp_fall_back_for_some_tensors(embedded_gguf):
    """576 is not a multiple of 256: llama.cpp quantises those rows with non-K blocks (documented limit)."""
    q4_k_m = embedded_gguf[0][2]
    types = {t.tensor_type for t in gguf.GGUFReader(str(q4_k_m)).tensors if len(t.shape) == 2}
    k_types = {gguf.GGMLQuantizationType.Q4_K, gguf.GGMLQuantizationType.Q5_K, gguf.GGMLQuantizationType.Q6_K}
    assert types - k_types, "expected fallback (non-K) blocks for 576-wide rows"


def test_method_names_and_bad_input(tmp_path):
    assert normalise_methods(["Q4_K_M", "not_quantized", "q4_k_m"]) == ["q4_k_m", "f16"]
    with pytest.raises(ExportError, match="Unknown GGUF method 'q9_9'"):
        normalise_methods("q9_9")
    (tmp_path / "adapter").mkdir()
    (tmp_path / "adapter" / "config.json").write_text("{}")
    with pytest.raises(ExportError, match="has no weights"):
        to_gguf(tmp_path / "adapter", tmp_path / "out")
    with pytest.raises(ExportError, match="Cannot read"):
        to_gguf(tmp_path / "missing", tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_crashing_llama_cpp_runtime_falls_back_to_transformers_loader(embedded_gguf, embedded_merged_dir,
                                                                          tmp_path, monkeypatch):
    """Where the runtime built on the machine dies with SIGSEGV while loading any model, the check
    says so and measures the same file through transformers' GGUF loader, with the same calibration."""
    from grpo_export import llama_runtime

    crashing = tmp_path / "crash.py"
    crashing.write_text("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n")
    monkeypatch.setattr(llama_runtime, "WORKER", crashing)
    q8_0 = embedded_gguf[0][1]
    figures = verify_gguf(q8_0, "q8_0", gguf_reference(embedded_merged_dir))
    assert figures["runtime"] == "transformers (llama.cpp crashed)" and figures["passed"]
    assert figures["tokenization"] == "not checked: llama.cpp crashed loading the file"


def test_the_fallback_is_refused_where_it_would_not_fit_in_host_memory(tiny_q8_0, tmp_path, monkeypatch):
    """At 14.66 B the fallback would load ~59 GB of float32 weights: on a host without it, a clear error
    (the need, what is free, what to do) instead of an export killed for memory; nothing is checked or written."""
    from grpo_export import llama_runtime

    crashing = tmp_path / "crash.py"
    crashing.write_text("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n")
    monkeypatch.setattr(llama_runtime, "WORKER", crashing)
    _, q8_0, reference = tiny_q8_0
    needed = llama_runtime.fallback_host_bytes(q8_0)
    monkeypatch.setattr(llama_runtime, "available_host_bytes", lambda: needed - 1)  # a host one byte short
    with pytest.raises(ExportVerificationError, match=r"needs 0\.\d GiB of host memory.*delete .*llama\.cpp"):
        verify_gguf(q8_0, "q8_0", reference)


@pytest.mark.slow
def test_the_fallbacks_memory_is_every_weight_in_float32(embedded_gguf, embedded_merged_dir):
    from safetensors import safe_open

    from grpo_export.llama_runtime import fallback_host_bytes

    weights = 0
    for shard in embedded_merged_dir.glob("*.safetensors"):
        with safe_open(str(shard), "pt") as tensors:
            weights += sum(math.prod(tensors.get_slice(name).get_shape()) for name in tensors.keys())
    assert weights > 100_000_000
    paths = embedded_gguf[0]
    assert [fallback_host_bytes(path) for path in paths] == [4 * weights] * len(paths)


def test_a_file_llama_cpp_refuses_fails_the_check(tiny_q8_0, tmp_path):
    broken = tmp_path / "broken.Q8_0.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ExportVerificationError):
        verify_gguf(broken, "q8_0", tiny_q8_0[2])


def test_the_16_bit_intermediate_is_gone_before_the_converter_writes_q8_0():
    """Disk at size: base + merged + intermediate + every quant at once does not fit a 64 GB machine at 8 B; the
    plan keeps at most the intermediate and the K-quants beside the merged model."""
    plan = plan_gguf(normalise_methods(["q8_0", "q4_k_m"]))
    assert (plan.intermediate, plan.quantised, plan.direct) == ("f16", ("q4_k_m",), ("q8_0",))
    n = 8.19e9
    assert plan.peak_bytes(["q8_0", "q4_k_m"], n) == pytest.approx((2.0 + 0.61) * n)  # not (2.0 + 1.07 + 0.61) n
    kept = plan_gguf(["f16", "q8_0", "q4_k_m"])
    assert (kept.intermediate, kept.quantised, kept.direct) == ("f16", ("q4_k_m",), ("q8_0",))
    assert plan_gguf(["q8_0", "bf16"]).intermediate is None
    assert plan_gguf(["bf16", "q5_k_m"]).intermediate == "bf16"


def test_the_intermediate_goes_to_the_work_dir_and_is_counted_there(embedded_tokenizer, tmp_path, monkeypatch):
    """At 14.66 B the output's disk may not hold merged + intermediate + K-quants (29 + 29 + 9 GB): the intermediate
    can go to another disk or a RAM disk ($GRPO_EXPORT_WORK_DIR), and each file system's free space is checked for
    what it will hold."""
    from grpo_export import gguf_export

    model_dir = make_tiny_model("llama", tmp_path / "tiny", embedded_tokenizer)
    converted = []
    real_convert = gguf_export.convert_to_gguf

    def convert_and_record(source, out_path, *args, **kwargs):  # the real converter, its output path noted
        converted.append(out_path)
        return real_convert(source, out_path, *args, **kwargs)

    monkeypatch.setattr(gguf_export, "convert_to_gguf", convert_and_record)
    work = tmp_path / "ram-disk"
    work.mkdir()
    monkeypatch.setenv("GRPO_EXPORT_WORK_DIR", str(work))
    paths = to_gguf(model_dir, tmp_path / "run" / "gguf", ["q4_k_m"], model_name="tiny")
    assert [p.name for p in paths] == ["tiny.Q4_K_M.gguf"]
    assert converted[0].name == "tiny.F16.gguf" and converted[0].parent.parent == work
    assert list(work.iterdir()) == [] and not list((tmp_path / "run").glob(".gguf.*"))  # nothing left behind

    plan = plan_gguf(["q8_0", "q4_k_m"])
    n = 14.66e9
    assert plan.peak_bytes(["q8_0", "q4_k_m"], n, intermediate_elsewhere=True) == pytest.approx((1.07 + 0.61) * n)
    assert plan.scratch_bytes(["q8_0", "q4_k_m"], n) == pytest.approx(2.0 * n)
    assert plan_gguf(["f16", "q4_k_m"]).scratch_bytes(["f16", "q4_k_m"], n) == 0.0  # asked for: in the output

    monkeypatch.setenv("GRPO_EXPORT_WORK_DIR", str(tmp_path / "no-such-folder"))
    with pytest.raises(ExportError, match=r"\$GRPO_EXPORT_WORK_DIR .*no-such-folder: no such folder"):
        to_gguf(model_dir, tmp_path / "run2" / "gguf", ["q4_k_m"])
