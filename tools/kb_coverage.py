#!/usr/bin/env python3
"""Which names the knowledge base misses: unlinked entities named in at least N documents.

Reads the entities table of an `analyze` run (entities.csv) and prints, most documents first, each
unlinked (nil:) name found in at least N documents: documents, label, name. The issue-11 goal is
that every person, organisation and place in at least three articles of the commentary pool is in
data/entities/entities.csv or a deliberate NIL.

    rhetor analyze ../shared/data/commentary/articles --no-stance --no-recommendations --out OUT
    python3 tools/kb_coverage.py OUT/entities.csv --min-docs 3
"""

import argparse
import collections
import csv

ap = argparse.ArgumentParser()
ap.add_argument("entities_csv")
ap.add_argument("--min-docs", type=int, default=3)
a = ap.parse_args()
docs, label = collections.defaultdict(set), {}
linked_docs = collections.defaultdict(set)
with open(a.entities_csv, encoding="utf-8-sig", newline="") as f:
    for r in csv.DictReader(f):
        if r["entity_id"].startswith("nil:"):
            docs[r["entity_name"]].add(r["doc_id"])
            label[r["entity_name"]] = r["label"]
        else:
            linked_docs[r["entity_id"]].add(r["doc_id"])
missing = sorted(((len(d), n) for n, d in docs.items() if len(d) >= a.min_docs), reverse=True)
frequent_linked = sum(1 for d in linked_docs.values() if len(d) >= a.min_docs)
print(f"# linked entities in >= {a.min_docs} documents: {frequent_linked}; unlinked names: {len(missing)}")
for n, name in missing:
    print(f"{n}\t{label[name]}\t{name}")
