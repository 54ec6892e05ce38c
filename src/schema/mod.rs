//! The target database's schema: tables and views with columns, keys and indexes, and one DDL text
//! per object (what the knowledge base stores). Read from the golden copy (SQLite, read-only) or from
//! an external PostgreSQL, MySQL or MariaDB target when ENABLE_TARGET_DB is true.

pub mod inline_fk;
mod mysql;
mod postgres;
pub mod read_only;
pub mod samples;
mod sqlite;
pub mod unquote;
pub mod words;

use crate::config::{mask_url, Settings};
use anyhow::{Context, Result};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Table,
    View,
    MaterializedView,
}

impl ObjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Table => "table",
            ObjectKind::View => "view",
            ObjectKind::MaterializedView => "materialized view",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub name: String,
    pub data_type: String,
    pub not_null: bool,
    pub default: Option<String>,
    /// Position in the primary key (1-based), if part of it.
    pub primary_key: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ForeignKey {
    pub columns: Vec<String>,
    pub references_table: String,
    pub references_columns: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SchemaObject {
    pub kind: ObjectKind,
    /// Qualified where the database has schemas (`sales.orders`), else the plain name.
    pub name: String,
    pub columns: Vec<Column>,
    pub foreign_keys: Vec<ForeignKey>,
    pub indexes: Vec<String>,
    /// The CREATE statement, followed by its CREATE INDEX statements, with needless identifier
    /// quotes removed (checked to mean the same).
    pub ddl: String,
    /// How SQL names it (quoted where needed, schema-qualified outside `public`; always
    /// backtick-quoted for MySQL).
    pub sql_name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Schema {
    /// `sqlite:<path>` or the masked PostgreSQL / MySQL URL.
    pub source: String,
    pub objects: Vec<SchemaObject>,
    /// Internal objects left out, e.g. `sqlite_sequence`.
    pub skipped: Vec<String>,
}

/// A connection to the target database, for schema reading and for checking SQL with EXPLAIN.
pub enum Target {
    Sqlite {
        conn: rusqlite::Connection,
        path: std::path::PathBuf,
    },
    Postgres {
        client: ::postgres::Client,
        url: String,
    },
    Mysql {
        conn: ::mysql::Conn,
        url: String,
    },
}

impl Target {
    /// The configured target when ENABLE_TARGET_DB (+ TARGET_DATABASE_URL): MySQL/MariaDB for
    /// `mysql://` / `mariadb://` URLs, else PostgreSQL; without it the golden copy.
    pub fn open(settings: &Settings) -> Result<Target> {
        match (&settings.enable_target_db, &settings.target_database_url) {
            (true, Some(url)) if mysql::is_mysql_url(url) => Ok(Target::Mysql {
                conn: mysql::connect(url)?,
                url: mask_url(url),
            }),
            (true, Some(url)) => Ok(Target::Postgres {
                client: postgres::connect(url)?,
                url: mask_url(url),
            }),
            _ => Ok(Target::Sqlite {
                conn: crate::target::open_target(settings)?,
                path: settings.target_db_path.clone(),
            }),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Target::Sqlite { path, .. } => format!("sqlite:{}", path.display()),
            Target::Postgres { url, .. } | Target::Mysql { url, .. } => url.clone(),
        }
    }

    pub fn schema(&mut self) -> Result<Schema> {
        let source = self.describe();
        match self {
            Target::Sqlite { conn, .. } => sqlite::extract(conn, source),
            Target::Postgres { client, .. } => postgres::extract(client, source),
            Target::Mysql { conn, .. } => mysql::extract(conn, source),
        }
        .with_context(|| {
            format!(
                "cannot read the schema of the target database {}",
                self.describe()
            )
        })
    }

    /// What the item of a table shows of its data (see `samples`): up to 3 frequent short text
    /// values per sampled column and the ranges of its numeric columns, in column order; columns
    /// without such values are left out, and so is all of a table whose name is sensitive.
    pub fn samples(&mut self, object: &SchemaObject) -> Result<samples::Samples> {
        let mut out = samples::Samples::default();
        if !samples::wanted_table(&object.name) {
            return Ok(out);
        }
        for c in &object.columns {
            if samples::wanted(c) {
                let candidates = match self {
                    Target::Sqlite { conn, .. } => sqlite::sample(conn, &object.sql_name, &c.name),
                    Target::Postgres { client, .. } => {
                        postgres::sample(client, &object.sql_name, &c.name)
                    }
                    Target::Mysql { conn, .. } => mysql::sample(conn, &object.sql_name, &c.name),
                }
                .with_context(|| self.sample_context(object, c))?;
                let values = candidates.map(samples::pick).unwrap_or_default();
                if !values.is_empty() {
                    out.values.push((c.name.clone(), values));
                }
            } else if samples::wanted_range(object, c) {
                let range = match self {
                    Target::Sqlite { conn, .. } => sqlite::range(conn, &object.sql_name, &c.name),
                    Target::Postgres { client, .. } => {
                        postgres::range(client, &object.sql_name, &c.name)
                    }
                    Target::Mysql { conn, .. } => mysql::range(conn, &object.sql_name, &c.name),
                }
                .with_context(|| self.sample_context(object, c))?;
                if let Some((lo, hi)) = range {
                    let (lo, hi) = (samples::tidy_number(&lo), samples::tidy_number(&hi));
                    out.ranges.push((c.name.clone(), lo, hi));
                }
            }
        }
        Ok(out)
    }

    /// The server's version string (SQLite's library version for the golden copy).
    pub fn server_version(&mut self) -> Result<String> {
        match self {
            Target::Sqlite { .. } => Ok(format!("SQLite {}", rusqlite::version())),
            Target::Postgres { client, .. } => postgres::server_version(client),
            Target::Mysql { conn, .. } => mysql::server_version(conn),
        }
    }

    fn sample_context(&self, object: &SchemaObject, c: &Column) -> String {
        format!(
            "cannot read sample values of {}.{} from the target database {}",
            object.name,
            c.name,
            self.describe()
        )
    }

    /// SQL dialect of the target, for [`read_only::check`].
    pub fn dialect(&self) -> read_only::Dialect {
        match self {
            Target::Sqlite { .. } => read_only::Dialect::Sqlite,
            Target::Postgres { .. } => read_only::Dialect::Postgres,
            Target::Mysql { .. } => read_only::Dialect::Mysql,
        }
    }

    /// Compile a training query against the target without running it, and take the database's
    /// verdict on whether it only reads. `Err`: it does not compile.
    pub fn check_query(&mut self, sql: &str) -> Result<Verdict> {
        let sql = sql.trim().trim_end_matches(';').trim_end();
        match self {
            Target::Sqlite { conn, .. } => sqlite::check_query(conn, sql),
            Target::Postgres { client, .. } => postgres::check_query(client, sql),
            Target::Mysql { conn, .. } => mysql::check_query(conn, sql),
        }
    }
}

/// The target database's word on a query that compiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    ReadOnly,
    /// It would write; the database's reason.
    Writes(String),
}

/// `"name"` quoting for identifiers inside generated text.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
