// The storage timeline (passes 2 and 3 of the planner). Every entry is a view
// at offset 0 of the pool its storage id names, exactly as in the reference,
// so the bytes a node reads depend on every earlier write to that pool. The
// timeline holds every access of an inference -- the input's write, each
// step's reads and writes, then the heads' reads -- by pool, and answers
// whether a write may be left out (a fused group's intermediate entry) or
// changed (an entry stored as int8 values) without any read, inference after
// inference (pools persist), seeing bytes the plain executor would not give
// it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "graph/graph.h"

namespace cvm {
namespace planning {

struct Access {
  int64_t eid;
  enum Type : uint8_t { kRead, kWrite, kWriteWhole } type;
  int candidate;  // >= 0: a write the group may leave out
  // Of a candidate: its stage, -1 for the source's own entry; of a read: the
  // stage whose operand it is, -1 for the source's inputs.
  int stage = -1;
  size_t step = 0;
  bool data = false;  // a read of a step's data (ByteIO::data_eids)
};

class Timeline {
 public:
  // The timeline of `step_accesses` (per step, in step order), which must
  // outlive it unchanged: it keeps pointers to them. Numbers the candidate
  // writes in order.
  Timeline(const Graph& graph, std::vector<std::vector<Access>>& step_accesses);
  Timeline(const Timeline&) = delete;
  Timeline& operator=(const Timeline&) = delete;

  // Pass 2: leaves out, in order, each candidate write whose pool stays
  // consistent without it; returns those writes.
  std::vector<const Access*> skip_writes();

  // The input's write (eid -1 when the graph has no data node).
  const Access& input() const { return input_; }
  // Every access to the pool of entry `eid`, in order.
  const std::vector<const Access*>& pool_of(int64_t eid) const;

  // Pass 3: counts `write` as changing its pool's bytes and `reads` as
  // reading them in the changed form; keeps that when the pool stays
  // consistent, else undoes it. Returns whether it was kept.
  bool try_changed_write(const Access* write, const std::vector<const Access*>& reads);

 private:
  int sid(int64_t e) const { return static_cast<int>(g_.pool[static_cast<size_t>(e)]); }
  int64_t bytes(int64_t e) const {
    return shape_size(g_.shapes[static_cast<size_t>(e)]) * 4;
  }
  bool pool_consistent(const std::vector<const Access*>& accesses) const;

  const Graph& g_;
  Access input_{-1, Access::kWriteWhole, -1};
  std::vector<Access> heads_;
  std::map<int, std::vector<const Access*>> by_pool_;
  std::vector<const Access*> candidates_;
  std::vector<bool> skipped_;                     // per candidate: left out
  std::set<const Access*> byte_writes_, exempt_;  // changed writes; reads not counted
};

}  // namespace planning
}  // namespace cvm
