"""A deterministic year of one city's liaison stations (Arts. 7-24), with a few planted faults
and one planted 民情 hot topic.

``simulate()`` plans events only; publishing them (and assigning event ids) is the SDK's job.
Everything is clean except what ``PlantedFaults`` lists, so a quality check can be scored
against it exactly. The stations' core life (stations, staff, deputies, receptions, visits,
opinions) is here; the other duties of Arts. 13 and 16-24 are in ``producers.sim_duties``,
the Chinese vocabulary in ``producers.sim_text``; opinions are routed by the 分级分类 rules
(``schemas/data/routing_<city>.toml``).
"""

from __future__ import annotations

import random
import uuid
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Literal, get_args

import msgspec
from faker import Faker

from producers import sim_duties
from producers import sim_text as tx
from producers.sim_model import TZ, Consultation, Deputy, Post, Reception, Seed, Station
from schemas import events as ev
from schemas.envelope import SCHEMA_VERSION
from schemas.regions import County, Township, load_regions
from schemas.routing import Route, RoutingRules, load_routing
from schemas.subjects import subject_for

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
    # Art. 15: assigned opinions past their deadline at year end, all at one slow unit:
    # never answered, or answered after the deadline.
    overdue_open: list[str] = field(default_factory=list)
    overdue_late: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PlantedHotTopic:
    """A surge of opinions about one concrete issue in one county in one month."""

    region_code: str
    region_name: str
    month: str  # YYYY-MM
    keywords: tuple[str, ...]
    opinion_ids: list[str]


@dataclass(frozen=True)
class Simulation:
    year: int
    nodes: list[str]
    phases: list[list[PlannedEvent]]
    foreign_messages: list[tuple[str, bytes]]
    faults: PlantedFaults
    hot_topic: PlantedHotTopic | None = None

    def event_count(self) -> int:
        return sum(len(phase) for phase in self.phases)


# Art. 12: visits per year a deputy owes; national/provincial deputies follow other rules.
MIN_VISITS: dict[str, int] = {
    "national": 0, "provincial": 0, "city": 2, "county": 3, "township": 3}
FAULT_MONTH = 8
HOT_MONTH = 7
# Overdue items are planted among opinions received in this window, so that their deadline
# has passed by year end.
OVERDUE_WINDOW = ((9, 1), (11, 15))
OVERDUE_OPEN, OVERDUE_LATE = 4, 3

_DEPUTY_LEVELS: tuple[ev.DeputyLevel, ...] = (
    "township", "county", "city", "provincial", "national")
_DEPUTY_WEIGHTS = (40, 36, 16, 5, 3)
_VISIT_KINDS: tuple[ev.VisitActivity, ...] = (
    "daily_contact", "consultation", "inspection", "survey", "grid_service", "law_promotion",
    "study_session", "report_to_voters")
_VISIT_WEIGHTS = (40, 10, 8, 8, 12, 8, 6, 8)
_SATISFACTION: tuple[ev.Satisfaction, ...] = ("satisfied", "basically_satisfied", "unsatisfied")
_SATISFACTION_WEIGHTS = (70, 22, 8)
_LEGAL_CHANNELS: tuple[ev.LegalChannel, ...] = (
    "litigation", "arbitration", "administrative_review")
_HOSTS: dict[str, ev.PointHost] = {
    "社区": "community", "村": "village", "楼宇": "building", "企业": "enterprise", "事业单位": "institution"}


class _Builder:
    def __init__(self, city: str, counties: int, year: int, seed: int, opinions: int,
                 plant_overdue: bool = False) -> None:
        regions = load_regions(city)
        if not 1 <= counties <= len(regions.counties):
            raise ValueError(f"`counties` must be 1..{len(regions.counties)} for {city}")
        self.city = regions.city
        self.counties = regions.counties[:counties]
        if sum(len(c.townships) for c in self.counties) < 7:
            raise ValueError("need at least 7 townships to plant the faults apart")
        self.routing: RoutingRules = load_routing(city)
        self.year = year
        self.opinions = opinions
        self.rng = random.Random(seed)
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(seed)
        self.year_end = datetime(year, 12, 31, 23, 59, 59, tzinfo=TZ)
        # Setup takes Jan 2-4; activity starts after every station exists.
        self.activity_start = datetime(year, 1, 5, tzinfo=TZ)
        self.phases: list[list[PlannedEvent]] = [[], [], [], []]
        self.townships: list[Station] = []
        self.county_stations: list[Station] = []
        self.city_posts: list[Post] = []
        # Art. 15 planted delays: one county unit is slow in the autumn.
        slow_county = self.counties[len(self.counties) // 2]
        self.slow_unit = (self.routing.route(tx.HOT_TOPIC_CATEGORY, "county", slow_county.code).unit
                          if plant_overdue else None)
        self.overdue_open: list[str] = []
        self.overdue_late: list[str] = []
        self.hot_ids: list[str] = []

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

    def day_time(self, lo_hour: int, hi_hour: int, *, start: datetime | None = None,
                 end: datetime | None = None) -> datetime:
        """A random moment between the given hours, on a day in [start, end) (default: the year)."""
        first = (start or self.activity_start).date()
        last = (end - timedelta(days=1)).date() if end else self.year_end.date()
        d = first + timedelta(days=self.rng.randint(0, max(0, (last - first).days)))
        seconds = self.rng.randint(lo_hour * 3600, hi_hour * 3600 - 1)
        return datetime.combine(d, time(), TZ) + timedelta(seconds=seconds)

    def month_time(self, month: int, lo_hour: int = 9, hi_hour: int = 17) -> datetime:
        start = max(datetime(self.year, month, 1, tzinfo=TZ), self.activity_start)
        end = datetime(self.year + (month == 12), month % 12 + 1, 1, tzinfo=TZ)
        return self.day_time(lo_hour, hi_hour, start=start, end=end)

    def road(self) -> str:
        stem, suffix = self.rng.choice(tx.ROAD_STEMS), self.rng.choice(tx.ROAD_SUFFIXES)
        return f"{stem}{suffix}{self.rng.randint(1, 399)}号"

    def name(self) -> str:
        return str(self.fake.name())

    def route(self, st: Station, category: str, level: ev.AssignLevel) -> Route:
        return self.routing.route(category, level, st.node)

    def staff(self, phase: int, node: str, station_id: str, at: datetime, liaisons: int,
              positions: tuple[str, str, str], posts: list[Post]) -> datetime:
        liaison: list[ev.StaffRole] = ["联络员"] * liaisons
        roles: list[ev.StaffRole] = ["站长", "副站长", *liaison]
        for i, role in enumerate(roles, 1):
            at += self.minutes(3, 20)
            position = positions[min(i, 3) - 1]
            payload = ev.StaffAssigned(station_id=station_id, person_id=f"P-{station_id}-{i}",
                                       name=self.name(), role=role, position=position)
            self.emit(phase, node, payload, at)
            posts.append(Post(station_id, payload.person_id, role, at, position))
        return at

    def disclose(self, phase: int, node: str, station_id: str, at: datetime,
                 missing: tuple[str, ...] = ()) -> datetime:
        at += self.minutes(10, 60)
        items: list[ev.DisclosureItem] = [
            i for i in get_args(ev.DisclosureItem) if i not in missing]
        self.emit(phase, node, ev.DisclosurePublished(station_id=station_id, items=items), at)
        return at

    def signage(self, phase: int, node: str, station_id: str, at: datetime, point: bool) -> datetime:
        at += self.minutes(5, 30)
        items = list(tx.POINT_SIGNAGE if point else tx.SIGNAGE)
        self.emit(phase, node, ev.SignageInstalled(station_id=station_id, items=items,
                                                   conforms_to_spec=True), at)
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
        office = f"{self.city.name}人大常委会"
        at = self.staff(0, code, sid, at, 2, (f"{office}代表工作委员会主任", f"{office}代表工作委员会副主任",
                                            f"{office}机关工作人员"), self.city_posts)
        at = self.signage(0, code, sid, at, point=False)
        self.disclose(0, code, sid, at)

    def build_counties(self) -> None:
        for i, county in enumerate(self.counties):
            sid = f"{county.code}-01"
            at = datetime(self.year, 1, 2, 14, 0, tzinfo=TZ) + timedelta(minutes=7 * i)
            station = Station(sid, county.code, county, None,
                               f"{self.city.name}{county.name}{self.road()}")
            self.emit(1, county.code, ev.StationEstablished(
                station_id=sid, name=f"{county.name}人大代表联络中心站", level="中心站",
                region_code=county.code, address=station.address, ground_floor=True,
                functional_areas=["办公", "接待", "展示"],
                parent_station_id=f"{self.city.code}-01"), at)
            office = f"{county.name}人大常委会"
            at = self.staff(1, county.code, sid, at, 2, (
                f"{office}代表工作委员会主任", f"{office}代表工作委员会副主任", f"{office}机关工作人员"),
                station.posts)
            at = self.signage(1, county.code, sid, at, point=False)
            self.disclose(1, county.code, sid, at)
            station.places = [f"{county.name}{self.rng.choice(tx.PLACE_STEMS)}社区" for _ in range(4)]
            self.county_stations.append(station)

    def plan_townships(self) -> None:
        for county in self.counties:
            for town in county.townships:
                sid = f"{town.code}-01"
                urban = town.kind == "街道"
                stems = self.rng.sample(tx.PLACE_STEMS, 5)
                places = [f"{town.name}{s}{'社区' if urban or k == 0 else '村'}"
                          for k, s in enumerate(stems)]
                station = Station(sid, town.code, county, town,
                                   f"{self.city.name}{county.name}{town.name}{self.road()}", places)
                for n in range(1, self.rng.choice((5, 6, 6, 7, 7)) + 1):
                    level = self.rng.choices(_DEPUTY_LEVELS, _DEPUTY_WEIGHTS)[0]
                    station.deputies.append(
                        Deputy(f"D-{town.code}-{n:03d}", self.name(), level, sid))
                self.townships.append(station)

    def plant_deputy_faults(self, picked: list[Station]) -> list[str]:
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

    def point_place(self, town: Township, kind: str, st: Station, used: set[str]) -> str:
        free = [pl for pl in st.places if pl.endswith(kind) and pl not in used]
        if kind in ("社区", "村") and free:
            return free[0]
        if kind == "楼宇":
            return f"{town.name}{self.rng.choice(tx.PLACE_STEMS)}大厦"
        if kind == "事业单位":
            return f"{town.name}{self.rng.choice(tx.INSTITUTIONS)}"
        return str(self.fake.company())

    def build_townships(self, bad_disclosure: Station, missing: tuple[str, ...]) -> None:
        kinds_urban = ("社区", "楼宇", "企业", "事业单位")
        kinds_rural = ("村", "企业", "村", "事业单位")
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
            hosts: dict[str, tuple[ev.PointHost, str]] = {}
            for p in range(1, self.rng.randint(1, 2) + 1):
                pid = f"{st.station_id}-{p:02d}"
                kind = self.rng.choice(kinds_urban if town.kind == "街道" else kinds_rural)
                place = self.point_place(town, kind, st, used)
                used.add(place)
                at += self.minutes(5, 30)
                self.emit(2, node, ev.StationEstablished(
                    station_id=pid, name=f"{place}人大代表联络点", level="联络点",
                    region_code=town.code, address=f"{self.city.name}{st.county.name}{place}",
                    ground_floor=True, functional_areas=["办公", "接待", "展示"],
                    parent_station_id=st.station_id, host_kind=_HOSTS[kind]), at)
                st.points.append(pid)
                hosts[pid] = (_HOSTS[kind], place)
            kind_key = town.kind if town.kind in tx.HEAD_POSITIONS else "镇"
            positions = tuple(p[kind_key].format(t=town.name) for p in (
                tx.HEAD_POSITIONS, tx.DEPUTY_HEAD_POSITIONS, tx.LIAISON_POSITIONS))
            assert len(positions) == 3
            at = self.staff(2, node, st.station_id, at, self.rng.randint(1, 2),
                            (positions[0], positions[1], positions[2]), st.posts)
            for pid in st.points:
                # A point has no 站长 of its own; one liaison officer keeps it.
                at += self.minutes(3, 15)
                host, place = hosts[pid]
                payload = ev.StaffAssigned(station_id=pid, person_id=f"P-{pid}-1", name=self.name(),
                                           role="联络员", position=tx.POINT_POSITIONS[host].format(p=place))
                self.emit(2, node, payload, at)
                st.posts.append(Post(pid, payload.person_id, "联络员", at, payload.position))
            at = self.signage(2, node, st.station_id, at, point=False)
            for pid in st.points:
                at = self.signage(2, node, pid, at, point=True)
            at = self.disclose(2, node, st.station_id, at, missing if st is bad_disclosure else ())
            for pid in st.points:
                at = self.disclose(2, node, pid, at)
            at = datetime(self.year, 1, 4, 9, 0, tzinfo=TZ) + timedelta(minutes=11 * i)
            for d in st.deputies:
                at += self.minutes(1, 8)
                self.emit(2, node, ev.DeputyEnrolled(
                    station_id=st.station_id, deputy_id=d.deputy_id, name=d.name, level=d.level),
                    at)
            self.plan_receptions(st, at + self.minutes(30, 120))

    def plan_receptions(self, st: Station, at: datetime) -> None:
        """Art. 14: the year's plan, each month's theme, on a fixed day each month."""
        st.fixed_day = self.rng.choice((15, 15, 15, 18, 20, 22, 25))
        key_months = set(self.rng.sample(range(1, 13), 3))
        key = iter(self.rng.sample(tuple(tx.KEY_WORK_THEMES), 3))
        hot = iter(self.rng.sample(tuple(tx.HOT_THEMES), 9))
        items = []
        for month in range(1, 13):
            basis: Literal["key_work", "hot_issue"] = "key_work" if month in key_months else "hot_issue"
            theme = next(key) if basis == "key_work" else next(hot)
            st.plan[month] = theme
            items.append(ev.PlannedTheme(month=month, theme=theme, basis=basis))
        st.plan_id = f"RPL-{st.node}-{self.year}"
        self.emit(2, st.node, ev.ReceptionPlanned(
            station_id=st.station_id, plan_id=st.plan_id, year=self.year, fixed_day=st.fixed_day,
            fixed_hour=9, items=items), at)

    # --- phase 4: receptions, visits, opinions ------------------------------------------

    def visit(self, st: Station, d: Deputy, at: datetime, activity: ev.VisitActivity,
              mode: ev.Mode, people: int) -> None:
        self.emit(3, st.node, ev.VisitRecorded(
            station_id=st.station_id, visit_id=st.next_id("V", 4), deputy_id=d.deputy_id,
            activity=activity, mode=mode, people_met=people), at)
        d.visits += 1

    def receptions(self, missing_at: Station) -> None:
        for st in self.townships:
            for month in range(1, 13):
                if st is missing_at and month == FAULT_MONTH:
                    continue
                starts = datetime(self.year, month, st.fixed_day, 9, 0, tzinfo=TZ)
                online = self.rng.random() < 0.12
                mode: ev.Mode = "online" if online else "on_site"
                theme = st.plan[month]
                rid = st.next_id("R", 3)
                # Art. 14: announced 3-10 days ahead, during office hours.
                announced = starts - timedelta(days=self.rng.randint(4, 10))
                announced += timedelta(minutes=self.rng.randint(0, 8 * 60))
                place = "线上（代表联络站应用直播间）" if online else st.address_at(starts)
                eligible = st.eligible(starts)
                attending = self.rng.sample(eligible, self.rng.randint(1, min(3, len(eligible))))
                category = tx.HOT_THEMES.get(theme) or tx.KEY_WORK_THEMES[theme]
                units = [self.route(st, category, "county").unit, self.route(st, category, "township").unit]
                self.emit(3, st.node, ev.ReceptionScheduled(
                    station_id=st.station_id, reception_id=rid, theme=f"{theme}主题接待活动",
                    place=place, starts_at=starts, announced_at=announced, mode=mode,
                    plan_id=st.plan_id, deputy_ids=[d.deputy_id for d in attending], units=units),
                    announced)
                attendees = self.rng.randint(5, 60)
                for d in attending:
                    self.visit(st, d, starts + self.minutes(0, 20), "themed_reception", mode,
                               self.rng.randint(3, attendees))
                self.emit(3, st.node, ev.ReceptionHeld(
                    station_id=st.station_id, reception_id=rid,
                    deputy_ids=[d.deputy_id for d in attending], attendees=attendees),
                    starts + timedelta(hours=2))
                st.receptions.append(Reception(rid, starts, [d.deputy_id for d in attending]))
                if self.rng.random() < 0.025:
                    self.cancelled_extra(st, month, st.fixed_day)

    def cancelled_extra(self, st: Station, month: int, fixed_day: int) -> None:
        day = self.rng.choice([d for d in range(16, 29) if d != fixed_day])
        starts = datetime(self.year, month, day, 14, 30, tzinfo=TZ)
        announced = starts - timedelta(days=self.rng.randint(3, 9), hours=self.rng.randint(1, 5))
        if announced < self.activity_start:
            return
        rid = st.next_id("R", 3)
        self.emit(3, st.node, ev.ReceptionScheduled(
            station_id=st.station_id, reception_id=rid,
            theme=f"{self.rng.choice(tuple(tx.HOT_THEMES))}专题接待活动", place=st.address_at(starts),
            starts_at=starts, announced_at=announced, mode="on_site"), announced)
        span = (starts - timedelta(hours=1) - announced).total_seconds()
        cancelled = self.office(
            announced + timedelta(seconds=int(span * self.rng.uniform(0.3, 0.95))))
        self.emit(3, st.node, ev.ReceptionCancelled(
            station_id=st.station_id, reception_id=rid, reason=self.rng.choice(tx.CANCEL_REASONS)),
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
                    # Visits in receptions and activities already counted; top up to the target.
                    target -= d.visits
                for _ in range(target):
                    online = self.rng.random() < 0.15
                    self.visit(st, d, self.day_time(8, 18, end=d.until),
                               self.rng.choices(_VISIT_KINDS, _VISIT_WEIGHTS)[0],
                               "online" if online else "on_site", self.rng.randint(0, 40))

    def plant_hot_topic(self) -> County:
        """A month's surge of one concrete complaint across a few townships of one county."""
        county = self.counties[-1]
        towns = [s for s in self.townships if s.county is county]
        hit = self.rng.sample(towns, min(4, len(towns)))
        for k in range(max(40, self.opinions // 120)):
            st = hit[k % len(hit)]
            text = self.rng.choice(tx.HOT_TOPIC_TEXTS).format(place=self.rng.choice(st.places))
            st.seeds.append(Seed(self.month_time(HOT_MONTH, 8, 20), hot_text=text))
        return county

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
        for _ in range(self.opinions):
            st = stations[min(bisect_right(cum, self.rng.random() * total), len(stations) - 1)]
            st.seeds.append(self.opinion_seed(st))
        for st in stations:
            # Ids follow the order opinions came in.
            for seed in sorted(st.seeds, key=lambda s: s.at):
                self.opinion(st, seed)

    def opinion_seed(self, st: Station) -> Seed:
        r = self.rng.random()
        if st.receptions and r < 0.15:
            reception = self.rng.choice(st.receptions)
            return Seed(reception.starts_at + self.minutes(5, 115), reception=reception)
        if r < 0.50:
            return Seed(self.day_time(8, 18))
        if r < 0.75:
            return Seed(self.day_time(8, 20))  # grid workers
        return Seed(self.day_time(7, 23))

    def opinion(self, st: Station, seed: Seed) -> None:
        rng = self.rng
        station_id = st.station_id
        t0 = seed.at
        deputy_pool = [d.deputy_id for d in st.eligible(t0)]
        consultation_id: str | None = None
        if seed.reception is not None:
            channel: OpinionChannel = "reception"
            deputy_id: str | None = rng.choice(seed.reception.deputy_ids)
        else:
            channels: tuple[OpinionChannel, ...] = ("on_site", "grid", "online")
            channel = rng.choices(channels, (50, 25, 35))[0]
            deputy_id = rng.choice(deputy_pool) if deputy_pool and rng.random() < 0.3 else None
            points = st.open_points(t0)
            if points and channel != "online" and seed.consultation is None and rng.random() < 0.25:
                station_id = rng.choice(points)
        place = rng.choice(st.places)
        if seed.consultation is not None:
            c = seed.consultation
            category, content, consultation_id = c.category, f"{rng.choice(c.texts)}。", c.consultation_id
            channel = "online" if c.mode == "online" else "on_site"
        elif seed.hot_text is not None:
            category, content = tx.HOT_TOPIC_CATEGORY, seed.hot_text
        else:
            category = rng.choices(tuple(tx.CATEGORIES), tx.CATEGORY_WEIGHTS)[0]
            issue, ask = rng.choice(tx.CATEGORIES[category]).split("|")
            content = f"{place}{issue}，{ask if rng.random() < 0.8 else '希望有关部门协调解决'}。"
        citizen = self.citizen(st, place) if rng.random() < 0.7 else None
        oid = st.next_id("O", 5)
        if seed.hot_text is not None:
            self.hot_ids.append(oid)
        steps: list[tuple[datetime, ev.AnyPayload]] = [(t0, ev.OpinionReceived(
            station_id=station_id, opinion_id=oid, category=category, content=content,
            channel=channel, citizen=citizen, deputy_id=deputy_id, consultation_id=consultation_id))]
        if seed.consultation is not None:
            steps += self.consultation_path(st, station_id, oid, t0, seed.consultation)
        else:
            steps += self.opinion_path(st, station_id, oid, t0, category)
        for at, payload in steps:
            if at > self.year_end:
                break  # still open at year end
            self.emit(3, st.node, payload, at)

    def citizen(self, st: Station, place: str) -> ev.Citizen:
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

    def consultation_path(self, st: Station, sid: str, oid: str, t0: datetime,
                          c: Consultation) -> list[tuple[datetime, ev.AnyPayload]]:
        """Art. 16: an opinion on a consultation is recorded, reported to its organiser, closed."""
        t1 = self.office(t0 + self.minutes(5, 90))
        t2 = self.office(t1 + timedelta(days=self.rng.randint(1, 4), minutes=self.rng.randint(0, 300)))
        t3 = self.office(t2 + timedelta(days=self.rng.randint(1, 3), minutes=self.rng.randint(0, 300)))
        return [
            (t1, ev.OpinionAnswered(station_id=sid, opinion_id=oid,
                                    answer=tx.CONSULTATION_ANSWER.format(organiser=c.organiser))),
            (t2, ev.OpinionReported(station_id=sid, opinion_id=oid, to_level=c.organiser_level)),
            (t3, ev.OpinionClosed(station_id=sid, opinion_id=oid)),
        ]

    def assign_level(self, st: Station, category: str) -> ev.AssignLevel:
        """分级: township stations keep what a township can settle; the rest goes up."""
        levels: tuple[ev.AssignLevel, ...] = (
            ("township", "county", "city") if st.township else ("county", "city"))
        weights = (45, 45, 10) if st.township else (80, 20)
        ruled = self.routing.levels_for(category)
        pairs = [(lv, w) for lv, w in zip(levels, weights, strict=True) if lv in ruled]
        return self.rng.choices([lv for lv, _ in pairs], [w for _, w in pairs])[0]

    def planted_delay(self, unit: str, t0: datetime, oid: str) -> str | None:
        (m0, d0), (m1, d1) = OVERDUE_WINDOW
        window = datetime(self.year, m0, d0, tzinfo=TZ) <= t0 < datetime(self.year, m1, d1, tzinfo=TZ)
        if unit != self.slow_unit or not window:
            return None
        if len(self.overdue_open) < OVERDUE_OPEN:
            self.overdue_open.append(oid)
            return "open"
        if len(self.overdue_late) < OVERDUE_LATE:
            self.overdue_late.append(oid)
            return "late"
        return None

    def opinion_path(self, st: Station, sid: str, oid: str, t0: datetime,
                     category: str) -> list[tuple[datetime, ev.AnyPayload]]:
        """A legal walk through the Art. 15 workflow, each step strictly after the last."""
        rng = self.rng
        out: list[tuple[datetime, ev.AnyPayload]] = []
        up: ev.AssignLevel = "county" if st.township else "city"
        r = rng.random()
        if r < 0.35:
            t = self.office(t0 + self.minutes(5, 240))
            out.append((t, ev.OpinionAnswered(station_id=sid, opinion_id=oid,
                                              answer=rng.choice(tx.ANSWERS))))
            if rng.random() < 0.5:
                t = self.office(t + timedelta(days=rng.randint(1, 5), minutes=rng.randint(0, 600)))
                out.append((t, ev.OpinionReported(station_id=sid, opinion_id=oid, to_level=up)))
        elif r < 0.45:
            t = t0 + self.minutes(10, 1440)
            out.append((self.office(t), ev.OpinionRedirected(
                station_id=sid, opinion_id=oid, channel=rng.choice(_LEGAL_CHANNELS))))
            t = out[-1][0]
        else:
            route = self.route(st, category, self.assign_level(st, category))
            t = self.office(t0 + self.minutes(120, 4320))
            deadline = route.deadline(t.date())
            out.append((t, ev.OpinionAssigned(station_id=sid, opinion_id=oid, level=route.level,
                                              unit=route.unit, deadline=deadline)))
            due = datetime.combine(deadline, time(17, 30), TZ)
            delay = self.planted_delay(route.unit, t0, oid)
            n_sup = rng.choices((0, 1, 2, 3), (35, 40, 18, 7))[0]
            window = (due - timedelta(days=2) - (t + timedelta(days=1))).total_seconds()
            for frac in sorted(rng.random() for _ in range(n_sup)):
                ts = t + timedelta(days=1, seconds=int(window * frac))
                ts = self.office(max(ts, out[-1][0] + timedelta(minutes=30)))
                out.append((ts, ev.OpinionSupervised(station_id=sid, opinion_id=oid,
                                                     note=rng.choice(tx.SUPERVISION_NOTES))))
            if delay is not None:
                # Past the deadline the station urges the unit again.
                ts = self.office(due + timedelta(days=rng.randint(1, 3), hours=rng.randint(1, 5)))
                out.append((ts, ev.OpinionSupervised(station_id=sid, opinion_id=oid,
                                                     note=rng.choice(tx.OVERDUE_NOTES))))
            if delay == "open":
                return out  # no feedback by year end
            if delay == "late":
                t = self.office(out[-1][0] + timedelta(days=rng.randint(2, 10), hours=rng.randint(1, 6)))
                out.append((t, ev.OpinionFeedbackGiven(
                    station_id=sid, opinion_id=oid, feedback=tx.LATE_FEEDBACK.format(unit=route.unit),
                    satisfaction=rng.choice(("basically_satisfied", "unsatisfied")))))
            else:
                last = out[-1][0] + timedelta(hours=1)
                # Feedback within the deadline, so nothing is overdue but what is planted.
                t = self.office(
                    last + timedelta(seconds=int((due - last).total_seconds() * rng.uniform(0.2, 1.0))))
                sat = rng.choices(_SATISFACTION, _SATISFACTION_WEIGHTS)[0]
                out.append((t, ev.OpinionFeedbackGiven(
                    station_id=sid, opinion_id=oid, feedback=rng.choice(tx.FEEDBACK).format(unit=route.unit),
                    satisfaction=sat)))
            if rng.random() < 0.6:
                t = self.office(t + timedelta(days=rng.randint(1, 7), minutes=rng.randint(0, 600)))
                out.append((t, ev.OpinionReported(station_id=sid, opinion_id=oid, to_level=up)))
        t = self.office(t + timedelta(days=rng.randint(1, 7), minutes=rng.randint(0, 600)))
        out.append((t, ev.OpinionClosed(station_id=sid, opinion_id=oid)))
        return out

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
             opinions: int = 11_000, plant_overdue: bool = False) -> Simulation:
    """Plan one year of events for the first ``counties`` counties of ``city``.

    ``opinions`` everyday opinions; the planted hot topic's surge and the opinions given in
    consultations (Art. 16) come on top. ``plant_overdue`` makes one county unit miss a few
    deadlines in the autumn (``PlantedFaults.overdue_open`` / ``overdue_late``); off by
    default, since the demo scores every failing check against what it planted.
    """
    b = _Builder(city, counties, year, seed, opinions, plant_overdue)
    b.build_city()
    b.build_counties()
    b.plan_townships()
    picked = b.rng.sample(b.townships, 7)
    under = b.plant_deputy_faults(picked[:5])
    no_reception, bad_disclosure = picked[5], picked[6]
    missing = tuple(sorted(b.rng.sample(ev.DISCLOSURE_ITEMS, 2)))
    b.build_townships(bad_disclosure, missing)
    sim_duties.setup(b)
    # Changes in the year first: who leaves when, and where stations move, bound the rest.
    sim_duties.changes(b)
    b.receptions(no_reception)
    sim_duties.year_round(b)
    b.visits()
    hot_county = b.plant_hot_topic()
    b.opinions_all()
    hot = PlantedHotTopic(hot_county.code, hot_county.name, f"{year}-{HOT_MONTH:02d}",
                          tx.HOT_TOPIC_KEYWORDS, b.hot_ids)
    sim_duties.year_end(b, lowered={no_reception.station_id, bad_disclosure.station_id})
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
        overdue_open=sorted(b.overdue_open),
        overdue_late=sorted(b.overdue_late),
    )
    return Simulation(year, nodes, b.phases, foreign, faults, hot)
