"""Before a download from the Hugging Face Hub starts: is the repo there and readable, and does what is not yet
in the local Hub cache fit on the cache's disk? One metadata request answers both (the Hub lists each file's
size), so a missing, gated or unreachable repo, or a full disk, is one `error:` line in seconds instead of a
failure after minutes (or gigabytes) of downloading. The download itself is left to `huggingface_hub` /
`datasets` (their progress bars, their cache).
"""

from __future__ import annotations

import fnmatch
import logging
import shutil
from pathlib import Path

from huggingface_hub import HfApi, constants, try_to_load_from_cache
from huggingface_hub.errors import OfflineModeIsEnabled

from grpo_data.errors import DataSourceError
from grpo_data.hub_errors import HubAccessError, hub_access_error, hub_failure, offline_variable

logger = logging.getLogger(__name__)

MODEL_FILES = ("*.safetensors", "*.json", "*.model", "*.txt", "*.jinja", "*.tiktoken")
"""The files a model load reads (weights in safetensors, config, tokenizer), as opposed to other formats a repo
may also hold (`*.bin`, `*.gguf`, `*.onnx`, ...)."""
DATA_FILES = ("*.parquet", "*.jsonl", "*.json", "*.arrow", "*.csv")


class DownloadSpaceError(DataSourceError):
    """A download would not fit on the disk of the Hub cache: names the need, the free space and the folder."""


def _existing_parent(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _wanted(name: str, patterns: tuple[str, ...], folder: str | None) -> bool:
    if folder and not name.startswith(f"{folder}/"):
        return False
    return any(fnmatch.fnmatch(name.rsplit("/", 1)[-1], pattern) for pattern in patterns)


def gigabytes(size: int) -> str:
    """A byte count as the Hub shows sizes.

    Example:
        >>> gigabytes(29_320_000_000), gigabytes(270_000_000)
        ('29.32 GB', '0.27 GB')
    """
    return f"{size / 1e9:.2f} GB"


def check_hub_download(repo_id: str, *, repo_type: str = "model", folder: str | None = None,
                       what: str | None = None, cache_dir: str | Path | None = None) -> int | None:
    """Check that `repo_id` can be downloaded: raise `HubAccessError` (missing, gated, no token, no network...)
    or `DownloadSpaceError` (the files not yet cached exceed the free space of the cache's disk).

    Args:
        repo_id: "owner/name" on the Hub (`HF_ENDPOINT` picks the Hub).
        repo_type: "model" or "dataset".
        folder: only count files under this folder of the repo (a data set's config folder, e.g. "main").
        what: the action for messages (default "download the model" / "download the data set").
        cache_dir: the Hub cache (default: `HF_HUB_CACHE`, i.e. `$HF_HOME/hub`).

    Returns:
        The bytes still to download, or None when an offline variable is set (nothing is asked of the Hub: a
        cached copy may serve the run, and the loader says if it does not).

    Example:
        >>> check_hub_download("org/model")  # doctest: +SKIP
        270000000
    """
    what = what or ("download the data set" if repo_type == "dataset" else "download the model")
    if offline_variable() is not None:
        return None
    try:
        info = HfApi().repo_info(repo_id, repo_type=repo_type, files_metadata=True,
                                 timeout=constants.HF_HUB_DOWNLOAD_TIMEOUT)
    except Exception as error:  # the client raises many types; those about Hub access become one line
        access = hub_access_error(error, what, repo_id)
        if access is None:
            raise
        raise access from None
    patterns = DATA_FILES if repo_type == "dataset" else MODEL_FILES
    cache = Path(cache_dir or constants.HF_HUB_CACHE)
    files = [s for s in info.siblings or [] if _wanted(s.rfilename, patterns, folder)]
    missing = [s for s in files if not isinstance(
        try_to_load_from_cache(repo_id, s.rfilename, cache_dir=cache, revision=info.sha, repo_type=repo_type), str)]
    need = sum(s.size or 0 for s in missing)
    free = shutil.disk_usage(_existing_parent(cache)).free
    if need > free:
        raise DownloadSpaceError(
            f"cannot {what} {repo_id!r}: its {len(missing)} file(s) need {gigabytes(need)} in {cache}, which has "
            f"{gigabytes(free)} free; free space there, or set HF_HOME (or HF_HUB_CACHE) to a folder on a larger disk")
    if need:
        logger.info("Downloading %s (%s, %d files) into %s", repo_id, gigabytes(need), len(missing), cache)
    else:
        logger.info("%s: already in the Hub cache %s", repo_id, cache)
    return need


def check_offline_model(repo_id: str, cache_dir: str | Path | None = None) -> None:
    """With an offline variable set, raise `HubAccessError` naming it when `repo_id` is not in the Hub cache
    (its `config.json`): the model could only come from the Hub.

    Example:
        >>> check_offline_model("org/model")  # doctest: +SKIP
    """
    if offline_variable() is None:
        return
    if not isinstance(try_to_load_from_cache(repo_id, "config.json", cache_dir=cache_dir), str):
        raise HubAccessError(hub_failure(OfflineModeIsEnabled("not in the cache"), "download the model", repo_id))
