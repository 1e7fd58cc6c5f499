// Large buffers: asks the kernel for transparent huge pages before the
// memory is first touched (one fault per 2 MiB instead of per 4 KiB; page
// faults dominate the cost of loading a large model otherwise). A hint only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace cvm {

void advise_huge_pages(void* data, size_t bytes);

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
