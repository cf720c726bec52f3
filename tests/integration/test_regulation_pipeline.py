"""The whole regulation on real NATS and Postgres: every new event reaches its projection, bad
references and illegal steps are dead-lettered with a clear reason, overdue items show per unit
and per station, the deputy archive adds up, rebuild equals live, and the 民情 section of the
report names the simulated year's planted hot topic."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from consumers import projector
from consumers.queries import deputy_archive, overdue_opinions
from consumers.store import LIVE_SCHEMA, connect, migrate, sync_connect, table_counts
from hub.provision import reset_stream
from hub.publishing import publish_phases
from hub.runtime import backbone
from producers.sdk import NodePublisher
from producers.simulator import Simulation, simulate
from quality.minqing import analyse_db, render_section
from schemas import events as ev
from tests.conftest import Servers
from tests.helpers import NODE, STATION
from tests.integration.conftest import cli, publish_history

pytestmark = pytest.mark.integration

TZ = timezone(timedelta(hours=8))
T = datetime(2025, 4, 1, 9, 0, tzinfo=TZ)
COUNTY = "330602"
CS = "330602-01"


async def project(s: Servers) -> projector.BatchStats:
    async with backbone(s.nats_url) as (_, js), await connect(s.database_url, LIVE_SCHEMA) as conn:
        return await projector.run(js, conn)


async def rows(s: Servers, query: str, *params: Any) -> list[tuple[Any, ...]]:
    async with await connect(s.database_url, LIVE_SCHEMA) as conn:
        cur = await conn.execute(query, params)
        return list(await cur.fetchall())


async def publish(s: Servers, node: str, items: list[tuple[ev.Payload, datetime]]) -> None:
    async with backbone(s.nats_url) as (_, js):
        pub = NodePublisher(js, node, "test")
        for payload, at in items:
            await pub.publish(pub.build(payload, at, recorded_at=at))


def township_year() -> list[tuple[ev.Payload, datetime]]:
    """One of each fact a township station records, after the helper's history (Arts. 8-24)."""
    day = timedelta(days=1)
    return [
        (ev.SignageInstalled(station_id=STATION, items=["门牌", "公示栏"], conforms_to_spec=True), T),
        (ev.StationRelocated(station_id=STATION, address="绍兴市越城区塔山街道新址1号", ground_floor=True,
                             functional_areas=["办公", "接待", "展示"], reason="迁至一楼"), T + day),
        (ev.StaffAssigned(station_id=STATION, person_id="P-2", name="李强", role="联络员",
                          position="塔山街道人大工委工作人员"), T + day),
        (ev.StaffReleased(station_id=STATION, person_id="P-2", role="联络员", reason="工作调动"), T + 9 * day),
        (ev.BudgetAllocated(station_id=STATION, budget_id="B-1", year=2025, fiscal_level="township",
                            purpose="operation", amount_yuan=60_000), T),
        (ev.ReceptionPlanned(station_id=STATION, plan_id="RPL-1", year=2025, fixed_day=15, fixed_hour=9,
                             items=[ev.PlannedTheme(month=5, theme="垃圾分类", basis="hot_issue")]), T),
        (ev.ReceptionScheduled(station_id=STATION, reception_id="R-2", theme="垃圾分类主题接待活动",
                               place="联络站", starts_at=datetime(2025, 5, 15, 9, tzinfo=TZ),
                               announced_at=T + 30 * day, mode="online", plan_id="RPL-1",
                               deputy_ids=["D-1"], units=["越城区综合行政执法局"]), T + 30 * day),
        (ev.ContactHeld(station_id=STATION, contact_id="K-1", body="court", unit="越城区人民法院",
                        official_title="副院长", purposes=["consultation", "hear_opinions"], deputy_ids=["D-1"],
                        mode="on_site", people_met=15), T + 2 * day),
        (ev.AgencyStaffStationed(station_id=STATION, service_id="AG-1", body="procuratorate",
                                 unit="越城区人民检察院", service="公益诉讼线索收集", staff_count=2,
                                 starts_on=date(2025, 4, 3), schedule="每月第一个星期三上午"), T + 2 * day),
        (ev.ConsultationOpened(station_id=STATION, consultation_id="C-1", subject="legislation_plan",
                               title="2026年度立法计划项目征集", organiser="绍兴市人大常委会法制工作委员会",
                               organiser_level="city", closes_on=date(2025, 4, 20), mode="on_site"), T + 3 * day),
        (ev.OpinionReceived(station_id=STATION, opinion_id="O-C1", category="立法工作",
                            content="建议将电动自行车停放充电管理列入立法计划", channel="on_site",
                            consultation_id="C-1"), T + 4 * day),
        (ev.ConsultationConcluded(station_id=STATION, consultation_id="C-1", opinions_collected=6, adopted=2,
                                  summary="已汇总报送"), T + 21 * day),
        (ev.ActivityHeld(station_id=STATION, activity_id="A-1", kind="major_project_supervision",
                         topic="重大建设工程项目实施情况监督", organiser_level="county", deputy_ids=["D-1"],
                         participants=12, mode="on_site", project="越城区城市防洪排涝工程"), T + 5 * day),
        (ev.LeadCollected(station_id=STATION, lead_id="L-1", deputy_id="D-1", category="养老服务",
                          summary="建议增设老年助餐点", source="grid_service"), T + 5 * day),
        (ev.DeputyReportHeard(station_id=STATION, report_id="RP-1", deputy_id="D-1", voters=45,
                              mode="on_site"), T + 6 * day),
        (ev.DeputyEvaluated(station_id=STATION, evaluation_id="EV-1", deputy_id="D-1", rating="excellent",
                            voters=40, report_id="RP-1"), T + 6 * day + timedelta(hours=2)),
        (ev.ServicePurchased(station_id=STATION, contract_id="SC-1", provider="绍兴文理学院",
                             provider_kind="university", service="民情分析", amount_yuan=50_000,
                             starts_on=date(2025, 4, 10), ends_on=date(2025, 12, 31)), T + 7 * day),
        (ev.StationClosed(station_id=STATION, reason="测试撤销后重建"), T + 60 * day),
    ]


def county_year() -> list[tuple[ev.Payload, datetime]]:
    """What the county records about its township station (Arts. 22, 24)."""
    return [
        (ev.StaffTrained(station_id=STATION, training_id="T-1", person_ids=["P-1", "P-2"],
                         organiser_level="county", topic="业务培训", hours=16), T + 8 * timedelta(days=1)),
        (ev.StationAssessed(station_id=STATION, assessment_id="AS-1", year=2025, assessor_level="county",
                            score=92, grade="优秀"), T + 200 * timedelta(days=1)),
        (ev.StationCommended(station_id=STATION, commendation_id="CM-1", year=2025, title="工作成绩突出联络站",
                             awarded_by="county"), T + 201 * timedelta(days=1)),
    ]


NEW_TABLES = ("contacts", "agency_services", "reception_plans", "reception_plan_items", "consultations",
              "activities", "proposal_leads", "voter_reports", "evaluations", "budgets", "staff_trainings",
              "purchased_services", "assessments", "commendations")


async def test_every_new_fact_reaches_its_projection(fresh: Servers) -> None:
    n = await publish_history(fresh.nats_url, opinions=4)
    await publish(fresh, NODE, township_year())
    await publish(fresh, COUNTY, county_year())
    stats = await project(fresh)
    assert stats.dead_lettered == 0 and stats.applied == n + len(township_year()) + len(county_year())
    async with await connect(fresh.database_url, LIVE_SCHEMA) as conn:
        counts = await table_counts(conn)
    assert all(counts[t] >= 1 for t in NEW_TABLES), counts
    [station] = await rows(fresh, "SELECT address, signage, signage_conforms, relocated_at IS NOT NULL, status,"
                                  " close_reason FROM stations WHERE station_id=%s", STATION)
    assert station == ("绍兴市越城区塔山街道新址1号", ["公示栏", "门牌"], True, True, "closed", "测试撤销后重建")
    assert await rows(fresh, "SELECT position, release_reason FROM staff WHERE person_id='P-2'") == [
        ("塔山街道人大工委工作人员", "工作调动")]
    assert await rows(fresh, "SELECT plan_id, arranged_units FROM receptions WHERE reception_id='R-2'") == [
        ("RPL-1", ["越城区综合行政执法局"])]
    assert await rows(fresh, "SELECT status, opinions_collected, adopted FROM consultations") == [
        ("concluded", 6, 2)]
    assert await rows(fresh, "SELECT consultation_id FROM opinions WHERE opinion_id='O-C1'") == [("C-1",)]
    assert await rows(fresh, "SELECT person_id FROM staff_trainings ORDER BY 1") == [("P-1",), ("P-2",)]
    staffing = await rows(fresh, "SELECT heads, liaison_officers, released FROM station_staffing"
                                 " WHERE station_id=%s", STATION)
    assert staffing == [(1, 0, 1)]


async def test_bad_references_and_illegal_steps_are_dead_lettered_with_a_reason(fresh: Servers) -> None:
    await publish_history(fresh.nats_url, opinions=4)  # O-0, O-2 answered and closed; O-1, O-3 assigned
    await publish(fresh, NODE, township_year())
    later = T + timedelta(days=40)
    bad: list[tuple[ev.Payload, datetime]] = [
        (ev.OpinionFeedbackGiven(station_id=STATION, opinion_id="O-0", feedback="好", satisfaction="satisfied"),
         later),
        (ev.OpinionClosed(station_id=STATION, opinion_id="O-1"), later),
        (ev.OpinionAssigned(station_id=STATION, opinion_id="O-C1", level="county", unit="某局",
                            deadline=date(2025, 1, 1)), later),
        (ev.OpinionReceived(station_id=STATION, opinion_id="O-X", category="立法工作", content="意见",
                            channel="on_site", consultation_id="C-404"), later),
        (ev.OpinionReceived(station_id=STATION, opinion_id="O-Y", category="立法工作", content="意见",
                            channel="on_site", consultation_id="C-1"), later),  # concluded already
        (ev.ConsultationConcluded(station_id=STATION, consultation_id="C-1", opinions_collected=1, adopted=0,
                                  summary="再次"), later),
        (ev.DeputyEvaluated(station_id=STATION, evaluation_id="EV-2", deputy_id="D-1", rating="competent",
                            voters=10, report_id="RP-404"), later),
        (ev.ReceptionScheduled(station_id=STATION, reception_id="R-9", theme="主题", place="站",
                               starts_at=later + timedelta(days=9), announced_at=later, mode="on_site",
                               plan_id="RPL-404"), later),
    ]
    await publish(fresh, NODE, bad)
    stats = await project(fresh)
    assert stats.dead_lettered == len(bad)
    reasons = [r for (r,) in await rows(fresh, "SELECT reason FROM dead_letters ORDER BY stream_seq")]
    # Auditors read these (quality report, `liaison-hub status`): Chinese, naming the event type,
    # the field and the id, what is wrong and what to do.
    expected = [
        "opinion.feedback_given：`opinion_id` O-0 的意见当前为「已办结」（closed），"
        "不能办理「反馈」（opinion.feedback_given）；办结后不能再办理任何步骤",
        "opinion.closed：`opinion_id` O-1 的意见当前为「已交办」（assigned），不能办理「办结」（opinion.closed）；"
        "此时只能办理：「督办」（opinion.supervised）、「反馈」（opinion.feedback_given）",
        "opinion.assigned：`opinion_id` O-C1 的办理期限 `deadline` 2025-01-01 早于交办当天（2025-05-11，北京时间）；"
        "请改正办理期限",
        "opinion.received：`consultation_id` C-404 的征求意见活动从未开启（没有收到 consultation.opened）；"
        "请先发布 consultation.opened，或核对编号",
        "opinion.received：`consultation_id` C-1 的征求意见活动已经结束，不能再收入意见；"
        "如是一般意见，请去掉 `consultation_id`",
        "consultation.concluded：`consultation_id` C-1 的征求意见活动已经结束，不能重复结束",
        f"deputy.evaluated：`report_id` RP-404 的述职在站点 {STATION} 没有记录（没有收到 deputy.report_heard）；"
        "请先发布 deputy.report_heard，或核对述职编号",
        f"reception.scheduled：`plan_id` RPL-404 不是站点 {STATION} 的接待活动方案"
        "（没有收到该站点的这份 reception.planned）；请先发布 reception.planned，或核对方案编号",
    ]
    assert reasons == expected
    # Refused events wrote nothing.
    assert await rows(fresh, "SELECT status FROM opinions WHERE opinion_id IN ('O-0','O-1') ORDER BY 1") == [
        ("assigned",), ("closed",)]
    assert await rows(fresh, "SELECT count(*) FROM opinions WHERE opinion_id IN ('O-X','O-Y')") == [(0,)]


async def test_a_passed_deadline_shows_as_overdue_per_unit_and_station(fresh: Servers) -> None:
    await publish_history(fresh.nats_url, opinions=1)  # the station, and nothing assigned yet
    received = datetime(2025, 4, 8, 10, tzinfo=TZ)
    unit = "越城区住房和城乡建设局"
    steps: list[tuple[ev.Payload, datetime]] = []
    for oid in ("O-A", "O-B"):
        steps += [
            (ev.OpinionReceived(station_id=STATION, opinion_id=oid, category="城乡建设", content="楼道灯坏了",
                                channel="on_site"), received),
            (ev.OpinionAssigned(station_id=STATION, opinion_id=oid, level="county", unit=unit,
                                deadline=date(2025, 4, 30)), received + timedelta(hours=2)),
        ]
    steps.append((ev.OpinionFeedbackGiven(station_id=STATION, opinion_id="O-B", feedback="已处理",
                                          satisfaction="basically_satisfied"), datetime(2025, 5, 3, 10, tzinfo=TZ)))
    await publish(fresh, NODE, steps)
    await project(fresh)

    def overdue(as_of: str) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(cli("opinions", "overdue", "--json", "--as-of", as_of).stdout)
        return doc

    on_the_day = overdue("2025-04-30")
    assert on_the_day["overdue"] == 0  # the deadline day itself is still in time
    day_after = overdue("2025-05-01")
    assert (day_after["overdue"], day_after["still_open"], day_after["answered_late"]) == (2, 2, 0)
    later = overdue("2025-05-10")
    assert (later["overdue"], later["still_open"], later["answered_late"]) == (2, 1, 1)
    items = {i["opinion_id"]: i for i in later["items"]}
    assert items["O-A"]["state"] == "open" and items["O-A"]["days_overdue"] == 10
    assert items["O-B"]["state"] == "late" and items["O-B"]["days_overdue"] == 3
    assert items["O-B"]["feedback_on"] == "2025-05-03"
    [unit] = later["by_unit"]
    assert (unit["name"], unit["overdue"], unit["still_open"], unit["answered_late"]) == (
        "越城区住房和城乡建设局", 2, 1, 1)
    [station] = later["by_station"]
    assert (station["key"], station["name"], station["overdue"]) == (STATION, "塔山街道人大代表联络站", 2)
    text = cli("opinions", "overdue", "--as-of", "2025-05-10").stderr
    assert "超期交办件 2 件" in text and "越城区住房和城乡建设局" in text


async def test_the_deputy_archive_adds_up(fresh: Servers) -> None:
    await publish_history(fresh.nats_url, opinions=2)
    await publish(fresh, NODE, [
        *township_year()[:16],
        (ev.OpinionReceived(station_id=STATION, opinion_id="O-D", category="教育", content="学位紧张",
                            channel="reception", deputy_id="D-1"), T + timedelta(days=11)),
        (ev.VisitRecorded(station_id=STATION, visit_id="V-9", deputy_id="D-1", activity="official_contact",
                          mode="online", people_met=3), T + timedelta(days=2)),
    ])
    await project(fresh)
    doc = json.loads(cli("deputies", "archive", "D-1", "--json").stdout)
    [row] = doc
    assert row["year"] == 2025 and row["level"] == "county" and row["visits_required"] == 3
    assert row["visits"] == 4 and row["online_visits"] == 1
    assert row["visits_by_activity"] == {"daily_contact": 3, "official_contact": 1}
    assert row["receptions_attended"] == 1  # R-2 was scheduled, not held; R-1 was held
    assert (row["activities"], row["official_contacts"], row["proposal_leads"]) == (1, 1, 1)
    assert (row["opinions_received"], row["reports_to_voters"], row["latest_rating"]) == (1, 1, "excellent")
    text = cli("deputies", "archive", "D-1").stderr
    assert "李明" in text and "日常联系群众3" in text


async def test_rebuild_equals_live_with_every_new_table(fresh: Servers) -> None:
    await publish_history(fresh.nats_url, opinions=4)
    await publish(fresh, NODE, township_year())
    await publish(fresh, COUNTY, county_year())
    await project(fresh)
    doc = json.loads(cli("rebuild", "--json").stdout)
    assert doc["equal"] is True
    tables = {t["table"]: t for t in doc["tables"]}
    for table in NEW_TABLES:
        assert tables[table]["rebuilt_rows"] == tables[table]["live_rows"] >= 1, table


# --- a simulated year ------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def year(servers: Servers) -> AsyncIterator[tuple[Servers, Simulation]]:
    """A small simulated year (planted overdue items on), published by its nodes and projected."""
    async with backbone(servers.nats_url) as (_, js):
        await reset_stream(js)
    await migrate(servers.database_url, LIVE_SCHEMA, fresh=True)
    sim = simulate(opinions=1500, plant_overdue=True)
    published = await publish_phases(servers.nats_url, sim.phases, "test", lambda _n: None)
    assert published == sim.event_count()
    stats = await project(servers)
    assert stats.applied == published and stats.dead_lettered == 0
    yield servers, sim


async def test_the_simulated_years_overdue_items_are_the_planted_ones(
    year: tuple[Servers, Simulation],
) -> None:
    s, sim = year
    with sync_connect(s.database_url) as conn:
        report = overdue_opinions(conn, date(sim.year, 12, 31))
    assert {i.opinion_id for i in report.items if i.state == "open"} == set(sim.faults.overdue_open)
    assert {i.opinion_id for i in report.items if i.state == "late"} == set(sim.faults.overdue_late)
    assert len(report.by_unit) == 1 and report.by_unit[0].name.endswith("住房和城乡建设局")
    assert report.items


async def test_the_minqing_section_names_the_planted_hot_topic(year: tuple[Servers, Simulation]) -> None:
    s, sim = year
    hot = sim.hot_topic
    assert hot is not None
    with sync_connect(s.database_url) as conn:
        analysis = analyse_db(conn, year=sim.year, as_of=date(sim.year, 12, 31))
        archive = deputy_archive(conn, year=sim.year)
    top = analysis.hot_topics[0]
    assert (top.region_code, top.month) == (hot.region_code, hot.month)
    html = render_section(analysis)
    first_row = html.split("<h3>热点话题</h3>", 1)[1].split("</tr>", 2)[1]
    assert hot.region_name in first_row and f"{sim.year}年7月" in first_row
    assert all(k in first_row for k in hot.keywords)
    # Timeliness reflects the planted delays, and only them.
    assert analysis.overall.late == len(sim.faults.overdue_late)
    assert analysis.overall.overdue_open == len(sim.faults.overdue_open)
    # The command gives the same answer, for machines.
    doc = json.loads(cli("analysis", "minqing", "--json", "--year", str(sim.year)).stdout)
    assert doc["hot_topics"][0]["region_name"] == hot.region_name
    assert set(hot.keywords) <= set(doc["hot_topics"][0]["keywords"])
    # Every enrolled deputy has an archive row for the year.
    assert len({r["deputy_id"] for r in archive}) == len(_enrolled(sim))


def _enrolled(sim: Simulation) -> set[str]:
    return {e.payload.deputy_id for phase in sim.phases for e in phase if isinstance(e.payload, ev.DeputyEnrolled)}
