"""The Ollama `Modelfile` written beside GGUF files (as Unsloth does)."""

from __future__ import annotations

import json
from pathlib import Path

_CHATML = (
    "{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}"
    "{{ if .Prompt }}<|im_start|>user\n{{ .Prompt }}<|im_end|>\n{{ end }}"
    "<|im_start|>assistant\n{{ .Response }}<|im_end|>\n"
)
_PHI4 = (
    "{{ if .System }}<|im_start|>system<|im_sep|>{{ .System }}<|im_end|>{{ end }}"
    "{{ if .Prompt }}<|im_start|>user<|im_sep|>{{ .Prompt }}<|im_end|>{{ end }}"
    "<|im_start|>assistant<|im_sep|>{{ .Response }}<|im_end|>"
)
_GEMMA = (
    "<start_of_turn>user\n{{ if .System }}{{ .System }}\n\n{{ end }}{{ .Prompt }}<end_of_turn>\n"
    "<start_of_turn>model\n{{ .Response }}<end_of_turn>\n"
)
_KNOWN_TEMPLATES = (  # (marker in the Jinja chat template, Ollama template, stop strings)
    ("<|im_sep|>", _PHI4, ("<|im_end|>", "<|im_start|>")),
    ("<|im_start|>", _CHATML, ("<|im_end|>", "<|im_start|>")),
    ("<start_of_turn>", _GEMMA, ("<end_of_turn>",)),
)


def read_chat_template(model_dir: Path) -> str | None:
    """The Jinja chat template saved with a tokenizer (chat_template.jinja or tokenizer_config.json).

    Example:
        >>> read_chat_template(Path("/nonexistent")) is None
        True
    """
    jinja = Path(model_dir) / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text(encoding="utf-8")
    config = Path(model_dir) / "tokenizer_config.json"
    if config.is_file():
        template = json.loads(config.read_text(encoding="utf-8")).get("chat_template")
        return template if isinstance(template, str) else None
    return None


def _eos_token(model_dir: Path) -> str | None:
    config = Path(model_dir) / "tokenizer_config.json"
    if not config.is_file():
        return None
    eos = json.loads(config.read_text(encoding="utf-8")).get("eos_token")
    return eos.get("content") if isinstance(eos, dict) else eos


def render_modelfile(gguf_name: str, model_dir: Path, other_files: list[str] | None = None) -> str:
    """Text of an Ollama Modelfile pointing at `gguf_name`, with a TEMPLATE when the chat template's family
    (ChatML, Phi-4, Gemma) is recognised; otherwise Ollama takes the template from the GGUF metadata.

    Example:
        >>> print(render_modelfile("model.Q8_0.gguf", Path("/nonexistent")).splitlines()[0])
        FROM ./model.Q8_0.gguf
    """
    lines = [f"FROM ./{gguf_name}"]
    template = read_chat_template(model_dir) or ""
    stops: list[str] = []
    for marker, ollama_template, stop_strings in _KNOWN_TEMPLATES:
        if marker in template:
            lines.append(f'TEMPLATE """{ollama_template}"""')
            stops.extend(stop_strings)
            break
    else:
        lines.append("# Chat template: Ollama reads it from the GGUF metadata (tokenizer.chat_template).")
    eos = _eos_token(model_dir)
    if eos and eos not in stops:
        stops.append(eos)
    lines.extend(f'PARAMETER stop "{stop}"' for stop in stops)
    if other_files:
        lines.append("# Other quantisations in this folder (change FROM to use one): " + ", ".join(other_files))
    return "\n".join(lines) + "\n"
