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
    if check.kind is Kind.ROWS:
        return gxe.UnexpectedRowsExpectation(
            unexpected_rows_query=check.rows_query(params), **common)
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
    return Outcome(bool(result.success), int(count or 0))


def run_gx_checks(database_url: str, schema: str, checks: Sequence[Check],
                  params: RunParams) -> dict[str, Outcome]:
    """Outcome per check id for every GX-run check in ``checks``."""
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    # The runner may log to a terminal or a journal: no tqdm bars there.
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    source = context.data_sources.add_postgres(
        name="projection", connection_string=sqlalchemy_url(database_url, schema))

    by_table: dict[str, list[Check]] = {}
    for check in checks:
        by_table.setdefault(check.table, []).append(check)

    definitions = []
    for table, table_checks in by_table.items():
        asset = source.add_table_asset(name=table, table_name=table)
        batch = asset.add_batch_definition_whole_table(name=f"{table}_all")
        suite = context.suites.add(gx.ExpectationSuite(name=f"quality_{table}"))
        for check in table_checks:
            suite.add_expectation(_expectation(gxe, check, params))
        definitions.append(context.validation_definitions.add(
            gx.ValidationDefinition(name=f"quality_{table}", data=batch, suite=suite)))

    checkpoint = context.checkpoints.add(gx.Checkpoint(
        name="quality", validation_definitions=definitions,
        result_format={"result_format": "SUMMARY"}))
    try:
        outcome = checkpoint.run()
    finally:
        # GX keeps its engine (and pooled connections) until garbage collection.
        source.get_engine().dispose()

    out: dict[str, Outcome] = {}
    for suite_result in outcome.run_results.values():
        for result in suite_result.results:
            config = result.expectation_config
            if config is not None and config.meta:
                out[config.meta["check_id"]] = _outcome(result)
    return out
