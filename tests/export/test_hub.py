"""Hub push against a loopback stand-in server (see hub_standin.py for why a stand-in)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml
from huggingface_hub import ModelCard, constants

from grpo_export.errors import HubPushError
from grpo_export.hub import ModelCardInfo, build_model_card, push_to_hub

from hub_standin import HubStandIn

TOKEN = "hf_standinSECRETtoken1234567890abcdef"


@pytest.fixture
def hub(monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # the env is offline; the stand-in is on loopback
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    with HubStandIn() as server:
        yield server


@pytest.fixture
def lora_like_folder(tmp_path) -> Path:
    folder = tmp_path / "grpo_saved_lora"
    folder.mkdir()
    (folder / "adapter_config.json").write_text('{"peft_type": "LORA", "r": 8}')
    (folder / "adapter_model.safetensors").write_bytes(bytes(range(256)) * 40)
    (folder / "tokenizer.json").write_text('{"model": {}}')
    (folder / ".hidden").write_text("not uploaded")
    return folder


CARD_INFO = ModelCardInfo(base_model="HuggingFaceTB/SmolLM2-135M-Instruct", datasets=["openai/gsm8k"],
                          recipe="learning_rate: 5.0e-6\nnum_generations: 6\n",
                          evaluation=[{"metric": "gsm8k accuracy", "before": 0.12, "after": 0.2}])


def test_push_uploads_files_and_card_and_never_leaks_token(hub, lora_like_folder, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    plan = push_to_hub(lora_like_folder, "tester/smollm2-grpo-lora", private=True, card_info=CARD_INFO,
                       endpoint=hub.endpoint)

    repo = hub.repos["tester/smollm2-grpo-lora"]
    assert repo.private
    assert set(repo.files) == {".gitattributes", "adapter_config.json", "adapter_model.safetensors",
                               "tokenizer.json", "README.md"}
    assert repo.files["adapter_model.safetensors"] == (lora_like_folder / "adapter_model.safetensors").read_bytes()
    assert len(repo.commits) == 1 and plan.commit_url.endswith(repo.commits[0])

    card = ModelCard(repo.files["README.md"].decode())
    assert card.data.base_model == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert card.data.datasets == ["openai/gsm8k"]
    assert card.data.library_name == "peft"
    assert {"grpo", "lora"} <= set(card.data.tags)
    assert "| gsm8k accuracy | 0.12 | 0.2 |" in card.text
    assert "num_generations: 6" in card.text

    # the token authenticated the requests ...
    assert any(r["headers"].get("authorization") == f"Bearer {TOKEN}" for r in hub.requests)
    # ... and appears nowhere else: request bodies (uploaded files, card), logs, stdout/stderr, the plan
    assert all(TOKEN.encode() not in r["body"] for r in hub.requests)
    assert all(TOKEN.encode() not in data for data in repo.files.values())
    captured = capsys.readouterr()
    assert TOKEN not in caplog.text + captured.out + captured.err + plan.describe() + plan.model_card
    assert all(TOKEN.encode() not in p.read_bytes() for p in lora_like_folder.rglob("*") if p.is_file())


def test_push_refuses_repo_with_files_unless_allowed(hub, lora_like_folder):
    push_to_hub(lora_like_folder, "tester/model", endpoint=hub.endpoint)
    with pytest.raises(HubPushError, match="already holds"):
        push_to_hub(lora_like_folder, "tester/model", endpoint=hub.endpoint)
    (lora_like_folder / "tokenizer.json").write_text('{"model": {"v": 2}}')
    push_to_hub(lora_like_folder, "tester/model", endpoint=hub.endpoint, allow_existing=True)
    assert hub.repos["tester/model"].files["tokenizer.json"] == b'{"model": {"v": 2}}'
    assert len(hub.repos["tester/model"].commits) == 2


def test_dry_run_lists_files_and_contacts_nothing(hub, lora_like_folder):
    plan = push_to_hub(lora_like_folder, "tester/dry", dry_run=True, card_info=CARD_INFO, endpoint=hub.endpoint)
    assert hub.requests == [] and hub.repos == {}
    assert [name for name, _ in plan.files] == ["adapter_config.json", "adapter_model.safetensors", "tokenizer.json"]
    assert "Would upload to tester/dry" in plan.describe() and "README.md" in plan.describe()


def test_push_without_token_is_a_clear_error(hub, lora_like_folder, monkeypatch, tmp_path):
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))  # no stored login either
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "hf-home" / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "hf-home" / "stored_tokens"))
    with pytest.raises(HubPushError, match="hf auth login"):
        push_to_hub(lora_like_folder, "tester/model", endpoint=hub.endpoint)
    assert hub.requests == []


def test_offline_mode_is_a_clear_error(lora_like_folder, monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(HubPushError, match="HF_HUB_OFFLINE"):
        push_to_hub(lora_like_folder, "tester/model")


def test_card_for_gguf_and_merged_folders(tmp_path):
    gguf_dir = tmp_path / "gguf"
    gguf_dir.mkdir()
    (gguf_dir / "m.Q8_0.gguf").write_bytes(b"GGUF")
    card = build_model_card(gguf_dir, "me/m-GGUF", CARD_INFO)
    metadata = yaml.safe_load(str(card).split("---")[1])
    assert metadata["library_name"] == "gguf" and "gguf" in metadata["tags"]
    assert "`m.Q8_0.gguf`" in card.text
    merged = tmp_path / "merged"
    merged.mkdir()
    assert build_model_card(merged, "me/m", CARD_INFO).data.library_name == "transformers"


def test_a_secret_in_the_cards_recipe_is_neither_shown_nor_pushed(hub, lora_like_folder, caplog):
    """A recipe written by hand (`--recipe FILE`, a run's recipe.yaml or card) holding a token: the card shown on
    --dry-run and the one pushed carry `<redacted>` in its place, and the rest of the recipe as it was."""
    secret = "hf_" + "RecipeSecret" * 3
    info = ModelCardInfo(recipe=f"grpo:\n  hub_token: {secret}\n  learning_rate: 5.0e-6\nrewards:\n"
                                "  - name: judge.py:score\n    params: {openai_api_key: sk-abc123, max_new_tokens: 64}\n")
    run_card = ModelCardInfo(run_card=f"# run\n\ngrpo-toolkit\n\n## Recipe\n\n```yaml\nnote: {secret}\n```\n")
    dry = push_to_hub(lora_like_folder, "tester/dry", dry_run=True, card_info=info)
    with caplog.at_level(logging.WARNING):
        push_to_hub(lora_like_folder, "tester/card", card_info=info, endpoint=hub.endpoint)
        push_to_hub(lora_like_folder, "tester/run-card", card_info=run_card, endpoint=hub.endpoint)
    pushed = [hub.repos[repo].files["README.md"].decode() for repo in ("tester/card", "tester/run-card")]
    for card in (dry.model_card, *pushed):
        assert secret not in card and "sk-abc123" not in card and "<redacted>" in card, card
    assert "learning_rate: 5.0e-6" in pushed[0] and "max_new_tokens: 64" in pushed[0]
    assert all(secret.encode() not in request["body"] for request in hub.requests)
    assert "held a secret" in caplog.text and secret not in caplog.text
