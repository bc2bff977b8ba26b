-- Chats, teams, people, roles, duty, claim codes and private contact details.
-- Every table keyed by a chat refers to chats(chat_id) ON UPDATE CASCADE, so that when a
-- group is upgraded to a supergroup one UPDATE moves everything to the new id.

CREATE TABLE teams (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
    created_at  TEXT NOT NULL
);

CREATE TABLE chats (
    chat_id     INTEGER PRIMARY KEY,
    chat_type   TEXT NOT NULL,                 -- private, group, supergroup, channel
    title       TEXT,
    language    TEXT,                          -- NULL: the configured default
    binding     TEXT CHECK (binding IN ('team', 'ops')),
    team_id     INTEGER REFERENCES teams(id) ON DELETE SET NULL,
    active      INTEGER NOT NULL DEFAULT 1,    -- 0 once the bot was removed
    bound_by    INTEGER,
    bound_at    TEXT,
    updated_at  TEXT NOT NULL,
    CHECK ((binding = 'team') = (team_id IS NOT NULL))
);

-- One live group per team, one live cross-department group.
CREATE UNIQUE INDEX chats_one_group_per_team ON chats(team_id) WHERE binding = 'team' AND active = 1;
CREATE UNIQUE INDEX chats_one_ops_group ON chats(binding) WHERE binding = 'ops' AND active = 1;

CREATE TABLE people (
    user_id         INTEGER PRIMARY KEY,
    first_name      TEXT NOT NULL,
    last_name       TEXT,
    username        TEXT,
    language_code   TEXT,
    started_private INTEGER NOT NULL DEFAULT 0, -- 1 once they wrote to the bot in private
    first_seen      TEXT NOT NULL,
    last_seen       TEXT NOT NULL
);
CREATE INDEX people_username ON people(username COLLATE NOCASE);

CREATE TABLE chat_members (
    chat_id     INTEGER NOT NULL REFERENCES chats(chat_id) ON UPDATE CASCADE ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES people(user_id),
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    PRIMARY KEY (chat_id, user_id)
);

-- Granted roles. The id orders grants, which the backup-supervisor rule relies on.
CREATE TABLE roles (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES people(user_id),
    role        TEXT NOT NULL CHECK (role IN ('agent', 'lead', 'supervisor', 'ops', 'it', 'admin', 'pr')),
    granted_by  INTEGER,
    granted_at  TEXT NOT NULL,
    UNIQUE (user_id, role)
);

-- The supervisor on duty for the whole floor: at most one row.
CREATE TABLE duty (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    user_id     INTEGER NOT NULL REFERENCES people(user_id),
    since       TEXT NOT NULL
);

-- One-time codes that let the first person become supervisor without knowing user ids.
CREATE TABLE claim_codes (
    code        TEXT PRIMARY KEY,
    created_at  TEXT NOT NULL,
    used_by     INTEGER,
    used_at     TEXT
);

CREATE TABLE phone_numbers (
    user_id     INTEGER PRIMARY KEY REFERENCES people(user_id),
    number      TEXT NOT NULL,                 -- E.164
    updated_at  TEXT NOT NULL
);

CREATE TABLE emergency_contacts (
    user_id       INTEGER PRIMARY KEY REFERENCES people(user_id),
    contact_name  TEXT NOT NULL,
    number        TEXT NOT NULL,               -- E.164
    updated_at    TEXT NOT NULL
);

-- Who read whose emergency contact, and when. Never the number itself.
CREATE TABLE emergency_contact_reads (
    id          INTEGER PRIMARY KEY,
    reader_id   INTEGER NOT NULL,
    subject_id  INTEGER NOT NULL,
    read_at     TEXT NOT NULL
);
