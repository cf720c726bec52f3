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
# Art. 7: liaison points may sit in enterprises, public institutions, villages, communities, buildings.
PointHost = Literal["enterprise", "institution", "village", "community", "building"]
# Art. 8: signs and boards; their layout follows the city committee's specification.
SignageItem = Literal["门牌", "标识牌", "指引牌", "公示栏", "代表风采栏", "接待须知"]
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
    "enforcement_check",
    "project_supervision",
    "official_contact",
]
Mode = Literal["on_site", "online"]
LegalChannel = Literal["litigation", "arbitration", "administrative_review"]
AssignLevel = Literal["city", "county", "township"]
Satisfaction = Literal["satisfied", "basically_satisfied", "unsatisfied"]
Level = AssignLevel
# Art. 4, 13: the bodies whose officials contact deputies and people at a station.
Body = Literal[
    "standing_committee",  # 人大常委会（组成人员联系本级代表）
    "government",  # 人民政府
    "government_department",  # 人民政府有关部门
    "supervision_commission",  # 监察委员会
    "court",  # 人民法院
    "procuratorate",  # 人民检察院
    "township_government",  # 乡（镇）人民政府
    "street_office",  # 街道办事处
]
ContactPurpose = Literal["member_contact", "consultation", "hear_opinions", "proposal_feedback"]
# Art. 16: the matters on which state organs hear deputies and people at a station.
ConsultationSubject = Literal[
    "legislation_plan",
    "local_regulation",
    "government_rule",
    "post_legislative_review",
    "supervision_plan",
    "special_work_report",
    "enforcement_inspection",
    "livelihood_project",
    "major_policy",
    "major_plan",
    "other",
]
# Arts. 17-19: activities organised at a station.
ActivityKind = Literal[
    "inspection",  # 视察
    "survey",  # 专项调研
    "enforcement_check",  # 执法检查
    "livelihood_project_supervision",  # 民生实事项目监督
    "major_project_supervision",  # 重大建设工程项目监督
    "grid_service",  # 城乡网格化服务
    "law_promotion",  # 宣传宪法、法律、法规和重大方针政策
    "study_session",  # 专题学习
    "experience_exchange",  # 交流履职经验
]
LeadSource = Literal["grid_service", "law_promotion", "themed_reception", "daily_contact"]
Rating = Literal["excellent", "competent", "basically_competent", "incompetent"]
ProviderKind = Literal["university", "research_institute", "law_firm", "other"]
Grade = Literal["优秀", "良好", "合格", "不合格"]
Yuan = Annotated[int, msgspec.Meta(ge=0, le=100_000_000, description="amount in yuan")]
Year = Annotated[int, msgspec.Meta(ge=2000, le=2100)]

_STATION_LEVEL_DIGITS = {"总站": 4, "中心站": 6, "联络站": 9}
# In the messages people read: the level of a region code, by its number of digits.
_REGION_KIND = {4: "市级", 6: "县级", 9: "乡镇（街道）级"}


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
    host_kind: PointHost | None = None  # only for a 联络点 (Art. 7)

    def __post_init__(self) -> None:
        # Messages start with the field they blame (schemas/envelope.py reads it from there).
        if self.host_kind is not None and self.level != "联络点":
            raise ValueError(
                f"`host_kind`（联络点所在单位类型）只适用于联络点，本事件的 `level` 是 {self.level}："
                "请删去 `host_kind`，或核对 `level`"
            )
        if station_region(self.station_id) != self.region_code:
            raise ValueError(
                f"`station_id` {self.station_id} 不在 `region_code` {self.region_code} 之下："
                f"站点编号应以所属区划代码开头（如 {self.region_code}-01），请核对两者"
            )
        point_parent = station_parent(self.station_id)
        if self.level == "联络点":
            if point_parent is None:
                raise ValueError(
                    f"`parent_station_id` 无法对应：`level` 为 联络点，但 `station_id` {self.station_id} "
                    f"不是联络点编号（联络点编号是所属站点编号后加两位，如 {self.station_id}-01）"
                )
            if self.parent_station_id != point_parent:
                raise ValueError(
                    f"`parent_station_id` 应为 {point_parent}（联络点 {self.station_id} 编号所属的站点），"
                    f"实际为 {self.parent_station_id or '空'}"
                )
            return
        if point_parent is not None:
            raise ValueError(
                f"`station_id` {self.station_id} 是联络点编号，但 `level` 为 {self.level}："
                f"联络点请把 `level` 设为 联络点，否则请使用站点编号（如 {point_parent}）"
            )
        digits = _STATION_LEVEL_DIGITS[self.level]
        if len(self.region_code) != digits:
            raise ValueError(
                f"`region_code` {self.region_code} 是{_REGION_KIND.get(len(self.region_code), '')}区划代码，"
                f"与 `level` {self.level} 不符：{self.level}应使用 {digits} 位的{_REGION_KIND[digits]}区划代码"
            )
        if self.parent_station_id is not None:
            parent_region = station_region(self.parent_station_id)
            if not self.region_code.startswith(parent_region) or parent_region == self.region_code:
                raise ValueError(
                    f"`parent_station_id` {self.parent_station_id} 不是上级站点：它的区划 {parent_region} "
                    f"不在本站区划 `region_code` {self.region_code} 之上（上级站点应属于上一级区划）"
                )
        node_level(self.region_code)


class StationRelocated(Payload, frozen=True, tag="station.relocated"):
    """Art. 8: new premises (convenient, ground floor, functional areas)."""

    address: ShortText
    ground_floor: bool
    functional_areas: list[FunctionalArea]
    reason: ShortText


class SignageInstalled(Payload, frozen=True, tag="station.signage_installed"):
    """Art. 8: signs and boards put up, and whether they follow the city's specification."""

    items: Annotated[list[SignageItem], msgspec.Meta(min_length=1)]
    conforms_to_spec: bool


class StationClosed(Payload, frozen=True, tag="station.closed"):
    reason: ShortText


class StaffAssigned(Payload, frozen=True, tag="staff.assigned"):
    person_id: Ident
    name: ShortText
    role: StaffRole
    # Art. 9: the post the person holds besides (e.g. 镇人大主席 as 站长).
    position: ShortText | None = None


class StaffReleased(Payload, frozen=True, tag="staff.released"):
    person_id: Ident
    role: StaffRole
    reason: ShortText | None = None


class StaffTrained(Payload, frozen=True, tag="staff.trained"):
    """Art. 22: a station's staff took part in a training."""

    training_id: Ident
    person_ids: Annotated[list[Ident], msgspec.Meta(min_length=1)]
    organiser_level: Level
    topic: ShortText
    hours: Annotated[int, msgspec.Meta(ge=1, le=200)]


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


class DeputyReportHeard(Payload, frozen=True, tag="deputy.report_heard"):
    """Art. 20: voters heard a deputy report on their work (述职)."""

    report_id: Ident
    deputy_id: Ident
    voters: Annotated[int, msgspec.Meta(ge=1, le=100_000)]
    mode: Mode


class DeputyEvaluated(Payload, frozen=True, tag="deputy.evaluated"):
    """Art. 20: voters' evaluation (评议) of a deputy, usually after a report."""

    evaluation_id: Ident
    deputy_id: Ident
    rating: Rating
    voters: Annotated[int, msgspec.Meta(ge=1, le=100_000)]
    report_id: Ident | None = None


# --- Art. 13: officials at the station --------------------------------------------


class ContactHeld(Payload, frozen=True, tag="contact.held"):
    """Committee members or officials met deputies (and people) at the station."""

    contact_id: Ident
    body: Body
    unit: ShortText
    official_title: ShortText
    purposes: Annotated[list[ContactPurpose], msgspec.Meta(min_length=1)]
    deputy_ids: Annotated[list[Ident], msgspec.Meta(min_length=1)]
    mode: Mode
    people_met: Count


class AgencyStaffStationed(Payload, frozen=True, tag="agency.staff_stationed"):
    """A state organ sends staff in to give professional services at the station."""

    service_id: Ident
    body: Body
    unit: ShortText
    service: ShortText
    staff_count: Annotated[int, msgspec.Meta(ge=1, le=100)]
    starts_on: date
    schedule: ShortText
    ends_on: date | None = None

    def __post_init__(self) -> None:
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError(
                f"`ends_on` {self.ends_on} 早于 `starts_on` {self.starts_on}：结束日期不能早于开始日期"
            )


# --- Art. 14: themed receptions -------------------------------------------------


class PlannedTheme(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    month: Annotated[int, msgspec.Meta(ge=1, le=12)]
    theme: ShortText
    # Themes follow the congress's key work or the social issues people care about.
    basis: Literal["key_work", "hot_issue"]


class ReceptionPlanned(Payload, frozen=True, tag="reception.planned"):
    """The year's themed-reception plan (活动方案), with its fixed monthly day and hour."""

    plan_id: Ident
    year: Year
    fixed_day: Annotated[int, msgspec.Meta(ge=1, le=28)]
    fixed_hour: Annotated[int, msgspec.Meta(ge=7, le=20)]
    items: Annotated[list[PlannedTheme], msgspec.Meta(min_length=1, max_length=12)]

    def __post_init__(self) -> None:
        months = [i.month for i in self.items]
        twice = sorted({m for m in months if months.count(m) > 1})
        if twice:
            raise ValueError(
                f"`items` 重复安排了 {'、'.join(f'{m} 月' for m in twice)}：每个月只能安排一个接待主题"
            )


class ReceptionScheduled(Payload, frozen=True, tag="reception.scheduled"):
    reception_id: Ident
    theme: ShortText
    place: ShortText
    starts_at: TzDatetime
    announced_at: TzDatetime
    mode: Mode
    plan_id: Ident | None = None
    # Art. 14: the deputies and the units' staff arranged to take part.
    deputy_ids: list[Ident] = []
    units: list[ShortText] = []


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
    # Art. 16: the consultation this opinion answers, if any.
    consultation_id: Ident | None = None


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


# --- Art. 16: consultations -------------------------------------------------------


class ConsultationOpened(Payload, frozen=True, tag="consultation.opened"):
    """A state organ hears deputies' and people's opinions at the station on a matter."""

    consultation_id: Ident
    subject: ConsultationSubject
    title: ShortText
    organiser: ShortText
    organiser_level: Level
    closes_on: date
    mode: Mode


class ConsultationConcluded(Payload, frozen=True, tag="consultation.concluded"):
    consultation_id: Ident
    opinions_collected: Count
    adopted: Count
    summary: Text

    def __post_init__(self) -> None:
        if self.adopted > self.opinions_collected:
            raise ValueError(
                f"`adopted` {self.adopted} 大于 `opinions_collected` {self.opinions_collected}："
                "采纳的意见数不能超过征集到的意见数"
            )


# --- Arts. 17-19: activities; Art. 18: proposal leads ---------------------------------


class ActivityHeld(Payload, frozen=True, tag="activity.held"):
    activity_id: Ident
    kind: ActivityKind
    topic: ShortText
    organiser_level: Level
    deputy_ids: Annotated[list[Ident], msgspec.Meta(min_length=1)]
    participants: Count
    mode: Mode
    project: ShortText | None = None  # the project supervised (Art. 17 para. 2)

    def __post_init__(self) -> None:
        supervises = self.kind in ("livelihood_project_supervision", "major_project_supervision")
        if supervises and self.project is None:
            raise ValueError(f"`project` 未填写：`kind` 为 {self.kind}（项目监督）时必须写明所监督的项目")
        if not supervises and self.project is not None:
            raise ValueError(
                f"`project` 只用于项目监督（`kind` 为 livelihood_project_supervision 或 "
                f"major_project_supervision），本事件 `kind` 为 {self.kind}：请删去 `project`"
            )


class LeadCollected(Payload, frozen=True, tag="lead.collected"):
    """Art. 18: a lead for a motion or suggestion (议案建议线索) collected from the people."""

    lead_id: Ident
    deputy_id: Ident
    category: ShortText
    summary: Text
    source: LeadSource


# --- Arts. 21-24: funding, purchased services, assessment -----------------------------

_FISCAL_LEVEL = {4: "city", 6: "county", 9: "township"}
_FISCAL_LABEL = {"city": "市", "county": "县（市、区）", "township": "乡镇（街道）"}


class BudgetAllocated(Payload, frozen=True, tag="budget.allocated"):
    """Art. 21: a station's construction or running funds, in a level's budget."""

    budget_id: Ident
    year: Year
    fiscal_level: Level
    purpose: Literal["construction", "operation"]
    amount_yuan: Yuan

    def __post_init__(self) -> None:
        expected = _FISCAL_LEVEL[len(station_region(self.station_id))]
        if self.fiscal_level != expected:
            raise ValueError(
                f"`fiscal_level` 应为 {expected}，实际为 {self.fiscal_level}：站点 {self.station_id} 属"
                f"{_FISCAL_LABEL[expected]}级，其经费列入{_FISCAL_LABEL[expected]}级财政预算（第二十一条）"
            )


class ServicePurchased(Payload, frozen=True, tag="service.purchased"):
    """Art. 23: a service bought from a university, research institute, law firm …"""

    contract_id: Ident
    provider: ShortText
    provider_kind: ProviderKind
    service: ShortText
    amount_yuan: Yuan
    starts_on: date
    ends_on: date

    def __post_init__(self) -> None:
        if self.ends_on < self.starts_on:
            raise ValueError(
                f"`ends_on` {self.ends_on} 早于 `starts_on` {self.starts_on}：结束日期不能早于开始日期"
            )


_GRADE_FLOOR: dict[str, int] = {"优秀": 90, "良好": 80, "合格": 60, "不合格": 0}


class StationAssessed(Payload, frozen=True, tag="station.assessed"):
    """Art. 24: the yearly assessment of a station by the city or county committee."""

    assessment_id: Ident
    year: Year
    assessor_level: Literal["city", "county"]
    score: Annotated[int, msgspec.Meta(ge=0, le=100)]
    grade: Grade

    def __post_init__(self) -> None:
        floors = sorted(_GRADE_FLOOR.items(), key=lambda kv: -kv[1])
        expected = next(g for g, floor in floors if self.score >= floor)
        if self.grade != expected:
            scale = "，".join(f"{g} ≥{floor}" for g, floor in floors if floor)
            raise ValueError(
                f"`grade` {self.grade} 与 `score` {self.score} 不符：{self.score} 分应评为 {expected}"
                f"（评分标准：{scale}，其余为不合格）"
            )


class StationCommended(Payload, frozen=True, tag="station.commended"):
    """Art. 24: a commendation of a station with outstanding work."""

    commendation_id: Ident
    year: Year
    title: ShortText
    awarded_by: Literal["city", "county"]


AnyPayload = (
    StationEstablished
    | StationRelocated
    | SignageInstalled
    | StationClosed
    | StaffAssigned
    | StaffReleased
    | StaffTrained
    | DisclosurePublished
    | DeputyEnrolled
    | DeputyLeft
    | VisitRecorded
    | DeputyReportHeard
    | DeputyEvaluated
    | ContactHeld
    | AgencyStaffStationed
    | ReceptionPlanned
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
    | ConsultationOpened
    | ConsultationConcluded
    | ActivityHeld
    | LeadCollected
    | BudgetAllocated
    | ServicePurchased
    | StationAssessed
    | StationCommended
)

PAYLOAD_TYPES: tuple[type[Payload], ...] = get_args(AnyPayload)


def event_type_of(payload_cls: type[Payload]) -> str:
    tag = payload_cls.__struct_config__.tag
    assert isinstance(tag, str)
    return tag


EVENT_TYPES: tuple[str, ...] = tuple(event_type_of(t) for t in PAYLOAD_TYPES)
