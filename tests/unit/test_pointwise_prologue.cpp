// A BatchNorm that follows no convolution, as the quantizer writes it (a
// 1 x 1 depthwise convolution, then a requantisation or a shift and a clip):
// on int8 data the fast executor looks its values up in a table made at
// plan time, alone or as the prologue of the convolution that reads it
// (DenseNet's BatchNorm, ReLU, 1 x 1 convolution). Both against the plain
// scalar executor, and the lookup kernel against its definition.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "cvm/model.hpp"
#include "kernels/kernel_table.h"
#include "tools/model_builder.h"
#include "fast_test_util.h"

using cvm::test::IsaGuard;
using cvm::test::input_values;
using cvm::test::pick;
using cvm::test::random_storage;
using cvm::test::run_model;
using cvm::test::Runs;
using cvm::test::same_as_scalar;
using cvm::tools::ModelBuilder;
using cvm::tools::random_values;
using cvm::tools::shape_attr;

TEST_CASE("lookup_bytes gives each byte's table entry", "[fast]") {
  const cvm::kernels::Table* t = cvm::kernels::table(cvm::detected_isa());
  if (!t || !t->lookup_bytes) {
    WARN("no AVX-512 VBMI on this CPU: no byte lookups");
    return;
  }
  std::mt19937 rng(31);
  std::vector<int8_t> table(256);
  for (auto& v : table) v = static_cast<int8_t>(pick(rng, -128, 127));
  for (int64_t n : {0, 1, 63, 64, 65, 127, 128, 200, 1000}) {
    std::vector<int8_t> x(static_cast<size_t>(n) + 64), y(static_cast<size_t>(n) + 64, 7);
    for (int64_t i = 0; i < n; ++i) x[static_cast<size_t>(i)] = static_cast<int8_t>(i * 37 + n);
    t->lookup_bytes(x.data(), n, table.data(), y.data());
    for (int64_t i = 0; i < n; ++i) {
      INFO("n " << n << " i " << i << " x " << int(x[static_cast<size_t>(i)]));
      REQUIRE(y[static_cast<size_t>(i)] ==
              table[static_cast<uint8_t>(x[static_cast<size_t>(i)])]);
    }
    for (size_t i = static_cast<size_t>(n); i < y.size(); ++i) REQUIRE(y[i] == 7);  // untouched
  }
}

namespace {

// A conv2d node; `s` becomes its output shape. `reads` gets the node and
// its inputs (none may share its storage).
int conv(ModelBuilder& b, std::mt19937& rng, int in, int64_t ci, int64_t co, int64_t k,
         int64_t groups, std::vector<int64_t>* s, const std::string& tag,
         std::vector<std::vector<int>>* reads, int32_t taps = 127) {
  const int64_t pad = k / 2;
  const int wt = b.param("w" + tag, {co, ci / groups, k, k}, 8,
                         random_values(rng, co * (ci / groups) * k * k, taps));
  const int bias = b.param("b" + tag, {co}, 14, random_values(rng, co, 6000));
  *s = {(*s)[0], co, (*s)[2] + 2 * pad - k + 1, (*s)[3] + 2 * pad - k + 1};
  const int y = b.op("conv2d",
                      {{"channels", std::to_string(co)}, {"kernel_size", shape_attr(k, k)},
                       {"strides", shape_attr(1, 1)}, {"padding", shape_attr(pad, pad)},
                       {"groups", std::to_string(groups)}, {"use_bias", "True"}},
                      {in, wt, bias}, *s);
  reads->push_back({y, in, wt, bias});
  return y;
}

}  // namespace

TEST_CASE("BatchNorm before a convolution: table lookups and the prologue equal the scalar executor",
          "[fast]") {
  std::mt19937 rng(4242);
  int tested = 0, fused = 0, expected = 0;
  for (int iter = 0; iter < 120; ++iter) {
    ModelBuilder b;
    const int64_t n = pick(rng, 1, 2), c = pick(rng, 1, 12);
    // Planes of 128 values or more get the table; smaller ones not.
    const int64_t h = iter % 4 == 0 ? pick(rng, 2, 10) : pick(rng, 8, 24);
    const int64_t w = iter % 4 == 0 ? pick(rng, 2, 10) : pick(rng, 16, 30);
    std::vector<int64_t> s{n, c, h, w};
    const int x = b.data(s, 8);
    std::string what = "n" + std::to_string(n) + " c" + std::to_string(c) + " " +
                       std::to_string(h) + "x" + std::to_string(w);
    // Each conv2d and concatenate node, then its inputs.
    std::vector<std::vector<int>> reads;
    // DenseNet: the block's input and a branch, concatenated.
    int cat = x;
    std::vector<int64_t> bs = s;
    if (pick(rng, 0, 1)) {
      int q = conv(b, rng, x, c, pick(rng, 1, 6), 3, 1, &bs, "q", &reads);
      q = b.op("relu", {}, {b.op("cvm_right_shift", {{"precision", "8"}, {"shift_bit", "9"}}, {q}, bs)}, bs);
      s[1] = c + bs[1];
      cat = b.op("concatenate", {{"axis", "1"}}, {x, q}, s);
      reads.push_back({cat, x, q});
      what += " concat";
    }
    // The BatchNorm: depthwise 1 x 1, then its chain.
    const int64_t ch = s[1];
    int y = conv(b, rng, cat, ch, ch, 1, ch, &s, "bn", &reads,
                 static_cast<int32_t>(pick(rng, 1, 127)));
    const int depthwise = y;
    const int kind = static_cast<int>(pick(rng, 0, 3));
    what += " kind " + std::to_string(kind);
    if (kind == 0) {  // the quantizer's: clip, per-channel multiplier, shift, relu
      y = b.op("cvm_clip", {{"precision", "16"}}, {y}, s);
      const int mult = b.param("m", {ch, 1, 1}, 16, random_values(rng, ch, 30000));
      const int clip = y;
      y = b.op("broadcast_mul", {}, {y, mult}, s);
      reads.push_back({y, clip, mult});
      const std::string shift = std::to_string(pick(rng, 10, 20));
      y = b.op("relu", {}, {b.op("cvm_right_shift", {{"precision", "8"}, {"shift_bit", shift}}, {y}, s)}, s);
    } else if (kind == 1) {  // a shift to 8 bits
      const std::string shift = std::to_string(pick(rng, 4, 12));
      y = b.op("cvm_right_shift", {{"precision", "8"}, {"shift_bit", shift}}, {y}, s);
    } else if (kind == 2) {  // a clip to int8 values
      y = b.op("clip", {{"a_min", "-100"}, {"a_max", std::to_string(pick(rng, 0, 127))}}, {y}, s);
    } else {  // a clip that leaves int32 values: no table
      y = b.op("clip", {{"a_min", "-3000"}, {"a_max", "2500"}}, {y}, s);
      y = b.op("cvm_right_shift", {{"precision", "8"}, {"shift_bit", "4"}}, {y}, s);
      what += " (wide)";
    }
    const int bn = y;
    // The convolution that reads it (1 x 1 as in DenseNet, or 3 x 3), and
    // sometimes a second reader (the BatchNorm then runs alone).
    std::vector<int64_t> zs = s;
    int z = conv(b, rng, bn, ch, pick(rng, 1, 20), pick(rng, 0, 2) ? 1 : 3, 1, &zs, "z", &reads);
    z = b.op("relu", {}, {b.op("cvm_right_shift", {{"precision", "8"}, {"shift_bit", "10"}}, {z}, zs)}, zs);
    const int second = static_cast<int>(pick(rng, 0, 4));
    if (second == 0) {
      std::vector<int64_t> vs = s;
      int v = conv(b, rng, bn, ch, pick(rng, 1, 8), 1, 1, &vs, "v", &reads);
      v = b.op("relu", {}, {b.op("cvm_right_shift", {{"precision", "8"}, {"shift_bit", "10"}}, {v}, vs)}, vs);
      b.set_heads({z, v});
      what += " second reader";
    } else if (second == 1) {
      b.set_heads({z, bn});
      what += " head bn";
    }
    const int mode = iter % 3;
    if (mode == 1) {
      random_storage(b, rng, b.node_count() - 1, static_cast<int>(pick(rng, 2, 5)), reads);
      what += " random storage";
    } else if (mode == 2) {
      // The chain in place on the depthwise output, as a network's plan has
      // it (a broadcast_mul writes apart: the reference forbids it in place).
      int prev = depthwise;
      for (int i = depthwise + 1; i <= bn; ++i) {
        if (b.op_name(i).empty()) continue;
        if (b.op_name(i) != "broadcast_mul") b.set_storage(i, b.storage(prev));
        prev = i;
      }
      what += " in place";
    }
    std::vector<std::vector<int32_t>> in;
    for (int k = 0; k < 3; ++k) in.push_back(input_values(rng, n * c * h * w, 127));
    if (!same_as_scalar(b, in, what)) continue;
    ++tested;
    const cvm::kernels::Table* t = cvm::kernels::table(cvm::detected_isa());
    if (t && t->lookup_bytes) {
      IsaGuard guard;
      const Runs got = run_model(b, {in[0]}, cvm::Isa::kAvx512, 2);
      // The convolution step that starts with the BatchNorm's nodes, and
      // whether the BatchNorm's output is written.
      const std::string bn_name = b.node_name(bn);
      bool here = false, unwritten = false;
      for (const std::string& st : got.steps) {
        if (st.rfind("conv_gemm", 0) != 0 || st.find(bn_name) == std::string::npos) continue;
        here = true;
        unwritten = st.find(bn_name + "(stored)") == std::string::npos;
      }
      fused += here;
      // A network's storage, int8 values, planes of 128 and more, the
      // convolution the only reader: always the prologue.
      if (mode != 1 && kind < 3 && second >= 2 && h * w >= 128) {
        INFO(what);
        CHECK(here);
        CHECK(unwritten);
        ++expected;
      }
    }
  }
  CHECK(tested >= 110);
  const cvm::kernels::Table* t = cvm::kernels::table(cvm::detected_isa());
  if (t && t->lookup_bytes) {
    WARN("BatchNorms run as a convolution's prologue: " << fused << " of " << tested);
    CHECK(expected >= 20);
  }
}
