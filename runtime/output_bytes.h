// The C API's output bytes, as the reference makes them (CVMModel's
// GetOutputLength and SaveTensor): each value as int8 or little-endian
// int32 by the largest head precision; an "argmax" postprocess writes one
// int32 index per row, "detection" (and several heads) concatenates the
// heads row by row. Apart from loading and executing: it only reads the
// verified graph's heads and, after an inference, their values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "ops/op.h"

namespace cvm {

struct OutputLayout {
  std::string postprocess;  // the graph's, at most 32 characters, as the reference reports it
  int precision = 0;        // the largest precision of the heads
  size_t type_size = 1;     // bytes per output element: 1 or 4
  int64_t length = 0;       // bytes of the whole output (the reference's GetOutputLength)
};

// The output layout of a verified graph with at least one head.
OutputLayout output_layout(const Graph& graph);

// Writes the heads' values (entries: a view of every entry of the graph)
// into `out`, layout.length bytes: zeros where the reference writes nothing,
// nothing past the length. Code 1 when a detection output's heads have
// different row counts, as in the reference.
void write_output_bytes(const Graph& graph, const std::vector<Tensor>& entries,
                        const OutputLayout& layout, uint8_t* out);

}  // namespace cvm
