// Runs every recorded conformance case through the C API and compares status,
// error code, the six figures and every output byte, with the expectations of
// the conformance README (including its stated exceptions).
//
// CVM_CONFORMANCE_FILTER=<substring> limits the run to cases whose path (for
// example "ops/conv2d" or "hostile/035") contains the substring.
#include <catch2/catch.hpp>

#include "file_util.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cvm/c_api.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using cvm::test::slurp;

struct Case {
  std::string id;  // e.g. "ops/conv2d/conv2d_001"
  fs::path dir;
};

std::vector<Case> collect(const fs::path& root, const std::string& group, int depth) {
  std::vector<Case> out;
  if (!fs::exists(root)) return out;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.path().filename() != "case.json") continue;
    fs::path dir = entry.path().parent_path();
    std::string rel = fs::relative(dir, root).generic_string();
    if (std::count(rel.begin(), rel.end(), '/') != depth - 1) continue;
    out.push_back(Case{group + "/" + rel, dir});
  }
  std::sort(out.begin(), out.end(), [](const Case& a, const Case& b) { return a.id < b.id; });
  return out;
}

bool selected(const std::string& id) {
  const char* filter = std::getenv("CVM_CONFORMANCE_FILTER");
  return !filter || id.find(filter) != std::string::npos;
}

// What the README says a conforming runtime does with a case.
struct Expectation {
  std::string status;  // ok, load_error, infer_error
  int error_code = 0;
  std::string output_file;
};

Expectation expectation_for(const Case& c, const json& info) {
  Expectation e;
  e.status = info.value("status", "");
  e.error_code = info.value("error_code", 0);
  e.output_file = "output.bin";
  const std::string kind = info.value("kind", "");
  if (e.status == "crash" || kind == "heads_bad" || kind == "params_truncated") {
    // The reference crashed or read past its buffers: a clean rejection.
    e.status = "load_error";
    e.error_code = 1;
  } else if (info.value("op", "") == "cvm_left_shift" && info.contains("formal_status")) {
    // The CPU build's left shift always fails: follow the specification build.
    e.status = info["formal_status"].get<std::string>();
    e.output_file = "output.formal.bin";
  }
  (void)c;
  return e;
}

// Returns "" when the case passes, else what differs.
std::string run_case(const Case& c) {
  json info = json::parse(slurp(c.dir / "case.json"));
  Expectation want = expectation_for(c, info);
  std::string graph = slurp(c.dir / "symbol.json");
  std::string params = slurp(c.dir / "params.bin");
  std::string input = slurp(c.dir / "input.bin");
  std::ostringstream why;

  void* net = nullptr;
  int rc = CVMAPILoadModel(graph.data(), static_cast<int>(graph.size()), params.data(),
                           static_cast<int>(params.size()), &net, 0, 0);
  if (want.status == "load_error") {
    if (rc == 0) {
      CVMAPIFreeModel(net);
      why << "loaded, expected load error " << want.error_code;
    } else if (rc != want.error_code) {
      why << "load error " << rc << " (" << CVMAPIGetLastError() << "), expected "
          << want.error_code;
    }
    return why.str();
  }
  if (rc != 0) {
    why << "load failed with " << rc << ": " << CVMAPIGetLastError();
    return why.str();
  }

  const std::pair<const char*, int (*)(void*, unsigned long long*)> figures[] = {
      {"gas", CVMAPIGetGasFromModel},
      {"storage_size", CVMAPIGetStorageSize},
      {"input_length", CVMAPIGetInputLength},
      {"output_length", CVMAPIGetOutputLength},
      {"input_type_size", CVMAPIGetInputTypeSize},
      {"output_type_size", CVMAPIGetOutputTypeSize},
  };
  for (const auto& f : figures) {
    if (!info.contains(f.first)) continue;
    unsigned long long value = 0;
    int frc = f.second(net, &value);
    unsigned long long expected = info[f.first].get<unsigned long long>();
    if (frc != 0 || value != expected) {
      why << f.first << " = " << value << " (rc " << frc << "), expected " << expected << "; ";
    }
  }
  if (info.contains("gas")) {
    unsigned long long from_graph = 0;
    int grc = CVMAPIGetGasFromGraphFile(graph.c_str(), &from_graph);
    if (grc != 0 || from_graph != info["gas"].get<unsigned long long>()) {
      why << "gas from graph file = " << from_graph << " (rc " << grc << "); ";
    }
  }

  unsigned long long out_len = 0;
  CVMAPIGetOutputLength(net, &out_len);
  // Poison the buffer: bytes the runtime does not write must still match.
  std::vector<char> output(static_cast<size_t>(out_len) + 1, static_cast<char>(0x5A));
  rc = CVMAPIInference(net, input.data(), static_cast<int>(input.size()), output.data());
  std::string error = rc ? CVMAPIGetLastError() : "";
  CVMAPIFreeModel(net);

  if (want.status == "infer_error") {
    if (rc == 0) {
      why << "inference succeeded, expected error " << want.error_code;
    } else if (rc != want.error_code) {
      why << "inference error " << rc << " (" << error << "), expected " << want.error_code;
    }
    return why.str();
  }
  if (rc != 0) {
    why << "inference failed with " << rc << ": " << error;
    return why.str();
  }
  std::string expected = slurp(c.dir / want.output_file);
  output.resize(static_cast<size_t>(out_len));
  if (expected.size() != output.size()) {
    why << "output has " << output.size() << " bytes, expected " << expected.size();
  } else if (std::memcmp(expected.data(), output.data(), output.size()) != 0) {
    size_t first = 0;
    while (expected[first] == output[first]) ++first;
    why << "output differs from byte " << first << " of " << output.size();
  }
  return why.str();
}

void run_group(const std::vector<Case>& cases) {
  int passed = 0, run = 0;
  for (const Case& c : cases) {
    if (!selected(c.id)) continue;
    ++run;
    std::string failure = run_case(c);
    INFO(c.id << ": " << failure);
    CHECK(failure.empty());
    if (failure.empty()) ++passed;
  }
  WARN(passed << " of " << run << " cases pass");
}

}  // namespace

TEST_CASE("conformance: operator cases", "[conformance][ops]") {
  auto cases = collect(fs::path(CVM_TEST_DATA_DIR) / "ops", "ops", 2);
  REQUIRE(cases.size() >= 500);
  run_group(cases);
}

TEST_CASE("conformance: hostile cases", "[conformance][hostile]") {
  auto cases = collect(fs::path(CVM_TEST_DATA_DIR) / "hostile", "hostile", 1);
  REQUIRE(cases.size() >= 50);
  run_group(cases);
}

TEST_CASE("conformance: postprocess cases", "[conformance][postprocess]") {
  auto cases = collect(fs::path(CVM_TEST_DATA_DIR) / "postprocess", "postprocess", 1);
  REQUIRE(cases.size() >= 12);
  run_group(cases);
}

TEST_CASE("conformance: whole models", "[conformance][models]") {
  fs::path root(CVM_SHARED_MODELS_DIR);
  if (!fs::exists(root)) {
    WARN("no shared models at " << root << ": skipped");
    return;
  }
  auto cases = collect(root, "models", 1);
  REQUIRE(!cases.empty());
  run_group(cases);
}
