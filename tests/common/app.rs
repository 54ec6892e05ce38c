//! What the app does to the system DB `vannactl init` created, between a backup and a restore.

/// What the app does between a backup and a restore. Valid on both backends.
pub const APP_CHANGES: &str = "
    INSERT INTO users (username, email, password_hash, role)
      VALUES ('ann', 'ann@example.com', '$2b$12$C6UzMDM.H6dfI/f/IKcEeO5Ng6xkHkJ4UQyGH4uE3qFJQqQ0aDZ3a', 'analyst'),
             ('bob', NULL, '$2b$12$C6UzMDM.H6dfI/f/IKcEeO5Ng6xkHkJ4UQyGH4uE3qFJQqQ0aDZ3b', 'viewer');
    INSERT INTO queries (user_id, question, generated_sql, status, duration_ms, row_count)
      SELECT id, 'how many invoices?', 'SELECT count(*) FROM Invoice', 'success', 12, 1
      FROM users WHERE username = 'ann';
    INSERT INTO feedback (query_id, user_id, rating, comment)
      SELECT q.id, q.user_id, 1, 'right answer' FROM queries q WHERE q.question = 'how many invoices?';
    INSERT INTO audit_logs (actor, action, resource, details, outcome)
      VALUES ('app', 'login', 'users/ann', '{\"ip\": \"10.0.0.7\"}', 'success');
    INSERT INTO configurations (key, value, description)
      VALUES ('llm.model', '\"gpt-4o\"', 'chosen in the app');
    INSERT INTO business_ontologies (term, definition, synonyms, category, mappings)
      VALUES ('Churn', 'Customers lost in a period', '[\"attrition\"]', 'sales', '[]');
    UPDATE business_ontologies SET definition = 'changed by the app' WHERE term = 'Revenue';
    UPDATE users SET last_login_at = CURRENT_TIMESTAMP WHERE username = 'admin';
    DELETE FROM audit_logs WHERE action = 'init';
    DROP TABLE accounting_transactions;
";
