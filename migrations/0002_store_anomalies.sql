-- Stores, incidents with their timelines, the durable job queue behind every deadline, and
-- half-filled /anomaly forms.

CREATE TABLE stores (
    id          INTEGER PRIMARY KEY,
    team_id     INTEGER NOT NULL REFERENCES teams(id),
    platform    TEXT NOT NULL CHECK (platform IN ('taobao', 'tmall', 'jd', 'pdd', 'douyin', 'other')),
    name        TEXT NOT NULL COLLATE NOCASE,
    active      INTEGER NOT NULL DEFAULT 1,
    created_by  INTEGER,
    created_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX stores_one_name_per_team ON stores(team_id, name) WHERE active = 1;

CREATE TABLE incidents (
    id                INTEGER PRIMARY KEY,
    kind              TEXT NOT NULL,            -- store_anomaly, …
    severity          TEXT NOT NULL CHECK (severity IN ('blue', 'yellow', 'red')),
    team_id           INTEGER NOT NULL REFERENCES teams(id),
    store_id          INTEGER REFERENCES stores(id),
    anomaly_kind      TEXT,                     -- coupon, price, stock, page, other
    description       TEXT NOT NULL,
    reporter_id       INTEGER NOT NULL,
    reported_at       TEXT NOT NULL,
    report_chat_id    INTEGER REFERENCES chats(chat_id) ON UPDATE CASCADE,
    report_message_id INTEGER,                  -- the agent's own message
    team_chat_id      INTEGER REFERENCES chats(chat_id) ON UPDATE CASCADE,
    team_message_id   INTEGER,                  -- the bot's live message in the team group
    ops_chat_id       INTEGER REFERENCES chats(chat_id) ON UPDATE CASCADE,
    ops_message_id    INTEGER,                  -- the relay in the cross-department group
    acknowledged_at   TEXT,
    acknowledged_by   INTEGER,
    resolved_at       TEXT,
    resolved_by       INTEGER,
    resolution        TEXT
);
CREATE INDEX incidents_open ON incidents(store_id, anomaly_kind) WHERE resolved_at IS NULL;

-- The timeline of an incident. `detail` never holds a phone number.
CREATE TABLE incident_events (
    id           INTEGER PRIMARY KEY,
    incident_id  INTEGER NOT NULL REFERENCES incidents(id),
    at           TEXT NOT NULL,
    kind         TEXT NOT NULL,
    actor_id     INTEGER,
    subject_id   INTEGER,
    detail       TEXT
);
CREATE INDEX incident_events_by_incident ON incident_events(incident_id, id);

-- Which (person, action) an incident's escalation already did, so later steps repeat nothing.
CREATE TABLE escalation_done (
    incident_id  INTEGER NOT NULL REFERENCES incidents(id),
    person_id    INTEGER NOT NULL,
    action       TEXT NOT NULL,
    PRIMARY KEY (incident_id, person_id, action)
);

-- Everything with a deadline. A row is written in the same transaction as the event that
-- caused it; the runner claims due rows by changing their state, so none fires twice.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    incident_id  INTEGER REFERENCES incidents(id),
    step_index   INTEGER,
    person_id    INTEGER,
    payload      TEXT,
    due_at       TEXT NOT NULL,
    -- pending → running → done | failed | cancelled; calls: pending → placing → ringing → done | failed
    state        TEXT NOT NULL DEFAULT 'pending',
    attempts     INTEGER NOT NULL DEFAULT 0,
    call_sid     TEXT,
    repeated     INTEGER NOT NULL DEFAULT 0,   -- 1 when a restart may have repeated it
    last_error   TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX jobs_pending_by_due ON jobs(state, due_at);
CREATE INDEX jobs_by_incident ON jobs(incident_id, state);
CREATE INDEX jobs_calls_by_person ON jobs(person_id, kind, state);

-- A half-filled /anomaly: it belongs to one person in one chat, never to the chat alone.
CREATE TABLE anomaly_forms (
    chat_id            INTEGER NOT NULL REFERENCES chats(chat_id) ON UPDATE CASCADE ON DELETE CASCADE,
    user_id            INTEGER NOT NULL,
    store_id           INTEGER REFERENCES stores(id),
    anomaly_kind       TEXT,
    prompt_message_id  INTEGER,
    request_message_id INTEGER,
    expires_at         TEXT NOT NULL,
    PRIMARY KEY (chat_id, user_id)
);
