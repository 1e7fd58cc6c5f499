// Byte order: the params blob, the C API's input and output bytes and .npy
// files are little-endian on every host. Every expectation here is spelled
// out byte by byte, so a host-order read or write anywhere on these paths
// fails on a big-endian host (s390x under qemu: tools/cross_check.sh) while
// the same test passes on a little-endian one.
#include <catch2/catch.hpp>

#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cvm/c_api.h"
#include "cvm/model.hpp"
#include "graph/params.h"
#include "runtime/npy.h"

using nlohmann::json;
using Bytes = std::vector<uint8_t>;

namespace {

std::string str(const Bytes& b) { return std::string(b.begin(), b.end()); }

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

const Bytes kZero8 = {0, 0, 0, 0, 0, 0, 0, 0};
const Bytes kListMagic = {0xB7, 0x9C, 0x04, 0x05, 0x4F, 0x8D, 0xE5, 0xF7};
const Bytes kArrayMagic = {0x3F, 0xA1, 0xB4, 0x96, 0xF0, 0x40, 0x5E, 0xDD};

// One int32 array "b" of shape (2,) holding 329223 (0x00050607) and
// -395016 (0xFFF9F8F8), as the reference's NDArray list format on x86.
Bytes blob_b() {
  return cat({kListMagic, kZero8,
              {1, 0, 0, 0, 0, 0, 0, 0},            // one name
              {1, 0, 0, 0, 0, 0, 0, 0}, {'b'},     // "b"
              {1, 0, 0, 0, 0, 0, 0, 0},            // one array
              kArrayMagic, kZero8,
              {1, 0, 0, 0}, {0, 0, 0, 0},          // device CPU, id 0
              {1, 0, 0, 0},                        // ndim 1
              {0, 32, 1, 0},                       // int, 32 bits, 1 lane
              {2, 0, 0, 0, 0, 0, 0, 0},            // shape (2,)
              {8, 0, 0, 0, 0, 0, 0, 0},            // 8 bytes
              {0x07, 0x06, 0x05, 0x00, 0xF8, 0xF8, 0xF9, 0xFF}});
}

// data (2,), precision 20, plus the parameter b: elemwise_add, precision 21,
// so input and output are both int32 bytes.
std::string add_graph() {
  json g = {
      {"nodes",
       {{{"op", "null"}, {"name", "data"}, {"inputs", json::array()}},
        {{"op", "null"}, {"name", "b"}, {"inputs", json::array()}},
        {{"op", "cvm_op"},
         {"name", "add"},
         {"attrs",
          {{"func_name", "elemwise_add"}, {"num_inputs", "2"}, {"num_outputs", "1"},
           {"flatten_data", "0"}}},
         {"inputs", {{0, 0, 0}, {1, 0, 0}}}}}},
      {"arg_nodes", {0, 1}},
      {"node_row_ptr", {0, 1, 2, 3}},
      {"heads", {{2, 0, 0}}},
      {"attrs",
       {{"dltype", {"list_str", {"int32", "int32", "int32"}}},
        {"storage_id", {"list_int", {0, 1, 2}}},
        {"shape", {"list_shape", {{2}, {2}, {2}}}},
        {"precision", {"list_int", {20, 20, -1}}},
        {"op_attrs", {"list_str", {"{}", "{}", "{}"}}}}},
      {"version", "cvm_1.0.0"}};
  return g.dump();
}

bool host_is_little_endian() {
  const uint32_t one = 1;
  uint8_t first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

}  // namespace

TEST_CASE("endian: the params blob is read little-endian", "[endian]") {
  INFO("host byte order: " << (host_is_little_endian() ? "little" : "big") << "-endian");
  const std::string blob = str(blob_b());
  auto arrays = cvm::load_params(blob.data(), blob.size());
  REQUIRE(arrays.size() == 1);
  CHECK(arrays[0].name == "b");
  CHECK(arrays[0].device_type == 1);
  CHECK(arrays[0].dtype_bits == 32);
  CHECK(arrays[0].dtype_lanes == 1);
  CHECK(arrays[0].shape == cvm::Shape{2});
  CHECK(arrays[0].values == std::vector<int32_t>{329223, -395016});

  // Multi-byte dimensions and int8 data: shape (3, 257).
  Bytes dims = {3, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x01, 0, 0, 0, 0, 0, 0};
  Bytes data(771);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7);
  Bytes blob2 = cat({kListMagic, kZero8, {1, 0, 0, 0, 0, 0, 0, 0}, {1, 0, 0, 0, 0, 0, 0, 0},
                     {'w'}, {1, 0, 0, 0, 0, 0, 0, 0}, kArrayMagic, kZero8, {1, 0, 0, 0},
                     {0, 0, 0, 0}, {2, 0, 0, 0}, {0, 8, 1, 0}, dims,
                     {0x03, 0x03, 0, 0, 0, 0, 0, 0}, data});
  const std::string s2 = str(blob2);
  arrays = cvm::load_params(s2.data(), s2.size());
  REQUIRE(arrays.size() == 1);
  CHECK(arrays[0].shape == cvm::Shape{3, 257});
  REQUIRE(arrays[0].values.size() == 771);
  CHECK(arrays[0].values[1] == 7);
  CHECK(arrays[0].values[19] == static_cast<int8_t>(133));
  CHECK(arrays[0].values[770] == static_cast<int8_t>(770 * 7 % 256));
}

TEST_CASE("endian: the params blob is written little-endian", "[endian]") {
  cvm::ParamArray b;
  b.name = "b";
  b.shape = {2};
  b.values = {329223, -395016};
  b.device_type = 1;
  CHECK(cvm::save_params({b}, {false}) == str(blob_b()));
}

TEST_CASE("endian: C API input and output bytes are little-endian int32", "[endian]") {
  const std::string graph = add_graph();
  const std::string params = str(blob_b());
  void* net = nullptr;
  REQUIRE(CVMAPILoadModel(graph.data(), static_cast<int>(graph.size()), params.data(),
                          static_cast<int>(params.size()), &net, 0, 0) == 0);
  unsigned long long in_size = 0, out_size = 0;
  CHECK(CVMAPIGetInputTypeSize(net, &in_size) == 0);
  CHECK(CVMAPIGetOutputTypeSize(net, &out_size) == 0);
  CHECK(in_size == 4);
  CHECK(out_size == 4);
  // 66051 (0x00010203) and -2; plus b: 395274 (0x0006080A), -395018 (0xFFF9F8F6).
  Bytes in = {0x03, 0x02, 0x01, 0x00, 0xFE, 0xFF, 0xFF, 0xFF};
  Bytes out(8, 0x5A);
  REQUIRE(CVMAPIInference(net, reinterpret_cast<char*>(in.data()), 8,
                          reinterpret_cast<char*>(out.data())) == 0);
  CHECK(out == Bytes{0x0A, 0x08, 0x06, 0x00, 0xF6, 0xF8, 0xF9, 0xFF});
  CHECK(CVMAPIFreeModel(net) == 0);

  // The C++ API's raw heads are host integers of the same values.
  auto model = cvm::Model::load(graph, params);
  CHECK(model->run({66051, -2}) == std::vector<std::vector<int32_t>>{{395274, -395018}});
  CHECK(model->infer(in) == Bytes{0x0A, 0x08, 0x06, 0x00, 0xF6, 0xF8, 0xF9, 0xFF});
}

TEST_CASE("endian: .npy files are read and written by their declared order", "[endian]") {
  auto npy = [](const std::string& descr, const std::string& shape, const Bytes& data) {
    std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape +
                       ", }\n";
    Bytes head = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<uint8_t>(dict.size()), 0};
    return str(head) + dict + str(data);
  };
  using V = std::vector<int64_t>;
  CHECK(cvm::parse_npy(npy("<i4", "(2,)", {0x03, 0x02, 0x01, 0x00, 0xFE, 0xFF, 0xFF, 0xFF}))
            .values == V{66051, -2});
  CHECK(cvm::parse_npy(npy(">i4", "(2,)", {0x00, 0x01, 0x02, 0x03, 0xFF, 0xFF, 0xFF, 0xFE}))
            .values == V{66051, -2});
  CHECK(cvm::parse_npy(npy("<i2", "(2,)", {0x02, 0x01, 0xFE, 0xFF})).values == V{258, -2});
  CHECK(cvm::parse_npy(npy(">u2", "(1,)", {0x01, 0x02})).values == V{258});
  CHECK(cvm::parse_npy(npy("<i8", "(1,)", {0x00, 0x00, 0x00, 0x00, 0x01, 0, 0, 0})).values ==
        V{int64_t(1) << 32});
  CHECK(cvm::parse_npy(npy("<f4", "(2,)", {0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0}))
            .values == V{1, -2});
  CHECK(cvm::parse_npy(npy(">f8", "(1,)", {0x40, 0x59, 0, 0, 0, 0, 0, 0})).values == V{100});

  const std::string made = cvm::make_npy({2}, {66051, -2}, false);
  REQUIRE(made.size() >= 18);
  // Version 1.0; the header length is a little-endian uint16.
  const size_t header_len = uint8_t(made[8]) | size_t(uint8_t(made[9])) << 8;
  CHECK(made.size() == 10 + header_len + 8);
  CHECK(made.substr(made.size() - 8) ==
        str({0x03, 0x02, 0x01, 0x00, 0xFE, 0xFF, 0xFF, 0xFF}));
  CHECK(cvm::parse_npy(made).values == V{66051, -2});
}
