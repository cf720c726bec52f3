"""The simulated year: big enough, strictly valid, replayable by the projector, faults exact."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

import pytest
import uuid_utils

from producers.simulator import MIN_VISITS, PlannedEvent, Simulation, simulate
from schemas import events as ev
from schemas.envelope import Envelope, EventRejected, decode, validate
from schemas.regions import station_parent, station_region
from schemas.subjects import origin_of
from schemas.workflow import next_state

OPINION_PAYLOADS = (
    ev.OpinionReceived, ev.OpinionAnswered, ev.OpinionRedirected, ev.OpinionAssigned,
    ev.OpinionSupervised, ev.OpinionFeedbackGiven, ev.OpinionReported, ev.OpinionClosed,
)


@pytest.fixture(scope="module")
def sim() -> Simulation:
    started = time.perf_counter()
    out = simulate()
    assert time.perf_counter() - started < 10
    return out


def _events(sim: Simulation) -> list[PlannedEvent]:
    return [e for phase in sim.phases for e in phase]


def _of(sim: Simulation, kind: type[ev.Payload]) -> list[ev.Payload]:
    return [e.payload for e in _events(sim) if isinstance(e.payload, kind)]


def test_size(sim: Simulation) -> None:
    assert sim.event_count() >= 50_000
    assert sim.event_count() == len(_events(sim))
    assert len(_of(sim, ev.DeputyEnrolled)) >= 300
    levels = Counter(p.level for p in _of(sim, ev.StationEstablished)
                     if isinstance(p, ev.StationEstablished))
    assert levels["总站"] == 1
    assert levels["中心站"] >= 3
    assert levels["联络站"] >= 10
    assert levels["联络点"] >= levels["联络站"]
    assert len(sim.nodes) == len(set(sim.nodes)) == 1 + levels["中心站"] + levels["联络站"]


def test_every_event_passes_strict_validation(sim: Simulation) -> None:
    for e in _events(sim):
        env = Envelope(event_id=str(uuid_utils.uuid7()), schema_version=1,
                       occurred_at=e.occurred_at, recorded_at=e.recorded_at, origin=e.node,
                       actor="sim", payload=e.payload)
        assert validate(env).payload == e.payload


def test_times(sim: Simulation) -> None:
    for e in _events(sim):
        assert e.occurred_at.year == sim.year
        assert e.occurred_at.utcoffset() == timedelta(hours=8)
        assert e.occurred_at <= e.recorded_at <= e.occurred_at + timedelta(hours=4)
        assert e.recorded_at.year == sim.year


def test_jurisdiction(sim: Simulation) -> None:
    nodes = set(sim.nodes)
    for phase, digits in zip(sim.phases[:3], (4, 6, 9), strict=True):
        assert {len(e.node) for e in phase} == {digits}
    for e in _events(sim):
        assert e.node in nodes
        assert station_region(e.payload.station_id).startswith(e.node)


def test_replays_like_the_projector(sim: Simulation) -> None:
    """Each phase is acknowledged before the next; within a node, stream order is list order."""
    stations: set[str] = set()
    enrolled: dict[str, str] = {}
    left: dict[str, datetime] = {}
    receptions: dict[str, str] = {}
    opinions: dict[str, tuple[str, str]] = {}
    consultations: dict[str, str] = {}
    plans: dict[str, str] = {}
    reports: dict[str, str] = {}
    posts: set[tuple[str, str, str]] = set()
    ids: dict[str, set[str]] = defaultdict(set)

    def active(deputy_id: str, station_id: str, at: datetime) -> None:
        assert enrolled[deputy_id] == station_id
        assert deputy_id not in left or at < left[deputy_id], f"{deputy_id} takes part after leaving"

    for phase in sim.phases:
        last_at: dict[str, datetime] = {}
        for e in phase:
            prev = last_at.get(e.node)
            assert prev is None or prev <= e.occurred_at
            last_at[e.node] = e.occurred_at
            p = e.payload
            if isinstance(p, ev.StationEstablished):
                assert p.station_id not in stations
                assert p.parent_station_id is None or p.parent_station_id in stations
                assert (p.host_kind is not None) == (p.level == "联络点")
                stations.add(p.station_id)
                continue
            assert p.station_id in stations
            if isinstance(p, ev.DeputyEnrolled):
                assert p.deputy_id not in enrolled
                enrolled[p.deputy_id] = p.station_id
            elif isinstance(p, ev.DeputyLeft):
                active(p.deputy_id, p.station_id, e.occurred_at)
                left[p.deputy_id] = e.occurred_at
            elif isinstance(p, ev.VisitRecorded):
                active(p.deputy_id, p.station_id, e.occurred_at)
                assert p.visit_id not in ids["visit"]
                ids["visit"].add(p.visit_id)
            elif isinstance(p, ev.StaffAssigned):
                posts.add((p.station_id, p.person_id, p.role))
            elif isinstance(p, ev.StaffReleased):
                posts.remove((p.station_id, p.person_id, p.role))
            elif isinstance(p, ev.StaffTrained):
                holding = {person for sid, person, _ in posts if sid == p.station_id}
                assert set(p.person_ids) == holding, p.station_id
            elif isinstance(p, ev.ReceptionPlanned):
                assert sorted(i.month for i in p.items) == list(range(1, 13))
                plans[p.plan_id] = p.station_id
            elif isinstance(p, ev.ReceptionScheduled):
                assert p.reception_id not in receptions
                assert p.announced_at == e.occurred_at
                assert timedelta(days=3) <= p.starts_at - p.announced_at <= timedelta(days=10)
                assert p.plan_id is None or plans[p.plan_id] == p.station_id
                receptions[p.reception_id] = "scheduled"
            elif isinstance(p, ev.ReceptionHeld | ev.ReceptionCancelled):
                assert receptions[p.reception_id] == "scheduled"
                receptions[p.reception_id] = "held" if isinstance(p, ev.ReceptionHeld) else "x"
                if isinstance(p, ev.ReceptionHeld):
                    assert 1 <= len(p.deputy_ids) <= 3
                    for d in p.deputy_ids:
                        active(d, p.station_id, e.occurred_at - timedelta(hours=2))
            elif isinstance(p, ev.ContactHeld | ev.ActivityHeld):
                for d in p.deputy_ids:
                    active(d, p.station_id, e.occurred_at)
            elif isinstance(p, ev.DeputyReportHeard):
                active(p.deputy_id, p.station_id, e.occurred_at)
                reports[p.report_id] = p.deputy_id
            elif isinstance(p, ev.DeputyEvaluated):
                assert p.report_id is not None and reports[p.report_id] == p.deputy_id
            elif isinstance(p, ev.ConsultationOpened):
                assert p.consultation_id not in consultations
                consultations[p.consultation_id] = "open"
            elif isinstance(p, ev.ConsultationConcluded):
                assert consultations[p.consultation_id] == "open"
                consultations[p.consultation_id] = "concluded"
            elif isinstance(p, OPINION_PAYLOADS):
                state, owner = opinions.get(p.opinion_id, (None, p.station_id))
                assert owner == p.station_id
                opinions[p.opinion_id] = (next_state(state, e.type), owner)
                if isinstance(p, ev.OpinionReceived) and p.deputy_id is not None:
                    assert p.deputy_id in enrolled
                if isinstance(p, ev.OpinionReceived) and p.consultation_id is not None:
                    assert consultations[p.consultation_id] == "open"
    assert "scheduled" not in receptions.values()
    states = Counter(s for s, _ in opinions.values())
    hot = sim.hot_topic
    assert hot is not None
    linked = len(_of(sim, ev.ConsultationOpened))
    # Everyday opinions, the hot topic's surge, and 1-4 opinions per consultation.
    assert 11_000 + len(hot.opinion_ids) + linked <= len(opinions) <= 11_000 + len(hot.opinion_ids) + 4 * linked
    assert states["closed"] > 0.9 * len(opinions)
    # Art. 9: every open station, county station and city station keeps a 站长 all year.
    heads = {sid for sid, _, role in posts if role == "站长"}
    assert {s for s in stations if s.count("-") == 1} <= heads


def test_every_event_type_is_simulated(sim: Simulation) -> None:
    assert {e.type for e in _events(sim)} == set(ev.EVENT_TYPES)


def test_each_level_funds_its_own_station(sim: Simulation) -> None:
    budgets = [p for p in _of(sim, ev.BudgetAllocated) if isinstance(p, ev.BudgetAllocated)]
    operating = {p.station_id for p in budgets if p.purpose == "operation"}
    established = {p.station_id for p in _of(sim, ev.StationEstablished)
                   if isinstance(p, ev.StationEstablished) and p.level != "联络点"}
    assert operating == established


def test_every_station_is_trained_and_assessed(sim: Simulation) -> None:
    trained = {p.station_id for p in _of(sim, ev.StaffTrained)}
    assessed = {p.station_id for p in _of(sim, ev.StationAssessed)}
    established = {p.station_id for p in _of(sim, ev.StationEstablished)
                   if isinstance(p, ev.StationEstablished)}
    assert trained == established  # points too: their liaison officers
    assert assessed == {s for s in established if s.count("-") == 1 and len(s.split("-")[0]) > 4}


def test_the_hot_topic_is_one_county_one_month(sim: Simulation) -> None:
    hot = sim.hot_topic
    assert hot is not None and hot.month == f"{sim.year}-07" and len(hot.opinion_ids) >= 40
    received = {e.payload.opinion_id: e for e in _events(sim) if isinstance(e.payload, ev.OpinionReceived)}
    for oid in hot.opinion_ids:
        e = received[oid]
        assert isinstance(e.payload, ev.OpinionReceived)
        assert e.occurred_at.strftime("%Y-%m") == hot.month
        assert station_region(e.payload.station_id).startswith(hot.region_code)
        assert all(k in e.payload.content for k in hot.keywords)
    others = [e for oid, e in received.items() if oid not in set(hot.opinion_ids)]
    assert not any("自来水" in e.payload.content for e in others if isinstance(e.payload, ev.OpinionReceived))


def _overdue(sim: Simulation) -> tuple[set[str], set[str]]:
    """Assigned opinions past their deadline at year end: (never answered, answered late)."""
    deadline: dict[str, date] = {}
    feedback: dict[str, date] = {}
    for e in _events(sim):
        if isinstance(e.payload, ev.OpinionAssigned):
            deadline[e.payload.opinion_id] = e.payload.deadline
        elif isinstance(e.payload, ev.OpinionFeedbackGiven):
            feedback[e.payload.opinion_id] = e.occurred_at.date()
    end = date(sim.year, 12, 31)
    still = {o for o, d in deadline.items() if d < end and o not in feedback}
    late = {o for o, d in deadline.items() if o in feedback and feedback[o] > d}
    return still, late


def test_nothing_is_overdue_unless_planted(sim: Simulation) -> None:
    assert _overdue(sim) == (set(), set())
    assert sim.faults.overdue_open == sim.faults.overdue_late == []
    planted = simulate(opinions=1500, plant_overdue=True)
    still, late = _overdue(planted)
    assert still == set(planted.faults.overdue_open) and late == set(planted.faults.overdue_late)
    assert 1 <= len(still) <= 4 and len(late) <= 3


def test_opinion_mix(sim: Simulation) -> None:
    n = len(_of(sim, ev.OpinionReceived))
    # Opinions given in consultations are all answered and reported to the organiser.
    assert 0.30 < len(_of(sim, ev.OpinionAnswered)) / n < 0.42
    assert 0.07 < len(_of(sim, ev.OpinionRedirected)) / n < 0.13
    assert 0.50 < len(_of(sim, ev.OpinionAssigned)) / n < 0.60
    for p in _of(sim, ev.OpinionReceived):
        assert isinstance(p, ev.OpinionReceived)
        if p.citizen and p.citizen.phone:
            assert len(p.citizen.phone) == 11 and p.citizen.phone.startswith("1")


def test_quality_finds_exactly_the_planted_faults(sim: Simulation) -> None:
    faults = sim.faults
    enrolments = {p.deputy_id: p for p in _of(sim, ev.DeputyEnrolled)
                  if isinstance(p, ev.DeputyEnrolled)}
    visits = Counter(p.deputy_id for p in _of(sim, ev.VisitRecorded)
                     if isinstance(p, ev.VisitRecorded))
    assert set(visits) == set(enrolments)  # every deputy came at least once
    under = {d for d, p in enrolments.items() if visits[d] < MIN_VISITS[p.level]}
    assert under == set(faults.deputies_under_minimum)
    assert len(faults.deputies_under_minimum) == 5
    assert Counter(enrolments[d].level == "city" for d in under)[True] == 2
    assert sorted(visits[d] for d in under) == [1, 1, 2, 2, 2]
    assert len({enrolments[d].station_id for d in under}) == 5

    months: dict[str, set[str]] = defaultdict(set)
    for e in _events(sim):
        if isinstance(e.payload, ev.ReceptionHeld):
            months[e.payload.station_id].add(e.occurred_at.strftime("%Y-%m"))
    township_stations = [p.station_id for p in _of(sim, ev.StationEstablished)
                         if isinstance(p, ev.StationEstablished) and p.level == "联络站"]
    gaps = [(s, f"{sim.year}-{m:02d}") for s in township_stations for m in range(1, 13)
            if f"{sim.year}-{m:02d}" not in months[s]]
    assert gaps == faults.missing_receptions
    assert len(gaps) == 1 and gaps[0][1].endswith("-08")
    scheduled = {e.payload.station_id for e in _events(sim)
                 if isinstance(e.payload, ev.ReceptionScheduled)
                 and e.payload.starts_at.strftime("%Y-%m") == gaps[0][1]}
    assert gaps[0][0] not in scheduled

    incomplete = {p.station_id: sorted(set(ev.DISCLOSURE_ITEMS) - set(p.items))
                  for p in _of(sim, ev.DisclosurePublished)
                  if isinstance(p, ev.DisclosurePublished) and len(p.items) < 6}
    assert incomplete == faults.incomplete_disclosures
    assert len(incomplete) == 1 and all(len(v) == 2 for v in incomplete.values())
    disclosed = {p.station_id for p in _of(sim, ev.DisclosurePublished)}
    assert all(s in disclosed for s in township_stations if station_parent(s) is None)


def test_foreign_messages_are_undecodable(sim: Simulation) -> None:
    assert len(sim.foreign_messages) == len(sim.faults.undecodable) == 3
    city = sim.nodes[0]
    for subject, raw in sim.foreign_messages:
        node = origin_of(subject)
        assert node is not None and node.startswith(city) and node in sim.nodes
        with pytest.raises(EventRejected):
            decode(raw)


def test_deterministic(sim: Simulation) -> None:
    again = simulate()
    assert again == sim
    small = simulate(opinions=500, seed=3)
    assert small == simulate(opinions=500, seed=3)
    assert small != simulate(opinions=500, seed=4)
