//! `rhetor analyze`: inputs to documents to tables, in parallel, deterministically.

use crate::corpus::metadata::MetadataTable;
use crate::corpus::rules::Rules;
use crate::corpus::{self, Census, FileReading, InputFile};
use crate::document::{Document, DocumentSummary};
use crate::errors::{config_error, ErrorRecord};
use crate::manifest::{InputEntry, Manifest, ModelEntry};
use crate::pipeline::Pipeline;
use crate::tables::{self, OutFormat, TableStream, TableWriter};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Everything `analyze` needs to know.
#[derive(Debug, Clone)]
pub struct AnalyzeConfig {
    pub inputs: Vec<String>,
    pub out: PathBuf,
    pub formats: Vec<OutFormat>,
    /// CSV cells as the text has them, not spreadsheet-safe.
    pub csv_raw: bool,
    pub metadata: Option<PathBuf>,
    pub rules: Vec<PathBuf>,
    pub no_default_rules: bool,
    pub tokens: bool,
    pub texts_csv: bool,
    pub jobs: usize,
    pub progress: bool,
    pub command_line: Vec<String>,
    /// Run NER and entity linking.
    pub entities: bool,
    pub ner_model: PathBuf,
    /// Extra knowledge-base files.
    pub entity_files: Vec<PathBuf>,
    /// Run the stance model (needs entities).
    pub stance: bool,
    pub stance_model: PathBuf,
    pub target_files: Vec<PathBuf>,
    /// Find policy recommendations (rules always; the classifier when entities run).
    pub recommendations: bool,
    pub recommend_model: PathBuf,
    pub cue_files: Vec<PathBuf>,
    pub instrument_files: Vec<PathBuf>,
    /// Bounds on decompressed inputs and archive records.
    pub limits: corpus::InputLimits,
}

impl AnalyzeConfig {
    /// Every stage with the default models and data, no inputs and no outputs: for running the
    /// pipeline over documents held in memory (evaluation, training on labelled articles, bench).
    /// Change what differs with struct-update syntax.
    pub fn pipeline_only() -> Self {
        Self {
            inputs: vec![],
            out: PathBuf::new(),
            formats: vec![],
            csv_raw: false,
            metadata: None,
            rules: vec![],
            no_default_rules: false,
            tokens: false,
            texts_csv: false,
            jobs: 1,
            progress: false,
            command_line: vec![],
            entities: true,
            ner_model: crate::entities::default_ner_model_dir(),
            entity_files: vec![],
            stance: true,
            stance_model: crate::stance::default_stance_model_dir(),
            target_files: vec![],
            recommendations: true,
            recommend_model: crate::recommend::default_classifier_dir(),
            cue_files: vec![],
            instrument_files: vec![],
            limits: corpus::InputLimits::default(),
        }
    }
}

/// Documents and problems of a corpus, before any table is written.
pub struct Corpus {
    pub files: Vec<InputFile>,
    pub readings: Vec<FileReading>,
    pub documents: Vec<Document>,
    pub errors: Vec<ErrorRecord>,
}

fn progress_bar(len: usize, enabled: bool, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    if enabled {
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{prefix:>10} [{bar:40}] {pos}/{len} {msg} ({eta} left)")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(what.to_string());
    } else {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar
}

/// Inputs are read this many files (or about this many bytes) at a time...
const CHUNK_FILES: usize = 64;
const CHUNK_BYTES: u64 = 16 << 20;
/// ...and analysed and written this many documents at a time, then dropped, so memory depends on
/// these sizes (and the largest single input file), not on the size of the corpus. Both are
/// fixed, never derived from the number of threads, so output is the same whatever `--jobs`.
pub const CHUNK_DOCUMENTS: usize = 64;

/// Consecutive runs of files, each at most `CHUNK_FILES` files and (unless one file is larger)
/// `CHUNK_BYTES` bytes.
fn plan_chunks(files: &[InputFile]) -> Vec<std::ops::Range<usize>> {
    let mut chunks = Vec::new();
    let (mut start, mut bytes) = (0, 0u64);
    for (i, f) in files.iter().enumerate() {
        let size = std::fs::metadata(&f.path).map(|m| m.len()).unwrap_or(0);
        if i > start && (i - start >= CHUNK_FILES || bytes + size > CHUNK_BYTES) {
            chunks.push(start..i);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < files.len() {
        chunks.push(start..files.len());
    }
    chunks
}

/// What a pass over the corpus leaves behind once every document has gone through the pipeline
/// and the sink: per-file entries for the manifest, problems, and one small summary per document.
pub struct CorpusRun {
    pub inputs: Vec<InputEntry>,
    pub errors: Vec<ErrorRecord>,
    pub documents: Vec<DocumentSummary>,
}

impl CorpusRun {
    pub fn words(&self) -> usize {
        self.documents.iter().map(|d| d.n_words).sum()
    }
    pub fn sentences(&self) -> usize {
        self.documents.iter().map(|d| d.n_sentences).sum()
    }
}

/// Reads and analyses a corpus in chunks: reading in parallel, ids and metadata, the pipeline in
/// parallel, then `sink` (which writes the chunk's rows) before the chunk is dropped. Order
/// depends only on the inputs, never on scheduling.
#[allow(clippy::too_many_arguments)] // the run's inputs and stages, each used once
pub fn process_corpus(
    files: &[InputFile],
    discover_errors: Vec<ErrorRecord>,
    census: &Census,
    rules: &Rules,
    limits: &corpus::InputLimits,
    table: &MetadataTable,
    pipeline: &Pipeline,
    progress: bool,
    mut sink: impl FnMut(&[Document]) -> Result<()>,
) -> Result<CorpusRun> {
    let total_docs: usize = census.id_counts.values().sum();
    let bar = progress_bar(total_docs, progress, "analysing");
    let mut run = CorpusRun {
        inputs: Vec::with_capacity(files.len()),
        errors: discover_errors,
        documents: Vec::new(),
    };
    for range in plan_chunks(files) {
        let readings: Vec<FileReading> = files[range.clone()]
            .par_iter()
            .map(|f| corpus::read_file(f, rules, limits))
            .collect();
        let mut read_docs = Vec::new();
        for (f, mut r) in files[range].iter().zip(readings) {
            run.inputs.push(InputEntry {
                path: f.path.display().to_string(),
                sha256: r.sha256.clone(),
                bytes: r.bytes,
                documents: r.documents.len(),
                errors: r.errors.len(),
                skipped_records: r.skipped_records,
            });
            run.errors.append(&mut r.errors);
            read_docs.append(&mut r.documents);
        }
        let mut documents = corpus::finalize(read_docs, table, &census.id_counts);
        for docs in documents.chunks_mut(CHUNK_DOCUMENTS) {
            let stage_errors: Vec<Vec<ErrorRecord>> = docs
                .par_iter_mut()
                .map(|d| {
                    let e = pipeline.run(d);
                    bar.inc(1);
                    e
                })
                .collect();
            run.errors.extend(stage_errors.into_iter().flatten());
            sink(docs)?;
            run.documents.extend(docs.iter().map(DocumentSummary::from));
            bar.set_message(format!("{} words", run.words()));
        }
    }
    bar.finish_and_clear();
    Ok(run)
}

/// What a run produced, for the summary line and the exit status.
pub struct AnalyzeSummary {
    pub documents: usize,
    pub words: usize,
    pub sentences: usize,
    pub errors: usize,
    pub outputs: Vec<PathBuf>,
    pub seconds: f64,
}

/// Runs `analyze` end to end and writes tables and the manifest into `config.out`.
pub fn run(config: &AnalyzeConfig) -> Result<AnalyzeSummary> {
    let started = chrono::Utc::now();
    let timer = std::time::Instant::now();
    let rules = Rules::load(&config.rules, config.no_default_rules).map_err(config_error)?;
    let table = match &config.metadata {
        Some(p) => MetadataTable::load(p).map_err(config_error)?,
        None => MetadataTable::default(),
    };
    let (pipeline, models) = build_pipeline(config)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.jobs)
        .build()
        .context("cannot start worker threads")?;
    let (files, discover_errors) = corpus::discover(&config.inputs);
    let census = pool.install(|| corpus::census(&files, &rules, &config.limits));

    std::fs::create_dir_all(&config.out)
        .with_context(|| format!("cannot create output folder {}", config.out.display()))?;
    let mut configuration: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    configuration.insert("inputs".into(), serde_json::json!(config.inputs));
    configuration.insert("formats".into(), serde_json::json!(config.formats));
    configuration.insert(
        "metadata".into(),
        serde_json::json!(config.metadata.as_ref().map(|p| p.display().to_string())),
    );
    configuration.insert("rules".into(), serde_json::json!(rules.sources));
    configuration.insert("pipeline".into(), serde_json::json!(pipeline.component_names()));
    configuration.insert("tokens".into(), serde_json::json!(config.tokens));
    // The encoder's arithmetic changes scores in their last digits: part of what produced them.
    let precision = match crate::model::fast::precision() {
        crate::model::fast::Precision::Int8 => "int8",
        crate::model::fast::Precision::Fp32 => "fp32",
    };
    configuration.insert("precision".into(), serde_json::json!(precision));
    configuration.insert("texts_csv".into(), serde_json::json!(config.texts_csv));
    configuration.insert(
        "max_input_mb".into(),
        serde_json::json!(config.limits.max_decompressed >> 20),
    );
    configuration.insert(
        "max_document_chars".into(),
        serde_json::json!(config.limits.max_document_chars),
    );
    configuration.insert("max_line_chars".into(), serde_json::json!(config.limits.max_line_chars));
    configuration.insert("csv_raw".into(), serde_json::json!(config.csv_raw));
    let input_hashes: Vec<String> = census.sha256.iter().map(|h| h.clone().unwrap_or_default()).collect();
    let provenance = vec![
        ("rhetor_version".to_string(), crate::VERSION.to_string()),
        (
            "rhetor_configuration".to_string(),
            serde_json::to_string(&configuration)?,
        ),
        (
            "rhetor_inputs_sha256".to_string(),
            corpus::sha256_hex(input_hashes.join("\n").as_bytes()),
        ),
        ("rhetor_models".to_string(), serde_json::to_string(&models)?),
    ];
    let writer = TableWriter {
        dir: config.out.clone(),
        formats: config.formats.clone(),
        provenance,
        csv_raw: config.csv_raw,
    };
    remove_stale_outputs(&config.out)?;

    // Per-document tables are streamed chunk by chunk; `documents` and `errors` (small) at the end.
    type FrameFn = fn(&[Document]) -> Result<polars::prelude::DataFrame>;
    let mut streamed: Vec<(TableStream, FrameFn)> = Vec::new();
    let mut open = |name: &str, f: FrameFn, csv_ok: bool| -> Result<()> {
        streamed.push((TableStream::open(&writer, name, &f(&[])?, csv_ok)?, f));
        Ok(())
    };
    open("texts", tables::texts_frame, config.texts_csv)?;
    open("sentences", tables::sentences_frame, true)?;
    if config.tokens {
        open("tokens", tables::tokens_frame, true)?;
    }
    if config.entities {
        open("mentions", tables::mentions_frame, true)?;
        open("entities", tables::entities_frame, true)?;
    }
    if config.stance {
        open("stances", tables::stances_frame, true)?;
    }
    if config.recommendations {
        open("recommendations", tables::recommendations_frame, true)?;
    }
    let corpus = pool.install(|| {
        process_corpus(
            &files,
            discover_errors,
            &census,
            &rules,
            &config.limits,
            &table,
            &pipeline,
            config.progress,
            |docs| {
                for (stream, frame) in streamed.iter_mut() {
                    stream.write(&mut frame(docs)?)?;
                }
                Ok(())
            },
        )
    })?;
    let mut outputs = writer.write("documents", &mut tables::documents_frame(&corpus.documents)?, true)?;
    for (stream, _) in streamed {
        outputs.extend(stream.finish()?);
    }
    outputs.extend(writer.write("errors", &mut tables::errors_frame(&corpus.errors)?, true)?);

    let (words, sentences) = (corpus.words(), corpus.sentences());
    let mut counts = BTreeMap::new();
    counts.insert("inputs".to_string(), files.len());
    counts.insert("documents".to_string(), corpus.documents.len());
    counts.insert("sentences".to_string(), sentences);
    counts.insert("words".to_string(), words);
    counts.insert("errors".to_string(), corpus.errors.len());
    let inputs = corpus.inputs;
    let manifest_path = config.out.join("manifest.json");
    outputs.push(manifest_path.clone());
    let seconds = timer.elapsed().as_secs_f64();
    let manifest = Manifest {
        rhetor_version: crate::VERSION.to_string(),
        command_line: config.command_line.clone(),
        configuration,
        started_at: started.to_rfc3339(),
        finished_at: chrono::Utc::now().to_rfc3339(),
        seconds,
        counts,
        inputs,
        models,
        outputs: outputs
            .iter()
            .map(|p| p.file_name().unwrap_or_default().to_string_lossy().to_string())
            .collect(),
        completed: true,
    };
    // Last, and renamed into place whole: its presence says every table above is complete.
    tables::write_whole(
        &manifest_path,
        (serde_json::to_string_pretty(&manifest)? + "\n").as_bytes(),
    )
    .with_context(|| format!("cannot write {}", manifest_path.display()))?;
    Ok(AnalyzeSummary {
        documents: corpus.documents.len(),
        words,
        sentences,
        errors: corpus.errors.len(),
        outputs,
        seconds,
    })
}

/// The pipeline for a configuration, and the models (with their hashes) it uses.
pub fn build_pipeline(config: &AnalyzeConfig) -> Result<(Pipeline, Vec<ModelEntry>)> {
    use crate::pipeline::Component;
    let mut components: Vec<Box<dyn Component>> = vec![
        Box::new(crate::text::SentenceSegmenter),
        Box::new(crate::text::WordTokenizer),
    ];
    let mut models = Vec::new();
    // The states NER's pass leaves for the later model stages.
    let mut shared: Option<std::sync::Arc<dyn crate::model::encoder::StateSource>> = None;
    let mut shared_encoder: Option<std::sync::Arc<crate::model::Encoder>> = None;
    if config.entities {
        let base = crate::model::MINILM;
        let encoder = std::sync::Arc::new(crate::model::Encoder::load_packaged(&base)?);
        let ner = crate::entities::ner::NerModel::load(&config.ner_model, &encoder).with_context(|| {
            format!(
                "cannot load the NER model from {} (train one with `rhetor train ner`, or run with --no-entities)",
                config.ner_model.display()
            )
        })?;
        let kb = crate::entities::kb::KnowledgeBase::load(&config.entity_files, false).map_err(config_error)?;
        models.push(ModelEntry {
            id: base.id.to_string(),
            sha256: base.sha256(),
            files: base.files.iter().map(|f| f.0.to_string()).collect(),
        });
        models.push(ModelEntry {
            id: format!("ner:{}", ner.config.name),
            sha256: ner.sha256.clone(),
            files: vec![
                ner.dir.join("model.safetensors").display().to_string(),
                ner.dir.join("config.json").display().to_string(),
            ],
        });
        models.push(ModelEntry {
            id: "knowledge-base".into(),
            sha256: kb.sha256.clone(),
            files: kb.sources.clone(),
        });
        shared_encoder = Some(encoder.clone());
        let recognizer =
            crate::entities::EntityRecognizer::new(encoder, std::sync::Arc::new(ner), std::sync::Arc::new(kb));
        shared = Some(recognizer.shared.clone());
        components.push(Box::new(recognizer));
    }
    // Stance reads the author's recommendations, so they run whenever stance does.
    if config.recommendations || config.stance {
        let lexicon = crate::recommend::lexicon::Lexicon::load(&config.cue_files, &config.instrument_files)
            .map_err(config_error)?;
        models.push(ModelEntry {
            id: "recommendation-rules".into(),
            sha256: crate::corpus::sha256_hex(format!("{:?}{:?}", lexicon.cues, lexicon.instruments).as_bytes()),
            files: lexicon.sources.clone(),
        });
        let classifier = match &shared {
            Some(source) => {
                let clf =
                    crate::recommend::classifier::RecommendClassifier::load(&config.recommend_model, source.as_ref())
                        .with_context(|| {
                        format!(
                        "cannot load the recommendation classifier from {} (train it with `rhetor train recommend`)",
                        config.recommend_model.display()
                    )
                    })?;
                models.push(ModelEntry {
                    id: format!("recommend:{}", clf.config.name),
                    sha256: clf.sha256.clone(),
                    files: vec![config.recommend_model.join("model.safetensors").display().to_string()],
                });
                Some((std::sync::Arc::new(clf), source.clone()))
            }
            None => None,
        };
        components.push(Box::new(crate::recommend::Recommender {
            lexicon: std::sync::Arc::new(lexicon),
            classifier,
        }));
    }
    if config.stance {
        let mut source = shared
            .clone()
            .context("stance detection needs the entities stage (drop --no-entities or add --no-stance)")?;
        // A stance model trained on the base encoder's frozen layers, run beside a NER model that
        // trains its own: it gets base states of its own (one more pass over the sentences it reads).
        let needed = crate::stance::model::StanceModel::states_needed(&config.stance_model).with_context(|| {
            format!(
                "cannot load the stance model from {} (train one with `rhetor train stance`, or run with --no-stance)",
                config.stance_model.display()
            )
        })?;
        if needed != source.id() {
            if let (Some(layers), Some(encoder)) = (
                needed.strip_prefix("base:").and_then(|n| n.parse().ok()),
                shared_encoder.clone(),
            ) {
                source = std::sync::Arc::new(crate::model::encoder::BaseStates { encoder, layers });
            }
        }
        let model =
            crate::stance::model::StanceModel::load(&config.stance_model, source.as_ref()).with_context(|| {
                format!(
                "cannot load the stance model from {} (train one with `rhetor train stance`, or run with --no-stance)",
                config.stance_model.display()
            )
            })?;
        let targets = crate::stance::targets::Targets::load(&config.target_files).map_err(config_error)?;
        models.push(ModelEntry {
            id: format!("stance:{}", model.config.name),
            sha256: model.sha256.clone(),
            files: vec![
                model.dir.join("model.safetensors").display().to_string(),
                model.dir.join("config.json").display().to_string(),
            ],
        });
        models.push(ModelEntry {
            id: "stance-targets".into(),
            sha256: crate::corpus::sha256_hex(format!("{:?}", targets.targets).as_bytes()),
            files: targets.sources.clone(),
        });
        let aggregate_file = config.stance_model.join("aggregate.json");
        let aggregator = if aggregate_file.is_file() {
            let a = crate::stance::aggregate::Aggregator::load(&aggregate_file)?;
            models.push(ModelEntry {
                id: "stance-aggregate".into(),
                sha256: crate::model::store::sha256_file(&aggregate_file)?,
                files: vec![aggregate_file.display().to_string()],
            });
            Some(std::sync::Arc::new(a))
        } else {
            None
        };
        components.push(Box::new(crate::stance::StanceDetector {
            source,
            model: std::sync::Arc::new(model),
            targets: std::sync::Arc::new(targets),
            target_states: Default::default(),
            aggregator,
        }));
    }
    Ok((Pipeline::new(components)?, models))
}

/// Table files this version writes; removed before a run so no table from an earlier run (say,
/// `tokens` when `--tokens` is now off) is mistaken for this run's.
const TABLE_NAMES: &[&str] = &[
    "documents",
    "texts",
    "sentences",
    "tokens",
    "errors",
    "mentions",
    "entities",
    "stances",
    "recommendations",
];

/// The previous run's manifest goes first (until this run completes, the folder is not a
/// finished run), then its tables and any partial files a killed run left.
fn remove_stale_outputs(dir: &std::path::Path) -> Result<()> {
    let mut stale = vec![
        dir.join("manifest.json"),
        tables::partial_path(&dir.join("manifest.json")),
    ];
    for name in TABLE_NAMES {
        for ext in ["csv", "parquet", "jsonl"] {
            let p = dir.join(format!("{name}.{ext}"));
            stale.push(tables::partial_path(&p));
            stale.push(p);
        }
    }
    for p in stale {
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("cannot replace {}", p.display()))?;
        }
    }
    Ok(())
}
