//! `vannactl train` with an external PostgreSQL target (ENABLE_TARGET_DB): schema from pg_catalog,
//! EXPLAIN of pairs against PostgreSQL. Uses the real server at 127.0.0.1:5432 and its own database.

mod common;
mod train_support;

use common::pg::PgDatabase;
use train_support::*;

#[test]
fn postgres_target_schema_and_explain() {
    let db = PgDatabase::create();
    let url = db.url();
    db.client()
        .batch_execute(
            r#"CREATE SCHEMA sales;
               CREATE TABLE "Order Details" ("select" integer PRIMARY KEY, "größe" text NOT NULL DEFAULT 'x');
               CREATE TABLE sales.orders (id bigint PRIMARY KEY, detail integer REFERENCES "Order Details"("select"), amount numeric(10,2),
                                          status varchar(20), customer_email text);
               INSERT INTO "Order Details" VALUES (1, 'x');
               INSERT INTO sales.orders VALUES (1, 1, 150, 'shipped', 'ann@example.com'), (2, 1, 20, 'shipped', 'bob@example.com'),
                                               (3, NULL, 30, 'pending', 'cy@example.com');
               CREATE INDEX orders_amount ON sales.orders (amount);
               CREATE VIEW big_orders AS SELECT id FROM sales.orders WHERE amount > 100;"#,
        )
        .unwrap();

    let sb = Sandbox::new("car_1.sqlite");
    let run = |args: &[&str], code: i32| {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        let o = sb
            .cmd(&full)
            .env("ENABLE_TARGET_DB", "true")
            .env("TARGET_DATABASE_URL", &url)
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(code),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let pairs = sb.write(
        "p.yaml",
        "- question: big\n  sql: SELECT id FROM big_orders\n",
    );
    let done = run(&["train", "--pairs", pairs.to_str().unwrap()], 0);
    assert_eq!(done["target"]["tables"], 2, "{done}");
    assert_eq!(done["target"]["views"], 1);
    assert_eq!(count(&done, "sql", "added"), 1);
    let list = run(&["train", "list", "--collection", "ddl"], 0);
    let docs: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["document"].as_str().unwrap())
        .collect();
    let od = docs
        .iter()
        .find(|d| d.contains("\nCREATE TABLE \"Order Details\""))
        .expect("Order Details");
    assert!(
        od.contains("\"select\" integer NOT NULL")
            && od.contains("\"größe\" text NOT NULL DEFAULT 'x'::text"),
        "{od}"
    );
    let orders = docs
        .iter()
        .find(|d| d.contains("\nCREATE TABLE sales.orders"))
        .expect("sales.orders");
    // The header in words, sample values (never the e-mail column's), ranges (numeric(10,2)
    // without its trailing zeros, as SQLite prints numbers), then DDL whose plain column names
    // need no quotes.
    assert!(
        orders.starts_with(
            "-- Table \"sales.orders\": sales orders. Columns: amount, status, customer email.\n\
             -- sales orders references order details (detail).\n\
             -- Sample values: status: shipped\n\
             -- Value ranges: amount: 20 to 150\n\
             -- sales orders table.\n"
        ),
        "{orders}"
    );
    assert!(!orders.contains("example.com"), "{orders}");
    assert!(
        orders.contains("REFERENCES \"Order Details\"(\"select\")")
            && orders.contains("\n    id bigint NOT NULL,")
            && orders.contains("CREATE INDEX orders_amount"),
        "{orders}"
    );
    assert!(
        od.contains("-- order details referenced by sales orders (detail).\n"),
        "{od}"
    );
    assert!(docs.iter().any(|d| d
        .starts_with("-- View \"big_orders\": big orders. Columns: id.\n")
        && d.contains("\nCREATE VIEW big_orders AS")));

    let bad = sb.write(
        "bad.yaml",
        "- question: nope\n  sql: SELECT missing FROM sales.orders\n",
    );
    let e = run(&["train", "--pairs", bad.to_str().unwrap()], 1);
    assert_eq!(e["error"]["kind"], "training_sql_invalid");
    assert!(e["error"]["message"].as_str().unwrap().contains("bad.yaml"));
}
