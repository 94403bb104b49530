//! The README as a newcomer follows it: every relative link (README.md and docs/)
//! reaches a file, and every `#anchor` a heading of it; every ready policy in
//! `scripts/` is named among the README's ready policies.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(markdown: &str) -> Vec<String> {
    let mut fence = false;
    let mut out = Vec::new();
    for line in markdown.lines() {
        if line.starts_with("```") {
            fence = !fence;
        }
        if !fence && line.starts_with('#') {
            out.push(anchor(line.trim_start_matches('#')));
        }
    }
    out
}

/// The targets of `[text](target)` links outside code blocks.
fn links(markdown: &str) -> Vec<String> {
    let mut fence = false;
    let mut out = Vec::new();
    for line in markdown.lines() {
        if line.starts_with("```") {
            fence = !fence;
        }
        if fence {
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let Some(end) = after.find(')') else { break };
            out.push(after[..end].to_string());
            rest = &after[end..];
        }
    }
    out
}

fn check_file(file: &Path, broken: &mut Vec<String>) {
    let text = std::fs::read_to_string(file).unwrap();
    for link in links(&text) {
        if link.starts_with("http://") || link.starts_with("https://") {
            continue;
        }
        let (path, frag) = link.split_once('#').unwrap_or((&link, ""));
        let target = if path.is_empty() {
            file.to_path_buf()
        } else {
            file.parent().unwrap().join(path)
        };
        if !target.exists() {
            broken.push(format!("{}: {link} (no such file)", file.display()));
            continue;
        }
        if !frag.is_empty() && target.extension().is_some_and(|e| e == "md") {
            let heads = anchors(&std::fs::read_to_string(&target).unwrap());
            if !heads.iter().any(|h| h == frag) {
                broken.push(format!("{}: {link} (no such heading)", file.display()));
            }
        }
    }
}

#[test]
fn every_link_of_the_readme_and_docs_resolves() {
    let mut files = vec![root().join("README.md")];
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    let mut broken = Vec::new();
    for f in &files {
        check_file(f, &mut broken);
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    // The checker itself: a made-up link is caught.
    let mut caught = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe.md");
    std::fs::write(&probe, "# Top\n[a](#top) [b](#nope) [c](missing.md)\n").unwrap();
    check_file(&probe, &mut caught);
    assert_eq!(caught.len(), 2, "{caught:?}");
}

#[test]
fn every_ready_policy_is_in_the_readme() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme.find("**Ready policies**").expect("the list");
    let list = &readme[start..start + readme[start..].find("\n\n").unwrap()];
    for entry in std::fs::read_dir(root().join("scripts")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".lua") && !name.ends_with("_test.lua") {
            assert!(
                list.contains(&format!("`{name}`")),
                "{name} missing from:\n{list}"
            );
        }
    }
}
