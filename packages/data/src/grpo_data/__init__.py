"""grpo_data: GSM8K and DAPO-Math as GRPO prompts, a prompt-length filter, and SYNTHETIC offline problems.

Example:
    >>> from grpo_data import load_gsm8k, synthetic_gsm8k
    >>> rows = load_gsm8k(synthetic_gsm8k(8, seed=0))
    >>> sorted(rows.column_names)
    ['answer', 'operands', 'prompt', 'question', 'raw_answer', 'template']
"""

from grpo_data.dapo import load_dapo
from grpo_data.errors import DataFormatError, DataSourceError, NoUsableRowsError
from grpo_data.gsm8k import build_chat_prompt, extract_final_answer, load_gsm8k, normalise_final_answer
from grpo_data.prompt_length import PromptLengthStats, filter_by_prompt_length, prompt_token_lengths
from grpo_data.prompts import (
    DAPO_SYSTEM_PROMPT,
    DAPO_SYSTEM_PROMPT_EN,
    DAPO_SYSTEM_PROMPT_ZH,
    SYSTEM_PROMPTS,
    XML_COT_FORMAT,
    XML_SYSTEM_PROMPT,
    one_shot_messages,
    resolve_system_prompt,
)
from grpo_data.report import LoadReport
from grpo_data.splits import split_train_eval
from grpo_data.synthetic import TEMPLATES, synthetic_gsm8k

__version__ = "0.1.0"

__all__ = [
    "DAPO_SYSTEM_PROMPT",
    "DAPO_SYSTEM_PROMPT_EN",
    "DAPO_SYSTEM_PROMPT_ZH",
    "SYSTEM_PROMPTS",
    "TEMPLATES",
    "XML_COT_FORMAT",
    "XML_SYSTEM_PROMPT",
    "DataFormatError",
    "DataSourceError",
    "LoadReport",
    "NoUsableRowsError",
    "PromptLengthStats",
    "build_chat_prompt",
    "extract_final_answer",
    "filter_by_prompt_length",
    "load_dapo",
    "load_gsm8k",
    "normalise_final_answer",
    "one_shot_messages",
    "prompt_token_lengths",
    "resolve_system_prompt",
    "split_train_eval",
    "synthetic_gsm8k",
]
