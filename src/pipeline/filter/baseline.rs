//! Baselines: the findings a team has accepted (or is already rotating), so
//! that only new ones are reported.
//!
//! A baseline stores fingerprints (rule + hash of the secret), never secrets.
//! A fingerprint survives line moves, renames, rebases and squash merges, and
//! a different secret on the same line has a different one. For findings that
//! are not secret (a plaintext API URL), the path is part of the key: the same
//! URL in a new file is a new problem.
//!
//! Pipeline, filter stage: reads and writes its own file only; never a source,
//! never a renderer.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::finding::Finding;

/// The default baseline file name.
pub const DEFAULT_FILE: &str = ".keyflare-baseline.json";

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineFile {
    version: u32,
    tool: String,
    entries: Vec<Entry>,
}

#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq, Hash)]
#[serde(deny_unknown_fields)]
struct Entry {
    rule_id: String,
    fingerprint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<String>,
}

fn entry(f: &Finding) -> Entry {
    Entry {
        rule_id: f.rule_id.clone(),
        fingerprint: f.fingerprint.clone(),
        path: (!f.sensitive).then(|| f.path.clone()),
    }
}

fn key(e: &Entry) -> String {
    format!(
        "{}\0{}\0{}",
        e.rule_id,
        e.fingerprint,
        e.path.as_deref().unwrap_or("")
    )
}

/// A loaded baseline.
#[derive(Debug, Default)]
pub struct Baseline {
    /// Each entry and its position in the file.
    entries: HashMap<Entry, usize>,
    /// Where it was read from.
    path: PathBuf,
    /// Its text, for the line of an entry.
    text: String,
}

impl Baseline {
    /// Reads a baseline file. Malformed files are errors naming the file.
    pub fn load(path: &Path) -> Result<Baseline, Error> {
        let bytes = std::fs::read(path).map_err(|source| Error::Path {
            path: path.to_path_buf(),
            source,
        })?;
        Baseline::parse(&bytes, path)
    }

    /// Parses a baseline's bytes; `path` names it in errors and reports.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Baseline, Error> {
        let file: BaselineFile = serde_json::from_slice(bytes).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            message: format!("not a keyflare baseline: {e}"),
        })?;
        if file.version != 1 {
            return Err(Error::Config {
                path: path.to_path_buf(),
                message: format!(
                    "baseline version {} is not supported (expected 1)",
                    file.version
                ),
            });
        }
        let mut entries = HashMap::new();
        for (i, e) in file.entries.into_iter().enumerate() {
            entries.entry(e).or_insert(i);
        }
        Ok(Baseline {
            entries,
            path: path.to_path_buf(),
            text: String::from_utf8_lossy(bytes).into_owned(),
        })
    }

    /// True if the finding was in the baseline.
    pub fn contains(&self, f: &Finding) -> bool {
        self.entries.contains_key(&entry(f))
    }

    /// The finding's entry, if any: its position in the file and its key
    /// (as [`Baseline::keys`] gives them).
    pub fn entry_of(&self, f: &Finding) -> Option<(usize, String)> {
        let e = entry(f);
        let i = *self.entries.get(&e)?;
        Some((i, key(&e)))
    }

    /// Every entry's key, for telling which entries a change added.
    pub fn keys(&self) -> HashSet<String> {
        self.entries.keys().map(key).collect()
    }

    /// Where the baseline was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The 1-based line where `needle` (a fingerprint) first appears.
    pub fn line_of(&self, needle: &str) -> Option<usize> {
        self.text
            .lines()
            .position(|l| l.contains(needle))
            .map(|i| i + 1)
    }

    /// Renders a baseline of `findings` (sorted, deduplicated, no secrets).
    pub fn render(findings: &[Finding]) -> Result<Vec<u8>, Error> {
        let mut entries: Vec<Entry> = findings.iter().map(entry).collect();
        entries.sort_by(|a, b| {
            (&a.rule_id, &a.fingerprint, &a.path).cmp(&(&b.rule_id, &b.fingerprint, &b.path))
        });
        entries.dedup();
        let file = BaselineFile {
            version: 1,
            tool: format!("keyflare {}", env!("CARGO_PKG_VERSION")),
            entries,
        };
        let mut out = serde_json::to_vec_pretty(&file).map_err(|e| Error::Usage(e.to_string()))?;
        out.push(b'\n');
        Ok(out)
    }
}
