#include "graph/params.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "base/error.h"
#include "base/memory.h"

namespace cvm {

namespace {

constexpr uint64_t kListMagic = 0xF7E58D4F05049CB7ULL;
constexpr uint64_t kArrayMagic = 0xDD5E40F096B4A13FULL;
constexpr int kMaxNdim = 32;

// Reads little-endian values off a byte range, whatever the host's order.
class Reader {
 public:
  Reader(const char* data, size_t size) : p_(reinterpret_cast<const uint8_t*>(data)), left_(size) {}

  bool has(size_t n) const { return left_ >= n; }
  size_t left() const { return left_; }

  bool u64(uint64_t* out) { return le(out, 8); }
  bool i64(int64_t* out) {
    uint64_t v;
    if (!le(&v, 8)) return false;
    *out = static_cast<int64_t>(v);
    return true;
  }
  bool i32(int32_t* out) {
    uint64_t v;
    if (!le(&v, 4)) return false;
    *out = static_cast<int32_t>(static_cast<uint32_t>(v));
    return true;
  }
  bool u8(uint8_t* out) {
    if (!has(1)) return false;
    *out = *p_++;
    --left_;
    return true;
  }
  bool u16(uint16_t* out) {
    uint64_t v;
    if (!le(&v, 2)) return false;
    *out = static_cast<uint16_t>(v);
    return true;
  }
  const uint8_t* take(size_t n) {
    if (!has(n)) return nullptr;
    const uint8_t* at = p_;
    p_ += n;
    left_ -= n;
    return at;
  }

 private:
  bool le(uint64_t* out, size_t n) {
    if (!has(n)) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= uint64_t(p_[i]) << (8 * i);
    p_ += n;
    left_ -= n;
    *out = v;
    return true;
  }
  const uint8_t* p_;
  size_t left_;
};

void put_le(std::string* out, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

}  // namespace

std::vector<ParamArray> load_params(const char* data, size_t size, bool widen) {
  Reader r(data, size);
  uint64_t header = 0, reserved = 0;
  CVM_VERIFY(r.u64(&header) && header == kListMagic) << "Invalid parameters file format";
  CVM_VERIFY(r.u64(&reserved)) << "Invalid parameters file format";

  // Names: a count, then each as a length and its bytes.
  uint64_t count = 0;
  CVM_VERIFY(r.u64(&count)) << "Invalid parameters file format";
  // Each name takes at least 8 bytes: a count beyond that cannot be real.
  // Names are kept apart from the arrays, which are built only as their
  // headers are read, so memory stays a small multiple of the blob's size.
  CVM_VERIFY(count <= r.left() / 8) << "Invalid parameters file format";
  std::vector<std::string> names(static_cast<size_t>(count));
  for (auto& name : names) {
    uint64_t len = 0;
    CVM_VERIFY(r.u64(&len) && len <= r.left()) << "Invalid parameters file format";
    const uint8_t* bytes = r.take(static_cast<size_t>(len));
    name.assign(reinterpret_cast<const char*>(bytes), static_cast<size_t>(len));
  }
  uint64_t num_arrays = 0;
  r.u64(&num_arrays);  // unchecked by the reference; the comparison decides
  CVM_VERIFY(num_arrays == count) << "Invalid parameters file format";

  // Each array's header takes at least 40 bytes: reserve no more than fit.
  std::vector<ParamArray> arrays;
  arrays.reserve(static_cast<size_t>(std::min<uint64_t>(count, r.left() / 40)));
  for (auto& name : names) {
    arrays.emplace_back();
    ParamArray& a = arrays.back();
    a.name = std::move(name);
    // Running out of bytes anywhere in an array is a truncated blob (code 1,
    // the README's verdict for truncated params); a malformed array header is
    // the reference's CHECK (code 2).
    uint64_t magic = 0, array_reserved = 0;
    int32_t ndim = 0;
    CVM_VERIFY(r.u64(&magic) && r.u64(&array_reserved)) << "parameter " << a.name << " truncated";
    CVM_CHECK(magic == kArrayMagic) << "Invalid DLTensor file format";
    CVM_VERIFY(r.i32(&a.device_type) && r.i32(&a.device_id) && r.i32(&ndim) &&
               r.u8(&a.dtype_code) && r.u8(&a.dtype_bits) && r.u16(&a.dtype_lanes))
        << "parameter " << a.name << " truncated";
    CVM_CHECK(ndim >= 0 && ndim <= kMaxNdim) << "Invalid DLTensor ndim " << ndim;
    a.shape.resize(static_cast<size_t>(ndim));
    int64_t num_elems = 1;
    for (auto& d : a.shape) {
      CVM_VERIFY(r.i64(&d)) << "parameter " << a.name << " truncated";
      CVM_CHECK(d >= 0 && d <= (int64_t(1) << 32)) << "Invalid DLTensor dimension " << d;
      // Checked before multiplying: two dimensions of 2^32 overflow int64.
      CVM_CHECK(d == 0 || num_elems <= (int64_t(1) << 32) / d) << "DLTensor too large";
      num_elems *= d;
    }
    const int64_t elem_bytes = (a.dtype_bits + 7) / 8;
    int64_t byte_size = 0;
    CVM_VERIFY(r.i64(&byte_size)) << "parameter " << a.name << " truncated";
    CVM_CHECK(byte_size == num_elems * elem_bytes) << "Invalid DLTensor file format";
    // Fewer bytes than declared: the reference reads past its buffer here.
    CVM_VERIFY(static_cast<uint64_t>(byte_size) <= r.left())
        << "parameter " << a.name << " truncated: " << byte_size << " bytes declared, "
        << r.left() << " present";
    const uint8_t* bytes = r.take(static_cast<size_t>(byte_size));
    a.raw = bytes;
    a.count = num_elems;
    if (!widen) continue;
    // Widened to int32: four bytes a value, which a 32-bit address space
    // may not hold even when the blob fits in it.
    CVM_VERIFY(fits_in_memory(static_cast<uint64_t>(num_elems), sizeof(int32_t)))
        << "parameter " << a.name << " of " << num_elems
        << " values does not fit this machine's address space";
    if (elem_bytes == 1 || elem_bytes == 4) {
      a.values.reserve(static_cast<size_t>(num_elems));
      advise_huge_pages(a.values.data(), static_cast<size_t>(num_elems) * sizeof(int32_t));
    }
    if (elem_bytes == 1) {
      a.values.resize(static_cast<size_t>(num_elems));
      for (int64_t i = 0; i < num_elems; ++i) a.values[i] = static_cast<int8_t>(bytes[i]);
    } else if (elem_bytes == 4) {
      a.values.resize(static_cast<size_t>(num_elems));
      for (int64_t i = 0; i < num_elems; ++i) {
        const uint8_t* b = bytes + 4 * i;
        uint32_t v = uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
        a.values[i] = static_cast<int32_t>(v);
      }
    }
    // Other widths load, and are refused when bound to a variable.
  }
  return arrays;
}

std::string save_params(const std::vector<ParamArray>& arrays, const std::vector<bool>& int8) {
  std::string out;
  put_le(&out, kListMagic, 8);
  put_le(&out, 0, 8);
  put_le(&out, arrays.size(), 8);
  for (const auto& a : arrays) {
    put_le(&out, a.name.size(), 8);
    out += a.name;
  }
  put_le(&out, arrays.size(), 8);
  for (size_t k = 0; k < arrays.size(); ++k) {
    const ParamArray& a = arrays[k];
    bool narrow = k < int8.size() && int8[k];
    put_le(&out, kArrayMagic, 8);
    put_le(&out, 0, 8);
    put_le(&out, 1, 4);  // device: CPU
    put_le(&out, 0, 4);
    put_le(&out, a.shape.size(), 4);
    put_le(&out, 0, 1);  // kDLInt
    put_le(&out, narrow ? 8 : 32, 1);
    put_le(&out, 1, 2);
    for (int64_t d : a.shape) put_le(&out, static_cast<uint64_t>(d), 8);
    put_le(&out, a.values.size() * (narrow ? 1 : 4), 8);
    for (int32_t v : a.values) put_le(&out, static_cast<uint32_t>(v), narrow ? 1 : 4);
  }
  return out;
}

}  // namespace cvm
