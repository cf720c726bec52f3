"""The events of Arts. 7-24 decode strictly: a good one round-trips, a bad one names its field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from schemas import events as ev
from schemas.envelope import EventRejected, decode, encode

EVENT_ID = "01936f3e-8f5a-7b4c-9d2e-123456789abc"
SID = "330602001-01"

GOOD: dict[str, dict[str, Any]] = {
    "station.relocated": {"address": "绍兴市越城区塔山街道新址", "ground_floor": True,
                          "functional_areas": ["办公", "接待", "展示"], "reason": "迁至一楼"},
    "station.signage_installed": {"items": ["门牌", "公示栏"], "conforms_to_spec": True},
    "station.assessed": {"assessment_id": "AS-1", "year": 2025, "assessor_level": "county", "score": 91,
                         "grade": "优秀"},
    "station.commended": {"commendation_id": "CM-1", "year": 2025, "title": "工作成绩突出联络站",
                          "awarded_by": "county"},
    "staff.trained": {"training_id": "T-1", "person_ids": ["P-1"], "organiser_level": "county",
                      "topic": "业务培训", "hours": 16},
    "deputy.report_heard": {"report_id": "RP-1", "deputy_id": "D-1", "voters": 40, "mode": "on_site"},
    "deputy.evaluated": {"evaluation_id": "EV-1", "deputy_id": "D-1", "rating": "competent", "voters": 30,
                         "report_id": "RP-1"},
    "contact.held": {"contact_id": "K-1", "body": "court", "unit": "越城区人民法院", "official_title": "副院长",
                     "purposes": ["consultation"], "deputy_ids": ["D-1"], "mode": "on_site", "people_met": 12},
    "agency.staff_stationed": {"service_id": "AG-1", "body": "procuratorate", "unit": "越城区人民检察院",
                               "service": "公益诉讼线索收集", "staff_count": 2, "starts_on": "2025-03-01",
                               "schedule": "每月第一个星期三上午", "ends_on": "2025-12-31"},
    "reception.planned": {"plan_id": "RPL-1", "year": 2025, "fixed_day": 15, "fixed_hour": 9,
                          "items": [{"month": 1, "theme": "垃圾分类", "basis": "hot_issue"},
                                    {"month": 2, "theme": "民生实事项目征集", "basis": "key_work"}]},
    "consultation.opened": {"consultation_id": "C-1", "subject": "legislation_plan", "title": "立法计划征求意见",
                            "organiser": "绍兴市人大常委会法制工作委员会", "organiser_level": "city",
                            "closes_on": "2025-10-20", "mode": "on_site"},
    "consultation.concluded": {"consultation_id": "C-1", "opinions_collected": 8, "adopted": 3,
                               "summary": "已汇总报送"},
    "activity.held": {"activity_id": "A-1", "kind": "livelihood_project_supervision", "topic": "民生实事项目监督",
                      "organiser_level": "township", "deputy_ids": ["D-1"], "participants": 20, "mode": "on_site",
                      "project": "老年食堂建设"},
    "lead.collected": {"lead_id": "L-1", "deputy_id": "D-1", "category": "养老服务", "summary": "建议增设助餐点",
                       "source": "grid_service"},
    "budget.allocated": {"budget_id": "B-1", "year": 2025, "fiscal_level": "township", "purpose": "operation",
                         "amount_yuan": 60000},
    "service.purchased": {"contract_id": "SC-1", "provider": "绍兴文理学院", "provider_kind": "university",
                          "service": "民情分析", "amount_yuan": 50000, "starts_on": "2025-03-01",
                          "ends_on": "2025-12-31"},
}
# Events of the first slice, with the optional fields added for the whole regulation.
GOOD_EXTENDED: dict[str, dict[str, Any]] = {
    "reception.scheduled": {"reception_id": "R-1", "theme": "垃圾分类主题接待活动", "place": "联络站",
                            "starts_at": "2025-03-15T09:00:00+08:00", "announced_at": "2025-03-08T10:00:00+08:00",
                            "mode": "on_site", "plan_id": "RPL-1", "deputy_ids": ["D-1"], "units": ["越城区综合执法局"]},
    "opinion.received": {"opinion_id": "O-1", "category": "立法工作", "content": "建议把某事列入立法计划",
                         "channel": "on_site", "consultation_id": "C-1"},
    "staff.assigned": {"person_id": "P-9", "name": "王芳", "role": "站长", "position": "塔山街道人大工委主任"},
    "staff.released": {"person_id": "P-9", "role": "站长", "reason": "工作调动"},
}


def envelope(event_type: str, fields: dict[str, Any], station_id: str = SID) -> bytes:
    doc = {
        "event_id": EVENT_ID, "schema_version": 1, "occurred_at": "2025-03-01T09:00:00+08:00",
        "recorded_at": "2025-03-01T09:05:00+08:00", "origin": station_id.split("-")[0], "actor": "站务员",
        "payload": {"type": event_type, "station_id": station_id, **fields},
    }
    return json.dumps(doc, ensure_ascii=False).encode()


def test_every_new_event_type_has_an_example() -> None:
    first_slice = {
        "station.established", "station.closed", "staff.assigned", "staff.released", "disclosure.published",
        "deputy.enrolled", "deputy.left", "visit.recorded", "reception.scheduled", "reception.held",
        "reception.cancelled", "opinion.received", "opinion.answered", "opinion.redirected", "opinion.assigned",
        "opinion.supervised", "opinion.feedback_given", "opinion.reported", "opinion.closed",
    }
    assert set(GOOD) == set(ev.EVENT_TYPES) - first_slice


@pytest.mark.parametrize("event_type", [*GOOD, *GOOD_EXTENDED])
def test_good_events_round_trip(event_type: str) -> None:
    env = decode(envelope(event_type, {**GOOD, **GOOD_EXTENDED}[event_type]))
    assert env.type == event_type
    assert decode(encode(env)) == env


@pytest.mark.parametrize(
    ("event_type", "change", "field", "words"),
    [
        ("station.signage_installed", {"items": []}, "payload.items", "length >= 1"),
        ("station.signage_installed", {"items": ["广告牌"]}, "payload.items[0]", "Invalid enum"),
        ("station.assessed", {"score": 75, "grade": "优秀"}, "payload.grade", "`grade` 优秀 与 `score` 75 不符：75 分应评为 合格"),
        ("station.assessed", {"score": 101}, "payload.score", "<= 100"),
        ("staff.trained", {"person_ids": []}, "payload.person_ids", "length >= 1"),
        ("deputy.evaluated", {"rating": "great"}, "payload.rating", "Invalid enum"),
        ("deputy.report_heard", {"voters": 0}, "payload.voters", ">= 1"),
        ("contact.held", {"body": "party_committee"}, "payload.body", "Invalid enum"),
        ("contact.held", {"deputy_ids": []}, "payload.deputy_ids", "length >= 1"),
        ("agency.staff_stationed", {"ends_on": "2025-01-01"}, "payload.ends_on",
         "`ends_on` 2025-01-01 早于 `starts_on` 2025-03-01"),
        ("reception.planned", {"items": [{"month": 13, "theme": "x", "basis": "hot_issue"}]},
         "payload.items[0].month", "<= 12"),
        ("reception.planned", {"items": [{"month": 1, "theme": "x", "basis": "hot_issue"},
                                         {"month": 1, "theme": "y", "basis": "key_work"}]},
         "payload.items", "`items` 重复安排了 1 月"),
        ("reception.planned", {"fixed_day": 31}, "payload.fixed_day", "<= 28"),
        ("consultation.opened", {"subject": "gossip"}, "payload.subject", "Invalid enum"),
        ("consultation.concluded", {"adopted": 9}, "payload.adopted", "`adopted` 9 大于 `opinions_collected` 8"),
        ("activity.held", {"project": None}, "payload.project",
         "`project` 未填写：`kind` 为 livelihood_project_supervision（项目监督）时必须写明"),
        ("activity.held", {"kind": "survey"}, "payload.project", "`project` 只用于项目监督"),
        ("lead.collected", {"source": "rumour"}, "payload.source", "Invalid enum"),
        ("budget.allocated", {"fiscal_level": "city"}, "payload.fiscal_level",
         "`fiscal_level` 应为 township，实际为 city：站点 330602001-01 属乡镇（街道）级"),
        ("budget.allocated", {"amount_yuan": -1}, "payload.amount_yuan", ">= 0"),
        ("service.purchased", {"ends_on": "2025-01-01"}, "payload.ends_on", "`ends_on` 2025-01-01 早于 `starts_on`"),
        ("service.purchased", {"provider_kind": "friend"}, "payload.provider_kind", "Invalid enum"),
    ],
)
def test_bad_values_name_the_field(event_type: str, change: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(EventRejected) as info:
        decode(envelope(event_type, {**GOOD[event_type], **change}))
    assert info.value.field == field, str(info.value)
    assert words in info.value.reason  # the original wording; str() may be translated for people
    assert info.value.event_type == event_type


def test_budget_level_follows_the_station_level() -> None:
    county = {**GOOD["budget.allocated"], "fiscal_level": "county"}
    assert decode(envelope("budget.allocated", county, station_id="330602-01")).payload.station_id == "330602-01"
    with pytest.raises(EventRejected, match="`fiscal_level` 应为 county，实际为 township"):
        decode(envelope("budget.allocated", GOOD["budget.allocated"], station_id="330602-01"))


def test_host_kind_is_only_for_a_liaison_point() -> None:
    point = {"name": "某企业联络点", "level": "联络点", "region_code": "330602001", "address": "绍兴",
             "ground_floor": True, "functional_areas": ["接待"], "parent_station_id": SID,
             "host_kind": "enterprise"}
    env = decode(envelope("station.established", point, station_id=f"{SID}-02"))
    assert isinstance(env.payload, ev.StationEstablished) and env.payload.host_kind == "enterprise"
    station = {**point, "level": "联络站", "parent_station_id": None}
    with pytest.raises(EventRejected) as info:
        decode(envelope("station.established", station))
    assert info.value.field == "payload.host_kind"


def test_grades_match_scores_at_the_boundaries() -> None:
    for score, grade in ((90, "优秀"), (89, "良好"), (80, "良好"), (79, "合格"), (60, "合格"), (59, "不合格")):
        fields = {**GOOD["station.assessed"], "score": score, "grade": grade}
        assert decode(envelope("station.assessed", fields)).payload == ev.StationAssessed(
            station_id=SID, assessment_id="AS-1", year=2025, assessor_level="county", score=score, grade=grade)
