// Reading and writing NumPy .npy arrays of integers, for cvm-run and tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cvm {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<int64_t> values;  // converted exactly from the file's dtype
};

// What the header of an .npy file says.
struct NpyHeader {
  std::vector<int64_t> shape;
  std::string descr;   // as in the file, e.g. "<i4"
  char kind = 0;       // 'i', 'u' or 'f'
  int width = 0;       // bytes per value
  bool little = true;  // byte order
  int64_t count = 0;   // number of values
  size_t data_offset = 0;  // where the values start
  size_t data_bytes() const { return static_cast<size_t>(count) * static_cast<size_t>(width); }
};

// The most header bytes accepted (NumPy writes a few hundred at most).
constexpr size_t kNpyMaxHeader = 1 << 20;
// Bytes needed to know the header's length: the magic, version and length.
constexpr size_t kNpyPreamble = 12;

bool looks_like_npy(const std::string& bytes);

// Offset of the values, from the file's first bytes (at least
// min(kNpyPreamble, file size)); throws cvm::Error (code 1) when they are not
// the start of an .npy file or announce a header over kNpyMaxHeader.
size_t npy_data_offset(const std::string& first_bytes);

// Parses the header; `bytes` holds at least the first npy_data_offset()
// bytes. Accepts integer dtypes of any width and byte order, and floats
// (16, 32, 64 bits) whose values must then be whole numbers; refuses bool
// and every other dtype. Throws cvm::Error (code 1) naming the problem.
NpyHeader parse_npy_header(const std::string& bytes);

// The values of `header.count` elements at `data` (header.data_bytes() bytes).
std::vector<int64_t> decode_npy_values(const NpyHeader& header, const unsigned char* data);

// A whole .npy file; the data must be exactly as long as the shape says.
NpyArray parse_npy(const std::string& bytes);

// An .npy file of int8 or int32 (little-endian) values.
std::string make_npy(const std::vector<int64_t>& shape, const std::vector<int32_t>& values,
                     bool int8);

}  // namespace cvm
