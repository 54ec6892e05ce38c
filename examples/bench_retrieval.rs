//! Table retrieval of vannactl's DDL items against plain Vanna's (one `add_ddl` per `sqlite_master`
//! statement), both embedded with vannactl's MiniLM (what Chroma's default embedding function
//! computes) and ranked by Chroma's default l2 distance, on held-out Spider questions.
//!
//! recall@k of a question = the fraction of its gold tables (the tables its gold SQL reads, from
//! SQLite's own query plan) among the tables of the top-k retrieved items; averaged per database.
//!
//!   cargo run --release --example bench_retrieval -- MODEL_DIR DB.sqlite:DEV.json ...
//! (scripts/bench-retrieval runs it on the shared Spider databases.)

use anyhow::{bail, Context, Result};
use rusqlite::Connection;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use vannactl::knowledge::embed::Embedder;
use vannactl::knowledge::train::ddl_items;
use vannactl::schema::Target;

const KS: [usize; 2] = [3, 5];

/// Retrievable items: (table the item describes, text).
type Items = Vec<(String, String)>;

fn main() -> Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // --show: print vannactl's item texts and the questions whose gold tables it misses at k=3.
    let show = args.first().is_some_and(|a| a == "--show");
    if show {
        args.remove(0);
    }
    if args.len() < 2 {
        bail!("usage: bench_retrieval MODEL_DIR DB.sqlite:DEV.json ...");
    }
    let embedder = Embedder::load(Path::new(&args[0]))?;
    let variants = ["plain Vanna", "vannactl", "vannactl, no samples"];
    println!(
        "| database | tables | questions | {} |",
        variants
            .iter()
            .flat_map(|v| KS.iter().map(move |k| format!("{v} r@{k}")))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    println!(
        "|---|---:|---:|{}",
        "---:|".repeat(variants.len() * KS.len())
    );
    let mut sums = vec![0.0; variants.len() * KS.len()];
    let n_dbs = args.len() - 1;
    for spec in &args[1..] {
        let (db, dev) = spec
            .rsplit_once(':')
            .with_context(|| format!("{spec}: expected DB.sqlite:DEV.json"))?;
        let db = PathBuf::from(db);
        let conn = vannactl::target::open_readonly(&db)?;
        let questions = questions(&conn, Path::new(dev))?;
        let mut target = Target::Sqlite {
            conn: vannactl::target::open_readonly(&db)?,
            path: db.clone(),
        };
        let schema = target.schema()?;
        let item_sets: Vec<Items> = vec![
            baseline(&conn)?,
            ours(&mut target, &schema, true)?,
            ours(&mut target, &schema, false)?,
        ];
        let q_texts: Vec<&str> = questions.iter().map(|(q, _)| q.as_str()).collect();
        let q_vecs = embedder.embed(&q_texts, &|_| {})?;
        if show {
            for (_, t) in &item_sets[1] {
                eprintln!("{t}\n-----");
            }
        }
        let mut row = Vec::new();
        for (vi, items) in item_sets.iter().enumerate() {
            let texts: Vec<&str> = items.iter().map(|(_, t)| t.as_str()).collect();
            let vecs = embedder.embed(&texts, &|_| {})?;
            for k in KS {
                let mut total = 0.0;
                for ((q, gold), qv) in questions.iter().zip(&q_vecs) {
                    let mut ranked: Vec<(f32, &str)> = vecs
                        .iter()
                        .zip(items)
                        .map(|(v, (t, _))| (l2(qv, v), t.as_str()))
                        .collect();
                    ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
                    let top: BTreeSet<String> = ranked
                        .iter()
                        .take(k)
                        .map(|(_, t)| t.to_lowercase())
                        .collect();
                    let hit = gold.iter().filter(|g| top.contains(*g)).count();
                    if show && k == 3 && vi > 0 && hit < gold.len() {
                        eprintln!("miss [{}] {q}\n  gold {gold:?} got {top:?}", variants[vi]);
                    }
                    total += hit as f64 / gold.len() as f64;
                }
                row.push(total / questions.len() as f64);
            }
        }
        for (s, r) in sums.iter_mut().zip(&row) {
            *s += r;
        }
        let name = db.file_stem().unwrap_or_default().to_string_lossy();
        println!(
            "| {name} | {} | {} | {} |",
            schema.objects.len(),
            questions.len(),
            fmt_row(&row)
        );
    }
    let mean: Vec<f64> = sums.iter().map(|s| s / n_dbs as f64).collect();
    println!("| **mean** | | | {} |", fmt_row(&mean));
    for (ki, k) in KS.iter().enumerate() {
        println!(
            "mean lift at recall@{k}: {:+.3} (no samples: {:+.3})",
            mean[KS.len() + ki] - mean[ki],
            mean[2 * KS.len() + ki] - mean[ki]
        );
    }
    Ok(())
}

fn fmt_row(row: &[f64]) -> String {
    row.iter()
        .map(|r| format!("{r:.3}"))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Chroma's default distance: squared Euclidean.
fn l2(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Plain Vanna: `for sql in sqlite_master.sql: vn.add_ddl(sql)` — each statement is an item of the
/// table it belongs to (indexes included, as the usual training loop adds them).
fn baseline(conn: &Connection) -> Result<Items> {
    let mut st = conn.prepare(
        "SELECT tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid",
    )?;
    let v = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

fn ours(target: &mut Target, schema: &vannactl::schema::Schema, samples: bool) -> Result<Items> {
    Ok(ddl_items(target, schema, samples)?
        .into_iter()
        .zip(&schema.objects)
        .map(|(i, o)| (o.name.clone(), i.document))
        .collect())
}

/// `(question, gold tables lower-cased)` of a Spider dev file; the gold tables are the ones the
/// gold SQL's query plan opens (`OpenRead` root pages of tables or their indexes).
fn questions(conn: &Connection, dev: &Path) -> Result<Vec<(String, BTreeSet<String>)>> {
    let v: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dev).with_context(|| format!("cannot read {}", dev.display()))?,
    )?;
    let mut roots: HashMap<i64, String> = HashMap::new();
    let mut st = conn.prepare("SELECT rootpage, tbl_name FROM sqlite_master WHERE rootpage > 0")?;
    for r in st.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
        let (p, t) = r?;
        roots.insert(p, t.to_lowercase());
    }
    let mut out = Vec::new();
    for item in v.as_array().context("dev file is not a list")? {
        let q = item["question"].as_str().context("question")?;
        let sql = item["query"].as_str().context("query")?;
        let mut st = conn
            .prepare(&format!("EXPLAIN {sql}"))
            .with_context(|| format!("gold SQL does not compile: {sql}"))?;
        let mut gold = BTreeSet::new();
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let op: String = r.get(1)?;
            let p2: i64 = r.get(3)?;
            let p3: i64 = r.get(4)?;
            if op == "OpenRead" && p3 == 0 {
                if let Some(t) = roots.get(&p2) {
                    gold.insert(t.clone());
                }
            }
        }
        if gold.is_empty() {
            bail!("no table found in the plan of: {sql}");
        }
        out.push((q.to_string(), gold));
    }
    Ok(out)
}
