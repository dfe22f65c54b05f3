//! End to end in a real editor: headless Neovim's own LSP client talks to the built binary.
//!
//! Runs every Neovim listed in `REPOLENS_NVIM` (colon-separated paths), else every distinct
//! `nvim` on `PATH`. `.ci/run` installs Neovim 0.7.2 (Debian) and 0.11 (PyPI), so both run there.

#![allow(clippy::print_stderr)] // says which Neovim is being checked

mod support;

use std::{path::PathBuf, process::Command, time::Duration};

use serde_json::Value;
use support::write_fixture;

fn neovims() -> Vec<PathBuf> {
    let list = std::env::var("REPOLENS_NVIM")
        .or_else(|_| {
            std::env::var("PATH").map(|path| {
                std::env::split_paths(&path)
                    .map(|dir| dir.join("nvim").display().to_string())
                    .collect::<Vec<_>>()
                    .join(":")
            })
        })
        .unwrap_or_default();
    let mut found: Vec<PathBuf> = Vec::new();
    let mut seen = Vec::new();
    for candidate in list.split(':').filter(|s| !s.is_empty()).map(PathBuf::from) {
        let Ok(real) = candidate.canonicalize() else { continue };
        let Ok(out) = Command::new(&candidate).arg("--version").output() else { continue };
        let version = String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or("").to_owned();
        if !seen.contains(&version) && !seen.contains(&real.display().to_string()) {
            seen.push(version);
            seen.push(real.display().to_string());
            found.push(candidate);
        }
    }
    assert!(!found.is_empty(), "no Neovim found: install one (apt-get install neovim) or set REPOLENS_NVIM");
    found
}

fn run_script(nvim: &PathBuf, script: &str, env: &[(&str, String)]) -> Value {
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("result.json");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/nvim").join(script);
    let mut child = Command::new(nvim)
        .args(["--headless", "-u", "NONE", "-i", "NONE", "-n", "-c"])
        .arg(format!("luafile {}", script.display()))
        .env("REPOLENS_BIN", env!("CARGO_BIN_EXE_repolens"))
        .env("REPOLENS_OUT", &out)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run {} ({e}); install Neovim or set REPOLENS_NVIM", nvim.display())
        });
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("{} did not finish", nvim.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let text =
        std::fs::read_to_string(&out).unwrap_or_else(|e| panic!("{} wrote no result: {e}", nvim.display()));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn neovim_lists_document_and_workspace_symbols() {
    let fixture = write_fixture(
        "//- /shapes/circle.py
# 𝔘 a circle, with an astral character before it
class Circle:
    def area(self):
        return 3.14


def make_circle():
    return Circle()
//- /shapes/square.py
class Square:
    pass
",
    );
    for nvim in neovims() {
        eprintln!("checking with {}", nvim.display());
        let result = run_script(
            &nvim,
            "symbols.lua",
            &[
                ("REPOLENS_ROOT", fixture.root().display().to_string()),
                ("REPOLENS_FILE", fixture.path("shapes/circle.py").display().to_string()),
            ],
        );
        let who = nvim.display();
        assert_eq!(result["errors"], serde_json::json!([]), "{who}: {result}");
        let symbols = &result["document_symbols"];
        assert_eq!(symbols[0]["name"], "Circle", "{who}: {result}");
        assert_eq!(symbols[0]["line"], 1);
        assert_eq!(symbols[0]["character"], 6);
        assert_eq!(symbols[0]["children"][0]["name"], "area");
        assert_eq!(symbols[1]["name"], "make_circle");
        let hits = &result["workspace_symbols"];
        assert_eq!(hits[0]["name"], "Circle", "{who}: {result}");
        assert_eq!(hits[0]["container"], "shapes.circle");
        assert!(hits[0]["uri"].as_str().unwrap().ends_with("shapes/circle.py"));
        assert_eq!(
            result["after_edit"][0]["name"], "𝔘Ring",
            "{who}: the edit Neovim sent was applied: {result}"
        );
    }
}

#[test]
fn the_neovim_plugin_starts_the_server_and_adds_its_commands() {
    let fixture = write_fixture(
        "//- /.git/HEAD
ref: refs/heads/main
//- /shop/__init__.py
//- /shop/cart.py
class Cart:
    def total(self):
        return 0


def add_item(item, items=[]):
    items.append(item)
    return items
//- /tests/test_cart.py
from shop.cart import add_item


def test_each_call_starts_a_new_cart():
    assert add_item(1) == [1]
    assert add_item(2) == [2]
",
    );
    let plugin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("editors/nvim");
    for nvim in neovims() {
        let result = run_script(
            &nvim,
            "plugin.lua",
            &[
                ("REPOLENS_FILE", fixture.path("shop/cart.py").display().to_string()),
                ("REPOLENS_PLUGIN", plugin.display().to_string()),
            ],
        );
        let who = nvim.display();
        assert_eq!(result["errors"], serde_json::json!([]), "{who}: {result}");
        assert_eq!(result["status"]["files"], 3, "{who}: {result}");
        let roots = result["status"]["roots"].as_array().unwrap();
        assert_eq!(roots.len(), 1, "{who}: {result}");
        assert!(
            roots[0].as_str().unwrap().ends_with(fixture.root().file_name().unwrap().to_str().unwrap()),
            "{who}: the root is the folder with .git: {result}"
        );
        for command in ["RepolensAsk", "RepolensRisk", "RepolensFix", "RepolensStatus"] {
            assert_eq!(result["commands"][command], true, "{who}: {command} missing");
        }
        // :RepolensAsk filled the quickfix list with the answer's citations.
        let quickfix = result["quickfix"].as_array().unwrap();
        assert!(
            quickfix
                .iter()
                .any(|q| q["filename"].as_str().unwrap().ends_with("shop/cart.py") && q["lnum"] == 6),
            "{who}: no citation of add_item in the quickfix list: {result}"
        );
        // The smell diagnostic reached Neovim, and its tested fix was applied to the buffer.
        assert!(
            result["diagnostics"]
                .as_array()
                .unwrap()
                .contains(&serde_json::json!("smell/mutable-default-argument")),
            "{who}: {result}"
        );
        assert_eq!(result["fix"]["status"], "applied", "{who}: {result}");
        assert!(result["buffer_after_fix"].as_str().unwrap().contains("if items is None"), "{who}: {result}");
        assert_eq!(
            fixture.read("shop/cart.py"),
            result["disk_before"].as_str().unwrap(),
            "{who}: the fix changed the buffer, not the file"
        );
    }
}
