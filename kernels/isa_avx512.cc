// The AVX-512 (VNNI) kernels. Compiled with -mavx512f -mavx512bw -mavx512vl
// -mavx512vnni (see CMakeLists.txt); only called when the CPU has them.
#define CVM_KERNEL_NS avx512
#define CVM_KERNEL_ARCH xsimd::avx512bw
#include "kernels/simd_impl.h"

namespace cvm {
namespace kernels {
const Table* table_avx512() {
  static const Table t = avx512::make_table();
  return &t;
}
}  // namespace kernels
}  // namespace cvm
