# Tokenizer and data (issue 3): the shard tool prepare_shards, the Catch2 tests of
# host/bpe + host/progress, and a helper that dumps ids for the diff against the Python
# reference (tests/tokenizer/ref_bpe.py). Suite: tests/suites/40-tokenizer.sh.
TOK_TEST_BIN  := $(BUILD)/tests/tokenizer/test_tokenizer
TOK_DUMP_BIN  := $(BUILD)/tests/tokenizer/bpe_encode_files
TOK_TEST_OBJS := $(BUILD)/tests/tokenizer/test_bpe.o $(BUILD)/tests/tokenizer/test_progress.o

$(TOK_TEST_BIN): $(TOK_TEST_OBJS) $(BUILD)/catch_main.o $(HOST_LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) -o $@ $(filter %.o,$^) $(HOST_LINK)

$(TOK_DUMP_BIN): $(BUILD)/tests/tokenizer/bpe_encode_files.o $(HOST_LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) -o $@ $(filter %.o,$^) $(HOST_LINK)

prepare_shards: $(BUILD)/prepare_shards.o $(HOST_LIB)
	$(CXX) $(LDFLAGS) -o $@ $(filter %.o,$^) $(HOST_LINK)

TEST_TARGETS += $(TOK_TEST_BIN) $(TOK_DUMP_BIN) prepare_shards
PROGRAMS     += prepare_shards

# The demo data: State of the Union addresses for training, Moby Dick held out for
# validation, plus gpt2_tokenizer.bin, all under data/sotu/ (docs/data.md).
.PHONY: prepare-data
prepare-data: prepare_shards
	@bash scripts/fetch_assets.sh
	./prepare_shards -o data/sotu/sotu --val data/assets/moby-dick data/assets/sotu
