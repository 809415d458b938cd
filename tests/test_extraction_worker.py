"""The extraction worker's per-page time limit: a page past it raises ExtractionTimeout (the
crawl then stores the page as an extraction failure with that note, see test_faults), and a
page within it is extracted as usual."""

from __future__ import annotations

import signal
from datetime import UTC, datetime

import pytest

from crawler import extraction_worker
from crawler.extract import ExtractOptions

PARAGRAPH = "<p>滨河市召开全市重点项目推进会，研究部署下一阶段工作，要求各部门压实责任。</p>"


@pytest.fixture
def worker():
    previous = signal.getsignal(signal.SIGALRM)
    extraction_worker.start(ExtractOptions())
    yield extraction_worker
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


def page(paragraphs: int) -> bytes:
    return f"<html><body><h1>会议</h1><div id='zoom'>{PARAGRAPH * paragraphs}</div></body></html>".encode()


def test_a_page_past_the_time_limit_raises_and_the_next_page_is_extracted(worker):
    # a limit of a microsecond against a parse of several megabytes: past it on any machine
    with pytest.raises(worker.ExtractionTimeout):
        worker.extract_page(page(60_000), "http://x.gov.cn/a.html", "text/html", datetime.now(UTC), time_limit=1e-6)
    # the timer is off again: a later page without a limit is not interrupted
    result = worker.extract_page(page(3), "http://x.gov.cn/b.html", "text/html", datetime.now(UTC))
    assert result[1].body.count("滨河市召开") == 3
