// runtime/param_store.h: the parameters the model hands to the planner.
#include <catch2/catch.hpp>

#include "runtime/param_store.h"

namespace cvm {
namespace {

TEST_CASE("param store: the last parameter of a node counts, raw bytes read little-endian",
          "[params]") {
  // Graph: node 0 `data`, node 1 and 2 parameters, each its own pool.
  Graph g;
  g.nodes.resize(3);
  g.node_row_ptr = {0, 1, 2, 3};
  g.pool = {0, 1, 2};
  const uint8_t bytes8[] = {0xff, 0x02};                    // -1, 2 as int8
  const uint8_t bytes32[] = {0x01, 0x01, 0x00, 0x00, 0xfe, 0xff, 0xff, 0xff};  // 257, -2
  ParamStore store;
  store.add({1, {7, 8}, nullptr, 4, 2});
  store.add({1, {}, bytes8, 1, 2});  // replaces the first for node 1
  store.add({2, {}, bytes32, 4, 2});

  ParamView v;
  CHECK_FALSE(store.find(0, &v));
  REQUIRE(store.find(1, &v));
  CHECK(v.values == nullptr);
  CHECK(v[0] == -1);
  CHECK(v[1] == 2);
  REQUIRE(store.find(2, &v));
  CHECK(v[0] == 257);
  CHECK(v[1] == -2);

  // Pool 2 unused: node 2's parameter goes; node 1's are widened to int32.
  store.keep_used(g, {false, false, true});
  CHECK_FALSE(store.find(2, &v));
  REQUIRE(store.find(1, &v));
  REQUIRE(v.values != nullptr);
  CHECK(v.raw == nullptr);
  CHECK(v[0] == -1);

  // Written in order: node 1's entry ends with its last parameter's values.
  int32_t e0[2] = {0, 0}, e1[2] = {0, 0}, e2[2] = {5, 5};
  std::vector<Tensor> entries = {{e0, {2}}, {e1, {2}}, {e2, {2}}};
  store.write_into(g, entries);
  CHECK(e1[0] == -1);
  CHECK(e1[1] == 2);
  CHECK(e2[0] == 5);  // dropped, never written
  CHECK_FALSE(store.find(1, &v));
}

}  // namespace
}  // namespace cvm
