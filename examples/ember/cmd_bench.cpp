// ember bench: prompt-processing and generation speed, measured the way llama.cpp's llama-bench
// measures them (random tokens, an empty cache per repetition, a warm-up run first), with the
// same columns and JSON field names so that results can be set side by side.
#include <sys/resource.h>
#include <sys/utsname.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "args.hpp"
#include "commands.hpp"
#include "common_flags.hpp"
#include "ember/context.hpp"
#include "ember/kernels.hpp"
#include "ember/model.hpp"

namespace ember::cli {

namespace {

constexpr const char* k_help = R"(usage: ember bench -m MODEL [-p N] [-n N] [-t THREADS] [-r REPS] [-o md|json|csv]

Measures prompt processing (pp: N random tokens in batches) and generation (tg: N tokens one at
a time) in tokens per second, as mean ± standard deviation over REPS repetitions after a
warm-up run, like llama.cpp's llama-bench. Also reports the peak resident memory and the weight
bandwidth achieved during generation (bytes of every weight read per token × tokens/s).

  -m, --model FILE         GGUF model (repeatable)
  -p, --n-prompt N         prompt tokens (default 512; 0 = skip the pp test)
  -n, --n-gen N            generated tokens (default 128; 0 = skip the tg test)
  -b, --batch-size N       tokens per forward pass for pp (default 512)
  -t, --threads N          threads (default: all cores)
  -r, --repetitions N      repetitions per test (default 5)
  -o, --output FORMAT      md (default), json or csv
  --cache-type-k T, --cache-type-v T   KV cache types (default f16)
  --seed S                 seed of the random tokens (default 1234)
  -mmp, --mmap 0|1         0 (default): read the model into memory, on huge pages; 1: map the
                           file (llama-bench's default; generation is slower)
  --no-mmap                the same as -mmp 0
  -nr, --no-repack 0|1     1: keep the weights as in the file instead of repacking those that
                           run faster row-interleaved (K-quants; default 0, as llama-bench)
)";

struct test_result {
    std::string model_filename, model_type, type_k, type_v;
    uint64_t model_size = 0, model_n_params = 0;
    int64_t n_batch = 0, n_threads = 0, n_prompt = 0, n_gen = 0;
    std::vector<double> samples_ns;
    std::string test_time;
    uint64_t peak_rss_bytes = 0;
    double gen_bandwidth_gbs = 0;
    bool use_mmap = true;

    double avg_ns() const { return std::accumulate(samples_ns.begin(), samples_ns.end(), 0.0) / double(samples_ns.size()); }
    double stddev_ns() const { return stddev(samples_ns); }
    std::vector<double> ts() const {
        std::vector<double> v;
        for (double ns : samples_ns) v.push_back(1e9 * double(n_prompt + n_gen) / ns);
        return v;
    }
    double avg_ts() const {
        const auto v = ts();
        return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
    }
    double stddev_ts() const { return stddev(ts()); }
    std::string name() const {
        return n_prompt > 0 ? "pp" + std::to_string(n_prompt) : "tg" + std::to_string(n_gen);
    }

    static double stddev(const std::vector<double>& v) {
        if (v.size() < 2) return 0;
        const double mean = std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
        double sq = 0;
        for (double x : v) sq += (x - mean) * (x - mean);
        return std::sqrt(sq / double(v.size() - 1));
    }
};

uint64_t peak_rss_bytes() {
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    return uint64_t(ru.ru_maxrss) * 1024;
}

std::string now_iso8601() {
    const std::time_t t = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return buf;
}

std::string cpu_info() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown";
}

// Bytes read from the weights to generate one token: every tensor, except that only one row of
// the token embedding is read (all of it when it doubles as the output projection).
uint64_t bytes_per_token(const model& m) {
    uint64_t b = 0;
    for (const auto& t : m.file().tensors()) {
        if (t.name == "token_embd.weight" && !m.hparams().tied_output) b += t.row_bytes();
        else b += t.nbytes;
    }
    return b;
}

std::string json_str(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

void print_md_header() {
    std::printf("| %-30s | %10s | %10s | %-8s | %7s | %15s | %20s | %12s | %10s |\n", "model", "size", "params", "backend", "threads",
                "test", "t/s", "peak RSS", "tg GB/s");
    std::printf("| %s | %s: | %s: | %s | %s: | %s: | %s: | %s: | %s: |\n", std::string(30, '-').c_str(), std::string(9, '-').c_str(),
                std::string(9, '-').c_str(), std::string(8, '-').c_str(), std::string(6, '-').c_str(), std::string(14, '-').c_str(),
                std::string(19, '-').c_str(), std::string(11, '-').c_str(), std::string(9, '-').c_str());
}

void print_md(const test_result& r) {
    char size[32], params[32], ts[64], rss[32], bw[32];
    std::snprintf(size, sizeof size, "%.2f MiB", double(r.model_size) / (1 << 20));
    if (r.model_size >= (uint64_t(1) << 30)) std::snprintf(size, sizeof size, "%.2f GiB", double(r.model_size) / (1 << 30));
    std::snprintf(params, sizeof params, r.model_n_params >= 1000000000 ? "%.2f B" : "%.2f M",
                  double(r.model_n_params) / (r.model_n_params >= 1000000000 ? 1e9 : 1e6));
    std::snprintf(ts, sizeof ts, "%.2f ± %.2f", r.avg_ts(), r.stddev_ts());
    std::snprintf(rss, sizeof rss, "%.2f GB", double(r.peak_rss_bytes) / 1e9);
    if (r.n_gen > 0) std::snprintf(bw, sizeof bw, "%.1f", r.gen_bandwidth_gbs);
    else std::snprintf(bw, sizeof bw, "-");
    std::printf("| %-30s | %10s | %10s | %-8s | %7lld | %15s | %20s | %12s | %10s |\n", r.model_type.c_str(), size, params, "CPU",
                (long long)r.n_threads, r.name().c_str(), ts, rss, bw);
    std::fflush(stdout);
}

void print_json(const std::vector<test_result>& rs) {
    const std::string cpu = cpu_info();
    std::printf("[\n");
    for (size_t i = 0; i < rs.size(); ++i) {
        const auto& r = rs[i];
        std::string samples_ns, samples_ts;
        for (double v : r.samples_ns) samples_ns += (samples_ns.empty() ? "" : ", ") + std::to_string(uint64_t(v));
        for (double v : r.ts()) samples_ts += (samples_ts.empty() ? "" : ", ") + std::to_string(v);
        std::printf(
            "  {\n    \"build_commit\": \"ember\",\n    \"build_number\": 0,\n    \"cpu_info\": %s,\n    \"gpu_info\": \"\",\n"
            "    \"backends\": \"CPU\",\n    \"isa\": \"%s\",\n    \"model_filename\": %s,\n    \"model_type\": %s,\n    \"model_size\": %llu,\n"
            "    \"model_n_params\": %llu,\n    \"n_batch\": %lld,\n    \"n_ubatch\": %lld,\n    \"n_threads\": %lld,\n"
            "    \"type_k\": \"%s\",\n    \"type_v\": \"%s\",\n    \"n_gpu_layers\": 0,\n    \"flash_attn\": false,\n    \"use_mmap\": %s,\n"
            "    \"embeddings\": false,\n    \"n_prompt\": %lld,\n    \"n_gen\": %lld,\n    \"n_depth\": 0,\n    \"test_time\": \"%s\",\n"
            "    \"avg_ns\": %llu,\n    \"stddev_ns\": %llu,\n    \"avg_ts\": %.6f,\n    \"stddev_ts\": %.6f,\n    \"samples_ns\": [ %s ],\n"
            "    \"samples_ts\": [ %s ],\n    \"peak_rss_bytes\": %llu,\n    \"gen_bandwidth_gbs\": %.3f\n  }%s\n",
            json_str(cpu).c_str(), std::string(kernels::isa_name(kernels::active_isa())).c_str(), json_str(r.model_filename).c_str(),
            json_str(r.model_type).c_str(), (unsigned long long)r.model_size, (unsigned long long)r.model_n_params, (long long)r.n_batch,
            (long long)r.n_batch, (long long)r.n_threads, r.type_k.c_str(), r.type_v.c_str(), r.use_mmap ? "true" : "false",
            (long long)r.n_prompt, (long long)r.n_gen, r.test_time.c_str(), (unsigned long long)r.avg_ns(), (unsigned long long)r.stddev_ns(), r.avg_ts(), r.stddev_ts(),
            samples_ns.c_str(), samples_ts.c_str(), (unsigned long long)r.peak_rss_bytes, r.gen_bandwidth_gbs, i + 1 < rs.size() ? "," : "");
    }
    std::printf("]\n");
}

void print_csv(const std::vector<test_result>& rs) {
    std::printf("model_filename,model_type,model_size,model_n_params,n_batch,n_threads,type_k,type_v,n_prompt,n_gen,test_time,avg_ns,"
                "stddev_ns,avg_ts,stddev_ts,peak_rss_bytes,gen_bandwidth_gbs\n");
    for (const auto& r : rs)
        std::printf("%s,%s,%llu,%llu,%lld,%lld,%s,%s,%lld,%lld,%s,%llu,%llu,%.6f,%.6f,%llu,%.3f\n", json_str(r.model_filename).c_str(),
                    json_str(r.model_type).c_str(), (unsigned long long)r.model_size, (unsigned long long)r.model_n_params,
                    (long long)r.n_batch, (long long)r.n_threads, r.type_k.c_str(), r.type_v.c_str(), (long long)r.n_prompt,
                    (long long)r.n_gen, r.test_time.c_str(), (unsigned long long)r.avg_ns(), (unsigned long long)r.stddev_ns(),
                    r.avg_ts(), r.stddev_ts(), (unsigned long long)r.peak_rss_bytes, r.gen_bandwidth_gbs);
}

}  // namespace

int cmd_bench(std::span<char* const> argv) {
    args a("bench", argv);
    if (a.flag({"-h", "--help"})) {
        std::fputs(k_help, stdout);
        return 0;
    }
    const auto models = a.values({"-m", "--model"});
    const int64_t n_prompt = a.number_or<int64_t>({"-p", "--n-prompt"}, 512);
    const int64_t n_gen = a.number_or<int64_t>({"-n", "--n-gen"}, 128);
    const int reps = a.number_or<int>({"-r", "--repetitions"}, 5);
    const std::string out = a.value({"-o", "--output"}).value_or("md");
    const uint32_t seed = a.number_or<uint32_t>({"--seed"}, 1234);
    const bool no_mmap_flag = a.flag({"--no-mmap"});
    const int mmp = a.number_or<int>({"-mmp", "--mmap"}, 0);
    const bool use_mmap = !no_mmap_flag && mmp != 0;
    const int no_repack = a.number_or<int>({"-nr", "--no-repack"}, 0);
    context_params cp = parse_context_flags(a);
    a.finish();
    if (models.empty()) throw usage_error("-m MODEL is required");
    if (n_prompt < 0 || n_gen < 0 || (n_prompt == 0 && n_gen == 0)) throw usage_error("-p and -n must not be negative, and not both 0");
    if (reps < 1) throw usage_error("-r must be at least 1");
    if (mmp != 0 && mmp != 1) throw usage_error("-mmp must be 0 or 1");
    if (no_repack != 0 && no_repack != 1) throw usage_error("-nr must be 0 or 1");
    if (out != "md" && out != "json" && out != "csv") throw usage_error("-o must be md, json or csv");

    std::vector<test_result> results;
    if (out == "md") print_md_header();
    for (const auto& path : models) {
        model_params mp;
        mp.use_mmap = use_mmap;
        mp.repack = no_repack == 0;
        const auto m = model::load(path, mp);
        const auto& voc = m->vocab();
        const int64_t n_vocab = m->hparams().n_vocab;
        std::mt19937 rng(seed);
        auto random_tokens = [&](int64_t n) {
            std::vector<token_id> t(static_cast<size_t>(n));
            for (auto& x : t) x = token_id(rng() % uint32_t(n_vocab));
            if (voc.add_bos() && voc.bos() >= 0 && n > 0) t[0] = voc.bos();
            return t;
        };
        for (const auto& [np, ng] : {std::pair{n_prompt, int64_t(0)}, std::pair{int64_t(0), n_gen}}) {
            if (np == 0 && ng == 0) continue;
            context_params p = cp;
            p.n_ctx = std::max<int64_t>(np + ng, 1);
            p.n_batch = std::min<int64_t>(cp.n_batch, std::max<int64_t>(np, 1));
            p.context_shift = false;
            context ctx(m, p);
            test_result r;
            r.model_filename = path;
            r.use_mmap = use_mmap;
            r.model_type = m->description();
            r.model_size = m->weight_bytes();
            r.model_n_params = m->n_params();
            r.n_batch = p.n_batch;
            r.n_threads = ctx.params().n_threads;
            r.type_k = std::string(type_name(p.type_k));
            r.type_v = std::string(type_name(p.type_v));
            for (auto& c : r.type_k) c = char(std::tolower(c));
            for (auto& c : r.type_v) c = char(std::tolower(c));
            r.n_prompt = np;
            r.n_gen = ng;
            r.test_time = now_iso8601();
            auto run_once = [&](bool warmup) {
                ctx.clear();
                if (np > 0) {
                    ctx.decode(random_tokens(np));
                } else {
                    token_id t = voc.add_bos() && voc.bos() >= 0 ? voc.bos() : token_id(rng() % uint32_t(n_vocab));
                    for (int64_t i = 0; i < (warmup ? 1 : ng); ++i) {
                        ctx.decode(std::span(&t, 1));
                        t = token_id(rng() % uint32_t(n_vocab));
                    }
                }
            };
            run_once(true);  // warm-up: page in the weights, size the buffers
            for (int i = 0; i < reps; ++i) {
                const auto t0 = std::chrono::steady_clock::now();
                run_once(false);
                r.samples_ns.push_back(double(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count()));
            }
            r.peak_rss_bytes = peak_rss_bytes();
            if (ng > 0) r.gen_bandwidth_gbs = double(bytes_per_token(*m)) * r.avg_ts() / 1e9;
            if (out == "md") print_md(r);
            results.push_back(std::move(r));
        }
    }
    if (out == "json") print_json(results);
    if (out == "csv") print_csv(results);
    return 0;
}

}  // namespace ember::cli
