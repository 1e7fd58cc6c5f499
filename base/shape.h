// Tensor shapes: up to 6 dimensions, each in (0, 2^24], at most 2^30 elements
// once a graph is verified. Before verification a shape may hold anything.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace cvm {

using Shape = std::vector<int64_t>;

// Product of the dimensions (1 for an empty shape). Callers use it only on
// verified shapes, where it cannot overflow.
inline int64_t shape_size(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// "[1,3,224,224]", as the reference prints shapes in its messages.
std::string shape_string(const Shape& shape);

}  // namespace cvm
