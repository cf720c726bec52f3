-- Run history for trends and "what changed since the previous run" (issue 5).
-- Applied with search_path set to the quality schema; every statement is idempotent.

ALTER TABLE runs ADD COLUMN IF NOT EXISTS checked_schema text NOT NULL DEFAULT 'projection';
ALTER TABLE runs ADD COLUMN IF NOT EXISTS scope text NOT NULL DEFAULT 'full';
ALTER TABLE runs ADD COLUMN IF NOT EXISTS trigger text NOT NULL DEFAULT 'manual';
ALTER TABLE runs ADD COLUMN IF NOT EXISTS overall_score numeric;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS dimension_scores jsonb NOT NULL DEFAULT '{}';
CREATE INDEX IF NOT EXISTS runs_schema_started_idx ON runs (checked_schema, started_at);

ALTER TABLE results ADD COLUMN IF NOT EXISTS title_zh text;
ALTER TABLE results ADD COLUMN IF NOT EXISTS observed text;
ALTER TABLE results ADD COLUMN IF NOT EXISTS population bigint NOT NULL DEFAULT 0;
ALTER TABLE results ADD COLUMN IF NOT EXISTS by_node jsonb NOT NULL DEFAULT '{}';

-- Per node (township, county, city) and dimension; dimension '综合' is the node's overall.
CREATE TABLE IF NOT EXISTS node_scores (
    run_id    uuid NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    node      text NOT NULL,
    level     text NOT NULL,
    dimension text NOT NULL,
    score     numeric NOT NULL,
    PRIMARY KEY (run_id, node, dimension)
);

-- A scheduled run that found another run of the same schema in progress and stood down.
CREATE TABLE IF NOT EXISTS skipped_runs (
    skipped_at     timestamptz NOT NULL DEFAULT now(),
    checked_schema text NOT NULL,
    trigger        text NOT NULL,
    reason         text NOT NULL
);
