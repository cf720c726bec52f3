"""Result model shared by the checks, the scoring, the store and the reports."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # jieba stays out of every process that only imports the model
    from quality.minqing import MinqingAnalysis


class Dimension(StrEnum):
    """The six data-quality dimensions of GB/T 36344-2018, in the standard's order."""

    CONFORMITY = "规范性"
    COMPLETENESS = "完整性"
    ACCURACY = "准确性"
    CONSISTENCY = "一致性"
    TIMELINESS = "时效性"
    ACCESSIBILITY = "可访问性"


def parse_dimension(text: str) -> Dimension:
    """A dimension by its Chinese name or its enum name (``timeliness``); ValueError otherwise."""
    for d in Dimension:
        if text.strip() in (d.value, d.name, d.name.lower()):
            return d
    raise ValueError(
        f"unknown dimension {text!r}; use one of " + "、".join(d.value for d in Dimension))


@dataclass(frozen=True)
class Tally:
    """Findings and records examined at one node (before rolling up)."""

    unexpected: int = 0
    population: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.unexpected + other.unexpected, self.population + other.population)


@dataclass(frozen=True)
class CheckResult:
    id: str
    title_zh: str
    dimension: Dimension
    article: str | None
    success: bool
    unexpected_count: int
    samples: list[dict[str, Any]] = field(default_factory=list)
    observed: str | None = None
    # Records examined (the denominator of the check's score) and, per node code where the
    # records sit, findings and records examined. Rolled up township -> county -> city.
    population: int = 0
    by_node: dict[str, Tally] = field(default_factory=dict)
    source: str = "builtin"


@dataclass(frozen=True)
class NodeScore:
    node: str
    name: str
    level: str                      # city | county | township | unknown
    parent: str | None
    dimensions: dict[str, float]    # dimension -> 0..100 (only dimensions that apply here)
    overall: float | None
    failing_checks: int


@dataclass
class QualityRun:
    run_id: uuid.UUID
    started_at: datetime
    finished_at: datetime
    results: list[CheckResult]
    year: int
    as_of: date
    stream_count: int
    schema: str
    scope: str = "full"                               # full | a comma list of dimensions
    dimensions: tuple[Dimension, ...] = tuple(Dimension)
    dimension_scores: dict[str, float] = field(default_factory=dict)
    overall_score: float | None = None
    node_scores: list[NodeScore] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)   # reconciliation matrix, lag stats
    history: list[dict[str, Any]] = field(default_factory=list)  # earlier runs, newest first
    changes: dict[str, Any] = field(default_factory=dict)   # against the previous run
    # 社情民意分析 (Art. 15 para. 1) of the year's opinions: full runs only.
    minqing: MinqingAnalysis | None = None
    html_path: Path | None = None
    json_path: Path | None = None

    @property
    def success(self) -> bool:
        return all(r.success for r in self.results)

    @property
    def checks_failed(self) -> int:
        return sum(1 for r in self.results if not r.success)

    def result(self, check_id: str) -> CheckResult:
        for r in self.results:
            if r.id == check_id:
                return r
        raise KeyError(check_id)
