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
  CVM_VERIFY(at != std::string::npos) << "the .npy header has no '" << key << "'";
  at = header.find(':', at);
  CVM_VERIFY(at != std::string::npos) << "the .npy header is malformed";
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

// IEEE 754 half precision to double (exact).
double half_to_double(uint16_t h) {
  const int sign = h >> 15, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
  double v;
  if (exponent == 0x1F) {
    v = mantissa ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  } else if (exponent == 0) {
    v = std::ldexp(mantissa, -24);
  } else {
    v = std::ldexp(mantissa + 1024, exponent - 25);
  }
  return sign ? -v : v;
}

std::vector<int64_t> parse_shape(const std::string& text) {
  CVM_VERIFY(text.size() >= 2 && text.front() == '(' && text.back() == ')')
      << "the .npy shape " << text << " is not a tuple";
  std::vector<int64_t> shape;
  int64_t count = 1;
  size_t pos = 1;
  const size_t end = text.size() - 1;
  while (pos < end) {
    while (pos < end && (text[pos] == ' ' || text[pos] == ',')) ++pos;
    if (pos >= end) break;
    CVM_VERIFY(text[pos] >= '0' && text[pos] <= '9') << "the .npy shape " << text << " is malformed";
    int64_t d = 0;
    while (pos < end && text[pos] >= '0' && text[pos] <= '9') {
      d = d * 10 + (text[pos++] - '0');
      CVM_VERIFY(d <= (int64_t(1) << 31)) << "the .npy shape " << text << " is too large";
    }
    CVM_VERIFY(pos == end || text[pos] == ',' || text[pos] == ' ')
        << "the .npy shape " << text << " is malformed";
    shape.push_back(d);
    count *= d;
    CVM_VERIFY(count <= (int64_t(1) << 31)) << "the .npy shape " << text << " is too large";
    CVM_VERIFY(shape.size() <= 32) << "the .npy shape " << text << " has too many dimensions";
  }
  return shape;
}

}  // namespace

bool looks_like_npy(const std::string& bytes) {
  return bytes.size() >= 10 && std::memcmp(bytes.data(), kMagic, 6) == 0;
}

size_t npy_data_offset(const std::string& first_bytes) {
  CVM_VERIFY(looks_like_npy(first_bytes)) << "not an .npy file (no \\x93NUMPY magic at its start)";
  const unsigned char* p = reinterpret_cast<const unsigned char*>(first_bytes.data());
  const int major = p[6];
  if (major == 1) return 10 + static_cast<size_t>(read_uint(p + 8, 2, true));
  CVM_VERIFY(major == 2 || major == 3) << "unsupported .npy version " << major;
  CVM_VERIFY(first_bytes.size() >= 12) << "the .npy file ends inside its header";
  const uint64_t header_len = read_uint(p + 8, 4, true);
  CVM_VERIFY(header_len <= kNpyMaxHeader)
      << "the .npy header announces " << header_len << " bytes, more than the "
      << kNpyMaxHeader << " accepted";
  return 12 + static_cast<size_t>(header_len);
}

NpyHeader parse_npy_header(const std::string& bytes) {
  NpyHeader h;
  h.data_offset = npy_data_offset(bytes);
  CVM_VERIFY(bytes.size() >= h.data_offset) << "the .npy file ends inside its header";
  const size_t start = bytes[6] == 1 ? 10 : 12;
  const std::string header = bytes.substr(start, h.data_offset - start);

  std::string descr = header_field(header, "descr");
  CVM_VERIFY(descr.size() >= 5 && (descr[0] == '\'' || descr[0] == '"') && descr.back() == descr[0])
      << "unsupported .npy dtype " << descr << " (expected integers or whole-number floats)";
  descr = descr.substr(1, descr.size() - 2);
  h.descr = descr;
  CVM_VERIFY(header_field(header, "fortran_order") == "False")
      << "Fortran-ordered .npy arrays are not supported (save a C-ordered array)";
  h.shape = parse_shape(header_field(header, "shape"));
  h.count = 1;
  for (int64_t d : h.shape) h.count *= d;

  const char order = descr[0];
  h.kind = descr[1];
  h.width = std::atoi(descr.c_str() + 2);
  h.little = order == '<' || order == '|' || order == '=';
  CVM_VERIFY(order == '<' || order == '>' || order == '|' || order == '=')
      << "unsupported .npy byte order in dtype " << descr;
  CVM_VERIFY(h.kind != 'b')
      << "dtype bool is not accepted (expected integers; save arr.astype('int8'))";
  const bool integer = (h.kind == 'i' || h.kind == 'u') &&
                       (h.width == 1 || h.width == 2 || h.width == 4 || h.width == 8);
  const bool floating = h.kind == 'f' && (h.width == 2 || h.width == 4 || h.width == 8);
  CVM_VERIFY((integer || floating) && descr.size() == (h.width >= 10 ? 4u : 3u))
      << "unsupported .npy dtype " << descr
      << " (expected integers, or float16/32/64 holding whole numbers)";
  return h;
}

std::vector<int64_t> decode_npy_values(const NpyHeader& h, const unsigned char* data) {
  std::vector<int64_t> values(static_cast<size_t>(h.count));
  for (int64_t i = 0; i < h.count; ++i) {
    uint64_t raw = read_uint(data + i * h.width, h.width, h.little);
    int64_t v = 0;
    if (h.kind == 'u') {
      CVM_VERIFY(raw <= uint64_t(std::numeric_limits<int64_t>::max()))
          << "value " << raw << " at index " << i << " is out of range";
      v = static_cast<int64_t>(raw);
    } else if (h.kind == 'i') {
      if (h.width < 8 && (raw >> (8 * h.width - 1)) & 1) raw |= ~uint64_t(0) << (8 * h.width);
      v = static_cast<int64_t>(raw);
    } else {
      double f;
      if (h.width == 2) {
        f = half_to_double(static_cast<uint16_t>(raw));
      } else if (h.width == 4) {
        uint32_t bits = static_cast<uint32_t>(raw);
        float x;
        std::memcpy(&x, &bits, 4);
        f = x;
      } else {
        std::memcpy(&f, &raw, 8);
      }
      CVM_VERIFY(std::isfinite(f) && f == std::floor(f) && std::fabs(f) < 9.2e18)
          << "value " << f << " at index " << i << " is not a whole number";
      v = static_cast<int64_t>(f);
    }
    values[static_cast<size_t>(i)] = v;
  }
  return values;
}

NpyArray parse_npy(const std::string& bytes) {
  const NpyHeader h = parse_npy_header(bytes);
  const size_t have = bytes.size() - h.data_offset;
  CVM_VERIFY(have >= h.data_bytes())
      << "data truncated: the shape needs " << h.data_bytes() << " bytes of " << h.descr
      << ", the file has " << have;
  CVM_VERIFY(have == h.data_bytes())
      << "the file has " << have - h.data_bytes() << " bytes after the data its shape takes";
  NpyArray out;
  out.shape = h.shape;
  out.values = decode_npy_values(h, reinterpret_cast<const unsigned char*>(bytes.data()) + h.data_offset);
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
