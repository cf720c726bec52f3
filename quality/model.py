"""Result model shared by the checks, the store and the reports."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any


class Dimension(StrEnum):
    """The six data-quality dimensions of GB/T 36344-2018, in the standard's order."""

    CONFORMITY = "规范性"
    COMPLETENESS = "完整性"
    ACCURACY = "准确性"
    CONSISTENCY = "一致性"
    TIMELINESS = "时效性"
    ACCESSIBILITY = "可访问性"


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
