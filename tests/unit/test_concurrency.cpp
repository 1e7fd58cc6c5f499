// Separate models run concurrently from different threads, and one model
// shared by several threads still gives the recorded bytes.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "cvm/model.hpp"

namespace fs = std::filesystem;

namespace {
std::vector<uint8_t> bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
const fs::path kModels = fs::path(CVM_SOURCE_DIR) / "examples" / "models";
}  // namespace

TEST_CASE("models run concurrently with the recorded output", "[concurrency]") {
  const std::vector<std::string> names = {"lenet_28", "cifar_resnet20"};
  std::atomic<int> mismatches{0}, runs{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const fs::path dir = kModels / names[t % names.size()];
      auto model = cvm::Model::load_files((dir / "symbol.json").string(), (dir / "params.bin").string());
      const auto input = bytes_of(dir / "input.bin");
      const auto expected = bytes_of(dir / "output.bin");
      for (int i = 0; i < 5; ++i) {
        if (model->infer(input) != expected) ++mismatches;
        ++runs;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(runs == 20);
  CHECK(mismatches == 0);
}

TEST_CASE("one model shared by threads", "[concurrency]") {
  const fs::path dir = kModels / "lenet_28";
  auto model = cvm::Model::load_files((dir / "symbol.json").string(), (dir / "params.bin").string());
  const auto input = bytes_of(dir / "input.bin");
  const auto expected = bytes_of(dir / "output.bin");
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        if (model->infer(input) != expected) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(mismatches == 0);
}

TEST_CASE("thread count: set_threads, else CVM_THREADS, else every core", "[concurrency]") {
  const fs::path dir = kModels / "lenet_28";
  auto model = cvm::Model::load_files((dir / "symbol.json").string(), (dir / "params.bin").string());
  ::setenv("CVM_THREADS", "3", 1);
  CHECK(model->threads() == 3);
  ::setenv("CVM_THREADS", "junk", 1);
  CHECK(model->threads() >= 1);
  ::unsetenv("CVM_THREADS");
  model->set_threads(2);
  CHECK(model->threads() == 2);
  const auto expected = bytes_of(dir / "output.bin");
  CHECK(model->infer(bytes_of(dir / "input.bin")) == expected);
}

TEST_CASE("thread count: a huge request is capped at kMaxThreads", "[concurrency]") {
  // 1000000 threads used to be started as asked (gigabytes of stacks).
  const fs::path dir = kModels / "lenet_28";
  auto model = cvm::Model::load_files((dir / "symbol.json").string(), (dir / "params.bin").string());
  model->set_threads(1000000);
  CHECK(model->threads() == cvm::kMaxThreads);
  model->set_threads(cvm::kMaxThreads - 1);
  CHECK(model->threads() == cvm::kMaxThreads - 1);
  ::setenv("CVM_THREADS", "1000000", 1);
  model->set_threads(0);
  CHECK(model->threads() == cvm::kMaxThreads);
  ::unsetenv("CVM_THREADS");
  model->set_threads(1000000);
  CHECK(model->infer(bytes_of(dir / "input.bin")) == bytes_of(dir / "output.bin"));
}
