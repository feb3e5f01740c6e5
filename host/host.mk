# host/: plain C++ shared by every backend (formats, schedule, loop, tokenizer, ...).
# Every host/*.cpp goes into one static library; programs and tests link it.
HOST_SRCS := $(wildcard host/*.cpp)
HOST_LIB  := $(BUILD)/libnoln_host.a

$(HOST_LIB): $(HOST_SRCS:%.cpp=$(BUILD)/%.o)
	$(archive)

# What a program or test that uses the host library puts on its link line (after its objects).
HOST_LINK := $(HOST_LIB) $(MPI_LIBS)
