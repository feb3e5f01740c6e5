// The kernel lab's attention backward: every version's backward (after its own forward)
// validated against cpu/attention.h and checked bitwise reproducible, then timed on a GPU.
// dev/cuda/README.md.
//   ./attention_backward [VERSION|all] [-b B] [-t T] [-n NH] [-s HS] [-r REPEATS] [--validate-only]
#include "dev/cuda/attention_versions.h"

int main(int argc, char** argv) { return att_lab_main(argc, argv, true); }
