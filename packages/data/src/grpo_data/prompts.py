"""System prompts of the two tutorials, by name so YAML recipes can refer to them."""

from __future__ import annotations

# Tutorial 1 (Phi-4 on GSM8K): the model answers in <reasoning>/<answer> XML.
XML_SYSTEM_PROMPT = """
Respond in the following format:
<reasoning>
...
</reasoning>
<answer>
...
</answer>
"""

# Tutorial 1's one-shot option: a worked example in this format, filled with `.format(reasoning=..., answer=...)`.
XML_COT_FORMAT = """\
<reasoning>
{reasoning}
</reasoning>
<answer>
{answer}
</answer>
"""


def one_shot_messages() -> list[dict[str, str]]:
    """Tutorial 1's commented-out one-shot example: a user question and an answer in ``XML_COT_FORMAT``.

    Example:
        >>> one_shot_messages()[1]["content"].splitlines()[-2]
        '7'
    """
    return [
        {"role": "user", "content": "What is the largest single-digit prime number?"},
        {
            "role": "assistant",
            "content": XML_COT_FORMAT.format(
                reasoning="9 is divisible by 3 and 8 is divisible by 2, but 7 is prime.", answer="7"
            ),
        },
    ]


# Tutorial 2 (DeepSeek-R1-0528-Qwen3-8B on DAPO-Math): reason in Indonesian.
DAPO_SYSTEM_PROMPT_EN = """You are given a problem.
Think about the problem and provide your working out.
You must think in Bahasa Indonesia."""

# The tutorial's own Chinese text, restored (our copy of it is garbled by an encoding error).
DAPO_SYSTEM_PROMPT_ZH = """你将得到一个问题。
请思考这个问题并提供你的解题过程。
你必须用印尼语思考。"""

DAPO_SYSTEM_PROMPT = DAPO_SYSTEM_PROMPT_EN

SYSTEM_PROMPTS: dict[str, str] = {
    "xml": XML_SYSTEM_PROMPT,
    "xml_cot": XML_COT_FORMAT,
    "dapo_en": DAPO_SYSTEM_PROMPT_EN,
    "dapo_zh": DAPO_SYSTEM_PROMPT_ZH,
}


def resolve_system_prompt(name: str) -> str:
    """Return the system prompt registered under ``name``.

    Args:
        name: one of ``SYSTEM_PROMPTS`` ("xml", "xml_cot", "dapo_en", "dapo_zh").

    Returns:
        The prompt text.

    Raises:
        KeyError: the name is unknown; the message lists the known names.

    Example:
        >>> resolve_system_prompt("dapo_en").splitlines()[0]
        'You are given a problem.'
    """
    try:
        return SYSTEM_PROMPTS[name]
    except KeyError:
        known = ", ".join(sorted(SYSTEM_PROMPTS))
        raise KeyError(f"unknown system prompt name {name!r}; known names: {known}") from None
