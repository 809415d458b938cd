"""Credits read by their grammar (outlet × role × separator × names × suffix), names by
recognition: each variant asserts the fields and that the credit line left the body."""

from itertools import product

import pytest

from crawler.extract import extract_article
from crawler.extract.credits import is_recognised_name, parse_credits

HEADLINE = "滨河新区开通首条城市快速公交线路"
SENTENCES = ["滨河新区首条城市快速公交线路昨日开通，全长十八公里，沿线设站二十一座。",
             "线路高峰时段每五分钟一班，平峰时段每十分钟一班，票价两元。",
             "新区交通部门表示，下一步将根据客流情况优化站点设置，方便群众出行。"]


def page(*lines: str, head: str = "") -> bytes:
    paragraphs = "".join(f"<p>{line}</p>" for line in lines)
    return (f"<html><head><title>{HEADLINE}_滨河新闻网</title>{head}</head><body><h1>{HEADLINE}</h1>"
            f"<div class='TRS_Editor'>{paragraphs}</div></body></html>").encode()


def extract(*lines: str, head: str = ""):
    return extract_article(page(*lines, head=head), "http://news.binhe.example.cn/2024/05/20/1.html")


OUTLETS = ["本报", "滨河日报", "江南晚报", "南岭新闻·滨河报", "滨河广播电视台"]
ROLES = ["记者", "特约记者", "实习生", "通讯员"]
SEPARATORS = [" ", "：", ":", "/", "丨"]
NAMES = [["张岩"], ["王喆", "李珺"], ["欧阳明远", "陈旻"], ["司马青", "刘畅", "格桑次仁"]]
SUFFIXES = ["", " 北京报道", " 发自上海", " 山东冠县报道"]


@pytest.mark.parametrize("outlet,role,separator,names,suffix",
                         [(o, r, s, n, x) for o, r, s, n, x in product(OUTLETS, ROLES, SEPARATORS, NAMES, SUFFIXES)
                          if (OUTLETS.index(o) + ROLES.index(r) + SEPARATORS.index(s) + NAMES.index(n)
                              + SUFFIXES.index(x)) % 7 == 0])
def test_opening_byline(outlet, role, separator, names, suffix):
    joiner = "、" if len(names) == 3 else " "
    byline = f"{outlet}{role}{separator}{joiner.join(names)}{suffix}"
    article = extract(byline, *SENTENCES)
    assert article.reporters == names
    assert byline.strip() not in article.body and names[0] not in article.body
    assert article.body.startswith(SENTENCES[0])


@pytest.mark.parametrize("role,separator,bracket", list(product(
    ["责任编辑", "编辑", "责编", "网络编辑", "值班编辑", "审核", "校对", "初审", "复审", "终审", "选稿", "监制"],
    ["：", ":", " ", "/", "|"], ["（）", "【】", "", "[]"])))
def test_closing_editor(role, separator, bracket):
    line = f"{bracket[:1]}{role}{separator}孙璟{bracket[1:]}"
    article = extract(*SENTENCES, line)
    assert article.editors == ["孙璟"] and article.reporters == []
    assert "孙璟" not in article.body and article.body.endswith(SENTENCES[-1])


@pytest.mark.parametrize("line,reporters,photographers,editors", [
    ("文/李响 图/周宁", ["李响"], ["周宁"], []),
    ("文/图 刘玺东 易赛楠", ["刘玺东", "易赛楠"], ["刘玺东", "易赛楠"], []),
    ("赵一鸣 摄", [], ["赵一鸣"], []),
    ("本报记者 赵一鸣摄", [], ["赵一鸣"], []),
    ("何苗/文 受访者供图", ["何苗"], [], []),
    ("采写：滨河都市报记者 余晓 向晴", ["余晓", "向晴"], [], []),
    ("新区交通局供稿 摄影/张艳 编辑/苏芳", [], ["张艳"], ["苏芳"]),
    ("（滨河新闻网编辑 孙桂芳）", [], [], ["孙桂芳"]),
    ("（记者 赵敏 实习生 钱多多）", ["赵敏", "钱多多"], [], []),
    ("整合 滨河日报·客户端记者 徐睿", ["徐睿"], [], []),
    ("撰稿：许莹 | 责任编辑：黄帅", ["许莹"], [], ["黄帅"]),
    ("（责任编辑： 黄帅 ）", [], [], ["黄帅"]),
])
def test_closing_credit_lines(line, reporters, photographers, editors):
    article = extract(*SENTENCES, line)
    assert (article.reporters, article.photographers, article.editors) == (reporters, photographers, editors)
    assert article.body == "\n".join(SENTENCES)


@pytest.mark.parametrize("lead,names", [
    ("本报讯（记者 张岩 刘畅）", ["张岩", "刘畅"]),
    ("滨河新闻网5月20日讯（记者陈智 整合）", ["陈智"]),
    ("新华社滨河5月20日电（记者唐霁）", ["唐霁"]),
    ("本报讯 （实习记者 樊亮 张明超 记者惠禾）", ["樊亮", "张明超", "惠禾"]),
    ("本站讯（职工通讯员 李琴雯 刘会）", ["李琴雯", "刘会"]),
    ("滨河台讯（滨河台 吴钟亮）", ["吴钟亮"]),
])
def test_lead_brackets_name_reporters_and_stay_in_the_text(lead, names):
    article = extract(lead + SENTENCES[0], *SENTENCES[1:])
    assert article.reporters == names
    assert article.body.startswith(lead + SENTENCES[0])


@pytest.mark.parametrize("closing,names", [("（姚峰 上海报道）", ["姚峰"]), ("(文/图 刘玺东 易赛楠)", ["刘玺东", "易赛楠"]),
                                           ("（高远）", ["高远"]), ("（记者 王喆）", ["王喆"])])
def test_closing_bracket_after_the_last_sentence(closing, names):
    article = extract(*SENTENCES[:-1], SENTENCES[-1] + closing)
    assert article.reporters == names
    assert article.body.endswith(SENTENCES[-1] + closing)


@pytest.mark.parametrize("line", [
    "记者调查",
    "（上海报道）",
    "（整合）",
    "实习记者",
    "学习目的",
    "图片新闻",
    "摄影比赛",
])
def test_what_is_not_a_credit_stays_in_the_body(line):
    article = extract(SENTENCES[0], line, *SENTENCES[1:])
    assert article.reporters == [] and article.editors == [] and article.photographers == []
    assert line in article.body


def test_an_interview_question_is_no_credit():
    article = extract(SENTENCES[0], "记者：你们觉得这条线路什么时候能够延伸到老城区？", *SENTENCES[1:])
    assert article.reporters == [] and article.editors == []


def test_a_bare_name_under_the_headline_must_be_a_name():
    assert extract(HEADLINE, "王喆", *SENTENCES).reporters == ["王喆"]
    assert extract(HEADLINE, "学习目的", *SENTENCES).reporters == []


def meta_author(name: str) -> str:
    return f'<meta name="author" content="{name}">'


def test_meta_author_only_where_the_page_prints_no_byline_and_names_a_person():
    assert extract(*SENTENCES, head=meta_author("林小溪")).reporters == ["林小溪"]
    assert extract(*SENTENCES, head=meta_author("riverwalker")).reporters == ["riverwalker"]
    printed = extract("本报记者 张岩", *SENTENCES, head=meta_author("林小溪"))
    assert printed.reporters == ["张岩"]
    web_editor = extract(*SENTENCES, "编辑：林小溪", head=meta_author("林小溪"))
    assert web_editor.reporters == [] and web_editor.editors == ["林小溪"]


@pytest.mark.parametrize("department", ["滨河市交通运输局", "新区管委会办公室", "滨河市融媒体中心", "机关第一党支部",
                                        "市财政局", "区发改委", "滨河日报社"])
def test_meta_author_naming_a_department_is_no_reporter(department):
    assert extract(*SENTENCES, head=meta_author(department)).reporters == []


def test_latin_user_names_stand_where_a_label_vouches_for_them():
    labelled = extract(*SENTENCES, "作者：riverwalker")
    assert labelled.reporters == ["riverwalker"] and "riverwalker" not in labelled.body
    assert extract("riverwalker", *SENTENCES).reporters == []  # no label, no poster link: a word


@pytest.mark.parametrize("name", ["张三", "王喆", "李珺", "陈旻", "张珺", "姚峰", "马俊峰", "欧阳夏丹", "司马光", "格桑边觉"])
def test_names_are_recognised(name):
    assert is_recognised_name(name)


@pytest.mark.parametrize("words", ["上海报道", "整合", "实习记者", "学习目的", "高兴", "黄金周", "查看更多", "编辑"])
def test_role_words_places_verbs_are_not_names(words):
    assert not is_recognised_name(words)


@pytest.mark.parametrize("line", ["记者 上海报道", "作者：返回首页", "编辑：查看更多", "摄影：学习目的", "本报记者 实习记者"])
def test_a_label_does_not_make_a_phrase_a_name(line):
    assert parse_credits(line) is None


@pytest.mark.parametrize("poster,posted", list(product(["riverwalker", "林间小溪"], ["发表于", "發表於"])))
def test_a_posts_header_names_its_poster(poster, posted):
    html = (f"<html><head><title>{HEADLINE} - 滨河博客</title></head><body><table><tr><td><b>{HEADLINE}</b><br>"
            f"<a href='blog.asp?name=u1'>{poster}</a> {posted} 2024-5-20 11:46:00</td></tr>"
            f"<tr><td>{''.join(f'<p>{s}</p>' for s in SENTENCES)}</td></tr></table></body></html>")
    article = extract_article(html.encode(), "http://blog.binhe.example.cn/more.asp?id=1")
    assert article.reporters == [poster] and poster not in article.body
    linked_outlet = html.replace(f"{poster}</a> {posted}", f"{poster}</a> 发布时间：")
    assert extract_article(linked_outlet.encode(), "http://blog.binhe.example.cn/more.asp?id=1").reporters == []


@pytest.mark.parametrize("byline,names", [("本报记者张岩刘畅发自济南", ["张岩", "刘畅"]), ("本报记者罗科苏盈", ["罗科", "苏盈"]),
                                          ("本报记者欧阳夏丹", ["欧阳夏丹"]), ("记者 格桑边觉", ["格桑边觉"])])
def test_two_names_run_together_are_two(byline, names):
    article = extract(byline, *SENTENCES)
    assert article.reporters == names and article.body == "\n".join(SENTENCES)
