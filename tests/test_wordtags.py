"""The word tagger the credit reader uses (crawler/extract/wordtags.py) cuts and tags as jieba's
posseg does, from tables it builds once into the cache directory."""

import os
import subprocess
import sys
from pathlib import Path

import jieba
import jieba.posseg
import pytest

from crawler.extract import wordtags

ROOT = Path(__file__).resolve().parents[1]

# names (with rare given-name characters, compound surnames, other traditions), pen names,
# phrases and words a credit line holds, Latin handles, digits, mixed runs and whitespace
SAMPLES = ["王喆", "张珺", "李珺", "陈旻", "马俊峰", "徐睿翔", "欧阳夏丹", "司马青", "格桑次仁", "格桑边觉", "流泉",
           "叨叨姐", "张岩刘畅", "罗科苏盈发自北京", "文明", "黄金周", "高兴", "返回富达", "学习目的", "新闻",
           "药剂科供稿", "本报记者张三", "滨河新区首条城市快速公交线路昨日开通", "zboygirl", "A3版", "2024年5月20日",
           "张三 李四", "张三\r\n李四", "C++ 与 C#", "3.14元", "㐀㐁", "夜雨&听风", "责任编辑：赵六"]


@pytest.mark.parametrize("text", SAMPLES)
def test_tags_are_jiebas(text):
    assert wordtags.tag(text) == [(pair.word, pair.flag) for pair in jieba.posseg.lcut(text)]
    for word, _ in wordtags.tag(text):
        assert wordtags.frequency(word) == (jieba.dt.FREQ.get(word) or 0)


def run_tagger(cache: Path) -> str:
    code = "from crawler.extract import wordtags; print(wordtags.tag('王喆'), wordtags.frequency('新闻'))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                          env={**os.environ, "MUNIARCHIVE_CACHE_DIR": str(cache)})
    return done.stdout.strip()


def test_tables_are_built_once_into_the_cache_directory(tmp_path):
    cache = tmp_path / "cache"
    expected = f"{[(p.word, p.flag) for p in jieba.posseg.lcut('王喆')]} {jieba.dt.FREQ['新闻']}"
    assert run_tagger(cache) == expected
    (built,) = cache.glob("jieba-tags-*.sqlite")
    stamp = built.stat().st_mtime_ns
    assert run_tagger(cache) == expected
    assert built.stat().st_mtime_ns == stamp and list(cache.iterdir()) == [built]
