"""`muniarchive doctor`: the checks, each a dict {check, ok, detail}; nothing is changed."""

from __future__ import annotations

import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from archive import ArchiveError
from archive.db import create_archive_engine, current_revision, head_revision, sqlite_path
from archive.masking import mask_text, mask_url
from crawler.config import Config, ConfigError, load_config, url_pattern
from crawler.extract import decode_body
from crawler.listing import advertised_pages, parse_list_page
from scheduler.runner import makes_its_folder


def _check(name: str, ok: bool, detail: str) -> dict:
    return {"check": name, "ok": ok, "detail": detail}


def check_archive(config: Config) -> dict:
    url = mask_url(config.database_url)
    path = sqlite_path(config.database_url)
    if path is not None and not path.exists():
        if not path.parent.is_dir() and not makes_its_folder(config):
            return _check("archive", False, f"{url}: the folder {path.parent} does not exist")
        return _check("archive", True, f"{url}: no file yet (the first crawl or scheduler start creates it)")
    try:
        engine = create_archive_engine(config.database_url)
        try:
            current = current_revision(engine)
        finally:
            engine.dispose()
    except ArchiveError as exc:
        return _check("archive", False, str(exc))
    except Exception as exc:  # unreachable server, bad credentials, unreadable file
        return _check("archive", False, f"{url}: {mask_text(str(exc).splitlines()[0])}")
    head = head_revision()
    if current == head:
        return _check("archive", True, f"{url}: reachable, schema at revision {head}")
    if current is None:
        return _check("archive", True, f"{url}: reachable, empty (the first command creates the schema)")
    return _check("archive", True, f"{url}: reachable, schema at {current}; the next command migrates it to {head}")


def check_site(config: Config, site_key: str, timeout: float) -> dict:
    """Fetch the site's first list page and read it as a crawl would: how many of its links
    article_pattern matches, and whether its pagination finds the next page it advertises."""
    site = config.site(site_key)
    url, pagination = site.columns()[0]
    shown = mask_url(url)
    name = f"site {site.key}"
    request = urllib.request.Request(url, headers={"User-Agent": config.defaults.user_agent})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read(2_000_000)
            status, content_type = response.status, response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        return _check(name, False, f"{shown}: HTTP {exc.code}")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return _check(name, False, f"{shown}: unreachable ({reason})")
    text = decode_body(body, content_type, site.encoding).text
    listing = parse_list_page(text, url, pagination, url, 0)
    article_re = url_pattern(site.article_pattern)
    matching = {link for link, _ in listing.links if article_re.search(link)}
    detail = (f"{shown}: HTTP {status}, {len(body)} bytes, {len(matching)} of {len(listing.links)} links match "
              "article_pattern")
    advertised = advertised_pages(text, url)
    if listing.links and not matching:
        return _check(name, False, detail)
    if listing.next is None and advertised and advertised > 1:
        return _check(name, False, f"{detail}; the page advertises {advertised} list pages, but pagination "
                                   f"'{pagination.kind}' finds no next page")
    return _check(name, True, detail)


def run_checks(config_path: str, timeout: float) -> list[dict]:
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        return [_check("config", False, str(exc))]
    checks = [_check("config", True, f"{config.path}: valid, {len(config.sites)} sites")]
    try:
        from scheduler.alerts import Alerts

        targets = Alerts(config.alerts, archive=None).targets
        checks.append(_check("alerts", True, ", ".join(targets) if targets else "no alerts.urls: nobody is told"))
    except ConfigError as exc:
        checks.append(_check("alerts", False, str(exc)))
    checks.append(check_archive(config))
    with ThreadPoolExecutor(8) as pool:
        checks += pool.map(lambda site: check_site(config, site.key, timeout), config.sites)
    return checks
