// Hugging Face safetensors files (docs/formats.md): an 8-byte little-endian header length
// N, N bytes of JSON {"name": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
// "__metadata__": {str: str}}, then the data buffer; offsets are relative to its start.
// We read F32, F16 and BF16 (widened to fp32) and write F32.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace noln {

struct SafeTensor {
    std::string name;
    std::string dtype;           // "F32", "F16" or "BF16"
    std::vector<int64_t> shape;
    uint64_t begin = 0, end = 0;  // byte offsets into the data buffer
    size_t numel() const;
};

struct SafetensorsFile {
    std::string path;
    std::vector<SafeTensor> tensors;              // header order
    std::map<std::string, std::string> metadata;  // "__metadata__"
    uint64_t data_start = 0;                      // file offset of the data buffer

    const SafeTensor* find(const std::string& name) const;
    // The tensor's values as fp32 (F16/BF16 widened exactly).
    std::vector<float> read_f32(const SafeTensor& t) const;
};

// Parses and validates the header: known dtypes, shapes that match the byte ranges, ranges
// inside the file that neither overlap nor leave holes. Errors name the file and tensor.
SafetensorsFile read_safetensors(const std::string& path);

struct SafeTensorOut {
    std::string name;
    std::vector<int64_t> shape;
    const float* data;  // numel(shape) floats
};
// Writes F32 tensors in the given order (header padded with spaces to 8 bytes). Atomic.
void write_safetensors(const std::string& path, const std::vector<SafeTensorOut>& tensors,
                       const std::map<std::string, std::string>& metadata);

float f16_to_float(uint16_t h);

}  // namespace noln
