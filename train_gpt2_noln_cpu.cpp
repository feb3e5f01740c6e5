// The CPU trainer: the host loop (train/train_loop.h) with the CPU GPT-2 as its backend.
// Usage and flags: docs/training.md, or --help.
#include <memory>

#include "cpu/gpt2_cpu.h"
#include "host/error.h"
#include "train/train_loop.h"

int main(int argc, char** argv) {
    return noln::trainer_main(argc, argv, "train_gpt2_noln_cpu", [](const noln::GPT2Config& c, int zero, int recompute) {
        if (zero) noln::fail("-z %d: ZeRO-1 is the CUDA trainer's (train_gpt2_noln); the CPU trainer keeps -z 0", zero);
        if (recompute) noln::fail("-r %d: recompute is the CUDA trainer's (train_gpt2_noln); the CPU trainer keeps -r 0", recompute);
        return std::make_unique<noln::GPT2CPU>(c);
    });
}
