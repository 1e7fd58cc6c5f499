// Large buffers: asks the kernel for transparent huge pages before the
// memory is first touched (one fault per 2 MiB instead of per 4 KiB; page
// faults dominate the cost of loading a large model otherwise). A hint only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace cvm {

void advise_huge_pages(void* data, size_t bytes);

// The most bytes one object may take in this process: PTRDIFF_MAX, the
// limit of std::vector and of pointer differences (2^31 - 1 where size_t
// has 32 bits: i686, wasm32).
constexpr uint64_t kMaxObjectBytes = static_cast<uint64_t>(PTRDIFF_MAX);

// Whether `count` elements of `element_bytes` each fit in one object of at
// most `limit` bytes, computed without overflow. Sizes come from the model
// as 64-bit integers and are narrowed to size_t only after this check.
inline bool fits_in_memory(uint64_t count, uint64_t element_bytes,
                           uint64_t limit = kMaxObjectBytes) {
  return element_bytes == 0 || count <= limit / element_bytes;
}

// Fails with code 1 (an invalid model for this machine) unless `bytes`, what
// a model needs for `what`, fit in one object of at most `limit` bytes. On
// 64-bit machines the format's limits (storage at most 4 GiB) always fit;
// where size_t has 32 bits a larger model is refused at load, never wrapped.
void verify_fits_in_memory(uint64_t bytes, const char* what, uint64_t limit = kMaxObjectBytes);

// v.assign(n, value), with the hint given before the values are written.
template <typename T>
void assign_large(std::vector<T>& v, size_t n, const T& value) {
  v.clear();
  v.shrink_to_fit();
  v.reserve(n);
  advise_huge_pages(v.data(), n * sizeof(T));
  v.assign(n, value);
}

}  // namespace cvm
