"""Processes as Linux's /proc shows them: a bot's `ce-bot worker` children, a process's parent, whether
it still runs."""

from __future__ import annotations

from pathlib import Path

from bench.procs import parent_of  # noqa: F401 - the one reader of a process's parent, shared with the benchmark


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name: state, parent PID, …"""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def worker_children(parent: int) -> list[int]:
    """PIDs of the `ce-bot worker` processes started for `parent` (`python -m bot.cli worker --parent PID`)."""
    wanted = ["bot.cli", "worker", "--parent", str(parent)]
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue  # gone meanwhile
        if args[-1] == "":
            args.pop()
        if args[-4:] == wanted:
            found.append(int(cmdline.parent.name))
    return found


def alive(pid: int) -> bool:
    """Running (a zombie, not yet reaped, is not)."""
    try:
        return _stat(pid)[0] != "Z"
    except OSError:
        return False
