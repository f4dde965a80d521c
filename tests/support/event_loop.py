"""Run a coroutine to completion from a test, on an event loop of its own thread: the browser tests'
Playwright keeps an event loop running in the main thread, where `asyncio.run` would refuse."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Coroutine


def run(coroutine: Coroutine) -> Any:
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()
