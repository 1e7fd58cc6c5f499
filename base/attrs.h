// Operator attributes: the string dictionary of a node's op_attrs, read with
// the reference's parsing rules. Every parse failure, unknown key or missing
// required key is a runtime-class error (code 2), as in the reference.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace cvm {

using AttrDict = std::map<std::string, std::string>;

// Reads typed fields out of an AttrDict. Call one getter per field the
// operator declares, then finish(): keys that no getter asked for are errors.
class AttrReader {
 public:
  AttrReader(const std::string& op_name, const AttrDict& dict);

  // `int` fields ("12", " -3 "); required when no default is given.
  int integer(const std::string& key);
  int integer(const std::string& key, int default_value);
  // Like integer(), and the value must lie in [lo, hi] (dmlc set_range /
  // set_lower_bound semantics).
  int integer_in(const std::string& key, std::optional<int> default_value,
                 std::optional<int> lo, std::optional<int> hi);
  // `bool` fields: true/false/1/0, any case.
  bool boolean(const std::string& key, bool default_value);
  bool boolean(const std::string& key);
  // Tuples "(1, 2)", "[1,2]", "5", "()" of 64-bit or 32-bit integers.
  std::vector<int64_t> shape(const std::string& key);
  std::vector<int64_t> shape(const std::string& key,
                             const std::vector<int64_t>& default_value);
  std::vector<int> int_tuple(const std::string& key,
                             const std::vector<int>& default_value);
  std::vector<int> int_tuple(const std::string& key);
  // Strings are taken as they are.
  std::string string(const std::string& key, const std::string& default_value);
  std::string string(const std::string& key);
  // Optional int: "None" or an int.
  std::optional<int> optional_integer(const std::string& key,
                                      std::optional<int> default_value);
  // Enumerated int field: the value must be one of the names.
  int enumeration(const std::string& key,
                  const std::map<std::string, int>& names, int default_value);

  // Throws for any key of the dictionary no getter asked for.
  void finish();

  const std::string& op_name() const { return op_name_; }

 private:
  const std::string* find(const std::string& key);
  [[noreturn]] void fail_format(const std::string& key, const char* type,
                                const std::string& value) const;
  [[noreturn]] void fail_missing(const std::string& key, const char* type) const;

  std::string op_name_;
  const AttrDict& dict_;
  std::set<std::string> used_;
};

// Parsers with the reference's rules, exposed for tests. Each returns false
// on a malformed value.
bool parse_int_value(const std::string& text, int* out);
bool parse_int64_tuple(const std::string& text, std::vector<int64_t>* out);
bool parse_int_tuple(const std::string& text, std::vector<int>* out);
bool parse_bool_value(const std::string& text, bool* out);
bool parse_optional_int(const std::string& text, std::optional<int>* out);

}  // namespace cvm
