"""Metadata precedence on pages of our own writing, varied systematically: publish-time forms ×
placements × URL date forms, source forms, title forms. Each asserts the fields and the body."""

import pytest

from crawler.extract import extract_article

BODY = ["滨河市今天启动老旧小区改造，首批涉及十二个小区，预计年底前完工。",
        "市住建局表示，改造内容包括加装电梯、更新管网和增设充电设施，居民可通过社区提出意见。"]
HEADLINE = "滨河市启动老旧小区改造"


def page(*, head: str = "", title: str = f"{HEADLINE}_滨河市人民政府网", above: str = "",
         headline: str = f"<h1>{HEADLINE}</h1>", below: str = "", after: str = "", aside: str = "") -> bytes:
    paragraphs = "".join(f"<p>{p}</p>" for p in BODY)
    return (f"<html><head><meta charset='utf-8'><title>{title}</title>{head}</head><body>"
            f"<div class='nav'><a href='/'>首页</a><a href='/xw/'>新闻动态</a><a href='/zw/'>政务公开</a></div>"
            f"{above}{headline}{below}<div class='TRS_Editor'>{paragraphs}</div>{after}"
            f"<div class='sidebar'>{aside}</div></body></html>").encode()


def extract(html: bytes, url: str = "http://www.binhe.gov.cn/xw/article_1.html"):
    return extract_article(html, url, "text/html; charset=utf-8")


def assert_body(article):
    assert article.body == "\n".join(BODY)


# the date beside the headline, in the forms and placements pages print it
PRINTED = [
    ("发布日期：{y}-{m}-{d} 09:30", "{y}-{m}-{d}T09:30+08:00"),
    ("发布时间：{y}年{m}月{d}日 09:30:15", "{y}-{m}-{d}T09:30:15+08:00"),
    ("{y}/{m}/{d} 09:30 来源：滨河日报", "{y}-{m}-{d}T09:30+08:00"),
    ("生成日期：{y}.{m}.{d}", "{y}-{m}-{d}"),
]
PLACEMENTS = [
    lambda line: {"below": f"<div class='info'>{line}</div>"},
    lambda line: {"below": f"<p><span>{line}</span></p>"},
    lambda line: {"below": f"<table><tr><td>{line}</td><td>【字号：大 中 小】</td></tr></table>"},
]


@pytest.mark.parametrize("printed, expected", PRINTED)
@pytest.mark.parametrize("place", PLACEMENTS)
def test_the_date_beside_the_headline(printed, expected, place):
    line = printed.format(y="2024", m="02", d="13")
    article = extract(page(**place(line)))
    assert article.publish_time.isoformat() == expected.format(y="2024", m="02", d="13")
    assert article.title == HEADLINE
    assert_body(article)


@pytest.mark.parametrize("day, month", [("<span class='day'>13</span>", "<span>2024年02月</span>"),
                                        ("<em>13</em>", "<p>2024-02</p>"), ("<b>2024.02</b>", "<b>13</b>")])
def test_a_date_split_across_elements_is_read_as_one(day, month):
    parts = f"{month}{day}" if month.startswith("<b>") else f"{day}{month}"
    article = extract(page(below=f"<div class='date'>{parts}</div>"))
    assert article.publish_time.isoformat() == "2024-02-13"
    assert_body(article)


URL_FORMS = ["http://www.binhe.gov.cn/xw/202402/t20240213_6116434.html",
             "http://www.binhe.gov.cn/xw/202402/13/content_1.html",
             "http://www.binhe.gov.cn/xw/2024-02/13/content_1.html",
             "http://www.binhe.gov.cn/art/2024/2/13/art_1_2.html"]
META_NAMES = ["PubDate", "firstpublishedtime"]


@pytest.mark.parametrize("url", URL_FORMS)
@pytest.mark.parametrize("meta_name", META_NAMES)
def test_a_meta_date_that_disagrees_with_the_url_loses_to_the_printed_one(url, meta_name):
    # the CMS re-stamped its <meta> on a later edit; the address still carries the first day
    meta = f"<meta name='{meta_name}' content='2024-03-01-23:59:59'>"
    article = extract(page(head=meta, below="<div>发布日期：2024-02-13 10:05</div>"), url)
    assert article.publish_time.isoformat() == "2024-02-13T10:05+08:00"
    assert_body(article)


@pytest.mark.parametrize("url", URL_FORMS)
def test_a_printed_date_that_disagrees_with_the_url_loses_to_the_meta_date(url):
    meta = "<meta name='PubDate' content='2024-02-13 08:00'>"
    article = extract(page(head=meta, below="<div>发布日期：2024-02-20</div>"), url)
    assert article.publish_time.isoformat() == "2024-02-13T08:00+08:00"
    assert_body(article)


@pytest.mark.parametrize("meta_name", META_NAMES)
def test_a_date_only_meta_takes_the_clock_the_page_prints(meta_name):
    meta = f"<meta name='{meta_name}' content='2024-02-13'>"
    article = extract(page(head=meta, below="<div>2024-02-13 16:45</div>"))
    assert article.publish_time.isoformat() == "2024-02-13T16:45+08:00"


@pytest.mark.parametrize("url", URL_FORMS)
def test_without_a_printed_date_the_url_gives_the_day(url):
    article = extract(page(), url)
    assert article.publish_time.isoformat() == "2024-02-13"
    assert article.publish_time_origin == "url"
    assert_body(article)


OTHER_DATES = [
    # a related list: each headline's link with its date
    {"after": "<div><h3>相关链接</h3><ul>" + "".join(
        f"<li><a href='/xw/{d}.html'>滨河市召开第{d}次工作会议</a><span>2023-11-{d}</span></li>" for d in (11, 12, 13))
        + "</ul></div>"},
    # a flat list: link, date, link, date
    {"after": "<table><tr><td>" + "".join(f"<a href='/{d}.html'>往期回顾第{d}期</a><font>(2023/10/{d} 17:06)</font><br>"
                                          for d in (10, 11, 12)) + "</td></tr></table>"},
    # a sidebar and a comment thread
    {"aside": "<div>精选文章（截止2023年8月10日）</div>"},
    {"after": "<div class='comment-list'><div>网友甲 2023-12-01 10:00</div><div>说得好</div></div>"},
    # a link that holds a date
    {"above": "<div><a href='/zt/'>专题：2023年12月民生实事</a></div>"},
]


@pytest.mark.parametrize("others", OTHER_DATES)
@pytest.mark.parametrize("own", [None, "2024-02-13 09:00"])
def test_dates_of_lists_sidebars_comments_and_links_never_date_the_article(others, own):
    below = f"<div class='info'>{own}</div>" if own else ""
    article = extract(page(below=below, **others), "http://www.binhe.gov.cn/xw/article_1.html")
    assert (article.publish_time.isoformat() if article.publish_time else None) == (
        "2024-02-13T09:00+08:00" if own else None)
    assert_body(article)


@pytest.mark.parametrize("header_date", ["2026年1月5日 星期一", "今天是：2026-01-05"])
@pytest.mark.parametrize("dateline", ["Saturday, September 10th, 2005 10:56 am", "2005年9月10日 10:56"])
def test_a_headers_todays_date_gives_way_to_the_bodys_dateline(header_date, dateline):
    html = (f"<html><head><title>滨河博客 » 周末随笔</title></head><body><div class='top'>{header_date}</div>"
            f"<div class='post'><p>{dateline}</p><p>周末随笔</p>" + "".join(f"<p>{p}</p>" for p in BODY)
            + "</div></body></html>").encode()
    article = extract(html, "http://blog.example.com/?p=1700")
    assert article.publish_time.isoformat() == "2005-09-10T10:56+08:00"
    assert article.body.endswith(BODY[-1])


@pytest.mark.parametrize("stamp", ["作者:binhe 阅读(1660) 评论(5) 发表于:2005-07-31 12:30",
                                   "本贴由滨河于2005年7月31日12:30:00在〖城市论坛〗发表."])
def test_a_posting_stamp_under_the_text_dates_a_blog_post(stamp):
    html = page(headline="<h2>周末随笔记</h2>", title="周末随笔记", after="")
    html = html.replace(b"</div><div class='sidebar'>", f"<p>{stamp}</p></div><div class='sidebar'>".encode())
    article = extract(html, "http://bbs.example.com/messages/5234.html")
    assert article.publish_time.isoformat().startswith("2005-07-31T12:30")


def test_the_date_of_an_original_title_line_is_another_articles():
    html = page(headline="<h2>周末随笔记（二）</h2>", title="周末随笔记（二）").replace(
        b"</div><div class='sidebar'>", "<p>原标题:【周末随笔记（一）】是滨河在2005年8月12日16:10:13发表</p></div>"
        "<div class='sidebar'>".encode())
    assert extract(html, "http://bbs.example.com/messages/5234.html").publish_time is None


# sources
SOURCES = [
    ("来源：{o}2024-05-13", "{o}"),
    ("来源：{o} 作者：张明", "{o}"),
    ("来源：《{o}》", "{o}"),
    ("来源：转自《{o}》", "{o}"),
    ("文章来源：{o} | 2024-05-13 10:00", "{o}"),
    ("来源： 访问量：199", None),
    ("出版社：{o}", "{o}"),
]
OUTLETS = ["滨河日报", "滨河新闻网", "人民文学出版社"]


@pytest.mark.parametrize("form, expected", SOURCES)
@pytest.mark.parametrize("outlet", OUTLETS)
def test_source_forms(form, expected, outlet):
    article = extract(page(below=f"<div class='info'>{form.format(o=outlet)}</div>"))
    assert article.source == (expected.format(o=outlet) if expected else None)
    assert_body(article)


@pytest.mark.parametrize("outlet", OUTLETS)
def test_a_reprint_line_at_the_end_names_the_source_and_leaves_the_body(outlet):
    html = page().replace(b"</div><div class='sidebar'>", f"<p>转自《{outlet}》</p></div><div class='sidebar'>".encode())
    article = extract(html)
    assert article.source == outlet
    assert_body(article)


@pytest.mark.parametrize("site", ["WWW.BINHE.COM", "http://www.binhe.net"])
@pytest.mark.parametrize("outlet, expected", [("《滨河周刊》", "滨河周刊"), ("滨河网—滨河晚报", "滨河网—滨河晚报"),
                                               ("滨河晚报", "滨河晚报")])
def test_an_outlet_after_the_dateline(site, outlet, expected):
    article = extract(page(below=f"<div>{site} 2024年05月13日 11:21 {outlet}</div>"))
    assert article.source == expected
    assert article.publish_time.isoformat() == "2024-05-13T11:21+08:00"


def test_a_meta_source_equal_to_the_title_is_ignored():
    head = f"<meta name='ContentSource' content='{HEADLINE}'>"
    article = extract(page(head=head, title=HEADLINE, below="<div>来源：滨河日报</div>"))
    assert article.source == "滨河日报"


# titles
TITLES = [
    # (<title>, headline element, expected)
    (f"{HEADLINE}_滨河市人民政府网", f"<h1>{HEADLINE}</h1>", HEADLINE),
    (f"{HEADLINE} - 新闻动态 - 滨河新闻网", f"<div class='title'>{HEADLINE}</div>", HEADLINE),
    (f"新华视界｜{HEADLINE}：首批十二个小区", f"<h1>新华视界｜{HEADLINE}：首批十二个小区</h1>",
     f"新华视界｜{HEADLINE}：首批十二个小区"),
    (f"图说滨河 | {HEADLINE}，年底前完工", f"<div class='tit'>图说滨河 | {HEADLINE}，年底前完工</div>",
     f"图说滨河 | {HEADLINE}，年底前完工"),
    (f"{HEADLINE} binhe  滨河Blog", f"<div><a href='/p/1'>{HEADLINE}</a></div>", HEADLINE),
    (f"*{HEADLINE}", f"<p><b>*{HEADLINE}</b></p>", HEADLINE),
    (f"■ {HEADLINE}", f"<h2>■ {HEADLINE}</h2>", HEADLINE),
    ("滨河网>新闻动态", f"<p><strong>{HEADLINE}</strong></p>", HEADLINE),
]


@pytest.mark.parametrize("title, headline, expected", TITLES)
def test_title_forms(title, headline, expected):
    article = extract(page(title=title, headline=headline))
    assert article.title == expected
    assert_body(article)


@pytest.mark.parametrize("separator", ["<div>", "<br/><span>", "<p>"])
def test_markup_in_a_meta_title_goes_with_the_subtitle_it_sets_apart(separator):
    closing = "</" + separator.split("<")[-1]
    meta = f"<meta name='ArticleTitle' content=\"{HEADLINE}{separator}——写在改造启动之际{closing}\">"
    article = extract(page(head=meta))
    assert article.title == HEADLINE
    assert_body(article)


@pytest.mark.parametrize("category", ["[城市建设]", "【民生】"])
def test_a_headline_the_body_repeats_after_a_category_link(category):
    html = (f"<html><head><title>滨河博客--滨河一叶</title></head><body><table><tr><td><b><font>滨河一叶</font></b>"
            f"</td></tr></table><table><tr><td><font><strong><a href='/c/1'>{category}</a>"
            f"<a href='/p/1'>{HEADLINE}</a></strong></font></td></tr><tr><td><p>{HEADLINE}<br>"
            + "".join(f"{p}<br>" for p in BODY) + "</p></td></tr></table></body></html>").encode()
    assert extract(html, "http://blog.example.com/more.asp?id=1").title == HEADLINE


def test_a_calendar_month_is_no_headline():
    html = page(title=f"{HEADLINE} binhe  滨河Blog", above="<table><tr><td><font>2024年02月</font></td></tr></table>",
                headline=f"<div><a href='/p/1'>{HEADLINE}</a></div>")
    assert extract(html).title == HEADLINE
