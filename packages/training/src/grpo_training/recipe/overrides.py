"""`--set section.field=value` overrides, applied to the raw recipe dict before it is checked.

The value is parsed as YAML (`[q_proj, v_proj]` is a list, `1e-5` stays a string until the field's
type is known); list items are addressed by index (`rewards.0.weight=2`). Nothing here imports trl.

Example:
    >>> apply_overrides({"rewards": [{"name": "xmlcount"}]}, ["rewards.0.weight=2", "grpo.max_steps=3"])
    {'rewards': [{'name': 'xmlcount', 'weight': 2}], 'grpo': {'max_steps': 3}}
"""

from __future__ import annotations

from typing import Any

from grpo_training.recipe.sections import RecipeError
from grpo_training.recipe.secrets import redact_text
from grpo_training.recipe.yaml_safety import InvalidYaml, load_yaml


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split `section.field=value` into the path and a YAML-parsed value.

    Example:
        >>> parse_override("grpo.learning_rate=1e-5")
        (['grpo', 'learning_rate'], '1e-5')
        >>> parse_override("lora.target_modules=[q_proj, v_proj]")
        (['lora', 'target_modules'], ['q_proj', 'v_proj'])
    """
    if "=" not in text:
        raise RecipeError(f"override {redact_text(text)!r}: expected section.field=value (e.g. grpo.learning_rate=1e-5)")
    path, raw = text.split("=", 1)
    keys = [key for key in path.strip().split(".") if key]
    if len(keys) < 2:
        raise RecipeError(f"override {redact_text(text)!r}: expected section.field=value (e.g. grpo.learning_rate=1e-5)")
    try:
        value = load_yaml(raw, f"override {path.strip()!r}") if raw.strip() else ""
    except InvalidYaml:  # not YAML: the text itself (too large or recursive YAML is refused)
        value = raw
    return keys, value


def apply_overrides(raw: dict[str, Any], overrides: list[str] | None) -> dict[str, Any]:
    """Set each `section.field=value` (list items by index: `rewards.0.weight=2`) in the raw recipe dict."""
    for text in overrides or []:
        keys, value = parse_override(text)
        node: Any = raw
        for depth, key in enumerate(keys[:-1]):
            if isinstance(node, list):
                node = node[_list_index(node, key, keys[: depth + 1])]
            else:
                if node.get(key) is None:
                    node[key] = {}
                node = node[key]
        last = keys[-1]
        if isinstance(node, list):
            node[_list_index(node, last, keys)] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            raise RecipeError(f"override {text!r}: {'.'.join(keys[:-1])} is not a section")
    return raw


def _list_index(node: list, key: str, path: list[str]) -> int:
    if not key.isdigit() or int(key) >= len(node):
        raise RecipeError(f"override path {'.'.join(path)}: {key!r} is not an index of a {len(node)}-item list")
    return int(key)
