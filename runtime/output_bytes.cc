#include "runtime/output_bytes.h"

#include <algorithm>
#include <cstring>

#include "base/error.h"

namespace cvm {

namespace {

void put_le32(uint8_t* p, int32_t v) {
  uint32_t u = static_cast<uint32_t>(v);
  p[0] = u & 0xFF;
  p[1] = (u >> 8) & 0xFF;
  p[2] = (u >> 16) & 0xFF;
  p[3] = (u >> 24) & 0xFF;
}

}  // namespace

OutputLayout output_layout(const Graph& graph) {
  OutputLayout layout;
  layout.postprocess = graph.postprocess.substr(0, 32);
  for (const EntryRef& e : graph.heads) {
    layout.precision = std::max(layout.precision, graph.precision[graph.entry_id(e)]);
  }
  layout.type_size = layout.precision > 8 ? 4 : 1;
  const std::string& post = layout.postprocess;
  if (post == "argmax" || post == "detection") layout.type_size = 4;

  // Elements, as the reference's GetOutputLength counts them.
  int64_t len = 0;
  if (post == "argmax") {
    for (const EntryRef& e : graph.heads) {
      const Shape& s = graph.shapes[graph.entry_id(e)];
      len += shape_size(s) / s.back();
    }
  } else if (post == "detection") {
    const Shape& first = graph.shapes[graph.entry_id(graph.heads[0])];
    int64_t rows = first.size() >= 2 ? first[first.size() - 2] : 0;
    int64_t width = 0;
    for (const EntryRef& e : graph.heads) width += graph.shapes[graph.entry_id(e)].back();
    len = rows * width;
  } else {
    for (const EntryRef& e : graph.heads) len += shape_size(graph.shapes[graph.entry_id(e)]);
  }
  layout.length = len * static_cast<int64_t>(layout.type_size);
  return layout;
}

void write_output_bytes(const Graph& graph, const std::vector<Tensor>& entries,
                        const OutputLayout& layout, uint8_t* out) {
  // An output length of 0 (a detection head of one dimension has no rows)
  // may come with a null buffer, which memset must not see; the checks
  // below still apply.
  if (layout.length > 0) std::memset(out, 0, static_cast<size_t>(layout.length));
  const size_t capacity = static_cast<size_t>(layout.length) / layout.type_size;
  size_t written = 0;
  auto emit = [&](int32_t v) {
    if (written >= capacity) return;
    if (layout.type_size == 4) {
      put_le32(out + 4 * written, v);
    } else {
      out[written] = static_cast<uint8_t>(static_cast<int8_t>(v));
    }
    ++written;
  };
  const size_t num_heads = graph.heads.size();
  if (layout.postprocess == "argmax") {
    // The reference steps through rows by the row length: it visits rows
    // 0, 1, ... but only ceil(rows / width) of them. Values compare as int8.
    for (const EntryRef& e : graph.heads) {
      const Tensor& t = entries[graph.entry_id(e)];
      const uint64_t width = static_cast<uint64_t>(t.shape.back());
      const uint64_t rows = static_cast<uint64_t>(t.size()) / width;
      for (uint64_t i = 0; i < rows; i += width) {
        uint64_t best = 0;
        for (uint64_t j = i; j < i + width; ++j) {
          if (static_cast<int8_t>(t.data[j]) > static_cast<int8_t>(t.data[i + best])) best = j - i;
        }
        emit(static_cast<int32_t>(best));
      }
    }
  } else if (layout.postprocess == "detection" || num_heads > 1) {
    // Heads are concatenated row by row: every head must have as many rows.
    CVM_VERIFY(num_heads > 1) << "detection model output cannot concat";
    std::vector<uint64_t> rows(num_heads), width(num_heads);
    for (size_t k = 0; k < num_heads; ++k) {
      const Tensor& t = entries[graph.entry_id(graph.heads[k])];
      width[k] = static_cast<uint64_t>(t.shape.back());
      rows[k] = static_cast<uint64_t>(t.size()) / width[k];
      CVM_VERIFY(rows[k] == rows[0]) << "detection model output cannot concat";
    }
    for (uint64_t r = 0; r < rows[0] && written < capacity; ++r) {
      for (size_t k = 0; k < num_heads; ++k) {
        const int32_t* row = entries[graph.entry_id(graph.heads[k])].data + r * width[k];
        for (uint64_t i = 0; i < width[k]; ++i) emit(row[i]);
      }
    }
  } else {
    for (const EntryRef& e : graph.heads) {
      const Tensor& t = entries[graph.entry_id(e)];
      const int64_t n = t.size();
      for (int64_t i = 0; i < n; ++i) emit(t.data[i]);
    }
  }
}

}  // namespace cvm
