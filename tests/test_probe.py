"""`muniarchive probe`: the analysis over URL groups, JSON lists and list pages of our own, and
end to end: every sample column probed, saved with --save, crawled by real crawl processes."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from sqlalchemy import select

from archive import Archive
from archive.models import Article, Site
from crawler.config import load_config, url_pattern
from crawler.probe import (
    add_site,
    analyse_json,
    article_group,
    identify,
    list_pagination,
    rules,
    suggest_attachment_pattern,
    suggest_pattern,
)

MUNIARCHIVE = [sys.executable, "-m", "scheduler.cli"]


# ---------------------------------------------------------------------------- URL patterns

GROUPS = {
    # a TRS column whose articles end in .htm (one .html among them)
    "trs": ("http://www.pt.gov.cn/zwgk/tzgg/", ["202503/t20250321_7012345.htm", "202503/t20250302_7008811.htm",
                                               "202502/t20250227_6990001.html", "202412/t20241230_6871234.htm"],
            ["index.htm", "index_1.htm", "202503/P020250321620728732317.XLS", "../../", "../gzdt/index.htm"],
            ["202612/t20261201_9000001.htm", "202701/t20270102_12345678.html"]),
    # Hanweb: month and day folders without zero padding
    "hanweb": ("http://www.cq.gov.cn/", ["art/2025/3/9/art_23385_5901234.html", "art/2025/10/21/art_23385_5901299.html",
                                        "art/2024/12/1/art_1229_5800001.html"],
               ["col/col23385/index.html", "module/web/jpage/dataproxy.jsp?page=2&columnid=23385", "col/col1/index.html"],
               ["art/2026/1/31/art_23385_10000000.html"]),
    # a news CMS with zero-padded dates and .shtml
    "news": ("https://news.wz.example.cn/", ["system/2026/08/21/105825502.shtml", "system/2026/09/03/105901234.shtml",
                                            "system/2025/12/30/105700001.shtml"],
             ["wzxw/", "wzxw/index_2.shtml", "system/2026/08/21/", "zt/2026/index.shtml"],
             ["system/2027/01/05/106000000.shtml"]),
    # 政务公开 documents named by a 24-hex id
    "hex": ("http://www.ss.gov.cn/gongkai/", ["site_ss/channel_zcwj/doc_5f3e2a1b9c8d7e6f5a4b3c2d.html",
                                             "site_ss/channel_zcwj/doc_60a1b2c3d4e5f60718293a4b.html"],
            ["site_ss/channel_zcwj/index.html", "site_ss/channel_tzgg/list_2.html"],
            ["site_ss/channel_zcwj/doc_0123456789abcdef01234567.html"]),
    # articles addressed by a query id, the list by another parameter
    "query": ("http://www.rz.example.cn/", ["content.jsp?id=40213&cid=12", "content.jsp?id=40190&cid=12",
                                           "content.jsp?id=399&cid=7"],
              ["list.jsp?cid=12", "list.jsp?cid=12&page=2", "index.jsp"],
              ["content.jsp?id=1000001&cid=3"]),
}


@pytest.mark.parametrize("name", sorted(GROUPS))
def test_suggested_article_pattern_matches_the_group_its_future_and_nothing_else(name):
    base, members, others, future = GROUPS[name]
    members, others, future = ([base + u if "://" not in u else u for u in group] for group in (members, others, future))
    others = [re.sub(r"/[^/]+/\.\./", "/", u) for u in others]
    pattern = suggest_pattern(members, others)
    matcher = url_pattern(pattern)
    assert all(matcher.search(u) for u in members + future), pattern
    assert not any(matcher.search(u) for u in others), pattern


def test_suggested_patterns_read_like_the_families_own():
    assert suggest_pattern(["http://a.cn/x/202503/t20250321_7012345.htm", "http://a.cn/x/202502/t20250227_1.htm"],
                           []) == r"/\d{6}/t\d{8}_\d+\.html?$"
    assert suggest_pattern(["http://a.cn/art/2025/3/9/art_1_2.html", "http://a.cn/art/2024/11/21/art_3_45.html"],
                           []) == r"/\d{4}/\d{1,2}/\d{1,2}/art_\d+_\d+\.html?$"
    # one varying segment is anchored by the folder it sits in
    assert suggest_pattern(["http://n.cn/p/123.html", "http://n.cn/p/4567.html"], []) == r"/p/\d+\.html?$"


def test_the_article_group_is_the_headline_links_not_navigation_or_paging():
    links = [("http://a.cn/", "首页"), ("http://a.cn/col/col12/index.html", "要闻"),
             ("http://a.cn/col/col12/index_2.html", "2"),
             ("http://a.cn/art/2025/3/9/art_12_301.html", "关于开展春季森林防火检查的通知"),
             ("http://a.cn/art/2025/3/2/art_12_299.html", "区政府召开第十次常务会议"),
             ("http://a.cn/module/download/downfile.jsp?classid=0&filename=ab.pdf", "附件一：检查表")]
    group = article_group(links, {"http://a.cn/col/col12/index_2.html"})
    assert group.urls == ["http://a.cn/art/2025/3/9/art_12_301.html", "http://a.cn/art/2025/3/2/art_12_299.html"]


@pytest.mark.parametrize("urls, family, matches", [
    (["http://a.cn/x/202503/P020250321620728732317.XLS"], "trs_wcm", ["http://a.cn/y/202611/P020261101000000000001.pdf"]),
    (["http://a.cn/module/download/downfile.jsp?classid=0&filename=3f2a.pdf&showname=a"], None,
     ["http://a.cn/module/download/downfile.jsp?classid=0&filename=9e.docx"]),
    (["http://a.cn/uploads/file/2025-plan.PDF", "http://a.cn/uploads/file/2024-report.docx"], None,
     ["http://a.cn/uploads/file/2026-notice.wps"]),
    ([], "hanweb_jcms", ["http://a.cn/module/download/downfile.jsp?classid=0&filename=x.pdf"]),
])
def test_attachment_pattern_covers_the_document_types_ignoring_case(urls, family, matches):
    pattern = url_pattern(suggest_attachment_pattern(urls, family))
    assert all(pattern.search(u) for u in urls + matches)
    assert not pattern.search("http://a.cn/x/index.html")


# ---------------------------------------------------------------------------- JSON lists

@pytest.mark.parametrize("document, expected", [
    ({"code": 0, "data": {"total": 41, "list": [
        {"id": 1, "title": "关于征集2026年民生实事项目的公告", "url": "/zwgk/202601/t20260105_1.html", "time": "2026-01-05"},
        {"id": 2, "title": "区政府常务会议研究部署春耕工作", "url": "/zwgk/202601/t20260103_2.html", "time": "2026-01-03"}]}},
     {"records": "data.list", "record_url": "url", "record_title": "title", "record_date": "time", "total": "data.total"}),
    ([{"docTitle": "市场监管局开展节前食品安全检查", "link": "https://x.cn/a/1.shtml", "pubDate": "2026/02/01 10:00"}],
     {"records": ".", "record_url": "link", "record_title": "docTitle", "record_date": "pubDate"}),
    ({"result": {"recordCount": "7", "rows": [
        {"meta": {"name": "二〇二六年第一季度统计数据发布", "href": "./tjsj/202604/t20260410_9.htm"}, "d": "2026年4月10日",
         "views": 120, "summary": "第一季度全区地区生产总值同比增长5.2%，规模以上工业增加值增长6.1%，固定资产投资增长4.8%。"}]}},
     {"records": "result.rows", "record_url": "meta.href", "record_title": "meta.name", "record_date": "d",
      "total": "result.recordCount"}),
])
def test_json_analysis_finds_records_urls_titles_dates_and_the_count(document, expected):
    assert analyse_json(document) == expected


def test_json_without_linked_records_is_not_a_list():
    assert analyse_json({"code": 0, "data": {"items": [{"name": "海港区", "count": 3}]}}) is None


# ---------------------------------------------------------------------------- list pages

@pytest.mark.parametrize("page, url, expected", [
    ('<script>$.ajax({url: "/api/doc/search", type: "post", data: {siteId: "12", channel: 88, pageIndex: p, '
     'rows: cfg.rows}});\nvar cfg = {rows: 15, maxStaticIndex: 4};</script>', "http://a.cn/tzgg/index.html",
     {"kind": "json", "url": "/api/doc/search", "method": "POST", "params": {"siteId": "12", "channel": 88},
      "page_param": "pageIndex", "page_size_param": "rows", "page_size": 15, "first": 5}),
    ("<script>axios.get('/open/list', {params: {cid: '7'}}); $.getJSON('/open/list', {cid: '7', pageNo: n});</script>",
     "http://a.cn/zcjd/", {"kind": "json", "url": "/open/list", "method": "GET", "params": {"cid": "7"},
                           "page_param": "pageNo", "first": 1}),
    ('{"total": 3, "items": []}', "http://a.cn/api/list?cid=5&curPage=2", {"kind": "json", "page_param": "curPage",
                                                                          "first": 2}),
    ('<script type="text/xml"><datastore><totalrecord>9</totalrecord></datastore></script>'
     "<script>var perpage = 15; load('dataproxy.jsp?startrecord=' + s + '&perpage=' + perpage);</script>",
     "http://a.cn/col/col1/index.html", {"kind": "hanweb", "perpage": 15}),
    ("<script>var maxPageNum = 4; var curPage = 0;</script>", "http://a.cn/x/index.shtml", {"kind": "trs"}),
    ('<a href="/n/1.html">新闻一</a><a href="index_3.html">3</a><a href="index_2.html">2</a>',
     "http://a.cn/news/index.html", {"kind": "static", "template": "index_{n}.html", "first": 2}),
    ('<a href="/2026/03/x/">新闻</a><a class="next page-numbers" href="/news/page/2/">2</a>',
     "http://a.cn/news/", {"kind": "static", "template": "page/{n}/", "first": 2}),
    ('<a href="/n/1.html">新闻一</a><a href="list_2.shtml">下一页</a>', "http://a.cn/n/list_1.shtml",
     {"kind": "next_link"}),
])
def test_pagination_is_read_from_the_list_page(page, url, expected):
    assert list_pagination(page, url)[0] == expected


def test_every_marker_example_points_to_its_family():
    for family, spec in rules()["families"].items():
        for marker in spec["markers"]:
            headers = {marker["header"]: marker["example"]} if marker["where"] == "header" else {}
            found = identify("" if headers else marker["example"], headers)
            assert family in [f["family"] for f in found], marker


# ---------------------------------------------------------------------------- end to end

COLUMNS = [  # (sample site, column, list URL path): every column of every sample site
    ("binhe-gov", "zwdt", "/zwdt/index.html"), ("binhe-gov", "ghjh", "/ghjh/index.html"),
    ("changning-gov", "1201", "/col/col1201/index.html"),
    ("binhe-news", "local", "/local/list_1.shtml"), ("binhe-news", "city", "/city/index.html"),
    ("haigang-gov", "tzgg", "/tzgg/index.html"), ("haigang-gov", "gzdt", "/gzdt/index.html"),
    ("haigang-gov", "zcjd", "/zcjd/index.html"), ("haigang-gov", "zcjd", "/hgapi/list?chnlid=5103&pageNo=1&pageSize=3"),
]
CONFIG = """# archive of the sample columns (kept as written)
archive:
  url: sqlite:///{db}   # the test's own
defaults:
  download_delay: 0   # a local server
  autothrottle: false
sites: []
# the end
"""


def run(*args, check=True):
    result = subprocess.run([*MUNIARCHIVE, *map(str, args)], capture_output=True, text=True, timeout=300)
    assert not check or result.returncode == 0, result.stderr
    return result


def test_probe_saves_a_config_that_crawls_every_article_of_each_sample_column(tmp_path, sample_sites):
    config_path = tmp_path / "config.yaml"
    config_path.write_text(CONFIG.format(db=tmp_path / "archive.db"), encoding="utf-8")
    original = config_path.read_text(encoding="utf-8").splitlines()
    expected = {}
    for number, (site_key, column, path) in enumerate(COLUMNS):
        site, base = sample_sites.sites[site_key], sample_sites.base_url(site_key)
        key = f"{site_key}-{column}-{number}"
        report = json.loads(run("probe", base + path, "--save", key, "--config", config_path, "--json").stdout)
        assert report["saved"] == key and not report["warnings"], report
        assert all(a["title"] and a["body_start"] and a["body_from"] for a in report["articles"]), report["articles"]
        expected[key] = sorted(base + site.article_path(a) for a in site.live(column))

    saved = config_path.read_text(encoding="utf-8")
    kept = [line for line in saved.splitlines() if line in original]
    assert kept == [line for line in original if line != "sites: []"]  # comments and all, in order
    config = load_config(config_path)
    assert [s.key for s in config.sites] == list(expected)
    kinds = {s.key.split("-")[2]: s.pagination.kind for s in config.sites}
    assert kinds["tzgg"] == "json" and config.site("changning-gov-1201-2").pagination.perpage

    refused = run("probe", sample_sites.base_url("binhe-gov") + "/zwdt/index.html", "--save", "binhe-gov-zwdt-0",
                  "--config", config_path, check=False)
    assert refused.returncode == 1 and "binhe-gov-zwdt-0" in refused.stderr and "exists" in refused.stderr
    assert config_path.read_text(encoding="utf-8") == saved

    crawled = run("crawl", "--all", "--config", config_path, "--json", check=False)
    assert crawled.returncode == 0, crawled.stdout + crawled.stderr
    archive = Archive(config.database_url)
    try:
        with archive.session() as session:
            rows = session.execute(select(Site.key, Article.url).join(Site, Article.site_id == Site.id)).all()
    finally:
        archive.close()
    archived = {key: sorted(url for k, url in rows if k == key) for key in expected}
    assert archived == expected


def test_probe_refuses_what_it_must_not_fetch(tmp_path, sample_sites):
    base = sample_sites.base_url("binhe-gov")
    missing = run("probe", base + "/zwdt/nosuch.html", "--config", tmp_path / "none.yaml", check=False)
    assert missing.returncode == 1 and missing.stderr.strip() == f"Error: {base}/zwdt/nosuch.html: HTTP 404"
    robots = run("probe", base + "/search/index.html", "--config", tmp_path / "none.yaml", check=False)
    assert robots.returncode == 1 and "robots.txt disallows" in robots.stderr
    assert not (tmp_path / "none.yaml").exists()


def test_add_site_refuses_an_entry_the_config_would_not_accept(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("sites:\n  - {key: a, name: A, start_urls: [http://a.cn/], pagination: {kind: trs}, "
                    "article_pattern: x}\n", encoding="utf-8")
    before = path.read_text(encoding="utf-8")
    from crawler.probe import ProbeError

    with pytest.raises(ProbeError, match="would not be accepted"):
        add_site(path, {"key": "b", "name": "B", "start_urls": ["http://b.cn/"], "pagination": {"kind": "nope"},
                        "article_pattern": "y"}, "a test")
    assert path.read_text(encoding="utf-8") == before
    add_site(path, {"key": "b", "name": "B", "start_urls": ["http://b.cn/"], "pagination": {"kind": "trs"},
                    "article_pattern": "y"}, "a test")
    assert [s.key for s in load_config(path).sites] == ["a", "b"] and path.read_text().startswith(before)

