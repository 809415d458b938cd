import json

from crawler.config import Pagination
from crawler.listing import first_request, parse_list_page
from crawler.samplesites import SampleSites


def test_trs_pages_follow_create_page_html():
    html = '<ul><li><a href="./202609/t20260901_1.html">一</a></li></ul>' \
           '<script>createPageHTML(3, 1, "index", "html");</script>'
    page = parse_list_page(html, "http://x.gov.cn/zwdt/index_1.html", Pagination(kind="trs"),
                           "http://x.gov.cn/zwdt/index.html", 1)
    assert page.links == [("http://x.gov.cn/zwdt/202609/t20260901_1.html", "一")]
    assert page.next_url == "http://x.gov.cn/zwdt/index_2.html"
    last = html.replace("createPageHTML(3, 1,", "createPageHTML(3, 2,")
    assert parse_list_page(last, "http://x.gov.cn/zwdt/index_2.html", Pagination(kind="trs"), "", 2).next_url is None


def test_hanweb_datastore_and_dataproxy_paging():
    with SampleSites() as sites:
        site = sites.sites["changning-gov"]
        column = site.column_page("1201").body.decode()
        base = sites.base_url("changning-gov")
        first = parse_list_page(column, base + "/col/col1201/index.html", Pagination(kind="hanweb"), "", 0)
        assert [u for u, _ in first.links] == [base + site.article_path(a) for a in site.pages_of("1201")[0]]
        assert "dataproxy.jsp?page=2&" in first.next_url and "columnid=1201" in first.next_url
        xml = site.datastore("1201", 3)
        last = parse_list_page(xml, first.next_url, Pagination(kind="hanweb"), "", 2)
        assert len(last.links) == 1 and last.next_url is None


def test_next_link_and_static():
    html = '<a href="/n/1.shtml">稿件</a><a href="list_3.shtml">下一页</a>'
    page = parse_list_page(html, "http://n.com/local/list_2.shtml", Pagination(kind="next_link"), "", 1)
    assert page.next_url == "http://n.com/local/list_3.shtml"
    static = Pagination(kind="static", template="index_{n}.html", first=1)
    assert parse_list_page(html, "http://n.com/city/index.html", static, "http://n.com/city/index.html",
                           0).next_url == "http://n.com/city/index_1.html"


def test_trs_counts_kept_in_variables_or_alone():
    base = "http://x.gov.cn/tzgg/"
    variables = "<script>var countPage = 3;//共多少页\nvar currentPage = 1;\n" \
                "createPageHTML('page_div', countPage, currentPage, 'index', 'shtml', 31);</script>"
    assert parse_list_page(variables, base + "index_1.shtml", Pagination(kind="trs"), "", 1).next_url == \
        base + "index_2.shtml"
    alone = "<script>var maxPageNum = 2;</script>"
    assert parse_list_page(alone, base + "index.htm", Pagination(kind="trs"), "", 0).next_url == base + "index_1.htm"
    assert parse_list_page(alone, base + "index_1.htm", Pagination(kind="trs"), "", 1).next_url is None


def test_hanweb_record_windows_are_posted_to_dataproxy(sample_sites):
    site, base = sample_sites.sites["changning-gov"], sample_sites.base_url("changning-gov")
    window = Pagination(kind="hanweb", perpage=2, group=2)
    column = site.column_page("1201").body.decode()
    first = parse_list_page(column, base + "/col/col1201/index.html", window, "", 0)
    assert first.next.method == "POST" and first.next.form["columnid"] == "1201" and "page" not in first.next.form
    assert first.next.url == base + "/module/web/jpage/dataproxy.jsp?startrecord=5&endrecord=8&perpage=2"
    answer = site.post("/module/web/jpage/dataproxy.jsp", {"startrecord": ["5"], "endrecord": ["8"]},
                       first.next.form).body.decode()
    second = parse_list_page(answer, first.next.url, window, "", 1, first.next.form)
    assert [u for u, _ in second.links] == [base + site.article_path(a) for a in site.live("1201")[4:8]]
    assert second.next.url.endswith("startrecord=9&endrecord=12&perpage=2") and second.next.form == first.next.form
    last = site.post("/module/web/jpage/dataproxy.jsp", {"startrecord": ["9"], "endrecord": ["12"]}, first.next.form)
    assert parse_list_page(last.body.decode(), second.next.url, window, "", 2, first.next.form).next is None


def test_json_pages_get_and_post_until_the_count_or_an_empty_page():
    get = Pagination(kind="json", page_param="pageNo", records="data.list", record_url="link", record_title="t",
                     record_date="d", total="data.total", params={"cid": "7"})
    start = "http://x.cn/api/list?cid=7&pageNo=1"
    assert first_request(start, get).url == start
    records = [{"link": f"/a/{n}.html", "t": f"标题{n}", "d": f"2026-01-0{n}"} for n in (1, 2)]
    page = parse_list_page(json.dumps({"data": {"total": 5, "list": records}}), start, get, start, 0)
    assert page.links == [("http://x.cn/a/1.html", "标题1"), ("http://x.cn/a/2.html", "标题2")]
    assert page.dates["http://x.cn/a/2.html"] == "2026-01-02" and page.next.url.endswith("pageNo=2")
    third = json.dumps({"data": {"total": 5, "list": records[:1]}})
    # a short last page: the count says it is the last when the page size is known, else the
    # empty page after it does
    assert parse_list_page(third, "", get.model_copy(update={"page_size": 2}), start, 2).next is None
    assert parse_list_page(third, "", get, start, 2).next.url.endswith("pageNo=4")
    assert parse_list_page(json.dumps({"data": {"total": 5, "list": []}}), "", get, start, 3).next is None
    post = Pagination(kind="json", url="/search", method="POST", first=3, records=".", record_url="u",
                      page_size=10, page_size_param="rows", params={"chnl": "5101"})
    html = '<ul><li><a href="./2026/t1.htm">静态页上的一条</a></li></ul>'
    first = parse_list_page(html, "http://x.cn/tzgg/index.html", post, "http://x.cn/tzgg/index.html", 0)
    assert first.links == [("http://x.cn/tzgg/2026/t1.htm", "静态页上的一条")]
    assert (first.next.url, first.next.method, first.next.form) == (
        "http://x.cn/search", "POST", {"chnl": "5101", "page": "3", "rows": "10"})
    empty = parse_list_page("[]", "http://x.cn/search", post, "http://x.cn/tzgg/index.html", 4)
    assert empty.links == [] and empty.next is None and empty.error is None
    as_json = Pagination(kind="json", url="/search", method="POST", body="json", records=".", record_url="u")
    assert parse_list_page(html, "http://x.cn/l/", as_json, "http://x.cn/l/", 0).next.json == {"page": 1}


def test_a_json_page_that_is_not_what_the_config_says_is_an_error():
    pagination = Pagination(kind="json", records="data.list", record_url="url")
    assert "not JSON" in parse_list_page("<html>维护中</html>", "http://x.cn/api", pagination, "", 0).error
    assert parse_list_page('{"data": {}}', "http://x.cn/api", pagination, "", 0).error == \
        "no list of records at 'data.list'"
