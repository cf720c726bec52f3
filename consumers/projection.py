"""How each event changes the projection tables.

Handlers read nothing from the database: what they check (does the station
exist, which state is an opinion in) comes from a BatchContext loaded once
per batch and kept current as the batch is applied. So their writes can be
pipelined, and a refused event (ApplyError) has written nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta, timezone
from typing import Any

import msgspec
from psycopg import AsyncCursor

from consumers.privacy import mask_address, mask_name, mask_payload, mask_phone
from schemas import events as ev
from schemas.envelope import Envelope
from schemas.privacy import mask_text
from schemas.workflow import IllegalTransition, next_state

Cursor = AsyncCursor[Any]
# Deadlines and years are Beijing days; China has no daylight saving, so a fixed offset is exact.
CHINA = timezone(timedelta(hours=8))


class ApplyError(ValueError):
    """The event is valid but cannot be applied to the current state.

    The message is stored in ``dead_letters`` and read by auditors, so it is Chinese: the
    event type first, then the field (in backticks) and the id, what is wrong and, where it
    is clear, what to do."""


@dataclass
class BatchContext:
    """The state a batch's checks need, read once and kept current while applying."""

    stations: set[str] = field(default_factory=set)
    opinions: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (status, station)
    receptions: dict[str, tuple[str, str]] = field(default_factory=dict)
    open_staff: set[tuple[str, str, str]] = field(default_factory=set)
    open_enrolments: set[tuple[str, str]] = field(default_factory=set)
    archived: set[str] = field(default_factory=set)
    consultations: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (status, station)
    plans: dict[str, str] = field(default_factory=dict)  # reception plan id -> station
    reports: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (deputy, station)
    visits: set[str] = field(default_factory=set)  # visit ids already recorded


def _ids(envs: Sequence[Envelope], attr: str) -> list[str]:
    # Optional references (a report, a plan, a consultation) may be absent.
    return sorted({str(v) for e in envs if (v := getattr(e.payload, attr, None)) is not None})


async def load_context(cur: Cursor, envs: Sequence[Envelope]) -> BatchContext:
    ctx = BatchContext()
    stations = sorted(
        {e.payload.station_id for e in envs}
        | {p for e in envs if (p := getattr(e.payload, "parent_station_id", None))}
    )
    await cur.execute("SELECT station_id FROM stations WHERE station_id = ANY(%s)", (stations,))
    ctx.stations = {r[0] for r in await cur.fetchall()}
    await cur.execute("SELECT visit_id FROM visits WHERE visit_id = ANY(%s)",
                      ([e.payload.visit_id for e in envs if isinstance(e.payload, ev.VisitRecorded)],))
    ctx.visits = {r[0] for r in await cur.fetchall()}
    await cur.execute(
        "SELECT opinion_id, status, station_id FROM opinions WHERE opinion_id = ANY(%s)",
        (_ids(envs, "opinion_id"),),
    )
    ctx.opinions = {r[0]: (r[1], r[2]) for r in await cur.fetchall()}
    await cur.execute(
        "SELECT reception_id, status, station_id FROM receptions WHERE reception_id = ANY(%s)",
        (_ids(envs, "reception_id"),),
    )
    ctx.receptions = {r[0]: (r[1], r[2]) for r in await cur.fetchall()}
    await cur.execute(
        "SELECT station_id, person_id, role FROM staff WHERE person_id = ANY(%s) AND released_at IS NULL",
        (_ids(envs, "person_id"),),
    )
    ctx.open_staff = {(r[0], r[1], r[2]) for r in await cur.fetchall()}
    await cur.execute(
        "SELECT deputy_id, station_id FROM enrolments WHERE deputy_id = ANY(%s) AND left_at IS NULL",
        (_ids(envs, "deputy_id"),),
    )
    ctx.open_enrolments = {(r[0], r[1]) for r in await cur.fetchall()}
    await cur.execute(
        "SELECT event_id::text FROM event_archive WHERE event_id = ANY(%s::uuid[])",
        ([e.event_id for e in envs],),
    )
    ctx.archived = {r[0] for r in await cur.fetchall()}
    # Arts. 14, 16, 20: what plan ids, consultation ids and report ids refer to, in one round trip.
    await cur.execute(
        """SELECT 'consultation', consultation_id, status, station_id FROM consultations
               WHERE consultation_id = ANY(%s)
           UNION ALL SELECT 'plan', plan_id, NULL, station_id FROM reception_plans WHERE plan_id = ANY(%s)
           UNION ALL SELECT 'report', report_id, deputy_id, station_id FROM voter_reports
               WHERE report_id = ANY(%s)""",
        (_ids(envs, "consultation_id"), _ids(envs, "plan_id"), _ids(envs, "report_id")),
    )
    for kind, key, extra, station in await cur.fetchall():
        if kind == "consultation":
            ctx.consultations[key] = (extra, station)
        elif kind == "plan":
            ctx.plans[key] = station
        else:
            ctx.reports[key] = (extra, station)
    return ctx


def _require_station(ctx: BatchContext, station_id: str, env: Envelope, field: str = "station_id") -> None:
    if station_id not in ctx.stations:
        raise ApplyError(
            f"{env.type}：`{field}` {station_id} 的站点尚未建立（没有收到它的 station.established）；"
            "请先发布该站点的 station.established，再重新发布本事件"
        )


async def _station_established(
    cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.StationEstablished
) -> None:
    if p.parent_station_id is not None:
        _require_station(ctx, p.parent_station_id, env, "parent_station_id")
    await cur.execute(
        """INSERT INTO stations (station_id, name, level, region_code, parent_station_id, address,
               ground_floor, functional_areas, status, established_at, last_event_id, host_kind)
           VALUES (%s,%s,%s,%s,%s,%s,%s,%s,'open',%s,%s,%s)
           ON CONFLICT (station_id) DO UPDATE SET name = EXCLUDED.name, address = EXCLUDED.address,
               ground_floor = EXCLUDED.ground_floor, functional_areas = EXCLUDED.functional_areas,
               status = 'open', closed_at = NULL, close_reason = NULL,
               last_event_id = EXCLUDED.last_event_id, host_kind = EXCLUDED.host_kind""",
        (
            p.station_id,
            p.name,
            p.level,
            p.region_code,
            p.parent_station_id,
            p.address,
            p.ground_floor,
            list(p.functional_areas),
            env.occurred_at,
            env.event_id,
            p.host_kind,
        ),
    )
    ctx.stations.add(p.station_id)


async def _station_relocated(cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.StationRelocated) -> None:
    _require_station(ctx, p.station_id, env)
    await cur.execute(
        """UPDATE stations SET address=%s, ground_floor=%s, functional_areas=%s, relocated_at=%s,
               last_event_id=%s WHERE station_id=%s""",
        (p.address, p.ground_floor, list(p.functional_areas), env.occurred_at, env.event_id, p.station_id),
    )


async def _signage_installed(cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.SignageInstalled) -> None:
    _require_station(ctx, p.station_id, env)
    await cur.execute(
        """UPDATE stations SET signage=%s, signage_conforms=%s, signage_at=%s, last_event_id=%s
           WHERE station_id=%s""",
        (sorted(set(p.items)), p.conforms_to_spec, env.occurred_at, env.event_id, p.station_id),
    )


async def _station_closed(cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.StationClosed) -> None:
    _require_station(ctx, p.station_id, env)
    await cur.execute(
        """UPDATE stations SET status='closed', closed_at=%s, close_reason=%s, last_event_id=%s
           WHERE station_id=%s""",
        (env.occurred_at, p.reason, env.event_id, p.station_id),
    )


async def _staff_assigned(cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.StaffAssigned) -> None:
    _require_station(ctx, p.station_id, env)
    await cur.execute(
        """INSERT INTO staff (station_id, person_id, role, name, assigned_at, position)
           VALUES (%s,%s,%s,%s,%s,%s)
           ON CONFLICT (station_id, person_id, role)
           DO UPDATE SET name = EXCLUDED.name, assigned_at = EXCLUDED.assigned_at, released_at = NULL,
               position = EXCLUDED.position, release_reason = NULL""",
        (p.station_id, p.person_id, p.role, p.name, env.occurred_at, p.position),
    )
    ctx.open_staff.add((p.station_id, p.person_id, p.role))


async def _staff_released(cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.StaffReleased) -> None:
    key = (p.station_id, p.person_id, p.role)
    if key not in ctx.open_staff:
        raise ApplyError(
            f"staff.released：`person_id` {p.person_id} 在站点 {p.station_id} 没有在任的{p.role}职务"
            "（从未任命，或已经离任）；请核对人员编号、`role` 和站点"
        )
    await cur.execute(
        """UPDATE staff SET released_at = %s, release_reason = %s
           WHERE station_id = %s AND person_id = %s AND role = %s AND released_at IS NULL""",
        (env.occurred_at, p.reason, p.station_id, p.person_id, p.role),
    )
    ctx.open_staff.discard(key)


async def _staff_trained(cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.StaffTrained) -> None:
    # Trainees are not checked against open posts: the county that trains them publishes
    # on its own connection, so a township's staff change may reach the stream after it.
    _require_station(ctx, p.station_id, env)
    for person_id in sorted(set(p.person_ids)):
        await cur.execute(
            """INSERT INTO staff_trainings (training_id, station_id, person_id, trained_at, year,
                   organiser_level, topic, hours) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)
               ON CONFLICT (training_id, station_id, person_id) DO NOTHING""",
            (p.training_id, p.station_id, person_id, env.occurred_at, _local_year(env), p.organiser_level,
             p.topic, p.hours),
        )


async def _disclosure_published(
    cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.DisclosurePublished
) -> None:
    _require_station(ctx, p.station_id, env)
    for item in sorted(set(p.items)):
        await cur.execute(
            """INSERT INTO disclosures (station_id, item, published_at) VALUES (%s,%s,%s)
               ON CONFLICT (station_id, item) DO UPDATE SET published_at = EXCLUDED.published_at""",
            (p.station_id, item, env.occurred_at),
        )


async def _deputy_enrolled(cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.DeputyEnrolled) -> None:
    _require_station(ctx, p.station_id, env)
    await cur.execute(
        """INSERT INTO deputies (deputy_id, name, level, region_code, status, enrolled_at)
           VALUES (%s,%s,%s,%s,'active',%s)
           ON CONFLICT (deputy_id) DO UPDATE SET name = EXCLUDED.name, level = EXCLUDED.level,
               status = 'active', left_at = NULL""",
        (p.deputy_id, p.name, p.level, p.station_id.split("-")[0], env.occurred_at),
    )
    await cur.execute(
        """INSERT INTO enrolments (deputy_id, station_id, enrolled_at) VALUES (%s,%s,%s)
           ON CONFLICT (deputy_id, station_id) DO UPDATE SET enrolled_at = EXCLUDED.enrolled_at,
               left_at = NULL""",
        (p.deputy_id, p.station_id, env.occurred_at),
    )
    ctx.open_enrolments.add((p.deputy_id, p.station_id))


async def _deputy_left(cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.DeputyLeft) -> None:
    if (p.deputy_id, p.station_id) not in ctx.open_enrolments:
        raise ApplyError(
            f"deputy.left：`deputy_id` {p.deputy_id} 的代表目前没有进驻站点 {p.station_id}"
            "（从未进站，或已经离站）；请核对代表编号和站点"
        )
    await cur.execute(
        "UPDATE enrolments SET left_at=%s WHERE deputy_id=%s AND station_id=%s AND left_at IS NULL",
        (env.occurred_at, p.deputy_id, p.station_id),
    )
    ctx.open_enrolments.discard((p.deputy_id, p.station_id))
    await cur.execute(
        """UPDATE deputies SET status='left', left_at=%s WHERE deputy_id=%s AND NOT EXISTS
           (SELECT 1 FROM enrolments WHERE deputy_id=%s AND left_at IS NULL)""",
        (env.occurred_at, p.deputy_id, p.deputy_id),
    )


async def _visit_recorded(cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.VisitRecorded) -> None:
    _require_station(ctx, p.station_id, env)
    if p.visit_id in ctx.visits:
        # A second registration under the same id would be dropped unseen; refuse it instead.
        raise ApplyError(
            f"{env.type}：`visit_id` {p.visit_id} 的进站履职登记已经存在（另一个事件已用过这个编号）；"
            "如是同一次进站请勿重复登记，如是另一次请换一个编号后重新发布"
        )
    ctx.visits.add(p.visit_id)
    await cur.execute(
        """INSERT INTO visits (visit_id, event_id, deputy_id, station_id, visited_at, year, activity,
               mode, people_met) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)
           ON CONFLICT (visit_id) DO NOTHING""",
        (
            p.visit_id,
            env.event_id,
            p.deputy_id,
            p.station_id,
            env.occurred_at,
            env.occurred_at.year,
            p.activity,
            p.mode,
            p.people_met,
        ),
    )


async def _reception_planned(cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.ReceptionPlanned) -> None:
    _require_station(ctx, p.station_id, env)
    known = ctx.plans.get(p.plan_id)
    if known is not None and known != p.station_id:
        raise ApplyError(
            f"reception.planned：`plan_id` {p.plan_id} 已是站点 {known} 的接待活动方案，"
            f"不能再用于站点 {p.station_id}；请换一个方案编号"
        )
    # A revised plan replaces the earlier one whole.
    await cur.execute(
        """INSERT INTO reception_plans (plan_id, station_id, year, fixed_day, fixed_hour, planned_at)
           VALUES (%s,%s,%s,%s,%s,%s)
           ON CONFLICT (plan_id) DO UPDATE SET year=EXCLUDED.year, fixed_day=EXCLUDED.fixed_day,
               fixed_hour=EXCLUDED.fixed_hour, planned_at=EXCLUDED.planned_at""",
        (p.plan_id, p.station_id, p.year, p.fixed_day, p.fixed_hour, env.occurred_at),
    )
    await cur.execute("DELETE FROM reception_plan_items WHERE plan_id = %s", (p.plan_id,))
    for item in sorted(p.items, key=lambda i: i.month):
        await cur.execute(
            "INSERT INTO reception_plan_items (plan_id, month, theme, basis) VALUES (%s,%s,%s,%s)",
            (p.plan_id, item.month, item.theme, item.basis),
        )
    ctx.plans[p.plan_id] = p.station_id


async def _reception_scheduled(
    cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.ReceptionScheduled
) -> None:
    _require_station(ctx, p.station_id, env)
    if p.plan_id is not None and ctx.plans.get(p.plan_id) != p.station_id:
        raise ApplyError(
            f"reception.scheduled：`plan_id` {p.plan_id} 不是站点 {p.station_id} 的接待活动方案"
            "（没有收到该站点的这份 reception.planned）；请先发布 reception.planned，或核对方案编号"
        )
    await cur.execute(
        """INSERT INTO receptions (reception_id, station_id, theme, place, starts_at, announced_at,
               mode, status, plan_id, arranged_deputy_ids, arranged_units)
           VALUES (%s,%s,%s,%s,%s,%s,%s,'scheduled',%s,%s,%s)
           ON CONFLICT (reception_id) DO UPDATE SET theme=EXCLUDED.theme, place=EXCLUDED.place,
               starts_at=EXCLUDED.starts_at, announced_at=EXCLUDED.announced_at, mode=EXCLUDED.mode,
               plan_id=EXCLUDED.plan_id, arranged_deputy_ids=EXCLUDED.arranged_deputy_ids,
               arranged_units=EXCLUDED.arranged_units""",
        (p.reception_id, p.station_id, p.theme, p.place, p.starts_at, p.announced_at, p.mode,
         p.plan_id, list(p.deputy_ids), list(p.units)),
    )
    if p.reception_id not in ctx.receptions:
        ctx.receptions[p.reception_id] = ("scheduled", p.station_id)


_RECEPTION_ENDED = {"held": "举行", "cancelled": "取消"}
_RECEPTION_ACTION = {"held": "记为举行", "cancelled": "取消"}


def _reception_ends(
    ctx: BatchContext, reception_id: str, station_id: str, env: Envelope, outcome: str
) -> None:
    known = ctx.receptions.get(reception_id)
    if known is None or known[1] != station_id:
        raise ApplyError(
            f"{env.type}：`reception_id` {reception_id} 的接待活动从未在站点 {station_id} 安排过"
            "（没有收到 reception.scheduled）；请先发布 reception.scheduled，或核对接待编号"
        )
    if known[0] != "scheduled":
        raise ApplyError(
            f"{env.type}：`reception_id` {reception_id} 的接待活动已经{_RECEPTION_ENDED.get(known[0], known[0])}，"
            f"不能再{_RECEPTION_ACTION[outcome]}"
        )
    ctx.receptions[reception_id] = (outcome, station_id)


async def _reception_held(cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.ReceptionHeld) -> None:
    _reception_ends(ctx, p.reception_id, p.station_id, env, "held")
    await cur.execute(
        "UPDATE receptions SET status='held', attendees=%s, deputy_ids=%s WHERE reception_id=%s",
        (p.attendees, list(p.deputy_ids), p.reception_id),
    )


async def _reception_cancelled(
    cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.ReceptionCancelled
) -> None:
    _reception_ends(ctx, p.reception_id, p.station_id, env, "cancelled")
    await cur.execute(
        "UPDATE receptions SET status='cancelled', cancel_reason=%s WHERE reception_id=%s",
        (p.reason, p.reception_id),
    )


def _opinion_moves(ctx: BatchContext, p: ev.Payload, opinion_id: str, env: Envelope) -> str:
    known = ctx.opinions.get(opinion_id)
    if known and known[1] != p.station_id:
        raise ApplyError(
            f"{env.type}：`opinion_id` {opinion_id} 的意见属于站点 {known[1]}，不属于站点 {p.station_id}；"
            "请核对意见编号和站点"
        )
    try:
        state = next_state(known[0] if known else None, env.type)
    except IllegalTransition as exc:
        # "opinion.closed：`opinion_id` O-1 的意见当前为「已交办」（assigned），不能办理…"
        raise ApplyError(f"{env.type}：`opinion_id` {opinion_id} 的{exc}") from exc
    ctx.opinions[opinion_id] = (state, p.station_id)
    return state


async def _opinion_received(cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.OpinionReceived) -> None:
    _require_station(ctx, p.station_id, env)
    if p.consultation_id is not None:
        consultation = ctx.consultations.get(p.consultation_id)
        if consultation is None:
            raise ApplyError(
                f"opinion.received：`consultation_id` {p.consultation_id} 的征求意见活动从未开启"
                "（没有收到 consultation.opened）；请先发布 consultation.opened，或核对编号"
            )
        if consultation[0] != "open":
            raise ApplyError(
                f"opinion.received：`consultation_id` {p.consultation_id} 的征求意见活动已经结束，"
                "不能再收入意见；如是一般意见，请去掉 `consultation_id`"
            )
    state = _opinion_moves(ctx, p, p.opinion_id, env)
    citizen = p.citizen or ev.Citizen()
    await cur.execute(
        """INSERT INTO opinions (opinion_id, station_id, received_at, category, content, channel,
               citizen_name, citizen_phone, citizen_address, deputy_id, status, updated_at,
               consultation_id)
           VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)""",
        (
            p.opinion_id,
            p.station_id,
            env.occurred_at,
            p.category,
            mask_text(p.content),
            p.channel,
            mask_name(citizen.name),
            mask_phone(citizen.phone),
            mask_address(citizen.address),
            p.deputy_id,
            state,
            env.occurred_at,
            p.consultation_id,
        ),
    )


def _local_day(env: Envelope) -> date:
    return env.occurred_at.astimezone(CHINA).date()


def _local_year(env: Envelope) -> int:
    return _local_day(env).year


async def _opinion_step(cur: Cursor, ctx: BatchContext, env: Envelope, p: Any) -> None:
    if isinstance(p, ev.OpinionAssigned) and p.deadline < _local_day(env):
        raise ApplyError(
            f"opinion.assigned：`opinion_id` {p.opinion_id} 的办理期限 `deadline` {p.deadline} "
            f"早于交办当天（{_local_day(env)}，北京时间）；请改正办理期限"
        )
    state = _opinion_moves(ctx, p, p.opinion_id, env)
    sets = ["status = %s", "updated_at = %s"]
    values: list[Any] = [state, env.occurred_at]
    if isinstance(p, ev.OpinionAnswered):
        sets.append("outcome = 'answered'")
    elif isinstance(p, ev.OpinionRedirected):
        sets += ["outcome = 'redirected'", "legal_channel = %s"]
        values.append(p.channel)
    elif isinstance(p, ev.OpinionAssigned):
        sets += ["outcome = 'assigned'", "assigned_level = %s", "assigned_unit = %s", "deadline = %s",
                 "assigned_at = %s"]
        values += [p.level, p.unit, p.deadline, env.occurred_at]
    elif isinstance(p, ev.OpinionSupervised):
        sets.append("supervisions = supervisions + 1")
    elif isinstance(p, ev.OpinionFeedbackGiven):
        sets += ["satisfaction = %s", "feedback_at = %s"]
        values += [p.satisfaction, env.occurred_at]
    elif isinstance(p, ev.OpinionReported):
        sets += ["reported_at = %s", "reported_to = %s"]
        values += [env.occurred_at, p.to_level]
    elif isinstance(p, ev.OpinionClosed):
        sets.append("closed_at = %s")
        values.append(env.occurred_at)
    await cur.execute(f"UPDATE opinions SET {', '.join(sets)} WHERE opinion_id = %s", (*values, p.opinion_id))


# --- Arts. 13, 16-24: facts recorded at a station ------------------------------------------


async def _consultation_opened(
    cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.ConsultationOpened
) -> None:
    _require_station(ctx, p.station_id, env)
    if p.consultation_id in ctx.consultations:
        raise ApplyError(
            f"consultation.opened：`consultation_id` {p.consultation_id} 已经开启过；新的征求意见活动请换一个编号"
        )
    await cur.execute(
        """INSERT INTO consultations (consultation_id, station_id, subject, title, organiser,
               organiser_level, mode, opened_at, closes_on, status)
           VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,'open')""",
        (p.consultation_id, p.station_id, p.subject, p.title, p.organiser, p.organiser_level, p.mode,
         env.occurred_at, p.closes_on),
    )
    ctx.consultations[p.consultation_id] = ("open", p.station_id)


async def _consultation_concluded(
    cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.ConsultationConcluded
) -> None:
    known = ctx.consultations.get(p.consultation_id)
    if known is None or known[1] != p.station_id:
        raise ApplyError(
            f"consultation.concluded：`consultation_id` {p.consultation_id} 的征求意见活动从未在站点 "
            f"{p.station_id} 开启（没有收到 consultation.opened）；请先发布 consultation.opened，或核对编号"
        )
    if known[0] != "open":
        raise ApplyError(
            f"consultation.concluded：`consultation_id` {p.consultation_id} 的征求意见活动已经结束，不能重复结束"
        )
    await cur.execute(
        """UPDATE consultations SET status='concluded', concluded_at=%s, opinions_collected=%s,
               adopted=%s, summary=%s WHERE consultation_id=%s""",
        (env.occurred_at, p.opinions_collected, p.adopted, p.summary, p.consultation_id),
    )
    ctx.consultations[p.consultation_id] = ("concluded", p.station_id)


async def _contact_held(cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.ContactHeld) -> None:
    _require_station(ctx, p.station_id, env)
    await cur.execute(
        """INSERT INTO contacts (contact_id, station_id, held_at, body, unit, official_title, purposes,
               deputy_ids, mode, people_met) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)
           ON CONFLICT (contact_id) DO NOTHING""",
        (p.contact_id, p.station_id, env.occurred_at, p.body, p.unit, p.official_title, list(p.purposes),
         list(p.deputy_ids), p.mode, p.people_met),
    )


async def _agency_staff_stationed(
    cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.AgencyStaffStationed
) -> None:
    _require_station(ctx, p.station_id, env)
    await cur.execute(
        """INSERT INTO agency_services (service_id, station_id, body, unit, service, staff_count,
               starts_on, ends_on, schedule, recorded_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)
           ON CONFLICT (service_id) DO UPDATE SET staff_count=EXCLUDED.staff_count,
               ends_on=EXCLUDED.ends_on, schedule=EXCLUDED.schedule, recorded_at=EXCLUDED.recorded_at""",
        (p.service_id, p.station_id, p.body, p.unit, p.service, p.staff_count, p.starts_on, p.ends_on,
         p.schedule, env.occurred_at),
    )


async def _activity_held(cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.ActivityHeld) -> None:
    _require_station(ctx, p.station_id, env)
    await cur.execute(
        """INSERT INTO activities (activity_id, station_id, held_at, year, kind, topic, organiser_level,
               deputy_ids, participants, mode, project) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)
           ON CONFLICT (activity_id) DO NOTHING""",
        (p.activity_id, p.station_id, env.occurred_at, _local_year(env), p.kind, p.topic,
         p.organiser_level, list(p.deputy_ids), p.participants, p.mode, p.project),
    )


async def _lead_collected(cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.LeadCollected) -> None:
    _require_station(ctx, p.station_id, env)
    await cur.execute(
        """INSERT INTO proposal_leads (lead_id, station_id, deputy_id, collected_at, category, summary,
               source) VALUES (%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (lead_id) DO NOTHING""",
        (p.lead_id, p.station_id, p.deputy_id, env.occurred_at, p.category, p.summary, p.source),
    )


async def _report_heard(cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.DeputyReportHeard) -> None:
    _require_station(ctx, p.station_id, env)
    if p.report_id in ctx.reports:
        raise ApplyError(
            f"deputy.report_heard：`report_id` {p.report_id} 的述职已经记录过；另一次述职请换一个编号"
        )
    await cur.execute(
        """INSERT INTO voter_reports (report_id, station_id, deputy_id, held_at, voters, mode)
           VALUES (%s,%s,%s,%s,%s,%s)""",
        (p.report_id, p.station_id, p.deputy_id, env.occurred_at, p.voters, p.mode),
    )
    ctx.reports[p.report_id] = (p.deputy_id, p.station_id)


async def _deputy_evaluated(cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.DeputyEvaluated) -> None:
    _require_station(ctx, p.station_id, env)
    if p.report_id is not None:
        report = ctx.reports.get(p.report_id)
        if report is None or report[1] != p.station_id:
            raise ApplyError(
                f"deputy.evaluated：`report_id` {p.report_id} 的述职在站点 {p.station_id} 没有记录"
                "（没有收到 deputy.report_heard）；请先发布 deputy.report_heard，或核对述职编号"
            )
        if report[0] != p.deputy_id:
            raise ApplyError(
                f"deputy.evaluated：`report_id` {p.report_id} 是代表 {report[0]} 的述职，"
                f"不是 `deputy_id` {p.deputy_id} 的；请核对述职编号和代表编号"
            )
    await cur.execute(
        """INSERT INTO evaluations (evaluation_id, station_id, deputy_id, report_id, evaluated_at, rating,
               voters) VALUES (%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (evaluation_id) DO NOTHING""",
        (p.evaluation_id, p.station_id, p.deputy_id, p.report_id, env.occurred_at, p.rating, p.voters),
    )


async def _budget_allocated(cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.BudgetAllocated) -> None:
    _require_station(ctx, p.station_id, env)
    await cur.execute(
        """INSERT INTO budgets (budget_id, station_id, year, fiscal_level, purpose, amount_yuan,
               allocated_at) VALUES (%s,%s,%s,%s,%s,%s,%s)
           ON CONFLICT (budget_id) DO UPDATE SET amount_yuan=EXCLUDED.amount_yuan,
               allocated_at=EXCLUDED.allocated_at""",
        (p.budget_id, p.station_id, p.year, p.fiscal_level, p.purpose, p.amount_yuan, env.occurred_at),
    )


async def _service_purchased(cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.ServicePurchased) -> None:
    _require_station(ctx, p.station_id, env)
    await cur.execute(
        """INSERT INTO purchased_services (contract_id, station_id, provider, provider_kind, service,
               amount_yuan, starts_on, ends_on, signed_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)
           ON CONFLICT (contract_id) DO NOTHING""",
        (p.contract_id, p.station_id, p.provider, p.provider_kind, p.service, p.amount_yuan, p.starts_on,
         p.ends_on, env.occurred_at),
    )


async def _station_assessed(cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.StationAssessed) -> None:
    _require_station(ctx, p.station_id, env)
    await cur.execute(
        """INSERT INTO assessments (assessment_id, station_id, year, assessor_level, score, grade,
               assessed_at) VALUES (%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (assessment_id) DO NOTHING""",
        (p.assessment_id, p.station_id, p.year, p.assessor_level, p.score, p.grade, env.occurred_at),
    )


async def _station_commended(cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.StationCommended) -> None:
    _require_station(ctx, p.station_id, env)
    await cur.execute(
        """INSERT INTO commendations (commendation_id, station_id, year, title, awarded_by, awarded_at)
           VALUES (%s,%s,%s,%s,%s,%s) ON CONFLICT (commendation_id) DO NOTHING""",
        (p.commendation_id, p.station_id, p.year, p.title, p.awarded_by, env.occurred_at),
    )


Handler = Callable[[Cursor, BatchContext, Envelope, Any], Awaitable[None]]

HANDLERS: dict[type[ev.Payload], Handler] = {
    ev.StationEstablished: _station_established,
    ev.StationRelocated: _station_relocated,
    ev.SignageInstalled: _signage_installed,
    ev.StationClosed: _station_closed,
    ev.StaffAssigned: _staff_assigned,
    ev.StaffReleased: _staff_released,
    ev.StaffTrained: _staff_trained,
    ev.DisclosurePublished: _disclosure_published,
    ev.DeputyEnrolled: _deputy_enrolled,
    ev.DeputyLeft: _deputy_left,
    ev.VisitRecorded: _visit_recorded,
    ev.DeputyReportHeard: _report_heard,
    ev.DeputyEvaluated: _deputy_evaluated,
    ev.ContactHeld: _contact_held,
    ev.AgencyStaffStationed: _agency_staff_stationed,
    ev.ReceptionPlanned: _reception_planned,
    ev.ReceptionScheduled: _reception_scheduled,
    ev.ReceptionHeld: _reception_held,
    ev.ReceptionCancelled: _reception_cancelled,
    ev.OpinionReceived: _opinion_received,
    ev.OpinionAnswered: _opinion_step,
    ev.OpinionRedirected: _opinion_step,
    ev.OpinionAssigned: _opinion_step,
    ev.OpinionSupervised: _opinion_step,
    ev.OpinionFeedbackGiven: _opinion_step,
    ev.OpinionReported: _opinion_step,
    ev.OpinionClosed: _opinion_step,
    ev.ConsultationOpened: _consultation_opened,
    ev.ConsultationConcluded: _consultation_concluded,
    ev.ActivityHeld: _activity_held,
    ev.LeadCollected: _lead_collected,
    ev.BudgetAllocated: _budget_allocated,
    ev.ServicePurchased: _service_purchased,
    ev.StationAssessed: _station_assessed,
    ev.StationCommended: _station_commended,
}
# Every payload type has its handler (checked at import, so a new event cannot be forgotten).
if set(HANDLERS) != set(ev.PAYLOAD_TYPES):
    raise RuntimeError(f"no projection handler for {set(ev.PAYLOAD_TYPES) - set(HANDLERS)}")


async def archive(cur: Cursor, ctx: BatchContext, env: Envelope, stream_seq: int, subject: str) -> None:
    """Append an applied event to the archive."""
    ctx.archived.add(env.event_id)
    payload = mask_payload(msgspec.to_builtins(env.payload))
    await cur.execute(
        """INSERT INTO event_archive (event_id, stream_seq, subject, type, schema_version, origin,
               actor, occurred_at, recorded_at, correlation_id, causation_id, payload)
           VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING""",
        (
            env.event_id,
            stream_seq,
            subject,
            env.type,
            env.schema_version,
            env.origin,
            env.actor,
            env.occurred_at,
            env.recorded_at,
            env.correlation_id,
            env.causation_id,
            msgspec.json.encode(payload).decode(),
        ),
    )


async def apply(cur: Cursor, ctx: BatchContext, env: Envelope) -> None:
    await HANDLERS[type(env.payload)](cur, ctx, env, env.payload)
