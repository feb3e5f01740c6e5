# bench/: speed of the CPU GPT-2, alone and against PyTorch (docs/benchmarks.md).
#   make bench-cpu                      both, on the default configs
#   make bench-cpu BENCH_CONFIGS=d4,d12 BENCH_THREADS=2
BENCH_CONFIGS ?= demo,d4,d6,d12
BENCH_THREADS ?= $(shell nproc)
BENCH_STEPS   ?= 5

$(BUILD)/bench/bench_cpu: $(BUILD)/bench/bench_cpu.o $(CPU_LIB) $(NOLN_LIBS)
	$(CXX) $(LDFLAGS) $< $(CPU_LINK) -o $@

.PHONY: bench-cpu
## bench-cpu: CPU GPT-2 step time against PyTorch (BENCH_CONFIGS=d4,d12 BENCH_THREADS=2; docs/benchmarks.md)
bench-cpu: $(BUILD)/bench/bench_cpu
	$(PYTHON) bench/bench_torch.py --ours $(BUILD)/bench/bench_cpu --configs $(BENCH_CONFIGS) \
	  --threads $(BENCH_THREADS) --steps $(BENCH_STEPS)
