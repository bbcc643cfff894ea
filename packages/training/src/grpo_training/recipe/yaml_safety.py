"""Recipe YAML read with bounds: a readable UTF-8 file of bounded size, and a document of bounded size.

YAML anchors and aliases (`&a [x, x]`, `[*a, *a]`) let a few lines stand for an exponential number of values
(an "alias bomb": nine lines, 10^9 values). PyYAML builds such a document cheaply, sharing the repeated
parts, so it loads in milliseconds and only explodes later, when the recipe is copied, dumped to
`recipe.yaml` or handed to a logger. `load_yaml` composes the document first and counts its values with
every alias expanded (each node counted once, so the count itself is cheap), then builds it only when the
count is within `MAX_VALUES`. A recipe holds a few hundred values; the bound leaves room for long lists.

Every failure is a `RecipeError` naming the file (or the `--set` override) and what to do.

Example:
    >>> load_yaml("grpo: {max_steps: 2}", "recipe file r.yaml")
    {'grpo': {'max_steps': 2}}
    >>> load_yaml("a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\\n"
    ...           "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\\n"
    ...           "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]", "recipe file bomb.yaml")
    Traceback (most recent call last):
    ...
    grpo_training.recipe.sections.RecipeError: recipe file bomb.yaml: the YAML expands to more than 100,000 values (its aliases, *name, repeat anchored parts); a recipe holds a few hundred: write the values out or remove the repeated aliases
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from grpo_training.recipe.sections import RecipeError

MAX_RECIPE_BYTES = 1_000_000
MAX_VALUES = 100_000


class InvalidYaml(RecipeError):
    """The text is not YAML at all (a `--set` value that is not YAML is taken as plain text instead)."""


def read_recipe_text(path: str | Path) -> str:
    """The text of a recipe file, or a `RecipeError` saying why it cannot be read and what to do.

    Example:
        >>> read_recipe_text("/")
        Traceback (most recent call last):
        ...
        grpo_training.recipe.sections.RecipeError: recipe file / is a folder, not a YAML file; give the recipe file itself
    """
    path = Path(path)
    if path.is_dir():
        hint = ""
        if (path / "recipe.yaml").is_file():
            hint = f" (a run folder: continue its run with --resume {path}, or give {path / 'recipe.yaml'})"
        raise RecipeError(f"recipe file {path} is a folder, not a YAML file; give the recipe file itself{hint}")
    if not path.is_file():
        raise RecipeError(f"recipe file {path} does not exist")
    try:
        size = path.stat().st_size
        if size > MAX_RECIPE_BYTES:
            raise RecipeError(f"recipe file {path} is {size:,} bytes; a recipe is a few KB (at most "
                              f"{MAX_RECIPE_BYTES:,} bytes): give the YAML recipe, not a data or model file")
        data = path.read_bytes()
    except OSError as error:
        raise RecipeError(f"recipe file {path} cannot be read: {error.strerror or error}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise RecipeError(f"recipe file {path} is not UTF-8 text: byte 0x{data[error.start]:02x} at offset "
                          f"{error.start} (line {line}, column {column}) is not UTF-8; save the file as UTF-8 "
                          f"(e.g. iconv -f latin1 -t utf-8)") from None


def load_yaml(text: str, where: str) -> Any:
    """Parse YAML `text` (safe types only) unless it expands to more than `MAX_VALUES` values.

    Args:
        text: the YAML.
        where: what the text is, for messages (`recipe file r.yaml`, `override 'grpo.x=...'`).

    Raises:
        InvalidYaml: the text is not valid YAML (a `RecipeError`).
        RecipeError: the YAML is nested too deeply, refers to itself, or expands past `MAX_VALUES`.
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}, set(), where) > MAX_VALUES:
            raise _too_large(where)
        return loader.construct_document(node)
    except yaml.YAMLError as error:
        raise InvalidYaml(f"{where} is not valid YAML: {error}") from None
    except RecursionError:
        raise RecipeError(f"{where}: the YAML is nested too deeply; a recipe is a few levels deep") from None
    finally:
        loader.dispose()


def _too_large(where: str) -> RecipeError:
    return RecipeError(f"{where}: the YAML expands to more than {MAX_VALUES:,} values (its aliases, *name, repeat "
                       "anchored parts); a recipe holds a few hundred: write the values out or remove the repeated aliases")


def _expanded_size(node: yaml.Node, sizes: dict[int, int], open_nodes: set[int], where: str) -> int:
    """Values under `node` with every alias expanded; each distinct node is counted once (`sizes`), so an alias
    bomb costs as little to measure as to compose. Stops early once past `MAX_VALUES`."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_nodes:
        raise RecipeError(f"{where}: the YAML refers to itself (an alias inside its own anchor); write the values out")
    open_nodes.add(key)
    size = 1
    if isinstance(node, yaml.SequenceNode):
        children = node.value
    elif isinstance(node, yaml.MappingNode):
        children = [child for pair in node.value for child in pair]
    else:
        children = []
    for child in children:
        size += _expanded_size(child, sizes, open_nodes, where)
        if size > MAX_VALUES:
            raise _too_large(where)
    open_nodes.discard(key)
    sizes[key] = size
    return size
