"""Run one function in a new interpreter, so that a benchmark's memory and imports are its own."""

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def in_fresh_process(function: Callable[..., Any], *args: Any) -> Any:
    """function(*args) in a spawned process; the process is asked to exit once it has answered.

    `multiprocessing.Pool` as a context manager ends its workers with SIGTERM and waits for them: in a process
    that ignores SIGTERM (Dagster maps SIGTERM to SIGINT's handler, which is "ignore" under a background job)
    the spawned worker inherits the ignore and that wait never ends. The executor's shutdown sends a sentinel.
    """
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()
