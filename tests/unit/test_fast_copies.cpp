// The copy steps (runtime/plan/steps/strided_copy.cc: transpose,
// strided_slice, reshape, flatten, squeeze, expand_dims) against the plain
// scalar executor, byte for byte, on every ISA level and 1, 2 and 3 threads:
// random shapes, permutations and slices (negative strides, begin and end
// out of range, fewer entries than dims), chains of copies, random storage
// plans, int32 data and byte activations (the input of a copy the int8
// output of a convolution whose chain ends in relu), with the entries a
// plan keeps as bytes counted.
#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "base/error.h"
#include "fast_test_util.h"
#include "ops/op.h"
#include "tools/model_builder.h"

namespace cvm {
namespace test {
namespace {

using tools::shape_attr;

// "(a, b, c)"; "(a,)" for one value.
std::string tuple(const std::vector<int64_t>& v) {
  std::string s = "(";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + (v.size() == 1 ? ",)" : ")");
}

// The output shape by the operator's own shape rule; false when the rule
// rejects the attributes for this input.
bool output_shape(const std::string& op, const AttrDict& attrs, const Shape& in, Shape* out) {
  try {
    const std::unique_ptr<Operator> o = (*op_registry().find(op))(NodeAttrs{op, op + "_t", attrs});
    std::vector<Shape> ins{in}, outs;
    o->infer_shape(ins, outs);
    *out = outs.at(0);
    return true;
  } catch (const Error&) {
    return false;
  }
}

struct CopyNode {
  std::string op;
  AttrDict attrs;
  Shape shape;  // the output's
};

// A random copy operator of data of shape `xs` that the shape rule accepts
// (at most kMaxRank dims out).
CopyNode random_copy(std::mt19937& rng, const Shape& xs) {
  constexpr size_t kMaxRank = 6;
  const int64_t ndim = static_cast<int64_t>(xs.size());
  for (;;) {
    CopyNode c;
    switch (pick(rng, 0, 9)) {
      case 0: case 1: case 2: {
        c.op = "transpose";
        std::vector<int64_t> axes(xs.size());
        std::iota(axes.begin(), axes.end(), 0);
        std::shuffle(axes.begin(), axes.end(), rng);
        for (int64_t& a : axes) {
          if (pick(rng, 0, 3) == 0) a -= ndim;
        }
        if (pick(rng, 0, 5) != 0) c.attrs["axes"] = tuple(axes);  // else reversed
        break;
      }
      case 3: case 4: case 5: {
        c.op = "strided_slice";
        // Entries for some leading axes, in and out of range, strides of
        // either sign; missing ones take the whole axis.
        const int64_t listed = pick(rng, 0, 4) == 0 ? pick(rng, 0, ndim) : ndim;
        std::vector<int64_t> begin, end, stride;
        for (int64_t i = 0; i < listed; ++i) {
          const int64_t d = xs[static_cast<size_t>(i)];
          begin.push_back(pick(rng, -d - 3, d + 3));
          end.push_back(pick(rng, -d - 3, d + 3));
          const int64_t s = pick(rng, 1, 3);
          stride.push_back(pick(rng, 0, 2) == 0 ? -s : s);
          if (pick(rng, 0, 2) == 0) {  // the whole axis, forwards or backwards
            begin.back() = stride.back() > 0 ? 0 : d - 1;
            end.back() = stride.back() > 0 ? d + 5 : -d - 5;
          }
        }
        c.attrs["begin"] = tuple(begin);
        c.attrs["end"] = tuple(end);
        if (pick(rng, 0, 5) != 0) c.attrs["stride"] = tuple(stride);
        break;
      }
      case 6: {
        c.op = "reshape";
        // Adjacent dims merged or a dim split off, or one of the special
        // values.
        std::vector<int64_t> target(xs.begin(), xs.end());
        const int64_t size = shape_size(xs);
        switch (pick(rng, 0, 3)) {
          case 0: target = {-1}; break;
          case 1: target = {0, -1}; break;
          case 2:
            if (target.size() > 1) {
              const size_t at = static_cast<size_t>(pick(rng, 0, ndim - 2));
              target[at] *= target[at + 1];
              target.erase(target.begin() + static_cast<int64_t>(at) + 1);
            }
            break;
          default:
            for (int64_t f = 2; f <= 5; ++f) {
              if (size % f == 0 && target.size() < kMaxRank) {
                target = {f, size / f};
                break;
              }
            }
            break;
        }
        c.attrs["shape"] = tuple(target);
        break;
      }
      case 7: c.op = "flatten"; break;
      case 8: {
        c.op = "squeeze";
        std::vector<int64_t> ones;
        for (int64_t i = 0; i < ndim; ++i) {
          if (xs[static_cast<size_t>(i)] == 1 && pick(rng, 0, 1)) ones.push_back(i - ndim * pick(rng, 0, 1));
        }
        if (!ones.empty() && pick(rng, 0, 2) != 0) c.attrs["axis"] = tuple(ones);
        break;
      }
      default:
        c.op = "expand_dims";
        c.attrs["axis"] = std::to_string(pick(rng, -ndim - 1, ndim));
        break;
    }
    if (output_shape(c.op, c.attrs, xs, &c.shape) && c.shape.size() <= kMaxRank) return c;
  }
}

// A random shape of rank 1 to 5: dims of 1 to 7, sometimes one long dim
// (rows past the step's pieces, tiles past one).
Shape random_shape(std::mt19937& rng) {
  Shape s(static_cast<size_t>(pick(rng, 1, 5)));
  for (int64_t& d : s) d = pick(rng, 0, 3) == 0 ? 1 : pick(rng, 2, 7);
  switch (pick(rng, 0, 5)) {
    case 0: s[static_cast<size_t>(pick(rng, 0, static_cast<int64_t>(s.size()) - 1))] = pick(rng, 30, 90); break;
    case 1: s = {pick(rng, 1, 3), pick(rng, 17000, 20000)}; break;
    case 2: s = {pick(rng, 40, 80), pick(rng, 40, 80)}; break;
    default: break;
  }
  return s;
}

// The entries a plan summary says are kept as bytes.
int byte_entries(const std::string& plan) {
  const size_t at = plan.find("byte entries ");
  REQUIRE(at != std::string::npos);
  return std::stoi(plan.substr(at + 13));
}

// How many steps of the plan of `b` on `isa` are copy steps.
int copy_steps(const ModelBuilder& b, Isa isa) {
  IsaGuard guard;
  set_isa(isa);
  int count = 0;
  for (const std::string& step : Model::load(b.json(), b.params())->plan_steps()) {
    for (const char* kind : {"transpose ", "slice ", "copy "}) count += step.rfind(kind, 0) == 0;
  }
  return count;
}

std::string describe(const CopyNode& c) {
  std::string s = " " + c.op;
  for (const auto& kv : c.attrs) s += " " + kv.first + "=" + kv.second;
  return s + " -> " + tuple(c.shape);
}

}  // namespace

// int32 data: relu (so that the copy reads a step's output), one to three
// copies, a right shift; a quarter of the graphs with random storage plans
// (a copy sharing its input's storage runs plain), some with an
// intermediate copy as a head too.
TEST_CASE("fast transpose, strided_slice and flat copies equal the scalar kernels", "[fast]") {
  std::mt19937 rng(8080);
  int tested = 0;
  for (int iter = 0; iter < 120; ++iter) {
    ModelBuilder b;
    const Shape xs = random_shape(rng);
    std::string what = "data " + tuple(xs);
    int y = b.op("relu", {}, {b.data(xs, 31)}, xs);
    Shape s = xs;
    std::vector<int> copies;
    const int count = static_cast<int>(pick(rng, 1, 3));
    for (int k = 0; k < count; ++k) {
      const CopyNode c = random_copy(rng, s);
      y = b.op(c.op, c.attrs, {y}, c.shape);
      s = c.shape;
      what += describe(c);
      copies.push_back(y);
    }
    y = b.op("cvm_right_shift", {{"precision", "20"}, {"shift_bit", "3"}}, {y}, s);
    if (pick(rng, 0, 3) == 0) {
      b.set_heads({y, copies[static_cast<size_t>(pick(rng, 0, count - 1))]});
      what += " copy head";
    }
    if (iter % 4 == 3) {
      const int pools = static_cast<int>(pick(rng, 1, 4));
      for (int i = 0; i <= y; ++i) {
        if (pick(rng, 0, 2) != 0) b.set_storage(i, static_cast<int>(pick(rng, 0, pools)));
      }
      what += " random storage";
    }
    std::vector<std::vector<int32_t>> in;
    for (int k = 0; k < 2; ++k) in.push_back(input_values(rng, shape_size(xs), 1 << 30));
    if (!same_as_scalar(b, in, what)) continue;
    ++tested;
    // Each copy is a fast step under the builder's storage (one pool an
    // entry).
    if (iter % 4 != 3 && !fast_levels().empty()) {
      INFO(what);
      CHECK(copy_steps(b, fast_levels().front()) == count);
    }
  }
  // Random storage makes some graphs invalid (outputs over live entries).
  CHECK(tested >= 90);
}

// Byte activations: conv -> shift -> relu gives int8 values, copied by one
// to three copies, then read by a 1x1 convolution (after a reshape to
// NCHW), a max_pool2d or a concatenate (all take bytes); sometimes a copy
// is a head (read as int32 by the caller, so the copies on either side of
// it widen or narrow), sometimes random storage.
TEST_CASE("copies of byte activations equal the scalar executor", "[fast]") {
  std::mt19937 rng(9090);
  int tested = 0, with_bytes = 0;
  for (int iter = 0; iter < 150; ++iter) {
    ModelBuilder b;
    const int64_t n = pick(rng, 1, 2), c = pick(rng, 1, 6), o = pick(rng, 1, 12);
    const int64_t h = pick(rng, 1, 12), w = pick(rng, 1, iter % 5 == 0 ? 60 : 12);
    int x = b.data({n, c, h, w}, 8);
    std::string what = "bytes n" + std::to_string(n) + " c" + std::to_string(c) + " o" +
                       std::to_string(o) + " " + std::to_string(h) + "x" + std::to_string(w);
    int tag = 0;
    std::vector<std::vector<int>> reads;  // nodes that must not write where they read
    auto conv = [&](int in, const Shape& xs, int64_t co) {
      const std::string t = std::to_string(tag++);
      const int wt = b.param("w" + t, {co, xs[1], 1, 1}, 8, random_values(rng, co * xs[1], 127));
      const int bias = b.param("b" + t, {co}, 14, random_values(rng, co, 5000));
      const Shape ys{xs[0], co, xs[2], xs[3]};
      int y = b.op("conv2d", {{"channels", std::to_string(co)}, {"kernel_size", "(1, 1)"}, {"use_bias", "True"}},
                   {in, wt, bias}, ys);
      reads.push_back({y, in, wt, bias});
      y = b.op("cvm_right_shift", {{"precision", "8"}, {"shift_bit", std::to_string(pick(rng, 4, 10))}}, {y}, ys);
      return b.op("relu", {}, {y}, ys);
    };
    Shape s{n, o, h, w};
    int y = conv(x, {n, c, h, w}, o);
    std::vector<int> copies;
    const int count = static_cast<int>(pick(rng, 1, 3));
    for (int k = 0; k < count; ++k) {
      const CopyNode cn = random_copy(rng, s);
      const int in = y;
      y = b.op(cn.op, cn.attrs, {in}, cn.shape);
      reads.push_back({y, in});
      s = cn.shape;
      what += describe(cn);
      copies.push_back(y);
    }
    // The reader, which takes bytes.
    const int64_t size = shape_size(s);
    int z = -1;
    switch (pick(rng, 0, 2)) {
      case 0: {
        const Shape r{1, size, 1, 1};
        const int in = y;
        y = b.op("reshape", {{"shape", tuple(r)}}, {in}, r);
        reads.push_back({y, in});
        z = conv(y, r, pick(rng, 1, 4));
        what += " -> conv";
        break;
      }
      case 1: {
        const Shape r{1, 1, 1, size};
        const int in = y;
        y = b.op("reshape", {{"shape", tuple(r)}}, {in}, r);
        reads.push_back({y, in});
        const Shape p{1, 1, 1, size - (size > 1 ? 1 : 0)};
        z = b.op("max_pool2d", {{"pool_size", size > 1 ? "(1, 2)" : "(1, 1)"}}, {y}, p);
        reads.push_back({z, y});
        what += " -> max_pool2d";
        break;
      }
      default: {
        Shape cs = s;
        cs[0] *= 2;
        z = b.op("concatenate", {{"axis", "0"}}, {y, y}, cs);
        reads.push_back({z, y});
        what += " -> concatenate";
        break;
      }
    }
    std::vector<int> heads{z};
    if (pick(rng, 0, 3) == 0) {
      heads.push_back(copies[static_cast<size_t>(pick(rng, 0, count - 1))]);
      what += " copy head";
    }
    b.set_heads(heads);
    if (iter % 3 == 2) {
      random_storage(b, rng, z, static_cast<int>(pick(rng, 2, 5)), reads);
      what += " random storage";
    }
    std::vector<std::vector<int32_t>> in;
    for (int k = 0; k < 3; ++k) in.push_back(input_values(rng, n * c * h * w, 127));
    if (!same_as_scalar(b, in, what)) continue;
    ++tested;
    if (detected_isa() >= Isa::kAvx512) {
      IsaGuard guard;
      const Runs got = run_model(b, {in[0]}, Isa::kAvx512, 2);
      if (byte_entries(got.plan) >= 2) ++with_bytes;
    }
  }
  CHECK(tested >= 140);
  if (detected_isa() >= Isa::kAvx512) {
    WARN("plans with byte entries past the input: " << with_bytes << " of " << tested);
    CHECK(with_bytes >= tested / 2);
  }
}

// A shufflenet unit's channel shuffle between two convolutions whose
// chains end in relu: reshape (1, 8, 6, 6) -> (1, 2, 4, 6, 6), transpose
// of the two channel dims, reshape back, a slice of the last 4 channels.
// On AVX-512 every entry from the input to the slice is kept as int8
// values: 6 of them (the input, the first group's output and the four
// copies'); 5 when the first reshape's output is also a head (the caller
// reads it as int32: the reshape widens, the transpose narrows); none when
// the shuffle's input is a relu of the input, not bounded to int8 by its
// pattern (the copies move int32).
TEST_CASE("the channel shuffle's copies keep byte activations", "[fast]") {
  std::mt19937 rng(31);
  for (int variant = 0; variant < 3; ++variant) {
    ModelBuilder b;
    const int x = b.data({1, variant == 2 ? 8 : 4, 6, 6}, 8);
    auto conv = [&](int in, int64_t ci, int64_t co, int precision) {
      const std::string t = std::to_string(b.storage(in));
      const Shape ys{1, co, 6, 6};
      const int wt = b.param("w" + t, {co, ci, 1, 1}, 8, random_values(rng, co * ci, 127));
      const int bias = b.param("b" + t, {co}, 14, random_values(rng, co, 5000));
      int y = b.op("conv2d", {{"channels", std::to_string(co)}, {"kernel_size", "(1, 1)"}, {"use_bias", "True"}},
                   {in, wt, bias}, ys);
      y = b.op("cvm_right_shift", {{"precision", std::to_string(precision)}, {"shift_bit", "6"}}, {y}, ys);
      return b.op("relu", {}, {y}, ys);
    };
    const int a = variant == 2 ? b.op("relu", {}, {x}, {1, 8, 6, 6}) : conv(x, 4, 8, 8);
    const int r = b.op("reshape", {{"shape", "(1, 2, 4, 6, 6)"}}, {a}, {1, 2, 4, 6, 6});
    const int t = b.op("transpose", {{"axes", "(0, 2, 1, 3, 4)"}}, {r}, {1, 4, 2, 6, 6});
    const int back = b.op("reshape", {{"shape", "(1, 8, 6, 6)"}}, {t}, {1, 8, 6, 6});
    const int slice = b.op("strided_slice", {{"begin", "(0, 4)"}, {"end", "(1, 8)"}}, {back}, {1, 4, 6, 6});
    const int y = conv(slice, 4, 3, 8);
    if (variant == 1) b.set_heads({y, r});
    std::vector<std::vector<int32_t>> in;
    for (int k = 0; k < 2; ++k) in.push_back(input_values(rng, (variant == 2 ? 8 : 4) * 36, 127));
    INFO("variant " << variant);
    REQUIRE(same_as_scalar(b, in, "channel shuffle"));
    for (Isa isa : fast_levels()) CHECK(copy_steps(b, isa) == 4);
    if (detected_isa() >= Isa::kAvx512) {
      IsaGuard guard;
      const std::string plan = run_model(b, {in[0]}, Isa::kAvx512, 2).plan;
      INFO(plan);
      CHECK(byte_entries(plan) == std::vector<int>{6, 5, 0}[static_cast<size_t>(variant)]);
    }
  }
}

}  // namespace test
}  // namespace cvm
