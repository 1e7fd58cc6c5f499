// Instruction-set levels of the fast kernels, and how to pick one. Its own
// header so that the kernels (below the runtime) need not see the Model API;
// cvm/model.hpp includes it.
#pragma once

namespace cvm {

// Instruction-set levels of the fast kernels. Every level gives the same
// bytes; kScalar runs each node through its plain scalar kernel.
enum class Isa { kAuto = -1, kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

// Forces the level for models loaded afterwards (kAuto: the CVM_ISA
// environment variable -- scalar, avx2 or avx512 -- else the best the CPU
// has). A level above the CPU's is lowered to the CPU's.
void set_isa(Isa isa);
// The level models loaded now use, and the best this CPU supports.
Isa active_isa();
Isa detected_isa();

}  // namespace cvm
