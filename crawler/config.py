"""config.yaml: the sites to crawl, crawl defaults and the archive URL, validated on load.

Every problem is reported as one line naming the file, the key path and the bad value,
e.g. ``config.yaml: sites[2].pagination.kind: 'trss' is not one of static, trs, hanweb, next_link, json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

DB_ENV = "MUNIARCHIVE_DB"
DEFAULT_DB_URL = "sqlite:///data/muniarchive.db"


class ConfigError(Exception):
    """A config file that cannot be used; str() is the one-line message for the user."""


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _seconds(value):
    """A duration: seconds as a number, or a string such as 90s, 10m, 6h, 1d."""
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", value)
        if not match:
            raise ValueError(f"{value!r} is not a duration (seconds, or a number with s, m, h or d: 10m, 6h)")
        return float(match.group(1)) * _UNITS[match.group(2) or "s"]
    return value


Duration = Annotated[float, BeforeValidator(_seconds), Field(ge=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Selectors(_Strict):
    """CSS selectors that take priority over the generic extractor for one site."""

    title: str | None = None
    body: str | None = None
    publish_time: str | None = None
    source: str | None = None


class Pagination(_Strict):
    kind: Literal["static", "trs", "hanweb", "next_link", "json"]
    # static: list page N (from `first` on) is the start URL with its file name replaced by template
    template: str = "index_{n}.html"
    # static: the number of the second list page; json: the page number asked for first
    first: int = Field(1, ge=0)
    # next_link: the link whose text is one of these leads to the next list page
    next_text: list[str] = ["下一页", "下页", "下一頁"]
    max_pages: int = Field(50, ge=1)
    # hanweb: with perpage, list pages after the column page are POSTed to dataproxy.jsp as a
    # window of records (startrecord, endrecord, perpage), perpage × group records a request;
    # without it they are GET dataproxy.jsp?page=N
    perpage: int | None = Field(None, ge=1)
    group: int = Field(3, ge=1)
    # json: a JSON endpoint pages the list. `url` (relative to the start URL): the start URL is
    # an HTML first page and the JSON pages follow it; without `url` the start URL is the endpoint
    url: str | None = None
    method: Literal["GET", "POST"] = "GET"
    body: Literal["form", "json"] = "form"  # how a POST sends params
    params: dict[str, str | int | float | bool] = {}
    page_param: str = "page"
    page_size: int | None = Field(None, ge=1)
    page_size_param: str | None = None
    # dot paths ("data.docs", "." for the document itself) to the records, and within a record
    # to its URL, title and date; `total` to the record count (paging stops after the page that
    # reaches it, else at the first page with no records)
    records: str | None = None
    record_url: str | None = None
    record_title: str | None = None
    record_date: str | None = None
    total: str | None = None

    @field_validator("template")
    @classmethod
    def _has_placeholder(cls, value: str) -> str:
        if "{n}" not in value:
            raise ValueError(f"{value!r} has no {{n}} placeholder")
        return value

    @model_validator(mode="after")
    def _keys_fit_kind(self) -> Pagination:
        if self.kind == "json" and not (self.records and self.record_url):
            raise ValueError("kind json needs records and record_url (dot paths into the JSON)")
        only = {"json": _JSON_KEYS, "hanweb": _HANWEB_KEYS}
        for kind, keys in only.items():
            stray = sorted((self.model_fields_set & keys) - (keys if self.kind == kind else set()))
            if stray:
                raise ValueError(f"{', '.join(stray)}: only for kind {kind}, not {self.kind}")
        return self


_JSON_KEYS = {"url", "method", "body", "params", "page_param", "page_size", "page_size_param", "records",
              "record_url", "record_title", "record_date", "total"}
_HANWEB_KEYS = {"perpage", "group"}


def url_pattern(pattern: str) -> re.Pattern:
    """An article or attachment pattern as matched: ignoring case, so `.XLS` is `.xls` and
    `.HTM` is `.htm`; a part that must keep its case can say so with `(?-i:...)`."""
    return re.compile(pattern, re.IGNORECASE)


class BoilerplateRule(_Strict):
    """A site-specific cleaning rule; same shape as the rules in crawler/clean/rules.yaml."""

    name: str
    pattern: str
    action: Literal["drop_line", "drop_rest", "strip"] = "drop_line"
    example: str

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        _check_regex(value)
        return value


class StartUrl(_Strict):
    """A list page to start from; a column may page differently from the rest of its site."""

    url: str
    pagination: Pagination | None = None

    @field_validator("url")
    @classmethod
    def _http_only(cls, url: str) -> str:
        if not re.match(r"^https?://[^/\s]+", url):
            raise ValueError(f"{url!r} is not an http(s) URL")
        return url


class SiteConfig(_Strict):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str
    region: str = ""
    start_urls: list[StartUrl] = Field(min_length=1)
    pagination: Pagination
    article_pattern: str
    attachment_pattern: str = r"\.(?:pdf|docx?|wps|xlsx?|zip|rar)(?:$|\?)"
    allowed_domains: list[str] = []
    selectors: Selectors = Selectors()
    encoding: str | None = None
    schedule: str | None = None
    boilerplate: list[BoilerplateRule] = []
    # the site serves each page on http and https alike / on dir/ and dir/index.html alike:
    # store such URLs once
    fold_http_https: bool = False
    fold_index_html: bool = False
    revisit_days: int | None = Field(None, ge=0)

    @field_validator("start_urls", mode="before")
    @classmethod
    def _plain_urls(cls, urls):
        # a plain string is a start URL that uses the site's pagination
        return [{"url": u} if isinstance(u, str) else u for u in urls] if isinstance(urls, list) else urls

    def columns(self) -> list[tuple[str, Pagination]]:
        """(start URL, its pagination) for every list the site is crawled from."""
        return [(s.url, s.pagination or self.pagination) for s in self.start_urls]

    def archive_fields(self) -> dict:
        """What the archive's site row holds (Archive.ensure_site's arguments)."""
        return {"key": self.key, "name": self.name, "base_url": self.base_url, "region": self.region,
                "config_hash": site_config_hash(self), "fold_scheme": self.fold_http_https,
                "fold_index": self.fold_index_html}

    @property
    def base_url(self) -> str:
        return re.match(r"^https?://[^/]+", self.start_urls[0].url).group(0)

    @field_validator("article_pattern", "attachment_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        _check_regex(value)
        return value

    @field_validator("encoding")
    @classmethod
    def _known_codec(cls, value: str | None) -> str | None:
        if value is not None:
            import codecs

            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(f"{value!r} is not a known encoding") from None
        return value

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            _check_cron(value)
        return value


class Defaults(_Strict):
    user_agent: str = "muniarchive/0.1 (+https://github.com/muniarchive/muniarchive; archival crawler)"
    concurrency_per_domain: int = Field(2, ge=1, le=32)
    download_delay: float = Field(1.0, ge=0)
    obey_robots_txt: bool = True
    timezone: str = "Asia/Shanghai"
    schedule: str = "0 2 * * *"
    download_timeout: float = Field(30, gt=0)
    max_download_mb: float = Field(50, gt=0)
    # attachments larger than this are recorded as too_large, not downloaded
    max_attachment_mb: float = Field(30, gt=0)
    retry_times: int = Field(2, ge=0)
    retry_backoff: float = Field(2.0, ge=0)
    crawl_timeout: float = Field(3600, gt=0)
    autothrottle: bool = True
    # each crawl also fetches again the articles first archived in the last N days (0: never),
    # so corrections become new versions; conditional GETs where the site sent ETag/Last-Modified
    revisit_days: int = Field(0, ge=0)
    # an article or attachment failing with a transient fault (5xx, timeout, reset) is tried
    # again by later runs, the first after failed_url_retry_delay, doubling; after this many
    # attempts in all it is recorded dead. Permanent faults (404, 410, robots.txt, an off-site
    # redirect) are dead at once.
    failed_url_attempts: int = Field(5, ge=1)
    failed_url_retry_delay: Duration = 3600

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a known time zone") from None
        return value

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        _check_cron(value)
        return value


class ArchiveConfig(_Strict):
    url: str = DEFAULT_DB_URL
    # where crawl logs are written (relative paths resolve against the config file's folder);
    # unset: a logs folder beside a SQLite archive, else data/logs beside the config file.
    # Each run's log is also kept in the archive (`muniarchive log RUN`), readable from every node
    log_dir: str | None = None


SCRAPYD_AUTH_ENV = ("MUNIARCHIVE_SCRAPYD_USERNAME", "MUNIARCHIVE_SCRAPYD_PASSWORD")


class ScrapydNode(_Strict):
    """A Scrapyd node the scrapyd runner sends crawls to."""

    url: str
    # how many jobs the node runs at once: its scrapyd.conf max_proc (Scrapyd's own default
    # is 4 a CPU); the scheduler's crawl slots are the sum over the nodes
    max_proc: int = Field(4, ge=1, le=256)

    @field_validator("url")
    @classmethod
    def _base_url(cls, url: str) -> str:
        if not re.fullmatch(r"https?://[^/\s@]+(/\S*)?", url):
            if re.match(r"https?://[^/\s]*@", url):
                raise ValueError(f"credentials do not belong in the URL; set {' and '.join(SCRAPYD_AUTH_ENV)}")
            raise ValueError(f"{url!r} is not an http(s) URL of a Scrapyd node")
        return url.rstrip("/")


class ScrapydSettings(_Strict):
    """Where the scrapyd runner sends crawls (scheduler.runner: scrapyd). Basic-auth
    credentials, if the nodes ask for them, come from $MUNIARCHIVE_SCRAPYD_USERNAME and
    $MUNIARCHIVE_SCRAPYD_PASSWORD."""

    # a URL, or {url, max_proc}
    nodes: list[ScrapydNode] = Field([ScrapydNode(url="http://127.0.0.1:6800")], min_length=1)
    # the Scrapyd project muniarchive was deployed as (scrapy.cfg's [deploy] project)
    project: str = Field("muniarchive", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    # how often a running job's state is asked of its node
    poll_seconds: Duration = 5
    # how long a node may take to answer one request before it counts as unreachable (Scrapyd
    # answers from one thread, which also lists a new egg's spiders: slow on a busy machine)
    request_timeout: float = Field(30, gt=0)

    @field_validator("nodes", mode="before")
    @classmethod
    def _plain_urls(cls, nodes):
        return [{"url": n} if isinstance(n, str) else n for n in nodes] if isinstance(nodes, list) else nodes

    @model_validator(mode="after")
    def _unique_nodes(self) -> ScrapydSettings:
        urls = [node.url for node in self.nodes]
        for index, url in enumerate(urls):
            if url in urls[:index]:
                raise ValueError(f"nodes[{index}]: {url} is listed twice")
        return self


class SchedulerSettings(_Strict):
    """How `muniarchive scheduler start` runs the sites' schedules."""

    # where crawls run: local (a child process of the scheduler, `max_parallel_crawls` at
    # once) or scrapyd (jobs on the Scrapyd nodes of `scrapyd`, as many at once as their max_proc)
    runner: Literal["local", "scrapyd"] = "local"
    scrapyd: ScrapydSettings = ScrapydSettings()

    # each run starts up to this long after its cron time, chosen at random per run, so that
    # sites sharing a schedule do not all start at once
    jitter: Duration = 1800
    # a run missed while the scheduler was down is still made (once) if it restarts within this
    misfire_grace: Duration = 6 * 3600
    # how many crawls run at once: a number, or auto (from the cores and available memory:
    # scheduler/capacity.py explains the figures)
    max_parallel_crawls: Literal["auto"] | int = "auto"
    # all crawls together send at most this many requests a second (null: no cap); kept by
    # running fewer crawls at once: each sends at most one request every download_delay
    max_requests_per_second: float | None = Field(20, gt=0)
    # a failed or timed-out scheduled run is tried again this many times, after retry_delay,
    # doubling after each attempt
    run_retries: int = Field(1, ge=0, le=10)
    retry_delay: Duration = 600
    # on SIGTERM/SIGINT, how long running crawls may go on before they are stopped
    stop_grace: Duration = 300

    @field_validator("max_parallel_crawls", mode="before")
    @classmethod
    def _auto_or_count(cls, value):
        if value != "auto" and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 256):
            raise ValueError(f"{value!r} is not auto or a number of crawls from 1 to 256")
        return value


class AlertSettings(_Strict):
    """Alerts through Apprise (https://github.com/caronc/apprise/wiki): one when an incident
    opens, one when the site recovers."""

    # Apprise URLs; ${NAME} is replaced by the environment variable NAME (keep secrets there)
    urls: list[str] = []
    # a run whose share of article pages that could not be extracted exceeds this (with at
    # least min_pages article pages) means the site's layout has probably changed
    extraction_failure_rate: float = Field(0.3, gt=0, le=1)
    min_pages: int = Field(5, ge=1)
    # a run archiving nothing is an incident when most of the site's last `lookback_runs`
    # successful runs did archive something
    lookback_runs: int = Field(5, ge=1)
    # a run whose list pages' article links failed (this run, or dead from earlier runs) in a
    # larger share than this ends succeeded_with_warnings: the site moved its pages?
    article_failure_rate: float = Field(0.5, gt=0, le=1)

    def resolved_urls(self) -> list[str]:
        """The URLs with ${NAME} replaced from the environment; a missing variable is a ConfigError."""

        def value(match: re.Match) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise ConfigError(f"alerts.urls: environment variable {name} is not set")
            return os.environ[name]

        return [re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", value, url) for url in self.urls]


class PlanSettings(_Strict):
    """The plan-release watch (archive/plans.py): which releases are announced."""

    # unset: each site's first crawl is the quiet baseline (what it finds is recorded, not
    # announced). N: a release published more than N days before it was first seen is
    # recorded, not announced, whichever crawl finds it; those published within N days are
    # announced, also on a site's first crawl
    baseline_days: Annotated[int, Field(strict=True, ge=1)] | None = None


class Config(_Strict):
    archive: ArchiveConfig = ArchiveConfig()
    defaults: Defaults = Defaults()
    scheduler: SchedulerSettings = SchedulerSettings()
    alerts: AlertSettings = AlertSettings()
    plans: PlanSettings = PlanSettings()
    sites: list[SiteConfig] = []

    # where the file was read from: relative paths (SQLite file) resolve against its folder
    path: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _unique_keys(self) -> Config:
        seen: set[str] = set()
        for index, site in enumerate(self.sites):
            if site.key in seen:
                raise ValueError(f"sites[{index}].key: {site.key!r} is used by another site")
            seen.add(site.key)
        return self

    def site(self, key: str) -> SiteConfig:
        for site in self.sites:
            if site.key == key:
                return site
        known = ", ".join(s.key for s in self.sites) or "none"
        raise ConfigError(f"{self.path or 'config'}: no site with key {key!r} (sites: {known})")

    @property
    def database_url(self) -> str:
        """The archive URL: $MUNIARCHIVE_DB wins; a relative SQLite path is taken from the config's folder."""
        url = os.environ.get(DB_ENV) or self.archive.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite:///:memory:":
            base = self.path.parent if self.path else Path.cwd()
            url = prefix + str((base / url[len(prefix):]).resolve())
        return url

    @property
    def log_dir(self) -> Path:
        """Where crawl logs are written: archive.log_dir, else beside a SQLite archive, else
        data/logs; relative paths from the config file's folder, never the working folder."""
        base = self.path.parent if self.path else Path.cwd()
        if self.archive.log_dir:
            return (base / self.archive.log_dir).resolve()
        from archive.db import sqlite_path

        archive_file = sqlite_path(self.database_url)
        return archive_file.parent / "logs" if archive_file else (base / "data" / "logs").resolve()


def site_config_hash(site: SiteConfig) -> str:
    return hashlib.sha256(json.dumps(site.model_dump(), sort_keys=True).encode()).hexdigest()[:16]


def load_config(path: str | os.PathLike) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    return parse_config(text, path)


def parse_config(text: str, path: Path) -> Config:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}{where}: YAML syntax error: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping with archive, defaults and sites")
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_describe(exc.errors()[0])}") from None
    config.path = path.resolve()
    return config


def _describe(error: dict) -> str:
    where = _key_path(error["loc"])
    value = error.get("input")
    kind = error["type"]
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", error["ctx"]["expected"])
        what = f"{value!r} is not one of {', '.join(choices)}"
    elif kind == "missing":
        what = "is required"
    elif kind == "extra_forbidden":
        what = "is not a known key"
    elif kind == "value_error":
        what = str(error["ctx"]["error"])
    else:
        what = f"{value!r}: {error['msg'][0].lower()}{error['msg'][1:]}"
    return f"{where}: {what}" if where else what


def _key_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _check_regex(value: str) -> None:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"{value!r} is not a valid regular expression ({exc})") from None


_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def cron_trigger(expression: str, timezone: str, jitter: float = 0):
    """An APScheduler CronTrigger from a crontab line: `minute hour day month day-of-week`,
    or with a leading seconds field (six fields) for short test schedules.

    Day-of-week numbers mean what crontab means (0 and 7 Sunday); APScheduler alone would
    read 0 as Monday.
    """
    from apscheduler.triggers.cron import CronTrigger

    fields = expression.split()
    if len(fields) not in (5, 6):
        raise ValueError(f"{expression!r} is not a cron expression (5 fields, or 6 with seconds first)")
    second = fields.pop(0) if len(fields) == 6 else "0"
    minute, hour, day, month, day_of_week = fields
    day_of_week = re.sub(r"(?<![/\d])([0-7])(?!\d)", lambda m: _CRON_DAYS[int(m.group(1))], day_of_week)
    return CronTrigger(second=second, minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week,
                       timezone=timezone, jitter=int(jitter) or None)


def _check_cron(value: str) -> None:
    try:
        cron_trigger(value, "UTC")
    except ValueError as exc:
        message = str(exc)
        raise ValueError(message if "cron expression" in message
                         else f"{value!r} is not a cron expression ({message})") from None
