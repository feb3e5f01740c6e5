// Which GELU the MLP uses (docs/training.md `--gelu`): GPT-2's tanh approximation (the
// default, what GPT-2 was trained with) or the exact erf form, x * Phi(x), which nanoGPT's
// nn.GELU() and so paper (a)'s fine-tune used (docs/method.md §5).
#pragma once
#include <string>

namespace noln {

enum class Gelu { Tanh = 0, Erf = 1 };

inline const char* gelu_name(Gelu g) { return g == Gelu::Erf ? "erf" : "tanh"; }

}  // namespace noln
