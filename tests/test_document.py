"""Pages that broke the parser: each must come out whole, as a record, never as an exception."""

import pytest

from crawler.extract import extract_article, extract_from_html
from crawler.extract.document import MAX_DEPTH, parse, text_of

TITLE = "滨河市召开秋季安全生产工作会议"
PARAGRAPHS = [
    "8月31日下午，滨河市召开秋季安全生产工作会议，分析当前安全生产形势，部署下一阶段重点工作。",
    "会议要求，各部门要压紧压实安全责任，聚焦危化品、建筑施工等重点领域，深入开展隐患排查整治。",
    "会议强调，要完善应急预案，强化值班值守，确保人民群众生命财产安全。",
]
ARTICLE = (f'<h1>{TITLE}</h1><div class="TRS_Editor">'
           + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + "</div>")
HEADER = '<div class="top"><a href="/">首页</a> <a href="/zwgk/">政务公开</a></div>'


def shell(inner: str) -> str:
    return f"<html><head><title>{TITLE}_滨河市人民政府</title></head><body>{inner}</body></html>"


# an included header fragment closes the document it was cut from
STRAY_ENDINGS = ["</body></html>", "</html>", "</HTML>", "</body>\n</html >", "</html><html><head></head><body>",
                 "</body></html>\n<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>"]


@pytest.mark.parametrize("stray", STRAY_ENDINGS)
def test_a_stray_end_of_document_does_not_end_the_page(stray):
    article = extract_from_html(shell(HEADER + stray + ARTICLE), "http://www.binhe.gov.cn/zwdt/1.html")
    assert article.title == TITLE and article.body == "\n".join(PARAGRAPHS)


# raw, or written as a character reference that the parser turns into the raw character
@pytest.mark.parametrize("char", ["\x01", "\x08", "\x0b", "\x0c", "\x1f", "\x00", "\ufffe",
                                  "&#1;", "&#x1;", "&#X1F;", "&#0008;", "&#x0b;", "&#31;"])
@pytest.mark.parametrize("where", ["after a comment", "in a paragraph", "in the title"])
def test_characters_xml_forbids_do_not_crash_extraction(char, where):
    html = shell(ARTICLE)
    if where == "after a comment":
        html = html.replace("<p>会议要求", f"<p><!-- 正文 -->{char}会议要求")
    elif where == "in a paragraph":
        html = html.replace("分析当前", f"分析{char}当前")
    else:
        html = html.replace("<title>滨河市", f"<title>滨河{char}市")
    article = extract_from_html(html, "http://www.binhe.gov.cn/zwdt/2.html")
    assert article.title == TITLE and article.body is not None
    assert article.body.replace(" ", "") == "\n".join(PARAGRAPHS).replace(" ", "")


def test_control_characters_in_the_bytes_give_a_record():
    body = shell(ARTICLE.replace("<p>会议要求", "<p><!--x-->\x02\x03会议要求")).encode("gbk")
    article = extract_article(body, "http://www.binhe.gov.cn/zwdt/3.html", "text/html; charset=gbk")
    assert article.body == "\n".join(PARAGRAPHS)


@pytest.mark.parametrize("depth", [100, 300, 1500, 3000])
@pytest.mark.parametrize("tag", ["div", "font", "span"])
def test_deeply_nested_content_is_kept(depth, tag):
    """Unclosed tags pile up on real pages (a <font> per paragraph never closed)."""
    nested = "".join(f"<{tag}><p>{PARAGRAPHS[i % 3]}第{i}段。</p>" for i in range(depth))
    html = shell(f'<h1>{TITLE}</h1><div id="zoom">{nested}</div><div class="footer">主办单位：滨河市人民政府办公室</div>')
    article = extract_from_html(html, "http://www.binhe.gov.cn/zwdt/4.html")
    assert article.body is not None
    assert "第0段。" in article.body and f"第{depth - 1}段。" in article.body
    assert "主办单位" not in article.body
    tree = parse(html)
    assert max(sum(1 for _ in node.iterancestors()) for node in tree.iter()) <= MAX_DEPTH
    assert text_of(tree).count("段。") == depth
