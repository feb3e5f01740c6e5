# io/: file formats, the data loader and the tokenizer. Every io/*.cpp goes into one static
# library (see NOLN_LIBS); the shard tool prepare_shards (prepare_shards.cpp at the root) is
# built from it. Its tests: tests/formats/ and tests/tokenizer/.
$(BUILD)/libnoln_io.a: $(patsubst %.cpp,$(BUILD)/%.o,$(wildcard io/*.cpp))
	$(archive)

## prepare_shards: text files to GPT-2 token shards (docs/data.md)
prepare_shards: $(BUILD)/prepare_shards.o $(NOLN_LIBS)
	$(CXX) $(LDFLAGS) -o $@ $< $(NOLN_LINK)

TEST_TARGETS += prepare_shards
PROGRAMS     += prepare_shards
CLEAN_FILES  += prepare_shards

.PHONY: prepare-data
## prepare-data: fetch the assets and shard them into data/sotu/ (SOTU train, Moby Dick val, tokenizer; docs/data.md)
prepare-data: prepare_shards
	@bash scripts/fetch_assets.sh
	./prepare_shards -o data/sotu/sotu --val data/assets/moby-dick data/assets/sotu
