"""No secret in what a push publishes: Hugging Face tokens and the values of secret-named fields are replaced
by `<redacted>` in a model card before it is shown or uploaded.

A card carries a recipe (`--recipe FILE`, a run's `recipe.yaml` or its own `README.md`), and a recipe written by
hand may hold a token. The training package refuses secrets in recipes and redacts them where it writes one
(`grpo_training.recipe.secrets`); this module has the same rule for the export's cards (the two packages import
nothing of each other). A field is a secret when its name ends with a secret's word (`hub_token`,
`openai_api_key`, `password`; not `max_new_tokens` or `stop_token_ids`); a string that looks like a Hugging Face
token (`hf_` and 20 or more letters and digits) is one wherever it stands.

Example:
    >>> redact_text("grpo:\\n  hub_token: abc123\\n  max_new_tokens: 64\\nnote: hf_" + "x" * 24)
    'grpo:\\n  hub_token: <redacted>\\n  max_new_tokens: 64\\nnote: <redacted>'
"""

from __future__ import annotations

import re

REDACTED = "<redacted>"
SECRET_WORDS = ("token", "secret", "password", "passwd", "apikey", "api_key", "credential", "credentials")
_SECRET_NAME = re.compile(r"(?:^|[_\-.])(?:" + "|".join(re.escape(word) for word in SECRET_WORDS) + r")$", re.IGNORECASE)
HF_TOKEN_PATTERN = re.compile(r"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{20,}")
# A tokenizer's special tokens (`eos_token: "</s>"`) are text, not secrets.
_SPECIAL_TOKEN_NAME = re.compile(r"(?:^|_)(?:pad|eos|bos|unk|sep|cls|mask|special)_token$", re.IGNORECASE)
# `name: value` or `name=value`; the value is quoted, or runs to the next space, comma or closing brace (a value
# that opens a mapping or list is not one: the names inside it are looked at in turn).
_ASSIGNMENT = re.compile(r"((?:^|(?<=[\s.{,\[]))([A-Za-z0-9_\-]+)\s*(?::[ \t]+|=))"
                         r"(\"[^\"]*\"|'[^']*'|[^\s,{}\[\]][^\s,}\]]*)", re.MULTILINE)


def is_secret_name(name: str) -> bool:
    """True when a field's name says it holds a secret (it ends with such a word).

    Example:
        >>> [is_secret_name(n) for n in ("hub_token", "openai_api_key", "max_new_tokens", "stop_token_ids", "eos_token")]
        [True, True, False, False, False]
    """
    return bool(_SECRET_NAME.search(name)) and not _SPECIAL_TOKEN_NAME.search(name)


def redact_text(text: str) -> str:
    """`text` with every Hugging Face token, and the value of every `name: value` / `name=value` whose name is a
    secret's, replaced by `<redacted>` (an empty or null value is left as it is).

    Example:
        >>> redact_text("hub_token: null, password=s3cret")
        'hub_token: null, password=<redacted>'
        >>> redact_text("params: {openai_api_key: sk-1, max_new_tokens: 64}")
        'params: {openai_api_key: <redacted>, max_new_tokens: 64}'
    """
    text = HF_TOKEN_PATTERN.sub(REDACTED, text)
    return _ASSIGNMENT.sub(lambda match: match.group(1) + REDACTED
                           if is_secret_name(match.group(2)) and match.group(3) not in ("null", "''", '""', "~")
                           else match.group(0), text)
