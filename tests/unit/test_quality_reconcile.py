"""Reconciliation logic without servers: subjects, level totals, per-site (topology) gaps."""

from __future__ import annotations

from datetime import date

from quality.checks import TOPOLOGY_CHECK
from quality.model import CheckResult, Dimension, Tally
from quality.params import RunParams
from quality.reconcile import (
    SiteCounts,
    level_totals,
    site_gaps,
    subject_node,
    subject_parts,
    topology_reconciliation,
)
from quality.scoring import node_chain, rolled_up

PARAMS = RunParams(2025, date(2025, 12, 31), (), ())
T1 = "lls.ev.3306.330602.330602001.visit.recorded"
T2 = "lls.ev.3306.330602.330602002.opinion.received"
C = "lls.ev.3306.330602._.opinion.received"
CITY = "lls.ev.3306._._.station.established"
OTHER = "lls.ev.3306.330603.330603001.visit.recorded"


def test_subjects_name_their_node_and_type() -> None:
    assert subject_parts(T1) == ("3306", "330602", "330602001", "visit.recorded")
    assert subject_node(T1) == "330602001" and subject_node(C) == "330602"
    assert subject_node(CITY) == "3306" and subject_node("lls.quality.x") is None


def test_township_totals_add_up_to_county_and_city() -> None:
    counts = {T1: 10, T2: 5, C: 3, CITY: 2, OTHER: 4}
    rows = {r["node"]: r for r in level_totals(counts, "3306")}
    assert rows["330602"] == {"node": "330602", "level": "county", "townships_sum": 15, "own": 3,
                              "total": 18, "difference": 0}
    assert rows["3306"]["total"] == 24 and rows["3306"]["own"] == 2
    assert rows["3306"]["townships_sum"] == 22 and rows["3306"]["difference"] == 0
    # A township filed under the wrong county: the counties no longer add up.
    misfiled = {**counts, "lls.ev.3306.330603.330602009.visit.recorded": 1}
    rows = {r["node"]: r for r in level_totals(misfiled, "3306")}
    assert rows["330602"]["difference"] == -1 and rows["330603"]["difference"] == 1


def test_site_gaps_name_the_missing_event_ids() -> None:
    township = SiteCounts("330602001", {T1: 3}, {T1: frozenset({"e1", "e2", "e3"})})
    county = SiteCounts("330602", {T1: 2, C: 1}, {T1: frozenset({"e1", "e2"}), C: frozenset({"c1"})})
    city = SiteCounts("3306", {T1: 3, C: 1}, {T1: frozenset({"e1", "e2", "e3"}),
                                               C: frozenset({"c1"})})
    gaps = site_gaps([township, county, city])
    # The county lacks e3; and the city holds more of the county's subjects than the county.
    assert [(g.lower, g.upper) for g in gaps] == [("330602001", "330602"), ("330602", "3306")]
    g = gaps[0]
    assert (g.lower, g.upper, g.subject, g.lower_count, g.upper_count) == (
        "330602001", "330602", T1, 3, 2)
    assert g.missing == ["e3"]
    result = topology_reconciliation(TOPOLOGY_CHECK, PARAMS, [township, county, city])
    assert not result.success and result.unexpected_count == 2
    assert result.samples[0]["missing_ids"] == "e3" and result.samples[0]["upper_site"] == "330602"
    assert result.dimension is Dimension.CONSISTENCY and result.article == "第十条"
    ok = topology_reconciliation(TOPOLOGY_CHECK, PARAMS, [township, city])
    assert ok.success and ok.unexpected_count == 0


def test_site_gaps_without_ids_compare_counts() -> None:
    gaps = site_gaps([SiteCounts("330602001", {T1: 5}), SiteCounts("3306", {T1: 4})])
    assert [(g.lower_count, g.upper_count, g.missing) for g in gaps] == [(5, 4, [])]


def test_findings_roll_up_township_county_city() -> None:
    assert node_chain("330602001", "3306") == ["330602001", "330602", "3306"]
    assert node_chain("33060200A", "3306") == ["3306"]
    r = CheckResult("x", "检查", Dimension.ACCURACY, None, False, 1,
                    by_node={"330602001": Tally(1, 4), "330602": Tally(0, 6)})
    up = rolled_up(r, "3306")
    assert up["330602001"] == Tally(1, 4) and up["330602"] == Tally(1, 10)
    assert up["3306"] == Tally(1, 10)
    # A failure with no node (a check that could not run) counts against the city.
    broken = CheckResult("y", "检查", Dimension.ACCURACY, None, False, 0)
    assert rolled_up(broken, "3306") == {"3306": Tally(1, 1)}
