"""Small helpers shared by the rewards tests (completion shapes as TRL passes them)."""

from __future__ import annotations


def conv(text: str) -> list[dict[str, str]]:
    """One conversational completion, as TRL passes it for a conversational dataset."""
    return [{"role": "assistant", "content": text}]


def prompt(question: str = "What is 6 * 12?") -> list[dict[str, str]]:
    return [{"role": "system", "content": "Respond in the XML format."}, {"role": "user", "content": question}]


def call(reward, texts: list[str], answers: list[str] | None = None, **columns) -> list:
    """Call a reward (ours or the tutorial's) the way TRL does, with conversational completions."""
    if answers is not None:
        columns["answer"] = answers
    return reward(prompts=[prompt()] * len(texts), completions=[conv(t) for t in texts], **columns)


def xml(reasoning: str, answer: str, end: str = "\n") -> str:
    """A completion in tutorial 1's exact layout."""
    return f"<reasoning>\n{reasoning}\n</reasoning>\n<answer>\n{answer}\n</answer>{end}"
