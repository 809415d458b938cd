import codecs

from crawler.extract import decode_body

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
