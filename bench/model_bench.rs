//! How long one edited file takes to reach the symbol graph and the search index (the model
//! thread's whole update: summary, graph update, re-chunking, search replace and commit), as
//! the server does it after the edit debounce, on a real tree.
//!
//! `cargo run --release --example model-bench -- /tmp/bench/Django-5.0 django/db/models/query.py`
#![allow(clippy::print_stdout)] // reporting is this program's job

use std::{sync::atomic::AtomicBool, time::Duration};

use repolens::{
    analysis::{AnalysisHost, ModelConfig, ModelEvent, ModelUpdate, ModelUpdater},
    config::Config,
    syntax::{LanguageId, Languages},
    text::{ContentChange, LineCol, PositionEncoding, WideRange},
    workspace::{
        DiscoverOptions, IndexSink, ScanDepth, ScanProgress, VfsPath, WorkspaceScan, index_workspace,
    },
};

struct Quiet;
impl IndexSink for Quiet {
    fn ready(&self, _: &WorkspaceScan, _: Duration) {}
    fn progress(&self, _: ScanProgress) {}
}

fn main() {
    let root = std::path::PathBuf::from(std::env::args().nth(1).expect("usage: model-bench ROOT FILE"));
    let rel = std::env::args().nth(2).expect("usage: model-bench ROOT FILE");
    let roots = vec![root.clone()];
    let languages = Languages::embedded();
    let cache = Config::default().index_cache(&roots);
    let build = index_workspace(
        &roots,
        &DiscoverOptions::default(),
        &languages,
        cache.as_ref(),
        ScanDepth::Full,
        &Quiet,
        &AtomicBool::new(false),
    )
    .unwrap();
    let mut host = AnalysisHost::new(languages.clone(), roots.clone());
    host.apply_scan(build.scan);
    let (events, received) = crossbeam_channel::unbounded();
    let config = ModelConfig {
        languages,
        cache,
        max_file_size: DiscoverOptions::default().max_file_size,
        cold: false,
        search: true,
    };
    let model = ModelUpdater::spawn(host.model().clone(), config, move |e| {
        let _ = events.send(e);
    });
    model.send(ModelUpdate::Rebuild(host.model_sources()));
    loop {
        if let ModelEvent::SearchBuilt { .. } = received.recv().unwrap() {
            break;
        }
    }
    let path = root.join(&rel);
    let text = std::fs::read_to_string(&path).unwrap();
    let file = host.file_id(VfsPath::Disk(path));
    host.open_document(file, 0, &text, Some(LanguageId::Python));
    let middle = (text.lines().count() / 2) as u32;
    let mut end = text.lines().count() as u32;
    let (mut body, mut interface) = (Vec::new(), Vec::new());
    for i in 0..40 {
        // Alternate a body edit (same interface) and a new function (interface change): a
        // comment in the middle of the file changes no definition; a top-level function
        // appended at the end does.
        let (insert, line) = if i % 2 == 0 {
            (format!("# edit {i}\n"), middle)
        } else {
            (format!("\n\ndef helper_{i}():\n    pass\n"), end)
        };
        end += insert.matches('\n').count() as u32;
        let at = WideRange { start: LineCol::new(line, 0), end: LineCol::new(line, 0) };
        host.change_document(
            file,
            i + 1,
            &[ContentChange { range: Some(at), text: insert }],
            PositionEncoding::Utf16,
        )
        .unwrap();
        model.send(ModelUpdate::File(host.model_file(file).unwrap()));
        loop {
            if let ModelEvent::Updated { elapsed, .. } = received.recv().unwrap() {
                let samples = if i % 2 == 0 { &mut body } else { &mut interface };
                samples.push(elapsed.as_secs_f64() * 1000.0);
                break;
            }
        }
    }
    for (what, mut samples) in [("a body edit", body), ("an edit adding a function", interface)] {
        samples.sort_by(f64::total_cmp);
        let pct = |p: f64| samples[((samples.len() - 1) as f64 * p) as usize];
        println!(
            "{rel}: graph + search update after {what} ({} edits): p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
            samples.len(),
            pct(0.5),
            pct(0.95),
            samples[samples.len() - 1]
        );
    }
}
