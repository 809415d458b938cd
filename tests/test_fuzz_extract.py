"""Fuzzing the extraction entry point with mutated pages of our own: whatever a server sends,
extraction returns an article (perhaps without a body) instead of raising."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.extract import extract_article

PAGE = ('<html><head><meta charset="{charset}"><title>滨河市召开安全生产工作推进会</title></head><body>'
        '<div class="nav"><a href="/">首页</a> &gt; <a href="/zwdt/">政务动态</a></div>'
        '<h1>滨河市召开安全生产工作推进会</h1>'
        '<div class="info">发布时间：2026-03-02 09:30 来源：滨河市政府办公室</div>'
        '<div class="article-content"><p>会议听取了各部门进展情况汇报，研究解决存在的困难和问题。</p>'
        '<p>会议要求各单位对照年初确定的目标任务，逐项梳理、查漏补缺。</p>'
        '<p>责任编辑：李镕</p></div><div class="footer">版权所有 滨河市人民政府</div></body></html>')

# what servers put into pages: control characters, comments and stray tags in odd places,
# entities, other scripts
FRAGMENTS = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\ufeff", "\ufffd", "<!-- x -->", "<!--",
             "-->", "<!---->", "</html>", "<html>", "</body>", "<p>", "</p>", "</div>", "<br/>", "<script>",
             "</script>", "<![CDATA[", "]]>", "&nbsp;", "&#0;", "&#x1;", "&#12345678;", "&", "<", ">", "\"", "'",
             "<?xml version='1.0'?>", "<!DOCTYPE html>", "<title>", "<meta charset=big5>", "來源：", "发布时间：",
             "責任編輯：", "\r", "\n", "\t", "滨河", "𠀀", "é", "\u202e", "\u200b"]


@st.composite
def mutated_pages(draw) -> tuple[bytes, str]:
    page = PAGE.format(charset=draw(st.sampled_from(["utf-8", "gb2312", "gbk", "big5", "latin-1", "nonsense"])))
    for _ in range(draw(st.integers(0, 12))):
        at = draw(st.integers(0, len(page)))
        kind = draw(st.sampled_from(["insert", "insert", "delete", "nest"]))
        if kind == "insert":
            page = page[:at] + draw(st.sampled_from(FRAGMENTS)) + page[at:]
        elif kind == "delete":  # truncated tags and pages
            page = page[:at] + page[at + draw(st.integers(1, 40)):]
        else:  # deep nesting
            depth = draw(st.integers(1, 400))
            page = page[:at] + "<div>" * depth + "嵌套" + "</div>" * draw(st.integers(0, depth)) + page[at:]
    encoding = draw(st.sampled_from(["utf-8", "gb18030", "big5", "utf-16"]))
    body = page.encode(encoding, errors="replace")
    if draw(st.booleans()):  # mixed encodings: a stretch of the page in another one
        at = draw(st.integers(0, len(body)))
        body = body[:at] + "混合編碼的段落".encode(draw(st.sampled_from(["gb18030", "utf-8", "big5"]))) + body[at:]
    if draw(st.booleans()):
        body = body[:draw(st.integers(0, len(body)))]
    content_type = draw(st.sampled_from(["text/html", "text/html; charset=utf-8", "text/html; charset=gbk", ""]))
    return body, content_type


TEXT = ("<p>滨河市图书馆自下月起延长开放时间至晚九点，周末照常开放。</p>"
        "<p>馆方表示，此举是为了方便上班族和学生在晚间借阅图书，工作日照常开放。</p>")
# Pages that once crashed extraction (found by this test); minimal forms, with the text that
# must survive
ONCE_CRASHING = {
    # NUL/control characters after a comment reached lxml ("All strings must be XML compatible")
    "control characters after a comment": ("<html><body><!-- c -->\x00\x08<h1>滨河市图书馆延长开放时间</h1>"
                                           f"{TEXT}</body></html>".encode(), "延长开放时间至晚九点"),
    # a stray </body> before <html>: lxml.html returned a plain etree element
    "stray </body> before <html>": (f"<</body>html><body>{TEXT}</body></html>".encode(), "工作日照常开放"),
}


@pytest.mark.parametrize(("body", "text"), ONCE_CRASHING.values(), ids=ONCE_CRASHING.keys())
def test_pages_that_once_crashed_keep_their_text(body, text):
    article = extract_article(body, "http://www.binhe.gov.cn/zwdt/202603/t20260302_1.html", "text/html")
    assert text in (article.body or "")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated_pages())
def test_extraction_never_raises_on_mutated_pages(page):
    body, content_type = page
    article = extract_article(body, "http://www.binhe.gov.cn/zwdt/202603/t20260302_1.html", content_type)
    assert article.body is None or isinstance(article.body, str)
