# scripts/: `make demo` runs scripts/demo.sh (docs/demo.md): pretrain a tiny GPT-2 on the CPU,
# fine-tune it vanilla and LN-free, compare on held-out text, plot, export, check the export.
.PHONY: demo
demo: setup
	@$(MAKE) --no-print-directory -j2 train_gpt2_noln_cpu prepare_shards noln_eval
	@bash scripts/demo.sh
