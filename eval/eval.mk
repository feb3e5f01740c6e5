# eval/: forward-only evaluations (val CE, HellaSwag) and the LN-free Hugging Face export.
# Every eval/*.cpp goes into one static library (see NOLN_LIBS); the evaluate/export tool
# noln_eval and the attribution tool noln_dla (root sources, on the CPU model) are built from it. Its tests:
# tests/eval/.
$(BUILD)/libnoln_eval.a: $(patsubst %.cpp,$(BUILD)/%.o,$(wildcard eval/*.cpp))
	$(archive)

## noln_eval: evaluate (val CE, per-token statistics, HellaSwag), write reference logits of, or export LN-free a checkpoint (docs/demo.md)
noln_eval: $(BUILD)/noln_eval.o $(CPU_LIB) $(NOLN_LIBS)
	$(CXX) $(LDFLAGS) $< $(CPU_LINK) -o $@

## noln_dla: direct logit attribution of a text's last logit, with its sum check and naive-DLA error (docs/dla.md)
noln_dla: $(BUILD)/noln_dla.o $(CPU_LIB) $(NOLN_LIBS)
	$(CXX) $(LDFLAGS) $< $(CPU_LINK) -o $@

PROGRAMS     += noln_eval noln_dla
TEST_TARGETS += noln_eval noln_dla
CLEAN_FILES  += noln_eval noln_dla
