"""List pages: the links a list page holds and where its next page is, for each pagination
kind of config.yaml. Pure functions over decoded text.

- static     index.html, index_1.html, …: the next page's name comes from a template
- trs        TRS WCM: createPageHTML(countPage, currentPage, "index", "html") in a script
- hanweb     Hanweb jcms: a <datastore> (in a <script type="text/xml"> on the column page, bare
             XML from dataproxy.jsp) with <totalpage> and a <nextgroup> link to the next page
- next_link  a link whose text is 下一页 (or another configured text)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

from crawler.config import Pagination
from crawler.extract import find_links

_CREATE_PAGE = re.compile(r"createPageHTML\(\s*(\d+)\s*,\s*(\d+)\s*,\s*[\"']([^\"']+)[\"']\s*,\s*[\"']([^\"']+)[\"']")
_DATASTORE = re.compile(r"<datastore>.*?</datastore>", re.S)
_RECORD = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S)
_TOTAL_PAGE = re.compile(r"<totalpage>\s*(\d+)\s*</totalpage>")
_NEXT_GROUP = re.compile(r"<nextgroup>\s*<!\[CDATA\[.*?href=[\"']([^\"']+)[\"']", re.S)


@dataclass
class ListPage:
    links: list[tuple[str, str]]  # (absolute URL, link text), in page order (newest first)
    next_url: str | None


def parse_list_page(text: str, url: str, pagination: Pagination, start_url: str, index: int) -> ListPage:
    """`index` counts list pages of this column from 0 (the start URL)."""
    parse = {"static": _static, "trs": _trs, "hanweb": _hanweb, "next_link": _next_link}[pagination.kind]
    return parse(text, url, pagination, start_url, index)


def _static(text, url, pagination, start_url, index) -> ListPage:
    next_name = pagination.template.format(n=pagination.first + index)
    return ListPage(find_links(text, url), urljoin(start_url, next_name))


def _trs(text, url, pagination, start_url, index) -> ListPage:
    next_url = None
    if m := _CREATE_PAGE.search(text):
        count, current, name, ext = int(m[1]), int(m[2]), m[3], m[4]
        if current + 1 < count:
            next_url = urljoin(url, f"{name}_{current + 1}.{ext}")
    return ListPage(find_links(text, url), next_url)


def _hanweb(text, url, pagination, start_url, index) -> ListPage:
    store = _DATASTORE.search(text)
    if store is None:  # a column without a datastore: plain links, no paging
        return ListPage(find_links(text, url), None)
    xml = store.group(0)
    links = [link for record in _RECORD.findall(xml) for link in find_links(f"<ul>{record}</ul>", url)]
    next_url = None
    total = _TOTAL_PAGE.search(xml)
    nextgroup = _NEXT_GROUP.search(xml)
    if nextgroup and total:
        # the nextgroup link carries webid/columnid/unitid; its page number is the one after this
        proxy = urlsplit(urljoin(url, nextgroup.group(1).replace("&amp;", "&")))
        query = parse_qs(proxy.query, keep_blank_values=True)
        page = index + 2  # the column page is page 1
        if page <= int(total.group(1)):
            query["page"] = [str(page)]
            next_url = urlunsplit(proxy._replace(query=urlencode(query, doseq=True, safe="/")))
    return ListPage(links, next_url)


def _next_link(text, url, pagination, start_url, index) -> ListPage:
    links = find_links(text, url)
    wanted = set(pagination.next_text)
    next_url = next((href for href, label in links if label.strip("[]【】<>《》 ") in wanted and href != url), None)
    return ListPage(links, next_url)


def advertised_pages(text: str) -> int | None:
    """How many list pages the page itself says its list has (TRS createPageHTML's count, a
    Hanweb datastore's <totalpage>), whatever the configured pagination kind: a walk that ends
    before it was configured for another kind of list."""
    if m := _CREATE_PAGE.search(text):
        return int(m[1])
    if m := _TOTAL_PAGE.search(text):
        return int(m[1])
    return None
