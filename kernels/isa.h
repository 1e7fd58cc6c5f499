// Which instruction-set level the fast kernels use. The level is fixed when a
// model is loaded (its plan picks the kernels), so set it before loading.
#pragma once

#include "cvm/isa.hpp"

namespace cvm {
namespace kernels {

// Highest level this CPU (and its operating system) supports.
Isa detected_isa();

// The level new models use: the one forced by set_isa(), else the CVM_ISA
// environment variable (scalar, avx2, avx512), else the detected one; never
// above the detected one.
Isa active_isa();

const char* isa_name(Isa isa);

}  // namespace kernels
}  // namespace cvm
