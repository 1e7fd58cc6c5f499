// Sizes on machines whose size_t has 32 bits (i686, wasm32): every size a
// model implies is a 64-bit figure checked against the address space before
// it is narrowed. The helpers are tested here with small limits, so that a
// 64-bit host exercises the same decisions; the model test checks the
// verdict of this very build (tools/cross_check.sh i686 runs it on 32 bits).
#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cvm/model.hpp"
#include "base/memory.h"
#include "ops/op.h"
#include "tests/file_util.h"

namespace {

int code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const cvm::Error& e) {
    return e.code();
  }
  return 0;
}

}  // namespace

TEST_CASE("fits_in_memory decides without overflow", "[address]") {
  const uint64_t limit = (uint64_t(1) << 31) - 1;  // PTRDIFF_MAX of a 32-bit machine
  CHECK(cvm::fits_in_memory(limit / 4, 4, limit));
  CHECK_FALSE(cvm::fits_in_memory(limit / 4 + 1, 4, limit));
  CHECK(cvm::fits_in_memory(limit, 1, limit));
  CHECK_FALSE(cvm::fits_in_memory(limit + 1, 1, limit));
  // A count whose byte size wraps 64 bits (2^62 x 4) does not fit anywhere.
  CHECK_FALSE(cvm::fits_in_memory(uint64_t(1) << 62, 4));
  CHECK_FALSE(cvm::fits_in_memory(UINT64_MAX, 2));
  // 2^30 int32 values (the format's largest tensor) are 2^32 bytes: they fit
  // a 64-bit process, not a 32-bit one.
  CHECK_FALSE(cvm::fits_in_memory(uint64_t(1) << 30, 4, limit));
  CHECK(cvm::fits_in_memory(uint64_t(1) << 30, 4) == (sizeof(size_t) == 8));
  CHECK(cvm::fits_in_memory(0, 4, 0));
  CHECK(cvm::fits_in_memory(12345, 0, 0));
}

TEST_CASE("verify_fits_in_memory: code 1 beyond the limit", "[address]") {
  const uint64_t limit = (uint64_t(1) << 31) - 1;
  CHECK(code_of([&] { cvm::verify_fits_in_memory(limit, "storage", limit); }) == 0);
  CHECK(code_of([&] { cvm::verify_fits_in_memory(limit + 1, "storage", limit); }) == 1);
  // The format's largest storage, 4 GiB, fits only where size_t has 64 bits.
  CHECK(code_of([] { cvm::verify_fits_in_memory(uint64_t(1) << 32, "storage"); }) ==
        (sizeof(size_t) == 8 ? 0 : 1));
}

TEST_CASE("Workspace::get checks its 64-bit count before narrowing it", "[address]") {
  cvm::Workspace workspace;
  REQUIRE(workspace.get(16) != nullptr);
  CHECK(code_of([&] { workspace.get(-1); }) == 2);
  // 2^62 values: 2^64 bytes, which would wrap to 0 in 64 bits (and the count
  // itself to 0 in 32 bits).
  CHECK(code_of([&] { workspace.get(int64_t(1) << 62); }) == 2);
  if (sizeof(size_t) == 4) {
    // 2^30 values are 2^32 bytes: past a 32-bit address space.
    CHECK(code_of([&] { workspace.get(int64_t(1) << 30); }) == 2);
  }
  CHECK(workspace.get(32) != nullptr);  // still usable
}

// data (1, 4096, 4096) tiled 32 times: 2^31 bytes in one entry, 2^31 + 2^27
// of storage, within the format's 4 GiB. A 64-bit runtime loads it (storage
// is allocated at the first inference, which this test does not run); a
// 32-bit one cannot hold it and refuses it at load with code 1.
TEST_CASE("storage beyond a 32-bit address space is refused at load", "[address]") {
  const std::string dir = std::string(CVM_TEST_DATA_DIR) + "/hostile/050_gas_bomb/";
  nlohmann::json graph = nlohmann::json::parse(cvm::test::slurp(dir + "symbol.json"));
  graph["attrs"]["op_attrs"][1][1] = "{\"reps\": \"(32, 1, 1)\"}";
  graph["attrs"]["shape"][1][1] = {32, 4096, 4096};
  const std::string params = cvm::test::slurp(dir + "params.bin");
  std::unique_ptr<cvm::Model> model;
  const int code = code_of([&] { model = cvm::Model::load(graph.dump(), params); });
  if (sizeof(size_t) == 8) {
    REQUIRE(code == 0);
    CHECK(model->storage_size() == (int64_t(1) << 31) + (int64_t(1) << 27));
  } else {
    CHECK(code == 1);
  }
  // The format's own limit still holds everywhere: 64 times is over 4 GiB.
  CHECK(code_of([&] { cvm::Model::load(cvm::test::slurp(dir + "symbol.json"), params); }) == 1);
}
