#include "ops/nn/nn_util.h"

namespace cvm {
namespace nn {

void assign_input_shape(const Shape& declared, const Shape& inferred,
                        const std::string& op_name, const char* input_name) {
  bool ok = declared.size() == inferred.size();
  for (size_t i = 0; ok && i < declared.size(); ++i) {
    ok = inferred[i] == 0 || declared[i] == inferred[i];
  }
  CVM_CHECK(ok) << "Operator " << op_name << " expects " << input_name
                << "'s shape to be " << shape_string(inferred) << ", but got "
                << shape_string(declared) << ".";
}

void verify_input_precisions(const std::vector<int>& prec, const std::string& op_name) {
  for (size_t i = 0; i < prec.size(); ++i) {
    CVM_VERIFY(prec[i] != -1) << "operator " << op_name << "'s inputs(" << i
                              << ") has not been infered precision";
  }
}

int reduce_sum_bits(int64_t count) {
  int bits = 0;
  uint64_t v = static_cast<uint64_t>(count);
  while (v != 0) {
    ++bits;
    v >>= 1;
  }
  return bits;
}

void check_layout_syntax(const std::string& layout) {
  if (layout == "__undef__") return;
  auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  auto lower = [](char c) { return c >= 'a' && c <= 'z'; };
  bool seen_upper[26] = {};
  bool seen_lower[26] = {};
  std::string dims;
  // Digits read since the last dimension, as the reference's int32 counter
  // (which wraps on absurdly long numbers).
  uint32_t factor = 0;
  auto signed_factor = [&factor] { return static_cast<int32_t>(factor); };
  for (char c : layout) {
    if (upper(c)) {
      CVM_CHECK(factor == 0) << "Invalid layout " << layout << ": factor before " << c;
      CVM_CHECK(!seen_upper[c - 'A']) << "Invalid layout " << layout << ": duplicate " << c;
      seen_upper[c - 'A'] = true;
      dims.push_back(c);
    } else if (lower(c)) {
      CVM_CHECK(signed_factor() > 0) << "Invalid layout " << layout << ": no factor for " << c;
      CVM_CHECK(!seen_lower[c - 'a']) << "Invalid layout " << layout << ": duplicate " << c;
      seen_lower[c - 'a'] = true;
      dims.push_back(c);
      factor = 0;
    } else if (c >= '0' && c <= '9') {
      CVM_CHECK(signed_factor() >= 0) << "Invalid layout " << layout;
      factor = factor * 10u + static_cast<uint32_t>(c - '0');
    } else {
      CVM_RUNTIME_ERROR() << "Invalid layout " << layout;
    }
  }
  CVM_CHECK(!dims.empty()) << "Invalid layout " << layout;
  for (char c : dims) {
    CVM_CHECK(upper(c) || seen_upper[c - 'a'])
        << "Invalid layout " << layout << ": missing axis " << char(c - 'a' + 'A');
  }
}

}  // namespace nn

}  // namespace cvm
