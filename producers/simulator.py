"""A deterministic year of one city's liaison stations (Arts. 7-15), with a few planted faults.

``simulate()`` plans events only; publishing them (and assigning event ids) is the SDK's job.
Everything is clean except what ``PlantedFaults`` lists, so a quality check can be scored
against it exactly.
"""

from __future__ import annotations

import random
import uuid
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

import msgspec
from faker import Faker

from schemas import events as ev
from schemas.envelope import SCHEMA_VERSION
from schemas.regions import County, Township, load_regions
from schemas.subjects import subject_for

TZ = ZoneInfo("Asia/Shanghai")
OpinionChannel = Literal["on_site", "online", "reception", "grid"]

# --- public API -------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedEvent:
    node: str
    payload: ev.AnyPayload
    occurred_at: datetime
    recorded_at: datetime

    @property
    def type(self) -> str:
        tag = self.payload.__struct_config__.tag
        assert isinstance(tag, str)
        return tag


@dataclass(frozen=True)
class PlantedFaults:
    deputies_under_minimum: list[str]
    missing_receptions: list[tuple[str, str]]
    incomplete_disclosures: dict[str, list[str]]
    undecodable: list[str]


@dataclass(frozen=True)
class Simulation:
    year: int
    nodes: list[str]
    phases: list[list[PlannedEvent]]
    foreign_messages: list[tuple[str, bytes]]
    faults: PlantedFaults

    def event_count(self) -> int:
        return sum(len(phase) for phase in self.phases)


# Art. 12: visits per year a deputy owes; national/provincial deputies follow other rules.
MIN_VISITS: dict[str, int] = {
    "national": 0, "provincial": 0, "city": 2, "county": 3, "township": 3}
FAULT_MONTH = 8

# --- vocabulary ---------------------------------------------------------------------------

_ROAD_STEMS = (
    "人民", "解放", "胜利", "中兴", "环城", "迎恩", "凤林", "鉴湖", "兴越", "镜湖", "曹娥", "笛扬",
    "群贤", "百官", "市民", "越州", "延安", "东街", "府山", "稽山", "塔山", "湖塘", "齐贤", "钱陶",
    "会稽", "舜江", "江扬", "龙山", "兰亭", "柯桥", "青藤", "梅山", "阳明", "南池",
)
_ROAD_SUFFIXES = ("路", "路", "路", "街", "大道")
_PLACE_STEMS = (
    "和平", "新民", "东风", "城东", "湖滨", "光明", "解放", "前进", "团结", "建设", "幸福", "新华",
    "长桥", "西园", "青坛", "塘湾", "前梅", "山头", "五星", "红旗", "大禹", "安康", "白马", "双溪",
    "荷湖", "桥头", "永丰", "联合", "江南", "枫桥", "越秀", "北海", "南湖", "稽东", "金湖", "兴华",
)
_DEPUTY_LEVELS: tuple[ev.DeputyLevel, ...] = (
    "township", "county", "city", "provincial", "national")
_DEPUTY_WEIGHTS = (40, 36, 16, 5, 3)
_VISIT_KINDS: tuple[ev.VisitActivity, ...] = tuple(
    k for k in get_args(ev.VisitActivity) if k != "themed_reception")
_VISIT_WEIGHTS = (40, 10, 8, 8, 12, 8, 6, 8)
_THEMES = (
    "老旧小区改造", "垃圾分类", "养老服务", "义务教育", "道路交通安全", "农村饮用水", "食品安全",
    "营商环境", "电动自行车充电安全", "未来社区建设", "农村生活污水治理", "托育服务",
    "就业帮扶", "平安建设", "物业管理", "防汛防台", "河湖长制", "文明城市创建",
)
_CANCEL_REASONS = (
    "台风预警，活动延期", "场地临时维修", "与上级人大会议时间冲突", "受持续强降雨影响延期",
)
_SUPERVISION_NOTES = (
    "临近办理期限，督促承办单位加快办理", "群众再次反映，代表联络站电话督办",
    "人大街道工委赴承办单位现场督办", "纳入月度督办清单", "代表跟踪督办，要求限期反馈",
)
_SATISFACTION: tuple[ev.Satisfaction, ...] = ("satisfied", "basically_satisfied", "unsatisfied")
_SATISFACTION_WEIGHTS = (70, 22, 8)
_LEGAL_CHANNELS: tuple[ev.LegalChannel, ...] = (
    "litigation", "arbitration", "administrative_review")

# category -> (department, "issue|what the citizen asks for" ...)
_CATEGORIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "城乡建设": ("住房和城乡建设局", (
        "老旧小区外墙渗水严重|希望纳入老旧小区改造计划",
        "楼道照明损坏多时无人维修|希望尽快安排维修",
        "加装电梯推进缓慢|希望街道帮助协调低层住户意见",
        "小区雨污管网堵塞，雨天积水|希望尽快疏通改造",
        "背街小巷路面破损|建议列入年度道路修缮计划",
    )),
    "交通出行": ("交通运输局", (
        "公交班次少，早晚高峰等车时间长|建议增开高峰班次",
        "路口缺少红绿灯，过马路不安全|希望增设信号灯和斑马线",
        "学校门口上下学时段拥堵|建议优化接送车辆停放",
        "乡村道路缺少路灯|希望安装路灯",
        "停车位紧张，乱停车现象多|建议挖潜增设停车泊位",
    )),
    "教育": ("教育体育局", (
        "附近幼儿园学位紧张|希望统筹增加学位",
        "学校课后服务时间与家长下班时间不衔接|建议延长课后服务时间",
        "校车接送点设置不合理|建议重新规划接送点",
        "学校周边文具店销售三无产品|希望加强监管",
    )),
    "医疗卫生": ("卫生健康局", (
        "社区卫生服务站药品种类少|希望增加常用药配备",
        "老年人看病挂号难，不会用手机预约|建议保留人工窗口",
        "家庭医生签约后上门服务少|希望落实签约服务",
        "村卫生室医生年龄偏大、后继乏人|希望加强基层医疗力量",
    )),
    "养老服务": ("民政局", (
        "居家养老服务中心开放时间短|希望延长开放时间",
        "老年食堂用餐价格偏高|建议提高助餐补贴",
        "独居老人缺少定期探访|希望建立探访关爱机制",
        "养老机构床位紧张|希望增加护理型床位",
    )),
    "生态环境": ("生态环境局", (
        "河道有异味，漂浮物多|希望尽快清理整治",
        "企业夜间排放废气，气味刺鼻|希望加强执法检查",
        "建筑工地夜间施工噪声扰民|建议严格限定施工时间",
        "垃圾中转站臭味影响周边居民|希望采取除臭措施",
    )),
    "社会治理": ("司法局", (
        "邻里纠纷调解不及时|希望加强人民调解力量",
        "出租房群租隐患多|建议开展专项整治",
        "电动自行车楼道充电存在安全隐患|希望增设集中充电桩",
        "小区物业服务质量差，业委会难以成立|希望有关部门指导",
    )),
    "就业创业": ("人力资源和社会保障局", (
        "大龄失业人员再就业难|希望提供就业培训和岗位推荐",
        "灵活就业人员参保政策不清楚|建议加强政策宣传",
        "小微企业创业补贴申请流程复杂|希望简化办事流程",
        "外来务工人员工资被拖欠|希望帮助追讨",
    )),
    "农业农村": ("农业农村局", (
        "农田灌溉渠道年久失修|希望安排资金修缮",
        "农村饮用水水压不足|希望改造供水管网",
        "茶叶销售渠道单一，价格偏低|建议帮助拓展销路",
        "农村宅基地审批周期长|希望加快审批",
    )),
    "市场监管": ("市场监督管理局", (
        "农贸市场有缺斤短两现象|希望加强检查",
        "校园周边小吃摊卫生状况差|建议开展专项整治",
        "预付卡商家跑路，消费者维权难|希望帮助群众维权",
    )),
}
_CATEGORY_WEIGHTS = (16, 14, 10, 10, 10, 10, 10, 6, 8, 6)
_ANSWERS = (
    "经代表联络站工作人员现场核实，已向群众解释有关政策并答复。",
    "人大代表当场解答了有关政策规定，群众表示理解。",
    "已联系社区（村）现场协调，问题当场得到解决。",
    "经电话沟通，已向群众说明办理流程和所需材料。",
)
_FEEDBACK = (
    "{unit}已完成整改，并向群众反馈办理结果。",
    "{unit}已制定解决方案，预计近期实施到位。",
    "{unit}已现场查看，问题已纳入下一阶段工作计划。",
    "{unit}已答复：因客观条件限制，暂难解决，已作解释。",
)


# --- internal model -----------------------------------------------------------------------


@dataclass
class _Deputy:
    deputy_id: str
    name: str
    level: ev.DeputyLevel
    station_id: str
    faulty: bool = False
    visits: int = 0


@dataclass
class _Reception:
    reception_id: str
    starts_at: datetime
    deputy_ids: list[str]


@dataclass
class _Station:
    station_id: str
    node: str
    county: County
    township: Township | None
    address: str
    places: list[str] = field(default_factory=list)
    points: list[str] = field(default_factory=list)
    deputies: list[_Deputy] = field(default_factory=list)
    receptions: list[_Reception] = field(default_factory=list)
    seq: dict[str, int] = field(default_factory=dict)

    def next_id(self, prefix: str, width: int) -> str:
        n = self.seq.get(prefix, 0) + 1
        self.seq[prefix] = n
        return f"{prefix}-{self.station_id.split('-')[0]}-{n:0{width}d}"


class _Builder:
    def __init__(self, city: str, counties: int, year: int, seed: int, opinions: int) -> None:
        regions = load_regions(city)
        if not 1 <= counties <= len(regions.counties):
            raise ValueError(f"`counties` must be 1..{len(regions.counties)} for {city}")
        self.city = regions.city
        self.counties = regions.counties[:counties]
        if sum(len(c.townships) for c in self.counties) < 7:
            raise ValueError("need at least 7 townships to plant the faults apart")
        self.year = year
        self.opinions = opinions
        self.rng = random.Random(seed)
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(seed)
        self.year_end = datetime(year, 12, 31, 23, 59, 59, tzinfo=TZ)
        # Setup takes Jan 2-4; activity starts after every station exists.
        self.activity_start = datetime(year, 1, 5, tzinfo=TZ)
        self.phases: list[list[PlannedEvent]] = [[], [], [], []]
        self.townships: list[_Station] = []
        self.county_stations: list[_Station] = []

    # --- helpers ------------------------------------------------------------------------

    def emit(self, phase: int, node: str, payload: ev.AnyPayload, at: datetime) -> None:
        r = self.rng.random()
        # Most events are entered in the app at once; some are typed in hours later.
        if r < 0.80:
            lag = timedelta(seconds=self.rng.randint(1, 120))
        elif r < 0.96:
            lag = timedelta(minutes=self.rng.randint(2, 60))
        else:
            lag = timedelta(minutes=self.rng.randint(61, 240))
        recorded = max(at, min(at + lag, self.year_end))
        self.phases[phase].append(PlannedEvent(node, payload, at, recorded))

    def minutes(self, lo: int, hi: int) -> timedelta:
        return timedelta(minutes=self.rng.randint(lo, hi))

    def office(self, t: datetime) -> datetime:
        """Move a step forward (never back) into office hours 08:00-20:00."""
        if t.hour < 8:
            return t.replace(hour=8, minute=self.rng.randint(0, 59))
        if t.hour >= 20:
            nxt = t + timedelta(days=1)
            return nxt.replace(hour=8, minute=self.rng.randint(0, 59))
        return t

    def day_time(self, lo_hour: int, hi_hour: int) -> datetime:
        """A random moment in the activity window between the given hours."""
        days = (self.year_end.date() - self.activity_start.date()).days
        d = self.activity_start.date() + timedelta(days=self.rng.randint(0, days))
        seconds = self.rng.randint(lo_hour * 3600, hi_hour * 3600 - 1)
        return datetime.combine(d, time(), TZ) + timedelta(seconds=seconds)

    def road(self) -> str:
        stem, suffix = self.rng.choice(_ROAD_STEMS), self.rng.choice(_ROAD_SUFFIXES)
        return f"{stem}{suffix}{self.rng.randint(1, 399)}号"

    def name(self) -> str:
        return str(self.fake.name())

    def staff(self, phase: int, node: str, station_id: str, at: datetime,
              liaisons: int) -> datetime:
        liaison: list[ev.StaffRole] = ["联络员"] * liaisons
        roles: list[ev.StaffRole] = ["站长", "副站长", *liaison]
        for i, role in enumerate(roles, 1):
            at += self.minutes(3, 20)
            payload = ev.StaffAssigned(station_id=station_id, person_id=f"P-{station_id}-{i}",
                                       name=self.name(), role=role)
            self.emit(phase, node, payload, at)
        return at

    def disclose(self, phase: int, node: str, station_id: str, at: datetime,
                 missing: tuple[str, ...] = ()) -> datetime:
        at += self.minutes(10, 60)
        items: list[ev.DisclosureItem] = [
            i for i in get_args(ev.DisclosureItem) if i not in missing]
        self.emit(phase, node, ev.DisclosurePublished(station_id=station_id, items=items), at)
        return at

    # --- phases 1-3: stations, staff, disclosure, deputies ------------------------------

    def build_city(self) -> None:
        code = self.city.code
        sid = f"{code}-01"
        at = datetime(self.year, 1, 2, 9, 0, tzinfo=TZ)
        first = self.counties[0].name
        self.emit(0, code, ev.StationEstablished(
            station_id=sid, name=f"{self.city.name}人大代表联络总站", level="总站",
            region_code=code,
            address=f"{self.city.name}{first}{self.road()}", ground_floor=True,
            functional_areas=["办公", "接待", "展示"]), at)
        at = self.staff(0, code, sid, at, 2)
        self.disclose(0, code, sid, at)

    def build_counties(self) -> None:
        for i, county in enumerate(self.counties):
            sid = f"{county.code}-01"
            at = datetime(self.year, 1, 2, 14, 0, tzinfo=TZ) + timedelta(minutes=7 * i)
            station = _Station(sid, county.code, county, None,
                               f"{self.city.name}{county.name}{self.road()}")
            self.emit(1, county.code, ev.StationEstablished(
                station_id=sid, name=f"{county.name}人大代表联络中心站", level="中心站",
                region_code=county.code, address=station.address, ground_floor=True,
                functional_areas=["办公", "接待", "展示"],
                parent_station_id=f"{self.city.code}-01"), at)
            at = self.staff(1, county.code, sid, at, 2)
            self.disclose(1, county.code, sid, at)
            station.places = [f"{county.name}{self.rng.choice(_PLACE_STEMS)}社区" for _ in range(4)]
            self.county_stations.append(station)

    def plan_townships(self) -> None:
        for county in self.counties:
            for town in county.townships:
                sid = f"{town.code}-01"
                urban = town.kind == "街道"
                stems = self.rng.sample(_PLACE_STEMS, 5)
                places = [f"{town.name}{s}{'社区' if urban or k == 0 else '村'}"
                          for k, s in enumerate(stems)]
                station = _Station(sid, town.code, county, town,
                                   f"{self.city.name}{county.name}{town.name}{self.road()}", places)
                for n in range(1, self.rng.choice((5, 6, 6, 7, 7)) + 1):
                    level = self.rng.choices(_DEPUTY_LEVELS, _DEPUTY_WEIGHTS)[0]
                    station.deputies.append(
                        _Deputy(f"D-{town.code}-{n:03d}", self.name(), level, sid))
                self.townships.append(station)

    def plant_deputy_faults(self, picked: list[_Station]) -> list[str]:
        """Two city deputies with one visit, three county/township ones with two."""
        faulty: list[str] = []
        for k, station in enumerate(picked):
            wanted: tuple[ev.DeputyLevel, ...] = ("city",) if k < 2 else ("county", "township")
            candidates = [d for d in station.deputies if d.level in wanted]
            deputy = candidates[0] if candidates else station.deputies[0]
            if not candidates:
                deputy.level = wanted[0]
            deputy.faulty = True
            faulty.append(deputy.deputy_id)
        return faulty

    def build_townships(self, bad_disclosure: _Station, missing: tuple[str, ...]) -> None:
        kinds_urban = ("社区", "楼宇", "企业")
        kinds_rural = ("村", "企业", "村")
        for i, st in enumerate(self.townships):
            assert st.township is not None
            town, node = st.township, st.node
            at = datetime(self.year, 1, 3, 8, 30, tzinfo=TZ) + timedelta(minutes=9 * i)
            self.emit(2, node, ev.StationEstablished(
                station_id=st.station_id, name=f"{town.name}人大代表联络站", level="联络站",
                region_code=town.code, address=st.address, ground_floor=True,
                functional_areas=["办公", "接待", "展示"],
                parent_station_id=f"{st.county.code}-01"), at)
            used: set[str] = set()
            for p in range(1, self.rng.randint(1, 2) + 1):
                pid = f"{st.station_id}-{p:02d}"
                kind = self.rng.choice(kinds_urban if town.kind == "街道" else kinds_rural)
                free = [pl for pl in st.places if pl.endswith(kind) and pl not in used]
                if kind in ("社区", "村") and free:
                    place = free[0]
                elif kind == "楼宇":
                    place = f"{town.name}{self.rng.choice(_PLACE_STEMS)}大厦"
                else:
                    place = str(self.fake.company())
                used.add(place)
                at += self.minutes(5, 30)
                self.emit(2, node, ev.StationEstablished(
                    station_id=pid, name=f"{place}人大代表联络点", level="联络点",
                    region_code=town.code, address=f"{self.city.name}{st.county.name}{place}",
                    ground_floor=True, functional_areas=["办公", "接待", "展示"],
                    parent_station_id=st.station_id), at)
                st.points.append(pid)
            at = self.staff(2, node, st.station_id, at, self.rng.randint(1, 2))
            for pid in st.points:
                # A point has no 站长 of its own; one liaison officer keeps it.
                at += self.minutes(3, 15)
                self.emit(2, node, ev.StaffAssigned(station_id=pid, person_id=f"P-{pid}-1",
                                                    name=self.name(), role="联络员"), at)
            at = self.disclose(2, node, st.station_id, at, missing if st is bad_disclosure else ())
            for pid in st.points:
                at = self.disclose(2, node, pid, at)
            at = datetime(self.year, 1, 4, 9, 0, tzinfo=TZ) + timedelta(minutes=11 * i)
            for d in st.deputies:
                at += self.minutes(1, 8)
                self.emit(2, node, ev.DeputyEnrolled(
                    station_id=st.station_id, deputy_id=d.deputy_id, name=d.name, level=d.level),
                    at)

    # --- phase 4: receptions, visits, opinions ------------------------------------------

    def visit(self, st: _Station, d: _Deputy, at: datetime, activity: ev.VisitActivity,
              mode: ev.Mode, people: int) -> None:
        self.emit(3, st.node, ev.VisitRecorded(
            station_id=st.station_id, visit_id=st.next_id("V", 4), deputy_id=d.deputy_id,
            activity=activity, mode=mode, people_met=people), at)
        d.visits += 1

    def receptions(self, missing_at: _Station) -> None:
        for st in self.townships:
            day = self.rng.choice((15, 15, 15, 18, 20, 22, 25))  # Art. 14: a fixed day each month
            eligible = [d for d in st.deputies if not d.faulty]
            for month in range(1, 13):
                if st is missing_at and month == FAULT_MONTH:
                    continue
                starts = datetime(self.year, month, day, 9, 0, tzinfo=TZ)
                online = self.rng.random() < 0.12
                mode: ev.Mode = "online" if online else "on_site"
                theme = self.rng.choice(_THEMES)
                rid = st.next_id("R", 3)
                # Art. 14: announced 3-10 days ahead, during office hours.
                announced = starts - timedelta(days=self.rng.randint(4, 10))
                announced += timedelta(minutes=self.rng.randint(0, 8 * 60))
                place = "线上（代表联络站应用直播间）" if online else st.address
                self.emit(3, st.node, ev.ReceptionScheduled(
                    station_id=st.station_id, reception_id=rid, theme=f"{theme}主题接待活动",
                    place=place, starts_at=starts, announced_at=announced, mode=mode), announced)
                attending = self.rng.sample(eligible, self.rng.randint(1, min(3, len(eligible))))
                attendees = self.rng.randint(5, 60)
                for d in attending:
                    self.visit(st, d, starts + self.minutes(0, 20), "themed_reception", mode,
                               self.rng.randint(3, attendees))
                self.emit(3, st.node, ev.ReceptionHeld(
                    station_id=st.station_id, reception_id=rid,
                    deputy_ids=[d.deputy_id for d in attending], attendees=attendees),
                    starts + timedelta(hours=2))
                st.receptions.append(_Reception(rid, starts, [d.deputy_id for d in attending]))
                if self.rng.random() < 0.025:
                    self.cancelled_extra(st, month, day)

    def cancelled_extra(self, st: _Station, month: int, fixed_day: int) -> None:
        day = self.rng.choice([d for d in range(16, 29) if d != fixed_day])
        starts = datetime(self.year, month, day, 14, 30, tzinfo=TZ)
        announced = starts - timedelta(days=self.rng.randint(3, 9), hours=self.rng.randint(1, 5))
        if announced < self.activity_start:
            return
        rid = st.next_id("R", 3)
        self.emit(3, st.node, ev.ReceptionScheduled(
            station_id=st.station_id, reception_id=rid,
            theme=f"{self.rng.choice(_THEMES)}专题接待活动", place=st.address, starts_at=starts,
            announced_at=announced, mode="on_site"), announced)
        span = (starts - timedelta(hours=1) - announced).total_seconds()
        cancelled = self.office(
            announced + timedelta(seconds=int(span * self.rng.uniform(0.3, 0.95))))
        self.emit(3, st.node, ev.ReceptionCancelled(
            station_id=st.station_id, reception_id=rid, reason=self.rng.choice(_CANCEL_REASONS)),
            cancelled)

    def visits(self) -> None:
        for st in self.townships:
            for d in st.deputies:
                if d.faulty:
                    target = MIN_VISITS[d.level] - 1
                    d.visits = 0
                else:
                    lo = max(MIN_VISITS[d.level] + 1, 2)
                    target = max(self.rng.randint(lo, 8), d.visits)
                    # Reception visits already counted; top up to the target.
                    target -= d.visits
                for _ in range(target):
                    online = self.rng.random() < 0.15
                    self.visit(st, d, self.day_time(8, 18),
                               self.rng.choices(_VISIT_KINDS, _VISIT_WEIGHTS)[0],
                               "online" if online else "on_site", self.rng.randint(0, 40))

    def opinions_all(self) -> None:
        stations = self.townships + self.county_stations
        # Street-level stations in town centres hear more; county stations a little.
        weights = [self.rng.uniform(0.7, 1.3) * (1.2 if s.township and s.township.kind == "街道"
                                                   else 1.0) for s in self.townships]
        share = sum(weights) * 0.04 / max(1, len(self.county_stations))
        weights += [share] * len(self.county_stations)
        cum: list[float] = []
        total = 0.0
        for w in weights:
            total += w
            cum.append(total)
        per_station: dict[str, list[datetime | _Reception]] = {s.station_id: [] for s in stations}
        for _ in range(self.opinions):
            st = stations[min(bisect_right(cum, self.rng.random() * total), len(stations) - 1)]
            per_station[st.station_id].append(self.opinion_time(st))
        for st in stations:
            # Ids follow the order opinions came in.
            received = sorted(per_station[st.station_id],
                              key=lambda x: x if isinstance(x, datetime) else x.starts_at)
            for item in received:
                self.opinion(st, item)

    def opinion_time(self, st: _Station) -> datetime | _Reception:
        r = self.rng.random()
        if st.receptions and r < 0.15:
            return self.rng.choice(st.receptions)
        if r < 0.50:
            return self.day_time(8, 18)
        if r < 0.75:
            return self.day_time(8, 20)  # grid workers
        return self.day_time(7, 23)

    def opinion(self, st: _Station, item: datetime | _Reception) -> None:
        rng = self.rng
        station_id = st.station_id
        deputy_pool = [d.deputy_id for d in st.deputies if not d.faulty]
        if isinstance(item, _Reception):
            t0 = item.starts_at + self.minutes(5, 115)
            channel: OpinionChannel = "reception"
            deputy_id: str | None = rng.choice(item.deputy_ids)
        else:
            t0 = item
            channels: tuple[OpinionChannel, ...] = ("on_site", "grid", "online")
            channel = rng.choices(channels, (50, 25, 35))[0]
            deputy_id = rng.choice(deputy_pool) if deputy_pool and rng.random() < 0.3 else None
            if st.points and channel != "online" and rng.random() < 0.25:
                station_id = rng.choice(st.points)
        category = rng.choices(tuple(_CATEGORIES), _CATEGORY_WEIGHTS)[0]
        dept, issues = _CATEGORIES[category]
        place = rng.choice(st.places)
        issue, ask = rng.choice(issues).split("|")
        content = f"{place}{issue}，{ask if rng.random() < 0.8 else '希望有关部门协调解决'}。"
        citizen = self.citizen(st, place) if rng.random() < 0.7 else None
        oid = st.next_id("O", 5)
        steps: list[tuple[datetime, ev.AnyPayload]] = [(t0, ev.OpinionReceived(
            station_id=station_id, opinion_id=oid, category=category, content=content,
            channel=channel, citizen=citizen, deputy_id=deputy_id))]
        steps += self.opinion_path(st, station_id, oid, t0, dept)
        for at, payload in steps:
            if at > self.year_end:
                break  # still open at year end
            self.emit(3, st.node, payload, at)

    def citizen(self, st: _Station, place: str) -> ev.Citizen:
        name = self.name() if self.rng.random() < 0.9 else None
        phone = str(self.fake.phone_number()) if self.rng.random() < 0.8 else None
        if place.endswith("村"):
            addr = f"{st.county.name}{place}{self.rng.randint(1, 300)}号"
        else:
            building, unit = self.rng.randint(1, 40), self.rng.randint(1, 4)
            room = self.rng.randint(1, 18) * 100 + self.rng.randint(1, 4)
            addr = f"{st.county.name}{place}{building}幢{unit}单元{room}室"
        address = addr if self.rng.random() < 0.6 or not (name or phone) else None
        return ev.Citizen(name=name, phone=phone, address=address)

    def opinion_path(self, st: _Station, sid: str, oid: str, t0: datetime,
                     dept: str) -> list[tuple[datetime, ev.AnyPayload]]:
        """A legal walk through the Art. 15 workflow, each step strictly after the last."""
        rng = self.rng
        out: list[tuple[datetime, ev.AnyPayload]] = []
        up: ev.AssignLevel = "county" if st.township else "city"
        r = rng.random()
        if r < 0.35:
            t = self.office(t0 + self.minutes(5, 240))
            out.append((t, ev.OpinionAnswered(station_id=sid, opinion_id=oid,
                                              answer=rng.choice(_ANSWERS))))
            if rng.random() < 0.5:
                t = self.office(t + timedelta(days=rng.randint(1, 5), minutes=rng.randint(0, 600)))
                out.append((t, ev.OpinionReported(station_id=sid, opinion_id=oid, to_level=up)))
        elif r < 0.45:
            t = t0 + self.minutes(10, 1440)
            out.append((self.office(t), ev.OpinionRedirected(
                station_id=sid, opinion_id=oid, channel=rng.choice(_LEGAL_CHANNELS))))
            t = out[-1][0]
        else:
            level, unit = self.assignee(st, dept)
            t = self.office(t0 + self.minutes(120, 4320))
            deadline = (t0 + timedelta(days=rng.randint(15, 30))).date()
            out.append((t, ev.OpinionAssigned(station_id=sid, opinion_id=oid, level=level,
                                              unit=unit, deadline=deadline)))
            due = datetime.combine(deadline, time(17, 30), TZ)
            n_sup = rng.choices((0, 1, 2, 3), (35, 40, 18, 7))[0]
            window = (due - timedelta(days=2) - (t + timedelta(days=1))).total_seconds()
            for frac in sorted(rng.random() for _ in range(n_sup)):
                ts = t + timedelta(days=1, seconds=int(window * frac))
                ts = self.office(max(ts, out[-1][0] + timedelta(minutes=30)))
                out.append((ts, ev.OpinionSupervised(station_id=sid, opinion_id=oid,
                                                     note=rng.choice(_SUPERVISION_NOTES))))
            last = out[-1][0] + timedelta(hours=1)
            # Feedback within the deadline, so nothing is overdue but what is still open.
            t = self.office(
                last + timedelta(seconds=int((due - last).total_seconds() * rng.uniform(0.2, 1.0))))
            sat = rng.choices(_SATISFACTION, _SATISFACTION_WEIGHTS)[0]
            out.append((t, ev.OpinionFeedbackGiven(
                station_id=sid, opinion_id=oid, feedback=rng.choice(_FEEDBACK).format(unit=unit),
                satisfaction=sat)))
            if rng.random() < 0.6:
                t = self.office(t + timedelta(days=rng.randint(1, 7), minutes=rng.randint(0, 600)))
                out.append((t, ev.OpinionReported(station_id=sid, opinion_id=oid, to_level=up)))
        t = self.office(t + timedelta(days=rng.randint(1, 7), minutes=rng.randint(0, 600)))
        out.append((t, ev.OpinionClosed(station_id=sid, opinion_id=oid)))
        return out

    def assignee(self, st: _Station, dept: str) -> tuple[ev.AssignLevel, str]:
        levels: tuple[ev.AssignLevel, ...] = (
            ("township", "county", "city") if st.township else ("county", "city"))
        weights = (45, 45, 10) if st.township else (80, 20)
        level = self.rng.choices(levels, weights)[0]
        if level == "township":
            assert st.township is not None
            town = st.township
            return level, f"{town.name}办事处" if town.kind == "街道" else f"{town.name}人民政府"
        if level == "city":
            return level, f"{self.city.name}{dept}"
        county = st.county.name
        if dept == "生态环境局":
            return level, f"{self.city.name}生态环境局{county[:-1]}分局"
        return level, f"{county}{dept}"

    # --- foreign messages ----------------------------------------------------------------

    def uuid7(self, at: datetime) -> str:
        ms = int(at.timestamp() * 1000)
        value = (ms << 80) | (0x7 << 76) | (self.rng.getrandbits(12) << 64)
        value |= (0b10 << 62) | self.rng.getrandbits(62)
        return str(uuid.UUID(int=value))

    def foreign(self) -> tuple[list[tuple[str, bytes]], list[str]]:
        """Three messages from a publisher that bypasses the SDK, each broken one way."""
        st = self.townships[0]
        node = st.node
        subject = subject_for(node, "opinion.received")
        at = datetime(self.year, 3, 14, 10, 20, tzinfo=TZ)

        def envelope(payload: dict[str, Any]) -> dict[str, Any]:
            return {
                "event_id": self.uuid7(at), "schema_version": SCHEMA_VERSION,
                "occurred_at": at.isoformat(),
                "recorded_at": (at + timedelta(minutes=2)).isoformat(),
                "origin": node, "actor": "legacy-terminal", "payload": payload,
            }

        opinion = msgspec.to_builtins(ev.OpinionReceived(
            station_id=st.station_id, opinion_id=f"O-{node}-X0001", category="城乡建设",
            content=f"{st.places[0]}路灯不亮，希望尽快维修。", channel="on_site"))
        assert isinstance(opinion, dict)
        naive = envelope(opinion)
        naive["occurred_at"] = at.replace(tzinfo=None).isoformat()
        teleported = envelope({**opinion, "type": "opinion.teleported",
                               "opinion_id": f"O-{node}-X0002"})
        messages = [
            (subject, f"意见：{st.places[0]}路灯不亮".encode("gbk")),
            (subject, msgspec.json.encode(naive)),
            (subject_for(node, "opinion.teleported"), msgspec.json.encode(teleported)),
        ]
        notes = [
            "非 JSON 字节（GBK 编码的纯文本）",
            f"occurred_at 缺少时区（{naive['occurred_at']}）",
            "未知的事件类型 payload.type = opinion.teleported",
        ]
        return messages, notes


def simulate(*, city: str = "3306", counties: int = 3, year: int = 2025, seed: int = 7,
             opinions: int = 11_000) -> Simulation:
    """Plan one year of events for the first ``counties`` counties of ``city``."""
    b = _Builder(city, counties, year, seed, opinions)
    b.build_city()
    b.build_counties()
    b.plan_townships()
    picked = b.rng.sample(b.townships, 7)
    under = b.plant_deputy_faults(picked[:5])
    no_reception, bad_disclosure = picked[5], picked[6]
    missing = tuple(sorted(b.rng.sample(ev.DISCLOSURE_ITEMS, 2)))
    b.build_townships(bad_disclosure, missing)
    b.receptions(no_reception)
    b.visits()
    b.opinions_all()
    foreign, notes = b.foreign()
    for phase in b.phases:
        # Stable: steps of one item keep their order, and they are strictly later anyway.
        phase.sort(key=lambda e: e.occurred_at)
    nodes = [b.city.code, *(c.code for c in b.counties),
             *(t.code for c in b.counties for t in c.townships)]
    faults = PlantedFaults(
        deputies_under_minimum=under,
        missing_receptions=[(no_reception.station_id, f"{year}-{FAULT_MONTH:02d}")],
        incomplete_disclosures={bad_disclosure.station_id: list(missing)},
        undecodable=notes,
    )
    return Simulation(year, nodes, b.phases, foreign, faults)
