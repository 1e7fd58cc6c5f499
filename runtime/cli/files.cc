#include "runtime/cli/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/error.h"
#include "runtime/cli/cli.h"

namespace cvm {
namespace cli {

bool is_stdio(const std::string& path) { return path == "-"; }

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

FileReader::FileReader(const std::string& path) : path_(is_stdio(path) ? "stdin" : path) {
  if (is_stdio(path)) {
    fd_ = STDIN_FILENO;
    return;
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    throw IoError(path + ": " + (err == ENOENT ? "no such file" : std::strerror(err)));
  }
  if (S_ISDIR(st.st_mode)) throw IoError(path + ": is a folder, expected a file");
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw IoError(path + ": cannot open (" + std::strerror(errno) + ")");
  owned_ = true;
  if (S_ISREG(st.st_mode)) regular_size_ = static_cast<long long>(st.st_size);
}

FileReader::~FileReader() {
  if (owned_) ::close(fd_);
}

size_t FileReader::read_into(std::string& out, size_t n) {
  const size_t start = out.size();
  out.resize(start + n);
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::read(fd_, &out[start + got], n - got);
    if (r == 0) break;
    if (r < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      out.resize(start + got);
      throw IoError(path_ + ": cannot read (" + std::strerror(err) + ")");
    }
    got += static_cast<size_t>(r);
  }
  out.resize(start + got);
  return got;
}

std::string FileReader::read(size_t n) {
  std::string out;
  read_into(out, n);
  return out;
}

std::string read_at_most(const std::string& path, size_t limit, const std::string& what) {
  FileReader in(path);
  // Regular files: refuse a large one without reading it, and read the rest
  // in one allocation.
  if (in.regular_size() >= 0 && static_cast<unsigned long long>(in.regular_size()) > limit) {
    CVM_VERIFY(false) << in.path() << ": " << in.regular_size() << " bytes, more than the "
                      << limit << " accepted for " << what;
  }
  std::string text;
  size_t chunk = in.regular_size() >= 0 ? static_cast<size_t>(in.regular_size()) + 1 : 1 << 16;
  while (text.size() <= limit) {
    const size_t want = std::min(chunk, limit + 1 - text.size());
    if (in.read_into(text, want) < want) break;
    chunk = std::min<size_t>(chunk * 2, 1 << 26);
  }
  CVM_VERIFY(text.size() <= limit) << in.path() << ": more than the " << limit
                                   << " bytes accepted for " << what;
  return text;
}

void write_file(const std::string& path, const std::string& bytes) {
  if (is_stdio(path)) {
    if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size() || std::fflush(stdout) != 0) {
      throw IoError(std::string("stdout: cannot write (") + std::strerror(errno) + ")");
    }
    return;
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    const int err = errno;
    if (err == EISDIR) throw IoError(path + ": is a folder, expected a file name for the output");
    throw IoError(path + ": cannot write (" + std::strerror(err) + ")");
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      const int err = errno;
      ::close(fd);
      throw IoError(path + ": cannot write (" + std::strerror(err) + ")");
    }
    done += static_cast<size_t>(w);
  }
  if (::close(fd) != 0) throw IoError(path + ": cannot write (" + std::strerror(errno) + ")");
}

std::string json_syntax_error(const std::string& text) {
  size_t byte = 0;
  try {
    const nlohmann::json parsed = nlohmann::json::parse(text);
    return "";
  } catch (const nlohmann::json::parse_error& e) {
    byte = e.byte;  // 1-based index of the last character read
  }
  // The parser stops on the last character of the token it could not use:
  // report the token from its first character.
  size_t pos = byte > 0 ? byte - 1 : 0;
  std::string token;
  if (pos < text.size()) {
    const auto is_word = [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
    };
    size_t start = pos;
    if (text[pos] == '"') {
      while (start > 0 && !(text[start - 1] == '"' && (start < 2 || text[start - 2] != '\\'))) --start;
      start = start > 0 ? start - 1 : pos;
    } else if (is_word(text[pos])) {
      while (start > 0 && is_word(text[start - 1])) --start;
    } else if (pos > 0 && std::isalpha(static_cast<unsigned char>(text[pos - 1]))) {
      // A misspelt literal (true, false, null): read up to the character
      // after it.
      size_t word = pos - 1;
      while (word > 0 && is_word(text[word - 1])) --word;
      if (std::isalpha(static_cast<unsigned char>(text[word]))) {
        start = word;
        pos -= 1;
      }
    }
    if (start < pos && pos - start < 40) {
      token = text.substr(start, pos - start + 1);
      pos = start;
    }
  }
  size_t line = 1, line_start = 0;
  for (size_t i = 0; i < pos && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  std::string reason;
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    reason = "the file is empty, expected JSON";
  } else if (pos >= text.size()) {
    reason = "the text ends before the JSON does (an object, list or string is not closed)";
  } else if (!token.empty()) {
    reason = (token[0] == '"' ? "unexpected string " : "unexpected ") + token;
  } else {
    const unsigned char c = static_cast<unsigned char>(text[pos]);
    char buf[64];
    if (c >= 0x20 && c < 0x7F) {
      std::snprintf(buf, sizeof buf, "unexpected '%c'", c);
    } else {
      std::snprintf(buf, sizeof buf, "unexpected byte 0x%02X", c);
    }
    reason = buf;
    if (c < 0x20) reason += " (a control character must be escaped inside a string)";
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(pos - line_start + 1) +
         ": " + reason;
}

nlohmann::json parse_json(const std::string& text, const std::string& path) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {
    CVM_VERIFY(false) << path << ": " << json_syntax_error(text);
  }
  return nullptr;
}

}  // namespace cli
}  // namespace cvm
