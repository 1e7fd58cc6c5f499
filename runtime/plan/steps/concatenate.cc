// concatenate: pieces of rows copied in parallel (the output shares storage
// with no input).
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

class ConcatStep : public NodeStep, public ByteIO {
 public:
  ByteIO* byte_io() override { return this; }
  // A copy of `len` values from input `input` at `from` to the output at `to`.
  using Piece = ConcatPiece;

  ConcatStep(uint32_t nid, std::vector<int64_t> inputs, int64_t out, std::vector<Piece> pieces,
             int64_t size)
      : NodeStep(nid), inputs_(std::move(inputs)), out_(out), pieces_(std::move(pieces)),
        size_(size) {}
  const char* kind() const override { return "concat"; }
  std::vector<int64_t> data_eids() const override { return inputs_; }
  bool takes_bytes() const override { return true; }
  bool data_in_place() const override { return false; }  // never shares storage
  void use_bytes(const std::set<int64_t>& bytes) override {
    in_bytes_.clear();
    for (int64_t x : inputs_) in_bytes_.push_back(bytes.count(x) > 0);
    out_bytes_ = bytes.count(out_) > 0;
  }

  void run(ExecContext& ctx) const override {
    std::vector<const int32_t*> x(inputs_.size());
    for (size_t k = 0; k < inputs_.size(); ++k) x[k] = ctx.data(inputs_[k]);
    int32_t* y = ctx.data(out_);
    const int64_t n = static_cast<int64_t>(pieces_.size());
    parallel(ctx, n, threads_for(ctx, static_cast<double>(size_)), [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) {
        const Piece& p = pieces_[static_cast<size_t>(i)];
        const bool in8 = !in_bytes_.empty() && in_bytes_[p.input];
        // Byte activations (an int8 output has int8 values only).
        const int8_t* src8 = reinterpret_cast<const int8_t*>(x[p.input]) + p.from;
        int8_t* y8 = reinterpret_cast<int8_t*>(y) + p.to;
        if (in8 && out_bytes_) {
          std::memcpy(y8, src8, static_cast<size_t>(p.len));
        } else if (in8) {
          widen(src8, p.len, y + p.to);
        } else if (out_bytes_) {
          narrow(x[p.input] + p.from, p.len, y8);
        } else {
          std::memcpy(y + p.to, x[p.input] + p.from, static_cast<size_t>(p.len) * sizeof(int32_t));
        }
      }
    });
  }

 private:
  std::vector<int64_t> inputs_;
  int64_t out_;
  std::vector<Piece> pieces_;
  int64_t size_;
  std::vector<bool> in_bytes_;  // empty: none
  bool out_bytes_ = false;
};

}  // namespace

std::unique_ptr<Step> make_concatenate_step(uint32_t nid, std::vector<int64_t> inputs, int64_t out,
                                            std::vector<ConcatPiece> pieces, int64_t size) {
  return std::make_unique<ConcatStep>(nid, std::move(inputs), out, std::move(pieces), size);
}

}  // namespace planning
}  // namespace cvm
