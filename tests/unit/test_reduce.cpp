// Reduce operators sum and max: attributes, shape rule, precision, gas and
// the deployed kernel's quirks.
#include <catch2/catch.hpp>

#include "op_test_util.h"

#include <climits>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ops/op.h"

using namespace cvm;

namespace {

using cvm::test::error_code;
using cvm::test::make_op;



Shape infer(const Operator& op, Shape x) {
  std::vector<Shape> in{x}, out;
  op.infer_shape(in, out);
  REQUIRE(out.size() == 1);
  return out[0];
}

struct Result {
  Shape shape;
  std::vector<int32_t> values;
};

Result reduce(const std::string& name, const AttrDict& dict, Shape sx,
              std::vector<int32_t> x) {
  auto op = make_op(name, dict);
  Result r;
  r.shape = infer(*op, sx);
  r.values.assign(static_cast<size_t>(shape_size(r.shape)), 12345);
  std::vector<Tensor> ins{Tensor{x.data(), sx}};
  std::vector<Tensor> outs{Tensor{r.values.data(), r.shape}};
  Workspace ws;
  op->run(ins, outs, ws);
  return r;
}

using V = std::vector<int32_t>;

// [[1, 2, 3], [4, 5, 6]]
const V k23{1, 2, 3, 4, 5, 6};

}  // namespace

TEST_CASE("sum over everything (axis=())", "[reduce]") {
  auto r = reduce("sum", {}, {2, 3}, k23);
  CHECK(r.shape == Shape{1});
  CHECK(r.values == V{21});
  r = reduce("sum", {{"keepdims", "true"}}, {2, 3}, k23);
  CHECK(r.shape == Shape{1, 1});
  CHECK(r.values == V{21});
  r = reduce("sum", {{"axis", "()"}, {"exclude", "true"}}, {2, 3}, k23);
  CHECK(r.shape == Shape{1});
  CHECK(r.values == V{21});
  // Wraps modulo 2^32.
  r = reduce("sum", {}, {3}, {INT32_MAX, 1, 1});
  CHECK(r.values == V{INT32_MIN + 1});
}

TEST_CASE("max with axis=() starts from 0 unless exclude is set", "[reduce]") {
  // The deployed kernel's accumulator for axis=() starts at 0.
  CHECK(reduce("max", {}, {2}, {-5, -3}).values == V{0});
  CHECK(reduce("max", {{"keepdims", "1"}}, {2, 2}, {-5, -3, -9, -1}).values == V{0});
  CHECK(reduce("max", {}, {3}, {-5, 7, -1}).values == V{7});
  // Any other way of naming all axes starts from the first element.
  CHECK(reduce("max", {{"exclude", "true"}}, {2}, {-5, -3}).values == V{-3});
  CHECK(reduce("max", {{"axis", "(0, 1)"}}, {2, 2}, {-5, -3, -9, -2}).values == V{-2});
  CHECK(reduce("max", {{"axis", "(1, -2)"}}, {2, 2}, {-5, -3, -9, -2}).values == V{-2});
}

TEST_CASE("sum and max along one axis", "[reduce]") {
  auto r = reduce("sum", {{"axis", "1"}}, {2, 3}, k23);
  CHECK(r.shape == Shape{2});
  CHECK(r.values == V{6, 15});
  r = reduce("sum", {{"axis", "(0,)"}}, {2, 3}, k23);
  CHECK(r.shape == Shape{3});
  CHECK(r.values == V{5, 7, 9});
  r = reduce("sum", {{"axis", "[-1]"}, {"keepdims", "True"}}, {2, 3}, k23);
  CHECK(r.shape == Shape{2, 1});
  CHECK(r.values == V{6, 15});
  r = reduce("max", {{"axis", "0"}, {"keepdims", "true"}}, {2, 3}, {1, 9, -3, 4, 5, -6});
  CHECK(r.shape == Shape{1, 3});
  CHECK(r.values == V{4, 9, -3});
  // (2,2,2): x[i][j][k] = 4i + 2j + k; reduce the middle axis.
  r = reduce("sum", {{"axis", "1"}}, {2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  CHECK(r.shape == Shape{2, 2});
  CHECK(r.values == V{2, 4, 10, 12});
  // Two axes of three: sum over axes 0 and 2.
  r = reduce("sum", {{"axis", "(2, 0)"}}, {2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  CHECK(r.shape == Shape{2});
  CHECK(r.values == V{0 + 1 + 4 + 5, 2 + 3 + 6 + 7});
}

TEST_CASE("exclude reduces the axes not listed", "[reduce]") {
  auto r = reduce("sum", {{"axis", "0"}, {"exclude", "true"}}, {2, 3}, k23);
  CHECK(r.shape == Shape{2});
  CHECK(r.values == V{6, 15});
  r = reduce("sum", {{"axis", "0"}, {"exclude", "true"}, {"keepdims", "true"}}, {2, 3}, k23);
  CHECK(r.shape == Shape{2, 1});
  CHECK(r.values == V{6, 15});
  // Every axis excluded: a copy.
  r = reduce("max", {{"axis", "(0, 1)"}, {"exclude", "true"}}, {2, 3}, {-1, -2, -3, 4, 5, 6});
  CHECK(r.shape == Shape{2, 3});
  CHECK(r.values == V{-1, -2, -3, 4, 5, 6});
}

TEST_CASE("kept input axis of extent 1 right of a reduced axis: the kernel's pairing",
          "[reduce]") {
  // x shape (3, 2, 1), reduce axis 1: output (3, 1). The deployed kernel pairs
  // the output's extent-3 axis with input axis 2 (stride 1), so output i sums
  // x[i] and x[i + 1] instead of x[2i] and x[2i + 1].
  auto r = reduce("sum", {{"axis", "1"}}, {3, 2, 1}, {1, 2, 3, 4, 5, 6});
  CHECK(r.shape == Shape{3, 1});
  CHECK(r.values == V{3, 5, 7});
  r = reduce("max", {{"axis", "1"}, {"keepdims", "true"}}, {3, 2, 1}, {1, 20, 3, 4, 5, 6});
  CHECK(r.shape == Shape{3, 1, 1});
  CHECK(r.values == V{20, 20, 4});
  // Without the extent-1 axis the pairing is the natural one.
  r = reduce("sum", {{"axis", "1"}}, {3, 2}, {1, 2, 3, 4, 5, 6});
  CHECK(r.values == V{3, 7, 11});
}

TEST_CASE("reduce shape rule errors are code 1", "[reduce]") {
  for (const char* axis : {"2", "-3", "(0, -2)", "(1, 1)", "(0, 5)"}) {
    auto op = make_op("sum", {{"axis", axis}});
    std::vector<Shape> in{{2, 3}}, out;
    CHECK(error_code([&] { op->infer_shape(in, out); }) == 1);
  }
  for (const char* axis : {"-1", "(-2, 1)", "(0, 1)", "()"}) {
    auto op = make_op("max", {{"axis", axis}});
    std::vector<Shape> in{{2, 3}}, out;
    CHECK(error_code([&] { op->infer_shape(in, out); }) == 0);
  }
}

TEST_CASE("reduce attribute errors are code 2", "[reduce]") {
  CHECK(error_code([] { make_op("sum", {{"keepdims", "yes"}}); }) == 2);
  CHECK(error_code([] { make_op("sum", {{"axis", "(1, x)"}}); }) == 2);
  CHECK(error_code([] { make_op("sum", {{"dtype", "int33"}}); }) == 2);
  CHECK(error_code([] { make_op("max", {{"axes", "1"}}); }) == 2);
  CHECK(error_code([] { make_op("max", {{"dtype", "float32"}, {"exclude", "0"}}); }) == 0);
  CHECK(make_op("sum")->num_inputs(1) == 1);
  CHECK_FALSE(make_op("sum")->in_place_allowed());
}

TEST_CASE("reduce precision and gas", "[reduce]") {
  auto sum = make_op("sum", {{"axis", "1"}});
  auto max = make_op("max", {{"axis", "1"}});
  auto prec = [](const Operator& op, Shape in, Shape out, int p) {
    std::vector<Shape> shapes{in, out};
    std::vector<int> ip{p}, op_{-1};
    op.infer_precision(shapes, ip, op_);
    return op_[0];
  };
  // p + bit_length(K), K = input size / output size.
  CHECK(prec(*sum, {2, 3}, {2}, 8) == 10);   // K = 3
  CHECK(prec(*sum, {2, 4}, {2}, 8) == 11);   // K = 4
  CHECK(prec(*sum, {2, 1}, {2}, 8) == 9);    // K = 1
  CHECK(prec(*max, {2, 4}, {2}, 8) == 8);
  CHECK(sum->gas_per_output({{2, 4}}, {{2}}) == 4);
  CHECK(sum->gas_per_output({{6, 5, 3}}, {{5}}) == 18);
  CHECK(max->gas_per_output({{2, 4}}, {{2}}) == 1);
  std::vector<Shape> shapes{{2}, {1}};
  std::vector<int> ip{-1}, op_{-1};
  CHECK(error_code([&] { sum->infer_precision(shapes, ip, op_); }) == 1);
}
