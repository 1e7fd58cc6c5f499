// The vector kernels, compiled once per instruction set: an ISA translation
// unit defines CVM_KERNEL_NS, CVM_KERNEL_ARCH (an xsimd architecture) and
// CVM_KERNEL_TABLE (the name of its table function in kernel_table.h),
// compiles with that ISA's flags and includes this file. Everything here has
// internal linkage or lives in the ISA's own namespace, so no function
// compiled for one ISA can be picked by the linker for another.
//
// The kernels live in kernels/simd/, one file per family; they are included
// below, inside the ISA's namespace, in this order (later parts use earlier
// ones), so the generated code is that of one translation unit.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <xsimd/xsimd.hpp>

#include "kernels/kernel_table.h"

namespace cvm {
namespace kernels {
namespace CVM_KERNEL_NS {
namespace {

#include "kernels/simd/vec.h"
#include "kernels/simd/chain.h"
#include "kernels/simd/phase_planes.h"
#include "kernels/simd/epilogue.h"
#include "kernels/simd/direct.h"
#include "kernels/simd/depthwise_bytes.h"
#include "kernels/simd/pool_bytes.h"
#include "kernels/simd/lookup_bytes.h"
#include "kernels/simd/reduce.h"
#include "kernels/simd/gemm_tiles.h"
#include "kernels/simd/gemm_epilogue.h"
#include "kernels/simd/dense.h"

// Built on first use (never at program start: this code may only run on a
// CPU with the ISA).
Table make_table() {
  Table t;
#if defined(__AVX512F__)
  t.isa = Isa::kAvx512;
  t.offset_data = true;
#else
  t.isa = Isa::kAvx2;
  t.offset_data = false;
#endif
  t.lanes = kLanes;
  t.group = kGroup;
  t.mr = kMr;
  t.nr = kNr;
  t.pad_word = kPadWord;
  t.pack_words = pack_words;
#if defined(__AVX512F__)
  t.pack_bytes = pack_bytes;
#endif
  t.gemm = gemm;
  t.chain = run_chain;
  t.scale_add = scale_add;
  t.scale_add_chain = scale_add_chain;
  t.scale_channels_chain = scale_channels_chain;
  t.epilogue = epilogue;
  t.gemm_fused = gemm_fused;
#if defined(__AVX512F__)
  t.gemm_t = gemm_t;
  t.epilogue_t = epilogue_t;
#else
  t.gemm_t = nullptr;
  t.epilogue_t = nullptr;
#endif
  t.depthwise = depthwise;
  t.depthwise_direct = depthwise_direct;
#if defined(__AVX512F__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512vbmi")) {
    t.depthwise_u8 = depthwise_u8;
    t.max_pool_u8 = max_pool_u8;
    t.lookup_bytes = lookup_bytes;
    if (__builtin_cpu_supports("avx512vbmi2")) t.depthwise_u8_stacked = depthwise_u8_stacked;
  }
#endif
  t.max_pool = max_pool;
#if defined(__AVX512F__)
  t.max_pool3_u8 = max_pool3_u8;
#endif
  t.split_phases = split_phases;
  t.dense = dense;
  t.reduce_rows = reduce_rows;
  return t;
}

}  // namespace
}  // namespace CVM_KERNEL_NS
}  // namespace kernels
}  // namespace cvm

// The ISA's table, built once (see kernel_table.h).
namespace cvm {
namespace kernels {
const Table* CVM_KERNEL_TABLE() {
  static const Table t = CVM_KERNEL_NS::make_table();
  return &t;
}
}  // namespace kernels
}  // namespace cvm
