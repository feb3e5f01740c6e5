// The CPU trainer: parse the flags, build the CPU GPT-2 from -e, hand both to the host
// loop (host/train_loop.h). Usage and flags: docs/training.md, or --help.
#include <cstdio>

#include "cpu/gpt2_cpu.h"
#include "host/args.h"
#include "host/dist.h"
#include "host/error.h"
#include "host/train_loop.h"

int main(int argc, char** argv) {
    using namespace noln;
    const Dist& d = dist_init(&argc, &argv);
    try {
        bool help = false;
        TrainArgs a = parse_train_args(argc, argv, &help);
        if (help) {
            if (d.rank == 0) fputs(train_usage(argv[0]).c_str(), stdout);
            return 0;
        }
        InitialModel im = load_initial_model(a);
        GPT2CPU model(im.file.config);
        if (im.fresh) {
            im.file.params.resize(num_parameters(im.file.config));
            gpt2_init_params(im.file.config, im.file.params.data(), a.seed);
        }
        model.set_parameters(im.file.params.data());
        train_with_data(model, a, im.file.has_ln_state ? &im.file.ln : nullptr);
    } catch (const Error& e) {
        fprintf(stderr, "train_gpt2_noln_cpu (rank %d): %s\n", d.rank, e.what());
        return 1;
    }
    return 0;
}
