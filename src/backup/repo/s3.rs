//! The S3 repository: requests signed by `rusty-s3` (SigV4, presigned) and sent with `ureq`, no
//! async runtime. Archives are written as a streaming multipart upload (bounded memory, a CRC32 per
//! part checked by the server, `If-None-Match: *` so nothing is overwritten) and read as a stream;
//! transient failures are retried per request. Signed URLs carry the access key and signature:
//! they never reach a message or a log.

mod download;
mod retry;
mod upload;
mod xml;

use super::{Entry, Upload};
use crate::backup::archive;
use crate::config::Settings;
use crate::error::{classify, fail, usage};
use anyhow::Result;
use base64::Engine;
use md5::{Digest, Md5};
use rusty_s3::actions::{CreateMultipartUpload, ListObjectsV2};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use upload::{S3Upload, Sent};
use url::Url;
use xml::{blocks, tag};

/// How long a signed URL stays valid; each request is signed just before it is sent (retries
/// reuse it: they follow within seconds).
const SIGN_FOR: Duration = Duration::from_secs(600);
/// Error bodies are small XML documents.
const MAX_ERROR_BODY: u64 = 64 << 10;
/// ureq's socket buffers (128 KiB by default): bigger ones mean fewer, larger reads and writes
/// for 8 MiB parts and whole-archive downloads.
const SOCKET_BUFFER: usize = 1 << 20;

/// A non-2xx answer, read: its status and S3's error code and message.
struct Refusal {
    status: u16,
    code: String,
    message: String,
    /// The answer is a web page or plain text, not S3's XML: some other web server answered.
    foreign: Option<String>,
}

impl Refusal {
    fn detail(&self) -> String {
        if self.code.is_empty() {
            format!("HTTP {}", self.status)
        } else {
            format!(
                "HTTP {} {}: {}",
                self.status,
                crate::net::excerpt(&self.code),
                crate::net::excerpt(&self.message)
            )
        }
    }
}

#[derive(Clone)]
pub struct S3 {
    bucket: Bucket,
    prefix: String,
    creds: Credentials,
    /// Values scrubbed from any text that reaches a message.
    secrets: Vec<String>,
    endpoint: String,
    agent: ureq::Agent,
    /// Set once the server answered a part without confirming its CRC32 (it may not check
    /// it): from then on parts also carry `Content-MD5`, which every S3 server checks.
    md5_parts: Arc<AtomicBool>,
    /// Taken when the repository is opened (`health` probes with shorter ones).
    deadlines: crate::net::Deadlines,
}

/// How long one request may wait (see [`crate::net`]).
#[derive(Clone, Copy)]
enum Wait {
    /// A control request (list, HEAD, create/abort an upload, small objects, delete): its whole
    /// answer within `request`.
    Request,
    /// A transfer (a part, an archive read, completing an upload, which AWS may keep open for
    /// minutes sending spaces): no total, only `idle` without progress.
    Stream,
}

impl S3 {
    pub fn new(s: &Settings, bucket: &str, prefix: &str) -> Result<S3> {
        let c = &s.s3;
        let (Some(key), Some(secret)) = (&c.access_key_id, &c.secret_access_key) else {
            return Err(usage(format!(
                "BACKUP_DIR=s3://{bucket}/{prefix} needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY \
                 (in the environment or .env)"
            )));
        };
        check_credential("AWS_ACCESS_KEY_ID", key)?;
        check_credential("AWS_SECRET_ACCESS_KEY", secret)?;
        if let Some(t) = &c.session_token {
            check_credential("AWS_SESSION_TOKEN", t)?;
        }
        check_region(&c.region)?;
        let endpoint = match &c.endpoint_url {
            Some(e) => e.trim_end_matches('/').to_string(),
            None => format!("https://s3.{}.amazonaws.com", c.region),
        };
        let endpoint_url: Url = endpoint.parse().map_err(|e| {
            usage(format!(
                "AWS_ENDPOINT_URL={} is not a URL ({e}); use http(s)://host:port",
                crate::config::mask_url(&endpoint)
            ))
        })?;
        // Credentials travel only in the signature; a user:password in the URL would be sent as
        // something else and shown in every message naming the endpoint.
        if !endpoint_url.username().is_empty() || endpoint_url.password().is_some() {
            return Err(usage(format!(
                "AWS_ENDPOINT_URL={} holds credentials; remove them from the URL and set \
                 AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                crate::config::mask_url(&endpoint)
            )));
        }
        let style = if c.force_path_style {
            UrlStyle::Path
        } else {
            UrlStyle::VirtualHost
        };
        let bucket = Bucket::new(endpoint_url, style, bucket.to_string(), c.region.clone())
            .map_err(|e| usage(format!("AWS_ENDPOINT_URL={endpoint}: {e}")))?;
        let creds = match &c.session_token {
            Some(t) => Credentials::new_with_token(key, secret, t),
            None => Credentials::new(key, secret),
        };
        let mut secrets = vec![key.clone(), secret.clone()];
        secrets.extend(c.session_token.clone());
        let deadlines = crate::net::current();
        let mut builder = ureq::Agent::config_builder();
        // The CA files are read only when they matter.
        if endpoint.starts_with("https://") {
            builder = builder.tls_config(crate::trust::ureq_tls(&s.s3_ca_files())?);
        }
        let agent = builder
            .timeout_connect(Some(deadlines.connect))
            .timeout_recv_response(Some(deadlines.idle))
            .timeout_per_read(Some(deadlines.idle))
            .timeout_per_write(Some(deadlines.idle))
            .input_buffer_size(SOCKET_BUFFER)
            .output_buffer_size(SOCKET_BUFFER)
            .http_status_as_error(false)
            .build()
            .into();
        Ok(S3 {
            bucket,
            prefix: prefix.to_string(),
            creds,
            secrets,
            endpoint,
            agent,
            md5_parts: Arc::default(),
            deadlines,
        })
    }

    pub fn display(&self) -> String {
        format!("s3://{}/{}", self.bucket.name(), self.prefix)
    }

    pub fn location(&self, name: &str) -> String {
        format!("s3://{}/{}{name}", self.bucket.name(), self.prefix)
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Remove credentials and signatures from text that came from the wire or an error.
    fn scrub(&self, text: &str) -> String {
        let mut t = text.to_string();
        for s in &self.secrets {
            if !s.is_empty() {
                t = t.replace(s.as_str(), "****");
            }
        }
        // A URL echoed back: drop its query (it holds X-Amz-Credential and X-Amz-Signature).
        while let Some(i) = t.find("X-Amz-") {
            let start = t[..i].rfind('?').unwrap_or(i);
            let end = t[i..]
                .find(|c: char| c.is_whitespace() || c == '"' || c == '<')
                .map_or(t.len(), |e| i + e);
            t.replace_range(start..end, "?****");
        }
        t
    }

    /// Send one signed request as it is.
    fn send(
        &self,
        what: &str,
        wait: Wait,
        method: &str,
        url: &Url,
        headers: &[(&str, String)],
        body: Option<&[u8]>,
    ) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(url.as_str());
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let req = req.body(body.unwrap_or_default()).map_err(|e| {
            ureq::Error::Other(format!("cannot build the {what} request: {e}").into())
        })?;
        let req = match wait {
            // A server that accepts and never answers is given up on within `login`, like
            // every other service's handshake, not after the stream's `idle`.
            Wait::Request => self
                .agent
                .configure_request(req)
                .timeout_recv_response(Some(self.deadlines.login))
                .timeout_global(Some(self.deadlines.request))
                .build(),
            Wait::Stream => req,
        };
        self.agent.run(req)
    }

    /// Send, retrying transient failures (see [`retry`]), and turn a transport failure or a
    /// non-2xx answer into a classified error naming the endpoint and what failed, never the
    /// signed URL.
    #[allow(clippy::too_many_arguments)]
    fn call(
        &self,
        what: &str,
        target: &str,
        wait: Wait,
        method: &str,
        url: Url,
        headers: &[(&str, String)],
        body: Option<&[u8]>,
    ) -> Result<ureq::http::Response<ureq::Body>> {
        let mut attempt = 1;
        loop {
            let failure = match self.send(what, wait, method, &url, headers, body) {
                Ok(resp) if resp.status().is_success() => return Ok(resp),
                Ok(resp) => {
                    let r = self.refusal(resp, method);
                    if attempt >= retry::TRIES || !retry::transient_status(r.status, &r.code) {
                        return Err(self.status_error(what, target, &r));
                    }
                    r.detail()
                }
                Err(e) => {
                    if attempt >= retry::TRIES || !retry::transient_transport(&e) {
                        return Err(self.unreachable(what, target, wait, &e));
                    }
                    self.failure(wait, &e)
                }
            };
            retry::pause(
                attempt,
                format_args!("S3 {what} {target} failed ({failure})"),
            );
            attempt += 1;
        }
    }

    /// What a transport failure was, with the deadline that applied to this kind of request.
    fn failure(&self, wait: Wait, e: &ureq::Error) -> String {
        let d = match wait {
            // `http_failure` names `idle` for an answer that never started.
            Wait::Request => crate::net::Deadlines {
                idle: self.deadlines.login,
                ..self.deadlines
            },
            Wait::Stream => self.deadlines,
        };
        self.scrub(&crate::net::http_failure(e, &d, self.deadlines.request))
    }

    fn unreachable(&self, what: &str, target: &str, wait: Wait, e: &ureq::Error) -> anyhow::Error {
        if let Some(tls) = crate::trust::explain(e, crate::trust::HINT_S3) {
            return fail(
                "s3_tls",
                format!(
                    "S3 endpoint {} ({what} {target}): {}",
                    self.endpoint,
                    self.scrub(&tls)
                ),
            );
        }
        fail(
            "s3_unreachable",
            format!(
                "S3 endpoint {} did not answer ({what} {target}): {}; check AWS_ENDPOINT_URL \
                 and that the server is up",
                self.endpoint,
                self.failure(wait, e)
            ),
        )
    }

    fn refusal(&self, resp: ureq::http::Response<ureq::Body>, method: &str) -> Refusal {
        let status = resp.status().as_u16();
        let content_type = answer_header(&resp, "content-type")
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        let mut bytes = Vec::new();
        let _ = resp
            .into_body()
            .into_reader()
            .take(MAX_ERROR_BODY)
            .read_to_end(&mut bytes);
        let text = String::from_utf8_lossy(&bytes);
        let code = tag(&text, "Code").unwrap_or_default();
        // A HEAD answer has no body to tell by.
        let foreign = (code.is_empty()
            && method != "HEAD"
            && !content_type.is_empty()
            && !content_type.contains("xml"))
        .then_some(content_type);
        Refusal {
            status,
            code,
            message: self.scrub(&tag(&text, "Message").unwrap_or_default()),
            foreign,
        }
    }

    fn status_error(&self, what: &str, target: &str, r: &Refusal) -> anyhow::Error {
        let detail = r.detail();
        if let Some(content_type) = &r.foreign {
            return fail(
                "s3_not_s3",
                format!(
                    "{} is not an S3 server (HTTP {} {content_type} to {what} {target}); check AWS_ENDPOINT_URL",
                    self.endpoint, r.status
                ),
            );
        }
        match (r.status, r.code.as_str()) {
            (404, "NoSuchBucket") => fail(
                "s3_no_bucket",
                format!(
                    "bucket {} does not exist at {}; create it or fix BACKUP_DIR",
                    self.bucket.name(),
                    self.endpoint
                ),
            ),
            (404, _) if what.starts_with("read") => fail(
                "archive_missing",
                format!(
                    "{target} does not exist ({detail}); `vannactl backup list` shows the archives"
                ),
            ),
            (403, _) | (401, _) => fail(
                "s3_access_denied",
                format!(
                    "S3 refused {what} {target} ({detail}); check AWS_ACCESS_KEY_ID, \
                     AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and the bucket policy"
                ),
            ),
            (412, _) if what.starts_with("read") => fail(
                "archive_corrupt",
                format!("{target} changed while it was being read ({detail}); run again"),
            ),
            (412, _) => fail(
                "archive_exists",
                format!("{target} already exists; an archive is never overwritten"),
            ),
            _ => fail("s3_error", format!("S3 {what} {target} failed: {detail}")),
        }
    }

    pub fn list(&self) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut action = ListObjectsV2::new(&self.bucket, Some(&self.creds));
            action.with_prefix(self.prefix.as_str());
            action.with_delimiter("/");
            if let Some(t) = &token {
                action.with_continuation_token(t.as_str());
            }
            let url = action.sign(SIGN_FOR);
            let what = "list";
            let target = self.display();
            let resp = self.call(what, &target, Wait::Request, "GET", url, &[], None)?;
            let text = read_text(resp, &target)?;
            let page = ListObjectsV2::parse_response(&text).map_err(|e| {
                fail(
                    "s3_error",
                    format!("listing {target}: unexpected answer from the server ({e})"),
                )
            })?;
            for o in page.contents {
                let Some(name) = o.key.strip_prefix(self.prefix.as_str()) else {
                    continue;
                };
                if let Some(at) = archive::parse_name(name) {
                    out.push(Entry {
                        name: name.to_string(),
                        at,
                        size: o.size,
                    });
                }
            }
            match page.next_continuation_token {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => break,
            }
        }
        out.sort_by(|a, b| b.at.cmp(&a.at).then(b.name.cmp(&a.name)));
        Ok(out)
    }

    /// GET the object (or its first `len` bytes), streamed; a whole object is read ahead by its
    /// own thread and resumed after a dropped connection.
    pub fn reader(&self, name: &str, len: Option<u64>) -> Result<Box<dyn Read + Send>> {
        let key = self.key(name);
        let target = self.location(name);
        let range = len.map(|n| format!("bytes=0-{}", n.saturating_sub(1)));
        let resp = self.get(&key, &target, "read", Wait::Stream, range, None)?;
        if len.is_some() {
            let what = format!("reading {target} from {}", self.endpoint);
            return Ok(Box::new(Blame {
                inner: resp.into_body().into_reader(),
                what,
            }));
        }
        let etag = answer_header(&resp, "etag");
        let src = download::Source {
            s3: self.clone(),
            key,
            target: target.clone(),
            etag,
            body: Box::new(resp.into_body().into_reader()),
        };
        let d = download::Download::start(src)
            .map_err(|e| fail("s3_error", format!("cannot start reading {target}: {e}")))?;
        Ok(Box::new(d))
    }

    /// The rest of the object from byte `from`, if it is still the object with `etag`.
    fn read_from(
        &self,
        key: &str,
        target: &str,
        from: u64,
        etag: &str,
    ) -> Result<Box<dyn Read + Send>> {
        let range = Some(format!("bytes={from}-"));
        let resp = self.get(
            key,
            target,
            "resuming the read of",
            Wait::Stream,
            range,
            Some(etag),
        )?;
        Ok(Box::new(resp.into_body().into_reader()))
    }

    fn get(
        &self,
        key: &str,
        target: &str,
        what: &str,
        wait: Wait,
        range: Option<String>,
        if_match: Option<&str>,
    ) -> Result<ureq::http::Response<ureq::Body>> {
        let action = self.bucket.get_object(Some(&self.creds), key);
        let mut headers: Vec<(&str, String)> = Vec::new();
        if let Some(r) = range {
            headers.push(("range", r));
        }
        if let Some(e) = if_match {
            headers.push(("if-match", e.to_string()));
        }
        let url = signed(action, &headers);
        self.call(what, target, wait, "GET", url, &headers, None)
    }

    pub fn writer(&self, name: &str) -> Result<Box<dyn Upload + '_>> {
        let key = self.key(name);
        let target = self.location(name);
        let action = CreateMultipartUpload::new(&self.bucket, Some(&self.creds), &key);
        // AWS accepts part checksums only when the upload declares their algorithm.
        let headers = [("x-amz-checksum-algorithm", CHECKSUM_ALGORITHM.to_string())];
        let url = signed(action, &headers);
        let resp = self.call(
            "upload to",
            &target,
            Wait::Request,
            "POST",
            url,
            &headers,
            None,
        )?;
        let text = read_text(resp, &target)?;
        let upload_id = CreateMultipartUpload::parse_response(&text)
            .map_err(|e| {
                fail(
                    "s3_error",
                    format!("starting the upload of {target}: unexpected answer ({e})"),
                )
            })?
            .upload_id()
            .to_string();
        Ok(Box::new(S3Upload::start(self, key, target, upload_id)?))
    }

    /// Send one part; returns its ETag and CRC32 once the server has checked the part: it
    /// confirms our CRC32 (AWS, SeaweedFS, MinIO echo `x-amz-checksum-crc32`), or it checked the
    /// `Content-MD5` sent with it. A part the server answers without either is sent once more
    /// with `Content-MD5`, and so is every later part of this repository.
    fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        target: &str,
        number: u16,
        bytes: &[u8],
    ) -> Result<(String, u32)> {
        let started = Instant::now();
        let crc = crc32fast::hash(bytes);
        let crc_b64 = checksum_b64(crc);
        let md5: Option<[u8; 16]> = self
            .md5_parts
            .load(Ordering::Relaxed)
            .then(|| Md5::digest(bytes).into());
        let mut headers = vec![("x-amz-checksum-crc32", crc_b64.clone())];
        if let Some(m) = md5 {
            headers.push((
                "content-md5",
                base64::engine::general_purpose::STANDARD.encode(m),
            ));
        }
        let action = self
            .bucket
            .upload_part(Some(&self.creds), key, number, upload_id);
        let url = signed(action, &headers);
        let what = format!("upload of part {number} of");
        let resp = self.call(
            &what,
            target,
            Wait::Stream,
            "PUT",
            url,
            &headers,
            Some(bytes),
        )?;
        let answer = |n| answer_header(&resp, n).unwrap_or_default();
        let (etag, echoed) = (answer("etag"), answer("x-amz-checksum-crc32"));
        let wrong = |what: String| {
            fail(
                "s3_error",
                format!("part {number} of {target}: the server stored different bytes ({what})"),
            )
        };
        if !echoed.is_empty() && echoed != crc_b64 {
            return Err(wrong(format!("CRC32 {echoed}, sent {crc_b64}")));
        }
        match md5 {
            // The server checked Content-MD5; where its ETag is the part's MD5 (most servers),
            // that is compared too.
            Some(m) => {
                let bare = etag.trim_matches('"');
                if bare.len() == 32 && bare != hex::encode(m) {
                    return Err(wrong(format!("ETag {bare}")));
                }
            }
            None if echoed.is_empty() => {
                if !self.md5_parts.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "{}: the server does not confirm CRC32 part checksums; parts are sent \
                         with Content-MD5 as well (part {number} once more)",
                        self.endpoint
                    );
                }
                return self.upload_part(key, upload_id, target, number, bytes);
            }
            None => {}
        }
        tracing::debug!(
            "part {number} of {target}: {} bytes in {} ms",
            bytes.len(),
            started.elapsed().as_millis()
        );
        Ok((etag, crc))
    }

    fn complete(&self, key: &str, upload_id: &str, target: &str, sent: &Sent) -> Result<()> {
        // rusty-s3's action only signs: its body lacks the part checksums (`complete_body`).
        let action = self.bucket.complete_multipart_upload(
            Some(&self.creds),
            key,
            upload_id,
            sent.etags.iter().map(String::as_str),
        );
        let headers = [("if-none-match", "*".to_string())];
        let url = signed(action, &headers);
        let body = complete_body(sent);
        let resp = self.call(
            "completing the upload of",
            target,
            Wait::Stream,
            "POST",
            url,
            &headers,
            Some(body.as_bytes()),
        )?;
        // S3 may answer 200 and still report an error in the body.
        let text = read_text(resp, target)?;
        if text.contains("<Error>") {
            return Err(fail(
                "s3_error",
                format!(
                    "completing the upload of {target} failed: {} {}",
                    tag(&text, "Code").unwrap_or_default(),
                    self.scrub(&tag(&text, "Message").unwrap_or_default())
                ),
            ));
        }
        Ok(())
    }

    /// The assembled object has our size, and each proof the server reports matches exactly our
    /// parts: the composite CRC32 and the multipart ETag. Otherwise the object is removed: nothing
    /// wrong stays under a final name.
    fn check_complete(&self, key: &str, target: &str, sent: &Sent) -> Result<()> {
        let stored = self.stored(key, target)?;
        if let Err(w) = stored.matches(sent) {
            let _ = self.remove_key(key, target);
            return Err(fail(
                "s3_error",
                format!("{target} was stored wrongly ({w}); removed it"),
            ));
        }
        Ok(())
    }

    /// Whether the object under `key` is the one these parts make: our size, and at least one
    /// proof of exactly our parts (a server that reports neither never proves it). After a
    /// completion whose answer was lost, the retry is refused (the upload is gone, or the object
    /// now exists) although the archive was stored.
    fn holds_exactly(&self, key: &str, target: &str, sent: &Sent) -> bool {
        self.stored(key, target)
            .is_ok_and(|st| st.matches(sent) == Ok(true))
    }

    /// What the server reports of a stored object (HEAD, with its checksum asked for).
    fn stored(&self, key: &str, target: &str) -> Result<Stored> {
        let action = self.bucket.head_object(Some(&self.creds), key);
        let headers = [("x-amz-checksum-mode", "ENABLED".to_string())];
        let url = signed(action, &headers);
        let resp = self.call(
            "checking",
            target,
            Wait::Request,
            "HEAD",
            url,
            &headers,
            None,
        )?;
        let header = |n| answer_header(&resp, n);
        Ok(Stored {
            size: header("content-length").and_then(|v| v.parse().ok()),
            etag: header("etag")
                .unwrap_or_default()
                .trim_matches('"')
                .to_string(),
            crc32: header("x-amz-checksum-crc32"),
        })
    }

    fn abort(&self, key: &str, upload_id: &str, target: &str) -> Result<()> {
        let url = self
            .bucket
            .abort_multipart_upload(Some(&self.creds), key, upload_id)
            .sign(SIGN_FOR);
        self.call(
            "aborting the upload of",
            target,
            Wait::Request,
            "DELETE",
            url,
            &[],
            None,
        )?;
        Ok(())
    }

    /// Abort unfinished uploads of archive names under the prefix: the lock is held, so any such
    /// upload was left by a killed run. Other keys are never touched.
    pub fn abort_stale_uploads(&self) -> Result<Vec<String>> {
        let base = self.bucket.base_url().clone();
        let query = [("prefix", self.prefix.as_str()), ("uploads", "")];
        let url = rusty_s3::signing::sign(
            &jiff::Timestamp::now(),
            rusty_s3::Method::Get,
            base,
            self.creds.key(),
            self.creds.secret(),
            self.creds.token(),
            self.bucket.region(),
            SIGN_FOR.as_secs(),
            query.iter().copied(),
            std::iter::empty(),
        );
        let target = self.display();
        let resp = self.call(
            "listing unfinished uploads in",
            &target,
            Wait::Request,
            "GET",
            url,
            &[],
            None,
        )?;
        let text = read_text(resp, &target)?;
        let mut aborted = Vec::new();
        for upload in blocks(&text, "Upload") {
            let (Some(key), Some(id)) = (tag(upload, "Key"), tag(upload, "UploadId")) else {
                continue;
            };
            let ours = key
                .strip_prefix(self.prefix.as_str())
                .is_some_and(|n| archive::parse_name(n).is_some());
            if ours {
                let t = format!("s3://{}/{key}", self.bucket.name());
                self.abort(&key, &id, &t)?;
                aborted.push(format!("{t} (unfinished upload)"));
            }
        }
        Ok(aborted)
    }

    pub fn put_small(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let key = self.key(name);
        let target = self.location(name);
        // Small: Content-MD5, which every server checks, costs nothing here.
        let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(bytes));
        let action = self.bucket.put_object(Some(&self.creds), &key);
        let headers = [("content-md5", md5)];
        let url = signed(action, &headers);
        self.call(
            "upload to",
            &target,
            Wait::Request,
            "PUT",
            url,
            &headers,
            Some(bytes),
        )?;
        Ok(())
    }

    pub fn get_small(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let key = self.key(name);
        let target = self.location(name);
        let resp = match self.get(&key, &target, "read", Wait::Request, None, None) {
            Ok(r) => r,
            Err(e) if classify(&e).0 == "archive_missing" => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut buf = Vec::new();
        resp.into_body()
            .into_reader()
            .take(MAX_ERROR_BODY)
            .read_to_end(&mut buf)
            .map_err(|e| fail("s3_error", format!("reading {target}: {e}")))?;
        Ok(Some(buf))
    }

    pub fn remove(&self, name: &str) -> Result<()> {
        self.remove_key(&self.key(name), &self.location(name))
    }

    fn remove_key(&self, key: &str, target: &str) -> Result<()> {
        let url = self
            .bucket
            .delete_object(Some(&self.creds), key)
            .sign(SIGN_FOR);
        self.call("removing", target, Wait::Request, "DELETE", url, &[], None)?;
        Ok(())
    }
}

/// Credentials go into signatures and headers: only visible ASCII can be sent. The value is
/// never shown (it is a secret), only where it goes wrong.
fn check_credential(var: &str, value: &str) -> Result<()> {
    match value.chars().position(|c| !c.is_ascii_graphic()) {
        None => Ok(()),
        Some(i) => Err(usage(format!(
            "{var} has a space, control character or non-ASCII character at position {}; \
             copy it again without line breaks or quotes",
            i + 1
        ))),
    }
}

/// A region is a name like `us-east-1` (S3-compatible servers accept their own names, of the
/// same characters): anything else would only produce signatures every server refuses.
fn check_region(region: &str) -> Result<()> {
    let ok = !region.is_empty()
        && region.len() <= 64
        && region
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        return Ok(());
    }
    Err(usage(format!(
        "AWS_REGION={} is not a region name; use letters, digits and `-`, e.g. us-east-1",
        crate::net::excerpt(&region.escape_debug().to_string())
    )))
}

/// A response body whose read errors say what was being read from where.
struct Blame<R> {
    inner: R,
    what: String,
}

impl<R: Read> Read for Blame<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner
            .read(buf)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", self.what)))
    }
}

fn read_text(resp: ureq::http::Response<ureq::Body>, target: &str) -> Result<String> {
    let mut text = String::new();
    resp.into_body()
        .into_reader()
        .take(16 << 20)
        .read_to_string(&mut text)
        .map_err(|e| {
            fail(
                "s3_error",
                format!("reading the answer about {target}: {e}"),
            )
        })?;
    Ok(text)
}

/// `action` signed with these headers, which the request must then carry as they are (the same
/// slice goes to `call`).
fn signed<'a>(mut action: impl S3Action<'a>, headers: &[(&str, String)]) -> Url {
    for (k, v) in headers {
        action.headers_mut().insert(k.to_string(), v.clone());
    }
    action.sign(SIGN_FOR)
}

/// A header of an answer, as text.
fn answer_header(resp: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The part checksum algorithm: CRC32 (AWS's SDKs send CRC checksums by default), which
/// `crc32fast` computes at memory speed; MD5 cost about 2 CPU seconds per GB, on the cores the
/// upload shares with compression.
const CHECKSUM_ALGORITHM: &str = "CRC32";

/// S3's base64 form of a CRC32 (big-endian bytes).
fn checksum_b64(crc: u32) -> String {
    base64::engine::general_purpose::STANDARD.encode(crc.to_be_bytes())
}

/// The CompleteMultipartUpload body with each part's checksum, which AWS requires when the upload
/// declared an algorithm (rusty-s3's body has ETags only).
fn complete_body(sent: &Sent) -> String {
    let mut x = String::from("<CompleteMultipartUpload>");
    for (i, (etag, crc)) in sent.etags.iter().zip(&sent.crcs).enumerate() {
        x.push_str(&format!(
            "<Part><ETag>{}</ETag><ChecksumCRC32>{}</ChecksumCRC32><PartNumber>{}</PartNumber></Part>",
            xml::escape(etag),
            checksum_b64(*crc),
            i + 1
        ));
    }
    x.push_str("</CompleteMultipartUpload>");
    x
}

/// S3's composite checksum of a multipart object: the CRC32 of the parts' CRC32s, `-` and the
/// number of parts.
fn composite_crc32(sent: &Sent) -> String {
    let mut all = crc32fast::Hasher::new();
    for c in &sent.crcs {
        all.update(&c.to_be_bytes());
    }
    format!("{}-{}", checksum_b64(all.finalize()), sent.crcs.len())
}

/// S3's ETag of a multipart object: the MD5 of the parts' MD5s (their ETags, as most servers give
/// them), `-` and the number of parts; None when a part's ETag is not an MD5.
fn multipart_etag(sent: &Sent) -> Option<String> {
    let mut all = Md5::new();
    for e in &sent.etags {
        let md5 = hex::decode(e.trim_matches('"'))
            .ok()
            .filter(|b| b.len() == 16)?;
        all.update(&md5);
    }
    Some(format!(
        "{}-{}",
        hex::encode(all.finalize()),
        sent.etags.len()
    ))
}

/// A stored object's HEAD.
struct Stored {
    size: Option<u64>,
    /// Bare ETag.
    etag: String,
    /// Composite CRC32, where the server reports it.
    crc32: Option<String>,
}

impl Stored {
    /// Our size, and every proof the server gives names exactly our parts; Ok(true) when at least
    /// one proof was there to check (a composite checksum, or a multipart ETag of MD5 parts).
    fn matches(&self, sent: &Sent) -> std::result::Result<bool, String> {
        if self.size != Some(sent.total) {
            return Err(format!(
                "size {:?}, {} bytes were sent",
                self.size, sent.total
            ));
        }
        let mut proven = false;
        if let Some(c) = &self.crc32 {
            let want = composite_crc32(sent);
            if *c != want {
                return Err(format!("checksum {c}, expected {want}"));
            }
            proven = true;
        }
        if let (true, Some(want)) = (self.etag.contains('-'), multipart_etag(sent)) {
            if self.etag != want {
                return Err(format!("ETag {}, expected {want}", self.etag));
            }
            proven = true;
        }
        Ok(proven)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Settings from these variables alone (no `.env`).
    fn settings_of(env: &[(&str, &str)]) -> Settings {
        Settings::load(&crate::config::Sources {
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            no_dotenv: true,
            ..Default::default()
        })
        .unwrap()
    }

    /// An S3 repository at a loopback server answering every request with `answer` (None:
    /// accepts and stays silent).
    fn s3_at(answer: Option<&'static str>) -> S3 {
        use std::io::Write;
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", l.local_addr().unwrap());
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
        let env = [
            ("BACKUP_DIR", "s3://bucket/prefix/"),
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("AWS_S3_FORCE_PATH_STYLE", "true"),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "very-secret-key"),
        ];
        let settings = settings_of(&env);
        S3::new(&settings, "bucket", "prefix/").unwrap()
    }

    #[test]
    fn credentials_in_the_endpoint_url_are_refused_and_masked() {
        let env = [
            ("BACKUP_DIR", "s3://bucket/prefix/"),
            (
                "AWS_ENDPOINT_URL",
                "https://minio:hunter2-pw@s3.internal:9000",
            ),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "very-secret-key"),
        ];
        let settings = settings_of(&env);
        let err = S3::new(&settings, "bucket", "prefix/").err().unwrap();
        let msg = crate::error::message(&err);
        assert_eq!(classify(&err).0, "usage", "{msg}");
        assert!(msg.contains("minio:****@s3.internal:9000"), "{msg}");
        assert!(!msg.contains("hunter2-pw"), "{msg}");
    }

    #[test]
    fn a_web_server_that_is_not_s3_is_named_as_such() {
        let page = "HTTP/1.0 404 File not found\r\nContent-Type: text/html;charset=utf-8\r\n\
                    Content-Length: 22\r\nConnection: close\r\n\r\n<html>\n<body>\n</html>\n";
        let err = s3_at(Some(page)).list().err().unwrap();
        let msg = crate::error::message(&err);
        assert_eq!(classify(&err).0, "s3_not_s3", "{msg}");
        assert!(
            msg.contains("is not an S3 server (HTTP 404 text/html"),
            "{msg}"
        );
        assert!(
            !msg.contains("<html") && !msg.contains("very-secret-key"),
            "{msg}"
        );
    }

    #[test]
    fn a_silent_endpoint_fails_within_the_probe_deadline() {
        let t = Instant::now();
        let err = crate::net::probing(|| s3_at(None).list()).err().unwrap();
        assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
        let msg = crate::error::message(&err);
        assert_eq!(classify(&err).0, "s3_unreachable", "{msg}");
        assert!(msg.contains("no answer within 5 s"), "{msg}");
    }

    #[test]
    fn a_silent_endpoint_fails_within_the_login_deadline_outside_health() {
        // Control requests wait `login` for an answer to start, not the streams' `idle`.
        let t = Instant::now();
        let err = s3_at(None).list().err().unwrap();
        let waited = t.elapsed();
        assert!(
            waited >= crate::net::STANDARD.login && waited < crate::net::STANDARD.idle,
            "{waited:?}"
        );
        let msg = crate::error::message(&err);
        assert_eq!(classify(&err).0, "s3_unreachable", "{msg}");
        assert!(msg.contains("no answer within 10 s"), "{msg}");
        assert!(msg.contains("AWS_ENDPOINT_URL"), "{msg}");
    }

    #[test]
    fn malformed_credentials_and_regions_are_refused_without_showing_secrets() {
        assert!(check_credential("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEJr/+=").is_ok());
        for bad in ["tok\nen", "tok en", "t\u{e9}k", " tok"] {
            let e = check_credential("AWS_SESSION_TOKEN", bad).unwrap_err();
            let msg = crate::error::message(&e);
            assert_eq!(classify(&e).1.code(), 2, "{msg}");
            assert!(
                msg.contains("AWS_SESSION_TOKEN") && !msg.contains("tok"),
                "{msg}"
            );
        }
        for good in ["us-east-1", "eu-central-2", "garage", "local_1"] {
            assert!(check_region(good).is_ok(), "{good}");
        }
        for bad in ["us east\n1", "", "us-east-1/", "r\u{0}"] {
            let msg = crate::error::message(&check_region(bad).unwrap_err());
            assert!(msg.starts_with("AWS_REGION="), "{msg}");
            assert!(!msg.contains('\n'), "{msg}");
        }
    }

    fn sent(etags: &[&str], crcs: &[u32], total: u64) -> Sent {
        Sent {
            etags: etags.iter().map(|e| e.to_string()).collect(),
            crcs: crcs.to_vec(),
            total,
        }
    }

    #[test]
    fn checksums_in_s3s_form() {
        // The CRC32 check value of "123456789", big-endian, base64.
        assert_eq!(checksum_b64(crc32fast::hash(b"123456789")), "y/Q5Jg==");
        // Parts "a"×10 and "b"×10: the CRC32 of their CRC32s (computed with Python's zlib).
        let s = sent(
            &["x", "y"],
            &[crc32fast::hash(&[b'a'; 10]), crc32fast::hash(&[b'b'; 10])],
            20,
        );
        assert_eq!(composite_crc32(&s), "0l0pyg==-2");
        // Two empty parts: MD5 of their two MD5s (Python's hashlib).
        let empty = "\"d41d8cd98f00b204e9800998ecf8427e\"";
        let s = sent(&[empty, empty], &[0, 0], 0);
        assert_eq!(
            multipart_etag(&s).as_deref(),
            Some("5873dd45edd01f09c1ef2e7819369e8e-2")
        );
        assert_eq!(
            multipart_etag(&sent(&[empty, "\"kms-etag\""], &[0, 0], 0)),
            None
        );
    }

    #[test]
    fn complete_body_names_each_part_and_its_checksum() {
        let s = sent(&["\"e1\"", "\"e<2\""], &[0xCBF43926, 0], 2);
        assert_eq!(
            complete_body(&s),
            "<CompleteMultipartUpload>\
             <Part><ETag>\"e1\"</ETag><ChecksumCRC32>y/Q5Jg==</ChecksumCRC32><PartNumber>1</PartNumber></Part>\
             <Part><ETag>\"e&lt;2\"</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32><PartNumber>2</PartNumber></Part>\
             </CompleteMultipartUpload>"
        );
    }

    #[test]
    fn a_stored_object_must_match_every_proof_it_gives() {
        let empty = "\"d41d8cd98f00b204e9800998ecf8427e\"";
        let s = sent(&[empty, empty], &[0, 0], 10);
        let ok_crc = composite_crc32(&s);
        let ok_etag = multipart_etag(&s).unwrap();
        let st = |size, etag: &str, crc32: Option<&str>| Stored {
            size,
            etag: etag.into(),
            crc32: crc32.map(str::to_string),
        };
        assert_eq!(st(Some(10), &ok_etag, Some(&ok_crc)).matches(&s), Ok(true));
        assert_eq!(st(Some(10), &ok_etag, None).matches(&s), Ok(true));
        assert_eq!(st(Some(10), "plain", Some(&ok_crc)).matches(&s), Ok(true));
        let e = st(Some(9), &ok_etag, Some(&ok_crc))
            .matches(&s)
            .unwrap_err();
        assert!(e.contains("size Some(9)"), "{e}");
        let e = st(Some(10), &ok_etag, Some("AAAAAA==-2"))
            .matches(&s)
            .unwrap_err();
        assert!(e.contains("checksum AAAAAA==-2"), "{e}");
        let e = st(Some(10), "abc-2", Some(&ok_crc))
            .matches(&s)
            .unwrap_err();
        assert!(e.contains("ETag abc-2"), "{e}");
        // The size matches, but nothing proves the parts: a plain ETag and no checksum, or a
        // multipart ETag of parts whose ETags are not MD5s (nothing to compare it with).
        assert_eq!(st(Some(10), "plain", None).matches(&s), Ok(false));
        let kms = sent(&["\"kms-1\"", "\"kms-2\""], &[0, 0], 10);
        assert_eq!(st(Some(10), "abc-2", None).matches(&kms), Ok(false));
    }
}
