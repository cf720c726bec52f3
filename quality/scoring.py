"""Scores: per check, per dimension and overall, for every node (township, county, city).

A check's score at a node is the share of the node's records it examined that passed:
``100 × (1 − findings / records)``, findings and records summed over the node and every
node below it. A dimension's score is the mean of its checks' scores where they apply
(records or findings at that node); the overall score is the mean of the dimensions'.
So a county's row is pulled down by exactly the townships whose rows are low.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from statistics import mean

from quality.model import CheckResult, Dimension, NodeScore, Tally
from schemas.regions import load_regions

UNKNOWN = "unknown"


def node_chain(code: str, root: str) -> list[str]:
    """The node and every node above it, up to ``root`` (the city)."""
    if not code or not code.isdigit() or not code.startswith(root):
        return [root]
    if len(code) == 9:
        return [code, code[:6], root]
    if len(code) == 6:
        return [code, root]
    return [root]


def level_of(code: str, root: str) -> str:
    if code == root:
        return "city"
    return {6: "county", 9: "township"}.get(len(code), UNKNOWN)


def floor1(x: float) -> float:
    """Rounded down to one decimal: a score shows 100.0 only when nothing was found."""
    return math.floor(round(x * 10, 6)) / 10


def check_score(t: Tally) -> float | None:
    if t.population <= 0:
        return 0.0 if t.unexpected > 0 else None
    return 100.0 * (1 - min(t.unexpected, t.population) / t.population)


def normalised(result: CheckResult, root: str) -> dict[str, Tally]:
    """Findings per node, never losing a failure: a failing check with no node attribution
    (an execution error, a stream down) counts against the city."""
    by_node = dict(result.by_node)
    attributed = sum(t.unexpected for t in by_node.values())
    if not result.success and attributed == 0:
        bad = max(result.unexpected_count, 1)
        by_node[root] = by_node.get(root, Tally()) + Tally(bad, max(result.population, bad))
    elif not by_node:
        by_node[root] = Tally(0, max(result.population, 1))
    return by_node


def rolled_up(result: CheckResult, root: str) -> dict[str, Tally]:
    out: dict[str, Tally] = defaultdict(Tally)
    for code, tally in normalised(result, root).items():
        for node in node_chain(code, root):
            out[node] += tally
    return dict(out)


def score_nodes(results: Sequence[CheckResult], root: str,
                names: dict[str, str] | None = None) -> list[NodeScore]:
    """Scores of every node that has records or findings, city first, then each county
    followed by its townships."""
    names = names if names is not None else load_regions(root).names()
    per_check = [(r, rolled_up(r, root)) for r in results]
    nodes = {n for _, tallies in per_check for n in tallies}
    out: list[NodeScore] = []
    for node in nodes:
        raw: dict[str, float] = {}
        failing = 0
        for d in Dimension:
            scores = [s for r, t in per_check if r.dimension is d and node in t
                      if (s := check_score(t[node])) is not None]
            if scores:
                raw[str(d)] = mean(scores)
        for _r, t in per_check:
            if node in t and t[node].unexpected > 0:
                failing += 1
        chain = node_chain(node, root)
        parent = chain[1] if len(chain) > 1 else None
        dims = {d: floor1(v) for d, v in raw.items()}
        overall = floor1(mean(raw.values())) if raw else None
        out.append(NodeScore(node, names.get(node, "（区划清单外）"), level_of(node, root), parent,
                             dims, overall, failing))
    order = {"city": 0, "county": 1, "township": 2, UNKNOWN: 3}

    def key(n: NodeScore) -> tuple[str, int, str]:
        county = n.node[:6] if n.level in ("county", "township") else ""
        return (county, order[n.level], n.node)

    return sorted(out, key=key)


def dimension_scores(nodes: Sequence[NodeScore], root: str) -> tuple[dict[str, float], float | None]:
    for n in nodes:
        if n.node == root:
            return dict(n.dimensions), n.overall
    return {}, None
