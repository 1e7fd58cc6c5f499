// sum / max over trailing axes (Table::reduce_rows).
// A part of kernels/simd_impl.h, included there inside the ISA's namespace.

void reduce_rows(const int32_t* x, int64_t rows, int64_t inner, bool max, int32_t* y) {
  for (int64_t i = 0; i < rows; ++i) {
    const int32_t* r = x + i * inner;
    int64_t j = 0;
    int32_t acc = r[0];
    if (inner >= kLanes) {
      VecI v = VecI::load_unaligned(r);
      for (j = kLanes; j + kLanes <= inner; j += kLanes) {
        const VecI u = VecI::load_unaligned(r + j);
        v = max ? xsimd::max(v, u) : v + u;
      }
      alignas(64) int32_t lanes[kLanes];
      v.store_aligned(lanes);
      acc = lanes[0];
      for (int l = 1; l < kLanes; ++l) {
        acc = max ? (lanes[l] > acc ? lanes[l] : acc)
                  : static_cast<int32_t>(static_cast<uint32_t>(acc) + static_cast<uint32_t>(lanes[l]));
      }
    } else {
      j = 1;
    }
    for (; j < inner; ++j) {
      acc = max ? (r[j] > acc ? r[j] : acc)
                : static_cast<int32_t>(static_cast<uint32_t>(acc) + static_cast<uint32_t>(r[j]));
    }
    y[i] = acc;
  }
}

