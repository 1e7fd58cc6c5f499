// The model's parameters, bound to their variable nodes at load. The model
// fills the store, the planner reads it (pre-packing weights), then the model
// keeps only what storage needs and writes it there once: parameters flow one
// way, load -> plan -> storage.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

#include "graph/graph.h"
#include "ops/op.h"

namespace cvm {

// A parameter's values: int32 values, or 8- or 32-bit little-endian bytes.
struct ParamView {
  const int32_t* values = nullptr;
  const uint8_t* raw = nullptr;
  int width = 4;  // bytes per element of `raw`
  int64_t count = 0;
  // Set where the blob is a mapped file (ParamStore::set_release).
  const std::function<void(const void*, size_t)>* release = nullptr;
  // Gives back the blob pages of elements [begin, end): a step that packs a
  // large weight calls it as it goes, so that the source and the packed copy
  // of one weight are not both resident (they may be read again).
  void release_range(int64_t begin, int64_t end) const {
    if (release && *release && raw && end > begin) {
      (*release)(raw + begin * width, static_cast<size_t>(end - begin) * width);
    }
  }
  int32_t operator[](int64_t i) const {
    if (values) return values[i];
    if (width == 1) return static_cast<int8_t>(raw[i]);
    const uint8_t* b = raw + 4 * i;
    return static_cast<int32_t>(uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 |
                                uint32_t(b[3]) << 24);
  }
  // Elements [begin, begin + n) as int32.
  void read(int64_t begin, int64_t n, int32_t* out) const {
    if (values) {
      for (int64_t i = 0; i < n; ++i) out[i] = values[begin + i];
    } else if (width == 1) {
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<int8_t>(raw[begin + i]);
    } else {
      for (int64_t i = 0; i < n; ++i) out[i] = (*this)[begin + i];
    }
  }
};

class ParamStore {
 public:
  struct Param {
    uint32_t nid = 0;
    std::vector<int32_t> values;  // int32 values, or empty while `raw` views them
    const uint8_t* raw = nullptr;
    int width = 4;  // bytes per element of `raw`
    int64_t count = 0;
  };

  // A parameter for variable node `p.nid`; of several for one node the last
  // one added counts, as in the reference.
  void add(Param p);
  // The parameter bound to variable node `nid` (false: none).
  bool find(uint32_t nid, ParamView* out) const;
  // Where the blob is a mapped file: called with a parameter's bytes when
  // the load is done with them for now (MappedFile::release: they may be
  // read again). Unset, nothing is released.
  void set_release(std::function<void(const void*, size_t)> release) {
    release_ = std::move(release);
  }
  // Releases the blob bytes of the parameters found since the last call
  // (the planner packs a weight as it finds it).
  void release_found() const;
  // Drops the parameters whose pool is marked unused (nothing observes it)
  // and widens the others to int32 values: `raw` (the params blob) does not
  // outlive the load. Releases every parameter's blob bytes and forgets the
  // release function.
  void keep_used(const Graph& graph, const std::vector<bool>& unused_pool);
  // Writes every parameter into its entry (in order, so the last one of a
  // node counts), then empties the store.
  void write_into(const Graph& graph, const std::vector<Tensor>& entries);

 private:
  void index();
  void release(const Param& p) const;
  std::vector<Param> params_;
  std::function<void(const void*, size_t)> release_;
  mutable std::vector<size_t> found_;  // indices found since release_found()
  std::unordered_map<uint32_t, size_t> last_;  // node -> its last parameter
};

}  // namespace cvm
