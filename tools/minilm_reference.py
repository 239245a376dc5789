"""Independent reference for rhetor's candle encoder: all-MiniLM-L6-v2 sentence embeddings computed
with numpy straight from model.safetensors and tokenizer.json (Hugging Face `tokenizers`), no torch.

Usage: python tools/minilm_reference.py MODEL_DIR > tests/fixtures/minilm_reference.json
Needs: numpy, safetensors, tokenizers (only to regenerate the fixture; rhetor itself does not).
"""
import json
import sys

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

SENTENCES = [
    "The United States and its allies must stick to a dual-track policy.",
    "Khamenei is not a suicidal jihadist.",
    "Washington should negotiate seriously with Tehran over its nuclear programme.",
]


def layer_norm(x, w, b, eps=1e-12):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def gelu(x):
    from math import erf, sqrt
    return 0.5 * x * (1.0 + np.vectorize(erf)(x / sqrt(2.0)))


def encode(W, ids, heads=12):
    t = len(ids)
    x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.position_embeddings.weight"][:t] \
        + W["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"])
    h = x.shape[1]
    d = h // heads
    for i in range(6):
        p = f"encoder.layer.{i}."
        lin = lambda y, n: y @ W[p + n + ".weight"].T + W[p + n + ".bias"]
        q = lin(x, "attention.self.query").reshape(t, heads, d).transpose(1, 0, 2)
        k = lin(x, "attention.self.key").reshape(t, heads, d).transpose(1, 0, 2)
        v = lin(x, "attention.self.value").reshape(t, heads, d).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / np.sqrt(d)
        s = np.exp(s - s.max(-1, keepdims=True))
        s = s / s.sum(-1, keepdims=True)
        ctx = (s @ v).transpose(1, 0, 2).reshape(t, h)
        a = layer_norm(lin(ctx, "attention.output.dense") + x, W[p + "attention.output.LayerNorm.weight"],
                       W[p + "attention.output.LayerNorm.bias"])
        f = lin(gelu(lin(a, "intermediate.dense")), "output.dense")
        x = layer_norm(f + a, W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"])
    return x


def main():
    d = sys.argv[1]
    W = {k: v.astype(np.float64) for k, v in load_file(f"{d}/model.safetensors").items()}
    tok = Tokenizer.from_file(f"{d}/tokenizer.json")
    tok.no_padding()
    tok.no_truncation()
    out = {"sentences": SENTENCES, "ids": [], "embeddings_first8": [], "cosine": []}
    embs = []
    for s in SENTENCES:
        ids = tok.encode(s).ids
        x = encode(W, ids)
        e = x.mean(0)
        e = e / np.linalg.norm(e)
        embs.append(e)
        out["ids"].append(ids)
        out["embeddings_first8"].append([round(float(v), 6) for v in e[:8]])
    out["cosine"] = [[round(float(a @ b), 6) for b in embs] for a in embs]
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
