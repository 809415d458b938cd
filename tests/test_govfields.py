"""Government 信息公开 fields: every way portals print the metadata block, read into the
article's fields and kept out of its body. Pages of our own, varied by layout × label
spelling × date form."""

import csv
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from archive.models import Article, ArticleVersion
from crawler.extract import extract_from_html, extract_from_text
from scheduler.runner import run_crawl

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scheduler.cli", *args], cwd=ROOT, capture_output=True, timeout=300)


TITLE = "滨河市人民政府办公室关于印发滨河市老旧小区改造三年行动方案的通知"
PARAGRAPHS = [
    "各县（市、区）人民政府，市政府各部门、各直属机构：",
    "《滨河市老旧小区改造三年行动方案》已经市政府同意，现印发给你们，请结合实际认真组织实施。",
    "滨河市人民政府办公室",
    "2024年3月5日",
]
FIELDS = {"index_number": "113799000012345678/2024-00112", "issuing_organ": "滨河市人民政府办公室",
          "document_number": "滨政办发〔2024〕7号", "written_date": date(2024, 3, 5),
          "subject": "城乡建设、环境保护\\城市规划", "validity": "有效"}
PUBLISHED = "2024-03-08"

LABELS = {  # field -> the spellings portals use, one per variant
    "index_number": ["索引号", "索 引 号", "索&nbsp;&nbsp;引&nbsp;号"],
    "issuing_organ": ["发布机构", "发文机关", "发文单位"],
    "document_number": ["文号", "发文字号", "文　　号"],
    "written_date": ["成文日期", "成文日期", "成文时间"],
    "subject": ["主题分类", "分类", "信息分类"],
    "validity": ["有效性", "有效性", "时效性"],
}
WRITTEN_FORMS = ["2024年03月05日", "2024-03-05", "二〇二四年三月五日"]


def rows(variant: int) -> list[tuple[str, str]]:
    values = {**FIELDS, "written_date": WRITTEN_FORMS[variant]}
    out = [(LABELS[key][variant], values[key]) for key in FIELDS]
    out.insert(3, ("标　　题", TITLE))
    out.insert(5, ("发布日期", PUBLISHED))
    return out


def table_2(pairs):  # a label cell and a value cell per row
    return "<table class='xxgk'>" + "".join(f"<tr><td>{k}：</td><td>{v}</td></tr>" for k, v in pairs) + "</table>"


def table_4(pairs):  # two pairs a row, label cells without a colon
    cells = [f"<th>{k}</th><td>{v}</td>" for k, v in pairs]
    return "<table><tbody>" + "".join(f"<tr>{''.join(cells[i:i + 2])}</tr>" for i in range(0, len(cells), 2)) \
        + "</tbody></table>"


def definition_list(pairs):
    return "<div class='info'><dl>" + "".join(f"<dt>{k}：</dt><dd>{v}</dd>" for k, v in pairs) + "</dl></div>"


def list_items(pairs):
    return "<ul class='gk'>" + "".join(f"<li><span>{k}：</span><span>{v}</span></li>" for k, v in pairs) + "</ul>"


def one_line(pairs):  # label：value runs, several to a line
    return "<div class='xxgk'>" + "".join(
        f"<p>{'　'.join(f'{k}：{v}' for k, v in pairs[i:i + 3])}</p>" for i in range(0, len(pairs), 3)) + "</div>"


LAYOUTS = [table_2, table_4, definition_list, list_items, one_line]


def page(block: str, inside_body: bool = False) -> str:
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    before, inside = ("", block) if inside_body else (block, "")
    return (f"<html><head><meta charset='utf-8'><title>{TITLE}_滨河市人民政府</title></head><body>"
            f"<div class='nav'><a href='/'>首页</a> &gt; <a href='/zwgk/'>政策文件</a></div>{before}"
            f"<h1>{TITLE}</h1><div id='zoom'>{inside}{body}</div>"
            f"<div class='footer'>主办单位：滨河市人民政府办公室　网站标识码：3799000001</div></body></html>")


def assert_document(article):
    assert {key: getattr(article, key) for key in FIELDS} == FIELDS
    assert article.body == "\n".join(PARAGRAPHS)
    assert article.title == TITLE


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("variant", [0, 1, 2])
@pytest.mark.parametrize("inside_body", [False, True])
def test_the_metadata_block_becomes_fields_and_leaves_the_body(layout, variant, inside_body):
    article = extract_from_html(page(layout(rows(variant)), inside_body), "http://www.binhe.gov.cn/zwgk/1.html")
    assert_document(article)
    assert article.publish_time.isoformat() == PUBLISHED and article.publish_time_origin == "govinfo"
    assert article.as_record()["written_date"] == "2024-03-05"


@pytest.mark.parametrize("variant", [0, 1, 2])
@pytest.mark.parametrize("separator", ["<br>", "</p><p>"])
def test_block_printed_as_lines_of_the_body(variant, separator):
    lines = separator.join(f"{k}：{v}" for k, v in rows(variant))
    html = page(f"<p>{lines}</p>", inside_body=True)
    assert_document(extract_from_html(html, "http://www.binhe.gov.cn/zwgk/2.html"))


def test_a_text_dump_with_the_block():
    text = "\n".join([TITLE, *(f"{k}：{v}" for k, v in rows(0)), *PARAGRAPHS])
    assert_document(extract_from_text(text, "file:///dumps/3.txt"))


def test_a_layout_table_keeps_its_body_row():
    """Old portals lay the whole page out in one table: only the metadata rows go."""
    meta = "".join(f"<tr><td>{k}：</td><td>{v}</td></tr>" for k, v in rows(1))
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    html = (f"<html><body><table><tr><td colspan='2'><h1>{TITLE}</h1></td></tr>{meta}"
            f"<tr><td colspan='2' id='zoom'>{body}</td></tr></table></body></html>")
    assert_document(extract_from_html(html, "http://www.binhe.gov.cn/zwgk/4.html"))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_document_number_line_under_the_title_leaves_the_body(layout):
    html = page(layout(rows(0))).replace("<div id='zoom'>", f"<div id='zoom'><p>{FIELDS['document_number']}</p>")
    assert_document(extract_from_html(html, "http://www.binhe.gov.cn/zwgk/5.html"))


NOT_DOCUMENTS = [
    # a blog's category and a news page's info line: one field at most, and a category
    "<div class='meta'>分类：生活随笔　发布时间：2024-03-08 10:00</div>",
    "<div class='info'>发布时间：2024-03-08　来源：滨河日报　分类：本地新闻</div>",
    # 文号 in running text is not a label
    "<p>该产品本身无卫生部批准文号，有效性也未经验证。</p>",
    # one document field alone is not a metadata block
    "<table><tr><td>文号：</td><td>滨政办发〔2024〕7号</td></tr></table>",
]


@pytest.mark.parametrize("block", NOT_DOCUMENTS)
def test_pages_without_a_metadata_block_keep_everything(block):
    article = extract_from_html(page(block, inside_body=True), "http://www.binhe-news.cn/a/6.html")
    assert all(getattr(article, key) is None for key in FIELDS)
    assert article.body.endswith("\n".join(PARAGRAPHS))


def test_an_empty_value_cell_takes_nothing_from_the_next_row():
    pairs = rows(0)
    pairs[1] = (pairs[1][0], "")  # 发布机构 left empty by the portal
    article = extract_from_html(page(table_2(pairs)), "http://www.binhe.gov.cn/zwgk/7.html")
    assert article.issuing_organ is None and article.document_number == FIELDS["document_number"]
    assert article.body == "\n".join(PARAGRAPHS)


# ---------------------------------------------------------------- end to end: crawl, archive, show, export

def test_a_crawl_archives_the_document_fields_shows_and_exports_them(sample_sites, config, archive, tmp_path):
    assert run_crawl(config, "binhe-gov", archive).status == "succeeded"
    expected = {e["url"]: e for e in sample_sites.expected() if e["site"] == "binhe-gov"}
    documents = {url: e["document"] for url, e in expected.items() if e["document"]}
    assert len(documents) == 3  # the released 规划计划 documents; one has no 文号

    def as_stored(document: dict) -> dict:
        return {**document, "written_date": date.fromisoformat(document["written_date"])}

    with archive.session() as session:
        for article in session.scalars(select(Article)):
            want = as_stored(documents[article.url]) if article.url in documents else dict.fromkeys(FIELDS)
            assert {key: getattr(article, key) for key in FIELDS} == want, article.url
            assert article.body == expected[article.url]["body"] and "索" not in article.body
            version = session.scalars(select(ArticleVersion).where(ArticleVersion.article_id == article.id)).one()
            assert {key: getattr(version, key) for key in FIELDS} == want

    url, document = next((u, d) for u, d in documents.items() if d["document_number"])
    shown = cli("show", url, "--config", str(config.path))
    assert shown.returncode == 0, shown.stderr
    for value in document.values():
        assert value in shown.stdout.decode("utf-8")

    out = cli("export", "--format", "jsonl", "--site", "binhe-gov", "--config", str(config.path))
    records = {r["url"]: r for r in map(json.loads, out.stdout.decode("utf-8").splitlines())}
    assert cli("export", "--format", "csv", "--out", str(tmp_path / "a.csv"), "--config", str(config.path)).returncode == 0
    with open(tmp_path / "a.csv", encoding="utf-8-sig", newline="") as handle:
        rows_csv = {r["url"]: r for r in csv.DictReader(handle)}
    assert cli("export", "--format", "parquet", "--out", str(tmp_path / "a.parquet"),
               "--config", str(config.path)).returncode == 0
    rows_parquet = {r["url"]: r for r in pq.read_table(tmp_path / "a.parquet").to_pylist()}
    for url in expected:
        want = documents.get(url) or dict.fromkeys(FIELDS)
        assert {key: records[url][key] for key in FIELDS} == want
        assert {key: rows_csv[url][key] or None for key in FIELDS} == want
        assert {key: rows_parquet[url][key] for key in FIELDS} == (as_stored(want) if url in documents else want)
