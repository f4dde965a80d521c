"""Stopping a child process: SIGTERM, a while to finish, then SIGKILL."""

from __future__ import annotations

import logging
import subprocess

log = logging.getLogger(__name__)


def terminate(process: subprocess.Popen, timeout: float, what: str) -> None:
    """SIGTERM (it saves and exits), then SIGKILL when it is still running after `timeout` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        log.warning("%s did not stop within %.0f s: killed", what, timeout)
        process.kill()
        process.wait()
