# eval/: forward-only evaluations (val CE, HellaSwag) and the LN-free Hugging Face export.
# Every eval/*.cpp goes into one static library (see NOLN_LIBS); the evaluate/export tool
# noln_eval (noln_eval.cpp at the root, on the CPU model) is built from it. Its tests:
# tests/eval/.
$(BUILD)/libnoln_eval.a: $(patsubst %.cpp,$(BUILD)/%.o,$(wildcard eval/*.cpp))
	$(archive)

## noln_eval: evaluate (val CE, per-token statistics, HellaSwag), write reference logits of, or export LN-free a checkpoint (docs/demo.md)
noln_eval: $(BUILD)/noln_eval.o $(CPU_LIB) $(NOLN_LIBS)
	$(CXX) $(LDFLAGS) $< $(CPU_LINK) -o $@

PROGRAMS     += noln_eval
TEST_TARGETS += noln_eval
CLEAN_FILES  += noln_eval
