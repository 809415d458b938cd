"""`muniarchive probe URL`: what a list page is and the config entry that crawls it.

The analysis is pure functions over a page's text and URL (which CMS family, which pagination,
which links are articles and the pattern that says so, where a JSON list keeps its records);
`probe()` fetches (politely: robots.txt, the configured user agent and timeout, nothing off
the page's scheme, host and port) and puts them together; `add_site()` writes the entry into a
config file, leaving every existing line as it was.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
import urllib.error
import urllib.request
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import yaml
from protego import Protego

from crawler.config import Config, ConfigError, Pagination, SiteConfig, parse_config, url_pattern
from crawler.extract import ExtractOptions, decode_body, extract_article
from crawler.listing import (
    ListPage,
    ListRequest,
    first_request,
    json_path,
    parse_list_page,
    trs_page_count,
)
from crawler.middlewares import SiteBounds, origin

DEFAULT_ATTACHMENT_PATTERN = SiteConfig.model_fields["attachment_pattern"].default
CJK = re.compile(r"[\u4e00-\u9fff]")
DATE_VALUE = re.compile(r"^\d{4}[-/.年]\d{1,2}")


class ProbeError(Exception):
    """The probe cannot go on; str() is the one-line message."""


@cache
def rules() -> dict:
    return yaml.safe_load(resources.files("crawler").joinpath("probe.yaml").read_text(encoding="utf-8"))


def _names(key: str) -> re.Pattern:
    return re.compile("^(?:" + "|".join(map(re.escape, rules()[key])) + ")$", re.I)


# ---------------------------------------------------------------------------- CMS family

def identify(text: str, headers: dict[str, str]) -> list[dict]:
    """The CMS families whose markers the page shows, best first: {family, name, score, evidence}."""
    found = []
    lowered = {k.lower(): v for k, v in headers.items()}
    for family, spec in rules()["families"].items():
        score, evidence = 0, []
        for marker in spec["markers"]:
            where = text if marker["where"] == "html" else lowered.get(marker["header"].lower(), "")
            if m := re.search(marker["pattern"], where):
                score += marker["weight"]
                evidence.append(m.group(0)[:60] if marker["where"] == "html" else f"{marker['header']}: {where[:40]}")
        if score:
            found.append({"family": family, "name": spec["name"], "score": score, "evidence": evidence})
    return sorted(found, key=lambda f: -f["score"])


def family_name(families: list[dict]) -> str:
    if families and families[0]["score"] >= rules()["min_score"]:
        return families[0]["name"]
    return "generic static list"


# ---------------------------------------------------------------------------- pagination

_NUMBER = re.compile(r"\b(\w+)\s*[=:]\s*['\"]?(\d+)['\"]?\s*[;,\n}]")
_CALL = re.compile(r"(\$\.(?:ajax|post|get|getJSON)|\bfetch|\baxios\.(?:get|post))\s*\(", re.I)
_PAIR = re.compile(r"['\"]?(\w+)['\"]?\s*:\s*('[^']*'|\"[^\"]*\"|[\w.]+)")


def parse_json(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return None


def json_endpoint(text: str) -> dict | None:
    """The JSON endpoint a list page's script pages through, as pagination fields (url,
    method, params, page_param, page size, first page), or None."""
    numbers = dict(_NUMBER.findall(text))
    page_key, size_key = _names("page_params"), _names("page_size_params")
    for call in _CALL.finditer(text):
        chunk = text[call.end():call.end() + 1000]
        address = re.match(r"\s*['\"]([^'\"]+)['\"]", chunk) or re.search(r"\burl\s*:\s*['\"]([^'\"]+)['\"]", chunk)
        data = re.search(r"(?:\bdata\s*:\s*|^\s*['\"][^'\"]*['\"]\s*,\s*)\{([^{}]*)\}", chunk)
        if not address or not data:
            continue
        post = call.group(1).lower().endswith("post") or re.search(r"\b(?:type|method)\s*:\s*['\"]post", chunk, re.I)
        found = {"kind": "json", "url": address.group(1), "method": "POST" if post else "GET", "params": {}}
        for key, value in _PAIR.findall(data.group(1)):
            if value[:1] in "'\"":
                found["params"][key] = value[1:-1]
            elif value.isdigit():
                found["params"][key] = int(value)
            elif page_key.match(key):
                found["page_param"] = key
            elif size_key.match(key) and value.rsplit(".", 1)[-1] in numbers:
                found["page_size_param"], found["page_size"] = key, int(numbers[value.rsplit(".", 1)[-1]])
        if "page_param" not in found:
            continue
        static = next((int(numbers[n]) for n in rules()["static_page_counts"] if n in numbers), 0)
        found["first"] = static + 1
        return found
    return None


def list_pagination(text: str, url: str) -> tuple[dict | None, str]:
    """The pagination a list page shows by itself, as config fields, and why; (None, why not)
    when it takes a fetch to tell (a JSON endpoint's records, a template to try)."""
    data = parse_json(text)
    if isinstance(data, dict | list):
        query = parse_qs(urlsplit(url).query)
        page = next((k for k in query if _names("page_params").match(k)), None)
        fields = {"kind": "json", "page_param": page or "page",
                  "first": int(query[page][0]) if page and query[page][0].isdigit() else 1}
        return fields, f"the page is JSON; its page number is the query's {fields['page_param']!r}"
    if "<datastore>" in text:
        if re.search(r"startrecord", text) and (per := re.search(r"\bperpage\s*[=:]\s*['\"]?(\d+)", text)):
            return {"kind": "hanweb", "perpage": int(per.group(1))}, \
                "a Hanweb <datastore>; later pages are POSTed to dataproxy.jsp as startrecord/endrecord windows"
        return {"kind": "hanweb"}, "a Hanweb <datastore> paged through dataproxy.jsp?page=N"
    if endpoint := json_endpoint(text):
        return endpoint, (f"a script pages the list through {endpoint['method']} {endpoint['url']} "
                          f"({endpoint['page_param']}=N, from page {endpoint['first']})")
    if stated := trs_page_count(text, url):
        return {"kind": "trs"}, f"TRS paging: {stated[0]} pages named {stated[2]}_N.{stated[3]}"
    pagination = Pagination(kind="next_link")
    if parse_list_page(text, url, pagination, url, 0).next:
        return {"kind": "next_link"}, "a 下一页 link"
    if template := sibling_template(text, url):
        return template, f"links to list pages named {template['template']}"
    return None, "no paging on the page itself"


def sibling_template(text: str, url: str) -> dict | None:
    """A static template from links to the list's own later pages (index_1.html, list_2.shtml,
    page/2/), with the lowest number linked as `first`."""
    from crawler.extract import find_links

    base = url.rsplit("/", 1)[0] + "/"
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    stem, _, ext = name.partition(".")
    stem = re.sub(r"_\d+$", "", stem) or "index"
    found: dict[str, list[int]] = defaultdict(list)
    for href, _ in find_links(text, url):
        rest = href[len(base):] if href.startswith(base) else None
        if rest is None:
            continue
        paged = rf"({re.escape(stem)}_)(\d+)(\.{re.escape(ext or 'html')})|(page/)(\d+)(/?)"
        if m := re.fullmatch(paged, rest):
            before, number, after = (g for g in m.groups() if g is not None)
            found[before + "{n}" + after].append(int(number))
    if not found:
        return None
    template, numbers = max(found.items(), key=lambda item: len(item[1]))
    return {"kind": "static", "template": template, "first": min(numbers)}


def guessed_templates(url: str) -> list[dict]:
    """Static templates worth one request each when a list page shows no paging: the common
    `name_1.ext` after `name.ext` (or index.html for a folder URL)."""
    name = urlsplit(url).path.rsplit("/", 1)[-1] or "index.html"
    stem, _, ext = name.partition(".")
    return [{"kind": "static", "template": f"{stem}_{{n}}.{ext or 'html'}", "first": 1}] if stem else []


# ---------------------------------------------------------------------------- JSON records

def analyse_json(data) -> dict | None:
    """Where a JSON list keeps its records, and within a record its URL, title and date; the
    record count's path: the `json` pagination fields, or None when no list of linked records."""
    best = None
    for path, records in _lists_of_objects(data, ""):
        fields = _record_fields(records)
        if fields and (best is None or len(records) > best[1]):
            best = ({"records": path or ".", **fields}, len(records))
    if best is None:
        return None
    fields = best[0]
    total_key = _names("total_keys")
    for path, value in _scalars(data, ""):
        if total_key.match(path.rsplit(".", 1)[-1]) and str(value).isdigit() and not path.startswith(
                fields["records"] + "."):
            fields["total"] = path
            break
    return fields


def _lists_of_objects(data, path):
    if isinstance(data, list):
        if data and all(isinstance(item, dict) for item in data):
            yield path, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _lists_of_objects(value, f"{path}.{key}" if path else key)


def _scalars(data, path, depth=0):
    if isinstance(data, dict) and depth < 4:
        for key, value in data.items():
            where = f"{path}.{key}" if path else key
            if isinstance(value, int | str) and not isinstance(value, bool):
                yield where, value
            else:
                yield from _scalars(value, where, depth + 1)


def _flat(record: dict, path="", depth=0) -> dict:
    out = {}
    for key, value in record.items():
        where = f"{path}.{key}" if path else key
        if isinstance(value, dict) and depth < 2:
            out.update(_flat(value, where, depth + 1))
        else:
            out[where] = value
    return out


def _record_fields(records: list[dict]) -> dict | None:
    rows = [_flat(r) for r in records]
    keys = [k for k in rows[0] if all(k in r for r in rows)]

    def share(key, test):
        return sum(1 for r in rows if isinstance(r[key], str) and test(r[key])) / len(rows)

    def link(value):
        return bool(re.match(r"^(?:https?://|/|\./|\.\./)\S+$", value) or re.search(r"\.s?html?(?:\?|$)", value))

    def named(key, words):
        return re.search(words, key.rsplit(".", 1)[-1], re.I) is not None

    urls = [k for k in keys if share(k, link) == 1]
    if not urls:
        return None
    fields = {"record_url": max(urls, key=lambda k: named(k, "url|link|href"))}
    texts = [k for k in keys if k not in urls and share(k, lambda v: bool(CJK.search(v)) and not DATE_VALUE.match(v)) == 1]
    if texts:
        fields["record_title"] = max(texts, key=lambda k: (named(k, "title|标题|name"),
                                                         -abs(40 - sum(len(r[k]) for r in rows) / len(rows))))
    dates = [k for k in keys if share(k, lambda v: bool(DATE_VALUE.match(v))) == 1]
    if dates:
        fields["record_date"] = max(dates, key=lambda k: named(k, "date|time|day"))
    return fields


# ---------------------------------------------------------------------------- URL shapes

_TOKEN = re.compile(r"[0-9a-fA-F]{16,}|\d+|[A-Za-z]+|[^0-9A-Za-z]")
_HEX = re.compile(r"(?=.*[a-fA-F])[0-9a-fA-F]{16,}")


def _parts(url: str) -> list[str]:
    """A URL's path segments, its query (with the '?') as one more."""
    split = urlsplit(url)
    parts = [p for p in split.path.split("/")[1:]]
    return parts + (["?" + split.query] if split.query else [])


def _tokens(part: str) -> list[str]:
    return _TOKEN.findall(part)


def _kind(token: str) -> str:
    if token.isdigit():
        return "d"
    if _HEX.fullmatch(token):
        return "h"
    return "a" if token.isalpha() else token


def shape(url: str) -> tuple:
    """What a URL looks like with its numbers and ids taken out: links of one kind share it.
    htm/html/shtml count as one extension."""
    split = urlsplit(url)
    out = [split.netloc]
    for part in _parts(url):
        tokens = _tokens(part)
        if part.startswith("?"):  # a query: its keys
            out.append("?" + "&".join(sorted(parse_qs(part[1:], keep_blank_values=True))))
            continue
        out.append("".join("html" if t.lower() in ("htm", "html", "shtml") else
                           {"d": "#", "h": "@"}.get(_kind(t), t) for t in tokens))
    return tuple(out)


def _is_date_run(token: str, part: str) -> str | None:
    """The fixed-width class of a date-like number: 2026, 202609, 20260901, a month or day."""
    year = r"(?:19|20)\d\d"
    if re.fullmatch(year, token) and part == token:
        return r"\d{4}"
    if re.fullmatch(year + r"(?:0[1-9]|1[0-2])", token) and part == token:  # a month's folder: /202609/
        return r"\d{6}"
    if re.fullmatch(year + r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])", token):
        return r"\d{8}"
    return None


def _part_pattern(parts: list[str]) -> tuple[str, bool]:
    """A regex for one path segment (or the query) across a group's URLs, and whether it varies."""
    if len(set(parts)) == 1 and not any(t.isdigit() for t in _tokens(parts[0])):
        return re.escape(parts[0]), False
    tokenised = [_tokens(p) for p in parts]
    if len({tuple(_kind(t) for t in ts) for ts in tokenised}) > 1 or len({len(ts) for ts in tokenised}) > 1:
        return "[^/]+", True
    out = []
    last = len(tokenised[0]) - 1
    for i, column in enumerate(zip(*tokenised, strict=True)):
        kind = _kind(column[0])
        if kind == "d":
            whole = all(t == p for t, p in zip(column, parts, strict=True))
            widths = {len(t) for t in column}
            fixed = {_is_date_run(t, p) for t, p in zip(column, parts, strict=True)}
            if len(fixed) == 1 and None not in fixed:
                out.append(fixed.pop())
            elif whole and max(widths) <= 2 and all(1 <= int(t) <= 31 for t in column):  # a month or day folder
                out.append(r"\d{2}" if widths == {2} and any(t.startswith("0") for t in column) else r"\d{1,2}")
            else:
                out.append(r"\d+")
        elif kind == "h":
            out.append(f"[0-9a-f]{{{len(column[0])}}}" if len({len(t) for t in column}) == 1 else "[0-9a-f]+")
        elif i == last and i > 0 and tokenised[0][i - 1] == "." and kind == "a":
            out.append(_extension({t.lower() for t in column}))
        elif len({t.lower() for t in column}) == 1:
            out.append(re.escape(column[0]))
        else:
            out.append(r"[A-Za-z]+")
    return "".join(out), True


def _extension(seen: set[str]) -> str:
    if seen <= {"htm", "html"}:
        return "html?"
    if seen == {"shtml"}:
        return "shtml"
    if seen <= {"htm", "html", "shtml"}:
        return "s?html?"
    return "(?:" + "|".join(sorted(seen)) + ")"


def _join(patterns: list[tuple[str, str]]) -> str:
    """Segment patterns as a regex: '/' before a path segment, '\\?' before the query."""
    return "".join(("\\?" + p[2:] if raw.startswith("?") else "/" + p) for raw, p in patterns)


def suggest_pattern(members: list[str], others: list[str]) -> str:
    """A regex (matched ignoring case, as config patterns are) that matches every URL in
    `members` and none in `others`: the members' common shape from the first segment that
    varies to the end, with more of the fixed path before it while an other URL matches."""
    split = [_parts(u) for u in members]
    if len({len(p) for p in split}) > 1:  # different depths: one pattern per depth, joined
        depths = defaultdict(list)
        for url, parts in zip(members, split, strict=True):
            depths[len(parts)].append(url)
        return "|".join(suggest_pattern(group, others) for group in depths.values())
    columns = list(zip(*split, strict=True))
    patterns = [_part_pattern(list(c)) for c in columns]
    start = next((i for i, (_, varies) in enumerate(patterns) if varies), len(patterns) - 1)
    if start == len(patterns) - 1 and start > 0:
        start -= 1  # one varying segment says little: anchor it with the folder before it
    raw = [c[0] for c in columns]
    while True:
        pattern = _join(list(zip(raw[start:], (p for p, _ in patterns[start:]), strict=True))) + "$"
        matcher = url_pattern(pattern)
        if start == 0 or not any(matcher.search(o) for o in others):
            return pattern
        start -= 1


@dataclass
class LinkGroup:
    shape: tuple
    links: list[tuple[str, str]]  # (URL, text)

    @property
    def urls(self) -> list[str]:
        return list(dict.fromkeys(u for u, _ in self.links))

    @property
    def title_weight(self) -> float:
        """How much the links read like headlines: Chinese characters in their texts, capped per link."""
        return sum(min(len(CJK.findall(text)), 40) for text in dict(self.links).values())


def group_links(links: list[tuple[str, str]]) -> list[LinkGroup]:
    """Links by URL shape, the most headline-like group first."""
    groups: dict[tuple, list] = defaultdict(list)
    for url, text in links:
        groups[shape(url)].append((url, text))
    found = [LinkGroup(key, members) for key, members in groups.items()]
    return sorted(found, key=lambda g: -g.title_weight)


def is_attachment(url: str) -> bool:
    """A document file's link, or a download script's."""
    extensions = "|".join(rules()["attachment_extensions"])
    return bool(re.search(rf"\.(?:{extensions})$", urlsplit(url).path, re.I)
                or re.search(rules()["download_scripts"], url, re.I))


def article_group(links: list[tuple[str, str]], list_urls: set[str]) -> LinkGroup | None:
    """The group of links that are articles: headline texts, numbers or ids in the URL; not a
    list page, not an attachment."""
    candidates = [(u, t) for u, t in links if u not in list_urls and not is_attachment(u)
                  and re.search(r"\d", urlsplit(u).path + urlsplit(u).query)]
    groups = [g for g in group_links(candidates) if g.title_weight > 0]
    return groups[0] if groups else None


def suggest_attachment_pattern(urls: list[str], family: str | None) -> str:
    """A pattern for attachment links: the family's usual one when it covers those seen (or
    none were seen); else any document extension, and the download scripts seen."""
    usual = rules()["family_attachment_patterns"].get(family or "")
    if not urls:
        return usual or DEFAULT_ATTACHMENT_PATTERN
    if usual and all(url_pattern(usual).search(u) for u in urls):
        return usual
    found = []
    for url in urls:
        split = urlsplit(url)
        if split.query and re.search(rules()["download_scripts"], url, re.I):
            found.append("/" + re.escape("/".join(split.path.split("/")[-3:]).lstrip("/")) + r"\?")
        else:  # file names say nothing general: a document's extension does
            found.append(r"\.(?:" + "|".join(rules()["attachment_extensions"]) + ")$")
    return "|".join(dict.fromkeys(found))


# ---------------------------------------------------------------------------- fetching

@dataclass
class Fetched:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    def text(self) -> str:
        return decode_body(self.body, self.content_type).text


class Fetcher:
    """Requests within one site, as the crawler makes them: its user agent, timeout, size limit
    and delay; robots.txt obeyed; redirects followed only within the site."""

    def __init__(self, url: str, config: Config):
        self.bounds = SiteBounds([url], [])
        defaults = config.defaults
        self.user_agent, self.timeout, self.delay = defaults.user_agent, defaults.download_timeout, defaults.download_delay
        self.max_bytes = int(defaults.max_download_mb * 1024 * 1024)
        self.last = 0.0
        bounds = self.bounds

        class StayOnSite(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, req, fp, code, msg, headers, newurl):
                if (why := bounds.refusal(newurl)) is not None:
                    raise ProbeError(f"{req.full_url}: redirected off the site to {newurl} ({why})")
                return super().redirect_request(req, fp, code, msg, headers, newurl)

        self.opener = urllib.request.build_opener(StayOnSite)
        self.robots = None
        if defaults.obey_robots_txt:
            split = urlsplit(url)
            robots = self._open(ListRequest(f"{split.scheme}://{split.netloc}/robots.txt"))
            self.robots = Protego.parse(robots.text() if robots.status == 200 else "")

    def fetch(self, request: ListRequest | str) -> Fetched:
        request = ListRequest(request) if isinstance(request, str) else request
        if (why := self.bounds.refusal(request.url)) is not None:
            raise ProbeError(f"{request.url}: not fetched, outside the probed site ({why})")
        if self.robots is not None and not self.robots.can_fetch(request.url, self.user_agent):
            raise ProbeError(f"{request.url}: not fetched, robots.txt disallows it")
        wait = self.last + self.delay - time.monotonic()
        if wait > 0:
            time.sleep(wait)  # politeness between requests, as download_delay asks
        try:
            return self._open(request)
        finally:
            self.last = time.monotonic()

    def _open(self, request: ListRequest) -> Fetched:
        data, headers = None, {"User-Agent": self.user_agent}
        if request.form is not None:
            data = urlencode(request.form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif request.json is not None:
            data = json.dumps(request.json).encode()
            headers["Content-Type"] = "application/json"
        prepared = urllib.request.Request(request.url, data=data, headers=headers, method=request.method)
        try:
            with self.opener.open(prepared, timeout=self.timeout) as response:
                body = response.read(self.max_bytes + 1)
                if len(body) > self.max_bytes:
                    raise ProbeError(f"{request.url}: larger than max_download_mb")
                return Fetched(response.url, response.status, dict(response.headers.items()), body)
        except urllib.error.HTTPError as exc:
            return Fetched(request.url, exc.code, dict(exc.headers.items()), b"")
        except (urllib.error.URLError, OSError) as exc:
            raise ProbeError(f"{request.url}: unreachable ({getattr(exc, 'reason', exc)})") from None


# ---------------------------------------------------------------------------- the probe

def site_name(text: str, url: str) -> str:
    if m := re.search(r"<meta\s+name=[\"']SiteName[\"']\s+content=[\"']([^\"']+)", text, re.I):
        return m.group(1).strip()
    if m := re.search(r"<title>([^<]+)</title>", text, re.I):
        return re.split(r"\s*[_|\-–—]\s*|\s+", m.group(1).strip())[-1]
    return urlsplit(url).hostname or url


def _request_text(request: ListRequest) -> str:
    body = request.form or request.json
    return f"{request.method} {request.url}" + (f" {json.dumps(body, ensure_ascii=False)}" if body else "")


def probe(url: str, config: Config, list_pages: int = 3, articles: int = 2) -> dict:
    """Fetch the list page at `url` (and up to list_pages - 1 more, and `articles` articles) and
    describe it: the report `muniarchive probe` prints, with the config fields it suggests."""
    if origin(url) is None:
        raise ProbeError(f"{url!r} is not an http(s) URL")
    fetcher = Fetcher(url, config)
    first = fetcher.fetch(url)
    if first.status != 200:
        raise ProbeError(f"{url}: HTTP {first.status}")
    text = first.text()
    families = identify(text, first.headers)
    family = families[0]["family"] if family_name(families) != "generic static list" else None
    warnings: list[str] = []
    fields, why = list_pagination(text, first.url)
    if fields is None:  # no paging on the page: try the usual next page name once
        for candidate in guessed_templates(url):
            tried = parse_list_page(text, url, Pagination(**candidate), url, 0).next
            if tried and fetcher.fetch(tried).status == 200:
                fields, why = candidate, f"{tried.url} answers: pages named {candidate['template']}"
                break
        else:
            fields, why = {"kind": "next_link"}, "no paging found: one list page (a 下一页 link would be followed)"
    if fields["kind"] == "json":
        fields, why = _complete_json(fields, why, text, url, fetcher)
    pagination = Pagination(**fields)

    # the list pages the crawl would read: this one and those after it
    pages, links, list_urls = [], [], {url, first.url}
    request, response_text, form = first_request(url, pagination), text, None
    if request.url != url or request.method != "GET":
        response_text = fetcher.fetch(request).text()
    for index in range(list_pages):
        listing: ListPage = parse_list_page(response_text, request.url, pagination, url, index, form)
        pages.append({"request": _request_text(request), "links": len(listing.links), "error": listing.error})
        links += listing.links
        if listing.error:
            warnings.append(f"{request.url}: {listing.error}")
        request, form = listing.next, listing.next.form if listing.next else None
        if request is None or index + 1 == list_pages:
            break
        list_urls.add(request.url)
        fetched = fetcher.fetch(request)
        if fetched.status != 200:  # a 404 past the last page ends the list, as in a crawl
            if fetched.status != 404:
                warnings.append(f"{request.url}: HTTP {fetched.status}")
            request = None
            break
        response_text = fetched.text()
    next_request = _request_text(request) if request else None

    group = article_group(links, list_urls)
    others = [u for u, _ in links if group is None or u not in group.urls]
    article_pattern = suggest_pattern(group.urls, others) if group else None
    if group is None:
        warnings.append("no links that look like articles: is this a list page?")

    samples, attachment_links = [], []
    for article_url in (group.urls[:articles] if group else []):
        fetched = fetcher.fetch(article_url)
        if fetched.status != 200:
            samples.append({"url": article_url, "error": f"HTTP {fetched.status}"})
            continue
        extracted = extract_article(fetched.body, fetched.url, fetched.content_type, ExtractOptions(collect_links=True))
        attachment_links += [u for u, _ in extracted.links if is_attachment(u) and fetcher.bounds.refusal(u) is None]
        pt = extracted.publish_time
        samples.append({"url": article_url, "title": extracted.title, "publish_time": pt.value.isoformat() if pt else None,
                        "source": extracted.source, "body_start": (extracted.body or "")[:120],
                        "body_from": extracted.quality.get("body_from"),
                        "body_selector": extracted.quality.get("body_selector"),
                        "warnings": extracted.quality.get("warnings", [])})
    attachment_links = list(dict.fromkeys(attachment_links))
    return {
        "url": url, "name": site_name(text, url), "cms": family_name(families), "families": families,
        "pagination": pagination.model_dump(exclude_defaults=True) | {"kind": pagination.kind},
        "pagination_reason": why, "list_pages": pages, "next_list_page": next_request,
        "groups": [{"pattern": suggest_pattern(g.urls, [u for u, _ in links if u not in g.urls]), "links": len(g.urls),
                    "examples": g.urls[:2], "articles": g is group} for g in group_links(links)[:8]],
        "article_pattern": article_pattern, "article_links": len(group.urls) if group else 0,
        "attachment_links": attachment_links,
        "attachment_pattern": suggest_attachment_pattern(attachment_links, family),
        "articles": samples, "warnings": warnings,
    }


def _complete_json(fields: dict, why: str, text: str, url: str, fetcher: Fetcher) -> tuple[dict, str]:
    """Where the JSON pages keep their records, read from the first JSON page."""
    if "url" in fields:  # an HTML page whose script names the endpoint: fetch its first JSON page
        partial = Pagination(**fields, records=".", record_url="url")
        listing = parse_list_page(text, url, partial, url, 0)
        fetched = fetcher.fetch(listing.next)
        if fetched.status != 200:
            raise ProbeError(f"{listing.next.url}: HTTP {fetched.status} (the list's JSON endpoint)")
        data = parse_json(fetched.text())
    else:
        data = parse_json(text)
    found = analyse_json(data) if data is not None else None
    if found is None:
        raise ProbeError(f"{url}: {why}, but its JSON holds no list of records with links")
    records, total = json_path(data, found["records"]), json_path(data, found.get("total"))
    if "page_size" not in fields and fields.get("first") == 1 and str(total).isdigit() and int(total) > len(records):
        found["page_size"] = len(records)  # a full first page: the count then tells the last page
    return fields | found, why + f"; records at {found['records']!r}, each's URL at {found['record_url']!r}"


# ---------------------------------------------------------------------------- saving

def site_entry(report: dict, key: str) -> dict:
    if not report["article_pattern"]:
        raise ProbeError(f"{report['url']}: no article links found, nothing to save")
    entry = {"key": key, "name": report["name"], "start_urls": [report["url"]], "pagination": report["pagination"],
             "article_pattern": report["article_pattern"]}
    if report["attachment_pattern"] != DEFAULT_ATTACHMENT_PATTERN:
        entry["attachment_pattern"] = report["attachment_pattern"]
    return entry


def add_site(path: Path, entry: dict, comment: str) -> None:
    """Add `entry` to the config file's sites, every existing line kept as it was; refuse a key
    that is taken or an entry the config would not accept."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if text and not text.endswith("\n"):
        text += "\n"
    current = parse_config(text, path)
    if any(site.key == entry["key"] for site in current.sites):
        raise ProbeError(f"{path}: a site with key {entry['key']!r} exists; choose another key")
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(r"sites\s*:", line)), None)
    if start is not None and re.match(r"sites\s*:\s*\[\s*\]\s*(#.*)?$", lines[start]):
        lines[start] = "sites:\n"  # an empty flow list becomes a block
    elif start is not None and not re.match(r"sites\s*:\s*(#.*)?$", lines[start]):
        raise ProbeError(f"{path}: `sites:` is not a block list; add the entry by hand")
    if start is None:
        lines += ["\n", "sites:\n"]
        start = len(lines) - 1
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"[^\s#]", lines[i])), len(lines))
    while end > start + 1 and re.match(r"(#.*)?\s*$", lines[end - 1]):  # comments of the next key stay with it
        end -= 1
    indent = next((m.group(1) for line in lines[start + 1:end] if (m := re.match(r"(\s*)- ", line))), "  ")
    block = yaml.safe_dump([entry], allow_unicode=True, sort_keys=False, width=4096)
    block = "".join(indent + line for line in block.splitlines(keepends=True))
    lines[end:end] = ["\n", f"{indent}# {comment}\n", block]
    new_text = "".join(lines)
    try:
        parse_config(new_text, path)
    except ConfigError as exc:
        raise ProbeError(f"the entry would not be accepted: {exc}") from None
    handle, temporary = tempfile.mkstemp(dir=path.resolve().parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(new_text)
    os.replace(temporary, path)


def save_comment(report: dict) -> str:
    return (f"added by `muniarchive probe` on {date.today().isoformat()}: {report['cms']}, "
            f"{report['article_links']} article links on {len(report['list_pages'])} list pages")
