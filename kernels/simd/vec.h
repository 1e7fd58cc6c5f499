// The vector type of the ISA being compiled (CVM_KERNEL_ARCH) and its width.
// A part of kernels/simd_impl.h, included there inside the ISA's namespace.

using Arch = CVM_KERNEL_ARCH;
using VecI = xsimd::batch<int32_t, Arch>;
constexpr int kLanes = static_cast<int>(VecI::size);

