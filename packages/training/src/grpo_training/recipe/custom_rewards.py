"""Your own reward in a recipe: a `rewards.funcs` entry that is an import path instead of a registry name.

```yaml
rewards:
  funcs:
    - xmlcount
    - mypackage.rewards:brevity                 # a function in an importable module
    - name: my_rewards.py:get_length_reward     # a function in a file (relative to the recipe, else the
      params: {target: 100}                     #   working directory); with params it is a factory
      weight: 0.5                               #   called with them, whose result is the reward
```

The reward is called as TRL calls every reward, `f(prompts=..., completions=..., completion_ids=...,
answer=..., **other columns)`, and returns one float (or `None`: not applicable) per completion. It is
checked when the recipe is read, before any model loads: the module or file imports, the name exists
and is callable, and on two sample completions it returns one float or `None` each, within
`PROBE_SECONDS` (a reward that never returns would otherwise hang `--check` and every launch). Errors name
the entry (`rewards[2].name`) and what to do. TRL logs it as `rewards/<function name>/mean`.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import math
import numbers
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grpo_training.recipe.sections import Recipe, RecipeError

__all__ = ["ImportedReward", "check_imported_rewards", "is_import_path", "reward_key"]

PROBE_SECONDS = 60.0  # loading a reward and scoring two short completions; a judge model may load on first use

_SAMPLE = dict(
    prompts=[[{"role": "system", "content": "Respond in the XML format."}, {"role": "user", "content": "What is 6 * 12?"}]] * 2,
    completions=[[{"role": "assistant", "content": "<reasoning>\n6 * 12 = 72\n</reasoning>\n<answer>\n72\n</answer>"}],
                 [{"role": "assistant", "content": "I am not sure."}]],
    completion_ids=[[1, 2, 3, 4, 5, 6], [7, 8, 9]],
    answer=["72", "72"],
)


def is_import_path(name: str) -> bool:
    """True for `package.module:function` or `path/to/file.py:function`, False for a registry name.

    >>> is_import_path("mypackage.rewards:brevity"), is_import_path("rewards/mine.py:f"), is_import_path("xmlcount")
    (True, True, False)
    """
    return isinstance(name, str) and ":" in name


def reward_key(name: str) -> str:
    """The name TRL logs a reward under: the function name of an import path, else the registry name.

    >>> reward_key("mypackage.rewards:brevity"), reward_key("xmlcount")
    ('brevity', 'xmlcount')
    """
    return name.rpartition(":")[2] if is_import_path(name) else name


def _load_object(path: str, base_dir: Path | None) -> Any:
    """Import `module:attribute` or `file.py:attribute`; raises ValueError with what went wrong."""
    target, _, attribute = path.rpartition(":")
    if not target or not attribute:
        raise ValueError(f"{path!r} is not 'package.module:function' or 'path/to/file.py:function'")
    if target.endswith(".py") or "/" in target or "\\" in target:
        candidates = [Path(target)] if Path(target).is_absolute() else [(base_dir or Path.cwd()) / target, Path.cwd() / target]
        file = next((c for c in candidates if c.is_file()), None)
        if file is None:
            raise ValueError(f"file {target!r} does not exist (looked at {', '.join(str(c) for c in candidates)})")
        file = file.resolve()
        module_name = f"grpo_user_reward_{file.stem}_{hashlib.sha1(str(file).encode()).hexdigest()[:8]}"
        module = sys.modules.get(module_name)
        if module is None:
            spec = importlib.util.spec_from_file_location(module_name, file)
            if spec is None or spec.loader is None:
                raise ValueError(f"file {str(file)!r} cannot be imported as Python")
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[module_name]
                raise
    else:
        module = importlib.import_module(target)
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ValueError(f"{target!r} has no attribute {attribute!r}") from None


class ImportedReward:
    """A reward loaded from an import path; it pickles as its path (and params) and re-imports itself.

    Attributes:
        path: `package.module:function` or `path/to/file.py:function`.
        params: when given, the object at `path` is a factory and the reward is `factory(**params)`.
        base_dir: folder that relative file paths are resolved against (the recipe's), else the
            working directory.
    """

    def __init__(self, path: str, params: dict[str, Any] | None = None, base_dir: str | Path | None = None) -> None:
        self.path, self.params = path, dict(params or {})
        self.base_dir = None if base_dir is None else str(base_dir)
        self._func = self._load()
        self.__name__ = getattr(self._func, "__name__", None) or reward_key(path)

    def _load(self) -> Callable[..., Any]:
        loaded = _load_object(self.path, None if self.base_dir is None else Path(self.base_dir))
        if not callable(loaded):
            raise ValueError(f"{self.path!r} is a {type(loaded).__name__}, not a function")
        func = loaded(**self.params) if self.params else loaded
        if not callable(func):
            raise ValueError(f"{self.path!r} called with params {self.params} returned a {type(func).__name__}, not a reward function")
        return func

    def __call__(self, *args: Any, **kwargs: Any) -> list[float | None]:
        return self._func(*args, **kwargs)

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "params": self.params, "base_dir": self.base_dir}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], state["params"], state["base_dir"])

    def __repr__(self) -> str:
        return f"ImportedReward({self.path!r}, params={self.params!r})"


def _check_scores(scores: Any) -> str | None:
    """What is wrong with a reward's answer to the two sample completions, or None."""
    if isinstance(scores, (str, bytes)) or not hasattr(scores, "__len__"):
        return f"returned {type(scores).__name__} {scores!r:.100}; it must return a list with one float per completion"
    if len(scores) != 2:
        return f"returned {len(scores)} scores for 2 completions"
    for score in scores:
        if score is not None and (isinstance(score, bool) or not isinstance(score, numbers.Real) or math.isnan(score)):
            return f"returned {score!r:.100} ({type(score).__name__}); each score must be a float or None"
    return None


def _probe(spec: Any, base_dir: Path | None) -> tuple[str, Any]:
    """Load one reward entry and score the two sample completions: ("load", error), ("call", error) or
    ("scores", what it returned). Runs in a thread of its own, so even a `sys.exit()` is reported, not raised."""
    try:
        reward = ImportedReward(spec.name, spec.params, base_dir)
    except BaseException as error:
        return "load", error
    try:
        return "scores", reward(**_SAMPLE)
    except BaseException as error:
        return "call", error


def _within(seconds: float, function: Callable[..., Any], *args: Any) -> Any:
    """`function(*args)` run in a daemon thread; its result, or None when it has not returned after `seconds`
    (the thread is left behind: Python cannot stop it, and being a daemon it does not keep the process alive)."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(function(*args)), name="reward-probe", daemon=True)
    thread.start()
    thread.join(seconds)
    return result[0] if result else None


def check_imported_rewards(recipe: Recipe, base_dir: Path | None = None) -> None:
    """Check every import-path entry of `recipe.rewards.funcs` before any model loads.

    Raises:
        RecipeError: naming the entry (`rewards[i].name`) when it does not import, is not callable,
            raises on two sample completions, does not return one float or None for each, or does not
            return within `PROBE_SECONDS`.
    """
    for index, spec in enumerate(recipe.rewards.funcs):
        if not is_import_path(spec.name):
            continue
        where = f"rewards[{index}].name: {spec.name!r}"
        outcome = _within(PROBE_SECONDS, _probe, spec, base_dir)
        if outcome is None:
            raise RecipeError(f"{where} did not return within {PROBE_SECONDS:g} s when loaded and called on two sample "
                              "completions (called as TRL calls rewards: prompts, completions, completion_ids, "
                              "answer); make it return, e.g. bound its waits with a timeout")
        stage, value = outcome
        if stage == "load":
            raise RecipeError(f"{where} could not be loaded: {type(value).__name__}: {value}. Give "
                              "'package.module:function' (importable) or 'path/to/file.py:function'") from value
        if stage == "call":
            raise RecipeError(f"{where} raised on two sample completions (called as TRL calls rewards: prompts, "
                              f"completions, completion_ids, answer): {type(value).__name__}: {value}") from value
        problem = _check_scores(value)
        if problem:
            raise RecipeError(f"{where} {problem} (checked on two sample completions)")
