//! Vectors from a persisted HNSW segment: hnswlib's files as Chroma writes them (`header.bin`,
//! `data_level0.bin`) plus `index_metadata.pickle`, which maps Chroma ids to hnswlib labels. Read
//! only; vectors come back exactly as stored (float32), nothing is re-embedded.

use super::pickle::{self, Value};
use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::path::Path;

/// The fields of `header.bin` that locate vectors and labels (Chroma's hnswlib fork: a 4-byte
/// format version, then hnswlib's own header).
#[derive(Debug)]
struct Header {
    elements: usize,
    size_per_element: usize,
    label_offset: usize,
    data_offset: usize,
}

fn header(b: &[u8]) -> Result<Header> {
    if b.len() < 100 {
        bail!("header.bin has {} bytes, expected 100", b.len());
    }
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap()) as usize;
    let version = u32::from_le_bytes(b[0..4].try_into().unwrap());
    if version != 1 {
        bail!("header.bin has format version {version}, this build reads version 1");
    }
    Ok(Header {
        elements: u64_at(20),
        size_per_element: u64_at(28),
        label_offset: u64_at(36),
        data_offset: u64_at(44),
    })
}

/// id -> vector for every id the segment's metadata lists. `None` when the segment was never
/// persisted (Chroma keeps small collections in memory and rebuilds them from the log).
pub fn read(dir: &Path, dimension: usize) -> Result<Option<HashMap<String, Vec<f32>>>> {
    let meta_path = dir.join("index_metadata.pickle");
    if !meta_path.exists() {
        return Ok(None);
    }
    let ctx = || format!("cannot read the HNSW segment {}", dir.display());
    let meta = pickle::parse(&std::fs::read(&meta_path).with_context(ctx)?).with_context(ctx)?;
    let Some(Value::Dict(id_to_label)) = meta.get("id_to_label") else {
        bail!(
            "{}: index_metadata.pickle has no id_to_label",
            dir.display()
        );
    };
    let h = header(&std::fs::read(dir.join("header.bin")).with_context(ctx)?).with_context(ctx)?;
    let data = std::fs::read(dir.join("data_level0.bin")).with_context(ctx)?;
    if h.data_offset + dimension * 4 > h.label_offset
        || h.label_offset + 8 > h.size_per_element
        || data.len() < h.elements * h.size_per_element
    {
        bail!(
            "{}: HNSW files do not match dimension {dimension} ({} elements, {} bytes)",
            dir.display(),
            h.elements,
            data.len()
        );
    }
    let mut by_label: HashMap<u64, usize> = HashMap::with_capacity(h.elements);
    for i in 0..h.elements {
        let o = i * h.size_per_element + h.label_offset;
        by_label.insert(u64::from_le_bytes(data[o..o + 8].try_into().unwrap()), i);
    }
    let mut out = HashMap::with_capacity(id_to_label.len());
    for (k, v) in id_to_label {
        let (Value::Str(id), Value::Int(label)) = (k, v) else {
            bail!("{}: id_to_label holds a non-string id", dir.display());
        };
        let Some(&i) = by_label.get(&(*label as u64)) else {
            bail!(
                "{}: id {id:?} has label {label}, which data_level0.bin lacks",
                dir.display()
            );
        };
        let o = i * h.size_per_element + h.data_offset;
        out.insert(id.clone(), super::from_blob(&data[o..o + dimension * 4]));
    }
    Ok(Some(out))
}
