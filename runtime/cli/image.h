// cvm-run: PNG and JPEG files to pixels (stb_image from Debian's libstb-dev,
// header-only; a build without it refuses images with a clear message).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cvm {
namespace cli {

// 8-bit pixels, rows of interleaved channels (1 gray, 2 gray + alpha,
// 3 RGB, 4 RGBA).
struct Image {
  int height = 0, width = 0, channels = 0;
  std::vector<uint8_t> pixels;
};

// The most bytes read of an image file, and the most pixels decoded.
constexpr size_t kMaxImageFileBytes = size_t(64) << 20;
constexpr int64_t kMaxImagePixels = int64_t(1) << 24;

bool looks_like_image(const std::string& bytes);  // PNG or JPEG signature

// Decodes a PNG or JPEG file's bytes; cvm::Error (code 1) naming `name` when
// they are not one, are corrupt or larger than kMaxImagePixels.
Image decode_image(const std::string& bytes, const std::string& name);

}  // namespace cli
}  // namespace cvm
