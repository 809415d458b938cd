"""Plan-release watch end to end: sample sites publishing a plan's stages between crawls,
attachments read (PDF, DOCX) or recorded with a reason, notifications, `muniarchive plans`."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pypdf
import pytest
import yaml
from sqlalchemy import select

from archive import Archive
from archive.models import Attachment, CrawlRun, PlanRelease
from crawler.config import load_config
from crawler.extract.documents import document_text, file_name_and_type
from crawler.samplesites.content import SampleArticle
from crawler.samplesites.server import make_docx, make_pdf
from scheduler.runner import run_crawl
from tests.helpers import CHINA, Receiver, wait_for
from tests.test_scheduler import SchedulerProcess, runs, write_config

ROOT = Path(__file__).resolve().parents[1]
ATOM = "{http://www.w3.org/2005/Atom}"
CITY = ["binhe-gov"]  # where the plan's later stages appear


def plans_cli(config_path: Path, *args: str) -> list[dict]:
    result = subprocess.run([sys.executable, "-m", "scheduler.cli", "plans", "--config", str(config_path),
                             "--json", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def receiver():
    hook = Receiver()
    yield hook
    hook.close()


@pytest.fixture
def watched(tmp_path, sample_sites, receiver, archive_url):
    """A config whose alerts go to the receiver; articles are revisited (corrections show)."""
    document = sample_sites.config(archive_url, revisit_days=30)
    document["alerts"] = {"urls": [f"json://127.0.0.1:{receiver.port}/hook"]}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def crawl(config, archive, keys=None) -> list:
    """Crawl the sites (default all); the plan changes found after each."""
    results = [run_crawl(config, key, archive) for key in keys or [site.key for site in config.sites]]
    assert all(r.status == "succeeded" for r in results), [(r.site, r.error) for r in results]
    return [change for r in results for change in r.plan_changes]


def stored_releases(archive) -> dict[tuple, PlanRelease]:
    with archive.session() as session:
        return {(r.stage, r.period, r.topic): r for r in session.scalars(select(PlanRelease))}


def test_each_stage_is_detected_at_the_crawl_where_it_appears_and_reported_once(
        tmp_path, sample_sites, watched, receiver):
    config = load_config(watched)
    archive = Archive(config.database_url)

    first = crawl(config, archive)
    assert set(stored_releases(archive)) == {
        ("final", "十四五", "国民经济和社会发展"), ("final", "2026-2035", "城市更新"),
        ("consultation", "十五五", "国民经济和社会发展")}
    assert sorted(c.change for c in first) == ["new"] * 3
    # the news that mentions 十四五/十五五 again and again is archived, and is no release
    assert all("binhe-news" not in r.url and str(sample_sites.ports["binhe-news"]) not in r.url
               for r in stored_releases(archive).values())
    # the first crawl is the quiet baseline: recorded and listed, never announced
    assert receiver.received == [] and plans_cli(watched, "--new") == []
    assert [r["baseline"] for r in plans_cli(watched)] == [True] * 3

    # the last of these is the final 纲要 with its text as a PDF (the others: news of other sites)
    released = sample_sites.publish(7)
    assert "第十五个五年规划和二〇三五年远景目标纲要的通知" in released[-1].title
    second = crawl(config, archive, CITY)
    assert [(c.change, c.title) for c in second] == [("new", released[-1].title)]
    final = stored_releases(archive)[("final", "十五五", "国民经济和社会发展")]
    assert f"{final.published_at.astimezone(CHINA):%Y-%m-%d %H:%M}" == "2026-11-03 16:30" and final.attachment_id is None
    with archive.session() as session:  # its PDF, named only 规划纲要全文, was read and is the same release
        pdf = session.scalar(select(Attachment).where(Attachment.link_text == "规划纲要全文.pdf"))
        assert pdf.text_note == "extracted" and "第十五个五年规划和二〇三五年" in pdf.text
    assert [m["title"] for m in receiver.received] == [
        "[muniarchive] 新规划发布：滨河市国民经济和社会发展第十五个五年规划和二〇三五年远景目标纲要（印发）"]
    assert [r["stage"] for r in plans_cli(watched, "--new")] == ["final"]

    review = sample_sites.publish(1)[0]
    third = crawl(config, archive, CITY)
    assert [(c.change, c.title) for c in third] == [("new", review.title)]
    assert ("midterm_review", "2024-2030", "海洋经济发展") in stored_releases(archive)
    with archive.session() as session:
        docx = session.scalar(select(Attachment).where(Attachment.file_type == "docx"))
        assert docx.text_note == "extracted" and "中期评估报告" in docx.text
    assert len(receiver.received) == 2

    assert crawl(config, archive, CITY) == [] and len(receiver.received) == 2  # nothing new: nothing said

    # the government corrects the final notice: the release is updated (not new) and told once
    sample_sites.sites["binhe-gov"].revise(200204, [*released[-1].paragraphs, "（此件公开发布）更正：印发日期。"])
    fourth = crawl(config, archive, CITY)
    assert [c.change for c in fourth] == ["updated"]
    assert stored_releases(archive)[("final", "十五五", "国民经济和社会发展")].version == 2
    assert len(receiver.received) == 3 and "规划更新" in receiver.received[-1]["title"]
    with archive.session() as session:
        assert session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).first().stats[
            "plan_releases_updated"] == 1

    # every release once, newest first; the feed holds them with stable ids
    everything = plans_cli(watched, "--feed", str(tmp_path / "plans.atom"))
    assert len(everything) == 5 and everything[0]["stage"] == "midterm_review"
    assert everything[0]["published_at"].startswith("2026-11-10T10:00:00+08:00")
    feed = ET.parse(tmp_path / "plans.atom").getroot()
    entries = feed.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}link").get("href") for e in entries] == [r["url"] for r in everything]
    assert len({e.find(f"{ATOM}id").text for e in entries}) == 5
    assert plans_cli(watched, "--region", "长宁区") == []
    assert len(plans_cli(watched, "--since", "2026-10-01")) == 4
    archive.close()


def test_a_scheduler_on_a_fresh_archive_announces_only_the_release_published_after_its_first_crawls(
        tmp_path, archive_url, sample_sites, receiver):
    hook = f"json://127.0.0.1:{receiver.port}/hook"
    config = write_config(tmp_path / "config.yaml", archive_url, sample_sites, list(sample_sites.sites), "*/5 * * * * *",
                          {"max_parallel_crawls": 3}, alerts={"urls": [hook]})
    db = archive_url

    def succeeded_sites(started_after: datetime | None = None) -> set[int]:
        return {r.site_id for r in runs(db) if r.status == "succeeded"
                and (started_after is None or r.started_at > started_after)}

    def plan_alerts() -> list[str]:
        return [m["title"] for m in receiver.received if "规划" in m["title"]]

    scheduler = SchedulerProcess(config)
    try:
        wait_for(lambda: len(succeeded_sites()) == len(sample_sites.sites), 120, "every site's first crawl")
        published = datetime.now(UTC)
        sample_sites.publish(7)  # the last of these is the final 十五五 纲要; the others are news
        wait_for(lambda: len(succeeded_sites(started_after=published)) == len(sample_sites.sites), 120,
                 "a crawl of every site after the release")
        wait_for(plan_alerts, 30, "the release's notification")
    finally:
        scheduler.stop()  # the running crawls finish, with their plan watch
    assert plan_alerts() == [
        "[muniarchive] 新规划发布：滨河市国民经济和社会发展第十五个五年规划和二〇三五年远景目标纲要（印发）"]
    # the releases the first crawls found (the 2021 十四五 纲要 among them) are known, and quiet
    assert sorted((r["stage"], r["period"], r["baseline"]) for r in plans_cli(config)) == [
        ("consultation", "十五五", True), ("final", "2026-2035", True), ("final", "十五五", False),
        ("final", "十四五", True)]


def test_with_baseline_days_the_publication_date_decides_from_the_first_crawl_on(
        tmp_path, sample_sites, watched, receiver):
    # a window ending between the 2026-10-12 城市更新 plan and the 2026-10-16 consultation
    # draft (a day's margin on each side), whenever the test runs
    days = (datetime.now(UTC) - datetime(2026, 10, 14, 12, tzinfo=CHINA)) // timedelta(days=1)
    document = yaml.safe_load(watched.read_text(encoding="utf-8"))
    document["plans"] = {"baseline_days": days}
    watched.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    # a page whose title a re-poster garbled; its body opens with the plan's title block
    sample_sites.sites["binhe-gov"].articles.append(SampleArticle(
        "ghjh", 200290, "2026-11-20 11:00", "（滨河?。h海洋发展局文件", "市海洋发展局",
        ("滨河市“十五五”海洋经济发展规划", "（征求意见稿）", "滨河市海洋发展局",
         "为推动海洋经济高质量发展，市海洋发展局起草了本规划，现公开征求社会各界意见。")))
    config = load_config(watched)
    archive = Archive(config.database_url)

    crawl(config, archive)

    released = {(r["stage"], r["period"], r["topic"]): r for r in plans_cli(watched)}
    assert {key: r["baseline"] for key, r in released.items()} == {
        ("final", "十四五", "国民经济和社会发展"): True, ("final", "2026-2035", "城市更新"): True,
        ("consultation", "十五五", "国民经济和社会发展"): False, ("consultation", "十五五", "海洋经济发展"): False}
    assert sorted(m["title"] for m in receiver.received) == [
        "[muniarchive] 新规划发布：滨河市“十五五”海洋经济发展规划（征求意见稿）",
        "[muniarchive] 新规划发布：滨河市国民经济和社会发展第十五个五年规划纲要（征求意见稿）"]
    assert len(plans_cli(watched, "--new")) == 2
    archive.close()


def test_an_imported_dump_names_its_plan_below_a_garbled_title_and_is_history(tmp_path, watched, receiver):
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    (dumps / "changning-plan.txt").write_text(
        "（山东?。h长宁区国民经济和社会发展十五五规划(2026年更新)\n"
        "长宁区国民经济和社会发展\n第十五个五年规划和二〇三五年\n远景目标纲要（征求意见稿）\n"
        "在广泛听取各方面意见的基础上，区政府组织编制了本纲要，现公开征求意见。\n", encoding="utf-8")
    (dumps / "changning-news.txt").write_text(
        "（山东?。h长宁区“十五五”规划编制综述\n"
        "长宁区国民经济和社会发展第十五个五年规划纲要编制工作启动以来，区发展改革局广泛听取意见。\n",
        encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "scheduler.cli", "import-text", str(dumps), "--site",
                             "changning-gov", "--config", str(watched)], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr

    assert [(r["stage"], r["period"], r["region"], r["baseline"]) for r in plans_cli(watched)] == [
        ("consultation", "十五五", "山东省滨河市长宁区", True)]
    assert plans_cli(watched, "--new") == [] and receiver.received == []


def _encrypted_pdf() -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(make_pdf(["加密文件"]))))
    writer.encrypt(user_password="secret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_attachments_that_cannot_be_read_are_recorded_with_a_reason_and_the_crawl_goes_on(
        sample_sites, config, archive):
    city = sample_sites.sites["binhe-gov"]
    pdf = make_pdf(["滨河市“十五五”生态环境保护规划（征求意见稿）"])
    city.files.update({
        "P0001.pdf": b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R",  # cut off by the CMS
        "P0002.pdf": _encrypted_pdf(),
        "P0003.pdf": b"%PDF-1.4\n" + bytes(50 * 1024 * 1024),  # 50 MB
        "P0004.doc": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2000),  # an old binary Word file
        "P0005.docx": b"PK\x03\x04 this zip is broken",
        "P0006.pdf": pdf,
        "P0007.pdf": pdf,  # the same file under a second name: its bytes are kept once
    })
    city.articles.append(SampleArticle(
        "zwdt", 100120, "2026-10-21 09:00", "关于公布2026年第三批政府信息公开目录的通知", "市政府办公室",
        ("现将有关文件目录公布如下。",), attachments=tuple((name, f"附件{i}") for i, name in enumerate(city.files, 1))))

    result = run_crawl(config, "binhe-gov", archive)

    assert result.status == "succeeded" and result.stats["errors"] == 0
    assert result.stats["articles_new"] == 15
    with archive.session() as session:
        found = {a.file_name: a for a in session.scalars(select(Attachment))}
    assert found["P0001.pdf"].status == "fetched" and found["P0001.pdf"].text_note.startswith("unreadable PDF")
    assert found["P0002.pdf"].text_note == "encrypted PDF (a password is needed to read it)"
    assert found["P0003.pdf"].status == "too_large" and "larger than" in found["P0003.pdf"].error
    assert found["P0003.pdf"].capture_id is None
    assert found["P0004.doc"].text_note == "no text extractor for doc" and found["P0004.doc"].size == 2008
    assert found["P0005.docx"].text_note.startswith("unreadable DOCX")
    assert found["P0006.pdf"].capture_id == found["P0007.pdf"].capture_id
    assert found["P0006.pdf"].sha256 == found["P0007.pdf"].sha256
    # the generic link text 附件6 said nothing: the PDF's first line named the plan
    assert ("consultation", "十五五", "生态环境保护") in stored_releases(archive)


def test_document_text_and_file_names():
    assert document_text(make_pdf(["第一行", "第二行"]), "pdf").text == "第一行\n第二行"
    assert document_text(make_docx(["规划全文", "第一章"]), "docx").text == "规划全文\n第一章"
    assert document_text(b"<html>404</html>", "pdf").note == "not a PDF file (it starts '<html>404</html>')"
    assert document_text(b"", "xls") == document_text(b"", "xls")
    assert document_text(b"anything", "xlsx").text is None
    assert file_name_and_type("http://x.cn/module/download/downfile.jsp?classid=0&filename=3f2a.pdf") == (
        "3f2a.pdf", "pdf")
    assert file_name_and_type("http://x.cn/getfile?id=7", "attachment; filename*=UTF-8''%E8%A7%84%E5%88%92.docx") == (
        "规划.docx", "docx")
    assert file_name_and_type("http://x.cn/download.jsp?id=7", content_type="application/pdf") == (
        "download.jsp", "pdf")
