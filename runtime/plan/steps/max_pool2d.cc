// max_pool2d.
#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "base/memory.h"
#include "runtime/plan/conv_geometry.h"
#include "runtime/plan/step_support.h"
#include "runtime/plan/steps.h"

namespace cvm {
namespace planning {
namespace {

// Planes up to this many pixels take the flat 3 x 3 kernel (its masks: 9
// words per 64 pixels); larger ones, where a row holds many vectors, the
// row kernel.
constexpr int64_t kPool3MaxPlane = int64_t(1) << 16;

class MaxPoolStep : public NodeStep, public ByteIO {
 public:
  ByteIO* byte_io() override { return this; }
  MaxPoolStep(uint32_t nid, const kernels::Table* t, const ConvShape& g, int64_t x_eid,
              int64_t y_eid)
      : NodeStep(nid), t_(t), conv_(g), x_(x_eid), y_(y_eid) {
    if (t->max_pool3_u8 && g.fh == 3 && g.fw == 3 && g.sh == 1 && g.sw == 1 && g.ph == 1 &&
        g.pw == 1 && g.oh == g.h && g.ow == g.w && g.h * g.w <= kPool3MaxPlane) {
      pool3_masks_ = kernels::max_pool3_masks(g.h, g.w);
    }
  }

  size_t thread_words() const override {
    // The kernel's scratch, then a plane and an output plane as int32 for
    // byte activations (or the byte kernel's scratch).
    if (pool3()) return 0;
    if (bytes_kernel()) {
      return static_cast<size_t>(
          (kernels::max_pool_u8_scratch(conv_.w, conv_.fw, conv_.sw, conv_.ow, conv_.pw) + 3) / 4);
    }
    return static_cast<size_t>(
        kernels::max_pool_scratch(conv_.w, conv_.fw, conv_.sw, conv_.ow, t_->lanes) +
        (x_bytes_ ? conv_.h * conv_.w : 0) + (y_bytes_ ? conv_.pixels() : 0));
  }
  const char* kind() const override { return "max_pool"; }
  std::vector<int64_t> data_eids() const override { return {x_}; }
  bool takes_bytes() const override { return true; }
  bool data_in_place() const override { return false; }  // never shares storage
  void use_bytes(const std::set<int64_t>& bytes) override {
    x_bytes_ = bytes.count(x_) > 0;
    y_bytes_ = bytes.count(y_) > 0;
  }

  void run(ExecContext& ctx) const override {
    const int32_t* x = ctx.data(x_);
    int32_t* y = ctx.data(y_);
    const int64_t plane = conv_.h * conv_.w, pixels = conv_.pixels();
    const double work = static_cast<double>(conv_.n) * conv_.c * (plane + pixels * 4);
    if (pool3()) {
      const int8_t* x8 = reinterpret_cast<const int8_t*>(x);
      int8_t* y8 = reinterpret_cast<int8_t*>(y);
      parallel(ctx, conv_.n * conv_.c, threads_for(ctx, work / 4),
               [&](int64_t b, int64_t e, int) {
                 for (int64_t i = b; i < e; ++i) {
                   t_->max_pool3_u8(x8 + i * plane, plane, conv_.w, pool3_masks_.data(),
                                    y8 + i * plane);
                 }
               });
      return;
    }
    if (bytes_kernel()) {
      const int8_t* x8 = reinterpret_cast<const int8_t*>(x);
      int8_t* y8 = reinterpret_cast<int8_t*>(y);
      parallel(ctx, conv_.n * conv_.c, threads_for(ctx, work / 4),
               [&](int64_t b, int64_t e, int thread) {
                 int8_t* scratch = reinterpret_cast<int8_t*>(ctx.scratch[thread]);
                 for (int64_t i = b; i < e; ++i) {
                   t_->max_pool_u8(x8 + i * plane, conv_.h, conv_.w, conv_.fh, conv_.fw, conv_.sh,
                                   conv_.sw, conv_.ph, conv_.pw, conv_.oh, conv_.ow,
                                   y8 + i * pixels, scratch);
                 }
               });
      return;
    }
    parallel(ctx, conv_.n * conv_.c, threads_for(ctx, work), [&](int64_t b, int64_t e, int thread) {
      int32_t* scratch = reinterpret_cast<int32_t*>(ctx.scratch[thread]);
      int32_t* wide =
          scratch + kernels::max_pool_scratch(conv_.w, conv_.fw, conv_.sw, conv_.ow, t_->lanes);
      int32_t* out = wide + (x_bytes_ ? plane : 0);
      for (int64_t i = b; i < e; ++i) {
        // Byte activations: the plane widened, the output narrowed (the max
        // of int8 values is one of them).
        const int32_t* src = x + i * plane;
        if (x_bytes_) {
          widen(reinterpret_cast<const int8_t*>(x) + i * plane, plane, wide);
          src = wide;
        }
        int32_t* dst = y_bytes_ ? out : y + i * pixels;
        t_->max_pool(src, conv_.h, conv_.w, conv_.fh, conv_.fw, conv_.sh, conv_.sw, conv_.ph,
                     conv_.pw, conv_.oh, conv_.ow, dst, scratch);
        if (y_bytes_) narrow(out, pixels, reinterpret_cast<int8_t*>(y) + i * pixels);
      }
    });
  }

 private:
  const kernels::Table* t_;
  ConvShape conv_;
  int64_t x_, y_;
  bool x_bytes_ = false, y_bytes_ = false;
  std::vector<uint64_t> pool3_masks_;  // set for a 3 x 3 / 1 pool of the plane's size

  // Both bytes and the CPU has the byte kernel.
  bool bytes_kernel() const { return x_bytes_ && y_bytes_ && t_->max_pool_u8; }
  // Both bytes and the 3 x 3 / 1 kernel fits.
  bool pool3() const { return x_bytes_ && y_bytes_ && !pool3_masks_.empty(); }
};

}  // namespace

std::unique_ptr<Step> make_max_pool2d_step(uint32_t nid, const kernels::Table* t,
                                           const ConvShape& g, int64_t x_eid, int64_t y_eid) {
  return std::make_unique<MaxPoolStep>(nid, t, g, x_eid, y_eid);
}

}  // namespace planning
}  // namespace cvm
