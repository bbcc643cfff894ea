"""GRPO reward functions in TRL's calling convention, fixed from the Unsloth GSM8K and DAPO tutorials.

>>> from grpo_rewards import get_reward_funcs
>>> correctness, = get_reward_funcs(["correctness"])
>>> correctness(prompts=[[{"role": "user", "content": "6*12?"}]],
...             completions=[[{"role": "assistant", "content": "<reasoning>\\n6*12\\n</reasoning>\\n<answer>\\n72.0\\n</answer>"}]],
...             answer=["72"])
[2.0]
"""

from .base import Reward, gold_answers
from .gold import gold_answer, gold_number
from .language_reward import Language, detect_language
from .length_rewards import CosineScaled, Repetition, SoftOverlong
from .math_reward import MathAccuracy
from .registry import REWARDS, TUTORIAL_REWARDS, get_reward_funcs, reward_params
from .text import (
    answer_after_reasoning,
    completion_text,
    extract_xml_answer,
    final_number,
    last_number,
    parse_number,
    reasoning_text,
)
from .think_answer_rewards import ThinkAnswerFormat, ThinkAnswerTagCount
from .think_rewards import AnswerCheck, NumberCheck, ThinkFormatApprox, ThinkFormatExact
from .xml_rewards import Correctness, Integer, SoftFormat, StrictFormat, XmlCount, count_xml

__version__ = "0.1.0"

__all__ = [
    "REWARDS",
    "TUTORIAL_REWARDS",
    "AnswerCheck",
    "Correctness",
    "CosineScaled",
    "Integer",
    "Language",
    "MathAccuracy",
    "NumberCheck",
    "Repetition",
    "Reward",
    "SoftOverlong",
    "SoftFormat",
    "StrictFormat",
    "ThinkAnswerFormat",
    "ThinkAnswerTagCount",
    "ThinkFormatApprox",
    "ThinkFormatExact",
    "XmlCount",
    "answer_after_reasoning",
    "completion_text",
    "count_xml",
    "detect_language",
    "extract_xml_answer",
    "final_number",
    "get_reward_funcs",
    "gold_answer",
    "gold_answers",
    "gold_number",
    "last_number",
    "parse_number",
    "reasoning_text",
    "reward_params",
]
