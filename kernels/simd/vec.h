// The vector type of the ISA being compiled (CVM_KERNEL_ARCH) and its width.
// A part of kernels/simd_impl.h: included there only, in the order listed
// there, once per ISA translation unit (see that file).
#pragma once
#ifndef CVM_KERNEL_NS
#error "include kernels/simd_impl.h, not its parts"
#endif

namespace cvm {
namespace kernels {
namespace CVM_KERNEL_NS {
namespace {

using Arch = CVM_KERNEL_ARCH;
using VecI = xsimd::batch<int32_t, Arch>;
constexpr int kLanes = static_cast<int>(VecI::size);

}  // namespace
}  // namespace CVM_KERNEL_NS
}  // namespace kernels
}  // namespace cvm
