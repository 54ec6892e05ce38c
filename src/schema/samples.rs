//! Sample values for the knowledge base: the most frequent short text values of a table's text
//! columns (`degree summary name: Bachelor, Master, PHD`) and the ranges of its numeric columns
//! (`year: 1970 to 1982`), which tell the embedding what the rows are about. They end up in the
//! vector store and in the app's LLM prompt, so tables and columns whose names suggest secrets or
//! personal data are never read, a value is shown only when at least two rows hold it, and
//! TRAIN_SAMPLE_VALUES=false turns it all off.

use super::words::{phrase, relation_phrase, singular, words};
use super::{Column, SchemaObject};

/// What an item shows of a table's data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Samples {
    /// `(column, values)`, most frequent first, in column order.
    pub values: Vec<(String, Vec<String>)>,
    /// `(column, min, max)` of numeric columns, in column order.
    pub ranges: Vec<(String, String, String)>,
}

/// Values per column.
pub const PER_COLUMN: usize = 3;
/// A value is shown only when this many of the rows read hold it: a value of a single row says
/// nothing about the column (the "most frequent" of all-distinct values are just the first in
/// value order) and can single out one person.
pub const MIN_COUNT: usize = 2;
/// A value is shown only when this short (characters).
pub const MAX_VALUE_CHARS: usize = 30;
/// A column with any value longer than this is free text, not a category: not sampled.
pub const MAX_COLUMN_CHARS: usize = 60;
/// Rows read per column, so a large table costs a bounded scan.
pub const ROW_LIMIT: usize = 10_000;
/// Candidates fetched per column before the filters in `pick`.
pub const CANDIDATES: usize = 50;

/// Words that mark a column as secret or personal.
const SENSITIVE: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "pass",
    "passphrase",
    "hash",
    "hashed",
    "digest",
    "token",
    "secret",
    "salt",
    "credential",
    "credentials",
    "apikey",
    "key",
    "ssn",
    "sin",
    "email",
    "mail",
    "phone",
    "telephone",
    "tel",
    "mobile",
    "cell",
    "fax",
    "iban",
    "bic",
    "swift",
    "card",
    "cvv",
    "cvc",
    "pin",
    "passport",
    "license",
    "licence",
    "dob",
    "birth",
    "birthday",
    "birthdate",
    "salary",
    "wage",
    "ip",
    "address",
    "street",
    "zip",
    "postcode",
    "postal",
    "login",
    "username",
    "surname",
    "lastname",
    "firstname",
    "nickname",
    "social",
    "tax",
    "national",
    "health",
    "medical",
    "gender",
    "sex",
    "religion",
    "ethnicity",
];

/// Words that, before `name`, make it a person's name (`first_name`, `LastName`).
const PERSON_NAME: &[&str] = &[
    "first", "last", "middle", "full", "given", "family", "maiden", "nick", "person", "customer",
    "employee", "owner", "student", "contact", "staff",
];

/// Whether a column's or table's name suggests a secret or personal data (plurals count:
/// `Addresses`, `api_keys`).
pub fn is_sensitive(name: &str) -> bool {
    let w = words(name);
    w.iter()
        .any(|x| SENSITIVE.contains(&x.as_str()) || SENSITIVE.contains(&singular(x).as_str()))
        || w.windows(2)
            .any(|p| p[1] == "name" && PERSON_NAME.contains(&p[0].as_str()))
}

/// Text that stands for a missing value (Spider's `cars_data.MPG` holds the string `null`).
const NO_VALUE: &[&str] = &["null", "none", "nil", "nan", "n/a", "na", "unknown"];

/// Whether a column's declared type holds short text worth sampling (not numbers, dates,
/// booleans, binary, JSON or free text types).
pub fn is_text_type(data_type: &str) -> bool {
    let t = data_type.to_ascii_lowercase();
    let texty = ["char", "text", "clob", "string", "enum", "citext", "set("]
        .iter()
        .any(|k| t.contains(k));
    let excluded = [
        "date", "time", "bool", "blob", "binary", "json", "uuid", "xml", "long", "medium", "array",
        "[]",
    ]
    .iter()
    .any(|k| t.contains(k));
    texty && !excluded
}

/// Whether a column's declared type is a number (`INTEGER`, `numeric(10,2)`, `double precision`);
/// by its first word, so `interval` or `point` are not, nor arrays of numbers.
pub fn is_numeric_type(data_type: &str) -> bool {
    let t = data_type.to_ascii_lowercase();
    if t.contains("[]") || t.contains("array") {
        return false;
    }
    let first = t
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or("");
    [
        "int",
        "integer",
        "bigint",
        "smallint",
        "tinyint",
        "mediumint",
        "int2",
        "int4",
        "int8",
        "real",
        "float",
        "float4",
        "float8",
        "double",
        "numeric",
        "decimal",
        "dec",
        "number",
    ]
    .contains(&first)
}

/// Whether a table's data is read at all: not when its name suggests secrets or personal data
/// (the columns of `Addresses` are `line_1`, `city` …, names that do not say it themselves).
pub fn wanted_table(table: &str) -> bool {
    !is_sensitive(table)
}

/// Whether a column's values are sampled.
pub fn wanted(c: &Column) -> bool {
    is_text_type(&c.data_type) && !is_sensitive(&c.name)
}

/// Whether a column's range is shown: a number that is no key (primary key, foreign key, or a
/// name ending in `id`/`code`/`no`/`number`: their range says nothing) and not sensitive.
pub fn wanted_range(table: &SchemaObject, c: &Column) -> bool {
    is_numeric_type(&c.data_type)
        && !is_sensitive(&c.name)
        && c.primary_key.is_none()
        && !table
            .foreign_keys
            .iter()
            .any(|fk| fk.columns.contains(&c.name))
        && relation_phrase(&c.name) == phrase(&c.name)
}

/// The values to show from `(value, count)` candidates in descending frequency: 1–30 characters,
/// at least one letter, not a stand-in for no value (`null`), control characters turned into spaces.
pub fn pick(candidates: Vec<String>) -> Vec<String> {
    candidates
        .into_iter()
        .map(|v| {
            v.chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect::<String>()
                .trim()
                .to_string()
        })
        .filter(|v| {
            let n = v.chars().count();
            (1..=MAX_VALUE_CHARS).contains(&n)
                && v.chars().any(char::is_alphabetic)
                && !NO_VALUE.iter().any(|x| x.eq_ignore_ascii_case(v))
        })
        .take(PER_COLUMN)
        .collect()
}

/// A range bound as the header shows it: decimals without trailing zeros (`98.0000` → `98`,
/// `2.50` → `2.5`), so PostgreSQL's and MySQL's fixed-scale `numeric` reads like SQLite's numbers.
pub fn tidy_number(v: &str) -> String {
    let v = v.trim();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match v.trim_start_matches('-').split_once('.') {
        Some((int, frac)) if digits(int) && digits(frac) => {
            v.trim_end_matches('0').trim_end_matches('.').to_string()
        }
        _ => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_bounds_lose_trailing_decimal_zeros_only() {
        for (raw, shown) in [
            ("98.0000", "98"),
            ("2.50", "2.5"),
            ("-0.500", "-0.5"),
            ("100", "100"),
            ("1000.0", "1000"),
            ("1e10", "1e10"),
            ("12.3.0", "12.3.0"),
            ("NaN", "NaN"),
        ] {
            assert_eq!(tidy_number(raw), shown, "{raw}");
        }
    }

    #[test]
    fn secrets_and_personal_data_are_never_sampled() {
        for c in [
            "password_hash",
            "PasswordHash",
            "api_token",
            "email_address",
            "cell_mobile_number",
            "ssn",
            "first_name",
            "LastName",
            "date_of_birth",
            "home_phone",
            "Addresses",
            "api_keys",
        ] {
            assert!(is_sensitive(c), "{c}");
        }
        for c in [
            "degree_summary_name",
            "breed_name",
            "Country",
            "status",
            "product_name",
            "Students",
            "status",
        ] {
            assert!(!is_sensitive(c), "{c}");
        }
        assert!(!wanted_table("Addresses") && wanted_table("Degree_Programs"));
    }

    #[test]
    fn ranges_only_for_numbers_that_are_no_keys() {
        use crate::schema::{ForeignKey, ObjectKind};
        let col = |name: &str, t: &str, pk: Option<u32>| Column {
            name: name.into(),
            data_type: t.into(),
            not_null: false,
            default: None,
            primary_key: pk,
        };
        let t = SchemaObject {
            kind: ObjectKind::Table,
            name: "cars_data".into(),
            columns: vec![],
            foreign_keys: vec![ForeignKey {
                columns: vec!["maker".into()],
                references_table: "makers".into(),
                references_columns: vec![],
            }],
            indexes: vec![],
            ddl: String::new(),
            sql_name: "cars_data".into(),
        };
        for (c, want) in [
            (col("Year", "INTEGER", None), true),
            (col("weight", "numeric(10,2)", None), true),
            (col("accelerate", "double precision", None), true),
            (col("id", "INTEGER", Some(1)), false),
            (col("maker", "INTEGER", None), false),
            (col("size_code", "INTEGER", None), false),
            (col("salary", "DECIMAL(19,4)", None), false),
            (col("model", "TEXT", None), false),
            (col("wait", "interval", None), false),
            (col("spot", "point", None), false),
            (col("scores", "integer[]", None), false),
        ] {
            assert_eq!(wanted_range(&t, &c), want, "{}", c.name);
        }
    }

    #[test]
    fn only_short_text_types() {
        for t in [
            "VARCHAR(80)",
            "TEXT",
            "nvarchar(40)",
            "character varying",
            "enum('a','b')",
        ] {
            assert!(is_text_type(t), "{t}");
        }
        for t in [
            "INTEGER", "DATETIME", "date", "BOOLEAN", "BLOB", "jsonb", "", "longtext", "REAL",
        ] {
            assert!(!is_text_type(t), "{t}");
        }
    }

    #[test]
    fn values_are_short_and_not_only_digits() {
        let got = pick(vec![
            "12345".into(),
            "".into(),
            "2018-03-01".into(),
            "Bachelor".into(),
            "a value that is much longer than thirty characters".into(),
            "Mas\nter".into(),
            "PHD".into(),
            "NULL".into(),
            "Other".into(),
        ]);
        assert_eq!(got, vec!["Bachelor", "Mas ter", "PHD"]);
    }
}
