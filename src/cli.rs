//! Command-line interface (clap derive). Exit status: 0 all inputs read; 3 some inputs failed (the
//! tables are still written); 2 usage or configuration error; 1 any other failure.

use crate::tables::OutFormat;
use clap::{Args, Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;

pub const EXIT_OK: i32 = 0;
pub const EXIT_FAILURE: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_SOME_INPUTS_FAILED: i32 = 3;

#[derive(Parser, Debug)]
#[command(
    name = "rhetor",
    version,
    about = "Read political commentary and turn it into tables scholars can compare"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Read articles (files, folders, globs) and write documents, texts, sentences and errors tables.
    Analyze(AnalyzeArgs),
    /// Measure ingestion and segmentation speed (words per second) and peak memory.
    Bench(BenchArgs),
    /// Fetch and list the models rhetor uses.
    #[command(subcommand)]
    Models(ModelsCommand),
}

#[derive(Subcommand, Debug)]
pub enum ModelsCommand {
    /// Download the base encoder with pip, verify its sha256 and install it into the cache
    /// ($RHETOR_HOME, else $XDG_CACHE_HOME/rhetor, else ~/.cache/rhetor).
    Fetch {
        /// Fetch again even if an intact copy is installed.
        #[arg(long)]
        force: bool,
    },
    /// Show each model's id, status, folder, files with sha256, and licence.
    List,
}

#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    /// Files, folders (read recursively, in sorted order) or glob patterns (quote them).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<String>,
    /// Output folder (created if missing; rhetor's own tables in it are replaced).
    #[arg(long, short, default_value = "out", value_name = "DIR")]
    pub out: PathBuf,
    /// Table formats, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "csv,parquet", value_name = "FORMATS")]
    pub format: Vec<OutFormat>,
    /// CSV of metadata keyed by file name, path or id (a column named file, filename, path, id or
    /// doc_id); it overrides every other metadata source.
    #[arg(long, value_name = "FILE.csv")]
    pub metadata: Option<PathBuf>,
    /// Extra boilerplate rules (TOML, same keys as data/rules/boilerplate.toml); repeatable.
    #[arg(long, value_name = "FILE.toml")]
    pub rules: Vec<PathBuf>,
    /// Do not use the built-in boilerplate rules (only those given with --rules).
    #[arg(long)]
    pub no_default_rules: bool,
    /// Also write a tokens table (one row per word or punctuation token).
    #[arg(long)]
    pub tokens: bool,
    /// Also write texts as CSV (by default only Parquet/JSONL carry the full texts).
    #[arg(long)]
    pub texts_csv: bool,
    /// Worker threads (default: all cores).
    #[arg(long, short, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// No progress bar and no summary on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Corpus to read (default: the bundled sample corpus).
    #[arg(default_value = "data/corpus", value_name = "PATH")]
    pub paths: Vec<String>,
    /// How many timed runs (the median is reported).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
    pub repeat: u16,
    /// Worker threads (default: all cores).
    #[arg(long, short, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

fn default_jobs() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Runs the CLI on the process arguments and returns the exit status.
pub fn main() -> i32 {
    let args: Vec<String> = std::env::args().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
        }
    };
    match cli.command {
        Command::Analyze(a) => analyze(a, args),
        Command::Models(m) => models(m),
        Command::Bench(b) => match crate::bench::run(
            &b.paths,
            b.repeat as usize,
            b.jobs.map(usize::from).unwrap_or_else(default_jobs),
            b.json,
        ) {
            Ok(()) => EXIT_OK,
            Err(e) => {
                eprintln!("rhetor bench: error: {e:#}");
                EXIT_FAILURE
            }
        },
    }
}

fn models(cmd: ModelsCommand) -> i32 {
    use crate::model::PACKAGED_MODELS;
    match cmd {
        ModelsCommand::Fetch { force } => {
            for m in PACKAGED_MODELS {
                match m.fetch(force) {
                    Ok(dir) => eprintln!("rhetor: model {} is installed in {}", m.id, dir.display()),
                    Err(e) => {
                        eprintln!("rhetor models fetch: error: {e:#}");
                        return EXIT_FAILURE;
                    }
                }
            }
            EXIT_OK
        }
        ModelsCommand::List => {
            for m in PACKAGED_MODELS {
                let status = match m.locate() {
                    Ok(_) => "installed".to_string(),
                    Err(e) => format!("not usable: {e}"),
                };
                println!(
                    "{}\n  {}\n  status:  {status}\n  folder:  {}",
                    m.id,
                    m.description,
                    m.dir().display()
                );
                println!(
                    "  source:  PyPI {}=={} (wheel sha256 {})",
                    m.package, m.version, m.wheel_sha256
                );
                for (name, sha) in m.files {
                    println!("  file:    {name}  sha256 {sha}");
                }
                println!(
                    "  model sha256 (of the file hashes): {}\n  licence: {}",
                    m.sha256(),
                    m.licence
                );
            }
            EXIT_OK
        }
    }
}

fn analyze(a: AnalyzeArgs, command_line: Vec<String>) -> i32 {
    let mut formats = a.format.clone();
    formats.sort();
    formats.dedup();
    let config = crate::analyze::AnalyzeConfig {
        inputs: a.paths,
        out: a.out,
        formats,
        metadata: a.metadata,
        rules: a.rules,
        no_default_rules: a.no_default_rules,
        tokens: a.tokens,
        texts_csv: a.texts_csv,
        jobs: a.jobs.map(usize::from).unwrap_or_else(default_jobs),
        progress: !a.quiet && std::io::stderr().is_terminal(),
        command_line,
    };
    // Configuration files given on the command line are usage errors when unreadable.
    for p in config.rules.iter().chain(config.metadata.iter()) {
        if !p.is_file() {
            eprintln!("rhetor analyze: error: {} does not exist or is not a file", p.display());
            return EXIT_USAGE;
        }
    }
    match crate::analyze::run(&config) {
        Ok(s) => {
            if !a.quiet {
                eprintln!(
                    "rhetor: {} documents, {} sentences, {} words in {:.1} s; tables in {}",
                    s.documents,
                    s.sentences,
                    s.words,
                    s.seconds,
                    config.out.display()
                );
                if s.errors > 0 {
                    eprintln!(
                        "rhetor: {} inputs could not be read in full; see {}/errors.*",
                        s.errors,
                        config.out.display()
                    );
                }
            }
            if s.errors > 0 {
                EXIT_SOME_INPUTS_FAILED
            } else {
                EXIT_OK
            }
        }
        Err(e) => {
            eprintln!("rhetor analyze: error: {e:#}");
            let is_config = e.chain().any(|c| {
                let m = c.to_string();
                m.contains("rules file") || m.contains("metadata table") || m.contains("regular expression")
            });
            if is_config {
                EXIT_USAGE
            } else {
                EXIT_FAILURE
            }
        }
    }
}
