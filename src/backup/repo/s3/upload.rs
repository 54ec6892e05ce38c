//! The streaming multipart upload. The archive stream fills one part while an uploader thread
//! sends the ones before it, so compression and hashing never wait on the network. The hand-over
//! is a bounded channel: at most three parts are in memory (one filling, one queued, one being
//! sent), 24 MiB with 8 MiB parts, whatever the archive size.

use super::S3;
use crate::error::{fail, message};
use anyhow::Result;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

/// 8 MiB parts (S3's minimum is 5 MiB), doubled every 1,000 parts so the 10,000-part limit is
/// never reached.
pub const PART_SIZE: usize = 8 << 20;
/// Full parts waiting for the uploader while it sends one: one lets the next part fill without
/// waiting, more would only cost memory (the network is the slower side).
const QUEUED_PARTS: usize = 1;

struct Part {
    number: u16,
    bytes: Vec<u8>,
}

/// What the server confirmed, in part order.
#[derive(Default)]
pub(super) struct Sent {
    pub etags: Vec<String>,
    pub md5s: Vec<[u8; 16]>,
    pub total: u64,
}

/// A multipart upload in progress; dropped before `commit`, it is aborted.
pub(super) struct S3Upload<'a> {
    s3: &'a S3,
    key: String,
    target: String,
    upload_id: String,
    buf: Vec<u8>,
    /// Parts handed to the uploader so far.
    parts: usize,
    tx: Option<SyncSender<Part>>,
    /// Buffers the uploader is done with, to fill again instead of allocating.
    spare: Receiver<Vec<u8>>,
    stop: Arc<AtomicBool>,
    worker: Option<JoinHandle<Result<Sent>>>,
    /// The uploader's failure once seen: every later write reports it, `commit` returns it.
    failed: Option<anyhow::Error>,
    done: bool,
}

impl<'a> S3Upload<'a> {
    pub fn start(s3: &'a S3, key: String, target: String, upload_id: String) -> Result<Self> {
        let (tx, rx) = mpsc::sync_channel::<Part>(QUEUED_PARTS);
        let (spare_tx, spare) = mpsc::sync_channel::<Vec<u8>>(QUEUED_PARTS + 1);
        let stop = Arc::new(AtomicBool::new(false));
        let worker = {
            let (client, key, target, id, stop) = (
                s3.clone(),
                key.clone(),
                target.clone(),
                upload_id.clone(),
                stop.clone(),
            );
            std::thread::Builder::new()
                .name("s3-upload".into())
                .spawn(move || {
                    let mut sent = Sent::default();
                    for part in rx {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let (etag, md5) =
                            client.upload_part(&key, &id, &target, part.number, &part.bytes)?;
                        sent.etags.push(etag);
                        sent.md5s.push(md5);
                        sent.total += part.bytes.len() as u64;
                        let mut bytes = part.bytes;
                        bytes.clear();
                        let _ = spare_tx.try_send(bytes);
                    }
                    Ok(sent)
                })
                .map_err(|e| fail("s3_error", format!("cannot start the upload thread: {e}")))?
        };
        Ok(S3Upload {
            s3,
            key,
            target,
            upload_id,
            buf: Vec::with_capacity(PART_SIZE),
            parts: 0,
            tx: Some(tx),
            spare,
            stop,
            worker: Some(worker),
            failed: None,
            done: false,
        })
    }

    fn part_size(&self) -> usize {
        PART_SIZE << (self.parts / 1000).min(6)
    }

    /// Queue the filled buffer as the next part (waits while the queue is full).
    fn hand_over(&mut self) -> Result<(), ()> {
        let next = self
            .spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(PART_SIZE));
        let bytes = std::mem::replace(&mut self.buf, next);
        self.parts += 1;
        let part = Part {
            number: self.parts as u16,
            bytes,
        };
        let sent = self.tx.as_ref().is_some_and(|tx| tx.send(part).is_ok());
        if sent {
            Ok(())
        } else {
            self.collect_failure();
            Err(())
        }
    }

    /// The uploader stopped early, which it does only on failure: keep its error.
    fn collect_failure(&mut self) {
        if self.failed.is_some() {
            return;
        }
        let e = match self.worker.take().map(JoinHandle::join) {
            Some(Ok(Err(e))) => e,
            Some(Err(_)) => fail(
                "s3_error",
                format!("the upload thread of {} stopped unexpectedly", self.target),
            ),
            Some(Ok(Ok(_))) | None => fail(
                "s3_error",
                format!("the upload of {} stopped early", self.target),
            ),
        };
        self.failed = Some(e);
    }

    fn io_failure(&self) -> io::Error {
        io::Error::other(self.failed.as_ref().map(message).unwrap_or_default())
    }
}

impl Write for S3Upload<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.worker.as_ref().is_some_and(JoinHandle::is_finished) {
            self.collect_failure();
        }
        if self.failed.is_some() {
            return Err(self.io_failure());
        }
        let room = self.part_size() - self.buf.len();
        let n = data.len().min(room);
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() >= self.part_size() && self.hand_over().is_err() {
            return Err(self.io_failure());
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl super::super::Upload for S3Upload<'_> {
    fn commit(mut self: Box<Self>) -> Result<()> {
        if self.failed.is_none() && (!self.buf.is_empty() || self.parts == 0) {
            let _ = self.hand_over();
        }
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        drop(self.tx.take());
        let sent = match self.worker.take().map(JoinHandle::join) {
            Some(Ok(r)) => r?,
            _ => {
                return Err(fail(
                    "s3_error",
                    format!("the upload thread of {} stopped unexpectedly", self.target),
                ))
            }
        };
        let s3 = self.s3;
        s3.complete(&self.key, &self.upload_id, &self.target, &sent.etags)?;
        self.done = true;
        s3.check_complete(&self.key, &self.target, &sent)
    }
}

impl Drop for S3Upload<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // Let the part being sent finish (bounded by the I/O timeout), skip the queued ones,
        // then abort: no part can arrive after the abort.
        self.stop.store(true, Ordering::Relaxed);
        drop(self.tx.take());
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
        if let Err(e) = self.s3.abort(&self.key, &self.upload_id, &self.target) {
            tracing::warn!(
                "could not abort the unfinished upload of {}: {}; the next backup aborts it",
                self.target,
                message(&e)
            );
        }
    }
}
