// What operators tell the planner about themselves (ops/op.h): which ones
// write their whole output, and the named fields of their kernel info.
#include <set>
#include <string>

#include "op_test_util.h"

namespace cvm {
namespace test {
namespace {

// Attributes that make each operator's factory accept it.
AttrDict attrs_for(const std::string& name) {
  if (name == "conv2d") return {{"channels", "4"}, {"kernel_size", "(3, 3)"}};
  if (name == "dense") return {{"units", "4"}};
  if (name == "max_pool2d") return {{"pool_size", "(3, 2)"}, {"strides", "(2, 1)"}};
  if (name == "upsampling") return {{"scale", "2"}};
  if (name == "clip") return {{"a_min", "-5"}, {"a_max", "7"}};
  if (name == "cvm_clip") return {{"precision", "8"}};
  if (name == "cvm_right_shift" || name == "cvm_left_shift") {
    return {{"precision", "8"}, {"shift_bit", "3"}};
  }
  if (name == "reshape") return {{"shape", "(4, 4)"}};
  if (name == "expand_dims") return {{"axis", "0"}};
  if (name == "concatenate") return {{"axis", "-1"}};
  if (name == "sum" || name == "max") return {{"axis", "(1,)"}, {"exclude", "true"}};
  return {};
}

TEST_CASE("operators that write every element of their output say so", "[facts]") {
  // The operators whose writes the storage timeline may count as covering
  // their whole output.
  const std::set<std::string> whole = {
      "conv2d", "dense", "max_pool2d", "upsampling", "relu", "abs", "negative",
      "cvm_precision", "clip", "cvm_clip", "cvm_right_shift", "cvm_left_shift",
      "elemwise_add", "elemwise_sub", "broadcast_add", "broadcast_sub", "broadcast_mul",
      "broadcast_max", "broadcast_div", "broadcast_greater", "flatten", "reshape",
      "concatenate", "sum", "max"};
  for (const std::string& name : whole) {
    INFO(name);
    CHECK(make_op(name, attrs_for(name))->writes_whole_output());
  }
  for (const std::string name : {"expand_dims", "squeeze", "transpose"}) {
    INFO(name);
    CHECK_FALSE(make_op(name, attrs_for(name))->writes_whole_output());
  }
}

TEST_CASE("kernel info carries each kind's fields by name", "[facts]") {
  KernelInfo k = make_op("cvm_right_shift", attrs_for("cvm_right_shift"))->kernel_info();
  CHECK(k.kind == KernelInfo::Kind::kRightShift);
  CHECK(k.precision == 8);
  CHECK(k.shift_bit == 3);

  k = make_op("cvm_clip", attrs_for("cvm_clip"))->kernel_info();
  CHECK(k.kind == KernelInfo::Kind::kClamp);
  CHECK(k.clamp_lo == -127);
  CHECK(k.clamp_hi == 127);

  k = make_op("clip", attrs_for("clip"))->kernel_info();
  CHECK(k.clamp_lo == -5);
  CHECK(k.clamp_hi == 7);

  k = make_op("broadcast_sub")->kernel_info();
  CHECK(k.kind == KernelInfo::Kind::kBinary);
  CHECK(k.binary == KernelInfo::Binary::kSub);
  CHECK(k.broadcast);
  k = make_op("elemwise_add")->kernel_info();
  CHECK(k.binary == KernelInfo::Binary::kAdd);
  CHECK_FALSE(k.broadcast);
  CHECK(make_op("broadcast_div")->kernel_info().kind == KernelInfo::Kind::kNone);

  k = make_op("max_pool2d", attrs_for("max_pool2d"))->kernel_info();
  CHECK(k.pool_size[0] == 3);
  CHECK(k.pool_size[1] == 2);
  CHECK(k.strides[0] == 2);

  k = make_op("max", attrs_for("max"))->kernel_info();
  CHECK(k.kind == KernelInfo::Kind::kReduce);
  CHECK(k.reduce_max);
  CHECK(k.exclude_axes);
  CHECK_FALSE(make_op("sum", attrs_for("sum"))->kernel_info().reduce_max);

  CHECK(make_op("concatenate", attrs_for("concatenate"))->kernel_info().axis == -1);
  CHECK(make_op("upsampling", attrs_for("upsampling"))->kernel_info().scale == 2);
}

}  // namespace
}  // namespace test
}  // namespace cvm
