"""Background read-ahead of the events reader (ingestion.events.read_ahead)."""

import threading

import pytest

from ingestion.events.read_ahead import read_ahead


def test_items_come_in_order_from_another_thread():
    threads = set()

    def produce():
        for n in range(50):
            threads.add(threading.current_thread().name)
            yield n

    assert list(read_ahead(produce(), depth=3)) == list(range(50))
    assert threads == {"events-read-ahead"}


def test_error_in_the_producer_is_raised_to_the_consumer_after_the_items_before_it():
    def produce():
        yield 1
        raise OSError("disk gone")

    items = read_ahead(produce())
    assert next(items) == 1
    with pytest.raises(OSError, match="disk gone"):
        next(items)


def test_stopping_early_closes_the_producer():
    closed = threading.Event()

    def produce():
        try:
            yield from range(1000)
        finally:
            closed.set()

    items = read_ahead(produce(), depth=1)
    assert next(items) == 0
    items.close()
    assert closed.wait(timeout=5)
