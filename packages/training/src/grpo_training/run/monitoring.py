"""What a run shows and records while it trains: a progress bar with ETA and the reward, the
tutorial's per-step table in the log, sampled completions, `metrics.jsonl` and `reward_curve.png`.

Example:
    >>> format_step_row({"loss": 0.0, "reward": 0.5, "reward_std": 0.1, "completions/mean_length": 42.0}, 3, [])
    '     3 |   0.000000 |   0.500000 |   0.100000 |       42.0 |          -'
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm
from transformers import TrainerCallback

from grpo_data.atomic_files import write_atomically

logger = logging.getLogger("grpo_training.run")

TABLE_COLUMNS = ("loss", "reward", "reward_std", "completions/mean_length", "kl")
TABLE_TITLES = ("Training Loss", "reward", "reward_std", "completion_length", "kl")


def _cell(value: Any, width: int, digits: int = 6) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-".rjust(width)
    if isinstance(value, (int, float)):
        return f"{value:.{digits}f}".rjust(width)
    return str(value).rjust(width)


def format_step_header(reward_names: list[str]) -> str:
    """The header of the per-step table: the tutorial's columns, then each reward's mean."""
    titles = ["  Step", *[f"{title[:10]:>10}" for title in TABLE_TITLES], *[f"{name[:14]:>14}" for name in reward_names]]
    return " | ".join(titles)


def format_step_row(logs: dict[str, Any], step: int, reward_names: list[str]) -> str:
    """One row of the per-step table (`-` where a value is absent, e.g. kl when beta is 0)."""
    cells = [f"{step:>6}"]
    for column in TABLE_COLUMNS:
        digits = 1 if column == "completions/mean_length" else 6
        cells.append(_cell(logs.get(column), 10, digits))
    cells += [_cell(logs.get(f"rewards/{name}/mean"), 14, 4) for name in reward_names]
    return " | ".join(cells)


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a `metrics.jsonl` (an absent file has none)."""
    path = Path(path)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def truncate_metrics(path: str | Path, last_step: int) -> None:
    """Drop rows after `last_step` (a resumed run re-logs them), atomically."""
    rows = [row for row in read_metrics(path) if row.get("step", 0) <= last_step]
    write_atomically(path, "".join(json.dumps(row) + "\n" for row in rows))


class MetricsRecorder(TrainerCallback):
    """Appends every training log to `metrics.jsonl` and writes the per-step table to the log."""

    def __init__(self, metrics_path: str | Path, reward_names: list[str]):
        self.metrics_path = Path(metrics_path)
        self.reward_names = reward_names
        self._header_shown = False

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs or "reward" not in logs:
            return control
        row = {"step": state.global_step, "epoch": state.epoch, **logs}
        with self.metrics_path.open("a", encoding="utf-8") as sink:
            sink.write(json.dumps(row, default=float) + "\n")
        if not self._header_shown:
            logger.info("%s", format_step_header(self.reward_names))
            self._header_shown = True
        logger.info("%s", format_step_row(logs, state.global_step, self.reward_names))
        return control


class ProgressBar(TrainerCallback):
    """A tqdm bar over the optimizer steps, with ETA and the latest reward (resumes at the right step)."""

    def __init__(self):
        self.bar: tqdm | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self.bar = tqdm(total=state.max_steps, initial=state.global_step, desc="GRPO", unit="step", dynamic_ncols=True)
        return control

    def on_step_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.bar is not None and logs and "reward" in logs:
            self.bar.set_postfix(reward=f"{logs['reward']:.3f}", loss=f"{logs.get('loss', float('nan')):.4f}")
        return control

    def on_train_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        return control


class CompletionSampler(TrainerCallback):
    """Every `every` steps, writes one sampled prompt/completion and its rewards to the log.

    Reads the texts GRPOTrainer keeps for its own completion logging (`trainer._logs`).
    """

    def __init__(self, every: int, prefill: str = ""):
        self.every = every
        self.prefill = prefill
        self.trainer: Any = None

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not self.every or self.trainer is None or not logs or "reward" not in logs:
            return control
        if state.global_step % self.every and state.global_step != 1:
            return control
        recorded = getattr(self.trainer, "_logs", None)
        if not recorded or not recorded.get("completion"):
            return control
        prompt = recorded["prompt"][-1]
        completion = recorded["completion"][-1]
        rewards = {name: values[-1] for name, values in recorded.get("rewards", {}).items() if values}
        question = prompt.rsplit("user", 1)[-1].strip() if isinstance(prompt, str) else prompt
        scores = ", ".join(f"{name}={value:.3f}" for name, value in rewards.items())
        logger.info("Sample at step %d\n--- prompt (end) ---\n%s\n--- completion (after prefill %r) ---\n%s\n--- rewards: %s",
                    state.global_step, str(question)[-400:], self.prefill, completion, scores)
        return control


def plot_reward_curve(metrics_path: str | Path, png_path: str | Path, title: str = "GRPO reward") -> Path:
    """Plot the total reward (± std) and each reward's mean against the step; written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_metrics(metrics_path)
    png_path = Path(png_path)
    figure, axis = plt.subplots(figsize=(8, 4.5))
    if rows:
        steps = [row["step"] for row in rows]
        rewards = [row.get("reward", float("nan")) for row in rows]
        stds = [row.get("reward_std", 0.0) or 0.0 for row in rows]
        axis.plot(steps, rewards, label="reward", color="black", linewidth=2)
        axis.fill_between(steps, [r - s for r, s in zip(rewards, stds)], [r + s for r, s in zip(rewards, stds)],
                          color="gray", alpha=0.2, label="reward ± std")
        names = sorted({key for row in rows for key in row if key.startswith("rewards/") and key.endswith("/mean")})
        for name in names:
            axis.plot(steps, [row.get(name, float("nan")) for row in rows], label=name.split("/")[1], linewidth=1)
    else:
        axis.text(0.5, 0.5, "no training steps logged", ha="center", va="center", transform=axis.transAxes)
    axis.set_xlabel("step")
    axis.set_ylabel("reward")
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, loc="best")
    figure.tight_layout()
    write_atomically(png_path, lambda temporary: figure.savefig(temporary, dpi=110, format="png"))
    plt.close(figure)
    return png_path
