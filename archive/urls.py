"""Canonical URLs: the key an article is stored under, so one page is never stored twice.

w3lib's canonicalisation (sorted query, normalised escapes, no fragment), tracking
parameters dropped, and, where a site's config says its pages answer the same on both,
http/https and `dir/` vs `dir/index.html` folded into one.
"""

from __future__ import annotations

import re

from w3lib.url import canonicalize_url, url_query_cleaner

# parameters that say how a reader arrived, not which page it is (analytics, WeChat shares)
TRACKING_PARAMETERS = (
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "utm_id", "spm", "fbclid", "gclid",
    "isappinstalled", "scene", "clicktime", "enterid", "wxfrom", "share_token", "sharer_shareid", "sharer_sharetime",
)
# `from` is a WeChat share marker only with these values; elsewhere it may select content
_WECHAT_FROM = re.compile(r"([?&])from=(?:singlemessage|timeline|groupmessage)(?=&|$)")
_INDEX_PAGE = re.compile(r"/(?:index|default)\.s?html?$", re.IGNORECASE)


def canonical(url: str, *, fold_scheme: bool = False, fold_index: bool = False) -> str:
    url = _WECHAT_FROM.sub(r"\1", url).replace("?&", "?").rstrip("?&")
    url = url_query_cleaner(url, TRACKING_PARAMETERS, remove=True, keep_fragments=False)
    url = canonicalize_url(url, keep_fragments=False)
    if fold_scheme and url.startswith("https://"):
        url = "http://" + url[len("https://"):]
    if fold_index:
        path, sep, query = url.partition("?")
        url = _INDEX_PAGE.sub("/", path) + sep + query
    return url


def variants(url: str) -> list[str]:
    """Every key the URL may be stored under, whatever its site's folding settings."""
    keys = [canonical(url)]
    for fold_scheme, fold_index in ((True, False), (False, True), (True, True)):
        key = canonical(url, fold_scheme=fold_scheme, fold_index=fold_index)
        if key not in keys:
            keys.append(key)
    return keys
