.PHONY: setup test test-odoo test-upgrade run lint bench bench-dashboard clean

setup:
	bash scripts/setup.sh

test:
	bash scripts/test.sh

test-odoo:
	bash scripts/test_odoo.sh

test-upgrade:
	bash scripts/test_upgrade.sh

run:
	bash scripts/run.sh

lint:
	bash scripts/lint.sh

bench:
	bash scripts/bench.sh

bench-dashboard:
	bash scripts/bench_dashboard.sh

clean:
	rm -rf .venv .state
