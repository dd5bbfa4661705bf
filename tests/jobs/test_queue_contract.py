"""The behaviour every JobQueue backend must show (SQS-like: at-least-once, visibility
timeouts, receipts, delayed redelivery). Run against each backend in conftest.QUEUE_BACKENDS."""

from __future__ import annotations

import threading

from songforge.jobs.queue import JobQueue


def test_messages_come_out_in_order_and_are_hidden_while_in_flight(queue: JobQueue) -> None:
    queue.send("a")
    queue.send("b")
    first = queue.receive(visibility_s=30)
    second = queue.receive(visibility_s=30)
    assert first is not None and second is not None
    assert (first.job_id, second.job_id) == ("a", "b")
    assert queue.receive(visibility_s=30) is None
    assert queue.depth() == 0


def test_an_unacked_message_returns_after_its_visibility_timeout(queue: JobQueue, clock) -> None:
    queue.send("a")
    first = queue.receive(visibility_s=10)
    assert first is not None and first.receive_count == 1
    clock.advance(10)
    again = queue.receive(visibility_s=10)
    assert again is not None and again.job_id == "a" and again.receive_count == 2
    queue.ack(first)  # a stale receipt does nothing
    clock.advance(10)
    assert queue.receive(visibility_s=10) is not None


def test_extend_keeps_a_message_hidden(queue: JobQueue, clock) -> None:
    queue.send("a")
    message = queue.receive(visibility_s=10)
    assert message is not None
    clock.advance(8)
    assert queue.extend(message, 10)
    clock.advance(8)
    assert queue.receive(visibility_s=10) is None


def test_ack_deletes_and_release_redelivers_after_a_delay(queue: JobQueue, clock) -> None:
    queue.send("a")
    queue.send("b")
    a = queue.receive(visibility_s=30)
    b = queue.receive(visibility_s=30)
    assert a is not None and b is not None
    queue.ack(a)
    queue.release(b, delay_s=5)
    assert queue.depth() == 1
    assert queue.receive(visibility_s=30) is None
    clock.advance(5)
    again = queue.receive(visibility_s=30)
    assert again is not None and again.job_id == "b"


def test_delayed_send_is_invisible_until_due(queue: JobQueue, clock) -> None:
    queue.send("later", delay_s=3)
    assert queue.receive(visibility_s=30) is None
    assert queue.depth() == 1
    clock.advance(3)
    message = queue.receive(visibility_s=30)
    assert message is not None and message.job_id == "later"


def test_concurrent_receivers_never_get_the_same_message(queue: JobQueue) -> None:
    for i in range(200):
        queue.send(f"job{i}")
    got: list[str] = []
    lock = threading.Lock()

    def drain() -> None:
        while (message := queue.receive(visibility_s=60)) is not None:
            with lock:
                got.append(message.job_id)

    threads = [threading.Thread(target=drain) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(got) == sorted(f"job{i}" for i in range(200))
