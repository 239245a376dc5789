#!/usr/bin/env python3
"""Peer benchmark for main-text extraction: trafilatura and readability-lxml on a page set.

Runs both peers in one process on every page of a data set, times the extraction only (the
pages are read into memory first), writes each tool's outputs and scores them.

Usage:
    python3 tools/peers/extraction.py DATASET --out OUTDIR [--repeat 3] [--tools trafilatura,readability]
                                      [--ngram 4] [--bootstrap 1000] [--json results.json]

DATASET is one of two layouts, detected from its files:
  * snippet layout (trafilatura's evaluation, e.g. /work/shared/data/extraction):
    pages/NAME.html + expectations.jsonl. Outputs go to OUTDIR/TOOL/NAME.txt, which is what
    that folder's score.py reads; if DATASET/score.py exists it is imported and run on them.
  * benchmark layout (article-extraction-benchmark style, e.g. a folder with ground-truth.json and html/ID.html):
    ground-truth.json ({id: {"articleBody": ...}}) + html/ID.html. Outputs go to
    OUTDIR/TOOL/ID.txt and OUTDIR/TOOL.json ({id: {"articleBody": ...}}), and are scored with
    the shingle precision/recall/F1 below.

Peers and settings
  trafilatura: trafilatura.extract(html_bytes, include_comments=False, include_tables=True,
               include_formatting=False, fast=False), plain text output (the settings of
               trafilatura's own evaluation). None counts as "".
  readability: readability.Document(html_bytes).summary() (readability-lxml decodes the bytes
               itself), then the returned HTML fragment is turned into text here: block elements
               (p, div, h1-h6, li, blockquote, pre, tr, table, ...) start new paragraphs, <br>
               starts a new line, whitespace inside a paragraph is collapsed, paragraphs are
               joined by a blank line. That conversion is part of the timed call.

Speed: for each tool the whole page list is extracted --repeat times (default 3); the time of
each pass is measured with time.perf_counter around the extraction calls only (file reading,
writing and scoring are outside it). Reported: pages/second = pages / median pass time, plus
the median ms per page. The texts written are those of the first pass.

Scoring, benchmark layout. Same definitions as the evaluate.py of the scrapinghub
article-extraction-benchmark (reimplemented here, not copied):
  tokens(text)   = re.findall(r"\\w+", text)   (Unicode \\w; case is kept: no lower-casing)
  shingles(text) = multiset (Counter) of the n-grams tokens[i:i+n] for i in
                   0 .. max(1, len(tokens)-n+1)-1, with n = 4 (--ngram); a text with fewer than
                   n tokens gives one shorter shingle, an empty text gives none
  per page, over the union of shingles s of gold G and prediction P (multiset counts):
      tp = sum min(G[s], P[s]);  fp = sum max(0, P[s]-G[s]);  fn = sum max(0, G[s]-P[s])
      then (tp, fp, fn) are divided by tp+fp+fn (if > 0), so every page weighs the same
  page precision = 1 if fp == fn == 0; 0 if tp == fp == 0; else tp/(tp+fp)
  page recall    = 1 if fp == fn == 0; 0 if tp == fn == 0; else tp/(tp+fn)
  precision = mean of page precisions over pages with tp+fp > 0 (pages with output)
  recall    = mean of page recalls over pages with tp+fn > 0 (pages with gold shingles)
  F1        = 2PR/(P+R) of those two means (not a mean of per-page F1s)
  ± = 1.96 x standard deviation of the metric over --bootstrap resamples of the pages
      (random.Random(0); 1000 by default; 0 turns it off).
With --ngram 1 the same formulas give plain bag-of-tokens precision/recall/F1.

Scoring, snippet layout: DATASET/score.py (micro-averaged over all with/without snippets,
case-sensitive substring matching after whitespace squashing); see that folder's README.

Install: python3 -m venv /work/venvs/extract-peers && /work/venvs/extract-peers/bin/pip install
-r tools/peers/requirements.txt (trafilatura 2.3.1, readability-lxml, lxml_html_clean).
"""

import argparse
import importlib.util
import json
import os
import random
import re
import statistics
import sys
import time
from collections import Counter

# ---------------------------------------------------------------- data sets


def load_dataset(folder):
    """Return (layout, pages) with pages = [(name, html_bytes, gold_or_None)]."""
    if os.path.isfile(os.path.join(folder, "ground-truth.json")):
        with open(os.path.join(folder, "ground-truth.json"), encoding="utf-8") as handle:
            truth = json.load(handle)
        pages = []
        for key in sorted(truth):
            with open(os.path.join(folder, "html", key + ".html"), "rb") as handle:
                pages.append((key, handle.read(), truth[key].get("articleBody") or ""))
        return "benchmark", pages
    if os.path.isfile(os.path.join(folder, "expectations.jsonl")):
        pages = []
        with open(os.path.join(folder, "expectations.jsonl"), encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    record = json.loads(line)
                    name = record["file"]
                    with open(os.path.join(folder, "pages", name), "rb") as page:
                        stem = name[:-5] if name.endswith(".html") else name
                        pages.append((stem, page.read(), None))
        return "snippets", pages
    sys.exit(f"{folder}: neither ground-truth.json + html/ nor expectations.jsonl + pages/")


# ---------------------------------------------------------------- peers


def make_trafilatura():
    import trafilatura

    def run(data):
        text = trafilatura.extract(data, include_comments=False, include_tables=True,
                                   include_formatting=False, fast=False)
        return text or ""

    return run, f"trafilatura {getattr(trafilatura, '__version__', '?')}"


BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "body", "caption", "dd", "details", "div", "dl",
    "dt", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "html", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody",
    "td", "tfoot", "th", "thead", "tr", "ul",
}
SKIP_TAGS = {"script", "style", "noscript", "template"}
_PARA = "\x00"
_LINE = "\x01"


def fragment_to_text(fragment):
    """Paragraph-aware text of an HTML fragment (readability's summary)."""
    import lxml.html

    if not fragment or not fragment.strip():
        return ""
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    parts = []

    def walk(element):
        tag = element.tag if isinstance(element.tag, str) else ""
        tag = tag.lower()
        if tag in SKIP_TAGS:
            if element.tail:
                parts.append(element.tail)
            return
        block = tag in BLOCK_TAGS
        if block:
            parts.append(_PARA)
        elif tag == "br":
            parts.append(_LINE)
        if tag and element.text:  # comments and processing instructions have no tag
            parts.append(element.text)
        for child in element:
            walk(child)
        if block:
            parts.append(_PARA)
        if element.tail:
            parts.append(element.tail)

    walk(root)
    text = "".join(parts)
    paragraphs = []
    for chunk in text.split(_PARA):
        lines = [" ".join(line.split()) for line in chunk.split(_LINE)]
        lines = [line for line in lines if line]
        if lines:
            paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def make_readability():
    import readability
    from readability import Document

    def run(data):
        return fragment_to_text(Document(data).summary())

    version = getattr(readability, "__version__", "")
    if not version:
        try:
            from importlib.metadata import version as dist_version
            version = dist_version("readability-lxml")
        except Exception:  # pragma: no cover - only the label
            version = "?"
    return run, f"readability-lxml {version}"


PEERS = {"trafilatura": make_trafilatura, "readability": make_readability}


# ---------------------------------------------------------------- scoring (benchmark layout)

TOKEN = re.compile(r"\w+", re.UNICODE)


def shingles(text, n):
    tokens = TOKEN.findall(text or "")
    grams = Counter()
    for i in range(max(1, len(tokens) - n + 1)):
        gram = tuple(tokens[i:i + n])
        if gram:
            grams[gram] += 1
    return grams


def page_counts(gold, pred, n):
    g, p = shingles(gold, n), shingles(pred, n)
    tp = fp = fn = 0.0
    for key in set(g) | set(p):
        a, b = g.get(key, 0), p.get(key, 0)
        tp += min(a, b)
        fp += max(0, b - a)
        fn += max(0, a - b)
    total = tp + fp + fn
    if total > 0:
        tp, fp, fn = tp / total, fp / total, fn / total
    return tp, fp, fn


def page_precision(tp, fp, fn):
    if fp == fn == 0:
        return 1.0
    if tp == fp == 0:
        return 0.0
    return tp / (tp + fp)


def page_recall(tp, fp, fn):
    if fp == fn == 0:
        return 1.0
    if tp == fn == 0:
        return 0.0
    return tp / (tp + fn)


def aggregate(counts):
    precisions = [page_precision(*c) for c in counts if c[0] + c[1] > 0]
    recalls = [page_recall(*c) for c in counts if c[0] + c[2] > 0]
    precision = statistics.mean(precisions) if precisions else 0.0
    recall = statistics.mean(recalls) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def score_benchmark(pages, texts, n, n_bootstrap):
    counts = [page_counts(gold, texts[name], n) for name, _, gold in pages]
    result = aggregate(counts)
    if n_bootstrap > 0 and len(counts) > 1:
        rng = random.Random(0)
        samples = {key: [] for key in result}
        for _ in range(n_bootstrap):
            draw = [counts[rng.randrange(len(counts))] for _ in counts]
            for key, value in aggregate(draw).items():
                samples[key].append(value)
        for key, values in samples.items():
            result[key + "_ci"] = 1.96 * statistics.stdev(values)
    result["pages_with_empty_output"] = sum(1 for name, _, _ in pages if not texts[name].strip())
    result["per_page"] = {name: {"tp": c[0], "fp": c[1], "fn": c[2],
                                 "precision": page_precision(*c), "recall": page_recall(*c)}
                          for (name, _, _), c in zip(pages, counts)}
    return result


def score_snippets(dataset, outdir):
    script = os.path.join(dataset, "score.py")
    if not os.path.isfile(script):
        return None
    spec = importlib.util.spec_from_file_location("peer_snippet_score", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expectations = module.load_expectations(os.path.join(dataset, "expectations.jsonl"))
    outputs = module.load_outputs_from_folder(outdir, expectations)
    total = Counter()
    for page in expectations:
        record = module.judge(page, outputs.get(module.stem(page["file"])))
        for key in ("tp", "fp", "fn", "tn"):
            total[key] += record[key]
    result = module.metrics(total["tp"], total["fp"], total["fn"], total["tn"])
    result.update(total)
    return result


# ---------------------------------------------------------------- main


def run_peer(run, pages, repeat):
    texts, times = {}, []
    for attempt in range(repeat):
        outputs = []
        start = time.perf_counter()
        for _, data, _ in pages:
            outputs.append(run(data))
        times.append(time.perf_counter() - start)
        if attempt == 0:
            texts = {name: text for (name, _, _), text in zip(pages, outputs)}
    return texts, times


def main(argv=None):
    parser = argparse.ArgumentParser(description="Run trafilatura and readability-lxml on a page set.")
    parser.add_argument("dataset", help="snippet-layout or benchmark-layout folder")
    parser.add_argument("--out", required=True, help="output folder (one subfolder per tool)")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes per tool (median is reported)")
    parser.add_argument("--tools", default="trafilatura,readability", help="comma-separated peers")
    parser.add_argument("--ngram", type=int, default=4, help="shingle size for the benchmark layout (1 = tokens)")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for ± (0 = none)")
    parser.add_argument("--json", help="also write the results (with per-page scores) to this file")
    args = parser.parse_args(argv)

    layout, pages = load_dataset(args.dataset)
    print(f"{args.dataset}: {layout} layout, {len(pages)} pages, "
          f"{sum(len(d) for _, d, _ in pages) / 1e6:.1f} MB of HTML")
    results = {"dataset": os.path.abspath(args.dataset), "layout": layout, "pages": len(pages),
               "repeat": args.repeat, "ngram": args.ngram, "tools": {}}
    for tool in [t.strip() for t in args.tools.split(",") if t.strip()]:
        if tool not in PEERS:
            sys.exit(f"unknown tool {tool!r}; known: {', '.join(PEERS)}")
        run, label = PEERS[tool]()
        texts, times = run_peer(run, pages, max(1, args.repeat))
        folder = os.path.join(args.out, tool)
        os.makedirs(folder, exist_ok=True)
        for name, text in texts.items():
            with open(os.path.join(folder, name + ".txt"), "w", encoding="utf-8") as handle:
                handle.write(text)
        median = statistics.median(times)
        entry = {"label": label, "seconds_per_pass": times, "median_seconds": median,
                 "pages_per_second": len(pages) / median if median else float("inf"),
                 "ms_per_page": 1000 * median / len(pages) if pages else 0.0}
        if layout == "benchmark":
            with open(os.path.join(args.out, tool + ".json"), "w", encoding="utf-8") as handle:
                json.dump({name: {"articleBody": text} for name, text in texts.items()}, handle,
                          ensure_ascii=False, indent=1)
            entry["scores"] = score_benchmark(pages, texts, args.ngram, args.bootstrap)
            s = entry["scores"]
            score_line = "  ".join(
                f"{key if key != 'f1' else 'F1'}={s[key]:.3f}"
                + (f" ± {s[key + '_ci']:.3f}" if key + "_ci" in s else "")
                for key in ("precision", "recall", "f1"))
            score_line += f"  ({args.ngram}-gram shingles; empty outputs: {s['pages_with_empty_output']})"
        else:
            entry["scores"] = score_snippets(args.dataset, folder)
            s = entry["scores"]
            score_line = ("(no score.py in the data set)" if s is None else
                          f"precision={s['precision']:.3f} recall={s['recall']:.3f} "
                          f"accuracy={s['accuracy']:.3f} F1={s['f1']:.3f} (score.py, micro)")
        results["tools"][tool] = entry
        print(f"{label:<26} {entry['pages_per_second']:8.1f} pages/s  {entry['ms_per_page']:7.2f} ms/page "
              f"(median of {len(times)})  {score_line}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
