#include "runtime/param_store.h"

#include <algorithm>
#include <utility>

namespace cvm {

void ParamStore::add(Param p) {
  last_[p.nid] = params_.size();
  params_.push_back(std::move(p));
}

bool ParamStore::find(uint32_t nid, ParamView* out) const {
  auto it = last_.find(nid);
  if (it == last_.end()) return false;
  const Param& found = params_[it->second];
  if (release_ && found.raw) found_.push_back(it->second);
  out->values = found.values.empty() ? nullptr : found.values.data();
  out->raw = found.raw;
  out->width = found.width;
  out->count = found.count;
  out->release = &release_;
  return true;
}

void ParamStore::release(const Param& p) const {
  if (release_ && p.raw) release_(p.raw, static_cast<size_t>(p.count) * static_cast<size_t>(p.width));
}

void ParamStore::release_found() const {
  for (size_t i : found_) release(params_[i]);
  found_.clear();
}

void ParamStore::keep_used(const Graph& graph, const std::vector<bool>& unused_pool) {
  found_.clear();
  params_.erase(std::remove_if(params_.begin(), params_.end(),
                               [&](const Param& p) {
                                 const bool unused = unused_pool[static_cast<size_t>(
                                     graph.pool[graph.entry_id(p.nid, 0)])];
                                 if (unused) release(p);
                                 return unused;
                               }),
                params_.end());
  for (Param& p : params_) {
    if (p.values.empty() && p.count > 0) {
      ParamView v{nullptr, p.raw, p.width, p.count};
      p.values.resize(static_cast<size_t>(p.count));
      v.read(0, p.count, p.values.data());
      release(p);
    }
    p.raw = nullptr;
  }
  release_ = nullptr;
  index();
}

void ParamStore::write_into(const Graph& graph, const std::vector<Tensor>& entries) {
  for (const Param& p : params_) {
    std::copy(p.values.begin(), p.values.end(), entries[graph.entry_id(p.nid, 0)].data);
  }
  params_.clear();
  params_.shrink_to_fit();
  last_.clear();
}

void ParamStore::index() {
  last_.clear();
  for (size_t i = 0; i < params_.size(); ++i) last_[params_[i].nid] = i;
}

}  // namespace cvm
