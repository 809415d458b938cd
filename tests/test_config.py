from pathlib import Path

import pytest

from crawler.config import DB_ENV, ConfigError, load_config

VALID = """
archive:
  url: sqlite:///data/test.db
sites:
  - key: a
    name: A
    start_urls: [http://a.example/index.html]
    pagination: {kind: trs}
    article_pattern: '/t\\d{8}_\\d+\\.html$'
  - key: b
    name: B
    start_urls: [http://b.example/col/col1/index.html]
    pagination: {kind: hanweb}
    article_pattern: '/art/'
  - key: c
    name: C
    start_urls: [http://c.example/list.html]
    pagination: {kind: next_link}
    article_pattern: '/news/'
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_valid_config_loads_with_defaults_and_a_sqlite_path_beside_the_file(tmp_path, monkeypatch):
    monkeypatch.delenv(DB_ENV, raising=False)
    config = load_config(write(tmp_path, VALID))
    assert [s.key for s in config.sites] == ["a", "b", "c"]
    assert config.defaults.timezone == "Asia/Shanghai" and config.defaults.obey_robots_txt
    assert config.database_url == f"sqlite:///{tmp_path / 'data' / 'test.db'}"
    monkeypatch.setenv(DB_ENV, "sqlite:////elsewhere/x.db")
    assert config.database_url == "sqlite:////elsewhere/x.db"


def test_bad_value_names_file_key_path_and_value(tmp_path):
    message = error_of(tmp_path, VALID.replace("kind: next_link", "kind: trss"))
    assert message == (f"{tmp_path / 'config.yaml'}: sites[2].pagination.kind: "
                       "'trss' is not one of static, trs, hanweb, next_link, json")


@pytest.mark.parametrize("change, expected", [
    (("article_pattern: '/art/'", "article_pattern: '/art/('"), "sites[1].article_pattern: '/art/(' is not a valid"),
    (("key: b", "key: a"), "sites[1].key: 'a' is used by another site"),
    (("name: B\n", "name: B\n    colour: red\n"), "sites[1].colour: is not a known key"),
    (("http://b.example/col/col1/index.html", "ftp://b.example/"), "sites[1].start_urls[0].url: 'ftp://b.example/'"),
    (("archive:", "defaults:\n  timezone: Mars/Olympus\narchive:"), "defaults.timezone: 'Mars/Olympus' is not a known"),
    (("archive:", "defaults:\n  schedule: every night\narchive:"), "defaults.schedule: 'every night' is not a cron"),
    (("    name: C\n", ""), "sites[2].name: is required"),
    (("archive:", "scheduler:\n  misfire_grace: 6 hours\narchive:"), "scheduler.misfire_grace: '6 hours' is not a"),
    (("archive:", "scheduler:\n  max_parallel_crawls: 0\narchive:"), "scheduler.max_parallel_crawls: 0"),
    (("archive:", "defaults:\n  schedule: '0 2 * *'\narchive:"), "'0 2 * *' is not a cron expression (5 fields"),
    (("kind: next_link}", "kind: json}"), "sites[2].pagination: kind json needs records and record_url"),
    (("kind: next_link}", "kind: json, records: x, record_url: u, method: PUT}"),
     "sites[2].pagination.method: 'PUT' is not one of GET, POST"),
    (("kind: trs}", "kind: trs, records: data.list, page_param: p}"),
     "sites[0].pagination: page_param, records: only for kind json, not trs"),
    (("kind: next_link}", "kind: next_link, perpage: 15}"), "sites[2].pagination: perpage: only for kind hanweb"),
])
def test_each_kind_of_mistake_is_one_line_naming_where(tmp_path, change, expected):
    assert expected in error_of(tmp_path, VALID.replace(*change))


def test_yaml_syntax_error_gives_line_and_column(tmp_path):
    message = error_of(tmp_path, "sites:\n  - key: [a\n")
    assert message.startswith(f"{tmp_path / 'config.yaml'}:3:") and "YAML syntax error" in message


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")


def test_shipped_config_is_valid():
    config = load_config(Path(__file__).resolve().parents[1] / "config.yaml")
    assert len(config.sites) >= 5
    assert {"trs", "hanweb", "next_link", "static"} <= {p.kind for s in config.sites for _, p in s.columns()}


def test_durations_and_crontab_days_mean_what_people_write(tmp_path):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from crawler.config import cron_trigger

    config = load_config(write(tmp_path, VALID.replace("archive:", "scheduler:\n  misfire_grace: 6h\n  jitter: 90s\narchive:")))
    assert (config.scheduler.misfire_grace, config.scheduler.jitter) == (21600, 90)
    shanghai = ZoneInfo("Asia/Shanghai")
    saturday = datetime(2026, 11, 21, 12, 0, tzinfo=shanghai)
    # crontab: 0 (and 7) is Sunday; APScheduler alone would take 0 for Monday
    for expression in ("0 2 * * 0", "0 2 * * 7", "0 2 * * sun"):
        assert cron_trigger(expression, "Asia/Shanghai").get_next_fire_time(None, saturday) == \
            datetime(2026, 11, 22, 2, 0, tzinfo=shanghai)
    assert cron_trigger("0 2 * * 1-5", "Asia/Shanghai").get_next_fire_time(None, saturday).day == 23


def test_alert_urls_take_secrets_from_the_environment(tmp_path, monkeypatch):
    config = load_config(write(tmp_path, VALID.replace("archive:", "alerts:\n  urls: ['json://${HOOK_HOST}/x']\narchive:")))
    monkeypatch.delenv("HOOK_HOST", raising=False)
    with pytest.raises(ConfigError, match="alerts.urls: environment variable HOOK_HOST is not set"):
        config.alerts.resolved_urls()
    monkeypatch.setenv("HOOK_HOST", "127.0.0.1:9")
    assert config.alerts.resolved_urls() == ["json://127.0.0.1:9/x"]


def test_article_and_attachment_patterns_ignore_case(tmp_path):
    from crawler.config import url_pattern

    site = load_config(write(tmp_path, VALID.replace(r"\.html$'", r"\.html?$'"))).site("a")
    assert url_pattern(site.article_pattern).search("http://a.example/202503/t20250321_1.HTM")
    assert url_pattern(site.attachment_pattern).search("http://a.example/202503/P020250321620728732317.XLS")
    assert not url_pattern(site.article_pattern).search("http://a.example/202503/t20250321_1.pdf")
