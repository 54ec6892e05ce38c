-- Demo tables (only with SEED_DEMO_DATA): a double-entry journal and the tables it refers to.
CREATE TABLE IF NOT EXISTS departments (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    cost_center TEXT NOT NULL UNIQUE
);

CREATE TABLE IF NOT EXISTS chart_of_accounts (
    id             INTEGER PRIMARY KEY,
    code           TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    account_type   TEXT NOT NULL
                   CHECK (account_type IN ('asset', 'liability', 'equity', 'revenue', 'expense')),
    normal_balance TEXT NOT NULL CHECK (normal_balance IN ('debit', 'credit'))
);

-- One row per journal line; the lines of a transaction_id balance (sum(debit) = sum(credit)).
-- Keys, foreign keys and indexes come after the first bulk load (postgres_keys.sql), as pgbench -i
-- does: building them once is far faster than maintaining them row by row.
CREATE TABLE IF NOT EXISTS accounting_transactions (
    id             BIGINT NOT NULL,
    transaction_id BIGINT NOT NULL,
    line_no        SMALLINT NOT NULL CHECK (line_no >= 1),
    entry_date     DATE NOT NULL,
    account_id     INTEGER NOT NULL,
    department_id  INTEGER,
    description    TEXT NOT NULL,
    reference      TEXT NOT NULL,
    debit          NUMERIC(14, 2) NOT NULL DEFAULT 0 CHECK (debit >= 0),
    credit         NUMERIC(14, 2) NOT NULL DEFAULT 0 CHECK (credit >= 0),
    CHECK ((debit > 0) <> (credit > 0))
);
