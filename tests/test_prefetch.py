"""Decoding ahead on a thread of its own (queues.Prefetch): order, errors, early stop."""

from __future__ import annotations

import threading

import pytest

from affect_live.queues import Prefetch


def test_prefetch_yields_every_item_in_order_then_ends():
    assert list(Prefetch(iter(range(50)), threading.Event(), depth=2)) == list(range(50))


def test_prefetch_hands_the_producers_error_to_the_consumer():
    def broken():
        yield 1
        raise OSError("cannot decode frame 2")

    items = Prefetch(broken(), threading.Event())
    assert next(items) == 1
    with pytest.raises(OSError, match="frame 2"):
        next(items)


def test_prefetch_stops_reading_ahead_once_told():
    produced = []

    def counting():
        for i in range(1000):
            produced.append(i)
            yield i

    done = threading.Event()
    items = Prefetch(counting(), done, depth=2)
    assert next(items) == 0
    done.set()
    items.join()  # ends although 998 items were never taken
    assert len(produced) <= 1 + 2 + 1  # taken, queued, and the one waiting for room
