//! Reading a whole object. The response body is pumped by its own thread into a short queue of
//! chunks, so the transfer keeps going while the archive is decompressed and hashed. A transient
//! failure mid-stream (a reset connection) resumes with a range request from the first byte not
//! yet received, pinned to the same object by `If-Match` on its ETag.

use super::{retry, S3};
use std::io::{self, Read};
use std::sync::mpsc::{self, Receiver, SyncSender};

/// Chunks of 1 MiB, up to 8 queued: what is buffered stays under 10 MiB.
const CHUNK: usize = 1 << 20;
const QUEUED_CHUNKS: usize = 8;

enum Msg {
    Data(Vec<u8>),
    End,
    Failed(io::Error),
}

/// Where the pump reads from, and how to pick the object up again.
pub(super) struct Source {
    pub s3: S3,
    pub key: String,
    pub target: String,
    /// The object's ETag: resuming is only safe when it is known.
    pub etag: Option<String>,
    pub body: Box<dyn Read + Send>,
}

pub(super) struct Download {
    rx: Receiver<Msg>,
    spare: SyncSender<Vec<u8>>,
    chunk: Vec<u8>,
    pos: usize,
    end: bool,
    failed: Option<(io::ErrorKind, String)>,
}

impl Download {
    pub fn start(src: Source) -> io::Result<Download> {
        let (tx, rx) = mpsc::sync_channel(QUEUED_CHUNKS);
        let (spare, spare_rx) = mpsc::sync_channel(QUEUED_CHUNKS + 2);
        std::thread::Builder::new()
            .name("s3-download".into())
            .spawn(move || pump(src, &tx, &spare_rx))?;
        Ok(Download {
            rx,
            spare,
            chunk: Vec::new(),
            pos: 0,
            end: false,
            failed: None,
        })
    }
}

/// Read the body into chunks until it ends, fails for good, or nobody reads any more.
fn pump(mut src: Source, tx: &SyncSender<Msg>, spare: &Receiver<Vec<u8>>) {
    let what = format!("reading {} from {}", src.target, src.s3.endpoint);
    let mut offset = 0u64;
    let mut attempt = 1;
    loop {
        let mut chunk = spare.try_recv().unwrap_or_default();
        chunk.resize(CHUNK, 0);
        let mut filled = 0;
        let mut ended = false;
        while filled < CHUNK {
            match src.body.read(&mut chunk[filled..]) {
                Ok(0) => {
                    ended = true;
                    break;
                }
                Ok(n) => {
                    filled += n;
                    attempt = 1;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let at = offset + filled as u64;
                    let resumed = match &src.etag {
                        Some(etag) if retry::transient_io(e.kind()) && attempt < retry::TRIES => {
                            retry::pause(
                                attempt,
                                format_args!(
                                    "{what}: {e} after {at} bytes (the next attempt resumes there)"
                                ),
                            );
                            attempt += 1;
                            src.s3
                                .read_from(&src.key, &src.target, at, etag)
                                .map_err(|e| io::Error::other(crate::error::message(&e)))
                        }
                        _ => Err(io::Error::new(e.kind(), format!("{what}: {e}"))),
                    };
                    match resumed {
                        Ok(body) => src.body = body,
                        Err(e) => {
                            let _ = tx.send(Msg::Failed(e));
                            return;
                        }
                    }
                }
            }
        }
        chunk.truncate(filled);
        offset += filled as u64;
        if filled > 0 && tx.send(Msg::Data(chunk)).is_err() {
            return;
        }
        if ended {
            let _ = tx.send(Msg::End);
            return;
        }
    }
}

impl Read for Download {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.pos == self.chunk.len() {
            if let Some((kind, msg)) = &self.failed {
                return Err(io::Error::new(*kind, msg.clone()));
            }
            if self.end {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Msg::Data(c)) => {
                    let old = std::mem::replace(&mut self.chunk, c);
                    let _ = self.spare.try_send(old);
                    self.pos = 0;
                }
                Ok(Msg::End) => self.end = true,
                Ok(Msg::Failed(e)) => self.failed = Some((e.kind(), e.to_string())),
                Err(_) => {
                    self.failed = Some((
                        io::ErrorKind::Other,
                        "the download thread stopped unexpectedly".into(),
                    ))
                }
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
