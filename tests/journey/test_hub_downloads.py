"""A run whose Hub model or data set cannot be downloaded fails at once: one `error:` line saying which failure
it is and what to do, exit status 2, and no run folder left behind. Two cases run as a user runs them
(`python -m grpo_training train`, the Hub on loopback); the others call the check those runs make
(`grpo_data.hub_downloads.check_hub_download`) in this process, with huggingface_hub pointed at the stand-in
as HF_ENDPOINT would point it, and its own client making the requests."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import constants

from grpo_data.hub_downloads import DownloadSpaceError, check_hub_download
from grpo_data.hub_errors import HubAccessError
from grpo_training.recipe import DEMO_RECIPE

from journey_env import TOKEN, online_env
from hub_repos import GSM8K_REPO, MODEL_REPO, gsm8k_files


def start_run(tmp_path: Path, endpoint: str, *sets: str, **env: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "grpo_training", "train", str(DEMO_RECIPE), "--backend", "trl",
               "--set", f"run.output_dir={tmp_path / 'runs'}", "--set", "run.name=journey",
               "--set", f"data.source={GSM8K_REPO}", "--set", "data.config=main"]
    for item in sets:
        command += ["--set", item]
    return subprocess.run(command, cwd=tmp_path, env=online_env(endpoint, tmp_path / "hf-home", **env),
                          capture_output=True, text=True, timeout=300)


def error_line(done: subprocess.CompletedProcess, tmp_path: Path) -> str:
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 2, done.stderr[-3000:]
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr[-3000:]
    assert not (tmp_path / "runs" / "journey").exists(), "a run folder was left behind by a run that never started"
    assert TOKEN not in done.stdout + done.stderr
    return errors[0]


@pytest.fixture
def served(hub):
    hub.add_repo(GSM8K_REPO, gsm8k_files(16, 4), repo_type="dataset")
    return hub


@pytest.mark.slow  # starts a run, as the next test does
def test_offline_variable_is_named(tmp_path, served):
    line = error_line(start_run(tmp_path, served.endpoint, HF_DATASETS_OFFLINE="1"), tmp_path)
    assert "HF_DATASETS_OFFLINE=1 is set in the environment" in line and GSM8K_REPO in line


def test_missing_data_set_is_named(tmp_path, served):
    line = error_line(start_run(tmp_path, served.endpoint, "data.source=openai/no-such-set"), tmp_path)
    assert "no repo openai/no-such-set on the Hub" in line and "check the repo id" in line



@pytest.fixture
def hub_here(monkeypatch, served, tmp_path):
    """huggingface_hub in this process, configured as a user's online environment with the stand-in as the Hub."""
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("HF_ENDPOINT", served.endpoint)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", served.endpoint)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub-cache"))
    return served


def refusal(error_type, repo_id: str, repo_type: str = "model") -> str:
    with pytest.raises(error_type) as raised:
        check_hub_download(repo_id, repo_type=repo_type)
    message = str(raised.value)
    assert "\n" not in message and TOKEN not in message
    return message


def test_no_connection_names_hf_endpoint(hub_here, monkeypatch):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    assert f"no connection to HF_ENDPOINT={endpoint}" in refusal(HubAccessError, MODEL_REPO)


def test_missing_model_is_named(hub_here):
    message = refusal(HubAccessError, "smol-org/no-such-model")
    assert "no repo smol-org/no-such-model on the Hub" in message and "check the repo id" in message


def test_gated_model_says_to_accept_its_terms(hub_here):
    hub_here.add_repo(MODEL_REPO, {"config.json": b"{}"})
    hub_here.gated.add(MODEL_REPO)
    message = refusal(HubAccessError, MODEL_REPO)
    assert "403" in message and "accept its terms" in message and MODEL_REPO in message


def test_refused_token_says_what_to_do(hub_here):
    hub_here.token = "hf_the_one_the_hub_knows"
    message = refusal(HubAccessError, GSM8K_REPO, "dataset")
    assert "(401)" in message and "HF_TOKEN" in message and "hf auth login" in message


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_says_to_retry(hub_here, status):
    hub_here.add_repo(MODEL_REPO, {"config.json": b"{}"})
    hub_here.fail_reads = status
    message = refusal(HubAccessError, MODEL_REPO)
    assert f"server error ({status}); retry in a few minutes" in message and MODEL_REPO in message


def test_download_larger_than_the_free_disk_is_refused_before_it_starts(hub_here):
    hub_here.add_repo(MODEL_REPO, {"config.json": b"{}", "model.safetensors": b"\0" * 64})
    hub_here.claimed_sizes["model.safetensors"] = 10**18  # an exabyte: more than any test machine's disk
    message = refusal(DownloadSpaceError, MODEL_REPO)
    assert "need 1000000000.00 GB in" in message and "GB free" in message and "HF_HOME" in message
    assert not hub_here.gets_of("model.safetensors"), "the download started"


def test_only_the_files_a_model_load_reads_are_counted(hub_here):
    hub_here.add_repo(MODEL_REPO, {"config.json": b"{}", "model.safetensors": b"\0" * 64, "model.gguf": b"x" * 999})
    assert check_hub_download(MODEL_REPO) == 66  # config + safetensors; the GGUF is not what a model load reads
