// dense over pre-packed int8 weights (Table::dense).
// A part of kernels/simd_impl.h, included there inside the ISA's namespace.

// y[u] = sum_k x[k] * w[u][k]: weights int8 in blocks of kLanes units,
// [block][k][lane]; four partial sums per block (wrapping adds commute).
void dense(const int32_t* x, const int8_t* w, int64_t k, int64_t units, int32_t* y) {
  for (int64_t u0 = 0; u0 < units; u0 += kLanes) {
    const int8_t* wb = w + u0 * k;
    VecI acc0(0), acc1(0), acc2(0), acc3(0);
    int64_t i = 0;
    for (; i + 4 <= k; i += 4) {
      acc0 = acc0 + VecI(load_i8_as_i32(wb + (i + 0) * kLanes)) * VecI(x[i + 0]);
      acc1 = acc1 + VecI(load_i8_as_i32(wb + (i + 1) * kLanes)) * VecI(x[i + 1]);
      acc2 = acc2 + VecI(load_i8_as_i32(wb + (i + 2) * kLanes)) * VecI(x[i + 2]);
      acc3 = acc3 + VecI(load_i8_as_i32(wb + (i + 3) * kLanes)) * VecI(x[i + 3]);
    }
    for (; i < k; ++i) acc0 = acc0 + VecI(load_i8_as_i32(wb + i * kLanes)) * VecI(x[i]);
    const VecI acc = (acc0 + acc1) + (acc2 + acc3);
    if (u0 + kLanes <= units) {
      acc.store_unaligned(y + u0);
    } else {
      alignas(64) int32_t tmp[kLanes];
      acc.store_aligned(tmp);
      for (int64_t u = u0; u < units; ++u) y[u] = tmp[u - u0];
    }
  }
}

