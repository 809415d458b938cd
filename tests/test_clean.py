import pytest
from hypothesis import given
from hypothesis import strategies as st

from crawler.clean import apply_rules, default_rules, find_mojibake, parse_rules, strip_pinyin
from tests.conftest import SHARED

TEXT = "滨河市召开安全生产工作会议，部署下一阶段重点工作。"


@pytest.mark.parametrize("rule", default_rules(), ids=lambda r: r.name)
def test_every_rule_matches_its_own_examples_and_they_go(rule):
    for example in (rule.example, *rule.also):
        assert rule.pattern.search(example), example
        kept, fired = apply_rules([TEXT, example], default_rules())
        assert rule.name in fired and example not in kept, example


@pytest.mark.parametrize("rule", [r for r in default_rules() if r.keeps], ids=lambda r: r.name)
def test_every_rule_leaves_the_article_text_it_names_alone(rule):
    for sentence in rule.keeps:
        assert apply_rules([TEXT, sentence], default_rules()) == ([TEXT, sentence], []), sentence


def test_article_sentences_pass_the_rules_untouched():
    sentences = ["滨河市召开安全生产工作会议，部署下一阶段重点工作。",
                 "老街还引入了非遗工坊、老字号商铺等业态。",
                 "市民可拨打12345政务服务热线反映问题。",
                 "编辑部主任张喆介绍，今年共出版图书12种。"]
    assert apply_rules(sentences, default_rules()) == (sentences, [])


def test_drop_rest_removes_the_trailer():
    kept, _ = apply_rules([TEXT, "相关稿件：", "另一篇文章的标题"], default_rules())
    assert kept == [TEXT]


def test_a_trailer_marker_above_the_text_drops_only_itself():
    kept, fired = apply_rules(["相关新闻", TEXT, "第二段正文，介绍了会议的具体安排和要求。"], default_rules())
    assert kept == [TEXT, "第二段正文，介绍了会议的具体安排和要求。"] and fired == ["recommendations"]


def test_site_rules_are_data_too():
    rules = parse_rules("rules:\n  - {name: promo, pattern: '^点击订阅', action: drop_line, example: '点击订阅滨河日报'}\n")
    assert apply_rules(["点击订阅滨河日报", "正文。"], rules) == (["正文。"], ["promo"])


@pytest.mark.parametrize("pattern, line", [
    ("(?i:more)新闻", "MORE新闻"),  # case folded in part of the pattern
    ("(?i)^subscribe", "Subscribe to 滨河日报"),
    ("(扫码|长按)+关注", "长按关注滨河发布"),
    ("[^。]{2}订阅$", "欢迎订阅"),
    (r"\d{3,}人阅读", "1234人阅读"),
    ("(?:点击|點擊)?查看(原文|原圖)|返回顶部", "返回顶部"),
    ("本站(?=声明)", "本站声明：转载须注明出处"),
    ("([来源])\\1?：", "来：滨河"),
    ("[一-龥]{2}专栏", "滨河专栏"),
])
def test_a_site_rule_fires_whatever_regex_it_is_written_in(pattern, line):
    """Rules skip lines that lack every character a rule cannot match without; a site's rule
    may use any regex construct, and a line it matches is still dropped."""
    rules = parse_rules(f"rules:\n  - {{name: site, pattern: '{pattern}', example: '{line}'}}\n")
    assert apply_rules([line, TEXT], rules) == ([TEXT], ["site"])


@pytest.mark.parametrize("text, cleaned", [
    ("發(fā)展", "發展"),
    ("濟(jì)寧新聞網(wǎng)", "濟寧新聞網"),
    ("见缝插针(jiàn fèng chā zhēn)建设", "见缝插针建设"),
    ("《纲要（征求意见稿）》", "《纲要（征求意见稿）》"),
    ("规划(2022年更新)", "规划(2022年更新)"),
    ("细颗粒物(PM 2.5)", "细颗粒物(PM 2.5)"),
    ("居民消费价格(CPI)", "居民消费价格(CPI)"),
    ("第(1)项", "第(1)项"),
    ("濟寧臺(jì nán)", "濟寧臺"),
    ("什么时候(shén me shí hou)", "什么时候"),
    ("见附件(a)和(b)", "见附件(a)和(b)"),
])
def test_pinyin_ruby_removed_and_other_brackets_kept(text, cleaned):
    assert strip_pinyin(text)[0] == cleaned


def test_mojibake_is_flagged_not_rewritten():
    text = "建設對外開放高地?;A設施建設持續推進"
    spans = find_mojibake(text)
    assert spans and spans[0]["text"].startswith("?") and "A" in spans[0]["text"]
    assert find_mojibake("这是一句正常的话？是的。") == []


@pytest.mark.skipif(not (SHARED / "samples").is_dir(), reason="../shared/samples is not beside the project")
def test_samples_lose_every_pinyin_annotation_outside_mojibake():
    import re
    annotation = re.compile(r"[\u4e00-\u9fff][(（][a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü ']+[)）]")
    for path in (SHARED / "samples").glob("*.txt"):
        cleaned, removed = strip_pinyin(path.read_text(encoding="utf-8"))
        assert removed > 0 and not annotation.search(cleaned), path.name


@given(st.lists(st.text(max_size=80), max_size=20))
def test_cleaning_never_adds_text(paragraphs):
    kept, _ = apply_rules(paragraphs, default_rules())
    assert len(kept) <= len(paragraphs)
    assert all(any(k in p for p in paragraphs) for k in kept) or any(
        r.action == "strip" for r in default_rules())
    assert len(strip_pinyin("".join(paragraphs))[0]) <= len("".join(paragraphs))
