"""Run health: what a run's list and article pages say about the site's config.

A crawl that fetches fine can still archive little or nothing because its config is wrong: an
`article_pattern` matching none of the list's links, a pagination kind that finds no next page
on a list advertising several, article links that mostly fail (the site moved its pages), a
`selectors.body` matching no page (a template change). Each is a warning with a one-line
reason; a run with warnings ends `succeeded_with_warnings`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

# how many list pages a run's stats describe one by one (all are counted)
MAX_LIST_PAGES_RECORDED = 200


@dataclass
class Column:
    kind: str  # its pagination kind
    links: int = 0  # on its list pages (with repeats across pages)
    matching: set[str] = field(default_factory=set)  # article links, as article_pattern matched them
    stopped_short: str | None = None  # the warning when paging ended before the advertised last page


class RunHealth:
    def __init__(self, body_selector: str | None, article_failure_rate: float):
        self.body_selector = body_selector
        self.article_failure_rate = article_failure_rate
        self.columns: dict[str, Column] = {}
        self.list_pages: list[dict] = []
        self.failed: dict[str, str] = {}  # article URL -> why it failed (this run, or remembered)
        self.fetched: set[str] = set()
        self.pages_extracted = self.selector_matched = 0

    def list_page(self, column: str, kind: str, url: str, index: int, links: int, matching: list[str],
                  advertised: int | None, has_next: bool) -> None:
        """One list page walked: its link counts, and whether paging could go on."""
        record = self.columns.setdefault(column, Column(kind))
        record.links += links
        record.matching.update(matching)
        if not has_next and advertised and advertised > index + 1:
            record.stopped_short = (f"{column} advertises {advertised} list pages, but pagination '{kind}' "
                                    f"found no page after page {index + 1}")
        if len(self.list_pages) < MAX_LIST_PAGES_RECORDED:
            self.list_pages.append({"url": url, "links": links, "matching": len(matching),
                                    "advertised_pages": advertised})

    def article_failed(self, url: str, label: str) -> None:
        if url not in self.fetched:  # a retry of a failed URL may be fetched before a list shows it
            self.failed[url] = label

    def article_fetched(self, url: str) -> None:
        self.fetched.add(url)
        self.failed.pop(url, None)

    def page_extracted(self, selector_matched: bool | None) -> None:
        self.pages_extracted += 1
        self.selector_matched += bool(selector_matched)

    def warnings(self) -> list[dict]:
        """[{check, reason}]: what looks wrong, one line each."""
        found = []
        for url, column in self.columns.items():
            if column.links and not column.matching:
                found.append({"check": "article_pattern",
                              "reason": f"0 of {column.links} links match article_pattern on {url}"})
            if column.stopped_short:
                found.append({"check": "pagination", "reason": column.stopped_short})
        links = set().union(*(c.matching for c in self.columns.values()))
        failed = [label for url, label in self.failed.items() if url in links]
        if links and len(failed) > self.article_failure_rate * len(links):
            common = ", ".join(label for label, _ in Counter(failed).most_common(2))
            found.append({"check": "article_fetches",
                          "reason": f"{len(failed)} of {len(links)} article links failed ({common})"})
        if self.body_selector and self.pages_extracted and not self.selector_matched:
            found.append({"check": "selectors.body",
                          "reason": f"selectors.body {self.body_selector!r} matched none of "
                                    f"{self.pages_extracted} pages"})
        return found

    def checked(self) -> list[str]:
        """The checks this run had something to judge by: a warning they gave earlier is over
        only when a run that could see it has none."""
        checks = []
        if self.columns:
            checks += ["article_pattern", "pagination"]
        if any(c.matching for c in self.columns.values()):
            checks.append("article_fetches")
        if self.body_selector and self.pages_extracted:
            checks.append("selectors.body")
        return checks

    def stats(self) -> dict:
        return {
            "list_links": sum(c.links for c in self.columns.values()),
            "list_links_matching": sum(len(c.matching) for c in self.columns.values()),
            "list_pages_seen": self.list_pages,
            "body_selector_matched": (f"{self.selector_matched} of {self.pages_extracted}"
                                      if self.body_selector else None),
            "health_checked": self.checked(),
        }
