# train/: the removal method and the training loop (arguments, presets, schedule, sigma EMA,
# LR schedule, logs, the loop, checkpoints). Every train/*.cpp goes into one static library
# (see NOLN_LIBS). The CPU trainer is a PROGRAM; the loop's Catch2 tests are one binary
# (tests/suites/50-*.sh).
$(BUILD)/libnoln_train.a: $(patsubst %.cpp,$(BUILD)/%.o,$(wildcard train/*.cpp))
	$(archive)

TRAIN_TEST_SRCS := $(wildcard tests/train/*.cpp)
TRAIN_TEST_BIN  := $(BUILD)/tests/train/test_train

$(TRAIN_TEST_BIN): $(TRAIN_TEST_SRCS:%.cpp=$(BUILD)/%.o) $(BUILD)/catch_main.o $(NOLN_LIBS)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) -o $@ $(filter %.o,$^) $(NOLN_LINK) $(BLAS_LIBS)

TEST_TARGETS += $(TRAIN_TEST_BIN)

## train_gpt2_noln_cpu: the trainer on the CPU backend (docs/training.md)
train_gpt2_noln_cpu: $(BUILD)/train_gpt2_noln_cpu.o $(CPU_LIB) $(NOLN_LIBS)
	$(CXX) $(LDFLAGS) $< $(CPU_LINK) -o $@

PROGRAMS     += train_gpt2_noln_cpu
TEST_TARGETS += train_gpt2_noln_cpu
CLEAN_FILES  += train_gpt2_noln_cpu
