"""Extraction: pure functions from page bytes (+ headers, URL) to article fields."""

from crawler.extract.article import (
    Article,
    ExtractOptions,
    extract_article,
    extract_decoded,
    extract_from_html,
    extract_from_text,
)
from crawler.extract.dates import PublishTime, parse_publish_time, publish_time_from_url
from crawler.extract.decode import Decoded, decode_body
from crawler.extract.document import find_links

__all__ = [
    "Article", "Decoded", "ExtractOptions", "PublishTime", "decode_body", "extract_article",
    "extract_decoded", "extract_from_html", "extract_from_text", "find_links", "parse_publish_time", "publish_time_from_url",
]
