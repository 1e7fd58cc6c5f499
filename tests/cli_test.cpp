// cvm-run end to end: argument errors, file formats, and every shared model.
#include <catch2/catch.hpp>

#include "cli_util.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "runtime/npy.h"

namespace {

using Result = cvm::test::CliResult;

const fs::path kExamples = fs::path(CVM_SOURCE_DIR) / "examples" / "models";
const fs::path kHostile = fs::path(CVM_TEST_DATA_DIR) / "hostile";

}  // namespace

TEST_CASE("cvm-run: argument errors exit non-zero with a reason", "[cli]") {
  Result r = cvm_run("");
  CHECK(r.code == 64);
  CHECK(r.err.find("no model") != std::string::npos);
  // One line of reason, one of hint.
  CHECK(line_count(r.err) == 2);
  CHECK(r.err.find("Try 'cvm-run --help'") != std::string::npos);
  r = cvm_run("--model");
  CHECK(r.code == 64);
  CHECK(r.err.find("--model needs a value") != std::string::npos);
  r = cvm_run("--bogus 1");
  CHECK(r.code == 64);
  r = cvm_run("--model " + kLenet.string());
  CHECK(r.code == 64);  // no input
  r = cvm_run("--model " + kLenet.string() + " --input x --repeat zero");
  CHECK(r.code == 64);
  r = cvm_run("--model /nonexistent --input /nonexistent");
  CHECK(r.code == 3);
  CHECK(line_count(r.err) == 1);
  CHECK(r.err == "cvm-run: /nonexistent: no such model folder\n");
  r = cvm_run("--help");
  CHECK(r.code == 0);
  CHECK(r.out.find("usage") != std::string::npos);
}

TEST_CASE("cvm-run info describes a model", "[cli]") {
  const fs::path& m = kLenet;
  auto info = nlohmann::json::parse(slurp(m / "case.json"));
  Result r = cvm_run("info --model " + m.string());
  REQUIRE(r.code == 0);
  CHECK(r.out.find("version: cvm_1.0.0") != std::string::npos);
  CHECK(r.out.find("input: data (1, 1, 28, 28)") != std::string::npos);
  CHECK(r.out.find("gas: " + std::to_string(info["gas"].get<long long>())) != std::string::npos);
  CHECK(r.out.find("storage size: " + std::to_string(info["storage_size"].get<long long>())) !=
        std::string::npos);
  CHECK(r.out.find("conv2d=") != std::string::npos);
}

TEST_CASE("cvm-run reproduces every shared model's output bytes", "[cli]") {
  std::vector<fs::path> models;
  for (const fs::path& root : {kExamples, fs::path(CVM_SHARED_MODELS_DIR)}) {
    if (!fs::exists(root)) continue;
    for (const auto& e : fs::directory_iterator(root)) models.push_back(e.path());
  }
  REQUIRE(models.size() >= 2);
  fs::path out = scratch() / "out.bin";
  for (const fs::path& m : models) {
    INFO(m);
    fs::remove(out);
    Result r = cvm_run("--model " + m.string() + " --input " + (m / "input.bin").string() +
                       " --output " + out.string());
    CHECK(r.code == 0);
    CHECK(r.err.empty());
    CHECK(slurp(out) == slurp(m / "output.bin"));
  }
}

TEST_CASE("cvm-run: .npy in and out carry the same values as raw bytes", "[cli]") {
  fs::path m = kExamples / "cifar_resnet20";
  fs::path dir = scratch();
  std::string raw = slurp(m / "input.bin");
  std::vector<int32_t> values(raw.begin(), raw.end());
  for (auto& v : values) v = static_cast<int8_t>(v);
  spit(dir / "in.npy", cvm::make_npy({1, 3, 32, 32}, values, true));
  Result r = cvm_run("--model " + m.string() + " --input " + (dir / "in.npy").string() +
                     " --output " + (dir / "out.npy").string());
  REQUIRE(r.code == 0);
  cvm::NpyArray got = cvm::parse_npy(slurp(dir / "out.npy"));
  std::string expected = slurp(m / "output.bin");
  REQUIRE(got.values.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) CHECK(got.values[i] == static_cast<int8_t>(expected[i]));
  CHECK(got.shape == std::vector<int64_t>{1, 10});

  // int32 and float arrays convert when every value is exact.
  spit(dir / "in32.npy", cvm::make_npy({1, 3, 32, 32}, values, false));
  r = cvm_run("--model " + m.string() + " --input " + (dir / "in32.npy").string() +
              " --output " + (dir / "out2.bin").string());
  CHECK(r.code == 0);
  CHECK(slurp(dir / "out2.bin") == expected);

  // A wrong shape, an out-of-range value, a truncated file: refused.
  spit(dir / "shape.npy", cvm::make_npy({3, 32, 32}, values, true));
  r = cvm_run("--model " + m.string() + " --input " + (dir / "shape.npy").string());
  CHECK(r.code == 1);
  CHECK(r.err.find("shape") != std::string::npos);
  std::vector<int32_t> big = values;
  big[5] = 300;
  spit(dir / "big.npy", cvm::make_npy({1, 3, 32, 32}, big, false));
  r = cvm_run("--model " + m.string() + " --input " + (dir / "big.npy").string());
  CHECK(r.code == 1);
  std::string cut = slurp(dir / "in.npy");
  spit(dir / "cut.npy", cut.substr(0, cut.size() - 1));
  r = cvm_run("--model " + m.string() + " --input " + (dir / "cut.npy").string());
  CHECK(r.code == 1);
  spit(dir / "short.bin", raw.substr(1));
  r = cvm_run("--model " + m.string() + " --input " + (dir / "short.bin").string());
  CHECK(r.code == 1);
  CHECK(line_count(r.err) == 1);
}

TEST_CASE("cvm-run prints a summary and latency", "[cli]") {
  const fs::path& m = kLenet;
  Result r = cvm_run("--model " + m.string() + " --input " + (m / "input.bin").string() +
                     " --repeat 3 --threads 1");
  REQUIRE(r.code == 0);
  CHECK(r.out.find("latency over 3 runs") != std::string::npos);
  CHECK(r.out.find("output: shape (1, 10)") != std::string::npos);
  CHECK(r.out.find("argmax:") != std::string::npos);
}

TEST_CASE("cvm-run: every rejected hostile model exits non-zero with a message", "[cli]") {
  int rejected = 0;
  for (const auto& e : fs::directory_iterator(kHostile)) {
    auto info = nlohmann::json::parse(slurp(e.path() / "case.json"));
    const std::string kind = info.value("kind", "");
    // Rejected: what the reference refused, and what it read out of bounds.
    if (info["status"] == "ok" && kind != "heads_bad" && kind != "params_truncated") continue;
    INFO(e.path());
    Result r = cvm_run("--model " + e.path().string() + " --input " +
                       (e.path() / "input.bin").string());
    CHECK(r.code != 0);
    CHECK(r.code < 64);
    CHECK(line_count(r.err) == 1);
    CHECK(r.err.rfind("cvm-run: ", 0) == 0);
    ++rejected;
  }
  CHECK(rejected >= 30);
}
