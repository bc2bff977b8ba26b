-- The outbound lane and calls that stop when acknowledged.

-- What each live message shows, as a hash of its text and keyboard, so an edit is sent only
-- when it changes something — across restarts too.
CREATE TABLE live_messages (
    chat_id     INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    hash        TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (chat_id, message_id)
);

-- Whether the bot may delete messages in a group, as Telegram last told it (NULL: unknown,
-- which means no).
ALTER TABLE chats ADD COLUMN can_delete INTEGER;

-- Calls: when the last attempt to place one began, and whether its outcome is unknown (the
-- request may have reached the provider), so the next attempt looks before it calls again.
ALTER TABLE jobs ADD COLUMN attempted_at TEXT;
ALTER TABLE jobs ADD COLUMN outcome_unknown INTEGER NOT NULL DEFAULT 0;

-- The confirmation in the team group became a job of its own, so that the relay to
-- operations never waits for it. Relays still pending get their confirmation job.
INSERT INTO jobs (kind, incident_id, due_at, created_at, updated_at)
SELECT 'confirm', jobs.incident_id, jobs.due_at, jobs.created_at, jobs.updated_at
FROM jobs JOIN incidents ON incidents.id = jobs.incident_id
WHERE jobs.kind = 'relay' AND jobs.state IN ('pending', 'running')
  AND incidents.kind = 'store_anomaly' AND incidents.team_message_id IS NULL;

CREATE INDEX jobs_by_call_sid ON jobs(call_sid) WHERE call_sid IS NOT NULL;
