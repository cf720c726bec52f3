-- The whole regulation (Arts. 7-24): new columns on the first slice's tables, one table
-- per new kind of fact, and read-side views. Additive only, so 001 data stays valid.

-- Art. 7-8: what a liaison point is hosted by; signage; relocation.
ALTER TABLE stations ADD COLUMN IF NOT EXISTS host_kind text;
ALTER TABLE stations ADD COLUMN IF NOT EXISTS signage text[];
ALTER TABLE stations ADD COLUMN IF NOT EXISTS signage_conforms boolean;
ALTER TABLE stations ADD COLUMN IF NOT EXISTS signage_at timestamptz;
ALTER TABLE stations ADD COLUMN IF NOT EXISTS relocated_at timestamptz;
ALTER TABLE stations ADD COLUMN IF NOT EXISTS close_reason text;

-- Art. 9: the post a staff member holds besides, and why they left.
ALTER TABLE staff ADD COLUMN IF NOT EXISTS position text;
ALTER TABLE staff ADD COLUMN IF NOT EXISTS release_reason text;

-- Art. 14: the plan a reception follows, the deputies and units arranged.
ALTER TABLE receptions ADD COLUMN IF NOT EXISTS plan_id text;
ALTER TABLE receptions ADD COLUMN IF NOT EXISTS arranged_deputy_ids text[];
ALTER TABLE receptions ADD COLUMN IF NOT EXISTS arranged_units text[];

-- Art. 15-16: when each step happened (deadlines, timeliness), the consultation answered.
ALTER TABLE opinions ADD COLUMN IF NOT EXISTS consultation_id text;
ALTER TABLE opinions ADD COLUMN IF NOT EXISTS assigned_at timestamptz;
ALTER TABLE opinions ADD COLUMN IF NOT EXISTS supervisions int NOT NULL DEFAULT 0;
ALTER TABLE opinions ADD COLUMN IF NOT EXISTS feedback_at timestamptz;
ALTER TABLE opinions ADD COLUMN IF NOT EXISTS reported_at timestamptz;
ALTER TABLE opinions ADD COLUMN IF NOT EXISTS reported_to text;
ALTER TABLE opinions ADD COLUMN IF NOT EXISTS closed_at timestamptz;
CREATE INDEX IF NOT EXISTS opinions_unit_idx ON opinions (assigned_unit) WHERE assigned_unit IS NOT NULL;

-- Art. 13: officials and committee members at the station; staff sent in to serve.
CREATE TABLE IF NOT EXISTS contacts (
    contact_id     text PRIMARY KEY,
    station_id     text NOT NULL,
    held_at        timestamptz NOT NULL,
    body           text NOT NULL,
    unit           text NOT NULL,
    official_title text NOT NULL,
    purposes       text[] NOT NULL,
    deputy_ids     text[] NOT NULL,
    mode           text NOT NULL,
    people_met     int NOT NULL
);

CREATE TABLE IF NOT EXISTS agency_services (
    service_id   text PRIMARY KEY,
    station_id   text NOT NULL,
    body         text NOT NULL,
    unit         text NOT NULL,
    service      text NOT NULL,
    staff_count  int NOT NULL,
    starts_on    date NOT NULL,
    ends_on      date,
    schedule     text NOT NULL,
    recorded_at  timestamptz NOT NULL
);

-- Art. 14: the yearly themed-reception plan and its monthly themes.
CREATE TABLE IF NOT EXISTS reception_plans (
    plan_id     text PRIMARY KEY,
    station_id  text NOT NULL,
    year        int NOT NULL,
    fixed_day   int NOT NULL,
    fixed_hour  int NOT NULL,
    planned_at  timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS reception_plan_items (
    plan_id  text NOT NULL,
    month    int NOT NULL,
    theme    text NOT NULL,
    basis    text NOT NULL,   -- key_work | hot_issue
    PRIMARY KEY (plan_id, month)
);

-- Art. 16: consultations held at a station.
CREATE TABLE IF NOT EXISTS consultations (
    consultation_id    text PRIMARY KEY,
    station_id         text NOT NULL,
    subject            text NOT NULL,
    title              text NOT NULL,
    organiser          text NOT NULL,
    organiser_level    text NOT NULL,
    mode               text NOT NULL,
    opened_at          timestamptz NOT NULL,
    closes_on          date NOT NULL,
    status             text NOT NULL,   -- open | concluded
    concluded_at       timestamptz,
    opinions_collected int,
    adopted            int,
    summary            text
);

-- Arts. 17-19: inspections, surveys, enforcement checks, project supervision, grid service,
-- law promotion, study sessions.
CREATE TABLE IF NOT EXISTS activities (
    activity_id      text PRIMARY KEY,
    station_id       text NOT NULL,
    held_at          timestamptz NOT NULL,
    year             int NOT NULL,
    kind             text NOT NULL,
    topic            text NOT NULL,
    organiser_level  text NOT NULL,
    deputy_ids       text[] NOT NULL,
    participants     int NOT NULL,
    mode             text NOT NULL,
    project          text
);

-- Art. 18: leads for motions and suggestions.
CREATE TABLE IF NOT EXISTS proposal_leads (
    lead_id       text PRIMARY KEY,
    station_id    text NOT NULL,
    deputy_id     text NOT NULL,
    collected_at  timestamptz NOT NULL,
    category      text NOT NULL,
    summary       text NOT NULL,
    source        text NOT NULL
);

-- Art. 20: deputies' reports to voters, and voters' evaluations.
CREATE TABLE IF NOT EXISTS voter_reports (
    report_id   text PRIMARY KEY,
    station_id  text NOT NULL,
    deputy_id   text NOT NULL,
    held_at     timestamptz NOT NULL,
    voters      int NOT NULL,
    mode        text NOT NULL
);

CREATE TABLE IF NOT EXISTS evaluations (
    evaluation_id  text PRIMARY KEY,
    station_id     text NOT NULL,
    deputy_id      text NOT NULL,
    report_id      text,
    evaluated_at   timestamptz NOT NULL,
    rating         text NOT NULL,
    voters         int NOT NULL
);

-- Art. 21: funding in the budget.
CREATE TABLE IF NOT EXISTS budgets (
    budget_id     text PRIMARY KEY,
    station_id    text NOT NULL,
    year          int NOT NULL,
    fiscal_level  text NOT NULL,
    purpose       text NOT NULL,
    amount_yuan   bigint NOT NULL,
    allocated_at  timestamptz NOT NULL
);

-- Art. 22: who was trained, when.
CREATE TABLE IF NOT EXISTS staff_trainings (
    training_id      text NOT NULL,
    station_id       text NOT NULL,
    person_id        text NOT NULL,
    trained_at       timestamptz NOT NULL,
    year             int NOT NULL,
    organiser_level  text NOT NULL,
    topic            text NOT NULL,
    hours            int NOT NULL,
    PRIMARY KEY (training_id, station_id, person_id)
);

-- Art. 23: services bought from third parties.
CREATE TABLE IF NOT EXISTS purchased_services (
    contract_id    text PRIMARY KEY,
    station_id     text NOT NULL,
    provider       text NOT NULL,
    provider_kind  text NOT NULL,
    service        text NOT NULL,
    amount_yuan    bigint NOT NULL,
    starts_on      date NOT NULL,
    ends_on        date NOT NULL,
    signed_at      timestamptz NOT NULL
);

-- Art. 24: yearly assessment and commendation.
CREATE TABLE IF NOT EXISTS assessments (
    assessment_id   text PRIMARY KEY,
    station_id      text NOT NULL,
    year            int NOT NULL,
    assessor_level  text NOT NULL,
    score           int NOT NULL,
    grade           text NOT NULL,
    assessed_at     timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS commendations (
    commendation_id  text PRIMARY KEY,
    station_id       text NOT NULL,
    year             int NOT NULL,
    title            text NOT NULL,
    awarded_by       text NOT NULL,
    awarded_at       timestamptz NOT NULL
);

-- Read-side views: derived from the tables above, so a rebuild need not compare them.

-- Art. 15: every assigned opinion against its deadline, in Beijing time. Overdue as of a
-- day D: deadline < D and no feedback by the deadline (see consumers/queries.py).
CREATE OR REPLACE VIEW opinion_deadlines AS
SELECT o.opinion_id,
       o.station_id,
       split_part(o.station_id, '-', 1) AS region_code,
       left(o.station_id, 6) AS county_code,
       o.category,
       o.assigned_level,
       o.assigned_unit,
       o.assigned_at,
       o.deadline,
       o.supervisions,
       o.feedback_at,
       (o.feedback_at AT TIME ZONE 'Asia/Shanghai')::date AS feedback_on,
       o.status,
       o.satisfaction,
       CASE WHEN o.feedback_at IS NULL THEN NULL
            ELSE (o.feedback_at AT TIME ZONE 'Asia/Shanghai')::date <= o.deadline END AS on_time
FROM opinions o
WHERE o.outcome = 'assigned';

-- Art. 9: staffing and its stability per station.
CREATE OR REPLACE VIEW station_staffing AS
SELECT s.station_id,
       s.name,
       s.level,
       count(*) FILTER (WHERE st.released_at IS NULL AND st.role = '站长') AS heads,
       count(*) FILTER (WHERE st.released_at IS NULL AND st.role = '副站长') AS deputy_heads,
       count(*) FILTER (WHERE st.released_at IS NULL AND st.role = '联络员') AS liaison_officers,
       count(*) FILTER (WHERE st.released_at IS NOT NULL) AS released,
       min(st.assigned_at) FILTER (WHERE st.released_at IS NULL) AS longest_serving_since
FROM stations s
LEFT JOIN staff st ON st.station_id = s.station_id
GROUP BY s.station_id, s.name, s.level;

-- Art. 20: a deputy's performance archive per year: visits by kind, receptions attended,
-- opinions received and their outcome, reports to voters, evaluations, leads.
CREATE OR REPLACE VIEW deputy_archive AS
WITH visit_kinds AS (
    SELECT deputy_id, year, activity, count(*) AS n FROM visits GROUP BY 1, 2, 3
), v AS (
    SELECT deputy_id, year, sum(n)::int AS visits,
           jsonb_object_agg(activity, n) AS visits_by_activity
    FROM visit_kinds GROUP BY 1, 2
), online AS (
    SELECT deputy_id, year, count(*)::int AS n FROM visits WHERE mode = 'online' GROUP BY 1, 2
), r AS (
    SELECT d.deputy_id,
           extract(year FROM r.starts_at AT TIME ZONE 'Asia/Shanghai')::int AS year,
           count(*)::int AS receptions
    FROM receptions r CROSS JOIN LATERAL unnest(r.deputy_ids) AS d(deputy_id)
    WHERE r.status = 'held' GROUP BY 1, 2
), o AS (
    SELECT deputy_id,
           extract(year FROM received_at AT TIME ZONE 'Asia/Shanghai')::int AS year,
           count(*)::int AS opinions,
           count(*) FILTER (WHERE outcome = 'answered')::int AS answered,
           count(*) FILTER (WHERE outcome = 'redirected')::int AS redirected,
           count(*) FILTER (WHERE outcome = 'assigned')::int AS assigned,
           count(*) FILTER (WHERE status = 'closed')::int AS closed,
           count(*) FILTER (WHERE satisfaction IN ('satisfied', 'basically_satisfied'))::int AS satisfied
    FROM opinions WHERE deputy_id IS NOT NULL GROUP BY 1, 2
), rep AS (
    SELECT deputy_id, extract(year FROM held_at AT TIME ZONE 'Asia/Shanghai')::int AS year,
           count(*)::int AS reports
    FROM voter_reports GROUP BY 1, 2
), ev AS (
    SELECT deputy_id, extract(year FROM evaluated_at AT TIME ZONE 'Asia/Shanghai')::int AS year,
           (array_agg(rating ORDER BY evaluated_at DESC, evaluation_id DESC))[1] AS rating
    FROM evaluations GROUP BY 1, 2
), l AS (
    SELECT deputy_id, extract(year FROM collected_at AT TIME ZONE 'Asia/Shanghai')::int AS year,
           count(*)::int AS leads
    FROM proposal_leads GROUP BY 1, 2
), a AS (
    SELECT d.deputy_id, x.year, count(*)::int AS activities
    FROM activities x CROSS JOIN LATERAL unnest(x.deputy_ids) AS d(deputy_id) GROUP BY 1, 2
), c AS (
    SELECT d.deputy_id, extract(year FROM x.held_at AT TIME ZONE 'Asia/Shanghai')::int AS year,
           count(*)::int AS contacts
    FROM contacts x CROSS JOIN LATERAL unnest(x.deputy_ids) AS d(deputy_id) GROUP BY 1, 2
), years AS (
    SELECT deputy_id, year FROM v UNION SELECT deputy_id, year FROM r
    UNION SELECT deputy_id, year FROM o UNION SELECT deputy_id, year FROM rep
    UNION SELECT deputy_id, year FROM ev UNION SELECT deputy_id, year FROM l
    UNION SELECT deputy_id, year FROM a UNION SELECT deputy_id, year FROM c
)
SELECT dep.deputy_id,
       dep.name,
       dep.level,
       dep.region_code,
       dep.status,
       y.year,
       coalesce(v.visits, 0) AS visits,
       coalesce(online.n, 0) AS online_visits,
       coalesce(v.visits_by_activity, '{}'::jsonb) AS visits_by_activity,
       CASE dep.level WHEN 'city' THEN 2 WHEN 'county' THEN 3 WHEN 'township' THEN 3 END AS visits_required,
       coalesce(r.receptions, 0) AS receptions_attended,
       coalesce(a.activities, 0) AS activities,
       coalesce(c.contacts, 0) AS official_contacts,
       coalesce(o.opinions, 0) AS opinions_received,
       coalesce(o.answered, 0) AS opinions_answered,
       coalesce(o.redirected, 0) AS opinions_redirected,
       coalesce(o.assigned, 0) AS opinions_assigned,
       coalesce(o.closed, 0) AS opinions_closed,
       coalesce(o.satisfied, 0) AS opinions_satisfied,
       coalesce(l.leads, 0) AS proposal_leads,
       coalesce(rep.reports, 0) AS reports_to_voters,
       ev.rating AS latest_rating
FROM deputies dep
JOIN years y ON y.deputy_id = dep.deputy_id
LEFT JOIN v ON v.deputy_id = y.deputy_id AND v.year = y.year
LEFT JOIN online ON online.deputy_id = y.deputy_id AND online.year = y.year
LEFT JOIN r ON r.deputy_id = y.deputy_id AND r.year = y.year
LEFT JOIN a ON a.deputy_id = y.deputy_id AND a.year = y.year
LEFT JOIN c ON c.deputy_id = y.deputy_id AND c.year = y.year
LEFT JOIN o ON o.deputy_id = y.deputy_id AND o.year = y.year
LEFT JOIN l ON l.deputy_id = y.deputy_id AND l.year = y.year
LEFT JOIN rep ON rep.deputy_id = y.deputy_id AND rep.year = y.year
LEFT JOIN ev ON ev.deputy_id = y.deputy_id AND ev.year = y.year;
