"""A push that cannot happen says why in one line: a repo id the Hub would refuse (before anything is sent,
also on --dry-run), a refused token, a server error mid-upload (and a retry then works), a server that never
answers the commit (the push ends within the wait `HF_HUB_DOWNLOAD_TIMEOUT` sets)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from huggingface_hub import constants

from grpo_export.errors import HubPushError
from grpo_export.hub import push_to_hub

from journey_env import TOKEN


@pytest.fixture
def online(monkeypatch, hub):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # the suite is offline; the stand-in is on loopback
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    return hub


@pytest.fixture
def folder(tmp_path) -> Path:
    folder = tmp_path / "merged_16bit"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "llama"}')
    (folder / "model.safetensors").write_bytes(bytes(range(256)) * 64)
    return folder


@pytest.mark.parametrize("repo_id", ["../x", "me/my model", "me/..", "a/b/c", "no-namespace"])
def test_invalid_repo_ids_are_refused_even_on_a_dry_run(online, folder, repo_id):
    with pytest.raises(HubPushError, match="is not a Hub repo id"):
        push_to_hub(folder, repo_id, dry_run=True, endpoint=online.endpoint)
    assert online.requests == []


def test_cli_dry_run_refuses_an_invalid_repo_id_in_one_line(folder):
    done = subprocess.run([sys.executable, "-m", "grpo_export", "push", str(folder), "me/my model", "--dry-run"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and done.stderr.startswith("error: ")
    assert "'me/my model' is not a Hub repo id" in done.stderr and "Traceback" not in done.stderr


def test_a_refused_token_is_named(online, folder):
    online.token = "hf_another_token"
    with pytest.raises(HubPushError, match=r"refused the token \(401\).*HF_TOKEN.*hf auth login") as error:
        push_to_hub(folder, "tester/model", endpoint=online.endpoint)
    assert TOKEN not in str(error.value)


def test_a_server_error_mid_upload_is_reported_and_a_retry_works(online, folder):
    online.fail_commit = "500"
    with pytest.raises(HubPushError, match=r"server error \(500\).*retry the push"):
        push_to_hub(folder, "tester/model", endpoint=online.endpoint)
    assert any(r["path"].endswith("/commit/main") for r in online.requests), "the upload was not attempted"
    assert online.repos["tester/model"].commits == []
    online.fail_commit = None
    push_to_hub(folder, "tester/model", endpoint=online.endpoint)  # the empty repo left behind is no "existing" one
    assert online.repos["tester/model"].files["model.safetensors"] == (folder / "model.safetensors").read_bytes()


def test_a_commit_the_server_never_answers_ends_with_an_error_in_bounded_time(online, folder, monkeypatch):
    monkeypatch.setenv("HF_HUB_DOWNLOAD_TIMEOUT", "2")
    monkeypatch.setattr(constants, "HF_HUB_DOWNLOAD_TIMEOUT", 2)
    online.fail_commit = "hang"
    started = time.monotonic()
    with pytest.raises(HubPushError, match=r"no answer from .* within 2 s.*retry the push"):
        push_to_hub(folder, "tester/model", endpoint=online.endpoint)
    assert time.monotonic() - started < 20
