# tests/eval/: Catch2 tests of the evals (val CE, HellaSwag) and the LN-free export, and a
# tool that writes an export plus reference logits for scripts/check_export.py.
# Suites: tests/suites/55-eval.sh, 56-export-roundtrip.sh, 57-plot.sh, 58-eval-mpi.sh, 59-dla.sh.
EVAL_TEST_SRCS := $(wildcard tests/eval/test_*.cpp)
EVAL_TEST_BIN  := $(BUILD)/tests/eval/test_eval
EVAL_RT_TOOL   := $(BUILD)/tests/eval/export_roundtrip

$(EVAL_TEST_BIN): $(EVAL_TEST_SRCS:%.cpp=$(BUILD)/%.o) $(BUILD)/catch_main.o $(CPU_LIB) $(NOLN_LIBS)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) -o $@ $(filter %.o,$^) $(CPU_LINK)

$(EVAL_RT_TOOL): $(BUILD)/tests/eval/export_roundtrip.o $(CPU_LIB) $(NOLN_LIBS)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) -o $@ $< $(CPU_LINK)

TEST_TARGETS += $(EVAL_TEST_BIN) $(EVAL_RT_TOOL)

EVAL_MPI_TOOL := $(BUILD)/tests/eval/eval_mpi
$(EVAL_MPI_TOOL): $(BUILD)/tests/eval/eval_mpi.o $(CPU_LIB) $(NOLN_LIBS)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) -o $@ $< $(CPU_LINK)

TEST_TARGETS += $(EVAL_MPI_TOOL)
