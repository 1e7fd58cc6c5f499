// The params blob: a list of named int8/int32 arrays (the reference's
// NDArray list format, little-endian on every host).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/shape.h"

namespace cvm {

struct ParamArray {
  std::string name;
  int32_t device_type = 0;
  int32_t device_id = 0;
  uint8_t dtype_code = 0;
  uint8_t dtype_bits = 0;
  uint16_t dtype_lanes = 0;
  Shape shape;
  std::vector<int32_t> values;  // widened from int8 when dtype_bits == 8 (see `widen`)
  // The elements in the blob (little-endian, dtype_bits / 8 bytes each):
  // valid while the blob is.
  const uint8_t* raw = nullptr;
  int64_t count = 0;

  // Element i, from `values` when filled, else from the blob (8 or 32 bits).
  int32_t value(int64_t i) const {
    if (!values.empty()) return values[static_cast<size_t>(i)];
    if (dtype_bits == 8) return static_cast<int8_t>(raw[i]);
    const uint8_t* b = raw + 4 * i;
    return static_cast<int32_t>(uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 |
                                uint32_t(b[3]) << 24);
  }
};

// Parses the blob; every size is checked against the bytes present before
// anything is allocated. Throws cvm::Error with the reference's classes.
// Without `widen`, `values` stay empty: read elements with value() while the
// blob lives.
std::vector<ParamArray> load_params(const char* data, size_t size, bool widen = true);

// Writes a blob in the same format (int8 arrays where `int8` is set).
std::string save_params(const std::vector<ParamArray>& arrays, const std::vector<bool>& int8);

}  // namespace cvm
