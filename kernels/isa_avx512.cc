// The AVX-512 (VNNI) kernels. Compiled with -mavx512f -mavx512bw -mavx512vl
// -mavx512vnni (see CMakeLists.txt); only called when the CPU has them.
#define CVM_KERNEL_NS avx512
#define CVM_KERNEL_ARCH xsimd::avx512bw
#define CVM_KERNEL_TABLE table_avx512
#include "kernels/simd_impl.h"
