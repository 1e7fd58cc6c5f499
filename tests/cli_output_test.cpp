// cvm-run's outputs: --top with class names, --json summaries, detection
// rows, and the bench mode's JSON.
#include <catch2/catch.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli_util.h"

using nlohmann::json;

namespace {

const fs::path kData = fs::path(CVM_TEST_DATA_DIR);

std::vector<int> lenet_scores() {
  std::vector<int> v;
  for (char c : slurp(kLenet / "output.bin")) v.push_back(static_cast<int8_t>(c));
  return v;
}

// LeNet with class names "class0".."class9".
fs::path lenet_named() {
  const fs::path dir = scratch() / "lenet_named";
  fs::create_directories(dir);
  for (const char* f : {"symbol.json", "params.bin"}) {
    fs::copy_file(kLenet / f, dir / f, fs::copy_options::overwrite_existing);
  }
  json meta = {{"cvm_model_meta", 1}, {"classes", json::array()}};
  for (int i = 0; i < 10; ++i) meta["classes"].push_back("class" + std::to_string(i));
  spit(dir / "model.json", meta.dump());
  return dir;
}

}  // namespace

TEST_CASE("cvm-run --top and --json: the best classes with their names", "[cli]") {
  const auto scores = lenet_scores();
  std::vector<int> order(scores.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return scores[a] > scores[b]; });
  const fs::path model = lenet_named();
  const std::string input = " --input " + (kLenet / "input.bin").string();

  auto r = cvm_run("--model " + model.string() + input);
  REQUIRE(r.code == 0);
  CHECK(contains(r.out, "argmax: " + std::to_string(order[0]) + " (class" + std::to_string(order[0]) + ")\n"));

  r = cvm_run("--model " + model.string() + input + " --top 3");
  REQUIRE(r.code == 0);
  for (int k = 0; k < 3; ++k) {
    INFO(k);
    CHECK(contains(r.out, "class " + std::to_string(order[k])));
    CHECK(contains(r.out, "class" + std::to_string(order[k]) + "\n"));
  }

  r = cvm_run("--model " + model.string() + input + " --top 3 --json");
  REQUIRE(r.code == 0);
  const json j = json::parse(r.out);
  CHECK(j["output"]["kind"] == "classifier");
  CHECK(j["output"]["shape"] == json({1, 10}));
  CHECK(j["output"]["values"].get<std::vector<int>>() == scores);
  CHECK(j["rows"].size() == 1);
  CHECK(j["rows"][0]["argmax"] == order[0]);
  CHECK(j["rows"][0]["name"] == "class" + std::to_string(order[0]));
  REQUIRE(j["rows"][0]["top"].size() == 3);
  for (int k = 0; k < 3; ++k) {
    CHECK(j["rows"][0]["top"][k]["class"] == order[k]);
    CHECK(j["rows"][0]["top"][k]["score"] == scores[order[k]]);
    CHECK(j["rows"][0]["top"][k]["name"] == "class" + std::to_string(order[k]));
  }
  const json info = json::parse(slurp(kLenet / "case.json"));
  CHECK(j["gas"] == info["gas"]);
  CHECK(j["timing"]["load_ms"].get<double>() > 0);
  CHECK(j["input"]["shape"] == json({1, 1, 28, 28}));
}

TEST_CASE("cvm-run: a non_max_suppression head prints boxes as rows", "[cli]") {
  const fs::path c = kData / "ops" / "non_max_suppression" / "non_max_suppression_001";
  const std::string out = slurp(c / "output.bin");
  std::vector<std::vector<int32_t>> expected;
  for (size_t row = 0; row + 24 <= out.size(); row += 24) {
    std::vector<int32_t> values;
    for (size_t k = 0; k < 6; ++k) {
      const auto* b = reinterpret_cast<const unsigned char*>(&out[row + 4 * k]);
      values.push_back(static_cast<int32_t>(b[0] | b[1] << 8 | b[2] << 16 | uint32_t(b[3]) << 24));
    }
    if (values[0] >= 0) expected.push_back(values);
  }
  REQUIRE(!expected.empty());
  const std::string args = "--model " + c.string() + " --input " + (c / "input.bin").string();
  auto r = cvm_run(args + " --json");
  REQUIRE(r.code == 0);
  const json j = json::parse(r.out);
  CHECK(j["output"]["kind"] == "detection");
  CHECK(j["boxes"].get<std::vector<std::vector<int32_t>>>() == expected);
  r = cvm_run(args);
  REQUIRE(r.code == 0);
  CHECK(!contains(r.out, "argmax"));
  CHECK(contains(r.out, "boxes: " + std::to_string(expected.size()) + " of 10 rows, as [id, score, x1, y1, x2, y2]"));
  const auto& b = expected[0];
  CHECK(contains(r.out, "  [" + std::to_string(b[0]) + ", " + std::to_string(b[1]) + ", " +
                            std::to_string(b[2]) + ", " + std::to_string(b[3]) + ", " +
                            std::to_string(b[4]) + ", " + std::to_string(b[5]) + "]\n"));
}

TEST_CASE("cvm-run: argmax postprocess and raw outputs", "[cli]") {
  const fs::path argmax = kData / "postprocess" / "01_lenet_28_argmax";
  auto r = cvm_run("--model " + argmax.string() + " --input " + (argmax / "input.bin").string() + " --json");
  REQUIRE(r.code == 0);
  json j = json::parse(r.out);
  CHECK(j["output"]["kind"] == "argmax");
  const std::string out = slurp(argmax / "output.bin");
  REQUIRE(out.size() == 4);
  CHECK(j["rows"][0]["argmax"] == static_cast<int>(static_cast<unsigned char>(out[0])));
  // A relu over (A, B, C > 1) data is not recognised: said plainly.
  fs::path op_dir;
  for (const auto& e : fs::directory_iterator(kData / "ops" / "relu")) {
    const json info = json::parse(slurp(e.path() / "case.json"));
    if (info["status"] == "ok" && info["data_shape"].size() >= 3 && info["data_shape"].back() > 1) {
      op_dir = e.path();
      break;
    }
  }
  REQUIRE(!op_dir.empty());
  r = cvm_run("--model " + op_dir.string() + " --input " + (op_dir / "input.bin").string());
  REQUIRE(r.code == 0);
  CHECK(contains(r.out, "raw output: not a classifier's (N, classes) scores nor a detector's boxes"));
  CHECK(!contains(r.out, "argmax"));
}

TEST_CASE("cvm-run bench: figures as JSON", "[cli]") {
  auto r = cvm_run("bench --model " + kLenet.string() + " --runs 20 --warmup 2 --threads 1 --json");
  REQUIRE(r.code == 0);
  const json j = json::parse(r.out);
  CHECK(j["runs"] == 20);
  CHECK(j["warmup"] == 2);
  CHECK(j["threads"] == 1);
  CHECK(j["input"] == "random");
  CHECK(j["batch"] == 1);
  const json& l = j["latency_ms"];
  CHECK(l["min"].get<double>() > 0);
  CHECK(l["min"].get<double>() <= l["p50"].get<double>());
  CHECK(l["p50"].get<double>() <= l["p90"].get<double>());
  CHECK(l["p90"].get<double>() <= l["p99"].get<double>());
  CHECK(l["p99"].get<double>() <= l["max"].get<double>());
  CHECK(l["min"].get<double>() <= l["mean"].get<double>());
  CHECK(l["mean"].get<double>() <= l["max"].get<double>());
  CHECK(j["images_per_second"].get<double>() > 0);
  CHECK(j["load_ms"].get<double>() > 0);
  CHECK(j["peak_rss_kb"].get<long long>() > 1000);  // the process holds at least its code
  CHECK(r.err.empty());  // no progress line on a short run

  // A given input file, a time limit past two seconds: a progress line on stderr.
  r = cvm_run("bench --model " + kLenet.string() + " --input " + (kLenet / "input.bin").string() +
              " --duration 2.5 --warmup 0");
  REQUIRE(r.code == 0);
  CHECK(contains(r.out, "latency ms: min "));
  CHECK(contains(r.out, "peak memory: "));
  CHECK(contains(r.err, "bench: timed "));
  // The input must fit the model here too.
  r = cvm_run("bench --model " + kLenet.string() + " --input /dev/zero");
  CHECK(r.code == 1);
  CHECK(contains(r.err, "/dev/zero: more than the 784 bytes"));
}
