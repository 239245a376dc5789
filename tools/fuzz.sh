#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for SECONDS each (default 60), seeded from the repository's
# fixtures, and reports per target the runs, the time and what was found. Needs the nightly
# toolchain and cargo-fuzz (`cargo install cargo-fuzz`). A crash, a hang (over 5 s on an input of up
# to 1 MB in this instrumented build, which reads every input twice; a 600 KB page takes 0.4 s in a
# release build) or a run past 2 GB of memory stops that target and leaves the input in
# fuzz/artifacts/TARGET/; turn it into a fix and a regression test under tests/fixtures/fuzz/.
#   tools/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(read_txt read_markdown read_html read_jsonl read_csv read_gzip read_warc read_warc_gz sidecar metadata_table decoding dates segmentation)

seed() { # seed TARGET FILE...
  local dir=fuzz/corpus/$1; shift
  mkdir -p "$dir"
  for f in "$@"; do [ -f "$f" ] && cp "$f" "$dir/seed-$(sha256sum "$f" | cut -c1-16)"; done
  return 0
}
shopt -s nullglob globstar
txt=(tests/fixtures/formats/*.txt tests/fixtures/bad/*.txt data/corpus/**/*.txt)
seed read_txt "${txt[@]:0:12}"
seed read_markdown tests/fixtures/**/*.md
seed read_html tests/fixtures/formats/*.html tests/fixtures/bad/*.html tests/fixtures/web/pages/*.html data/extraction/other-sites/html/*.html
seed read_jsonl tests/fixtures/**/*.jsonl
seed read_csv tests/fixtures/formats/*.csv tests/fixtures/bad/*.csv tests/fixtures/stance/*.csv
seed read_gzip tests/fixtures/web/*.gz
seed read_warc tests/fixtures/web/broken.warc
for f in tests/fixtures/web/*.warc.gz; do gunzip -c "$f" > "/tmp/rhetor-seed-$(basename "$f" .gz)" 2>/dev/null || true; seed read_warc "/tmp/rhetor-seed-$(basename "$f" .gz)"; done
seed read_warc_gz tests/fixtures/web/*.warc.gz
seed sidecar tests/fixtures/**/*.meta.json data/corpus/**/*.meta.json
seed metadata_table tests/fixtures/*.csv tests/fixtures/formats/*.csv
seed decoding tests/fixtures/formats/* tests/fixtures/bad/*
mkdir -p fuzz/corpus/dates
i=0
for d in "2012-05-14" "May 14, 2012" "14 May 2012" "Monday, May 14, 2012" "May 2012" "2012" "05/14/2012" \
         "14.05.2012" "Published on: 2013-11-24T08:00:00Z" "2015-07-14T10:00:00+02:00" "14th May 2012" "Sept. 3, 2019"; do
  printf '%s' "$d" > "fuzz/corpus/dates/seed-$i"; i=$((i + 1))
done
seed segmentation tests/fixtures/formats/plain.txt "${txt[@]:0:6}" tests/fixtures/**/*.md

cargo +nightly fuzz build -s none -a >/dev/null
for t in "${targets[@]}"; do
  start=$(date +%s)
  set +e
  cargo +nightly fuzz run -s none -a "$t" -- -max_total_time="$secs" -max_len=1048576 -timeout=5 \
    -rss_limit_mb=2048 -print_final_stats=1 > "fuzz/$t.log" 2>&1
  rc=$?
  set -e
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "fuzz/$t.log" | grep -o '[0-9]*$' || echo "?")
  echo "$t: $(( $(date +%s) - start )) s, $runs runs, exit $rc$( [ $rc -ne 0 ] && echo " (see fuzz/$t.log and fuzz/artifacts/$t/)")"
done
