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
// Version 2 is written for a context with several cache groups (context::n_cache_groups): the
// header's `reserved` holds the number of groups after the first, and each follows the first
// group's values as u64 n_slots, u64 window, u32 n_layer, u64 n_cells, cells, keys, values.
// A one-group context writes version 1, byte for byte what earlier builds wrote.
//
// Loading treats the bytes as hostile: every field is checked against the context it is loaded
// into and against the bytes present, and nothing is modified until everything has been checked.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <unordered_set>

#include "runtime/context_impl.hpp"
#include "core/util.hpp"

namespace ember {

using detail::fail;

namespace {

constexpr uint32_t k_state_magic = 0x54534d45;  // "EMST"
constexpr uint32_t k_state_version = 2;  // the newest version read and written

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
    const size_t n_groups = c.kv.size();
    std::vector<std::vector<int64_t>> slots(n_groups);
    size_t row_bytes = 0;
    for (size_t g = 0; g < n_groups; ++g) {
        const kv_cache& kv = c.kv[g];
        for (int64_t s = 0; s < kv.capacity(); ++s)
            if (!kv.at(s).empty()) slots[g].push_back(s);
        row_bytes += slots[g].size() * (24 + size_t(kv.n_layer()) * (kv.k_row_bytes() + kv.v_row_bytes()));
    }
    std::span<const float> last;
    if (!c.logit_row.empty() && std::any_of(c.logit_row.begin(), c.logit_row.end(), [](int64_t r) { return r >= 0; }))
        last = logits(-1);

    std::vector<std::byte> out;
    out.reserve(128 + 40 * n_groups + row_bytes + last.size_bytes());
    writer w{out};
    auto cells_and_rows = [&](const kv_cache& kv, const std::vector<int64_t>& sl) {
        for (int64_t s : sl) {
            const auto& cl = kv.at(s);
            w.put(uint64_t(s));
            w.put(cl.pos);
            w.put(cl.seqs);
            w.put(cl.token);
        }
        for (int64_t l = 0; l < kv.n_layer(); ++l)
            for (int64_t s : sl) w.raw(kv.k_row(l, s), kv.k_row_bytes());
        for (int64_t l = 0; l < kv.n_layer(); ++l)
            for (int64_t s : sl) w.raw(kv.v_row(l, s), kv.v_row_bytes());
    };
    const kv_cache& kv = c.kv[0];
    w.put(k_state_magic);
    w.put(n_groups > 1 ? k_state_version : uint32_t(1));
    w.put(c.mdl->fingerprint());
    w.put(uint64_t(kv.capacity()));
    w.put(uint64_t(kv.window()));
    w.put(uint32_t(kv.params().type_k));
    w.put(uint32_t(kv.params().type_v));
    w.put(uint32_t(kv.n_layer()));
    w.put(uint32_t(kv.n_embd_kv()));
    w.put(uint32_t(c.params.n_seq_max));
    w.put(uint32_t(n_groups - 1));
    w.put(uint64_t(c.mdl->hparams().n_vocab));
    w.put(uint64_t(slots[0].size()));
    w.put(uint64_t(last.size()));
    cells_and_rows(kv, slots[0]);
    for (size_t g = 1; g < n_groups; ++g) {
        const kv_cache& k = c.kv[g];
        w.put(uint64_t(k.capacity()));
        w.put(uint64_t(k.window()));
        w.put(uint32_t(k.n_layer()));
        w.put(uint64_t(slots[g].size()));
        cells_and_rows(k, slots[g]);
    }
    w.raw(reinterpret_cast<const std::byte*>(last.data()), last.size_bytes());
    w.put(fnv1a(out));
    return out;
}

namespace {

// One group's cells and rows, read and checked; applied only once the whole file has been.
struct group_state {
    std::vector<std::pair<int64_t, kv_cache::cell>> cells;
    std::span<const std::byte> keys, values;
};

void read_group(reader& r, const kv_cache& kv, uint64_t n_cells, uint32_t n_seq_max, int64_t n_vocab, size_t g, group_state& out) {
    if (n_cells > uint64_t(kv.capacity()))
        fail(errc::bad_file, "state: {} cells exceed the size {} of cache group {}", n_cells, kv.capacity(), g);
    out.cells.reserve(size_t(n_cells));
    std::unordered_set<int64_t> seen;
    const uint64_t seq_mask = n_seq_max >= 64 ? ~uint64_t(0) : (uint64_t(1) << n_seq_max) - 1;
    for (uint64_t i = 0; i < n_cells; ++i) {
        const auto slot = r.get<uint64_t>("cell slot");
        kv_cache::cell cl;
        cl.pos = r.get<int32_t>("cell position");
        cl.seqs = r.get<uint64_t>("cell sequences");
        cl.token = r.get<int32_t>("cell token");
        if (slot >= uint64_t(kv.capacity()) || !seen.insert(int64_t(slot)).second)
            fail(errc::bad_file, "state: cell {} of cache group {} has an invalid or repeated slot {}", i, g, slot);
        if (cl.pos < 0 || cl.seqs == 0 || (cl.seqs & ~seq_mask) || cl.token < 0 || cl.token >= n_vocab)
            fail(errc::bad_file, "state: cell {} of cache group {} is invalid (position {}, sequences {:#x}, token {})", i, g, cl.pos,
                 cl.seqs, cl.token);
        out.cells.emplace_back(int64_t(slot), cl);
    }
    out.keys = r.take(uint64_t(kv.n_layer()) * n_cells * kv.k_row_bytes(), "keys");
    out.values = r.take(uint64_t(kv.n_layer()) * n_cells * kv.v_row_bytes(), "values");
}

void apply_group(kv_cache& kv, const group_state& st) {
    kv.clear();
    auto kc = kv.mutable_cells();
    const size_t n = st.cells.size();
    for (size_t i = 0; i < n; ++i) {
        const int64_t slot = st.cells[i].first;
        kc[size_t(slot)] = st.cells[i].second;
        for (int64_t l = 0; l < kv.n_layer(); ++l) {
            std::memcpy(kv.k_row(l, slot), st.keys.data() + (size_t(l) * n + i) * kv.k_row_bytes(), kv.k_row_bytes());
            std::memcpy(kv.v_row(l, slot), st.values.data() + (size_t(l) * n + i) * kv.v_row_bytes(), kv.v_row_bytes());
        }
    }
}

}  // namespace

void context::load_state(std::span<const std::byte> data) {
    impl& c = *impl_;
    const kv_cache& kv = c.kv[0];
    const model_hparams& hp = c.mdl->hparams();
    reader r{data};
    if (data.size() < 8) fail(errc::bad_file, "state: {} bytes is too short to be a saved state", data.size());
    if (r.get<uint32_t>("magic") != k_state_magic) fail(errc::bad_file, "state: not an ember state file (bad magic)");
    const auto version = r.get<uint32_t>("version");
    if (version < 1 || version > k_state_version)
        fail(errc::bad_file, "state: unsupported format version {} (this build reads 1 to {})", version, k_state_version);
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
    auto expect = [](uint64_t got, uint64_t want, const std::string& what) {
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
    const auto more_groups = r.get<uint32_t>("group count");
    if (version == 1 && more_groups != 0) fail(errc::bad_file, "state: version 1 with a nonzero reserved field {}", more_groups);
    expect(uint64_t(more_groups) + 1, c.kv.size(), "the number of cache groups");
    expect(r.get<uint64_t>("n_vocab"), uint64_t(hp.n_vocab), "vocabulary size");
    const auto n_cells = r.get<uint64_t>("cell count");
    const auto n_logits = r.get<uint64_t>("logit count");
    if (n_logits != 0 && n_logits != uint64_t(hp.n_vocab)) fail(errc::bad_file, "state: {} logits stored, expected 0 or {}", n_logits, hp.n_vocab);

    std::vector<group_state> groups(c.kv.size());
    read_group(r, kv, n_cells, n_seq_max, hp.n_vocab, 0, groups[0]);
    for (size_t g = 1; g < c.kv.size(); ++g) {
        const kv_cache& k = c.kv[g];
        const std::string which = fmt::format("cache group {}", g);
        expect(r.get<uint64_t>("group n_slots"), uint64_t(k.capacity()), which + " size");
        expect(r.get<uint64_t>("group window"), uint64_t(k.window()), which + " window");
        expect(r.get<uint32_t>("group n_layer"), uint64_t(k.n_layer()), which + " layer count");
        read_group(r, k, r.get<uint64_t>("group cell count"), n_seq_max, hp.n_vocab, g, groups[g]);
    }
    const auto lbytes = r.take(n_logits * sizeof(float), "logits");
    if (r.pos != r.in.size()) fail(errc::bad_file, "state: {} unexpected bytes after the logits", r.in.size() - r.pos);

    // Everything checked: replace the context's state.
    for (size_t g = 0; g < c.kv.size(); ++g) apply_group(c.kv[g], groups[g]);
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
