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
    essay = """<html><body><h1>给计算机系学生的建议</h1><div id="zoom"><p>2005年1月2日</p>
    <p>大学生们现在还是偶尔向我请教职业发展的问题，所以我把我的建议写下来，以供学生们阅读。</p>
    </div></body></html>""".encode()
    b = extract_article(essay, "http://x.com/a.html")
    assert b.publish_time.isoformat() == "2005-01-02" and not b.body.startswith("2005")


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
    html = f"""<html><head><title>随笔：把小事做好 - 林间小记 - 博客园</title></head><body>
    <form name="Form1" method="post" action="1.aspx"><div class="post"><h2>随笔：把小事做好</h2>
    <div class="postBody">{PROSE}</div><div class="postFoot">发表于2005年09月07日 11:57 AM</div></div></form>
    </body></html>"""
    article = extract_article(html.encode(), "http://blog.example.com/1.aspx")
    assert article.title == "随笔：把小事做好"
    assert article.as_record()["publish_time"] == "2005-09-07T11:57+08:00"


def test_wechat_creation_time_journal_meta_and_forum_posters():
    wechat = f"""<html><head><title>通知</title></head><body><h1 class="rich_media_title">关于做好冬季供暖工作的通知</h1>
    <em id="publish_time">昨天</em><div id="js_content">{PROSE}</div>
    <script>var ct = "1763790000"; var user_name = "gh_x";</script></body></html>"""
    assert extract_article(wechat.encode(), "https://mp.weixin.qq.com/s/x").as_record()["publish_time"] == \
        "2025-11-22T13:40:00+08:00"
    journal = f"""<html><head><title>论文</title><meta name="citation_author" content="孙  晴">
    <meta name="citation_author" content="李响"><meta name="citation_date" content="2024-05-16"></head>
    <body><h1>县域电商物流配送的问题与对策</h1><div class="abstract">{PROSE}</div></body></html>"""
    record = extract_article(journal.encode(), "https://www.example.org/paper/1").as_record()
    assert record["reporters"] == ["孙晴", "李响"] and record["publish_time"] == "2024-05-16"
    forum = f"""<html><head><title>求助：老相机怎么保养 - 摄影论坛</title></head><body><table>
    <tr><td><a href="user.php?lookuserid=10086">夜雨&amp;听风</a></td><td>{PROSE}</td></tr></table>
    <p>作者：小河边游击将军(五品)积分:52310 顶一下,好帖^_^ 文章 道具：时光机 金钥匙</p></body></html>"""
    assert extract_article(forum.encode(), "http://bbs.example.com/t/1").reporters == ["夜雨&听风"]


def test_the_site_name_in_title_is_no_headline_and_credits_close_the_text():
    html = f"""<html><head><title>学会动态--滨河市地理学会官网</title></head><body>
    <div class="logo"><a href="/">滨河市地理学会</a></div><h3>首页 - 学会动态</h3>
    <div class="news"><h5>2026年滨河地理学术年会在长宁区成功举行！</h5>
    <div class="content">{PROSE}<p>本报记者张岩刘畅发自济南</p><div align="right">（高远）</div></div></div>
    </body></html>"""
    article = extract_article(html.encode(), "http://www.example.org/news/1.html")
    assert article.title == "2026年滨河地理学术年会在长宁区成功举行！"
    # every credit the page prints counts: the closing byline and the bracketed name under it
    assert article.reporters == ["张岩", "刘畅", "高远"] and "高远" not in article.body and "张岩" not in article.body
    byline = f"""<html><head><title>大会开幕_新闻</title></head><body><h1>大会开幕</h1><div class="c">
    <p>本报记者张岩刘畅发自济南</p>{PROSE}</div></body></html>"""
    assert extract_article(byline.encode(), "http://www.example.org/2.html").reporters == ["张岩", "刘畅"]
    bbs = f"""<html><head><title>BINHE.com- 滨河论坛 :: null</title></head><body><table><tr>
    <td class="large"><b>主题：</b>老城区停车难，有什么好办法吗？</td></tr>
    <tr><td>{PROSE}</td></tr></table></body></html>"""
    assert extract_article(bbs.encode(), "http://bbs.example.com/1").title == "老城区停车难，有什么好办法吗？"
