// Hostile input: the limits checked before any allocation or loop, the cost
// of rejecting a bad model (a small multiple of its own size), the memory
// limit of LoadOptions, and the JSON reader on unusual but valid text.
#include <catch2/catch.hpp>

#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <new>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "cvm/c_api.h"
#include "cvm/model.hpp"
#include "graph/graph.h"
#include "graph/params.h"
#include "ops/op.h"
#include "tests/unit/graph_json.h"

// --- allocation tracking: peak bytes held through operator new ------------
namespace {
std::atomic<long long> g_current{0}, g_peak{0};
void note_alloc(void* p) {
  long long now = g_current += static_cast<long long>(malloc_usable_size(p));
  long long peak = g_peak.load();
  while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
  }
}
void* tracked_new(size_t n) {
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  note_alloc(p);
  return p;
}
void tracked_delete(void* p) {
  if (!p) return;
  g_current -= static_cast<long long>(malloc_usable_size(p));
  std::free(p);
}
}  // namespace

void* operator new(size_t n) { return tracked_new(n); }
void* operator new[](size_t n) { return tracked_new(n); }
void operator delete(void* p) noexcept { tracked_delete(p); }
void operator delete[](void* p) noexcept { tracked_delete(p); }
void operator delete(void* p, size_t) noexcept { tracked_delete(p); }
void operator delete[](void* p, size_t) noexcept { tracked_delete(p); }
// The nothrow forms too (std::stable_sort's buffer uses them), so that every
// allocation is paired with its own deallocation (ASan checks the pairing).
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  try {
    return tracked_new(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](size_t n, const std::nothrow_t&) noexcept {
  try {
    return tracked_new(n);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p, const std::nothrow_t&) noexcept { tracked_delete(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { tracked_delete(p); }

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Peak bytes allocated (above what was held before) while `f` runs.
template <typename F>
long long peak_bytes_of(F&& f) {
  long long before = g_current.load();
  g_peak = before;
  f();
  return g_peak.load() - before;
}

// The error code of loading `graph` with an empty params blob (0 on success).
int load_code(const std::string& graph, std::string* message = nullptr) {
  try {
    cvm::load_graph(graph);
    return 0;
  } catch (const cvm::Error& e) {
    if (message) *message = e.what();
    return e.code();
  }
}

using cvm::test::data_only_graph;

// The data-only graph with the JSON text of one list replaced by `list`.
std::string with_list(const std::string& placeholder_key, const std::string& list) {
  json g = data_only_graph();
  std::string marker = "\"@@LIST@@\"";
  if (placeholder_key == "nodes") {
    g["nodes"] = "@@LIST@@";
  } else {
    g["attrs"][placeholder_key][1] = "@@LIST@@";
  }
  std::string text = g.dump();
  return text.replace(text.find(marker), marker.size(), list);
}

std::string repeat_list(const std::string& element, size_t n) {
  std::string out = "[";
  out.reserve(n * (element.size() + 1) + 2);
  for (size_t i = 0; i < n; ++i) {
    if (i) out += ',';
    out += element;
  }
  return out + "]";
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const fs::path kLenet = fs::path(CVM_SOURCE_DIR) / "examples" / "models" / "lenet_28";

}  // namespace

TEST_CASE("a huge list of short elements costs a small multiple of its text", "[limits][slow]") {
  struct Bomb {
    const char* key;
    std::string element;
    size_t count;
  };
  const Bomb bombs[] = {
      {"storage_id", "0", 2'000'000},  // 16 bytes each in a JSON DOM
      {"op_attrs", "\"\"", 1'000'000},  // 32 bytes each as std::string
      {"shape", "[1]", 1'000'000},      // 40 bytes each as std::vector
      {"dltype", "\"\"", 1'000'000},
      {"nodes", R"({"op":"null","name":"","inputs":[]})", 200'000},
  };
  for (const Bomb& b : bombs) {
    std::string text = with_list(b.key, repeat_list(b.element, b.count));
    int code = -1;
    long long peak = peak_bytes_of([&] { code = load_code(text); });
    INFO(b.key << ": " << text.size() << " bytes of JSON, peak " << peak << " bytes");
    CHECK(code == 1);  // the list's length does not match the graph
    CHECK(peak <= 8 * static_cast<long long>(text.size()));
  }
}

TEST_CASE("JSON nesting, string length, text size and node count are limited", "[limits][slow]") {
  std::string message;
  // Nesting: 40 levels in heads is a malformed-JSON class error.
  std::string deep = with_list("storage_id", std::string(40, '[') + std::string(40, ']'));
  CHECK(load_code(deep, &message) == 2);
  CHECK(message.find("nested deeper than 32") != std::string::npos);
  // 20 levels are well-formed JSON of the wrong type: also code 2.
  std::string nested = with_list("storage_id", std::string(20, '[') + std::string(20, ']'));
  CHECK(load_code(nested, &message) == 2);
  CHECK(message.find("nested") == std::string::npos);

  // A string over 64 KiB.
  json g = data_only_graph();
  g["nodes"][0]["name"] = std::string((64 << 10) + 1, 'x');
  CHECK(load_code(g.dump(), &message) == 1);
  CHECK(message.find("over the limit of 65536") != std::string::npos);
  g["nodes"][0]["name"] = std::string(64 << 10, 'x');
  CHECK(load_code(g.dump()) == 0);  // within the limit
  // Text over 64 MiB, even of whitespace.
  std::string big = data_only_graph().dump();
  big.insert(1, size_t(64) << 20, ' ');
  CHECK(load_code(big, &message) == 1);
  CHECK(message.find("bytes, over the limit") != std::string::npos);
  big.erase(1, big.size() - (size_t(64) << 20));
  CHECK(big.size() == size_t(64) << 20);
  CHECK(load_code(big) == 0);
  // More than 2^20 nodes, even before their type is checked.
  std::string many = with_list("nodes", repeat_list("0", (size_t(1) << 20) + 1));
  CHECK(load_code(many, &message) == 1);
  CHECK(message.find("nodes, over the limit") != std::string::npos);
  std::string enough = with_list("nodes", repeat_list("0", size_t(1) << 20));
  CHECK(load_code(enough) == 2);  // a node must be an object
}

TEST_CASE("the JSON reader decodes escapes and classifies numbers like nlohmann", "[limits]") {
  // A name with escapes, a two-byte and a four-byte character.
  json g = data_only_graph();
  g["nodes"][0]["name"] = "data";
  std::string text = g.dump();
  std::string escaped = text;
  escaped.replace(escaped.find("\"data\""), 6, "\"\\u0064a\\/t\\u0061\"");
  CHECK(escaped != text);
  // "d" "a" "/" "t" "a" is not "data": the name decodes to "da/ta".
  auto loaded = cvm::load_graph(escaped);
  CHECK(loaded.nodes[0].name == "da/ta");
  std::string unicode = text;
  unicode.replace(unicode.find("\"data\""), 6, "\"\\u00e9\\ud83d\\ude00\\n\"");
  CHECK(cvm::load_graph(unicode).nodes[0].name == "\xC3\xA9\xF0\x9F\x98\x80\n");

  std::string message;
  CHECK(load_code(with_list("storage_id", "[-0]")) == 0);
  CHECK(load_code(with_list("storage_id", "[0.0]"), &message) == 2);
  CHECK(message.find("must be an integer") != std::string::npos);
  CHECK(load_code(with_list("storage_id", "[1e2]")) == 2);
  CHECK(load_code(with_list("storage_id", "[18446744073709551616]")) == 2);  // a float
  CHECK(load_code(with_list("storage_id", "[2147483648]"), &message) == 2);
  CHECK(message.find("out of range") != std::string::npos);
  CHECK(load_code(with_list("storage_id", "[-2147483649]")) == 2);
  CHECK(load_code(with_list("storage_id", "[\"0\"]")) == 2);
  CHECK(load_code(with_list("storage_id", "[0] ")) == 0);
  CHECK(load_code(with_list("storage_id", "[0] x")) == 2);  // trailing text: malformed
  // node_row_ptr wraps negative values modulo 2^32 as the reference's reader.
  json wrap = data_only_graph();
  wrap["node_row_ptr"] = {0, -4294967295LL};
  CHECK(load_code(wrap.dump()) == 0);
  wrap["node_row_ptr"] = {0, -4294967296LL};
  CHECK(load_code(wrap.dump()) == 2);
}

TEST_CASE("sparse storage ids cost nothing", "[limits]") {
  json g = data_only_graph();
  g["attrs"]["storage_id"][1] = {2147483647};
  long long peak = 0;
  std::unique_ptr<cvm::Model> model;
  peak = peak_bytes_of([&] { model = cvm::Model::load(g.dump(), cvm::save_params({}, {})); });
  CHECK(peak < (1 << 20));
  CHECK(model->storage_size() == 24);
  std::vector<uint8_t> in = {1, 2, 3, 4, 5, 6};
  CHECK(model->infer(in) == in);
}

TEST_CASE("params blob: counts and dimensions are checked before use", "[limits]") {
  auto code_of = [](const std::string& blob) {
    try {
      cvm::load_params(blob.data(), blob.size());
      return 0;
    } catch (const cvm::Error& e) {
      return e.code();
    }
  };
  auto le = [](uint64_t v, int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    return s;
  };
  const std::string list_magic = le(0xF7E58D4F05049CB7ULL, 8);
  const std::string array_magic = le(0xDD5E40F096B4A13FULL, 8);
  // A name count far beyond the bytes present: rejected without allocating.
  std::string huge_count = list_magic + le(0, 8) + le(uint64_t(1) << 60, 8);
  long long peak = peak_bytes_of([&] { CHECK(code_of(huge_count) == 1); });
  CHECK(peak < (1 << 16));
  // Two dimensions of 2^32: their product overflows int64 (undefined before
  // the check moved ahead of the multiplication).
  std::string overflow = list_magic + le(0, 8) + le(1, 8) + le(1, 8) + "w" + le(1, 8) +
                         array_magic + le(0, 8) + le(1, 4) + le(0, 4) + le(2, 4) +
                         std::string("\x00\x20\x01\x00", 4) + le(uint64_t(1) << 32, 8) +
                         le(uint64_t(1) << 32, 8) + le(0, 8);
  CHECK(code_of(overflow) == 2);
  // Many one-byte arrays: memory stays a small multiple of the blob.
  std::string many = list_magic + le(0, 8) + le(20000, 8);
  for (int i = 0; i < 20000; ++i) many += le(1, 8) + "w";
  many += le(20000, 8);
  for (int i = 0; i < 20000; ++i) {
    many += array_magic + le(0, 8) + le(1, 4) + le(0, 4) + le(1, 4) +
            std::string("\x00\x08\x01\x00", 4) + le(1, 8) + le(1, 8) + "\x05";
  }
  size_t arrays = 0;
  peak = peak_bytes_of([&] { arrays = cvm::load_params(many.data(), many.size()).size(); });
  CHECK(arrays == 20000);
  CHECK(peak <= 8 * static_cast<long long>(many.size()));
}

TEST_CASE("LoadOptions::max_memory_bytes bounds storage plus parameters", "[limits]") {
  const std::string graph = slurp(kLenet / "symbol.json");
  const std::string params = slurp(kLenet / "params.bin");
  const std::string input = slurp(kLenet / "input.bin");
  const std::string output = slurp(kLenet / "output.bin");
  auto plain = cvm::Model::load(graph, params);
  const uint64_t storage = static_cast<uint64_t>(plain->storage_size());
  uint64_t param_bytes = 0;
  for (const auto& a : cvm::load_params(params.data(), params.size())) {
    param_bytes += 4 * a.values.size();
  }
  REQUIRE(storage > 0);
  REQUIRE(param_bytes > 0);

  auto code_with = [&](size_t limit) {
    cvm::LoadOptions options;
    options.max_memory_bytes = limit;
    try {
      auto model = cvm::Model::load(graph, params, options);
      std::vector<uint8_t> in(input.begin(), input.end());
      auto out = model->infer(in);
      CHECK(std::string(out.begin(), out.end()) == output);
      return 0;
    } catch (const cvm::Error& e) {
      CHECK(std::string(e.what()).find("over the limit") != std::string::npos);
      return e.code();
    }
  };
  CHECK(code_with(0) == 0);  // no limit
  CHECK(code_with(storage + param_bytes) == 0);
  CHECK(code_with(storage + param_bytes - 1) == 1);
  CHECK(code_with(storage) == 1);
  CHECK(code_with(storage - 1) == 1);  // refused before the params are read
  CHECK(code_with(1) == 1);

  cvm::LoadOptions bad_device;
  bad_device.device_type = 1;
  try {
    cvm::Model::load(graph, params, bad_device);
    FAIL("device 1 loaded");
  } catch (const cvm::Error& e) {
    CHECK(e.code() == 2);
  }
}

TEST_CASE("the fuzz dictionary names every operator", "[limits]") {
  const std::string dict = slurp(fs::path(CVM_SOURCE_DIR) / "fuzz" / "cvm.dict");
  REQUIRE(!dict.empty());
  const auto names = cvm::op_registry().names();
  REQUIRE(names.size() >= 40);
  for (const std::string& name : names) {
    INFO(name);
    CHECK(dict.find("\"" + name + "\"") != std::string::npos);
  }
}
