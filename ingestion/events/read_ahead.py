"""Produce the items of an iterator in a background thread, a few ahead of the consumer."""

import threading
from collections.abc import Generator, Iterator
from queue import Empty, Full, Queue
from typing import TypeVar

T = TypeVar("T")
_POLL_SECONDS = 0.1
_END = object()


def read_ahead(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """The items of `items`, computed in a worker thread up to `depth` ahead (errors re-raised here).

    Parsing the next chunk (DuckDB, gzip: they release the GIL) then overlaps with dlt writing the last one.
    """
    queue: Queue = Queue(maxsize=depth)
    stop = threading.Event()

    def offer(entry: tuple) -> bool:
        while not stop.is_set():
            try:
                queue.put(entry, timeout=_POLL_SECONDS)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer((item, None)):
                    return
            offer((_END, None))
        except BaseException as error:  # handed to the consumer, which raises it
            offer((_END, error))
        finally:
            if isinstance(items, Generator):
                items.close()

    worker = threading.Thread(target=produce, name="events-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            try:
                item, error = queue.get(timeout=_POLL_SECONDS)
            except Empty:
                if not worker.is_alive() and queue.empty():
                    raise RuntimeError("read-ahead worker stopped without finishing") from None
                continue
            if item is _END:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        worker.join()
