// Unit tests of the neural-network operators: dense, conv2d, max_pool2d,
// upsampling. Expected values are worked out by hand unless stated.
#include <catch2/catch.hpp>

#include "op_test_util.h"

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ops/op.h"

using namespace cvm;

namespace {

using cvm::test::error_code;
using cvm::test::make_op;



int factory_code(const std::string& name, const AttrDict& dict) {
  return error_code([&] { make_op(name, dict); });
}

std::vector<Shape> infer(const Operator& op, std::vector<Shape> in) {
  std::vector<Shape> out(op.num_outputs());
  op.infer_shape(in, out);
  return out;
}

int shape_code(const std::string& name, const AttrDict& dict, const std::vector<Shape>& in) {
  return error_code([&] {
    auto op = make_op(name, dict);
    infer(*op, in);
  });
}

// Runs shape and precision rules (inputs all of precision `prec`) and the
// kernel; returns the output values.
std::vector<int32_t> run_op(const Operator& op, const std::vector<Shape>& shapes,
                            std::vector<std::vector<int32_t>> data,
                            const std::vector<int>& prec = {}) {
  std::vector<Shape> out_shapes = infer(op, shapes);
  std::vector<Shape> all = shapes;
  all.insert(all.end(), out_shapes.begin(), out_shapes.end());
  std::vector<int> iprec = prec.empty() ? std::vector<int>(shapes.size(), 8) : prec;
  std::vector<int> oprec(out_shapes.size(), -1);
  op.infer_precision(all, iprec, oprec);
  std::vector<Tensor> in, out;
  for (size_t i = 0; i < shapes.size(); ++i) {
    REQUIRE(static_cast<int64_t>(data[i].size()) == shape_size(shapes[i]));
    in.push_back(Tensor{data[i].data(), shapes[i]});
  }
  std::vector<int32_t> result(static_cast<size_t>(shape_size(out_shapes[0])), 0x5A5A5A5A);
  out.push_back(Tensor{result.data(), out_shapes[0]});
  Workspace ws;
  op.run(in, out, ws);
  return result;
}

int precision_of(const Operator& op, const std::vector<Shape>& in_shapes,
                 const std::vector<int>& prec) {
  std::vector<Shape> all = in_shapes;
  for (const Shape& s : infer(op, in_shapes)) all.push_back(s);
  std::vector<int> iprec = prec;
  std::vector<int> oprec(op.num_outputs(), -1);
  op.infer_precision(all, iprec, oprec);
  return oprec[0];
}

// Precision rule error code, with output shapes given (not inferred).
int precision_code(const Operator& op, const std::vector<Shape>& all, std::vector<int> prec) {
  return error_code([&] {
    std::vector<int> oprec(op.num_outputs(), -1);
    op.infer_precision(all, prec, oprec);
  });
}

std::vector<int32_t> iota(int64_t n, int32_t start = 1) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (auto& x : v) x = start++;
  return v;
}

constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
constexpr int32_t kMax = std::numeric_limits<int32_t>::max();

}  // namespace

// --------------------------------------------------------------------------
// dense

TEST_CASE("dense: values with and without bias", "[nn]") {
  auto op = make_op("dense", {{"units", "2"}});
  CHECK(op->num_inputs(3) == 3);
  // x = [[1,2,3],[-1,0,4]], w = [[1,0,-1],[2,1,1]], b = [10,-5]
  auto y = run_op(*op, {{2, 3}, {2, 3}, {2}},
                  {{1, 2, 3, -1, 0, 4}, {1, 0, -1, 2, 1, 1}, {10, -5}});
  CHECK(y == std::vector<int32_t>{8, 2, 5, -3});

  auto nobias = make_op("dense", {{"units", "2"}, {"use_bias", "False"}});
  CHECK(nobias->num_inputs(2) == 2);
  y = run_op(*nobias, {{2, 3}, {2, 3}}, {{1, 2, 3, -1, 0, 4}, {1, 0, -1, 2, 1, 1}});
  CHECK(y == std::vector<int32_t>{-2, 7, -5, 2});
}

TEST_CASE("dense: int32 sums wrap like the reference", "[nn]") {
  auto op = make_op("dense", {{"units", "1"}});
  // 2^30 * 2 + 2^30 * 2 = 2^32 -> 0; then + bias.
  auto y = run_op(*op, {{1, 2}, {1, 2}, {1}}, {{1 << 30, 1 << 30}, {2, 2}, {7}});
  CHECK(y == std::vector<int32_t>{7});
  // INT32_MAX + 1 wraps to INT32_MIN.
  y = run_op(*op, {{1, 1}, {1, 1}, {1}}, {{1}, {1}, {kMax}});
  CHECK(y == std::vector<int32_t>{kMin});
}

TEST_CASE("dense: shape rule", "[nn]") {
  auto op = make_op("dense", {{"units", "5"}});
  CHECK(infer(*op, {{4, 3}, {5, 3}, {5}})[0] == Shape{4, 5});
  AttrDict attrs{{"units", "5"}};
  CHECK(shape_code("dense", attrs, {{4, 3, 1}, {5, 3}, {5}}) == 1);  // data not 2-D
  CHECK(shape_code("dense", attrs, {{4, 3}, {15}, {5}}) == 1);       // weight not 2-D
  CHECK(shape_code("dense", attrs, {{4, 3}, {5, 4}, {5}}) == 2);     // weight mismatch
  CHECK(shape_code("dense", attrs, {{4, 3}, {6, 3}, {5}}) == 2);
  CHECK(shape_code("dense", attrs, {{4, 3}, {5, 3}, {6}}) == 2);     // bias mismatch
  CHECK(shape_code("dense", attrs, {{4, 3}, {5, 3}, {5, 1}}) == 2);
}

TEST_CASE("dense: attributes", "[nn]") {
  CHECK(factory_code("dense", {}) == 2);                       // units required
  CHECK(factory_code("dense", {{"units", "0"}}) == 2);         // lower bound 1
  CHECK(factory_code("dense", {{"units", "x"}}) == 2);
  CHECK(factory_code("dense", {{"units", "3"}, {"bogus", "1"}}) == 2);
  CHECK(factory_code("dense", {{"units", "3"}, {"use_bias", "maybe"}}) == 2);
  CHECK(factory_code("dense", {{"units", "3"}, {"use_bias", "0"}}) == 0);
}

TEST_CASE("dense: precision and gas", "[nn]") {
  auto op = make_op("dense", {{"units", "5"}});
  // 8 + 8 + bits(3) = 18; with a 20-bit bias: max(18, 20) + 1.
  CHECK(precision_of(*op, {{4, 3}, {5, 3}, {5}}, {8, 8, 20}) == 21);
  CHECK(precision_of(*op, {{4, 3}, {5, 3}, {5}}, {8, 8, 10}) == 19);
  CHECK(precision_of(*op, {{4, 4}, {5, 4}, {5}}, {6, 7, 1}) == 17);  // bits(4) = 3
  std::vector<Shape> all{{4, 3}, {5, 3}, {5}, {4, 5}};
  CHECK(precision_code(*op, all, {9, 8, 8}) == 1);
  CHECK(precision_code(*op, all, {8, 9, 8}) == 1);
  CHECK(op->gas_per_output({{4, 3}, {5, 3}, {5}}, {{4, 5}}) == 10);
  auto nobias = make_op("dense", {{"units", "5"}, {"use_bias", "false"}});
  CHECK(precision_of(*nobias, {{4, 3}, {5, 3}}, {8, 8}) == 18);
  CHECK(nobias->gas_per_output({{4, 3}, {5, 3}}, {{4, 5}}) == 9);
  CHECK_FALSE(op->in_place_allowed());
}

// --------------------------------------------------------------------------
// conv2d

namespace {

AttrDict conv_attrs(const std::string& channels, const std::string& kernel,
                    AttrDict extra = {}) {
  extra["channels"] = channels;
  extra["kernel_size"] = kernel;
  return extra;
}

}  // namespace

TEST_CASE("conv2d: hand-computed values", "[nn]") {
  const std::vector<int32_t> x = iota(9);  // 3x3: 1..9
  const std::vector<int32_t> w{1, 2, 3, 4};

  auto plain = make_op("conv2d", conv_attrs("1", "(2, 2)"));
  CHECK(run_op(*plain, {{1, 1, 3, 3}, {1, 1, 2, 2}, {1}}, {x, w, {-7}}) ==
        std::vector<int32_t>{30, 40, 60, 70});

  auto padded = make_op("conv2d", conv_attrs("1", "(2, 2)",
                                             {{"padding", "(1, 1)"},
                                              {"strides", "(2, 2)"},
                                              {"use_bias", "false"}}));
  CHECK(run_op(*padded, {{1, 1, 3, 3}, {1, 1, 2, 2}}, {x, w}) ==
        std::vector<int32_t>{4, 18, 36, 77});

  auto dilated = make_op("conv2d", conv_attrs("1", "(2, 2)",
                                              {{"dilation", "(2, 2)"},
                                               {"use_bias", "false"}}));
  CHECK(run_op(*dilated, {{1, 1, 3, 3}, {1, 1, 2, 2}}, {x, w}) == std::vector<int32_t>{64});

  // Two input channels, two filters, 1x1: y[o] = sum_c w[o][c] * x[c] + b[o].
  auto mix = make_op("conv2d", conv_attrs("2", "(1, 1)"));
  CHECK(run_op(*mix, {{1, 2, 1, 2}, {2, 2, 1, 1}, {2}},
               {{1, 2, 3, 4}, {1, -1, 2, 3}, {0, 100}}) ==
        std::vector<int32_t>{-2, -2, 111, 116});
}

TEST_CASE("conv2d: depthwise and grouped", "[nn]") {
  auto dw = make_op("conv2d", conv_attrs("2", "(1, 1)", {{"groups", "2"}}));
  CHECK(run_op(*dw, {{1, 2, 2, 2}, {2, 1, 1, 1}, {2}},
               {iota(8), {2, -3}, {1, 1}}) ==
        std::vector<int32_t>{3, 5, 7, 9, -14, -17, -20, -23});

  // 4 input channels in 2 groups, 2 filters: oc0 sees c0, c1; oc1 sees c2, c3.
  auto grouped = make_op("conv2d", conv_attrs("2", "(1, 1)",
                                              {{"groups", "2"}, {"use_bias", "false"}}));
  CHECK(run_op(*grouped, {{1, 4, 1, 1}, {2, 2, 1, 1}}, {{1, 2, 3, 4}, {1, 10, 100, 1000}}) ==
        std::vector<int32_t>{21, 4300});

  // One channel, 3x3 with padding 1 on a 2x2 plane, batch 2.
  auto dw3 = make_op("conv2d", conv_attrs("1", "(3, 3)",
                                          {{"groups", "1"}, {"padding", "(1, 1)"},
                                           {"use_bias", "false"}}));
  // All-ones filter: each output is the sum of the whole 2x2 plane.
  CHECK(run_op(*dw3, {{2, 1, 2, 2}, {1, 1, 3, 3}},
               {{1, 2, 3, 4, -1, -1, -1, 5}, std::vector<int32_t>(9, 1)}) ==
        std::vector<int32_t>{10, 10, 10, 10, 2, 2, 2, 2});
}

TEST_CASE("conv2d: operand width of the reference's kernels", "[nn]") {
  // groups == 1 multiplies int8 casts of data and weight (200 -> -56,
  // 300 -> 44); groups > 1 multiplies the int32 values.
  auto dense_conv = make_op("conv2d", conv_attrs("1", "(1, 1)", {{"use_bias", "false"}}));
  CHECK(run_op(*dense_conv, {{1, 1, 1, 2}, {1, 1, 1, 1}}, {{200, 3}, {300}}) ==
        std::vector<int32_t>{-56 * 44, 3 * 44});
  auto grouped = make_op("conv2d", conv_attrs("2", "(1, 1)",
                                              {{"groups", "2"}, {"use_bias", "false"}}));
  CHECK(run_op(*grouped, {{1, 2, 1, 1}, {2, 1, 1, 1}}, {{200, 1 << 20}, {300, 1 << 12}}) ==
        std::vector<int32_t>{60000, 0});  // 2^32 wraps to 0
  // Bias addition wraps.
  auto biased = make_op("conv2d", conv_attrs("1", "(1, 1)"));
  CHECK(run_op(*biased, {{1, 1, 1, 1}, {1, 1, 1, 1}, {1}}, {{1}, {1}, {kMax}}) ==
        std::vector<int32_t>{kMin});
}

TEST_CASE("conv2d: shape rule", "[nn]") {
  auto op = make_op("conv2d", conv_attrs("8", "(3, 3)",
                                         {{"padding", "(1, 1)"}, {"strides", "(2, 2)"}}));
  CHECK(infer(*op, {{2, 4, 9, 8}, {8, 4, 3, 3}, {8}})[0] == Shape{2, 8, 5, 4});
  auto dil = make_op("conv2d", conv_attrs("6", "(3, 2)", {{"dilation", "(2, 3)"},
                                                          {"groups", "3"}}));
  CHECK(infer(*dil, {{1, 3, 10, 10}, {6, 1, 3, 2}, {6}})[0] == Shape{1, 6, 6, 7});

  const std::vector<Shape> ok{{1, 4, 5, 5}, {8, 4, 3, 3}, {8}};
  CHECK(shape_code("conv2d", conv_attrs("8", "(3, 3)"), ok) == 0);
  CHECK(shape_code("conv2d", conv_attrs("8", "(3, 3)"), {{4, 5, 5}, {8, 4, 3, 3}, {8}}) == 1);
  CHECK(shape_code("conv2d", conv_attrs("8", "(3, 3)"), {{1, 4, 5, 5}, {8, 4, 3, 3}, {7}}) ==
        2);  // bias shape
  CHECK(shape_code("conv2d", conv_attrs("8", "(6, 3)"), ok) == 1);  // kernel exceeds input
  CHECK(shape_code("conv2d", conv_attrs("8", "(3, 3)", {{"dilation", "(3, 1)"}}), ok) == 1);
  CHECK(shape_code("conv2d", conv_attrs("8", "(3, 3)", {{"groups", "3"}}), ok) == 1);
  CHECK(shape_code("conv2d", conv_attrs("8", "(3, 3)", {{"groups", "0"}}), ok) == 1);
  CHECK(shape_code("conv2d", conv_attrs("6", "(3, 3)", {{"groups", "4"}}), ok) == 1);
  CHECK(shape_code("conv2d", conv_attrs("8", "(3,)"), ok) == 1);
  CHECK(shape_code("conv2d", conv_attrs("8", "(3, 3)", {{"strides", "(0, 0)"}}), ok) == 1);
  CHECK(shape_code("conv2d", conv_attrs("8", "(3, 3)", {{"strides", "(1, 4097)"}}), ok) == 1);
  CHECK(shape_code("conv2d", conv_attrs("8", "(3, 3)", {{"padding", "(4097, 0)"}}), ok) == 1);
  CHECK(shape_code("conv2d", conv_attrs("8", "(3, 3)", {{"padding", "(-1, 0)"}}), ok) == 1);
  CHECK(shape_code("conv2d", conv_attrs("8", "(3, 3)", {{"padding", "(1, 1, 1)"}}), ok) == 1);
  CHECK(shape_code("conv2d", conv_attrs("8", "(3, 3)", {{"dilation", "(0, 1)"}}), ok) == 1);
  // Layouts: only NCHW / OIHW; a malformed out_layout is a runtime error.
  CHECK(shape_code("conv2d", conv_attrs("8", "(3, 3)", {{"layout", "NHWC"}}), ok) == 1);
  CHECK(shape_code("conv2d", conv_attrs("8", "(3, 3)", {{"kernel_layout", "HWIO"}}), ok) == 1);
  CHECK(shape_code("conv2d", conv_attrs("8", "(3, 3)", {{"out_layout", "NCHW"}}), ok) == 0);
  CHECK(shape_code("conv2d", conv_attrs("8", "(3, 3)", {{"out_layout", "NHWC"}}), ok) == 1);
  CHECK(shape_code("conv2d", conv_attrs("8", "(3, 3)", {{"out_layout", "NCHW4c"}}), ok) == 1);
  CHECK(shape_code("conv2d", conv_attrs("8", "(3, 3)", {{"out_layout", "NCHWc"}}), ok) == 2);
  CHECK(shape_code("conv2d", conv_attrs("8", "(3, 3)", {{"out_layout", "NCHN"}}), ok) == 2);
  CHECK(shape_code("conv2d", conv_attrs("8", "(3, 3)", {{"out_layout", "NC-W"}}), ok) == 2);
  CHECK(shape_code("conv2d", conv_attrs("8", "(3, 3)", {{"out_layout", ""}}), ok) == 2);
  CHECK(shape_code("conv2d", conv_attrs("8", "(3, 3)", {{"out_layout", "NCH4w"}}), ok) == 2);
}

TEST_CASE("conv2d: attributes", "[nn]") {
  CHECK(factory_code("conv2d", {{"kernel_size", "(3, 3)"}}) == 2);  // channels required
  CHECK(factory_code("conv2d", {{"channels", "4"}}) == 2);          // kernel_size required
  CHECK(factory_code("conv2d", conv_attrs("4", "(3, 3)", {{"bogus", "1"}})) == 2);
  CHECK(factory_code("conv2d", conv_attrs("4", "(3, x)")) == 2);
  CHECK(factory_code("conv2d", conv_attrs("4", "(3, 3)", {{"out_dtype", "int33"}})) == 2);
  CHECK(factory_code("conv2d", conv_attrs("4", "(3, 3)", {{"out_dtype", "4"}})) == 2);
  CHECK(factory_code("conv2d", conv_attrs("4", "(3, 3)", {{"use_bias", "yes"}})) == 2);
}

TEST_CASE("conv2d: precision, type and gas", "[nn]") {
  auto op = make_op("conv2d", conv_attrs("4", "(3, 3)"));
  const std::vector<Shape> in{{1, 2, 5, 5}, {4, 2, 3, 3}, {4}};
  // K = 2*3*3 = 18 -> 5 bits: 8 + 8 + 5 = 21; bias 25 -> 26.
  CHECK(precision_of(*op, in, {8, 8, 8}) == 22);
  CHECK(precision_of(*op, in, {8, 8, 25}) == 26);
  CHECK(precision_of(*op, in, {4, 3, 1}) == 13);
  const std::vector<Shape> all{{1, 2, 5, 5}, {4, 2, 3, 3}, {4}, {1, 4, 3, 3}};
  CHECK(precision_code(*op, all, {9, 8, 8}) == 1);
  CHECK(precision_code(*op, all, {8, 16, 8}) == 1);
  CHECK(precision_code(*op, all, {8, -1, 8}) == 1);
  CHECK(precision_code(*op, {{1, 2, 5, 5}, {4, 18}, {4}, {1, 4, 3, 3}}, {8, 8, 8}) == 1);
  CHECK(op->gas_per_output(in, {{1, 4, 3, 3}}) == 18 * 3 + 1);
  auto nobias = make_op("conv2d", conv_attrs("4", "(3, 3)", {{"use_bias", "False"}}));
  CHECK(nobias->num_inputs(2) == 2);
  CHECK(precision_of(*nobias, {{1, 2, 5, 5}, {4, 2, 3, 3}}, {8, 8}) == 21);
  CHECK(nobias->gas_per_output({{1, 2, 5, 5}, {4, 2, 3, 3}}, {{1, 4, 3, 3}}) == 54);
  // An explicit out_dtype other than int32 fails the type rule.
  auto int32_out = make_op("conv2d", conv_attrs("4", "(3, 3)", {{"out_dtype", "int32"}}));
  CHECK(precision_code(*int32_out, all, {8, 8, 8}) == 0);
  auto int8_out = make_op("conv2d", conv_attrs("4", "(3, 3)", {{"out_dtype", "int8"}}));
  CHECK(precision_code(*int8_out, all, {8, 8, 8}) == 1);
}

TEST_CASE("conv2d: weight shapes the attributes do not describe", "[nn]") {
  // The reference never checks the weight shape; its kernel takes the filter
  // geometry from it. groups == 1 reads the weight as a flat (O, C*FH*FW)
  // matrix, so a weight with more input channels than the data is read from
  // its start.
  auto op = make_op("conv2d", conv_attrs("2", "(1, 1)", {{"use_bias", "false"}}));
  CHECK(run_op(*op, {{1, 2, 1, 1}, {2, 4, 1, 1}}, {{1, 10}, {1, 2, 3, 4, 5, 6, 7, 8}}) ==
        std::vector<int32_t>{21, 43});
  const AttrDict attrs = conv_attrs("2", "(1, 1)", {{"use_bias", "false"}});
  const Shape y{1, 2, 1, 1};
  // Fewer weight input channels than the data: read past the weight.
  CHECK(precision_code(*op, {{1, 2, 1, 1}, {2, 1, 1, 1}, y}, {8, 8}) == 1);
  // More filters than output channels: written past the output.
  CHECK(precision_code(*op, {{1, 2, 1, 1}, {3, 2, 1, 1}, y}, {8, 8}) == 1);
  // Fewer filters: part of the output never written.
  CHECK(precision_code(*op, {{1, 2, 1, 1}, {1, 2, 1, 1}, y}, {8, 8}) == 1);
  // A filter larger than the input: no output rows.
  CHECK(precision_code(*op, {{1, 2, 1, 1}, {2, 2, 3, 1}, y}, {8, 8}) == 1);
  // Grouped: too few weight channels per group, or too few filters per group.
  auto grouped = make_op("conv2d", conv_attrs("4", "(1, 1)",
                                              {{"groups", "2"}, {"use_bias", "false"}}));
  const Shape gy{1, 4, 1, 1};
  CHECK(precision_code(*grouped, {{1, 4, 1, 1}, {4, 2, 1, 1}, gy}, {8, 8}) == 0);
  CHECK(precision_code(*grouped, {{1, 4, 1, 1}, {4, 1, 1, 1}, gy}, {8, 8}) == 1);
  auto grouped4 = make_op("conv2d", conv_attrs("4", "(1, 1)",
                                               {{"groups", "4"}, {"use_bias", "false"}}));
  CHECK(precision_code(*grouped4, {{1, 4, 1, 2}, {2, 1, 1, 1}, gy}, {8, 8}) == 1);
  // Bias shorter than the filters (the output size happens to match: four
  // 1x1 planes where two 2x1 ones are declared).
  auto biased = make_op("conv2d", conv_attrs("2", "(1, 1)"));
  CHECK(precision_code(*biased, {{1, 2, 2, 1}, {4, 2, 2, 1}, {2}, {1, 2, 2, 1}}, {8, 8, 8}) ==
        1);
  auto unbiased = make_op("conv2d", conv_attrs("2", "(1, 1)", {{"use_bias", "false"}}));
  CHECK(precision_code(*unbiased, {{1, 2, 2, 1}, {4, 2, 2, 1}, {1, 2, 2, 1}}, {8, 8}) == 0);
}

namespace {

// The reference CPU kernel's semantics, written as directly as possible.
std::vector<int32_t> naive_conv(const Shape& xs, const std::vector<int32_t>& x, const Shape& ws,
                                const std::vector<int32_t>& w, const std::vector<int32_t>* b,
                                int groups, int sh, int sw, int ph, int pw, int dh, int dw) {
  const int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3];
  const int64_t O = ws[0], I = ws[1], FH = ws[2], FW = ws[3];
  const int64_t OH = (H + 2 * ph - ((FH - 1) * dh + 1)) / sh + 1;
  const int64_t OW = (W + 2 * pw - ((FW - 1) * dw + 1)) / sw + 1;
  const int64_t opg = O / groups, ipg = C / groups;
  const int64_t row = (groups == 1 ? C : I) * FH * FW;
  std::vector<int32_t> y(static_cast<size_t>(N * O * OH * OW));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t r = 0; r < OH; ++r)
        for (int64_t c = 0; c < OW; ++c) {
          uint32_t sum = 0;
          for (int64_t i = 0; i < ipg; ++i)
            for (int64_t fh = 0; fh < FH; ++fh)
              for (int64_t fw = 0; fw < FW; ++fw) {
                int64_t ih = r * sh + fh * dh - ph, iw = c * sw + fw * dw - pw;
                if (ih < 0 || iw < 0 || ih >= H || iw >= W) continue;
                int64_t ch = o / opg * ipg + i;
                int32_t xv = x[static_cast<size_t>(((n * C + ch) * H + ih) * W + iw)];
                int32_t wv = w[static_cast<size_t>(o * row + (i * FH + fh) * FW + fw)];
                if (groups == 1) {
                  xv = static_cast<int8_t>(xv);
                  wv = static_cast<int8_t>(wv);
                }
                sum += static_cast<uint32_t>(xv) * static_cast<uint32_t>(wv);
              }
          if (b) sum += static_cast<uint32_t>((*b)[static_cast<size_t>(o)]);
          y[static_cast<size_t>(((n * O + o) * OH + r) * OW + c)] = static_cast<int32_t>(sum);
        }
  return y;
}

}  // namespace

TEST_CASE("conv2d: kernel agrees with a direct loop on random cases", "[nn]") {
  std::mt19937 rng(20240607);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  struct Spec {
    Shape x;
    Shape w;
    int groups, sh, sw, ph, pw, dh, dw;
    bool bias;
    Shape attr_kernel{};  // (channels, kh, kw) attributes when not the weight's
  };
  std::vector<Spec> specs{
      // Large enough for several im2col tiles that split output rows.
      {{1, 3, 160, 150}, {8, 3, 7, 7}, 1, 2, 2, 3, 3, 1, 1, true},
      {{2, 64, 30, 30}, {9, 64, 3, 3}, 1, 1, 1, 1, 1, 1, 1, true},
      {{1, 16, 40, 33}, {16, 1, 3, 3}, 16, 2, 1, 1, 0, 2, 1, false},
      {{2, 12, 11, 13}, {6, 4, 2, 3}, 3, 1, 2, 2, 1, 1, 3, true},
      // groups == 1 with a weight wider than the data (read flat).
      {{1, 3, 9, 9}, {5, 6, 3, 3}, 1, 1, 1, 1, 1, 1, 1, true},
      // A weight geometry other than the attributes' with the same output
      // size: 16 filters of 3x3 give 16 2x2 planes where 4 4x4 are declared.
      {{1, 2, 4, 4}, {16, 2, 3, 3}, 1, 1, 1, 0, 0, 1, 1, false, {4, 1, 1}},
  };
  for (int t = 0; t < 30; ++t) {
    int groups = pick(0, 2) == 0 ? 1 : pick(2, 4);
    int ipg = pick(1, 5), opg = pick(1, 5);
    int fh = pick(1, 4), fw = pick(1, 4), dh = pick(1, 3), dw = pick(1, 3);
    int ph = pick(0, 2), pw = pick(0, 2), sh = pick(1, 3), sw = pick(1, 3);
    int h = (fh - 1) * dh + 1 + pick(0, 12) - 2 * ph, w = (fw - 1) * dw + 1 + pick(0, 12) - 2 * pw;
    if (h < 1 || w < 1) continue;
    specs.push_back({{pick(1, 2), ipg * groups, h, w},
                     {opg * groups, ipg, fh, fw},
                     groups, sh, sw, ph, pw, dh, dw, pick(0, 1) == 1});
  }
  int checked = 0;
  for (const Spec& s : specs) {
    const int64_t fh_span = (s.w[2] - 1) * s.dh + 1, fw_span = (s.w[3] - 1) * s.dw + 1;
    const int64_t oh = (s.x[2] + 2 * s.ph - fh_span) / s.sh + 1;
    const int64_t ow = (s.x[3] + 2 * s.pw - fw_span) / s.sw + 1;
    const Shape attr = s.attr_kernel.empty() ? Shape{s.w[0], s.w[2], s.w[3]} : s.attr_kernel;
    AttrDict attrs{{"channels", std::to_string(attr[0])},
                   {"kernel_size", "(" + std::to_string(attr[1]) + ", " + std::to_string(attr[2]) + ")"},
                   {"groups", std::to_string(s.groups)},
                   {"strides", "(" + std::to_string(s.sh) + ", " + std::to_string(s.sw) + ")"},
                   {"padding", "(" + std::to_string(s.ph) + ", " + std::to_string(s.pw) + ")"},
                   {"dilation", "(" + std::to_string(s.dh) + ", " + std::to_string(s.dw) + ")"},
                   {"use_bias", s.bias ? "true" : "false"}};
    auto op = make_op("conv2d", attrs);
    std::vector<Shape> shapes{s.x, s.w};
    if (s.bias) shapes.push_back({attr[0]});
    // The same data in the two value ranges: int8 (deployed) and wide.
    for (int wide = 0; wide < 2; ++wide) {
      std::vector<std::vector<int32_t>> data;
      for (const Shape& sh : shapes) {
        std::vector<int32_t> v(static_cast<size_t>(shape_size(sh)));
        for (auto& e : v) {
          e = wide ? static_cast<int32_t>(rng()) : pick(-127, 127);
        }
        data.push_back(v);
      }
      INFO("x " << shape_string(s.x) << " w " << shape_string(s.w) << " groups " << s.groups
                << " wide " << wide);
      REQUIRE(oh >= 1);
      REQUIRE(ow >= 1);
      auto got = run_op(*op, shapes, data, std::vector<int>(shapes.size(), 8));
      auto want = naive_conv(s.x, data[0], s.w, data[1], s.bias ? &data[2] : nullptr, s.groups,
                             s.sh, s.sw, s.ph, s.pw, s.dh, s.dw);
      CHECK(got == want);
      ++checked;
    }
  }
  CHECK(checked >= 40);
}

// --------------------------------------------------------------------------
// max_pool2d

TEST_CASE("max_pool2d: values", "[nn]") {
  auto op = make_op("max_pool2d", {{"pool_size", "(2, 2)"}});
  CHECK(op->num_inputs(1) == 1);
  CHECK(run_op(*op, {{1, 1, 3, 3}}, {iota(9)}) == std::vector<int32_t>{5, 6, 8, 9});

  // Padding counts as INT32_MIN, not 0: all-negative data keeps its values.
  auto padded = make_op("max_pool2d", {{"pool_size", "(3, 3)"},
                                       {"strides", "(2, 2)"},
                                       {"padding", "(1, 1)"}});
  CHECK(run_op(*padded, {{1, 1, 3, 3}}, {iota(9, -9)}) ==
        std::vector<int32_t>{-5, -4, -2, -1});
  CHECK(run_op(*padded, {{1, 1, 3, 3}}, {std::vector<int32_t>(9, kMin)}) ==
        std::vector<int32_t>(4, kMin));

  // One padding value pads both axes; planes are pooled independently.
  auto one_pad = make_op("max_pool2d", {{"pool_size", "(2, 2)"}, {"padding", "(1,)"},
                                        {"strides", "(2, 2)"}});
  CHECK(run_op(*one_pad, {{1, 2, 2, 2}}, {{1, 2, 3, 4, 8, 7, 6, 5}}) ==
        std::vector<int32_t>{1, 2, 3, 4, 8, 7, 6, 5});
}

TEST_CASE("max_pool2d: ceil_mode", "[nn]") {
  auto floor_op = make_op("max_pool2d", {{"pool_size", "(2, 2)"}, {"strides", "(3, 3)"}});
  auto ceil_op = make_op("max_pool2d", {{"pool_size", "(2, 2)"}, {"strides", "(3, 3)"},
                                        {"ceil_mode", "True"}});
  CHECK(infer(*floor_op, {{1, 1, 4, 4}})[0] == Shape{1, 1, 1, 1});
  CHECK(infer(*ceil_op, {{1, 1, 4, 4}})[0] == Shape{1, 1, 2, 2});
  // The last window covers only row/column 3.
  CHECK(run_op(*ceil_op, {{1, 1, 4, 4}}, {iota(16)}) ==
        std::vector<int32_t>{6, 8, 14, 16});
  // A last window starting past the input is rejected.
  AttrDict past{{"pool_size", "(1, 1)"}, {"strides", "(2, 2)"}, {"ceil_mode", "true"}};
  CHECK(shape_code("max_pool2d", past, {{1, 1, 2, 2}}) == 1);
  past["ceil_mode"] = "false";
  CHECK(shape_code("max_pool2d", past, {{1, 1, 2, 2}}) == 0);
}

TEST_CASE("max_pool2d: shape rule and attributes", "[nn]") {
  auto op = make_op("max_pool2d", {{"pool_size", "(3, 3)"}, {"strides", "(2, 2)"},
                                   {"padding", "(1, 1)"}});
  CHECK(infer(*op, {{1, 64, 112, 112}})[0] == Shape{1, 64, 56, 56});
  auto asym = make_op("max_pool2d", {{"pool_size", "(3, 2)"}, {"strides", "(2, 1)"},
                                     {"padding", "(0, 1)"}});
  CHECK(infer(*asym, {{2, 3, 9, 5}})[0] == Shape{2, 3, 4, 6});

  const std::vector<Shape> in{{1, 1, 4, 4}};
  auto with = [](AttrDict extra) {
    extra.emplace("pool_size", "(2, 2)");
    return extra;
  };
  CHECK(shape_code("max_pool2d", with({}), in) == 0);
  CHECK(shape_code("max_pool2d", with({}), {{1, 4, 4}}) == 1);
  CHECK(shape_code("max_pool2d", with({{"layout", "NHWC"}}), in) == 1);
  CHECK(shape_code("max_pool2d", with({{"padding", "(0, 0, 0)"}}), in) == 1);
  CHECK(shape_code("max_pool2d", with({{"padding", "()"}}), in) == 1);
  CHECK(shape_code("max_pool2d", with({{"padding", "(2, 0)"}}), in) == 1);  // >= pool
  CHECK(shape_code("max_pool2d", with({{"padding", "(-1, 0)"}}), in) == 1);
  CHECK(shape_code("max_pool2d", with({{"strides", "(0, 1)"}}), in) == 1);
  CHECK(shape_code("max_pool2d", with({{"strides", "(1,)"}}), in) == 1);
  CHECK(shape_code("max_pool2d", {{"pool_size", "(2,)"}}, in) == 1);
  CHECK(shape_code("max_pool2d", {{"pool_size", "(5, 2)"}}, in) == 1);  // > input
  CHECK(shape_code("max_pool2d", {{"pool_size", "(5, 2)"}, {"padding", "(1, 0)"}}, in) == 0);
  CHECK(shape_code("max_pool2d", {{"pool_size", "(0, 2)"}}, in) == 1);
  CHECK(factory_code("max_pool2d", {}) == 2);  // pool_size required
  CHECK(factory_code("max_pool2d", with({{"ceil_mode", "2"}})) == 2);
  CHECK(factory_code("max_pool2d", with({{"bogus", "1"}})) == 2);
}

TEST_CASE("max_pool2d: precision and gas", "[nn]") {
  auto op = make_op("max_pool2d", {{"pool_size", "(3, 2)"}});
  CHECK(precision_of(*op, {{1, 1, 4, 4}}, {13}) == 13);
  CHECK(precision_code(*op, {{1, 1, 4, 4}, {1, 1, 2, 3}}, {-1}) == 1);
  CHECK(op->gas_per_output({{1, 1, 4, 4}}, {{1, 1, 2, 3}}) == 6);
  CHECK_FALSE(op->in_place_allowed());
}

// --------------------------------------------------------------------------
// upsampling

TEST_CASE("upsampling: values", "[nn]") {
  auto op = make_op("upsampling", {{"scale", "2"}});
  CHECK(op->num_inputs(1) == 1);
  CHECK(run_op(*op, {{1, 1, 2, 2}}, {{1, 2, 3, 4}}) ==
        std::vector<int32_t>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  auto three = make_op("upsampling", {{"scale", "3"}});
  CHECK(run_op(*three, {{2, 1, 1, 1}}, {{kMin, kMax}}) ==
        std::vector<int32_t>{kMin, kMin, kMin, kMin, kMin, kMin, kMin, kMin, kMin,
                             kMax, kMax, kMax, kMax, kMax, kMax, kMax, kMax, kMax});
  auto one = make_op("upsampling", {{"scale", "1"}});
  CHECK(run_op(*one, {{1, 2, 1, 3}}, {iota(6)}) == iota(6));
}

TEST_CASE("upsampling: shape rule, attributes, precision", "[nn]") {
  auto op = make_op("upsampling", {{"scale", "4"}});
  CHECK(infer(*op, {{2, 3, 5, 7}})[0] == Shape{2, 3, 20, 28});
  CHECK(precision_of(*op, {{2, 3, 5, 7}}, {21}) == 21);
  CHECK(op->gas_per_output({{2, 3, 5, 7}}, {{2, 3, 20, 28}}) == 1);
  const std::vector<Shape> in{{1, 1, 2, 2}};
  CHECK(shape_code("upsampling", {{"scale", "2"}}, {{1, 2, 2}}) == 1);
  CHECK(shape_code("upsampling", {{"scale", "0"}}, in) == 1);
  CHECK(shape_code("upsampling", {{"scale", "4097"}}, in) == 1);
  CHECK(shape_code("upsampling", {{"scale", "4096"}}, in) == 0);
  CHECK(shape_code("upsampling", {{"scale", "2"}, {"method", "BILINEAR"}}, in) == 1);
  CHECK(shape_code("upsampling", {{"scale", "2"}, {"layout", "NHWC"}}, in) == 1);
  CHECK(factory_code("upsampling", {}) == 2);  // scale required
  CHECK(factory_code("upsampling", {{"scale", "two"}}) == 2);
  CHECK(factory_code("upsampling", {{"scale", "2"}, {"bogus", "1"}}) == 2);
}
