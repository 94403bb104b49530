//! `fas script-test`: unit tests for Lua policies. Finds `*_test.lua` files, runs
//! every global `test_*` function in a fresh sandbox, and reports one line per test.
//! `require("fas.testing")` gives the helpers (see stdlib/fas/testing.lua); the
//! policies under test run on the production engine (`Policy`) with a fake clock.

use std::path::{Path, PathBuf};

use mlua::{Lua, LuaSerdeExt, Table, UserData, UserDataMethods, Value};

use crate::policy::sandbox::{self, Limits};
use crate::policy::{AppInput, Bounds, MachineCounts, Policy};

#[derive(Debug, Default)]
pub struct Report {
    pub passed: usize,
    pub failed: usize,
    /// One line per test, in the order run.
    pub lines: Vec<String>,
    /// The same, for `--format json`.
    pub results: Vec<TestResult>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TestResult {
    pub file: String,
    /// Empty when the file itself could not be loaded.
    pub test: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Report {
    fn add(&mut self, file: &str, test: &str, result: Result<(), String>) {
        let name = if test.is_empty() {
            String::new()
        } else {
            format!(": {test}")
        };
        match &result {
            Ok(()) => {
                self.passed += 1;
                self.lines.push(format!("ok   {file}{name}"));
            }
            Err(e) => {
                self.failed += 1;
                self.lines.push(format!("FAIL {file}{name}: {e}"));
            }
        }
        self.results.push(TestResult {
            file: file.into(),
            test: test.into(),
            ok: result.is_ok(),
            message: result.err(),
        });
    }
}

/// Test files under `paths` (files are taken as given), sorted.
pub fn discover(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_file() {
            out.push(p.clone());
        } else if p.is_dir() {
            walk(p, &mut out)?;
        } else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{}: no such file or folder", p.display()),
            ));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with("_test.lua"))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// Runs the tests of `files`; with a filter, only those whose `file: name` contains it.
pub fn run(files: &[PathBuf], filter: Option<&str>) -> Report {
    let mut report = Report::default();
    for file in files {
        let label = file.display().to_string();
        match test_names(file) {
            Err(e) => report.add(&label, "", Err(e)),
            Ok(names) => {
                for name in names {
                    if filter.is_some_and(|f| !format!("{label}: {name}").contains(f)) {
                        continue;
                    }
                    report.add(&label, &name, run_one(file, &name));
                }
            }
        }
    }
    report
}

/// A fresh sandbox with the test file loaded and `fas.testing`'s native half.
fn load(file: &Path) -> Result<(Lua, sandbox::Budget), String> {
    let dir = file
        .parent()
        .map(Path::to_path_buf)
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    let (lua, budget) =
        sandbox::new_state(Some(dir.clone()), Limits::default()).map_err(|e| e.to_string())?;
    let native = lua.create_table().map_err(|e| e.to_string())?;
    let policy = lua
        .create_function(move |lua, (path, params): (String, Value)| {
            let params: serde_json::Value = lua.from_value(params)?;
            let full = dir.join(&path);
            let p = Policy::from_file(&full, &params, Limits::default())
                .map_err(|e| mlua::Error::RuntimeError(e.to_string()))?;
            Ok(TestPolicy(p))
        })
        .map_err(|e| e.to_string())?;
    native
        .raw_set("policy", policy)
        .map_err(|e| e.to_string())?;
    lua.globals()
        .raw_set("__fas_testing", native)
        .map_err(|e| e.to_string())?;
    let src =
        crate::fileread::read(file, crate::fileread::Kind::Policy).map_err(|e| e.to_string())?;
    budget.reset();
    lua.load(src)
        .set_name(format!("@{}", file.display()))
        .exec()
        .map_err(|e| message(&e))?;
    Ok((lua, budget))
}

/// The `test_*` functions of a file, in the order they are defined.
fn test_names(file: &Path) -> Result<Vec<String>, String> {
    let (lua, _) = load(file)?;
    let mut tests = Vec::new();
    for pair in lua.globals().pairs::<Value, Value>() {
        let (k, v) = pair.map_err(|e| e.to_string())?;
        if let (Value::String(name), Value::Function(f)) = (k, v) {
            let name = name.to_string_lossy();
            if name.starts_with("test_") {
                tests.push((f.info().line_defined.unwrap_or(0), name));
            }
        }
    }
    tests.sort();
    Ok(tests.into_iter().map(|(_, n)| n).collect())
}

fn run_one(file: &Path, name: &str) -> Result<(), String> {
    let (lua, budget) = load(file)?;
    let f: mlua::Function = lua.globals().get(name).map_err(|e| e.to_string())?;
    budget.reset();
    f.call::<()>(()).map_err(|e| message(&e))
}

fn message(e: &mlua::Error) -> String {
    crate::policy::lua_error_message(e)
}

/// A policy under test, as Lua sees it.
struct TestPolicy(Policy);

fn bounds_table(lua: &Lua, b: Option<Bounds>) -> mlua::Result<Value> {
    match b {
        None => Ok(Value::Nil),
        Some(b) => {
            let t = lua.create_table()?;
            t.raw_set("min", b.min)?;
            t.raw_set("max", b.max)?;
            Ok(Value::Table(t))
        }
    }
}

impl UserData for TestPolicy {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method_mut("decide", |lua, this, round: Table| {
            let mut metrics: Vec<(String, f64)> = round
                .get::<Table>("metrics")?
                .pairs::<String, f64>()
                .collect::<mlua::Result<_>>()?;
            metrics.sort_by(|a, b| a.0.cmp(&b.0));
            let m: Table = round.get("machines")?;
            let mut by_region: Vec<(String, u64, u64)> = Vec::new();
            if let Some(regions) = m.get::<Option<Table>>("by_region")? {
                for pair in regions.pairs::<String, Table>() {
                    let (r, c) = pair?;
                    by_region.push((
                        r,
                        c.get::<Option<u64>>("started")?.unwrap_or(0),
                        c.get::<Option<u64>>("stopped")?.unwrap_or(0),
                    ));
                }
            }
            by_region.sort();
            let machines = MachineCounts {
                created: m.get::<Option<u64>>("created")?.unwrap_or(0),
                started: m.get::<Option<u64>>("started")?.unwrap_or(0),
                stopped: m.get::<Option<u64>>("stopped")?.unwrap_or(0),
                by_region,
            };
            let list = machine_list(&m)?;
            let errors: Vec<(String, String)> = match round.get::<Option<Table>>("errors")? {
                Some(e) => e.pairs::<String, String>().collect::<mlua::Result<_>>()?,
                None => Vec::new(),
            };
            let app: String = round.get("app")?;
            let input = AppInput {
                name: &app,
                now: round.get("now")?,
                interval_secs: round.get("interval")?,
                round: match round.get::<Option<String>>("round")?.as_deref() {
                    None | Some("full") => crate::policy::Round::Full,
                    Some("watch") => crate::policy::Round::Watch,
                    Some(other) => {
                        return Err(mlua::Error::RuntimeError(format!(
                            "round must be \"full\" or \"watch\", got {other:?}"
                        )))
                    }
                },
                machines: &machines,
                metrics: &metrics,
            };
            let (t, order) = this
                .0
                .decide_full(&input, &errors, list)
                .map_err(|e| mlua::Error::RuntimeError(e.to_string()))?;
            let out = lua.create_table()?;
            out.raw_set("created", bounds_table(lua, t.created)?)?;
            out.raw_set("started", bounds_table(lua, t.started)?)?;
            if !order.stop_order.is_empty() {
                out.raw_set("stop_order", lua.create_sequence_from(order.stop_order)?)?;
            }
            if !order.protect.is_empty() {
                out.raw_set("protect", lua.create_sequence_from(order.protect)?)?;
            }
            Ok(out)
        });
        methods.add_method("state", |lua, this, app: String| {
            let json = this
                .0
                .state_json(&app)
                .map_err(|e| mlua::Error::RuntimeError(e.to_string()))?;
            lua.to_value(&json)
        });
    }
}

/// A test's `machines.list` as the engine takes it: `{id=, state=, region=, created_at=,
/// metadata={}, metrics={}}` entries.
fn machine_list(machines: &Table) -> mlua::Result<Vec<crate::policy::MachineInfo>> {
    let Some(list) = machines.get::<Option<Table>>("list")? else {
        return Ok(Vec::new());
    };
    let text = |t: &Table, k: &str| -> mlua::Result<String> {
        Ok(t.get::<Option<String>>(k)?.unwrap_or_default())
    };
    list.sequence_values::<Table>()
        .map(|m| {
            let m = m?;
            let pairs = |k: &str| -> mlua::Result<Option<Table>> { m.get::<Option<Table>>(k) };
            Ok(crate::policy::MachineInfo {
                id: text(&m, "id")?,
                state: text(&m, "state")?,
                region: text(&m, "region")?,
                created_at: text(&m, "created_at")?,
                metadata: match pairs("metadata")? {
                    Some(t) => t.pairs::<String, String>().collect::<mlua::Result<_>>()?,
                    None => Vec::new(),
                },
                metrics: match pairs("metrics")? {
                    Some(t) => t.pairs::<String, f64>().collect::<mlua::Result<_>>()?,
                    None => Vec::new(),
                },
            })
        })
        .collect()
}
