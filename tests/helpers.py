"""Shared builders for tests: a small valid history of one township."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from schemas import events as ev

TZ = timezone(timedelta(hours=8))
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=TZ)
NODE = "330602001"
STATION = "330602001-01"


def township_history(opinions: int = 20) -> list[tuple[ev.Payload, datetime]]:
    """Station, staff, disclosure, a deputy, visits, a reception and opinion lifecycles."""
    out: list[tuple[ev.Payload, datetime]] = [
        (
            ev.StationEstablished(
                station_id=STATION,
                name="塔山街道人大代表联络站",
                level="联络站",
                region_code=NODE,
                address="绍兴市越城区塔山街道",
                ground_floor=True,
                functional_areas=["办公", "接待", "展示"],
            ),
            T0,
        ),
        (ev.StaffAssigned(station_id=STATION, person_id="P-1", name="王芳", role="站长"), T0),
        (ev.DisclosurePublished(station_id=STATION, items=["deputies", "staff"]), T0),
        (ev.DeputyEnrolled(station_id=STATION, deputy_id="D-1", name="李明", level="county"), T0),
        (
            ev.ReceptionScheduled(
                station_id=STATION,
                reception_id="R-1",
                theme="老旧小区改造",
                place="联络站接待室",
                starts_at=T0 + timedelta(days=10),
                announced_at=T0,
                mode="on_site",
            ),
            T0,
        ),
        (
            ev.ReceptionHeld(station_id=STATION, reception_id="R-1", deputy_ids=["D-1"], attendees=12),
            T0 + timedelta(days=10),
        ),
    ]
    for i in range(3):
        out.append(
            (
                ev.VisitRecorded(
                    station_id=STATION,
                    visit_id=f"V-{i}",
                    deputy_id="D-1",
                    activity="daily_contact",
                    mode="on_site",
                    people_met=5,
                ),
                T0 + timedelta(days=i),
            )
        )
    for i in range(opinions):
        oid = f"O-{i}"
        at = T0 + timedelta(hours=i)
        out.append(
            (
                ev.OpinionReceived(
                    station_id=STATION,
                    opinion_id=oid,
                    category="交通出行",
                    content="小区门口路灯损坏，夜间出行不便",
                    channel="on_site",
                    citizen=ev.Citizen(
                        name="张三丰", phone="13812345678", address="绍兴市越城区塔山街道某小区3幢"
                    ),
                ),
                at,
            )
        )
        if i % 2 == 0:
            out.append(
                (
                    ev.OpinionAnswered(station_id=STATION, opinion_id=oid, answer="已答复"),
                    at + timedelta(minutes=30),
                )
            )
            out.append((ev.OpinionClosed(station_id=STATION, opinion_id=oid), at + timedelta(hours=1)))
        else:
            out.append(
                (
                    ev.OpinionAssigned(
                        station_id=STATION,
                        opinion_id=oid,
                        level="county",
                        unit="越城区住房和城乡建设局",
                        deadline=(at + timedelta(days=20)).date(),
                    ),
                    at + timedelta(minutes=30),
                )
            )
    return out
