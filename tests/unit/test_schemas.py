"""Strict decoding: every kind of bad input is refused with the event and the field named."""

from __future__ import annotations

import json
from typing import Any

import pytest

from schemas import events as ev
from schemas.envelope import EventRejected, decode, encode
from schemas.jsonschema import envelope_schema
from schemas.subjects import node_prefix, origin_of, scope_filter, subject_for

EVENT_ID = "01936f3e-8f5a-7b4c-9d2e-123456789abc"


def good(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "event_id": EVENT_ID, "schema_version": 1, "occurred_at": "2025-03-01T09:00:00+08:00",
        "recorded_at": "2025-03-01T09:05:00+08:00", "origin": "330602001", "actor": "站务员",
        "payload": {"type": "visit.recorded", "station_id": "330602001-01", "visit_id": "V-1",
                    "deputy_id": "D-1", "activity": "survey", "mode": "on_site", "people_met": 3},
    }
    for key, value in over.items():
        if key.startswith("payload."):
            doc["payload"][key.removeprefix("payload.")] = value
        else:
            doc[key] = value
    return doc


def rejected(doc: dict[str, Any] | bytes) -> EventRejected:
    raw = doc if isinstance(doc, bytes) else json.dumps(doc, ensure_ascii=False).encode()
    with pytest.raises(EventRejected) as info:
        decode(raw)
    return info.value


def test_good_event_round_trips() -> None:
    env = decode(json.dumps(good()).encode())
    assert env.type == "visit.recorded"
    assert isinstance(env.payload, ev.VisitRecorded)
    assert decode(encode(env)) == env


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"occurred_at": "2025-03-01T09:00:00"}, "occurred_at", "timezone"),
        ({"payload.type": "visit.teleported"}, "payload.type", "Invalid value"),
        ({"payload.people_met": -1}, "payload.people_met", ">= 0"),
        ({"payload.station_id": "33060200-01"}, "payload.station_id", "regex"),
        ({"origin": "33060"}, "origin", "regex"),
        ({"payload.extra": 1}, "payload", "unknown field"),
        ({"event_id": "not-a-uuid"}, "event_id", "regex"),
        ({"payload.station_id": "330602002-01"}, "payload.station_id", "辖区"),
        ({"occurred_at": "2025-03-02T09:00:00+08:00"}, "occurred_at", "recorded_at"),
        ({"schema_version": 9}, "schema_version", "<= 1"),
    ],
)
def test_bad_values_name_event_and_field(change: dict[str, Any], field: str, words: str) -> None:
    err = rejected(good(**change))
    assert err.field == field, str(err)
    assert words in err.reason
    assert err.event_id == (change.get("event_id") or EVENT_ID)
    # People read Chinese: the event, the field and the reason, never msgspec's English alone.
    assert str(err).startswith("事件 ") and f"字段 `{field}`" in str(err)
    assert err.reason_zh != err.reason or not err.reason.isascii()


def test_missing_field_is_named() -> None:
    doc = good()
    del doc["payload"]["deputy_id"]
    err = rejected(doc)
    assert "deputy_id" in str(err) and err.event_type == "visit.recorded"


def test_not_json_is_refused() -> None:
    err = rejected(b"\xff\xfe garbage")
    assert "不是合法的 JSON" in str(err) and err.event_type is None


def station(**over: Any) -> dict[str, Any]:
    p: dict[str, Any] = {"type": "station.established", "station_id": "330602001-01", "name": "站",
                         "level": "联络站", "region_code": "330602001", "address": "绍兴",
                         "ground_floor": True, "functional_areas": ["办公"]}
    p.update(over)
    return good(payload=p)


@pytest.mark.parametrize(
    ("over", "field", "words"),
    [
        # id does not nest under its region
        ({"region_code": "330602002"}, "station_id", "`station_id` 330602001-01 不在 `region_code` 330602002 之下"),
        # a 中心站 has a 6-digit county code
        ({"level": "中心站"}, "region_code",
         "`region_code` 330602001 是乡镇（街道）级区划代码，与 `level` 中心站 不符：中心站应使用 6 位的县级区划代码"),
        ({"station_id": "330602001-01-02", "level": "联络点", "parent_station_id": "330602001-03"},
         "parent_station_id", "`parent_station_id` 应为 330602001-01（联络点 330602001-01-02 编号所属的站点），"
         "实际为 330602001-03"),
        ({"level": "联络点", "parent_station_id": "330602001-03"},  # a 联络点 with a station's id
         "parent_station_id", "`station_id` 330602001-01 不是联络点编号"),
        ({"station_id": "330602001-01-02"}, "station_id", "`station_id` 330602001-01-02 是联络点编号，但 `level` 为 联络站"),
        # parent in another county
        ({"parent_station_id": "330603-01"}, "parent_station_id", "`parent_station_id` 330603-01 不是上级站点"),
        ({"host_kind": "enterprise"}, "host_kind", "`host_kind`（联络点所在单位类型）只适用于联络点，本事件的 `level` 是 联络站"),
    ],
)
def test_region_hierarchy_is_enforced(over: dict[str, Any], field: str, words: str) -> None:
    err = rejected(station(**over))
    assert err.field == f"payload.{field}", str(err)
    # Cross-field checks are written in Chinese from the start; people read them as they are.
    assert words in err.reason and err.reason_zh == err.reason
    assert str(err) == f"事件 station.established（编号 {EVENT_ID}）：字段 `payload.{field}`：{err.reason}"


def test_liaison_point_nests_under_its_station() -> None:
    env = decode(json.dumps(station(station_id="330602001-01-02", level="联络点",
                                    parent_station_id="330602001-01")).encode())
    assert env.payload.station_id == "330602001-01-02"


def test_subjects_follow_the_hierarchy() -> None:
    assert node_prefix("3306") == "lls.ev.3306._._"
    assert node_prefix("330602") == "lls.ev.3306.330602._"
    assert subject_for("330602001", "opinion.received") == "lls.ev.3306.330602.330602001.opinion.received"
    assert scope_filter("330602") == "lls.ev.3306.330602.>"
    assert scope_filter("3306") == "lls.ev.3306.>"
    assert origin_of("lls.ev.3306.330602._.station.established") == "330602"
    assert origin_of("other.subject") is None


def test_every_event_type_is_in_the_json_schema() -> None:
    text = json.dumps(envelope_schema(), ensure_ascii=False)
    for event_type in ev.EVENT_TYPES:
        assert f'"{event_type}"' in text
