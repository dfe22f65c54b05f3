//! Measures the search index on a real tree (meant for the Django 5.0 source tree): chunking,
//! bulk build time with 1 and 2 writer threads, size on disk, query latency, the latency of a
//! single-file replace + commit + reload (what an edit costs before queries see it), peak RSS,
//! and retrieval quality — for a set of identifier and natural-language queries with known
//! answers, where the expected file ranks in `file_scores` (Acc@1/5/10, MRR).
//!
//! `cargo run --release --example search-bench -- /tmp/bench/Django-5.0 [--quick]
//!  [--boosts name,qualified,path,doc,body] [--max-terms N] [--file-bonus F] [--test-penalty F]
//!  [--identifier-weight F] [--bulk-memory-mb N] [--verbose]`
//!
//! `--quick` skips the build-time and edit-latency measurements (for tuning the ranking).
#![allow(clippy::print_stdout, clippy::print_stderr)] // reporting is this program's job

use std::{
    path::{Path, PathBuf},
    sync::atomic::AtomicBool,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use repolens::{
    search::{BulkOptions, Chunk, CodeTokenizer, FieldBoosts, QueryOptions, SearchIndex, chunks_for_file},
    syntax::Languages,
    workspace::{DiscoverOptions, read_source, scan_workspace, summarize_source},
};
use tantivy::tokenizer::{TokenStream as _, Tokenizer as _};

/// Identifier queries, in the spellings people type, with the file that answers them.
const IDENTIFIER_QUERIES: &[(&str, &[&str])] = &[
    ("make_password", &["django/contrib/auth/hashers.py"]),
    ("get_user_model", &["django/contrib/auth/__init__.py"]),
    ("getUserModel", &["django/contrib/auth/__init__.py"]),
    ("QuerySet.bulk_create", &["django/db/models/query.py"]),
    ("CsrfViewMiddleware", &["django/middleware/csrf.py"]),
    ("rotate_token", &["django/middleware/csrf.py"]),
    ("HttpResponseRedirect", &["django/http/response.py"]),
    ("parse_accept_lang_header", &["django/utils/translation/trans_real.py"]),
    ("EmailValidator", &["django/core/validators.py"]),
    ("make_aware", &["django/utils/timezone.py"]),
    ("Paginator.get_page", &["django/core/paginator.py"]),
    ("ManifestStaticFilesStorage", &["django/contrib/staticfiles/storage.py"]),
    ("EmailMultiAlternatives.attach_alternative", &["django/core/mail/message.py"]),
    ("get_object_or_404", &["django/shortcuts.py"]),
    ("render_to_string", &["django/template/loader.py"]),
    ("Signer.sign", &["django/core/signing.py"]),
    ("urlsafe_base64_encode", &["django/utils/http.py"]),
    ("reverse_lazy", &["django/urls/base.py"]),
    ("ModelAdmin.get_queryset", &["django/contrib/admin/options.py"]),
    ("SQLCompiler.as_sql", &["django/db/models/sql/compiler.py"]),
    ("select_related", &["django/db/models/query.py"]),
    ("MigrationAutodetector", &["django/db/migrations/autodetector.py"]),
    ("cached_property", &["django/utils/functional.py"]),
    ("django.core.management.call_command", &["django/core/management/__init__.py"]),
    ("FileSystemStorage", &["django/core/files/storage/filesystem.py"]),
];

/// Questions in plain English, with the file(s) a developer would want first.
const LANGUAGE_QUERIES: &[(&str, &[&str])] = &[
    ("where are passwords hashed?", &["django/contrib/auth/hashers.py"]),
    ("how does django check the CSRF token of a POST request", &["django/middleware/csrf.py"]),
    (
        "parse the Accept-Language header to pick the user's language",
        &["django/utils/translation/trans_real.py"],
    ),
    ("send an email with an HTML alternative and attachments", &["django/core/mail/message.py"]),
    ("validate that a string is a valid email address", &["django/core/validators.py"]),
    ("convert a naive datetime to a timezone aware one", &["django/utils/timezone.py"]),
    ("split a list of objects into pages", &["django/core/paginator.py"]),
    ("add a hash of the file content to static file names", &["django/contrib/staticfiles/storage.py"]),
    ("sign a value with a secret key and verify the signature", &["django/core/signing.py"]),
    ("turn a string into a URL slug", &["django/utils/text.py", "django/template/defaultfilters.py"]),
    ("escape HTML special characters in a string", &["django/utils/html.py"]),
    ("detect changes in models and generate migrations", &["django/db/migrations/autodetector.py"]),
    ("resolve a URL path to a view function", &["django/urls/resolvers.py"]),
    ("how are template variables with dots resolved to attributes", &["django/template/base.py"]),
    ("where is the session cookie set on the response", &["django/contrib/sessions/middleware.py"]),
    ("format the time since a date, like 3 days ago", &["django/utils/timesince.py"]),
    (
        "serve static files during development",
        &["django/contrib/staticfiles/views.py", "django/contrib/staticfiles/handlers.py"],
    ),
    ("lazy translation of strings", &["django/utils/translation/__init__.py"]),
    ("generate a token for a password reset link", &["django/contrib/auth/tokens.py"]),
    ("database wrapper for PostgreSQL connections", &["django/db/backends/postgresql/base.py"]),
    ("memcached cache backend", &["django/core/cache/backends/memcached.py"]),
    (
        "restart the development server when code changes",
        &["django/utils/autoreload.py", "django/core/management/commands/runserver.py"],
    ),
    ("parse uploaded files from a multipart form body", &["django/http/multipartparser.py"]),
    ("prefetch related objects for a many-to-many relation", &["django/db/models/query.py"]),
    ("decorator that redirects anonymous users to the login page", &["django/contrib/auth/decorators.py"]),
];

/// Issue reports in the style of SWE-bench: prose, code and a traceback.
const ISSUE_QUERIES: &[(&str, &[&str])] = &[
    (
        r#"QuerySet.bulk_create() crashes on mixed case columns in unique_fields/update_fields.
Not sure exactly how to phrase this, but when I'm calling bulk_update on the manager for a class with
db_column set on fields the SQL is invalid. Ellipses indicate other fields excluded for clarity.
class ActivityBlackListed(models.Model):
    blacklistid = models.IntegerField(primary_key=True, db_column="BlacklistID")
    sectorid = models.IntegerField(null=True, blank=True, db_column="SectorID")
qs.bulk_create(instances, update_conflicts=True, update_fields=["sectorid"], unique_fields=["blacklistid"])
The "INSERT" code does take into account the db_columns, but the ON CONFLICT clause uses the field
name: 'ON CONFLICT("blacklistid") DO UPDATE SET "sectorid" = EXCLUDED."sectorid"'
PostgreSQL returns ERROR: column "blacklistid" does not exist at character 1508"#,
        &[
            "django/db/models/sql/compiler.py",
            "django/db/backends/postgresql/operations.py",
            "django/db/models/query.py",
        ],
    ),
    (
        r#"Template filter `join` should not escape the joining string if autoescape is off
Traceback (most recent call last):
  File "/home/nessita/fellowship/django/django/test/utils.py", line 443, in inner
    return func(*args, **kwargs)
  File "/home/nessita/fellowship/django/tests/template_tests/filter_tests/test_regression.py", line 21, in test_join02
    self.assertEqual(output, self.some_list.join(some_var))
AssertionError: '<p>Hello World!</p>&lt;br/&gt;beta & me&lt;br/&gt;<script>Hi!</script>' != '<p>Hello World!</p><br/>beta & me<br/><script>Hi!</script>'
The join filter in defaultfilters escapes the joiner even when autoescape is off."#,
        &["django/template/defaultfilters.py"],
    ),
    (
        r#"ModelChoiceField does not provide value of invalid choice when raising ValidationError.
Compared with ChoiceField and others, ModelChoiceField does not show the value of the invalid choice
when raising a validation error. Passing in parameters with the invalid value and modifying the default
error message for the code invalid_choice should fix this.
class ModelChoiceField(ChoiceField):
    default_error_messages = {'invalid_choice': _('Select a valid choice. That choice is not one of the available choices.')}"#,
        &["django/forms/models.py"],
    ),
];

/// Queries used only for latency (no judged answer): more shapes of what people type.
const EXTRA_QUERIES: &[&str] = &[
    "Model.save",
    "middleware",
    "how do I add a custom management command",
    "JSONField key transforms on SQLite",
    "ForeignKey on_delete CASCADE",
    "TestCase.assertQuerysetEqual",
    "why is my form not valid",
    "content_type",
];

struct Args {
    root: PathBuf,
    quick: bool,
    verbose: bool,
    options: QueryOptions,
    bulk_memory: usize,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = std::env::args().skip(1);
    let mut root = None;
    let mut quick = false;
    let mut verbose = false;
    let mut options = QueryOptions::default();
    let mut bulk_memory = BulkOptions::default().memory_budget;
    fn value<T: std::str::FromStr>(args: &mut impl Iterator<Item = String>, flag: &str) -> anyhow::Result<T>
    where
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        Ok(args.next().with_context(|| format!("{flag} needs a value"))?.parse()?)
    }
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--verbose" => verbose = true,
            "--boosts" => {
                let v: Vec<f32> =
                    value::<String>(&mut args, &arg)?.split(',').map(str::parse).collect::<Result<_, _>>()?;
                anyhow::ensure!(v.len() == 5, "--boosts takes name,qualified,path,doc,body");
                options.boosts =
                    FieldBoosts { name: v[0], qualified_name: v[1], path: v[2], doc: v[3], body: v[4] };
            }
            "--max-terms" => options.max_terms = value(&mut args, &arg)?,
            "--file-bonus" => options.file_bonus = value(&mut args, &arg)?,
            "--test-penalty" => options.test_penalty = value(&mut args, &arg)?,
            "--identifier-weight" => options.identifier_weight = value(&mut args, &arg)?,
            "--bulk-memory-mb" => bulk_memory = value::<usize>(&mut args, &arg)? * 1024 * 1024,
            flag if flag.starts_with("--") => anyhow::bail!("unknown option {flag}"),
            _ => root = Some(PathBuf::from(arg)),
        }
    }
    Ok(Args {
        root: root.context("usage: search-bench DIR [--quick] [--boosts ..] [--max-terms N]")?,
        quick,
        verbose,
        options,
        bulk_memory,
    })
}

/// `pkg/mod.py` → `pkg.mod`, `pkg/__init__.py` → `pkg`.
fn module_name(relative: &str) -> String {
    let stem = relative.strip_suffix(".py").unwrap_or(relative);
    let stem = stem.strip_suffix("/__init__").unwrap_or(stem);
    stem.replace('/', ".")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    let idx = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[idx.min(samples.len() - 1)]
}

/// `VmHWM:` (peak) or `VmRSS:` (current) from `/proc/self/status`, in MB.
fn rss_mb(key: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries.filter_map(Result::ok).filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum()
        })
        .unwrap_or(0)
}

struct File {
    relative: String,
    text: String,
    chunks: Vec<Chunk>,
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let root = std::path::absolute(&args.root)?;
    let languages = Languages::embedded();
    let never = AtomicBool::new(false);

    let started = Instant::now();
    let scan =
        scan_workspace(std::slice::from_ref(&root), &DiscoverOptions::default(), &languages, &|_| {}, &never)
            .context("scan cancelled")?;
    let scan_time = started.elapsed();

    let started = Instant::now();
    let mut files: Vec<File> = Vec::new();
    for scanned in &scan.files {
        let Ok(text) = read_source(&scanned.path, DiscoverOptions::default().max_file_size) else { continue };
        let relative =
            scanned.path.strip_prefix(&root).unwrap_or(&scanned.path).to_string_lossy().replace('\\', "/");
        let chunks = chunks_for_file(&relative, &module_name(&relative), &scanned.summary, &text);
        files.push(File { relative, text, chunks });
    }
    let chunk_time = started.elapsed();
    let n_chunks: usize = files.iter().map(|f| f.chunks.len()).sum();
    let body_bytes: usize = files.iter().flat_map(|f| &f.chunks).map(|c| c.body.len()).sum();
    println!(
        "{} files scanned in {:.0} ms; {} chunks ({:.1} MB of indexed text) cut in {:.0} ms; RSS now {:.0} MB",
        files.len(),
        ms(scan_time),
        n_chunks,
        body_bytes as f64 / 1e6,
        ms(chunk_time),
        rss_mb("VmRSS:")
    );
    // Streamed, one file's chunks at a time, as a caller chunking files on the fly would.
    let batch = || files.iter().map(|f| (f.relative.clone(), f.chunks.clone()));

    if !args.quick {
        // The tokenizer alone, on one thread: how much of the build is ours. A fresh tokenizer
        // per run, reused across documents as tantivy's segment writers do.
        let mut samples = Vec::new();
        let mut n_tokens = 0usize;
        for _ in 0..3 {
            let started = Instant::now();
            n_tokens = 0;
            let mut tokenizer = CodeTokenizer::default();
            for chunk in files.iter().flat_map(|f| &f.chunks) {
                for text in [&chunk.body, &chunk.name, &chunk.qualified_name, &chunk.path] {
                    let mut stream = tokenizer.token_stream(text);
                    while stream.advance() {
                        n_tokens += 1;
                    }
                }
            }
            samples.push(ms(started.elapsed()));
        }
        println!(
            "tokenize everything on one thread: {n_tokens} tokens, min of 3 runs {:.0} ms",
            percentile(&mut samples, 0.0)
        );
    }

    if !args.quick {
        // Interleaved and repeated: other processes on a small machine make single runs noisy.
        let mut times: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        for _ in 0..3 {
            for threads in [1, 2] {
                let mut index = SearchIndex::in_memory()?;
                let options = BulkOptions { threads, memory_budget: args.bulk_memory };
                let started = Instant::now();
                index.bulk_index(batch(), &options, &never)?;
                times[threads - 1].push(ms(started.elapsed()));
            }
        }
        for (idx, samples) in times.iter_mut().enumerate() {
            println!(
                "build in memory, {} writer thread(s), 3 runs: min {:.0} ms, median {:.0} ms",
                idx + 1,
                percentile(samples, 0.0),
                percentile(samples, 0.5)
            );
        }
    }

    let scratch = tempfile::tempdir_in(std::env::temp_dir())?;
    let disk_dir = scratch.path().join("search");
    let mut index = SearchIndex::open_or_create(&disk_dir)?;
    let started = Instant::now();
    index.bulk_index(batch(), &BulkOptions { threads: 2, memory_budget: args.bulk_memory }, &never)?;
    println!(
        "build on disk, 2 writer threads: {:.0} ms; {} chunks, {:.1} MB on disk; RSS now {:.0} MB, peak {:.0} MB",
        ms(started.elapsed()),
        index.num_chunks(),
        dir_size(&disk_dir) as f64 / 1e6,
        rss_mb("VmRSS:"),
        rss_mb("VmHWM:")
    );

    drop(index);
    let started = Instant::now();
    let mut index = SearchIndex::open_or_create(&disk_dir)?;
    println!("reopen from disk (checksums validated): {:.0} ms", ms(started.elapsed()));

    // Quality: where does the expected file rank?
    let snapshot = index.snapshot();
    let judged: Vec<(&str, &[&str], &str)> = IDENTIFIER_QUERIES
        .iter()
        .map(|(q, e)| (*q, *e, "identifier"))
        .chain(LANGUAGE_QUERIES.iter().map(|(q, e)| (*q, *e, "language")))
        .chain(ISSUE_QUERIES.iter().map(|(q, e)| (*q, *e, "issue")))
        .collect();
    for group in ["identifier", "language", "issue"] {
        let (mut at1, mut at5, mut at10, mut rr, mut n) = (0, 0, 0, 0.0, 0);
        for (query, expected, _) in judged.iter().filter(|j| j.2 == group) {
            let hits = snapshot.file_scores_with(query, 10, &args.options)?;
            let rank = hits.iter().position(|h| expected.contains(&h.path.as_str()));
            n += 1;
            if let Some(rank) = rank {
                at1 += usize::from(rank == 0);
                at5 += usize::from(rank < 5);
                at10 += 1;
                rr += 1.0 / (rank as f64 + 1.0);
            }
            if args.verbose && rank != Some(0) {
                let top: Vec<&str> = hits.iter().take(3).map(|h| h.path.as_str()).collect();
                let short: String = query.chars().take(60).collect();
                println!("  {:>4} {short:?} → {top:?}", rank.map_or("-".to_owned(), |r| (r + 1).to_string()));
            }
        }
        println!(
            "quality ({group}, {n} queries): file Acc@1 {at1}/{n}, Acc@5 {at5}/{n}, Acc@10 {at10}/{n}, MRR {:.3}",
            rr / n as f64
        );
    }

    // Query latency: every query, chunk search (top 10) and file ranking (top 10).
    let all: Vec<&str> = judged.iter().map(|j| j.0).chain(EXTRA_QUERIES.iter().copied()).collect();
    for query in &all {
        snapshot.search_with(query, 10, &args.options)?; // warm the page cache and the term dictionaries
    }
    let (mut search_ms, mut files_ms) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        for query in &all {
            let started = Instant::now();
            snapshot.search_with(query, 10, &args.options)?;
            search_ms.push(ms(started.elapsed()));
            let started = Instant::now();
            snapshot.file_scores_with(query, 10, &args.options)?;
            files_ms.push(ms(started.elapsed()));
        }
    }
    println!(
        "query latency over {} queries x3: search p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms; file_scores p50 {:.2} ms, p95 {:.2} ms",
        all.len(),
        percentile(&mut search_ms, 0.5),
        percentile(&mut search_ms, 0.95),
        percentile(&mut search_ms, 1.0),
        percentile(&mut files_ms, 0.5),
        percentile(&mut files_ms, 0.95)
    );

    // One very long question: every judged query and issue text run together.
    let long: String = judged.iter().map(|j| j.0).collect::<Vec<_>>().join("\n");
    let mut long_ms = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        snapshot.file_scores_with(&long, 10, &args.options)?;
        long_ms.push(ms(started.elapsed()));
    }
    println!(
        "long query ({} words, {} distinct terms kept): file_scores p50 {:.2} ms",
        long.split_whitespace().count(),
        snapshot.query_terms(&long, &args.options)?.len(),
        percentile(&mut long_ms, 0.5)
    );

    if !args.quick {
        edit_latency("on disk", &mut index, &files, &languages)?;
        drop(index);
        let mut memory = SearchIndex::in_memory()?;
        memory.bulk_index(batch(), &BulkOptions { threads: 2, memory_budget: args.bulk_memory }, &never)?;
        edit_latency("in memory", &mut memory, &files, &languages)?;
    }
    println!("RSS now {:.0} MB, peak {:.0} MB", rss_mb("VmRSS:"), rss_mb("VmHWM:"));
    Ok(())
}

/// Simulates edits: for 40 files spread over the tree, add a function with a fresh name,
/// reparse and re-chunk, then replace + commit + reload, and check a query sees it.
fn edit_latency(
    label: &str,
    index: &mut SearchIndex,
    files: &[File],
    languages: &Languages,
) -> anyhow::Result<()> {
    let step = (files.len() / 40).max(1);
    let (mut parse_ms, mut commit_ms) = (Vec::new(), Vec::new());
    for (n, file) in files.iter().step_by(step).take(40).enumerate() {
        let marker = format!("repolens_probe_{n}");
        let text = format!("{}\n\ndef {marker}():\n    return {n}\n", file.text);
        let started = Instant::now();
        let Some(summary) = summarize_source(languages, repolens::syntax::LanguageId::Python, &text) else {
            continue;
        };
        let chunks = chunks_for_file(&file.relative, &module_name(&file.relative), &summary, &text);
        parse_ms.push(ms(started.elapsed()));
        let started = Instant::now();
        index.replace_file(&file.relative, &chunks)?;
        index.commit()?;
        commit_ms.push(ms(started.elapsed()));
        let hits = index.snapshot().search(&marker, 3)?;
        anyhow::ensure!(
            hits.first().is_some_and(|h| h.name == marker),
            "edit of {} not visible after commit: {:?}",
            file.relative,
            hits.iter().map(|h| (&h.qualified_name, h.score)).collect::<Vec<_>>()
        );
    }
    println!(
        "single-file edit ({label}, {} edits): reparse+chunk p50 {:.2} ms; replace+commit+reload p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        commit_ms.len(),
        percentile(&mut parse_ms, 0.5),
        percentile(&mut commit_ms, 0.5),
        percentile(&mut commit_ms, 0.95),
        percentile(&mut commit_ms, 1.0)
    );
    Ok(())
}
