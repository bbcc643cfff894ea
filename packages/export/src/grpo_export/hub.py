"""Push an exported folder (LoRA, merged model or GGUF files) to the Hugging Face Hub with a model card.

The token comes only from the environment (`HF_TOKEN`) or the user's login (`hf auth login`), read by
`huggingface_hub` itself: this module never accepts, prints, logs or writes it. A secret in the card (a token in a
recipe written by hand) is replaced by `<redacted>` before the card is shown or uploaded (`grpo_export.secrets`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from huggingface_hub import (
    CommitOperationAdd,
    HfApi,
    ModelCard,
    ModelCardData,
    constants,
    get_token,
    set_client_factory,
)
from huggingface_hub.errors import HfHubHTTPError, HFValidationError, RepositoryNotFoundError
from huggingface_hub.utils import validate_repo_id
from huggingface_hub.utils._http import default_client_factory

from grpo_export.errors import HubPushError
from grpo_export.secrets import REDACTED, redact_text

logger = logging.getLogger(__name__)

IGNORED_FILES = {".gitattributes"}  # created by the Hub in every new repo; doesn't count as content


@dataclass
class ModelCardInfo:
    """What the generated model card says about the run.

    Example:
        >>> info = ModelCardInfo(base_model="microsoft/phi-4", datasets=["openai/gsm8k"],
        ...                      evaluation=[{"metric": "accuracy", "before": 0.31, "after": 0.52}])
        >>> "grpo" in info.tags
        True
    """

    base_model: str | None = None
    datasets: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=lambda: ["grpo", "trl", "reinforcement-learning"])
    license: str | None = None
    language: list[str] | None = None
    recipe: str | None = None
    """The YAML recipe text of the run (shown in the card)."""
    evaluation: list[dict] = field(default_factory=list)
    """Rows of the run's evaluation table, e.g. [{"metric": "gsm8k accuracy", "before": 0.3, "after": 0.5}]."""
    description: str | None = None
    run_card: str | None = None
    """The training run's own card (`runs/<run>/README.md`, written by the run): when given, the pushed card
    carries its sections (base model, data, the before/after table, the recipe as run) instead of regenerating
    them from `recipe` and `evaluation`; its sections on loading the run's local LoRA are left out."""


RUN_CARD_MARK = "grpo-toolkit"
"""Named in the first lines of a card the toolkit's training run wrote (TRL's automatic card never does)."""


def run_card_sections(card: str) -> list[str]:
    r"""The `## ` sections of a run's card worth a Hub card: all but those about loading the run's local files.

    Example:
        >>> run_card_sections("# run\n\nA LoRA.\n\n## Data\n\n- gsm8k\n\n## Loading the LoRA\n\nlocal paths\n")
        ['## Data\n\n- gsm8k']
    """
    chunks = ("\n" + card).split("\n## ")[1:]
    return [f"## {chunk.strip()}" for chunk in chunks if not chunk.startswith("Loading")]


def detect_artefact_kind(folder: Path) -> str:
    """"lora", "gguf" or "merged", from the files in `folder`.

    Example:
        >>> detect_artefact_kind(Path("/nonexistent"))
        'merged'
    """
    folder = Path(folder)
    if (folder / "adapter_config.json").is_file():
        return "lora"
    if any(folder.glob("*.gguf")):
        return "gguf"
    return "merged"


def _markdown_table(rows: list[dict]) -> str:
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [f"{row.get(c):.4g}" if isinstance(row.get(c), float) else str(row.get(c, "")) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def build_model_card(folder: Path, repo_id: str, info: ModelCardInfo | None = None) -> ModelCard:
    """A model card (`huggingface_hub.ModelCard`) for the exported `folder`: metadata (base_model, datasets,
    library_name, tags) plus the recipe and the evaluation table.

    Example:
        >>> card = build_model_card(Path("/nonexistent"), "me/model", ModelCardInfo(base_model="b"))
        >>> card.data.base_model, card.data.library_name
        ('b', 'transformers')
    """
    info = info or ModelCardInfo()
    kind = detect_artefact_kind(folder)
    library = {"lora": "peft", "gguf": "gguf", "merged": "transformers"}[kind]
    tags = list(dict.fromkeys([*info.tags, *(["lora"] if kind == "lora" else []), *(["gguf"] if kind == "gguf" else [])]))
    data = ModelCardData(base_model=info.base_model, datasets=info.datasets or None, library_name=library,
                         tags=tags, license=info.license, language=info.language, pipeline_tag="text-generation")
    what = {"lora": "a LoRA adapter", "gguf": "GGUF files (llama.cpp / Ollama)", "merged": "a merged model"}[kind]
    sections = [f"# {repo_id.split('/')[-1]}", "",
                info.description or f"{what.capitalize()} fine-tuned with GRPO (TRL) using the grpo toolkit"
                + (f", from [{info.base_model}](https://huggingface.co/{info.base_model})." if info.base_model else ".")]
    if info.run_card:
        for section in run_card_sections(info.run_card):
            sections += ["", section]
    else:
        if info.evaluation:
            sections += ["", "## Evaluation", "", _markdown_table(info.evaluation)]
        if info.recipe:
            sections += ["", "## Training recipe", "", "```yaml", info.recipe.strip(), "```"]
    files = sorted(p.name for p in Path(folder).glob("*.gguf")) if kind == "gguf" else []
    if files:
        sections += ["", "## Files", "", *[f"- `{name}`" for name in files]]
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(sections) + "\n")


def files_to_upload(folder: Path) -> list[Path]:
    """Files of `folder` a push uploads (recursively; hidden files and a README.md replaced by the card excluded).

    Example:
        >>> files_to_upload(Path("/nonexistent"))
        []
    """
    folder = Path(folder)
    return sorted(p for p in folder.rglob("*") if p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts)
                  and p.relative_to(folder).as_posix() != "README.md")


@dataclass
class PushPlan:
    """What a push uploads (returned by `push_to_hub`, also for dry runs).

    Example:
        >>> PushPlan("me/m", [], "---\\n---\\n", private=True).total_bytes
        0
    """

    repo_id: str
    files: list[tuple[str, int]]
    model_card: str
    private: bool
    url: str | None = None
    commit_url: str | None = None

    @property
    def total_bytes(self) -> int:
        return sum(size for _, size in self.files)

    def describe(self) -> str:
        lines = [f"{'Would upload' if self.commit_url is None else 'Uploaded'} to {self.repo_id} "
                 f"({'private' if self.private else 'public'}), {self.total_bytes / 1e6:.1f} MB:"]
        lines += [f"  {name}  ({size / 1e6:.2f} MB)" for name, size in self.files]
        lines.append("  README.md  (generated model card)")
        return "\n".join(lines)


def push_to_hub(folder: str | Path, repo_id: str, *, private: bool = False, card_info: ModelCardInfo | None = None,
                model_card: ModelCard | str | None = None, allow_existing: bool = False, dry_run: bool = False,
                commit_message: str | None = None, endpoint: str | None = None) -> PushPlan:
    """Create `repo_id` (if needed) and upload `folder` plus a generated model card, in one commit.

    Refuses a repo that already holds files unless `allow_existing=True`. With `dry_run=True` nothing
    is contacted: the returned plan lists what would be uploaded (`plan.describe()`).

    Args:
        folder: a folder written by save_lora, merge or to_gguf.
        repo_id: "user/name" on the Hub.
        private: create the repo private.
        card_info: facts for the generated card (base model, datasets, recipe, evaluation table).
        model_card: a ready card instead of the generated one.
        endpoint: Hub URL; default `HF_ENDPOINT` or huggingface.co.

    Example:
        >>> plan = push_to_hub("model-gguf", "me/phi4-gsm8k-grpo-GGUF", dry_run=True)  # doctest: +SKIP
        >>> print(plan.describe())  # doctest: +SKIP
    """
    folder = Path(folder)
    check_repo_id(repo_id)
    if not folder.is_dir():
        raise HubPushError(f"{folder} is not a folder; export something first (save_lora, merge or to_gguf).")
    files = files_to_upload(folder)
    if not files:
        raise HubPushError(f"{folder} holds no files to upload.")
    card = model_card if isinstance(model_card, ModelCard) else (
        ModelCard(model_card) if isinstance(model_card, str) else build_model_card(folder, repo_id, card_info))
    card_text = redact_text(str(card))  # a recipe written by hand may hold a token: never shown or published
    if card_text != str(card):
        logger.warning("The model card for %s held a secret (a Hugging Face token or a field named like "
                       "hub_token / api_key / password, e.g. in the recipe); it is shown and pushed as %s",
                       repo_id, REDACTED)
    plan = PushPlan(repo_id=repo_id, files=[(p.relative_to(folder).as_posix(), p.stat().st_size) for p in files],
                    model_card=card_text, private=private)
    if dry_run:
        return plan
    if constants.is_offline_mode():  # huggingface_hub's reading of HF_HUB_OFFLINE
        raise HubPushError(f"cannot push to {repo_id}: HF_HUB_OFFLINE={os.environ.get('HF_HUB_OFFLINE', '1')} is set "
                           "in the environment (Hub access is off); unset it (`unset HF_HUB_OFFLINE`) to push.")
    if get_token() is None:
        raise HubPushError("No Hugging Face token: run `hf auth login` or set HF_TOKEN in the environment.")
    with bounded_hub_calls(), hub_push_errors(repo_id):
        api = HfApi(endpoint=endpoint)
        try:
            existing = [f for f in api.list_repo_files(repo_id) if f not in IGNORED_FILES]
        except RepositoryNotFoundError:
            existing = []
        if existing and not allow_existing:
            raise HubPushError(f"{repo_id} already holds {len(existing)} file(s) (e.g. {existing[:3]}); refusing to "
                               "push into it. Pass allow_existing=True (CLI: --allow-existing) to add/overwrite files.")
        plan.url = str(api.create_repo(repo_id, private=private, exist_ok=True))
        operations = [CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(folder / name))
                      for name, _ in plan.files]
        operations.append(CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=card_text.encode("utf-8")))
        info = api.create_commit(repo_id, operations=operations,
                                 commit_message=commit_message or f"Upload {detect_artefact_kind(folder)} export")
    plan.commit_url = info.commit_url
    logger.info("Pushed %d files to %s", len(operations), plan.url)
    return plan


DEFAULT_PUSH_TIMEOUT_S = 120.0


def check_repo_id(repo_id: str) -> None:
    """Refuse a repo id the Hub would refuse (huggingface_hub's own validator), before anything is read or sent.

    Example:
        >>> check_repo_id("me/phi4-gsm8k-grpo")
        >>> check_repo_id("../x")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        grpo_export.errors.HubPushError: '../x' is not a Hub repo id: it must be 'user/name' (or 'org/name') ...
    """
    if not isinstance(repo_id, str) or repo_id.count("/") != 1:
        raise HubPushError(f"{repo_id!r} is not a Hub repo id: it must be 'user/name' (or 'org/name') with letters, "
                           "digits, '-', '_' or '.'")
    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise HubPushError(f"{repo_id!r} is not a Hub repo id: it must be 'user/name' (or 'org/name') with letters, "
                           f"digits, '-', '_' or '.' ({str(error).splitlines()[0]})") from None


def push_timeout_s() -> float:
    """Seconds a push waits for the Hub's next bytes before giving up: `HF_HUB_DOWNLOAD_TIMEOUT` when set in the
    environment (huggingface_hub's own setting for waiting on the Hub), else `DEFAULT_PUSH_TIMEOUT_S`.

    Example:
        >>> push_timeout_s() > 0
        True
    """
    return float(constants.HF_HUB_DOWNLOAD_TIMEOUT) if "HF_HUB_DOWNLOAD_TIMEOUT" in os.environ else DEFAULT_PUSH_TIMEOUT_S


@contextlib.contextmanager
def bounded_hub_calls() -> Iterator[None]:
    """Inside: huggingface_hub's HTTP client (whose default waits forever) waits at most `push_timeout_s()` for
    each answer, so a server that never answers a commit ends the push with an error."""
    def bounded_client() -> httpx.Client:
        client = default_client_factory()
        client.timeout = httpx.Timeout(push_timeout_s(), connect=min(push_timeout_s(), 30.0))
        return client

    set_client_factory(bounded_client)
    try:
        yield
    finally:
        set_client_factory(default_client_factory)


def _push_failure(error: BaseException, repo_id: str) -> str | None:
    endpoint = os.environ.get("HF_ENDPOINT")
    where = f"HF_ENDPOINT={endpoint}" if endpoint else constants.ENDPOINT
    if isinstance(error, HfHubHTTPError):
        status = error.response.status_code if error.response is not None else None
        if status == 401:
            return ("the Hub refused the token (401): set HF_TOKEN to a valid token with write access, or run "
                    "`hf auth login`")
        if status == 403:
            return (f"the token may not write to {repo_id} (403): use a token with write access to "
                    f"'{repo_id.split('/')[0]}' (HF_TOKEN or `hf auth login`)")
        if status == 404:
            return f"the Hub has no namespace or repo for {repo_id} (404): check the user/org name"
        if status is not None and status >= 500:
            return f"the Hub answered with a server error ({status}); nothing was committed, retry the push"
        return f"the Hub answered {status}: {str(error).splitlines()[0]}"
    if isinstance(error, httpx.TimeoutException):
        return (f"no answer from {where} within {push_timeout_s():.0f} s ({type(error).__name__}); nothing was "
                "committed, retry the push (HF_HUB_DOWNLOAD_TIMEOUT sets the seconds to wait)")
    if isinstance(error, (httpx.TransportError, ConnectionError)):
        return f"no connection to {where} ({type(error).__name__}); check the network and retry the push"
    return None


@contextlib.contextmanager
def hub_push_errors(repo_id: str) -> Iterator[None]:
    """Inside: a failed Hub call becomes `HubPushError` with one line saying which failure and what to do."""
    try:
        yield
    except HubPushError:
        raise
    except Exception as error:
        for cause in (error, error.__cause__, error.__context__):
            message = _push_failure(cause, repo_id) if cause is not None else None
            if message:
                raise HubPushError(f"push to {repo_id} failed: {message}") from None
        raise


EVAL_METRICS = ("answer_accuracy", "format_compliance", "target_language_rate")


def load_evaluation_table(path: str | Path) -> list[dict]:
    """Read an evaluation table for the model card: a JSON list of row dicts, `{"rows": [...]}`, or a
    training run's `eval.json` (`{"reports": [...]}`, one report per label such as "before"/"after"),
    which becomes one row per metric with one column per report.

    Example:
        >>> import json, tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "eval.json"
        >>> _ = path.write_text(json.dumps({"reports": [
        ...     {"label": "before", "n": 64, "answer_accuracy": 0.1, "format_compliance": 0.5, "target_language_rate": None},
        ...     {"label": "after", "n": 64, "answer_accuracy": 0.2, "format_compliance": 1.0, "target_language_rate": None}]}))
        >>> load_evaluation_table(path)[1]
        {'metric': 'format_compliance', 'before': 0.5, 'after': 1.0, 'n': 64}
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise HubPushError(f"{path}: cannot read the evaluation table ({error})") from None
    if isinstance(data, dict) and isinstance(data.get("reports"), list):
        return _rows_from_reports(data["reports"], path)
    rows = data.get("rows", data) if isinstance(data, dict) else data
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise HubPushError(f"{path}: expected a JSON list of row objects, {{'rows': [...]}} or a run's eval.json.")
    return rows


def _rows_from_reports(reports: list, path: str | Path) -> list[dict]:
    if not all(isinstance(report, dict) and "label" in report for report in reports):
        raise HubPushError(f"{path}: every entry of 'reports' needs a 'label' (a run's eval.json)")
    rows = []
    for metric in EVAL_METRICS:
        values = {report["label"]: report.get(metric) for report in reports}
        if all(value is None for value in values.values()):
            continue
        rows.append({"metric": metric, **values, "n": max(report.get("n", 0) for report in reports)})
    return rows
