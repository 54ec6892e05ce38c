//! Prometheus textfile metrics (node_exporter textfile collector format): samples, rendering,
//! parsing of the files we write, and merging one run's samples into an existing file.

pub mod writer;

use std::collections::BTreeMap;
use std::fmt::Write as _;

pub use writer::write_merged;

type Labels = Vec<(String, String)>;

/// One sample: family name, label pairs, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub family: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    pub fn new(family: &str, labels: &[(&str, &str)], value: f64) -> Self {
        let mut labels: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        labels.sort();
        Sample {
            family: family.to_string(),
            labels,
            value,
        }
    }

    fn key(&self) -> (String, Vec<(String, String)>) {
        (self.family.clone(), self.labels.clone())
    }
}

/// HELP text of the families vannactl writes (all gauges).
pub const FAMILIES: &[(&str, &str)] = &[
    (
        "vannactl_last_run_timestamp_seconds",
        "Unix time when the last run of a command finished",
    ),
    (
        "vannactl_last_success_timestamp_seconds",
        "Unix time when the last successful run of a command finished",
    ),
    (
        "vannactl_last_run_duration_seconds",
        "Wall-clock duration of the last run of a command",
    ),
    (
        "vannactl_last_run_exit_code",
        "Exit code of the last run of a command (0 = success)",
    ),
    (
        "vannactl_backup_last_size_bytes",
        "Size of the archive the last successful backup wrote",
    ),
    (
        "vannactl_backup_last_added_bytes",
        "Bytes the last successful backup added to a deduplicating repository (restic data_added)",
    ),
    (
        "vannactl_backup_archives",
        "Archives in the backup repository after the last successful backup",
    ),
    (
        "vannactl_golden_copy_bytes",
        "Size of the golden copy after the last golden-copy run",
    ),
    (
        "vannactl_golden_copy_duration_seconds",
        "Duration of the last golden-copy run",
    ),
    (
        "vannactl_golden_copy_drift",
        "1 when the last golden-copy run found the runtime copy different from its source or manifest",
    ),
    (
        "vannactl_knowledge_items",
        "Items in a knowledge-base collection after the last run that counted them",
    ),
    (
        "vannactl_health_check_status",
        "Health check result: 0 ok, 1 warn, 2 critical (skipped checks are not exported)",
    ),
    (
        "vannactl_health_check_latency_seconds",
        "Duration of a health check",
    ),
];

/// A metrics file: HELP/TYPE per family and the samples.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MetricsFile {
    /// family -> (help, type)
    pub meta: BTreeMap<String, (String, String)>,
    pub samples: BTreeMap<(String, Vec<(String, String)>), f64>,
}

impl MetricsFile {
    /// Replace the samples of this run (same family and label set), keep everything else.
    pub fn merge(&mut self, run: &[Sample]) {
        for s in run {
            let help = FAMILIES
                .iter()
                .find(|(n, _)| *n == s.family)
                .map(|(_, h)| h.to_string())
                .or_else(|| self.meta.get(&s.family).map(|m| m.0.clone()))
                .unwrap_or_default();
            self.meta.insert(s.family.clone(), (help, "gauge".into()));
            self.samples.insert(s.key(), s.value);
        }
    }

    /// The exposition text: families sorted, HELP and TYPE before each family's samples.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut by_family: BTreeMap<&str, Vec<(&Labels, f64)>> = BTreeMap::new();
        for ((f, labels), v) in &self.samples {
            by_family.entry(f).or_default().push((labels, *v));
        }
        for (family, samples) in by_family {
            let (help, kind) = self
                .meta
                .get(family)
                .cloned()
                .unwrap_or_else(|| (String::new(), "untyped".into()));
            // A family another tool wrote without HELP keeps having none.
            if !help.is_empty() {
                let _ = writeln!(out, "# HELP {family} {}", escape_help(&help));
            }
            let _ = writeln!(out, "# TYPE {family} {kind}");
            for (labels, v) in samples {
                out.push_str(family);
                if !labels.is_empty() {
                    out.push('{');
                    let parts: Vec<String> = labels
                        .iter()
                        .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
                        .collect();
                    out.push_str(&parts.join(","));
                    out.push('}');
                }
                let _ = writeln!(out, " {}", format_value(v));
            }
        }
        out
    }

    /// Parse a file in the format `render` writes. Lines it cannot read are returned as errors
    /// (the caller warns and drops them rather than failing the run).
    pub fn parse(text: &str) -> (MetricsFile, Vec<String>) {
        let mut m = MetricsFile::default();
        let mut bad = Vec::new();
        for line in text.lines() {
            let line = line.trim_end();
            if line.trim().is_empty() {
                continue;
            }
            if let Some((name, text, is_help)) = meta_line(line) {
                let e = m
                    .meta
                    .entry(name.into())
                    .or_insert_with(|| (String::new(), "untyped".into()));
                if is_help {
                    e.0 = unescape(text);
                } else {
                    e.1 = text.trim().into();
                }
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            match parse_sample(line) {
                Some(s) => {
                    m.samples.insert(s.key(), s.value);
                }
                None => bad.push(line.to_string()),
            }
        }
        (m, bad)
    }
}

/// `# HELP name text` or `# TYPE name kind`: (name, text, is HELP).
fn meta_line(line: &str) -> Option<(&str, &str, bool)> {
    let (rest, is_help) = match line.strip_prefix("# HELP ") {
        Some(r) => (r, true),
        None => (line.strip_prefix("# TYPE ")?, false),
    };
    let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
    Some((name, text, is_help))
}

fn parse_sample(line: &str) -> Option<Sample> {
    let name_end = line.find(['{', ' '])?;
    let family = &line[..name_end];
    if family.is_empty()
        || !family
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    {
        return None;
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(r) = rest.strip_prefix('{') {
        let (l, used) = parse_label_tail(r)?;
        labels = l;
        rest = &r[used..];
    }
    let mut fields = rest.split_whitespace();
    let value = parse_value(fields.next()?)?;
    labels.sort();
    Some(Sample {
        family: family.to_string(),
        labels,
        value,
    })
}

/// Labels: `k="v",k2="v2"}`; returns them and the bytes used (through `}`).
fn parse_label_tail(s: &str) -> Option<(Vec<(String, String)>, usize)> {
    let mut labels = Vec::new();
    let mut i = 0;
    loop {
        if s[i..].starts_with('}') {
            return Some((labels, i + 1));
        }
        let eq = s[i..].find('=')? + i;
        let key = s[i..eq].trim().to_string();
        if !s[eq + 1..].starts_with('"') {
            return None;
        }
        let mut value = String::new();
        let mut j = eq + 2;
        loop {
            let c = s[j..].chars().next()?;
            if c == '\\' {
                let n = s[j + 1..].chars().next()?;
                value.push(if n == 'n' { '\n' } else { n });
                j += 1 + n.len_utf8();
            } else if c == '"' {
                j += 1;
                break;
            } else {
                value.push(c);
                j += c.len_utf8();
            }
        }
        labels.push((key, value));
        if s[j..].starts_with(',') {
            j += 1;
        }
        i = j;
    }
}

fn parse_value(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok(),
    }
}

fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

/// Label values: backslash, double quote and newline are escaped.
pub fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// HELP text: backslash and newline are escaped.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

fn unescape(v: &str) -> String {
    let mut out = String::new();
    let mut it = v.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') => out.push('\n'),
                Some(o) => out.push(o),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_parse_roundtrip_with_escaping() {
        let mut m = MetricsFile::default();
        m.merge(&[
            Sample::new(
                "vannactl_knowledge_items",
                &[("collection", "a\"b\\c\nd")],
                3.0,
            ),
            Sample::new("vannactl_backup_archives", &[], 2.0),
        ]);
        let text = m.render();
        assert!(text.contains(r#"collection="a\"b\\c\nd""#), "{text}");
        assert!(text.contains("# TYPE vannactl_backup_archives gauge"));
        let (back, bad) = MetricsFile::parse(&text);
        assert!(bad.is_empty());
        assert_eq!(back, m);
    }

    #[test]
    fn merge_replaces_own_samples_keeps_others() {
        let existing = "# HELP x_total other tool\n# TYPE x_total counter\nx_total{a=\"1\",b=\"2\"} 7\n\
            vannactl_last_run_exit_code{command=\"backup\"} 1\nvannactl_last_run_exit_code{command=\"init\"} 0\n";
        let (mut m, bad) = MetricsFile::parse(existing);
        assert!(bad.is_empty());
        m.merge(&[Sample::new(
            "vannactl_last_run_exit_code",
            &[("command", "backup")],
            0.0,
        )]);
        let text = m.render();
        assert!(text.contains("x_total{a=\"1\",b=\"2\"} 7"), "{text}");
        assert!(text.contains("# TYPE x_total counter"));
        assert!(text.contains("vannactl_last_run_exit_code{command=\"backup\"} 0"));
        assert!(text.contains("vannactl_last_run_exit_code{command=\"init\"} 0"));
        assert_eq!(
            text.matches("# TYPE vannactl_last_run_exit_code").count(),
            1
        );
    }

    #[test]
    fn type_without_help_keeps_no_help() {
        let text = "# TYPE other_metric counter\nother_metric 3\n";
        let (m, bad) = MetricsFile::parse(text);
        assert!(bad.is_empty());
        assert_eq!(
            m.meta.get("other_metric"),
            Some(&(String::new(), "counter".to_string()))
        );
        assert_eq!(m.render(), text);
        // HELP after TYPE fills in the text and keeps the type.
        let (m, _) = MetricsFile::parse("# TYPE x gauge\n# HELP x some \\\\ text\nx 1\n");
        assert_eq!(
            m.meta.get("x"),
            Some(&("some \\ text".to_string(), "gauge".to_string()))
        );
    }

    #[test]
    fn bad_lines_are_reported_not_kept() {
        let (m, bad) = MetricsFile::parse("ok 1\nbroken{a=\"x} 2\nnovalue\n");
        assert_eq!(m.samples.len(), 1);
        assert_eq!(bad.len(), 2);
    }
}
