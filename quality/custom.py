"""Auditor-defined checks from TOML files, no Python needed (docs/quality.md has examples).

Each file holds ``[[check]]`` tables. A check is either an SQL query (every row it returns
is a finding; a ``node`` column, if present, scores it per node) or a Great Expectations
expectation by name with its arguments, plus its dimension, its article and a Chinese title.
Files are read from ``quality/checks/`` (shipped), ``$HUB_HOME/checks/`` and the folders
listed under ``[checks] dirs`` in the quality config.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from quality.checks import CHECKS, TOPOLOGY_CHECK, Check, Kind
from quality.config import ConfigError
from quality.model import parse_dimension

_ID = re.compile(r"^[a-z][a-z0-9_]{2,62}$")
_TABLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_ARTICLE = re.compile(r"^第[一二三四五六七八九十]+条$")
_EXPECTATION = re.compile(r"^(expect_[a-z0-9_]+|Expect[A-Za-z0-9]+)$")
_KEYS = {"id", "title", "dimension", "article", "table", "sql", "population", "expectation",
         "kwargs", "note"}
_BUILTIN_IDS = frozenset(c.id for c in (*CHECKS, TOPOLOGY_CHECK))


def expectation_class(name: str) -> str:
    """``expect_column_values_to_be_between`` -> ``ExpectColumnValuesToBeBetween``."""
    if name.startswith("Expect"):
        return name
    return "".join(part.capitalize() for part in name.split("_"))


def _single_statement(sql: str, where: str) -> str:
    text = sql.strip().rstrip(";").strip()
    if not re.match(r"^(select|with)\b", text, re.IGNORECASE):
        raise ConfigError(f"{where}: sql must be one SELECT (or WITH … SELECT) query")
    if ";" in text:
        raise ConfigError(f"{where}: sql must be a single statement (no ';' inside)")
    return text


def _check(item: Any, where: str, source: str) -> Check:
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: each [[check]] must be a table")
    unknown = set(item) - _KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    cid = item.get("id")
    if not isinstance(cid, str) or not _ID.match(cid):
        raise ConfigError(f"{where}: id must be snake_case (a-z, 0-9, _), got {cid!r}")
    where = f"{where} ({cid})"
    if cid in _BUILTIN_IDS:
        raise ConfigError(f"{where}: id is already used by a built-in check")
    title = item.get("title")
    if not isinstance(title, str) or not re.search(r"[\u4e00-\u9fff]", title):
        raise ConfigError(f"{where}: title must be a Chinese title")
    try:
        dimension = parse_dimension(str(item.get("dimension", "")))
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    article = item.get("article")
    if article is not None and (not isinstance(article, str) or not _ARTICLE.match(article)):
        raise ConfigError(f"{where}: article must look like 第十四条, got {article!r}")
    table = item.get("table", "")
    if not isinstance(table, str) or (table and not _TABLE.match(table)):
        raise ConfigError(f"{where}: table must be a table name, got {table!r}")
    note = item.get("note")
    has_sql, has_gx = "sql" in item, "expectation" in item
    if has_sql == has_gx:
        raise ConfigError(f"{where}: give exactly one of sql or expectation")
    population = item.get("population")
    if population is not None:
        population = _single_statement(str(population), f"{where} population")
    if has_sql:
        return Check(cid, title, dimension, article, Kind.SQL, table,
                     query=_single_statement(str(item["sql"]), where), population=population,
                     note_zh=note, source=source)
    name = item["expectation"]
    if not isinstance(name, str) or not _EXPECTATION.match(name):
        raise ConfigError(f"{where}: expectation must be a GX name like "
                          f"expect_column_values_to_be_between, got {name!r}")
    if not table:
        raise ConfigError(f"{where}: a GX expectation needs the table it runs on")
    kwargs = item.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise ConfigError(f"{where}: kwargs must be a table of the expectation's arguments")
    return Check(cid, title, dimension, article, Kind.GX, table, column=kwargs.get("column"),
                 expectation=expectation_class(name), kwargs=dict(kwargs),
                 population=population, note_zh=note, source=source)


def parse_checks(text: str, source: str) -> list[Check]:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: {exc}") from exc
    extra = set(raw) - {"check"}
    if extra:
        raise ConfigError(f"{source}: only [[check]] tables are allowed, found {sorted(extra)}")
    items = raw.get("check", [])
    if not isinstance(items, list):
        raise ConfigError(f"{source}: use [[check]] (an array of tables)")
    return [_check(item, f"{source} [[check]] #{i + 1}", source) for i, item in enumerate(items)]


def _files(dirs: Iterable[Path]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    shipped = resources.files("quality").joinpath("checks")
    if shipped.is_dir():
        for f in sorted(shipped.iterdir(), key=lambda f: f.name):
            if f.name.endswith(".toml"):
                out.append((f"quality/checks/{f.name}", f.read_text(encoding="utf-8")))
    for d in dirs:
        for f in sorted(Path(d).glob("*.toml")):
            out.append((str(f), f.read_text(encoding="utf-8")))
    return out


def load_custom_checks(dirs: Iterable[Path] = ()) -> tuple[Check, ...]:
    """Every custom check, shipped ones first; ConfigError names the file and the check."""
    checks: list[Check] = []
    for source, text in _files(dirs):
        checks.extend(parse_checks(text, source))
    ids = [c.id for c in checks]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ConfigError(f"custom check ids used twice: {', '.join(dup)}")
    return tuple(checks)
