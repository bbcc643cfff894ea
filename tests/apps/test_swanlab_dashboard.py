"""Browser test of the SwanLab dashboard: `swanlab watch` on a local log, opened in headless Chromium.

The log is written by SwanLab itself, the way transformers' SwanLab callback writes a TRL GRPO run
(`swanlab.init(mode="local", ...)`, metrics named `train/reward`, ...). The screenshot of the run's
charts is kept under tests/artifacts/ (git-ignored) and pytest's tmp_path; the test prints both paths.
"""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from swanlab_browser import (
    GRPO_METRICS,
    DashboardError,
    check_dashboard,
    find_chromium,
    swanlab_watch,
    write_grpo_like_log,
)

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PROJECT = "grpo-toolkit"
EXPERIMENT = "phi4-gsm8k-dashboard-test"
# Distinct, exactly representable values: the dashboard must serve these, step by step.
REWARDS = [0.125, 0.5, 0.375, 1.25, 2.0]

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        pytest.skip("Chromium not found (/usr/bin/chromium or `chromium` on PATH); install Debian's with "
                    "`apt-get install -y chromium` (.ci/run does so) to run the SwanLab dashboard browser test")
    return path


@pytest.fixture(scope="module")
def swanlog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    logdir = tmp_path_factory.mktemp("run") / "swanlog"
    write_grpo_like_log(logdir, project=PROJECT, experiment_name=EXPERIMENT, rewards=REWARDS)
    return logdir


def _refuses_connections(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2)  # noqa: S310 (local)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return True
    return False


def test_dashboard_shows_the_run_and_its_reward_chart(swanlog: Path, chromium: str, tmp_path: Path) -> None:
    summary = check_dashboard(swanlog, tmp_path / "swanlab_dashboard.png", chromium=chromium)

    ARTIFACTS.mkdir(exist_ok=True)
    kept = ARTIFACTS / "swanlab_dashboard.png"
    shutil.copyfile(summary["screenshot"], kept)
    print(f"\nSwanLab dashboard screenshot: {summary['screenshot']}\n  copy kept at: {kept}"
          f"\n  reward line: {summary['line_pixels']} coloured pixels")

    assert summary["project"] == PROJECT
    assert summary["experiment"] == EXPERIMENT
    assert "/experiment/" in summary["experiment_url"]
    assert set(GRPO_METRICS) <= set(summary["charts"]), summary["charts"]
    assert summary["reward_points"] == list(enumerate(REWARDS, start=1))
    assert summary["line_pixels"] >= 40
    assert summary["page_errors"] == []
    assert summary["blocked_requests"] == [], "the dashboard page asked for something outside the local server"
    png = summary["screenshot"].read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000
    assert _refuses_connections(summary["url"]), f"swanlab watch still serves {summary['url']} after the check"


@pytest.mark.slow  # a second browser session; the fast lane opens one
def test_a_metric_that_was_not_logged_is_reported_with_the_charts_shown(swanlog: Path, chromium: str,
                                                                       tmp_path: Path) -> None:
    with pytest.raises(DashboardError, match=r"no chart titled 'train/kl'.*train/reward"):
        check_dashboard(swanlog, tmp_path / "never.png", reward_metric="train/kl", chromium=chromium)
    assert not (tmp_path / "never.png").exists()


def test_an_experiment_that_is_not_in_the_log_is_named_in_the_error(swanlog: Path, tmp_path: Path) -> None:
    with pytest.raises(DashboardError, match=rf"'no-such-run' is not in the SwanLab log.*{EXPERIMENT}"):
        check_dashboard(swanlog, tmp_path / "never.png", experiment_name="no-such-run", chromium="/usr/bin/true")


def test_a_folder_without_a_swanlab_log_is_refused_before_serving(tmp_path: Path) -> None:
    with pytest.raises(DashboardError, match="no runs.swanlab"):
        with swanlab_watch(tmp_path):
            pass
