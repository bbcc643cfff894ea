"""One line that says why the Hugging Face Hub could not be reached, and what to do about it.

A download (a data set or a model) fails for a handful of reasons a user can act on: an offline variable set
in the environment, no connection to the Hub (or to the server `HF_ENDPOINT` names), a missing or wrong
token (401), a gated repo whose terms are not accepted or a token without the right (403), a repo id that
does not exist (404) or is not a valid id at all, and a server error (5xx). `huggingface_hub` and `datasets`
raise these as a dozen exception types, often wrapped in one another; `hub_failure` finds the cause in the
chain and words it. The token itself is never part of a message.

Example:
    >>> from huggingface_hub.errors import HFValidationError
    >>> hub_failure(HFValidationError("bad"), "download the data set", "me/my data", offline_env={})[:66]
    "cannot download the data set 'me/my data': not a valid Hub repo id"
"""

from __future__ import annotations

import os

import httpx
from huggingface_hub import constants
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    HFValidationError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from grpo_data.errors import DataSourceError

OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")
TRUE_VALUES = {"1", "ON", "YES", "TRUE"}


class HubAccessError(DataSourceError):
    """The Hub could not be reached for a download: the message names the cause and what to do."""


def offline_variable(env: dict[str, str] | None = None) -> str | None:
    """The first `HF_*_OFFLINE` variable set to a true value, as `NAME=value`, or None.

    Example:
        >>> offline_variable({"HF_DATASETS_OFFLINE": "1"}), offline_variable({"HF_HUB_OFFLINE": "0"})
        ('HF_DATASETS_OFFLINE=1', None)
    """
    env = os.environ if env is None else env
    for name in OFFLINE_VARIABLES:
        if env.get(name, "").strip().upper() in TRUE_VALUES:
            return f"{name}={env[name]}"
    return None


def _causes(error: BaseException) -> list[BaseException]:
    chain, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        chain.append(error)
        error = error.__cause__ or error.__context__
    return chain


def _endpoint_words() -> str:
    endpoint = os.environ.get("HF_ENDPOINT")
    return f"HF_ENDPOINT={endpoint} (is that server running?)" if endpoint else constants.ENDPOINT


def _http_failure(error: HfHubHTTPError, repo_id: str, page: str) -> str:
    status = error.response.status_code if error.response is not None else None
    if isinstance(error, GatedRepoError) or status == 403:
        return (f"access refused (403): if {repo_id} is gated, accept its terms on {page} with your account, then "
                "use a token of that account (HF_TOKEN or `hf auth login`); else use a token with access to it")
    if isinstance(error, RevisionNotFoundError):
        return f"the revision asked for does not exist in {repo_id} (404); check the revision name on {page}"
    if isinstance(error, RepositoryNotFoundError) or status == 404:
        return (f"no repo {repo_id} on the Hub ({status}): check the repo id on {page}; if it is private, set "
                "HF_TOKEN or run `hf auth login` with an account that can read it")
    if status == 401:
        return "the Hub refused the token (401): set HF_TOKEN to a valid token or run `hf auth login`"
    if status is not None and status >= 500:
        return f"the Hub answered with a server error ({status}); retry in a few minutes"
    return f"the Hub answered {status}: {str(error).splitlines()[0]}"


def hub_failure(error: BaseException, what: str, repo_id: str, *, offline_env: dict[str, str] | None = None) -> str | None:
    """One sentence for a failed Hub access, or None when `error` is not one (a bug, a bad file...).

    Args:
        error: what the client raised (its causes are searched too).
        what: the action, e.g. "download the data set" or "download the model".
        repo_id: the repo asked for.
        offline_env: the environment to look for offline variables in (default: `os.environ`).

    Example:
        >>> hub_failure(ConnectionError("x"), "download the model", "org/m", offline_env={"HF_HUB_OFFLINE": "1"})
        "cannot download the model 'org/m': HF_HUB_OFFLINE=1 is set in the environment, so nothing is downloaded; unset it to reach the Hub, or pass a local path instead"
    """
    start = f"cannot {what} {repo_id!r}: "
    causes = _causes(error)
    page = f"{constants.ENDPOINT}/{repo_id}"
    for cause in causes:
        if isinstance(cause, HFValidationError):
            return (start + f"not a valid Hub repo id ({str(cause).splitlines()[0]}); a repo id is 'owner/name' "
                    "(letters, digits, '-', '_', '.'), or pass a local path")
    offline = offline_variable(offline_env)
    if offline is not None and any(isinstance(c, (OfflineModeIsEnabled, ConnectionError)) for c in causes):
        return (start + f"{offline} is set in the environment, so nothing is downloaded; unset it to reach the "
                "Hub, or pass a local path instead")
    for cause in causes:
        if isinstance(cause, HfHubHTTPError):
            return start + _http_failure(cause, repo_id, page)
    for cause in causes:
        if isinstance(cause, httpx.TimeoutException):
            return (start + f"no answer from {_endpoint_words()} in time ({type(cause).__name__}); check the "
                    "network and retry (HF_HUB_DOWNLOAD_TIMEOUT / HF_HUB_ETAG_TIMEOUT set the seconds to wait)")
        if isinstance(cause, (httpx.TransportError, ConnectionError)):
            return (start + f"no connection to {_endpoint_words()} ({type(cause).__name__}: "
                    f"{str(cause).splitlines()[0] if str(cause) else 'refused'}); check the network, or pass a "
                    "local path instead")
    for cause in causes:
        if type(cause).__name__ in ("DatasetNotFoundError", "DataFilesNotFoundError"):
            return (start + f"{str(cause).splitlines()[0]}; check the repo id and config on {page} (a private or "
                    "gated data set needs HF_TOKEN or `hf auth login`)")
    return None


def hub_access_error(error: BaseException, what: str, repo_id: str) -> HubAccessError | None:
    """`hub_failure` as an exception to raise (`raise hub_access_error(...) from error`), or None.

    Example:
        >>> hub_access_error(ValueError("a bug"), "download the model", "org/m") is None
        True
    """
    message = hub_failure(error, what, repo_id)
    return HubAccessError(message) if message else None
