// The fast kernels and the fused plan against the plain scalar executor,
// byte for byte: random conv2d (groups, depthwise, padding, dilation,
// strides, bias or not), dense, max_pool2d and element-wise chains, on every
// ISA level this machine has and on 1, 2 and 3 threads; random storage plans
// (entries sharing storage, outputs over parameters and live entries), with
// several inferences in a row (pools persist between them).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "cvm/model.hpp"
#include "base/error.h"
#include "kernels/kernel_table.h"
#include "runtime/plan.h"
#include "tools/model_builder.h"
#include "fast_test_util.h"

using cvm::tools::ModelBuilder;
using cvm::tools::random_values;
using cvm::tools::shape_attr;
using cvm::test::fast_levels;
using cvm::test::input_values;
using cvm::test::IsaGuard;
using cvm::test::pick;
using cvm::test::random_storage;
using cvm::test::run_model;
using cvm::test::Runs;
using cvm::test::same_as_scalar;

namespace {

// An element-wise tail after `x` (shape s): some of shift, relu, clip,
// cvm_clip, elemwise_add with `other`, broadcast_add of a per-channel
// parameter.
int add_tail(ModelBuilder& b, std::mt19937& rng, int x, const std::vector<int64_t>& s,
             int other, std::string* what) {
  const int stages = static_cast<int>(pick(rng, 0, 5));
  for (int i = 0; i < stages; ++i) {
    switch (pick(rng, 0, 6)) {
      case 0: {
        const int prec = static_cast<int>(pick(rng, 1, 16));
        const int shift = static_cast<int>(pick(rng, 1, 32));
        x = b.op("cvm_right_shift",
                 {{"precision", std::to_string(prec)}, {"shift_bit", std::to_string(shift)}},
                 {x}, s);
        *what += " shift(" + std::to_string(prec) + "," + std::to_string(shift) + ")";
        break;
      }
      case 1:
        x = b.op("relu", {}, {x}, s);
        *what += " relu";
        break;
      case 2: {
        const int64_t lo = pick(rng, -3000, 100);
        x = b.op("clip", {{"a_min", std::to_string(lo)}, {"a_max", std::to_string(lo + pick(rng, 1, 5000))}},
                 {x}, s);
        *what += " clip";
        break;
      }
      case 3:
        x = b.op("cvm_clip", {{"precision", std::to_string(pick(rng, 1, 20))}}, {x}, s);
        *what += " cvm_clip";
        break;
      case 4:
        if (other >= 0) {
          x = pick(rng, 0, 1) ? b.op("elemwise_add", {}, {x, other}, s)
                              : b.op("elemwise_sub", {}, {other, x}, s);
          *what += " elemwise(other)";
        }
        break;
      case 5:
        if (s.size() == 4) {
          const std::string name = "p" + std::to_string(pick(rng, 0, 1 << 30));
          int p = b.param(name, {s[1], 1, 1}, 12, random_values(rng, s[1], 2000));
          const char* ops[] = {"broadcast_add", "broadcast_sub", "broadcast_mul", "broadcast_max"};
          const int k = static_cast<int>(pick(rng, 0, 3));
          x = pick(rng, 0, 1) ? b.op(ops[k], {}, {x, p}, s) : b.op(ops[k], {}, {p, x}, s);
          *what += std::string(" ") + ops[k];
        }
        break;
      default: {
        const int prec = static_cast<int>(pick(rng, 2, 8));
        x = b.op("cvm_right_shift",
                 {{"precision", std::to_string(prec)}, {"shift_bit", std::to_string(pick(rng, 2, 12))}},
                 {x}, s);
        *what += " shift";
        break;
      }
    }
  }
  return x;
}

// A random filter window over a random plane that holds it (with padding).
struct Window {
  int64_t kh, kw, dh, dw, sh, sw, ph, pw, h, w, oh, ow;
  std::string str() const {
    auto two = [](int64_t a, int64_t b) { return std::to_string(a) + "," + std::to_string(b); };
    return std::to_string(h) + "x" + std::to_string(w) + " k" + two(kh, kw) + " s" +
           two(sh, sw) + " p" + two(ph, pw) + " d" + two(dh, dw);
  }
};
// Maxima: filter (kh, kw), dilation (dh, dw), strides (sh, sw), padding p,
// plane (h, w).
Window random_window(std::mt19937& rng, int64_t kh, int64_t kw, int64_t dh, int64_t dw,
                     int64_t sh, int64_t sw, int64_t p, int64_t h, int64_t w) {
  Window g;
  g.kh = pick(rng, 1, kh);
  g.kw = pick(rng, 1, kw);
  g.dh = pick(rng, 1, dh);
  g.dw = pick(rng, 1, dw);
  g.sh = pick(rng, 1, sh);
  g.sw = pick(rng, 1, sw);
  g.ph = pick(rng, 0, p);
  g.pw = pick(rng, 0, p);
  g.h = pick(rng, std::max<int64_t>(1, (g.kh - 1) * g.dh + 1 - 2 * g.ph), h);
  g.w = pick(rng, std::max<int64_t>(1, (g.kw - 1) * g.dw + 1 - 2 * g.pw), w);
  g.oh = (g.h + 2 * g.ph - ((g.kh - 1) * g.dh + 1)) / g.sh + 1;
  g.ow = (g.w + 2 * g.pw - ((g.kw - 1) * g.dw + 1)) / g.sw + 1;
  return g;
}

}  // namespace

TEST_CASE("fast conv2d equals the scalar kernel on random shapes", "[fast]") {
  std::mt19937 rng(1234);
  int tested = 0;
  for (int iter = 0; iter < 60; ++iter) {
    const int64_t n = pick(rng, 1, 2);
    const int64_t kh = pick(rng, 1, 5), kw = pick(rng, 1, 5);
    const int64_t dh = pick(rng, 1, 2), dw = pick(rng, 1, 2);
    const int64_t ph = pick(rng, 0, 2), pw = pick(rng, 0, 2);
    const int64_t sh = pick(rng, 1, 3), sw = pick(rng, 1, 3);
    const int64_t h = pick(rng, std::max<int64_t>(1, (kh - 1) * dh + 1 - 2 * ph), 19);
    const int64_t w = pick(rng, std::max<int64_t>(1, (kw - 1) * dw + 1 - 2 * pw), 23);
    int64_t c = pick(rng, 1, 19), o = pick(rng, 1, 21), groups = 1;
    const int kind = static_cast<int>(pick(rng, 0, 5));
    if (kind == 0) {  // depthwise
      groups = c;
      o = c;
    } else if (kind == 1) {  // grouped
      groups = pick(rng, 2, 3);
      c = groups * pick(rng, 1, 4);
      o = groups * pick(rng, 1, 4);
    }
    const bool bias = pick(rng, 0, 3) != 0;
    const int64_t oh = (h + 2 * ph - ((kh - 1) * dh + 1)) / sh + 1;
    const int64_t ow = (w + 2 * pw - ((kw - 1) * dw + 1)) / sw + 1;
    ModelBuilder b;
    // Data of 32 bits, brought to 8 by a shift that does not clip: values
    // of +-128 reach the convolution (cast to int8 when groups == 1).
    const bool wide = pick(rng, 0, 3) == 0;
    int x = b.data({n, c, h, w}, wide ? 32 : 8);
    if (wide) x = b.op("cvm_right_shift", {{"precision", "8"}, {"shift_bit", "24"}}, {x}, {n, c, h, w});
    int wt = b.param("w", {o, c / groups, kh, kw}, 8, random_values(rng, o * (c / groups) * kh * kw, 127));
    std::vector<int> inputs{x, wt};
    if (bias) inputs.push_back(b.param("b", {o}, 20, random_values(rng, o, 500000)));
    const std::vector<int64_t> ys{n, o, oh, ow};
    int y = b.op("conv2d",
                 {{"channels", std::to_string(o)}, {"kernel_size", shape_attr(kh, kw)},
                  {"strides", shape_attr(sh, sw)}, {"padding", shape_attr(ph, pw)},
                  {"dilation", shape_attr(dh, dw)}, {"groups", std::to_string(groups)},
                  {"use_bias", bias ? "True" : "False"}},
                 inputs, ys);
    int other = b.param("other", ys, 16, random_values(rng, n * o * oh * ow, 30000));
    std::string what = "conv n" + std::to_string(n) + " c" + std::to_string(c) + " " +
                       std::to_string(h) + "x" + std::to_string(w) + " o" + std::to_string(o) +
                       " k" + std::to_string(kh) + "x" + std::to_string(kw) + " s" +
                       std::to_string(sh) + "," + std::to_string(sw) + " p" + std::to_string(ph) +
                       "," + std::to_string(pw) + " d" + std::to_string(dh) + "," +
                       std::to_string(dw) + " g" + std::to_string(groups);
    add_tail(b, rng, y, ys, other, &what);
    std::vector<std::vector<int32_t>> in;
    for (int r = 0; r < 2; ++r) {
      in.push_back(input_values(rng, n * c * h * w, wide ? std::numeric_limits<int32_t>::max() : 127));
    }
    if (same_as_scalar(b, in, what)) ++tested;
  }
  CHECK(tested >= 50);
}

// Depthwise convolutions take a byte kernel (AVX-512 VBMI + VNNI) when the
// filters are int8 and a plane's values all fit int8 (always, in a model that
// loads: conv2d wants INT8 operands and parameters must keep to their
// precision), else the int32 ones: wide planes (several vectors a row, ragged
// ends), long filter rows (more than four taps), strides and dilations up to
// the byte kernel's limits and past them.
TEST_CASE("fast depthwise conv2d equals the scalar kernel", "[fast]") {
  std::mt19937 rng(4321);
  int tested = 0;
  for (int iter = 0; iter < 40; ++iter) {
    const int64_t n = pick(rng, 1, 2), c = pick(rng, 1, 6);
    const Window g = random_window(rng, 4, 9, 3, 7, 3, 4, 4, 40, 90);
    ModelBuilder b;
    int x = b.data({n, c, g.h, g.w}, 8);
    int wt = b.param("w", {c, 1, g.kh, g.kw}, 8, random_values(rng, c * g.kh * g.kw, 127));
    int bias = b.param("b", {c}, 20, random_values(rng, c, 500000));
    const std::vector<int64_t> ys{n, c, g.oh, g.ow};
    int y = b.op("conv2d",
                 {{"channels", std::to_string(c)}, {"kernel_size", shape_attr(g.kh, g.kw)},
                  {"strides", shape_attr(g.sh, g.sw)}, {"padding", shape_attr(g.ph, g.pw)},
                  {"dilation", shape_attr(g.dh, g.dw)}, {"groups", std::to_string(c)},
                  {"use_bias", "True"}},
                 {x, wt, bias}, ys);
    int other = b.param("other", ys, 16, random_values(rng, n * c * g.oh * g.ow, 30000));
    std::string what = "depthwise n" + std::to_string(n) + " c" + std::to_string(c) + " " + g.str();
    if (iter % 4 == 0) {
      // The residual block's epilogue: shift, relu, add, shift, clip.
      auto shift = [&](int v, int bits) {
        return b.op("cvm_right_shift", {{"precision", "8"}, {"shift_bit", std::to_string(bits)}},
                    {v}, ys);
      };
      int v = b.op("relu", {}, {shift(y, 9)}, ys);
      v = shift(b.op("elemwise_add", {}, {v, other}, ys), 3);
      b.op("clip", {{"a_min", "-100"}, {"a_max", "90"}}, {v}, ys);
      what += " residual";
    } else {
      add_tail(b, rng, y, ys, other, &what);
    }
    std::vector<std::vector<int32_t>> in;
    for (int r = 0; r < 2; ++r) in.push_back(input_values(rng, n * c * g.h * g.w, 127));
    if (same_as_scalar(b, in, what)) ++tested;
  }
  CHECK(tested >= 30);  // some tails overflow the precision rules
}

// The table of the CPU's level when it has the byte kernels (AVX-512 VBMI),
// else null, saying so.
static const cvm::kernels::Table* vbmi_table() {
  const cvm::kernels::Table* t = cvm::kernels::table(cvm::detected_isa());
  if (t && t->depthwise_u8 && t->max_pool_u8) return t;
  WARN("no AVX-512 VBMI on this CPU: the byte kernels are not used");
  return nullptr;
}

// The implicit GEMM's data words (AVX-512: four channels' int8 values + 128,
// one byte each; channels past `channels` read as zero): pack_bytes (int8
// data, 64 pixels at a time for four channels) and pack_words (int32 data)
// against the definition, at random counts, channel counts and strides,
// nothing written past `count`.
// The AVX-512 table when the CPU has AVX-512, else null, saying so (`what`
// is then not used).
static const cvm::kernels::Table* avx512_table(const char* what) {
  if (cvm::detected_isa() >= cvm::Isa::kAvx512) return cvm::kernels::table(cvm::Isa::kAvx512);
  WARN("no AVX-512 on this CPU: " << what << " is not used");
  return nullptr;
}

TEST_CASE("data packing of the implicit GEMM equals the word definition", "[fast]") {
  const cvm::kernels::Table* t = avx512_table("the byte packing");
  if (!t) return;
  REQUIRE(t->pack_bytes);
  std::mt19937 rng(99);
  int tested = 0;
  for (int iter = 0; iter < 400; ++iter) {
    const int64_t count = iter < 40 ? iter + 1 : pick(rng, 1, iter % 3 == 0 ? 700 : 200);
    const int channels = static_cast<int>(pick(rng, 1, 4));
    const int64_t cs = count + pick(rng, 0, 70);
    const std::vector<int32_t> x = random_values(rng, channels * cs, 128);
    std::vector<int8_t> bytes(x.size());
    for (size_t i = 0; i < x.size(); ++i) bytes[i] = static_cast<int8_t>(std::min(x[i], 127));
    std::vector<int32_t> wide(bytes.begin(), bytes.end());
    std::vector<uint32_t> want(static_cast<size_t>(count) + 20, 0xDEADBEEFu);
    for (int64_t p = 0; p < count; ++p) {
      uint32_t word = 0;
      for (int j = 0; j < 4; ++j) {
        const uint32_t v = j < channels ? static_cast<uint8_t>(bytes[static_cast<size_t>(j * cs + p)]) : 0u;
        word |= ((v ^ 0x80u) & 0xFFu) << (8 * j);
      }
      want[static_cast<size_t>(p)] = word;
    }
    std::vector<uint32_t> got(want.size(), 0xDEADBEEFu), got_words(want.size(), 0xDEADBEEFu);
    t->pack_bytes(bytes.data(), cs, channels, count, got.data());
    t->pack_words(wide.data(), cs, channels, count, got_words.data());
    INFO("count " << count << " channels " << channels << " stride " << cs);
    REQUIRE(got == want);
    REQUIRE(got_words == want);
    ++tested;
  }
  CHECK(tested == 400);
}

// A plane and filter for the depthwise byte kernel: int8 values, the taps
// packed as the kernel takes them, and the plain sums it must give.
struct DepthwisePlane {
  Window g;
  cvm::kernels::DepthwiseBytes d;
  std::vector<int32_t> x, taps, want;
  std::vector<uint32_t> wpack;
  int32_t comp = 0;
};
static DepthwisePlane depthwise_plane_sums(DepthwisePlane p);
static DepthwisePlane depthwise_plane(std::mt19937& rng, const Window& g) {
  DepthwisePlane p;
  p.g = g;
  p.d = cvm::kernels::depthwise_bytes(g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.oh, g.ow);
  p.x = random_values(rng, g.h * g.w, 128);
  for (int32_t& v : p.x) v = std::min(v, 127);
  p.taps = random_values(rng, g.kh * g.kw, 128);
  for (int32_t& v : p.taps) v = std::min(v, 127);
  p.wpack.assign(static_cast<size_t>(g.kh * p.d.chunks), 0u);
  int32_t sum = 0;
  for (int64_t i = 0; i < g.kh; ++i) {
    for (int64_t k = 0; k < g.kw; ++k) {
      const int32_t v = p.taps[static_cast<size_t>(i * g.kw + k)];
      sum += v;
      p.wpack[static_cast<size_t>(i * p.d.chunks + k / 4)] |=
          (uint32_t(v) & 0xFFu) << (8 * (k % 4));
    }
  }
  p.comp = 128 * sum;
  return depthwise_plane_sums(p);
}

// The plain sums of p's plane and taps, in p.want.
static DepthwisePlane depthwise_plane_sums(DepthwisePlane p) {
  const Window& g = p.g;
  p.want.assign(static_cast<size_t>(g.oh * g.ow), 0);
  for (int64_t r = 0; r < g.oh; ++r) {
    for (int64_t q = 0; q < g.ow; ++q) {
      int32_t acc = 0;
      for (int64_t i = 0; i < g.kh; ++i) {
        for (int64_t k = 0; k < g.kw; ++k) {
          const int64_t y = r * g.sh - g.ph + i * g.dh, z = q * g.sw - g.pw + k * g.dw;
          if (y >= 0 && y < g.h && z >= 0 && z < g.w) {
            acc += p.x[static_cast<size_t>(y * g.w + z)] *
                   p.taps[static_cast<size_t>(i * g.kw + k)];
          }
        }
      }
      p.want[static_cast<size_t>(r * g.ow + q)] = acc;
    }
  }
  return p;
}

// The byte kernel itself against a plain loop, and its refusal of a plane
// with a value past int8 (which no loadable model gives it; kept as a guard).
TEST_CASE("depthwise byte kernel: plain sums, and no plane past int8", "[fast]") {
  const cvm::kernels::Table* t = vbmi_table();
  if (!t) return;
  std::mt19937 rng(8);
  for (int iter = 0; iter < 200; ++iter) {
    const Window g = random_window(rng, 5, 12, 3, 4, 3, 3, 5, 30, 100);
    const int64_t fh = g.kh, fw = g.kw, sh = g.sh, sw = g.sw, dh = g.dh, dw = g.dw;
    const int64_t ph = g.ph, pw = g.pw, h = g.h, w = g.w, oh = g.oh, ow = g.ow;
    DepthwisePlane p = depthwise_plane(rng, g);
    const cvm::kernels::DepthwiseBytes& d = p.d;
    REQUIRE(d.ok);
    std::vector<int32_t>& x = p.x;
    const std::vector<uint32_t>& wpack = p.wpack;
    const std::vector<int32_t>& want = p.want;
    const int32_t sum = p.comp / 128;
    std::vector<uint8_t> bytes(static_cast<size_t>(d.size()));
    std::vector<int32_t> got(static_cast<size_t>(oh * ow + 16), 77);
    REQUIRE(t->depthwise_u8(x.data(), nullptr, h, w, wpack.data(), 128 * sum, fh, fw, sh, sw, ph,
                            pw, dh, dw, oh, ow, got.data(), bytes.data(), nullptr));
    INFO("plane " << g.str());
    CHECK(std::vector<int32_t>(got.begin(), got.begin() + oh * ow) == want);
    CHECK(std::all_of(got.begin() + oh * ow, got.end(), [](int32_t v) { return v == 77; }));
    // The same plane as int8 values.
    const std::vector<int8_t> x8(x.begin(), x.end());
    std::fill(got.begin(), got.end(), 77);
    REQUIRE(t->depthwise_u8(nullptr, x8.data(), h, w, wpack.data(), 128 * sum, fh, fw, sh, sw, ph,
                            pw, dh, dw, oh, ow, got.data(), bytes.data(), nullptr));
    CHECK(std::vector<int32_t>(got.begin(), got.begin() + oh * ow) == want);
    CHECK(std::all_of(got.begin() + oh * ow, got.end(), [](int32_t v) { return v == 77; }));
    // One value past int8 where a tap reads: declined, nothing written.
    int64_t at = -1;
    for (int tries = 0; tries < 100 && at < 0; ++tries) {
      const int64_t y = pick(rng, 0, oh - 1) * sh - ph + pick(rng, 0, fh - 1) * dh;
      const int64_t z = pick(rng, 0, ow - 1) * sw - pw + pick(rng, 0, fw - 1) * dw;
      if (y >= 0 && y < h && z >= 0 && z < w) at = y * w + z;
    }
    if (at < 0) continue;
    x[static_cast<size_t>(at)] = pick(rng, 0, 1) ? 128 : -129;
    std::fill(got.begin(), got.end(), 77);
    CHECK_FALSE(t->depthwise_u8(x.data(), nullptr, h, w, wpack.data(), 128 * sum, fh, fw, sh, sw,
                                ph, pw, dh, dw, oh, ow, got.data(), bytes.data(), nullptr));
    CHECK(std::all_of(got.begin(), got.end(), [](int32_t v) { return v == 77; }));
  }
}

// The byte kernel's paths without a byte shuffle per product -- strides 1
// (rows of the byte plane back to back) and column stride 2 (rows of 32
// pixels) -- against the plain sums: int32 output, and the clamp and
// shift-clamp patterns stored as int32 and as bytes at an offset, nothing
// written outside the plane.
TEST_CASE("depthwise byte kernel: strides 1 and column stride 2, with patterns", "[fast]") {
  const cvm::kernels::Table* t = vbmi_table();
  if (!t) return;
  std::mt19937 rng(21);
  int flat = 0, rows2 = 0;
  for (int iter = 0; iter < 300; ++iter) {
    Window g = random_window(rng, 5, 12, 3, 1, iter % 2 ? 3 : 1, 1, 5, 30, 150);
    if (iter % 2) {
      g.sw = 2;
      g.ow = (g.w + 2 * g.pw - g.kw) / 2 + 1;
    }
    const DepthwisePlane p = depthwise_plane(rng, g);
    REQUIRE(p.d.ok);
    flat += p.d.flat;
    rows2 += g.sw == 2 && g.ow >= 24;
    const int64_t pixels = g.oh * g.ow;
    const std::vector<int8_t> x8(p.x.begin(), p.x.end());
    std::vector<uint8_t> bytes(static_cast<size_t>(p.d.size()));
    auto run = [&](const cvm::kernels::PlaneEpilogue* epi, int32_t* out) {
      return t->depthwise_u8(nullptr, x8.data(), g.h, g.w, p.wpack.data(), p.comp, g.kh, g.kw,
                             g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.oh, g.ow, out, bytes.data(),
                             epi);
    };
    INFO("plane " << g.str());
    std::vector<int32_t> got(static_cast<size_t>(pixels + 80), 77);
    REQUIRE(run(nullptr, got.data()));
    CHECK(std::vector<int32_t>(got.begin(), got.begin() + pixels) == p.want);
    CHECK(std::all_of(got.begin() + pixels, got.end(), [](int32_t v) { return v == 77; }));

    cvm::kernels::Chain ch;
    const bool shift = pick(rng, 0, 1) == 1;
    ch.pattern = shift ? cvm::kernels::Pattern::kShiftClamp : cvm::kernels::Pattern::kClamp;
    ch.s1 = shift ? static_cast<int32_t>(pick(rng, 1, 12)) : 0;
    ch.lo1 = static_cast<int32_t>(pick(rng, -128, 0));
    ch.hi1 = static_cast<int32_t>(pick(rng, 0, 127));
    cvm::kernels::PlaneEpilogue epi;
    epi.chain = &ch;
    epi.add = static_cast<int32_t>(pick(rng, -5000, 5000));
    epi.flat0 = pick(rng, 0, 40);
    std::vector<int32_t> expect;
    for (int32_t v : p.want) {
      v += epi.add;
      if (shift) {
        const int32_t u = v >> (ch.s1 - 1);
        v = (u >> 1) + (u & 1);
      }
      expect.push_back(std::min(std::max(v, ch.lo1), ch.hi1));
    }
    // The values at the offset, and nothing written around them.
    const auto at = static_cast<std::ptrdiff_t>(epi.flat0);
    auto placed = [&](const auto& out) {
      CHECK(std::vector<int32_t>(out.begin() + at, out.begin() + at + pixels) == expect);
      CHECK(std::all_of(out.begin(), out.begin() + at, [](auto v) { return v == 77; }));
      CHECK(std::all_of(out.begin() + at + pixels, out.end(), [](auto v) { return v == 77; }));
    };
    std::vector<int32_t> out32(static_cast<size_t>(pixels + 80), 77);
    ch.final_write = out32.data();
    REQUIRE(run(&epi, nullptr));
    placed(out32);
    std::vector<int8_t> out8(static_cast<size_t>(pixels + 80), 77);
    ch.final_bytes = out8.data();
    REQUIRE(run(&epi, nullptr));
    placed(out8);
  }
  CHECK(flat >= 100);
  CHECK(rows2 >= 40);
}

// The stacked depthwise kernel (planes sharing their filter, as average
// pools) against a plain loop per plane: "same" windows up to 7 x 7 (odd
// sizes), planes from 1 x 1 to 40 x 40, runs of planes short of the most a
// call takes and at it, each pattern the kernel takes, bytes stored in
// order at the offset and nothing around them.
TEST_CASE("stacked depthwise byte kernel equals a plain loop per plane", "[fast]") {
  const cvm::kernels::Table* t = vbmi_table();
  if (!t) return;
  if (!t->depthwise_u8_stacked) {
    WARN("no AVX-512 VBMI2 on this CPU: the stacked depthwise kernel is not used");
    return;
  }
  std::mt19937 rng(57);
  int tested = 0, multi_block = 0;
  for (int iter = 0; iter < 300; ++iter) {
    Window g;
    g.kh = 2 * pick(rng, 0, 3) + 1;
    g.kw = 2 * pick(rng, 0, 3) + 1;
    g.dh = g.dw = g.sh = g.sw = 1;
    g.ph = g.kh / 2;
    g.pw = g.kw / 2;
    g.h = iter % 4 == 0 ? pick(rng, 1, 3) : pick(rng, 1, 40);
    g.w = iter % 5 == 0 ? pick(rng, 1, 3) : pick(rng, 1, 40);
    g.oh = g.h;
    g.ow = g.w;
    const cvm::kernels::StackedPlanes s = cvm::kernels::stacked_planes(
        g.h, g.w, g.kh, g.kw, 1, 1, g.ph, g.pw, 1, 1, pick(rng, 1, 3000));
    REQUIRE(s.ok);
    const int64_t planes = pick(rng, 0, 1) ? s.max_planes : pick(rng, 1, s.max_planes);
    const DepthwisePlane first = depthwise_plane(rng, g);
    // Every plane with the first one's taps, values of its own.
    std::vector<int8_t> x8;
    std::vector<int32_t> sums;
    for (int64_t i = 0; i < planes; ++i) {
      DepthwisePlane p = first;
      if (i > 0) {
        p.x = random_values(rng, g.h * g.w, 128);
        for (int32_t& v : p.x) v = std::min(v, 127);
        p = depthwise_plane_sums(p);
      }
      x8.insert(x8.end(), p.x.begin(), p.x.end());
      sums.insert(sums.end(), p.want.begin(), p.want.end());
    }
    cvm::kernels::Chain ch;
    const int kind = static_cast<int>(pick(rng, 0, 2));
    ch.pattern = kind == 0 ? cvm::kernels::Pattern::kClamp
                 : kind == 1 ? cvm::kernels::Pattern::kShiftClamp
                             : cvm::kernels::Pattern::kRequant;
    cvm::kernels::PlaneEpilogue epi;
    epi.chain = &ch;
    epi.add = static_cast<int32_t>(pick(rng, -5000, 5000));
    epi.flat0 = pick(rng, 0, 40);
    ch.lo1 = static_cast<int32_t>(pick(rng, -128, 0));
    ch.hi1 = static_cast<int32_t>(pick(rng, 0, 127));
    if (kind == 1) ch.s1 = static_cast<int32_t>(pick(rng, 1, 12));
    if (kind == 2) {
      // A multiplier and a rounding shift, then [lo2, hi2] (the average
      // pool's broadcast_mul and cvm_right_shift).
      ch.lo1 = -(1 << 20);
      ch.hi1 = 1 << 20;
      epi.mul = static_cast<int32_t>(pick(rng, 1, 4000));
      ch.s2 = static_cast<int32_t>(pick(rng, 8, 20));
      ch.round2 = true;
      ch.lo2 = -128;
      ch.hi2 = 127;
    }
    std::vector<int8_t> expect;
    for (int32_t v : sums) {
      int64_t u = int64_t{v} + epi.add;
      if (kind == 1) u = ((u >> (ch.s1 - 1)) + 1) >> 1;
      u = std::min<int64_t>(std::max<int64_t>(u, ch.lo1), ch.hi1);
      if (kind == 2) {
        u = (u * epi.mul + (int64_t{1} << (ch.s2 - 1))) >> ch.s2;
        u = std::min<int64_t>(std::max<int64_t>(u, ch.lo2), ch.hi2);
      }
      expect.push_back(static_cast<int8_t>(u));
    }
    const int64_t values = planes * g.h * g.w;
    std::vector<int8_t> out(static_cast<size_t>(epi.flat0 + values + 80), 77);
    ch.final_bytes = out.data();
    std::vector<uint8_t> bytes(static_cast<size_t>(s.bytes));
    t->depthwise_u8_stacked(x8.data(), planes, s, first.wpack.data(), first.comp, bytes.data(),
                            epi);
    INFO("planes " << planes << " of " << s.max_planes << " " << g.str() << " pattern " << kind);
    const auto at = static_cast<std::ptrdiff_t>(epi.flat0);
    CHECK(std::vector<int8_t>(out.begin() + at, out.begin() + at + values) == expect);
    CHECK(std::all_of(out.begin(), out.begin() + at, [](int8_t v) { return v == 77; }));
    CHECK(std::all_of(out.begin() + at + values, out.end(), [](int8_t v) { return v == 77; }));
    multi_block += planes * s.period * s.stride > 64;
    ++tested;
  }
  CHECK(tested == 300);
  CHECK(multi_block >= 200);
}

// The max_pool2d byte kernel against a plain loop: windows up to 6 x 6,
// strides up to 5, padding below the window, planes up to 150 wide (several
// vectors a row), every window holding part of the plane (as the planner
// asks).
TEST_CASE("max_pool2d byte kernel: plain window maxima", "[fast]") {
  const cvm::kernels::Table* t = vbmi_table();
  if (!t) return;
  std::mt19937 rng(31);
  int tested = 0;
  for (int iter = 0; iter < 300; ++iter) {
    const int64_t kh = pick(rng, 1, 6), kw = pick(rng, 1, 6), sh = pick(rng, 1, 5),
                  sw = pick(rng, 1, 5), top = pick(rng, 0, kh - 1), left = pick(rng, 0, kw - 1);
    const int64_t h = pick(rng, 1, 40), w = pick(rng, 1, 150);
    if (h + 2 * top < kh || w + 2 * left < kw) continue;
    const int64_t oh = (h + 2 * top - kh) / sh + 1, ow = (w + 2 * left - kw) / sw + 1;
    if ((oh - 1) * sh - top >= h || (ow - 1) * sw - left >= w) continue;
    std::vector<int8_t> x(static_cast<size_t>(h * w));
    for (int8_t& v : x) v = static_cast<int8_t>(pick(rng, -128, 127));
    std::vector<int8_t> want(static_cast<size_t>(oh * ow));
    for (int64_t r = 0; r < oh; ++r) {
      for (int64_t q = 0; q < ow; ++q) {
        int best = -1000;
        for (int64_t i = r * sh - top; i < r * sh - top + kh; ++i) {
          for (int64_t j = q * sw - left; j < q * sw - left + kw; ++j) {
            if (i >= 0 && i < h && j >= 0 && j < w) best = std::max<int>(best, x[static_cast<size_t>(i * w + j)]);
          }
        }
        want[static_cast<size_t>(r * ow + q)] = static_cast<int8_t>(best);
      }
    }
    std::vector<int8_t> scratch(static_cast<size_t>(cvm::kernels::max_pool_u8_scratch(w, kw, sw, ow, left)));
    std::vector<int8_t> got(static_cast<size_t>(oh * ow + 64), 77);
    t->max_pool_u8(x.data(), h, w, kh, kw, sh, sw, top, left, oh, ow, got.data(), scratch.data());
    INFO(h << "x" << w << " window " << kh << "x" << kw << " strides " << sh << "," << sw
            << " padding " << top << "," << left);
    CHECK(std::vector<int8_t>(got.begin(), got.begin() + oh * ow) == want);
    CHECK(std::all_of(got.begin() + oh * ow, got.end(), [](int8_t v) { return v == 77; }));
    ++tested;
  }
  CHECK(tested >= 150);
}

// The flat 3 x 3 / 1 / 1 byte pool (GoogLeNet's block pools) against a plain
// loop: planes from 1 x 1 to 70 x 70 (one vector holding several rows, rows
// longer than a vector), nothing written past the plane.
TEST_CASE("max_pool2d 3 x 3 flat byte kernel: plain window maxima", "[fast]") {
  const cvm::kernels::Table* t = avx512_table("the flat 3 x 3 pool");
  if (!t) return;
  REQUIRE(t->max_pool3_u8);
  std::mt19937 rng(33);
  for (int iter = 0; iter < 300; ++iter) {
    const int64_t h = iter < 20 ? 1 + iter % 4 : pick(rng, 1, 70);
    const int64_t w = iter < 20 ? 1 + iter / 4 : pick(rng, 1, 70);
    std::vector<int8_t> x(static_cast<size_t>(h * w));
    for (int8_t& v : x) v = static_cast<int8_t>(pick(rng, -128, 127));
    std::vector<int8_t> want(x.size());
    for (int64_t r = 0; r < h; ++r) {
      for (int64_t q = 0; q < w; ++q) {
        int best = -1000;
        for (int64_t i = r - 1; i <= r + 1; ++i) {
          for (int64_t j = q - 1; j <= q + 1; ++j) {
            if (i >= 0 && i < h && j >= 0 && j < w) best = std::max<int>(best, x[static_cast<size_t>(i * w + j)]);
          }
        }
        want[static_cast<size_t>(r * w + q)] = static_cast<int8_t>(best);
      }
    }
    const std::vector<uint64_t> masks = cvm::kernels::max_pool3_masks(h, w);
    REQUIRE(masks.size() == static_cast<size_t>((h * w + 63) / 64 * 9));
    std::vector<int8_t> got(x.size() + 64, 77);
    t->max_pool3_u8(x.data(), h * w, w, masks.data(), got.data());
    INFO(h << "x" << w);
    CHECK(std::vector<int8_t>(got.begin(), got.begin() + h * w) == want);
    CHECK(std::all_of(got.begin() + h * w, got.end(), [](int8_t v) { return v == 77; }));
  }
}

TEST_CASE("fast conv2d on the layer shapes of the networks", "[fast]") {
  std::mt19937 rng(99);
  struct L { int64_t c, hw, o, k, s, p, g; };
  const L layers[] = {{3, 29, 16, 7, 2, 3, 1}, {16, 14, 24, 3, 1, 1, 1}, {24, 9, 40, 1, 2, 0, 1},
                      {32, 12, 32, 3, 2, 1, 32}, {40, 7, 72, 1, 1, 0, 1}, {72, 5, 16, 3, 1, 1, 1}};
  for (const L& l : layers) {
    ModelBuilder b = cvm::tools::conv_layer(rng, 1, l.c, l.hw, l.hw, l.o, l.k, l.s, l.p, l.g);
    std::vector<std::vector<int32_t>> in{input_values(rng, l.c * l.hw * l.hw, 127)};
    CHECK(same_as_scalar(b, in, "layer c" + std::to_string(l.c)));
  }
}

// Small grids take the transposed product (lanes over groups of 48 filters);
// with few groups a thread their pixels are split between the threads too.
// Three 3 x 3 layers on 13 x 13 (64 filters: a group and a third): a
// pattern with byte output, a residual one reading bytes, a generic chain
// (a per-channel multiply), on 1, 2 and 3 threads, one and two images.
TEST_CASE("small grids split by filters and pixels equal the scalar kernel", "[fast]") {
  std::mt19937 rng(2024);
  for (int64_t n : {1, 2}) {
    ModelBuilder b;
    const int64_t c = 64, hw = 13;
    const std::vector<int64_t> s{n, c, hw, hw};
    auto conv = [&](int in, int64_t o, const std::string& t) {
      int wt = b.param("w" + t, {o, c, 3, 3}, 8, random_values(rng, o * c * 9, 127));
      int bias = b.param("b" + t, {o}, 14, random_values(rng, o, 5000));
      return b.op("conv2d",
                  {{"channels", std::to_string(o)}, {"kernel_size", shape_attr(3, 3)},
                   {"strides", shape_attr(1, 1)}, {"padding", shape_attr(1, 1)},
                   {"groups", "1"}, {"use_bias", "True"}},
                  {in, wt, bias}, {n, o, hw, hw});
    };
    auto shift = [&](int in, const std::vector<int64_t>& shape) {
      return b.op("cvm_right_shift", {{"precision", "8"}, {"shift_bit", "10"}}, {in}, shape);
    };
    int x = b.data(s, 8);
    int a = b.op("relu", {}, {shift(conv(x, c, "0"), s)}, s);
    int sum = b.op("elemwise_add", {}, {shift(conv(a, c, "1"), s), a}, s);
    int r = b.op("relu", {}, {shift(sum, s)}, s);
    const std::vector<int64_t> s2{n, 40, hw, hw};
    int scale = b.param("scale", {40, 1, 1}, 4, random_values(rng, 40, 7));
    int y = b.op("broadcast_mul", {}, {shift(conv(r, 40, "2"), s2), scale}, s2);
    b.op("clip", {{"a_min", "-100"}, {"a_max", "100"}}, {y}, s2);
    std::vector<std::vector<int32_t>> in{input_values(rng, n * c * hw * hw, 127)};
    CHECK(same_as_scalar(b, in, "13x13 n" + std::to_string(n)));
  }
}

// The epilogue's rounding shift adds half and shifts only where that cannot
// overflow (kernels::set_rounding). Models at the limits the precision rules
// allow -- biases of 31 bits near +-2^30, data and weights at +-127, shifts
// up to 31 (exact rounding: no room for half) -- next to small biases, on
// convolutions and depthwise layers, against the scalar executor; then the
// decision itself where the sums would reach the int32 limits.
TEST_CASE("rounding shifts near the int32 limits equal the scalar kernel", "[fast]") {
  std::mt19937 rng(4242);
  int tested = 0;
  for (int iter = 0; iter < 40; ++iter) {
    const bool depthwise = iter % 2 == 1;
    const int64_t c = pick(rng, 1, 9), o = depthwise ? c : pick(rng, 1, 20);
    const int64_t k = pick(rng, 0, 1) ? 3 : 1, h = pick(rng, 3, 20), w = pick(rng, 3, 40);
    const int64_t p = k / 2;
    const int shift = static_cast<int>(pick(rng, 20, 31));
    std::vector<int32_t> bias;
    constexpr int32_t kBias = (1 << 30) - 1;  // 31 bits
    for (int64_t i = 0; i < o; ++i) {
      const int32_t near = static_cast<int32_t>(pick(rng, 0, 1 << 20));
      switch (pick(rng, 0, 2)) {
        case 0: bias.push_back(kBias - near); break;
        case 1: bias.push_back(-kBias + near); break;
        default: bias.push_back(static_cast<int32_t>(pick(rng, -1000, 1000))); break;
      }
    }
    ModelBuilder b;
    int x = b.data({1, c, h, w}, 8);
    const int64_t per = depthwise ? 1 : c;
    int wt = b.param("w", {o, per, k, k}, 8, random_values(rng, o * per * k * k, 127));
    int bs = b.param("b", {o}, 31, bias);
    const std::vector<int64_t> ys{1, o, h, w};
    int y = b.op("conv2d",
                 {{"channels", std::to_string(o)}, {"kernel_size", shape_attr(k, k)},
                  {"strides", shape_attr(1, 1)}, {"padding", shape_attr(p, p)},
                  {"dilation", shape_attr(1, 1)}, {"groups", std::to_string(depthwise ? c : 1)},
                  {"use_bias", "True"}},
                 {x, wt, bs}, ys);
    y = b.op("cvm_right_shift", {{"precision", "8"}, {"shift_bit", std::to_string(shift)}}, {y},
             ys);
    b.op("relu", {}, {y}, ys);
    std::vector<std::vector<int32_t>> in{input_values(rng, c * h * w, 127)};
    for (int32_t& v : in[0]) {
      if (pick(rng, 0, 1)) v = v < 0 ? -127 : 127;
    }
    const std::string what = std::string(depthwise ? "depthwise" : "conv") + " shift " +
                             std::to_string(shift) + " near the limits";
    if (same_as_scalar(b, in, what)) ++tested;
  }
  CHECK(tested >= 30);

  cvm::kernels::Chain ch;
  ch.pattern = cvm::kernels::Pattern::kShiftClamp;
  ch.s1 = 20;
  const int32_t small[2] = {-1000, 1000};
  const int32_t large[2] = {-5, std::numeric_limits<int32_t>::max() - (1 << 19) + 1};
  cvm::kernels::set_rounding(ch, 1 << 20, small, 2);
  CHECK(ch.round1);
  cvm::kernels::set_rounding(ch, 0, large, 2);  // the bias alone reaches the limit
  CHECK_FALSE(ch.round1);
  cvm::kernels::set_rounding(ch, std::numeric_limits<int32_t>::max(), nullptr, 0);
  CHECK_FALSE(ch.round1);
  ch.s1 = 31;  // no room for half at all
  cvm::kernels::set_rounding(ch, 0, nullptr, 0);
  CHECK_FALSE(ch.round1);
  ch.pattern = cvm::kernels::Pattern::kResidual;
  ch.s1 = 8;
  ch.s2 = 4;
  ch.lo1 = -127;
  ch.hi1 = 127;
  cvm::kernels::set_rounding(ch, 1 << 20, small, 2);
  CHECK(ch.round1);
  CHECK_FALSE(ch.round2);  // an int32 operand: unbounded
  int8_t operand = 0;
  ch.operand_bytes = &operand;
  cvm::kernels::set_rounding(ch, 1 << 20, small, 2);
  CHECK(ch.round2);
}

// A BatchNorm that follows no convolution (DenseNet's, as the quantizer
// writes it): a depthwise 1 x 1 convolution, then its requantisation. Planes
// of at least a vector run whole runs of channels a call, vectors crossing
// from one channel into the next; planes of 1 .. 80 values (below, at and
// past 8 and 16 lanes), every epilogue pattern, int8 and int32 data.
TEST_CASE("pointwise depthwise across channels equals the scalar kernel", "[fast]") {
  std::mt19937 rng(8181);
  for (int iter = 0; iter < 32; ++iter) {
    const int64_t n = pick(rng, 1, 2), c = pick(rng, 1, 40);
    const int64_t h = pick(rng, 1, 9), w = iter % 4 == 0 ? 16 / h + 1 : pick(rng, 1, 9);
    const std::vector<int64_t> s{n, c, h, w};
    ModelBuilder b;
    const bool wide = pick(rng, 0, 1);
    int x = b.data(s, wide ? 16 : 8);
    if (wide) x = b.op("cvm_right_shift", {{"precision", "8"}, {"shift_bit", "8"}}, {x}, s);
    int wt = b.param("w", {c, 1, 1, 1}, 8, random_values(rng, c, 127));
    int bias = b.param("b", {c}, 14, random_values(rng, c, 8000));
    int y = b.op("conv2d",
                 {{"channels", std::to_string(c)}, {"kernel_size", shape_attr(1, 1)},
                  {"strides", shape_attr(1, 1)}, {"padding", shape_attr(0, 0)},
                  {"dilation", shape_attr(1, 1)}, {"groups", std::to_string(c)},
                  {"use_bias", "True"}},
                 {x, wt, bias}, s);
    const int kind = static_cast<int>(iter % 4);
    std::string what = "pointwise n" + std::to_string(n) + " c" + std::to_string(c) + " " +
                       std::to_string(h) + "x" + std::to_string(w) + " kind " +
                       std::to_string(kind) + (wide ? " int32 data" : "");
    if (kind == 0) {  // clip, per-channel multiplier, shift, relu: kRequant
      y = b.op("cvm_clip", {{"precision", "16"}}, {y}, s);
      int mult = b.param("m", {c, 1, 1}, 16, random_values(rng, c, 30000));
      y = b.op("broadcast_mul", {}, {y, mult}, s);
      const std::string shift = std::to_string(pick(rng, 8, 20));
      y = b.op("cvm_right_shift", {{"precision", "8"}, {"shift_bit", shift}}, {y}, s);
      b.op("relu", {}, {y}, s);
    } else if (kind == 1) {
      const std::string shift = std::to_string(pick(rng, 1, 12));
      b.op("cvm_right_shift", {{"precision", "8"}, {"shift_bit", shift}}, {y}, s);
    } else if (kind == 2) {
      b.op("clip", {{"a_min", "-3000"}, {"a_max", "2500"}}, {y}, s);
    }
    std::vector<std::vector<int32_t>> in{
        input_values(rng, n * c * h * w, wide ? 32767 : 127)};
    CHECK(same_as_scalar(b, in, what));
  }
}

// A product and shift with nothing before the product: the quantizer's
// average pool (a depthwise convolution of ones, its sums times one
// multiplier, shifted to 8 bits), and the same after depthwise and 1 x 1
// convolutions of int8 taps, with one or per-channel multipliers. The fast
// executor runs them as kRequant (bytes out, read as bytes by the 1 x 1
// convolution after); the values must be the scalar executor's.
TEST_CASE("multiply and shift with no clip before equal the scalar executor", "[fast]") {
  std::mt19937 rng(9191);
  int tested = 0;
  for (int iter = 0; iter < 36; ++iter) {
    const int kind = iter % 3;  // 0: average pool, 1: depthwise 3 x 3, 2: 1 x 1
    const int64_t n = pick(rng, 1, 2), c = pick(rng, 1, 12);
    const int64_t h = iter % 6 == 0 ? 17 : pick(rng, 1, 20), w = iter % 6 == 0 ? 17 : pick(rng, 1, 20);
    const int64_t o = kind == 2 ? pick(rng, 1, 12) : c;
    const int64_t k = kind == 2 ? 1 : 3;
    const std::vector<int64_t> s{n, o, h, w};
    ModelBuilder b;
    const int x = b.data({n, c, h, w}, 8);
    const int64_t per = kind == 2 ? c : 1;
    std::vector<int32_t> taps = random_values(rng, o * per * k * k, 127);
    if (kind == 0) std::fill(taps.begin(), taps.end(), 1);
    const int wt = b.param("w", {o, per, k, k}, kind == 0 ? 2 : 8, taps);
    int y = b.op("conv2d",
                 {{"channels", std::to_string(o)}, {"kernel_size", shape_attr(k, k)},
                  {"strides", shape_attr(1, 1)}, {"padding", shape_attr(k / 2, k / 2)},
                  {"dilation", shape_attr(1, 1)}, {"groups", std::to_string(kind == 2 ? 1 : c)},
                  {"use_bias", "False"}},
                 {x, wt}, s);
    // The sums take 14 bits (ones) or 20: the product stays within 32.
    const int mprec = kind == 0 ? 16 : 12;
    const bool one = pick(rng, 0, 1);
    const int m = b.param("m", one ? std::vector<int64_t>{1} : std::vector<int64_t>{o, 1, 1}, mprec,
                          random_values(rng, one ? 1 : o, (1 << (mprec - 1)) - 1));
    y = pick(rng, 0, 1) ? b.op("broadcast_mul", {}, {y, m}, s) : b.op("broadcast_mul", {}, {m, y}, s);
    const std::string shift = std::to_string(pick(rng, 8, 24));
    y = b.op("cvm_right_shift", {{"precision", "8"}, {"shift_bit", shift}}, {y}, s);
    if (pick(rng, 0, 1)) y = b.op("relu", {}, {y}, s);
    // A 1 x 1 convolution reading the result (as bytes where the plan can).
    const int w2 = b.param("w2", {4, o, 1, 1}, 8, random_values(rng, 4 * o, 127));
    b.op("conv2d",
         {{"channels", "4"}, {"kernel_size", shape_attr(1, 1)}, {"strides", shape_attr(1, 1)},
          {"padding", shape_attr(0, 0)}, {"dilation", shape_attr(1, 1)}, {"groups", "1"},
          {"use_bias", "False"}},
         {y, w2}, {n, 4, h, w});
    const std::string what = "multiply-shift kind " + std::to_string(kind) + " n" +
                             std::to_string(n) + " c" + std::to_string(c) + " o" +
                             std::to_string(o) + " " + std::to_string(h) + "x" +
                             std::to_string(w) + (one ? " one multiplier" : "");
    std::vector<std::vector<int32_t>> in{input_values(rng, n * c * h * w, 127)};
    if (same_as_scalar(b, in, what)) ++tested;
  }
  CHECK(tested == 36);

  // The chain itself: product, saturating shift: kRequant with no first
  // shift and the full range before the product.
  int32_t mul = 3, out = 0;
  cvm::kernels::Chain ch;
  ch.num_stages = 2;
  ch.stages[0].op = cvm::kernels::StageOp::kBinary;
  ch.stages[0].bin = cvm::kernels::BinOp::kMul;
  ch.stages[0].mode = cvm::kernels::OperandMode::kPlane;
  ch.stages[0].operand = &mul;
  ch.stages[1].op = cvm::kernels::StageOp::kShiftSat;
  ch.stages[1].shift = 8;
  ch.stages[1].hi = 127;
  ch.stages[1].x_lo = -(127 << 8);
  ch.stages[1].x_hi = 127 << 8;
  ch.stages[1].write = &out;
  ch.finalize();
  CHECK(ch.pattern == cvm::kernels::Pattern::kRequant);
  CHECK(ch.s1 == 0);
  CHECK(ch.lo1 == std::numeric_limits<int32_t>::min());
  CHECK(ch.hi1 == std::numeric_limits<int32_t>::max());
  CHECK(ch.int8_values());
}

TEST_CASE("fast dense equals the scalar kernel", "[fast]") {
  std::mt19937 rng(77);
  for (int iter = 0; iter < 20; ++iter) {
    const int64_t m = pick(rng, 1, 4), k = pick(rng, 1, 70), u = pick(rng, 1, 50);
    const bool bias = pick(rng, 0, 1);
    ModelBuilder b;
    const bool wide = pick(rng, 0, 2) == 0;
    int x = b.data({m, k}, wide ? 32 : 8);
    if (wide) x = b.op("cvm_right_shift", {{"precision", "8"}, {"shift_bit", "24"}}, {x}, {m, k});
    int w = b.param("w", {u, k}, 8, random_values(rng, u * k, 127));
    std::vector<int> inputs{x, w};
    if (bias) inputs.push_back(b.param("b", {u}, 24, random_values(rng, u, 1 << 22)));
    int y = b.op("dense", {{"units", std::to_string(u)}, {"use_bias", bias ? "True" : "False"}},
                 inputs, {m, u});
    int other = b.param("other", {m, u}, 16, random_values(rng, m * u, 30000));
    std::string what = "dense";
    add_tail(b, rng, y, {m, u}, other, &what);
    std::vector<std::vector<int32_t>> in{
        input_values(rng, m * k, wide ? std::numeric_limits<int32_t>::max() : 127)};
    CHECK(same_as_scalar(b, in, what));
  }
}

TEST_CASE("fast max_pool2d equals the scalar kernel", "[fast]") {
  std::mt19937 rng(55);
  int tested = 0;
  for (int iter = 0; iter < 30; ++iter) {
    const int64_t n = pick(rng, 1, 2), c = pick(rng, 1, 5);
    const int64_t ph = pick(rng, 1, 4), pw = pick(rng, 1, 4);
    const int64_t h = pick(rng, ph, 40), w = pick(rng, pw, 40);
    const int64_t sh = pick(rng, 1, 3), sw = pick(rng, 1, 3);
    const int64_t pt = pick(rng, 0, ph - 1), pl = pick(rng, 0, pw - 1);
    const bool ceil_mode = pick(rng, 0, 1);
    auto out_dim = [&](int64_t size, int64_t k, int64_t s, int64_t p) {
      const int64_t span = size + 2 * p - k;
      return (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    };
    const int64_t oh = out_dim(h, ph, sh, pt), ow = out_dim(w, pw, sw, pl);
    ModelBuilder b;
    int x = b.data({n, c, h, w}, 32);
    b.op("max_pool2d",
         {{"pool_size", shape_attr(ph, pw)}, {"strides", shape_attr(sh, sw)},
          {"padding", shape_attr(pt, pl)}, {"ceil_mode", ceil_mode ? "True" : "False"}},
         {x}, {n, c, oh, ow});
    std::vector<std::vector<int32_t>> in{input_values(rng, n * c * h * w, std::numeric_limits<int32_t>::max())};
    if (same_as_scalar(b, in, "max_pool")) ++tested;
  }
  CHECK(tested >= 15);
}

TEST_CASE("fast element-wise chains equal the scalar kernels at the edges", "[fast]") {
  std::mt19937 rng(31);
  int tested = 0;
  for (int iter = 0; iter < 40; ++iter) {
    const std::vector<int64_t> s = pick(rng, 0, 1) ? std::vector<int64_t>{2, 3, 5, 7}
                                                   : std::vector<int64_t>{pick(rng, 1, 100)};
    const int64_t size = cvm::shape_size(s);
    ModelBuilder b;
    int x = b.data(s, 31);
    int other = b.param("other", s, 31, random_values(rng, size, (1 << 30) - 1));
    std::string what = "chain";
    int y = b.op("elemwise_add", {}, {x, other}, s);
    y = add_tail(b, rng, y, s, other, &what);
    b.op("relu", {}, {y}, s);
    // Inputs clamp to +-(2^30 - 1); the sum reaches +-(2^31 - 2).
    std::vector<int32_t> v = input_values(rng, size, std::numeric_limits<int32_t>::max());
    if (same_as_scalar(b, {v}, what)) ++tested;  // some chains exceed 32 bits
  }
  CHECK(tested >= 25);
}

TEST_CASE("fused plans keep every byte under hostile storage plans", "[fast]") {
  std::mt19937 rng(4242);
  int tested = 0;
  for (int iter = 0; iter < 200; ++iter) {
    // conv (or depthwise) -> shift/relu/per-channel add -> conv -> residual
    // tail -> flatten -> dense -> shift -> relu, in a few random pools.
    ModelBuilder b;
    const int64_t h = pick(rng, 3, 9), o = pick(rng, 1, 6);
    const bool depthwise = pick(rng, 0, 1);
    const int64_t c = depthwise ? o : pick(rng, 1, 6);
    int x = b.data({1, c, h, h}, 8);
    auto conv = [&](int in, int64_t ci, int64_t co, int64_t groups, const std::string& tag) {
      int w = b.param("w" + tag, {co, ci / groups, 3, 3}, 8,
                      random_values(rng, co * (ci / groups) * 9, 127));
      int bb = b.param("b" + tag, {co}, 12, random_values(rng, co, 2000));
      return b.op("conv2d",
                  {{"channels", std::to_string(co)}, {"kernel_size", "(3, 3)"},
                   {"padding", "(1, 1)"}, {"use_bias", "True"}, {"groups", std::to_string(groups)}},
                  {in, w, bb}, {1, co, h, h});
    };
    const std::vector<int64_t> s{1, o, h, h};
    std::string what = depthwise ? "plan dw" : "plan";
    int y = conv(x, c, o, depthwise ? c : 1, "1");
    y = b.op("cvm_right_shift", {{"precision", "8"}, {"shift_bit", std::to_string(pick(rng, 2, 10))}}, {y}, s);
    if (pick(rng, 0, 1)) {
      int pc = b.param("pc", {o, 1, 1}, 6, random_values(rng, o, 31));
      y = b.op("broadcast_add", {}, {y, pc}, s);
      y = b.op("cvm_clip", {{"precision", "8"}}, {y}, s);
    }
    int r = b.op("relu", {}, {y}, s);
    int z = conv(r, o, o, 1, "2");
    z = b.op("cvm_right_shift", {{"precision", "8"}, {"shift_bit", std::to_string(pick(rng, 2, 10))}}, {z}, s);
    z = b.op("elemwise_add", {}, {z, r}, s);
    z = b.op("cvm_right_shift", {{"precision", "8"}, {"shift_bit", "1"}}, {z}, s);
    z = b.op("relu", {}, {z}, s);
    z = add_tail(b, rng, z, s, r, &what);
    z = b.op("cvm_clip", {{"precision", "8"}}, {z}, s);
    int f = b.op("flatten", {}, {z}, {1, o * h * h});
    int dw = b.param("wd", {5, o * h * h}, 8, random_values(rng, 5 * o * h * h, 127));
    int d = b.op("dense", {{"units", "5"}, {"use_bias", "False"}}, {f, dw}, {1, 5});
    d = b.op("cvm_right_shift", {{"precision", "8"}, {"shift_bit", "6"}}, {d}, {1, 5});
    d = b.op("relu", {}, {d}, {1, 5});
    // Heads: the last node, sometimes an intermediate too.
    std::vector<int> heads{d};
    if (pick(rng, 0, 2) == 0) heads.push_back(static_cast<int>(pick(rng, 1, d)));
    b.set_heads(heads);
    // Random storage: nodes, parameters included, into a few pools.
    const int pools = static_cast<int>(pick(rng, 2, 6));
    for (int i = 0; i <= d; ++i) {
      if (pick(rng, 0, 3) != 0) b.set_storage(i, static_cast<int>(pick(rng, 0, pools)));
    }
    std::vector<std::vector<int32_t>> in;
    for (int k = 0; k < 5; ++k) in.push_back(input_values(rng, c * h * h, 127));
    if (same_as_scalar(b, in, what)) ++tested;
  }
  WARN("hostile plans that loaded: " << tested << " of 200");
  CHECK(tested >= 20);
}

// Byte activations: a block of convolution steps whose entries fit int8
// (conv -> shift -> relu -> conv -> shift -> residual add -> shift -> clip ->
// conv [-> max_pool2d] [-> concatenate with a conv branch] -> conv; 1x1 and
// 3x3, some depthwise, strides 1 and 2, padding, planes small enough for the
// transposed product and large enough for the tiled one), under the
// builder's storage (one pool an entry), a network's (in-place shifts and
// adds), or random pools; several inferences in a row. The planner must
// keep some entries as bytes on AVX-512 (else this tests nothing).
TEST_CASE("byte activations between convolutions equal the scalar executor", "[fast]") {
  std::mt19937 rng(777);
  int tested = 0, with_bytes = 0;
  for (int iter = 0; iter < 400; ++iter) {
    ModelBuilder b;
    const int64_t n = pick(rng, 1, 2), c = pick(rng, 1, 9), o = pick(rng, 1, 20);
    const int64_t h = iter % 3 == 0 ? pick(rng, 20, 40) : pick(rng, 2, 14), w = pick(rng, 2, 40);
    int x = b.data({n, c, h, w}, 8);
    std::string what = "bytes n" + std::to_string(n) + " c" + std::to_string(c) + " o" +
                       std::to_string(o) + " " + std::to_string(h) + "x" + std::to_string(w);
    int tag = 0;
    // Each conv2d, max_pool2d and concatenate node, then its inputs.
    std::vector<std::vector<int>> convs;
    auto conv = [&](int in, int64_t ci, int64_t co, int64_t k, int64_t stride,
                    std::vector<int64_t>* s, int64_t groups = 1) {
      const int64_t pad = k / 2;
      const std::string t = std::to_string(tag++);
      int wt = b.param("w" + t, {co, ci / groups, k, k}, 8,
                       random_values(rng, co * (ci / groups) * k * k, 127));
      int bias = b.param("b" + t, {co}, 14, random_values(rng, co, 5000));
      *s = {(*s)[0], co, ((*s)[2] + 2 * pad - k) / stride + 1, ((*s)[3] + 2 * pad - k) / stride + 1};
      what += std::string(groups > 1 ? " dw" : " conv") + std::to_string(k) + "s" + std::to_string(stride);
      const int y = b.op("conv2d",
                         {{"channels", std::to_string(co)}, {"kernel_size", shape_attr(k, k)},
                          {"strides", shape_attr(stride, stride)}, {"padding", shape_attr(pad, pad)},
                          {"groups", std::to_string(groups)}, {"use_bias", "True"}},
                         {in, wt, bias}, *s);
      convs.push_back({y, in, wt, bias});
      return y;
    };
    auto shift = [&](int in, const std::vector<int64_t>& s, int prec) {
      return b.op("cvm_right_shift",
                  {{"precision", std::to_string(prec)}, {"shift_bit", std::to_string(pick(rng, 4, 12))}},
                  {in}, s);
    };
    std::vector<int64_t> s{n, c, h, w};
    int y = conv(x, c, o, pick(rng, 0, 1) ? 3 : 1, pick(rng, 1, 2), &s);
    int a = b.op("relu", {}, {shift(y, s, static_cast<int>(pick(rng, 2, 8)))}, s);
    // The middle convolution (whose output meets the residual operand) and
    // the last one are sometimes depthwise.
    y = conv(a, o, o, pick(rng, 0, 1) ? 3 : 1, 1, &s, pick(rng, 0, 1) ? o : 1);
    y = shift(y, s, 8);
    // The node a network's plan puts where `a` is (see below).
    int sum = y;
    if (pick(rng, 0, 2) != 0) {
      sum = b.op("elemwise_add", {}, pick(rng, 0, 1) ? std::vector<int>{y, a} : std::vector<int>{a, y}, s);
      y = shift(sum, s, 8);
      what += " residual";
    }
    int r = pick(rng, 0, 1) ? b.op("relu", {}, {y}, s)
                            : b.op("clip", {{"a_min", "-100"}, {"a_max", std::to_string(pick(rng, 0, 127))}}, {y}, s);
    const bool dw = pick(rng, 0, 2) == 0;
    const int64_t o2 = dw ? o : pick(rng, 1, 12);
    int z = conv(r, o, o2, pick(rng, 0, 1) ? 3 : 1, pick(rng, 1, 2), &s, dw ? o : 1);
    z = b.op("relu", {}, {shift(z, s, 8)}, s);
    const int z1 = z;
    // Then sometimes max_pool2d, sometimes concatenate with a branch, and a
    // last 1x1 convolution.
    if (pick(rng, 0, 1)) {
      const int64_t k = pick(rng, 1, 3), st = pick(rng, 1, 2), p = pick(rng, 0, k - 1);
      if (s[2] + 2 * p >= k && s[3] + 2 * p >= k) {
        s = {s[0], s[1], (s[2] + 2 * p - k) / st + 1, (s[3] + 2 * p - k) / st + 1};
        const int in = z;
        z = b.op("max_pool2d",
                 {{"pool_size", shape_attr(k, k)}, {"strides", shape_attr(st, st)},
                  {"padding", shape_attr(p, p)}},
                 {in}, s);
        convs.push_back({z, in});
        what += " pool" + std::to_string(k) + "s" + std::to_string(st) + "p" + std::to_string(p);
      }
    }
    if (pick(rng, 0, 1)) {
      std::vector<int64_t> qs = s;
      int q = conv(z, s[1], pick(rng, 1, 8), pick(rng, 0, 1) ? 3 : 1, 1, &qs);
      q = b.op("relu", {}, {shift(q, qs, 8)}, qs);
      s[1] += qs[1];
      const int cat = b.op("concatenate", {{"axis", "1"}}, pick(rng, 0, 1) ? std::vector<int>{z, q} : std::vector<int>{q, z}, s);
      convs.push_back({cat, z, q});
      z = cat;
      what += " concat";
    }
    z = b.op("relu", {}, {shift(conv(z, s[1], pick(rng, 1, 6), 1, 1, &s), s, 8)}, s);
    // Sometimes the residual block's input or output is a head too (an
    // entry read by the caller stays int32).
    switch (pick(rng, 0, 4)) {
      case 0: b.set_heads({z, r}); what += " head r"; break;
      case 1: b.set_heads({z, a}); what += " head a"; break;
      case 2: b.set_heads({z, z1}); what += " head z1"; break;
      default: break;
    }
    const int mode = iter % 3;
    if (mode == 1) {
      // A network's plan: shifts and relu in place, the sum where the
      // residual operand is.
      for (int i = 0; i <= z; ++i) {
        const std::string& op = b.op_name(i);
        if (op == "cvm_right_shift" || op == "relu" || op == "clip") b.set_storage(i, b.storage(i - 1));
        if (i == sum) b.set_storage(sum, b.storage(a));
      }
      what += " network storage";
    } else if (mode == 2) {
      random_storage(b, rng, z, static_cast<int>(pick(rng, 2, 5)), convs);
      what += " random storage";
    }
    std::vector<std::vector<int32_t>> in;
    for (int k = 0; k < 3; ++k) in.push_back(input_values(rng, n * c * h * w, 127));
    if (!same_as_scalar(b, in, what)) continue;
    ++tested;
    if (cvm::detected_isa() >= cvm::Isa::kAvx512) {
      IsaGuard guard;
      const Runs got = run_model(b, {in[0]}, cvm::Isa::kAvx512, 2);
      if (got.plan.find("byte entries 0") == std::string::npos) ++with_bytes;
    }
  }
  CHECK(tested >= 360);
  if (cvm::detected_isa() >= cvm::Isa::kAvx512) {
    WARN("plans with byte entries: " << with_bytes << " of " << tested);
    CHECK(with_bytes >= tested / 2);
  }
}

// The quantizer's requantisation (python/cvm/quantize): conv2d, a shift to
// 16 bits, a per-channel (or single) multiplier, a shift to 8 bits, relu or
// not; and its residual add of two int8 entries each scaled by a multiplier
// ((a * Ma + b * Mb) >> s). Multipliers up to 16 bits, node orders, heads
// and storage plans at random: the kRequant
// epilogue and the scaled-add step against the scalar executor.
TEST_CASE("requantisation by per-channel multipliers and scaled adds equal the scalar executor",
          "[fast]") {
  std::mt19937 rng(4242);
  int tested = 0, with_bytes = 0, scaled_adds = 0, fused_adds = 0;
  for (int iter = 0; iter < 240; ++iter) {
    ModelBuilder b;
    const int64_t n = pick(rng, 1, 2), c = pick(rng, 1, 9), o = pick(rng, 1, 24);
    const int64_t h = pick(rng, 2, iter % 4 == 0 ? 30 : 12), w = pick(rng, 2, 30);
    const int x = b.data({n, c, h, w}, 8);
    std::string what = "requant n" + std::to_string(n) + " c" + std::to_string(c) + " o" +
                       std::to_string(o) + " " + std::to_string(h) + "x" + std::to_string(w);
    int tag = 0;
    std::vector<std::vector<int>> reads;  // each node with several inputs, then its inputs
    auto multiplier = [&](int64_t channels) {
      const std::string t = std::to_string(tag++);
      const bool one = pick(rng, 0, 3) == 0;
      const int32_t bound = pick(rng, 0, 1) ? 32767 : 300;
      return b.param("m" + t, one ? std::vector<int64_t>{1} : std::vector<int64_t>{channels, 1, 1},
                     16, random_values(rng, one ? 1 : channels, bound));
    };
    auto requant = [&](int in, const std::vector<int64_t>& s, bool relu) {
      // Precisions: at most 16 + 16 bits for the product (the models'
      // limit of 32: the product never wraps).
      // (Or a clip instead of the first shift, as the quantizer writes when
      // the sums need no shift.)
      const std::string prec = std::to_string(pick(rng, 0, 4) == 0 ? pick(rng, 9, 16) : 16);
      const int shifted =
          pick(rng, 0, 2) == 0
              ? b.op("cvm_clip", {{"precision", prec}}, {in}, s)
              : b.op("cvm_right_shift", {{"precision", prec}, {"shift_bit", std::to_string(pick(rng, 1, 5))}},
                     {in}, s);
      const int m = multiplier(s[1]);
      int y = pick(rng, 0, 1) ? b.op("broadcast_mul", {}, {shifted, m}, s)
                              : b.op("broadcast_mul", {}, {m, shifted}, s);
      reads.push_back({y, shifted, m});
      y = b.op("cvm_right_shift",
               {{"precision", std::to_string(pick(rng, 0, 5) == 0 ? pick(rng, 2, 8) : 8)},
                {"shift_bit", std::to_string(pick(rng, 6, 26))}},
               {y}, s);
      return relu ? b.op("relu", {}, {y}, s) : y;
    };
    auto conv = [&](int in, int64_t ci, int64_t co, std::vector<int64_t>* s, bool depthwise) {
      const int64_t k = pick(rng, 0, 1) ? 3 : 1, stride = pick(rng, 0, 3) == 0 ? 2 : 1;
      const int64_t pad = k / 2, groups = depthwise ? ci : 1;
      const std::string t = std::to_string(tag++);
      const int wt = b.param("w" + t, {co, ci / groups, k, k}, 8,
                             random_values(rng, co * (ci / groups) * k * k, 127));
      const int bias = b.param("b" + t, {co}, 20, random_values(rng, co, 300000));
      *s = {(*s)[0], co, ((*s)[2] + 2 * pad - k) / stride + 1, ((*s)[3] + 2 * pad - k) / stride + 1};
      what += std::string(depthwise ? " dw" : " conv") + std::to_string(k) + "s" + std::to_string(stride);
      const int y = b.op("conv2d",
                         {{"channels", std::to_string(co)}, {"kernel_size", shape_attr(k, k)},
                          {"strides", shape_attr(stride, stride)}, {"padding", shape_attr(pad, pad)},
                          {"groups", std::to_string(groups)}, {"use_bias", "True"}},
                         {in, wt, bias}, *s);
      reads.push_back({y, in, wt, bias});
      return y;
    };
    std::vector<int64_t> s{n, c, h, w};
    const int a = requant(conv(x, c, o, &s, false), s, true);
    const std::vector<int64_t> sa = s;
    int y = requant(conv(a, o, o, &s, pick(rng, 0, 2) == 0), s, pick(rng, 0, 3) == 0);
    int sum = y;
    if (s == sa && pick(rng, 0, 4) != 0) {
      // (y * Ma + a * Mb) >> s, the two products in either order.
      const int ma = multiplier(o), mb = multiplier(o);
      int pa = -1, pb = -1;
      if (pick(rng, 0, 1)) {
        pa = b.op("broadcast_mul", {}, {y, ma}, s);
        pb = b.op("broadcast_mul", {}, {a, mb}, s);
      } else {
        pb = b.op("broadcast_mul", {}, {a, mb}, s);
        pa = b.op("broadcast_mul", {}, {y, ma}, s);
      }
      reads.push_back({pa, y, ma});
      reads.push_back({pb, a, mb});
      sum = b.op(pick(rng, 0, 1) ? "elemwise_add" : "broadcast_add", {},
                 pick(rng, 0, 1) ? std::vector<int>{pa, pb} : std::vector<int>{pb, pa}, s);
      y = b.op("cvm_right_shift",
               {{"precision", std::to_string(pick(rng, 0, 4) == 0 ? pick(rng, 9, 16) : 8)},
                {"shift_bit", std::to_string(pick(rng, 8, 20))}},
               {sum}, s);
      if (pick(rng, 0, 2) != 0) y = b.op("relu", {}, {y}, s);
      what += " scaled add";
    }
    const int z = requant(conv(y, o, pick(rng, 1, 12), &s, false), s, true);
    switch (pick(rng, 0, 5)) {
      case 0: b.set_heads({z, a}); what += " head a"; break;
      case 1: b.set_heads({z, y}); what += " head y"; break;
      case 2: if (sum != y) { b.set_heads({z, sum}); what += " head sum"; } break;
      default: break;
    }
    const int mode = iter % 3;
    if (mode == 1) {
      // Element-wise nodes in place on their first operand's pool (the
      // parameters' aside).
      for (int i = x + 1; i <= z; ++i) {
        const std::string& op = b.op_name(i);
        if (op == "cvm_right_shift" || op == "relu") b.set_storage(i, b.storage(i - 1));
      }
      what += " in place";
    } else if (mode == 2) {
      random_storage(b, rng, z, static_cast<int>(pick(rng, 2, 6)), reads);
      what += " random storage";
    }
    std::vector<std::vector<int32_t>> in;
    for (int k = 0; k < 3; ++k) in.push_back(input_values(rng, n * c * h * w, 127));
    if (!same_as_scalar(b, in, what)) continue;
    ++tested;
    if (cvm::detected_isa() >= cvm::Isa::kAvx512) {
      IsaGuard guard;
      const Runs got = run_model(b, {in[0]}, cvm::Isa::kAvx512, 2);
      if (got.plan.find("byte entries 0") == std::string::npos) ++with_bytes;
    }
    if (sum != y && !fast_levels().empty()) {
      // The scaled add's step, fused unless a product is read (here: never)
      // or the storage plan keeps a product's write (no steps without a
      // vector ISA: the scalar executor runs these nodes one by one).
      IsaGuard guard;
      const Runs got = run_model(b, {in[0]}, fast_levels().back(), 1);
      for (const std::string& step : got.steps) {
        if (step.rfind("scaled_add ", 0) != 0) continue;
        ++scaled_adds;
        const size_t second = step.find(' ', step.find(' ') + 1);
        if (step.substr(0, step.find(' ', second + 1)).find("(stored)") == std::string::npos) {
          ++fused_adds;
        }
      }
    }
  }
  CHECK(tested >= 200);
  if (!fast_levels().empty()) {
    WARN("scaled add steps: " << scaled_adds << ", fused " << fused_adds);
    CHECK(scaled_adds >= 80);
    CHECK(fused_adds >= scaled_adds / 2);
  }
  if (cvm::detected_isa() >= cvm::Isa::kAvx512) {
    WARN("plans with byte entries: " << with_bytes << " of " << tested);
    CHECK(with_bytes >= tested / 2);
  }
}

// Average pools as the quantizer writes them (a depthwise conv2d whose
// filters are all the same, a scalar broadcast_mul and a shift) between byte
// activations: "same" windows of odd sizes up to 7, planes from 1 x 1 to
// 36 x 36, up to 260 channels (several runs of stacked planes), no bias or
// one bias for all channels; and, for the kernels that take planes one by
// one, a channel whose tap or bias differs. Against the scalar executor.
TEST_CASE("average pools on byte activations equal the scalar executor", "[fast]") {
  std::mt19937 rng(2113);
  int tested = 0;
  for (int iter = 0; iter < 80; ++iter) {
    ModelBuilder b;
    const int64_t n = pick(rng, 1, 2), c = pick(rng, 1, 6);
    const int64_t o = iter % 4 == 0 ? pick(rng, 100, 260) : pick(rng, 1, 40);
    const int64_t h = iter % 3 == 0 ? pick(rng, 13, 36) : pick(rng, 1, 12);
    const int64_t w = iter % 3 == 0 ? pick(rng, 13, 36) : pick(rng, 1, 12);
    const int64_t kh = 2 * pick(rng, 0, 3) + 1, kw = 2 * pick(rng, 0, 3) + 1;
    const std::vector<int64_t> s0{n, c, h, w}, s{n, o, h, w};
    const int x = b.data(s0, 8);
    std::string what = "pool n" + std::to_string(n) + " o" + std::to_string(o) + " " +
                       std::to_string(h) + "x" + std::to_string(w) + " k" + std::to_string(kh) +
                       "," + std::to_string(kw);
    auto conv = [&](const std::string& t, int in, int64_t ci, int64_t co, int64_t fh, int64_t fw,
                    int64_t groups, const std::vector<int32_t>& taps, int bias) {
      const int wt = b.param("w" + t, {co, ci / groups, fh, fw}, 8, taps);
      std::vector<int> inputs{in, wt};
      if (bias >= 0) inputs.push_back(bias);
      return b.op("conv2d",
                  {{"channels", std::to_string(co)}, {"kernel_size", shape_attr(fh, fw)},
                   {"strides", shape_attr(1, 1)}, {"padding", shape_attr(fh / 2, fw / 2)},
                   {"groups", std::to_string(groups)},
                   {"use_bias", bias >= 0 ? "True" : "False"}},
                  inputs, {n, co, h, w});
    };
    auto shift = [&](int in, const std::vector<int64_t>& shape, int64_t bits) {
      return b.op("cvm_right_shift", {{"precision", "8"}, {"shift_bit", std::to_string(bits)}},
                  {in}, shape);
    };
    // Byte activations: a 1 x 1 convolution, a shift and relu.
    int a = conv("in", x, c, o, 1, 1, 1, random_values(rng, o * c, 127),
                 b.param("b_in", {o}, 14, random_values(rng, o, 5000)));
    a = b.op("relu", {}, {shift(a, s, pick(rng, 4, 10))}, s);
    // The pool's taps (1, as an average, or any one int8 value) and bias.
    const int32_t tap = pick(rng, 0, 2) == 0 ? static_cast<int32_t>(pick(rng, -127, 127)) : 1;
    std::vector<int32_t> taps(static_cast<size_t>(o * kh * kw), tap);
    const int uneven = static_cast<int>(pick(rng, 0, 5));
    if (uneven == 0) {
      taps[static_cast<size_t>(pick(rng, 0, o - 1) * kh * kw)] = tap == 1 ? 2 : 1;
      what += " one filter differs";
    }
    int bias = -1;
    if (pick(rng, 0, 1)) {
      std::vector<int32_t> values(static_cast<size_t>(o), static_cast<int32_t>(pick(rng, -3000, 3000)));
      if (uneven == 1) {
        values[static_cast<size_t>(pick(rng, 0, o - 1))] += 1;
        what += " one bias differs";
      }
      bias = b.param("b_pool", {o}, 14, values);
      what += " bias";
    }
    int y = conv("pool", a, o, o, kh, kw, o, taps, bias);
    const int m = b.param("mult", {1}, 8, {static_cast<int32_t>(pick(rng, 1, 127))});
    y = shift(b.op("broadcast_mul", {}, {y, m}, s), s, pick(rng, 8, 16));
    // A convolution after, so that the pool's output is a byte entry.
    const int64_t o2 = pick(rng, 1, 8);
    int z = conv("out", y, o, o2, 1, 1, 1, random_values(rng, o2 * o, 127), -1);
    b.op("relu", {}, {shift(z, {n, o2, h, w}, 8)}, {n, o2, h, w});
    std::vector<std::vector<int32_t>> in;
    for (int k = 0; k < 2; ++k) in.push_back(input_values(rng, n * c * h * w, 127));
    if (same_as_scalar(b, in, what)) ++tested;
  }
  CHECK(tested >= 70);
}

// The requantisation's 16-bit lanes at their limits: 1 x 1 convolutions
// whose tiles are rows of full vectors (the fused epilogue's packed path),
// sums clipped to 16 bits or shifted, multipliers up to +-32767, second
// shifts 16 (the 32-bit path) to 31, inputs and weights at +-127 so that the
// sums reach past the clip. Against the scalar executor.
TEST_CASE("requantisation in 16-bit lanes at its limits equals the scalar executor", "[fast]") {
  std::mt19937 rng(1616);
  int tested = 0;
  for (int iter = 0; iter < 60; ++iter) {
    ModelBuilder b;
    const int64_t c = pick(rng, 1, 64), o = pick(rng, 1, 20);
    const int64_t h = pick(rng, 1, 6), w = 48 * pick(rng, 1, 2);  // whole tiles
    const int x = b.data({1, c, h, w}, 8);
    std::vector<int32_t> wv = random_values(rng, o * c, 127);
    for (int32_t& v : wv) {
      if (pick(rng, 0, 1)) v = v < 0 ? -127 : 127;
    }
    const int wt = b.param("w", {o, c, 1, 1}, 8, wv);
    const int bias = b.param("b", {o}, 20, random_values(rng, o, 300000));
    const std::vector<int64_t> s{1, o, h, w};
    int y = b.op("conv2d",
                 {{"channels", std::to_string(o)}, {"kernel_size", shape_attr(1, 1)},
                  {"strides", shape_attr(1, 1)}, {"padding", shape_attr(0, 0)},
                  {"groups", "1"}, {"use_bias", "True"}},
                 {x, wt, bias}, s);
    y = pick(rng, 0, 1) ? b.op("cvm_clip", {{"precision", "16"}}, {y}, s)
                        : b.op("cvm_right_shift",
                               {{"precision", "16"}, {"shift_bit", std::to_string(pick(rng, 1, 3))}},
                               {y}, s);
    std::vector<int32_t> mv;
    const bool one = pick(rng, 0, 1) == 0;
    for (int64_t i = 0; i < (one ? 1 : o); ++i) {
      switch (pick(rng, 0, 3)) {
        case 0: mv.push_back(32767); break;
        case 1: mv.push_back(-32767); break;
        default: mv.push_back(static_cast<int32_t>(pick(rng, -32767, 32767))); break;
      }
    }
    const int m = b.param("m", one ? std::vector<int64_t>{1} : std::vector<int64_t>{o, 1, 1}, 16, mv);
    y = b.op("broadcast_mul", {}, {y, m}, s);
    const int64_t shift = pick(rng, 0, 4) == 0 ? 16 : pick(rng, 17, 31);
    y = b.op("cvm_right_shift", {{"precision", "8"}, {"shift_bit", std::to_string(shift)}}, {y}, s);
    if (pick(rng, 0, 1)) y = b.op("relu", {}, {y}, s);
    // A convolution after it, so that its values are an int8 entry between
    // two steps (a head stays int32).
    const int64_t o2 = pick(rng, 1, 4);
    const std::vector<int64_t> s2{1, o2, h, w};
    const int wt2 = b.param("w2", {o2, o, 1, 1}, 8, random_values(rng, o2 * o, 127));
    b.op("conv2d",
         {{"channels", std::to_string(o2)}, {"kernel_size", shape_attr(1, 1)},
          {"strides", shape_attr(1, 1)}, {"padding", shape_attr(0, 0)}, {"groups", "1"},
          {"use_bias", "False"}},
         {y, wt2}, s2);
    std::vector<std::vector<int32_t>> in{input_values(rng, c * h * w, 127)};
    for (int32_t& v : in[0]) {
      if (pick(rng, 0, 1)) v = v < 0 ? -127 : 127;
    }
    if (same_as_scalar(b, in, "requant 16-bit c" + std::to_string(c) + " o" + std::to_string(o) +
                                  " shift " + std::to_string(shift))) {
      ++tested;
    }
  }
  CHECK(tested >= 55);
}

// concatenate (any rank and axis, negative ones included, 1 to 4 inputs in any
// order) and upsampling (scales 1 to 3), then a few element-wise nodes; half
// the graphs with random storage plans (inputs sharing the output's storage
// run plain), several inferences in a row.
TEST_CASE("fast concatenate and upsampling equal the scalar kernels", "[fast]") {
  std::mt19937 rng(606);
  int tested = 0;
  for (int iter = 0; iter < 80; ++iter) {
    ModelBuilder b;
    std::string what;
    std::vector<int64_t> ds, ys;
    int y = -1;
    if (iter % 2 == 0) {
      const int64_t ndim = pick(rng, 1, 4);
      const int64_t axis = pick(rng, -ndim, ndim - 1), ax = axis < 0 ? axis + ndim : axis;
      std::vector<int64_t> base(static_cast<size_t>(ndim));
      for (int64_t& d : base) d = pick(rng, 1, 5);
      ds = base;
      ds[static_cast<size_t>(ax)] = pick(rng, 1, 40);
      int x = b.op("relu", {}, {b.data(ds, 8)}, ds);
      std::vector<int> inputs{x};
      ys = ds;
      const int64_t more = pick(rng, 0, 3);
      for (int64_t k = 0; k < more; ++k) {
        std::vector<int64_t> ps = base;
        ps[static_cast<size_t>(ax)] = pick(rng, 1, 40);
        ys[static_cast<size_t>(ax)] += ps[static_cast<size_t>(ax)];
        int p = b.param("p" + std::to_string(k), ps, 8, random_values(rng, cvm::shape_size(ps), 127));
        inputs.insert(inputs.begin() + pick(rng, 0, static_cast<int64_t>(inputs.size())), p);
      }
      y = b.op("concatenate", {{"axis", std::to_string(axis)}}, inputs, ys);
      what = "concatenate rank " + std::to_string(ndim) + " axis " + std::to_string(axis) +
             " inputs " + std::to_string(inputs.size());
    } else {
      const int64_t n = pick(rng, 1, 2), c = pick(rng, 1, 4), h = pick(rng, 1, 9);
      const int64_t w = pick(rng, 1, 40), sc = pick(rng, 1, 3);
      ds = {n, c, h, w};
      ys = {n, c, h * sc, w * sc};
      int x = b.op("relu", {}, {b.data(ds, 8)}, ds);
      y = b.op("upsampling", {{"scale", std::to_string(sc)}}, {x}, ys);
      what = "upsampling " + std::to_string(h) + "x" + std::to_string(w) + " scale " +
             std::to_string(sc);
    }
    y = b.op("cvm_right_shift", {{"precision", "6"}, {"shift_bit", "1"}}, {y}, ys);
    y = b.op("relu", {}, {y}, ys);
    if (iter % 4 >= 2) {
      const int pools = static_cast<int>(pick(rng, 1, 4));
      for (int i = 0; i <= y; ++i) {
        if (pick(rng, 0, 2) != 0) b.set_storage(i, static_cast<int>(pick(rng, 0, pools)));
      }
      what += " random storage";
    }
    std::vector<std::vector<int32_t>> in;
    for (int k = 0; k < 3; ++k) in.push_back(input_values(rng, cvm::shape_size(ds), 127));
    if (same_as_scalar(b, in, what)) ++tested;
  }
  CHECK(tested >= 50);
}

TEST_CASE("plans fuse the network patterns and drop unread intermediates", "[fast]") {
  if (fast_levels().empty()) return;
  IsaGuard guard;
  std::mt19937 rng(5);
  // The fastest level this machine has (kAuto would follow CVM_ISA).
  cvm::set_isa(fast_levels().back());
  ModelBuilder b = cvm::tools::conv_layer(rng, 1, 8, 10, 10, 16, 3, 1, 1);
  auto m = cvm::Model::load(b.json(), b.params());
  const auto steps = m->plan_steps();
  REQUIRE(steps.size() == 1);
  CHECK(steps[0].rfind("conv_gemm conv2d_", 0) == 0);
  CHECK(m->plan_summary().find("unwritten entries 2") != std::string::npos);
}

TEST_CASE("fused right shifts by 1 at the int32 extremes", "[fast]") {
  std::mt19937 rng(8);
  const int32_t kMax = std::numeric_limits<int32_t>::max();
  for (int prec : {2, 8, 16, 31, 32}) {
    for (int shift : {1, 2, 31}) {
      ModelBuilder b;
      const std::vector<int64_t> s{1, 2, 3, 17};
      int x = b.data(s, 32);
      int y = b.op("cvm_right_shift", {{"precision", std::to_string(prec)}, {"shift_bit", std::to_string(shift)}}, {x}, s);
      b.op("relu", {}, {y}, s);
      std::vector<int32_t> v = input_values(rng, 102, kMax);
      for (int i = 0; i < 102; i += 3) v[i] = i % 2 ? kMax : -kMax;
      v[1] = kMax - 1;
      v[4] = -kMax + 1;
      CHECK(same_as_scalar(b, {v}, "shift " + std::to_string(prec) + "," + std::to_string(shift)));
    }
  }
}

TEST_CASE("fast sum and max over trailing axes equal the scalar kernel", "[fast]") {
  std::mt19937 rng(21);
  int tested = 0;
  for (int iter = 0; iter < 40; ++iter) {
    const int ndim = static_cast<int>(pick(rng, 1, 4));
    std::vector<int64_t> s;
    for (int d = 0; d < ndim; ++d) s.push_back(pick(rng, 1, 23));
    // Some axes, as written (negative or not), or their complement.
    std::vector<int64_t> axes;
    for (int d = 0; d < ndim; ++d) {
      if (pick(rng, 0, 1)) axes.push_back(pick(rng, 0, 1) ? d : d - ndim);
    }
    if (axes.empty()) axes.push_back(ndim - 1);
    std::string list = "(";
    for (size_t i = 0; i < axes.size(); ++i) list += (i ? ", " : "") + std::to_string(axes[i]);
    list += axes.size() == 1 ? ",)" : ")";
    const bool exclude = pick(rng, 0, 3) == 0, keepdims = pick(rng, 0, 1);
    std::vector<int64_t> os;
    std::vector<bool> flag(static_cast<size_t>(ndim), false);
    for (int64_t a : axes) flag[static_cast<size_t>(a < 0 ? a + ndim : a)] = true;
    if (exclude) flag.flip();
    bool any = false;
    for (int d = 0; d < ndim; ++d) {
      if (!flag[d]) os.push_back(s[d]);
      else if (keepdims) os.push_back(1);
      any = any || flag[d];
    }
    if (!any) os = s;
    if (os.empty()) os.push_back(1);
    ModelBuilder b;
    int x = b.data(s, 31);
    b.op(pick(rng, 0, 1) ? "sum" : "max",
         {{"axis", list}, {"exclude", exclude ? "True" : "False"}, {"keepdims", keepdims ? "True" : "False"}},
         {x}, os);
    std::vector<std::vector<int32_t>> in{input_values(rng, cvm::shape_size(s), (1 << 30) - 1)};
    if (same_as_scalar(b, in, "reduce " + list)) ++tested;
  }
  CHECK(tested >= 20);
}

TEST_CASE("the ISA level follows set_isa, then CVM_ISA, capped by the CPU", "[fast]") {
  IsaGuard guard;
  const char* saved = std::getenv("CVM_ISA");
  const std::string keep = saved ? saved : "";
  cvm::set_isa(cvm::Isa::kAuto);
  setenv("CVM_ISA", "scalar", 1);
  CHECK(cvm::active_isa() == cvm::Isa::kScalar);
  setenv("CVM_ISA", "avx2", 1);
  CHECK(cvm::active_isa() == std::min(cvm::Isa::kAvx2, cvm::detected_isa()));
  setenv("CVM_ISA", "avx512", 1);
  CHECK(cvm::active_isa() == cvm::detected_isa());
  cvm::set_isa(cvm::Isa::kScalar);  // the function wins over the variable
  CHECK(cvm::active_isa() == cvm::Isa::kScalar);
  cvm::set_isa(cvm::Isa::kAuto);
  unsetenv("CVM_ISA");
  CHECK(cvm::active_isa() == cvm::detected_isa());
  if (saved) setenv("CVM_ISA", keep.c_str(), 1);
}

// infer() decodes the input bytes straight into the data entry, clamped to
// the data's precision (int8 inputs: -128 becomes -127; int32 inputs of
// precision 16: +-32767), as Model::run does with int32 values.
TEST_CASE("inputs are clamped to the data's precision on the way in", "[fast]") {
  for (int precision : {8, 16}) {
    ModelBuilder b;
    int x = b.data({1, 2, 3}, precision);
    b.op("flatten", {}, {x}, {1, 6});
    auto model = cvm::Model::load(b.json(), b.params());
    const std::vector<int32_t> values{-128, 127, 5, -40000, 40000, -7};
    const int32_t range = precision == 8 ? 127 : 32767;
    std::vector<uint8_t> in;
    for (int32_t v : values) {
      const int32_t wide = precision == 8 ? static_cast<int8_t>(v & 0xFF) : v;
      for (int k = 0; k < (precision == 8 ? 1 : 4); ++k) {
        in.push_back(static_cast<uint8_t>(static_cast<uint32_t>(wide) >> (8 * k)));
      }
    }
    const std::vector<uint8_t> out = model->infer(in);
    REQUIRE(out.size() == in.size());
    for (size_t i = 0; i < values.size(); ++i) {
      const int32_t sent = precision == 8 ? static_cast<int8_t>(values[i] & 0xFF) : values[i];
      const int32_t want = std::min(std::max(sent, -range), range);
      int32_t got = 0;
      if (precision == 8) {
        got = static_cast<int8_t>(out[i]);
      } else {
        uint32_t u = 0;
        for (int k = 0; k < 4; ++k) u |= static_cast<uint32_t>(out[4 * i + k]) << (8 * k);
        got = static_cast<int32_t>(u);
      }
      INFO("precision " << precision << " value " << i);
      CHECK(got == want);
    }
    // Model::run clamps its int32 values alike.
    const auto heads = model->run(values);
    for (size_t i = 0; i < values.size(); ++i) {
      CHECK(heads[0][i] == std::min(std::max(values[i], -range), range));
    }
  }
  // Read by a convolution that takes bytes (a 1 x 1 filter of weight 1),
  // an input of precision 8 is kept as int8 values where the ISA has byte
  // kernels: clamped all the same, on every ISA level.
  IsaGuard guard;
  const std::vector<int32_t> values{-128, 127, 5, -100, 0, -7};
  std::vector<uint8_t> in;
  for (int32_t v : values) in.push_back(static_cast<uint8_t>(v & 0xFF));
  for (cvm::Isa isa : fast_levels()) {
    cvm::set_isa(isa);
    ModelBuilder b;
    int x = b.data({1, 1, 2, 3}, 8);
    int w = b.param("w", {1, 1, 1, 1}, 8, {1});
    b.op("conv2d",
         {{"channels", "1"}, {"kernel_size", shape_attr(1, 1)}, {"strides", shape_attr(1, 1)},
          {"padding", shape_attr(0, 0)}, {"groups", "1"}, {"use_bias", "False"}},
         {x, w}, {1, 1, 2, 3});
    auto model = cvm::Model::load(b.json(), b.params());
    INFO("isa " << static_cast<int>(isa) << " plan " << model->plan_summary());
    const std::vector<uint8_t> out = model->infer(in);
    REQUIRE(out.size() == 4 * values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      uint32_t u = 0;
      for (int k = 0; k < 4; ++k) u |= static_cast<uint32_t>(out[4 * i + k]) << (8 * k);
      CHECK(static_cast<int32_t>(u) == std::max(values[i], -127));
    }
    CHECK(model->run(values)[0][0] == -127);
    // The byte kernels (AVX-512) keep the input as bytes.
    if (isa == cvm::Isa::kAvx512) {
      CHECK(model->plan_summary().find("byte entries 1") != std::string::npos);
    }
  }
}
