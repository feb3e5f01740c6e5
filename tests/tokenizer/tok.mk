# Tokenizer and data: the Catch2 tests of io/bpe + io/progress, and a helper that dumps ids
# for the diff against the Python reference (tests/tokenizer/ref_bpe.py). Suite:
# tests/suites/40-tokenizer.sh (which also runs prepare_shards, built by io/io.mk).
TOK_TEST_BIN  := $(BUILD)/tests/tokenizer/test_tokenizer
TOK_DUMP_BIN  := $(BUILD)/tests/tokenizer/bpe_encode_files
TOK_TEST_OBJS := $(BUILD)/tests/tokenizer/test_bpe.o $(BUILD)/tests/tokenizer/test_progress.o

$(TOK_TEST_BIN): $(TOK_TEST_OBJS) $(BUILD)/catch_main.o $(NOLN_LIBS)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) -o $@ $(filter %.o,$^) $(NOLN_LINK)

$(TOK_DUMP_BIN): $(BUILD)/tests/tokenizer/bpe_encode_files.o $(NOLN_LIBS)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) -o $@ $(filter %.o,$^) $(NOLN_LINK)

TEST_TARGETS += $(TOK_TEST_BIN) $(TOK_DUMP_BIN)
