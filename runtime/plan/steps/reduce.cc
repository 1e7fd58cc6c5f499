// sum / max over the trailing axes.
#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "base/memory.h"
#include "runtime/plan/step_support.h"
#include "runtime/plan/steps.h"

namespace cvm {
namespace planning {
namespace {

class ReduceStep : public NodeStep {
 public:
  ReduceStep(uint32_t nid, const kernels::Table* t, int64_t x_eid, int64_t y_eid, int64_t rows,
             int64_t inner, bool max)
      : NodeStep(nid), t_(t), x_(x_eid), y_(y_eid), rows_(rows), inner_(inner), max_(max) {}
  const char* kind() const override { return "reduce"; }
  void run(ExecContext& ctx) const override {
    const int32_t* x = ctx.data(x_);
    int32_t* y = ctx.data(y_);
    parallel(ctx, rows_, threads_for(ctx, static_cast<double>(rows_) * inner_),
             [&](int64_t b, int64_t e, int) { t_->reduce_rows(x + b * inner_, e - b, inner_, max_, y + b); });
  }

 private:
  const kernels::Table* t_;
  int64_t x_, y_, rows_, inner_;
  bool max_;
};

}  // namespace

std::unique_ptr<Step> make_reduce_step(uint32_t nid, const kernels::Table* t, int64_t x_eid,
                                       int64_t y_eid, int64_t rows, int64_t inner, bool max) {
  return std::make_unique<ReduceStep>(nid, t, x_eid, y_eid, rows, inner, max);
}

}  // namespace planning
}  // namespace cvm
