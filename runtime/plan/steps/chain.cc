// An element-wise chain over a whole tensor.
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

class ChainStep : public FusedStep {
 public:
  ChainStep(std::vector<uint32_t> nodes, const kernels::Table* t, int64_t source_eid,
            ChainPlan chain, const Shape& shape)
      : FusedStep(std::move(chain)), nodes_(std::move(nodes)), t_(t), source_(source_eid) {
    size_ = shape_size(shape);
    if (shape.size() == 4) {
      n_ = shape[0];
      c_ = shape[1];
      plane_ = shape[2] * shape[3];
    } else {
      n_ = 1;
      c_ = 1;
      plane_ = size_;
    }
  }

  void run(ExecContext& ctx) const override {
    const kernels::Chain chain = chain_.bind(ctx);
    const int32_t* src = ctx.data(source_);
    // Pieces: whole planes, or slices of one long plane.
    constexpr int64_t kPiece = 1 << 14;
    const int64_t per_plane = ceil_div(plane_, kPiece);
    const int64_t pieces = n_ * c_ * per_plane;
    const int threads = threads_for(ctx, static_cast<double>(size_) * 4);
    parallel(ctx, pieces, threads, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) {
        const int64_t plane = i / per_plane;
        const int64_t begin = (i % per_plane) * kPiece;
        const int64_t len = std::min(kPiece, plane_ - begin);
        const int64_t flat = plane * plane_ + begin;
        t_->chain(chain, src + flat, len, flat, plane / c_, plane % c_, 0);
      }
    });
  }
  const char* kind() const override { return "chain"; }
  std::vector<uint32_t> nodes() const override { return nodes_; }

 private:
  std::vector<uint32_t> nodes_;
  const kernels::Table* t_;
  int64_t source_;
  int64_t size_ = 0, n_ = 1, c_ = 1, plane_ = 1;
};

}  // namespace

std::unique_ptr<Step> make_chain_step(std::vector<uint32_t> nodes, const kernels::Table* t,
                                      int64_t source_eid, ChainPlan chain, const Shape& shape) {
  return std::make_unique<ChainStep>(std::move(nodes), t, source_eid, std::move(chain), shape);
}

}  // namespace planning
}  // namespace cvm
