//! The shared encoder: subword tokenisation with char offsets, sliding windows over long texts
//! (never truncation), batches sorted by length and padded to their longest window.

use super::bert::{mean_pool_normalised, Bert, BertConfig};
use super::store::PackagedModel;
pub use crate::document::SentenceStates;
use anyhow::{anyhow, Context, Result};
use candle_core::{DType, Device, IndexOp, Tensor};
use candle_nn::VarBuilder;
use ndarray::Array2;
use std::path::Path;
use tokenizers::Tokenizer;

/// Subwords of one text: ids and char offsets into the text (no special tokens).
#[derive(Debug, Clone, Default)]
pub struct Subwords {
    pub ids: Vec<u32>,
    pub offsets: Vec<(usize, usize)>,
}

impl Subwords {
    pub fn len(&self) -> usize {
        self.ids.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// A window over one text's subwords: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub text: usize,
    pub start: usize,
    pub end: usize,
}

/// Windows of at most `size` subwords advancing by `stride`, the last one ending at `n`.
pub fn windows(n: usize, size: usize, stride: usize) -> Vec<(usize, usize)> {
    assert!(size > 0 && stride > 0 && stride <= size);
    if n <= size {
        return vec![(0, n)];
    }
    let mut out = Vec::new();
    let mut start = 0;
    loop {
        if start + size >= n {
            out.push((n - size, n));
            break;
        }
        out.push((start, start + size));
        start += stride;
    }
    out
}

/// Where the shared sentence states come from: the base encoder's bottom layers
/// ([`BaseStates`]), or a trained model's own bottom layers over them (rhetor's NER model, whose
/// lower layers every later stage then shares). Models trained on one source's states record its
/// [`StateSource::id`] and refuse another.
pub trait StateSource: Send + Sync {
    /// What produces the states, for provenance checks: `base:4`, `ner:SHA256:4`.
    fn id(&self) -> String;
    fn hidden_size(&self) -> usize;
    /// The encoder underneath (tokeniser, base weights).
    fn encoder(&self) -> &Encoder;
    /// States of each word sequence: one `[n_subwords, hidden]` tensor per window (special tokens
    /// removed), windows of the encoder's size.
    fn states(&self, words: &[Vec<&str>]) -> Result<Vec<Vec<Tensor>>>;
}

/// States after the embeddings and the base encoder's bottom `layers` layers.
pub struct BaseStates {
    pub encoder: std::sync::Arc<Encoder>,
    pub layers: usize,
}

impl StateSource for BaseStates {
    fn id(&self) -> String {
        format!("base:{}", self.layers)
    }
    fn hidden_size(&self) -> usize {
        self.encoder.hidden_size()
    }
    fn encoder(&self) -> &Encoder {
        &self.encoder
    }
    fn states(&self, words: &[Vec<&str>]) -> Result<Vec<Vec<Tensor>>> {
        let ids: Vec<Vec<u32>> = words
            .iter()
            .map(|w| self.encoder.tokenize_words(w).map(|(ids, _)| ids))
            .collect::<Result<_>>()?;
        self.encoder.frozen_states(self.layers, &ids)
    }
}

impl SentenceStates {
    pub fn new(source: String, n_sentences: usize) -> Self {
        Self {
            source,
            sentences: vec![None; n_sentences],
        }
    }

    /// The document's states if they came from `source`, else empty ones.
    pub fn reuse(prior: Option<Self>, source: &dyn StateSource, n_sentences: usize) -> Self {
        match prior {
            Some(s) if s.source == source.id() => s,
            _ => Self::new(source.id(), n_sentences),
        }
    }

    /// Computes the states of the sentences in `wanted` that have none yet; `words[i]` are the
    /// word tokens of sentence i.
    pub fn ensure(&mut self, source: &dyn StateSource, wanted: &[usize], words: &[Vec<&str>]) -> Result<()> {
        let missing: Vec<usize> = wanted
            .iter()
            .copied()
            .filter(|&i| self.sentences[i].is_none())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let these: Vec<Vec<&str>> = missing.iter().map(|&i| words[i].clone()).collect();
        for (&i, states) in missing.iter().zip(source.states(&these)?) {
            self.sentences[i] = Some(states);
        }
        Ok(())
    }
}

pub struct Encoder {
    pub bert: Bert,
    tokenizer: Tokenizer,
    cls: u32,
    sep: u32,
    /// Subwords per window, special tokens excluded.
    pub window: usize,
    pub stride: usize,
    pub batch_size: usize,
    pub model_id: String,
    pub model_sha256: String,
}

impl Encoder {
    /// Loads the base encoder from the model cache (see `rhetor models fetch`).
    pub fn load_packaged(model: &PackagedModel) -> Result<Self> {
        let dir = model.locate()?;
        Self::load_dir(&dir, model.id, &model.sha256())
    }

    pub fn load_dir(dir: &Path, id: &str, sha256: &str) -> Result<Self> {
        let config: BertConfig = serde_json::from_slice(
            &std::fs::read(dir.join("config.json"))
                .with_context(|| format!("cannot read {}/config.json", dir.display()))?,
        )
        .context("config.json is not a BERT configuration")?;
        let weights = dir.join("model.safetensors");
        // SAFETY: the file is memory-mapped read-only; rhetor never writes to it while mapped.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[weights], DType::F32, &Device::Cpu)? };
        let bert = Bert::load(vb, config)?;
        let mut tokenizer =
            Tokenizer::from_file(dir.join("tokenizer.json")).map_err(|e| anyhow!("tokenizer.json: {e}"))?;
        // The shipped tokenizer pads and truncates to 128; rhetor windows long texts itself.
        tokenizer.with_padding(None);
        tokenizer.with_truncation(None).map_err(|e| anyhow!("tokenizer: {e}"))?;
        let id_of = |t: &str| {
            tokenizer
                .token_to_id(t)
                .ok_or_else(|| anyhow!("tokenizer has no {t} token"))
        };
        let (cls, sep) = (id_of("[CLS]")?, id_of("[SEP]")?);
        let max = bert.config.max_position_embeddings - 2;
        Ok(Self {
            bert,
            tokenizer,
            cls,
            sep,
            window: 126.min(max),
            stride: 94,
            batch_size: 16,
            model_id: id.to_string(),
            model_sha256: sha256.to_string(),
        })
    }

    pub fn hidden_size(&self) -> usize {
        self.bert.config.hidden_size
    }

    /// The vocabulary entry of a subword id ("##" marks a continuation).
    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.tokenizer.id_to_token(id)
    }

    /// Subwords of pre-split words: ids and, for each subword, the index of its word.
    pub fn tokenize_words(&self, words: &[&str]) -> Result<(Vec<u32>, Vec<usize>)> {
        let enc = self
            .tokenizer
            .encode(words, false)
            .map_err(|e| anyhow!("tokenizer: {e}"))?;
        let mut ids = Vec::with_capacity(enc.len());
        let mut word_of = Vec::with_capacity(enc.len());
        for (id, w) in enc.get_ids().iter().zip(enc.get_word_ids()) {
            // Words the vocabulary cannot spell at all come back as [UNK] with a word id; a word
            // that yields no subword (a lone control character) gets [UNK] so it still has a slot.
            if let Some(w) = w {
                ids.push(*id);
                word_of.push(*w as usize);
            }
        }
        let unk = self.tokenizer.token_to_id("[UNK]").unwrap_or(100);
        let mut seen = vec![false; words.len()];
        for &w in &word_of {
            seen[w] = true;
        }
        if seen.iter().any(|s| !s) {
            // Rebuild in word order with [UNK] for the missing words.
            let mut rebuilt_ids = Vec::with_capacity(ids.len() + 1);
            let mut rebuilt_words = Vec::with_capacity(ids.len() + 1);
            let mut k = 0;
            for (w, present) in seen.iter().enumerate() {
                if *present {
                    while k < word_of.len() && word_of[k] == w {
                        rebuilt_ids.push(ids[k]);
                        rebuilt_words.push(w);
                        k += 1;
                    }
                } else {
                    rebuilt_ids.push(unk);
                    rebuilt_words.push(w);
                }
            }
            return Ok((rebuilt_ids, rebuilt_words));
        }
        Ok((ids, word_of))
    }

    pub fn cls_sep(&self) -> (u32, u32) {
        (self.cls, self.sep)
    }

    /// States after the embeddings and the bottom `layers` layers for each window of each id
    /// sequence (`[n, hidden]` per window, special tokens removed), in the order given.
    pub fn frozen_states(&self, layers: usize, texts: &[Vec<u32>]) -> Result<Vec<Vec<Tensor>>> {
        let mut wins = Vec::new();
        for (t, ids) in texts.iter().enumerate() {
            for (start, end) in windows(ids.len(), self.window, self.stride) {
                wins.push(Window { text: t, start, end });
            }
        }
        let refs: Vec<&[u32]> = texts.iter().map(|t| t.as_slice()).collect();
        let mut per_win: Vec<Option<Tensor>> = vec![None; wins.len()];
        self.for_each_batch(&refs, &wins, |batch, ids, mask, _| {
            let h = self.bert.forward_upto(ids, mask, layers)?;
            for (r, &w) in batch.iter().enumerate() {
                let n = wins[w].end - wins[w].start;
                per_win[w] = Some(h.i(r)?.narrow(0, 1, n)?.contiguous()?);
            }
            Ok(())
        })?;
        let mut out: Vec<Vec<Tensor>> = vec![Vec::new(); texts.len()];
        for (w, st) in wins.iter().zip(per_win) {
            out[w.text].push(st.expect("every window ran"));
        }
        Ok(out)
    }

    /// Subwords of `text` with char offsets.
    pub fn tokenize(&self, text: &str) -> Result<Subwords> {
        let enc = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| anyhow!("tokenizer: {e}"))?;
        let index = crate::text::CharIndex::new(text);
        let offsets = enc
            .get_offsets()
            .iter()
            .map(|&(s, e)| (index.char_of_byte(s), index.char_of_byte(e)))
            .collect();
        Ok(Subwords {
            ids: enc.get_ids().to_vec(),
            offsets,
        })
    }

    /// Visits `wins` in batches sorted by length (longest first, ties in input order, so batches
    /// depend only on the inputs), each as `[CLS] subwords [SEP]` padded to the batch's longest
    /// window: `f(batch, ids, mask, padded_len)`, where `batch` holds indices into `wins`.
    pub fn for_each_batch(
        &self,
        texts: &[&[u32]],
        wins: &[Window],
        mut f: impl FnMut(&[usize], &Tensor, &Tensor, usize) -> Result<()>,
    ) -> Result<()> {
        let mut order: Vec<usize> = (0..wins.len()).collect();
        order.sort_by_key(|&i| (std::cmp::Reverse(wins[i].end - wins[i].start), i));
        for batch in order.chunks(self.batch_size) {
            let t = batch.iter().map(|&i| wins[i].end - wins[i].start).max().unwrap_or(0) + 2;
            let mut ids = vec![0u32; batch.len() * t];
            let mut mask = vec![0u32; batch.len() * t];
            for (r, &i) in batch.iter().enumerate() {
                let w = wins[i];
                let n = w.end - w.start;
                ids[r * t] = self.cls;
                ids[r * t + 1..r * t + 1 + n].copy_from_slice(&texts[w.text][w.start..w.end]);
                ids[r * t + n + 1] = self.sep;
                mask[r * t..r * t + n + 2].fill(1);
            }
            let ids = Tensor::from_vec(ids, (batch.len(), t), self.bert.device())?;
            let mask = Tensor::from_vec(mask, (batch.len(), t), self.bert.device())?;
            f(batch, &ids, &mask, t)?;
        }
        Ok(())
    }

    /// Runs windows in batches sorted by length; returns each window's hidden states
    /// ([len, hidden], special tokens removed), in the order given.
    fn run_windows(&self, texts: &[&[u32]], wins: &[Window]) -> Result<Vec<Array2<f32>>> {
        let mut out: Vec<Option<Array2<f32>>> = vec![None; wins.len()];
        let h = self.hidden_size();
        self.for_each_batch(texts, wins, |batch, ids, mask, t| {
            let flat: Vec<f32> = self.bert.forward(ids, mask)?.flatten_all()?.to_vec1()?;
            for (r, &i) in batch.iter().enumerate() {
                let n = wins[i].end - wins[i].start;
                let base = r * t * h + h; // skip [CLS]
                out[i] = Some(Array2::from_shape_vec((n, h), flat[base..base + n * h].to_vec())?);
            }
            Ok(())
        })?;
        Ok(out.into_iter().map(|a| a.expect("every window ran")).collect())
    }

    /// Contextual embeddings of every subword of every text ([n_subwords, hidden] each). Long
    /// texts are covered by overlapping windows; each subword takes its vector from the window in
    /// which it sits farthest from an edge.
    pub fn embed_subwords(&self, texts: &[&Subwords]) -> Result<Vec<Array2<f32>>> {
        let ids: Vec<&[u32]> = texts.iter().map(|s| s.ids.as_slice()).collect();
        let mut wins = Vec::new();
        for (t, s) in texts.iter().enumerate() {
            if s.is_empty() {
                continue;
            }
            for (start, end) in windows(s.len(), self.window, self.stride) {
                wins.push(Window { text: t, start, end });
            }
        }
        let states = self.run_windows(&ids, &wins)?;
        let h = self.hidden_size();
        let mut out: Vec<Array2<f32>> = texts.iter().map(|s| Array2::zeros((s.len(), h))).collect();
        let mut best: Vec<Vec<usize>> = texts.iter().map(|s| vec![0; s.len()]).collect();
        for (w, st) in wins.iter().zip(&states) {
            let best = &mut best[w.text];
            for (k, row) in st.rows().into_iter().enumerate() {
                let i = w.start + k;
                let centrality = k.min(w.end - 1 - i) + 1;
                if centrality > best[i] {
                    best[i] = centrality;
                    out[w.text].row_mut(i).assign(&row);
                }
            }
        }
        Ok(out)
    }

    /// Sentence embeddings (mean pooling over [CLS] text [SEP], L2-normalised), as
    /// sentence-transformers computes them. Texts longer than a window are averaged over windows.
    pub fn embed_sentences(&self, texts: &[&str]) -> Result<Array2<f32>> {
        let h = self.hidden_size();
        let mut out = Array2::zeros((texts.len(), h));
        let subs: Vec<Subwords> = texts.iter().map(|t| self.tokenize(t)).collect::<Result<_>>()?;
        let ids: Vec<&[u32]> = subs.iter().map(|s| s.ids.as_slice()).collect();
        let mut wins = Vec::new();
        for (t, s) in subs.iter().enumerate() {
            for (start, end) in windows(s.len(), self.window, self.window) {
                wins.push(Window { text: t, start, end });
            }
        }
        // Pooling includes [CLS] and [SEP], as sentence-transformers does.
        let mut per_text: Vec<Vec<(f32, Vec<f32>)>> = vec![Vec::new(); texts.len()];
        self.for_each_batch(&ids, &wins, |batch, idt, mt, _| {
            let pooled = mean_pool_normalised(&self.bert.forward(idt, mt)?, mt)?.to_vec2::<f32>()?;
            for (r, &i) in batch.iter().enumerate() {
                let w = wins[i];
                per_text[w.text].push(((w.end - w.start + 2) as f32, pooled[r].clone()));
            }
            Ok(())
        })?;
        for (t, parts) in per_text.iter().enumerate() {
            let total: f32 = parts.iter().map(|(n, _)| n).sum();
            let mut v = vec![0f32; h];
            for (n, p) in parts {
                for (a, b) in v.iter_mut().zip(p) {
                    *a += b * n / total;
                }
            }
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            for (j, x) in v.iter().enumerate() {
                out[[t, j]] = x / norm;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::windows;

    #[test]
    fn windows_cover_everything_with_overlap() {
        assert_eq!(windows(5, 10, 8), vec![(0, 5)]);
        assert_eq!(windows(10, 10, 8), vec![(0, 10)]);
        assert_eq!(windows(25, 10, 8), vec![(0, 10), (8, 18), (15, 25)]);
        for n in 1..300 {
            let w = windows(n, 126, 94);
            assert_eq!(w[0].0, 0);
            assert_eq!(w.last().unwrap().1, n);
            assert!(w.windows(2).all(|p| p[1].0 < p[0].1), "overlap");
        }
    }
}
