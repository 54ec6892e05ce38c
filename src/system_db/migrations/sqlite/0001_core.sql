-- Users, configuration, audit log and business ontology. Timestamps are RFC 3339 UTC text, JSON
-- is text checked with json_valid, booleans are 0/1.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 150),
    email         TEXT UNIQUE CHECK (email IS NULL OR instr(email, '@') > 1),
    password_hash TEXT NOT NULL CHECK (password_hash LIKE '$2_$%'),
    role          TEXT NOT NULL DEFAULT 'analyst' CHECK (role IN ('admin', 'analyst', 'viewer')),
    is_active     INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    last_login_at TEXT
);
CREATE INDEX users_role_idx ON users (role) WHERE is_active;

CREATE TABLE configurations (
    key         TEXT PRIMARY KEY CHECK (length(key) > 0),
    value       TEXT NOT NULL CHECK (json_valid(value)),
    description TEXT,
    updated_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE audit_logs (
    id          INTEGER PRIMARY KEY,
    occurred_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    actor       TEXT NOT NULL CHECK (length(actor) > 0),
    action      TEXT NOT NULL CHECK (length(action) > 0),
    resource    TEXT NOT NULL,
    details     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details)),
    outcome     TEXT NOT NULL CHECK (length(outcome) > 0)
);
CREATE INDEX audit_logs_occurred_at_idx ON audit_logs (occurred_at);
CREATE INDEX audit_logs_action_idx ON audit_logs (action, occurred_at);
CREATE INDEX audit_logs_actor_idx ON audit_logs (actor, occurred_at);

CREATE TABLE business_ontologies (
    id          INTEGER PRIMARY KEY,
    term        TEXT NOT NULL UNIQUE CHECK (length(term) > 0),
    definition  TEXT NOT NULL CHECK (length(definition) > 0),
    synonyms    TEXT NOT NULL DEFAULT '[]'
                CHECK (json_valid(synonyms) AND json_type(synonyms) = 'array'),
    category    TEXT,
    mappings    TEXT NOT NULL DEFAULT '[]'
                CHECK (json_valid(mappings) AND json_type(mappings) = 'array'),
    source_file TEXT,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX business_ontologies_category_idx ON business_ontologies (category);
