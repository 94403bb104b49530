//! `fas script-test [PATH ...]`: run the Lua policy tests (`*_test.lua`) under the
//! given files or folders (default: scripts/ and tests/). The last line is exactly
//! `N passed, M failed`; exit status 1 when a test failed or a file did not load.

use std::path::PathBuf;

use anyhow::bail;

use crate::scripttest;

#[derive(clap::Args)]
pub struct ScriptTestArgs {
    /// Test files or folders to search for *_test.lua.
    paths: Vec<PathBuf>,
    /// Run only the tests whose "file: name" contains this text.
    #[arg(long)]
    filter: Option<String>,
    /// Output format.
    #[arg(long, value_parser = ["text", "json"], default_value = "text")]
    format: String,
}

pub fn run(args: ScriptTestArgs) -> anyhow::Result<()> {
    let paths: Vec<PathBuf> = if args.paths.is_empty() {
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
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        bail!("no *_test.lua files under {}", shown.join(", "));
    }
    let report = scripttest::run(&files, args.filter.as_deref());
    if args.format == "json" {
        let out = serde_json::json!({"passed": report.passed, "failed": report.failed, "tests": report.results});
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for line in &report.lines {
            println!("{line}");
        }
        println!("{} passed, {} failed", report.passed, report.failed);
    }
    if report.failed > 0 {
        // The report said it all; exit 1 without another line on stdout.
        std::process::exit(1);
    }
    Ok(())
}
