# scripts/: `make demo` runs scripts/demo.sh (docs/demo.md).
.PHONY: demo
## demo: the whole method on the CPU: pretrain a tiny GPT-2, fine-tune it vanilla and LN-free, compare (with all LN frozen untuned), plot, export, attribute
demo: setup
	@$(MAKE) --no-print-directory -j2 train_gpt2_noln_cpu prepare_shards noln_eval noln_dla
	@bash scripts/demo.sh
