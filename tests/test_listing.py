from crawler.config import Pagination
from crawler.listing import parse_list_page
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
