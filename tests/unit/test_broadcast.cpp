// Broadcast operators: the shape rule, hand-worked values, precision rules.
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



Shape infer(const Operator& op, Shape a, Shape b) {
  std::vector<Shape> in{a, b}, out;
  op.infer_shape(in, out);
  REQUIRE(out.size() == 1);
  CHECK(in[0] == a);
  CHECK(in[1] == b);
  return out[0];
}

std::vector<int32_t> run_bin(const std::string& name, Shape sa, std::vector<int32_t> a,
                             Shape sb, std::vector<int32_t> b, Shape* out_shape = nullptr) {
  auto op = make_op(name);
  Shape so = infer(*op, sa, sb);
  std::vector<int32_t> c(static_cast<size_t>(shape_size(so)), 12345);
  std::vector<Tensor> ins{Tensor{a.data(), sa}, Tensor{b.data(), sb}};
  std::vector<Tensor> outs{Tensor{c.data(), so}};
  Workspace ws;
  op->run(ins, outs, ws);
  if (out_shape) *out_shape = so;
  return c;
}

int out_precision(const std::string& name, int pa, int pb) {
  auto op = make_op(name);
  std::vector<Shape> shapes{{3}, {3}, {3}};
  std::vector<int> in{pa, pb}, out{-1};
  op->infer_precision(shapes, in, out);
  return out[0];
}

const int32_t kMin = INT32_MIN;
const int32_t kMax = INT32_MAX;

const char* const kOps[] = {"broadcast_add", "broadcast_sub", "broadcast_mul",
                            "broadcast_max", "broadcast_div", "broadcast_greater"};

}  // namespace

TEST_CASE("broadcast shape rule", "[broadcast]") {
  auto op = make_op("broadcast_add");
  CHECK(infer(*op, {2, 3}, {2, 3}) == Shape{2, 3});
  CHECK(infer(*op, {2, 3}, {3}) == Shape{2, 3});
  CHECK(infer(*op, {3}, {2, 3}) == Shape{2, 3});
  CHECK(infer(*op, {4, 1, 3}, {2, 1}) == Shape{4, 2, 3});
  CHECK(infer(*op, {2, 1}, {1, 5}) == Shape{2, 5});
  CHECK(infer(*op, {1}, {6, 1, 2}) == Shape{6, 1, 2});
  CHECK(infer(*op, {1, 1}, {1}) == Shape{1, 1});
}

TEST_CASE("broadcast shape rule rejects incompatible shapes with code 1", "[broadcast]") {
  for (const char* name : kOps) {
    auto op = make_op(name);
    std::vector<Shape> out;
    std::vector<Shape> in{{2, 3}, {4}};
    CHECK(error_code([&] { op->infer_shape(in, out); }) == 1);
    in = {{2, 3}, {3, 3}};
    CHECK(error_code([&] { op->infer_shape(in, out); }) == 1);
    in = {{5, 2, 3}, {2, 2, 1}};
    CHECK(error_code([&] { op->infer_shape(in, out); }) == 1);
  }
}

TEST_CASE("broadcast ops: no attributes (code 1), two inputs, never in place",
          "[broadcast]") {
  for (const char* name : kOps) {
    CHECK(error_code([&] { make_op(name, {{"axis", "1"}}); }) == 1);
    auto op = make_op(name);
    CHECK(op->num_inputs(2) == 2);
    CHECK_FALSE(op->in_place_allowed());
  }
}

TEST_CASE("broadcast_add: row, column, scalar and two-sided broadcasting", "[broadcast]") {
  // (2,3) + (3)
  CHECK(run_bin("broadcast_add", {2, 3}, {1, 2, 3, 4, 5, 6}, {3}, {10, 20, 30}) ==
        std::vector<int32_t>{11, 22, 33, 14, 25, 36});
  // (2,3) + (2,1)
  CHECK(run_bin("broadcast_add", {2, 3}, {1, 2, 3, 4, 5, 6}, {2, 1}, {100, 200}) ==
        std::vector<int32_t>{101, 102, 103, 204, 205, 206});
  // (1) + (2,2)
  CHECK(run_bin("broadcast_add", {1}, {7}, {2, 2}, {1, 2, 3, 4}) ==
        std::vector<int32_t>{8, 9, 10, 11});
  // (2,1) + (1,3): both sides broadcast.
  Shape so;
  CHECK(run_bin("broadcast_add", {2, 1}, {1, 2}, {1, 3}, {10, 20, 30}, &so) ==
        std::vector<int32_t>{11, 21, 31, 12, 22, 32});
  CHECK(so == Shape{2, 3});
  // (2,1,2) + (3,1): output (2,3,2).
  CHECK(run_bin("broadcast_add", {2, 1, 2}, {1, 2, 3, 4}, {3, 1}, {0, 10, 20}, &so) ==
        std::vector<int32_t>{1, 2, 11, 12, 21, 22, 3, 4, 13, 14, 23, 24});
  CHECK(so == Shape{2, 3, 2});
  // Wraparound.
  CHECK(run_bin("broadcast_add", {2}, {kMax, kMin}, {1}, {1}) ==
        std::vector<int32_t>{kMin, kMin + 1});
}

TEST_CASE("broadcast_sub / broadcast_mul / broadcast_max", "[broadcast]") {
  CHECK(run_bin("broadcast_sub", {1}, {10}, {2, 3}, {1, 2, 3, 4, 5, 6}) ==
        std::vector<int32_t>{10 - 1, 10 - 2, 10 - 3, 10 - 4, 10 - 5, 10 - 6});
  CHECK(run_bin("broadcast_sub", {1}, {kMin}, {2}, {1, -1}) ==
        std::vector<int32_t>{kMax, kMin + 1});
  CHECK(run_bin("broadcast_mul", {2, 2}, {1, -2, 3, 4}, {2}, {5, -6}) ==
        std::vector<int32_t>{5, 12, 15, -24});
  CHECK(run_bin("broadcast_mul", {2}, {65536, 65537}, {1}, {65536}) ==
        std::vector<int32_t>{0, 65536});
  CHECK(run_bin("broadcast_max", {2, 2}, {1, -5, 3, -4}, {2, 1}, {0, -4}) ==
        std::vector<int32_t>{1, 0, 3, -4});
}

TEST_CASE("broadcast_div: truncating, x/0 = 0", "[broadcast]") {
  CHECK(run_bin("broadcast_div", {4}, {7, -7, 7, -7}, {4}, {2, 2, -2, -2}) ==
        std::vector<int32_t>{3, -3, -3, 3});
  CHECK(run_bin("broadcast_div", {3}, {5, -5, 0}, {1}, {0}) ==
        std::vector<int32_t>{0, 0, 0});
  CHECK(run_bin("broadcast_div", {2, 2}, {9, 8, 7, 6}, {2}, {3, 0}) ==
        std::vector<int32_t>{3, 0, 2, 0});
  // Would trap on x86; defined here as wrapping.
  CHECK(run_bin("broadcast_div", {2}, {kMin, kMax}, {1}, {-1}) ==
        std::vector<int32_t>{kMin, -kMax});
}

TEST_CASE("broadcast_greater: 1 or 0", "[broadcast]") {
  CHECK(run_bin("broadcast_greater", {2, 3}, {1, 2, 3, 3, 2, 1}, {3}, {2, 2, 2}) ==
        std::vector<int32_t>{0, 0, 1, 1, 0, 0});
  CHECK(run_bin("broadcast_greater", {1}, {kMin}, {2}, {kMin, kMax}) ==
        std::vector<int32_t>{0, 0});
}

TEST_CASE("broadcast precision rules", "[broadcast]") {
  CHECK(out_precision("broadcast_add", 8, 6) == 9);
  CHECK(out_precision("broadcast_sub", 6, 8) == 9);
  CHECK(out_precision("broadcast_mul", 8, 6) == 14);
  CHECK(out_precision("broadcast_max", 5, 16) == 16);
  CHECK(out_precision("broadcast_div", 5, 16) == 5);
  CHECK(out_precision("broadcast_greater", 16, 5) == 16);
  CHECK(out_precision("broadcast_mul", 16, 17) == 33);  // the graph rejects it later
}

TEST_CASE("aliases add/subtract/multiply: checked like the operator, then code 1",
          "[broadcast]") {
  for (const char* alias : {"add", "subtract", "multiply"}) {
    auto op = make_op(alias);
    CHECK(infer(*op, {2, 3}, {3}) == Shape{2, 3});
    std::vector<Shape> bad{{2, 3}, {4}}, out;
    CHECK(error_code([&] { op->infer_shape(bad, out); }) == 1);
    std::vector<Shape> shapes{{3}, {3}, {3}};
    std::vector<int> in{8, 8}, o{-1};
    CHECK(error_code([&] { op->infer_precision(shapes, in, o); }) == 0);
    CHECK_FALSE(op->has_kernel());  // the model load then fails with code 1
    CHECK_FALSE(op->in_place_allowed());
    CHECK(error_code([&] { make_op(alias, {{"x", "1"}}); }) == 1);
  }
  CHECK(op_registry().find("__add_symbol__") == nullptr);
}
