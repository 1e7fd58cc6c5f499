#include "runtime/cli/image.h"

#include <cstring>
#include <memory>

#include "base/error.h"

#if CVM_HAVE_STB
// The decoder's own code, compiled here: PNG and JPEG only, from memory.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_MAX_DIMENSIONS (1 << 16)
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#endif
#include <stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
#endif

namespace cvm {
namespace cli {

namespace {
bool is_png(const std::string& b) { return b.size() >= 8 && std::memcmp(b.data(), "\x89PNG\r\n\x1a\n", 8) == 0; }
bool is_jpeg(const std::string& b) { return b.size() >= 3 && std::memcmp(b.data(), "\xFF\xD8\xFF", 3) == 0; }
}  // namespace

bool looks_like_image(const std::string& bytes) { return is_png(bytes) || is_jpeg(bytes); }

Image decode_image(const std::string& bytes, const std::string& name) {
  CVM_VERIFY(looks_like_image(bytes)) << name << ": not a PNG or JPEG image";
  const char* format = is_png(bytes) ? "PNG" : "JPEG";
#if CVM_HAVE_STB
  CVM_VERIFY(bytes.size() <= size_t(INT32_MAX)) << name << ": too large";
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int len = static_cast<int>(bytes.size());
  int w = 0, h = 0, n = 0;
  CVM_VERIFY(stbi_info_from_memory(data, len, &w, &h, &n))
      << name << ": cannot read the " << format << " header (" << stbi_failure_reason() << ")";
  CVM_VERIFY(w > 0 && h > 0 && int64_t(w) * h <= kMaxImagePixels)
      << name << ": a " << w << " x " << h << " image, more than the " << kMaxImagePixels
      << " pixels accepted";
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(stbi_load_from_memory(data, len, &w, &h, &n, 0),
                                                   stbi_image_free);
  CVM_VERIFY(pixels) << name << ": cannot decode the " << format << " image ("
                     << stbi_failure_reason() << ")";
  CVM_VERIFY(n >= 1 && n <= 4) << name << ": " << n << " channels";
  Image img;
  img.height = h;
  img.width = w;
  img.channels = n;
  img.pixels.assign(pixels.get(), pixels.get() + size_t(w) * h * n);
  return img;
#else
  CVM_VERIFY(false) << name << ": this cvm-run was built without an image decoder "
                    << "(install libstb-dev and rebuild), so it cannot read " << format
                    << " files; give a uint8 .npy image with --input instead";
  return Image();
#endif
}

}  // namespace cli
}  // namespace cvm
