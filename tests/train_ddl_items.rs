//! The DDL items `vannactl train` writes (issue 9): a comment header in words (columns, relations
//! both ways, sample values) before DDL without needless quotes, Vanna ids, secrets never sampled,
//! and a changed table replacing its item in the same run.

mod common;
mod train_support;

use rusqlite::Connection;
use serde_json::Value;
use std::collections::BTreeMap;
use train_support::*;

/// source -> (id, document) of the stored DDL items.
fn ddl_items(sb: &Sandbox) -> BTreeMap<String, (String, String)> {
    sb.json(&["train", "list", "--collection", "ddl"], 0)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                // Items others wrote have no source.
                i["source"].as_str().unwrap_or("(others)").to_string(),
                (
                    i["id"].as_str().unwrap().to_string(),
                    i["document"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

/// The header lines and the DDL of an item.
fn split(doc: &str) -> (Vec<&str>, String) {
    let lines: Vec<&str> = doc.lines().collect();
    let n = lines.iter().take_while(|l| l.starts_with("-- ")).count();
    (lines[..n].to_vec(), lines[n..].join("\n"))
}

/// What SQLite reports about a table's columns (in order) and foreign keys (as a set: their order
/// follows where the statement declares them).
fn shape(c: &Connection, table: &str) -> (Vec<String>, Vec<String>) {
    let rows = |sql: &str| -> Vec<String> {
        let mut st = c.prepare(sql).unwrap();
        st.query_map([table], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let columns = rows(
        "SELECT name || '|' || type || '|' || \"notnull\" || '|' || ifnull(dflt_value, '-') || '|' || pk FROM pragma_table_xinfo(?1)",
    );
    let mut fks = rows(
        "SELECT \"table\" || '|' || \"from\" || '|' || ifnull(\"to\", '') || '|' || on_delete FROM pragma_foreign_key_list(?1)",
    );
    fks.sort();
    (columns, fks)
}

#[test]
fn items_have_a_header_in_words_and_ddl_that_means_the_same() {
    let sb = Sandbox::new("student_transcripts_tracking.sqlite");
    sb.json(&["train"], 0);
    let items = ddl_items(&sb);
    assert_eq!(items.len(), 11, "{items:?}");

    let (id, doc) = &items["schema:table Degree_Programs"];
    let (header, ddl) = split(doc);
    assert!(
        header[0].starts_with("-- Table \"Degree_Programs\": degree programs. Columns: degree summary name, degree summary description"),
        "{doc}"
    );
    assert!(
        header.contains(&"-- degree programs references departments (department)."),
        "{doc}"
    );
    assert!(
        header.contains(&"-- degree programs referenced by student enrolment."),
        "{doc}"
    );
    assert_eq!(header.last(), Some(&"-- degree programs table."), "{doc}");
    let samples = header
        .iter()
        .find(|l| l.starts_with("-- Sample values: "))
        .unwrap_or_else(|| panic!("no sample values in {doc}"));
    assert!(samples.contains("degree summary name: "), "{doc}");
    // Ids still follow Vanna's rule on the full text.
    assert_eq!(
        id,
        &vannactl::knowledge::items::vanna_id(doc, vannactl::knowledge::Collection::Ddl)
    );

    // Two FKs from Students to Addresses: one entry with both relation words.
    let (_, students) = &items["schema:table Students"];
    let line = students
        .lines()
        .find(|l| l.starts_with("-- students references addresses ("))
        .unwrap_or_else(|| panic!("{students}"));
    assert!(
        line.contains("current address") && line.contains("permanent address"),
        "{students}"
    );

    // The database quotes every name with backticks; none is needed, none is left, each foreign
    // key is on its column, and each DDL builds the same table as the original.
    let target = Connection::open(&sb.target).unwrap();
    let scratch = Connection::open_in_memory().unwrap();
    for (source, (_, doc)) in &items {
        let (_, ddl) = split(doc);
        assert!(
            !ddl.contains('`') && !ddl.contains("FOREIGN KEY"),
            "{source}: {ddl}"
        );
        scratch
            .execute_batch(&ddl)
            .unwrap_or_else(|e| panic!("{source}: {e}\n{ddl}"));
        let table = source.strip_prefix("schema:table ").unwrap();
        assert_eq!(shape(&scratch, table), shape(&target, table), "{source}");
    }
    assert!(ddl.starts_with("CREATE TABLE Degree_Programs ("), "{ddl}");
    assert!(
        ddl.contains("\ndepartment_id INTEGER NOT NULL REFERENCES Departments(department_id ),\n"),
        "{ddl}"
    );
}

#[test]
fn sample_values_skip_secrets_and_can_be_turned_off() {
    let sb = Sandbox::new("car_1.sqlite");
    Connection::open(&sb.target)
        .unwrap()
        .execute_batch(
            "CREATE TABLE app_users (id INTEGER PRIMARY KEY, email TEXT, password_hash TEXT, api_token VARCHAR(40),
                 first_name TEXT, role TEXT, bio TEXT, joined DATE, code TEXT, team TEXT, visits INTEGER,
                 salary DECIMAL(10,2), group_id INTEGER);
             INSERT INTO app_users VALUES
               (1, 'ann@example.com', 'hash-one', 'tok-one', 'Ann', 'admin', 'short', '2024-01-01', '100', 'north', 7, 91000, 1),
               (2, 'bob@example.com', 'hash-two', 'tok-two', 'Bob', 'analyst', printf('%.70c', 'x'), '2024-01-02', '200', 'south', 12, 52000, 2),
               (3, 'cy@example.com', 'hash-three', 'tok-three', 'Cy', 'analyst', 'b', '2024-01-03', '300', 'east', 3, 48000, 3);
             CREATE TABLE user_passwords (user_id INTEGER, kind TEXT, rotations INTEGER);
             INSERT INTO user_passwords VALUES (1, 'bcrypt', 2), (2, 'bcrypt', 5);",
        )
        .unwrap();
    sb.json(&["train"], 0);
    let items = ddl_items(&sb);
    let has_data = |d: &str| d.contains("-- Sample values: ") || d.contains("-- Value ranges: ");
    let sampled = items.values().filter(|(_, d)| has_data(d)).count();
    let (_, doc) = &items["schema:table app_users"];
    // Only values at least two rows hold (not `admin`, not any `team`); free text (a value over 60
    // characters), dates and digits-only skipped. Ranges of numbers that are no keys and not
    // sensitive.
    assert!(doc.contains("-- Sample values: role: analyst\n"), "{doc}");
    assert!(doc.contains("-- Value ranges: visits: 3 to 12\n"), "{doc}");
    for secret in [
        "example.com",
        "hash-",
        "tok-",
        "Ann",
        "short",
        "2024",
        "100",
        "admin",
        "north",
        "salary: ",
        "91000",
        "group id: ",
    ] {
        assert!(!doc.contains(secret), "{secret} leaked into {doc}");
    }
    // A table whose name is sensitive is not read at all, whatever its columns are called.
    let (_, passwords) = &items["schema:table user_passwords"];
    assert!(
        !has_data(passwords) && !passwords.contains("bcrypt"),
        "{passwords}"
    );
    // Each continent is named once: nothing to show. The car data's numbers have ranges.
    let (_, continents) = &items["schema:table continents"];
    assert!(!has_data(continents), "{continents}");
    let (_, cars) = &items["schema:table cars_data"];
    assert!(cars.contains("; year: 1970 to 1982\n"), "{cars}");

    // TRAIN_SAMPLE_VALUES=false: no values at all; each table whose text changes has its item
    // replaced in this same run.
    let off = sb.json_env(&["train"], &[("TRAIN_SAMPLE_VALUES", "false")], 0);
    assert_eq!(sampled, 3, "app users, car names, cars data: {items:?}");
    assert_eq!(count(&off, "ddl", "replaced"), sampled as u64, "{off}");
    let items = ddl_items(&sb);
    assert_eq!(items.len(), 8);
    assert!(items.values().all(|(_, d)| !has_data(d)), "{items:?}");

    // A bad value is a usage error naming the variable; nothing changes.
    let bad = sb.json_env(&["train"], &[("TRAIN_SAMPLE_VALUES", "sometimes")], 2);
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap()
            .contains("TRAIN_SAMPLE_VALUES"),
        "{bad}"
    );
    assert_eq!(ddl_items(&sb), items);
}

#[test]
fn a_changed_table_replaces_its_item_in_the_same_run() {
    let sb = Sandbox::new("car_1.sqlite");
    let first = sb.json(&["train"], 0);
    assert_eq!(count(&first, "ddl", "added"), 6, "{first}");

    // An item the app wrote itself (no vannactl source), even one for the same table, is never
    // touched.
    let store = sb.store();
    common::chroma_dir::app(&[
        "add-raw",
        store.to_str().unwrap(),
        "ddl",
        "app-ddl",
        "CREATE TABLE car_makers (x)",
    ]);
    let before = ddl_items(&sb);
    assert_eq!(before.len(), 7, "{before:?}");

    Connection::open(&sb.target)
        .unwrap()
        .execute_batch("ALTER TABLE car_makers ADD COLUMN founded_year INTEGER")
        .unwrap();
    let plan = sb.json(&["train", "--dry-run"], 0);
    assert_eq!(count(&plan, "ddl", "replaced"), 1, "{plan}");
    assert_eq!(count(&plan, "ddl", "stale"), 0, "{plan}");
    assert_eq!(ddl_items(&sb), before, "the dry run changed nothing");

    let run = sb.json(&["train"], 0);
    assert_eq!(count(&run, "ddl", "added"), 1, "{run}");
    assert_eq!(count(&run, "ddl", "replaced"), 1, "{run}");
    assert_eq!(count(&run, "ddl", "stale"), 0, "{run}");
    assert_eq!(count(&run, "ddl", "removed"), 0, "{run}");
    assert_eq!(run["replaced"], 1);
    assert_eq!(count(&run, "ddl", "foreign"), 1, "{run}");
    let after = ddl_items(&sb);
    assert_eq!(after.len(), 7, "{after:?}");
    let (old_id, _) = &before["schema:table car_makers"];
    let (new_id, new_doc) = &after["schema:table car_makers"];
    assert_ne!(old_id, new_id);
    assert!(
        new_doc.contains("founded year") && new_doc.contains("founded_year INTEGER"),
        "{new_doc}"
    );
    for (source, item) in &before {
        if source != "schema:table car_makers" {
            assert_eq!(&after[source], item, "{source} must stay as it was");
        }
    }
    let status = sb.json(&["train", "status"], 0);
    assert_eq!(
        count(&status, "ddl", "count"),
        7,
        "6 items + the app's: {status}"
    );

    // Nothing else changed: the next run is a no-op.
    let again = sb.json(&["train"], 0);
    assert_eq!(
        (again["added"].clone(), again["replaced"].clone()),
        (Value::from(0), Value::from(0))
    );
}
