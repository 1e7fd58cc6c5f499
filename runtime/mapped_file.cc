#include "runtime/mapped_file.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>

#include "base/error.h"

#if defined(__unix__) && !defined(__EMSCRIPTEN__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define CVM_CAN_MAP 1
#else
#define CVM_CAN_MAP 0
#endif

namespace cvm {

namespace {

// Reads at most limit + 1 bytes of a stream (one more than allowed tells a
// file over the limit).
std::string read_stream(const std::string& path, size_t limit) {
  std::ifstream in(path, std::ios::binary);
  CVM_VERIFY(in.good()) << "cannot open " << path;
  std::string out;
  char chunk[1 << 16];
  while (out.size() <= limit && in) {
    in.read(chunk, sizeof(chunk));
    out.append(chunk, static_cast<size_t>(in.gcount()));
  }
  CVM_VERIFY(!in.bad()) << "cannot read " << path;
  CVM_VERIFY(out.size() <= limit) << path << ": more than the " << limit << " bytes accepted";
  return out;
}

}  // namespace

MappedFile::MappedFile(const std::string& path, size_t limit) {
#if CVM_CAN_MAP
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  CVM_VERIFY(fd >= 0) << "cannot open " << path << " (" << std::strerror(errno) << ")";
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    const auto bytes = static_cast<unsigned long long>(st.st_size);
    if (bytes > limit) {
      ::close(fd);
      CVM_VERIFY(false) << path << ": " << bytes << " bytes, more than the " << limit
                        << " accepted";
    }
#if defined(MAP_POPULATE)
    // The loader reads every byte once to check it: one call maps all the
    // pages faster than a fault per page would.
    const int flags = MAP_PRIVATE | MAP_POPULATE;
#else
    const int flags = MAP_PRIVATE;
#endif
    void* p = bytes <= SIZE_MAX ? ::mmap(nullptr, static_cast<size_t>(bytes), PROT_READ, flags,
                                         fd, 0)
                                : MAP_FAILED;
    if (p != MAP_FAILED) {
      ::close(fd);  // the mapping keeps the file
      data_ = static_cast<const char*>(p);
      size_ = static_cast<size_t>(bytes);
      mapped_ = true;
      return;
    }
    // No address space for it (a 32-bit process): read it instead.
  }
  ::close(fd);
#endif
  buffer_ = read_stream(path, limit);
  data_ = buffer_.data();
  size_ = buffer_.size();
}

MappedFile::~MappedFile() {
#if CVM_CAN_MAP
  if (mapped_) ::munmap(const_cast<char*>(data_), size_);
#endif
}

void MappedFile::release(const void* begin, size_t bytes) const {
#if CVM_CAN_MAP
  if (!mapped_ || bytes == 0) return;
  const auto base = reinterpret_cast<uintptr_t>(data_);
  const auto first = reinterpret_cast<uintptr_t>(begin);
  if (first < base || first - base >= size_) return;
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  // Outward to whole pages: a page shared with a neighbour that is still
  // needed comes back from the file when it is read.
  const uintptr_t from = first & ~(uintptr_t(page) - 1);
  const uintptr_t to = base + std::min(size_, first - base + bytes);
  ::madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
#else
  (void)begin;
  (void)bytes;
#endif
}

}  // namespace cvm
