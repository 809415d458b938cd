"""The scheduler's queue and its crawl slots: the order runs are taken in, a retry's backoff
spent in the queue, and how many slots a machine gets (pure parts, an injected clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.config import ConfigError, parse_config
from scheduler.capacity import auto_parallel_crawls, crawl_slots
from scheduler.service import QueuedRun, RunQueue

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
GB = 2**30


def taken(queue: RunQueue, now: datetime) -> list[str]:
    order = []
    while (run := queue.take(now)) is not None:
        order.append(run.site)
    return order


def test_runs_are_taken_earliest_due_first_then_the_longest_last_run_first():
    queue = RunQueue()
    queue.put(QueuedRun("quick", T0, last_seconds=10))
    queue.put(QueuedRun("slow", T0, last_seconds=600))
    queue.put(QueuedRun("never-run", T0, last_seconds=None))  # a first, deep crawl: longest
    queue.put(QueuedRun("earlier", T0 - timedelta(seconds=1), last_seconds=1))
    queue.put(QueuedRun("not-yet-due", T0 + timedelta(minutes=1), last_seconds=9999))
    assert taken(queue, T0) == ["earlier", "never-run", "slow", "quick"]
    assert len(queue) == 1
    assert taken(queue, T0 + timedelta(minutes=1)) == ["not-yet-due"]


def test_a_retry_waits_out_its_backoff_in_the_queue_while_other_runs_are_taken():
    queue = RunQueue()
    retry = QueuedRun("failing", T0 - timedelta(minutes=5), 30, trigger="retry", attempt=1,
                      not_before=T0 + timedelta(seconds=600))
    queue.put(retry)
    queue.put(QueuedRun("other", T0, 30))
    assert queue.next_ready() == T0
    assert taken(queue, T0) == ["other"]  # the retry, due earlier, is not ready: the slot runs another site
    assert queue.next_ready() == T0 + timedelta(seconds=600)
    assert taken(queue, T0 + timedelta(seconds=599)) == []
    assert queue.take(T0 + timedelta(seconds=600)) is retry


@pytest.mark.parametrize(("cores", "available", "slots"), [
    (2, 24 * GB, 16),       # this project's machine: 8 a core
    (1, 1 * GB, 2),         # a small VM: memory bounds it (400 MB a crawl)
    (64, 512 * GB, 64),     # a big server: the cap
    (4, 300 * 2**20, 1),    # almost no memory: still one
    (8, 4 * GB, 10),
])
def test_auto_parallel_crawls_follows_cores_and_memory(cores, available, slots):
    assert auto_parallel_crawls(cores, available) == slots


def test_the_request_cap_lowers_the_slots_and_says_so():
    assert crawl_slots("auto", None, 1.0, machine=(2, 24 * GB)) == (16, "auto: 2 cores, 24.0 GB available")
    slots, why = crawl_slots("auto", 5, 1.0, machine=(2, 24 * GB))
    assert slots == 5 and "max_requests_per_second 5 at 1 s between requests" in why
    assert crawl_slots(8, 20, 0.5)[0] == 8  # 8 crawls × 2 requests a second stay within 20
    assert crawl_slots(8, 4, 0.5)[0] == 2
    assert crawl_slots(8, 0.1, 1.0)[0] == 1  # never none
    slots, why = crawl_slots(8, 4, 0.0)
    assert slots == 8 and "not kept: defaults.download_delay is 0" in why


def test_max_parallel_crawls_is_auto_by_default_or_a_number():
    def scheduler(text: str):
        return parse_config(text, Path("config.yaml")).scheduler

    assert scheduler("{}").max_parallel_crawls == "auto"
    assert scheduler("scheduler: {max_parallel_crawls: 100}").max_parallel_crawls == 100
    assert scheduler("scheduler: {max_requests_per_second: null}").max_requests_per_second is None
    with pytest.raises(ConfigError, match="scheduler.max_parallel_crawls"):
        scheduler("scheduler: {max_parallel_crawls: 1000}")
    with pytest.raises(ConfigError, match="scheduler.max_parallel_crawls"):
        scheduler("scheduler: {max_parallel_crawls: lots}")
