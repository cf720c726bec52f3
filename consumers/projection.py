"""How each event changes the projection tables.

Handlers read nothing from the database: what they check (does the station
exist, which state is an opinion in) comes from a BatchContext loaded once
per batch and kept current as the batch is applied. So their writes can be
pipelined, and a refused event (ApplyError) has written nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from psycopg import AsyncCursor

from consumers.privacy import mask_address, mask_name, mask_payload, mask_phone
from schemas import events as ev
from schemas.envelope import Envelope
from schemas.workflow import IllegalTransition, next_state

Cursor = AsyncCursor[Any]


class ApplyError(ValueError):
    """The event is valid but cannot be applied to the current state."""


@dataclass
class BatchContext:
    """The state a batch's checks need, read once and kept current while applying."""

    stations: set[str] = field(default_factory=set)
    opinions: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (status, station)
    receptions: dict[str, tuple[str, str]] = field(default_factory=dict)
    open_staff: set[tuple[str, str, str]] = field(default_factory=set)
    open_enrolments: set[tuple[str, str]] = field(default_factory=set)
    archived: set[str] = field(default_factory=set)


def _ids(envs: Sequence[Envelope], attr: str) -> list[str]:
    return sorted({str(getattr(e.payload, attr)) for e in envs if hasattr(e.payload, attr)})


async def load_context(cur: Cursor, envs: Sequence[Envelope]) -> BatchContext:
    ctx = BatchContext()
    stations = sorted(
        {e.payload.station_id for e in envs}
        | {p for e in envs if (p := getattr(e.payload, "parent_station_id", None))}
    )
    await cur.execute("SELECT station_id FROM stations WHERE station_id = ANY(%s)", (stations,))
    ctx.stations = {r[0] for r in await cur.fetchall()}
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
    return ctx


def _require_station(ctx: BatchContext, station_id: str, env: Envelope) -> None:
    if station_id not in ctx.stations:
        raise ApplyError(f"unknown station `{station_id}` in {env.type}: establish it first")


async def _station_established(
    cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.StationEstablished
) -> None:
    if p.parent_station_id is not None:
        _require_station(ctx, p.parent_station_id, env)
    await cur.execute(
        """INSERT INTO stations (station_id, name, level, region_code, parent_station_id, address,
               ground_floor, functional_areas, status, established_at, last_event_id)
           VALUES (%s,%s,%s,%s,%s,%s,%s,%s,'open',%s,%s)
           ON CONFLICT (station_id) DO UPDATE SET name = EXCLUDED.name, address = EXCLUDED.address,
               ground_floor = EXCLUDED.ground_floor, functional_areas = EXCLUDED.functional_areas,
               status = 'open', closed_at = NULL, last_event_id = EXCLUDED.last_event_id""",
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
        ),
    )
    ctx.stations.add(p.station_id)


async def _station_closed(cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.StationClosed) -> None:
    _require_station(ctx, p.station_id, env)
    await cur.execute(
        "UPDATE stations SET status='closed', closed_at=%s, last_event_id=%s WHERE station_id=%s",
        (env.occurred_at, env.event_id, p.station_id),
    )


async def _staff_assigned(cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.StaffAssigned) -> None:
    _require_station(ctx, p.station_id, env)
    await cur.execute(
        """INSERT INTO staff (station_id, person_id, role, name, assigned_at) VALUES (%s,%s,%s,%s,%s)
           ON CONFLICT (station_id, person_id, role)
           DO UPDATE SET name = EXCLUDED.name, assigned_at = EXCLUDED.assigned_at, released_at = NULL""",
        (p.station_id, p.person_id, p.role, p.name, env.occurred_at),
    )
    ctx.open_staff.add((p.station_id, p.person_id, p.role))


async def _staff_released(cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.StaffReleased) -> None:
    key = (p.station_id, p.person_id, p.role)
    if key not in ctx.open_staff:
        raise ApplyError(
            f"staff.released: `person_id` {p.person_id} holds no {p.role} post at {p.station_id}"
        )
    await cur.execute(
        """UPDATE staff SET released_at = %s
           WHERE station_id = %s AND person_id = %s AND role = %s AND released_at IS NULL""",
        (env.occurred_at, p.station_id, p.person_id, p.role),
    )
    ctx.open_staff.discard(key)


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
        raise ApplyError(f"deputy.left: `deputy_id` {p.deputy_id} is not enrolled at {p.station_id}")
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


async def _reception_scheduled(
    cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.ReceptionScheduled
) -> None:
    _require_station(ctx, p.station_id, env)
    await cur.execute(
        """INSERT INTO receptions (reception_id, station_id, theme, place, starts_at, announced_at,
               mode, status) VALUES (%s,%s,%s,%s,%s,%s,%s,'scheduled')
           ON CONFLICT (reception_id) DO UPDATE SET theme=EXCLUDED.theme, place=EXCLUDED.place,
               starts_at=EXCLUDED.starts_at, announced_at=EXCLUDED.announced_at, mode=EXCLUDED.mode""",
        (p.reception_id, p.station_id, p.theme, p.place, p.starts_at, p.announced_at, p.mode),
    )
    if p.reception_id not in ctx.receptions:
        ctx.receptions[p.reception_id] = ("scheduled", p.station_id)


def _reception_ends(
    ctx: BatchContext, reception_id: str, station_id: str, env: Envelope, outcome: str
) -> None:
    known = ctx.receptions.get(reception_id)
    if known is None or known[1] != station_id:
        raise ApplyError(f"{env.type}: `reception_id` {reception_id} was never scheduled at {station_id}")
    if known[0] != "scheduled":
        raise ApplyError(f"{env.type}: reception {reception_id} is already {known[0]}")
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
            f"{env.type}: opinion {opinion_id} belongs to station {known[1]}, not {p.station_id}"
        )
    try:
        state = next_state(known[0] if known else None, env.type)
    except IllegalTransition as exc:
        raise ApplyError(f"{env.type} `opinion_id` {opinion_id}: {exc}") from exc
    ctx.opinions[opinion_id] = (state, p.station_id)
    return state


async def _opinion_received(cur: Cursor, ctx: BatchContext, env: Envelope, p: ev.OpinionReceived) -> None:
    _require_station(ctx, p.station_id, env)
    state = _opinion_moves(ctx, p, p.opinion_id, env)
    citizen = p.citizen or ev.Citizen()
    await cur.execute(
        """INSERT INTO opinions (opinion_id, station_id, received_at, category, content, channel,
               citizen_name, citizen_phone, citizen_address, deputy_id, status, updated_at)
           VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)""",
        (
            p.opinion_id,
            p.station_id,
            env.occurred_at,
            p.category,
            p.content,
            p.channel,
            mask_name(citizen.name),
            mask_phone(citizen.phone),
            mask_address(citizen.address),
            p.deputy_id,
            state,
            env.occurred_at,
        ),
    )


async def _opinion_step(cur: Cursor, ctx: BatchContext, env: Envelope, p: Any) -> None:
    state = _opinion_moves(ctx, p, p.opinion_id, env)
    sets = ["status = %s", "updated_at = %s"]
    values: list[Any] = [state, env.occurred_at]
    if isinstance(p, ev.OpinionAnswered):
        sets.append("outcome = 'answered'")
    elif isinstance(p, ev.OpinionRedirected):
        sets += ["outcome = 'redirected'", "legal_channel = %s"]
        values.append(p.channel)
    elif isinstance(p, ev.OpinionAssigned):
        sets += ["outcome = 'assigned'", "assigned_level = %s", "assigned_unit = %s", "deadline = %s"]
        values += [p.level, p.unit, p.deadline]
    elif isinstance(p, ev.OpinionFeedbackGiven):
        sets.append("satisfaction = %s")
        values.append(p.satisfaction)
    await cur.execute(f"UPDATE opinions SET {', '.join(sets)} WHERE opinion_id = %s", (*values, p.opinion_id))


Handler = Callable[[Cursor, BatchContext, Envelope, Any], Awaitable[None]]

HANDLERS: dict[type[ev.Payload], Handler] = {
    ev.StationEstablished: _station_established,
    ev.StationClosed: _station_closed,
    ev.StaffAssigned: _staff_assigned,
    ev.StaffReleased: _staff_released,
    ev.DisclosurePublished: _disclosure_published,
    ev.DeputyEnrolled: _deputy_enrolled,
    ev.DeputyLeft: _deputy_left,
    ev.VisitRecorded: _visit_recorded,
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
}


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
