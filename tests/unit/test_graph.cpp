// Graph loading, verification and the executor, on graphs without operators
// (the operator families have their own tests).
#include <catch2/catch.hpp>

#include <cstring>
#include <nlohmann/json.hpp>

#include "cvm/c_api.h"
#include "cvm/model.hpp"
#include "graph/params.h"
#include "tests/unit/graph_json.h"

using nlohmann::json;

namespace {

using cvm::test::data_only_graph;

std::string empty_params() { return cvm::save_params({}, {}); }

int load_code(const json& graph, const std::string& params, int device = 0) {
  std::string text = graph.dump();
  void* net = nullptr;
  int rc = CVMAPILoadModel(text.data(), static_cast<int>(text.size()), params.data(),
                           static_cast<int>(params.size()), &net, device, 0);
  if (rc == 0) CVMAPIFreeModel(net);
  return rc;
}

}  // namespace

TEST_CASE("a data-only graph clamps its input to the input precision", "[graph]") {
  auto model = cvm::Model::load(data_only_graph({2, 3}, 4).dump(), empty_params());
  CHECK(model->input_length() == 6);
  CHECK(model->input_type_size() == 1);
  CHECK(model->output_type_size() == 1);
  CHECK(model->output_length() == 6);
  CHECK(model->storage_size() == 24);
  CHECK(model->gas() == 6 * 5);
  std::vector<uint8_t> in = {0, 7, 8, static_cast<uint8_t>(-7), static_cast<uint8_t>(-8),
                             static_cast<uint8_t>(-128)};
  std::vector<uint8_t> out = model->infer(in);
  std::vector<int8_t> got(out.begin(), out.end());
  CHECK(got == std::vector<int8_t>{0, 7, 7, -7, -7, -7});
}

TEST_CASE("precision above 8 means little-endian int32 bytes", "[graph]") {
  auto model = cvm::Model::load(data_only_graph({2}, 16).dump(), empty_params());
  CHECK(model->input_length() == 8);
  CHECK(model->input_type_size() == 4);
  std::vector<uint8_t> in = {0x39, 0x30, 0, 0, 0x00, 0x00, 0xFF, 0xFF};  // 12345, -65536
  std::vector<uint8_t> out = model->infer(in);
  // 12345 passes; -65536 clamps to -(2^15 - 1) = -32767 = 0xFFFF8001.
  CHECK(out == std::vector<uint8_t>{0x39, 0x30, 0, 0, 0x01, 0x80, 0xFF, 0xFF});
}

TEST_CASE("C API figures and errors", "[graph]") {
  std::string text = data_only_graph({4}, 8).dump();
  std::string params = empty_params();
  void* net = nullptr;
  REQUIRE(CVMAPILoadModel(text.data(), static_cast<int>(text.size()), params.data(),
                          static_cast<int>(params.size()), &net, 0, 0) == 0);
  unsigned long long v = 0;
  CHECK(CVMAPIGetInputLength(net, &v) == 0);
  CHECK(v == 4);
  CHECK(CVMAPIGetGasFromModel(net, &v) == 0);
  CHECK(v == 20);
  CHECK(CVMAPIGetGasFromGraphFile(text.c_str(), &v) == 0);
  CHECK(v == 20);
  char version[64] = {0};
  CHECK(CVMAPIGetVersion(net, version) == 0);
  CHECK(std::string(version) == "cvm_1.0.0");
  char in[4] = {1, 2, 3, 4}, out[4] = {0};
  CHECK(CVMAPIInference(net, in, 3, out) == ERROR_LOGIC);
  CHECK(std::strlen(CVMAPIGetLastError()) > 0);
  CHECK(CVMAPIInference(net, in, 4, out) == 0);
  CHECK(std::memcmp(in, out, 4) == 0);
  CHECK(CVMAPIInference(nullptr, in, 4, out) == ERROR_RUNTIME);
  CHECK(CVMAPIFreeModel(net) == 0);
}

TEST_CASE("graph structure errors keep the reference's classes", "[graph]") {
  const std::string params = empty_params();
  json g = data_only_graph({4}, 8);
  CHECK(load_code(g, params) == 0);
  CHECK(load_code(g, params, 2) == 0);        // the specification device
  CHECK(load_code(g, params, 1) == ERROR_RUNTIME);  // no GPU
  CHECK(load_code(g, params, 7) == ERROR_RUNTIME);
  CHECK(load_code(g, "") == ERROR_LOGIC);     // empty params

  json extra = g;
  extra["extra"] = 1;
  CHECK(load_code(extra, params) == ERROR_RUNTIME);
  json no_nodes = g;
  no_nodes.erase("nodes");
  CHECK(load_code(no_nodes, params) == ERROR_LOGIC);
  json no_heads = g;
  no_heads["heads"] = json::array();
  CHECK(load_code(no_heads, params) == ERROR_LOGIC);
  json version = g;
  version["version"] = "cvm_2.0.0";
  CHECK(load_code(version, params) == ERROR_RUNTIME);
  json v11 = g;
  v11["version"] = "cvm_1.1.0";
  v11["node_row_ptr"] = {0, 5};  // ignored in 1.1.0
  CHECK(load_code(v11, params) == 0);
  json row_ptr = g;
  row_ptr["node_row_ptr"] = {0, 2};
  CHECK(load_code(row_ptr, params) == ERROR_LOGIC);
  json renamed = g;
  renamed["nodes"][0]["name"] = "input";
  CHECK(load_code(renamed, params) == ERROR_RUNTIME);  // no `data`
  json head = g;
  head["heads"] = {{0, 1, 0}};
  CHECK(load_code(head, params) == ERROR_LOGIC);
  json node_key = g;
  node_key["nodes"][0]["color"] = "red";
  CHECK(load_code(node_key, params) == ERROR_RUNTIME);
  json entry = g;
  entry["heads"] = {{0}};
  CHECK(load_code(entry, params) == ERROR_LOGIC);
  json prec = g;
  prec["attrs"]["precision"] = {"list_int", {0}};
  CHECK(load_code(prec, params) == ERROR_LOGIC);
  json list_type = g;
  list_type["attrs"]["storage_id"] = {"list_str", {0}};
  CHECK(load_code(list_type, params) == ERROR_LOGIC);
  json not_object = json::array();
  CHECK(load_code(not_object, params) == ERROR_RUNTIME);
  CHECK(load_code(json("x"), params) == ERROR_RUNTIME);
}

TEST_CASE("parameters must name a variable and fit its shape and precision", "[graph]") {
  json g = data_only_graph({4}, 8);
  cvm::ParamArray p;
  p.name = "w";
  p.shape = {4};
  p.values = {1, 2, 3, 4};
  CHECK(load_code(g, cvm::save_params({p}, {true})) == ERROR_RUNTIME);  // unknown name

  // A variable "w" of precision 4 beside data.
  json two = g;
  two["nodes"].push_back({{"op", "null"}, {"name", "w"}, {"inputs", json::array()}});
  two["arg_nodes"] = {0, 1};
  two["node_row_ptr"] = {0, 1, 2};
  two["attrs"]["dltype"] = {"list_str", {"int32", "int32"}};
  two["attrs"]["storage_id"] = {"list_int", {0, 1}};
  two["attrs"]["shape"] = {"list_shape", {{4}, {4}}};
  two["attrs"]["precision"] = {"list_int", {8, 4}};
  two["attrs"]["op_attrs"] = {"list_str", {"{}", "{}"}};
  CHECK(load_code(two, cvm::save_params({p}, {true})) == 0);
  CHECK(load_code(two, empty_params()) == ERROR_LOGIC);  // w not loaded
  p.values = {1, 2, 3, 8};
  CHECK(load_code(two, cvm::save_params({p}, {true})) == ERROR_LOGIC);  // 8 > 2^3 - 1
  p.values = {1, 2, 3, 4};
  p.shape = {2, 2};
  CHECK(load_code(two, cvm::save_params({p}, {true})) == ERROR_LOGIC);  // shape
}

namespace {
// data -> one operator -> output, with the operator's attributes.
json one_op_graph(const std::string& func_name, const std::string& op_attrs, int out_sid = 1) {
  return json{
      {"nodes",
       {{{"op", "null"}, {"name", "data"}, {"inputs", json::array()}},
        {{"op", "cvm_op"},
         {"name", func_name + "_0"},
         {"attrs", {{"func_name", func_name}, {"num_inputs", "1"}, {"num_outputs", "1"}}},
         {"inputs", {{0, 0, 0}}}}}},
      {"arg_nodes", {0}},
      {"node_row_ptr", {0, 1, 2}},
      {"heads", {{1, 0, 0}}},
      {"attrs",
       {{"dltype", {"list_str", {"int32", "int32"}}},
        {"storage_id", {"list_int", {0, out_sid}}},
        {"shape", {"list_shape", {{4}, {4}}}},
        {"precision", {"list_int", {8, -1}}},
        {"op_attrs", {"list_str", {"{}", op_attrs}}}}},
      {"version", "cvm_1.0.0"}};
}
}  // namespace

TEST_CASE("operator lookup, aliases, hidden attribute keys, in-place storage", "[graph]") {
  const std::string params = empty_params();
  CHECK(load_code(one_op_graph("relu", "{}"), params) == 0);
  CHECK(load_code(one_op_graph("relu_12", "{}"), params) == 0);  // "_<digits>" stripped
  CHECK(load_code(one_op_graph("conv3d", "{}"), params) == ERROR_RUNTIME);
  // An alias passes every check, then has no kernel: code 1.
  CHECK(load_code(one_op_graph("nn.relu", "{}"), params) == ERROR_LOGIC);
  // The generic node operator name parses, then has no shape rule: code 2.
  CHECK(load_code(one_op_graph("cvm_op", "{\"func_name\": \"relu\"}"), params) == ERROR_RUNTIME);
  CHECK(load_code(one_op_graph("cvm_op", "{\"func_name\": \"relu\", \"num_inputs\": \"2\"}"),
                  params) == ERROR_LOGIC);  // input count
  CHECK(load_code(one_op_graph("relu", "{\"a\": \"1\"}"), params) == ERROR_LOGIC);
  const std::string clip = "{\"a_min\": \"-3\", \"a_max\": \"3\"";
  CHECK(load_code(one_op_graph("clip", clip + "}"), params) == 0);
  CHECK(load_code(one_op_graph("clip", clip + ", \"__layout__\": \"x\"}"), params) == 0);
  CHECK(load_code(one_op_graph("clip", clip + ", \"bogus\": \"x\"}"), params) == ERROR_RUNTIME);
  CHECK(load_code(one_op_graph("clip", clip + ", \"a_max\": 3}"), params) == ERROR_RUNTIME);
  CHECK(load_code(one_op_graph("clip", "not json"), params) == ERROR_RUNTIME);
  // relu may run in place; negative may not (the reference misspells it).
  CHECK(load_code(one_op_graph("relu", "{}", 0), params) == 0);
  CHECK(load_code(one_op_graph("negative", "{}", 0), params) == ERROR_LOGIC);
  CHECK(load_code(one_op_graph("negative", "{}", 1), params) == 0);

  // In place, the kernel reads and writes the same memory.
  auto model = cvm::Model::load(one_op_graph("relu", "{}", 0).dump(), params);
  std::vector<uint8_t> out = model->infer({static_cast<uint8_t>(-5), 3, 0, static_cast<uint8_t>(-1)});
  CHECK(out == std::vector<uint8_t>{0, 3, 0, 0});
}
