"""What pages print inside or around an article's box and is not the article: each leak form, in
each place it turns up (top, middle, bottom) and each markup (<p>, <div>, table rows, <br>),
leaves the body while every real paragraph stays. Pages and text are our own."""

from __future__ import annotations

import html as htmlib

import pytest

from crawler.extract import extract_article

TITLE = "滨河老街完成保护性修缮"
PARAGRAPHS = [
    "本报讯 经过一年多的保护性修缮，滨河老街于昨日重新向市民开放，街面恢复了青石板路和木质门楼。",
    "修缮工程由市住建部门牵头，共修复历史建筑二十三处，同步改造了地下管网和消防设施。",
    "老街还引入了非遗工坊、老字号商铺等业态，周末将举办传统手工艺展示活动，吸引市民前来体验。",
    "据介绍，下一步将对周边三条街巷实施改造，预计明年年底前全部完工，届时将形成完整的历史文化街区。",
]
LINKS = ["滨河新区再添两所公办学校", "市图书馆延长夜间开放时间", "春季植树活动本周末启动"]


class Link(str):
    """A line that is a link (a related article's headline)."""


# leak form -> (its lines, the places it turns up). A form that ends the text (a disclaimer, a
# comment section, a forum's line under the post) is tested where it ends it and at the top,
# where it must drop only itself.
FORMS = {
    "edition_line": (["《滨河日报》（2024年05月20日 03版）"], ("top", "bottom")),
    "edition_line_date_first": (["2024-5-20 滨河晚报"], ("top", "bottom")),
    "breadcrumb_label": (["当前位置：首页 > 新闻中心 > 滨河要闻"], ("top",)),
    "breadcrumb_arrows": (["首页 -> 政务公开 -> 通知公告"], ("top",)),
    "breadcrumb_chevrons": (["您的位置：首页 >> 部门动态"], ("top",)),
    "disclaimer": (["声明：本网转载此文出于传递更多信息之目的，不代表本网观点和立场。"], ("top", "bottom")),
    "forum_disclaimer": (["郑 重 声 明", "1. 任何言论纯属作者个人观点，与滨河论坛无关；",
                          "2. 禁止发表违反国家法律、法规的言论；"], ("bottom",)),
    "views_disclaimer": (["（本文仅代表作者观点，不代表本站立场）"], ("top", "middle", "bottom")),
    "related_heading_and_links": (["相关阅读", *map(Link, LINKS)], ("top", "middle", "bottom")),
    "recommend_heading_and_links": (["为你推荐", *map(Link, LINKS)], ("top", "middle", "bottom")),
    "focus_heading_and_links": (["今日焦点：", *map(Link, LINKS)], ("top", "middle", "bottom")),
    "extended_reading_text_list": (["延伸阅读", "滨河新区再添两所公办学校 2024-05-18", "市图书馆延长夜间开放时间 2024-05-17"],
                                   ("bottom",)),
    "media_player": (["Play Video 0:00 / 2:54"], ("top", "middle", "bottom")),
    "media_player_controls": (["Current Time 0:00 / Duration 2:54 Loaded: 0% Progress: 0%"], ("top", "middle", "bottom")),
    "agency_photo_credit": (["新华社发（王滨 摄）"], ("top", "middle", "bottom")),
    "account_promo": (["关注公众号：滨河发布"], ("top", "middle", "bottom")),
    "app_promo": (["下载滨河新闻客户端，随时随地看新闻"], ("top", "bottom")),
    "scan_promo": (["长按识别二维码关注我们"], ("bottom",)),
    "counters": (["阅读(1660) 评论(5)"], ("top", "middle", "bottom")),
    "read_times": (["(本文发表于滨河杂谈, 已被阅读178次)"], ("top", "bottom")),
    "visits": (["访问量：199"], ("top", "bottom")),
    "readers": (["您是本文第 154 个阅览者"], ("top", "bottom")),
    "forum_post_line": (["本贴由滨河老王于2005年8月12日16:12:21在〖滨河论坛〗发表.", "热门词：", "修车 老街 夜市"],
                        ("bottom",)),
    "forum_signature": (["我的博客 滨河梦蝶 http://blog.example.net/binhe"], ("bottom",)),
    "trackback": (["本文通告引用(Trackback)链接: /wp-trackback.php?p=12"], ("bottom",)),
    "comments": (["《滨河老街完成保护性修缮》已有3件评论", "September 19th, 2005 at 7:32 pm",
                  "写得真好，老街我小时候常去，希望越来越好。"], ("bottom",)),
    "comment_heading": (["发表评论", "滨河网友：支持老街改造，周末一定去看看！"], ("bottom",)),
    "caption_slot": (["[图片说明1：漫画/滨河]"], ("top", "middle", "bottom")),
    "teaser": (["滨河夜市改造完成，摊位统一规划，市民反映...... [全文]"], ("bottom",)),
}
MARKUPS = ("p", "div", "table", "br")


def render(lines: list[str], markup: str) -> str:
    def inline(line: str) -> str:
        text = htmlib.escape(line)
        return f'<a href="/n/{abs(hash(line)) % 1000}.html">{text}</a>' if isinstance(line, Link) else text

    if markup == "table":
        return "<table>" + "".join(f"<tr><td>{inline(line)}</td></tr>" for line in lines) + "</table>"
    if markup == "br":
        return "<div>" + "<br>".join(inline(line) for line in lines) + "</div>"
    return "".join(f"<{markup}>{inline(line)}</{markup}>" for line in lines)


def page(leak: list[str], position: str, markup: str, paragraphs: list[str] = PARAGRAPHS) -> bytes:
    at = {"top": 0, "middle": 2, "bottom": len(paragraphs)}[position]
    text = render([*paragraphs[:at], *leak, *paragraphs[at:]], markup)
    return f"""<html><head><title>{TITLE}_滨河新闻网</title></head><body>
    <div class="nav"><a href="/">首页</a> <a href="/news/">新闻</a> <a href="/gov/">政务</a></div>
    <h1>{TITLE}</h1><div id="main">{text}</div>
    <div class="foot">滨河新闻网 联系我们</div></body></html>""".encode()


CASES = [(form, position, markup) for form, (_, positions) in FORMS.items() for position in positions
         for markup in MARKUPS]


@pytest.mark.parametrize("form, position, markup", CASES, ids=["-".join(case) for case in CASES])
def test_the_leak_leaves_and_the_paragraphs_stay(form, position, markup):
    leak, _ = FORMS[form]
    body = extract_article(page(leak, position, markup), "http://news.example.cn/2024/0520/1.html").body
    assert body is not None
    lines = body.split("\n")
    assert [p for p in PARAGRAPHS if p not in lines] == []
    assert [line for line in leak if line in body] == []


@pytest.mark.parametrize("markup", MARKUPS)
@pytest.mark.parametrize("crumb", [
    '<span>（<a href="/s?img">图片</a>-<a href="/s?news">新闻</a>-<a href="/s?web">网页</a>）</span>',
    '<font>[<a href="/s?a">百科</a>|<a href="/s?b">地图</a>]</font>',
    '（<a href="/s?img">图片</a>-<a href="/s?news">新闻</a>-<a href="/s?web">网页</a>）',
])
def test_search_links_inside_a_sentence_leave_and_the_sentence_stays(markup, crumb):
    sentence = f"滨河艺术团昨晚登上大剧院{crumb}舞台，演出了原创舞剧，现场座无虚席。"
    paragraphs = [*PARAGRAPHS[:2], sentence, *PARAGRAPHS[2:]]
    html = page([], "top", markup, paragraphs).replace(htmlib.escape(sentence).encode(), sentence.encode())
    body = extract_article(html, "http://news.example.cn/1.html").body
    assert "滨河艺术团昨晚登上大剧院舞台，演出了原创舞剧，现场座无虚席。" in body.split("\n")
    assert "图片" not in body and "百科" not in body


@pytest.mark.parametrize("markup", MARKUPS)
def test_a_recommendation_box_inside_the_text_goes_whole_and_the_text_after_it_stays(markup):
    box = f"""<table><tr><td><b>推荐阅读</b></td><td>{''.join(f'<div><a href="/r{i}.html">{t}</a></div>' for i, t in
                                                             enumerate(LINKS))}</td></tr>
    <tr><td colspan="2">滨河夜市改造完成，摊位统一规划，市民反映逛起来更舒心了。</td></tr></table>"""
    if markup == "table":  # a row of the text's table
        rows = [f"<tr><td>{p}</td></tr>" for p in PARAGRAPHS]
        text = "<table>" + "".join(rows[:2]) + f"<tr><td>{box}</td></tr>" + "".join(rows[2:]) + "</table>"
    else:
        text = render(PARAGRAPHS[:2], markup) + box + render(PARAGRAPHS[2:], markup)
    html = f"<html><body><h1>{TITLE}</h1><div id='main'>{text}</div></body></html>".encode()
    body = extract_article(html, "http://news.example.cn/1.html").body
    assert body.split("\n") == PARAGRAPHS


@pytest.mark.parametrize("kicker", ["滨河老街焕新颜", "老街修缮 历时一年"])
def test_a_kicker_above_the_headline_and_the_headline_again_leave(kicker):
    lines = [kicker, TITLE, "本报记者 王滨", *PARAGRAPHS]
    body = extract_article(page([], "top", "p", lines), "http://news.example.cn/1.html").body
    assert body.split("\n") == PARAGRAPHS


@pytest.mark.parametrize("editor", ["责任编辑：王滨", "（编辑：李河）", "审核：张珺"])
def test_the_article_ends_at_its_editors_line(editor):
    card = ["滨河夜市改造完成 摊位统一规划", "滨河夜市改造完成，摊位统一规划，市民反映逛起来更舒心了…", ",滨河日报"]
    body = extract_article(page([editor, *card], "bottom", "p"), "http://news.example.cn/1.html").body
    assert body.split("\n") == PARAGRAPHS


def test_an_editor_line_with_text_after_it_ends_nothing():
    body = extract_article(page(["责任编辑：王滨"], "middle", "p"), "http://news.example.cn/1.html").body
    assert [p for p in PARAGRAPHS if p not in body] == []


def test_a_forum_posts_text_wins_over_its_reply_tree_of_linked_headlines():
    post = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    replies = "".join(f'<li><a href="/t/{i}">回复：老街改造，大家怎么看？说说你的看法，欢迎讨论</a>【网友{i}】'
                      f'<font>08-11 16:{i:02d}</font> 138字 [140/0]</li>' for i in range(40))
    html = f"""<html><body><table><tr><td><b>主题：</b>{TITLE}</td></tr>
    <tr><td class="post">{post}</td></tr></table><ul>{replies}</ul></body></html>""".encode()
    body = extract_article(html, "http://bbs.example.cn/thread-1.html").body
    assert body.split("\n") == PARAGRAPHS


def test_a_data_table_after_a_notice_is_part_of_it():
    notice = "".join(f"{p}<br>" for p in PARAGRAPHS)
    rows = "".join(f"<tr><td>{code}</td><td>{name}</td><td>{count}</td></tr>" for code, name, count in
                   [("050401", "艺术学", "7"), ("050402", "音乐学", "9"), ("050403", "美术学", "16")])
    html = f"""<html><body><table><tr><td>{TITLE}</td></tr><tr><td>
    <table><tr><td>{notice}附：招生专业及名额</td></tr></table>
    <table border="1"><tr><td>代码</td><td>专业</td><td>名额</td></tr>{rows}</table>
    </td></tr><tr><td><a href="/c">发表评论</a></td></tr></table></body></html>""".encode()
    body = extract_article(html, "http://edu.example.cn/zs/1.html").body
    assert [p for p in PARAGRAPHS if p not in body] == []
    assert "美术学" in body and "050402" in body and "发表评论" not in body
