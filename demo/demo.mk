# demo/: `make demo` runs scripts/demo.sh (docs/demo.md): pretrain a tiny GPT-2 on the CPU,
# fine-tune it vanilla and LN-free, compare on held-out text, plot, export, check the export.
DEMO_TOOL := $(BUILD)/demo/demo_tool

$(DEMO_TOOL): $(BUILD)/demo/demo_tool.o $(CPU_LIB) $(HOST_LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) $< $(CPU_LINK) -o $@

.PHONY: demo
demo: setup
	@$(MAKE) --no-print-directory -j2 train_gpt2_noln_cpu prepare_shards $(DEMO_TOOL)
	@bash scripts/demo.sh

TEST_TARGETS += $(DEMO_TOOL)
