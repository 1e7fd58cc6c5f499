// Concurrent load: many threads, each loading and running its own models
// (several models to a thread), plus one model shared by every thread, with
// every output compared to the recorded bytes. Half the threads use the C
// API, half the C++ API; every thread reloads its models halfway through.
// Run it under ThreadSanitizer too (CVM_SANITIZE=thread; see .ci/run).
#include <catch2/catch.hpp>

#include "file_util.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cvm/c_api.h"
#include "cvm/model.hpp"

namespace fs = std::filesystem;

namespace {

using cvm::test::slurp;

struct Recorded {
  std::string name, graph, params, input, output;
};

Recorded read_case(const fs::path& dir, const std::string& output_file = "output.bin") {
  return Recorded{dir.filename().string(), slurp(dir / "symbol.json"), slurp(dir / "params.bin"),
                  slurp(dir / "input.bin"), slurp(dir / output_file)};
}

// Small recorded cases that succeed on the CPU build: every op case with
// status "ok" (except the left shift, whose CPU build differs), and the
// post-processing cases, taking every `stride`-th.
std::vector<Recorded> small_cases(size_t stride) {
  std::vector<fs::path> dirs;
  const fs::path data(CVM_TEST_DATA_DIR);
  for (const char* group : {"ops", "postprocess"}) {
    for (const auto& e : fs::recursive_directory_iterator(data / group)) {
      if (e.path().filename() != "case.json") continue;
      auto info = nlohmann::json::parse(slurp(e.path()));
      if (info.value("status", "") != "ok" || info.value("op", "") == "cvm_left_shift") continue;
      dirs.push_back(e.path().parent_path());
    }
  }
  std::sort(dirs.begin(), dirs.end());
  std::vector<Recorded> out;
  for (size_t i = 0; i < dirs.size(); i += stride) out.push_back(read_case(dirs[i]));
  return out;
}

// One loaded model behind either API.
class Runner {
 public:
  Runner(const Recorded& r, bool c_api) : rec_(r), c_api_(c_api) {
    if (c_api_) {
      int rc = CVMAPILoadModel(r.graph.data(), static_cast<int>(r.graph.size()), r.params.data(),
                               static_cast<int>(r.params.size()), &net_, 0, 0);
      if (rc != 0) net_ = nullptr;
    } else {
      model_ = cvm::Model::load(r.graph, r.params);
    }
  }
  ~Runner() {
    if (net_) CVMAPIFreeModel(net_);
  }
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // True when the output equals the recorded bytes.
  bool run() {
    std::string out(rec_.output.size(), '\x5a');
    if (c_api_) {
      unsigned long long len = 0;
      if (!net_ || CVMAPIGetOutputLength(net_, &len) != 0 || len != out.size()) return false;
      std::string in = rec_.input;
      return CVMAPIInference(net_, in.data(), static_cast<int>(in.size()), out.data()) == 0 &&
             out == rec_.output;
    }
    if (model_->output_length() != out.size()) return false;
    model_->infer(rec_.input.data(), rec_.input.size(), out.data());
    return out == rec_.output;
  }

 private:
  const Recorded& rec_;
  bool c_api_;
  void* net_ = nullptr;
  std::unique_ptr<cvm::Model> model_;
};

}  // namespace

TEST_CASE("load: threads loading and running models give the recorded bytes", "[load]") {
  const fs::path models = fs::path(CVM_SOURCE_DIR) / "examples" / "models";
  const Recorded lenet = read_case(models / "lenet_28");
  const Recorded resnet = read_case(models / "cifar_resnet20");
  const std::vector<Recorded> cases = small_cases(8);
  REQUIRE(cases.size() >= 48);

  constexpr int kThreads = 8;
  constexpr int kRounds = 200;
  constexpr int kCasesPerThread = 6;
  Runner shared(lenet, false);  // one model, every thread: calls serialise

  std::atomic<long> inferences{0}, mismatches{0};
  std::vector<std::string> failures(kThreads);
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const bool c_api = t % 2 == 1;
      auto load_own = [&](std::vector<std::unique_ptr<Runner>>& own) {
        own.clear();
        own.push_back(std::make_unique<Runner>(t % 4 == 0 ? resnet : lenet, c_api));
        for (int k = 0; k < kCasesPerThread; ++k) {
          own.push_back(std::make_unique<Runner>(cases[(t * kCasesPerThread + k) % cases.size()],
                                                 c_api));
        }
      };
      std::vector<std::unique_ptr<Runner>> own;
      try {
        load_own(own);
        for (int round = 0; round < kRounds; ++round) {
          if (round == kRounds / 2) load_own(own);  // free and load again under load
          for (size_t m = 0; m < own.size(); ++m) {
            // resnet20 runs every 8th round, the rest every round.
            if (m == 0 && t % 4 == 0 && round % 8 != 0) continue;
            if (!own[m]->run()) ++mismatches;
            ++inferences;
          }
          if (round % 4 == 0) {
            if (!shared.run()) ++mismatches;
            ++inferences;
          }
        }
      } catch (const std::exception& e) {
        failures[t] = e.what();
      }
    });
  }
  for (auto& th : threads) th.join();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (const auto& f : failures) CHECK(f.empty());
  const long expected = kThreads * kRounds * kCasesPerThread  // small cases
                        + 6 * kRounds                        // lenet threads
                        + 2 * (kRounds / 8)                  // resnet threads
                        + kThreads * (kRounds / 4);          // the shared model
  CHECK(inferences == expected);
  CHECK(inferences >= 2000);
  CHECK(mismatches == 0);
  WARN(inferences << " inferences on " << kThreads << " threads in " << seconds << " s");
}
