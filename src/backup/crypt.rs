//! age encryption of archives: the compressed stream is encrypted to X25519 recipients
//! (`BACKUP_AGE_RECIPIENTS` / `BACKUP_AGE_RECIPIENTS_FILE`, public keys only on the backup host)
//! and decrypted with `BACKUP_AGE_IDENTITY_FILE` where archives are verified or restored.
//! Misconfiguration fails closed: an unreadable recipients file never means "write in clear".

use crate::config::Settings;
use crate::error::{fail, usage};
use anyhow::Result;
use std::io::{self, Read, Write};
use std::path::Path;
use std::str::FromStr;

pub type Recipients = Vec<age::x25519::Recipient>;

/// The configured recipients; `None` when encryption is not configured.
pub fn recipients(s: &Settings) -> Result<Option<Recipients>> {
    let mut keys: Vec<(String, String)> = Vec::new();
    if let Some(list) = &s.backup_age_recipients {
        for k in list.split(|c: char| c == ',' || c.is_whitespace()) {
            if !k.is_empty() {
                keys.push((k.to_string(), "BACKUP_AGE_RECIPIENTS".into()));
            }
        }
    }
    if let Some(file) = &s.backup_age_recipients_file {
        let text = crate::fsutil::read_to_string(file).map_err(|e| {
            usage(format!(
                "BACKUP_AGE_RECIPIENTS_FILE={}: cannot read it ({e}); nothing was written \
                 (fix the file, or unset the variable to back up without encryption)",
                file.display()
            ))
        })?;
        let from = format!("BACKUP_AGE_RECIPIENTS_FILE={}", file.display());
        let before = keys.len();
        for line in text.lines().map(str::trim) {
            if !line.is_empty() && !line.starts_with('#') {
                keys.push((line.to_string(), from.clone()));
            }
        }
        if keys.len() == before {
            return Err(usage(format!(
                "{from} holds no recipient; nothing was written (add age1... public keys, one a line)"
            )));
        }
    }
    if keys.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::new();
    for (k, from) in keys {
        let r = age::x25519::Recipient::from_str(&k).map_err(|e| {
            let shown: String = k.chars().take(12).collect();
            usage(format!(
                "{from}: {shown:?}… is not an age X25519 public key ({e}); nothing was written \
                 (keys look like age1..., from `age-keygen -y`)"
            ))
        })?;
        out.push(r);
    }
    Ok(Some(out))
}

/// The identities of `BACKUP_AGE_IDENTITY_FILE`, needed to read `what` (an encrypted archive).
pub fn identities(s: &Settings, what: &str) -> Result<Vec<Box<dyn age::Identity + Send + Sync>>> {
    let Some(file) = &s.backup_age_identity_file else {
        return Err(fail(
            "archive_key_missing",
            format!(
                "{what} is encrypted; set BACKUP_AGE_IDENTITY_FILE to the age identity file \
                 (AGE-SECRET-KEY-1...) to read it"
            ),
        ));
    };
    load_identities(file)
}

fn load_identities(file: &Path) -> Result<Vec<Box<dyn age::Identity + Send + Sync>>> {
    let bad = |why: String| {
        usage(format!(
            "BACKUP_AGE_IDENTITY_FILE={}: {why}",
            file.display()
        ))
    };
    let f = age::IdentityFile::from_file(file.display().to_string())
        .map_err(|e| bad(format!("cannot read it as an age identity file ({e})")))?;
    let ids = f
        .into_identities()
        .map_err(|e| bad(format!("unusable identity ({e})")))?;
    if ids.is_empty() {
        return Err(bad("holds no identity".into()));
    }
    Ok(ids)
}

/// The plain archive stream of an encrypted object.
pub fn decrypt<'a>(
    what: &str,
    raw: Box<dyn Read + Send + 'a>,
    ids: &[Box<dyn age::Identity + Send + Sync>],
) -> Result<Box<dyn Read + Send + 'a>> {
    let d = age::Decryptor::new(raw).map_err(|e| {
        fail(
            "archive_corrupt",
            format!("archive {what} is damaged: not a readable age file ({e})"),
        )
    })?;
    let r = d
        .decrypt(ids.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => fail(
                "archive_key_mismatch",
                format!(
                    "archive {what} was not encrypted to BACKUP_AGE_IDENTITY_FILE's key; \
                     use the identity whose public key was in BACKUP_AGE_RECIPIENTS"
                ),
            ),
            other => fail(
                "archive_corrupt",
                format!("archive {what} is damaged: {other}"),
            ),
        })?;
    Ok(Box::new(r))
}

/// The write side: plain, or encrypting to the recipients.
pub enum Layer<W: Write> {
    Plain(W),
    Age(age::stream::StreamWriter<W>),
}

impl<W: Write> Layer<W> {
    pub fn new(inner: W, to: Option<&Recipients>) -> Result<Layer<W>> {
        let Some(rs) = to else {
            return Ok(Layer::Plain(inner));
        };
        let enc = age::Encryptor::with_recipients(rs.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|e| {
                fail(
                    "encryption",
                    format!("cannot encrypt to the recipients: {e}"),
                )
            })?;
        let w = enc
            .wrap_output(inner)
            .map_err(|e| fail("encryption", format!("cannot write the age header: {e}")))?;
        Ok(Layer::Age(w))
    }

    /// End the stream (the age trailer) and hand back the inner writer.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Layer::Plain(w) => Ok(w),
            Layer::Age(w) => w.finish(),
        }
    }
}

impl<W: Write> Write for Layer<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Layer::Plain(w) => w.write(buf),
            Layer::Age(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Layer::Plain(w) => w.flush(),
            Layer::Age(w) => w.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::secrecy::ExposeSecret;

    #[test]
    fn round_trip_and_wrong_key() {
        let id = age::x25519::Identity::generate();
        let rs = vec![id.to_public()];
        let mut l = Layer::new(Vec::new(), Some(&rs)).unwrap();
        l.write_all(b"archive bytes").unwrap();
        let ct = l.finish().unwrap();
        assert!(ct.starts_with(b"age-encryption.org/v1"));
        let ids: Vec<Box<dyn age::Identity + Send + Sync>> = vec![Box::new(
            age::x25519::Identity::from_str(id.to_string().expose_secret()).unwrap(),
        )];
        let mut out = Vec::new();
        decrypt("t", Box::new(io::Cursor::new(ct.clone())), &ids)
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"archive bytes");
        let other: Vec<Box<dyn age::Identity + Send + Sync>> =
            vec![Box::new(age::x25519::Identity::generate())];
        let err = decrypt("t", Box::new(io::Cursor::new(ct)), &other)
            .err()
            .unwrap();
        assert_eq!(crate::error::classify(&err).0, "archive_key_mismatch");
    }
}
