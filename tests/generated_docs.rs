//! completions/ and man/ are generated from the clap definitions and must stay current.
//! Regenerate with `VANNACTL_UPDATE_ASSETS=1 cargo test --test generated_docs`.

mod common;

use vannactl::cli::generate::{completion_file, completion_script, man_pages, SHELLS};

fn check(rel: &str, want: &[u8]) {
    let path = common::paths::repo().join(rel);
    if std::env::var_os("VANNACTL_UPDATE_ASSETS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, want).unwrap();
    }
    let got = std::fs::read(&path).unwrap_or_default();
    assert!(
        got == want,
        "{rel} is out of date with the CLI; regenerate with VANNACTL_UPDATE_ASSETS=1 cargo test --test generated_docs"
    );
}

#[test]
fn completions_are_current() {
    for shell in SHELLS {
        check(
            &format!("completions/{}", completion_file(shell)),
            completion_script(shell).as_bytes(),
        );
    }
}

#[test]
fn man_pages_are_current_and_complete() {
    let pages = man_pages();
    let mut names: Vec<String> = pages.iter().map(|(n, _)| n.clone()).collect();
    for (name, roff) in &pages {
        check(&format!("man/{name}"), roff);
    }
    // No stale pages for subcommands that no longer exist.
    let mut on_disk: Vec<String> = std::fs::read_dir(common::paths::repo().join("man"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    on_disk.sort();
    assert_eq!(
        on_disk, names,
        "man/ has pages that the CLI does not generate"
    );
    let main_page = String::from_utf8_lossy(&pages[0].1).into_owned();
    assert!(
        main_page.contains("confirmation required"),
        "exit codes belong in vannactl.1"
    );
}

#[test]
fn env_example_documents_every_variable() {
    let text = std::fs::read_to_string(common::paths::repo().join(".env.example")).unwrap();
    for spec in vannactl::config::VARS {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("{}=", spec.name))),
            ".env.example lacks {}",
            spec.name
        );
    }
    // And it is a valid env file that configures a working development setup.
    let d = tempfile::tempdir().unwrap();
    let out = common::cli::vannactl(d.path())
        .arg("--env-file")
        .arg(common::paths::repo().join(".env.example"))
        .args(["--json", "config"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let j = common::cli::json_of(&out);
    assert!(
        !j.to_string().contains("change-me-please"),
        "example password shown unmasked"
    );
}

#[test]
fn docs_document_every_variable_and_readme_every_exit_code() {
    let config =
        std::fs::read_to_string(common::paths::repo().join("docs/configuration.md")).unwrap();
    for spec in vannactl::config::VARS {
        assert!(
            config.contains(&format!("| `{}` |", spec.name)),
            "docs/configuration.md lacks {}",
            spec.name
        );
    }
    let text = std::fs::read_to_string(common::paths::repo().join("README.md")).unwrap();
    for code in 0..=5 {
        assert!(
            text.contains(&format!("| {code} |")),
            "README lacks exit code {code}"
        );
    }
}
