#include "io/safetensors.h"

#include <algorithm>
#include <cstring>

#include "host/error.h"
#include "io/file_io.h"
#include "io/json.h"
#include "io/model_file.h"

namespace noln {

namespace {
// Anything larger is not a real header (HF caps it at 100 MB too).
constexpr uint64_t MAX_HEADER = 100u << 20;

size_t dtype_size(const std::string& d) {
    if (d == "F32") return 4;
    if (d == "F16" || d == "BF16") return 2;
    return 0;
}
}  // namespace

size_t SafeTensor::numel() const {
    size_t n = 1;
    for (int64_t d : shape) n *= (size_t)d;
    return n;
}

float f16_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, man = h & 0x3FF, u;
    if (exp == 0x1F) {
        u = sign | 0x7F800000u | (man << 13);  // inf / NaN
    } else if (exp != 0) {
        u = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man == 0) {
        u = sign;
    } else {  // subnormal: normalise
        int e = -1;
        do { man <<= 1; e++; } while (!(man & 0x400));
        u = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3FF) << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

const SafeTensor* SafetensorsFile::find(const std::string& name) const {
    for (auto& t : tensors)
        if (t.name == name) return &t;
    return nullptr;
}

std::vector<float> SafetensorsFile::read_f32(const SafeTensor& t) const {
    FileReader r(path);
    r.seek(data_start + t.begin);
    const size_t n = t.numel();
    std::vector<float> out(n);
    std::string what = "tensor " + t.name;
    if (t.dtype == "F32") {
        r.read_exact(out.data(), n * 4, what.c_str());
    } else {
        std::vector<uint16_t> buf(n);
        r.read_exact(buf.data(), n * 2, what.c_str());
        const bool bf = t.dtype == "BF16";
        for (size_t i = 0; i < n; i++) out[i] = bf ? bf16_to_float(buf[i]) : f16_to_float(buf[i]);
    }
    return out;
}

SafetensorsFile read_safetensors(const std::string& path) {
    const char* p = path.c_str();
    FileReader r(path);
    uint64_t hlen;
    r.read_exact(&hlen, 8, "safetensors header length");
    if (hlen > r.remaining())
        fail("%s: safetensors header length %llu is larger than the rest of the file (%llu bytes)",
             p, (unsigned long long)hlen, (unsigned long long)r.remaining());
    if (hlen > MAX_HEADER)
        fail("%s: safetensors header length %llu is implausibly large", p, (unsigned long long)hlen);
    std::string text(hlen, '\0');
    r.read_exact(&text[0], hlen, "safetensors header");
    Json j = parse_json(text, path + " (safetensors header)");
    if (!j.is_object()) fail("%s: safetensors header is not a JSON object", p);

    SafetensorsFile f;
    f.path = path;
    f.data_start = 8 + hlen;
    const uint64_t data_size = r.size() - f.data_start;
    for (auto& m : j.members) {
        const std::string& name = m.first;
        const Json& v = m.second;
        if (name == "__metadata__") {
            if (!v.is_object()) fail("%s: __metadata__ must be an object", p);
            for (auto& kv : v.members) {
                if (!kv.second.is_string())
                    fail("%s: __metadata__ value of \"%s\" must be a string", p, kv.first.c_str());
                f.metadata[kv.first] = kv.second.str;
            }
            continue;
        }
        std::string where = path + ": tensor " + name;
        if (!v.is_object()) fail("%s: entry is not an object", where.c_str());
        SafeTensor t;
        t.name = name;
        t.dtype = json_string(json_member(v, "dtype", where), "dtype", where);
        const size_t es = dtype_size(t.dtype);
        if (!es)
            fail("%s: unsupported dtype \"%s\" (F32, F16 and BF16 are read)", where.c_str(),
                 t.dtype.c_str());
        const Json& shape = json_member(v, "shape", where);
        if (!shape.is_array()) fail("%s: shape must be an array", where.c_str());
        // the count times the element size must fit the file, so cap as we multiply
        uint64_t numel = 1;
        for (auto& d : shape.items) {
            int64_t x = json_int(d, "shape entry", where);
            if (x < 0) fail("%s: negative dimension %lld in shape", where.c_str(), (long long)x);
            t.shape.push_back(x);
            const uint64_t cap = UINT64_MAX / 8;  // saturate: a huge shape then fails the span check
            if (x == 0) numel = 0;
            else numel = numel > cap / (uint64_t)x ? cap : numel * (uint64_t)x;
        }
        const Json& off = json_member(v, "data_offsets", where);
        if (!off.is_array() || off.items.size() != 2)
            fail("%s: data_offsets must be an array [begin, end]", where.c_str());
        int64_t b = json_int(off.items[0], "data_offsets[0]", where);
        int64_t e = json_int(off.items[1], "data_offsets[1]", where);
        if (b < 0 || e < b)
            fail("%s: data_offsets [%lld, %lld] are not a valid range", where.c_str(),
                 (long long)b, (long long)e);
        if ((uint64_t)e > data_size)
            fail("%s: data_offsets [%lld, %lld] lie outside the data buffer (%llu bytes)",
                 where.c_str(), (long long)b, (long long)e, (unsigned long long)data_size);
        if ((uint64_t)(e - b) != numel * es)
            fail("%s: data_offsets span %lld bytes but shape and dtype %s need %llu", where.c_str(),
                 (long long)(e - b), t.dtype.c_str(), (unsigned long long)(numel * es));
        t.begin = (uint64_t)b;
        t.end = (uint64_t)e;
        f.tensors.push_back(t);
    }
    // The byte ranges must tile the buffer: no overlap (two tensors sharing bytes) and no holes.
    std::vector<const SafeTensor*> byoff;
    for (auto& t : f.tensors) byoff.push_back(&t);
    std::stable_sort(byoff.begin(), byoff.end(), [](const SafeTensor* a, const SafeTensor* b) {
        return a->begin < b->begin || (a->begin == b->begin && a->end < b->end);
    });
    uint64_t at = 0;
    const SafeTensor* prev = nullptr;
    for (const SafeTensor* t : byoff) {
        if (t->begin < at)
            fail("%s: tensor %s data_offsets [%llu, %llu] overlap tensor %s [%llu, %llu]", p,
                 t->name.c_str(), (unsigned long long)t->begin, (unsigned long long)t->end,
                 prev->name.c_str(), (unsigned long long)prev->begin, (unsigned long long)prev->end);
        if (t->begin > at)
            fail("%s: tensor %s data_offsets start at %llu, leaving a hole after byte %llu", p,
                 t->name.c_str(), (unsigned long long)t->begin, (unsigned long long)at);
        at = t->end;
        prev = t;
    }
    if (at != data_size)
        fail("%s: %llu bytes of the data buffer after byte %llu belong to no tensor", p,
             (unsigned long long)(data_size - at), (unsigned long long)at);
    return f;
}

void write_safetensors(const std::string& path, const std::vector<SafeTensorOut>& tensors,
                       const std::map<std::string, std::string>& metadata) {
    std::string h = "{";
    if (!metadata.empty()) {
        h += "\"__metadata__\":{";
        bool first = true;
        for (auto& kv : metadata) {
            if (!first) h += ",";
            first = false;
            h += json_quote(kv.first) + ":" + json_quote(kv.second);
        }
        h += "}";
    }
    uint64_t off = 0;
    for (auto& t : tensors) {
        if (h.size() > 1) h += ",";
        uint64_t n = 1;
        std::string shape;
        for (int64_t d : t.shape) {
            if (d < 0) fail("%s: tensor %s has a negative dimension", path.c_str(), t.name.c_str());
            n *= (uint64_t)d;
            shape += (shape.empty() ? "" : ",") + std::to_string(d);
        }
        h += json_quote(t.name) + ":{\"dtype\":\"F32\",\"shape\":[" + shape + "],\"data_offsets\":[" +
             std::to_string(off) + "," + std::to_string(off + 4 * n) + "]}";
        off += 4 * n;
    }
    h += "}";
    while (h.size() % 8) h += ' ';  // keeps the data buffer 8-byte aligned, as HF does
    uint64_t hlen = h.size();
    AtomicWriter w(path);
    w.write(&hlen, 8);
    w.write(h.data(), h.size());
    for (auto& t : tensors) {
        size_t n = 1;
        for (int64_t d : t.shape) n *= (size_t)d;
        w.write(t.data, n * 4);
    }
    w.commit();
}

}  // namespace noln
