-- The morning patrol: per-team schedule and owner, custom checklist steps, each day's
-- checklist as a snapshot with its ticks, and half-given answers (N/A reasons, issue notes).

-- Set by /patrol schedule and /patrol owner; a value here wins over the configuration file.
CREATE TABLE patrol_settings (
    team_id     INTEGER PRIMARY KEY REFERENCES teams(id),
    at          TEXT,                 -- HH:MM
    days        TEXT,                 -- canonical, e.g. mon-fri
    deadline    TEXT,                 -- HH:MM
    owner_id    INTEGER,              -- NULL: a rotation among the team's leads
    updated_at  TEXT NOT NULL
);

-- A team's own checklist; a team without rows uses the default ten steps.
CREATE TABLE patrol_steps (
    id          INTEGER PRIMARY KEY,
    team_id     INTEGER NOT NULL REFERENCES teams(id),
    position    INTEGER NOT NULL,
    kind        TEXT NOT NULL DEFAULT 'check' CHECK (kind IN ('check', 'logins')),
    title       TEXT NOT NULL,
    check_text  TEXT NOT NULL DEFAULT '',
    fix_text    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX patrol_steps_by_team ON patrol_steps(team_id, position);

-- One team's patrol of one local day. The unique key is what makes "never twice" hold.
CREATE TABLE patrols (
    id             INTEGER PRIMARY KEY,
    team_id        INTEGER NOT NULL REFERENCES teams(id),
    local_date     TEXT NOT NULL,        -- YYYY-MM-DD in the team's zone
    chat_id        INTEGER NOT NULL REFERENCES chats(chat_id) ON UPDATE CASCADE,
    owner_id       INTEGER,
    starts_at      TEXT NOT NULL,
    deadline_at    TEXT NOT NULL,
    posted_at      TEXT NOT NULL,
    posted_late    INTEGER NOT NULL DEFAULT 0,
    message_id     INTEGER,              -- the live checklist message
    stores_message_id INTEGER,           -- step 1's stores, when they need a message of their own
    completed_at   TEXT,
    completed_by   INTEGER,
    reminded_at    TEXT,
    escalated_at   TEXT,                 -- set when the deadline passed unfinished (late)
    UNIQUE (team_id, local_date)
);

-- The day's checklist, copied from the steps when it was posted: editing steps never
-- rewrites history. Step 1 (account logins) has one row per store.
CREATE TABLE patrol_items (
    id           INTEGER PRIMARY KEY,
    patrol_id    INTEGER NOT NULL REFERENCES patrols(id),
    position     INTEGER NOT NULL,
    kind         TEXT NOT NULL,
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
CREATE INDEX patrol_items_by_patrol ON patrol_items(patrol_id, position);

-- An answer being given: an N/A reason or an issue's note and severity, by one person.
CREATE TABLE patrol_answers (
    chat_id            INTEGER NOT NULL REFERENCES chats(chat_id) ON UPDATE CASCADE ON DELETE CASCADE,
    user_id            INTEGER NOT NULL,
    item_id            INTEGER NOT NULL REFERENCES patrol_items(id),
    kind               TEXT NOT NULL CHECK (kind IN ('na', 'issue')),
    note               TEXT,
    prompt_message_id  INTEGER,
    expires_at         TEXT NOT NULL,
    PRIMARY KEY (chat_id, user_id)
);
