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
                       "'trss' is not one of static, trs, hanweb, next_link")


@pytest.mark.parametrize("change, expected", [
    (("article_pattern: '/art/'", "article_pattern: '/art/('"), "sites[1].article_pattern: '/art/(' is not a valid"),
    (("key: b", "key: a"), "sites[1].key: 'a' is used by another site"),
    (("name: B\n", "name: B\n    colour: red\n"), "sites[1].colour: is not a known key"),
    (("http://b.example/col/col1/index.html", "ftp://b.example/"), "sites[1].start_urls[0].url: 'ftp://b.example/'"),
    (("archive:", "defaults:\n  timezone: Mars/Olympus\narchive:"), "defaults.timezone: 'Mars/Olympus' is not a known"),
    (("archive:", "defaults:\n  schedule: every night\narchive:"), "defaults.schedule: 'every night' is not a cron"),
    (("    name: C\n", ""), "sites[2].name: is required"),
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
