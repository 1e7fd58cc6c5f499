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

  // The copies: transpose and strided_slice hand over their attributes as
  // listed; the flat copies only their kind.
  k = make_op("transpose", {{"axes", "(0, -1, 1)"}})->kernel_info();
  CHECK(k.kind == KernelInfo::Kind::kTranspose);
  CHECK(k.axes == std::vector<int64_t>{0, -1, 1});
  CHECK(make_op("transpose")->kernel_info().axes.empty());
  k = make_op("strided_slice", {{"begin", "(1, -2)"}, {"end", "(9,)"}, {"stride", "(-1, 2)"}})
          ->kernel_info();
  CHECK(k.kind == KernelInfo::Kind::kStridedSlice);
  CHECK(k.slice_begin == std::vector<int64_t>{1, -2});
  CHECK(k.slice_end == std::vector<int64_t>{9});
  CHECK(k.slice_stride == std::vector<int64_t>{-1, 2});
  for (const std::string name : {"reshape", "flatten", "squeeze", "expand_dims"}) {
    INFO(name);
    CHECK(make_op(name, attrs_for(name))->kernel_info().kind == KernelInfo::Kind::kCopy);
  }
  CHECK(make_op("repeat", {{"repeats", "2"}})->kernel_info().kind == KernelInfo::Kind::kNone);
}

TEST_CASE("transpose and strided_slice resolve their attributes for the planner", "[facts]") {
  // Output dim j walks input dim axes[j]: negative axes from the end, none
  // reversed, a count that does not match the rank none at all.
  CHECK(transpose_axes({0, -1, 1}, 3) == std::vector<int64_t>{0, 2, 1});
  CHECK(transpose_axes({}, 4) == std::vector<int64_t>{3, 2, 1, 0});
  CHECK(transpose_axes({1, 0}, 3).empty());

  // Per axis of (5, 6, 7): begin from the end and clamped (to [0, d] going
  // forwards, [-1, d - 1] backwards), missing entries the whole axis.
  const std::vector<AxisSlice> a =
      strided_slice_axes({5, 6, 7}, {-2, 10}, {100, -100}, {2, -3}, true);
  REQUIRE(a.size() == 3);
  CHECK(a[0].begin == 3);
  CHECK(a[0].stride == 2);
  CHECK(a[0].size == 1);
  CHECK(a[1].begin == 5);
  CHECK(a[1].stride == -3);
  CHECK(a[1].size == 2);  // 5, 2
  CHECK(a[2].begin == 0);
  CHECK(a[2].stride == 1);
  CHECK(a[2].size == 7);
  // Without the checks, begin and stride only.
  const std::vector<AxisSlice> b = strided_slice_axes({5}, {-9}, {}, {-1}, false);
  CHECK(b[0].begin == -1);
  CHECK(b[0].stride == -1);
  // The shape rule's verification: an empty range is an invalid model.
  CHECK(error_code([] { strided_slice_axes({5}, {3}, {1}, {1}, true); }) == 1);
}

}  // namespace
}  // namespace test
}  // namespace cvm
