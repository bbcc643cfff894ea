"""Reading and writing safetensors checkpoints one tensor at a time, so no model is ever held whole.

`CheckpointReader` opens the file holding a tensor only while it copies that tensor out (the memory map
is dropped at once, so resident memory stays at one tensor); `ShardedWriter` collects tensors into
shards of at most `max_shard_bytes` and writes the `model.safetensors.index.json` transformers reads.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterator
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from grpo_export.errors import ExportError

INDEX_NAME = "model.safetensors.index.json"
_DTYPES = {"BF16": torch.bfloat16, "F16": torch.float16, "F32": torch.float32, "F64": torch.float64,
           "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
           "BOOL": torch.bool, "F8_E4M3": torch.float8_e4m3fn, "F8_E5M2": torch.float8_e5m2}


def resolve_model_folder(model: str | Path) -> Path:
    """A local folder for `model`: the folder itself, or the Hub snapshot of a repo id (from the local
    cache when offline).

    Example:
        >>> resolve_model_folder("/nonexistent/model")  # doctest: +SKIP
        Traceback (most recent call last):
        grpo_export.errors.ExportError: ...
    """
    path = Path(model)
    if path.is_dir():
        return path
    if path.is_absolute() or str(model).startswith(".") or str(model).count("/") != 1:
        raise ExportError(f"{model} is not a model folder (and not a Hub repo id like 'microsoft/phi-4').")
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(str(model), allow_patterns=["*.json", "*.safetensors", "*.jinja", "*.model",
                                                                  "*.txt"]))
    except Exception as error:  # noqa: BLE001 - offline, missing, gated: all end here with the reason
        raise ExportError(f"Could not get {model} from the Hugging Face Hub or its local cache: {error}") from error


def _header(path: Path) -> dict:
    with path.open("rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(length))
    header.pop("__metadata__", None)
    return header


class CheckpointReader:
    """The tensors of a safetensors checkpoint folder (one file or sharded with an index), read one at a
    time.

    Example:
        >>> reader = CheckpointReader("model")  # doctest: +SKIP
        >>> reader.shape("model.embed_tokens.weight")  # doctest: +SKIP
        (49152, 576)
    """

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        index = self.folder / INDEX_NAME
        if index.is_file():
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
            files = sorted(set(weight_map.values()))
        else:
            files = sorted(p.name for p in self.folder.glob("*.safetensors"))
        if not files:
            raise ExportError(f"{self.folder} has no safetensors weights (model*.safetensors).")
        self._file_of: dict[str, Path] = {}
        self._info: dict[str, dict] = {}
        for name in files:
            path = self.folder / name
            if not path.is_file():
                raise ExportError(f"{path} is named in {index.name} but missing; the checkpoint is incomplete.")
            for key, info in _header(path).items():
                self._file_of[key] = path
                self._info[key] = info

    def keys(self) -> list[str]:
        """Tensor names, in file order."""
        return list(self._file_of)

    def __contains__(self, key: str) -> bool:
        return key in self._file_of

    def shape(self, key: str) -> tuple[int, ...]:
        return tuple(self._info[key]["shape"])

    def dtype(self, key: str) -> torch.dtype:
        return _DTYPES[self._info[key]["dtype"]]

    def nbytes(self, key: str) -> int:
        start, end = self._info[key]["data_offsets"]
        return end - start

    def get(self, key: str) -> torch.Tensor:
        """A copy of tensor `key` (its file's memory map is closed again before returning)."""
        if key not in self._file_of:
            raise ExportError(f"{self.folder}: no tensor named {key}.")
        with safe_open(str(self._file_of[key]), framework="pt") as handle:
            return handle.get_tensor(key).clone()

    def floating_dtypes(self) -> set[torch.dtype]:
        """The floating-point dtypes stored (a 16-bit checkpoint gives {bfloat16} or {float16})."""
        return {self.dtype(k) for k in self._info if self.dtype(k).is_floating_point}


class ShardedWriter:
    """Write tensors into `folder` as `model-0000i-of-0000N.safetensors` shards of at most
    `max_shard_bytes`, plus the index, holding one shard in memory at a time.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> with ShardedWriter(folder, max_shard_bytes=32) as writer:
        ...     for i in range(3):
        ...         writer.add(f"w{i}", torch.zeros(8))
        >>> sorted(p.name for p in folder.iterdir())
        ['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors', 'model.safetensors.index.json']
    """

    def __init__(self, folder: str | Path, max_shard_bytes: int = 2 * 1024**3):
        self.folder = Path(folder)
        self.max_shard_bytes = max_shard_bytes
        self._pending: dict[str, torch.Tensor] = {}
        self._pending_bytes = 0
        self._written: list[tuple[Path, list[str]]] = []
        self.total_bytes = 0

    def __enter__(self) -> ShardedWriter:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close()

    def add(self, key: str, tensor: torch.Tensor) -> None:
        nbytes = tensor.numel() * tensor.element_size()
        if self._pending and self._pending_bytes + nbytes > self.max_shard_bytes:
            self._flush()
        self._pending[key] = tensor.contiguous()
        self._pending_bytes += nbytes
        self.total_bytes += nbytes

    def _flush(self) -> None:
        path = self.folder / f".shard-{len(self._written) + 1:05d}.safetensors"
        save_file(self._pending, str(path), metadata={"format": "pt"})
        self._written.append((path, list(self._pending)))
        self._pending, self._pending_bytes = {}, 0

    def close(self) -> None:
        if self._pending:
            self._flush()
        count = len(self._written)
        weight_map = {}
        for number, (path, keys) in enumerate(self._written, start=1):
            name = "model.safetensors" if count == 1 else f"model-{number:05d}-of-{count:05d}.safetensors"
            os.replace(path, self.folder / name)
            weight_map.update(dict.fromkeys(keys, name))
        if count > 1:
            index = {"metadata": {"total_size": self.total_bytes}, "weight_map": weight_map}
            (self.folder / INDEX_NAME).write_text(json.dumps(index, indent=2, sort_keys=True), encoding="utf-8")


def iter_tensors(reader: CheckpointReader) -> Iterator[tuple[str, torch.Tensor]]:
    """(name, tensor) for every tensor of `reader`, one in memory at a time.

    Example:
        >>> next(iter_tensors(CheckpointReader("model")))[0]  # doctest: +SKIP
        'model.embed_tokens.weight'
    """
    for key in reader.keys():
        yield key, reader.get(key)
