#include <catch2/catch.hpp>

#include <cstring>

#include "base/error.h"
#include "graph/params.h"

using namespace cvm;

namespace {
std::string sample_blob() {
  ParamArray w;
  w.name = "w";
  w.shape = {2, 3};
  w.values = {1, -2, 3, -128, 127, 0};
  ParamArray b;
  b.name = "bias";
  b.shape = {2};
  b.values = {100000, -70000};
  return save_params({w, b}, {true, false});
}

int load_code(const std::string& blob) {
  try {
    load_params(blob.data(), blob.size());
  } catch (const Error& e) {
    return e.code();
  }
  return 0;
}
}  // namespace

TEST_CASE("params blob round trip, little-endian", "[params]") {
  std::string blob = sample_blob();
  auto arrays = load_params(blob.data(), blob.size());
  REQUIRE(arrays.size() == 2);
  CHECK(arrays[0].name == "w");
  CHECK(arrays[0].dtype_bits == 8);
  CHECK(arrays[0].shape == Shape{2, 3});
  CHECK(arrays[0].values == std::vector<int32_t>{1, -2, 3, -128, 127, 0});
  CHECK(arrays[1].name == "bias");
  CHECK(arrays[1].dtype_bits == 32);
  CHECK(arrays[1].values == std::vector<int32_t>{100000, -70000});
  // The first int32 of "bias" is stored least significant byte first.
  size_t at = blob.size() - 8;
  CHECK(static_cast<uint8_t>(blob[at]) == (100000 & 0xFF));
  CHECK(static_cast<uint8_t>(blob[at + 1]) == ((100000 >> 8) & 0xFF));
}

TEST_CASE("params blob: every cut is a clean code 1, never a read past the end", "[params]") {
  std::string blob = sample_blob();
  for (size_t cut = 0; cut < blob.size(); ++cut) {
    std::string part = blob.substr(0, cut);
    INFO("cut at " << cut);
    CHECK(load_code(part) == kErrorLogic);
  }
}

TEST_CASE("params blob: header errors are code 1, array header errors code 2", "[params]") {
  std::string blob = sample_blob();
  std::string bad_magic = blob;
  bad_magic[0] ^= 1;
  CHECK(load_code(bad_magic) == kErrorLogic);

  // The array count must match the name count.
  std::string bad_count = blob;
  size_t count_at = 8 + 8 + 8 + (8 + 1) + (8 + 4);
  bad_count[count_at] = 3;
  CHECK(load_code(bad_count) == kErrorLogic);

  // The first array's magic.
  std::string bad_array = blob;
  bad_array[count_at + 8] ^= 1;
  CHECK(load_code(bad_array) == kErrorRuntime);

  // Declared data size disagreeing with the shape.
  std::string bad_size = blob;
  size_t size_at = count_at + 8 + 8 + 8 + 4 + 4 + 2 * 8;
  bad_size[size_at] = 7;
  CHECK(load_code(bad_size) == kErrorRuntime);

  // A huge name count costs nothing.
  std::string huge = blob;
  for (int i = 0; i < 8; ++i) huge[16 + i] = static_cast<char>(0xFF);
  CHECK(load_code(huge) == kErrorLogic);
}
