//! `manifest.json`: the first member of every archive. It lists every other member with its size
//! and SHA-256, and describes each component (kind, versions, counts), so `list` reads only the
//! head of an archive and `restore` can refuse a newer format before reading anything else.

use crate::error::fail;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Bumped when a change would make an older vannactl misread an archive.
pub const FORMAT_VERSION: u32 = 1;
pub const MANIFEST_NAME: &str = "manifest.json";
/// A manifest is a few KiB; anything this large is not one of ours.
pub const MAX_MANIFEST_BYTES: u64 = 16 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Component {
    System,
    Knowledge,
    Target,
}

impl Component {
    pub const ALL: [Component; 3] = [Component::System, Component::Knowledge, Component::Target];

    pub fn as_str(self) -> &'static str {
        match self {
            Component::System => "system",
            Component::Knowledge => "knowledge",
            Component::Target => "target",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// In the archive.
    Present,
    /// Nothing to back up (e.g. no knowledge store yet); restore leaves the current one alone.
    Absent,
    /// Deliberately not backed up (external target DB, or not selected); `note` says why.
    Skipped,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Present => "present",
            State::Absent => "absent",
            State::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentInfo {
    pub state: State,
    /// `postgres`, `sqlite`, `embedded`, `chroma`, `golden-copy`, or empty when absent/skipped.
    pub kind: String,
    /// Where it came from (URLs masked).
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration_version: Option<String>,
    /// Rows per table (system DB), records per collection (knowledge base); bytes for the target.
    #[serde(default)]
    pub counts: BTreeMap<String, u64>,
    /// Archive members of this component.
    #[serde(default)]
    pub members: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl ComponentInfo {
    pub fn not_present(state: State, source: String, note: impl Into<String>) -> Self {
        ComponentInfo {
            state,
            kind: String::new(),
            source,
            server_version: None,
            migration_version: None,
            counts: BTreeMap::new(),
            members: Vec::new(),
            note: Some(note.into()),
        }
    }

    pub fn total_rows(&self) -> u64 {
        self.counts.values().sum()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub tool: String,
    pub tool_version: String,
    pub created_at: String,
    pub host: String,
    pub members: Vec<Member>,
    pub components: BTreeMap<Component, ComponentInfo>,
}

/// `manifest.json` as archives store it.
pub fn to_json(m: &Manifest) -> anyhow::Result<Vec<u8>> {
    Ok(serde_json::to_vec_pretty(m)?)
}

impl Manifest {
    pub fn member(&self, path: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.path == path)
    }

    pub fn component(&self, c: Component) -> Option<&ComponentInfo> {
        self.components.get(&c)
    }

    /// Parse and validate. The format version is checked before the rest so a newer archive gets
    /// a clear message rather than a confusing field error.
    pub fn parse(bytes: &[u8]) -> Result<Manifest> {
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
            fail(
                "archive_invalid",
                format!("{MANIFEST_NAME} does not parse as JSON: {e}"),
            )
        })?;
        let version = value
            .get("format_version")
            .and_then(|v| v.as_u64())
            .ok_or_else(|| {
                fail(
                    "archive_invalid",
                    format!("{MANIFEST_NAME} has no format_version"),
                )
            })?;
        if version > FORMAT_VERSION as u64 {
            return Err(fail(
                "archive_newer_format",
                format!(
                    "archive format version {version} is newer than this vannactl understands \
                     (version {FORMAT_VERSION}, vannactl {}); upgrade vannactl to restore it",
                    env!("CARGO_PKG_VERSION")
                ),
            ));
        }
        let m: Manifest = serde_json::from_value(value).map_err(|e| {
            fail(
                "archive_invalid",
                format!("{MANIFEST_NAME} is not a valid vannactl manifest: {e}"),
            )
        })?;
        m.validate()?;
        Ok(m)
    }

    fn validate(&self) -> Result<()> {
        let bad = |msg: String| fail("archive_invalid", format!("{MANIFEST_NAME}: {msg}"));
        let mut seen = BTreeSet::new();
        for m in &self.members {
            super::archive::check_member_path(&m.path)?;
            if m.path == MANIFEST_NAME || !seen.insert(m.path.as_str()) {
                return Err(bad(format!("member {:?} is listed twice", m.path)));
            }
            if m.sha256.len() != 64 || !m.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad(format!("member {:?} has no valid sha256", m.path)));
            }
        }
        for (c, info) in &self.components {
            for p in &info.members {
                if !seen.contains(p.as_str()) {
                    return Err(bad(format!(
                        "component {} names member {p:?}, which is not listed",
                        c.as_str()
                    )));
                }
            }
            if info.state != State::Present && !info.members.is_empty() {
                return Err(bad(format!(
                    "component {} is {} but has members",
                    c.as_str(),
                    info.state.as_str()
                )));
            }
        }
        Ok(())
    }

    /// Components present in the archive, e.g. `system,target`.
    pub fn present_list(&self) -> String {
        let v: Vec<&str> = self
            .components
            .iter()
            .filter(|(_, i)| i.state == State::Present)
            .map(|(c, _)| c.as_str())
            .collect();
        if v.is_empty() {
            "-".into()
        } else {
            v.join(",")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        let mut components = BTreeMap::new();
        components.insert(
            Component::System,
            ComponentInfo {
                state: State::Present,
                kind: "sqlite".into(),
                source: "sqlite://x".into(),
                server_version: None,
                migration_version: Some("3".into()),
                counts: [("users".to_string(), 2)].into(),
                members: vec!["system/system.db".into()],
                note: None,
            },
        );
        Manifest {
            format_version: FORMAT_VERSION,
            tool: "vannactl".into(),
            tool_version: "0.1.0".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            host: "h".into(),
            members: vec![Member {
                path: "system/system.db".into(),
                size: 10,
                sha256: "a".repeat(64),
            }],
            components,
        }
    }

    #[test]
    fn round_trip() {
        let m = sample();
        let bytes = serde_json::to_vec(&m).unwrap();
        assert_eq!(Manifest::parse(&bytes).unwrap(), m);
    }

    #[test]
    fn newer_format_refused_before_field_errors() {
        let err = Manifest::parse(br#"{"format_version": 99, "whatever": 1}"#).unwrap_err();
        assert_eq!(crate::error::classify(&err).0, "archive_newer_format");
        assert!(err.to_string().contains("upgrade vannactl"), "{err}");
    }

    #[test]
    fn garbage_and_unsafe_paths_refused() {
        assert!(Manifest::parse(b"{not json").is_err());
        let mut m = sample();
        m.members[0].path = "../etc/passwd".into();
        m.components.get_mut(&Component::System).unwrap().members = vec![];
        let err = Manifest::parse(&serde_json::to_vec(&m).unwrap()).unwrap_err();
        assert!(err.to_string().contains(".."), "{err}");
        let mut m = sample();
        m.components.get_mut(&Component::System).unwrap().members = vec!["other".into()];
        assert!(Manifest::parse(&serde_json::to_vec(&m).unwrap()).is_err());
    }
}
