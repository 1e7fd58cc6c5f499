// cvm-run's file access: bounded reads ("-" is stdin), writes ("-" is
// stdout), and JSON files whose syntax errors name the file, line and column.
#pragma once

#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace cvm {
namespace cli {

// Reads a file (or stdin for "-") in pieces, never more than asked. Opening
// a missing file, a folder or an unreadable file throws IoError naming it.
class FileReader {
 public:
  explicit FileReader(const std::string& path);
  ~FileReader();
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  // Up to `n` more bytes (fewer only at the end of the file).
  std::string read(size_t n);
  // Appends up to `n` more bytes to `out`; returns the count appended.
  size_t read_into(std::string& out, size_t n);
  const std::string& path() const { return path_; }
  // Size of a regular file (-1 for pipes, devices and stdin).
  long long regular_size() const { return regular_size_; }

 private:
  std::string path_;
  int fd_ = -1;
  bool owned_ = false;
  long long regular_size_ = -1;
};

// The whole file when it holds at most `limit` bytes; else cvm::Error (code
// 1) saying the file is larger than `limit` bytes for `what`. Reads at most
// limit + 1 bytes.
std::string read_at_most(const std::string& path, size_t limit, const std::string& what);

// Writes `bytes` to `path` ("-": stdout); IoError naming the file on failure.
void write_file(const std::string& path, const std::string& bytes);

// "line L, column C: <reason>" for text that is not valid JSON ("" when it
// is valid).
std::string json_syntax_error(const std::string& text);

// Parses `text` read from `path`; a syntax error is a cvm::Error (code 1)
// "PATH: line L, column C: <reason>".
nlohmann::json parse_json(const std::string& text, const std::string& path);

bool is_stdio(const std::string& path);
bool ends_with(const std::string& s, const std::string& suffix);

}  // namespace cli
}  // namespace cvm
