//! `rhetor bench`: words per second of ingestion + segmentation over a corpus, median of several
//! runs, and the process's peak memory. Writes nothing.

use crate::corpus::metadata::MetadataTable;
use crate::corpus::rules::Rules;
use anyhow::Result;
use std::time::Instant;

/// Peak resident memory of this process in bytes (Linux VmHWM), if known.
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// What `bench` measures.
pub struct BenchOptions {
    pub paths: Vec<String>,
    pub repeat: usize,
    pub jobs: usize,
    pub json: bool,
    /// Include NER and linking (the encoder), as `analyze` runs by default.
    pub entities: bool,
    pub ner_model: std::path::PathBuf,
    pub stance_model: std::path::PathBuf,
    /// Include the stance stage (with entities only).
    pub stance: bool,
    /// Read the corpus this many times over in one run (memory should not grow with it).
    pub copies: usize,
}

pub fn run(o: &BenchOptions) -> Result<()> {
    let (paths, repeat, jobs, json) = (&o.paths, o.repeat, o.jobs, o.json);
    let rules = Rules::defaults();
    let table = MetadataTable::default();
    let config = crate::analyze::AnalyzeConfig {
        inputs: paths.clone(),
        jobs,
        entities: o.entities,
        ner_model: o.ner_model.clone(),
        stance: o.entities && o.stance,
        stance_model: o.stance_model.clone(),
        ..crate::analyze::AnalyzeConfig::pipeline_only()
    };
    let (pipeline, _) = crate::analyze::build_pipeline(&config)?;
    let stage = match (o.entities, o.stance) {
        (true, true) => "ingestion+segmentation+entities+recommendations+stance",
        (true, false) => "ingestion+segmentation+entities+recommendations",
        (false, _) => "ingestion+segmentation+recommendation-rules",
    };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build()?;
    let mut secs = Vec::with_capacity(repeat);
    let (mut docs, mut words, mut errors) = (0, 0, 0);
    for _ in 0..repeat {
        let t = Instant::now();
        let (found, discover_errors) = crate::corpus::discover(paths);
        let files: Vec<_> = (0..o.copies.max(1)).flat_map(|_| found.iter().cloned()).collect();
        let corpus = pool.install(|| {
            let census = crate::corpus::census(&files, &rules, &config.limits);
            crate::analyze::process_corpus(
                &files,
                discover_errors,
                &census,
                &rules,
                &config.limits,
                &table,
                &pipeline,
                false,
                |_| Ok(()),
            )
        })?;
        secs.push(t.elapsed().as_secs_f64());
        docs = corpus.documents.len();
        words = corpus.words();
        errors = corpus.errors.len();
    }
    anyhow::ensure!(words > 0, "no words were read from {}", paths.join(", "));
    let (min, max) = (
        secs.iter().cloned().fold(f64::MAX, f64::min),
        secs.iter().cloned().fold(0.0, f64::max),
    );
    let med = median(&mut secs);
    let wps = words as f64 / med;
    let peak = peak_memory_bytes();
    if json {
        println!(
            "{}",
            serde_json::json!({
                "stage": stage, "documents": docs, "words": words, "errors": errors,
                "runs": repeat, "jobs": jobs, "copies": o.copies, "median_seconds": med, "min_seconds": min, "max_seconds": max,
                "words_per_second": wps, "peak_memory_bytes": peak,
            })
        );
    } else {
        println!("rhetor bench: {stage} over {}", paths.join(", "));
        println!(
            "corpus:  {docs} documents, {words} words ({errors} input errors){}",
            if o.copies > 1 {
                format!(", the inputs read {} times over", o.copies)
            } else {
                String::new()
            }
        );
        println!("runs:    {repeat} on {jobs} threads; median {med:.3} s (min {min:.3}, max {max:.3})");
        println!("speed:   {wps:.0} words/s (median)");
        match peak {
            Some(b) => println!("memory:  {:.1} MB peak resident (VmHWM)", b as f64 / 1e6),
            None => println!("memory:  peak unknown (no /proc/self/status)"),
        }
    }
    Ok(())
}
