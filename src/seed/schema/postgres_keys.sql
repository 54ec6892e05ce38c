-- Applied once, right after the journal table was created and bulk-loaded.
SET LOCAL maintenance_work_mem = '256MB';
ALTER TABLE accounting_transactions
    ADD CONSTRAINT accounting_transactions_pkey PRIMARY KEY (id),
    ADD CONSTRAINT accounting_transactions_line_key UNIQUE (transaction_id, line_no),
    ADD CONSTRAINT accounting_transactions_account_fkey
        FOREIGN KEY (account_id) REFERENCES chart_of_accounts (id),
    ADD CONSTRAINT accounting_transactions_department_fkey
        FOREIGN KEY (department_id) REFERENCES departments (id);
CREATE INDEX accounting_transactions_date_idx ON accounting_transactions (entry_date);
CREATE INDEX accounting_transactions_account_idx ON accounting_transactions (account_id, entry_date);
