// Saved context state. Layout (little-endian), version 1:
//
//   header   u32 magic "EMST", u32 version, u64 model fingerprint,
//            u64 n_slots, u64 window, u32 type_k, u32 type_v, u32 n_layer, u32 n_embd_kv,
//            u32 n_seq_max, u32 reserved, u64 n_vocab, u64 n_cells, u64 n_logits
//   cells    n_cells × (u64 slot, i32 pos, u64 seqs, i32 token)
//   keys     for each layer, for each cell: the slot's K row (type_k)
//   values   for each layer, for each cell: the slot's V row (type_v)
//   logits   n_logits floats (the last token's logits, or none)
//   trailer  u64 FNV-1a hash of everything before it
//
// Loading treats the bytes as hostile: every field is checked against the context it is loaded
// into and against the bytes present, and nothing is modified until everything has been checked.
#include <algorithm>
#include <cstring>
#include <fstream>
#include <unordered_set>

#include "context_impl.hpp"
#include "util.hpp"

namespace ember {

using detail::fail;

namespace {

constexpr uint32_t k_state_magic = 0x54534d45;  // "EMST"
constexpr uint32_t k_state_version = 1;

uint64_t fnv1a(std::span<const std::byte> b) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (std::byte x : b) h = (h ^ uint64_t(x)) * 0x100000001b3ull;
    return h;
}

struct writer {
    std::vector<std::byte>& out;
    template <class T> void put(T v) { raw(reinterpret_cast<const std::byte*>(&v), sizeof v); }
    void raw(const std::byte* p, size_t n) {
        if (n == 0) return;
        const size_t at = out.size();
        out.resize(at + n);
        std::memcpy(out.data() + at, p, n);
    }
};

struct reader {
    std::span<const std::byte> in;
    size_t pos = 0;
    template <class T> T get(const char* what) {
        if (in.size() - pos < sizeof(T)) fail(errc::bad_file, "state: truncated at offset {} while reading {}", pos, what);
        T v;
        std::memcpy(&v, in.data() + pos, sizeof v);
        pos += sizeof v;
        return v;
    }
    std::span<const std::byte> take(uint64_t n, const char* what) {
        if (n > in.size() - pos) fail(errc::bad_file, "state: truncated at offset {} while reading {} ({} bytes needed)", pos, what, n);
        auto s = in.subspan(pos, size_t(n));
        pos += size_t(n);
        return s;
    }
};

}  // namespace

std::vector<std::byte> context::save_state() const {
    const impl& c = *impl_;
    const kv_cache& kv = c.kv;
    std::vector<int64_t> slots;
    for (int64_t s = 0; s < kv.capacity(); ++s)
        if (!kv.at(s).empty()) slots.push_back(s);
    std::span<const float> last;
    if (!c.logit_row.empty() && std::any_of(c.logit_row.begin(), c.logit_row.end(), [](int64_t r) { return r >= 0; }))
        last = logits(-1);

    std::vector<std::byte> out;
    out.reserve(128 + slots.size() * (24 + size_t(kv.n_layer()) * (kv.k_row_bytes() + kv.v_row_bytes())) + last.size_bytes());
    writer w{out};
    w.put(k_state_magic);
    w.put(k_state_version);
    w.put(c.mdl->fingerprint());
    w.put(uint64_t(kv.capacity()));
    w.put(uint64_t(kv.window()));
    w.put(uint32_t(kv.params().type_k));
    w.put(uint32_t(kv.params().type_v));
    w.put(uint32_t(kv.n_layer()));
    w.put(uint32_t(kv.n_embd_kv()));
    w.put(uint32_t(c.params.n_seq_max));
    w.put(uint32_t(0));
    w.put(uint64_t(c.mdl->hparams().n_vocab));
    w.put(uint64_t(slots.size()));
    w.put(uint64_t(last.size()));
    for (int64_t s : slots) {
        const auto& cl = kv.at(s);
        w.put(uint64_t(s));
        w.put(cl.pos);
        w.put(cl.seqs);
        w.put(cl.token);
    }
    for (int64_t l = 0; l < kv.n_layer(); ++l)
        for (int64_t s : slots) w.raw(kv.k_row(l, s), kv.k_row_bytes());
    for (int64_t l = 0; l < kv.n_layer(); ++l)
        for (int64_t s : slots) w.raw(kv.v_row(l, s), kv.v_row_bytes());
    w.raw(reinterpret_cast<const std::byte*>(last.data()), last.size_bytes());
    w.put(fnv1a(out));
    return out;
}

void context::load_state(std::span<const std::byte> data) {
    impl& c = *impl_;
    kv_cache& kv = c.kv;
    const model_hparams& hp = c.mdl->hparams();
    reader r{data};
    if (data.size() < 8) fail(errc::bad_file, "state: {} bytes is too short to be a saved state", data.size());
    if (r.get<uint32_t>("magic") != k_state_magic) fail(errc::bad_file, "state: not an ember state file (bad magic)");
    const auto version = r.get<uint32_t>("version");
    if (version != k_state_version) fail(errc::bad_file, "state: unsupported format version {} (this build reads {})", version, k_state_version);
    if (data.size() < 16) fail(errc::bad_file, "state: truncated header");
    const uint64_t stored_hash = [&] {
        uint64_t h;
        std::memcpy(&h, data.data() + data.size() - 8, 8);
        return h;
    }();
    if (fnv1a(data.first(data.size() - 8)) != stored_hash) fail(errc::bad_file, "state: checksum mismatch (the file is corrupt or truncated)");
    r.in = data.first(data.size() - 8);

    if (r.get<uint64_t>("model fingerprint") != c.mdl->fingerprint())
        fail(errc::invalid_argument, "state: saved with a different model than {}", c.mdl->file().name());
    auto expect = [](uint64_t got, uint64_t want, const char* what) {
        if (got != want) fail(errc::invalid_argument, "state: {} is {} in the file but {} in this context", what, got, want);
    };
    expect(r.get<uint64_t>("n_slots"), uint64_t(kv.capacity()), "cache size");
    expect(r.get<uint64_t>("window"), uint64_t(kv.window()), "window");
    const auto tk = r.get<uint32_t>("type_k"), tv = r.get<uint32_t>("type_v");
    if (tk != uint32_t(kv.params().type_k) || tv != uint32_t(kv.params().type_v))
        fail(errc::invalid_argument, "state: cache types in the file (K {}, V {}) differ from this context's (K {}, V {})",
             find_type(tk) ? type_name(ggml_type(tk)) : "?", find_type(tv) ? type_name(ggml_type(tv)) : "?",
             type_name(kv.params().type_k), type_name(kv.params().type_v));
    expect(r.get<uint32_t>("n_layer"), uint64_t(kv.n_layer()), "layer count");
    expect(r.get<uint32_t>("n_embd_kv"), uint64_t(kv.n_embd_kv()), "KV row size");
    const auto n_seq_max = r.get<uint32_t>("n_seq_max");
    if (n_seq_max > uint32_t(c.params.n_seq_max))
        fail(errc::invalid_argument, "state: saved with {} sequences, this context allows {}", n_seq_max, c.params.n_seq_max);
    r.get<uint32_t>("reserved");
    expect(r.get<uint64_t>("n_vocab"), uint64_t(hp.n_vocab), "vocabulary size");
    const auto n_cells = r.get<uint64_t>("cell count");
    if (n_cells > uint64_t(kv.capacity())) fail(errc::bad_file, "state: {} cells exceed the cache size {}", n_cells, kv.capacity());
    const auto n_logits = r.get<uint64_t>("logit count");
    if (n_logits != 0 && n_logits != uint64_t(hp.n_vocab)) fail(errc::bad_file, "state: {} logits stored, expected 0 or {}", n_logits, hp.n_vocab);

    std::vector<std::pair<int64_t, kv_cache::cell>> cells;
    cells.reserve(size_t(n_cells));
    std::unordered_set<int64_t> seen;
    const uint64_t seq_mask = n_seq_max >= 64 ? ~uint64_t(0) : (uint64_t(1) << n_seq_max) - 1;
    for (uint64_t i = 0; i < n_cells; ++i) {
        const auto slot = r.get<uint64_t>("cell slot");
        kv_cache::cell cl;
        cl.pos = r.get<int32_t>("cell position");
        cl.seqs = r.get<uint64_t>("cell sequences");
        cl.token = r.get<int32_t>("cell token");
        if (slot >= uint64_t(kv.capacity()) || !seen.insert(int64_t(slot)).second)
            fail(errc::bad_file, "state: cell {} has an invalid or repeated slot {}", i, slot);
        if (cl.pos < 0 || cl.seqs == 0 || (cl.seqs & ~seq_mask) || cl.token < 0 || cl.token >= hp.n_vocab)
            fail(errc::bad_file, "state: cell {} is invalid (position {}, sequences {:#x}, token {})", i, cl.pos, cl.seqs, cl.token);
        cells.emplace_back(int64_t(slot), cl);
    }
    const auto kbytes = r.take(uint64_t(kv.n_layer()) * n_cells * kv.k_row_bytes(), "keys");
    const auto vbytes = r.take(uint64_t(kv.n_layer()) * n_cells * kv.v_row_bytes(), "values");
    const auto lbytes = r.take(n_logits * sizeof(float), "logits");
    if (r.pos != r.in.size()) fail(errc::bad_file, "state: {} unexpected bytes after the logits", r.in.size() - r.pos);

    // Everything checked: replace the context's state.
    kv.clear();
    auto kc = kv.mutable_cells();
    for (size_t i = 0; i < cells.size(); ++i) {
        const int64_t slot = cells[i].first;
        kc[size_t(slot)] = cells[i].second;
        for (int64_t l = 0; l < kv.n_layer(); ++l) {
            std::memcpy(kv.k_row(l, slot), kbytes.data() + (size_t(l) * cells.size() + i) * kv.k_row_bytes(), kv.k_row_bytes());
            std::memcpy(kv.v_row(l, slot), vbytes.data() + (size_t(l) * cells.size() + i) * kv.v_row_bytes(), kv.v_row_bytes());
        }
    }
    c.logits.assign(size_t(n_logits), 0.0f);
    if (n_logits) std::memcpy(c.logits.data(), lbytes.data(), lbytes.size());
    c.logit_row.assign(n_logits ? 1 : 0, 0);
}

void context::save_state_file(const std::filesystem::path& path) const {
    const auto bytes = save_state();
    const auto tmp = std::filesystem::path(path.string() + ".tmp");
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) fail(errc::io_error, "{}: cannot create", tmp.string());
        out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
        if (!out) fail(errc::io_error, "{}: write failed", tmp.string());
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) fail(errc::io_error, "{}: cannot rename into place: {}", path.string(), ec.message());
}

void context::load_state_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(errc::file_not_found, "{}: cannot open", path.string());
    std::vector<std::byte> bytes;
    in.seekg(0, std::ios::end);
    const auto size = in.tellg();
    if (size < 0) fail(errc::io_error, "{}: cannot determine the size", path.string());
    bytes.resize(size_t(size));
    in.seekg(0);
    in.read(reinterpret_cast<char*>(bytes.data()), size);
    if (!in) fail(errc::io_error, "{}: read failed", path.string());
    try {
        load_state(bytes);
    } catch (const error& e) {
        throw error(e.code(), path.string() + ": " + e.what());
    }
}

}  // namespace ember
