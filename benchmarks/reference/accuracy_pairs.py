"""(gold, completion) pairs shaped like the data sets GRPO users train on, for comparing accuracy rewards.

Generated, not typed: each category holds answers (the answer as the gold states it, equivalent ways a
model may write it, wrong answers) and the gold templates a data set wraps them in; each (gold,
completion) pair knows the verdict a reader gives it (1.0 right, 0.0 wrong, None: the gold states no
answer a parser can find). Used by tests/rewards/test_rewards_accuracy_peers.py and
benchmarks/rewards_agreement.py to compare ``math_accuracy`` with TRL's and open-r1's ``accuracy_reward``.

Categories: GSM8K answers (the worked ``#### 72`` solution and the bare number), DAPO-Math answers
(integers, completions ending in DAPO's ``Answer: 34`` line), MATH/NuminaMath worked solutions with
``\\boxed{}``, golds with units, percents, degrees, fractions, intervals, sets, thousands separators,
scientific notation, and plain prose.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

REASONING = "Let me work through it step by step. First 3 + 4 = 7, then 7 * 2 = 14, and I check the result once more."


@dataclass(frozen=True)
class Pair:
    """One (gold, completion) pair and the verdict a reader gives it."""

    category: str
    gold_form: str  # how the data set writes its gold: "worked #### solution", "bare", ...
    completion_form: str  # how the completion writes its answer: "boxed", "boxed equivalent", "Answer: line", ...
    gold: str
    completion: str
    expected: float | None


@dataclass(frozen=True)
class Answer:
    """An answer as a gold states it, equivalent ways to write it (the first is how a model boxes it), and wrong ones."""

    stated: str
    right: tuple[str, ...]
    wrong: tuple[str, ...]


def boxed(answer: str) -> str:
    return f"<think>\n{REASONING}\n</think>\n\nThe final answer is $\\boxed{{{answer}}}$."


def answer_line(answer: str) -> str:
    """DAPO-Math's prompt asks for a last line ``Answer: $Answer``."""
    return f"<think>\n{REASONING}\n</think>\n\nAnswer: {answer}"


def in_dollars(answer: str) -> str:
    return f"<think>\n{REASONING}\n</think>\n\nSo the answer is ${answer}$."


def _gsm8k_worked(n: str) -> str:
    total = int(n.replace(",", ""))
    april, may = total // 2, total - total // 2
    return (
        f"In April she sold {april} clips and in May {may} clips.\n"
        f"Altogether she sold {april} + {may} = <<{april}+{may}={total}>>{total} clips.\n"
        f"#### {n}"
    )


def _math_we_compute(x: str) -> str:
    return f"We compute $2+3=5$ and simplify step by step, so the answer is $\\boxed{{{x}}}$."


def _math_there_are(x: str) -> str:
    return f"Checking each case, the expression takes the value $\\boxed{{{x}}}$ in the end, as claimed."


def _numina_display(x: str) -> str:
    return (
        "1. **Set up the equation.** Let $n$ be the unknown; the conditions give\n"
        "   \\[\n   3n + 1 = 16 \\implies n = 5.\n   \\]\n"
        f"2. **Conclude.** Substituting back,\n   \\[\n   \\boxed{{{x}}}\n   \\]"
    )


def _math_assignment(x: str) -> str:
    return f"Since $x + 1 = 6$ the first value is $5$; solving the second equation the same way gives $y = \\boxed{{{x}}}$."


def _integer_answers(values: list[int]) -> list[Answer]:
    return [Answer(str(v), (str(v), f"{v}.0"), (str(v + 1), str(v * 2 + 3))) for v in values]


# category -> (answers, {gold form: template}, completion forms as (name, wrapper, which answers: "right"/"equivalent"/"wrong")).
# "right" boxes the first right form, "equivalent" every other right form, "wrong" every wrong form.
Template = Callable[[str], str]
CATEGORIES: dict[str, tuple[list[Answer], dict[str, Template], tuple[tuple[str, Callable[[str], str], str], ...]]] = {
    "gsm8k": (
        _integer_answers([72, 10, 5, 624, 18, 35, 3, 1080]) + [Answer("1,080", ("1080", "1,080"), ("1,008", "108"))],
        {"worked #### solution": _gsm8k_worked, "bare number": str},
        (("boxed", boxed, "right"), ("boxed equivalent", boxed, "equivalent"), ("Answer: line", answer_line, "right"),
         ("boxed wrong", boxed, "wrong"), ("Answer: line wrong", answer_line, "wrong")),
    ),
    "dapo": (
        _integer_answers([34, -7, 2025, 0, 1, 118, 49]),
        {"integer": str},
        (("boxed", boxed, "right"), ("Answer: line", answer_line, "right"), ("in $...$", in_dollars, "right"),
         ("boxed wrong", boxed, "wrong"), ("Answer: line wrong", answer_line, "wrong")),
    ),
    "math solution": (
        [
            Answer("5", ("5",), ("6",)),
            Answer("2", ("2",), ("6",)),
            Answer("\\frac{3}{4}", ("\\frac{3}{4}", "0.75", "3/4"), ("\\frac{4}{3}",)),
            Answer("2\\sqrt{3}", ("2\\sqrt{3}", "\\sqrt{12}"), ("3\\sqrt{2}",)),
            Answer("(2, -1)", ("(2, -1)", "(2,-1)"), ("(-1, 2)",)),
            Answer("-\\frac{1}{2}", ("-\\frac{1}{2}", "-0.5"), ("\\frac{1}{2}",)),
            Answer("\\frac{\\pi}{2}", ("\\frac{\\pi}{2}", "\\pi/2"), ("\\pi",)),
        ],
        {"worked, boxed at the end": _math_we_compute, "boxed mid-sentence": _math_there_are,
         "NuminaMath display \\[\\boxed{}\\]": _numina_display, "boxed in an equation": _math_assignment},
        (("boxed", boxed, "right"), ("boxed equivalent", boxed, "equivalent"), ("boxed wrong", boxed, "wrong")),
    ),
    "units": (
        [
            Answer("$125$ miles", ("125", "125 \\text{ miles}"), ("12",)),
            Answer("125 miles", ("125", "125\\text{ miles}"), ("120",)),
            Answer("12\\text{ inches}", ("12", "12 \\text{ inches}"), ("144",)),
            Answer("\\$18.90", ("18.90", "\\$18.90", "18.9"), ("18.09",)),
            Answer("18.90 dollars", ("18.90", "\\$18.90"), ("19",)),
            Answer("36 \\text{ square feet}", ("36", "36 \\text{ ft}^2"), ("6",)),
            Answer("$7$ cm", ("7", "7\\text{ cm}"), ("70",)),
            Answer("It takes 3 hours.", ("3", "3 \\text{ hours}"), ("4",)),
        ],
        {"answer with its unit": str},
        (("boxed", boxed, "right"), ("boxed equivalent", boxed, "equivalent"), ("boxed wrong", boxed, "wrong")),
    ),
    "percent": (
        [
            Answer("50\\%", ("50\\%", "50"), ("40\\%",)),
            Answer("50%", ("50\\%", "50"), ("40",)),
            Answer("12.5\\%", ("12.5\\%", "12.5"), ("125\\%",)),
            Answer("$20\\%$", ("20\\%", "20"), ("80\\%",)),
            Answer("35 percent", ("35\\%", "35"), ("53\\%",)),
        ],
        {"percent": str},
        (("boxed", boxed, "right"), ("boxed equivalent", boxed, "equivalent"), ("boxed wrong", boxed, "wrong")),
    ),
    "degrees": (
        [
            Answer("45^\\circ", ("45^\\circ", "45"), ("135^\\circ",)),
            Answer("45 degrees", ("45^\\circ", "45"), ("135",)),
            Answer("30^{\\circ}", ("30^{\\circ}", "30"), ("60^\\circ",)),
            Answer("$120^\\circ$", ("120^\\circ", "120"), ("60",)),
        ],
        {"degrees": str},
        (("boxed", boxed, "right"), ("boxed equivalent", boxed, "equivalent"), ("boxed wrong", boxed, "wrong")),
    ),
    "fractions": (
        [
            Answer("\\frac{3}{4}", ("\\frac{3}{4}", "0.75", "3/4"), ("\\frac{4}{3}", "0.7")),
            Answer("3/4", ("\\frac{3}{4}", "0.75"), ("4/3",)),
            Answer("\\dfrac{5}{8}", ("\\frac{5}{8}", "0.625"), ("\\frac{8}{5}",)),
            Answer("-\\frac{1}{2}", ("-\\frac{1}{2}", "-0.5"), ("\\frac{1}{2}",)),
            Answer("\\tfrac{2}{3}", ("\\frac{2}{3}", "\\frac{4}{6}"), ("0.6",)),
            Answer("$\\frac{7}{2}$", ("\\frac{7}{2}", "3.5"), ("\\frac{2}{7}",)),
        ],
        {"fraction": str},
        (("boxed", boxed, "right"), ("boxed equivalent", boxed, "equivalent"), ("boxed wrong", boxed, "wrong")),
    ),
    "intervals": (
        [
            Answer("(0, 1]", ("(0, 1]", "(0,1]"), ("[0, 1]", "1")),
            Answer("[2, 5)", ("[2, 5)", "[2,5)"), ("(2, 5)", "5")),
            Answer("(-\\infty, 3)", ("(-\\infty, 3)", "(-\\infty,3)"), ("(-\\infty, 3]", "3")),
            Answer("[-1, 1]", ("[-1, 1]", "[-1,1]"), ("(-1, 1)",)),
            Answer("$(1, \\infty)$", ("(1, \\infty)", "(1,\\infty)"), ("[1, \\infty)",)),
        ],
        {"interval": str},
        (("boxed", boxed, "right"), ("boxed equivalent", boxed, "equivalent"), ("boxed wrong", boxed, "wrong")),
    ),
    "sets": (
        [
            Answer("\\{1, 2, 3\\}", ("\\{1, 2, 3\\}", "\\{3, 2, 1\\}"), ("\\{1, 2\\}", "3")),
            Answer("\\{-2, 2\\}", ("\\{-2, 2\\}", "\\{2, -2\\}"), ("\\{2\\}",)),
            Answer("1, 2, 3", ("1, 2, 3", "3, 2, 1"), ("1, 2", "3")),
            Answer("$\\{0, 5\\}$", ("\\{0, 5\\}", "\\{5, 0\\}"), ("\\{0\\}",)),
        ],
        {"set": str},
        (("boxed", boxed, "right"), ("boxed equivalent", boxed, "equivalent"), ("boxed wrong", boxed, "wrong")),
    ),
    "thousands": (
        [
            Answer("1,234,567", ("1234567", "1,234,567"), ("1234568", "567")),
            Answer("10,000", ("10000", "10,000"), ("1000",)),
            Answer("2,025", ("2025", "2,025"), ("2,026",)),
            Answer("$1,000$", ("1000", "1,000"), ("100",)),
        ],
        {"thousands separator": str},
        (("boxed", boxed, "right"), ("boxed equivalent", boxed, "equivalent"), ("Answer: line", answer_line, "right"),
         ("boxed wrong", boxed, "wrong")),
    ),
    "scientific": (
        [
            Answer("6.02 \\times 10^{23}", ("6.02 \\times 10^{23}", "6.02e23"), ("6.02", "23")),
            Answer("1.5e3", ("1500", "1.5 \\times 10^{3}"), ("1.5", "3")),
            Answer("3 \\times 10^{8}", ("3 \\times 10^{8}", "300000000"), ("3", "8")),
            Answer("2.5 \\times 10^{-3}", ("2.5 \\times 10^{-3}", "0.0025"), ("2.5", "-3")),
            Answer("$1.2 \\cdot 10^{5}$", ("1.2 \\cdot 10^{5}", "120000"), ("1.2", "5")),
        ],
        {"scientific notation": str},
        (("boxed", boxed, "right"), ("boxed equivalent", boxed, "equivalent"), ("boxed wrong", boxed, "wrong")),
    ),
    "prose": (
        [
            Answer("the answer is Paris", ("\\text{Paris}",), ("\\text{Rome}", "5")),
            Answer("five", ("5", "\\text{five}"), ("\\text{evif}",)),
            Answer("Monday", ("\\text{Monday}",), ("\\text{Tuesday}",)),
            Answer("\\text{yes}", ("\\text{yes}",), ("\\text{no}",)),
            Answer("north-east", ("\\text{north-east}",), ("\\text{south}",)),
        ],
        {"words only": str},
        (("boxed", boxed, "right"), ("boxed equivalent", boxed, "equivalent"), ("boxed wrong", boxed, "wrong")),
    ),
}
# Golds in words: no answer a parser can find, so every verdict is None ("not applicable").
NO_ANSWER_CATEGORIES = frozenset({"prose"})


def pairs() -> Iterator[Pair]:
    """Every pair, in a fixed order."""
    for category, (answers, gold_forms, completion_forms) in CATEGORIES.items():
        for gold_form, template in gold_forms.items():
            for answer in answers:
                gold = template(answer.stated)
                for form, wrap, which in completion_forms:
                    written = {"right": answer.right[:1], "equivalent": answer.right[1:], "wrong": answer.wrong}[which]
                    for text in written:
                        expected = None if category in NO_ANSWER_CATEGORIES else 0.0 if which == "wrong" else 1.0
                        yield Pair(category, gold_form, form, gold, wrap(text), expected)
