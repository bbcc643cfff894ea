"""Open a SwanLab local log in its dashboard (`swanlab watch`) with headless Chromium and check what it shows.

Reusable by any test that has a SwanLab log folder, e.g. a training run's `<run_dir>/swanlog`:

    >>> summary = check_dashboard(run_dir / "swanlog", tmp_path / "dashboard.png")  # doctest: +SKIP
    >>> summary["experiment"], summary["reward_points"][:2]                          # doctest: +SKIP
    ('phi4-demo', [(1, 0.25), (2, 0.5)])

The browser is Debian's Chromium driven by Playwright (never `playwright install`: it downloads a browser).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SERVER_START_TIMEOUT_S = 30.0
SERVER_STOP_TIMEOUT_S = 10.0
PAGE_TIMEOUT_MS = 20_000
# A drawn line is hundreds of coloured pixels; axes, grid and labels are grey (no colour at all).
MIN_LINE_PIXELS = 40

# The metric names TRL's GRPOTrainer logs, as transformers' SwanLabCallback writes them (`train/` prefix).
GRPO_METRICS = ("train/reward", "train/reward_std", "train/rewards/xmlcount/mean", "train/loss",
                "train/completion_length")


class DashboardError(AssertionError):
    """The dashboard did not serve, or did not show what was expected (message says what and where)."""


def find_chromium() -> str | None:
    """Path of a Chromium executable (Debian's `/usr/bin/chromium` first), or None when there is none."""
    for candidate in CHROMIUM_CANDIDATES:
        found = candidate if os.path.isfile(candidate) and os.access(candidate, os.X_OK) else shutil.which(candidate)
        if found:
            return found
    return None


def write_grpo_like_log(logdir: Path, *, project: str, experiment_name: str,
                        rewards: list[float]) -> None:
    """Write a real SwanLab local log the way transformers' SwanLab integration does in a TRL GRPO run.

    One step per value of `rewards` (step numbers from 1), with TRL's GRPO metric names. Runs SwanLab in
    a child process: `swanlab.init` hooks the console and process exit, which must not leak into pytest.

    >>> write_grpo_like_log(tmp / "swanlog", project="p", experiment_name="e", rewards=[0.1, 0.5])  # doctest: +SKIP
    """
    script = textwrap.dedent("""
        import json, sys
        import swanlab
        logdir, project, name, rewards = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
        swanlab.init(mode="local", logdir=logdir, project=project, experiment_name=name,
                     config={"learning_rate": 5e-6, "num_generations": 6})
        for step, reward in enumerate(rewards, start=1):
            swanlab.log({"train/reward": reward, "train/reward_std": 0.1 * step,
                         "train/rewards/xmlcount/mean": reward / 4, "train/loss": 0.01 / step,
                         "train/completion_length": 100.0 + step, "train/global_step": step}, step=step)
        swanlab.finish()
    """)
    result = subprocess.run([sys.executable, "-c", script, str(logdir), project, experiment_name, json.dumps(rewards)],
                            capture_output=True, text=True, timeout=120, env={**os.environ, "SWANLAB_MODE": "local"})
    if result.returncode != 0:
        raise RuntimeError(f"writing the SwanLab log in {logdir} failed (exit {result.returncode}):\n"
                           f"{result.stderr[-3000:]}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (local dashboard only)
        return json.loads(response.read())


@contextmanager
def swanlab_watch(logdir: str | Path, *, port: int | None = None) -> Iterator[str]:
    """Run `swanlab watch LOGDIR --host 127.0.0.1 --port PORT`, yield its URL once it serves, always stop it.

    The server runs in its own process group, stopped with SIGTERM then SIGKILL (bounded waits).

    >>> with swanlab_watch(run_dir / "swanlog") as url:  # doctest: +SKIP
    ...     print(url)
    http://127.0.0.1:40123
    """
    logdir = Path(logdir)
    if not (logdir / "runs.swanlab").is_file():
        raise DashboardError(f"{logdir} is not a SwanLab local log folder (no runs.swanlab in it); pass the folder "
                             "a run logged into with mode='local' (a training run's <run_dir>/swanlog)")
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile(mode="w+") as server_log:
        process = subprocess.Popen(
            [sys.executable, "-m", "swanlab", "watch", str(logdir), "--host", "127.0.0.1", "--port", str(port)],
            stdout=server_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

        def server_output() -> str:
            server_log.seek(0)
            return server_log.read()[-3000:]

        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT_S
            while True:
                if process.poll() is not None:
                    raise DashboardError(f"`swanlab watch {logdir}` exited with {process.returncode} before serving "
                                         f"(is swanlab[dashboard] installed?):\n{server_output()}")
                try:
                    if _get_json(f"{url}/api/v1/project", timeout=2.0).get("code") == 0:
                        break
                except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
                    pass
                if time.monotonic() > deadline:
                    raise DashboardError(f"`swanlab watch {logdir}` did not serve {url} within "
                                         f"{SERVER_START_TIMEOUT_S:.0f} s:\n{server_output()}")
                time.sleep(0.2)
            yield url
        finally:
            _stop_process_group(process)


def _stop_process_group(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    for sig, wait_s in ((signal.SIGTERM, SERVER_STOP_TIMEOUT_S), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def _line_pixels(canvas: Any) -> int:
    """Coloured (non-grey) pixels on a chart canvas: the plotted line and its points."""
    return canvas.evaluate("""c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) {
            const hi = Math.max(d[i], d[i + 1], d[i + 2]), lo = Math.min(d[i], d[i + 1], d[i + 2]);
            if (d[i + 3] > 128 && hi - lo > 24) n++;
        }
        return n;
    }""")


def check_dashboard(logdir: str | Path, screenshot_path: str | Path, *, experiment_name: str | None = None,
                    reward_metric: str = "train/reward", chromium: str | None = None) -> dict[str, Any]:
    """Serve `logdir` with `swanlab watch`, open it in headless Chromium, check the run and its reward chart.

    Opens the project page, checks the experiment is listed, clicks it, and on its Chart tab checks that a
    chart titled `reward_metric` is shown with a line drawn on it. Saves a full-page screenshot of that tab
    to `screenshot_path` (written beside it, then renamed). `experiment_name=None` takes the log's newest
    experiment. Raises `DashboardError` naming what is missing.

    Returns {"url", "project", "experiment", "experiment_url", "charts" (titles shown), "reward_points"
    ([(step, value)] the dashboard served for the chart), "line_pixels", "screenshot", "page_errors",
    "blocked_requests" (non-local requests, refused)}.

    >>> check_dashboard(run_dir / "swanlog", tmp_path / "dashboard.png")["experiment"]  # doctest: +SKIP
    'phi4-demo'
    """
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    chromium = chromium or find_chromium()
    if chromium is None:
        raise DashboardError("no Chromium executable found (install Debian's: apt-get install -y chromium)")
    screenshot_path = Path(screenshot_path)
    screenshot_path.parent.mkdir(parents=True, exist_ok=True)

    with swanlab_watch(logdir) as url:
        project = _get_json(f"{url}/api/v1/project")["data"]
        experiments = project.get("experiments") or []
        if not experiments:
            raise DashboardError(f"the SwanLab log {logdir} holds no experiment")
        if experiment_name is None:
            experiment_name = max(experiments, key=lambda e: e["create_time"])["name"]
        elif experiment_name not in [e["name"] for e in experiments]:
            raise DashboardError(f"experiment {experiment_name!r} is not in the SwanLab log {logdir}; "
                                 f"it holds {[e['name'] for e in experiments]}")

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS,
                                                 timeout=PAGE_TIMEOUT_MS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="en-US")
                page.set_default_timeout(PAGE_TIMEOUT_MS)
                page_errors: list[str] = []
                blocked: list[str] = []
                page.on("pageerror", lambda error: page_errors.append(str(error)))

                def only_local(route: Any) -> None:
                    if route.request.url.startswith(url):
                        route.continue_()
                    else:
                        blocked.append(route.request.url)
                        route.abort()

                page.route("**/*", only_local)

                page.goto(url, wait_until="networkidle")
                listed = page.get_by_text(experiment_name, exact=True)
                try:
                    listed.first.wait_for(state="visible")
                except PlaywrightError as error:
                    raise DashboardError(f"the project page {url} does not list experiment {experiment_name!r}; "
                                         f"it shows:\n{page.inner_text('body')[:2000]}") from error

                served: dict[str, Any] = {}
                tag_prefix = f"{url}/api/v1/experiment/"
                page.on("response", lambda r: served.__setitem__(r.url, r) if r.url.startswith(tag_prefix) else None)
                listed.first.click()
                page.wait_for_url("**/experiment/*/chart")
                page.wait_for_load_state("networkidle")

                heading = page.locator("h1", has_text=experiment_name)
                try:
                    heading.first.wait_for(state="visible")
                except PlaywrightError as error:
                    raise DashboardError(f"the experiment page {page.url} is not headed {experiment_name!r}") from error
                charts = page.locator("section.chart-container")
                try:
                    charts.first.wait_for(state="visible")
                except PlaywrightError as error:
                    raise DashboardError(f"the experiment page {page.url} shows no chart at all") from error
                titles = charts.locator("p.font-semibold").all_inner_texts()
                card = charts.filter(
                    has=page.get_by_text(reward_metric, exact=True))
                if card.count() == 0:
                    raise DashboardError(f"no chart titled {reward_metric!r} on {page.url}; charts shown: {titles}")
                card.first.scroll_into_view_if_needed()
                canvas = card.first.locator("canvas").first
                line_pixels = 0
                deadline = time.monotonic() + PAGE_TIMEOUT_MS / 1000
                while line_pixels < MIN_LINE_PIXELS and time.monotonic() < deadline:
                    line_pixels = _line_pixels(canvas) if canvas.count() else 0
                    if line_pixels < MIN_LINE_PIXELS:
                        page.wait_for_timeout(200)
                if line_pixels < MIN_LINE_PIXELS:
                    raise DashboardError(f"the {reward_metric!r} chart on {page.url} draws no line "
                                         f"({line_pixels} coloured pixels; at least {MIN_LINE_PIXELS} expected)")

                reward_responses = [r for u, r in served.items() if u.endswith(f"/tag/{reward_metric}") and r.ok]
                if not reward_responses:
                    raise DashboardError(f"the dashboard drew a {reward_metric!r} chart on {page.url} without "
                                         f"fetching its data; it fetched {sorted(served)}")
                served_points = reward_responses[-1].json()["data"]["list"]
                reward_points = [(point["index"], point["data"]) for point in served_points]

                partial = screenshot_path.with_name(f".{screenshot_path.name}.partial.png")
                page.screenshot(path=str(partial), full_page=True)
                partial.replace(screenshot_path)
                experiment_url = page.url
            finally:
                browser.close()

    return {
        "url": url,
        "project": project["name"],
        "experiment": experiment_name,
        "experiment_url": experiment_url,
        "charts": titles,
        "reward_points": reward_points,
        "line_pixels": line_pixels,
        "screenshot": screenshot_path,
        "page_errors": page_errors,
        "blocked_requests": blocked,
    }
