//! Every configuration variable vannactl reads: name, kind, defaults per profile, help.
//! `.env.example`, docs/configuration.md and `vannactl config` are all driven by this one table.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarKind {
    Bool,
    Count,
    Path,
    /// A URL that may carry a password (masked for display).
    Url,
    Text,
    /// Shown only as set/unset.
    Secret,
}

#[derive(Debug)]
pub struct VarSpec {
    pub name: &'static str,
    pub kind: VarKind,
    pub development: &'static str,
    pub production: &'static str,
    pub help: &'static str,
}

const fn var(
    name: &'static str,
    kind: VarKind,
    development: &'static str,
    production: &'static str,
    help: &'static str,
) -> VarSpec {
    VarSpec {
        name,
        kind,
        development,
        production,
        help,
    }
}

use VarKind::*;

pub const VARS: &[VarSpec] = &[
    var("APP_ENV", Text, "development", "production", "Profile that selects the defaults below: development or production"),
    var("DATABASE_URL", Url, "sqlite://data/system.db", "sqlite://data/system.db", "System DB: postgres://user:pass@host:port/db or sqlite://path"),
    var("ENABLE_TARGET_DB", Bool, "false", "true", "Use an external target database (TARGET_DATABASE_URL) instead of the SQLite golden copy"),
    var("TARGET_DATABASE_URL", Url, "", "", "External target database URL, read-only: postgres://... or mysql://... (MySQL/MariaDB); used when ENABLE_TARGET_DB is true"),
    var("TARGET_DB_SOURCE", Path, "assets/databases/vanna_db.db", "assets/databases/vanna_db.db", "Original target SQLite database (golden source, never modified)"),
    var("TARGET_DB_PATH", Path, "data/vanna_db.db", "data/vanna_db.db", "Verified read-only runtime copy of the target database"),
    var("AUTO_TRAIN_CHROMA", Bool, "false", "true", "Let init train the knowledge base"),
    var("SEED_DEMO_DATA", Bool, "true", "false", "Create and fill the demo tables (accounting_transactions, ...)"),
    var("INIT_ADMIN_USERNAME", Text, "admin", "", "Admin user created once by init"),
    var("INIT_ADMIN_PASSWORD", Secret, "", "", "Admin password (bcrypt-hashed; production enforces the password policy)"),
    var("BACKUP_DIR", Path, "backups", "backups", "Where backup archives are written"),
    var("BACKUP_KEEP_LAST", Count, "", "", "Retention after a complete, verified backup (restic forget rules, local time, TZ): keep the newest N archives; all BACKUP_KEEP_* empty: the newest BACKUP_RETENTION_COUNT (7)"),
    var("BACKUP_KEEP_HOURLY", Count, "", "", "Keep the newest archive of each of the last N hours that have one"),
    var("BACKUP_KEEP_DAILY", Count, "", "", "Keep the newest archive of each of the last N days that have one"),
    var("BACKUP_KEEP_WEEKLY", Count, "", "", "Keep the newest archive of each of the last N ISO weeks that have one"),
    var("BACKUP_KEEP_MONTHLY", Count, "", "", "Keep the newest archive of each of the last N months that have one"),
    var("BACKUP_KEEP_YEARLY", Count, "", "", "Keep the newest archive of each of the last N years that have one"),
    var("BACKUP_RETENTION_COUNT", Count, "7", "7", "Older name of BACKUP_KEEP_LAST (both set: they must agree); its default 7 applies only when no BACKUP_KEEP_* is set"),
    var("BACKUP_STAGE_DIR", Path, "", "", "Local folder for snapshots and staging when BACKUP_DIR is s3:// (default: data/backup-stage next to LOCK_PATH)"),
    var("BACKUP_AGE_RECIPIENTS", Text, "", "", "age X25519 public keys (age1...), comma or space separated: archives are encrypted to them"),
    var("BACKUP_AGE_RECIPIENTS_FILE", Path, "", "", "File of age public keys, one a line (# comments): archives are encrypted to them"),
    var("BACKUP_AGE_IDENTITY_FILE", Path, "", "", "age identity file (AGE-SECRET-KEY-1...) that verify, list and restore decrypt with"),
    var("AWS_ACCESS_KEY_ID", Secret, "", "", "S3 access key for an s3:// BACKUP_DIR (environment or .env only)"),
    var("AWS_SECRET_ACCESS_KEY", Secret, "", "", "S3 secret key for an s3:// BACKUP_DIR (environment or .env only)"),
    var("AWS_SESSION_TOKEN", Secret, "", "", "S3 session token (temporary credentials), optional"),
    var("RESTIC_PASSWORD_FILE", Path, "", "", "File holding the password of a restic: BACKUP_DIR (passed to restic; environment or .env)"),
    var("RESTIC_PASSWORD_COMMAND", Secret, "", "", "Command printing the password of a restic: BACKUP_DIR (passed to restic)"),
    var("RESTIC_PASSWORD", Secret, "", "", "Password of a restic: BACKUP_DIR (passed to restic; prefer RESTIC_PASSWORD_FILE)"),
    var("AWS_REGION", Text, "us-east-1", "us-east-1", "S3 region (signing; the AWS endpoint when AWS_ENDPOINT_URL is empty)"),
    var("AWS_ENDPOINT_URL", Url, "", "", "S3-compatible server (http(s)://host:port) instead of AWS"),
    var("AWS_CA_BUNDLE", Path, "", "", "PEM file of CA certificates trusted for an https:// S3 endpoint, in addition to the system store and SSL_CERT_FILE"),
    var("AWS_S3_FORCE_PATH_STYLE", Bool, "false", "false", "Address buckets as endpoint/bucket (most non-AWS servers) instead of bucket.endpoint"),
    var("CHROMA_URL", Url, "", "", "ChromaDB server (http://host:port); wins over CHROMA_PATH when both are set"),
    var("CHROMA_TENANT", Text, "default_tenant", "default_tenant", "Chroma tenant"),
    var("CHROMA_DATABASE", Text, "default_database", "default_database", "Chroma database"),
    var("CHROMA_AUTH_TOKEN", Secret, "", "", "Chroma auth token (sent as a bearer token)"),
    var("CHROMA_PATH", Path, "data/chroma", "data/chroma", "Chroma persistent directory (what the app's PersistentClient(path=...) opens) that train writes when CHROMA_URL is empty"),
    var("KNOWLEDGE_DB_PATH", Path, "data/knowledge.db", "data/knowledge.db", "vannactl's former knowledge store file: converted into CHROMA_PATH on first use, kept as .bak until the next verified backup"),
    var("TRAIN_SAMPLE_VALUES", Bool, "true", "true", "Put sample values into DDL items: up to 3 short text values per column that at least two rows share, and numeric columns' ranges (never for tables or columns named like secrets or personal data)"),
    var("EMBEDDING_MODEL_DIR", Path, "", "", "Folder with all-MiniLM-L6-v2 (config.json, tokenizer.json, model.safetensors); default: the user cache"),
    var("HF_ENDPOINT", Url, "", "", "Hugging Face hub (or mirror) the model is fetched from when missing (huggingface_hub's variable); empty = https://huggingface.co"),
    var("HF_HUB_OFFLINE", Bool, "false", "false", "Never fetch the model (huggingface_hub's variable); a missing model is then an error with the offline recipe"),
    var("ONTOLOGY_DIR", Path, "ontology", "ontology", "Business ontology YAML files and training pairs"),
    var("REDIS_URL", Url, "", "", "Redis server for `health` (redis://[user:pass@]host:port[/db]); empty = no Redis check"),
    var("SSL_CERT_FILE", Path, "", "", "PEM file of CA certificates trusted for https:// Chroma and S3 and rediss:// Redis, in addition to the system store (a private CA)"),
    var("LOG_DIR", Path, "logs", "logs", "Log file folder"),
    var("METRICS_FILE", Path, "", "", "Prometheus textfile (node_exporter textfile collector) every run merges its metrics into; empty = none"),
    var("LOCK_PATH", Path, "data/vannactl.lock", "data/vannactl.lock", "Lock file: one writing operation at a time (init, golden-copy, train, backup, restore)"),
];

pub fn spec(name: &str) -> Option<&'static VarSpec> {
    VARS.iter().find(|v| v.name == name)
}
