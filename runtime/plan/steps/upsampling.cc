// upsampling (nearest neighbour, NCHW): planes in parallel (the output shares
// storage with no input).
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

class UpsamplingStep : public NodeStep {
 public:
  UpsamplingStep(uint32_t nid, int64_t x, int64_t y, int64_t planes, int64_t h, int64_t w,
                 int64_t scale)
      : NodeStep(nid), x_(x), y_(y), planes_(planes), h_(h), w_(w), scale_(scale) {}
  const char* kind() const override { return "upsampling"; }

  void run(ExecContext& ctx) const override {
    const int32_t* x = ctx.data(x_);
    int32_t* y = ctx.data(y_);
    const int64_t s = scale_, ow = w_ * s;
    const double work = static_cast<double>(planes_) * h_ * w_ * s * s;
    parallel(ctx, planes_, threads_for(ctx, work), [&](int64_t b, int64_t e, int) {
      for (int64_t p = b; p < e; ++p) {
        const int32_t* xp = x + p * h_ * w_;
        int32_t* yp = y + p * h_ * w_ * s * s;
        for (int64_t r = 0; r < h_; ++r) {
          // One widened row, then its copies.
          int32_t* first = yp + r * s * ow;
          const int32_t* xr = xp + r * w_;
          if (s == 2) {
            for (int64_t c = 0; c < w_; ++c) first[2 * c] = first[2 * c + 1] = xr[c];
          } else {
            for (int64_t c = 0; c < w_; ++c) std::fill_n(first + c * s, s, xr[c]);
          }
          for (int64_t k = 1; k < s; ++k) {
            std::memcpy(first + k * ow, first, static_cast<size_t>(ow) * sizeof(int32_t));
          }
        }
      }
    });
  }

 private:
  int64_t x_, y_, planes_, h_, w_, scale_;
};

}  // namespace

std::unique_ptr<Step> make_upsampling_step(uint32_t nid, int64_t x, int64_t y, int64_t planes,
                                           int64_t h, int64_t w, int64_t scale) {
  return std::make_unique<UpsamplingStep>(nid, x, y, planes, h, w, scale);
}

}  // namespace planning
}  // namespace cvm
