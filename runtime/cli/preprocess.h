// cvm-run: an image to a model's integer input, as model.json's "input"
// says: channels (gray by luma, or gray repeated as RGB), resize of the short
// side (bilinear), centre crop, then per channel
//   value = round(((pixel - mean[c]) / std[c]) * scale)
// rounded half away from zero and clamped to [-(2^(p-1)-1), 2^(p-1)-1].
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/cli/image.h"
#include "runtime/cli/model_meta.h"

namespace cvm {
namespace cli {

// The model's input, one image of it: channels x height x width, precision p.
struct ImageInputShape {
  int channels = 0, height = 0, width = 0;
  int precision = 8;
};

// The C x H x W values (NCHW order) of one image; cvm::Error (code 1) naming
// `image_name` or the model.json file when they do not fit the model.
std::vector<int32_t> preprocess_image(const Image& image, const std::string& image_name,
                                      const ModelMeta& meta, const ImageInputShape& shape);

// Short side resized to `short_side` with an antialiased bilinear (triangle)
// filter, as PIL's BILINEAR resampling: pixels are float, C interleaved.
std::vector<double> resize_short_side(const std::vector<double>& pixels, int& height, int& width,
                                      int channels, int short_side);

}  // namespace cli
}  // namespace cvm
