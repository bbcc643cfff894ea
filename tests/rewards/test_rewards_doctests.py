"""The examples in the package's docstrings are run, so they stay true."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import grpo_rewards

MODULES = ["grpo_rewards"] + [f"grpo_rewards.{m.name}" for m in pkgutil.iter_modules(grpo_rewards.__path__)]


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name):
    if module_name.endswith("math_reward"):
        pytest.importorskip("math_verify")
    result = doctest.testmod(importlib.import_module(module_name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
