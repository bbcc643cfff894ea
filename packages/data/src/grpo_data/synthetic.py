"""SYNTHETIC grade-school word problems in GSM8K's (or DAPO's) schema, for offline demos and tests.

These are not GSM8K: they are generated here from a few templates, with small numbers (mostly 1-2
digit operands, results under 1000) that a small model can handle. Every answer is computed from
the recorded operands, never typed.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass

import datasets
from tqdm.auto import tqdm

NAMES = (
    ("Ana", "she"), ("Ben", "he"), ("Chloe", "she"), ("Dani", "she"), ("Eko", "he"), ("Farah", "she"),
    ("Gilang", "he"), ("Hana", "she"), ("Ivan", "he"), ("Jia", "she"), ("Kofi", "he"), ("Lena", "she"),
    ("Mateo", "he"), ("Nadia", "she"), ("Omar", "he"), ("Putri", "she"), ("Raka", "he"), ("Sara", "she"),
)
ITEMS = ("apples", "pencils", "stickers", "marbles", "cookies", "books", "stamps", "shells", "cards", "eggs")
MACHINE_ITEMS = ("toys", "bottles", "bricks", "cups", "boxes")
PRICED_ITEMS = ("notebooks", "sandwiches", "tickets", "pens", "plants", "mugs")
BILLS = (20, 50, 100)


@dataclass(frozen=True)
class Problem:
    """One generated problem: its text, its worked steps, its answer and what it was computed from."""

    template: str
    question: str
    steps: list[str]
    answer: int
    operands: dict[str, int]


def _add(rng: random.Random) -> Problem:
    (name, pronoun), item = rng.choice(NAMES), rng.choice(ITEMS)
    a, b = rng.randint(2, 99), rng.randint(2, 99)
    total = a + b
    return Problem(
        "add",
        f"{name} has {a} {item}. Then {pronoun} gets {b} more {item}. How many {item} does {name} have now?",
        [f"{name} has {a} + {b} = <<{a}+{b}={total}>>{total} {item} now."],
        total,
        {"a": a, "b": b},
    )


def _subtract(rng: random.Random) -> Problem:
    (name, _), (friend, _), item = rng.choice(NAMES), rng.choice(NAMES), rng.choice(ITEMS)
    a = rng.randint(10, 99)
    b = rng.randint(1, a - 1)
    left = a - b
    return Problem(
        "subtract",
        f"{name} had {a} {item} and gave {b} of them to {friend}. How many {item} does {name} have left?",
        [f"{name} has {a} - {b} = <<{a}-{b}={left}>>{left} {item} left."],
        left,
        {"a": a, "b": b},
    )


def _multiply(rng: random.Random) -> Problem:
    item = rng.choice(ITEMS)
    boxes, per_box = rng.randint(2, 12), rng.randint(2, 20)
    total = boxes * per_box
    return Problem(
        "multiply",
        f"There are {boxes} boxes with {per_box} {item} in each box. How many {item} are there in total?",
        [f"There are {boxes} * {per_box} = <<{boxes}*{per_box}={total}>>{total} {item} in total."],
        total,
        {"boxes": boxes, "per_box": per_box},
    )


def _divide(rng: random.Random) -> Problem:
    (name, _), item = rng.choice(NAMES), rng.choice(ITEMS)
    friends, each = rng.randint(2, 9), rng.randint(2, 20)
    total = friends * each
    return Problem(
        "divide",
        f"{name} shares {total} {item} equally among {friends} friends. How many {item} does each friend get?",
        [f"Each friend gets {total} / {friends} = <<{total}/{friends}={each}>>{each} {item}."],
        each,
        {"total": total, "friends": friends},
    )


def _two_step(rng: random.Random) -> Problem:
    (name, pronoun), item = rng.choice(NAMES), rng.choice(ITEMS)
    start, packs, per_pack = rng.randint(1, 50), rng.randint(2, 9), rng.randint(2, 12)
    bought = packs * per_pack
    total = start + bought
    return Problem(
        "two_step",
        f"{name} has {start} {item}. {pronoun.capitalize()} buys {packs} packs with {per_pack} {item} in each pack. "
        f"How many {item} does {name} have now?",
        [
            f"{name} buys {packs} * {per_pack} = <<{packs}*{per_pack}={bought}>>{bought} {item}.",
            f"{name} now has {start} + {bought} = <<{start}+{bought}={total}>>{total} {item}.",
        ],
        total,
        {"start": start, "packs": packs, "per_pack": per_pack},
    )


def _three_step(rng: random.Random) -> Problem:
    name, pronoun = rng.choice(NAMES)
    trays, per_tray = rng.randint(2, 6), rng.randint(6, 12)
    baked = trays * per_tray
    eaten = rng.randint(1, 5)
    given = rng.randint(1, baked - eaten - 1)
    after_eating = baked - eaten
    left = after_eating - given
    return Problem(
        "three_step",
        f"{name} bakes {trays} trays of cookies with {per_tray} cookies on each tray. {pronoun.capitalize()} eats "
        f"{eaten} cookies and gives {given} cookies to friends. How many cookies are left?",
        [
            f"{name} bakes {trays} * {per_tray} = <<{trays}*{per_tray}={baked}>>{baked} cookies.",
            f"After eating, {baked} - {eaten} = <<{baked}-{eaten}={after_eating}>>{after_eating} cookies remain.",
            f"After giving some away, {after_eating} - {given} = <<{after_eating}-{given}={left}>>{left} cookies are left.",
        ],
        left,
        {"trays": trays, "per_tray": per_tray, "eaten": eaten, "given": given},
    )


def _money(rng: random.Random) -> Problem:
    (name, _), item = rng.choice(NAMES), rng.choice(PRICED_ITEMS)
    count, price = rng.randint(2, 6), rng.randint(1, 15)
    cost = count * price
    bill = next(b for b in BILLS if b > cost)
    change = bill - cost
    return Problem(
        "money",
        f"{name} buys {count} {item} that cost ${price} each and pays with a ${bill} bill. "
        f"How much change, in dollars, does {name} get?",
        [
            f"The {item} cost {count} * ${price} = $<<{count}*{price}={cost}>>{cost}.",
            f"The change is ${bill} - ${cost} = $<<{bill}-{cost}={change}>>{change}.",
        ],
        change,
        {"count": count, "price": price, "bill": bill},
    )


def _time(rng: random.Random) -> Problem:
    name, _ = rng.choice(NAMES)
    hours, minutes = rng.randint(1, 5), 5 * rng.randint(1, 11)
    in_minutes = hours * 60
    total = in_minutes + minutes
    return Problem(
        "time",
        f"{name} reads for {hours} hours and {minutes} minutes. How many minutes does {name} read in total?",
        [
            f"{hours} hours is {hours} * 60 = <<{hours}*60={in_minutes}>>{in_minutes} minutes.",
            f"In total {name} reads {in_minutes} + {minutes} = <<{in_minutes}+{minutes}={total}>>{total} minutes.",
        ],
        total,
        {"hours": hours, "minutes": minutes},
    )


def _rate(rng: random.Random) -> Problem:
    item = rng.choice(MACHINE_ITEMS)
    per_hour, hours = rng.randint(2, 30), rng.randint(2, 12)
    total = per_hour * hours
    return Problem(
        "rate",
        f"A machine makes {per_hour} {item} every hour. How many {item} does it make in {hours} hours?",
        [f"It makes {per_hour} * {hours} = <<{per_hour}*{hours}={total}>>{total} {item}."],
        total,
        {"per_hour": per_hour, "hours": hours},
    )


TEMPLATES: dict[str, Callable[[random.Random], Problem]] = {
    "add": _add,
    "subtract": _subtract,
    "multiply": _multiply,
    "divide": _divide,
    "two_step": _two_step,
    "three_step": _three_step,
    "money": _money,
    "time": _time,
    "rate": _rate,
}
SCHEMAS = ("gsm8k", "dapo")


def generate_problems(n: int, seed: int = 0, *, progress: bool = False) -> list[Problem]:
    """``n`` SYNTHETIC problems; the same seed gives the same problems, and a longer run extends a shorter one.

    Templates take turns in a seed-shuffled order, so every template appears once ``n >= len(TEMPLATES)``.

    Example:
        >>> [p.template for p in generate_problems(2, seed=0)] == [p.template for p in generate_problems(3, seed=0)][:2]
        True
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = random.Random(seed)
    order = list(TEMPLATES)
    rng.shuffle(order)
    return [TEMPLATES[order[i % len(order)]](rng) for i in tqdm(range(n), disable=not progress, desc="Generating")]


def synthetic_gsm8k(n: int, seed: int = 0, schema: str = "gsm8k", *, progress: bool = False) -> datasets.Dataset:
    """SYNTHETIC grade-school math problems (not GSM8K data), in GSM8K's or DAPO's schema.

    Generated from templates (add, subtract, multiply, divide, two- and three-step, money, time,
    rates) with small integer operands; each answer is computed. Deterministic per seed. The offline
    default for demos and tests.

    Args:
        n: number of problems.
        seed: random seed; same seed, same rows.
        schema: "gsm8k" -> ``question``, ``answer`` (worked steps with ``<<a+b=c>>`` notes, then
            ``#### N``); "dapo" -> ``prompt`` (problem text), ``solution`` (``"N"``). Both add
            ``template`` (its name) and ``operands`` (JSON object of the numbers used).
        progress: show a progress bar.

    Returns:
        A ``datasets.Dataset`` of ``n`` rows.

    Example:
        >>> rows = synthetic_gsm8k(3, seed=1)
        >>> rows.column_names
        ['question', 'answer', 'template', 'operands']
        >>> rows[0]["answer"].splitlines()[-1].startswith("#### ")
        True
    """
    if schema not in SCHEMAS:
        raise ValueError(f"schema must be one of {SCHEMAS}, got {schema!r}")
    problems = generate_problems(n, seed, progress=progress)
    templates = [p.template for p in problems]
    operands = [json.dumps(p.operands, sort_keys=True) for p in problems]
    if schema == "gsm8k":
        columns = {
            "question": [p.question for p in problems],
            "answer": ["\n".join([*p.steps, f"#### {p.answer}"]) for p in problems],
        }
    else:
        columns = {"prompt": [p.question for p in problems], "solution": [str(p.answer) for p in problems]}
    text = datasets.Value("string")
    features = datasets.Features({**{name: text for name in columns}, "template": text, "operands": text})
    return datasets.Dataset.from_dict({**columns, "template": templates, "operands": operands}, features=features)
