#include "kernels/isa.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace cvm {
namespace kernels {
namespace {

// -1: not forced.
std::atomic<int> forced_level{-1};

Isa detect() {
// The AVX2 and AVX-512 kernels are built for x86-64 only (CMakeLists.txt):
// elsewhere, 32-bit x86 included, the level is scalar whatever the CPU has.
#if defined(__x86_64__)
  __builtin_cpu_init();
  // __builtin_cpu_supports also checks that the OS saves the vector state.
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni")) {
    return Isa::kAvx512;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::kAvx2;
#endif
  return Isa::kScalar;
}

Isa from_env(Isa fallback) {
  const char* v = std::getenv("CVM_ISA");
  if (!v || !*v) return fallback;
  if (std::strcmp(v, "scalar") == 0) return Isa::kScalar;
  if (std::strcmp(v, "avx2") == 0) return Isa::kAvx2;
  if (std::strcmp(v, "avx512") == 0) return Isa::kAvx512;
  return fallback;  // unknown names are ignored
}

}  // namespace

Isa detected_isa() {
  static const Isa level = detect();
  return level;
}

Isa active_isa() {
  const Isa best = detected_isa();
  const int forced = forced_level.load();
  Isa want = forced >= 0 ? static_cast<Isa>(forced) : from_env(best);
  return static_cast<int>(want) <= static_cast<int>(best) ? want : best;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
    case Isa::kAuto: break;
  }
  return "auto";
}

}  // namespace kernels

void set_isa(Isa isa) {
  kernels::forced_level.store(isa == Isa::kAuto ? -1 : static_cast<int>(isa));
}
Isa active_isa() { return kernels::active_isa(); }
Isa detected_isa() { return kernels::detected_isa(); }

}  // namespace cvm
