-- Projections of the event stream. Applied into one schema via search_path,
-- so a rebuild can create the same tables in a fresh schema and compare.

CREATE TABLE IF NOT EXISTS event_archive (
    event_id       uuid PRIMARY KEY,
    stream_seq     bigint NOT NULL UNIQUE,
    subject        text NOT NULL,
    type           text NOT NULL,
    schema_version int NOT NULL,
    origin         text NOT NULL,
    actor          text NOT NULL,
    occurred_at    timestamptz NOT NULL,
    recorded_at    timestamptz NOT NULL,
    correlation_id text,
    causation_id   text,
    payload        jsonb NOT NULL  -- citizens' personal details already masked
);
CREATE INDEX IF NOT EXISTS event_archive_type_idx ON event_archive (type);
CREATE INDEX IF NOT EXISTS event_archive_origin_idx ON event_archive (origin);

CREATE TABLE IF NOT EXISTS dead_letters (
    stream_seq  bigint PRIMARY KEY,
    subject     text NOT NULL,
    event_id    text,
    event_type  text,
    stage       text NOT NULL,        -- 'decode' or 'apply'
    reason      text NOT NULL,
    raw         bytea NOT NULL,
    deliveries  int NOT NULL DEFAULT 1
);

CREATE TABLE IF NOT EXISTS checkpoints (
    projector   text PRIMARY KEY,
    stream_seq  bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS stations (
    station_id        text PRIMARY KEY,
    name              text NOT NULL,
    level             text NOT NULL,
    region_code       text NOT NULL,
    parent_station_id text,
    address           text NOT NULL,
    ground_floor      boolean NOT NULL,
    functional_areas  text[] NOT NULL,
    status            text NOT NULL,   -- open | closed
    established_at    timestamptz NOT NULL,
    closed_at         timestamptz,
    last_event_id     uuid NOT NULL
);

CREATE TABLE IF NOT EXISTS staff (
    station_id   text NOT NULL,
    person_id    text NOT NULL,
    role         text NOT NULL,
    name         text NOT NULL,
    assigned_at  timestamptz NOT NULL,
    released_at  timestamptz,
    PRIMARY KEY (station_id, person_id, role)
);

CREATE TABLE IF NOT EXISTS disclosures (
    station_id    text NOT NULL,
    item          text NOT NULL,
    published_at  timestamptz NOT NULL,
    PRIMARY KEY (station_id, item)
);

CREATE TABLE IF NOT EXISTS deputies (
    deputy_id    text PRIMARY KEY,
    name         text NOT NULL,
    level        text NOT NULL,
    region_code  text NOT NULL,
    status       text NOT NULL,   -- active | left
    enrolled_at  timestamptz NOT NULL,
    left_at      timestamptz
);

CREATE TABLE IF NOT EXISTS enrolments (
    deputy_id    text NOT NULL,
    station_id   text NOT NULL,
    enrolled_at  timestamptz NOT NULL,
    left_at      timestamptz,
    PRIMARY KEY (deputy_id, station_id)
);

CREATE TABLE IF NOT EXISTS visits (
    visit_id    text PRIMARY KEY,
    event_id    uuid NOT NULL,
    deputy_id   text NOT NULL,
    station_id  text NOT NULL,
    visited_at  timestamptz NOT NULL,
    year        int NOT NULL,
    activity    text NOT NULL,
    mode        text NOT NULL,
    people_met  int NOT NULL
);
CREATE INDEX IF NOT EXISTS visits_deputy_year_idx ON visits (deputy_id, year);

CREATE TABLE IF NOT EXISTS receptions (
    reception_id  text PRIMARY KEY,
    station_id    text NOT NULL,
    theme         text NOT NULL,
    place         text NOT NULL,
    starts_at     timestamptz NOT NULL,
    announced_at  timestamptz NOT NULL,
    mode          text NOT NULL,
    status        text NOT NULL,   -- scheduled | held | cancelled
    attendees     int,
    deputy_ids    text[],
    cancel_reason text
);

CREATE TABLE IF NOT EXISTS opinions (
    opinion_id      text PRIMARY KEY,
    station_id      text NOT NULL,
    received_at     timestamptz NOT NULL,
    category        text NOT NULL,
    content         text NOT NULL,
    channel         text NOT NULL,
    citizen_name    text,     -- masked
    citizen_phone   text,     -- masked
    citizen_address text,     -- masked
    deputy_id       text,
    status          text NOT NULL,
    outcome         text,     -- answered | redirected | assigned
    legal_channel   text,
    assigned_level  text,
    assigned_unit   text,
    deadline        date,
    satisfaction    text,
    updated_at      timestamptz NOT NULL
);
