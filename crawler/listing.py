"""List pages: the links a list page holds and the request for its next page, for each
pagination kind of config.yaml. Pure functions over decoded text.

- static     index.html, index_1.html, …: the next page's name comes from a template
- trs        TRS WCM: createPageHTML(countPage, currentPage, "index", "html") in a script, its
             arguments literal or variables (`var countPage = 5`), or a bare page count
             (`var countPage`, `var maxPageNum`) with the list's own file name
- hanweb     Hanweb jcms: a <datastore> (in a <script type="text/xml"> on the column page, bare
             XML from dataproxy.jsp) with <totalpage>/<totalrecord> and a <nextgroup> link; the
             next page is GET dataproxy.jsp?page=N, or with `perpage` a POST of the record window
             startrecord/endrecord/perpage
- next_link  a link whose text is 下一页 (or another configured text)
- json       a JSON endpoint (GET or POST) with a page parameter: records at a path, each with
             its URL, title and date; optionally after a static HTML first page
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

from crawler.config import Pagination
from crawler.extract.document import find_links

_CREATE_PAGE = re.compile(r"(?<!function )createPageHTML\s*\(([^()]*)\)")
_NUMBER_VARIABLE = re.compile(r"\b(\w+)\s*[=:]\s*['\"]?(\d+)['\"]?\s*[;,\n}]")
# the page count (and the current page, counting from 0) TRS templates keep in variables
_TRS_COUNT = ("countPage", "maxPageNum", "pageCount", "totalPage")
_TRS_CURRENT = ("currentPage", "curPage", "nCurrIndex")
_DATASTORE = re.compile(r"<datastore>.*?</datastore>", re.S)
_RECORD = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S)
_TOTAL_PAGE = re.compile(r"<totalpage>\s*(\d+)\s*</totalpage>")
_TOTAL_RECORD = re.compile(r"<totalrecord>\s*(\d+)\s*</totalrecord>")
_NEXT_GROUP = re.compile(r"<nextgroup>\s*<!\[CDATA\[.*?href=[\"']([^\"']+)[\"']", re.S)


@dataclass
class ListRequest:
    url: str
    method: str = "GET"
    form: dict[str, str] | None = None  # a POST's form fields
    json: dict | None = None  # a POST's JSON body


@dataclass
class ListPage:
    links: list[tuple[str, str]]  # (absolute URL, link text), in page order (newest first)
    next: ListRequest | None = None
    dates: dict[str, str] = field(default_factory=dict)  # a JSON list's record dates, by URL
    error: str | None = None  # the page is not what its kind says (not JSON, no records there)

    @property
    def next_url(self) -> str | None:
        return self.next.url if self.next else None


def _get(url: str | None) -> ListRequest | None:
    return ListRequest(url) if url else None


def first_request(start_url: str, pagination: Pagination) -> ListRequest:
    """The request for a column's first list page: the start URL, or for a JSON endpoint
    without an HTML first page, its first page."""
    if pagination.kind == "json" and not pagination.url:
        return json_page_request(start_url, pagination, pagination.first)
    return ListRequest(start_url)


def parse_list_page(text: str, url: str, pagination: Pagination, start_url: str, index: int,
                    form: dict[str, str] | None = None) -> ListPage:
    """`index` counts list pages of this column from 0 (the start URL); `form` is what the page
    was POSTed with, if it was."""
    parse = {"static": _static, "trs": _trs, "hanweb": _hanweb, "next_link": _next_link, "json": _json}
    return parse[pagination.kind](text, url, pagination, start_url, index, form)


def _static(text, url, pagination, start_url, index, form) -> ListPage:
    next_name = pagination.template.format(n=pagination.first + index)
    return ListPage(find_links(text, url), _get(urljoin(start_url, next_name)))


def trs_page_count(text: str, url: str) -> tuple[int, int, str, str] | None:
    """(page count, current page from 0, file stem, extension) a TRS list page states, or None."""
    numbers = dict(_NUMBER_VARIABLE.findall(text))

    def value(arg: str) -> int | None:
        arg = arg.strip().strip("\"'")
        return int(arg) if arg.isdigit() else int(numbers[arg]) if arg in numbers else None

    for call in _CREATE_PAGE.finditer(text):
        args = [a.strip() for a in call.group(1).split(",")]
        if len(args) >= 5 and args[0][:1] in "\"'":  # createPageHTML('page_div', count, current, name, ext, records)
            args = args[1:]
        if len(args) >= 4 and (count := value(args[0])) is not None and (current := value(args[1])) is not None:
            return count, current, args[2].strip("\"' "), args[3].strip("\"' ")
    count = next((int(numbers[n]) for n in _TRS_COUNT if n in numbers), None)
    if count is None:
        return None
    name = urlsplit(url).path.rsplit("/", 1)[-1] or "index.html"
    stem, _, ext = name.partition(".")
    paged = re.fullmatch(r"(.+)_(\d+)", stem)
    current = next((int(numbers[n]) for n in _TRS_CURRENT if n in numbers), int(paged[2]) if paged else 0)
    return count, current, paged[1] if paged else stem, ext or "html"


def _trs(text, url, pagination, start_url, index, form) -> ListPage:
    next_url = None
    if stated := trs_page_count(text, url):
        count, current, name, ext = stated
        if current + 1 < count:
            next_url = urljoin(url, f"{name}_{current + 1}.{ext}")
    return ListPage(find_links(text, url), _get(next_url))


def _hanweb(text, url, pagination, start_url, index, form) -> ListPage:
    store = _DATASTORE.search(text)
    if store is None:  # a column without a datastore: plain links, no paging
        return ListPage(find_links(text, url))
    xml = store.group(0)
    links = [link for record in _RECORD.findall(xml) for link in find_links(f"<ul>{record}</ul>", url)]
    nextgroup = _NEXT_GROUP.search(xml)
    if pagination.perpage:
        return ListPage(links, _hanweb_window(xml, url, pagination, len(links), nextgroup, form))
    next_request = None
    total = _TOTAL_PAGE.search(xml)
    if nextgroup and total:
        # the nextgroup link carries webid/columnid/unitid; its page number is the one after this
        proxy = urlsplit(urljoin(url, nextgroup.group(1).replace("&amp;", "&")))
        query = parse_qs(proxy.query, keep_blank_values=True)
        page = index + 2  # the column page is page 1
        if page <= int(total.group(1)):
            query["page"] = [str(page)]
            next_request = ListRequest(urlunsplit(proxy._replace(query=urlencode(query, doseq=True, safe="/"))))
    return ListPage(links, next_request)


def _hanweb_window(xml, url, pagination, count, nextgroup, form) -> ListRequest | None:
    """The POST for the records after this page's: the column page holds records 1..count, a
    dataproxy.jsp answer those its URL's startrecord..endrecord asked for."""
    query = parse_qs(urlsplit(url).query)
    last = int(query["endrecord"][0]) if "endrecord" in query else count
    total = _TOTAL_RECORD.search(xml)
    if not count or (total and last >= int(total.group(1))):
        return None
    if form is None:  # from the column page: the nextgroup link names the column
        if not nextgroup:
            return None
        proxy = urljoin(url, nextgroup.group(1).replace("&amp;", "&"))
        form = {k: v[0] for k, v in parse_qs(urlsplit(proxy).query, keep_blank_values=True).items() if k != "page"}
    else:
        proxy = url
    size = pagination.perpage * pagination.group
    window = urlencode({"startrecord": last + 1, "endrecord": last + size, "perpage": pagination.perpage})
    return ListRequest(urlunsplit(urlsplit(proxy)._replace(query=window)), "POST", form=form)


def _next_link(text, url, pagination, start_url, index, form) -> ListPage:
    links = find_links(text, url)
    wanted = set(pagination.next_text)
    next_url = next((href for href, label in links if label.strip("[]【】<>《》 ") in wanted and href != url), None)
    return ListPage(links, _get(next_url))


# ---------------------------------------------------------------------------- json

def json_page_request(endpoint: str, pagination: Pagination, page: int) -> ListRequest:
    """Page `page` of a JSON endpoint: the params and the page number in the query (GET) or
    the body (POST)."""
    params = {**pagination.params, pagination.page_param: page}
    if pagination.page_size_param and pagination.page_size:
        params[pagination.page_size_param] = pagination.page_size
    if pagination.method == "GET":
        parts = urlsplit(endpoint)
        query = parse_qs(parts.query, keep_blank_values=True) | {k: [str(v)] for k, v in params.items()}
        return ListRequest(urlunsplit(parts._replace(query=urlencode(query, doseq=True, safe="/"))))
    if pagination.body == "json":
        return ListRequest(endpoint, "POST", json=params)
    return ListRequest(endpoint, "POST", form={k: str(v) for k, v in params.items()})


def json_path(data, path: str | None):
    """The value at a dot path ("data.docs", "items.0.url"; "." is the document), or None."""
    if path is None:
        return None
    for part in (p for p in path.split(".") if p):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.lstrip("-").isdigit() and -len(data) <= int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def _json(text, url, pagination, start_url, index, form) -> ListPage:
    endpoint = urljoin(start_url, pagination.url) if pagination.url else start_url
    if pagination.url and index == 0:  # the HTML first page; the JSON pages follow it
        return ListPage(find_links(text, url), json_page_request(endpoint, pagination, pagination.first))
    try:
        data = json.loads(text)
    except ValueError as exc:
        return ListPage([], error=f"not JSON ({exc})")
    records = json_path(data, pagination.records)
    if not isinstance(records, list):
        return ListPage([], error=f"no list of records at {pagination.records!r}")
    links, dates = [], {}
    for record in records:
        href = json_path(record, pagination.record_url)
        if not isinstance(href, str) or not href.strip():
            continue
        # record URLs are written for the list's HTML page, not the API
        link = urljoin(start_url, href.strip())
        links.append((link, str(json_path(record, pagination.record_title) or "").strip()))
        if (date := json_path(record, pagination.record_date)) is not None:
            dates[link] = str(date)
    page = pagination.first + index - (1 if pagination.url else 0)
    next_request = json_page_request(endpoint, pagination, page + 1) if records else None
    total = json_path(data, pagination.total)
    if str(total).isdigit() and page >= math.ceil(int(total) / (pagination.page_size or len(records) or 1)):
        next_request = None
    return ListPage(links, next_request, dates)


def advertised_pages(text: str, url: str) -> int | None:
    """How many list pages the page itself says its list has (TRS createPageHTML's count, a
    Hanweb datastore's <totalpage>), whatever the configured pagination kind: a walk that ends
    before it was configured for another kind of list."""
    if stated := trs_page_count(text, url):
        return stated[0]
    if m := _TOTAL_PAGE.search(text):
        return int(m[1])
    return None
