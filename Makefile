# The two commands of the README: `make demo` (analyse the sample corpus into out/) and `make test`.
CARGO ?= cargo

.PHONY: demo test bench lint clean-out

demo:
	$(CARGO) run --release --locked --quiet -- analyze data/corpus --out out

test:
	$(CARGO) test --release --locked

bench:
	$(CARGO) run --release --locked --quiet -- bench data/corpus

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --release --locked --all-targets -- -D warnings

clean-out:
	rm -rf out
