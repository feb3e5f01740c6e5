# host/: what every backend shares: errors, the GPT-2 config, the LN-path state, the Model
# interface and MPI ranks. Every host/*.cpp goes into one static library (see NOLN_LIBS).
$(BUILD)/libnoln_host.a: $(patsubst %.cpp,$(BUILD)/%.o,$(wildcard host/*.cpp))
	$(archive)
