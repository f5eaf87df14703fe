"""Helpers for the end-to-end browser test: a throw-away JupyterLab server and notebook driving.

Everything started here is stopped here: :func:`jupyter_lab` terminates (then kills) the server
process group in a ``finally``; the browser belongs to Playwright's context manager.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-dev-shm-usage",
]
#: JupyterLab user settings (``<settings dir>/<package>/<plugin>.jupyterlab-settings``) that keep
#: the page quiet and checkable: no news / update toasts (both would make network requests and can
#: cover the toolbar; schema ``@jupyterlab/apputils-extension:notification``), no autosave, every
#: cell rendered.
QUIET_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
        "doNotDisturbMode": True,
    },
    # a retry opens the notebook afresh: keep the file on disk as it was
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    # render every cell (the default windowing detaches cells scrolled out of view, and their
    # prompts with them)
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


@dataclass
class LabServer:
    url: str
    token: str
    process: subprocess.Popen[bytes]
    log: Path

    def page_url(self, path: str) -> str:
        return f"{self.url}/lab/tree/{path}?token={self.token}"

    def log_tail(self, n: int = 40) -> str:
        lines = self.log.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_quiet_settings(settings_dir: Path) -> None:
    for rel, values in QUIET_SETTINGS.items():
        target = settings_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))


def shutdown_kernels(server: LabServer) -> None:
    """Shut every kernel down through the REST API (kernels run in sessions of their own)."""
    auth = {"Authorization": f"token {server.token}"}
    with urllib.request.urlopen(
        urllib.request.Request(f"{server.url}/api/kernels", headers=auth), timeout=10
    ) as response:
        kernels = json.load(response)
    for kernel in kernels:
        request = urllib.request.Request(
            f"{server.url}/api/kernels/{kernel['id']}", method="DELETE", headers=auth
        )
        with urllib.request.urlopen(request, timeout=30):
            pass


def _stop(server: LabServer) -> None:
    """Shut the kernels down, SIGTERM the server's process group, SIGKILL it after 15 s."""
    process = server.process
    if process.poll() is not None:
        return
    try:
        shutdown_kernels(server)
    except (urllib.error.URLError, ConnectionError, TimeoutError) as err:
        # the server's own SIGTERM handler shuts the kernels down as well
        print(f"could not shut kernels down through the API ({err}); stopping the server")
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


@contextlib.contextmanager
def jupyter_lab(
    root_dir: Path,
    work_dir: Path,
    *,
    env_overrides: dict[str, str] | None = None,
    startup_timeout: float = 90.0,
) -> Iterator[LabServer]:
    """Start ``python -m jupyter lab`` on 127.0.0.1 (free port, random token) serving ``root_dir``.

    The server runs in its own process group with user settings and workspaces in ``work_dir``
    (news and update checks off, no autosave), the kernel uses this interpreter's environment
    with the inline matplotlib backend plus ``env_overrides``. Yields once ``/api/status``
    answers; on exit shuts the kernels down and stops the server.
    """
    port, token = free_port(), secrets.token_hex(16)
    settings, workspaces, runtime = (work_dir / n for n in ("settings", "workspaces", "runtime"))
    write_quiet_settings(settings)
    workspaces.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # the kernel shows figures inline, as for a student
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["JUPYTER_RUNTIME_DIR"] = str(runtime)
    env["JUPYTERLAB_SETTINGS_DIR"] = str(settings)
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(workspaces)
    env.update(env_overrides or {})
    cmd = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
        f"--ServerApp.token={token}", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", f"--ServerApp.root_dir={root_dir}",
        f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={workspaces}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.news_url=None",
    ]  # fmt: skip
    log = work_dir / "jupyterlab.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root_dir,
            start_new_session=True,
        )  # fmt: skip
    server = LabServer(f"http://127.0.0.1:{port}", token, process, log)
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"JupyterLab exited with {process.returncode}:\n{server.log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{server.url}/api/status?token={token}", timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"JupyterLab did not answer within {startup_timeout:.0f} s:\n"
                        f"{server.log_tail()}"
                    ) from None
                time.sleep(0.5)
        yield server
    finally:
        _stop(server)


# --------------------------------------------------------------------------------------------
# Notebook driving (Playwright sync API)
# --------------------------------------------------------------------------------------------

EXECUTION_INDICATOR = ".jp-Notebook-ExecutionIndicator"
#: "Run All Cells" in the Run menu (JupyterLab 4 binds it to ``runmenu:run-all``).
RUN_ALL_LABEL = re.compile(r"^Run All Cells$")


STATUS_BAR = "#jp-main-statusbar"


def wait_kernel_idle(page: Page, timeout_ms: float) -> None:
    """Until a kernel is connected and idle (status bar ``… | Idle``, execution indicator idle).

    The toolbar's indicator alone says ``idle`` before any kernel is attached; a Run All issued
    then opens JupyterLab's "Select Kernel" dialog instead of running.
    """
    expect(page.locator(STATUS_BAR)).to_contain_text(
        re.compile(r"\| Idle"), timeout=timeout_ms
    )
    page.wait_for_selector(f"{EXECUTION_INDICATOR}[data-status='idle']", timeout=timeout_ms)


def accept_dialog_if_shown(page: Page, wait_ms: float = 1500) -> None:
    """Accept a JupyterLab dialog (e.g. "Select Kernel") if one opens within ``wait_ms``."""
    button = page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept")
    try:
        button.wait_for(state="visible", timeout=wait_ms)
    except PlaywrightTimeoutError:
        return  # no dialog: nothing to accept
    button.click()


def run_all_cells(page: Page) -> None:
    """Run → Run All Cells through the main menu."""
    page.locator("#jp-menu-panel .lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu .lm-Menu-itemLabel", has_text=RUN_ALL_LABEL).click()
    accept_dialog_if_shown(page)


def wait_all_executed(page: Page, timeout_s: float) -> None:
    """Until every code cell has a numbered prompt (no ``[*]``/``[ ]``) and the kernel is idle.

    Raises ``AssertionError`` with the error text when a cell failed (Run All stops there).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        errors = page.locator(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
        )
        failed = page.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.error']")
        if failed.count():
            raise AssertionError(f"a cell failed in the browser:\n{failed.first.inner_text()}")
        prompts = page.locator(".jp-CodeCell .jp-InputArea-prompt").all_inner_texts()
        done = prompts and all(re.fullmatch(r"\[\d+\]:", p.strip()) for p in prompts)
        status = page.locator(EXECUTION_INDICATOR).get_attribute("data-status")
        if done and status == "idle":
            return
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"cells not all executed after {timeout_s:.0f} s: prompts {prompts}, kernel "
                f"{status}, stderr outputs {errors.count()}"
            )
        time.sleep(0.5)


def save_notebook(page: Page, path: Path, timeout_s: float = 30.0) -> None:
    """Ctrl+S in the open notebook; returns once ``path`` on disk has been rewritten.

    Saves even an unchanged notebook (JupyterLab's save always writes), so a test can diff what
    JupyterLab writes against what was there.
    """
    before = path.stat().st_mtime_ns
    page.locator(".jp-NotebookPanel .jp-Notebook").first.click()  # focus the notebook
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + timeout_s
    while True:
        mtime = path.stat().st_mtime_ns
        if mtime != before and time.time_ns() - mtime > 500_000_000:
            # jupyter_server writes the file in place (backup aside): done once it is quiet
            with contextlib.suppress(ValueError):
                json.loads(path.read_text(encoding="utf-8"))
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"JupyterLab did not save {path.name} within {timeout_s:.0f} s")
        time.sleep(0.25)
