"""Secrets are never printed: every URL form people use for alerts and archives, masked by
archive.masking.mask_url, and what doctor prints for them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from archive.masking import mask_text, mask_url

# (url, its secrets, what must stay readable); the secrets are our own inventions
FORMS = [
    ("json://alerts:Pw0rd-json@hooks.example.org:8443/hook/PathTok3n?format=text&%2BX-Api-Key=HdrS3cret",
     ["Pw0rd-json", "PathTok3n", "HdrS3cret"], ["json://", "alerts", "hooks.example.org", ":8443", "X-Api-Key"]),
    ("jsons://hooks.example.org/api/v2/7f3a9c1e55b2?+Authorization=Bearer%20eyJhbGciOi&-title=",
     ["7f3a9c1e55b2", "eyJhbGciOi"], ["jsons://", "hooks.example.org", "+Authorization", "-title"]),
    ("json://127.0.0.1:9000/notify/ROTATEME", ["ROTATEME"], ["json://", "127.0.0.1:9000"]),
    ("mailto://ops:app-pass-4921@smtp.example.org?to=oncall%40example.org&from=bot%40example.org",
     ["app-pass-4921"], ["mailto://", "smtp.example.org", "ops"]),
    ("mailtos://archiver:QwErTy99@mail.example.cn:465/?smtp=smtp.example.cn&to=team%40example.cn",
     ["QwErTy99"], ["mailtos://", "mail.example.cn", ":465"]),
    ("dingtalk://SEC4f0e2d8b@9a8b7c6d5e4f3a2b1c0d/13800138000", ["SEC4f0e2d8b", "9a8b7c6d5e4f3a2b1c0d", "13800138000"],
     ["dingtalk://"]),
    ("dingtalk://9a8b7c6d5e4f3a2b1c0d/", ["9a8b7c6d5e4f3a2b1c0d"], ["dingtalk://"]),
    ("wecombot://693axxx6-7aoc-4bc4-97a0-0ec2sifa5aaa", ["693axxx6-7aoc-4bc4-97a0-0ec2sifa5aaa"], ["wecombot://"]),
    ("lark://b3c1d2e4-5f60-4a7b-8c9d-0e1f2a3b4c5d", ["b3c1d2e4-5f60-4a7b-8c9d-0e1f2a3b4c5d"], ["lark://"]),
    ("feishu://0f1e2d3c4b5a69788796a5b4c3d2e1f0/", ["0f1e2d3c4b5a69788796a5b4c3d2e1f0"], ["feishu://"]),
    ("ntfy://watcher:NtfyPa55@ntfy.example.org/binhe-alerts-x81k", ["NtfyPa55", "binhe-alerts-x81k"],
     ["ntfy://", "ntfy.example.org", "watcher"]),
    ("ntfys://tk_7h2k9xq4m1p8w3e6r5t0y@ntfy.sh/muniarchive-ops", ["tk_7h2k9xq4m1p8w3e6r5t0y", "muniarchive-ops"],
     ["ntfys://", "ntfy.sh"]),
    ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#ops", ["A1BRTD4JD", "TIiajkdnlazkcOXrIdevi7FQ"],
     ["slack://"]),
    ("slack://xoxb-1234-1234-4ddbc191d40ee098cbaae6f3523ada2d/#general",
     ["xoxb-1234-1234-4ddbc191d40ee098cbaae6f3523ada2d"], ["slack://"]),
    ("postgresql+psycopg://archiver:Db-Pa55w0rd@db.example.org:5432/muniarchive?sslpassword=KeyPa55",
     ["Db-Pa55w0rd", "KeyPa55"], ["postgresql+psycopg://", "archiver", "db.example.org:5432", "/muniarchive"]),
    ("http://crawler:IntranetPw@portal.example.gov.cn/xxgk/index.html?page=2", ["IntranetPw"],
     ["http://", "portal.example.gov.cn", "/xxgk/index.html?page=2"]),
    # unencoded characters in a password end the parts early: what follows is masked all the same
    ("json://user:pa/ss#w@rd@hooks.example.org/x", ["pa", "ss", "w@rd"], ["json://"]),
]


@pytest.mark.parametrize("url, secrets, visible", FORMS, ids=[form[0].split("://")[0] + str(i)
                                                             for i, form in enumerate(FORMS)])
def test_each_url_form_is_printed_without_its_secrets(url, secrets, visible):
    masked = mask_url(url)
    for secret in secrets:
        assert secret not in masked, masked
    for part in visible:
        assert part in masked, masked


def test_paths_of_archives_are_kept_and_text_is_masked_url_by_url():
    assert mask_url("sqlite:////data/muniarchive.db") == "sqlite:////data/muniarchive.db"
    assert mask_url("no scheme at all: a pasted token") == "***"
    line = ("alert not delivered to json://127.0.0.1:9000/hook/Tok3nA?+X-Key=Tok3nB; archive "
            "postgresql://u:Tok3nC@db.example.org/archive unreachable")
    masked = mask_text(line)
    assert not {"Tok3nA", "Tok3nB", "Tok3nC"} & set(masked.replace("/", " ").replace("=", " ").split())
    assert "Tok3n" not in masked
    assert masked.startswith("alert not delivered to json://127.0.0.1:9000/") and "db.example.org/archive" in masked


def test_doctor_prints_alert_and_archive_urls_masked(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({
        "archive": {"url": f"sqlite:///{tmp_path / 'archive.db'}"},
        "alerts": {"urls": ["${HOOK}", "mailtos://ops:MailPa55@smtp.example.org?to=a%40example.org",
                            "wecombot://WecomBotKey0042"]},
        "sites": [],
    }), encoding="utf-8")
    hook = "json://hooks.example.org/hook/PathTok3n?%2BX-Api-Key=HdrS3cret"
    outputs = []
    for args in (["--json"], []):
        result = subprocess.run([sys.executable, "-m", "scheduler.cli", "doctor", "--config", str(config), *args],
                                capture_output=True, text=True, timeout=120, env={"HOOK": hook, "PATH": "/usr/bin"},
                                cwd=Path(__file__).resolve().parents[1])
        assert result.returncode == 0, result.stdout + result.stderr
        outputs.append(result.stdout + result.stderr)
    for output in outputs:
        for secret in ("PathTok3n", "HdrS3cret", "MailPa55", "WecomBotKey0042"):
            assert secret not in output
        assert "hooks.example.org" in output and "smtp.example.org" in output and "wecombot://" in output
    alerts = {c["check"]: c for c in json.loads(outputs[0])}["alerts"]
    assert alerts["ok"] and alerts["detail"].count("://") == 3
