"""Run the catalogue's column and row checks as one Great Expectations checkpoint.

One ephemeral context, one postgres datasource, a table asset per projection
table, a suite and validation definition per asset, all run by one checkpoint.
GX is imported here, lazily: it costs about 3 s and 230 MB.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from quality.checks import Check, Kind
from quality.params import RunParams


@dataclass(frozen=True)
class Outcome:
    success: bool
    unexpected_count: int
    error: str | None = None
    element_count: int | None = None
    # Up to 20 offending values (column expectations), for checks without a sample query.
    partial: tuple[Any, ...] = ()


def sqlalchemy_url(database_url: str, schema: str) -> str:
    """``postgresql://`` -> ``postgresql+psycopg://`` with ``search_path`` set to ``schema``.

    GX's postgres datasource has no schema setting (the table-asset one is
    deprecated), so the schema travels as a libpq option.
    """
    parts = urlsplit(database_url)
    if parts.scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
        raise ValueError(f"not a PostgreSQL URL: {parts.scheme}://...")
    option = "options=" + quote(f"-csearch_path={schema}", safe="")
    query = f"{parts.query}&{option}" if parts.query else option
    return urlunsplit(("postgresql+psycopg", parts.netloc, parts.path, query, parts.fragment))


def _expectation(gxe: Any, check: Check, params: RunParams) -> Any:
    meta = {"check_id": check.id, "dimension": str(check.dimension), "article": check.article}
    common: dict[str, Any] = {"meta": meta, "description": check.title_zh}
    if check.kind is Kind.UNIQUE:
        return gxe.ExpectColumnValuesToBeUnique(column=check.column, **common)
    if check.kind is Kind.NOT_NULL:
        return gxe.ExpectColumnValuesToNotBeNull(column=check.column, **common)
    if check.kind is Kind.MATCH_REGEX:
        return gxe.ExpectColumnValuesToMatchRegex(column=check.column, regex=check.regex, **common)
    if check.kind is Kind.IN_SET:
        return gxe.ExpectColumnValuesToBeInSet(
            column=check.column, value_set=list(check.value_set), **common)
    if check.kind is Kind.ROWS:
        return gxe.UnexpectedRowsExpectation(
            unexpected_rows_query=check.rows_query(params), **common)
    if check.kind is Kind.GX:
        cls = getattr(gxe, check.expectation or "", None)
        if cls is None:
            raise ValueError(f"Great Expectations has no expectation {check.expectation}")
        return cls(**check.kwargs, **common)
    raise ValueError(f"check {check.id} ({check.kind}) does not run in GX")


def _outcome(result: Any) -> Outcome:
    info = result.exception_info or {}
    # exception_info is keyed by metric id when several metrics raised.
    infos = [info] if "raised_exception" in info else list(info.values())
    errors = [str(i.get("exception_message")) for i in infos if i.get("raised_exception")]
    if errors:
        return Outcome(False, 0, "; ".join(errors)[:500])
    body = result.result or {}
    count = body.get("unexpected_count", body.get("observed_value", 0))
    if not isinstance(count, int | float):  # table expectations observe values, not rows
        count = 0 if result.success else 1
    element = body.get("element_count")
    partial = tuple(body.get("partial_unexpected_list") or ())[:20]
    return Outcome(bool(result.success), int(count or 0),
                   element_count=int(element) if isinstance(element, int) else None,
                   partial=partial)


def _broken(check: Check, exc: Exception) -> Outcome:
    return Outcome(False, 0, f"{type(exc).__name__}: {exc}"[:500])


def run_gx_checks(database_url: str, schema: str, checks: Sequence[Check],
                  params: RunParams) -> dict[str, Outcome]:
    """Outcome per check id for every GX-run check in ``checks``."""
    import logging

    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import ProgressBarsConfig

    # GX logs its temporary folders at INFO on every context (that module sets its own
    # logger to INFO at import); auditors need not see that.
    for name in ("great_expectations", "great_expectations.data_context.types.base"):
        logging.getLogger(name).setLevel(logging.WARNING)

    context = gx.get_context(mode="ephemeral")
    # The runner may log to a terminal or a journal: no tqdm bars there.
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    source = context.data_sources.add_postgres(
        name="projection", connection_string=sqlalchemy_url(database_url, schema))

    out: dict[str, Outcome] = {}
    by_table: dict[str, list[tuple[Check, Any]]] = {}
    for check in checks:
        try:  # an auditor's expectation with wrong arguments fails alone, not the run
            by_table.setdefault(check.table, []).append((check, _expectation(gxe, check, params)))
        except Exception as exc:
            out[check.id] = _broken(check, exc)

    definitions = []
    for table, table_checks in by_table.items():
        try:  # a missing or unreadable table fails its checks, not the run
            asset = source.add_table_asset(name=table, table_name=table)
        except Exception as exc:
            for check, _ in table_checks:
                out[check.id] = _broken(check, exc)
            continue
        batch = asset.add_batch_definition_whole_table(name=f"{table}_all")
        suite = context.suites.add(gx.ExpectationSuite(name=f"quality_{table}"))
        for _check, expectation in table_checks:
            suite.add_expectation(expectation)
        definitions.append(context.validation_definitions.add(
            gx.ValidationDefinition(name=f"quality_{table}", data=batch, suite=suite)))

    if not definitions:
        source.get_engine().dispose()
        return out
    checkpoint = context.checkpoints.add(gx.Checkpoint(
        name="quality", validation_definitions=definitions,
        result_format={"result_format": "SUMMARY"}))
    try:
        outcome = checkpoint.run()
    finally:
        # GX keeps its engine (and pooled connections) until garbage collection.
        source.get_engine().dispose()

    for suite_result in outcome.run_results.values():
        for result in suite_result.results:
            config = result.expectation_config
            if config is not None and config.meta:
                out[config.meta["check_id"]] = _outcome(result)
    return out
