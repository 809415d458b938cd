"""A site on 127.0.0.1 whose article pages each misbehave in one way a real server does, and
a second server on another port that only records whether anything reached it.

Used by tests/test_faults.py: a crawl of it must complete, store or account for every
article, fetch nothing from the other port or host, and keep its memory bounded.
"""

from __future__ import annotations

import random
import socket
import struct
import threading
import zlib
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARTICLE_PATTERN = r"/(?:a|private)/[\w.-]+\.html$"
ROBOTS = b"User-agent: *\nDisallow: /private/\n"
MB = 1024 * 1024

_SENTENCES = ["滨河市召开安全生产工作推进会，听取各部门进展情况汇报。", "会议要求各单位对照目标任务逐项梳理、查漏补缺。",
              "截至目前已完成相关项目四十二个，完成年度计划的百分之八十七。", "下一步将持续加大投入力度，在资金、人才等方面给予支持。"]


def article_html(title: str, paragraphs: list[str], charset: str = "utf-8") -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f'<html><head><meta charset="{charset}"><title>{title}</title></head><body>'
            f'<h1>{title}</h1><div class="info">发布时间：2026-03-02 09:30 来源：滨河市政府办公室</div>'
            f'<div class="article-content">{body}</div></body></html>')


def big_page(size: int, seed: int) -> bytes:
    """An article page of about `size` bytes: a normal head, then paragraph after paragraph."""
    rng = random.Random(seed)
    paragraphs, total = [], 0
    while total < size:
        paragraph = "".join(rng.choice(_SENTENCES) for _ in range(8)) + f"（第{len(paragraphs) + 1}段）"
        paragraphs.append(paragraph)
        total += len(paragraph.encode()) + 7
    return article_html(f"滨河市年度工作报告全文（{size // MB} MB）", paragraphs).encode()


class _Recorder(BaseHTTPRequestHandler):
    """The other service on the machine: answers anything, remembers every request."""

    hits: list[str]

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.hits.append(self.path)
        body = article_html("不应被抓取的页面", ["这是同一台机器上的另一个服务。" * 5]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # resets and hang-ups are what this server is for


class FaultySite:
    """Use as a context manager: `base_url` is the site, `foreign_hits` what reached the other
    port, `localhost_hits` what arrived addressed to `localhost` instead of 127.0.0.1."""

    def __init__(self, huge_mb: int = 60, big_mb: int = 20, bigs: int = 3):
        self.counts: Counter[str] = Counter()
        self.foreign_hits: list[str] = []
        self.localhost_hits: list[str] = []
        self.stopping = threading.Event()
        self.huge_mb, self.big_mb, self.bigs = huge_mb, big_mb, bigs
        self._cache: dict[str, bytes] = {}
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- what it serves

    def article_paths(self) -> list[str]:
        """Every article the list links to, one per fault (and a few good ones)."""
        faults = ["ok-1", "ok-2", "ok-3", "e500", "e503-then-ok", "e429-then-ok", "reset", "stall", "truncated",
                  "gzip-bomb", "huge", *[f"big-{n}" for n in range(1, self.bigs + 1)], "gbk-labelled-utf8",
                  "utf8-labelled-gbk", "garbage", "control-chars", "loop-a", "chain", "redir-other-port",
                  "redir-localhost", "redir-file", "missing"]
        return [f"/a/{name}.html" for name in faults] + ["/private/secret.html"]

    def scheme_links(self) -> list[str]:
        """Links a crawler must never turn into requests (they end like article URLs)."""
        return ["javascript:void('/a/js.html')", "mailto:office@binhe.example/a/mail.html",
                "file:///etc/a/passwd.html", "data:text/html,<b>x</b>/a/data.html"]

    def list_page(self) -> bytes:
        links = "".join(f'<li><a href="{p}">文章 {p}</a></li>' for p in self.article_paths() + self.scheme_links())
        return f'<html><head><meta charset="utf-8"><title>工作动态</title></head><body><ul>{links}</ul></body></html>'\
            .encode()

    def _gzip_bomb(self) -> bytes:
        """300 MB of zeros, gzipped to a few hundred KB."""
        compressor = zlib.compressobj(9, wbits=31)  # wbits 31: a gzip stream
        chunk = bytes(MB)
        return b"".join(compressor.compress(chunk) for _ in range(300)) + compressor.flush()

    # ---------------------------------------------------------------- serving

    def _handler(self):
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                path = self.path.split("?", 1)[0]
                if (self.headers.get("Host") or "").startswith("localhost"):
                    site.localhost_hits.append(path)
                with site._lock:
                    site.counts[path] += 1
                    count = site.counts[path]
                site.serve(self, path, count)

            def log_message(self, *args) -> None:
                pass

        return Handler

    def serve(self, handler: BaseHTTPRequestHandler, path: str, count: int) -> None:
        name = path.rsplit("/", 1)[-1].removesuffix(".html")

        def send(status: int, body: bytes = b"", content_type: str = "text/html; charset=utf-8", **headers) -> None:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(body)))
            for key, value in headers.items():
                handler.send_header(key.replace("_", "-"), value)
            handler.end_headers()
            handler.wfile.write(body)

        def redirect(location: str) -> None:
            send(302, b"", Location=location)

        good = article_html(f"滨河市工作动态 {name}", _SENTENCES).encode()
        if path == "/robots.txt":
            send(200, ROBOTS, "text/plain")
        elif path == "/index.html":
            send(200, self.list_page())
        elif name.startswith("ok-") or (name.endswith("-then-ok") and count > 1) or path.startswith("/private/"):
            send(200, good)
        elif name == "e500":
            send(500, b"<html>500</html>")
        elif name == "e503-then-ok":
            send(503, b"<html>busy</html>", Retry_After="1")
        elif name == "e429-then-ok":
            send(429, b"<html>slow down</html>", Retry_After="1")
        elif name == "reset":  # an RST instead of an answer
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            handler.connection.close()
            handler.close_connection = True
        elif name == "stall":  # headers never come; bounded by the crawler's download timeout
            self.stopping.wait(60)
            handler.close_connection = True
        elif name == "truncated":  # promises more than it sends, then hangs up
            handler.send_response(200)
            handler.send_header("Content-Type", "text/html; charset=utf-8")
            handler.send_header("Content-Length", str(len(good) * 10))
            handler.end_headers()
            handler.wfile.write(good[: len(good) // 2])
            handler.wfile.flush()
            handler.connection.shutdown(socket.SHUT_RDWR)
            handler.close_connection = True
        elif name == "gzip-bomb":
            send(200, self._cache["bomb"], Content_Encoding="gzip")
        elif name == "huge" or name.startswith("big-"):
            send(200, self._cache[name])
        elif name == "gbk-labelled-utf8":
            send(200, article_html("滨河市鎔铸新动能", _SENTENCES, "utf-8").encode("gbk"))
        elif name == "utf8-labelled-gbk":
            send(200, article_html("滨河市堃园开园", _SENTENCES, "gbk").encode(), "text/html; charset=gbk")
        elif name == "garbage":
            send(200, random.Random(5).randbytes(200_000))
        elif name == "control-chars":
            page = article_html("控制字符\x01\x0b", _SENTENCES).replace("<h1>", "<!-- c -->\x00\x08\x1b<h1>")
            send(200, page.encode())
        elif name in ("loop-a", "loop-b"):
            redirect("/a/loop-b.html" if name == "loop-a" else "/a/loop-a.html")
        elif name.startswith("chain"):  # a new URL every time: ends at the redirect limit
            with self._lock:
                self.counts["chain hops"] += 1
                redirect(f"/a/chain-{self.counts['chain hops']}.html")
        elif name == "redir-other-port":
            redirect(f"http://127.0.0.1:{self.foreign_port}/a/ok-1.html")
        elif name == "redir-localhost":
            redirect(f"http://localhost:{self.port}/a/ok-2.html")
        elif name == "redir-file":
            redirect("file:///etc/passwd")
        else:
            send(404, b"<html>404</html>")

    # ---------------------------------------------------------------- lifecycle

    def __enter__(self) -> FaultySite:
        # made before serving: made on demand, they held the GIL while other pages waited
        self._cache["bomb"] = self._gzip_bomb()
        self._cache["huge"] = big_page(self.huge_mb * MB, 0)
        for n in range(1, self.bigs + 1):
            self._cache[f"big-{n}"] = big_page(self.big_mb * MB, n)
        self.server = _Server(("127.0.0.1", 0), self._handler())
        self.port = self.server.server_address[1]
        self.foreign = _Server(("127.0.0.1", 0), type("Recorder", (_Recorder,), {"hits": self.foreign_hits}))
        self.foreign_port = self.foreign.server_address[1]
        for server in (self.server, self.foreign):
            threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        for server in (self.server, self.foreign):
            server.shutdown()
            server.server_close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self, database_url: str, **defaults) -> dict:
        """A config.yaml document (as a dict) for crawling this site."""
        base = {"download_delay": 0, "concurrency_per_domain": 8, "retry_backoff": 0.2, "download_timeout": 5,
                "autothrottle": False, "retry_times": 1, "max_download_mb": 64}
        site = {"key": "faulty", "name": "滨河市故障站", "region": "山东省滨河市",
                "start_urls": [f"{self.base_url}/index.html"], "pagination": {"kind": "static", "max_pages": 1},
                "article_pattern": ARTICLE_PATTERN, "attachment_pattern": r"/P0\d+\.pdf$"}
        return {"archive": {"url": database_url}, "defaults": base | defaults, "sites": [site]}
