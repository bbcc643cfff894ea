"""Merge a LoRA adapter into its 16-bit base checkpoint tensor by tensor, and check the result.

Memory is one tensor (plus one output shard of at most `max_shard_bytes`) whatever the model's size: the
base checkpoint is read one tensor at a time, ΔW = scaling · B·A is computed in float32 (on the GPU when
there is one), and W + ΔW is rounded once to the saved dtype.

`check_merged_tensors` then reads every written tensor back and compares it with base + ΔW computed
again from the files: adapted tensors must be within one unit in the last place (ulp) of the saved dtype
(the rounding is the only error a correct merge makes), all others bit-equal to the base, with the same
names and shapes. That catches a missing, doubled, mis-scaled or transposed LoRA at any size.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from grpo_export.errors import ExportError, ExportVerificationError
from grpo_export.logits_by_layer import run_device
from grpo_export.lora_adapter import LoraAdapter
from grpo_export.safetensors_files import CheckpointReader, ShardedWriter

logger = logging.getLogger(__name__)

MANTISSA_BITS = {torch.bfloat16: 7, torch.float16: 10, torch.float32: 23}
MAX_ULPS = 1.0
"""A correct merge rounds W + ΔW once; computing ΔW on another device or in another order may move a value
across one rounding boundary, never more."""


def merged_tensor(base: torch.Tensor, key: str, adapter: LoraAdapter, dtype: torch.dtype,
                  device: torch.device) -> torch.Tensor:
    """The merged value of base tensor `key`: W + ΔW (adapted), the adapter's copy (modules_to_save), or W,
    in `dtype` on the CPU.

    Example:
        >>> merged_tensor(torch.ones(2, 2), "w", adapter, torch.bfloat16, torch.device("cpu"))  # doctest: +SKIP
    """
    if key in adapter.replacements:
        replacement = adapter.replacements[key]
        if replacement.shape != base.shape:
            raise ExportError(f"{adapter.folder}: its copy of {key} has shape {tuple(replacement.shape)}, the base "
                              f"has {tuple(base.shape)}: was it trained on another base model?")
        return replacement.to(dtype)
    module = adapter.modules.get(key)
    if module is None:
        return base.to(dtype) if base.is_floating_point() else base
    delta = module.delta(device)
    if delta.shape != base.shape:
        raise ExportError(f"{adapter.folder}: the LoRA on {module.name} has shape {tuple(delta.shape)}, the base "
                          f"weight {tuple(base.shape)}: was it trained on another base model?")
    return (base.to(device, torch.float32) + delta).to(dtype).cpu()


def stream_merge(base_folder: str | Path, adapter: LoraAdapter, out_folder: str | Path, dtype: torch.dtype, *,
                 device: torch.device | str | None = None, max_shard_bytes: int = 2 * 1024**3) -> int:
    """Write base + LoRA into `out_folder` as safetensors shards (weights only: config and tokenizer are the
    caller's). Returns the bytes written.

    Example:
        >>> stream_merge("SmolLM2", LoraAdapter("lora"), "merged", torch.bfloat16)  # doctest: +SKIP
        269060736
    """
    reader = CheckpointReader(base_folder)
    missing = [key for key in [*adapter.modules, *adapter.replacements] if key not in reader]
    if missing:
        raise ExportError(f"{adapter.folder} adapts tensors the base checkpoint {base_folder} does not have "
                          f"(e.g. {missing[:3]}): was it trained on another base model?")
    run_on = run_device(device)
    with ShardedWriter(out_folder, max_shard_bytes) as writer:
        for key in tqdm(reader.keys(), desc="merge", unit="tensor", leave=False):
            writer.add(key, merged_tensor(reader.get(key), key, adapter, dtype, run_on))
        return writer.total_bytes


def ulps(actual: torch.Tensor, expected: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """|actual − expected| in units in the last place of `dtype` at `expected`'s magnitude (float32).

    Example:
        >>> float(ulps(torch.tensor([1.0078125]), torch.tensor([1.0]), torch.bfloat16)[0])
        1.0
    """
    _, exponent = torch.frexp(expected.float())
    bits = MANTISSA_BITS[dtype]
    smallest = torch.finfo(dtype).tiny * 2.0 ** -bits  # the spacing of subnormals
    spacing = torch.clamp(torch.ldexp(torch.ones_like(expected, dtype=torch.float32), exponent - 1 - bits), min=smallest)
    return (actual.float() - expected.float()).abs() / spacing


@dataclass
class TensorCheck:
    """What `check_merged_tensors` found: tensors compared, adapted ones, worst ulp error, and how many
    saved values the LoRA changed (a LoRA smaller than the rounding changes none: then a merge without it
    would be the same file).

    Example:
        >>> TensorCheck(tensors=2, adapted=1, max_ulps=0.0, changed_values=10, values=20).summary()
        '2 tensors (1 adapted): max 0 ulp from base + ΔW; the LoRA changes 10 of 20 adapted values (50.0%)'
    """

    tensors: int
    adapted: int
    max_ulps: float
    changed_values: int
    values: int
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        share = self.changed_values / max(self.values, 1)
        return (f"{self.tensors} tensors ({self.adapted} adapted): max {self.max_ulps:.3g} ulp from base + ΔW; "
                f"the LoRA changes {self.changed_values} of {self.values} adapted values ({share:.1%})")


def check_merged_tensors(base_folder: str | Path, adapter: LoraAdapter, merged_folder: str | Path,
                         dtype: torch.dtype, *, device: torch.device | str | None = None) -> TensorCheck:
    """Compare every tensor of `merged_folder` with base + scaling · B·A recomputed from the files; raise
    `ExportVerificationError` naming the first tensors that differ by more than `MAX_ULPS`, that are missing,
    extra, or of another shape or dtype.

    Example:
        >>> check_merged_tensors("SmolLM2", LoraAdapter("lora"), "merged", torch.bfloat16).max_ulps  # doctest: +SKIP
        0.0
    """
    base, merged = CheckpointReader(base_folder), CheckpointReader(merged_folder)
    run_on = run_device(device)
    problems: list[str] = []
    missing, extra = set(base.keys()) - set(merged.keys()), set(merged.keys()) - set(base.keys())
    if missing:
        problems.append(f"missing tensors, e.g. {sorted(missing)[:3]}")
    if extra:
        problems.append(f"unexpected tensors, e.g. {sorted(extra)[:3]}")
    report = TensorCheck(tensors=0, adapted=0, max_ulps=0.0, changed_values=0, values=0, problems=problems)
    for key in tqdm([k for k in base.keys() if k in merged], desc="check merge", unit="tensor", leave=False):
        report.tensors += 1
        expected_base = base.get(key)
        actual = merged.get(key)
        if actual.shape != expected_base.shape:
            problems.append(f"{key}: shape {tuple(actual.shape)}, base has {tuple(expected_base.shape)}")
            continue
        if expected_base.is_floating_point() and actual.dtype != dtype:
            problems.append(f"{key}: saved as {actual.dtype}, expected {dtype}")
            continue
        module = adapter.modules.get(key)
        if module is None:
            expected = adapter.replacements.get(key, expected_base)
            expected = expected.to(dtype) if expected.is_floating_point() else expected
            if not torch.equal(actual, expected):
                problems.append(f"{key}: differs from the {'adapter copy' if key in adapter.replacements else 'base'}"
                                " (not adapted, so it must be bit-equal)")
            continue
        report.adapted += 1
        exact = expected_base.to(run_on, torch.float32) + module.delta(run_on)
        error = ulps(actual.to(run_on), exact, dtype)
        worst = float(error.max())
        report.max_ulps = max(report.max_ulps, worst)
        report.changed_values += int((exact.to(dtype) != expected_base.to(run_on, dtype)).sum())
        report.values += exact.numel()
        if worst > MAX_ULPS:
            share = float((error > MAX_ULPS).float().mean())
            problems.append(f"{key}: up to {worst:.3g} ulp from base + ΔW ({share:.1%} of values beyond "
                            f"{MAX_ULPS:g} ulp): the LoRA is missing, doubled, mis-scaled or transposed there")
    if problems:
        raise ExportVerificationError(f"The merged weights in {merged_folder} are not base + LoRA: "
                                      + "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
                                      + ". The export was not written.")
    logger.info("Merged tensors verified: %s", report.summary())
    return report
