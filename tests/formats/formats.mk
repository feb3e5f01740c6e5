# tests/formats/: Catch2 tests of every file format, the data loader, and the shared
# gpt2_config / ln_paths table. One binary; suite tests/suites/20-formats.sh runs it.
FORMATS_TEST_SRCS := $(wildcard tests/formats/*.cpp)
FORMATS_TEST_BIN  := $(BUILD)/tests/formats/test_formats

$(FORMATS_TEST_BIN): $(FORMATS_TEST_SRCS:%.cpp=$(BUILD)/%.o) $(BUILD)/catch_main.o $(NOLN_LIBS)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) -o $@ $(filter %.o,$^) $(NOLN_LINK) $(BLAS_LIBS)

TEST_TARGETS += $(FORMATS_TEST_BIN)
