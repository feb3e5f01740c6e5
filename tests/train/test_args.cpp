// The command line: presets set defaults, explicit flags win whatever their order, bad
// values are rejected with the flag named, -d must divide exactly.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "train/args.h"
#include "host/error.h"

using namespace noln;

static TrainArgs parse(std::vector<const char*> v) {
    v.insert(v.begin(), "prog");
    return parse_train_args((int)v.size(), v.data());
}

static std::string error_of(std::vector<const char*> v) {
    try {
        parse(v);
    } catch (const Error& e) {
        return e.what();
    }
    return "(accepted)";
}

TEST_CASE("a preset sets every hyperparameter", "[args]") {
    TrainArgs a = parse({"-e", "d2", "-i", "x.bin", "--preset", "paper-b-small"});
    CHECK(a.steps == 300);
    CHECK(a.horizon() == 300);
    CHECK(a.total_batch == 524288);
    CHECK(a.T == 1024);
    CHECK(a.lr == Approx(6e-4));
    CHECK(a.final_frac == Approx(0.5));
    CHECK(a.warmup == 25);
    CHECK(a.weight_decay == Approx(0.01));
    CHECK(a.beta2 == Approx(0.999));
    CHECK(a.aux_lambda == Approx(0.1));
    CHECK(a.sigma_momentum == Approx(0.9));
    CHECK(a.remove.at(PATH_LNF).start == 104);
    TrainArgs b = parse({"-e", "d2", "-i", "x", "--preset", "paper-b-large"});
    CHECK(b.final_frac * b.lr == Approx(4e-5));
    CHECK(b.horizon() == 1200);
}

TEST_CASE("explicit flags override the preset before or after it", "[args]") {
    for (bool first : {true, false}) {
        std::vector<const char*> v = {"-e", "d2", "-i", "x"};
        std::vector<const char*> over = {"-l", "1e-3", "-x", "50", "--aux-lambda", "0",
                                         "--remove", "ln2=5/1", "-t", "64", "-d", "-1"};
        std::vector<const char*> pre = {"--preset", "paper-b-small"};
        if (first) { v.insert(v.end(), pre.begin(), pre.end()); v.insert(v.end(), over.begin(), over.end()); }
        else { v.insert(v.end(), over.begin(), over.end()); v.insert(v.end(), pre.begin(), pre.end()); }
        TrainArgs a = parse(v);
        CHECK(a.lr == Approx(1e-3));
        CHECK(a.steps == 50);
        CHECK(a.horizon() == 300);  // the preset's horizon stays unless --lr-horizon
        CHECK(a.aux_lambda == 0.0f);
        CHECK(a.remove.at(PATH_LN2).start == 5);
        CHECK(a.remove.at(PATH_LN2).gap == 1);
        CHECK(a.remove.at(PATH_LN1QK).start == 44);  // untouched parts keep the preset's
        CHECK(a.T == 64);
        CHECK(a.warmup == 25);
    }
}

TEST_CASE("--vanilla 1 keeps every LN but every other number", "[args]") {
    TrainArgs a = parse({"--vanilla", "1", "-e", "d2", "-i", "x", "--preset", "paper-b-medium"});
    CHECK_FALSE(a.remove.any());
    CHECK(a.steps == 500);
    CHECK(a.aux_lambda == Approx(0.1));
    TrainArgs b = parse({"-e", "d2", "-i", "x", "--preset", "vanilla"});
    CHECK_FALSE(b.remove.any());
    CHECK(b.steps == 300);
}

TEST_CASE("no preset: llm.c's defaults", "[args]") {
    TrainArgs a = parse({"-e", "d2", "-i", "x", "-x", "10"});
    CHECK(a.B == 4);
    CHECK(a.T == 1024);
    CHECK(a.lr == Approx(3e-4));
    CHECK(a.final_frac == 1.0f);
    CHECK(a.warmup == 0);
    CHECK(a.horizon() == 10);
    CHECK(a.grad_clip == 1.0f);
    CHECK_FALSE(a.remove.any());
}

TEST_CASE("bad values are rejected and the flag is named", "[args]") {
    struct Case { std::vector<const char*> argv; const char* flag; };
    const std::vector<Case> cases = {
        {{"-e", "d2", "-i", "x", "-x", "ten"}, "-x"},
        {{"-e", "d2", "-i", "x", "-x", "0"}, "-x"},
        {{"-e", "d2", "-i", "x", "-x", "5", "-b", "-2"}, "-b"},
        {{"-e", "d2", "-i", "x", "-x", "5", "-l", "abc"}, "-l"},
        {{"-e", "d2", "-i", "x", "-x", "5", "-q", "1.5"}, "-q"},
        {{"-e", "d2", "-i", "x", "-x", "5", "--shuffle", "2"}, "--shuffle"},
        {{"-e", "d2", "-i", "x", "-x", "5", "--sigma-momentum", "1.1"}, "--sigma-momentum"},
        {{"-e", "d2", "-i", "x", "-x", "5", "--beta2", "1"}, "--beta2"},
        {{"-e", "d2", "-i", "x", "-x", "5", "--preset", "paper-c"}, "--preset"},
        {{"-e", "d2", "-i", "x", "-x", "5", "--remove", "ln2=1"}, "--remove"},
        {{"-e", "d2", "-i", "x", "-x", "5", "--bogus", "1"}, "--bogus"},
        {{"-e", "d2", "-i", "x", "-x"}, "-x"},
        {{"-e", "d2", "-i", "x", "-x", "5", "-h", "1"}, "-h"},
        {{"-e", "d2", "-i", "x", "-x", "5", "-y", "1"}, "-y"},
        {{"-i", "x", "-x", "5"}, "-e"},
        {{"-e", "d2", "-x", "5"}, "-i"},
        {{"-e", "d2", "-i", "x"}, "-x"},
        {{"-e", "d2", "-i", "x", "-x", "5", "-t", "1.5"}, "-t"},
    };
    for (const Case& c : cases) {
        std::string msg = error_of(c.argv);
        INFO(msg);
        CHECK(msg.rfind(std::string(c.flag) + ":", 0) == 0);
    }
}

TEST_CASE("-d must be an exact multiple of B*T*ranks", "[args]") {
    TrainArgs a = parse({"-e", "d2", "-i", "x", "-x", "5", "-b", "4", "-t", "64", "-d", "1024"});
    CHECK(resolve_grad_accum(a, 1) == 4);
    CHECK(resolve_grad_accum(a, 2) == 2);
    CHECK(resolve_grad_accum(a, 4) == 1);
    try {
        resolve_grad_accum(a, 3);
        FAIL("accepted");
    } catch (const Error& e) {
        CHECK(std::string(e.what()).rfind("-d:", 0) == 0);
    }
    TrainArgs b = parse({"-e", "d2", "-i", "x", "-x", "5", "-b", "4", "-t", "64"});
    CHECK(resolve_grad_accum(b, 2) == 1);
    CHECK(b.total_batch == 512);
}

TEST_CASE("--help lists every flag", "[args]") {
    const char* argv[] = {"prog", "-x", "3", "--help"};
    bool help = false;
    parse_train_args(4, argv, &help);
    CHECK(help);
    std::string u = train_usage("prog");
    for (const std::string& f : train_flag_names()) {
        INFO(f);
        CHECK(u.find("  " + f + " ") != std::string::npos);
    }
    CHECK(u.find("paper-b-xl") != std::string::npos);
}

// issue 11 item 6: -d was divided in 64 bits but the quotient stored in an int, so 2^38 tokens
// at -b 1 -t 1 ran 0 micro-batches and 2^32+1 ran 1 while logging 4.3e9 tokens per step.
TEST_CASE("-d: micro-batches per step are counted in 64 bits and capped", "[args]") {
    TrainArgs a = parse({"-e", "d2", "-i", "x", "-x", "5", "-b", "4", "-t", "1024", "-d", "274877906944"});
    CHECK(resolve_grad_accum(a, 1) == 67108864);  // 2^38 / 4096
    for (const char* d : {"274877906944", "4294967297"}) {
        INFO(d);
        TrainArgs b = parse({"-e", "d2", "-i", "x", "-x", "5", "-b", "1", "-t", "1", "-d", d});
        REQUIRE_THROWS_WITH(resolve_grad_accum(b, 1), Catch::Matchers::Contains("-d:") &&
                                                          Catch::Matchers::Contains("more than the limit 2147483647"));
    }
    TrainArgs c = parse({"-e", "d2", "-i", "x", "-x", "5", "-b", "1048576", "-t", "4096"});
    REQUIRE_THROWS_WITH(resolve_grad_accum(c, 1), Catch::Matchers::Contains("tokens per micro-batch"));
}

// issue 11 item 10: flags that would be silently ignored are refused.
TEST_CASE("-n needs -o; the dN shape flags need -e dN", "[args]") {
    CHECK(error_of({"-e", "d2", "-i", "x", "-x", "5", "-n", "2"}).rfind("-n: checkpoints (-n 2) need -o DIR", 0) == 0);
    CHECK(parse({"-e", "d2", "-i", "x", "-x", "5", "-n", "2", "-o", "out"}).ckpt_every == 2);
    CHECK(parse({"-e", "d2", "-i", "x", "-x", "5", "--width", "64"}).width == 64);
    for (const char* f : {"--width", "--heads", "--vocab", "--max-seq"}) {
        INFO(f);
        CHECK(error_of({"-e", "model.bin", "-i", "x", "-x", "5", f, "64"}).rfind(std::string(f) + ": applies only to -e dN", 0) == 0);
    }
}
