// Small graphs written as JSON for the loader tests.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

namespace cvm {
namespace test {

// A graph whose only node is the input, which is also the output.
inline nlohmann::json data_only_graph(const std::vector<int64_t>& shape = {2, 3},
                                      int precision = 8) {
  using nlohmann::json;
  return json{{"nodes", {{{"op", "null"}, {"name", "data"}, {"inputs", json::array()}}}},
              {"arg_nodes", {0}},
              {"node_row_ptr", {0, 1}},
              {"heads", {{0, 0, 0}}},
              {"attrs",
               {{"dltype", {"list_str", {"int32"}}},
                {"storage_id", {"list_int", {0}}},
                {"shape", {"list_shape", {shape}}},
                {"precision", {"list_int", {precision}}},
                {"op_attrs", {"list_str", {"{}"}}}}},
              {"version", "cvm_1.0.0"}};
}

}  // namespace test
}  // namespace cvm
