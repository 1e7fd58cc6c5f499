#include "base/attrs.h"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "base/error.h"
#include "base/shape.h"

namespace cvm {

namespace {

// After a value has been read, only white space may follow.
bool only_space_left(std::istream& is) {
  if (is.fail()) return false;
  while (true) {
    int ch = is.get();
    if (ch == EOF) return true;
    if (!std::isspace(ch)) return false;
  }
}

// The reference's tuple syntax: a bare number, or "(a, b, ...)" / "[...]",
// with an optional trailing comma and an optional 'L' after each integer.
template <typename T>
bool read_tuple(std::istream& is, std::vector<T>* out) {
  out->clear();
  while (true) {
    int ch = is.peek();
    if ((ch != EOF && std::isdigit(ch)) || ch == '-') {
      T value;
      if (is >> value) out->push_back(value);
      return !is.fail();
    }
    ch = is.get();
    if (ch == '(' || ch == '[') break;
    if (ch == EOF || !std::isspace(ch)) return false;
  }
  while (is.peek() != EOF && std::isspace(is.peek())) is.get();
  if (is.peek() == ')' || is.peek() == ']') {
    is.get();
    return true;
  }
  T value;
  while (is >> value) {
    out->push_back(value);
    int ch;
    do {
      ch = is.get();
    } while (ch != EOF && std::isspace(ch));
    if (ch == 'L') ch = is.get();
    if (ch == ',') {
      while (is.peek() != EOF && std::isspace(is.peek())) is.get();
      if (is.peek() == ')' || is.peek() == ']') {
        is.get();
        return true;
      }
    } else if (ch == ')' || ch == ']') {
      return true;
    } else {
      return false;
    }
  }
  return false;
}

template <typename T>
bool parse_tuple(const std::string& text, std::vector<T>* out) {
  std::istringstream is(text);
  if (!read_tuple(is, out)) return false;
  return only_space_left(is);
}

}  // namespace

bool parse_int_value(const std::string& text, int* out) {
  std::istringstream is(text);
  is >> *out;
  return only_space_left(is);
}

bool parse_int64_tuple(const std::string& text, std::vector<int64_t>* out) {
  return parse_tuple(text, out);
}

bool parse_int_tuple(const std::string& text, std::vector<int>* out) {
  return parse_tuple(text, out);
}

bool parse_bool_value(const std::string& text, bool* out) {
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (lower == "true" || lower == "1") {
    *out = true;
  } else if (lower == "false" || lower == "0") {
    *out = false;
  } else {
    return false;
  }
  return true;
}

bool parse_optional_int(const std::string& text, std::optional<int>* out) {
  if (text.compare(0, 4, "None") == 0) {
    *out = std::nullopt;
    std::istringstream rest(text.substr(4));
    return only_space_left(rest);
  }
  std::istringstream is(text);
  int value;
  is >> value;
  if (is.fail()) return false;
  if (!is.eof() && is.peek() == 'L') is.get();
  *out = value;
  return only_space_left(is);
}

AttrReader::AttrReader(const std::string& op_name, const AttrDict& dict)
    : op_name_(op_name), dict_(dict) {}

const std::string* AttrReader::find(const std::string& key) {
  used_.insert(key);
  auto it = dict_.find(key);
  return it == dict_.end() ? nullptr : &it->second;
}

void AttrReader::fail_format(const std::string& key, const char* type,
                             const std::string& value) const {
  throw Error(kErrorRuntime, "Invalid Parameter format for " + key + " expect " +
                                 type + " but value='" + value +
                                 "', in operator " + op_name_);
}

void AttrReader::fail_missing(const std::string& key, const char* type) const {
  throw Error(kErrorRuntime, "Required parameter " + key + " of " + type +
                                 " is not presented, in operator " + op_name_);
}

int AttrReader::integer(const std::string& key) {
  return integer_in(key, std::nullopt, std::nullopt, std::nullopt);
}

int AttrReader::integer(const std::string& key, int default_value) {
  return integer_in(key, default_value, std::nullopt, std::nullopt);
}

int AttrReader::integer_in(const std::string& key,
                           std::optional<int> default_value,
                           std::optional<int> lo, std::optional<int> hi) {
  const std::string* text = find(key);
  if (!text) {
    if (!default_value) fail_missing(key, "int");
    return *default_value;
  }
  int value = 0;
  if (!parse_int_value(*text, &value)) fail_format(key, "int", *text);
  CVM_CHECK((!lo || value >= *lo) && (!hi || value <= *hi))
      << "value " << value << " for Parameter " << key
      << " out of its bound, in operator " << op_name_;
  return value;
}

bool AttrReader::boolean(const std::string& key, bool default_value) {
  const std::string* text = find(key);
  if (!text) return default_value;
  bool value = false;
  if (!parse_bool_value(*text, &value)) fail_format(key, "boolean", *text);
  return value;
}

bool AttrReader::boolean(const std::string& key) {
  const std::string* text = find(key);
  if (!text) fail_missing(key, "boolean");
  bool value = false;
  if (!parse_bool_value(*text, &value)) fail_format(key, "boolean", *text);
  return value;
}

std::vector<int64_t> AttrReader::shape(const std::string& key) {
  const std::string* text = find(key);
  if (!text) fail_missing(key, "Shape(tuple)");
  std::vector<int64_t> value;
  if (!parse_int64_tuple(*text, &value)) fail_format(key, "Shape(tuple)", *text);
  return value;
}

std::vector<int64_t> AttrReader::shape(const std::string& key,
                                       const std::vector<int64_t>& default_value) {
  if (dict_.count(key) == 0) {
    used_.insert(key);
    return default_value;
  }
  return shape(key);
}

std::vector<int> AttrReader::int_tuple(const std::string& key) {
  const std::string* text = find(key);
  if (!text) fail_missing(key, "tuple of <int>");
  std::vector<int> value;
  if (!parse_int_tuple(*text, &value)) fail_format(key, "tuple of <int>", *text);
  return value;
}

std::vector<int> AttrReader::int_tuple(const std::string& key,
                                       const std::vector<int>& default_value) {
  if (dict_.count(key) == 0) {
    used_.insert(key);
    return default_value;
  }
  return int_tuple(key);
}

std::string AttrReader::string(const std::string& key,
                               const std::string& default_value) {
  const std::string* text = find(key);
  return text ? *text : default_value;
}

std::string AttrReader::string(const std::string& key) {
  const std::string* text = find(key);
  if (!text) fail_missing(key, "string");
  return *text;
}

std::optional<int> AttrReader::optional_integer(const std::string& key,
                                                std::optional<int> default_value) {
  const std::string* text = find(key);
  if (!text) return default_value;
  std::optional<int> value;
  if (!parse_optional_int(*text, &value)) fail_format(key, "int or None", *text);
  return value;
}

int AttrReader::enumeration(const std::string& key,
                            const std::map<std::string, int>& names,
                            int default_value) {
  const std::string* text = find(key);
  if (!text) return default_value;
  auto it = names.find(*text);
  if (it == names.end()) fail_format(key, "enum", *text);
  return it->second;
}

void AttrReader::finish() {
  for (const auto& kv : dict_) {
    // Keys like "__hidden__" are skipped, as the reference's parameter parser
    // does.
    const std::string& k = kv.first;
    if (k.size() > 4 && k.compare(0, 2, "__") == 0 && k.compare(k.size() - 2, 2, "__") == 0) continue;
    CVM_CHECK(used_.count(kv.first))
        << "Cannot find argument '" << kv.first << "', in operator "
        << op_name_;
  }
}

}  // namespace cvm
