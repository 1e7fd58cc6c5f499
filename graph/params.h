// The params blob: a list of named int8/int32 arrays (the reference's
// NDArray list format, little-endian on every host).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/shape.h"

namespace cvm {

struct ParamArray {
  std::string name;
  int32_t device_type = 0;
  int32_t device_id = 0;
  uint8_t dtype_code = 0;
  uint8_t dtype_bits = 0;
  uint16_t dtype_lanes = 0;
  Shape shape;
  std::vector<int32_t> values;  // widened from int8 when dtype_bits == 8
};

// Parses the blob; every size is checked against the bytes present before
// anything is allocated. Throws cvm::Error with the reference's classes.
std::vector<ParamArray> load_params(const char* data, size_t size);

// Writes a blob in the same format (int8 arrays where `int8` is set).
std::string save_params(const std::vector<ParamArray>& arrays, const std::vector<bool>& int8);

}  // namespace cvm
