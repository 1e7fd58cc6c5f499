#include <catch2/catch.hpp>

#include "op_test_util.h"

#include "base/attrs.h"
#include "base/error.h"

using namespace cvm;

namespace {

using cvm::test::error_code;
}  // namespace

TEST_CASE("int values follow the stream rules", "[attrs]") {
  int v = 0;
  CHECK(parse_int_value("12", &v));
  CHECK(v == 12);
  CHECK(parse_int_value(" -3 ", &v));
  CHECK(v == -3);
  CHECK_FALSE(parse_int_value("", &v));
  CHECK_FALSE(parse_int_value("7x", &v));
  CHECK_FALSE(parse_int_value("seven", &v));
  CHECK_FALSE(parse_int_value("4294967296", &v));
  CHECK_FALSE(parse_int_value("1.5", &v));
}

TEST_CASE("tuples accept the reference's forms", "[attrs]") {
  std::vector<int64_t> t;
  CHECK(parse_int64_tuple("(1, 2)", &t));
  CHECK(t == std::vector<int64_t>{1, 2});
  CHECK(parse_int64_tuple("[3,4,5]", &t));
  CHECK(t == std::vector<int64_t>{3, 4, 5});
  CHECK(parse_int64_tuple("(7,)", &t));
  CHECK(t == std::vector<int64_t>{7});
  CHECK(parse_int64_tuple("5", &t));
  CHECK(t == std::vector<int64_t>{5});
  CHECK(parse_int64_tuple("()", &t));
  CHECK(t.empty());
  CHECK(parse_int64_tuple("(1L, -2L)", &t));
  CHECK(t == std::vector<int64_t>{1, -2});
  CHECK_FALSE(parse_int64_tuple("(1, 2", &t));
  CHECK_FALSE(parse_int64_tuple("(1; 2)", &t));
  CHECK_FALSE(parse_int64_tuple("(1, 2) x", &t));
  CHECK_FALSE(parse_int64_tuple("", &t));
  CHECK_FALSE(parse_int64_tuple("abc", &t));
}

TEST_CASE("bools and optional ints", "[attrs]") {
  bool b = false;
  CHECK(parse_bool_value("True", &b));
  CHECK(b);
  CHECK(parse_bool_value("0", &b));
  CHECK_FALSE(b);
  CHECK_FALSE(parse_bool_value("yes", &b));
  CHECK_FALSE(parse_bool_value(" true", &b));
  std::optional<int> o = 3;
  CHECK(parse_optional_int("None", &o));
  CHECK_FALSE(o.has_value());
  CHECK(parse_optional_int("-2", &o));
  CHECK(o == -2);
  CHECK_FALSE(parse_optional_int("Nonesuch", &o));
}

TEST_CASE("AttrReader: defaults, required fields, unknown keys", "[attrs]") {
  AttrDict dict{{"axis", "2"}, {"keepdims", "True"}, {"padding", "(1, 1)"}};
  AttrReader r("op", dict);
  CHECK(r.integer("axis", 0) == 2);
  CHECK(r.boolean("keepdims", false));
  CHECK(r.shape("padding", {0, 0}) == std::vector<int64_t>{1, 1});
  CHECK(r.integer("missing", 9) == 9);
  CHECK_NOTHROW(r.finish());

  AttrReader unknown("op", dict);
  unknown.integer("axis", 0);
  CHECK(error_code([&] { unknown.finish(); }) == kErrorRuntime);

  AttrDict empty;
  AttrReader required("op", empty);
  CHECK(error_code([&] { required.integer("shift_bit"); }) == kErrorRuntime);

  AttrDict bad{{"shift_bit", "seven"}};
  AttrReader malformed("op", bad);
  CHECK(error_code([&] { malformed.integer("shift_bit"); }) == kErrorRuntime);

  AttrDict out_of_range{{"units", "0"}};
  AttrReader bounded("op", out_of_range);
  CHECK(error_code([&] { bounded.integer_in("units", std::nullopt, 1, std::nullopt); }) ==
        kErrorRuntime);
}
