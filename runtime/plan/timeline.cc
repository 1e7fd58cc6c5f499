#include "runtime/plan/timeline.h"

#include <algorithm>

namespace cvm {
namespace planning {

Timeline::Timeline(const Graph& graph, std::vector<std::vector<Access>>& step_accesses)
    : g_(graph) {
  // Each inference starts by writing the input.
  for (uint32_t nid = 0; nid < g_.nodes.size(); ++nid) {
    if (g_.nodes[nid].is_data()) input_.eid = g_.entry_id(nid, 0);
  }
  std::vector<Access*> seq;
  if (input_.eid >= 0) seq.push_back(&input_);
  for (auto& acc : step_accesses) {
    for (Access& a : acc) seq.push_back(&a);
  }
  for (const EntryRef& e : g_.heads) heads_.push_back({g_.entry_id(e), Access::kRead, -1});
  for (Access& a : heads_) seq.push_back(&a);

  // Candidates, numbered in order; accesses by pool.
  for (Access* a : seq) {
    if (a->candidate >= 0) {
      a->candidate = static_cast<int>(candidates_.size());
      candidates_.push_back(a);
    }
    by_pool_[sid(a->eid)].push_back(a);
  }
  skipped_.assign(candidates_.size(), false);
}

std::vector<const Access*> Timeline::skip_writes() {
  std::vector<const Access*> out;
  for (size_t c = 0; c < candidates_.size(); ++c) {
    skipped_[c] = true;
    if (pool_consistent(by_pool_[sid(candidates_[c]->eid)])) {
      out.push_back(candidates_[c]);
    } else {
      skipped_[c] = false;
    }
  }
  return out;
}

const std::vector<const Access*>& Timeline::pool_of(int64_t eid) const {
  static const std::vector<const Access*> kNone;
  auto it = by_pool_.find(sid(eid));
  return it == by_pool_.end() ? kNone : it->second;
}

bool Timeline::try_changed_write(const Access* write, const std::vector<const Access*>& reads) {
  byte_writes_.insert(write);
  exempt_.insert(reads.begin(), reads.end());
  if (pool_consistent(pool_of(write->eid))) return true;
  byte_writes_.erase(write);
  for (const Access* a : reads) exempt_.erase(a);
  return false;
}

// Simulates one pool over consecutive inferences: bytes [lo, hi) may
// differ from the plain executor's (writes in skipped_ left out, those in
// byte_writes_ counted as left out, reads in exempt_ not counted). The
// pools start equal; each inference starts from the previous one's end
// state. False when a read can see differing bytes; true once the end
// state repeats (every later inference then behaves the same).
bool Timeline::pool_consistent(const std::vector<const Access*>& accesses) const {
  int64_t lo = 0, hi = 0;
  for (int pass = 0; pass < 4; ++pass) {
    const int64_t start_lo = lo, start_hi = hi;
    for (const Access* a : accesses) {
      const int64_t n = bytes(a->eid);
      if (a->type == Access::kRead) {
        if (exempt_.count(a)) continue;
        if (lo < hi && n > lo) return false;
      } else if ((a->candidate >= 0 && skipped_[static_cast<size_t>(a->candidate)]) ||
                 byte_writes_.count(a)) {
        hi = std::max(hi, n);
        lo = 0;
      } else if (a->type == Access::kWriteWhole && lo < hi) {
        lo = std::max(lo, n);
        if (lo >= hi) lo = hi = 0;
      }
    }
    if (lo == start_lo && hi == start_hi) return true;
  }
  return false;
}

}  // namespace planning
}  // namespace cvm
