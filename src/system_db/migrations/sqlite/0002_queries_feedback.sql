-- What users asked, the SQL the engine generated, and their feedback on it.
CREATE TABLE queries (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER REFERENCES users (id) ON DELETE SET NULL,
    question      TEXT NOT NULL CHECK (length(question) > 0),
    generated_sql TEXT,
    status        TEXT NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'success', 'error', 'rejected')),
    error_message TEXT,
    duration_ms   INTEGER CHECK (duration_ms >= 0),
    row_count     INTEGER CHECK (row_count >= 0),
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX queries_user_created_idx ON queries (user_id, created_at);
CREATE INDEX queries_status_created_idx ON queries (status, created_at);

CREATE TABLE feedback (
    id            INTEGER PRIMARY KEY,
    query_id      INTEGER NOT NULL REFERENCES queries (id) ON DELETE CASCADE,
    user_id       INTEGER REFERENCES users (id) ON DELETE SET NULL,
    rating        INTEGER NOT NULL CHECK (rating IN (-1, 1)),
    comment       TEXT,
    corrected_sql TEXT,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (query_id, user_id)
);
CREATE INDEX feedback_user_idx ON feedback (user_id);
