//! The `repolens` binary: the language server (`repolens serve`, or `repolens --stdio` as VS
//! Code's client starts it) and the scripting commands that share its engine.

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "repolens", version, about = "A language server that understands the whole repository")]
struct Cli {
    /// Speak LSP over stdin/stdout (what `serve` does; accepted because editors append it).
    #[arg(long, global = true)]
    stdio: bool,
    /// Write logs to this file instead of stderr.
    #[arg(long, global = true, value_name = "PATH")]
    log_file: Option<PathBuf>,
    /// Log filter in RUST_LOG syntax (default: REPOLENS_LOG, else RUST_LOG, else `info`).
    #[arg(long, global = true, value_name = "FILTER")]
    log: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the language server over stdio (the default when no command is given).
    Serve,
    /// Index a repository and report what was found, skipped and how long it took.
    Index {
        /// Repository root (default: the current directory).
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// Ignore the cache (and write a fresh one): measure a cold start.
        #[arg(long)]
        cold: bool,
    },
    /// List symbols of a repository, or those matching a fuzzy query, best first.
    Symbols {
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
        /// Fuzzy query, as typed into an editor's symbol picker (`QuerySet.filter`, `gqs`).
        #[arg(long, short)]
        query: Option<String>,
        /// At most this many results (default: 100 with a query, all without).
        #[arg(long)]
        limit: Option<usize>,
        #[arg(long)]
        json: bool,
    },
    /// Rank files and functions by risk (code, history and structure), with their factors.
    Risks {
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
        /// Score as of this commit: its code and only the history before it.
        #[arg(long, value_name = "COMMIT")]
        rev: Option<String>,
        /// One JSON object with `files` and `functions` arrays.
        #[arg(long, conflicts_with = "sarif")]
        json: bool,
        /// A SARIF 2.1.0 log of the diagnostics, for code-scanning UIs.
        #[arg(long)]
        sarif: bool,
        /// List this many files and functions (default: 20 in text, all otherwise).
        #[arg(long, value_name = "N")]
        top: Option<usize>,
    },
    /// Read the repository's git history and report per-file (and per-function) change facts.
    History {
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
        /// Read history as of this revision (default HEAD); nothing after it is used.
        #[arg(long, value_name = "REV")]
        as_of: Option<String>,
        /// Ignore commits before this date (YYYY-MM-DD or @UNIX_SECONDS).
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        /// Only files matching this git pathspec (repeatable), e.g. `*.py` or `:(exclude)*.po`.
        #[arg(long = "path", value_name = "PATHSPEC")]
        paths: Vec<String>,
        /// Also read function-level facts: `all`, or for commits since DATE.
        #[arg(long, value_name = "all|DATE")]
        functions: Option<String>,
        /// Count merged pull requests (first-parent history) instead of individual commits.
        #[arg(long)]
        first_parent: bool,
        /// Half-life of the decay, in days.
        #[arg(long, default_value_t = repolens::history::DEFAULT_HALF_LIFE_DAYS)]
        half_life: f64,
        /// Aggregate only commits since this date.
        #[arg(long, value_name = "DATE")]
        window: Option<String>,
        /// Files listed in the text report.
        #[arg(long, default_value_t = 20)]
        top: usize,
        #[arg(long)]
        json: bool,
    },
    /// Answer a question about a repository, citing the code (extractive without a model).
    Ask {
        /// The question, e.g. "where are passwords hashed?" or a whole traceback.
        question: String,
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
        /// Print one JSON object (answer, citations, mode, unverified) instead of Markdown.
        #[arg(long)]
        json: bool,
        /// At most this many locations (default 5).
        #[arg(long)]
        limit: Option<usize>,
        /// Never use a model, even if one is configured.
        #[arg(long)]
        extractive: bool,
    },
    /// Fix the code at FILE:LINE with a tested patch: candidates (a model's, when one is
    /// configured) are tested in scratch copies and the winner's diff is printed with what was
    /// tested. Files change only with --apply.
    Fix {
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
        /// The location, e.g. `pkg/stats.py:12` (relative to the root).
        #[arg(value_name = "FILE:LINE")]
        location: String,
        /// What is wrong, in words (default: a bug in the function at that line).
        #[arg(long)]
        problem: Option<String>,
        /// A test that must pass (pytest node id; repeatable), e.g. the one showing the bug.
        #[arg(long = "test", value_name = "NODE_ID")]
        tests: Vec<String>,
        /// Rounds of generation and reflection at most.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Model samples per round.
        #[arg(long, default_value_t = 3)]
        samples: usize,
        /// Do not run the whole suite for finalists.
        #[arg(long)]
        no_wider: bool,
        /// Write the winner into the files (refused over uncommitted changes).
        #[arg(long)]
        apply: bool,
        #[arg(long)]
        json: bool,
        /// Instead of a fix, write a new test file for the function at that line: accepted only
        /// if it passes on the current code and calls the function (needs a model).
        #[arg(long)]
        generate_test: bool,
    },
    /// Summarize the workspace's repair trace: success rate, failure categories, tokens, time.
    Traces {
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
        /// Only the last N runs.
        #[arg(long, value_name = "N")]
        last: Option<usize>,
        #[arg(long)]
        json: bool,
    },
    /// Measure the engine on cases with known answers.
    #[command(subcommand)]
    Eval(EvalCommand),
}

#[derive(Subcommand)]
enum EvalCommand {
    /// Rank files for issue reports and report Acc@1/3/5/10 and MRR against the gold files.
    Localize {
        /// JSON lines `{id, root, question, gold_files}` (see bench/swebench_cases.py).
        #[arg(long, value_name = "FILE")]
        cases: PathBuf,
        /// One JSON line per case, then a summary line.
        #[arg(long)]
        json: bool,
    },
    /// Run the repair pipeline on tasks with known failing tests and report how often it selects
    /// a correct patch, and the wall time per candidate.
    Repair {
        /// JSON lines `{id, root, location, candidates | generator, fail_to_pass, known_fix?}`
        /// (see bench/repair_devset.py).
        #[arg(long, value_name = "FILE")]
        cases: PathBuf,
        /// One JSON line per case, then a summary line.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let serving = matches!(cli.command, None | Some(Command::Serve));
    if let Err(err) = repolens::cli::init_logging(cli.log.as_deref(), cli.log_file.as_deref(), serving) {
        repolens::cli::report_error(&err);
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        None | Some(Command::Serve) => {
            let _ = cli.stdio; // stdio is the only transport
            return match repolens::cli::serve() {
                repolens::lsp::ExitStatus::Clean => ExitCode::SUCCESS,
                repolens::lsp::ExitStatus::Abrupt => ExitCode::FAILURE,
            };
        }
        Some(Command::Index { root, json, cold }) => repolens::cli::index(root, json, cold),
        Some(Command::Symbols { root, query, limit, json }) => {
            repolens::cli::symbols(root, query, limit, json)
        }
        Some(Command::Risks { root, rev, json, sarif, top }) => {
            let format = match (json, sarif) {
                (true, _) => repolens::cli::RisksFormat::Json,
                (_, true) => repolens::cli::RisksFormat::Sarif,
                _ => repolens::cli::RisksFormat::Text,
            };
            repolens::cli::risks(repolens::cli::RisksArgs { root, rev, format, top })
        }
        Some(Command::History {
            root,
            as_of,
            since,
            paths,
            functions,
            first_parent,
            half_life,
            window,
            top,
            json,
        }) => repolens::cli::history(repolens::cli::HistoryArgs {
            root,
            as_of,
            since,
            paths,
            functions,
            first_parent,
            half_life_days: half_life,
            window,
            top,
            as_json: json,
        }),
        Some(Command::Ask { question, root, json, limit, extractive }) => {
            repolens::cli::ask::ask(repolens::cli::ask::AskArgs {
                question,
                root,
                as_json: json,
                limit,
                extractive,
            })
        }
        Some(Command::Fix {
            root,
            location,
            problem,
            tests,
            rounds,
            samples,
            no_wider,
            apply,
            json,
            generate_test,
        }) => repolens::cli::fix::fix(repolens::cli::fix::FixArgs {
            root,
            location,
            problem,
            tests,
            rounds,
            samples,
            no_wider,
            apply,
            as_json: json,
            generate_test,
        }),
        Some(Command::Traces { root, last, json }) => repolens::cli::traces::traces(root, last, json),
        Some(Command::Eval(EvalCommand::Localize { cases, json })) => {
            repolens::cli::eval::eval_localize(&cases, json)
        }
        Some(Command::Eval(EvalCommand::Repair { cases, json })) => {
            repolens::cli::eval_repair::eval_repair(&cases, json)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            repolens::cli::report_error(&err);
            ExitCode::FAILURE
        }
    }
}
