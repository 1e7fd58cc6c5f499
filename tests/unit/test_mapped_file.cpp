// runtime/mapped_file.h: a params file mapped (or read), whose pages the load
// gives back once each weight is packed; and models loaded from a mapped
// file against the same bytes handed over in memory.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "base/error.h"
#include "base/shape.h"
#include "cvm/model.hpp"
#include "runtime/mapped_file.h"
#include "runtime/param_store.h"
#include "tests/file_util.h"

namespace cvm {
namespace {

namespace fs = std::filesystem;

fs::path scratch_file(const std::string& name, const std::string& bytes) {
  const fs::path p = fs::temp_directory_path() /
                     ("cvm_mapped_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}

// The resident kilobytes of the mapping that starts at `start`, from
// /proc/self/smaps (-1 where the system has no such file).
long resident_kb(const void* start) {
  std::ifstream in("/proc/self/smaps");
  if (!in) return -1;
  char head[32];
  std::snprintf(head, sizeof(head), "%lx-", static_cast<unsigned long>(reinterpret_cast<uintptr_t>(start)));
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.rfind(head, 0) == 0) {
      inside = true;
    } else if (inside && line.rfind("Rss:", 0) == 0) {
      return std::stol(line.substr(4));
    }
  }
  return -1;
}

TEST_CASE("mapped file: the file's bytes, its pages given back and read again", "[params]") {
  std::mt19937 rng(77);
  std::string bytes(3 * 1024 * 1024 + 123, '\0');
  for (char& c : bytes) c = static_cast<char>(rng());
  const fs::path p = scratch_file("bytes", bytes);
  {
    const MappedFile f(p.string(), bytes.size());
    REQUIRE(f.size() == bytes.size());
    CHECK(std::string(f.data(), f.size()) == bytes);
#if defined(__linux__)
    CHECK(f.mapped());
    // (qemu-user shows the guest's mappings with no resident figures.)
    const long all = resident_kb(f.data());
    if (all > 0) {
      // Every page read: resident. Given back: none left, whatever the
      // page cache holds.
      CHECK(all * 1024 >= static_cast<long>(bytes.size()) - 4096);
      f.release(f.data(), f.size());
      CHECK(resident_kb(f.data()) == 0);
      // Read again: the same bytes, resident again.
      CHECK(std::string(f.data(), f.size()) == bytes);
      CHECK(resident_kb(f.data()) * 1024 >= static_cast<long>(bytes.size()) - 4096);
      // A range inside: at least its pages go (outward to whole pages; a
      // huge page of the page cache mapped whole goes whole).
      f.release(f.data() + 1000000, 1000000);
      const long left = resident_kb(f.data());
      CHECK(left * 1024 <= static_cast<long>(bytes.size() - 1000000 + 4096));
      // Out of the file: nothing happens.
      int outside = 0;
      f.release(&outside, sizeof(outside));
      CHECK(resident_kb(f.data()) == left);
    }
#endif
    CHECK(std::string(f.data(), f.size()) == bytes);
  }
  // Over the limit, missing: code 1 before anything is read.
  try {
    MappedFile f(p.string(), bytes.size() - 1);
    FAIL("a file over the limit was accepted");
  } catch (const Error& e) {
    CHECK(e.code() == kErrorLogic);
    CHECK(std::string(e.what()).find("more than the") != std::string::npos);
  }
  fs::remove(p);
  try {
    MappedFile f(p.string(), 100);
    FAIL("a missing file was accepted");
  } catch (const Error& e) {
    CHECK(e.code() == kErrorLogic);
    CHECK(std::string(e.what()).find("cannot open") != std::string::npos);
  }
  // Empty: no bytes (the loader then says the blob is empty).
  const fs::path empty = scratch_file("empty", "");
  {
    const MappedFile f(empty.string(), 100);
    CHECK(f.size() == 0);
  }
  fs::remove(empty);
}

TEST_CASE("param store: releases each parameter's blob bytes once the load is done with them",
          "[params]") {
  Graph g;
  g.nodes.resize(3);
  g.node_row_ptr = {0, 1, 2, 3};
  g.pool = {0, 1, 2};
  const uint8_t a[] = {1, 2, 3};
  const uint8_t b[] = {4, 5, 6, 7, 8, 9, 10, 11};
  ParamStore store;
  std::vector<std::pair<const void*, size_t>> released;
  store.set_release([&](const void* p, size_t n) { released.emplace_back(p, n); });
  store.add({1, {}, a, 1, 3});
  store.add({2, {}, b, 4, 2});
  ParamView v;
  REQUIRE(store.find(2, &v));
  CHECK(released.empty());  // found, maybe not yet packed
  store.release_found();
  REQUIRE(released.size() == 1);
  CHECK(released[0] == std::make_pair(static_cast<const void*>(b), size_t(8)));
  store.release_found();
  CHECK(released.size() == 1);  // nothing found since
  // Pool 2 unused: its parameter is dropped and released; node 1's is
  // widened, then released; after that nothing refers to the blob.
  store.keep_used(g, {false, false, true});
  REQUIRE(released.size() == 3);
  CHECK(released[1].first == static_cast<const void*>(b));
  CHECK(released[2] == std::make_pair(static_cast<const void*>(a), size_t(3)));
  REQUIRE(store.find(1, &v));
  CHECK(v[2] == 3);
  store.release_found();
  CHECK(released.size() == 3);
}

// Each model loaded from its mapped params file (load_files) and from the
// same bytes in memory (load): the same outputs, on the fast plan and on the
// specification build.
TEST_CASE("a model loaded from a mapped params file runs as one loaded from memory",
          "[params][load]") {
  std::vector<fs::path> dirs;
  const fs::path examples = fs::path(CVM_SOURCE_DIR) / "examples" / "models";
  dirs.push_back(examples / "cifar_resnet20");
  dirs.push_back(examples / "fashion_mnist");
  const fs::path shared = fs::path(CVM_SHARED_MODELS_DIR) / "resnet18_v1";
  if (fs::exists(shared / "params.bin")) dirs.push_back(shared);
  for (const fs::path& dir : dirs) {
    const std::string symbol = test::slurp(dir / "symbol.json");
    const std::string params = test::slurp(dir / "params.bin");
    REQUIRE(!params.empty());
    for (int device : {0, 2}) {
      INFO(dir.string() << " device " << device);
      LoadOptions options;
      options.device_type = device;
      auto mapped = Model::load_files((dir / "symbol.json").string(),
                                      (dir / "params.bin").string(), options);
      auto read = Model::load(symbol, params, options);
      std::vector<int32_t> input(static_cast<size_t>(shape_size(read->input().shape)));
      std::mt19937 rng(5);
      const int32_t bound = (1 << (read->input().precision - 1)) - 1;
      for (int32_t& x : input) x = static_cast<int32_t>(rng() % (2 * bound + 1)) - bound;
      const auto want = read->run(input);
      const auto got = mapped->run(input);
      REQUIRE(got.size() == want.size());
      for (size_t k = 0; k < want.size(); ++k) CHECK(got[k] == want[k]);
      CHECK(mapped->gas() == read->gas());
    }
  }
}

}  // namespace
}  // namespace cvm
