//! The S3 repository: requests signed by `rusty-s3` (SigV4, presigned) and sent with `ureq`, no
//! async runtime. Archives are written as a streaming multipart upload (bounded memory, an MD5 per
//! part checked by the server, `If-None-Match: *` so nothing is overwritten) and read as a stream.
//! Signed URLs carry the access key and signature: they never reach a message or a log.

use super::{Entry, Upload};
use crate::backup::archive;
use crate::config::Settings;
use crate::error::{fail, usage};
use anyhow::Result;
use base64::Engine;
use md5::{Digest, Md5};
use rusty_s3::actions::{CreateMultipartUpload, ListObjectsV2};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use std::io::{self, Read, Write};
use std::time::Duration;
use url::Url;

/// Parts are buffered in memory one at a time: 8 MiB (S3's minimum is 5 MiB), doubled every
/// 1,000 parts so the 10,000-part limit is never reached.
const PART_SIZE: usize = 8 << 20;
/// How long a signed URL stays valid; each request is signed just before it is sent.
const SIGN_FOR: Duration = Duration::from_secs(600);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A server that stops answering mid-transfer fails the run after this long.
const IO_TIMEOUT: Duration = Duration::from_secs(60);
/// Error bodies are small XML documents.
const MAX_ERROR_BODY: u64 = 64 << 10;

pub struct S3 {
    bucket: Bucket,
    prefix: String,
    creds: Credentials,
    /// Values scrubbed from any text that reaches a message.
    secrets: Vec<String>,
    endpoint: String,
    agent: ureq::Agent,
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
        let endpoint = match &c.endpoint_url {
            Some(e) => e.trim_end_matches('/').to_string(),
            None => format!("https://s3.{}.amazonaws.com", c.region),
        };
        let endpoint_url: Url = endpoint.parse().map_err(|e| {
            usage(format!(
                "AWS_ENDPOINT_URL={endpoint} is not a URL ({e}); use http(s)://host:port"
            ))
        })?;
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
        let agent = ureq::Agent::config_builder()
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_recv_response(Some(IO_TIMEOUT))
            .timeout_per_read(Some(IO_TIMEOUT))
            .timeout_per_write(Some(IO_TIMEOUT))
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

    /// Send one signed request; a transport failure names the endpoint, never the signed URL.
    fn send(
        &self,
        what: &str,
        target: &str,
        method: &str,
        url: Url,
        headers: &[(&str, String)],
        body: Option<&[u8]>,
    ) -> Result<ureq::http::Response<ureq::Body>> {
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(url.as_str());
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let req = req
            .body(body.unwrap_or_default())
            .map_err(|e| fail("s3_error", format!("cannot build the {what} request: {e}")))?;
        self.agent.run(req).map_err(|e| {
            fail(
                "s3_unreachable",
                format!(
                    "S3 endpoint {} did not answer ({what} {target}): {}; check AWS_ENDPOINT_URL \
                     and that the server is up",
                    self.endpoint,
                    self.scrub(&e.to_string())
                ),
            )
        })
    }

    /// Send, and turn a non-2xx answer into a classified error naming what failed.
    fn call(
        &self,
        what: &str,
        target: &str,
        method: &str,
        url: Url,
        headers: &[(&str, String)],
        body: Option<&[u8]>,
    ) -> Result<ureq::http::Response<ureq::Body>> {
        let resp = self.send(what, target, method, url, headers, body)?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        Err(self.status_error(what, target, resp))
    }

    fn status_error(
        &self,
        what: &str,
        target: &str,
        resp: ureq::http::Response<ureq::Body>,
    ) -> anyhow::Error {
        let status = resp.status().as_u16();
        let mut text = String::new();
        let _ = resp
            .into_body()
            .into_reader()
            .take(MAX_ERROR_BODY)
            .read_to_string(&mut text);
        let code = tag(&text, "Code").unwrap_or_default();
        let msg = self.scrub(&tag(&text, "Message").unwrap_or_default());
        let detail = if code.is_empty() {
            format!("HTTP {status}")
        } else {
            format!("HTTP {status} {code}: {msg}")
        };
        match (status, code.as_str()) {
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
            let resp = self.call(what, &target, "GET", url, &[], None)?;
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

    /// GET the object (or its first `len` bytes), streamed.
    pub fn reader(&self, name: &str, len: Option<u64>) -> Result<Box<dyn Read + Send>> {
        let key = self.key(name);
        let target = self.location(name);
        let mut action = self.bucket.get_object(Some(&self.creds), &key);
        let range = len.map(|n| format!("bytes=0-{}", n.saturating_sub(1)));
        if let Some(r) = &range {
            action.headers_mut().insert("range", r.clone());
        }
        let url = action.sign(SIGN_FOR);
        let headers: Vec<(&str, String)> = range.into_iter().map(|r| ("range", r)).collect();
        let resp = self.call("read", &target, "GET", url, &headers, None)?;
        let endpoint = self.endpoint.clone();
        Ok(Box::new(Blame {
            inner: resp.into_body().into_reader(),
            what: format!("reading {target} from {endpoint}"),
        }))
    }

    pub fn writer(&self, name: &str) -> Result<Box<dyn Upload + '_>> {
        let key = self.key(name);
        let target = self.location(name);
        let url = CreateMultipartUpload::new(&self.bucket, Some(&self.creds), &key).sign(SIGN_FOR);
        let resp = self.call("upload to", &target, "POST", url, &[], None)?;
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
        Ok(Box::new(S3Upload {
            s3: self,
            key,
            target,
            upload_id,
            buf: Vec::with_capacity(PART_SIZE),
            etags: Vec::new(),
            md5s: Vec::new(),
            total: 0,
            done: false,
        }))
    }

    fn upload_part(&self, up: &mut S3Upload<'_>) -> Result<()> {
        let number = up.etags.len() as u16 + 1;
        let md5: [u8; 16] = Md5::digest(&up.buf).into();
        let md5_b64 = base64::engine::general_purpose::STANDARD.encode(md5);
        let mut action = self
            .bucket
            .upload_part(Some(&self.creds), &up.key, number, &up.upload_id);
        action.headers_mut().insert("content-md5", md5_b64.clone());
        let url = action.sign(SIGN_FOR);
        let what = format!("upload of part {number} of");
        let resp = self.call(
            &what,
            &up.target,
            "PUT",
            url,
            &[("content-md5", md5_b64)],
            Some(&up.buf),
        )?;
        let etag = resp
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        // Servers that return the part's MD5 as its ETag (most do) get it checked here as well.
        let bare = etag.trim_matches('"');
        if bare.len() == 32 && bare != hex::encode(md5) {
            return Err(fail(
                "s3_error",
                format!(
                    "part {number} of {}: the server stored different bytes (ETag {bare})",
                    up.target
                ),
            ));
        }
        up.etags.push(etag);
        up.md5s.push(md5);
        up.total += up.buf.len() as u64;
        up.buf.clear();
        Ok(())
    }

    fn complete(&self, up: &mut S3Upload<'_>) -> Result<()> {
        let action = self.bucket.complete_multipart_upload(
            Some(&self.creds),
            &up.key,
            &up.upload_id,
            up.etags.iter().map(String::as_str),
        );
        let mut action = action;
        action.headers_mut().insert("if-none-match", "*");
        let url = action.sign(SIGN_FOR);
        let body = action.body();
        let resp = self.call(
            "completing the upload of",
            &up.target,
            "POST",
            url,
            &[("if-none-match", "*".to_string())],
            Some(body.as_bytes()),
        )?;
        // S3 may answer 200 and still report an error in the body.
        let text = read_text(resp, &up.target)?;
        if text.contains("<Error>") {
            return Err(fail(
                "s3_error",
                format!(
                    "completing the upload of {} failed: {} {}",
                    up.target,
                    tag(&text, "Code").unwrap_or_default(),
                    self.scrub(&tag(&text, "Message").unwrap_or_default())
                ),
            ));
        }
        up.done = true;
        self.check_complete(up)
    }

    /// The assembled object has our size, and (where the server reports it) the multipart ETag of
    /// exactly our parts. Otherwise the object is removed: nothing wrong stays under a final name.
    fn check_complete(&self, up: &S3Upload<'_>) -> Result<()> {
        let url = self
            .bucket
            .head_object(Some(&self.creds), &up.key)
            .sign(SIGN_FOR);
        let resp = self.call("checking", &up.target, "HEAD", url, &[], None)?;
        let header = |n: &str| {
            resp.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let size: Option<u64> = header("content-length").and_then(|v| v.parse().ok());
        let etag = header("etag").unwrap_or_default();
        let mut all = Md5::new();
        for m in &up.md5s {
            all.update(m);
        }
        let want = format!("{}-{}", hex::encode(all.finalize()), up.md5s.len());
        let bare = etag.trim_matches('"');
        let wrong = if size != Some(up.total) {
            Some(format!("size {size:?}, {} bytes were sent", up.total))
        } else if bare.contains('-') && bare != want {
            Some(format!("ETag {bare}, expected {want}"))
        } else {
            None
        };
        if let Some(w) = wrong {
            let _ = self.remove_key(&up.key, &up.target);
            return Err(fail(
                "s3_error",
                format!("{} was stored wrongly ({w}); removed it", up.target),
            ));
        }
        Ok(())
    }

    fn abort(&self, key: &str, upload_id: &str, target: &str) -> Result<()> {
        let url = self
            .bucket
            .abort_multipart_upload(Some(&self.creds), key, upload_id)
            .sign(SIGN_FOR);
        self.call("aborting the upload of", target, "DELETE", url, &[], None)?;
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
        let url = self
            .bucket
            .put_object(Some(&self.creds), &key)
            .sign(SIGN_FOR);
        self.call("upload to", &target, "PUT", url, &[], Some(bytes))?;
        Ok(())
    }

    pub fn get_small(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let key = self.key(name);
        let target = self.location(name);
        let url = self
            .bucket
            .get_object(Some(&self.creds), &key)
            .sign(SIGN_FOR);
        let resp = self.send("read", &target, "GET", url, &[], None)?;
        if resp.status().as_u16() == 404 {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(self.status_error("read", &target, resp));
        }
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
        self.call("removing", target, "DELETE", url, &[], None)?;
        Ok(())
    }
}

/// A multipart upload in progress; dropped before `commit`, it is aborted.
struct S3Upload<'a> {
    s3: &'a S3,
    key: String,
    target: String,
    upload_id: String,
    buf: Vec<u8>,
    etags: Vec<String>,
    md5s: Vec<[u8; 16]>,
    total: u64,
    done: bool,
}

impl S3Upload<'_> {
    fn part_size(&self) -> usize {
        PART_SIZE << (self.etags.len() / 1000).min(6)
    }
}

impl Write for S3Upload<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = self.part_size() - self.buf.len();
        let n = data.len().min(room);
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() >= self.part_size() {
            let s3 = self.s3;
            s3.upload_part(self)
                .map_err(|e| io::Error::other(crate::error::message(&e)))?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Upload for S3Upload<'_> {
    fn commit(mut self: Box<Self>) -> Result<()> {
        let s3 = self.s3;
        if !self.buf.is_empty() || self.etags.is_empty() {
            s3.upload_part(&mut self)?;
        }
        s3.complete(&mut self)
    }
}

impl Drop for S3Upload<'_> {
    fn drop(&mut self) {
        if !self.done {
            if let Err(e) = self.s3.abort(&self.key, &self.upload_id, &self.target) {
                tracing::warn!(
                    "could not abort the unfinished upload of {}: {}; the next backup aborts it",
                    self.target,
                    crate::error::message(&e)
                );
            }
        }
    }
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

/// The text of the first `<name>…</name>` element (XML entities decoded).
fn tag(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(unescape(&xml[start..end]))
}

/// Every `<name>…</name>` element's inner text.
fn blocks<'a>(xml: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(s) = rest.find(&open) {
        let after = &rest[s + open.len()..];
        let Some(e) = after.find(&close) else { break };
        out.push(&after[..e]);
        rest = &after[e + close.len()..];
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_fields_and_blocks() {
        let x = "<ListMultipartUploadsResult><Upload><Key>p/backup_a&amp;b</Key><UploadId>1</UploadId></Upload>\
                 <Upload><Key>p/x</Key><UploadId>2</UploadId></Upload></ListMultipartUploadsResult>";
        let b = blocks(x, "Upload");
        assert_eq!(b.len(), 2);
        assert_eq!(tag(b[0], "Key").as_deref(), Some("p/backup_a&b"));
        assert_eq!(tag(b[1], "UploadId").as_deref(), Some("2"));
        assert_eq!(tag(x, "Missing"), None);
    }
}
