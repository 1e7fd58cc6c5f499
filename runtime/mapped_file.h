// A params file seen as bytes in memory: mapped read-only where the system
// can (POSIX, not WebAssembly), else read into a buffer. A mapping lets the
// load give back the pages of each parameter once it is checked and packed
// (release()): they are the file's own pages, so a later read of them finds
// the same bytes again, only slower. With both the blob and the packed
// weights resident, a load used to peak at two copies of the weights.
//
// The file must not change while a model loads from it (as with any
// mapping: a file cut short under a mapping faults on the lost pages).
#pragma once

#include <cstddef>
#include <string>

namespace cvm {

class MappedFile {
 public:
  // Opens `path`; a file over `limit` bytes is refused (code 1) before it
  // is mapped or read, as is one that cannot be opened.
  MappedFile(const std::string& path, size_t limit);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const char* data() const { return data_; }
  size_t size() const { return size_; }
  bool mapped() const { return mapped_; }

  // Lets the pages that hold [begin, begin + bytes) leave the process's
  // memory (a mapping only; a buffer keeps them). Safe for any range of
  // the file, whoever still reads it: the pages come back on a read.
  void release(const void* begin, size_t bytes) const;

 private:
  const char* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  std::string buffer_;  // the bytes when the file is not mapped
};

}  // namespace cvm
