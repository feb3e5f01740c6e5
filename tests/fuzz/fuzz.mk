# tests/fuzz/: one libFuzzer harness per file reader (clang, -fsanitize=fuzzer,address,undefined),
# a seed-corpus writer built from our own writers, `make fuzz` for long runs. The readers are
# compiled a second time here with clang and the sanitizers (the g++ libraries are not
# instrumented). Suite tests/suites/21-fuzz.sh runs each harness briefly; docs/CONTRIBUTING.md.
FUZZ_CXX     := clang++
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=c++17 -O1 -g -I. -MMD -MP $(FUZZ_SAN)
FUZZ_NAMES   := model train_state shard tokenizer hf eval_file debug_state
FUZZ_SRCS    := host/gpt2_config.cpp host/limits.cpp io/file_io.cpp io/json.cpp io/safetensors.cpp \
                io/hf_gpt2.cpp io/model_file.cpp io/shard.cpp io/tokenizer_bin.cpp io/eval_file.cpp \
                io/debug_state.cpp train/train_state.cpp train/sigma_ema.cpp
FUZZ_OBJS    := $(FUZZ_SRCS:%.cpp=$(BUILD)/fuzz/obj/%.o)
FUZZ_BINS    := $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)
FUZZ_SEEDS   := $(BUILD)/fuzz/make_seeds
FUZZ_TIME    ?= 300

$(BUILD)/fuzz/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.cpp $(FUZZ_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS)

$(FUZZ_SEEDS): $(BUILD)/tests/fuzz/make_seeds.o $(NOLN_LIBS)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) -o $@ $< $(NOLN_LINK)

-include $(FUZZ_OBJS:.o=.d) $(FUZZ_BINS:=.d)

TEST_TARGETS += $(FUZZ_BINS) $(FUZZ_SEEDS)

.PHONY: fuzz
## fuzz: run every libFuzzer harness FUZZ_TIME seconds (default 300) on its growing corpus in build/fuzz/corpus
fuzz: setup
	@$(MAKE) --no-print-directory $(FUZZ_BINS) $(FUZZ_SEEDS)
	@bash tests/fuzz/run_fuzz.sh $(FUZZ_TIME) $(FUZZ_NAMES)
