// The kernel lab's attention forward: every version (dev/cuda/attention_versions.h)
// validated against cpu/attention.h, then timed on a GPU. dev/cuda/README.md.
//   ./attention_forward [VERSION|all] [-b B] [-t T] [-n NH] [-s HS] [-r REPEATS] [--validate-only]
#include "dev/cuda/attention_versions.h"

int main(int argc, char** argv) { return att_lab_main(argc, argv, false); }
