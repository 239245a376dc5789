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
    /// How the encoder's inference layers multiply: int8 (weights quantised per output channel
    /// when a model loads, activations per row; the default, except for `train`) or fp32 (the
    /// default for `train`, whose frozen layers feed training). See README, Performance.
    #[arg(long, global = true, value_enum)]
    pub precision: Option<crate::model::fast::Precision>,
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
    /// A stratified random sample of sentences or documents to hand-code (a coder's sheet, and
    /// rhetor's own labels in a key file beside it).
    Sample(SampleArgs),
}

#[derive(Args, Debug)]
pub struct SampleArgs {
    /// The output folder of `rhetor analyze`.
    pub results: PathBuf,
    /// What a unit to code is.
    #[arg(long, value_enum, default_value = "sentence")]
    pub unit: crate::sample::Unit,
    /// Units in the sample (all of them when there are fewer).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
    pub n: u64,
    /// Documents columns whose combinations are the strata (`period`: the year of the date);
    /// each stratum gets its share of the sample, and at least one unit while N allows.
    #[arg(long, value_delimiter = ',', default_value = "author,period", value_name = "COLUMNS")]
    pub stratify: Vec<String>,
    /// Seed of the draw (the same seed gives the same sample).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The coder's sheet (CSV); rhetor's labels go to NAME.key.csv beside it.
    #[arg(long, short, default_value = "sample.csv", value_name = "FILE.csv")]
    pub out: PathBuf,
    /// Also put rhetor's labels in the sheet (`rhetor_*` columns), for checking rather than coding.
    #[arg(long)]
    pub show_labels: bool,
    #[command(flatten)]
    pub csv: CsvArgs,
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
    /// Points resting on fewer documents than this are drawn hollow.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub min_docs: usize,
    /// A section contrasting two groups (values of --by), or with `--by period` two periods.
    #[arg(long, num_args = 2, value_names = ["A", "B"])]
    pub contrast: Option<Vec<String>>,
    #[command(flatten)]
    pub uncertainty: UncertaintyArgs,
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
    #[command(flatten)]
    pub csv: CsvArgs,
    #[command(flatten)]
    pub uncertainty: UncertaintyArgs,
    /// Only documents dated on or after DATE (ISO, any precision: 2010, 2010-06, 2010-06-15);
    /// undated documents are left out when a bound is given.
    #[arg(long, value_name = "DATE", value_parser = iso_date)]
    pub since: Option<String>,
    /// Only documents dated on or before DATE (ISO, any precision; `--until 2015` keeps all of 2015).
    #[arg(long, value_name = "DATE", value_parser = iso_date)]
    pub until: Option<String>,
    /// Rolling windows of N periods (`--period year --rolling 3`: each row covers the three years
    /// ending in its period; a document counts in every window it falls in).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub rolling: u16,
    /// Contrast two groups (values of --by), or with `--by period` two periods: the difference of
    /// every measure, its interval, a permutation p-value and a Benjamini-Hochberg q-value, in a
    /// `contrasts` table.
    #[arg(long, num_args = 2, value_names = ["A", "B"])]
    pub contrast: Option<Vec<String>>,
}

/// How sure the numbers are: bootstrap intervals and permutation tests over documents (compare,
/// report).
#[derive(Args, Debug, Clone)]
pub struct UncertaintyArgs {
    /// Bootstrap resamples of the documents for every interval (0: no intervals).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub bootstrap: usize,
    /// Level of the intervals (`<measure>_ci_low`, `<measure>_ci_high`).
    #[arg(long = "ci", value_name = "LEVEL", default_value_t = 0.95, value_parser = ci_level)]
    pub ci: f64,
    /// Permutations of the documents' labels for each contrast's p-value.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub permutations: u64,
    /// Seed of the resamples and permutations (the same seed gives byte-identical tables).
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,
}

impl UncertaintyArgs {
    pub fn settings(&self) -> crate::compare::Uncertainty {
        crate::compare::Uncertainty {
            bootstrap: self.bootstrap,
            permutations: self.permutations as usize,
            level: self.ci,
            seed: self.seed,
        }
    }
}

fn ci_level(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if v > 0.0 && v < 1.0 {
        Ok(v)
    } else {
        Err(format!("the level must be between 0 and 1 (e.g. 0.95), not {s}"))
    }
}

fn iso_date(s: &str) -> Result<String, String> {
    let ok = regex::Regex::new(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")
        .expect("valid pattern")
        .is_match(s);
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!("{s:?} is not an ISO date (YYYY, YYYY-MM or YYYY-MM-DD)"))
    }
}

/// How CSV cells are written (analyze, compare, kwic).
#[derive(Args, Debug)]
pub struct CsvArgs {
    /// Write CSV cells exactly as the text has them. By default a text cell that begins with =, +,
    /// -, @, a tab or a carriage return and is not a number gets a leading ' so that spreadsheets
    /// show it instead of running it as a formula (Parquet and JSONL always keep the raw text).
    #[arg(long)]
    pub csv_raw: bool,
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
    #[command(flatten)]
    pub csv: CsvArgs,
}

#[derive(Subcommand, Debug)]
pub enum TrainCommand {
    /// Train a named-entity model (top encoder layers + word-shape features + head).
    Ner(TrainNerArgs),
    /// Train a stance model (top encoder layers reading target and text together + classifier).
    Stance(TrainStanceArgs),
    /// Train the recommendation classifier on the labelled op-eds and speeches (folds by article
    /// for the cross-validated scores in its card).
    Recommend {
        /// Labelled op-ed sentences (every sentence of each article, in order).
        #[arg(long, default_value = "data/recommend/opeds.tsv", value_name = "FILE.tsv")]
        opeds: PathBuf,
        /// Labelled speech sentences: `label<TAB>sentence<TAB>source` after a header line.
        #[arg(long, default_value = "data/recommend/sentences.tsv", value_name = "FILE.tsv")]
        data: PathBuf,
        /// Transcripts the speech sentences come from (their context).
        #[arg(long, default_value = "data/corpus/sotu", value_name = "DIR")]
        speech_dir: PathBuf,
        /// The NER model (its mentions give actors their entity ids).
        #[arg(long, value_name = "DIR")]
        ner_model: Option<PathBuf>,
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
    /// More training data: a CSV with text, target and stance (favor, against, neutral)
    /// columns; repeatable. Development stays SemEval's val split and the VAST rows kept aside.
    #[arg(long, value_name = "FILE.csv")]
    pub extra: Vec<PathBuf>,
    /// Rows taken from each --extra file at most (evenly spaced over the file).
    #[arg(long, default_value_t = 4000, value_name = "N")]
    pub extra_max: usize,
    /// Train on this NER model's shared states (the ones `analyze` gives the stance stage when
    /// it runs with that NER model); without it, on the base encoder's frozen layers.
    #[arg(long, value_name = "DIR")]
    pub ner_model: Option<PathBuf>,
    /// Document-level gold (article, target, stance; articles.jsonl beside it): after the
    /// sentence model, train the document-level decision on it (aggregate.json in --out).
    #[arg(long, value_name = "GOLD.csv")]
    pub documents: Option<PathBuf>,
    /// Only train the document-level decision, for the stance model already in --out.
    #[arg(long, requires = "documents")]
    pub aggregate_only: bool,
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
    /// Start from a trained NER model's weights (continued training on more or other data).
    #[arg(long, value_name = "DIR")]
    pub init_from: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum EvalCommand {
    /// Entity-level precision, recall and F1 (conlleval) of a NER model on a gold file; on a
    /// JSONL gold set with knowledge-base links (data/ner/commentary/dev.jsonl), also linking accuracy.
    Ner {
        /// Gold file: token<TAB>tag or CoNLL `token POS chunk tag` lines, blank line between
        /// sentences; or JSONL, one sentence per line with character-offset entities and `kb` links.
        file: PathBuf,
        /// The model folder.
        #[arg(long, default_value = "models/ner-conll")]
        model: PathBuf,
        /// Print one JSON object on the last line.
        #[arg(long)]
        json: bool,
        /// JSONL sets: also print the first N errors (missed, spurious, mislinked mentions).
        #[arg(long, default_value_t = 0, value_name = "N")]
        errors: usize,
    },
    /// Stance scores of a stance model: per target, F_avg (SemEval) and macro F1 (VAST).
    Stance(EvalStanceArgs),
    /// Article text extracted from web pages against gold data, and pages per second.
    Extraction(EvalExtractionArgs),
    /// Sentence-level precision, recall and F1 of the recommendation stage on hand-labelled
    /// op-eds and speeches (data/recommend/), by genre and by the gold kinds of the guide.
    Recommend(EvalRecommendArgs),
}

#[derive(Args, Debug)]
pub struct EvalRecommendArgs {
    /// Labelled op-ed sentences (every sentence of each article, in order).
    #[arg(long, default_value = "data/recommend/opeds.tsv", value_name = "FILE.tsv")]
    pub opeds: PathBuf,
    /// Labelled speech sentences, found in their transcripts in --speech-dir.
    #[arg(long, default_value = "data/recommend/sentences.tsv", value_name = "FILE.tsv")]
    pub speeches: PathBuf,
    #[arg(long, default_value = "data/corpus/sotu", value_name = "DIR")]
    pub speech_dir: PathBuf,
    /// The recommendation classifier folder.
    #[arg(long, default_value = "models/recommend", value_name = "DIR")]
    pub recommend_model: PathBuf,
    /// The NER model folder (its encoder pass gives the classifier its states).
    #[arg(long, value_name = "DIR")]
    pub ner_model: Option<PathBuf>,
    /// Rules only: no encoder, no classifier.
    #[arg(long)]
    pub no_entities: bool,
    /// Print one JSON object on the last line.
    #[arg(long)]
    pub json: bool,
    /// Also write every labelled sentence with its gold label and rhetor's decision to this TSV.
    #[arg(long, value_name = "FILE.tsv")]
    pub predictions: Option<PathBuf>,
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
    /// A folder in the SemEval-2016 layout (TARGET/SPLIT_text.txt, TARGET/SPLIT_labels.txt), a
    /// VAST-format CSV file (Tweet, Target, Stance), or document-level gold (a CSV with article,
    /// target and stance columns, beside an articles.jsonl of the articles' sentences).
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
    /// The NER model whose shared states the stance model reads (default: models/ner-conll).
    #[arg(long, value_name = "DIR")]
    pub ner_model: Option<PathBuf>,
    /// Document-level gold: extra stance targets (default: data/stance/commentary-targets.toml).
    #[arg(long, value_name = "FILE.toml")]
    pub targets: Vec<PathBuf>,
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
    #[command(flatten)]
    pub csv: CsvArgs,
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
    /// Longest clean text of one document, in characters; a longer document is an error row
    /// (nothing is truncated).
    #[arg(long, value_name = "N", default_value_t = 20_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_document_chars: u64,
    /// Longest line of a text, Markdown or JSONL file, and longest CSV record, in characters;
    /// past it the file (text, Markdown) or the record (JSONL, CSV) is an error row. HTML pages
    /// are exempt (minified pages are one line).
    #[arg(long, value_name = "N", default_value_t = 5_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_line_chars: u64,
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
    use crate::model::fast::Precision;
    let training = matches!(cli.command, Command::Train(_));
    crate::model::fast::set_precision(cli.precision.unwrap_or(if training {
        Precision::Fp32
    } else {
        Precision::Int8
    }));
    match cli.command {
        Command::Analyze(a) => analyze(a, args),
        Command::Models(m) => models(m),
        Command::Train(TrainCommand::Ner(t)) => report(train_ner(t), "train ner"),
        Command::Eval(EvalCommand::Ner {
            file,
            model,
            json,
            errors,
        }) => report(eval_ner(&file, &model, json, errors), "eval ner"),
        Command::Train(TrainCommand::Stance(t)) => report(train_stance(t), "train stance"),
        Command::Train(TrainCommand::Recommend {
            opeds,
            data,
            speech_dir,
            ner_model,
            out,
        }) => report(
            train_recommend(&opeds, &data, &speech_dir, ner_model.as_deref(), &out),
            "train recommend",
        ),
        Command::Eval(EvalCommand::Stance(e)) => report(eval_stance(e), "eval stance"),
        Command::Eval(EvalCommand::Extraction(e)) => report(eval_extraction(e), "eval extraction"),
        Command::Eval(EvalCommand::Recommend(e)) => report(eval_recommend(e), "eval recommend"),
        Command::Compare(c) => report(compare(c), "compare"),
        Command::Kwic(k) => report(kwic(k), "kwic"),
        Command::Sample(a) => report(
            crate::sample::run(&crate::sample::SampleConfig {
                results: a.results,
                unit: a.unit,
                n: a.n as usize,
                stratify: a.stratify,
                seed: a.seed,
                out: a.out,
                show_labels: a.show_labels,
                csv_raw: a.csv.csv_raw,
            })
            .map(|s| {
                eprintln!(
                    "rhetor: {} units from {} strata; the coder's sheet is {}, rhetor's labels are in {}",
                    s.units,
                    s.strata,
                    s.sheet.display(),
                    s.key.display()
                )
            }),
            "sample",
        ),
        Command::Report(r) => report(
            crate::report::run(&crate::report::ReportConfig {
                results: r.results,
                out: r.out,
                by: r.by,
                period: r.period,
                top_entities: r.top_entities,
                min_docs: r.min_docs,
                contrast: r.contrast.map(|v| (v[0].clone(), v[1].clone())),
                uncertainty: r.uncertainty.settings(),
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
        init_from: t.init_from.as_ref().map(|p| p.display().to_string()),
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

/// The shared states a model needs: `base:N` (the base encoder's bottom N layers) or a NER model's
/// own (`ner:...`, from `ner_dir`, else the default NER model), checked against what it needs.
fn states_for(
    needed: &str,
    ner_dir: Option<&std::path::Path>,
    enc: std::sync::Arc<crate::model::Encoder>,
) -> anyhow::Result<std::sync::Arc<dyn crate::model::encoder::StateSource>> {
    use crate::model::encoder::StateSource;
    if let Some(n) = needed.strip_prefix("base:") {
        let layers = n
            .parse()
            .with_context(|| format!("{needed:?} is not a states source"))?;
        return Ok(std::sync::Arc::new(crate::model::encoder::BaseStates {
            encoder: enc,
            layers,
        }));
    }
    let dir = ner_dir
        .map(PathBuf::from)
        .unwrap_or_else(crate::entities::default_ner_model_dir);
    let ner = crate::entities::ner::NerModel::load(&dir, &enc)?;
    let source = crate::entities::ner::NerStates {
        encoder: enc,
        ner: std::sync::Arc::new(ner),
    };
    if source.id() != needed {
        anyhow::bail!(
            "the model reads the shared states {needed}, but the NER model in {} gives {} (pass the NER model it was trained with: --ner-model)",
            dir.display(),
            source.id()
        );
    }
    Ok(std::sync::Arc::new(source))
}

/// The shared states to train a model on: the NER model's (when given and it trains its own
/// lower layers), else the base encoder's bottom `layers`.
fn training_states(
    ner_dir: Option<&std::path::Path>,
    layers: usize,
    enc: std::sync::Arc<crate::model::Encoder>,
) -> anyhow::Result<std::sync::Arc<dyn crate::model::encoder::StateSource>> {
    match ner_dir {
        Some(dir) => {
            let ner = crate::entities::ner::NerModel::load(dir, &enc)?;
            Ok(std::sync::Arc::new(crate::entities::ner::NerStates {
                encoder: enc,
                ner: std::sync::Arc::new(ner),
            }))
        }
        None => Ok(std::sync::Arc::new(crate::model::encoder::BaseStates {
            encoder: enc,
            layers,
        })),
    }
}

/// The policy targets of the labelled op-eds (`data/stance/commentary-targets.toml`), when the
/// file is there (run from the repository).
fn commentary_targets() -> Vec<PathBuf> {
    [PathBuf::from("data/stance/commentary-targets.toml")]
        .into_iter()
        .filter(|p| p.is_file())
        .collect()
}

/// Trains the document-level decision of the stance model in `model_dir` on labelled op-eds.
fn train_stance_aggregate(
    model_dir: &std::path::Path,
    gold_file: &std::path::Path,
    ner_model: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    use crate::stance::{aggregate, devset};
    let gold = devset::read_gold(gold_file)?;
    let mut docs = devset::read_articles(&gold_file.with_file_name("articles.jsonl"))?;
    let _ = std::fs::remove_file(model_dir.join("aggregate.json"));
    let targets = commentary_targets();
    let config = crate::analyze::AnalyzeConfig {
        ner_model: ner_model
            .map(PathBuf::from)
            .unwrap_or_else(crate::entities::default_ner_model_dir),
        stance_model: model_dir.to_path_buf(),
        target_files: targets,
        ..crate::analyze::AnalyzeConfig::pipeline_only()
    };
    let (pipeline, _) = crate::analyze::build_pipeline(&config)?;
    use rayon::prelude::*;
    let errors: Vec<_> = docs.par_iter_mut().flat_map(|d| pipeline.run(d)).collect();
    if let Some(e) = errors.first() {
        anyhow::bail!("{}", e.message);
    }
    let a = aggregate::train(&gold, &docs, &gold_file.display().to_string())?;
    std::fs::write(
        model_dir.join("aggregate.json"),
        serde_json::to_string_pretty(&a)? + "\n",
    )?;
    println!(
        "document-level decision of {}: {} rows of {} articles; cross-validated by article macro F1 {:.4} (F1 against {:.3}, favor {:.3}, neutral {:.3}), accuracy {:.4}",
        model_dir.display(),
        a.n_rows,
        a.n_documents,
        a.cv_macro_f1,
        a.cv_f1[0],
        a.cv_f1[1],
        a.cv_f1[2],
        a.cv_accuracy
    );
    Ok(())
}

fn train_stance(t: TrainStanceArgs) -> anyhow::Result<()> {
    use crate::stance::model;
    if t.aggregate_only {
        let gold = t.documents.as_deref().expect("clap requires --documents");
        return train_stance_aggregate(&t.out, gold, t.ner_model.as_deref());
    }
    let base = crate::model::MINILM;
    let enc = std::sync::Arc::new(crate::model::Encoder::load_packaged(&base)?);
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
        let config: model::StanceConfig = serde_json::from_slice(&std::fs::read(t.out.join("config.json"))?)?;
        let needed = config
            .states_source
            .clone()
            .unwrap_or_else(|| format!("base:{}", config.frozen_layers));
        let source = states_for(&needed, t.ner_model.as_deref(), enc)?;
        let config = model::average_checkpoints(
            source.as_ref(),
            t.semeval.as_deref(),
            t.vast.as_deref(),
            &t.out,
            &checkpoints,
        )?;
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
    let layers = enc.bert.config.num_hidden_layers - t.trained_layers.min(enc.bert.config.num_hidden_layers);
    let source = training_states(t.ner_model.as_deref(), layers, enc)?;
    let config = model::train(
        source.as_ref(),
        &base.locate()?,
        t.semeval.as_deref(),
        t.vast.as_deref(),
        &t.extra.iter().map(|p| (p.clone(), t.extra_max)).collect::<Vec<_>>(),
        &t.out,
        hyper,
    )?;
    if let Some(gold) = &t.documents {
        train_stance_aggregate(&t.out, gold, t.ner_model.as_deref())?;
    }
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
        csv_raw: a.csv.csv_raw,
        since: a.since,
        until: a.until,
        rolling: a.rolling as usize,
        contrast: a.contrast.map(|v| (v[0].clone(), v[1].clone())),
        uncertainty: a.uncertainty.settings(),
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
    crate::tables::write_frame(&mut df, &out, crate::tables::OutFormat::Csv, &[], a.csv.csv_raw)
        .with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!(
        "rhetor: {} hits of {:?}; written to {}",
        hits.len(),
        a.query,
        out.display()
    );
    Ok(())
}

fn train_recommend(
    opeds: &std::path::Path,
    speeches: &std::path::Path,
    speech_dir: &std::path::Path,
    ner_model: Option<&std::path::Path>,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    use crate::pipeline::Component;
    use crate::recommend::{classifier, devset, lexicon, rules};
    use rayon::prelude::*;
    use std::sync::Arc;
    let set = classifier::labelled_sets(opeds, speeches)?;
    let enc = Arc::new(crate::model::Encoder::load_packaged(&crate::model::MINILM)?);
    let ner_dir = ner_model
        .map(PathBuf::from)
        .unwrap_or_else(crate::entities::default_ner_model_dir);
    let ner = Arc::new(crate::entities::ner::NerModel::load(&ner_dir, &enc)?);
    // The model reads the states NER's pass shares, and trains the layers above them.
    let layers = ner.config.shared();
    let recognizer = crate::entities::EntityRecognizer::new(
        enc.clone(),
        ner,
        Arc::new(crate::entities::kb::KnowledgeBase::load(&[], false)?),
    );
    let source: Arc<dyn crate::model::encoder::StateSource> = recognizer.shared.clone();
    let lex = lexicon::Lexicon::load(&[], &[])?;
    let (mut docs, unmatched) =
        devset::documents(&set, Some(speech_dir), &|d| crate::text::SentenceSegmenter.process(d))?;
    if !unmatched.is_empty() {
        eprintln!(
            "rhetor: {} labelled sentences were not found in their documents and are left out",
            unmatched.len()
        );
    }
    let bar = indicatif::ProgressBar::new(docs.len() as u64);
    bar.set_message("reading the labelled documents");
    let per_doc: Vec<Vec<classifier::Example>> = docs
        .par_iter_mut()
        .map(|d| -> anyhow::Result<Vec<classifier::Example>> {
            crate::text::WordTokenizer.process(&mut d.doc)?;
            recognizer.process(&mut d.doc)?;
            let states = d.doc.states.take();
            let token_texts = d.doc.token_texts();
            let found = rules::find(&d.doc, &token_texts, &lex);
            let (inputs, _) =
                crate::recommend::candidate_inputs(&d.doc, &token_texts, &found, source.as_ref(), states)?;
            bar.inc(1);
            Ok(d.labelled
                .iter()
                .map(|&(k, i)| classifier::Example {
                    genre: set[i].genre,
                    article: set[i].article.clone(),
                    label: set[i].label,
                    input: inputs
                        .get(&k)
                        .filter(|_| found.iter().any(|r| r.sent_id == k && r.speaker == "author"))
                        .cloned(),
                })
                .collect())
        })
        .collect::<anyhow::Result<_>>()?;
    bar.finish_and_clear();
    let examples: Vec<classifier::Example> = per_doc.into_iter().flatten().collect();
    let hyper = crate::recommend::model::RecHyper::default();
    let c = classifier::train(
        &examples,
        source.as_ref(),
        &crate::model::MINILM.locate()?.join("model.safetensors"),
        layers,
        &hyper,
        &[opeds, speeches],
        out,
    )?;
    println!(
        "trained {}: {} sentences ({} recommendations), threshold {:.2}; cross-validated by article:",
        out.display(),
        c.n_examples,
        c.n_positive,
        c.threshold
    );
    for (g, k) in &c.cv {
        println!(
            "  {g:<9} precision {:.3} recall {:.3} F1 {:.3}",
            k.precision(),
            k.recall(),
            k.f1()
        );
    }
    Ok(())
}

fn eval_recommend(e: EvalRecommendArgs) -> anyhow::Result<()> {
    use crate::pipeline::Component;
    use crate::recommend::devset;
    let mut set = devset::read_tsv(&e.opeds, devset::Genre::Oped)?;
    set.extend(devset::read_tsv(&e.speeches, devset::Genre::Speech)?);
    let config = crate::analyze::AnalyzeConfig {
        entities: !e.no_entities,
        ner_model: e
            .ner_model
            .clone()
            .unwrap_or_else(crate::entities::default_ner_model_dir),
        stance: false,
        recommend_model: e.recommend_model.clone(),
        ..crate::analyze::AnalyzeConfig::pipeline_only()
    };
    let (pipeline, _) = crate::analyze::build_pipeline(&config)?;
    let (mut docs, unmatched) = devset::documents(&set, Some(&e.speech_dir), &|d| {
        crate::text::SentenceSegmenter.process(d)
    })?;
    if !unmatched.is_empty() {
        eprintln!(
            "rhetor: {} labelled sentences were not found in their documents and are not scored",
            unmatched.len()
        );
    }
    use rayon::prelude::*;
    let errors: Vec<_> = docs.par_iter_mut().flat_map(|d| pipeline.run(&mut d.doc)).collect();
    if let Some(err) = errors.first() {
        anyhow::bail!("{}", err.message);
    }
    let mut scores = devset::SetScores::default();
    let mut rows = vec!["genre\tarticle\tgold\tpredicted\tkind\tsentence".to_string()];
    for d in &docs {
        for &(k, i) in &d.labelled {
            let predicted = d
                .doc
                .recommendations
                .iter()
                .any(|r| r.sent_id == k && r.speaker == "author");
            let l = &set[i];
            scores.add(l, predicted);
            rows.push(format!(
                "{}\t{}\t{}\t{}\t{}\t{}",
                l.genre.as_str(),
                l.article,
                u8::from(l.label),
                u8::from(predicted),
                l.kind,
                l.text
            ));
        }
    }
    print!("{}", scores.report());
    if let Some(p) = &e.predictions {
        std::fs::write(p, rows.join("\n") + "\n").with_context(|| format!("cannot write {}", p.display()))?;
    }
    if e.json {
        println!("{}", serde_json::to_string(&scores)?);
    }
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
        let judged: Vec<String> = [("title", m.title), ("authors", m.author), ("date", m.date)]
            .into_iter()
            .filter(|(_, (_, n))| *n > 0)
            .map(|(k, (share, n))| format!("{k} {share:.3} of {n}"))
            .collect();
        println!("metadata matching the gold: {}", judged.join(", "));
    }
    if e.json {
        println!("{}", serde_json::to_string(&s)?);
    }
    Ok(())
}

/// Document-level stance of whole articles against hand labels (data/stance/commentary/).
fn eval_stance_documents(e: &EvalStanceArgs) -> anyhow::Result<()> {
    use crate::stance::devset;
    let gold = devset::read_gold(&e.path)?;
    let articles = e.path.with_file_name("articles.jsonl");
    let docs = devset::read_articles(&articles)?;
    let targets = if e.targets.is_empty() {
        commentary_targets()
    } else {
        e.targets.clone()
    };
    let config = crate::analyze::AnalyzeConfig {
        ner_model: e
            .ner_model
            .clone()
            .unwrap_or_else(crate::entities::default_ner_model_dir),
        stance_model: e.model.clone().unwrap_or_else(crate::stance::default_stance_model_dir),
        target_files: targets,
        ..crate::analyze::AnalyzeConfig::pipeline_only()
    };
    let (pipeline, _) = crate::analyze::build_pipeline(&config)?;
    let s = devset::evaluate(&gold, docs, &pipeline)?;
    let line = |name: &str, x: &crate::stance::data::Scores| {
        println!(
            "{name:<8} n {:>4}  macro F1 {:.4}  F_avg {:.4}  accuracy {:.4}  F1 favor {:.3} against {:.3} neutral {:.3}  (predicted favor {}, against {}, neutral {})",
            x.n, x.macro_f1, x.f_avg, x.accuracy, x.favor.f1, x.against.f1, x.neutral.f1, x.favor.predicted, x.against.predicted, x.neutral.predicted
        )
    };
    println!(
        "{}: {} gold rows, {} without a rhetor row (counted neutral)",
        e.path.display(),
        s.rows,
        s.missing
    );
    line("all", &s.overall);
    line("policy", &s.policy);
    line("actors", &s.actors);
    println!("confusion (gold -> predicted): {:?}", s.confusion);
    if let Some(path) = &e.predictions {
        let mut w = csv::Writer::from_path(path).with_context(|| format!("cannot write {}", path.display()))?;
        w.write_record(["article", "target", "gold", "predicted", "score", "basis"])?;
        for p in &s.predictions {
            w.write_record([p.0.as_str(), &p.1, &p.2, &p.3, &format!("{:.4}", p.4), &p.5])?;
        }
        w.flush()?;
    }
    if e.json {
        println!(
            "{}",
            serde_json::to_string(&serde_json::json!({
                "macro_f1": s.overall.macro_f1, "f_avg": s.overall.f_avg, "overall": s.overall,
                "policy": s.policy, "actors": s.actors, "rows": s.rows, "missing": s.missing, "confusion": s.confusion,
            }))?
        );
    }
    Ok(())
}

fn eval_stance(e: EvalStanceArgs) -> anyhow::Result<()> {
    use crate::stance::{data, model};
    if crate::stance::devset::is_document_gold(&e.path) {
        return eval_stance_documents(&e);
    }
    let (layout, gold) = data::read_any(&e.path, &e.split)?;
    if gold.is_empty() {
        anyhow::bail!("{} holds no examples", e.path.display());
    }
    let enc = std::sync::Arc::new(crate::model::Encoder::load_packaged(&crate::model::MINILM)?);
    let dir = e.model.unwrap_or_else(crate::stance::default_stance_model_dir);
    let config: model::StanceConfig = serde_json::from_slice(
        &std::fs::read(dir.join("config.json"))
            .with_context(|| format!("cannot read {}/config.json", dir.display()))?,
    )?;
    let needed = config
        .states_source
        .clone()
        .unwrap_or_else(|| format!("base:{}", config.frozen_layers));
    let source = states_for(&needed, e.ner_model.as_deref(), enc)?;
    let m = model::StanceModel::load(&dir, source.as_ref())?;
    let probs = model::predict_gold_probs(&m, source.as_ref(), &gold)?;
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

fn eval_ner(file: &std::path::Path, model_dir: &std::path::Path, json: bool, n_errors: usize) -> anyhow::Result<()> {
    use crate::entities::{conll, devset, ner};
    let started = std::time::Instant::now();
    let enc = crate::model::Encoder::load_packaged(&crate::model::MINILM)?;
    let model = ner::NerModel::load(model_dir, &enc)?;
    let mut linking = None;
    let s = if file.extension().is_some_and(|e| e == "jsonl") {
        let gold = devset::read_jsonl(file)?;
        let recognizer = crate::entities::EntityRecognizer::new(
            std::sync::Arc::new(enc),
            std::sync::Arc::new(model),
            std::sync::Arc::new(crate::entities::kb::KnowledgeBase::load(&[], false)?),
        );
        let d = devset::evaluate(
            &gold,
            &[
                &crate::text::SentenceSegmenter,
                &crate::text::WordTokenizer,
                &recognizer,
            ],
        )?;
        for e in d.errors.iter().take(n_errors) {
            println!("  {e}");
        }
        let l = &d.linking;
        println!(
            "{} articles; linking: {:.4} of {} correctly found mentions ({:.4} of the {} with a knowledge-base id); NIL share: gold {:.3}, predicted {:.3}",
            d.articles, l.accuracy, l.found, l.kb_accuracy, l.kb_found, l.gold_nil_share, l.predicted_nil_share
        );
        linking = Some(d.linking);
        d.entities
    } else {
        let gold = conll::read_file(file)?;
        ner::evaluate(&model, &enc, &gold)?
    };
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
                "linking": linking,
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
        csv_raw: a.csv.csv_raw,
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
            max_document_chars: a.max_document_chars as usize,
            max_line_chars: a.max_line_chars as usize,
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
