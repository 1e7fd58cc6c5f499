// The AVX2 kernels (int8 products through int16 vpmaddwd, exact). Compiled
// with -mavx2 -mfma (see CMakeLists.txt); only called when the CPU has them.
#define CVM_KERNEL_NS avx2
#define CVM_KERNEL_ARCH xsimd::avx2
#define CVM_KERNEL_TABLE table_avx2
#include "kernels/simd_impl.h"
