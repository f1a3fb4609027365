# The two README commands; the scripts do the work so that they also run without make.
.PHONY: demo test lint bench

demo:
	./scripts/demo.sh

test:
	./scripts/test.sh

lint:
	.venv/bin/ruff check .

bench:
	.venv/bin/python bench/run.py
