//! Chroma v2 HTTP client (ureq, the deadlines of [`crate::net`]) and the Chroma-backed [`Store`].
//!
//! The client is general on purpose (list/create/get/rename/delete collections, paged reads with
//! embeddings, add/upsert/delete in server-sized batches): backup export/import reuses it.
//! Record endpoints take the collection's UUID, not its name; the server never embeds anything.

use super::{CollectionState, Hit, Record, Store, SOURCE_KEY};
use crate::config::{mask_url, Settings};
use crate::knowledge::items::Collection;
use anyhow::{anyhow, Result};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::time::Duration;
/// Records per page when reading a collection (embeddings make pages large).
const PAGE: usize = 300;

#[derive(Debug, Clone)]
pub struct ChromaConfig {
    pub url: String,
    pub tenant: String,
    pub database: String,
    pub token: Option<String>,
    /// Trusted for an https:// server besides the system store (`SSL_CERT_FILE`).
    pub ca_files: Vec<crate::trust::CaFile>,
}

impl ChromaConfig {
    pub fn from_settings(settings: &Settings, url: &str) -> ChromaConfig {
        ChromaConfig {
            url: url.trim_end_matches('/').to_string(),
            tenant: settings.chroma_tenant.clone(),
            database: settings.chroma_database.clone(),
            token: settings.chroma_auth_token.clone(),
            ca_files: settings.ca_files(),
        }
    }

    pub fn masked(&self) -> String {
        format!(
            "{} (tenant {}, database {})",
            mask_url(&self.url),
            self.tenant,
            self.database
        )
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct CollectionInfo {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub dimension: Option<usize>,
    #[serde(default)]
    pub metadata: Option<Map<String, Value>>,
    #[serde(default)]
    pub configuration_json: Option<Value>,
}

/// A record as Chroma stores it (fields absent when not included in the read).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChromaRecord {
    pub id: String,
    pub document: Option<String>,
    pub metadata: Option<Map<String, Value>>,
    pub embedding: Option<Vec<f32>>,
}

pub struct ChromaClient {
    agent: ureq::Agent,
    pub cfg: ChromaConfig,
    max_batch: usize,
    /// Taken when connecting: `health` probes with shorter ones.
    deadlines: crate::net::Deadlines,
}

fn seg(s: &str) -> String {
    // Tenant/database/collection names are path segments; escape what a path cannot carry.
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

impl ChromaClient {
    /// Connect: heartbeat, which also tells a Chroma server from any other web server, then read
    /// the server's `max_batch_size`. Both within the `login` deadline; later calls get `request`.
    pub fn connect(cfg: ChromaConfig) -> Result<ChromaClient> {
        let deadlines = crate::net::current();
        let mut builder = ureq::Agent::config_builder();
        // The CA files are read only when they matter.
        if cfg.url.starts_with("https://") {
            builder = builder.tls_config(crate::trust::ureq_tls(&cfg.ca_files)?);
        }
        let agent: ureq::Agent = builder
            .timeout_connect(Some(deadlines.connect))
            .timeout_global(Some(deadlines.request))
            .http_status_as_error(false)
            .build()
            .into();
        let mut c = ChromaClient {
            agent,
            cfg,
            max_batch: 1000,
            deadlines,
        };
        c.heartbeat()?;
        let pre = c.call_within("GET", "/api/v2/pre-flight-checks", None, deadlines.login)?;
        if let Some(n) = pre.get("max_batch_size").and_then(Value::as_u64) {
            c.max_batch = (n as usize).max(1);
        }
        Ok(c)
    }

    pub fn max_batch_size(&self) -> usize {
        self.max_batch
    }

    /// Chroma answers `{"nanosecond heartbeat": …}`; anything else is another server.
    pub fn heartbeat(&self) -> Result<()> {
        let path = "/api/v2/heartbeat";
        let v = self.call_within("GET", path, None, self.deadlines.login)?;
        if v.get("nanosecond heartbeat").is_some() {
            return Ok(());
        }
        Err(self.not_chroma(&format!(
            "HTTP 200 application/json without a heartbeat on GET {path}"
        )))
    }

    pub fn version(&self) -> Result<String> {
        Ok(
            match self.call_within("GET", "/api/v2/version", None, self.deadlines.login)? {
                Value::String(s) => s,
                v => v.to_string(),
            },
        )
    }

    fn base(&self) -> String {
        format!(
            "/api/v2/tenants/{}/databases/{}",
            seg(&self.cfg.tenant),
            seg(&self.cfg.database)
        )
    }

    fn not_chroma(&self, what: &str) -> anyhow::Error {
        crate::error::fail(
            "chroma_not_chroma",
            format!(
                "{} is not a Chroma server ({what}); check CHROMA_URL (the Chroma server's address, e.g. http://host:8000)",
                mask_url(&self.cfg.url)
            ),
        )
    }

    /// One HTTP call within the `request` deadline.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        self.call_within(method, path, body, self.deadlines.request)
    }

    /// One HTTP call and its whole answer within `total`; errors are one line naming the server
    /// (masked) and what to do. An answer that is not JSON comes from some other web server.
    fn call_within(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        total: Duration,
    ) -> Result<Value> {
        let url = format!("{}{}", self.cfg.url, path);
        let shown = mask_url(&self.cfg.url);
        let auth = self.cfg.token.as_ref().map(|t| format!("Bearer {t}"));
        let result = match (method, body) {
            ("GET", _) => {
                let mut r = self.agent.get(&url);
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.config().timeout_global(Some(total)).build().call()
            }
            ("DELETE", _) => {
                let mut r = self.agent.delete(&url);
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.config().timeout_global(Some(total)).build().call()
            }
            (m, body) => {
                let mut r = match m {
                    "PUT" => self.agent.put(&url),
                    _ => self.agent.post(&url),
                };
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.config()
                    .timeout_global(Some(total))
                    .build()
                    .send_json(body.unwrap_or(json!({})))
            }
        };
        let unreachable = |e: &ureq::Error| {
            if let Some(tls) = crate::trust::explain(e, crate::trust::HINT_HTTPS) {
                return crate::error::fail(
                    "chroma_tls",
                    format!("Chroma at {shown} ({method} {path}): {tls}"),
                );
            }
            crate::error::fail(
                "chroma_unreachable",
                format!(
                    "cannot reach Chroma at {shown} ({method} {path}): {}; check CHROMA_URL and that the server is running",
                    crate::net::http_failure(e, &self.deadlines, total)
                ),
            )
        };
        let mut resp = result.map_err(|e| unreachable(&e))?;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "no content type".into());
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(512 * 1024 * 1024)
            .read_to_vec()
            .map_err(|e| unreachable(&e))?;
        let json = content_type == "application/json";
        if !json && matches!(status, 502..=504) {
            return Err(crate::error::fail(
                "chroma_unreachable",
                format!(
                    "{shown} answered HTTP {status} {content_type} to {method} {path}: a proxy or gateway whose Chroma server \
                     does not answer; check that the Chroma server behind it runs"
                ),
            ));
        }
        if !json && (!(200..300).contains(&status) || !bytes.is_empty()) {
            return Err(
                self.not_chroma(&format!("HTTP {status} {content_type} on {method} {path}"))
            );
        }
        if !(200..300).contains(&status) {
            let msg = serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|v| {
                    ["message", "error", "detail"]
                        .iter()
                        .find_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_string))
                })
                .unwrap_or_else(|| crate::net::excerpt_bytes(&bytes));
            let hint = match status {
                401 | 403 => "; check CHROMA_AUTH_TOKEN",
                404 => "; check CHROMA_TENANT and CHROMA_DATABASE",
                _ => "",
            };
            return Err(ChromaHttpError {
                status,
                message: format!(
                    "Chroma at {shown}: {method} {path} returned HTTP {status}: {}{hint}",
                    crate::net::excerpt(&msg)
                ),
            }
            .into());
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| {
            crate::error::fail(
                "chroma_bad_answer",
                format!("Chroma at {shown} returned invalid JSON for {method} {path} ({e})"),
            )
        })
    }

    /// The configured tenant/database must exist (listing collections of a missing database
    /// succeeds with an empty list, so callers that must not mistake it for "empty" ask this).
    pub fn check_database(&self) -> Result<()> {
        match self.call("GET", &self.base(), None) {
            Ok(_) => Ok(()),
            Err(e) if is_status(&e, 404) => Err(crate::error::fail(
                "chroma_database_missing",
                format!(
                    "Chroma at {} has no database {:?} in tenant {:?}; check CHROMA_TENANT and CHROMA_DATABASE, or create it first",
                    mask_url(&self.cfg.url),
                    self.cfg.database,
                    self.cfg.tenant
                ),
            )),
            Err(e) => Err(e),
        }
    }

    pub fn list_collections(&self) -> Result<Vec<CollectionInfo>> {
        let mut out = Vec::new();
        loop {
            let page: Vec<CollectionInfo> = serde_json::from_value(self.call(
                "GET",
                &format!("{}/collections?limit=100&offset={}", self.base(), out.len()),
                None,
            )?)?;
            let n = page.len();
            out.extend(page);
            if n < 100 {
                return Ok(out);
            }
        }
    }

    /// The collection by name, or None when it does not exist.
    pub fn get_collection(&self, name: &str) -> Result<Option<CollectionInfo>> {
        match self.call(
            "GET",
            &format!("{}/collections/{}", self.base(), seg(name)),
            None,
        ) {
            Ok(v) => Ok(Some(serde_json::from_value(v)?)),
            Err(e) if is_status(&e, 404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Create (or with `get_or_create` fetch) a collection. No embedding-function configuration is
    /// sent: the app attaches its own, and a conflicting one would make it fail.
    pub fn create_collection(
        &self,
        name: &str,
        metadata: Option<Map<String, Value>>,
        get_or_create: bool,
    ) -> Result<CollectionInfo> {
        let mut body = json!({"name": name, "get_or_create": get_or_create});
        if let Some(m) = metadata {
            body["metadata"] = Value::Object(m);
        }
        let v = self.call("POST", &format!("{}/collections", self.base()), Some(body))?;
        Ok(serde_json::from_value(v)?)
    }

    /// Create a collection with index parameters (`configuration`, e.g. `{"hnsw": {…}}`), failing
    /// when the name is taken. Callers must not pass an embedding function (see `create_collection`).
    pub fn create_collection_configured(
        &self,
        name: &str,
        metadata: Option<Map<String, Value>>,
        configuration: Option<Value>,
    ) -> Result<CollectionInfo> {
        let mut body = json!({"name": name, "get_or_create": false});
        if let Some(m) = metadata.filter(|m| !m.is_empty()) {
            body["metadata"] = Value::Object(m);
        }
        if let Some(c) = configuration {
            body["configuration"] = c;
        }
        let v = self.call("POST", &format!("{}/collections", self.base()), Some(body))?;
        Ok(serde_json::from_value(v)?)
    }

    pub fn delete_collection(&self, name: &str) -> Result<()> {
        self.call(
            "DELETE",
            &format!("{}/collections/{}", self.base(), seg(name)),
            None,
        )
        .map(|_| ())
    }

    /// Rename a collection (by id).
    pub fn rename_collection(&self, id: &str, new_name: &str) -> Result<()> {
        self.call(
            "PUT",
            &format!("{}/collections/{}", self.base(), seg(id)),
            Some(json!({"new_name": new_name})),
        )
        .map(|_| ())
    }

    /// Replace a collection's metadata (by id).
    pub fn set_collection_metadata(&self, id: &str, metadata: Map<String, Value>) -> Result<()> {
        self.call(
            "PUT",
            &format!("{}/collections/{}", self.base(), seg(id)),
            Some(json!({"new_metadata": metadata})),
        )
        .map(|_| ())
    }

    pub fn count(&self, id: &str) -> Result<usize> {
        let v = self.call(
            "GET",
            &format!("{}/collections/{}/count", self.base(), seg(id)),
            None,
        )?;
        v.as_u64()
            .map(|n| n as usize)
            .ok_or_else(|| anyhow!("Chroma returned a non-number count: {v}"))
    }

    /// One page of records (ids always; documents and metadatas; embeddings when asked).
    pub fn get_page(
        &self,
        id: &str,
        offset: usize,
        limit: usize,
        with_embeddings: bool,
    ) -> Result<Vec<ChromaRecord>> {
        let mut include = vec!["documents", "metadatas"];
        if with_embeddings {
            include.push("embeddings");
        }
        let v = self.call(
            "POST",
            &format!("{}/collections/{}/get", self.base(), seg(id)),
            Some(json!({"limit": limit, "offset": offset, "include": include})),
        )?;
        parse_records(&v, None)
    }

    /// Every record of a collection, read in pages.
    pub fn get_all(&self, id: &str, with_embeddings: bool) -> Result<Vec<ChromaRecord>> {
        let mut out = Vec::new();
        loop {
            let page = self.get_page(id, out.len(), PAGE, with_embeddings)?;
            let n = page.len();
            out.extend(page);
            if n < PAGE {
                return Ok(out);
            }
        }
    }

    fn write(&self, verb: &str, id: &str, records: &[ChromaRecord]) -> Result<()> {
        for chunk in records.chunks(self.max_batch) {
            let body = json!({
                "ids": chunk.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
                "documents": chunk.iter().map(|r| r.document.clone()).collect::<Vec<_>>(),
                "metadatas": chunk.iter().map(|r| r.metadata.clone()).collect::<Vec<_>>(),
                "embeddings": chunk.iter().map(|r| r.embedding.clone().unwrap_or_default()).collect::<Vec<_>>(),
            });
            self.call(
                "POST",
                &format!("{}/collections/{}/{verb}", self.base(), seg(id)),
                Some(body),
            )?;
        }
        Ok(())
    }

    pub fn add(&self, id: &str, records: &[ChromaRecord]) -> Result<()> {
        self.write("add", id, records)
    }

    pub fn upsert(&self, id: &str, records: &[ChromaRecord]) -> Result<()> {
        self.write("upsert", id, records)
    }

    pub fn delete_ids(&self, id: &str, ids: &[String]) -> Result<()> {
        for chunk in ids.chunks(self.max_batch) {
            self.call(
                "POST",
                &format!("{}/collections/{}/delete", self.base(), seg(id)),
                Some(json!({"ids": chunk})),
            )?;
        }
        Ok(())
    }

    /// Nearest neighbours of one embedding: (id, document, distance).
    pub fn query(&self, id: &str, embedding: &[f32], k: usize) -> Result<Vec<(ChromaRecord, f32)>> {
        let v = self.call(
            "POST",
            &format!("{}/collections/{}/query", self.base(), seg(id)),
            Some(json!({"query_embeddings": [embedding], "n_results": k, "include": ["documents", "distances"]})),
        )?;
        let recs = parse_records(&v, Some(0))?;
        let dists: Vec<f32> = v
            .pointer("/distances/0")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|d| d.as_f64().unwrap_or(f64::NAN) as f32)
                    .collect()
            })
            .unwrap_or_default();
        Ok(recs.into_iter().zip(dists).collect())
    }
}

/// An HTTP error status from Chroma (callers branch on 404).
#[derive(Debug)]
pub struct ChromaHttpError {
    pub status: u16,
    pub message: String,
}

impl std::fmt::Display for ChromaHttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ChromaHttpError {}

fn is_status(e: &anyhow::Error, status: u16) -> bool {
    e.downcast_ref::<ChromaHttpError>()
        .is_some_and(|h| h.status == status)
}

/// Column-wise `get`/`query` results to records; `row` selects the query row (query results nest).
fn parse_records(v: &Value, row: Option<usize>) -> Result<Vec<ChromaRecord>> {
    let col = |k: &str| -> Option<Vec<Value>> {
        let mut x = v.get(k)?;
        if let Some(r) = row {
            x = x.get(r)?;
        }
        x.as_array().cloned()
    };
    let ids = col("ids").ok_or_else(|| anyhow!("Chroma response has no ids: {v}"))?;
    let docs = col("documents");
    let metas = col("metadatas");
    let embs = col("embeddings");
    let mut out = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        out.push(ChromaRecord {
            id: id.as_str().unwrap_or_default().to_string(),
            document: docs
                .as_ref()
                .and_then(|d| d.get(i))
                .and_then(Value::as_str)
                .map(str::to_string),
            metadata: metas
                .as_ref()
                .and_then(|m| m.get(i))
                .and_then(Value::as_object)
                .cloned(),
            embedding: embs.as_ref().and_then(|e| e.get(i)).and_then(|e| {
                e.as_array()
                    .map(|a| a.iter().map(|x| x.as_f64().unwrap_or(0.0) as f32).collect())
            }),
        });
    }
    Ok(out)
}

/// The Chroma-backed store: the three Vanna collections in one tenant/database.
pub struct ChromaStore {
    pub client: ChromaClient,
}

impl ChromaStore {
    /// Connect and make sure the tenant/database exists: Chroma answers "no such collection" for a
    /// missing database, which would otherwise read as an empty knowledge base.
    pub fn connect(cfg: ChromaConfig) -> Result<ChromaStore> {
        let client = ChromaClient::connect(cfg)?;
        client.check_database()?;
        Ok(ChromaStore { client })
    }

    fn collection(&self, c: Collection, create: bool) -> Result<Option<CollectionInfo>> {
        if create {
            self.client
                .create_collection(c.name(), None, true)
                .map(Some)
        } else {
            self.client.get_collection(c.name())
        }
    }
}

fn to_chroma(r: &Record) -> ChromaRecord {
    ChromaRecord {
        id: r.id.clone(),
        document: Some(r.document.clone()),
        metadata: r.source.as_ref().map(|s| {
            let mut m = Map::new();
            m.insert(SOURCE_KEY.into(), Value::String(s.clone()));
            m
        }),
        embedding: Some(r.embedding.clone()),
    }
}

fn source_of(m: &Option<Map<String, Value>>) -> Option<String> {
    m.as_ref()?.get(SOURCE_KEY)?.as_str().map(str::to_string)
}

impl Store for ChromaStore {
    fn describe(&self) -> String {
        self.client.cfg.masked()
    }

    fn kind(&self) -> &'static str {
        "chroma"
    }

    fn state(&mut self, c: Collection) -> Result<CollectionState> {
        let Some(info) = self.collection(c, false)? else {
            return Ok(CollectionState::default());
        };
        let ids = self
            .client
            .get_all(&info.id, false)?
            .into_iter()
            .map(|r| (r.id, source_of(&r.metadata)))
            .collect();
        Ok(CollectionState {
            exists: true,
            dimension: info.dimension,
            ids,
        })
    }

    fn add(&mut self, c: Collection, records: &[Record]) -> Result<()> {
        let info = self.collection(c, true)?.expect("created");
        let recs: Vec<ChromaRecord> = records.iter().map(to_chroma).collect();
        self.client.add(&info.id, &recs)
    }

    fn delete(&mut self, c: Collection, ids: &[String]) -> Result<()> {
        match self.collection(c, false)? {
            Some(info) => self.client.delete_ids(&info.id, ids),
            None => Ok(()),
        }
    }

    fn records(&mut self, c: Collection, with_embeddings: bool) -> Result<Vec<Record>> {
        let Some(info) = self.collection(c, false)? else {
            return Ok(Vec::new());
        };
        let mut out: Vec<Record> = self
            .client
            .get_all(&info.id, with_embeddings)?
            .into_iter()
            .map(|r| Record {
                source: source_of(&r.metadata),
                id: r.id,
                document: r.document.unwrap_or_default(),
                embedding: r.embedding.unwrap_or_default(),
            })
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    fn query(&mut self, c: Collection, embedding: &[f32], k: usize) -> Result<Vec<Hit>> {
        let Some(info) = self.collection(c, false)? else {
            return Ok(Vec::new());
        };
        Ok(self
            .client
            .query(&info.id, embedding, k)?
            .into_iter()
            .map(|(r, d)| Hit {
                id: r.id,
                document: r.document.unwrap_or_default(),
                distance: d,
            })
            .collect())
    }

    fn count(&mut self, c: Collection) -> Result<usize> {
        match self.collection(c, false)? {
            Some(info) => self.client.count(&info.id),
            None => Ok(0),
        }
    }

    fn clear(&mut self, c: Collection) -> Result<()> {
        // Drop and recreate (deleting ids would keep a wrong embedding dimension). The collection's
        // own metadata, e.g. the app's `hnsw:space`, is carried over; vannactl's training stamp is not.
        if let Some(info) = self.collection(c, false)? {
            let mut meta = info.metadata.unwrap_or_default();
            meta.retain(|k, _| !k.starts_with("vannactl_"));
            self.client.delete_collection(c.name())?;
            self.client
                .create_collection(c.name(), Some(meta).filter(|m| !m.is_empty()), true)?;
        }
        Ok(())
    }

    fn set_trained(&mut self, model: &str, at: &str) -> Result<()> {
        // Kept on the ddl collection's metadata; Vanna ignores collection metadata.
        let info = self.collection(Collection::Ddl, true)?.expect("created");
        let mut m = info.metadata.unwrap_or_default();
        m.insert(super::MODEL_KEY.into(), Value::String(model.into()));
        m.insert(super::TRAINED_KEY.into(), Value::String(at.into()));
        self.client.set_collection_metadata(&info.id, m)
    }

    fn trained(&mut self) -> Result<Option<(String, String)>> {
        let Some(info) = self.collection(Collection::Ddl, false)? else {
            return Ok(None);
        };
        let m = info.metadata.unwrap_or_default();
        let get = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
        Ok(match (get(super::MODEL_KEY), get(super::TRAINED_KEY)) {
            (Some(a), Some(b)) => Some((a, b)),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_get_and_query_shapes() {
        let get = json!({"ids": ["a", "b"], "documents": ["x", null], "metadatas": [{"vannactl_source": "s"}, null], "embeddings": [[1.0, 0.5], [0.0, 1.0]]});
        let r = parse_records(&get, None).unwrap();
        assert_eq!(r[0].embedding, Some(vec![1.0, 0.5]));
        assert_eq!(source_of(&r[0].metadata).as_deref(), Some("s"));
        assert_eq!(r[1].document, None);
        let q = json!({"ids": [["a"]], "documents": [["x"]]});
        assert_eq!(parse_records(&q, Some(0)).unwrap()[0].id, "a");
    }

    /// A loopback server answering every request with `answer`; None: accepts and stays silent.
    fn server(answer: Option<&'static str>) -> String {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://u:secret@{}", l.local_addr().unwrap());
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for mut s in l.incoming().flatten() {
                if let Some(a) = answer {
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf);
                    let _ = s.write_all(a.as_bytes());
                }
                held.push(s);
            }
        });
        url
    }

    fn connect_to(url: String) -> anyhow::Error {
        ChromaClient::connect(ChromaConfig {
            url,
            tenant: "default_tenant".into(),
            database: "default_database".into(),
            token: None,
            ca_files: Vec::new(),
        })
        .err()
        .unwrap()
    }

    #[test]
    fn other_web_servers_are_not_chroma() {
        let page = "HTTP/1.0 404 File not found\r\nContent-Type: text/html;charset=utf-8\r\n\
                    Content-Length: 22\r\nConnection: close\r\n\r\n<html>\n<body>\n</html>\n";
        let err = connect_to(server(Some(page)));
        let msg = crate::error::message(&err);
        assert_eq!(crate::error::classify(&err).0, "chroma_not_chroma");
        assert!(
            msg.contains("is not a Chroma server (HTTP 404 text/html on GET /api/v2/heartbeat)"),
            "{msg}"
        );
        assert!(!msg.contains("secret") && !msg.contains("<html"), "{msg}");
        // JSON, but not a heartbeat (some other API).
        let other = "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\
                     Connection: close\r\n\r\n{\"ok\":true}";
        let msg = crate::error::message(&connect_to(server(Some(other))));
        assert!(msg.contains("is not a Chroma server (HTTP 200"), "{msg}");
        // A proxy whose Chroma is down.
        let gateway =
            "HTTP/1.0 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\
                       Connection: close\r\n\r\n<h1>\n";
        let err = connect_to(server(Some(gateway)));
        assert_eq!(crate::error::classify(&err).0, "chroma_unreachable");
        assert!(crate::error::message(&err).contains("a proxy or gateway"));
    }

    #[test]
    fn a_silent_server_fails_within_the_login_deadline() {
        let url = server(None);
        let t = std::time::Instant::now();
        let err = crate::net::probing(|| connect_to(url));
        let took = t.elapsed();
        assert!(
            took >= crate::net::PROBE.login
                && took < crate::net::PROBE.login + Duration::from_secs(2),
            "{took:?}"
        );
        let msg = crate::error::message(&err);
        assert!(
            msg.contains("no answer within 5 s") && msg.contains("u:****@"),
            "{msg}"
        );
    }

    #[test]
    fn unreachable_server_fails_fast_with_masked_url() {
        // A loopback port nobody listens on: connection refused, no waiting.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let cfg = ChromaConfig {
            url: format!("http://user:secret@127.0.0.1:{port}"),
            tenant: "default_tenant".into(),
            database: "default_database".into(),
            token: None,
            ca_files: Vec::new(),
        };
        let err = ChromaClient::connect(cfg).err().unwrap();
        let msg = crate::error::message(&err);
        assert!(
            msg.contains("cannot reach Chroma") && !msg.contains("secret"),
            "{msg}"
        );
        assert_eq!(crate::error::classify(&err).0, "chroma_unreachable");
    }
}
