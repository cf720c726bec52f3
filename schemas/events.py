"""Event payloads: one msgspec Struct per fact, a tagged union over all of them.

The ``type`` tag is ``<category>.<verb>``; it is also the last two subject
tokens. Checks that span fields raise ValueError naming the field, which
msgspec reports as a ValidationError at ``$.payload``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, get_args

import msgspec

from schemas.regions import (
    NODE_CODE_PATTERN,
    STATION_ID_PATTERN,
    node_level,
    station_parent,
    station_region,
)

NodeCode = Annotated[str, msgspec.Meta(pattern=NODE_CODE_PATTERN, description="region code")]
StationId = Annotated[str, msgspec.Meta(pattern=STATION_ID_PATTERN, description="station id")]
Ident = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
TzDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
Count = Annotated[int, msgspec.Meta(ge=0, le=100_000)]

StationLevel = Literal["总站", "中心站", "联络站", "联络点"]
FunctionalArea = Literal["办公", "接待", "展示"]
StaffRole = Literal["站长", "副站长", "联络员"]
DeputyLevel = Literal["national", "provincial", "city", "county", "township"]
# Art. 11: the six items a station must disclose.
DisclosureItem = Literal["deputies", "staff", "rules_and_plan", "opinion_process", "app_usage", "other"]
DISCLOSURE_ITEMS: tuple[str, ...] = get_args(DisclosureItem)
VisitActivity = Literal[
    "daily_contact",
    "themed_reception",
    "consultation",
    "inspection",
    "survey",
    "grid_service",
    "law_promotion",
    "study_session",
    "report_to_voters",
]
Mode = Literal["on_site", "online"]
LegalChannel = Literal["litigation", "arbitration", "administrative_review"]
AssignLevel = Literal["city", "county", "township"]
Satisfaction = Literal["satisfied", "basically_satisfied", "unsatisfied"]

_STATION_LEVEL_DIGITS = {"总站": 4, "中心站": 6, "联络站": 9}


class Payload(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type"):
    """Base of every payload; the subclass tag is the event type."""

    station_id: StationId


# --- Art. 7-9: stations, liaison points, staff -------------------------------


class StationEstablished(Payload, frozen=True, tag="station.established"):
    name: ShortText
    level: StationLevel
    region_code: NodeCode
    address: ShortText
    ground_floor: bool
    functional_areas: list[FunctionalArea]
    parent_station_id: StationId | None = None

    def __post_init__(self) -> None:
        if station_region(self.station_id) != self.region_code:
            raise ValueError(
                f"`station_id` {self.station_id} must nest under `region_code` {self.region_code}"
            )
        point_parent = station_parent(self.station_id)
        if self.level == "联络点":
            if point_parent is None or self.parent_station_id != point_parent:
                raise ValueError("`parent_station_id` of a 联络点 must be the station its id nests under")
            return
        if point_parent is not None:
            raise ValueError(f"`station_id` {self.station_id} is a liaison-point id, level is {self.level}")
        if len(self.region_code) != _STATION_LEVEL_DIGITS[self.level]:
            raise ValueError(
                f"`region_code` {self.region_code} has the wrong length for a {self.level} "
                f"(needs {_STATION_LEVEL_DIGITS[self.level]} digits)"
            )
        if self.parent_station_id is not None:
            parent_region = station_region(self.parent_station_id)
            if not self.region_code.startswith(parent_region) or parent_region == self.region_code:
                raise ValueError(
                    f"`parent_station_id` {self.parent_station_id} is not above region {self.region_code}"
                )
        node_level(self.region_code)


class StationClosed(Payload, frozen=True, tag="station.closed"):
    reason: ShortText


class StaffAssigned(Payload, frozen=True, tag="staff.assigned"):
    person_id: Ident
    name: ShortText
    role: StaffRole


class StaffReleased(Payload, frozen=True, tag="staff.released"):
    person_id: Ident
    role: StaffRole


# --- Art. 11: disclosure ------------------------------------------------------


class DisclosurePublished(Payload, frozen=True, tag="disclosure.published"):
    items: Annotated[list[DisclosureItem], msgspec.Meta(min_length=1)]


# --- Art. 12, 20: deputies and their visits -----------------------------------


class DeputyEnrolled(Payload, frozen=True, tag="deputy.enrolled"):
    deputy_id: Ident
    name: ShortText
    level: DeputyLevel


class DeputyLeft(Payload, frozen=True, tag="deputy.left"):
    deputy_id: Ident
    reason: ShortText


class VisitRecorded(Payload, frozen=True, tag="visit.recorded"):
    visit_id: Ident
    deputy_id: Ident
    activity: VisitActivity
    mode: Mode
    people_met: Count


# --- Art. 14: themed receptions -------------------------------------------------


class ReceptionScheduled(Payload, frozen=True, tag="reception.scheduled"):
    reception_id: Ident
    theme: ShortText
    place: ShortText
    starts_at: TzDatetime
    announced_at: TzDatetime
    mode: Mode


class ReceptionHeld(Payload, frozen=True, tag="reception.held"):
    reception_id: Ident
    deputy_ids: list[Ident]
    attendees: Count


class ReceptionCancelled(Payload, frozen=True, tag="reception.cancelled"):
    reception_id: Ident
    reason: ShortText


# --- Art. 15: opinions ------------------------------------------------------------


class Citizen(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Personal information: masked before it is stored, never shared."""

    name: ShortText | None = None
    phone: Annotated[str, msgspec.Meta(pattern=r"^[0-9+\- ]{5,20}$")] | None = None
    address: ShortText | None = None


class OpinionReceived(Payload, frozen=True, tag="opinion.received"):
    opinion_id: Ident
    category: ShortText
    content: Text
    channel: Literal["on_site", "online", "reception", "grid"]
    citizen: Citizen | None = None
    deputy_id: Ident | None = None


class OpinionAnswered(Payload, frozen=True, tag="opinion.answered"):
    opinion_id: Ident
    answer: Text


class OpinionRedirected(Payload, frozen=True, tag="opinion.redirected"):
    """An item to be settled by litigation, arbitration or administrative review."""

    opinion_id: Ident
    channel: LegalChannel


class OpinionAssigned(Payload, frozen=True, tag="opinion.assigned"):
    opinion_id: Ident
    level: AssignLevel
    unit: ShortText
    deadline: date


class OpinionSupervised(Payload, frozen=True, tag="opinion.supervised"):
    opinion_id: Ident
    note: ShortText


class OpinionFeedbackGiven(Payload, frozen=True, tag="opinion.feedback_given"):
    opinion_id: Ident
    feedback: Text
    satisfaction: Satisfaction


class OpinionReported(Payload, frozen=True, tag="opinion.reported"):
    opinion_id: Ident
    to_level: AssignLevel


class OpinionClosed(Payload, frozen=True, tag="opinion.closed"):
    opinion_id: Ident


AnyPayload = (
    StationEstablished
    | StationClosed
    | StaffAssigned
    | StaffReleased
    | DisclosurePublished
    | DeputyEnrolled
    | DeputyLeft
    | VisitRecorded
    | ReceptionScheduled
    | ReceptionHeld
    | ReceptionCancelled
    | OpinionReceived
    | OpinionAnswered
    | OpinionRedirected
    | OpinionAssigned
    | OpinionSupervised
    | OpinionFeedbackGiven
    | OpinionReported
    | OpinionClosed
)

PAYLOAD_TYPES: tuple[type[Payload], ...] = get_args(AnyPayload)


def event_type_of(payload_cls: type[Payload]) -> str:
    tag = payload_cls.__struct_config__.tag
    assert isinstance(tag, str)
    return tag


EVENT_TYPES: tuple[str, ...] = tuple(event_type_of(t) for t in PAYLOAD_TYPES)
