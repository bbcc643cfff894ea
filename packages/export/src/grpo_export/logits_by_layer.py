"""A model's logits with its weights streamed in one layer at a time, so any size runs in the memory of
its largest layer: the model is built on the meta device from its config, and accelerate's offload hooks
fetch each module's weights (from any `name -> tensor` function) just before the module runs and drop them
right after.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import torch


class _LazyWeights(Mapping):
    """`name -> tensor` computed on access (accelerate's `weights_map`); tied names resolve to their source."""

    def __init__(self, names: dict[str, str], fetch: Callable[[str], torch.Tensor], dtype: torch.dtype):
        self._names, self._fetch, self._dtype = names, fetch, dtype

    def __getitem__(self, name: str) -> torch.Tensor:
        tensor = self._fetch(self._names[name])
        return tensor.to(self._dtype) if tensor.is_floating_point() else tensor

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def run_device(device: torch.device | str | None = None) -> torch.device:
    """`device`, or the GPU when there is one, else the CPU: where the export's arithmetic runs.

    Example:
        >>> run_device("cpu")
        device(type='cpu')
    """
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def pad_batch(sequences: list[torch.Tensor], pad_id: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded input ids and attention mask for `sequences`.

    Example:
        >>> ids, mask = pad_batch([torch.tensor([5, 6, 7]), torch.tensor([8])])
        >>> ids.tolist(), mask.tolist()
        ([[5, 6, 7], [8, 0, 0]], [[1, 1, 1], [1, 0, 0]])
    """
    length = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), length), dtype=torch.long)
    for row, sequence in enumerate(sequences):
        ids[row, : len(sequence)] = sequence
        mask[row, : len(sequence)] = 1
    return ids, mask


def streamed_logits(config, fetch: Callable[[str], torch.Tensor], sequences: list[torch.Tensor], *,
                    device: torch.device | str | None = None, dtype: torch.dtype = torch.float32,
                    linear_inputs: Callable[[torch.Tensor], torch.Tensor] | None = None) -> list[torch.Tensor]:
    """Float32 logits (one `len × vocab` tensor per sequence, on the CPU) of the model `config` describes, with
    each weight `fetch(name)`-ed when its layer runs: one pass over the weights for the whole batch.

    Args:
        config: a transformers `PretrainedConfig` (e.g. `AutoConfig.from_pretrained(folder)`).
        fetch: the tensor of a checkpoint name (e.g. `CheckpointReader(folder).get`); called once per weight.
        sequences: token ids (1-D tensors).
        device: where layers run (default: the GPU when there is one).
        dtype: the compute dtype (weights are cast to it as they arrive).
        linear_inputs: applied to the input of every linear layer (e.g. the rounding a runtime applies to
            activations before its matrix products).

    Example:
        >>> from transformers import AutoConfig
        >>> reader = CheckpointReader("model")  # doctest: +SKIP
        >>> streamed_logits(AutoConfig.from_pretrained("model"), reader.get, [torch.tensor([1, 2])])  # doctest: +SKIP
    """
    from accelerate import init_empty_weights
    from accelerate.hooks import attach_align_device_hook, remove_hook_from_module
    from transformers import AutoModelForCausalLM

    run_on = run_device(device)
    with init_empty_weights(include_buffers=False):
        model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    model.tie_weights()  # not done on the meta device: a tied head must read the embedding's tensor
    model.eval()
    canonical: dict[int, str] = {}
    names: dict[str, str] = {}
    for name, parameter in model.named_parameters(remove_duplicate=False):
        canonical.setdefault(id(parameter), name)
    for name, parameter in model.named_parameters(remove_duplicate=False):
        names[name] = canonical[id(parameter)]  # a tied weight is read under its source's name
    attach_align_device_hook(model, execution_device=run_on, offload=True,
                             weights_map=_LazyWeights(names, fetch, dtype))
    if linear_inputs is not None:
        for module in model.modules():
            if isinstance(module, torch.nn.Linear):
                module.register_forward_pre_hook(lambda _, args: (linear_inputs(args[0]), *args[1:]))
    try:
        ids, mask = pad_batch(sequences)
        with torch.no_grad():
            logits = model(input_ids=ids.to(run_on), attention_mask=mask.to(run_on)).logits
        return [logits[row, : len(s)].float().cpu() for row, s in enumerate(sequences)]
    finally:
        remove_hook_from_module(model, recurse=True)
        del model
