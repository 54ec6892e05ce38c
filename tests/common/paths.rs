//! Where the tests find the repository, the shared sample databases and tools, and what
//! `scripts/test-env.sh` prepares. The variables: `VANNACTL_TESTDATA`, `VANNACTL_SHARED`,
//! `VANNACTL_TEST_PYTHON`, `VANNACTL_TEST_CHROMA`, `VANNACTL_TEST_MODEL_DIR`.

use std::path::PathBuf;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One of the shared sample databases (`../shared/testdata/targets`, or `$VANNACTL_TESTDATA`).
pub fn testdata(name: &str) -> PathBuf {
    let dir = std::env::var_os("VANNACTL_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/testdata/targets"));
    let p = dir.join(name);
    assert!(
        p.exists(),
        "sample database {} not found; set VANNACTL_TESTDATA to shared/testdata/targets",
        p.display()
    );
    p
}

/// The shared reference tools (`../shared/tools`, or `$VANNACTL_SHARED/tools`).
pub fn shared_tools() -> PathBuf {
    std::env::var_os("VANNACTL_SHARED")
        .map(|s| PathBuf::from(s).join("tools"))
        .unwrap_or_else(|| repo().join("../shared/tools"))
}

/// A variable `scripts/test-env.sh` exports. Missing, the test fails: it is never skipped silently.
pub fn need(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run `source scripts/test-env.sh` before the tests (it prepares the Python venv, Chroma and the model)")
    })
}

/// The venv's Python (chromadb, vanna, bcrypt, tokenizers).
pub fn python() -> PathBuf {
    PathBuf::from(need("VANNACTL_TEST_PYTHON"))
}

/// The venv's `chroma` executable.
pub fn chroma() -> PathBuf {
    PathBuf::from(need("VANNACTL_TEST_CHROMA"))
}

/// The all-MiniLM-L6-v2 model folder.
pub fn model_dir() -> PathBuf {
    PathBuf::from(need("VANNACTL_TEST_MODEL_DIR"))
}
