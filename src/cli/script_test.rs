//! `fas script-test [PATH ...]`: run the Lua policy tests (`*_test.lua`) under the
//! given files or folders (default: scripts/ and tests/). Exit status 1 when a test
//! fails.

use std::path::PathBuf;

use anyhow::bail;

use crate::scripttest;

#[derive(clap::Args)]
pub struct ScriptTestArgs {
    /// Test files or folders to search for *_test.lua.
    paths: Vec<PathBuf>,
}

pub fn run(args: ScriptTestArgs) -> anyhow::Result<()> {
    let paths = if args.paths.is_empty() {
        ["scripts", "tests"]
            .iter()
            .map(PathBuf::from)
            .filter(|p| p.is_dir())
            .collect()
    } else {
        args.paths
    };
    let files = scripttest::discover(&paths)?;
    if files.is_empty() {
        bail!(
            "no *_test.lua files under {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let report = scripttest::run(&files);
    for line in &report.lines {
        println!("{line}");
    }
    println!(
        "{} passed, {} failed ({} files)",
        report.passed,
        report.failed,
        files.len()
    );
    if report.failed > 0 {
        bail!("{} policy test(s) failed", report.failed);
    }
    Ok(())
}
