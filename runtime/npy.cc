#include "runtime/npy.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "base/error.h"

namespace cvm {

namespace {

const char kMagic[] = "\x93NUMPY";

// Value of `key` in the header dictionary, as raw text up to the next
// top-level comma or closing brace.
std::string header_field(const std::string& header, const std::string& key) {
  size_t at = header.find("'" + key + "'");
  CVM_VERIFY(at != std::string::npos) << "npy header has no " << key;
  at = header.find(':', at);
  CVM_VERIFY(at != std::string::npos) << "npy header malformed";
  ++at;
  int depth = 0;
  size_t end = at;
  for (; end < header.size(); ++end) {
    char c = header[end];
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (depth < 0 || (depth == 0 && (c == ',' || c == '}'))) break;
  }
  std::string v = header.substr(at, end - at);
  size_t b = v.find_first_not_of(" \t"), e = v.find_last_not_of(" \t");
  return b == std::string::npos ? "" : v.substr(b, e - b + 1);
}

uint64_t read_uint(const unsigned char* p, int width, bool little) {
  uint64_t v = 0;
  for (int i = 0; i < width; ++i) {
    int shift = little ? 8 * i : 8 * (width - 1 - i);
    v |= uint64_t(p[i]) << shift;
  }
  return v;
}

}  // namespace

bool looks_like_npy(const std::string& bytes) {
  return bytes.size() >= 10 && std::memcmp(bytes.data(), kMagic, 6) == 0;
}

NpyArray parse_npy(const std::string& bytes) {
  CVM_VERIFY(looks_like_npy(bytes)) << "not an .npy file";
  const unsigned char* p = reinterpret_cast<const unsigned char*>(bytes.data());
  int major = p[6];
  size_t header_len, offset;
  if (major == 1) {
    header_len = read_uint(p + 8, 2, true);
    offset = 10;
  } else {
    CVM_VERIFY(major == 2 || major == 3) << "unsupported .npy version " << major;
    CVM_VERIFY(bytes.size() >= 12) << ".npy file truncated";
    header_len = read_uint(p + 8, 4, true);
    offset = 12;
  }
  CVM_VERIFY(header_len <= bytes.size() - offset) << ".npy header truncated";
  std::string header = bytes.substr(offset, header_len);
  offset += header_len;

  std::string descr = header_field(header, "descr");
  CVM_VERIFY(descr.size() >= 5 && (descr[0] == '\'' || descr[0] == '"'))
      << "unsupported .npy dtype " << descr;
  descr = descr.substr(1, descr.size() - 2);
  CVM_VERIFY(header_field(header, "fortran_order") == "False")
      << "Fortran-ordered .npy arrays are not supported";

  NpyArray out;
  std::string shape = header_field(header, "shape");
  CVM_VERIFY(shape.size() >= 2 && shape.front() == '(' && shape.back() == ')')
      << "malformed .npy shape " << shape;
  int64_t count = 1;
  size_t pos = 1;
  while (pos < shape.size() - 1) {
    while (pos < shape.size() - 1 && (shape[pos] == ' ' || shape[pos] == ',')) ++pos;
    if (pos >= shape.size() - 1) break;
    size_t used = 0;
    long long d = std::stoll(shape.substr(pos), &used);
    CVM_VERIFY(d >= 0 && d <= (int64_t(1) << 31)) << "bad .npy dimension " << d;
    out.shape.push_back(d);
    count *= d;
    CVM_VERIFY(count <= (int64_t(1) << 31)) << ".npy array too large";
    pos += used;
  }

  char order = descr[0];
  char kind = descr[1];
  int width = std::atoi(descr.c_str() + 2);
  bool little = order == '<' || order == '|' || order == '=';
  CVM_VERIFY(order == '<' || order == '>' || order == '|' || order == '=')
      << "unsupported .npy byte order " << descr;
  CVM_VERIFY(((kind == 'i' || kind == 'u') && (width == 1 || width == 2 || width == 4 || width == 8)) ||
             (kind == 'b' && width == 1) || (kind == 'f' && (width == 4 || width == 8)))
      << "unsupported .npy dtype " << descr;
  CVM_VERIFY(static_cast<uint64_t>(count) * width <= bytes.size() - offset)
      << ".npy data truncated";

  out.values.resize(static_cast<size_t>(count));
  const unsigned char* data = p + offset;
  for (int64_t i = 0; i < count; ++i) {
    uint64_t raw = read_uint(data + i * width, width, little);
    int64_t v = 0;
    if (kind == 'u' || kind == 'b') {
      CVM_VERIFY(raw <= uint64_t(std::numeric_limits<int64_t>::max())) << "value out of range";
      v = static_cast<int64_t>(raw);
    } else if (kind == 'i') {
      if (width < 8 && (raw >> (8 * width - 1)) & 1) raw |= ~uint64_t(0) << (8 * width);
      v = static_cast<int64_t>(raw);
    } else {
      double f;
      if (width == 4) {
        uint32_t bits = static_cast<uint32_t>(raw);
        float x;
        std::memcpy(&x, &bits, 4);
        f = x;
      } else {
        std::memcpy(&f, &raw, 8);
      }
      CVM_VERIFY(std::isfinite(f) && f == std::floor(f) && std::fabs(f) < 9.2e18)
          << "value " << f << " at index " << i << " is not an integer";
      v = static_cast<int64_t>(f);
    }
    out.values[i] = v;
  }
  return out;
}

std::string make_npy(const std::vector<int64_t>& shape, const std::vector<int32_t>& values,
                     bool int8) {
  std::string dict = std::string("{'descr': '") + (int8 ? "|i1" : "<i4") +
                     "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i) {
    dict += std::to_string(shape[i]);
    if (shape.size() == 1 || i + 1 < shape.size()) dict += ",";
    if (i + 1 < shape.size()) dict += " ";
  }
  dict += "), }";
  // Pad so the data starts on a 64-byte boundary; the header ends with \n.
  size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  std::string out(kMagic, 6);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(dict.size() & 0xFF);
  out += static_cast<char>((dict.size() >> 8) & 0xFF);
  out += dict;
  for (int32_t v : values) {
    if (int8) {
      out += static_cast<char>(static_cast<int8_t>(v));
    } else {
      uint32_t u = static_cast<uint32_t>(v);
      for (int b = 0; b < 4; ++b) out += static_cast<char>((u >> (8 * b)) & 0xFF);
    }
  }
  return out;
}

}  // namespace cvm
