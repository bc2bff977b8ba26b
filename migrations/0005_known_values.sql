-- no-transaction
-- Every kind and state column accepts only the values the code knows: a typo in a query, or
-- a row written by a newer version, fails at once instead of being read as something else.
--
-- SQLite adds a CHECK only by rebuilding the table. Foreign keys are switched off for the
-- rebuild (the documented way: other tables keep naming `incidents`, which exists again once
-- the new table takes its name), and the whole rebuild is one transaction.

PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE incidents_new (
    id                INTEGER PRIMARY KEY,
    kind              TEXT NOT NULL CHECK (kind IN ('store_anomaly', 'patrol_issue', 'account_offline')),
    severity          TEXT NOT NULL CHECK (severity IN ('blue', 'yellow', 'red')),
    team_id           INTEGER NOT NULL REFERENCES teams(id),
    store_id          INTEGER REFERENCES stores(id),
    anomaly_kind      TEXT CHECK (anomaly_kind IN ('coupon', 'price', 'stock', 'page', 'other')),
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
INSERT INTO incidents_new SELECT * FROM incidents;
DROP TABLE incidents;
ALTER TABLE incidents_new RENAME TO incidents;
CREATE INDEX incidents_open ON incidents(store_id, anomaly_kind) WHERE resolved_at IS NULL;

CREATE TABLE incident_events_new (
    id           INTEGER PRIMARY KEY,
    incident_id  INTEGER NOT NULL REFERENCES incidents(id),
    at           TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN (
        'reported', 'joined', 'relayed', 'relay_failed', 'step', 'step_late', 'step_nobody',
        'private_sent', 'private_failed', 'mentioned', 'call_placed', 'call_answered',
        'call_failed', 'call_retry', 'call_no_number', 'call_no_provider', 'call_error',
        'call_cancelled', 'acknowledged', 'resolved')),
    actor_id     INTEGER,
    subject_id   INTEGER,
    detail       TEXT
);
INSERT INTO incident_events_new SELECT * FROM incident_events;
DROP TABLE incident_events;
ALTER TABLE incident_events_new RENAME TO incident_events;
CREATE INDEX incident_events_by_incident ON incident_events(incident_id, id);

CREATE TABLE escalation_done_new (
    incident_id  INTEGER NOT NULL REFERENCES incidents(id),
    person_id    INTEGER NOT NULL,
    action       TEXT NOT NULL CHECK (action IN ('call', 'private', 'mention')),
    PRIMARY KEY (incident_id, person_id, action)
);
INSERT INTO escalation_done_new SELECT * FROM escalation_done;
DROP TABLE escalation_done;
ALTER TABLE escalation_done_new RENAME TO escalation_done;

CREATE TABLE jobs_new (
    id               INTEGER PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN (
        'relay', 'confirm', 'step', 'private', 'mention', 'call', 'call_cancel', 'call_update',
        'refresh', 'notify_reporter', 'form_expiry', 'patrol_start', 'patrol_reminder',
        'patrol_deadline', 'patrol_refresh')),
    incident_id      INTEGER REFERENCES incidents(id),
    step_index       INTEGER,
    person_id        INTEGER,
    payload          TEXT,
    due_at           TEXT NOT NULL,
    -- pending → running → done | failed | cancelled; calls: pending → placing → ringing → done | failed
    state            TEXT NOT NULL DEFAULT 'pending' CHECK (state IN (
        'pending', 'running', 'placing', 'ringing', 'done', 'failed', 'cancelled')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    call_sid         TEXT,
    repeated         INTEGER NOT NULL DEFAULT 0,   -- 1 when a restart may have repeated it
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    attempted_at     TEXT,
    outcome_unknown  INTEGER NOT NULL DEFAULT 0
);
INSERT INTO jobs_new SELECT * FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_pending_by_due ON jobs(state, due_at);
CREATE INDEX jobs_by_incident ON jobs(incident_id, state);
CREATE INDEX jobs_calls_by_person ON jobs(person_id, kind, state);
CREATE INDEX jobs_by_call_sid ON jobs(call_sid) WHERE call_sid IS NOT NULL;

CREATE TABLE anomaly_forms_new (
    chat_id            INTEGER NOT NULL REFERENCES chats(chat_id) ON UPDATE CASCADE ON DELETE CASCADE,
    user_id            INTEGER NOT NULL,
    store_id           INTEGER REFERENCES stores(id),
    anomaly_kind       TEXT CHECK (anomaly_kind IN ('coupon', 'price', 'stock', 'page', 'other')),
    prompt_message_id  INTEGER,
    request_message_id INTEGER,
    expires_at         TEXT NOT NULL,
    PRIMARY KEY (chat_id, user_id)
);
INSERT INTO anomaly_forms_new SELECT * FROM anomaly_forms;
DROP TABLE anomaly_forms;
ALTER TABLE anomaly_forms_new RENAME TO anomaly_forms;

CREATE TABLE patrol_items_new (
    id           INTEGER PRIMARY KEY,
    patrol_id    INTEGER NOT NULL REFERENCES patrols(id),
    position     INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('check', 'logins')),
    title        TEXT NOT NULL,
    check_text   TEXT NOT NULL,
    fix_text     TEXT NOT NULL,
    store_id     INTEGER REFERENCES stores(id),
    state        TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'ok', 'issue', 'na', 'offline')),
    ticked_by    INTEGER,
    ticked_at    TEXT,
    note         TEXT,
    incident_id  INTEGER REFERENCES incidents(id)
);
INSERT INTO patrol_items_new SELECT * FROM patrol_items;
DROP TABLE patrol_items;
ALTER TABLE patrol_items_new RENAME TO patrol_items;
CREATE INDEX patrol_items_by_patrol ON patrol_items(patrol_id, position);

COMMIT;
PRAGMA foreign_keys = ON;
