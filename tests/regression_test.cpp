// Inputs that once crashed, hung or misbehaved (found by the fuzzers in
// fuzz/, or by review), replayed as the fuzz target that found them. Each
// folder of tests/data/regressions holds case.json:
//   target      "graph" (symbol.json alone: load_graph, gas, storage),
//               "params" (params.bin alone) or
//               "model" (symbol.json + params.bin, then input.bin)
//   load        the expected code of loading: 0, 1 or 2
//   infer       for "model" cases that load: the expected code of inference
//   finding, fix  what went wrong and where it was fixed
// A model's input is input.bin repeated or cut to the model's input length,
// as fuzz_model derives it; loads use fuzz_model's 64 MiB memory limit.
#include <catch2/catch.hpp>

#include "file_util.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cvm/model.hpp"
#include "graph/graph.h"
#include "graph/params.h"

namespace fs = std::filesystem;

namespace {

using cvm::test::slurp;

template <typename F>
int code_of(F&& f) {
  try {
    f();
    return 0;
  } catch (const cvm::Error& e) {
    return e.code();
  }
}

}  // namespace

TEST_CASE("regressions: every recorded finding ends with its expected code", "[regressions]") {
  const fs::path root = fs::path(CVM_TEST_DATA_DIR) / "regressions";
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(root)) {
    if (fs::exists(e.path() / "case.json")) dirs.push_back(e.path());
  }
  std::sort(dirs.begin(), dirs.end());
  REQUIRE(dirs.size() >= 3);
  for (const fs::path& dir : dirs) {
    const auto info = nlohmann::json::parse(slurp(dir / "case.json"));
    const std::string target = info.at("target");
    const int want_load = info.at("load");
    INFO(dir.filename().string() << " (" << target << "): " << info.value("finding", ""));
    const std::string graph = slurp(dir / "symbol.json");
    const std::string params = slurp(dir / "params.bin");
    if (target == "graph") {
      CHECK(code_of([&] {
              cvm::Graph g = cvm::load_graph(graph);
              cvm::storage_size(cvm::storage_pool_bytes(g));
              cvm::graph_gas(g);
            }) == want_load);
    } else if (target == "params") {
      CHECK(code_of([&] { cvm::load_params(params.data(), params.size()); }) == want_load);
    } else {
      REQUIRE(target == "model");
      std::unique_ptr<cvm::Model> model;
      cvm::LoadOptions options;
      options.max_memory_bytes = size_t(64) << 20;
      REQUIRE(code_of([&] { model = cvm::Model::load(graph, params, options); }) == want_load);
      if (!model) continue;
      const std::string seed = slurp(dir / "input.bin");
      std::vector<uint8_t> input(model->input_length());
      for (size_t i = 0; i < input.size() && !seed.empty(); ++i) {
        input[i] = static_cast<uint8_t>(seed[i % seed.size()]);
      }
      CHECK(code_of([&] { model->infer(input); }) == info.at("infer").get<int>());
    }
  }
}
