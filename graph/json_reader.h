// JSON for the graph, read without a DOM. check_json() validates the text
// with nlohmann's SAX parser (which allocates nothing per value) and applies
// the limits below; JsonReader then pulls values off the validated text
// straight into the graph's own structures. A DOM would cost about 16 bytes
// per 2-byte element ("0,") of a hostile array; this way a graph costs a small
// multiple of its text, whatever the text holds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cvm {

struct JsonLimits {
  size_t max_bytes;    // length of the text
  size_t max_depth;    // nesting of arrays and objects
  size_t max_string;   // length of any string or key
};

// The graph JSON (the largest published model's is about 100 KB) and the
// op_attrs JSON of one node.
constexpr JsonLimits kGraphJsonLimits{size_t(64) << 20, 32, size_t(64) << 10};
constexpr JsonLimits kOpAttrsJsonLimits{size_t(64) << 10, 32, size_t(64) << 10};

// Throws cvm::Error: code 2 for malformed JSON (as the reference's JSON
// reader) and for nesting over the limit (deeper than anything the format
// holds, so a type error for the reference), code 1 for text or a string over
// its limit. `what` prefixes messages.
// Returns the element count of the array that the root object's member
// `count_member` holds (the largest, if repeated; 0 if none), so that the
// reader can reserve exactly.
size_t check_json(const std::string& text, const JsonLimits& limits, const std::string& what,
                  const char* count_member = nullptr);

// Reads values in document order off text that check_json() accepted. Type
// mismatches throw code 2 ("invalid json: <what> must be ..."), as the
// reference's reader does.
class JsonReader {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  explicit JsonReader(const std::string& text) : s_(text) {}

  Type peek();
  void begin_object(const char* what);
  // The next member's key, or false at the end of the object.
  bool next_member(std::string* key);
  void begin_array(const char* what);
  // True when another element follows, false at the end of the array.
  bool next_element();

  std::string read_string(const char* what);
  // Integers as nlohmann classifies them: no fraction or exponent, within
  // uint64 when positive and int64 when negative; others are "not integers".
  uint32_t read_u32(const char* what);  // a leading minus negates modulo 2^32
  int read_int(const char* what);
  int64_t read_i64(const char* what);

 private:
  struct Integer {
    bool negative = false;
    uint64_t magnitude = 0;
  };
  Integer read_integer(const char* what);
  void skip_ws();
  char next_char();
  [[noreturn]] void malformed() const;

  const std::string& s_;
  size_t p_ = 0;
  std::vector<bool> first_;  // per open container: no element read yet
};

}  // namespace cvm
