-- Secondary indexes, built after the bulk load (cheaper than maintaining them per row).
CREATE INDEX IF NOT EXISTS accounting_transactions_date_idx ON accounting_transactions (entry_date);
CREATE INDEX IF NOT EXISTS accounting_transactions_account_idx ON accounting_transactions (account_id, entry_date);
