"""The scheduler's lease is a compare-and-set on the database's clock: of two schedulers taking
over a dead one's lease at the same moment, exactly one holds it."""

from __future__ import annotations

import select
import subprocess
import sys
from datetime import timedelta

from archive import Archive
from archive.models import SchedulerLease, utcnow

# a scheduler process: for each line on stdin, try to take the lease and say whether it did
TAKER = """
import sys
from datetime import timedelta
from archive import Archive
from archive.models import utcnow
archive = Archive(sys.argv[1], upgrade=False)
holder = sys.argv[2]
stale = lambda lease: utcnow() - lease.heartbeat_at > timedelta(minutes=1)
print("ready", flush=True)
for trial in sys.stdin:
    taken = archive.acquire_lease("scheduler", f"{holder}-{trial.strip()}", "host", 1, stale) is None
    print("won" if taken else "lost", flush=True)
"""


def answer(taker: subprocess.Popen, timeout: float = 120) -> str:
    """The taker's next line; a taker that hangs fails the test instead of hanging it."""
    if not select.select([taker.stdout], [], [], timeout)[0]:
        taker.kill()
        raise AssertionError(f"a lease taker gave no answer in {timeout:g} s")
    return taker.stdout.readline().strip()


def test_two_schedulers_taking_over_a_stale_lease_at_once_one_holds_it(archive_url):
    archive = Archive(archive_url)
    assert archive.acquire_lease("scheduler", "dead", "elsewhere", 1, lambda lease: False) is None
    takers = [subprocess.Popen([sys.executable, "-c", TAKER, archive_url, name], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for name in ("a", "b")]
    try:
        assert [answer(taker) for taker in takers] == ["ready", "ready"]
        for trial in range(20):
            with archive.session() as session, session.begin():  # the holder died an hour ago
                lease = session.get(SchedulerLease, "scheduler")
                lease.holder, lease.heartbeat_at = "dead", utcnow() - timedelta(hours=1)
            for taker in takers:
                taker.stdin.write(f"{trial}\n")
                taker.stdin.flush()
            results = [answer(taker) for taker in takers]
            assert sorted(results) == ["lost", "won"], (trial, results, [t.stderr.read() for t in takers])
            winner = "ab"[results.index("won")]
            with archive.session() as session:
                assert session.get(SchedulerLease, "scheduler").holder == f"{winner}-{trial}"
            # the loser's heartbeat finds the lease is not its own; the winner's keeps it
            assert archive.renew_lease("scheduler", f"{winner}-{trial}")
            assert not archive.renew_lease("scheduler", f"{'ab'[1 - 'ab'.index(winner)]}-{trial}")
    finally:
        for taker in takers:
            taker.stdin.close()
            taker.wait(30)
    archive.close()


def test_a_live_lease_is_refused_with_its_holder_and_a_fresh_heartbeat(archive_url):
    archive = Archive(archive_url)
    assert archive.acquire_lease("scheduler", "first", "host-a", 11, lambda lease: False) is None
    holder = archive.acquire_lease("scheduler", "second", "host-b", 12, lambda lease: False)
    assert (holder.holder, holder.host, holder.pid) == ("first", "host-a", 11)
    # its times are on the database's clock, shown on this machine's: a heartbeat just written
    assert abs((utcnow() - holder.heartbeat_at).total_seconds()) < 5
    archive.release_lease("scheduler", "first")
    assert archive.acquire_lease("scheduler", "second", "host-b", 12, lambda lease: False) is None
    archive.close()
