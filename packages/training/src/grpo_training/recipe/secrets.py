"""No secrets in recipes: refused when a recipe is read, and redacted wherever a recipe or its settings are
written or logged.

A recipe is copied into the run folder (`recipe.yaml`), its model card (`README.md`, which `--push-to` uploads),
the SwanLab config and the log, so a token in it would be published with the run. Tokens come from the
environment instead (`HF_TOKEN`, or `hf auth login`, which the Hugging Face libraries read themselves).

A field is a secret when its name says so (`hub_token`, `api_key`, `password`, `client_secret`, ...: the name
ends with such a word, so `max_new_tokens` and `stop_token_ids` are not secrets), and any string that looks like a Hugging Face token (`hf_` and 20 or
more letters and digits) is one wherever it stands. `check_no_secrets` refuses them without repeating the
value; `redact_secrets` / `redact_text` replace them, as a second line of defence, where a recipe is written.

Example:
    >>> check_no_secrets({"grpo": {"hub_token": "hf_" + "x" * 30}})
    Traceback (most recent call last):
    ...
    grpo_training.recipe.sections.RecipeError: grpo.hub_token: a recipe may not hold a secret (it is copied to the run folder, the model card, SwanLab and the log); remove it: tokens come from HF_TOKEN or `hf auth login`
    >>> redact_secrets({"grpo": {"hub_token": "abc", "max_steps": 2}})
    {'grpo': {'hub_token': '<redacted>', 'max_steps': 2}}
"""

from __future__ import annotations

import re
from typing import Any

from grpo_training.recipe.sections import RecipeError

REDACTED = "<redacted>"
SECRET_WORDS = ("token", "secret", "password", "passwd", "apikey", "api_key", "credential", "credentials")
# The secret word ends the name: `hub_token`, `openai_api_key`, but not vLLM's `stop_token_ids` or `max_new_tokens`.
_SECRET_NAME = re.compile(r"(?:^|[_\-.])(?:" + "|".join(re.escape(word) for word in SECRET_WORDS) + r")$", re.IGNORECASE)
HF_TOKEN_PATTERN = re.compile(r"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{20,}")
# A tokenizer's special tokens (`eos_token: "</s>"`, a reward's `pad_token`) are text, not secrets.
_SPECIAL_TOKEN_NAME = re.compile(r"(?:^|_)(?:pad|eos|bos|unk|sep|cls|mask|special)_token$", re.IGNORECASE)
WHERE_TOKENS_COME_FROM = "tokens come from HF_TOKEN or `hf auth login`"


def is_secret_name(name: Any) -> bool:
    """True when a field's name says it holds a secret (it ends with such a word: `hub_token`, not `max_new_tokens`).

    Example:
        >>> [is_secret_name(n) for n in ("hub_token", "openai_api_key", "password", "max_new_tokens", "stop_token_ids")]
        [True, True, True, False, False]
        >>> is_secret_name("eos_token")  # a tokenizer's special token
        False
    """
    return isinstance(name, str) and bool(_SECRET_NAME.search(name)) and not _SPECIAL_TOKEN_NAME.search(name)


def check_no_secrets(raw: Any, where: str = "") -> None:
    """Raise `RecipeError` at the first secret in a recipe (its raw mapping, or `Recipe.to_dict()`): a non-empty
    value under a secret-named field, or a string that looks like a Hugging Face token. The message names the
    field, never the value.

    Example:
        >>> check_no_secrets({"data": {"source": "me/data", "config": None}, "run": {"name": "demo"}})
        >>> check_no_secrets({"rewards": [{"name": "judge.py:score", "params": {"key": "hf_" + "a" * 24}}]})
        Traceback (most recent call last):
        ...
        grpo_training.recipe.sections.RecipeError: rewards[0].params.key: looks like a Hugging Face token (hf_...); a recipe may not hold a secret (it is copied to the run folder, the model card, SwanLab and the log); remove it: tokens come from HF_TOKEN or `hf auth login`
    """
    found = _first_secret(raw, where)
    if found is not None:
        path, what = found
        raise RecipeError(f"{path}: {what}a recipe may not hold a secret (it is copied to the run folder, the model "
                          f"card, SwanLab and the log); remove it: {WHERE_TOKENS_COME_FROM}")


def _first_secret(value: Any, where: str) -> tuple[str, str] | None:
    if isinstance(value, str):
        if HF_TOKEN_PATTERN.search(value):
            return where or "recipe", "looks like a Hugging Face token (hf_...); "
        if redact_text(value) != value:  # YAML that did not parse, kept as text: `{api_key: sk-...`
            return where or "recipe", "holds a secret-named field's value; "
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if is_secret_name(key) and item not in (None, "", [], {}):
                return path, ""
            found = _first_secret(key, path) or _first_secret(item, path)
            if found is not None:
                return found
    elif isinstance(value, (list, tuple)):
        prefix = "rewards" if where in ("rewards.funcs", "rewards.names") else where
        for index, item in enumerate(value):
            found = _first_secret(item, f"{prefix}[{index}]")
            if found is not None:
                return found
    return None


def redact_secrets(value: Any) -> Any:
    """A copy of `value` (mappings, lists, strings) with secret-named fields' values and Hugging Face tokens
    replaced by `<redacted>`; what is not a secret is left as it is.

    Example:
        >>> redact_secrets({"run": {"name": "hf_" + "b" * 22 + "-run"}, "params": [{"api_key": None}]})
        {'run': {'name': '<redacted>-run'}, 'params': [{'api_key': None}]}
    """
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: (REDACTED if is_secret_name(key) and item not in (None, "", [], {}) else redact_secrets(item))
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_secrets(item) for item in value)
    return value


def redact_text(text: str) -> str:
    """`text` with every Hugging Face token replaced by `<redacted>`, and the value of every `name: value` /
    `name=value` whose name is a secret's (YAML lines, `--set` overrides).

    Example:
        >>> redact_text("grpo.hub_token=abc123 grpo.max_steps=2")
        'grpo.hub_token=<redacted> grpo.max_steps=2'
        >>> redact_text("  hub_token: abc123\\n  beta: 0.0")
        '  hub_token: <redacted>\\n  beta: 0.0'
        >>> redact_text("vllm_sampling_kwargs={api_key: sk-1, seed: 3}")
        'vllm_sampling_kwargs={api_key: <redacted>, seed: 3}'
    """
    text = HF_TOKEN_PATTERN.sub(REDACTED, text)
    return _SECRET_ASSIGNMENT.sub(lambda match: match.group(1) + REDACTED
                                  if is_secret_name(match.group(2)) and match.group(3) not in ("null", "''", '""')
                                  else match.group(0), text)


# `name: value` or `name=value`; the value is quoted, or runs to the next space, comma or closing brace (a value
# that opens a mapping or list is not one: the names inside it are looked at in turn).
_SECRET_ASSIGNMENT = re.compile(r"((?:^|(?<=[\s.{,\[]))([A-Za-z0-9_\-]+)\s*(?::[ \t]+|=))"
                                r"(\"[^\"]*\"|'[^']*'|[^\s,{}\[\]][^\s,}\]]*)", re.MULTILINE)
