"""民情分析 (Art. 15 para. 1): what people raise, where and when, and how promptly it is settled.

Over one year's opinions: hot topics (a word that surges in one county in one month, compared
with the same county's other months), each county's words of the month (TF-IDF with jieba's
segmentation and IDF table, Chinese stop words and place names removed), category trends,
and the share of assigned opinions answered by their deadline.

``analyse`` works on plain rows (so it is tested without a database), ``analyse_db`` reads
them from the projections, ``render_section`` gives the report's Chinese HTML section and
``to_json`` the data for machines. Citizens' details are never read.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from functools import cache
from typing import Any

import jinja2
import msgspec
import psycopg
from markupsafe import Markup

from quality.params import CHINA_TZ
from schemas.privacy import mask_text
from schemas.regions import load_regions

# Words that say nothing about the matter: requests, hedges, generic nouns.
_STOP_TEXT = """
希望 建议 尽快 有关 部门 有关部门 协调 解决 问题 群众 反映 加强 增加 现象 情况 存在 影响 相关 进行 没有
一些 比较 非常 目前 时间 附近 周边 居民 小区 社区 村 街道 镇 乡 一直 多次 多时 无人 帮助 给个 说法 能否
是否 要求 提高 严重 安排 及时 处理 落实 加快 导致 经常 时常 多户 老人 小孩 一周 近一周 早上 很久 不敢
其中 以及 或者 还是 可以 需要 已经 这个 那个 我们 他们 大家 不能 不会 一下 怎么 什么 为什么 有些 方面
关于 对于 工作 服务 管理 建设 单位 政府 代表 人大 意见 提出 希望政府 望 请 谢谢 缺少 增设 紧张 整治
列入 纳入 专项 设置 不合理 难以 不足 偏高 偏低
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())
# Place-like tokens: a community, village, street … or an address piece; and a word just
# before one of these is the place's own name (和平 in 和平社区).
_PLACE_SUFFIX = re.compile(r"(社区|村|街道|镇|乡|区|县|市|路|街|号|幢|单元|室|大厦|小区)$")
_PLACE_NOUNS = frozenset({"社区", "村", "街道", "镇", "乡", "小区", "大厦", "新村", "花园", "苑"})
_WORD = re.compile(r"^[\u4e00-\u9fff]{2,}$")

# A hot topic: at least this many opinions in the county-month, this far above what the
# county's other months lead one to expect (Poisson z-score), and this many times as many.
MIN_COUNT = 5
MIN_Z = 4.0
MIN_LIFT = 3.0
TOP_TOPICS = 10
KEYWORDS_PER_TOPIC = 5
WORDS_PER_MONTH = 5


# --- data ---------------------------------------------------------------------------------


class OpinionText(msgspec.Struct, frozen=True):
    """What the analysis reads of one opinion (no personal details)."""

    opinion_id: str
    region_code: str  # the station's township (9 digits) or county (6) code
    received_on: date
    category: str
    content: str
    outcome: str | None = None  # answered | redirected | assigned
    deadline: date | None = None
    feedback_on: date | None = None


class HotTopic(msgspec.Struct, frozen=True):
    region_code: str
    region_name: str
    month: str  # YYYY-MM
    keywords: list[str]
    opinions: int
    expected: float  # what the county's other months would lead one to expect
    lift: float
    z: float
    category: str
    townships: list[tuple[str, int]]
    examples: list[str]


class MonthWords(msgspec.Struct, frozen=True):
    region_code: str
    region_name: str
    month: str
    opinions: int
    words: list[str]


class CategoryTrend(msgspec.Struct, frozen=True):
    category: str
    by_month: list[int]  # January .. December
    total: int
    change: float | None  # second half over first half, minus 1


class Timeliness(msgspec.Struct, frozen=True):
    key: str
    name: str
    received: int
    answered: int
    redirected: int
    assigned: int
    due: int  # assigned and due by as_of (deadline passed or feedback given)
    on_time: int
    late: int
    overdue_open: int

    @property
    def share_on_time(self) -> float | None:
        return self.on_time / self.due if self.due else None


class MinqingAnalysis(msgspec.Struct, frozen=True):
    year: int
    as_of: date
    opinions: int
    regions: list[tuple[str, str]]  # counties analysed (code, name)
    hot_topics: list[HotTopic]
    month_words: list[MonthWords]
    categories: list[CategoryTrend]
    by_region: list[Timeliness]
    by_category: list[Timeliness]
    overall: Timeliness


# --- segmentation -------------------------------------------------------------------------


@cache
def _tokenizer(city: str) -> Any:
    """A private jieba tokenizer that knows the city's place names (so they can be dropped)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tk = jieba.Tokenizer()
    for name in _places(city):
        tk.add_word(name, freq=2000)
    return tk


@cache
def _idf() -> tuple[dict[str, float], float]:
    """jieba's IDF table and its median, read the way ``jieba.analyse.IDFLoader`` reads it.

    Not through ``jieba.analyse``: importing it loads the table for its own default extractor
    and the part-of-speech model as well, ~170 MB and ~0.5 s more in a quality run."""
    from importlib import resources

    text = resources.files("jieba").joinpath("analyse/idf.txt").read_bytes().decode("utf-8")
    idf: dict[str, float] = {}
    for line in text.splitlines():
        word, freq = line.strip().split(" ")
        idf[word] = float(freq)
    return idf, sorted(idf.values())[len(idf) // 2]


@cache
def _places(city: str) -> frozenset[str]:
    names = set(load_regions(city).names().values())
    # 越城区 -> 越城, 塔山街道 -> 塔山, 东浦镇 -> 东浦
    names |= {re.sub(r"(街道|镇|乡|区|县|市)$", "", n) for n in names}
    return frozenset(n for n in names if len(n) >= 2)


def keywords_of(text: str, city: str = "3306") -> list[str]:
    """The content words of one opinion, in order, duplicates removed."""
    places = _places(city)
    toks = _tokenizer(city).lcut(text)
    out: dict[str, None] = {}
    for tok, nxt in zip(toks, [*toks[1:], ""], strict=True):
        if (_WORD.match(tok) and tok not in STOP_WORDS and tok not in places and nxt not in _PLACE_NOUNS
                and not (len(tok) >= 3 and _PLACE_SUFFIX.search(tok))):
            out[tok] = None
    return list(out)


# --- analysis -----------------------------------------------------------------------------


def _county_of(code: str) -> str:
    return code[:6] if len(code) >= 6 else code


def _month(d: date) -> str:
    return f"{d.year}-{d.month:02d}"


def _surges(
    docs: list[int], tokens: list[list[str]], n_county: int, county_df: Counter[str],
) -> list[tuple[str, int, float, float, float, set[int]]]:
    """Words of one county-month well above the county's other months: (word, n, expected, z, lift, docs)."""
    n_here = len(docs)
    n_other = n_county - n_here
    here: dict[str, set[int]] = defaultdict(set)
    for i in docs:
        for t in tokens[i]:
            here[t].add(i)
    out = []
    for word, hit in here.items():
        k = len(hit)
        if k < MIN_COUNT:
            continue
        expected = (county_df[word] - k) / n_other * n_here if n_other else 0.0
        z = (k - expected) / math.sqrt(expected + 1.0)
        lift = (k + 1.0) / (expected + 1.0)
        if z >= MIN_Z and lift >= MIN_LIFT:
            out.append((word, k, expected, z, lift, hit))
    return sorted(out, key=lambda s: (-s[3], s[0]))


def _topics(opinions: Sequence[OpinionText], tokens: list[list[str]], names: dict[str, str]) -> list[HotTopic]:
    by_county: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, o in enumerate(opinions):
        by_county[_county_of(o.region_code)][_month(o.received_on)].append(i)
    topics: list[HotTopic] = []
    for county, months in by_county.items():
        # Document frequency of each word in the county's whole year.
        county_df: Counter[str] = Counter(t for docs in months.values() for i in docs for t in tokens[i])
        n_county = sum(len(docs) for docs in months.values())
        for month, docs in months.items():
            surges = _surges(docs, tokens, n_county, county_df)
            claimed: set[int] = set()  # an opinion belongs to the first (strongest) topic only
            for _word, _k, expected, z, lift, hit in surges:
                lead = hit - claimed
                if len(lead) < MIN_COUNT:
                    continue
                # Words that surge in mostly the same opinions describe the same matter.
                same = [s for s in surges if (rest := s[5] - claimed) and len(rest & lead) >= 0.5 * len(rest)]
                members = set().union(*(s[5] - claimed for s in same))
                claimed |= members
                towns = Counter(names.get(opinions[i].region_code, opinions[i].region_code) for i in members)
                cats = Counter(opinions[i].category for i in members)
                texts = dict.fromkeys(opinions[i].content for i in sorted(lead, key=lambda i: opinions[i].opinion_id))
                # The words most of the topic's opinions share come first; ties go to the rarer word.
                idf, median = _idf()
                cover = Counter(w for i in members for w in tokens[i])
                words = sorted((s[0] for s in same), key=lambda w: (-cover[w], -idf.get(w, median), w))
                topics.append(HotTopic(
                    region_code=county, region_name=names.get(county, county), month=month,
                    keywords=words[:KEYWORDS_PER_TOPIC], opinions=len(members), expected=round(expected, 1),
                    lift=round(lift, 1), z=round(z, 1), category=cats.most_common(1)[0][0],
                    townships=towns.most_common(4),
                    # Quoted requests may carry a phone or ID number: masked wherever shown.
                    examples=[mask_text(t) for t in list(texts)[:2]]))
    return sorted(topics, key=lambda t: (-t.z, t.region_code, t.month))[:TOP_TOPICS]


def _month_words(opinions: Sequence[OpinionText], tokens: list[list[str]],
                 names: dict[str, str]) -> list[MonthWords]:
    idf, median = _idf()
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, o in enumerate(opinions):
        groups[(_county_of(o.region_code), _month(o.received_on))].append(i)
    out = []
    for (county, month), idx in sorted(groups.items()):
        tf = Counter(t for i in idx for t in tokens[i])
        ranked = sorted(tf, key=lambda w: (-tf[w] * idf.get(w, median), w))
        out.append(MonthWords(county, names.get(county, county), month, len(idx), ranked[:WORDS_PER_MONTH]))
    return out


def _trends(opinions: Sequence[OpinionText]) -> list[CategoryTrend]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * 12)
    for o in opinions:
        counts[o.category][o.received_on.month - 1] += 1
    out = []
    for category, months in counts.items():
        first, second = sum(months[:6]), sum(months[6:])
        change = round(second / first - 1, 3) if first else None
        out.append(CategoryTrend(category, months, sum(months), change))
    return sorted(out, key=lambda t: (-t.total, t.category))


def _timeliness(key: str, name: str, items: Iterable[OpinionText], as_of: date) -> Timeliness:
    received = answered = redirected = assigned = due = on_time = late = overdue_open = 0
    for o in items:
        received += 1
        if o.outcome == "answered":
            answered += 1
        elif o.outcome == "redirected":
            redirected += 1
        elif o.outcome == "assigned" and o.deadline is not None:
            assigned += 1
            fed = o.feedback_on if o.feedback_on is not None and o.feedback_on <= as_of else None
            if fed is None and o.deadline >= as_of:
                continue  # not due yet
            due += 1
            if fed is not None and fed <= o.deadline:
                on_time += 1
            elif fed is not None:
                late += 1
            else:
                overdue_open += 1
    return Timeliness(key, name, received, answered, redirected, assigned, due, on_time, late, overdue_open)


def analyse(opinions: Sequence[OpinionText], *, year: int, as_of: date, city: str = "3306") -> MinqingAnalysis:
    """The 民情 analysis of the opinions received in ``year`` (others are ignored)."""
    rows = [o for o in opinions if o.received_on.year == year]
    regions = load_regions(city)
    names = regions.names()
    tokens = [keywords_of(o.content, city) for o in rows]
    counties = sorted({_county_of(o.region_code) for o in rows})
    by_county: dict[str, list[OpinionText]] = defaultdict(list)
    by_category: dict[str, list[OpinionText]] = defaultdict(list)
    for o in rows:
        by_county[_county_of(o.region_code)].append(o)
        by_category[o.category].append(o)
    return MinqingAnalysis(
        year=year, as_of=as_of, opinions=len(rows),
        regions=[(c, names.get(c, c)) for c in counties],
        hot_topics=_topics(rows, tokens, names),
        month_words=_month_words(rows, tokens, names),
        categories=_trends(rows),
        by_region=[_timeliness(c, names.get(c, c), by_county[c], as_of) for c in counties],
        by_category=sorted((_timeliness(k, k, v, as_of) for k, v in by_category.items()),
                           key=lambda t: (-t.received, t.key)),
        overall=_timeliness("all", "全部", rows, as_of),
    )


_LOAD = """
SELECT opinion_id, split_part(station_id, '-', 1) AS region_code,
       (received_at AT TIME ZONE 'Asia/Shanghai')::date AS received_on,
       category, content, outcome, deadline,
       (feedback_at AT TIME ZONE 'Asia/Shanghai')::date AS feedback_on
FROM opinions
WHERE received_at >= %(start)s AND received_at < %(end)s
ORDER BY opinion_id
"""


def load_opinions(conn: psycopg.Connection[Any], year: int) -> list[OpinionText]:
    """One year's opinions from the projection schema the connection is bound to."""
    start = datetime(year, 1, 1, tzinfo=CHINA_TZ)
    end = datetime(year + 1, 1, 1, tzinfo=CHINA_TZ)
    rows = conn.execute(_LOAD, {"start": start, "end": end}).fetchall()
    return [OpinionText(*r) for r in rows]


def analyse_db(conn: psycopg.Connection[Any], *, year: int, as_of: date, city: str = "3306") -> MinqingAnalysis:
    return analyse(load_opinions(conn, year), year=year, as_of=as_of, city=city)


def to_json(analysis: MinqingAnalysis) -> dict[str, Any]:
    doc = msgspec.to_builtins(analysis)
    assert isinstance(doc, dict)
    for key in ("by_region", "by_category"):
        for row, t in zip(doc[key], getattr(analysis, key), strict=True):
            row["share_on_time"] = t.share_on_time
    doc["overall"]["share_on_time"] = analysis.overall.share_on_time
    return doc


# --- HTML -----------------------------------------------------------------------------------

_SECTION = """
<section class="minqing" id="minqing">
<h2>{{ number }}社情民意分析（条例第十五条）</h2>
<p class="note">依据条例第十五条第一款“做好社情民意综合分析工作，生成分析结果”，对 {{ a.year }} 年各联络站归集的
{{ a.opinions }} 件群众意见建议进行分析（统计截至 {{ a.as_of }}）。中文分词与关键词：jieba（TF-IDF），
已去除常用词和地名；热点话题：某区县某月某一诉求明显多于本区县其他月份（至少 {{ min_count }} 件、
为平时的 {{ min_lift }} 倍以上）。</p>

<h3>热点话题</h3>
{% if a.hot_topics %}
<table>
<tr><th>序号</th><th>区县</th><th>月份</th><th>关键词</th><th>件数</th><th>平时预期</th><th>倍数</th>
<th>主要乡镇（街道）</th><th>类别</th><th>典型诉求</th></tr>
{% for t in a.hot_topics %}
<tr><td class="num">{{ loop.index }}</td><td style="white-space:nowrap">{{ t.region_name }}</td>
<td style="white-space:nowrap">{{ month_label(t.month) }}</td>
<td><strong>{{ t.keywords | join('、') }}</strong></td><td class="num">{{ t.opinions }}</td>
<td class="num">{{ t.expected }}</td><td class="num">{{ t.lift }}</td>
<td>{% for name, n in t.townships %}{{ name }}（{{ n }}）{% if not loop.last %}、{% endif %}{% endfor %}</td>
<td>{{ t.category }}</td><td>{{ t.examples | join('；') }}</td></tr>
{% endfor %}
</table>
{% else %}
<p>本年度未发现明显突增的热点话题。</p>
{% endif %}

<h3>各区县每月热词</h3>
<table>
<tr><th>月份</th>{% for code, name in a.regions %}<th>{{ name }}</th>{% endfor %}</tr>
{% for month in months %}
<tr><td style="white-space:nowrap">{{ month_label(month) }}</td>
{% for code, name in a.regions %}{% set w = words.get((code, month)) %}
<td>{% if w %}{{ w.words | join('、') }}（{{ w.opinions }} 件）{% else %}—{% endif %}</td>
{% endfor %}</tr>
{% endfor %}
</table>

<h3>意见建议类别趋势</h3>
<table>
<tr><th>类别</th>{% for m in range(1, 13) %}<th>{{ m }}月</th>{% endfor %}<th>合计</th><th>下半年较上半年</th></tr>
{% for c in a.categories %}
<tr><td>{{ c.category }}</td>{% for n in c.by_month %}<td class="num">{{ n }}</td>{% endfor %}
<td class="num">{{ c.total }}</td><td class="num">{{ change(c.change) }}</td></tr>
{% endfor %}
</table>

<h3>办理时效（交办件按期反馈）</h3>
<p class="note">已到期：办理期限已过或已反馈的交办件；按期：在办理期限内（含当日）反馈。全部 {{ a.overall.received }} 件中，
当场答复 {{ a.overall.answered }} 件，告知法定途径 {{ a.overall.redirected }} 件，交办 {{ a.overall.assigned }} 件；
交办件按期反馈率 {{ share(a.overall) }}。</p>
{% for title, rows in [('按区县', a.by_region), ('按类别', a.by_category)] %}
<table>
<tr><th>{{ title }}</th><th>受理</th><th>当场答复</th><th>告知法定途径</th><th>交办</th><th>已到期</th>
<th>按期反馈</th><th>逾期反馈</th><th>逾期未反馈</th><th>按期反馈率</th></tr>
{% for t in rows %}
<tr><td>{{ t.name }}</td><td class="num">{{ t.received }}</td><td class="num">{{ t.answered }}</td>
<td class="num">{{ t.redirected }}</td><td class="num">{{ t.assigned }}</td><td class="num">{{ t.due }}</td>
<td class="num">{{ t.on_time }}</td><td class="num">{{ t.late }}</td><td class="num">{{ t.overdue_open }}</td>
<td class="num">{{ share(t) }}</td></tr>
{% endfor %}
</table>
{% endfor %}
</section>
"""

_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>社情民意分析 {{ year }}</title>
<style>
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif;
       margin: 2em auto; max-width: 1200px; color: #222; line-height: 1.5; padding: 0 1em; }
h2 { border-left: 6px solid #b22; padding-left: .5em; }
.note { color: #555; font-size: .95em; }
table { border-collapse: collapse; width: 100%; margin: .8em 0; font-size: .92em; }
th, td { border: 1px solid #bbb; padding: .3em .5em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
</style></head><body>
{{ section }}
</body></html>
"""


def _month_label(month: str) -> str:
    y, m = month.split("-")
    return f"{y}年{int(m)}月"


def _share(t: Timeliness) -> str:
    s = t.share_on_time
    return "—" if s is None else f"{s:.1%}"


def _change(c: float | None) -> str:
    return "—" if c is None else f"{c:+.0%}"


def render_section(analysis: MinqingAnalysis, *, number: str = "") -> Markup:
    """The report's 社情民意分析 section (Chinese HTML, escaped; uses the report's table styles).

    ``number`` goes before the heading (``"七、"`` in the quality report's numbered sections)."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    months = [f"{analysis.year}-{m:02d}" for m in range(1, 13)]
    html = env.from_string(_SECTION).render(
        a=analysis, months=months, words={(w.region_code, w.month): w for w in analysis.month_words},
        month_label=_month_label, share=_share, change=_change, min_count=MIN_COUNT,
        min_lift=f"{MIN_LIFT:g}", number=number)
    return Markup(html)


def render_page(analysis: MinqingAnalysis) -> str:
    """The section as a page of its own (``liaison-hub analysis minqing --html``)."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(_PAGE).render(year=analysis.year, section=render_section(analysis))
