#include "graph/json_reader.h"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "base/error.h"

namespace cvm {

namespace {

[[noreturn]] void type_error(const char* what, const char* must) {
  throw Error(kErrorRuntime, std::string("invalid json: ") + what + " must be " + must);
}

// Validates with nlohmann's SAX parser: no value is stored.
class LimitChecker : public nlohmann::json_sax<nlohmann::json> {
 public:
  LimitChecker(const JsonLimits& limits, const std::string& what) : limits_(limits), what_(what) {}

  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t&) override { return value(); }
  bool string(string_t& s) override { return value() && check_string(s); }
  bool binary(binary_t&) override { return value(); }
  bool start_object(std::size_t) override { return value() && open(); }
  bool key(string_t& s) override {
    check_string(s);
    if (depth_ == 1) {
      counting_ = count_member_ && s == count_member_;
      if (counting_) current_ = 0;
    }
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return value() && open(); }
  bool end_array() override { return close(); }

  size_t count() const { return count_; }
  const char* count_member_ = nullptr;
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception& e) override {
    throw Error(kErrorRuntime, "invalid json: " + what_ + e.what());
  }

 private:
  bool check_string(const string_t& s) {
    CVM_VERIFY(s.size() <= limits_.max_string)
        << what_ << "a JSON string of " << s.size() << " bytes, over the limit of "
        << limits_.max_string;
    return true;
  }
  bool open() {
    // Nothing in the format nests this deep: the reference's reader would
    // fail on a value of the wrong type, so this is code 2 as well.
    CVM_CHECK(++depth_ <= limits_.max_depth)
        << "invalid json: " << what_ << "nested deeper than " << limits_.max_depth;
    return true;
  }
  bool close() {
    --depth_;
    return true;
  }
  // Counts the elements of the root member named count_member_.
  bool value() {
    if (counting_ && depth_ == 2) count_ = std::max(count_, ++current_);
    return true;
  }

  const JsonLimits& limits_;
  const std::string& what_;
  size_t depth_ = 0;
  bool counting_ = false;
  size_t current_ = 0, count_ = 0;
};

}  // namespace

size_t check_json(const std::string& text, const JsonLimits& limits, const std::string& what,
                  const char* count_member) {
  CVM_VERIFY(text.size() <= limits.max_bytes)
      << what << "JSON of " << text.size() << " bytes, over the limit of " << limits.max_bytes;
  LimitChecker checker(limits, what);
  checker.count_member_ = count_member;
  nlohmann::json::sax_parse(text, &checker);
  return checker.count();
}

void JsonReader::malformed() const {
  // Unreachable on text that check_json() accepted.
  throw Error(kErrorRuntime, "invalid json: malformed at byte " + std::to_string(p_));
}

void JsonReader::skip_ws() {
  while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\t' || s_[p_] == '\n' || s_[p_] == '\r')) {
    ++p_;
  }
}

char JsonReader::next_char() {
  skip_ws();
  if (p_ >= s_.size()) malformed();
  return s_[p_];
}

JsonReader::Type JsonReader::peek() {
  switch (next_char()) {
    case '{': return Type::kObject;
    case '[': return Type::kArray;
    case '"': return Type::kString;
    case 't':
    case 'f': return Type::kBool;
    case 'n': return Type::kNull;
    default: return Type::kNumber;
  }
}

void JsonReader::begin_object(const char* what) {
  if (peek() != Type::kObject) type_error(what, "an object");
  ++p_;
  first_.push_back(true);
}

void JsonReader::begin_array(const char* what) {
  if (peek() != Type::kArray) type_error(what, "an array");
  ++p_;
  first_.push_back(true);
}

bool JsonReader::next_element() {
  if (first_.empty()) malformed();
  char c = next_char();
  if (c == ']' || c == '}') {
    ++p_;
    first_.pop_back();
    return false;
  }
  if (!first_.back()) {
    if (c != ',') malformed();
    ++p_;
  }
  first_.back() = false;
  return true;
}

bool JsonReader::next_member(std::string* key) {
  if (!next_element()) return false;
  *key = read_string("a key");
  if (next_char() != ':') malformed();
  ++p_;
  return true;
}

std::string JsonReader::read_string(const char* what) {
  if (peek() != Type::kString) type_error(what, "a string");
  ++p_;
  std::string out;
  auto hex4 = [&]() {
    if (p_ + 4 > s_.size()) malformed();
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[p_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= uint32_t(c - '0');
      else if (c >= 'a' && c <= 'f') v |= uint32_t(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= uint32_t(c - 'A' + 10);
      else malformed();
    }
    return v;
  };
  while (true) {
    if (p_ >= s_.size()) malformed();
    char c = s_[p_++];
    if (c == '"') break;
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (p_ >= s_.size()) malformed();
    char e = s_[p_++];
    switch (e) {
      case '"': out.push_back('"'); break;
      case '\\': out.push_back('\\'); break;
      case '/': out.push_back('/'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'u': {
        uint32_t cp = hex4();
        if (cp >= 0xD800 && cp <= 0xDBFF) {  // a surrogate pair (validated)
          if (p_ + 2 > s_.size() || s_[p_] != '\\' || s_[p_ + 1] != 'u') malformed();
          p_ += 2;
          uint32_t low = hex4();
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        if (cp < 0x80) {
          out.push_back(static_cast<char>(cp));
        } else if (cp < 0x800) {
          out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
          out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else if (cp < 0x10000) {
          out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
          out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
          out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else {
          out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
          out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
          out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
          out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        }
        break;
      }
      default: malformed();
    }
  }
  return out;
}

JsonReader::Integer JsonReader::read_integer(const char* what) {
  if (peek() != Type::kNumber) type_error(what, "an integer");
  Integer v;
  if (s_[p_] == '-') {
    v.negative = true;
    ++p_;
  }
  bool integer = true;
  while (p_ < s_.size() && s_[p_] >= '0' && s_[p_] <= '9') {
    uint64_t digit = uint64_t(s_[p_] - '0');
    if (v.magnitude > (std::numeric_limits<uint64_t>::max() - digit) / 10) integer = false;
    v.magnitude = v.magnitude * 10 + digit;
    ++p_;
  }
  // A fraction or an exponent makes a float, as does a value beyond 64 bits.
  while (p_ < s_.size() && (s_[p_] == '.' || s_[p_] == 'e' || s_[p_] == 'E' || s_[p_] == '+' ||
                            s_[p_] == '-' || (s_[p_] >= '0' && s_[p_] <= '9'))) {
    integer = false;
    ++p_;
  }
  if (v.negative && v.magnitude > (uint64_t(1) << 63)) integer = false;
  if (!integer) type_error(what, "an integer");
  return v;
}

uint32_t JsonReader::read_u32(const char* what) {
  Integer v = read_integer(what);
  if (v.magnitude > std::numeric_limits<uint32_t>::max()) {
    throw Error(kErrorRuntime, std::string("invalid json: ") + what + " out of range");
  }
  uint32_t m = static_cast<uint32_t>(v.magnitude);
  return v.negative ? static_cast<uint32_t>(0u - m) : m;
}

int JsonReader::read_int(const char* what) {
  Integer v = read_integer(what);
  uint64_t bound = v.negative ? uint64_t(1) << 31 : uint64_t(std::numeric_limits<int>::max());
  if (v.magnitude > bound) {
    throw Error(kErrorRuntime, std::string("invalid json: ") + what + " out of range");
  }
  return v.negative ? static_cast<int>(-static_cast<int64_t>(v.magnitude))
                    : static_cast<int>(v.magnitude);
}

int64_t JsonReader::read_i64(const char* what) {
  Integer v = read_integer(what);
  if (!v.negative && v.magnitude > uint64_t(std::numeric_limits<int64_t>::max())) {
    throw Error(kErrorRuntime, std::string("invalid json: ") + what + " out of range");
  }
  if (!v.negative) return static_cast<int64_t>(v.magnitude);
  if (v.magnitude == (uint64_t(1) << 63)) return std::numeric_limits<int64_t>::min();
  return -static_cast<int64_t>(v.magnitude);
}

}  // namespace cvm
