-- Quality runs, kept so auditors can follow trends (GX keeps no history).
-- Applied with search_path set to the quality schema.

CREATE TABLE IF NOT EXISTS runs (
    run_id        uuid PRIMARY KEY,
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz NOT NULL,
    success       boolean NOT NULL,
    checks_total  int NOT NULL,
    checks_failed int NOT NULL,
    stream_count  bigint NOT NULL,
    summary       jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_started_idx ON runs (started_at);

CREATE TABLE IF NOT EXISTS results (
    run_id           uuid NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    check_id         text NOT NULL,
    dimension        text NOT NULL,
    article          text,
    success          boolean NOT NULL,
    unexpected_count bigint NOT NULL,
    samples          jsonb NOT NULL,
    PRIMARY KEY (run_id, check_id)
);
