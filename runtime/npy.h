// Reading and writing NumPy .npy arrays of integers, for cvm-run and tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cvm {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<int64_t> values;  // converted exactly from the file's dtype
};

// Parses .npy bytes. Accepts integer and boolean dtypes of any width and
// byte order, and float dtypes whose every value is an integer (converted
// exactly). Throws cvm::Error (code 1) on anything else.
NpyArray parse_npy(const std::string& bytes);

// An .npy file of int8 or int32 (little-endian) values.
std::string make_npy(const std::vector<int64_t>& shape, const std::vector<int32_t>& values,
                     bool int8);

bool looks_like_npy(const std::string& bytes);

}  // namespace cvm
