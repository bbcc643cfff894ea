"""Turn a ``source`` (Hub id, local file or folder, in-memory Dataset) into named parts to prepare.

Each part keeps its origin (a file path or a name) so that an error can say which file and row
is wrong. Loading itself is done by ``datasets``; when it fails on a JSON file we re-read the file
only to say where it is broken.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import datasets

from grpo_data.errors import DataFormatError, DataSourceError
from grpo_data.hub_errors import hub_access_error

DATA_FILE_SUFFIXES = (".jsonl", ".json", ".parquet")


@dataclass
class SourcePart:
    """Rows from one file (or one in-memory/Hub data set), named by where they came from."""

    origin: str
    dataset: datasets.Dataset


def describe_source(source: object) -> str:
    """Short human name for a source, for reports and messages."""
    if isinstance(source, datasets.Dataset):
        return f"<in-memory Dataset of {source.num_rows} rows>"
    return str(source)


def looks_like_local_path(source: str | os.PathLike) -> bool:
    """True when ``source`` is meant as a local path rather than a Hub id ("owner/name").

    A name starting with "." is a path too (a Hub id never starts with one).

    Example:
        >>> looks_like_local_path("openai/gsm8k"), looks_like_local_path("./data/train.jsonl")
        (False, True)
        >>> looks_like_local_path(".cache/gsm8k"), looks_like_local_path("train.parquet")
        (True, True)
    """
    text = os.fspath(source)
    return (
        isinstance(source, os.PathLike)
        or os.path.exists(text)
        or text.startswith((".", "/", "~"))
        or text.endswith(DATA_FILE_SUFFIXES)
    )


def load_source_parts(
    source: str | os.PathLike | datasets.Dataset | datasets.DatasetDict,
    config: str | None,
    split: str,
) -> list[SourcePart]:
    """Load ``source`` as one or more parts, without validating its rows.

    Args:
        source: a ``datasets.Dataset`` / ``DatasetDict``; a local ``.jsonl``, ``.json`` or ``.parquet``
            file; a local folder of such files (files named after ``split``, optionally under a
            ``config`` sub-folder as on the Hub) or saved with ``save_to_disk``; or a Hub id.
        config: Hub configuration name (also tried as a sub-folder of a local folder).
        split: split to read from a folder, DatasetDict or the Hub. Ignored for a single file.

    Returns:
        The parts, each non-empty.

    Raises:
        DataSourceError: missing/unreadable path, or a Hub id that cannot be loaded.
        DataFormatError: an empty file or a malformed JSON line (names file and line).

    Example:
        >>> parts = load_source_parts(datasets.Dataset.from_dict({"x": [1]}), None, "train")
        >>> parts[0].dataset.num_rows
        1
    """
    if isinstance(source, datasets.DatasetDict):
        if split not in source:
            raise DataSourceError(f"DatasetDict has no split {split!r}; it has {sorted(source)}")
        return [_non_empty(SourcePart(f"<in-memory DatasetDict[{split!r}]>", source[split]))]
    if isinstance(source, datasets.Dataset):
        return [_non_empty(SourcePart(describe_source(source), source))]
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            f"source must be a Hub id, a local path or a datasets.Dataset, not {type(source).__name__}"
        )
    if looks_like_local_path(source):
        return _load_local(Path(os.path.expanduser(os.fspath(source))), config, split)
    return [_non_empty(SourcePart(f"{source} ({config}, {split})", _load_hub(str(source), config, split)))]


def _load_hub(repo_id: str, config: str | None, split: str) -> datasets.Dataset:
    try:
        return datasets.load_dataset(repo_id, config, split=split)
    except Exception as error:  # datasets raises many types (offline, 404, auth); all mean "cannot load"
        access = hub_access_error(error, f"load the data set (config {config!r}, split {split!r})", repo_id)
        if access is not None:
            raise access from None
        raise DataSourceError(
            f"could not load {repo_id!r} (config {config!r}, split {split!r}) from the Hugging Face Hub: "
            f"{type(error).__name__}: {error}. Without Hub access, pass a local .jsonl/.json/.parquet "
            "file or a folder of them as `source` instead."
        ) from error


def _load_local(path: Path, config: str | None, split: str) -> list[SourcePart]:
    if not path.exists():
        raise DataSourceError(
            f"{path}: no such file or folder; expected a .jsonl, .json or .parquet file, a folder of them, "
            "or a Hub id such as 'openai/gsm8k'"
        )
    if not os.access(path, os.R_OK) or (path.is_dir() and not os.access(path, os.X_OK)):
        raise DataSourceError(f"{path}: not readable (permission denied); check its permissions")
    if path.is_file():
        return [_load_file(path)]
    if (path / "dataset_dict.json").exists():
        saved = datasets.load_from_disk(str(path))
        if split not in saved:
            raise DataSourceError(f"{path}: saved DatasetDict has no split {split!r}; it has {sorted(saved)}")
        return [_non_empty(SourcePart(f"{path}[{split!r}]", saved[split]))]
    if (path / "state.json").exists():
        return [_non_empty(SourcePart(str(path), datasets.load_from_disk(str(path))))]
    return [_load_file(file) for file in _split_files(path, config, split)]


def _split_files(folder: Path, config: str | None, split: str) -> list[Path]:
    """Files of ``split`` in ``folder`` (or ``folder/config``): ``train.jsonl``, ``train-00000-of-00001.parquet``..."""
    search_in = folder / config if config and (folder / config).is_dir() else folder
    data_files = sorted(p for p in search_in.iterdir() if p.is_file() and p.name.endswith(DATA_FILE_SUFFIXES))
    if not data_files:
        raise DataSourceError(f"{search_in}: folder holds no .jsonl, .json or .parquet files")
    chosen = [p for p in data_files if p.name.split(".")[0] == split or p.name.startswith((f"{split}-", f"{split}_"))]
    if not chosen:
        names = ", ".join(p.name for p in data_files)
        raise DataSourceError(
            f"{search_in}: no file for split {split!r} (expected e.g. {split}.jsonl or {split}-00000-of-00001.parquet); "
            f"found: {names}"
        )
    return chosen


def _load_file(path: Path) -> SourcePart:
    if not path.name.endswith(DATA_FILE_SUFFIXES):
        raise DataSourceError(f"{path}: unsupported file type; expected .jsonl, .json or .parquet")
    try:
        if path.stat().st_size == 0 or (path.suffix != ".parquet" and not path.read_text(encoding="utf-8").strip()):
            raise DataFormatError(str(path), "file is empty; expected GSM8K/DAPO rows (one JSON object per line, or parquet)")
    except UnicodeDecodeError as error:
        raise DataFormatError(str(path), f"not UTF-8 text ({error}); expected UTF-8 JSON lines") from error
    except PermissionError as error:
        raise DataSourceError(f"{path}: not readable (permission denied); check its permissions") from error
    builder = "parquet" if path.suffix == ".parquet" else "json"
    try:
        dataset = datasets.load_dataset(builder, data_files=str(path), split="train")
    except Exception as error:  # pyarrow/datasets errors do not say which line is wrong: find it ourselves
        if builder == "json":
            _raise_json_diagnosis(path)
        raise DataFormatError(str(path), f"could not be read as {builder}: {type(error).__name__}: {error}") from error
    return _non_empty(SourcePart(str(path), dataset))


def _non_empty(part: SourcePart) -> SourcePart:
    if part.dataset.num_rows == 0:
        raise DataFormatError(part.origin, "contains no rows; expected at least one problem")
    return part


def _raise_json_diagnosis(path: Path) -> None:
    """Raise a DataFormatError pointing at the first malformed row of a JSON / JSON-lines file."""
    text = path.read_text(encoding="utf-8")
    records: list[tuple[int, object]] = []
    if path.suffix == ".json" and text.lstrip().startswith("["):
        try:
            records = list(enumerate(json.loads(text), start=1))
        except json.JSONDecodeError as error:
            raise DataFormatError(
                str(path), f"malformed JSON at line {error.lineno}, column {error.colno}: {error.msg}"
            ) from error
    else:
        for line_number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append((line_number, json.loads(line)))
            except json.JSONDecodeError as error:
                raise DataFormatError(
                    str(path),
                    f"line {line_number} is not valid JSON ({error.msg} at column {error.colno}); "
                    "expected one JSON object per line",
                    row=line_number,
                ) from error
    first_type: dict[str, tuple[str, int]] = {}
    for row, value in records:
        if not isinstance(value, dict):
            raise DataFormatError(
                str(path), f"holds a JSON {type(value).__name__}, expected a JSON object", row=row
            )
        for key, item in value.items():
            if item is None:
                continue
            kind = "number" if type(item) in (int, float) else type(item).__name__
            seen_kind, seen_row = first_type.setdefault(key, (kind, row))
            if kind != seen_kind:
                raise DataFormatError(
                    str(path),
                    f"is a JSON {kind} here but a {seen_kind} in row {seen_row}; every row must use the same type",
                    row=row,
                    field=key,
                )
    raise DataFormatError(str(path), "could not be read as JSON lines, though every row parses; check its encoding")
