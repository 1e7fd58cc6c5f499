#include "base/memory.h"

#include "base/error.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace cvm {

void advise_huge_pages(void* data, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHuge = uintptr_t(1) << 21;
  if (!data || bytes < 2 * kHuge) return;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(kHuge - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)data;
  (void)bytes;
#endif
}

void verify_fits_in_memory(uint64_t bytes, const char* what, uint64_t limit) {
  CVM_VERIFY(bytes <= limit) << "the model needs " << bytes << " bytes for " << what
                             << ", more than this machine's address space allows (" << limit
                             << ")";
}

}  // namespace cvm
