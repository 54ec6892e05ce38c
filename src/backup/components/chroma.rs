//! The knowledge base on a Chroma server, exported and imported through its HTTP API, so an archive
//! restores into any Chroma server (no access to the server's files needed).
//!
//! One JSONL member per collection: a header line (collection, whether it existed, its metadata,
//! non-default HNSW parameters, dimension, record count), then one record per line (id, document,
//! metadata, embedding). Restore fills a temporary collection per archived collection, then swaps
//! them in (old one renamed away, new one renamed into place, old one deleted); on failure the old
//! collections get their names back, untouched.

use super::{present, Data, Pending, StagedComponent};
use crate::backup::archive::Hashing;
use crate::backup::manifest::ComponentInfo;
use crate::backup::testhook;
use crate::config::Settings;
use crate::error::{fail, message};
use crate::fsutil::TempFile;
use crate::knowledge::items::Collection;
use crate::knowledge::stores::chroma::{ChromaClient, ChromaConfig, ChromaRecord, CollectionInfo};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

/// Version of the JSONL export format (in every header line).
const EXPORT_FORMAT: u32 = 1;
/// Records per read while exporting.
const PAGE: usize = 500;
/// A collection that keeps changing while it is read is retried this often, then refused.
const ATTEMPTS: usize = 3;
/// Name prefixes of the temporary collections a restore creates.
const NEW_PREFIX: &str = "vannactl-new-";
const OLD_PREFIX: &str = "vannactl-old-";
/// Name prefix of a restore drill's temporary collections (`vannactl-drill-<pid>-<time>-<name>`).
const DRILL_PREFIX: &str = "vannactl-drill-";

pub fn member(c: Collection) -> &'static str {
    match c {
        Collection::Ddl => "knowledge/chroma/ddl.jsonl",
        Collection::Documentation => "knowledge/chroma/documentation.jsonl",
        Collection::Sql => "knowledge/chroma/sql.jsonl",
    }
}

pub fn is_member(path: &str) -> bool {
    Collection::ALL.iter().any(|c| member(*c) == path)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Header {
    vannactl_chroma_export: u32,
    collection: String,
    /// false: the collection did not exist at backup time (restore removes it).
    exists: bool,
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
    /// HNSW parameters when they differ from Chroma's defaults (never an embedding function).
    #[serde(default)]
    hnsw: Option<Value>,
    #[serde(default)]
    dimension: Option<usize>,
    count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Line {
    id: String,
    document: Option<String>,
    metadata: Option<Map<String, Value>>,
    embedding: Vec<f32>,
}

/// Connect and check the tenant/database exist (a typo must not read as "nothing there").
pub fn connect(s: &Settings, url: &str) -> Result<ChromaClient> {
    let c = ChromaClient::connect(ChromaConfig::from_settings(s, url))?;
    c.check_database()?;
    Ok(c)
}

/// Chroma's own defaults; a collection created with them needs no configuration on restore.
fn non_default_hnsw(info: &CollectionInfo) -> Option<Value> {
    let h = info.configuration_json.as_ref()?.get("hnsw")?;
    let defaults = serde_json::json!({"space": "l2", "ef_construction": 100, "ef_search": 100,
        "max_neighbors": 16, "resize_factor": 1.2, "sync_threshold": 1000});
    let obj = h.as_object()?;
    let differs = obj.iter().any(|(k, v)| {
        defaults
            .get(k)
            .is_some_and(|d| match (d.as_f64(), v.as_f64()) {
                (Some(a), Some(b)) => a != b,
                _ => d != v,
            })
    });
    differs.then(|| h.clone())
}

/// Records per collection that exists (None: none of the three exists).
pub fn counts(client: &ChromaClient) -> Result<Option<BTreeMap<String, u64>>> {
    let mut out = BTreeMap::new();
    for c in Collection::ALL {
        if let Some(info) = client.get_collection(c.name())? {
            out.insert(c.name().to_string(), client.count(&info.id)? as u64);
        }
    }
    Ok((!out.is_empty()).then_some(out))
}

/// Export the three collections into staged members in `stage_dir`.
pub fn snapshot(s: &Settings, url: &str, stage_dir: &Path) -> Result<super::Snapshot> {
    let client = connect(s, url)?;
    // A collection an interrupted restore left renamed away must be in the backup under its name
    // (this snapshot may be a restore's safety backup, the state a rollback goes back to).
    recover_leftovers(&client)?;
    let mut info = present("chroma", client.cfg.masked());
    info.server_version = Some(client.version()?);
    let mut members = Vec::new();
    let mut any = false;
    for c in Collection::ALL {
        let path = member(c);
        let stage = stage_dir.join(format!("stage-{}", path.replace('/', "-")));
        let Exported {
            file,
            size,
            sha256,
            count,
        } = export(&client, c, &stage)?;
        if let Some(n) = count {
            any = true;
            info.counts.insert(c.name().to_string(), n);
        }
        info.members.push(path.into());
        members.push(Pending {
            path,
            size,
            sha256,
            data: Data::Staged(file),
        });
    }
    if !any {
        return Ok(super::Snapshot {
            info: ComponentInfo::not_present(
                crate::backup::manifest::State::Absent,
                client.cfg.masked(),
                format!(
                    "no ddl/documentation/sql collection in Chroma at {} yet",
                    client.cfg.masked()
                ),
            ),
            members: Vec::new(),
        });
    }
    Ok(super::Snapshot { info, members })
}

/// One collection exported into a staged JSONL file.
struct Exported {
    file: TempFile,
    size: u64,
    sha256: String,
    /// Records, or None when the collection does not exist.
    count: Option<u64>,
}

fn export(client: &ChromaClient, c: Collection, stage: &Path) -> Result<Exported> {
    for _ in 0..ATTEMPTS {
        if let Some(done) = export_once(client, c, stage)? {
            return Ok(done);
        }
    }
    Err(fail(
        "backup_source_changed",
        format!(
            "Chroma collection {c} changed while it was exported ({ATTEMPTS} attempts); retry the backup when nothing is training"
        ),
    ))
}

/// None when the collection changed while it was read (Chroma has no snapshots: counts before and
/// after must match what was read).
fn export_once(client: &ChromaClient, c: Collection, stage: &Path) -> Result<Option<Exported>> {
    let mut tmp = TempFile::new(stage, 0o600)?;
    let info = client.get_collection(c.name())?;
    let what = format!("Chroma collection {c} at {}", client.cfg.masked());
    let (size, sha, count) = {
        let mut w = Hashing::new(BufWriter::with_capacity(1 << 20, tmp.file()));
        let count = match &info {
            None => {
                write_line(&mut w, &header(c, None, 0))?;
                None
            }
            Some(info) => {
                let count = client.count(&info.id)? as u64;
                let h = header(c, Some(info), count);
                write_line(&mut w, &h)?;
                let mut dim = h.dimension;
                let mut read = 0u64;
                loop {
                    let page = client.get_page(&info.id, read as usize, PAGE, true)?;
                    let n = page.len();
                    for r in page {
                        let line = to_line(r, &mut dim).with_context(|| what.clone())?;
                        write_line(&mut w, &line)?;
                    }
                    read += n as u64;
                    if n < PAGE {
                        break;
                    }
                }
                if read != count || client.count(&info.id)? as u64 != count {
                    return Ok(None);
                }
                Some(count)
            }
        };
        w.flush()?;
        let (_, size, sha) = w.finish();
        (size, sha, count)
    };
    Ok(Some(Exported {
        file: tmp,
        size,
        sha256: sha,
        count,
    }))
}

fn header(c: Collection, info: Option<&CollectionInfo>, count: u64) -> Header {
    Header {
        vannactl_chroma_export: EXPORT_FORMAT,
        collection: c.name().into(),
        exists: info.is_some(),
        metadata: info.and_then(|i| i.metadata.clone()),
        hnsw: info.and_then(non_default_hnsw),
        dimension: info.and_then(|i| i.dimension),
        count,
    }
}

fn to_line(r: ChromaRecord, dim: &mut Option<usize>) -> Result<Line> {
    let Some(embedding) = r.embedding else {
        return Err(fail(
            "backup_failed",
            format!("record {:?} came back without its embedding", r.id),
        ));
    };
    match dim {
        Some(d) if *d != embedding.len() => {
            return Err(fail(
                "dimension_mismatch",
                format!(
                    "record {:?} has {} dimensions, the collection {d}",
                    r.id,
                    embedding.len()
                ),
            ))
        }
        Some(_) => {}
        None => *dim = Some(embedding.len()),
    }
    Ok(Line {
        id: r.id,
        document: r.document,
        metadata: r.metadata,
        embedding,
    })
}

fn write_line<W: Write, T: Serialize>(w: &mut W, v: &T) -> Result<()> {
    serde_json::to_writer(&mut *w, v)?;
    w.write_all(b"\n")?;
    Ok(())
}

/// Reads an export member line by line, checking each against the header as it goes.
struct Reader {
    lines: std::io::Lines<BufReader<File>>,
    member: String,
    header: Header,
    dim: Option<usize>,
    ids: HashSet<String>,
    line_no: usize,
}

fn corrupt(member: &str, line: usize, what: impl std::fmt::Display) -> anyhow::Error {
    fail("archive_corrupt", format!("{member} line {line}: {what}"))
}

impl Reader {
    fn open(member: &str, path: &Path) -> Result<Reader> {
        let f = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut lines = BufReader::with_capacity(1 << 20, f).lines();
        let first = match lines.next() {
            Some(l) => l.map_err(|e| corrupt(member, 1, e))?,
            None => return Err(corrupt(member, 1, "empty (no header line)")),
        };
        let header: Header = serde_json::from_str(&first)
            .map_err(|e| corrupt(member, 1, format!("not an export header: {e}")))?;
        if header.vannactl_chroma_export > EXPORT_FORMAT {
            return Err(fail(
                "archive_newer_format",
                format!(
                    "{member}: Chroma export format {} is newer than this vannactl understands ({EXPORT_FORMAT}); upgrade vannactl",
                    header.vannactl_chroma_export
                ),
            ));
        }
        let expected = Collection::ALL
            .into_iter()
            .find(|c| member.ends_with(&format!("/{}.jsonl", c.name())));
        if expected.map(Collection::name) != Some(header.collection.as_str()) {
            return Err(corrupt(
                member,
                1,
                format!("header names collection {:?}", header.collection),
            ));
        }
        if !header.exists && header.count != 0 {
            return Err(corrupt(member, 1, "a missing collection with records"));
        }
        Ok(Reader {
            lines,
            member: member.into(),
            dim: header.dimension,
            header,
            ids: HashSet::new(),
            line_no: 1,
        })
    }

    /// The next record, checked: parses, id new and non-empty, same dimension as the others.
    fn next_record(&mut self) -> Result<Option<ChromaRecord>> {
        let Some(text) = self.lines.next() else {
            if self.ids.len() as u64 != self.header.count {
                return Err(corrupt(
                    &self.member,
                    self.line_no,
                    format!(
                        "{} records, the header says {}",
                        self.ids.len(),
                        self.header.count
                    ),
                ));
            }
            return Ok(None);
        };
        self.line_no += 1;
        let (m, n) = (self.member.as_str(), self.line_no);
        let text = text.map_err(|e| corrupt(m, n, e))?;
        let line: Line =
            serde_json::from_str(&text).map_err(|e| corrupt(m, n, format!("not a record: {e}")))?;
        if line.id.is_empty() || !self.ids.insert(line.id.clone()) {
            return Err(corrupt(m, n, format!("empty or repeated id {:?}", line.id)));
        }
        match self.dim {
            Some(d) if d != line.embedding.len() => {
                return Err(corrupt(
                    m,
                    n,
                    format!(
                        "embedding has {} dimensions, expected {d}",
                        line.embedding.len()
                    ),
                ))
            }
            Some(_) => {}
            None => self.dim = Some(line.embedding.len()),
        }
        if self.dim == Some(0) {
            return Err(corrupt(m, n, "empty embedding"));
        }
        Ok(Some(ChromaRecord {
            id: line.id,
            document: line.document,
            metadata: line.metadata,
            embedding: Some(line.embedding),
        }))
    }
}

/// Deep check of a staged member (verify and restore): every line parses, ids are unique, every
/// embedding has the same dimension, the record count matches the header and the manifest's
/// `counts` (records per existing collection).
pub fn check_member(member: &str, path: &Path, counts: &BTreeMap<String, u64>) -> Result<()> {
    let mut r = Reader::open(member, path)?;
    while r.next_record()?.is_some() {}
    let h = &r.header;
    let recorded = counts.get(&h.collection).copied();
    let found = h.exists.then_some(h.count);
    if !counts.is_empty() && recorded != found {
        let say =
            |n: Option<u64>| n.map_or("no collection".to_string(), |n| format!("{n} records"));
        return Err(fail(
            "archive_corrupt",
            format!(
                "{member}: the export holds {} of collection {}, the manifest says {}",
                say(found),
                h.collection,
                say(recorded)
            ),
        ));
    }
    Ok(())
}

/// A restore's working names, unique per run.
struct Names {
    run: String,
}

impl Names {
    fn new() -> Names {
        Names {
            run: format!(
                "{}-{}",
                std::process::id(),
                chrono::Utc::now().format("%Y%m%d%H%M%S%3f")
            ),
        }
    }
    fn new_name(&self, c: Collection) -> String {
        format!("{NEW_PREFIX}{}-{}", self.run, c.name())
    }
    fn old_name(&self, c: Collection) -> String {
        format!("{OLD_PREFIX}{}-{}", self.run, c.name())
    }
}

/// Leftovers of a run that was killed: temporary copies are deleted; an old collection whose name
/// is free again is renamed back (it is the only copy). One whose name is taken (the swap had
/// completed for it; the killed run's safety backup holds the same data) is returned: it is kept
/// until this restore has put its own collections in place, then deleted.
fn recover_leftovers(client: &ChromaClient) -> Result<Vec<String>> {
    let mut replaced = Vec::new();
    for info in client.list_collections()? {
        if info.name.starts_with(NEW_PREFIX) {
            tracing::warn!(collection = %info.name, "deleting a temporary collection left by an interrupted restore");
            client.delete_collection(&info.name)?;
        } else if let Some(rest) = info.name.strip_prefix(OLD_PREFIX) {
            let Some(c) = Collection::ALL
                .into_iter()
                .find(|c| rest.ends_with(&format!("-{}", c.name())))
            else {
                continue;
            };
            if client.get_collection(c.name())?.is_none() {
                tracing::warn!(collection = %info.name, "an interrupted restore left {c} renamed away; renaming it back");
                client.rename_collection(&info.id, c.name())?;
            } else {
                replaced.push(info.name);
            }
        }
    }
    Ok(replaced)
}

/// Put the archived collections in place, all or nothing.
pub fn apply(mut staged: StagedComponent, s: &Settings, url: &str) -> Result<()> {
    let client = connect(s, url)?;
    let replaced_earlier = recover_leftovers(&client)?;
    let names = Names::new();
    // Phase 1: fill temporary collections; the live ones are not touched.
    let mut plan: Vec<(Collection, Option<CollectionInfo>)> = Vec::new();
    let filled = (|| -> Result<()> {
        for c in Collection::ALL {
            let Some(file) = staged.files.remove(member(c)) else {
                continue; // not in the archive: left as it is
            };
            let temp = fill(&client, c, &file.path, &names.new_name(c))?;
            plan.push((c, temp));
        }
        Ok(())
    })();
    if let Err(e) = filled {
        drop_temps(&client, &names);
        return Err(e);
    }
    // Phase 2: swap each in; phase 3: delete the old ones.
    swap(&client, &plan, &names)?;
    let olds = plan.iter().map(|(c, _)| names.old_name(*c));
    for old in olds.chain(replaced_earlier) {
        if client.get_collection(&old).ok().flatten().is_some() {
            if let Err(e) = client.delete_collection(&old) {
                tracing::warn!(collection = %old, error = %message(&e), "restored, but the replaced collection could not be deleted; delete it by hand");
            }
        }
    }
    Ok(())
}

/// A temporary collection with the member's records (None: the collection did not exist then).
fn fill(
    client: &ChromaClient,
    c: Collection,
    path: &Path,
    name: &str,
) -> Result<Option<CollectionInfo>> {
    let mut r = Reader::open(member(c), path)?;
    if !r.header.exists {
        return Ok(None);
    }
    // Legacy `hnsw:*` metadata already carries the index parameters; sending both is refused.
    let legacy = r
        .header
        .metadata
        .as_ref()
        .is_some_and(|m| m.keys().any(|k| k.starts_with("hnsw:")));
    let config = match &r.header.hnsw {
        Some(h) if !legacy => Some(serde_json::json!({ "hnsw": h })),
        _ => None,
    };
    let info = client
        .create_collection_configured(name, r.header.metadata.clone(), config)
        .with_context(|| format!("cannot create the temporary collection {name}"))?;
    let mut batch = Vec::new();
    while let Some(rec) = r.next_record()? {
        batch.push(rec);
        if batch.len() >= client.max_batch_size() {
            client.add(&info.id, &batch)?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        client.add(&info.id, &batch)?;
    }
    let n = client.count(&info.id)? as u64;
    if n != r.header.count {
        return Err(fail(
            "restore_incomplete",
            format!(
                "Chroma holds {n} records in {name} after writing {}",
                r.header.count
            ),
        ));
    }
    Ok(Some(info))
}

fn drop_temps(client: &ChromaClient, names: &Names) {
    for c in Collection::ALL {
        let n = names.new_name(c);
        if let Ok(Some(_)) = client.get_collection(&n) {
            if let Err(e) = client.delete_collection(&n) {
                tracing::warn!(collection = %n, error = %message(&e), "cannot delete a temporary collection");
            }
        }
    }
}

fn swap(
    client: &ChromaClient,
    plan: &[(Collection, Option<CollectionInfo>)],
    names: &Names,
) -> Result<()> {
    let mut away: Vec<(Collection, String)> = Vec::new();
    let mut placed: Vec<Collection> = Vec::new();
    let r = (|| -> Result<()> {
        for (i, (c, temp)) in plan.iter().enumerate() {
            if let Some(old) = client.get_collection(c.name())? {
                client.rename_collection(&old.id, &names.old_name(*c))?;
                away.push((*c, old.id));
            }
            if let Some(t) = temp {
                client.rename_collection(&t.id, c.name())?;
                placed.push(*c);
            }
            if i == 0 {
                testhook::at("restore:knowledge-swap")?;
            }
        }
        Ok(())
    })();
    let Err(e) = r else {
        return Ok(());
    };
    // Undo: new ones out, old ones back under their names, temporaries gone.
    let mut undo_errors = Vec::new();
    for c in &placed {
        if let Err(u) = client.delete_collection(c.name()) {
            undo_errors.push(message(&u));
        }
    }
    for (c, id) in &away {
        if let Err(u) = client.rename_collection(id, c.name()) {
            undo_errors.push(message(&u));
        }
    }
    drop_temps(client, names);
    if undo_errors.is_empty() {
        Err(e.context("swapping the restored Chroma collections in failed; the previous collections are back in place"))
    } else {
        Err(e.context(format!(
            "swapping the restored Chroma collections in failed, and putting the previous ones back failed too ({}); \
             look for collections named {OLD_PREFIX}{}-* and rename them back",
            undo_errors.join("; "),
            names.run
        )))
    }
}

/// Restore drill: import the archived collections into temporary ones, count what the server
/// holds, delete them. The live collections are not touched. Returns the names used and the
/// records per collection (only those that existed at backup time, as in the manifest).
pub fn drill(
    s: &Settings,
    url: &str,
    mut staged: StagedComponent,
) -> Result<(Vec<String>, BTreeMap<String, u64>)> {
    let client = connect(s, url)?;
    // A drill killed earlier left its collections; only those whose process is gone.
    for info in client.list_collections()? {
        let pid = info
            .name
            .strip_prefix(DRILL_PREFIX)
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| !crate::fsutil::process_alive(p)) {
            tracing::warn!(collection = %info.name, "deleting a collection left by an interrupted restore drill");
            client.delete_collection(&info.name)?;
        }
    }
    let run = Names::new().run;
    let mut created = Vec::new();
    let mut counts = BTreeMap::new();
    let result = (|| -> Result<()> {
        for c in Collection::ALL {
            let Some(file) = staged.files.remove(member(c)) else {
                continue;
            };
            let name = format!("{DRILL_PREFIX}{run}-{}", c.name());
            if let Some(info) = fill(&client, c, &file.path, &name)? {
                created.push(name);
                counts.insert(c.name().to_string(), client.count(&info.id)? as u64);
            }
        }
        Ok(())
    })();
    // Deleted on success and failure alike: a drill leaves nothing behind.
    for c in Collection::ALL {
        let name = format!("{DRILL_PREFIX}{run}-{}", c.name());
        if let Ok(Some(_)) = client.get_collection(&name) {
            if let Err(e) = client.delete_collection(&name) {
                tracing::warn!(collection = %name, error = %message(&e), "cannot delete a drill's temporary collection; delete it by hand");
            }
        }
    }
    result?;
    Ok((created, counts))
}

/// Rollback onto "there was no knowledge base": delete the three collections.
pub fn remove(s: &Settings, url: &str) -> Result<()> {
    let client = connect(s, url)?;
    for c in Collection::ALL {
        if client.get_collection(c.name())?.is_some() {
            client.delete_collection(c.name())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, lines: &[String]) -> std::path::PathBuf {
        let p = dir.join("m.jsonl");
        std::fs::write(&p, lines.join("\n") + "\n").unwrap();
        p
    }

    fn head(count: u64, dim: Option<usize>) -> String {
        serde_json::to_string(&Header {
            vannactl_chroma_export: 1,
            collection: "ddl".into(),
            exists: true,
            metadata: None,
            hnsw: None,
            dimension: dim,
            count,
        })
        .unwrap()
    }

    fn rec(id: &str, emb: &[f32]) -> String {
        serde_json::to_string(&Line {
            id: id.into(),
            document: Some("d".into()),
            metadata: None,
            embedding: emb.to_vec(),
        })
        .unwrap()
    }

    #[test]
    fn member_check_catches_each_defect() {
        let d = tempfile::tempdir().unwrap();
        let m = member(Collection::Ddl);
        let good = write(
            d.path(),
            &[
                head(2, Some(2)),
                rec("a", &[0.1, 0.2]),
                rec("b", &[1.0, 0.0]),
            ],
        );
        let none = BTreeMap::new();
        check_member(m, &good, &none).unwrap();
        let counts: BTreeMap<String, u64> = [("ddl".to_string(), 2)].into();
        check_member(m, &good, &counts).unwrap();
        let fewer: BTreeMap<String, u64> = [("ddl".to_string(), 3)].into();
        let e = message(&check_member(m, &good, &fewer).unwrap_err());
        assert!(
            e.contains("holds 2 records of collection ddl, the manifest says 3 records"),
            "{e}"
        );
        let other: BTreeMap<String, u64> = [("sql".to_string(), 2)].into();
        let e = message(&check_member(m, &good, &other).unwrap_err());
        assert!(e.contains("the manifest says no collection"), "{e}");
        let cases: Vec<(Vec<String>, &str)> = vec![
            (
                vec![head(2, None), rec("a", &[0.1, 0.2]), rec("b", &[1.0])],
                "dimensions",
            ),
            (
                vec![head(2, Some(2)), rec("a", &[0.1, 0.2])],
                "header says 2",
            ),
            (
                vec![
                    head(2, Some(2)),
                    rec("a", &[0.1, 0.2]),
                    rec("a", &[0.1, 0.2]),
                ],
                "repeated id",
            ),
            (
                vec![head(1, Some(2)), "{\"id\": \"a\", \"embedd".into()],
                "not a record",
            ),
            (vec!["garbage".into()], "not an export header"),
        ];
        for (lines, expect) in cases {
            let p = write(d.path(), &lines);
            let e = message(&check_member(m, &p, &none).unwrap_err());
            assert!(e.contains(expect), "{expect}: {e}");
        }
        // The header must name the member's own collection.
        let good = write(
            d.path(),
            &[
                head(2, Some(2)),
                rec("a", &[0.1, 0.2]),
                rec("b", &[1.0, 0.0]),
            ],
        );
        let e = check_member(member(Collection::Sql), &good, &none).unwrap_err();
        assert!(message(&e).contains("header names collection"), "{e}");
    }

    #[test]
    fn float32_embeddings_survive_json_exactly() {
        let v: Vec<f32> = (0..384).map(|i| (i as f32 * 0.7311).sin() / 19.3).collect();
        let text = rec("x", &v);
        let back: Line = serde_json::from_str(&text).unwrap();
        assert_eq!(back.embedding, v);
    }

    #[test]
    fn only_non_default_hnsw_is_kept() {
        let info = |space: &str| CollectionInfo {
            id: "i".into(),
            name: "ddl".into(),
            dimension: None,
            metadata: None,
            configuration_json: Some(
                serde_json::json!({"hnsw": {"space": space, "ef_construction": 100,
                "ef_search": 100, "max_neighbors": 16, "resize_factor": 1.2, "sync_threshold": 1000},
                "spann": null, "embedding_function": null}),
            ),
        };
        assert_eq!(non_default_hnsw(&info("l2")), None);
        assert_eq!(
            non_default_hnsw(&info("cosine")).unwrap()["space"],
            "cosine"
        );
    }
}
