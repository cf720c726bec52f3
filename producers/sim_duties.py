"""The simulated stations' duties beyond their core life: Art. 7-9 (points closed, stations
moved, staff changed), 12 (deputies leaving), 13 (officials at the station, staff sent in),
16 (consultations), 17-19 (activities), 18 (leads), 20 (reports to voters, evaluations),
21 (budgets), 22 (training), 23 (purchased services), 24 (assessment, commendation).

Nothing here may push a non-planted quality check into failure: planted deputies and
deputies who have left take part in nothing, and every station keeps its monthly reception.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from producers import sim_text as tx
from producers.sim_model import TZ, Consultation, Post, Seed, Station
from schemas import events as ev

if TYPE_CHECKING:
    from producers.simulator import _Builder


def _at(b: _Builder, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(b.year, month, day, hour, tzinfo=TZ)


# --- January: budgets (Art. 21) ----------------------------------------------------------


def setup(b: _Builder) -> None:
    """Each level's budget funds its own station: city 总站, county 中心站, township 联络站."""
    rng, y = b.rng, b.year
    code = b.city.code
    b.emit(0, code, ev.BudgetAllocated(
        station_id=f"{code}-01", budget_id=f"B-{code}-{y}-1", year=y, fiscal_level="city",
        purpose="operation", amount_yuan=rng.randint(30, 50) * 10_000), _at(b, 1, 2, 16))
    for i, cs in enumerate(b.county_stations):
        b.emit(1, cs.node, ev.BudgetAllocated(
            station_id=cs.station_id, budget_id=f"B-{cs.node}-{y}-1", year=y, fiscal_level="county",
            purpose="operation", amount_yuan=rng.randint(15, 30) * 10_000),
            _at(b, 1, 2, 17) + timedelta(minutes=3 * i))
    for i, st in enumerate(b.townships):
        at = _at(b, 1, 4, 14) + timedelta(minutes=2 * i)
        b.emit(2, st.node, ev.BudgetAllocated(
            station_id=st.station_id, budget_id=f"B-{st.node}-{y}-1", year=y, fiscal_level="township",
            purpose="operation", amount_yuan=rng.randint(3, 10) * 10_000), at)
        if rng.random() < 0.2:
            b.emit(2, st.node, ev.BudgetAllocated(
                station_id=st.station_id, budget_id=f"B-{st.node}-{y}-2", year=y,
                fiscal_level="township", purpose="construction", amount_yuan=rng.randint(5, 20) * 10_000),
                at + timedelta(minutes=1))


# --- changes in the year (planned before the activity they bound) -------------------------


def changes(b: _Builder) -> None:
    rng = b.rng
    # Art. 12: two deputies leave in December, after doing their share.
    movable = [d for st in b.townships for d in st.deputies
               if not d.faulty and d.level in ("county", "township")]
    for d in rng.sample(movable, 2):
        d.until = b.day_time(9, 17, start=_at(b, 12, 8), end=_at(b, 12, 19))
        b.emit(3, d.station_id.split("-")[0], ev.DeputyLeft(
            station_id=d.station_id, deputy_id=d.deputy_id, reason=rng.choice(tx.DEPUTY_LEAVE_REASONS)),
            d.until)
    # Art. 9: staff are kept stable; a few posts change hands, none stays empty.
    for st in rng.sample(b.townships, min(6, len(b.townships))):
        post = rng.choice([p for p in st.posts if p.station_id == st.station_id and p.role != "站长"])
        _replace(b, st, post, b.day_time(9, 16, start=_at(b, 3, 1), end=_at(b, 11, 1)))
    # Art. 8: two stations move to better, ground-floor premises.
    for st in rng.sample(b.townships, 2):
        assert st.township is not None
        at = b.day_time(9, 16, start=_at(b, 4, 1), end=_at(b, 10, 1))
        address = f"{b.city.name}{st.county.name}{st.township.name}{b.road()}"
        b.emit(3, st.node, ev.StationRelocated(
            station_id=st.station_id, address=address, ground_floor=True,
            functional_areas=["办公", "接待", "展示"], reason=rng.choice(tx.RELOCATION_REASONS)), at)
        st.moves.append((at, address))
    # Art. 7: a liaison point or two close late in the year; its liaison officer is released.
    doubles = [st for st in b.townships if len(st.points) > 1]
    for st in rng.sample(doubles, min(2, len(doubles))):
        pid = st.points[-1]
        at = b.day_time(9, 16, start=_at(b, 12, 1), end=_at(b, 12, 21))
        for post in (p for p in st.posts if p.station_id == pid and p.until is None):
            post.until = at
            b.emit(3, st.node, ev.StaffReleased(station_id=pid, person_id=post.person_id, role=post.role,
                                                reason="联络点撤销"), at)
        b.emit(3, st.node, ev.StationClosed(station_id=pid, reason=rng.choice(tx.POINT_CLOSE_REASONS)),
               at + b.minutes(5, 30))
        st.closed_points[pid] = at


def _replace(b: _Builder, st: Station, post: Post, at: datetime) -> None:
    post.until = at
    b.emit(3, st.node, ev.StaffReleased(station_id=post.station_id, person_id=post.person_id,
                                        role=post.role, reason=b.rng.choice(tx.STAFF_RELEASE_REASONS)), at)
    n = sum(1 for p in st.posts if p.station_id == post.station_id) + 1
    new = Post(post.station_id, f"P-{post.station_id}-{n}", post.role, at + b.minutes(10, 120),
                post.position)
    b.emit(3, st.node, ev.StaffAssigned(station_id=new.station_id, person_id=new.person_id, name=b.name(),
                                        role=new.role, position=new.position), new.since)
    st.posts.append(new)


# --- the year round ----------------------------------------------------------------------------


def year_round(b: _Builder) -> None:
    for st in b.townships:
        _contacts(b, st)
        _agency_services(b, st)
        _consultations(b, st)
        _activities(b, st)
        _reception_leads(b, st)
        _reports(b, st)
        _purchases(b, st)
    _trainings(b)


def _contacts(b: _Builder, st: Station) -> None:
    """Art. 13: committee members and officials meet deputies and people at the station."""
    rng = b.rng
    assert st.township is not None
    for _ in range(rng.randint(2, 5)):
        at = b.day_time(9, 17)
        eligible = st.eligible(at)
        body, unit_t, titles, purposes = rng.choice(tx.CONTACT_BODIES)
        if body == "township_government" and st.township.kind == "街道":
            body = "street_office"
        dept = b.route(st, rng.choice(tuple(tx.CATEGORIES)), "county").unit
        gov = b.route(st, tx.HOT_TOPIC_CATEGORY, "township").unit
        unit = unit_t.format(c=st.county.name, g=gov, dept=dept)
        # Committee members contact the deputies of their own congress first.
        pool = [d for d in eligible if d.level == "county"] if body == "standing_committee" else []
        pool = pool or eligible
        deputies = rng.sample(pool, rng.randint(1, min(3, len(pool))))
        mode: ev.Mode = "online" if rng.random() < 0.1 else "on_site"
        people = rng.randint(5, 40)
        b.emit(3, st.node, ev.ContactHeld(
            station_id=st.station_id, contact_id=st.next_id("K", 3), body=body, unit=unit,
            official_title=rng.choice(titles).format(k=st.county.name[-1]), purposes=list(purposes),
            deputy_ids=[d.deputy_id for d in deputies], mode=mode, people_met=people), at)
        for d in deputies:
            b.visit(st, d, at, "official_contact", mode, rng.randint(3, people))


def _agency_services(b: _Builder, st: Station) -> None:
    """Art. 13 para. 3: state organs send staff in to give professional services."""
    rng = b.rng
    if rng.random() >= 0.35:
        return
    for body, unit_t, service in rng.sample(tx.AGENCY_SERVICES, rng.choice((1, 1, 2))):
        start = b.day_time(9, 11, start=_at(b, 2, 1), end=_at(b, 5, 1))
        b.emit(3, st.node, ev.AgencyStaffStationed(
            station_id=st.station_id, service_id=st.next_id("AG", 2), body=body,
            unit=unit_t.format(c=st.county.name), service=service, staff_count=rng.randint(1, 3),
            starts_on=start.date(), schedule=rng.choice(tx.SCHEDULES),
            ends_on=date(b.year, 12, 31) if rng.random() < 0.6 else None), start)


def _consultations(b: _Builder, st: Station) -> None:
    """Art. 16: state organs hear opinions at the station; each opinion names its consultation."""
    rng = b.rng
    for subject in rng.sample(tuple(tx.CONSULTATIONS), rng.randint(2, 4)):
        title_t, org_t, level, months, category, texts = tx.CONSULTATIONS[subject]
        names = {"C": b.city.name, "c": st.county.name, "y": b.year + 1}
        opened = b.month_time(rng.choice(months), 9, 16)
        closes_on = (opened + timedelta(days=rng.randint(10, 20))).date()
        mode: ev.Mode = "online" if rng.random() < 0.15 else "on_site"
        c = Consultation(st.next_id("C", 3), org_t.format(**names), level, category, texts, mode)
        b.emit(3, st.node, ev.ConsultationOpened(
            station_id=st.station_id, consultation_id=c.consultation_id, subject=subject,
            title=title_t.format(**names), organiser=c.organiser, organiser_level=level,
            closes_on=closes_on, mode=mode), opened)
        close = datetime.combine(closes_on, time(17), TZ)
        linked = rng.randint(1, 4)
        for _ in range(linked):
            st.seeds.append(Seed(opened + (close - opened) * rng.uniform(0.05, 0.95), consultation=c))
        concluded = b.office(close + timedelta(days=rng.randint(1, 5), hours=rng.randint(0, 3)))
        if concluded <= b.year_end:
            collected = linked + rng.randint(0, 12)
            adopted = rng.randint(0, collected)
            b.emit(3, st.node, ev.ConsultationConcluded(
                station_id=st.station_id, consultation_id=c.consultation_id, opinions_collected=collected,
                adopted=adopted, summary=f"共收集意见建议{collected}条，已汇总报送{c.organiser}，"
                                         f"其中{adopted}条被采纳或部分采纳。"), concluded)


def _activities(b: _Builder, st: Station) -> None:
    """Arts. 17-19: inspections, surveys, enforcement checks, project supervision, grid service,
    law promotion and study sessions; Art. 18 leads come from grid service and law promotion."""
    rng = b.rng
    assert st.township is not None
    for _ in range(rng.randint(6, 11)):
        kind = rng.choices(tuple(tx.ACTIVITIES), tx.ACTIVITY_WEIGHTS)[0]
        topics, levels, visit_kind = tx.ACTIVITIES[kind]
        at = b.day_time(9, 16)
        eligible = st.eligible(at)
        deputies = rng.sample(eligible, rng.randint(1, min(4, len(eligible))))
        project = None
        if kind == "livelihood_project_supervision":
            project = f"{b.year}年民生实事项目：" + rng.choice(tx.LIVELIHOOD_PROJECTS).format(t=st.township.name)
        elif kind == "major_project_supervision":
            project = rng.choice(tx.MAJOR_PROJECTS).format(c=st.county.name)
        mode: ev.Mode = "online" if kind == "study_session" and rng.random() < 0.3 else "on_site"
        participants = len(deputies) + rng.randint(3, 60)
        b.emit(3, st.node, ev.ActivityHeld(
            station_id=st.station_id, activity_id=st.next_id("A", 3), kind=kind, topic=rng.choice(topics),
            organiser_level=rng.choice(levels), deputy_ids=[d.deputy_id for d in deputies],
            participants=participants, mode=mode, project=project), at)
        for d in deputies:
            b.visit(st, d, at, visit_kind, mode, rng.randint(0, participants))
        if kind in ("grid_service", "law_promotion"):
            for _ in range(rng.randint(0, 2)):
                _lead(b, st, rng.choice(deputies).deputy_id, at + b.minutes(30, 120), kind)


def _lead(b: _Builder, st: Station, deputy_id: str, at: datetime, source: ev.LeadSource) -> None:
    category = b.rng.choices(tuple(tx.CATEGORIES), tx.CATEGORY_WEIGHTS)[0]
    issue, ask = b.rng.choice(tx.CATEGORIES[category]).split("|")
    b.emit(3, st.node, ev.LeadCollected(
        station_id=st.station_id, lead_id=st.next_id("L", 3), deputy_id=deputy_id, category=category,
        summary=b.rng.choice(tx.LEAD_TEXTS).format(issue=issue, ask=ask), source=source), at)


def _reception_leads(b: _Builder, st: Station) -> None:
    for reception in st.receptions:
        if b.rng.random() < 0.15:
            _lead(b, st, b.rng.choice(reception.deputy_ids), reception.starts_at + timedelta(hours=2, minutes=30),
                  "themed_reception")


def _reports(b: _Builder, st: Station) -> None:
    """Art. 20: voters hear some deputies report in the autumn, and evaluate them."""
    rng = b.rng
    for d in st.deputies:
        if d.faulty or d.level not in ("city", "county", "township") or rng.random() >= 0.35:
            continue
        at = b.day_time(14, 17, start=_at(b, 10, 8), end=_at(b, 12, 6))
        if not d.active(at):
            continue
        report_id = st.next_id("RP", 3)
        mode: ev.Mode = "online" if rng.random() < 0.1 else "on_site"
        voters = rng.randint(20, 90)
        b.emit(3, st.node, ev.DeputyReportHeard(
            station_id=st.station_id, report_id=report_id, deputy_id=d.deputy_id, voters=voters, mode=mode), at)
        b.visit(st, d, at, "report_to_voters", mode, voters)
        b.emit(3, st.node, ev.DeputyEvaluated(
            station_id=st.station_id, evaluation_id=st.next_id("EV", 3), deputy_id=d.deputy_id,
            rating=rng.choices(tx.RATINGS, tx.RATING_WEIGHTS)[0], voters=rng.randint(max(1, voters // 2), voters),
            report_id=report_id), at + b.minutes(60, 150))


def _purchases(b: _Builder, st: Station) -> None:
    """Art. 23: some townships buy services from universities, institutes and law firms."""
    rng = b.rng
    if rng.random() >= 0.25:
        return
    name_t, kind, service = rng.choice(tx.PROVIDERS)
    signed = b.day_time(9, 17, start=_at(b, 2, 10), end=_at(b, 6, 1))
    b.emit(3, st.node, ev.ServicePurchased(
        station_id=st.station_id, contract_id=st.next_id("SC", 2),
        provider=name_t.format(stem=rng.choice(tx.PLACE_STEMS)), provider_kind=kind, service=service,
        amount_yuan=rng.randint(20, 120) * 1000, starts_on=signed.date() + timedelta(days=rng.randint(1, 10)),
        ends_on=date(b.year, 12, 31)), signed)


def _trainings(b: _Builder) -> None:
    """Art. 22: each county trains its stations' staff every year; the city trains its own and
    the county stations' staff."""
    topic = tx.TRAINING_TOPIC.format(y=b.year)
    code = b.city.code
    at = b.day_time(9, 10, start=_at(b, 3, 10), end=_at(b, 4, 15))
    for sid, posts in [(f"{code}-01", b.city_posts), *((cs.station_id, cs.posts) for cs in b.county_stations)]:
        persons = [p.person_id for p in posts if p.station_id == sid and p.holds(at)]
        b.emit(3, code, ev.StaffTrained(station_id=sid, training_id=f"T-{code}-{b.year}", person_ids=persons,
                                        organiser_level="city", topic=topic, hours=16), at)
    for county in b.counties:
        at = b.day_time(9, 10, start=_at(b, 4, 15), end=_at(b, 7, 1))
        for st in (s for s in b.townships if s.county is county):
            for sid in (st.station_id, *st.points):
                persons = [p.person_id for p in st.posts if p.station_id == sid and p.holds(at)]
                b.emit(3, county.code, ev.StaffTrained(
                    station_id=sid, training_id=f"T-{county.code}-{b.year}", person_ids=persons,
                    organiser_level="county", topic=topic, hours=16), at)


# --- December: assessment and commendation (Art. 24) --------------------------------------


def _grade(score: int) -> ev.Grade:
    return "优秀" if score >= 90 else "良好" if score >= 80 else "合格" if score >= 60 else "不合格"


def year_end(b: _Builder, lowered: set[str]) -> None:
    """Counties assess their township stations, the city its county stations; the best are
    commended. Stations with a planted fault score lower."""
    rng, y = b.rng, b.year
    title = tx.COMMENDATION_TITLE.format(y=y)
    groups: list[tuple[str, ev.Level, list[Station]]] = [
        (county.code, "county", [s for s in b.townships if s.county is county]) for county in b.counties
    ]
    groups.append((b.city.code, "city", list(b.county_stations)))
    for node, level, stations in groups:
        assessor: ev.Level = level
        scores: list[tuple[int, Station]] = []
        for st in stations:
            score = rng.randint(76, 98) - (12 if st.station_id in lowered else 0)
            at = b.day_time(9, 17, start=_at(b, 12, 15), end=_at(b, 12, 24))
            b.emit(3, node, ev.StationAssessed(
                station_id=st.station_id, assessment_id=f"AS-{st.node}-{y}", year=y,
                assessor_level="city" if assessor == "city" else "county", score=score, grade=_grade(score)), at)
            scores.append((score, st))
        best = sorted(scores, key=lambda s: (-s[0], s[1].station_id))[: 1 if level == "city" else 2]
        for k, (_, st) in enumerate(best):
            b.emit(3, node, ev.StationCommended(
                station_id=st.station_id, commendation_id=f"CM-{st.node}-{y}", year=y, title=title,
                awarded_by="city" if assessor == "city" else "county"),
                _at(b, 12, 28, 10) + timedelta(minutes=k))
