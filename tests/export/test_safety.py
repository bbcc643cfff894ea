"""Interrupted or failed exports never replace a good artefact nor leave a half-written one."""

from __future__ import annotations

import os
import shutil

import pytest

from grpo_export import ExportVerificationError, InsufficientDiskSpaceError, to_gguf
from grpo_export import gguf_export
from grpo_export.logit_check import Calibration
from grpo_export.output_folders import ensure_free_space, staged_output_dir

from conftest import make_tiny_model


def _snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_staged_dir_replaces_only_on_success(tmp_path):
    target = tmp_path / "model"
    with staged_output_dir(target, kind="merged") as staging:
        (staging / "weights").write_text("good")
    with pytest.raises(RuntimeError):
        with staged_output_dir(target, kind="merged") as staging:
            (staging / "weights").write_text("half")
            raise RuntimeError("disk died")
    assert (target / "weights").read_text() == "good"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


@pytest.mark.parametrize("umask, folder_mode, file_mode", [(0o022, 0o755, 0o644), (0o027, 0o750, 0o640)])
def test_staged_dir_gets_the_mode_the_umask_asks_for(tmp_path, umask, folder_mode, file_mode):
    # mkdtemp makes the staging folder 0o700; renamed into place as it is, the export would keep that mode.
    previous = os.umask(umask)
    try:
        with staged_output_dir(tmp_path / "model", kind="merged") as staging:
            (staging / "config.json").write_text("{}")
    finally:
        os.umask(previous)
    assert (tmp_path / "model").stat().st_mode & 0o777 == folder_mode
    assert (tmp_path / "model" / "config.json").stat().st_mode & 0o777 == file_mode


def test_disk_space_check_refuses_an_impossible_write(tmp_path):
    free = shutil.disk_usage(tmp_path).free
    with pytest.raises(InsufficientDiskSpaceError, match="GB is free"):
        ensure_free_space(tmp_path / "not-yet" / "there", free * 2)


@pytest.fixture(scope="module")
def tiny_with_good_gguf(embedded_tokenizer, tmp_path_factory):
    """A tiny model and its good GGUF, which each test below tries to replace and must leave as it was."""
    tmp_path = tmp_path_factory.mktemp("good-gguf")
    model_dir = make_tiny_model("llama", tmp_path / "tiny", embedded_tokenizer)
    out = tmp_path / "gguf"
    to_gguf(model_dir, out, "f16")
    return model_dir, out, _snapshot(out)


def test_failed_verification_keeps_the_old_gguf(tiny_with_good_gguf, monkeypatch):
    model_dir, out, before = tiny_with_good_gguf
    # a bar no export can meet: the check runs for real, on real files, and fails
    monkeypatch.setattr(gguf_export, "GGUF_CALIBRATION", Calibration(multiple=0.0, floor=0.0))
    with pytest.raises(ExportVerificationError, match="Verification of GGUF tiny.F16.gguf failed"):
        to_gguf(model_dir, out, "f16")
    assert _snapshot(out) == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["gguf", "tiny"]


def test_interrupted_export_keeps_the_old_gguf(tiny_with_good_gguf, monkeypatch, quantizer):
    model_dir, out, before = tiny_with_good_gguf

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C after the conversion, during quantisation

    monkeypatch.setattr(gguf_export, "quantize_gguf", interrupted)
    with pytest.raises(KeyboardInterrupt):
        to_gguf(model_dir, out, ["f16", "q4_k_m"])
    assert _snapshot(out) == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["gguf", "tiny"]
