// Multi-rank check of eval/eval (tests/suites/58-eval-mpi.sh):
//   eval_mpi write DIR          one process: writes a val shard and an eval file to DIR
//   eval_mpi run DIR NBATCHES   under mpirun or alone: prints "val <loss> hs <n> <correct>"
// With W ranks and NBATCHES batches the val loss must equal one rank's with W*NBATCHES
// batches (rank r reads slice r of each window), and HellaSwag must count every example once.
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "cpu/gpt2_cpu.h"
#include "io/dataloader.h"
#include "host/dist.h"
#include "host/error.h"
#include "eval/eval.h"
#include "io/eval_file.h"
#include "io/file_io.h"
#include "io/shard.h"
#include "tests/eval/eval_util.h"

using namespace noln;

int main(int argc, char** argv) {
    const Dist& d = dist_init(&argc, &argv);
    try {
        if (argc < 3) fail("usage: eval_mpi write DIR | eval_mpi run DIR NBATCHES");
        std::string mode = argv[1], dir = argv[2];
        GPT2Config c = evaltest::tiny_config(2, 16, 2, 64, 16);
        if (mode == "write") {
            make_dirs(dir);
            std::mt19937 rng(3);
            std::vector<int> tok(2 * 8 * 16 + 1);
            for (int& t : tok) t = (int)(rng() % 64);
            write_shard(dir + "/val_000000.bin", tok);
            std::vector<EvalExample> ex(9);
            for (size_t i = 0; i < ex.size(); i++) {
                ex[i].label = (int)(rng() % 4);
                ex[i].context = {(int)(rng() % 64), (int)(rng() % 64)};
                for (int k = 0; k < 4; k++) ex[i].completions.push_back({(int)(rng() % 64), (int)(rng() % 64)});
            }
            write_eval_file(dir + "/hs.bin", ex);
            return 0;
        }
        if (mode != "run" || argc != 4) fail("usage: eval_mpi run DIR NBATCHES");
        std::vector<float> p = evaltest::random_params(c, 31, 8.0f);
        GPT2CPU m(c);
        m.set_parameters(p.data());
        DataLoader val(dir + "/val_*.bin", 2, 8, d.rank, d.world, false, c.vocab_size);
        float loss = eval_val_loss(m, val, atoi(argv[3]));
        HellaSwagResult r = eval_hellaswag(m, dir + "/hs.bin", 4, 0);
        if (d.rank == 0) printf("val %.6f hs %d %d\n", loss, r.n, r.correct);
        return 0;
    } catch (const Error& e) {
        fprintf(stderr, "eval_mpi (rank %d): %s\n", d.rank, e.what());
        return 1;
    }
}
