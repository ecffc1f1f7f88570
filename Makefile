.PHONY: setup test test-odoo test-upgrade run lint bench bench-latency bench-mapping bench-dashboard soak clean

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

bench-latency:
	bash scripts/bench_latency.sh

bench-mapping:
	bash scripts/bench_mapping.sh

bench-dashboard:
	bash scripts/bench_dashboard.sh

soak:
	bash scripts/soak.sh

clean:
	rm -rf .venv .state
