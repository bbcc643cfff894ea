"""Turn a YAML or `--set` value into the type a recipe field declares, or say which field is wrong.

PyYAML reads `5e-6` (no dot) as a string and `--set` values arrive as strings, so a value is coerced
where that is unambiguous (str -> int/float/bool, a single name -> a one-item list) and refused
otherwise, naming the field (`section.field`). transformers' `HfArgumentParser` (and TRL's `TrlParser`
over it) cannot replace this: it parses flat `--field value` flags, so the same field name in two
sections (`seed`, `name`) would collide and nested `section.field=value` / `rewards.0.weight=2`
overrides have no form there, it refuses unions such as `list[str] | str`, and its errors are
argparse's rather than the field-naming ones the recipe checks promise.

Example:
    >>> coerce_value("5e-6", float, "grpo.learning_rate")
    5e-06
    >>> coerce_value("yes", int, "grpo.max_steps")
    Traceback (most recent call last):
    ...
    grpo_training.recipe.sections.RecipeError: grpo.max_steps: expected int, got str 'yes'
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from typing import Any

from grpo_training.recipe.sections import RecipeError


def coerce_value(value: Any, annotation: Any, where: str) -> Any:
    """Return `value` as `annotation` (str -> int/float/bool where unambiguous), or raise RecipeError.

    Example:
        >>> coerce_value("true", bool | None, "model.multimodal"), coerce_value("q_proj", list[str], "lora.x")
        (True, ['q_proj'])
    """
    origin = typing.get_origin(annotation)
    if annotation is Any or annotation is typing.Any:
        return value
    if origin in (typing.Union, types.UnionType):
        return _coerce_union(value, annotation, where)
    if origin in (list, tuple) or annotation in (list, tuple):
        return _coerce_sequence(value, annotation, where)
    if origin is dict or annotation is dict:
        if not isinstance(value, dict):
            raise RecipeError(f"{where}: expected a mapping, got {type(value).__name__} {value!r}")
        return dict(value)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return _coerce_enum(value, annotation, where)
    for scalar, coerce in _SCALARS:
        if annotation is scalar:
            return coerce(value, where)
    return value  # anything exotic (callables, configs): left to the library to check


def field_types(cls: type) -> dict[str, Any]:
    """Field name -> annotation of the fields a dataclass takes in `__init__`.

    Example:
        >>> from grpo_training.recipe.sections import RewardSpec
        >>> sorted(field_types(RewardSpec))
        ['name', 'params', 'weight']
    """
    hints = typing.get_type_hints(cls)
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(cls) if f.init}


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _exact_match(value: Any, option: Any) -> bool:
    if option is float:
        return isinstance(value, float)
    if option is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(option, type) and isinstance(value, option)


def _coerce_union(value: Any, annotation: Any, where: str) -> Any:
    options = typing.get_args(annotation)
    if value is None and type(None) in options:
        return None
    errors = []
    # Try exact-type matches first so that "5" stays a str for `str | int` fields.
    for option in sorted(options, key=lambda o: 0 if _exact_match(value, o) else 1):
        if option is type(None):
            continue
        try:
            return coerce_value(value, option, where)
        except RecipeError as error:
            errors.append(error)
    raise RecipeError(f"{where}: expected {_type_name(annotation)}, got {type(value).__name__} {value!r}")


def _coerce_sequence(value: Any, annotation: Any, where: str) -> list:
    origin = typing.get_origin(annotation)
    if isinstance(value, str) and origin is list:  # a single name where a list is expected
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise RecipeError(f"{where}: expected a list, got {type(value).__name__} {value!r}")
    args = typing.get_args(annotation)
    if args and origin is list:
        return [coerce_value(item, args[0], f"{where}[{index}]") for index, item in enumerate(value)]
    return list(value)


def _coerce_enum(value: Any, annotation: type[enum.Enum], where: str) -> Any:
    allowed = [member.value for member in annotation]
    if isinstance(value, annotation):
        return value
    if value in allowed:
        return annotation(value)
    raise RecipeError(f"{where}: expected one of {allowed}, got {value!r}")


def _coerce_bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise RecipeError(f"{where}: expected bool, got {type(value).__name__} {value!r}")


def _coerce_int(value: Any, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise RecipeError(f"{where}: expected int, got {type(value).__name__} {value!r}")


def _coerce_float(value: Any, where: str) -> float:
    if isinstance(value, int) and not isinstance(value, bool):
        return value  # an int is a valid float; keeps `save_steps: 10` an int
    if isinstance(value, float):
        return value
    if isinstance(value, str):
        try:
            return float(value)  # PyYAML reads "5e-6" (no dot) as a string
        except ValueError:
            pass
    raise RecipeError(f"{where}: expected float, got {type(value).__name__} {value!r}")


def _coerce_str(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    raise RecipeError(f"{where}: expected str, got {type(value).__name__} {value!r}")


_SCALARS = ((bool, _coerce_bool), (int, _coerce_int), (float, _coerce_float), (str, _coerce_str))
