#include "runtime/cli/preprocess.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"

namespace cvm {
namespace cli {

namespace {

// For each output index: the first input index it reads and the weights.
struct Taps {
  int first = 0;
  std::vector<double> weights;
};

// A triangle filter of support 1, widened by the scale when shrinking (so
// that every input pixel counts), centred on each output pixel's centre.
std::vector<Taps> bilinear_taps(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double widen = std::max(scale, 1.0);
  const double support = widen;
  std::vector<Taps> taps(static_cast<size_t>(out_size));
  for (int i = 0; i < out_size; ++i) {
    const double center = (i + 0.5) * scale;
    const int lo = std::max(0, static_cast<int>(std::floor(center - support + 0.5)));
    const int hi = std::min(in_size, static_cast<int>(std::floor(center + support + 0.5)));
    Taps& t = taps[static_cast<size_t>(i)];
    t.first = lo;
    double sum = 0;
    for (int x = lo; x < hi; ++x) {
      const double w = std::max(0.0, 1.0 - std::fabs((x + 0.5 - center) / widen));
      t.weights.push_back(w);
      sum += w;
    }
    if (sum > 0) {
      for (double& w : t.weights) w /= sum;
    }
  }
  return taps;
}

// Pixels (rows x cols x channels) resampled along columns to `out_cols`.
std::vector<double> resample_columns(const std::vector<double>& in, int rows, int cols,
                                     int channels, int out_cols) {
  const std::vector<Taps> taps = bilinear_taps(cols, out_cols);
  std::vector<double> out(static_cast<size_t>(rows) * out_cols * channels, 0.0);
  for (int r = 0; r < rows; ++r) {
    const double* src = &in[static_cast<size_t>(r) * cols * channels];
    double* dst = &out[static_cast<size_t>(r) * out_cols * channels];
    for (int x = 0; x < out_cols; ++x) {
      const Taps& t = taps[static_cast<size_t>(x)];
      for (int c = 0; c < channels; ++c) {
        double v = 0;
        for (size_t k = 0; k < t.weights.size(); ++k) v += t.weights[k] * src[(t.first + k) * channels + c];
        dst[x * channels + c] = v;
      }
    }
  }
  return out;
}

// Pixels resampled along rows to `out_rows`.
std::vector<double> resample_rows(const std::vector<double>& in, int rows, int cols, int channels,
                                  int out_rows) {
  const std::vector<Taps> taps = bilinear_taps(rows, out_rows);
  const size_t row_len = static_cast<size_t>(cols) * channels;
  std::vector<double> out(static_cast<size_t>(out_rows) * row_len, 0.0);
  for (int y = 0; y < out_rows; ++y) {
    const Taps& t = taps[static_cast<size_t>(y)];
    double* dst = &out[y * row_len];
    for (size_t k = 0; k < t.weights.size(); ++k) {
      const double* src = &in[(t.first + k) * row_len];
      for (size_t i = 0; i < row_len; ++i) dst[i] += t.weights[k] * src[i];
    }
  }
  return out;
}

// The image as float pixels with the model's channels: gray from RGB by
// luma, RGB from gray by repetition; alpha is dropped.
std::vector<double> convert_channels(const Image& img, int channels) {
  const size_t n = static_cast<size_t>(img.height) * img.width;
  const bool source_rgb = img.channels >= 3;
  std::vector<double> out(n * channels);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = &img.pixels[i * img.channels];
    if (channels == 1) {
      out[i] = source_rgb ? 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2] : p[0];
    } else {
      for (int c = 0; c < 3; ++c) out[i * 3 + c] = source_rgb ? p[c] : p[0];
    }
  }
  return out;
}

}  // namespace

std::vector<double> resize_short_side(const std::vector<double>& pixels, int& height, int& width,
                                      int channels, int short_side) {
  const double r = static_cast<double>(short_side) / std::min(height, width);
  // Python's round() (half to even), as the quantizer's preprocessing.
  const int new_h = std::max(1, static_cast<int>(std::nearbyint(height * r)));
  const int new_w = std::max(1, static_cast<int>(std::nearbyint(width * r)));
  CVM_VERIFY(int64_t(new_h) * new_w <= kMaxImagePixels)
      << "resizing to " << new_h << " x " << new_w << " is more than " << kMaxImagePixels
      << " pixels";
  std::vector<double> out = pixels;
  if (new_w != width) out = resample_columns(out, height, width, channels, new_w);
  if (new_h != height) out = resample_rows(out, height, new_w, channels, new_h);
  height = new_h;
  width = new_w;
  return out;
}

std::vector<int32_t> preprocess_image(const Image& image, const std::string& image_name,
                                      const ModelMeta& meta, const ImageInputShape& shape) {
  const InputMeta& in = meta.input;
  const std::string& mp = meta.path;
  CVM_VERIFY(shape.channels == 1 || shape.channels == 3)
      << "the model's input has " << shape.channels
      << " channels; images fit models of 1 (gray) or 3 (rgb) channels";
  const std::string want = shape.channels == 1 ? "gray" : "rgb";
  CVM_VERIFY(in.color.empty() || in.color == want)
      << mp << ": \"input.color\" is \"" << in.color << "\" but the model's input has "
      << shape.channels << " channel" << (shape.channels == 1 ? "" : "s");
  for (const auto* list : {&in.mean, &in.std}) {
    CVM_VERIFY(list->size() == 1 || list->size() == static_cast<size_t>(shape.channels))
        << mp << ": \"input." << (list == &in.mean ? "mean" : "std") << "\" has "
        << list->size() << " values for " << shape.channels << " channels";
  }
  if (in.crop_height > 0) {
    CVM_VERIFY(in.crop_height == shape.height && in.crop_width == shape.width)
        << mp << ": \"input.crop\" is [" << in.crop_height << ", " << in.crop_width
        << "] but the model's input is " << shape.height << " x " << shape.width;
  }
  int h = image.height, w = image.width;
  std::vector<double> px = convert_channels(image, shape.channels);
  if (in.resize > 0) {
    px = resize_short_side(px, h, w, shape.channels, in.resize);
  }
  // Centre crop to the model's size (the crop, checked equal to it above).
  CVM_VERIFY(h >= shape.height && w >= shape.width)
      << image_name << ": a " << image.height << " x " << image.width << " image"
      << (in.resize > 0 ? " (" + std::to_string(h) + " x " + std::to_string(w) + " resized)" : "")
      << " is smaller than the model's " << shape.height << " x " << shape.width << " input ("
      << mp << (in.resize > 0 ? "" : " has no \"resize\"") << ")";
  CVM_VERIFY(in.crop_height > 0 || (h == shape.height && w == shape.width))
      << image_name << ": a " << h << " x " << w << " image, the model takes " << shape.height
      << " x " << shape.width << " and " << mp << " has no \"crop\"";
  const int top = (h - shape.height) / 2, left = (w - shape.width) / 2;
  const double hi = static_cast<double>((int64_t(1) << (std::min(shape.precision, 32) - 1)) - 1);
  std::vector<int32_t> out(static_cast<size_t>(shape.channels) * shape.height * shape.width);
  for (int c = 0; c < shape.channels; ++c) {
    const double mean = in.mean.size() == 1 ? in.mean[0] : in.mean[c];
    const double stdev = in.std.size() == 1 ? in.std[0] : in.std[c];
    for (int y = 0; y < shape.height; ++y) {
      for (int x = 0; x < shape.width; ++x) {
        const double pixel = px[(static_cast<size_t>(top + y) * w + (left + x)) * shape.channels + c];
        double v = std::round(((pixel - mean) / stdev) * in.scale);  // half away from zero
        v = std::min(hi, std::max(-hi, v));
        out[(static_cast<size_t>(c) * shape.height + y) * shape.width + x] = static_cast<int32_t>(v);
      }
    }
  }
  return out;
}

}  // namespace cli
}  // namespace cvm
