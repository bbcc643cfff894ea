"""The recipe's model and data set, when they come from the Hugging Face Hub: checked before the run starts
(reachable, readable, fitting on the disk of the Hub cache), so that a run that cannot start fails in seconds
with one `error:` line and leaves no run folder behind; and a download that fails later (while the model
loads) is worded the same way.

Example:
    >>> from grpo_training.recipe import Recipe
    >>> hub_inputs(Recipe())  # the embedded model and synthetic data: nothing from the Hub
    []
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grpo_training.recipe import Recipe


def _from_hub(name: str | None) -> bool:
    from grpo_data.sources import looks_like_local_path

    return bool(name) and name != "synthetic" and not looks_like_local_path(name)


def hub_inputs(recipe: Recipe) -> list[tuple[str, str, str | None]]:
    """(repo id, repo type, folder) of what `recipe` downloads from the Hub.

    Example:
        >>> from grpo_training.recipe import Recipe
        >>> recipe = Recipe()
        >>> recipe.model.name, recipe.data.source, recipe.data.config = "org/model", "org/gsm8k", "main"
        >>> hub_inputs(recipe)
        [('org/model', 'model', None), ('org/gsm8k', 'dataset', 'main')]
    """
    inputs = []
    if _from_hub(recipe.model.name):
        inputs.append((recipe.model.name, "model", None))
    source = recipe.data.source
    if isinstance(source, str) and _from_hub(source):
        inputs.append((source, "dataset", data_config(recipe)))
    return inputs


def data_config(recipe: Recipe) -> str:
    """The Hub configuration a recipe's data loader reads (the loader's default when the recipe names none).

    Example:
        >>> from grpo_training.recipe import Recipe
        >>> data_config(Recipe())
        'main'
    """
    return recipe.data.config or ("en" if recipe.data.loader == "dapo" else "main")


def check_hub_inputs(recipe: Recipe) -> None:
    """Raise `HubAccessError` / `DownloadSpaceError` (one `error:` line, exit status 2) when the recipe's Hub
    model or data set cannot be downloaded (a data set's size counts only its config folder). The data set is
    then downloaded (small next to a model; the run's own load reads it from the cache), so that an offline
    machine without a cached copy fails here too, before the run has a folder; the model's download stays
    with its loader."""
    from grpo_data.hub_downloads import check_hub_download, check_offline_model
    from grpo_data.sources import load_source_parts

    for repo_id, repo_type, folder in hub_inputs(recipe):
        check_hub_download(repo_id, repo_type=repo_type, folder=folder)
        if repo_type == "dataset":
            load_source_parts(repo_id, folder, recipe.data.split)
        else:
            check_offline_model(repo_id)


@contextlib.contextmanager
def hub_errors_named(what: str, repo_id: str | None) -> Iterator[None]:
    """Inside: a failure to reach the Hub for `repo_id` becomes `HubAccessError` with one line saying why.

    Example:
        >>> with hub_errors_named("download the model", "org/m"):
        ...     pass
    """
    if not repo_id or os.path.exists(repo_id):
        yield
        return
    from grpo_data.hub_errors import hub_access_error

    try:
        yield
    except Exception as error:
        access = hub_access_error(error, what, repo_id)
        if access is None:
            raise
        raise access from None
