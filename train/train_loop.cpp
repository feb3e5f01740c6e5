#include "train/train_loop.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <new>

#include "eval/eval.h"
#include "eval/export_hf.h"
#include "host/dist.h"
#include "host/error.h"
#include "host/limits.h"
#include "io/dataloader.h"
#include "io/eval_file.h"
#include "io/file_io.h"
#include "io/hf_gpt2.h"
#include "io/model_file.h"
#include "train/logger.h"
#include "train/plan.h"
#include "train/lr_schedule.h"
#include "train/schedule.h"
#include "train/sigma_ema.h"
#include "train/out_dir.h"
#include "train/train_state.h"

namespace noln {

// GPT-2's <|endoftext|>; a smaller test vocabulary uses its last id (as the HF export does).
static int eot_token_for(const GPT2Config& c) { return c.vocab_size > 50256 ? 50256 : c.vocab_size - 1; }

// The observations of the last forward, averaged over ranks so every rank's EMA (and so
// every frozen sigma) is identical: one allreduce of every site's two floats, site order.
static SigmaObs averaged_obs(const Model& m) {
    SigmaObs o = m.sigma_obs();
    const int world = dist().world;
    if (world == 1) return o;
    static_assert(sizeof(SiteObs) == 2 * sizeof(float), "SiteObs is two packed floats");
    float* buf = &o.sites.data()->sigma;
    const size_t n = 2 * o.sites.size();
    dist_allreduce_sum(buf, n);
    for (size_t i = 0; i < n; i++) buf[i] /= (float)world;
    return o;
}

// A new run's id: 64 random bits, the same on every rank (rank 0's).
static uint64_t new_run_id() {
    uint64_t id = 0;
    if (dist().rank == 0) {
        std::random_device rd;
        while (id == 0) id = ((uint64_t)rd() << 32) ^ rd();
    }
    dist_broadcast(&id, sizeof id, 0);
    return id;
}

// Every step is an agreement point (host/dist.h): a rank that fails to write its file stops
// every rank with its message, and DONE is written only once every file is in place.
static void save_checkpoint(Model& m, const TrainArgs& a, int step, uint64_t run_id,
                            const LNState& ln, const SigmaEMA& ema, const TokenSource& train,
                            const std::string& settings) {
    const Dist& d = dist();
    const size_t n = m.num_parameters();
    const CheckpointId id{run_id, step};
    uint64_t model_checksum = 0;
    dist_collectively([&] {
        if (d.rank != 0) return;
        make_dirs(a.out_dir);
        // an older checkpoint of this step (a run resumed from before it) stops being one now
        const std::string done = done_ckpt_path(a.out_dir, step);
        if (remove(done.c_str()) != 0 && file_exists(done)) fail("%s: cannot remove", done.c_str());
        // the working parameters exactly as the run has them (bf16 ones exact in v5)
        std::vector<float> p(n);
        m.get_working_parameters(p.data());
        model_checksum = write_model_file(model_ckpt_path(a.out_dir, step), m.config(), p.data(),
                                          m.model_file_version(), &ln, &id);
    });
    dist_broadcast(&model_checksum, sizeof model_checksum, 0);
    dist_collectively([&] {
        TrainState st;
        st.step = step;
        st.world = d.world;
        st.rank = d.rank;
        st.settings = settings;
        st.ln = ln;
        st.ema = ema;
        st.run_id = run_id;
        st.model_checksum = model_checksum;
        // this rank's range of the optimizer state: all of it, or its shard with -z 1
        st.m.resize(m.state_count());
        st.v.resize(m.state_count());
        m.get_optimizer_state(st.m.data(), st.v.data());
        if (m.has_master_weights()) {
            st.master.resize(m.state_count());
            m.get_master_weights(st.master.data());
        }
        st.loader = train.save_state();
        write_train_state(state_ckpt_path(a.out_dir, step, d.rank), st);
    });
    dist_collectively([&] {
        if (d.rank == 0) write_file_atomic(done_ckpt_path(a.out_dir, step), "", 0);
    });
    if (a.keep_ckpts > 0) {
        // rank 0 sees every DONE marker (-o may be node-local for the others): it decides and
        // unmarks, then every rank deletes its own files of those steps
        std::vector<int> old;
        if (d.rank == 0) {
            old = checkpoints_to_delete(checkpoint_steps(a.out_dir), a.keep_ckpts, a.major_ckpts);
            for (int s : old) std::remove(done_ckpt_path(a.out_dir, s).c_str());
        }
        int count = (int)old.size();
        dist_broadcast(&count, sizeof count, 0);
        old.resize(count);
        if (count) dist_broadcast(old.data(), count * sizeof(int), 0);
        for (int s : old) {
            std::remove(state_ckpt_path(a.out_dir, s, d.rank).c_str());
            if (d.rank == 0) std::remove(model_ckpt_path(a.out_dir, s).c_str());
        }
    }
}

// This rank's files of checkpoint `step`, read and checked against each other. Throws when
// they are damaged (unreadable, checksum, NaN) or not one checkpoint (run id, step, the
// model file's checksum): then -y 1 falls back to an older checkpoint.
struct CheckpointFiles {
    TrainState st;
    ModelFile mf;
};
static CheckpointFiles read_checkpoint(const std::string& dir, int step) {
    const std::string spath = state_ckpt_path(dir, step, dist().rank), mpath = model_ckpt_path(dir, step);
    CheckpointFiles f{read_train_state(spath), read_model_file(mpath)};
    const TrainState& st = f.st;
    const ModelFile& mf = f.mf;
    if (st.step != step) fail("%s: holds step %d, its name says %d", spath.c_str(), st.step, step);
    const bool legacy = st.run_id == 0 && mf.run_id == 0;  // both files from before run ids
    if (!legacy && (mf.run_id != st.run_id || mf.ckpt_step != step || mf.checksum != st.model_checksum))
        fail("%s and %s are not one checkpoint: the model file is step %d of run %016llx with "
             "checksum %016llx, the state expects step %d of run %016llx with checksum %016llx",
             mpath.c_str(), spath.c_str(), mf.ckpt_step, (unsigned long long)mf.run_id,
             (unsigned long long)mf.checksum, step, (unsigned long long)st.run_id,
             (unsigned long long)st.model_checksum);
    return f;
}

// Puts checkpoint files into the model, LN state, EMA and loader, after checking that this
// run may continue them (ranks, settings, shape, precision): a mismatch is the user's
// choice of flags, not damage, so it is refused rather than skipped.
static void apply_checkpoint(Model& m, const TrainArgs& a, int step, CheckpointFiles& f, LNState& ln,
                             SigmaEMA& ema, TokenSource& train, const std::string& settings) {
    const Dist& d = dist();
    const std::string spath = state_ckpt_path(a.out_dir, step, d.rank);
    const TrainState& st = f.st;
    if (st.world != d.world || st.rank != d.rank)
        fail("%s: cannot resume, the checkpoint was written by rank %d of %d, this is rank %d of %d; "
             "resume with the same number of ranks (each rank's state file holds its own data position, "
             "and with -z 1 its own shard of the optimizer state)",
             spath.c_str(), st.rank, st.world, d.rank, d.world);
    check_settings_match(st.settings, settings, spath);
    const std::string mpath = model_ckpt_path(a.out_dir, step);
    const ModelFile& mf = f.mf;
    const GPT2Config &c = m.config(), &fc = mf.config;
    if (fc.num_layers != c.num_layers || fc.channels != c.channels || fc.num_heads != c.num_heads ||
        fc.vocab_size != c.vocab_size || fc.padded_vocab_size != c.padded_vocab_size ||
        fc.max_seq_len != c.max_seq_len)
        fail("%s: cannot resume, the checkpoint's model shape differs from -e's", mpath.c_str());
    if (st.m.size() != m.state_count() || st.ln.num_layers() != c.num_layers)
        fail("%s: cannot resume, the optimizer state has %zu values, this rank keeps %zu of the model's %zu "
             "parameters' (-z must match too)", spath.c_str(), st.m.size(), m.state_count(), m.num_parameters());
    // A bf16 backend resumes its working parameters from the v5 file and its masters from
    // the state; the two precisions' checkpoints are not interchangeable.
    const char* prec[2] = {"FP32 (v3 model file, no masters)", "BF16 (v5 model file and masters)"};
    const bool wants = m.has_master_weights(), has = !st.master.empty();
    if (wants != has || mf.version != m.model_file_version())
        fail("%s: cannot resume, the checkpoint (v%d model file, %s master weights) is from a %s run "
             "and this trainer is %s; resume with the PRECISION build that wrote it", spath.c_str(),
             mf.version, has ? "with" : "no", prec[has], prec[wants]);
    m.set_working_parameters(mf.params.data());
    if (has) m.set_master_weights(st.master.data());
    m.set_optimizer_state(st.m.data(), st.v.data());
    ln = st.ln;
    ema = st.ema;
    train.load_state(st.loader);
}

TrainResult run_training(Model& m, TrainArgs& a, TokenSource& train, const TrainHooks& hooks,
                         const LNState* initial) {
    using clock = std::chrono::steady_clock;
    const Dist& d = dist();
    const GPT2Config& c = m.config();
    const int L = c.num_layers, B = a.B, T = a.T;
    const int accum = resolve_grad_accum(a, d.world);
    if (T > c.max_seq_len)
        fail("-t: sequence length %d is longer than the model's max_seq_len %d", T, c.max_seq_len);

    LNState ln = initial ? *initial : LNState(L);
    if (ln.num_layers() != L) fail("initial LN state has %d layers, the model %d", ln.num_layers(), L);
    const int eot = eot_token_for(c);
    ln.eot_token = eot;
    SigmaEMA ema(L, effective_sigma_momentum(a, d.world));

    // The output folder: rank 0 locks it, then removes what killed runs left there.
    std::unique_ptr<OutputLock> lock;
    if (!a.out_dir.empty())
        dist_collectively([&] {
            if (d.rank != 0) return;
            std::string note;
            lock = std::make_unique<OutputLock>(a.out_dir, &note);
            if (!note.empty()) printf("%s\n", note.c_str());
            for (const std::string& line : remove_orphaned_temps(a.out_dir)) printf("%s\n", line.c_str());
        });

    // Resume from the newest checkpoint every rank can read intact; a damaged one (or a
    // DONE marker without its files) is skipped, saying why.
    int start = 1;
    uint64_t run_id = 0;
    std::string settings;
    // rank 0's list of DONE markers, so every rank tries the same steps in the same order
    std::vector<int> ckpts = a.resume ? checkpoint_steps(a.out_dir) : std::vector<int>{};
    int nckpts = (int)ckpts.size();
    dist_broadcast(&nckpts, sizeof nckpts, 0);
    ckpts.resize(nckpts);
    dist_broadcast(ckpts.data(), ckpts.size() * sizeof(int), 0);
    std::string skipped;
    for (int k : ckpts) {
        CheckpointFiles f;
        std::string err;
        try {
            f = read_checkpoint(a.out_dir, k);
        } catch (const std::exception& e) {
            err = e.what();
        }
        err = dist_first_error(err);
        if (!err.empty()) {
            if (d.rank == 0) printf("-y 1: skipping the checkpoint of step %d: %s\n", k, err.c_str());
            skipped += "\n  step " + std::to_string(k) + ": " + err;
            continue;
        }
        // --lr-horizon left to its default keeps the run's horizon (the -x it started with)
        if (a.lr_horizon == 0) a.lr_horizon = std::atoi(settings_value(f.st.settings, "--lr-horizon").c_str());
        settings = resume_settings(a, c, d.world);
        dist_collectively([&] { apply_checkpoint(m, a, k, f, ln, ema, train, settings); });
        run_id = f.st.run_id;
        start = k + 1;
        if (k != ckpts.front() && d.rank == 0)
            printf("-y 1: fell back to the checkpoint of step %d, the newest intact one\n", k);
        break;
    }
    if (!ckpts.empty() && start == 1)
        throw AgreedError("-y 1: no intact checkpoint in " + a.out_dir + "; each one with a DONE marker "
                          "is damaged:" + skipped);
    if (start == 1) {
        settings = resume_settings(a, c, d.world);
        run_id = new_run_id();
    }
    std::unique_ptr<TrainLogger> logp;
    dist_collectively([&] { logp = std::make_unique<TrainLogger>(a.out_dir, d.rank == 0, start - 1); });
    TrainLogger& log = *logp;
    // FLOPs per trained token: 6 per parameter (forward 2, backward 4) plus the attention
    // scores and mixing, 12 L C T at full context (PaLM's appendix B count).
    const double flops_per_token = 6.0 * (double)m.num_parameters() + 12.0 * L * c.channels * c.max_seq_len;
    const std::string device = m.device_name();  // empty (the CPU): no throughput lines
    const double peak = m.peak_flops();
    if (!device.empty()) log.message(device_line(device, peak, m.precision_name()));
    if (start > 1) log.message("resumed from step " + std::to_string(start - 1) + " in " + a.out_dir);
    else if (a.resume && ckpts.empty()) log.message("-y 1: no complete checkpoint in " + a.out_dir + ", starting at step 1");
    {
        char b[256];
        snprintf(b, sizeof b, "%d rank(s), micro-batch %dx%d, %lld tokens/step, grad accum %d, schedule %s",
                 d.world, B, T, (long long)a.total_batch, accum, a.remove.to_string().c_str());
        log.message(b);
        for (const std::string& n : hooks.notes) log.message(n);
        if (a.sigma_momentum_seqs > 0) {
            snprintf(b, sizeof b, "sigma EMA momentum %.9g: --sigma-momentum %.9g per %d sequences, rescaled to %d "
                     "per update (-b %d x %d rank(s))", ema.momentum, a.sigma_momentum, a.sigma_momentum_seqs,
                     B * d.world, B, d.world);
            log.message(b);
        }
        if (a.remove.last_step(L) > a.sched_step(a.steps))
            log.message("warning: the removal schedule ends at step " +
                        std::to_string(a.remove.last_step(L)) + ", after -x " + std::to_string(a.steps));
    }

    const LRSchedule lrs{a.lr, a.warmup, a.final_frac, a.horizon()};
    m.set_aux_lambda(a.aux_lambda);
    m.set_gelu(a.gelu);
    auto evals = [&](int step) {
        if (hooks.val_loss) log.val(step, hooks.val_loss());
        if (a.hellaswag && hooks.hellaswag) {
            int correct = 0, n = 0;
            float acc = 0;
            hooks.hellaswag(correct, n, acc);
            log.hellaswag(step, correct, n, acc);
        }
    };
    // the starting model's numbers, with the LN state it starts from (its file's trailer)
    m.set_ln_state(ln);
    if (start == 1 && a.val_every > 0) evals(0);

    TrainResult res;
    res.first_step = start;
    std::vector<int> in((size_t)B * T), tg((size_t)B * T);
    auto fetch = [&] {
        train.next(in.data(), tg.data());
        if (a.mask_eot_targets)
            for (int& t : tg)
                if (t == eot) t = -1;
    };
    const float grad_scale_per_fwd = (float)(1.0 / ((double)accum * d.world));

    for (int step = start; step <= a.steps; step++) {
        auto t0 = clock::now();
        const int at = a.sched_step(step);  // the schedules' clock (paper (a): iteration step-1)
        apply_specials(a.bos_sigma_off, a.eot_sigma_off, at, ln, a.bos_off_ln1_only);
        bool have_batch = false;
        if (needs_calibration(a.remove, at, ln, ema)) {
            // a path due now was never observed (removed at step 1): measure it on the first batch
            fetch();
            have_batch = true;
            m.set_ln_state(ln);
            m.forward(in.data(), nullptr, B, T);
            ema.calibrate(averaged_obs(m), due_paths(a.remove, at, ln));
        }
        for (const FreezeEvent& e : apply_schedule(a.remove, at, ln, ema))
            log.froze(step, e, ln.bos_special || ln.eot_special);
        apply_bos_ln1_off(a.bos_sigma_off, at, ln, a.bos_off_ln1_only);
        m.set_ln_state(ln);

        m.zero_grad();
        double sums[3] = {0, 0, 0};  // CE * targets, aux, targets
        for (int micro = 0; micro < accum; micro++) {
            if (!have_batch) fetch();
            have_batch = false;
            ForwardResult r = m.forward(in.data(), tg.data(), B, T);
            ema.update(averaged_obs(m), ln);
            sums[0] += (double)r.ce * r.ntargets;
            sums[1] += r.aux;
            sums[2] += r.ntargets;
            m.backward(grad_scale_per_fwd);
        }
        m.allreduce_gradients();
        dist_allreduce_sum(sums, 3);
        const float ce = sums[2] > 0 ? (float)(sums[0] / sums[2]) : 0.0f;
        const float aux = (float)(sums[1] / ((double)accum * d.world));
        const float norm = m.grad_norm();
        if (!std::isfinite(ce) || !std::isfinite(aux) || !std::isfinite(norm)) {
            int k = a.out_dir.empty() ? 0 : newest_checkpoint(a.out_dir);
            fail("step %d: non-finite %s (loss %g, aux %g, grad norm %g): stopping before the update; "
                 "%s", step, std::isfinite(ce) && std::isfinite(aux) ? "gradient norm" : "loss",
                 ce, aux, norm,
                 k ? ("the last checkpoint (step " + std::to_string(k) + ") is intact").c_str()
                   : "no checkpoint was written");
        }
        const float grad_scale = (a.grad_clip > 0 && norm > a.grad_clip) ? a.grad_clip / norm : 1.0f;
        AdamW h;
        h.lr = lrs.at(at);
        h.beta1 = a.beta1;
        h.beta2 = a.beta2;
        h.eps = a.adam_eps;
        h.weight_decay = a.weight_decay;
        m.adamw_step(h, grad_scale, step);
        const double ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
        if (!device.empty() && ms > 0)  // this rank's share: accum forwards of B*T tokens
            log.message(throughput_line(step, flops_per_token * accum * B * T, ms / 1000.0, device, peak,
                                        m.precision_name()));

        StepRecord rec;
        rec.step = step;
        rec.steps = a.steps;
        rec.ce = ce;
        rec.aux = aux;
        rec.lr = h.lr;
        rec.grad_norm = norm;
        rec.ms = ms;
        rec.tokens_per_s = ms > 0 ? (double)a.total_batch / (ms / 1000.0) : 0;
        log.step(rec, ln);
        res.losses.push_back(ce);
        res.last_step = step;

        if (a.val_every > 0 && (step % a.val_every == 0 || step == a.steps)) evals(step);
        if (!a.out_dir.empty() && a.ckpt_every > 0 && (step % a.ckpt_every == 0 || step == a.steps))
            save_checkpoint(m, a, step, run_id, ln, ema, train, settings);
    }
    res.ln = ln;
    if (hooks.at_end)
        dist_collectively([&] {
            std::vector<float> p(m.num_parameters());
            m.get_parameters(p.data());
            hooks.at_end(ln, p.data());
        });
    return res;
}

// ---- the trainer's main() around the loop ----

// A lower bound of the host memory a run takes (docs/training.md "Limits"): 4 bytes per
// parameter for -e's copy and 16 for the trainer's weights, gradients and AdamW m and v, plus
// the logits and their gradient of one micro-batch (8 bytes per B*T*Vp), checked against this
// machine's memory before anything of that size is allocated.
static void check_run_memory(const TrainArgs& a, const GPT2Config& c, const std::string& where) {
    const uint64_t need = mul_sat(num_parameters(c), 20) +
                          mul_sat(mul_sat((uint64_t)a.B * (uint64_t)a.T, (uint64_t)c.padded_vocab_size), 8);
    char what[160];
    snprintf(what, sizeof what, "a run of %zu parameters (%dL %dC, Vp %d, maxT %d) with micro-batch %dx%d",
             num_parameters(c), c.num_layers, c.channels, c.padded_vocab_size, c.max_seq_len, a.B, a.T);
    check_size(where, what, need, physical_memory(), "this machine's memory");
}

// "dN" (is_fresh_model): a depth-N GPT-2 shaped by --width, --heads, --vocab, --max-seq.
static GPT2Config depth_config(const TrainArgs& a) {
    const std::string& e = a.model;
    const int depth = std::atoi(e.c_str() + 1);
    if (depth <= 0 || depth > 1000) fail("-e: %s: depth must be 1..1000", e.c_str());
    GPT2Config c = gpt2_config_for_depth(depth, a.max_seq, a.vocab, padded_vocab(a.vocab));
    if (a.width) c.channels = a.width;
    if (a.heads) c.num_heads = a.heads;
    validate_config(c, "-e " + e + " (with --width/--heads/--vocab/--max-seq)");
    return c;
}

// What -e names: our checkpoint or an llm.c .bin, a Hugging Face GPT-2 folder or
// .safetensors (read_any_model), or "dN" (depth_config), initialised here from --seed
// (gpt2_init_params).
static ModelFile load_initial_model(const TrainArgs& a) {
    const std::string& e = a.model;
    if (is_fresh_model(e)) {
        const GPT2Config c = depth_config(a);
        check_run_memory(a, c, "-e " + e + " (with --width/--heads/--vocab/--max-seq)");
        if (dist().rank == 0)
            printf("-e %s: initialising %zu parameters (%.3g GB) from --seed %llu\n", e.c_str(),
                   num_parameters(c), num_parameters(c) * 4.0 / 1e9, (unsigned long long)a.seed);
        ModelFile f;
        f.config = c;
        f.version = MODEL_VERSION_FP32;
        f.params.resize(num_parameters(c));
        gpt2_init_params(c, f.params.data(), a.seed);
        return f;
    }
    return read_any_model(e);
}

// Everything that can be checked before step 1 rather than failing on the way or at the end
// (docs/training.md "Checked before step 1"): the memory estimate, the HellaSwag file (read
// whole), the export target and whether the state the schedule reaches at -x can be exported.
static void check_before_training(const TrainArgs& a, const GPT2Config& c, const LNState* initial) {
    check_run_memory(a, c, "-e " + a.model);
    if (!a.hellaswag_file.empty()) read_eval_file(a.hellaswag_file, c.vocab_size);
    if (a.hellaswag && a.val_every == 0 && dist().rank == 0)
        fprintf(stderr, "warning: -h 1 with -v 0: HellaSwag runs only at validations, so never\n");
    if (a.export_hf.empty()) return;
    check_dir_target(a.export_hf, "--export-hf");
    if (a.gelu != Gelu::Tanh)
        fail("--export-hf: the Hugging Face export writes GPT-2's tanh GELU (gelu_new); "
             "a --gelu %s model cannot be exported this way", gelu_name(a.gelu));
    LNState end = initial ? *initial : LNState(c.num_layers);
    const LNState start = end;
    const int last = a.sched_step(a.steps);  // the schedules' clock at the last step
    for (const PathId& p : due_paths(a.remove, last, end)) end.path(p.kind, p.layer) = LNPath{true, 1.0f, 1.0f};
    apply_specials(a.bos_sigma_off, a.eot_sigma_off, last, end, a.bos_off_ln1_only);
    const std::string where = "--export-hf (the state after step " + std::to_string(a.steps) + ")";
    ExportOptions eo;
    eo.fold_ln1_split = true;  // the split is checked here: its sigmas are not known yet
    check_lnfree_exportable(end, where, eo);
    if (a.export_fold_ln1) return;
    // Without folding, ln1qk[l] and ln1v[l] must end with one sigma. Before training that is
    // known only when both are already frozen alike, or both freeze at the same step (they
    // then copy the same EMA value); any other pair would be refused after the last step.
    for (int l = 0; l < c.num_layers; l++) {
        const LNPath &qk = start.path(PATH_LN1QK, l), &v = start.path(PATH_LN1V, l);
        const bool same = (qk.frozen && v.frozen && qk.sigma == v.sigma) ||
                          (!qk.frozen && !v.frozen &&
                           a.remove.step_for(PATH_LN1QK, l) == a.remove.step_for(PATH_LN1V, l));
        if (!same)
            fail("--export-fold-ln1 0: layer %d's ln1qk and ln1v %s, so their sigmas will differ and "
                 "the export would be refused after the last step; use --export-fold-ln1 1 (exact) "
                 "or a schedule that freezes both at one step", l,
                 qk.frozen || v.frozen ? "do not start frozen with one sigma"
                                       : ("freeze at steps " + std::to_string(a.remove.step_for(PATH_LN1QK, l)) +
                                          " and " + std::to_string(a.remove.step_for(PATH_LN1V, l))).c_str());
    }
}

// The batch and memory plan (train/plan.h) for this run on this backend; rank 0 prints it
// for a GPU and for --plan 1. Every rank plans with the least free memory of any rank so
// that all choose the same micro-batch. initial: the model file's LN state (nullptr: all REAL).
static Plan plan_run(const TrainArgs& a, const GPT2Config& c, const LNState* initial, const DeviceMemory& dev,
                     PlanInput& in) {
    const Dist& d = dist();
    in.config = c;
    // --plan 1 without -x: the whole schedule
    const int64_t last = a.steps > 0 ? a.sched_step(a.steps) : INT64_MAX;
    in.ln1_split = ln1_split_possible(a.remove, initial ? *initial : LNState(c.num_layers), last, a.eot_sigma_off > 0);
    in.T = a.T;
    in.ranks = d.world;
    in.tokens_per_step = a.total_batch;
    in.B = a.B;
    in.zero = a.zero;
    in.recompute = a.recompute;
    in.floatx_bytes = dev.floatx_bytes;
    in.master = dev.master;
    in.max_auto_B = dev.free_gib ? 0 : 4;
    if (a.gpu_mem > 0) {
        in.gpu_gib = a.gpu_mem;
    } else if (dev.free_gib) {
        double g = -dev.free_gib();  // the minimum over ranks, as minus the maximum
        dist_allreduce_max(&g, 1);
        in.gpu_gib = -g;
    }
    Plan p = make_plan(in);
    if (d.rank == 0 && (a.plan || dev.free_gib)) {
        std::string text = plan_text(in, p);
        if (a.plan && in.zero == 0 && in.ranks > 1) {  // what sharding the optimizer would give
            PlanInput z = in;
            z.zero = 1;
            const Plan q = make_plan(z);
            char b[256];
            if (q.fits)
                snprintf(b, sizeof b, "with -z 1: model state %.2f GiB per rank, largest micro-batch %d, -b %d x %d "
                         "micro-step(s), %.2f GiB per GPU\n", q.state / 1073741824.0, q.max_B, q.B, q.accum,
                         (q.state + q.acts + q.headroom) / 1073741824.0);
            else
                snprintf(b, sizeof b, "with -z 1: %s\n", q.problem.c_str());
            text += b;
        }
        fputs(text.c_str(), stdout);
        fflush(stdout);
    }
    return p;
}

// The DataLoader as the loop's TokenSource.
class LoaderSource : public TokenSource {
public:
    LoaderSource(DataLoader& dl, std::string where) : dl_(dl), where_(std::move(where)) {}
    void next(int* inputs, int* targets) override {
        dl_.next_batch();
        const size_t n = (size_t)dl_.B() * dl_.T();
        std::copy(dl_.inputs(), dl_.inputs() + n, inputs);
        std::copy(dl_.targets(), dl_.targets() + n, targets);
    }
    std::string save_state() const override { return dl_.save_state(); }
    void load_state(const std::string& s) override { dl_.restore_state(s, where_); }

private:
    DataLoader& dl_;
    std::string where_;
};

int trainer_main(int argc, char** argv, const char* prog, const ModelFactory& make_model,
                 const DeviceMemory& dev) {
    const Dist& d = dist_init(&argc, &argv);
    // A write past `ulimit -f` then fails with EFBIG, a clear error (and the temporary file
    // is removed), instead of the signal killing the run.
    signal(SIGXFSZ, SIG_IGN);
    try {
        bool help = false;
        TrainArgs a = parse_train_args(argc, argv, &help);
        if (help) {
            if (d.rank == 0) fputs(train_usage(argv[0]).c_str(), stdout);
            return 0;
        }
        if (a.plan) {  // the plan alone: the model's shape, nothing allocated on a GPU
            PlanInput in;
            if (is_fresh_model(a.model)) return plan_run(a, depth_config(a), nullptr, dev, in).fits ? 0 : 1;
            const ModelFile f = load_initial_model(a);
            return plan_run(a, f.config, f.has_ln_state ? &f.ln : nullptr, dev, in).fits ? 0 : 1;
        }
        // the model: -e's parameters, and its LN state when the file carries one
        const ModelFile init = load_initial_model(a);
        PlanInput pin;
        const Plan plan = plan_run(a, init.config, init.has_ln_state ? &init.ln : nullptr, dev, pin);
        if (!plan.fits) fail("memory plan: %s", plan.problem.c_str());
        a.B = plan.B;
        a.total_batch = plan.total_batch;
        check_before_training(a, init.config, init.has_ln_state ? &init.ln : nullptr);
        std::unique_ptr<Model> owned = make_model(init.config, a.zero, a.recompute);
        Model& m = *owned;
        m.set_parameters(init.params.data());
        const LNState* initial = init.has_ln_state ? &init.ln : nullptr;
        const GPT2Config& c = m.config();

        // the data: training batches (-i) and validation (-j)
        DataLoader train(a.train_glob, a.B, a.T, d.rank, d.world, a.shuffle != 0, c.vocab_size, a.seed);
        LoaderSource src(train, "-o " + a.out_dir + " (training data loader state)");
        std::unique_ptr<DataLoader> val;
        if (!a.val_glob.empty())
            val = std::make_unique<DataLoader>(a.val_glob, a.B, a.T, d.rank, d.world, false,
                                               c.vocab_size, a.seed);

        // the evals and the export at the end
        TrainHooks hooks;
        if (!plan.batch_note.empty()) hooks.notes.push_back(plan.batch_note);
        if (val) {
            DataLoader* v = val.get();
            hooks.val_loss = [&m, v, &a]() { return eval_val_loss(m, *v, a.val_batches); };
        }
        if (a.hellaswag)
            hooks.hellaswag = [&m, &a](int& correct, int& n, float& acc) {
                // rows per forward: at least one example (4 rows); rows as long as the model takes
                HellaSwagResult r = eval_hellaswag(m, a.hellaswag_file, std::max(4, a.B), 0);
                correct = r.correct;
                n = r.n;
                acc = r.acc_norm;
            };
        if (!a.export_hf.empty()) {  // checked before training by check_before_training
            ExportOptions eo;
            eo.fold_ln1_split = a.export_fold_ln1 != 0;
            hooks.at_end = [&m, &a, eo](const LNState& ln, const float* params) {
                if (dist().rank == 0) {
                    export_hf_lnfree(a.export_hf, m.config(), params, ln, eo);
                    printf("exported the LN-free model to %s\n", a.export_hf.c_str());
                }
            };
        }
        run_training(m, a, src, hooks, initial);
    } catch (const AgreedError& e) {  // every rank knows: each stops cleanly
        fprintf(stderr, "%s (rank %d): %s\n", prog, d.rank, e.what());
        return 1;
    } catch (const std::bad_alloc&) {
        // Out of memory on this rank: say so, then end the other ranks as for any error.
        fprintf(stderr, "%s (rank %d): out of memory: an allocation failed (the run's sizes exceed "
                "the memory available to it)\n", prog, d.rank);
        if (d.world > 1) {
            fprintf(stderr, "%s (rank %d): aborting all %d ranks\n", prog, d.rank, d.world);
            dist_abort(1);
        }
        return 1;
    } catch (const std::exception& e) {
        // The other ranks may be waiting in a collective this rank will not reach: end them.
        fprintf(stderr, "%s (rank %d): %s\n", prog, d.rank, e.what());
        if (d.world > 1) {
            fprintf(stderr, "%s (rank %d): aborting all %d ranks\n", prog, d.rank, d.world);
            dist_abort(1);
        }
        return 1;
    }
    return 0;
}

}  // namespace noln
