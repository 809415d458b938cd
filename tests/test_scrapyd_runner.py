"""The scheduler's scrapyd runner: crawls sent to real Scrapyd nodes on 127.0.0.1 by a real
`muniarchive scheduler start`, into one real PostgreSQL archive."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from crawler.config import ConfigError, load_config


def config_error(tmp_path: Path, scheduler: dict) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"scheduler": scheduler}), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return str(caught.value)


@pytest.mark.parametrize(("scheduler", "message"), [
    ({"runner": "kubernetes"}, "scheduler.runner: 'kubernetes' is not one of local, scrapyd"),
    ({"runner": "scrapyd", "scrapyd": {"nodes": ["127.0.0.1:6800"]}},
     "scheduler.scrapyd.nodes[0].url: '127.0.0.1:6800' is not an http(s) URL of a Scrapyd node"),
    ({"scrapyd": {"nodes": ["http://bob:hunter2@10.0.0.5:6800"]}},
     "scheduler.scrapyd.nodes[0].url: credentials do not belong in the URL; set MUNIARCHIVE_SCRAPYD_USERNAME "
     "and MUNIARCHIVE_SCRAPYD_PASSWORD"),
    ({"scrapyd": {"nodes": []}}, "scheduler.scrapyd.nodes: []: list should have at least 1 item after validation"),
    ({"scrapyd": {"nodes": [{"url": "http://a:6800", "max_proc": 0}]}}, "scheduler.scrapyd.nodes[0].max_proc: 0:"),
    ({"scrapyd": {"nodes": ["http://a:6800", "http://a:6800/"]}}, "nodes[1]: http://a:6800 is listed twice"),
    ({"scrapyd": {"poll_seconds": "soon"}}, "scheduler.scrapyd.poll_seconds: 'soon' is not a duration"),
])
def test_bad_scrapyd_settings_are_one_line_errors_that_name_the_key(tmp_path, scheduler, message):
    error = config_error(tmp_path, scheduler)
    assert message in error
    assert "\n" not in error and "hunter2" not in error


def test_nodes_as_urls_or_with_max_proc(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"scheduler": {"runner": "scrapyd", "scrapyd": {
        "nodes": ["http://10.0.0.5:6800/", {"url": "https://crawl2.example:6800", "max_proc": 12}],
        "poll_seconds": "2s"}}}), encoding="utf-8")
    settings = load_config(path).scheduler
    assert settings.runner == "scrapyd"
    assert [(n.url, n.max_proc) for n in settings.scrapyd.nodes] == [("http://10.0.0.5:6800", 4),
                                                                      ("https://crawl2.example:6800", 12)]
    assert settings.scrapyd.poll_seconds == 2
