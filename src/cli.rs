//! Command-line interface (clap derive). Exit status: 0 all inputs read; 3 some inputs failed (the
//! tables are still written); 2 usage or configuration error; 1 any other failure.

use crate::tables::OutFormat;
use anyhow::Context;
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
    /// Train a model.
    #[command(subcommand)]
    Train(TrainCommand),
    /// Score a model on a gold file.
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Compare an analyze run's tables by group (author, publication, any metadata column) and period.
    Compare(CompareArgs),
    /// Keyword in context: every occurrence of a word, phrase or entity in an analyze run's texts.
    Kwic(KwicArgs),
    /// One self-contained HTML report (inline SVG charts, no network) of an analyze run.
    Report(ReportArgs),
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The output folder of `rhetor analyze`.
    pub results: PathBuf,
    /// The HTML file to write.
    #[arg(long, short, default_value = "report.html", value_name = "FILE.html")]
    pub out: PathBuf,
    /// The documents column to group by.
    #[arg(long, default_value = "author")]
    pub by: String,
    #[arg(long, value_enum, default_value = "year")]
    pub period: crate::compare::Period,
    /// How many of the most mentioned entities to chart.
    #[arg(long, default_value_t = 4)]
    pub top_entities: usize,
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// The output folder of `rhetor analyze`.
    pub results: PathBuf,
    /// The documents column to group by: author, publication or any metadata column.
    #[arg(long, default_value = "author")]
    pub by: String,
    #[arg(long, value_enum, default_value = "year")]
    pub period: crate::compare::Period,
    /// Output folder.
    #[arg(long, short, default_value = "compare", value_name = "DIR")]
    pub out: PathBuf,
    /// Entities and actors kept per group and period.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Keep documents whose metadata passes COLUMN OP VALUE (OP: = != >= <= > < ~); repeatable.
    #[arg(long = "filter", value_name = "CONDITION")]
    pub filters: Vec<crate::compare::Filter>,
    /// Keep only documents that mention this entity id (e.g. Q794); repeatable (any of them).
    #[arg(long = "entity", value_name = "ID")]
    pub entities: Vec<String>,
    /// Keyness: terms and entities used fewer times than this in a group are left out.
    #[arg(long, default_value_t = 5)]
    pub min_count: usize,
    /// Table formats, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "csv,parquet", value_name = "FORMATS")]
    pub format: Vec<OutFormat>,
}

#[derive(Args, Debug)]
pub struct KwicArgs {
    /// A word or phrase (case-insensitive; * matches any letters inside a word) or an entity id.
    pub query: String,
    /// The output folder of `rhetor analyze`.
    pub results: PathBuf,
    /// Words of context on each side.
    #[arg(long, default_value_t = 8)]
    pub window: usize,
    /// CSV file for the hits (default: RESULTS/kwic.csv).
    #[arg(long, value_name = "FILE.csv")]
    pub out: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum TrainCommand {
    /// Train a named-entity model (top encoder layers + word-shape features + head).
    Ner(TrainNerArgs),
    /// Train a stance model (top encoder layers reading target and text together + classifier).
    Stance(TrainStanceArgs),
    /// Train the recommendation classifier (logistic regression on the shared encoder's states).
    Recommend {
        /// Labelled sentences: `label<TAB>sentence[<TAB>source]` after a header line.
        #[arg(long, default_value = "data/recommend/sentences.tsv")]
        data: PathBuf,
        #[arg(long, default_value = "models/recommend")]
        out: PathBuf,
    },
}

#[derive(Args, Debug)]
pub struct TrainStanceArgs {
    /// SemEval-2016 folder (TARGET/train_text.txt ...): its train split trains, its val split
    /// decides early stopping.
    #[arg(long)]
    pub semeval: Option<PathBuf>,
    /// VAST-format CSV (Tweet, Target, Stance); every fifth row is kept aside for development.
    #[arg(long)]
    pub vast: Option<PathBuf>,
    /// Output folder for model.safetensors and config.json.
    #[arg(long, default_value = "models/stance")]
    pub out: PathBuf,
    #[arg(long, default_value_t = 8)]
    pub epochs: usize,
    /// Stop after this many epochs without a better development score.
    #[arg(long, default_value_t = 3)]
    pub patience: usize,
    /// Encoder layers trained (the ones below are frozen; keep NER's count to share its pass).
    #[arg(long, default_value_t = 2)]
    pub trained_layers: usize,
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 5e-5)]
    pub lr: f64,
    #[arg(long, default_value_t = 5e-4)]
    pub head_lr: f64,
    #[arg(long, default_value_t = 17)]
    pub seed: u64,
    /// Use at most N training examples (quick trials and tests).
    #[arg(long)]
    pub max_examples: Option<usize>,
    /// Average the weights of the best N epochs at the end, kept if they score better (1: off).
    #[arg(long, default_value_t = 2)]
    pub average_best: usize,
    /// Do not train: average these checkpoints (EPOCH=FILE.safetensors, of the run whose
    /// config.json is in --out) and keep the average if it scores better on the development data.
    #[arg(long, value_name = "EPOCH=FILE", num_args = 2..)]
    pub average_checkpoints: Vec<String>,
}

#[derive(Args, Debug)]
pub struct TrainNerArgs {
    /// Training files (token-per-line, BIO or IOB1); repeatable.
    #[arg(long, required = true, num_args = 1..)]
    pub train: Vec<PathBuf>,
    /// Development file, for early stopping and the scores in the model card.
    #[arg(long)]
    pub dev: PathBuf,
    /// Output folder for model.safetensors and config.json (e.g. models/ner-NAME).
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 8)]
    pub epochs: usize,
    /// Stop after this many epochs without a better dev F1.
    #[arg(long, default_value_t = 2)]
    pub patience: usize,
    /// Encoder layers trained (the ones below are frozen).
    #[arg(long, default_value_t = 2)]
    pub trained_layers: usize,
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 1e-4)]
    pub lr: f64,
    #[arg(long, default_value_t = 1e-3)]
    pub head_lr: f64,
    #[arg(long, default_value_t = 13)]
    pub seed: u64,
    /// Use only the first N sentences of the training and dev data (quick trials and tests).
    #[arg(long)]
    pub max_sentences: Option<usize>,
    /// Warm the learning rates up over this share of the first epoch, then decay them linearly to
    /// zero (default 0: constant rates).
    #[arg(long, default_value_t = 0.0)]
    pub warmup: f64,
    /// Store the weights in half precision (halves the file; inference still runs in f32).
    #[arg(long)]
    pub f16: bool,
}

#[derive(Subcommand, Debug)]
pub enum EvalCommand {
    /// Entity-level precision, recall and F1 (conlleval) of a NER model on a gold file.
    Ner {
        /// Gold file: token<TAB>tag or CoNLL `token POS chunk tag` lines, blank line between sentences.
        file: PathBuf,
        /// The model folder.
        #[arg(long, default_value = "models/ner-conll")]
        model: PathBuf,
        /// Print one JSON object on the last line.
        #[arg(long)]
        json: bool,
    },
    /// Stance scores of a stance model: per target, F_avg (SemEval) and macro F1 (VAST).
    Stance(EvalStanceArgs),
    /// Article text extracted from web pages against gold data, and pages per second.
    Extraction(EvalExtractionArgs),
}

#[derive(Args, Debug)]
pub struct EvalExtractionArgs {
    /// A snippets folder (expectations.jsonl + pages/NAME.html, as trafilatura's evaluation) or a
    /// benchmark folder (ground-truth.json mapping ids to {"articleBody": ...} + html/ID.html).
    pub dataset: PathBuf,
    /// Benchmark layout: compare n-grams of this many \w+ tokens (4 as the benchmarks; 1 for plain
    /// token scores).
    #[arg(long, default_value_t = 4)]
    pub ngram: usize,
    /// Timed passes over all pages (pages per second is over the median pass).
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Write each page's extracted text to DIR/ID.txt.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print one line per page (with the missed and leaked snippets).
    #[arg(long)]
    pub per_page: bool,
    /// Print one JSON object on the last line (with per-page scores).
    #[arg(long)]
    pub json: bool,
    /// Extra boilerplate rules, appended to the built-in ones (as for analyze); repeatable.
    #[arg(long, value_name = "FILE.toml")]
    pub rules: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct EvalStanceArgs {
    /// A folder in the SemEval-2016 layout (TARGET/SPLIT_text.txt, TARGET/SPLIT_labels.txt) or a
    /// VAST-format CSV file (Tweet, Target, Stance).
    pub path: PathBuf,
    /// Which split of a SemEval folder to score.
    #[arg(long, default_value = "val", value_parser = ["train", "val", "test"])]
    pub split: String,
    /// The model folder (default: models/stance).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Print one JSON object on the last line.
    #[arg(long)]
    pub json: bool,
    /// Also write every example's gold and predicted stance, with probabilities, to this CSV.
    #[arg(long, value_name = "FILE.csv")]
    pub predictions: Option<PathBuf>,
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
    /// Write the model card (README.md) of a trained NER or stance model (NER: scoring it on extra
    /// gold files).
    Card {
        /// The model folder.
        dir: PathBuf,
        /// Gold files to score and report (e.g. the training file, another domain's dev set).
        #[arg(long = "eval")]
        eval: Vec<PathBuf>,
    },
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
    /// Largest decompressed .gz input, and largest WARC record, in MB; past it the input (or
    /// record) is an error row.
    #[arg(long, value_name = "MB", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_input_mb: u64,
    /// Worker threads (default: all cores).
    #[arg(long, short, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// No progress bar and no summary on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Skip named entities and linking (no encoder needed; much faster).
    #[arg(long)]
    pub no_entities: bool,
    /// The NER model folder (default: models/ner-conll).
    #[arg(long, value_name = "DIR")]
    pub ner_model: Option<PathBuf>,
    /// Extra knowledge-base file (CSV, same columns as data/entities/entities.csv); repeatable.
    #[arg(long = "entities", value_name = "FILE.csv")]
    pub entity_files: Vec<PathBuf>,
    /// Skip stance detection.
    #[arg(long)]
    pub no_stance: bool,
    /// The stance model folder (default: models/stance).
    #[arg(long, value_name = "DIR")]
    pub stance_model: Option<PathBuf>,
    /// Extra stance targets (TOML, same format as data/targets.toml); repeatable.
    #[arg(long = "targets", value_name = "FILE.toml")]
    pub target_files: Vec<PathBuf>,
    /// Skip policy recommendations.
    #[arg(long)]
    pub no_recommendations: bool,
    /// The recommendation classifier folder (default: models/recommend).
    #[arg(long, value_name = "DIR")]
    pub recommend_model: Option<PathBuf>,
    /// Extra recommendation cues (TOML, same format as data/recommend/cues.toml); repeatable.
    #[arg(long = "cues", value_name = "FILE.toml")]
    pub cue_files: Vec<PathBuf>,
    /// Extra policy instruments (TOML, same format as data/recommend/instruments.toml); repeatable.
    #[arg(long = "instruments", value_name = "FILE.toml")]
    pub instrument_files: Vec<PathBuf>,
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
    /// Measure ingestion and segmentation only (no encoder).
    #[arg(long)]
    pub no_entities: bool,
    /// The NER model folder (default: models/ner-conll).
    #[arg(long, value_name = "DIR")]
    pub ner_model: Option<PathBuf>,
    /// Measure without the stance stage (entities and recommendations only).
    #[arg(long)]
    pub no_stance: bool,
    /// Read the corpus N times over in each run, to show that peak memory does not grow with the
    /// size of the corpus.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub copies: usize,
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
        Command::Train(TrainCommand::Ner(t)) => report(train_ner(t), "train ner"),
        Command::Eval(EvalCommand::Ner { file, model, json }) => report(eval_ner(&file, &model, json), "eval ner"),
        Command::Train(TrainCommand::Stance(t)) => report(train_stance(t), "train stance"),
        Command::Train(TrainCommand::Recommend { data, out }) => {
            report(train_recommend(&data, &out), "train recommend")
        }
        Command::Eval(EvalCommand::Stance(e)) => report(eval_stance(e), "eval stance"),
        Command::Eval(EvalCommand::Extraction(e)) => report(eval_extraction(e), "eval extraction"),
        Command::Compare(c) => report(compare(c), "compare"),
        Command::Kwic(k) => report(kwic(k), "kwic"),
        Command::Report(r) => report(
            crate::report::run(&crate::report::ReportConfig {
                results: r.results,
                out: r.out,
                by: r.by,
                period: r.period,
                top_entities: r.top_entities,
            })
            .map(|p| eprintln!("rhetor: report written to {}", p.display())),
            "report",
        ),
        Command::Bench(b) => match crate::bench::run(&crate::bench::BenchOptions {
            paths: b.paths,
            repeat: b.repeat as usize,
            jobs: b.jobs.map(usize::from).unwrap_or_else(default_jobs),
            json: b.json,
            entities: !b.no_entities,
            ner_model: b.ner_model.unwrap_or_else(crate::entities::default_ner_model_dir),
            copies: b.copies,
            stance_model: crate::stance::default_stance_model_dir(),
            stance: !b.no_stance,
        }) {
            Ok(()) => EXIT_OK,
            Err(e) => {
                eprintln!("rhetor bench: error: {e:#}");
                EXIT_FAILURE
            }
        },
    }
}

fn report(r: anyhow::Result<()>, what: &str) -> i32 {
    match r {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("rhetor {what}: error: {e:#}");
            EXIT_FAILURE
        }
    }
}

fn train_ner(t: TrainNerArgs) -> anyhow::Result<()> {
    use crate::entities::ner;
    let base = crate::model::MINILM;
    let enc = crate::model::Encoder::load_packaged(&base)?;
    let hyper = ner::NerHyper {
        trained_layers: t.trained_layers,
        epochs: t.epochs,
        patience: t.patience,
        batch_size: t.batch_size,
        lr_layers: t.lr,
        lr_head: t.head_lr,
        seed: t.seed,
        max_sentences: t.max_sentences,
        warmup: t.warmup,
        store_f16: t.f16,
        ..Default::default()
    };
    let config = ner::train(&enc, &base.locate()?, &t.train, &t.dev, &t.out, hyper)?;
    ner::write_model_card(&t.out, &enc, &[])?;
    let f1 = config.dev_scores.as_ref().map(|s| s.overall.f1).unwrap_or(0.0);
    println!(
        "trained {} in {:.0} s: best dev F1 {f1:.4} at epoch {} of {}",
        t.out.display(),
        config.train_seconds,
        config.best_epoch,
        config.epochs_run
    );
    Ok(())
}

fn train_stance(t: TrainStanceArgs) -> anyhow::Result<()> {
    use crate::stance::model;
    let base = crate::model::MINILM;
    let enc = crate::model::Encoder::load_packaged(&base)?;
    let hyper = model::StanceHyper {
        trained_layers: t.trained_layers,
        epochs: t.epochs,
        patience: t.patience,
        batch_size: t.batch_size,
        lr_layers: t.lr,
        lr_head: t.head_lr,
        seed: t.seed,
        max_examples: t.max_examples,
        average_best: t.average_best,
        ..Default::default()
    };
    if !t.average_checkpoints.is_empty() {
        let checkpoints = t
            .average_checkpoints
            .iter()
            .map(|c| {
                let (e, f) = c.split_once('=').with_context(|| format!("{c:?} is not EPOCH=FILE"))?;
                Ok((
                    e.parse::<usize>()
                        .with_context(|| format!("{e:?} is not an epoch number"))?,
                    std::path::PathBuf::from(f),
                ))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let config = model::average_checkpoints(&enc, t.semeval.as_deref(), t.vast.as_deref(), &t.out, &checkpoints)?;
        model::write_model_card(&t.out)?;
        println!(
            "{}: averaged epochs {:?}; SemEval dev F_avg {}",
            t.out.display(),
            config.averaged_epochs,
            config
                .dev_semeval
                .as_ref()
                .map_or("-".into(), |s| format!("{:.4}", s.overall.f_avg))
        );
        return Ok(());
    }
    let config = model::train(
        &enc,
        &base.locate()?,
        t.semeval.as_deref(),
        t.vast.as_deref(),
        &t.out,
        hyper,
    )?;
    model::write_model_card(&t.out)?;
    println!(
        "trained {} in {:.0} s: best at epoch {} of {}; SemEval dev F_avg {}, VAST dev macro F1 {}",
        t.out.display(),
        config.train_seconds,
        config.best_epoch,
        config.epochs_run,
        config
            .dev_semeval
            .as_ref()
            .map_or("-".into(), |s| format!("{:.4}", s.overall.f_avg)),
        config
            .dev_vast
            .as_ref()
            .map_or("-".into(), |s| format!("{:.4}", s.overall.macro_f1)),
    );
    Ok(())
}

fn compare(a: CompareArgs) -> anyhow::Result<()> {
    let mut formats = a.format.clone();
    formats.sort();
    formats.dedup();
    let s = crate::compare::run(&crate::compare::CompareConfig {
        results: a.results,
        by: a.by,
        period: a.period,
        out: a.out.clone(),
        top: a.top,
        filters: a.filters,
        entities: a.entities,
        min_count: a.min_count,
        formats,
    })?;
    eprintln!(
        "rhetor: compared {} documents in {} groups; {} files in {}",
        s.documents,
        s.groups,
        s.outputs.len(),
        a.out.display()
    );
    Ok(())
}

fn kwic(a: KwicArgs) -> anyhow::Result<()> {
    let hits = crate::kwic::search(&a.results, &a.query, a.window)?;
    crate::kwic::print(&hits, 120);
    let out = a.out.unwrap_or_else(|| a.results.join("kwic.csv"));
    let mut df = crate::kwic::frame(&hits)?;
    crate::tables::write_frame(&mut df, &out, crate::tables::OutFormat::Csv, &[])
        .with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!(
        "rhetor: {} hits of {:?}; written to {}",
        hits.len(),
        a.query,
        out.display()
    );
    Ok(())
}

fn train_recommend(data: &std::path::Path, out: &std::path::Path) -> anyhow::Result<()> {
    let enc = crate::model::Encoder::load_packaged(&crate::model::MINILM)?;
    // Pool the states of NER's frozen layers, so the classifier shares NER's encoder pass.
    let ner = crate::entities::ner::NerModel::load(&crate::entities::default_ner_model_dir(), &enc)?;
    let c = crate::recommend::classifier::train(&enc, ner.config.frozen_layers, data, out)?;
    println!(
        "trained {}: {} sentences ({} recommendations); 5-fold CV accuracy {:.4}, precision {:.4}, recall {:.4}, F1 {:.4}",
        out.display(),
        c.n_examples,
        c.n_positive,
        c.cv_accuracy,
        c.cv_precision,
        c.cv_recall,
        c.cv_f1
    );
    Ok(())
}

fn eval_extraction(e: EvalExtractionArgs) -> anyhow::Result<()> {
    let rules = crate::corpus::rules::Rules::load(&e.rules, false)?;
    let dir = crate::eval_extraction::dataset_dir(&e.dataset);
    let s = crate::eval_extraction::evaluate(&dir, &rules, e.ngram.max(1), e.repeat, e.out.as_deref())?;
    if e.per_page {
        println!("{:50} {:>6} {:>6} {:>6} {:>7}", "page", "P", "R", "F1", "chars");
        for p in &s.per_page {
            println!(
                "{:50} {:6.3} {:6.3} {:6.3} {:7}",
                p.id.chars().take(50).collect::<String>(),
                p.precision,
                p.recall,
                p.f1,
                p.chars
            );
            for m in &p.missed {
                println!("    missed: {:?}", m.chars().take(100).collect::<String>());
            }
            for l in &p.leaked {
                println!("    leaked: {:?}", l.chars().take(100).collect::<String>());
            }
        }
    }
    let what = match s.layout {
        crate::eval_extraction::Layout::Snippets => "snippets, micro-averaged".to_string(),
        crate::eval_extraction::Layout::Benchmark => format!("{}-gram shingles, mean over pages", s.ngram.unwrap_or(4)),
    };
    println!(
        "{}: {} pages ({what}); precision {:.3} recall {:.3} F1 {:.3}; {} pages without text; {:.1} pages/s (median of {} passes, one thread)",
        dir.display(),
        s.pages,
        s.precision,
        s.recall,
        s.f1,
        s.pages_without_text,
        s.pages_per_second,
        s.pass_seconds.len()
    );
    if let Some(m) = &s.metadata {
        println!(
            "metadata matching the gold: title {:.3} of {}, authors {:.3} of {}, date {:.3} of {}",
            m.title.0, m.title.1, m.author.0, m.author.1, m.date.0, m.date.1
        );
    }
    if e.json {
        println!("{}", serde_json::to_string(&s)?);
    }
    Ok(())
}

fn eval_stance(e: EvalStanceArgs) -> anyhow::Result<()> {
    use crate::stance::{data, model};
    let (layout, gold) = data::read_any(&e.path, &e.split)?;
    if gold.is_empty() {
        anyhow::bail!("{} holds no examples", e.path.display());
    }
    let enc = crate::model::Encoder::load_packaged(&crate::model::MINILM)?;
    let dir = e.model.unwrap_or_else(crate::stance::default_stance_model_dir);
    let m = model::StanceModel::load(&dir, &enc)?;
    let probs = model::predict_gold_probs(&m, &enc, &gold)?;
    let pred: Vec<data::Stance> = probs.iter().map(model::argmax).collect();
    let ev = data::evaluate(&gold, &pred);
    if let Some(path) = &e.predictions {
        let mut w = csv::Writer::from_path(path).with_context(|| format!("cannot write {}", path.display()))?;
        w.write_record([
            "target",
            "text",
            "gold",
            "predicted",
            "p_against",
            "p_favor",
            "p_neutral",
        ])?;
        for ((g, p), pr) in gold.iter().zip(&pred).zip(&probs) {
            w.write_record([
                g.target.as_str(),
                g.text.as_str(),
                g.stance.as_str(),
                p.as_str(),
                &format!("{:.4}", pr[0]),
                &format!("{:.4}", pr[1]),
                &format!("{:.4}", pr[2]),
            ])?;
        }
        w.flush()?;
    }
    println!(
        "{}: {} examples, {} targets",
        e.path.display(),
        gold.len(),
        ev.per_target.len()
    );
    println!(
        "{:<36} {:>5} {:>8} {:>8} {:>10} {:>10} {:>10}",
        "target", "n", "f_avg", "macro_f1", "f1_favor", "f1_against", "f1_neutral"
    );
    let row = |name: &str, s: &data::Scores| {
        let name: String = name.chars().take(36).collect();
        println!(
            "{name:<36} {:>5} {:>8.4} {:>8.4} {:>10.4} {:>10.4} {:>10.4}",
            s.n, s.f_avg, s.macro_f1, s.favor.f1, s.against.f1, s.neutral.f1
        );
    };
    for (t, s) in &ev.per_target {
        row(t, s);
    }
    row("(all targets together)", &ev.overall);
    if e.json {
        let mut j = serde_json::json!({
            "path": e.path.display().to_string(),
            "layout": match layout { data::Layout::SemEval => "semeval", data::Layout::Vast => "vast" },
            "n": gold.len(),
            "model": dir.display().to_string(),
            "model_sha256": m.sha256,
            "accuracy": ev.overall.accuracy,
            "per_target": ev.per_target.iter().map(|(t, s)| (t.clone(), serde_json::json!({
                "n": s.n, "f_avg": s.f_avg, "macro_f1": s.macro_f1,
            }))).collect::<serde_json::Map<_, _>>(),
        });
        match layout {
            data::Layout::SemEval => j["f_avg"] = serde_json::json!(ev.overall.f_avg),
            data::Layout::Vast => j["macro_f1"] = serde_json::json!(ev.overall.macro_f1),
        }
        println!("{j}");
    }
    Ok(())
}

fn eval_ner(file: &std::path::Path, model_dir: &std::path::Path, json: bool) -> anyhow::Result<()> {
    use crate::entities::{conll, ner};
    let started = std::time::Instant::now();
    let gold = conll::read_file(file)?;
    let enc = crate::model::Encoder::load_packaged(&crate::model::MINILM)?;
    let model = ner::NerModel::load(model_dir, &enc)?;
    let s = ner::evaluate(&model, &enc, &gold)?;
    println!("{}: {} sentences, {} tokens", file.display(), s.sentences, s.tokens);
    println!(
        "{:<8} {:>9} {:>9} {:>9} {:>7} {:>9} {:>7}",
        "type", "precision", "recall", "f1", "gold", "predicted", "correct"
    );
    for (label, p) in s
        .per_type
        .iter()
        .map(|(l, p)| (l.as_str(), p))
        .chain(std::iter::once(("overall", &s.overall)))
    {
        println!(
            "{label:<8} {:>9.4} {:>9.4} {:>9.4} {:>7} {:>9} {:>7}",
            p.precision, p.recall, p.f1, p.gold, p.predicted, p.correct
        );
    }
    if json {
        let per_type: serde_json::Map<String, serde_json::Value> = s
            .per_type
            .iter()
            .map(|(l, p)| {
                (
                    l.clone(),
                    serde_json::json!({"precision": p.precision, "recall": p.recall, "f1": p.f1}),
                )
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "precision": s.overall.precision, "recall": s.overall.recall, "f1": s.overall.f1,
                "per_type": per_type, "sentences": s.sentences, "tokens": s.tokens,
                "seconds": started.elapsed().as_secs_f64(),
            })
        );
    }
    Ok(())
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
        ModelsCommand::Card { dir, eval } => {
            // A stance model's config names its classes; NER's names its tags.
            let is_stance = std::fs::read_to_string(dir.join("config.json")).is_ok_and(|c| c.contains("\"classes\""));
            let written = if is_stance {
                crate::stance::model::write_model_card(&dir).map(|_| ())
            } else {
                crate::model::Encoder::load_packaged(&crate::model::MINILM)
                    .and_then(|enc| crate::entities::ner::write_model_card(&dir, &enc, &eval).map(|_| ()))
            };
            report(
                written.map(|_| eprintln!("rhetor: wrote {}", dir.join("README.md").display())),
                "models card",
            )
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
        entities: !a.no_entities,
        ner_model: a.ner_model.unwrap_or_else(crate::entities::default_ner_model_dir),
        entity_files: a.entity_files,
        stance: !a.no_stance && !a.no_entities,
        stance_model: a.stance_model.unwrap_or_else(crate::stance::default_stance_model_dir),
        target_files: a.target_files,
        recommendations: !a.no_recommendations,
        recommend_model: a
            .recommend_model
            .unwrap_or_else(crate::recommend::default_classifier_dir),
        cue_files: a.cue_files,
        instrument_files: a.instrument_files,
        limits: crate::corpus::InputLimits {
            max_decompressed: a.max_input_mb << 20,
        },
    };
    // Configuration files given on the command line are usage errors when unreadable.
    for p in config
        .rules
        .iter()
        .chain(config.metadata.iter())
        .chain(config.entity_files.iter())
        .chain(config.target_files.iter())
        .chain(config.cue_files.iter())
        .chain(config.instrument_files.iter())
    {
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
            let is_config = crate::errors::is_config_error(&e);
            if is_config {
                EXIT_USAGE
            } else {
                EXIT_FAILURE
            }
        }
    }
}
