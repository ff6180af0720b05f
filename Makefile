# Shortcuts. The project's own entry points are scripts/run.sh (demo, test)
# and benchmarks/run.sh; these targets only call them.
#
#   make bench         full benchmark, about 10 minutes (benchmarks/README.md)
#   make bench-quick   the same tables from shorter runs, about 2 minutes
#
# Extra bench.py options go in BENCH_ARGS, e.g.
#   make bench BENCH_ARGS="--modes pinned --workloads get16,mget100"

.PHONY: bench bench-quick

bench:
	bash benchmarks/run.sh $(BENCH_ARGS)

bench-quick:
	bash benchmarks/run.sh --quick $(BENCH_ARGS)
