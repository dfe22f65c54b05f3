//! The built binary: LSP over stdio on a fixture workspace, the accepted command lines, exit
//! codes, logging, and the `index`/`symbols` commands (skipped files are counted, not errors).

mod support;

use std::process::Command;

use serde_json::{Value, json};
use support::{Fixture, TestServerBuilder, write_fixture};

fn workspace() -> Fixture {
    let fixture = write_fixture(
        "//- /.gitignore
build/
//- /pkg/__init__.py
from .geometry import Circle
//- /pkg/geometry.py
class Circle:
    def area(self):
        return 3.14
//- /build/generated.py
class Generated:
    pass
",
    );
    std::fs::write(fixture.path("pkg/blob.py"), b"\x00\x01binary\x00").unwrap();
    std::fs::write(fixture.path("pkg/latin1.py"), b"name = '\xe9t\xe9'\n").unwrap();
    std::fs::write(fixture.path("pkg/huge.py"), "x = 1\n".repeat(400_000)).unwrap();
    fixture
}

fn repolens(args: &[&str]) -> std::process::Output {
    let cache = tempfile::tempdir().unwrap();
    repolens_with_cache(args, cache.path())
}

fn repolens_with_cache(args: &[&str], cache: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_repolens")).args(args).env("REPOLENS_CACHE_DIR", cache).output().unwrap()
}

fn index_json(root: &std::path::Path, cache: &std::path::Path) -> Value {
    let out = repolens_with_cache(&["index", "--root", root.to_str().unwrap(), "--json"], cache);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_index_cache_is_reused_when_files_are_unchanged() {
    let fixture = workspace();
    let cache = tempfile::tempdir().unwrap();
    // A coarse clock can give a file written just before and just after the cache was saved the
    // same mtime. Simulate that deterministically, however slow this machine is: geometry.py's
    // mtime stays ahead of every save, so the cache must not trust it and compares content.
    let path = fixture.path("pkg/geometry.py");
    let mtime = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    std::fs::File::options().write(true).open(&path).unwrap().set_modified(mtime).unwrap();
    let cold = index_json(fixture.root(), cache.path());
    assert_eq!(cold["cache"]["state"], "cold");
    let warm = index_json(fixture.root(), cache.path());
    assert_eq!(warm["cache"], json!({ "state": "warm", "reused": 2 }));
    for key in ["files", "symbols", "references", "skipped", "graph"] {
        assert_eq!(warm[key], cold[key], "{key} differs between cold and warm");
    }
    // A change that keeps the size and the mtime: only because that mtime is not safely older
    // than the cache's save does the content hash decide.
    std::fs::write(&path, fixture.read("pkg/geometry.py").replace("area", "size")).unwrap();
    std::fs::File::options().write(true).open(&path).unwrap().set_modified(mtime).unwrap();
    let after = index_json(fixture.root(), cache.path());
    assert_eq!(after["cache"], json!({ "state": "warm", "reused": 1 }));
    let out = repolens_with_cache(
        &["symbols", "--root", fixture.root().to_str().unwrap(), "--query", "size", "--json"],
        cache.path(),
    );
    let hits: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(hits[0]["name"], "size");
}

#[test]
fn a_corrupt_index_cache_is_rebuilt() {
    let fixture = workspace();
    let cache = tempfile::tempdir().unwrap();
    let cold = index_json(fixture.root(), cache.path());
    let file =
        walk_files(cache.path()).into_iter().find(|p| p.ends_with("summaries.bin")).expect("a cache file");
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes.truncate(middle);
    std::fs::write(&file, &bytes).unwrap();
    let recovered = index_json(fixture.root(), cache.path());
    assert_eq!(recovered["cache"]["state"], "cold");
    assert_eq!(recovered["symbols"], cold["symbols"]);
    std::fs::write(&file, b"not a cache at all").unwrap();
    assert_eq!(index_json(fixture.root(), cache.path())["cache"]["state"], "cold");
    assert_eq!(
        index_json(fixture.root(), cache.path())["cache"]["state"],
        "warm",
        "the rebuilt cache was saved"
    );
}

/// The search manifest (which content each file's chunks were indexed from) is saved on every
/// edit without waiting for the disk, so a torn one must cost a re-index, never a stale index.
#[test]
fn a_torn_search_manifest_makes_the_next_start_reindex_search() {
    let fixture = workspace();
    let cache = tempfile::tempdir().unwrap();
    let cold = index_json(fixture.root(), cache.path());
    let files = cold["search"]["reindexed_files"].as_u64().unwrap();
    assert!(files >= 2, "{cold}");
    assert_eq!(index_json(fixture.root(), cache.path())["search"]["reindexed_files"], 0);
    let manifest = walk_files(cache.path())
        .into_iter()
        .find(|p| p.ends_with("search-manifest.bin"))
        .expect("a search manifest");
    let mut bytes = std::fs::read(&manifest).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&manifest, &bytes).unwrap();
    let recovered = index_json(fixture.root(), cache.path());
    assert_eq!(recovered["search"]["reindexed_files"], files, "{recovered}");
    assert_eq!(recovered["search"]["chunks"], cold["search"]["chunks"]);
    assert_eq!(
        index_json(fixture.root(), cache.path())["search"]["reindexed_files"],
        0,
        "the re-indexed manifest was saved"
    );
}

fn walk_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { out.extend(walk_files(&path)) } else { out.push(path) }
    }
    out
}

#[test]
fn serves_lsp_over_stdio_and_exits_cleanly() {
    for args in [&["serve"][..], &["--stdio"], &["serve", "--stdio"]] {
        let fixture = workspace();
        let builder = TestServerBuilder::default().root_uri(fixture.root_uri());
        let mut client = builder.start_binary(args);
        let init = client.initialize(&builder);
        assert_eq!(init["serverInfo"]["name"], "repolens");
        let uri = fixture.uri("pkg/geometry.py");
        client.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "python", "version": 1, "text": fixture.read("pkg/geometry.py") } }),
        );
        let symbols =
            client.request_ok("textDocument/documentSymbol", json!({ "textDocument": { "uri": uri } }));
        assert_eq!(symbols[0]["name"], "Circle");
        assert_eq!(symbols[0]["children"][0]["name"], "area");
        let hits = client.request_ok("workspace/symbol", json!({ "query": "Generated" }));
        assert_eq!(hits, json!([]), "ignored directories are not indexed ({args:?})");
        let hits = client.request_ok("workspace/symbol", json!({ "query": "circ" }));
        assert_eq!(hits[0]["name"], "Circle");
        assert!(
            client.stray_output.is_empty(),
            "non-protocol bytes on stdout: {:?}",
            String::from_utf8_lossy(&client.stray_output)
        );
        assert_eq!(client.shutdown_and_exit(), 0, "{args:?}");
    }
}

#[test]
fn exit_without_shutdown_exits_with_1() {
    let builder = TestServerBuilder::default();
    let mut client = builder.start_binary(&["serve"]);
    client.initialize(&builder);
    assert_eq!(client.exit_without_shutdown(), 1);
}

#[test]
fn log_file_receives_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("repolens.log");
    let builder = TestServerBuilder::default();
    let mut client = builder.start_binary(&["serve", "--log-file", log.to_str().unwrap(), "--log", "debug"]);
    client.initialize(&builder);
    assert_eq!(client.shutdown_and_exit(), 0);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("initialize: client repolens-tests"), "{logged}");
}

#[test]
fn version_and_help() {
    let out = repolens(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("repolens {}", env!("CARGO_PKG_VERSION"))
    );
    let out = repolens(&["--help"]);
    let help = String::from_utf8(out.stdout).unwrap();
    for command in ["serve", "index", "symbols", "--log-file"] {
        assert!(help.contains(command), "--help does not mention {command}:\n{help}");
    }
}

#[test]
fn index_reports_files_symbols_and_skips_by_reason() {
    let fixture = workspace();
    let out = repolens(&["index", "--root", fixture.root().to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["files"], 2, "{report}");
    assert_eq!(report["symbols"], 2);
    assert_eq!(report["skipped"], json!({ "too_large": 1, "binary": 1, "not_utf8": 1 }));
    for phase in
        ["discover", "ready", "parse", "index", "graph", "search", "graph_and_search", "risk", "total"]
    {
        assert!(report["timings_ms"][phase].is_number(), "no {phase} timing: {report}");
    }
    let timing = |phase: &str| report["timings_ms"][phase].as_f64().unwrap();
    assert!(timing("index") > 0.0);
    // Graph and search are done after the scan and no later than everything.
    assert!(
        timing("graph_and_search") >= timing("index") && timing("graph_and_search") <= timing("total"),
        "{report}"
    );
    assert_eq!(report["graph"]["nodes"], 4, "two modules and their two symbols: {report}");
}

#[test]
fn symbols_lists_fuzzy_matches_as_json() {
    let fixture = workspace();
    let out =
        repolens(&["symbols", "--root", fixture.root().to_str().unwrap(), "--query", "Circle.ar", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let hits: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        hits,
        json!([{ "name": "area", "kind": "method", "container": "pkg.geometry.Circle", "path": "pkg/geometry.py", "line": 2, "column": 9 }])
    );
}

#[test]
fn symbols_name_their_module_as_code_imports_it() {
    let fixture = write_fixture(
        "//- /lib/shapes/__init__.py
//- /lib/shapes/circle.py
class Circle:
    pass
//- /src/flatpkg/square.py
class Square:
    pass
//- /scripts/tool.py
class Tool:
    pass
",
    );
    let out = repolens(&["symbols", "--root", fixture.root().to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let hits: Value = serde_json::from_slice(&out.stdout).unwrap();
    let container = |name: &str| {
        let hit = hits.as_array().unwrap().iter().find(|h| h["name"] == name);
        hit.unwrap_or_else(|| panic!("no {name} in {hits}"))["container"].clone()
    };
    // `lib/` is not a package: `shapes` is imported with `lib/` on sys.path.
    assert_eq!(container("Circle"), "shapes.circle");
    // A namespace package of a src layout.
    assert_eq!(container("Square"), "flatpkg.square");
    // A script outside any package keeps its directory.
    assert_eq!(container("Tool"), "scripts.tool");

    // A qualifier may name the module either way.
    let found = |query: &str| {
        let out =
            repolens(&["symbols", "--root", fixture.root().to_str().unwrap(), "--query", query, "--json"]);
        let hits: Value = serde_json::from_slice(&out.stdout).unwrap();
        hits.as_array().unwrap().iter().map(|h| h["name"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(found("shapes.circle.Circle"), ["Circle"]);
    assert_eq!(found("lib.shapes.Circle"), ["Circle"]);
    assert_eq!(found("src.flatpkg.Square"), ["Square"]);
    assert!(found("scripts.Circle").is_empty());
}

#[test]
fn a_missing_root_is_a_clear_error() {
    let out = repolens(&["index", "--root", "/definitely/not/here"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a directory"));
}
