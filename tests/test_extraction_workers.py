"""The crawl's extraction workers (crawler.workers), real processes: a worker that dies or
sticks on a page fails that page alone, the pages queued behind it are extracted by a new
worker, and a page past the per-page time limit fails without losing the worker."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import UTC, datetime

import pytest

from crawler.workers import ExtractionTimeout, ExtractionWorkers, WorkerFault

PARAGRAPH = "<p>滨河市召开全市重点项目推进会，研究部署下一阶段工作，要求各部门压实责任。</p>"
OPTIONS = {"selectors": {}, "encoding": None, "collect_links": True, "boilerplate": []}


def page(paragraphs: int) -> tuple:
    body = f"<html><body><h1>会议</h1><div id='zoom'>{PARAGRAPH * paragraphs}</div></body></html>".encode()
    return body, "http://x.gov.cn/a.html", "text/html; charset=utf-8", datetime.now(UTC), 0, len(body)


def test_nothing_is_started_until_a_page_comes_and_a_worker_stops_reporting_its_memory():
    async def scenario():
        workers = ExtractionWorkers(OPTIONS, max_workers=2, stuck_after=60)
        assert workers.started == 0 and workers.workers == []
        decoded, fields, links, selector_held = await workers.run("page", *page(3))
        assert fields["body"].count("滨河市召开") == 3 and fields["fingerprint"] is not None
        assert workers.started == 1
        workers.close()
        return workers

    workers = asyncio.run(scenario())
    assert len(workers.peaks) == 1 and workers.peaks[0] > 10  # MB, the worker's own VmHWM


def test_a_worker_that_dies_fails_its_page_and_the_pages_behind_it_go_to_a_new_one():
    async def scenario():
        workers = ExtractionWorkers(OPTIONS, max_workers=1, stuck_after=600)
        first = asyncio.ensure_future(workers.run("page", *page(20_000)))
        queued = asyncio.ensure_future(workers.run("page", *page(3)))
        while not workers.workers or len(workers.workers[0].pending) < 2:
            await asyncio.sleep(0)  # both sent, in order, to the one worker
        os.kill(workers.workers[0].process.pid, signal.SIGKILL)
        with pytest.raises(WorkerFault, match=r"died \(exit status -9\)"):
            await first
        decoded, fields, links, _ = await queued
        assert fields["body"].count("滨河市召开") == 3
        assert workers.started == 2
        workers.close()

    asyncio.run(scenario())


def test_a_stuck_worker_is_killed_and_a_page_past_the_time_limit_fails_alone():
    async def scenario():
        workers = ExtractionWorkers(OPTIONS, max_workers=1, stuck_after=0)
        stuck = asyncio.ensure_future(workers.run("page", *page(20_000)))
        while not workers.workers:
            await asyncio.sleep(0)
        workers.stuck_after = 600  # only the first page's watch was set to fire at once
        with pytest.raises(ExtractionTimeout, match="stuck"):
            await stuck
        # the worker's own limit (SIGALRM): the page fails, the worker lives on
        body, url, content_type, fetched_at, _, size = page(60_000)
        with pytest.raises(ExtractionTimeout, match="per-page time limit"):
            await workers.run("page", body, url, content_type, fetched_at, 1e-6, size)
        decoded, fields, links, _ = await workers.run("page", *page(2))
        assert fields["body"].count("滨河市召开") == 2
        assert workers.started == 2
        workers.close()

    asyncio.run(scenario())
