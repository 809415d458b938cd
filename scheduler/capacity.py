"""How many crawls one node runs at once: `scheduler.max_parallel_crawls` and
`scheduler.max_requests_per_second`.

A crawl is politeness-bound: with `defaults.download_delay` (1 s) between requests to its
site, a crawl slot spends most of its time waiting, not computing. The nightly job — about
3,000 sites, ~50 new articles each, ~70 s a site at 1 request a second — is 3,000 × 70 s =
210,000 crawl-seconds: at least 10 crawls at once to fit in a 6-hour night. `auto` gives
CRAWLS_PER_CORE (8) a core, 16 on a 2-core machine (the night in about 3.6 h, room for slow
sites and retries), at most AUTO_CAP, and no more than the available memory allows at
CRAWL_MEMORY a crawl (measured ~200 MB: the crawl process 122–153 MB, its extraction worker
50 MB; twice that as a budget), so 24 GB does not limit it.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CRAWLS_PER_CORE = 8
AUTO_CAP = 64
CRAWL_MEMORY = 400 * 2**20


def auto_parallel_crawls(cores: int, available_bytes: int) -> int:
    """`max_parallel_crawls: auto` on a machine with these cores and this much available memory."""
    return max(1, min(AUTO_CAP, CRAWLS_PER_CORE * cores, available_bytes // CRAWL_MEMORY))


def this_machine() -> tuple[int, int]:
    """The cores this process may use and the memory available (MemAvailable) in bytes."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    try:
        meminfo = Path("/proc/meminfo").read_text()
        available = next(int(line.split()[1]) * 1024 for line in meminfo.splitlines()
                         if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    return cores, available


def crawl_slots(max_parallel_crawls: int | str, max_requests_per_second: float | None, download_delay: float,
                machine: tuple[int, int] | None = None) -> tuple[int, str]:
    """How many crawls may run at once, and why (one line).

    The request cap is kept by the number of slots: each crawl sends at most one request
    every download_delay seconds to its one site (Scrapy's per-site delay; AutoThrottle only
    lengthens it), so slots × 1/download_delay requests a second at most. With no delay a
    crawl's rate has no bound the scheduler knows of, and the cap cannot be kept this way."""
    if max_parallel_crawls == "auto":
        cores, available = machine or this_machine()
        slots = auto_parallel_crawls(cores, available)
        why = f"auto: {cores} cores, {available / 2**30:.1f} GB available"
    else:
        slots, why = int(max_parallel_crawls), "scheduler.max_parallel_crawls"
    if max_requests_per_second is not None and download_delay > 0:
        by_rate = max(1, math.floor(max_requests_per_second * download_delay))
        if by_rate < slots:
            slots, why = by_rate, (f"{why}, lowered to keep max_requests_per_second {max_requests_per_second:g} "
                                   f"at {download_delay:g} s between requests to a site")
    elif max_requests_per_second is not None:
        why += f"; max_requests_per_second {max_requests_per_second:g} not kept: defaults.download_delay is 0"
    return slots, why
