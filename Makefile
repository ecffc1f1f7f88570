.PHONY: setup test run lint clean

setup:
	bash scripts/setup.sh

test:
	bash scripts/test.sh

run:
	bash scripts/run.sh

lint:
	bash scripts/lint.sh

clean:
	rm -rf .venv .state
