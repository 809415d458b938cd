"""Extraction: pure functions from page bytes (+ headers, URL) to article fields.

Names are loaded on first use, so that the crawl process, which only decodes list pages and
reads their links (decode.py, document.py), does not import the whole extractor: that runs
in its extraction worker.
"""

from importlib import import_module

__all__ = [
    "Article", "Decoded", "ExtractOptions", "PublishTime", "decode_body", "extract_article",
    "extract_decoded", "extract_from_html", "extract_from_text", "find_links", "parse_publish_time", "publish_time_from_url",
]
_WHERE = {"Article": "article", "ExtractOptions": "article", "extract_article": "article",
          "extract_decoded": "article", "extract_from_html": "article", "extract_from_text": "article",
          "PublishTime": "dates", "parse_publish_time": "dates", "publish_time_from_url": "dates",
          "Decoded": "decode", "decode_body": "decode", "find_links": "document"}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(f"crawler.extract.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'crawler.extract' has no attribute {name!r}")
