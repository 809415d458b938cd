import codecs

import pytest

from crawler.extract import decode_body, extract_article

GBK_ONLY = "市长李镕、副市长王堃会见张喆和陈珺"


def page(charset: str, text: str) -> str:
    return f'<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}"></head>' \
           f"<body><p>{text}</p></body></html>"


def test_gb2312_label_is_widened_so_gbk_only_characters_survive():
    body = page("gb2312", GBK_ONLY).encode("gbk")
    decoded = decode_body(body, "text/html")
    assert GBK_ONLY in decoded.text and decoded.encoding == "gb18030" and decoded.step == "meta"
    assert decoded.declared == {"meta": "gb2312"}


def test_utf8_bytes_behind_a_gb2312_label_decode_as_utf8():
    decoded = decode_body(page("gb2312", GBK_ONLY).encode("utf-8"), "text/html; charset=gb2312")
    assert GBK_ONLY in decoded.text and decoded.encoding == "utf-8"
    assert any("valid UTF-8" in w for w in decoded.warnings)


def test_header_label_wins_over_meta_when_it_decodes():
    decoded = decode_body(page("utf-8", GBK_ONLY).encode("gbk"), "text/html; charset=GBK")
    assert GBK_ONLY in decoded.text and decoded.step == "http-header"


def test_big5_label_uses_cp950():
    text = "臺灣新聞：市政府與大學簽署協議"
    decoded = decode_body(page("big5", text).encode("cp950"), None)
    assert text in decoded.text and decoded.encoding == "cp950"


def test_bom_comes_first():
    decoded = decode_body(codecs.BOM_UTF8 + page("gbk", GBK_ONLY).encode("utf-8"), "text/html; charset=gbk")
    assert decoded.step == "bom" and GBK_ONLY in decoded.text


def test_no_label_falls_to_detection():
    text = "滨河市人民政府关于印发城市更新专项规划的通知。各县市区人民政府，市政府各部门：现印发给你们，请认真贯彻执行。" * 3
    decoded = decode_body(f"<html><body><p>{text}</p></body></html>".encode("gb18030"), None)
    assert decoded.step == "chardet" and text in decoded.text


def test_undecodable_bytes_are_kept_with_replacement_and_a_warning():
    body = page("utf-8", "正常文字").encode("utf-8") + b"\xff\xfe\x81\x00\xff" * 3
    decoded = decode_body(body, "text/html; charset=utf-8")
    assert decoded.text and decoded.warnings


def test_unknown_label_is_reported_not_fatal():
    decoded = decode_body(page("x-klingon", "滨河").encode("utf-8"), None)
    assert "滨河" in decoded.text and any("unknown encoding" in w for w in decoded.warnings)


def test_undeclared_gbk_with_a_corrupt_byte_is_not_read_as_a_western_codepage():
    text = "【2005年中国革命历史巨作】【太行山上】 论坛首页 发表时间：2005-08-28 20:56:20 " * 20
    body = f"<html><body><p>{text}</p></body></html>".encode("gbk")
    body = body[:600] + b"\xc7" + body[600:]  # one damaged byte: no codec decodes it strictly
    decoded = decode_body(body, None)
    assert decoded.encoding == "gb18030" and decoded.step == "fallback"
    assert "太行山上" in decoded.text and decoded.text.count("\ufffd") <= 2


# ---------------------------------------------------------------- a few bad bytes under a declared label

DAMAGED = [  # (label, codec that writes the page, text of our own in the script the codec is for)
    ("big5", "cp950", "臺灣新聞：市政府與大學簽署合作協議，雙方將在科技成果轉化、人才培養等方面開展合作。"),
    ("utf-8", "utf-8", "滨河市人民政府与滨河大学签署战略合作协议，双方将在科技成果转化等方面开展合作。"),
    ("gb2312", "gbk", "长宁区召开重点工作推进会，听取各街道前八个月重点工作进展情况汇报。"),
]


@pytest.mark.parametrize("label,codec,text", DAMAGED)
@pytest.mark.parametrize("bad", [b"\xff", b"\x80"])
@pytest.mark.parametrize("where", ["header", "meta"])
@pytest.mark.parametrize("repeat", [0, 2, 5])
def test_a_bad_byte_is_replaced_under_the_declared_label(label, codec, text, bad, where, repeat):
    body = (page(label if where == "meta" else "x-unknown", text * 6)).encode(codec)
    cut = body.index(text.encode(codec)) + repeat * len(text.encode(codec)) + len(text[:-6].encode(codec))
    damaged = body[:cut] + bad + body[cut:]
    decoded = decode_body(damaged, f"text/html; charset={label}" if where == "header" else None)
    assert decoded.step == ("meta" if where == "meta" else "http-header")
    assert decoded.text.count("\ufffd") == 1 and decoded.text.count(text) == 5  # the damaged repeat aside
    assert decoded.bad_spans == [{"start": cut, "end": cut + 1, "bytes": bad.hex(),
                                  "context": decoded.bad_spans[0]["context"]}]
    assert "\ufffd" + text[-6:] in decoded.bad_spans[0]["context"]
    assert any("1 byte span(s) do not decode" in w for w in decoded.warnings)


@pytest.mark.parametrize("label,codec,text", DAMAGED)
def test_a_cut_off_last_character_keeps_the_label(label, codec, text):
    body = page(label, text * 4).encode(codec).removesuffix(b"</p></body></html>")
    decoded = decode_body(body[:-1], None)  # the last character loses its second byte
    assert decoded.step == "meta" and text[:-1] in decoded.text and len(decoded.bad_spans) == 1


@pytest.mark.parametrize("text", [GBK_ONLY * 3, "滨河市人民政府关于印发城市更新专项规划的通知，各县市区人民政府" * 5])
def test_a_wrong_label_is_not_taken_for_damage(text):
    """GBK bytes under a Big5 label fail on many characters: that is a wrong label."""
    decoded = decode_body(page("big5", text).encode("gbk"), None)
    assert text in decoded.text and decoded.encoding == "gb18030" and not decoded.bad_spans


@pytest.mark.parametrize("bom,codec", [(codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")])
@pytest.mark.parametrize("surrogate", ["\ud800", "\udc00", "\udbff"])
def test_utf16_with_a_lone_surrogate_keeps_its_text(bom, codec, surrogate):
    before, after = "滨河市人民政府", "关于印发城市更新专项规划的通知"
    body = bom + page("utf-16", before + surrogate + after).encode(codec, "surrogatepass")
    decoded = decode_body(body, None)
    assert decoded.step == "bom" and decoded.encoding == "utf-16"
    assert before + "\ufffd" + after in decoded.text and len(decoded.bad_spans) == 1


def test_the_bad_spans_reach_the_articles_quality():
    text = "臺灣新聞：市政府與大學簽署合作協議，雙方將在科技成果轉化、人才培養等方面開展合作。"
    body = page("big5", text * 3).encode("cp950")
    cut = body.index("合作".encode("cp950"))
    article = extract_article(body[:cut] + b"\xff" + body[cut:], "http://news.example.tw/a/1.html")
    assert article.body.count(text) == 2 and article.quality["encoding"] == "big5hkscs"
    assert [span["bytes"] for span in article.quality["bad_bytes"]] == ["ff"]


@pytest.mark.parametrize("codec,text", [
    ("cp950", "臺灣新聞：市政府與大學簽署合作協議，雙方將在科技成果轉化、人才培養等方面開展合作。"),
    ("gbk", "滨河市人民政府关于印发城市更新专项规划的通知。各县市区人民政府，市政府各部门：现印发给你们。"),
])
def test_undeclared_text_after_long_markup_is_detected_in_its_encoding(codec, text):
    """Detection reads the page's non-ASCII runs: kilobytes of markup and script before the
    text do not hide it, and Big5 text is not read as GBK (whose byte ranges it shares)."""
    markup = "".join(f'<li class="nav-item"><a href="/col/{n}/index.html">Column {n}</a></li>' for n in range(300))
    body = f"<html><head><script>var x = 1;</script></head><body><ul>{markup}</ul><p>{text * 20}</p></body></html>"
    decoded = decode_body(body.encode(codec), None)
    assert decoded.step == "chardet" and text * 20 in decoded.text
