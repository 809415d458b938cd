"""Generated TRS-style sites of any size, for benchmarks (the hand-written sites stay small)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from crawler.samplesites.content import SampleArticle
from crawler.samplesites.server import TrsSite

_PLACES = ["河口镇", "城南街道", "东港区", "杏林镇", "白沙湾", "滨河港", "锦华社区", "青峰山", "文昌街道", "临川县"]
_TOPICS = ["安全生产", "农村人居环境", "重点项目", "教育设施", "营商环境", "清洁取暖", "文化旅游", "智慧城市",
           "养老服务", "交通运输", "水利建设", "生态保护", "医疗保障", "就业创业", "乡村振兴"]
_SENTENCES = [
    "{place}召开{topic}工作推进会，听取各部门进展情况汇报，研究解决存在的困难和问题。",
    "会议要求，各单位要对照年初确定的目标任务，逐项梳理、查漏补缺，确保全年{topic}目标圆满完成。",
    "截至目前，{place}已完成{topic}相关项目{n}个，完成年度计划的{p}%。",
    "下一步，{place}将持续加大{topic}投入力度，在资金、人才、技术等方面给予支持。",
    "据介绍，今年以来全市{topic}工作总体平稳，群众满意度达到{p}%。",
    "相关负责人表示，将建立问题清单，实行销号管理，做到件件有回音、事事有着落。",
    "{place}组织{n}名工作人员深入一线开展{topic}督导检查，发现问题当场整改。",
]


def synthetic_articles(count: int, seed: int = 7) -> list[SampleArticle]:
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, 8, 0)
    articles = []
    for i in range(count):
        place, topic = rng.choice(_PLACES), rng.choice(_TOPICS)
        published = start + timedelta(minutes=173 * i)
        paragraphs = [rng.choice(_SENTENCES).format(place=place, topic=topic, n=rng.randint(3, 400),
                                                    p=rng.randint(60, 99)) for _ in range(rng.randint(3, 8))]
        articles.append(SampleArticle("zwdt", 300000 + i, published.strftime("%Y-%m-%d %H:%M"),
                                      f"{place}推进{topic}工作（第{i + 1}期）", "市政府办公室", tuple(paragraphs),
                                      reporters=("李镕",)))
    return articles


class SyntheticTrsSite(TrsSite):
    key = "synthetic-gov"
    per_page = 20
    columns = {"zwdt": "工作动态"}

    def __init__(self, count: int):
        super().__init__(synthetic_articles(count))
