"""Sample municipal sites served on 127.0.0.1, one port per site, built after the real CMS
families in ../shared/CMS-PATTERNS.md:

- ``binhe-gov``      a city portal in TRS WCM style: GBK bytes declared as gb2312, government
                     meta tags, createPageHTML() list paging, div.TRS_Editor, P0….pdf attachments;
- ``changning-gov``  a district portal in Hanweb jcms style: UTF-8, /col/colN/index.html lists
                     held in a <script type="text/xml"> datastore paged via dataproxy.jsp, #zoom;
- ``binhe-news``     a local news site: GBK, Baidu-news spans, hotlines, credit and 原标题 lines,
                     share widgets, flattened pinyin ruby, a Traditional-script reprint;
- ``haigang-gov``    a district site on a provincial intensive platform: TRS-made UTF-8 pages,
                     .htm articles, an .XLS attachment; a static first page whose later records
                     come from a JSON search endpoint (POST), TRS paging with its counts in
                     variables, a JSON list (GET).

Used by `muniarchive demo`, the tests and the benchmarks. The sites can publish new
articles between two crawls, fail with 500s, or go down, and they log every request.
"""

from __future__ import annotations

import html
import io
import json
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

from crawler.samplesites.content import CITY, DISTRICT, NEWS, PLATFORM, SampleArticle

ROBOTS = b"User-agent: *\nDisallow: /search/\nDisallow: /private/\n"


@dataclass
class Page:
    status: int
    content_type: str
    body: bytes


@dataclass
class Fault:
    """What a path answers instead of its page (SampleSite.faults): `status` with `headers`
    (a Retry-After, say), for the next `times` requests, or until removed (None)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    times: int | None = None


def not_found() -> Page:
    return Page(404, "text/html; charset=utf-8", b"<html><body><h1>404 Not Found</h1></body></html>")


def make_pdf(lines: list[str]) -> bytes:
    """A small valid one-page PDF showing `lines` (any script), whose text pypdf extracts.

    Like the PDFs government CMSs serve: a CID font (Identity-H, so a code is the character's
    code point) with a ToUnicode map. No font program is embedded: the text is for machines.
    """
    shown = "\n".join(f"<{''.join(f'{ord(c):04X}' for c in line)}> Tj T*" for line in lines)
    stream = f"BT /F1 14 Tf 72 760 Td 20 TL\n{shown}\nET".encode()
    to_unicode = (b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
                  b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
                  b"/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
                  b"1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
                  b"1 beginbfrange <0000> <FFFF> <0000> endbfrange\n"
                  b"endcmap CMapName currentdict /CMap defineresource pop end end")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /Identity-H "
        b"/DescendantFonts [6 0 R] /ToUnicode 7 0 R >>",
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 1000 >>",
        b"<< /Length " + str(len(to_unicode)).encode() + b" >>\nstream\n" + to_unicode + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def make_docx(lines: list[str]) -> bytes:
    import docx

    document = docx.Document()
    for line in lines:
        document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


CONTENT_TYPES = {"pdf": "application/pdf", "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                 "doc": "application/msword", "xls": "application/vnd.ms-excel", "wps": "application/kswps"}


def _dt(article: SampleArticle) -> datetime:
    return datetime.fromisoformat(article.published)


class SampleSite:
    """One site: its articles, which are live, and how its CMS renders them."""

    key = ""
    name = ""
    region = ""
    per_page = 5
    columns: dict[str, str] = {}

    def __init__(self, articles: list[SampleArticle]):
        self.articles = list(articles)
        self.released: set[int] = set()
        self.fault: str | None = None  # None | "500" | "stall"
        self._live_key: int | None = None
        self._pages: dict[tuple, Page] = {}
        self.delay = 0.0  # seconds every response waits: a slow server
        self.failing_paths: set[str] = set()  # paths (without query) that answer 500
        self.stalled_paths: set[str] = set()  # paths (without query) that answer only after stall_seconds
        self.faults: dict[str, Fault] = {}  # paths (without query) that answer a fault instead of their page
        self.files: dict[str, bytes] = {}  # attachment bodies by file name, instead of a made-up document

    def live(self, column: str | None = None) -> list[SampleArticle]:
        """Published articles, newest first (the order of the site's list pages)."""
        if self._live_key != len(self.released):
            self._live = sorted((a for a in self.articles if not a.pending or a.article_id in self.released),
                                key=_dt, reverse=True)
            self._paths = {self.article_path(a): a for a in self._live}
            self._live_key = len(self.released)
        return [a for a in self._live if column is None or a.column == column]

    def page(self, path: str, query: str) -> Page:
        """route(), remembered until the set of live articles changes (benchmarks fetch thousands)."""
        key = (len(self.released), path, query)
        if (page := self._pages.get(key)) is None:
            page = self._pages[key] = self.route(path, parse_qs(query))
        return page

    def revise(self, article_id: int, paragraphs: list[str]) -> SampleArticle:
        """Correct a published article in place (same URL, new text), as sites do."""
        for index, article in enumerate(self.articles):
            if article.article_id == article_id:
                self.articles[index] = replace(article, paragraphs=tuple(paragraphs))
                self._pages.clear()
                self._live_key = None
                return self.articles[index]
        raise KeyError(article_id)

    def attachment(self, article: SampleArticle, name: str, link_text: str) -> Page:
        """An attachment of a live article: the bytes set in `files`, or a PDF/DOCX whose first
        line is its link text (or the lines the article's extra["attachment_lines"] gives)."""
        file_type = name.rsplit(".", 1)[-1].lower()
        content_type = CONTENT_TYPES.get(file_type, "application/octet-stream")
        if name in self.files:
            return Page(200, content_type, self.files[name])
        lines = article.extra.get("attachment_lines", {}).get(name) or [link_text.rsplit(".", 1)[0], self.name]
        return Page(200, content_type, make_docx(lines) if file_type == "docx" else make_pdf(lines))

    def article_at(self, path: str) -> SampleArticle | None:
        self.live()
        return self._paths.get(path)

    def pages_of(self, column: str) -> list[list[SampleArticle]]:
        items = self.live(column)
        return [items[i:i + self.per_page] for i in range(0, len(items), self.per_page)] or [[]]

    def route(self, path: str, query: dict[str, list[str]]) -> Page:
        raise NotImplementedError

    def post(self, path: str, query: dict[str, list[str]], form: dict[str, str]) -> Page:
        """A POST (list endpoints only; never cached: its answer depends on the body)."""
        return Page(405, "text/html; charset=utf-8", b"<html><body>405 Method Not Allowed</body></html>")

    def article_path(self, article: SampleArticle) -> str:
        raise NotImplementedError

    def attachment_paths(self, article: SampleArticle) -> list[str]:
        raise NotImplementedError

    def config_entry(self, base_url: str) -> dict:
        raise NotImplementedError

    def expected(self, base_url: str) -> list[dict]:
        """What a correct crawl archives from this site right now."""
        out = []
        for a in self.live():
            out.append({
                "site": self.key, "url": base_url + self.article_path(a), "title": a.title,
                "publish_time": a.published, "source": a.source, "reporters": list(a.reporters),
                "editors": list(a.editors), "original_title": a.original_title, "body": a.body,
                "attachments": [base_url + p for p in self.attachment_paths(a)], "document": dict(a.document),
            })
        return out


# ---------------------------------------------------------------------------- TRS WCM

TRS_PAGER_JS = """function createPageHTML(_nPageCount, _nCurrIndex, _sPageName, _sPageExt){
  if(_nPageCount == null || _nPageCount<=1){ return; }
  var nCurrIndex = _nCurrIndex || 0;
  if(nCurrIndex == 0) document.write("<span>首页</span>&nbsp;");
  else document.write("<a href=\\""+_sPageName+"."+_sPageExt+"\\">首页</a>&nbsp;");
  for(var i=1; i<_nPageCount; i++){
    if(nCurrIndex == i) document.write("<span>"+(i+1)+"</span>&nbsp;");
    else document.write("<a href=\\""+_sPageName+"_" + i + "."+_sPageExt+"\\">"+(i+1)+"</a>&nbsp;");
  }
}"""


class TrsSite(SampleSite):
    key = "binhe-gov"
    name = "滨河市人民政府"
    region = "山东省滨河市"
    columns = {"zwdt": "工作动态", "ghjh": "规划计划"}
    site_code = "3799000001"
    domain = "www.binhe.gov.cn"
    charset, article_ext, body_class = "gbk", "html", "TRS_Editor"

    def article_path(self, a: SampleArticle) -> str:
        d = _dt(a)
        return f"/{a.column}/{d:%Y%m}/t{d:%Y%m%d}_{a.article_id}.{self.article_ext}"

    def attachment_paths(self, a: SampleArticle) -> list[str]:
        folder = self.article_path(a).rsplit("/", 1)[0]
        return [f"{folder}/{name}" for name, _ in a.attachments]

    def _head(self, title: str, column: str, extra: str = "") -> str:
        return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml"><head>
<meta http-equiv="Content-Type" content="text/html; charset={"gb2312" if self.charset == "gbk" else self.charset}" />
<title>{html.escape(title)}_{self.name}</title>
<meta name="SiteName" content="{self.name}">
<meta name="SiteDomain" content="{self.domain}">
<meta name="SiteIDCode" content="">
<meta name="ColumnName" content="{self.columns[column]}">
<meta name="ColumnType" content="{self.columns[column]}">
{extra}
<meta name="SiteName" content="{self.name}">
<link rel="stylesheet" href="/images/style.css" />
</head><body>
<div class="top"><div class="logo">{self.name}</div>
<ul class="nav"><li><a href="/">首页</a></li>{"".join(f'<li><a href="/{c}/index.html">{n}</a></li>' for c, n in self.columns.items())}
<li><a href="/search/index.html">站内搜索</a></li></ul></div>
<div class="location">当前位置：<a href="/">首页</a> &gt; <a href="/{column}/index.html">{self.columns[column]}</a></div>
"""

    def _foot(self) -> str:
        return f"""<div class="footer"><p>主办单位：{self.name}办公室　承办：滨河市大数据中心</p>
<p>网站标识码：{self.site_code}　鲁ICP备05012345号　鲁公网安备 37990202000123号</p></div>
<script id="_jiucuo_" sitecode="{self.site_code}" src="/images/jiucuo.js"></script>
</body></html>"""

    def list_items(self, articles: list[SampleArticle]) -> str:
        return "\n".join(
            f'<li><a href="./{self.article_path(a).split("/", 2)[2]}" target="_blank" title="{html.escape(a.title)}">'
            f'{html.escape(a.title)}</a><span>{a.published[:10]}</span></li>'
            for a in articles
        )

    def pager(self, column: str, index: int, count: int) -> str:
        return f'<script type="text/javascript">createPageHTML({count}, {index}, "index", "html");</script>'

    def list_page(self, column: str, index: int) -> Page:
        pages = self.pages_of(column)
        if index >= len(pages):
            return not_found()
        text = (self._head(self.columns[column], column)
                + f"""<div class="list"><ul>
{self.list_items(pages[index])}
</ul>
<div class="page"><script type="text/javascript">{TRS_PAGER_JS}</script>
{self.pager(column, index, len(pages))}</div></div>
""" + self._foot())
        return Page(200, "text/html", text.encode(self.charset))

    def article_page(self, a: SampleArticle) -> Page:
        author = "、".join(a.reporters)
        meta = f"""<meta name="ArticleTitle" content="{html.escape(a.title)}">
<meta name="PubDate" content="{a.published}">
<meta name="ContentSource" content="{a.source}">
<meta name="Keywords" content="">
<meta name="Author" content="{author}">
<meta name="Description" content="">
<meta name="Url" content="{self.article_path(a)}">"""
        paragraphs = "\n".join(f'<p style="text-indent: 2em;">{html.escape(p)}</p>' for p in a.paragraphs)
        links = "".join(
            f'<p><a href="./{name}" appendix="true" OLDSRC="/protect/{name}">{html.escape(text)}</a></p>'
            for name, text in a.attachments
        )
        attachments = f'<div class="fujian"><p>相关附件：</p>{links}</div>' if links else ""
        text = (self._head(a.title, a.column, meta) + self._document_table(a) + f"""<div class="article">
<h1 class="title">{html.escape(a.title)}</h1>
<div class="info">发布时间：{a.published}　来源：{a.source}　【字体：<a href="#">大</a> <a href="#">中</a> <a href="#">小</a>】</div>
<div class="{self.body_class}"><style type="text/css">.TRS_Editor P{{margin-top:5px;margin-bottom:5px;line-height:1.8;font-family:宋体;font-size:12pt;}}</style>
<div class="Custom_UnionStyle">
{paragraphs}
</div></div>
{attachments}
<div class="tools">【<a href="javascript:window.print()">打印本页</a>】【<a href="javascript:window.close()">关闭窗口</a>】</div>
<div class="share">分享到：<a href="#">微信</a> <a href="#">微博</a></div>
<div class="erweima">扫一扫在手机打开当前页</div>
</div>
""" + self._foot())
        return Page(200, "text/html", text.encode(self.charset))

    @staticmethod
    def _document_table(a: SampleArticle) -> str:
        """The 信息公开 table TRS portals print above a government document."""
        if not a.document:
            return ""
        d = {key: html.escape(value or "") for key, value in a.document.items()}

        def day(iso: str) -> str:
            return f"{iso[:4]}年{iso[5:7]}月{iso[8:10]}日"

        return f"""<div class="xxgk_table"><table class="table_suoyin" cellspacing="0" cellpadding="0">
<tr><th>索&nbsp;引&nbsp;号：</th><td>{d["index_number"]}</td><th>主题分类：</th><td>{d["subject"]}</td></tr>
<tr><th>发布机构：</th><td>{d["issuing_organ"]}</td><th>成文日期：</th><td>{day(d["written_date"])}</td></tr>
<tr><th>标　　题：</th><td colspan="3">{html.escape(a.title)}</td></tr>
<tr><th>文　　号：</th><td>{d["document_number"]}</td><th>发布日期：</th><td>{day(a.published)}</td></tr>
<tr><th>有&nbsp;效&nbsp;性：</th><td colspan="3">{d["validity"]}</td></tr>
</table></div>
"""

    def route(self, path: str, query) -> Page:
        if path in ("/", "/index.html"):
            links = "".join(f'<li><a href="/{c}/index.html">{n}</a></li>' for c, n in self.columns.items())
            return Page(200, "text/html", (f"<html><head><meta charset='gb2312'><title>{self.name}</title></head>"
                                           f"<body><ul>{links}</ul></body></html>").encode(self.charset))
        parts = path.strip("/").split("/")
        if parts[0] not in self.columns:
            return not_found()
        column = parts[0]
        if len(parts) == 2 and parts[1].startswith("index"):
            stem = parts[1].removesuffix(".html")
            if stem == "index":
                return self.list_page(column, 0)
            if stem.startswith("index_") and stem[6:].isdigit():
                return self.list_page(column, int(stem[6:]))
            return not_found()
        if article := self.article_at(path):
            return self.article_page(article)
        for a in self.live(column):
            for (name, text), attachment in zip(a.attachments, self.attachment_paths(a), strict=True):
                if attachment == path:
                    return self.attachment(a, name, text)
        return not_found()

    def config_entry(self, base_url: str) -> dict:
        return {
            "key": self.key, "name": self.name, "region": self.region,
            "start_urls": [f"{base_url}/{c}/index.html" for c in self.columns],
            "pagination": {"kind": "trs"},
            "article_pattern": r"/\d{6}/t\d{8}_\d+\.s?html?$",
            "attachment_pattern": r"/P0\d+\.(?:pdf|docx?|xlsx?|wps)$",
        }


# ---------------------------------------------------------------------------- Hanweb jcms

class HanwebSite(SampleSite):
    key = "changning-gov"
    name = "滨河市长宁区人民政府"
    region = "山东省滨河市长宁区"
    per_page = 4
    columns = {"1201": "长宁要闻"}
    web_id, unit_id = 12, 5501

    def article_path(self, a: SampleArticle) -> str:
        d = _dt(a)
        return f"/art/{d.year}/{d.month}/{d.day}/art_{a.column}_{a.article_id}.html"

    def attachment_paths(self, a: SampleArticle) -> list[str]:
        return [f"/module/download/downfile.jsp?classid=0&filename={name}&showname={quote(text)}"
                for name, text in a.attachments]

    def _proxy(self, column: str, page: int) -> str:
        return (f"/module/web/jpage/dataproxy.jsp?page={page}&appid=1&webid={self.web_id}&path=/"
                f"&columnid={column}&unitid={self.unit_id}&webname={quote(self.name)}&permissiontype=0")

    def datastore(self, column: str, page: int) -> str | None:
        pages = self.pages_of(column)
        if not 1 <= page <= len(pages):
            return None
        return self._datastore(column, pages[page - 1], page + 1)

    def _datastore(self, column: str, articles: list[SampleArticle], next_page: int) -> str:
        records = "\n".join(
            f'<record><![CDATA[<li><a href="{self.article_path(a)}" title="{html.escape(a.title)}" target="_blank">'
            f'{html.escape(a.title)}</a><i>{a.published[:10]}</i></li>]]></record>'
            for a in articles
        )
        total = len(self.live(column))
        return (f"<datastore><totalrecord>{total}</totalrecord><totalpage>{len(self.pages_of(column))}</totalpage>"
                f"<nextgroup><![CDATA[<a href=\"{self._proxy(column, next_page)}\"></a>]]></nextgroup>"
                f"<recordset>\n{records}\n</recordset></datastore>")

    def post(self, path: str, query, form: dict[str, str]) -> Page:
        """dataproxy.jsp's record window: POST ?startrecord=S&endrecord=E&perpage=P, the column in the form."""
        window = [query.get(k, [""])[0] for k in ("startrecord", "endrecord")]
        column = form.get("columnid", "")
        if path != "/module/web/jpage/dataproxy.jsp" or column not in self.columns or not all(
                w.isdigit() for w in window):
            return super().post(path, query, form)
        start, end = int(window[0]), int(window[1])
        xml = self._datastore(column, self.live(column)[start - 1:end], end // self.per_page + 1)
        return Page(200, "text/xml; charset=UTF-8", ('<?xml version="1.0" encoding="UTF-8"?>\n' + xml).encode())

    def column_page(self, column: str) -> Page:
        text = f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>{self.columns[column]} {self.name}</title>
<meta name="SiteName" content="{self.name}"><meta name="SiteDomain" content="www.changning.gov.cn">
<meta name="SiteIDCode" content="3799020001"><meta name="ColumnName" content="{self.columns[column]}">
<meta name="ColumnType" content="工作动态">
<script language="javascript" src="/module/jslib/jquery/jquery.js"></script>
<script language="javascript" src="/module/web/jpage/jpage.js"></script>
</head><body>
<div class="header"><a href="/">首页</a> <a href="/col/col1201/index.html">长宁要闻</a></div>
<div class="list-box"><div id="{self.unit_id}"><script type="text/xml">{self.datastore(column, 1)}</script>
<script language="javascript">var perpage = {self.per_page};
jpage_init('{self.unit_id}', '/module/web/jpage/dataproxy.jsp?startrecord=' + startrecord + '&endrecord=' + endrecord + '&perpage=' + perpage);</script></div></div>
<div class="footer">Produced By 大汉网络 大汉版通发布系统　网站标识码：3799020001</div>
</body></html>"""
        return Page(200, "text/html; charset=UTF-8", text.encode("utf-8"))

    def article_page(self, a: SampleArticle) -> Page:
        d = _dt(a)
        paragraphs = "\n".join(f"<p>{html.escape(p)}</p>" for p in a.paragraphs)
        links = "".join(f'<p><a href="{p}">{html.escape(t)}</a></p>'
                        for p, (_, t) in zip(self.attachment_paths(a), a.attachments, strict=True))
        text = f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>{html.escape(a.title)} {self.name}</title>
<meta name="SiteName" content="{self.name}"><meta name="SiteDomain" content="www.changning.gov.cn">
<meta name="SiteIDCode" content="3799020001"><meta name="ColumnName" content="{self.columns[a.column]}">
<meta name="ArticleTitle" content="{html.escape(a.title)}">
<meta name="PubDate" content="{a.published}"><meta name="ContentSource" content="">
<meta name="Keywords" content=""><meta name="Author" content="">
<meta name="Maketime" content="{d:%Y-%m-%d %H:%M:%S}"><meta name="i_columnid" content="{a.column}">
<meta name="i_articleid" content="{a.article_id}">
</head><body>
<div class="header"><a href="/">首页</a> &gt; <a href="/col/col{a.column}/index.html">{self.columns[a.column]}</a></div>
<div class="main">
<div class="title">{html.escape(a.title)}</div>
<div class="infos"><span>发布日期：{a.published[:10]}</span> <span>信息来源：{a.source}</span>
<span>浏览次数：<script language="javascript" src="/module/visitcount/articlehits.jsp?colid={a.column}&artid={a.article_id}"></script></span>
<span>字号：[ <a href="#">大</a> <a href="#">中</a> <a href="#">小</a> ]</span></div>
<div id="zoom">
<meta name="ContentStart"><!--<$[信息内容]>begin-->
{paragraphs}
<!--<$[信息内容]>end--><meta name="ContentEnd">
</div>
{links}
<div class="btns"><a href="javascript:window.print()">打印本页</a> <a href="javascript:window.close()">关闭窗口</a></div>
</div>
<div class="footer">Produced By 大汉网络 大汉版通发布系统　网站标识码：3799020001　鲁ICP备05054321号</div>
</body></html>"""
        return Page(200, "text/html; charset=UTF-8", text.encode("utf-8"))

    def route(self, path: str, query) -> Page:
        if path in ("/", "/index.html"):
            return Page(200, "text/html; charset=UTF-8",
                        '<html><body><a href="/col/col1201/index.html">长宁要闻</a></body></html>'.encode())
        for column in self.columns:
            if path == f"/col/col{column}/index.html":
                return self.column_page(column)
        if path == "/module/web/jpage/dataproxy.jsp":
            column = query.get("columnid", [""])[0]
            page = query.get("page", ["1"])[0]
            xml = self.datastore(column, int(page)) if column in self.columns and page.isdigit() else None
            if xml is None:
                return not_found()
            return Page(200, "text/xml; charset=UTF-8", ('<?xml version="1.0" encoding="UTF-8"?>\n' + xml).encode())
        if path == "/module/download/downfile.jsp":
            name = query.get("filename", [""])[0]
            for a in self.live():
                for n, text in a.attachments:
                    if n == name:
                        return self.attachment(a, name, text)
            return not_found()
        if article := self.article_at(path):
            return self.article_page(article)
        return not_found()

    def config_entry(self, base_url: str) -> dict:
        return {
            "key": self.key, "name": self.name, "region": self.region,
            "start_urls": [f"{base_url}/col/col{c}/index.html" for c in self.columns],
            "pagination": {"kind": "hanweb"},
            "article_pattern": r"/art/\d{4}/\d{1,2}/\d{1,2}/art_\d+_\d+\.html$",
            "attachment_pattern": r"/module/download/downfile\.jsp\?|/attach/\d+/\w+\.\w+$",
        }


# ---------------------------------------------------------------------------- local news

class NewsSite(SampleSite):
    key = "binhe-news"
    name = "滨河新闻网"
    region = "山东省滨河市"
    columns = {"local": "本地新闻", "city": "城事"}
    page_sizes = {"local": 5, "city": 3}

    def pages_of(self, column: str) -> list[list[SampleArticle]]:
        items, size = self.live(column), self.page_sizes[column]
        return [items[i:i + size] for i in range(0, len(items), size)] or [[]]

    def article_path(self, a: SampleArticle) -> str:
        d = _dt(a)
        return f"/system/{d:%Y/%m/%d}/{a.article_id}.shtml"

    def attachment_paths(self, a: SampleArticle) -> list[str]:
        return []

    def list_path(self, column: str, index: int) -> str:
        if column == "local":  # paged by a 下一页 link: list_1.shtml, list_2.shtml ...
            return f"/{column}/list_{index + 1}.shtml"
        return f"/{column}/index.html" if index == 0 else f"/{column}/index_{index}.html"

    def list_page(self, column: str, index: int) -> Page:
        pages = self.pages_of(column)
        if index >= len(pages):
            return not_found()
        items = "\n".join(f'<li><a href="{self.article_path(a)}">{html.escape(a.title)}</a>'
                          f'<span class="time">{a.published[5:16]}</span></li>' for a in pages[index])
        pager = ""
        if index > 0:
            pager += f'<a href="{self.list_path(column, index - 1)}">上一页</a> '
        if column == "local" and index + 1 < len(pages):
            pager += f'<a href="{self.list_path(column, index + 1)}">下一页</a>'
        text = f"""<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>{self.columns[column]}_{self.name}</title></head><body>
<div id="top"><a href="/">{self.name}</a> | <a href="/local/list_1.shtml">本地新闻</a> | <a href="/city/index.html">城事</a></div>
<ul class="news-list">
{items}
</ul>
<div class="pager">{pager}</div>
<div id="footer">新闻热线：0536-8123456　广告热线：0536-8123457　滨河新闻网版权所有</div>
</body></html>"""
        return Page(200, "text/html; charset=GBK", text.encode("gbk"))

    def article_page(self, a: SampleArticle) -> Page:
        t = a.traditional
        paragraphs = []
        for p in a.paragraphs:
            for word, pinyin in a.ruby:
                p = p.replace(word, f"{word}({pinyin})", 1)
            paragraphs.append(f"<p>{html.escape(p)}</p>")
        if a.original_title:
            paragraphs.insert(0, f"<p>{'原標題' if t else '原标题'}：{html.escape(a.original_title)}</p>")
        editors = "、".join(a.editors)
        if editors:
            paragraphs.append(f"<p>（{'責任編輯' if t else '责任编辑'}：{editors}）</p>")
        if t:
            paragraphs.append(f"<p>本文轉自{html.escape(a.source)}，轉載請註明出處。</p>")
        paragraphs.append("<p>滨河新闻网新闻热线：0536-8123456　广告热线：0536-8123457</p>")
        author = f'<span id="author_baidu">作者：{"、".join(a.reporters)}</span>' if a.reporters else ""
        editor = f'<span id="editor_baidu">{"編輯" if t else "编辑"}：{editors}</span>' if editors else ""
        body = "\n".join(paragraphs)
        text = f"""<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>{html.escape(a.title)}_{self.name}</title>
<meta name="keywords" content="{self.name},{self.columns[a.column]}">
<meta name="description" content="{html.escape(a.paragraphs[0][:60])}">
</head><body>
<div id="top"><a href="/">{self.name}</a> | <a href="/local/list_1.shtml">本地新闻</a> | <a href="/city/index.html">城事</a></div>
<div class="main">
<h1 id="artibodytitle">{html.escape(a.title)}</h1>
<div class="info"><span id="pubtime_baidu">{a.published}</span>
<span id="source_baidu">{"來源" if t else "来源"}：<a href="/" target="_blank">{html.escape(a.source)}</a></span>
{author} {editor}</div>
<div class="share">{"分享至" if t else "分享到"}：<a href="#">微信</a> <a href="#">微博</a> <a href="#">QQ空间</a></div>
<div id="artibody">
{body}
</div>
<div class="tips"><p>【读者须知】本网所有稿件，未经授权不得转载。</p></div>
<div class="related"><h3>相关新闻</h3><ul><li><a href="/local/list_1.shtml">更多本地新闻</a></li></ul></div>
</div>
<div id="footer"><p>新闻热线：0536-8123456　广告热线：0536-8123457</p><p>滨河新闻网版权所有　鲁ICP备09012345号</p></div>
</body></html>"""
        if t:  # this template declares gb2312 but the server sends UTF-8 bytes
            return Page(200, "text/html", text.encode("utf-8"))
        return Page(200, "text/html; charset=GBK", text.encode("gbk"))

    def route(self, path: str, query) -> Page:
        if path in ("/", "/index.html"):
            return self.list_page("local", 0)
        for column in self.columns:
            for index in range(len(self.pages_of(column))):
                if path == self.list_path(column, index):
                    return self.list_page(column, index)
        if article := self.article_at(path):
            return self.article_page(article)
        return not_found()

    def config_entry(self, base_url: str) -> dict:
        return {
            "key": self.key, "name": self.name, "region": self.region,
            "start_urls": [
                f"{base_url}/local/list_1.shtml",
                {"url": f"{base_url}/city/index.html",
                 "pagination": {"kind": "static", "template": "index_{n}.html", "first": 1}},
            ],
            "pagination": {"kind": "next_link"},
            "article_pattern": r"/system/\d{4}/\d{2}/\d{2}/\d+\.shtml$",
        }


# ---------------------------------------------------------------------------- provincial platform

class PlatformSite(TrsSite):
    """A district site on a provincial intensive platform (集约化平台): TRS-made UTF-8 pages,
    articles ending in .htm, an attachment with an upper-case extension (.XLS).

    - 通知公告 (tzgg): a static first page holding the first `max_static_index` pages of
      records, saying `maxStaticIndex` and `recordCount`; the rest only from a JSON search
      endpoint, POSTed with the channel and a page number (the platform's avalon.js template);
    - 工作动态 (gzdt): TRS list pages whose createPageHTML() takes its counts from variables;
    - 政策解读 (zcjd): a JSON list (GET, pageNo) that the column's page renders with a script.
    """

    key = "haigang-gov"
    name = "滨河市海港区人民政府"
    region = "山东省滨河市海港区"
    per_page = 3
    columns = {"tzgg": "通知公告", "gzdt": "工作动态", "zcjd": "政策解读"}
    site_code = "3799030001"
    domain = "www.haigang.gov.cn"
    charset, article_ext, body_class = "utf-8", "htm", "view TRS_UEDITOR trs_paper_default"
    channels = {"tzgg": "5101", "gzdt": "5102", "zcjd": "5103"}
    max_static_index = 2
    search_path, api_path = "/hgapp/search", "/hgapi/list"

    def pager(self, column: str, index: int, count: int) -> str:
        return (f'<script type="text/javascript">var countPage = {count};//共多少页\nvar currentPage = {index};\n'
                f"createPageHTML('page_div', countPage, currentPage, 'index', 'html', {len(self.live(column))});"
                "</script>")

    def list_page(self, column: str, index: int) -> Page:
        if column == "gzdt":
            return super().list_page(column, index)
        if index:
            return not_found()
        static = self.live(column)[:self.max_static_index * self.per_page] if column == "tzgg" else []
        channel = self.channels[column]
        if column == "tzgg":
            loader = f"""$.ajax({{url: "{self.search_path}", type: "POST", dataType: "json",
    data: {{channelid: "{self.site_code}", classsql: "chnlid={channel}", sortfield: "-docreltime", page: page, pagesize: listConfig.pageSize}},
    success: function (res) {{ vm.docs = res.data.docs; vm.total = res.data.total; }}}});"""
        else:
            loader = f"""$.getJSON("{self.api_path}", {{chnlid: "{channel}", pageNo: page, pageSize: listConfig.pageSize}},
    function (res) {{ vm.docs = res.result.items; }});"""
        text = (self._head(self.columns[column], column) + f"""<div class="list" ms-controller="list">
<ul class="static-list" ms-visible="!loaded">
{self.list_items(static)}
</ul>
<ul ms-visible="loaded"><li ms-for="el in @docs"><a ms-attr="{{href: el.url}}">{{{{el.title}}}}</a></li></ul>
<div id="page_div"></div></div>
<script src="/static/js/avalon.min.js"></script>
<script type="text/javascript">
var listConfig = {{chnlid: "{channel}", quickMode: "动静结合", maxStaticIndex: {self.max_static_index if static else 0}, recordCount: '{len(self.live(column))}', pageSize: {self.per_page}}};
function loadPage(page) {{
  {loader}
}}
</script>
""" + self._foot())
        return Page(200, "text/html", text.encode(self.charset))

    def _records(self, column: str, page: int) -> list[SampleArticle]:
        return self.live(column)[(page - 1) * self.per_page:page * self.per_page] if page >= 1 else []

    def route(self, path: str, query) -> Page:
        if path != self.api_path:
            return super().route(path, query)
        column = next((c for c, n in self.channels.items() if [n] == query.get("chnlid")), None)
        page = query.get("pageNo", [""])[0]
        if column is None or not page.isdigit():
            return not_found()
        items = [{"id": a.article_id, "doc": {"docTitle": a.title, "docUrl": self.article_path(a)},
                  "pubDate": a.published[:10]} for a in self._records(column, int(page))]
        document = {"success": True, "result": {"totalCount": len(self.live(column)), "pageNo": int(page),
                                                "items": items}}
        return Page(200, "application/json;charset=UTF-8", json.dumps(document, ensure_ascii=False).encode())

    def post(self, path: str, query, form: dict[str, str]) -> Page:
        column = next((c for c, n in self.channels.items() if form.get("classsql") == f"chnlid={n}"), None)
        page = form.get("page", "")
        if path != self.search_path or column is None or not page.isdigit():
            return super().post(path, query, form)
        docs = [{"docid": a.article_id, "title": a.title, "url": self.article_path(a), "pubtime": a.published + ":00",
                 "chnldesc": self.columns[column]} for a in self._records(column, int(page))]
        document = {"code": "200", "data": {"total": len(self.live(column)), "page": int(page), "rows": self.per_page,
                                            "docs": docs}}
        return Page(200, "application/json;charset=UTF-8", json.dumps(document, ensure_ascii=False).encode())

    def config_entry(self, base_url: str) -> dict:
        return {
            "key": self.key, "name": self.name, "region": self.region,
            "start_urls": [
                {"url": f"{base_url}/tzgg/index.html", "pagination": {
                    "kind": "json", "url": self.search_path, "method": "POST",
                    "params": {"channelid": self.site_code, "classsql": f"chnlid={self.channels['tzgg']}",
                               "sortfield": "-docreltime"},
                    "page_size": self.per_page, "page_size_param": "pagesize", "first": self.max_static_index + 1,
                    "records": "data.docs", "record_url": "url", "record_title": "title", "record_date": "pubtime",
                    "total": "data.total"}},
                f"{base_url}/gzdt/index.html",
                {"url": f"{base_url}{self.api_path}?chnlid={self.channels['zcjd']}&pageNo=1&pageSize={self.per_page}",
                 "pagination": {"kind": "json", "page_param": "pageNo", "page_size": self.per_page, "records": "result.items",
                                "record_url": "doc.docUrl", "record_title": "doc.docTitle", "record_date": "pubDate",
                                "total": "result.totalCount"}},
            ],
            "pagination": {"kind": "trs"},
            "article_pattern": r"/\d{6}/t\d{8}_\d+\.html?$",
            "attachment_pattern": r"/P0\d+\.(?:pdf|docx?|xlsx?|wps)$",
        }


# ---------------------------------------------------------------------------- the server

class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    site: SampleSite
    owner: SampleSites

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        split = urlsplit(self.path)
        self.owner._log(self.site.key, self.path)
        fault = self.site.fault
        if self.site.delay:
            time.sleep(self.site.delay)
        if fault == "stall" or split.path in self.site.stalled_paths:
            time.sleep(self.owner.stall_seconds)
        headers = {}
        if fault == "500" or split.path in self.site.failing_paths:
            page = Page(500, "text/html", b"<html><body>500 Internal Server Error</body></html>")
        elif path_fault := self.owner.take_fault(self.site, split.path):
            page, headers = Page(path_fault.status, "text/html", b"<html><body>fault</body></html>"), path_fault.headers
        elif split.path == "/robots.txt":
            page = Page(200, "text/plain", ROBOTS)
        else:
            try:
                page = self.site.page(split.path, split.query)
            except Exception as exc:  # a bug in a sample page should show, not hang the crawl
                page = Page(500, "text/plain", f"sample site error: {exc!r}".encode())
        self._send(page, headers)

    def do_POST(self) -> None:  # noqa: N802
        split = urlsplit(self.path)
        self.owner._log(self.site.key, f"POST {self.path}")
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
        if "json" in (self.headers.get("Content-Type") or ""):
            form = {k: str(v) for k, v in json.loads(data or "{}").items()}
        else:
            form = {k: v[0] for k, v in parse_qs(data, keep_blank_values=True).items()}
        self._send(self.site.post(split.path, parse_qs(split.query), form))

    def _send(self, page: Page, headers: dict[str, str] | None = None) -> None:
        self.send_response(page.status)
        self.send_header("Content-Type", page.content_type)
        self.send_header("Content-Length", str(len(page.body)))
        self.send_header("Server", "TRS WCM" if isinstance(self.site, TrsSite) else "nginx")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(page.body)

    def log_message(self, *args) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # a crawl killed mid-download (timeouts, shutdowns: what the tests do) hangs up on us
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class SampleSites:
    """The sample sites, each on its own 127.0.0.1 port. Use as a context manager."""

    def __init__(self, sites: list[SampleSite] | None = None, host: str = "127.0.0.1"):
        self.sites = {s.key: s for s in (sites or [TrsSite(CITY), HanwebSite(DISTRICT), NewsSite(NEWS),
                                                          PlatformSite(PLATFORM)])}
        self.host = host
        self.servers: dict[str, ThreadingHTTPServer] = {}
        self.ports: dict[str, int] = {}
        self.requests: list[tuple[str, str]] = []
        self.stall_seconds = 60.0
        self._lock = threading.Lock()

    def __enter__(self) -> SampleSites:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        for key in self.sites:
            self.bring_up(key)

    def stop(self) -> None:
        for key in list(self.servers):
            self.take_down(key)

    def bring_up(self, key: str) -> None:
        """Serve the site (again, on the port it had, so URLs stay valid)."""
        handler = type("Handler", (_Handler,), {"site": self.sites[key], "owner": self})
        server = _Server((self.host, self.ports.get(key, 0)), handler)
        self.ports[key] = server.server_address[1]
        self.servers[key] = server
        threading.Thread(target=server.serve_forever, name=f"sample-{key}", daemon=True).start()

    def take_down(self, key: str) -> None:
        """Stop serving: connections to the site's port are refused until bring_up()."""
        server = self.servers.pop(key, None)
        if server is not None:
            server.shutdown()
            server.server_close()

    def base_url(self, key: str) -> str:
        return f"http://{self.host}:{self.ports[key]}"

    def _log(self, key: str, path: str) -> None:
        with self._lock:
            self.requests.append((key, path))

    def take_fault(self, site: SampleSite, path: str) -> Fault | None:
        """The fault `path` answers with now, if any (a counted fault is used up)."""
        with self._lock:
            fault = site.faults.get(path)
            if fault is not None and fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    del site.faults[path]
        return fault

    def take_requests(self) -> list[tuple[str, str]]:
        """The requests received since the last call, as (site key, path)."""
        with self._lock:
            taken, self.requests = self.requests, []
        return taken

    def publish(self, count: int) -> list[SampleArticle]:
        """Release the next `count` pending articles (oldest first, across sites)."""
        pending = sorted(((a, s) for s in self.sites.values() for a in s.articles
                          if a.pending and a.article_id not in s.released), key=lambda pair: _dt(pair[0]))
        released = []
        for article, site in pending[:count]:
            site.released.add(article.article_id)
            released.append(article)
        return released

    def config(self, database_url: str, **defaults) -> dict:
        """A config.yaml document (as a dict) for crawling these sites."""
        sites = [site.config_entry(self.base_url(key)) for key, site in self.sites.items()]
        base = {"download_delay": 0, "concurrency_per_domain": 8, "retry_backoff": 0.2,
                "download_timeout": 10, "autothrottle": False}
        return {"archive": {"url": database_url}, "defaults": base | defaults, "sites": sites}

    def expected(self) -> list[dict]:
        return [row for key, site in self.sites.items() for row in site.expected(self.base_url(key))]
