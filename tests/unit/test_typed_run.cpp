// Model::run over typed input values (what the Python binding hands over
// without a copy): every element type gives the bytes of run() on int32
// values saturated to int32, and the heads land in the caller's buffers.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "cvm/model.hpp"
#include "../file_util.h"

namespace {

using cvm::test::slurp;
using VT = cvm::Model::ValueType;

std::unique_ptr<cvm::Model> example(const std::string& name) {
  const std::string dir = std::string(CVM_SOURCE_DIR) + "/examples/models/" + name;
  return cvm::Model::load(slurp(dir + "/symbol.json"), slurp(dir + "/params.bin"));
}

template <typename T>
std::vector<std::vector<int32_t>> typed_run(cvm::Model& model, const std::vector<int64_t>& values,
                                            VT type) {
  std::vector<T> typed(values.begin(), values.end());
  std::vector<std::vector<int32_t>> heads;
  std::vector<int32_t*> pointers;
  for (const auto& info : model.outputs()) {
    int64_t n = 1;
    for (int64_t d : info.shape) n *= d;
    heads.emplace_back(static_cast<size_t>(n), 0x5A5A5A5A);
  }
  for (auto& h : heads) pointers.push_back(h.data());
  model.run(typed.data(), type, pointers.data(), pointers.size());
  return heads;
}

int32_t saturate(int64_t v) {
  return static_cast<int32_t>(std::min<int64_t>(
      std::max<int64_t>(v, std::numeric_limits<int32_t>::min()), std::numeric_limits<int32_t>::max()));
}

}  // namespace

TEST_CASE("typed run: every element type equals run() on int32 values", "[api]") {
  auto model = example("cifar_resnet20");
  int64_t count = 1;
  for (int64_t d : model->input().shape) count *= d;
  std::mt19937 rng(17);
  // Values that fit every type (0..100), so each type sees the same numbers.
  std::vector<int64_t> small(static_cast<size_t>(count));
  for (auto& v : small) v = static_cast<int64_t>(rng() % 101);
  std::vector<int32_t> as_int32(small.begin(), small.end());
  const auto want = model->run(as_int32);
  CHECK(typed_run<int8_t>(*model, small, VT::kInt8) == want);
  CHECK(typed_run<uint8_t>(*model, small, VT::kUInt8) == want);
  CHECK(typed_run<int16_t>(*model, small, VT::kInt16) == want);
  CHECK(typed_run<uint16_t>(*model, small, VT::kUInt16) == want);
  CHECK(typed_run<int32_t>(*model, small, VT::kInt32) == want);
  CHECK(typed_run<uint32_t>(*model, small, VT::kUInt32) == want);
  CHECK(typed_run<int64_t>(*model, small, VT::kInt64) == want);
  CHECK(typed_run<uint64_t>(*model, small, VT::kUInt64) == want);

  // Wide values saturate to int32 (then clamp to the precision), never wrap:
  // 2^32 + 5 would wrap to 5.
  std::vector<int64_t> wide(static_cast<size_t>(count));
  for (size_t i = 0; i < wide.size(); ++i) {
    const int64_t magnitude = (int64_t(1) << 32) + static_cast<int64_t>(rng() % 200);
    wide[i] = i % 3 == 0 ? magnitude : i % 3 == 1 ? -magnitude : static_cast<int64_t>(rng() % 50);
  }
  std::vector<int32_t> saturated;
  for (int64_t v : wide) saturated.push_back(saturate(v));
  CHECK(typed_run<int64_t>(*model, wide, VT::kInt64) == model->run(saturated));
  std::vector<int64_t> positive(wide);
  for (auto& v : positive) v = v < 0 ? -v : v;
  std::vector<int32_t> positive_saturated;
  for (int64_t v : positive) positive_saturated.push_back(saturate(v));
  CHECK(typed_run<uint64_t>(*model, positive, VT::kUInt64) == model->run(positive_saturated));
  std::vector<int64_t> u32(static_cast<size_t>(count), int64_t(3000000000));
  CHECK(typed_run<uint32_t>(*model, u32, VT::kUInt32) ==
        model->run(std::vector<int32_t>(static_cast<size_t>(count), INT32_MAX)));
}

TEST_CASE("typed run: a wrong number of output buffers is a code 1 error", "[api]") {
  auto model = example("lenet_28");
  std::vector<int8_t> x(784, 1);
  std::vector<int32_t> a(10), b(10);
  int32_t* two[] = {a.data(), b.data()};
  try {
    model->run(x.data(), VT::kInt8, two, 2);
    FAIL("two buffers for one head were accepted");
  } catch (const cvm::Error& e) {
    CHECK(e.code() == 1);
  }
  int32_t* one[] = {a.data()};
  model->run(x.data(), VT::kInt8, one, 1);
  CHECK(std::vector<int32_t>(a) == model->run(std::vector<int32_t>(784, 1))[0]);
}
