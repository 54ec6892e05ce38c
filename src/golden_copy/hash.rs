//! Streaming SHA-256: copying and hashing in one pass, with hashing on its own thread so it overlaps
//! the I/O (two cores: one reads/writes, one hashes).

use crate::output::Progress;
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{mpsc, Arc};

const CHUNK: usize = 4 << 20;

/// Copy `src` into `dst` (if given) while hashing; returns (bytes, hex sha256).
pub fn copy_and_hash(
    src: &mut File,
    mut dst: Option<&mut File>,
    progress: &Progress,
) -> Result<(u64, String)> {
    let (tx, rx) = mpsc::sync_channel::<Arc<Vec<u8>>>(4);
    let hasher = std::thread::spawn(move || {
        let mut h = Sha256::new();
        for chunk in rx {
            h.update(&chunk[..]);
        }
        hex::encode(h.finalize())
    });
    let mut total = 0u64;
    let result: Result<()> = (|| loop {
        let mut buf = vec![0u8; CHUNK];
        let n = read_full(src, &mut buf)?;
        if n == 0 {
            return Ok(());
        }
        buf.truncate(n);
        let buf = Arc::new(buf);
        if let Some(d) = dst.as_deref_mut() {
            d.write_all(&buf).context("write failed")?;
        }
        total += n as u64;
        progress.inc(n as u64);
        tx.send(buf)
            .map_err(|_| anyhow::anyhow!("hashing thread stopped"))?;
    })();
    drop(tx);
    let digest = hasher
        .join()
        .map_err(|_| anyhow::anyhow!("hashing thread panicked"))?;
    result?;
    Ok((total, digest))
}

pub fn hash_file(path: &Path, progress: &Progress) -> Result<(u64, String)> {
    let mut f = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    copy_and_hash(&mut f, None, progress).with_context(|| format!("cannot read {}", path.display()))
}

fn read_full(src: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match src.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest_and_copy() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a");
        // Spans several chunks and ends mid-chunk.
        let data: Vec<u8> = (0..(CHUNK * 2 + 123)).map(|i| (i % 251) as u8).collect();
        std::fs::write(&a, &data).unwrap();
        let mut out = File::create(d.path().join("b")).unwrap();
        let (n, h) = copy_and_hash(
            &mut File::open(&a).unwrap(),
            Some(&mut out),
            &Progress::hidden(),
        )
        .unwrap();
        assert_eq!(n as usize, data.len());
        assert_eq!(h, hex::encode(Sha256::digest(&data)));
        assert_eq!(std::fs::read(d.path().join("b")).unwrap(), data);
        let empty = d.path().join("e");
        std::fs::write(&empty, b"").unwrap();
        assert_eq!(
            hash_file(&empty, &Progress::hidden()).unwrap().1,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
