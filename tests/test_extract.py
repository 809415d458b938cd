"""The extractor never crashes on bad input: it returns a record with body None and a warning."""

import pytest

from crawler.extract import ExtractOptions, extract_article

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"


@pytest.mark.parametrize("body", [b"", b"   \n", PNG, PDF, b"<html><head><title>x</title></head><body></body></html>",
                                  b"<html><body><div><p>" + b"\xff\xfe\xfd" * 50 + b"</div>",
                                  b"<<<>>><p<p<p>>", "导航 首页 关于".encode("gbk")])
def test_bad_input_gives_a_record_not_a_crash(body):
    article = extract_article(body, "http://x.gov.cn/a.html")
    assert article.body is None or isinstance(article.body, str)
    if article.body is None:
        assert article.quality["warnings"]


def test_twenty_megabyte_page():
    paragraph = "<p>滨河市召开会议，研究部署下一阶段重点工作，要求各部门压实责任、狠抓落实。</p>"
    body = ("<html><body><div id='zoom'>" + paragraph * 250_000 + "</div></body></html>").encode()
    assert len(body) > 20_000_000
    article = extract_article(body, "http://x.gov.cn/a.html")
    assert article.body and article.body.count("\n") == 250_000 - 1


def test_site_selectors_take_priority():
    html = """<html><head><title>t</title></head><body>
    <div id="main"><p>正确的正文，站点配置指定了它。这一段足够长，可以作为正文。</p></div>
    <div id="other"><p>别的内容，很长很长很长很长很长很长很长很长很长很长，很长很长很长很长，很长很长很长很长。</p>
    <p>别的内容，很长很长很长很长很长很长很长很长很长很长，很长很长很长很长，很长很长很长很长。</p></div>
    <h2 class="t">配置里的标题</h2></body></html>""".encode()
    article = extract_article(body=html, url="http://x.com/1.html",
                              options=ExtractOptions(selectors={"body": "#main", "title": "h2.t"}))
    assert article.body == "正确的正文，站点配置指定了它。这一段足够长，可以作为正文。"
    assert article.title == "配置里的标题"


def test_metadata_lines_become_fields_and_leave_the_body():
    html = """<html><body><h1>滨河港集装箱吞吐量创新高</h1><div class="content">
    <p>来源：滨河日报　发布时间：2026-09-03 08:30</p>
    <p>原标题：前8个月吞吐量186万标准箱</p>
    <p>本报讯（记者 赵昇 通讯员 钱垚）今年1至8月，滨河港完成集装箱吞吐量186万标准箱，同比增长11.4%。</p>
    <p>港口相关负责人表示，二期码头投产后，年通过能力将再提高80万标准箱。</p>
    <p>责任编辑：孙璟</p></div></body></html>""".encode()
    a = extract_article(html, "http://n.com/x.shtml")
    assert (a.source, a.publish_time.isoformat(), a.original_title) == (
        "滨河日报", "2026-09-03T08:30+08:00", "前8个月吞吐量186万标准箱")
    assert a.editors == ["孙璟"] and a.reporters == ["赵昇", "钱垚"]
    assert a.body.startswith("本报讯") and "责任编辑" not in a.body and "来源" not in a.body


def test_a_notice_keeps_its_signature_and_date_while_a_dateline_under_the_headline_goes():
    notice = """<html><body><h1>滨河市人民政府关于印发城市更新专项规划的通知</h1><div id="zoom">
    <p>各县（市、区）人民政府，市政府各部门：</p>
    <p>《滨河市城市更新专项规划》已经市政府同意，现印发给你们，请认真组织实施。</p>
    <p>滨河市人民政府</p><p>2026年10月10日</p></div></body></html>""".encode()
    a = extract_article(notice, "http://x.gov.cn/a.html")
    assert a.body.endswith("滨河市人民政府\n2026年10月10日")
    essay = """<html><body><h1>写给刚入行的年轻编辑</h1><div id="zoom"><p>2019年3月8日</p>
    <p>常有刚入行的同事问我怎样改稿，我把这些年的体会整理成几条，写在这里供大家参考。</p>
    </div></body></html>""".encode()
    b = extract_article(essay, "http://x.com/a.html")
    assert b.publish_time.isoformat() == "2019-03-08" and not b.body.startswith("2019")


def test_json_ld_metadata():
    page = """<html><head><script type="application/ld+json">{"@context": "https://schema.org",
    "@type": "NewsArticle", "headline": "滨河港集装箱吞吐量创新高", "datePublished": "2026-09-03T08:30:12+08:00",
    "author": [{"@type": "Person", "name": "赵昇"}, {"@type": "Person", "name": "钱垚"}]}</script>
    <script type="application/ld+json">{not json</script></head>
    <body><div id="zoom"><p>今年1至8月，滨河港完成集装箱吞吐量186万标准箱，同比增长11.4%。</p></div></body></html>"""
    a = extract_article(page.encode(), "http://n.com/1.html")
    assert (a.title, a.publish_time.isoformat(), a.reporters) == (
        "滨河港集装箱吞吐量创新高", "2026-09-03T08:30:12+08:00", ["赵昇", "钱垚"])


PROSE = "".join(f"<p>第{n}段：滨河市召开会议，研究部署下一阶段重点工作，要求各部门压实责任、狠抓落实，确保各项任务如期完成。</p>"
                for n in range(1, 5))


def test_bylines_of_aspnet_pages_wrapped_in_one_form_are_read():
    html = f"""<html><head><title>周末随笔：旧书摊 - 河畔书屋 - 博客</title></head><body>
    <form id="aspnetForm" method="post" action="./ViewPost.aspx?id=318"><div class="entry">
    <h2>周末随笔：旧书摊</h2><div class="entry-body">{PROSE}</div>
    <p class="entry-info">posted @ 2011-04-18 21:05 河畔书屋 阅读(36)</p></div></form>
    </body></html>"""
    article = extract_article(html.encode(), "http://blog.example.com/ViewPost.aspx?id=318")
    assert article.title == "周末随笔：旧书摊"
    assert article.as_record()["publish_time"] == "2011-04-18T21:05+08:00"


def test_wechat_creation_time_journal_meta_and_forum_posters():
    wechat = f"""<html><head><title>通知</title></head><body><h1 class="rich_media_title">关于做好冬季供暖工作的通知</h1>
    <em id="publish_time">昨天</em><div id="js_content">{PROSE}</div>
    <script>var ct = "1763790000"; var user_name = "gh_x";</script></body></html>"""
    assert extract_article(wechat.encode(), "https://mp.weixin.qq.com/s/x").as_record()["publish_time"] == \
        "2025-11-22T13:40:00+08:00"
    journal = f"""<html><head><meta name="citation_date" content="2023/11/02"><title>期刊</title>
    <meta name="citation_author" content="欧阳  明"><meta name="citation_author" content="林晓"></head>
    <body><h1>城市更新中的社区参与机制研究</h1><div class="paper-abstract">{PROSE}</div></body></html>"""
    record = extract_article(journal.encode(), "https://journal.example.org/article/77").as_record()
    assert record["reporters"] == ["欧阳明", "林晓"] and record["publish_time"] == "2023-11-02"
    forum = f"""<html><head><title>请教：阳台种番茄要注意什么 - 园艺版 - 滨河社区</title></head><body>
    <div class="post"><div class="post-author"><a href="home.php?mod=space&amp;uid=2041">晴川&amp;阁主</a></div>
    <div class="post-message">{PROSE}</div></div>
    <div class="signature">作者：晴川阁主 等级：举人 经验值:8812 金币:97 勋章：热心会员 园艺达人 在线时长:310小时</div>
    </body></html>"""
    assert extract_article(forum.encode(), "http://bbs.example.com/thread-9-1.html").reporters == ["晴川&阁主"]


def test_the_site_name_in_title_is_no_headline_and_credits_close_the_text():
    html = f"""<html><head><title>协会动态 | 滨河摄影网</title></head><body>
    <div id="brand"><a href="/">滨河摄影网</a></div><h2 class="crumb">首页 - 协会动态</h2>
    <div class="main"><div class="art-title">第十二届运河印象摄影展在市美术馆开幕</div>
    <div class="art-text">{PROSE}<p>本报记者王楠李卓发自青岛</p><p align="right">（周遥）</p></div></div>
    </body></html>"""
    article = extract_article(html.encode(), "http://www.example.org/news/1.html")
    assert article.title == "第十二届运河印象摄影展在市美术馆开幕"
    # every credit the page prints counts: the closing byline and the bracketed name under it
    assert article.reporters == ["王楠", "李卓", "周遥"] and "周遥" not in article.body and "王楠" not in article.body
    byline = f"""<html><head><title>港口年会开幕_要闻</title></head><body><h1>港口年会开幕</h1><div class="c">
    <p>本报记者韩冰孟奇发自郑州</p>{PROSE}</div></body></html>"""
    assert extract_article(byline.encode(), "http://www.example.org/2.html").reporters == ["韩冰", "孟奇"]
    bbs = f"""<html><head><title>滨河社区 :: 家长交流区</title></head><body>
    <div class="thread-head"><strong>标题：</strong>孩子放学后的托管，大家怎么安排？</div>
    <div class="thread-body">{PROSE}</div></body></html>"""
    assert extract_article(bbs.encode(), "http://bbs.example.com/1").title == "孩子放学后的托管，大家怎么安排？"
