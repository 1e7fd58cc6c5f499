#include "runtime/cli/input.h"

#include <random>
#include <sstream>

#include "base/error.h"
#include "runtime/cli/files.h"
#include "runtime/cli/image.h"
#include "runtime/cli/preprocess.h"
#include "runtime/npy.h"

namespace cvm {
namespace cli {

namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::ostringstream s;
  s << '(';
  for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
  if (shape.size() == 1) s << ',';
  s << ')';
  return s.str();
}

// Runs `body`, prefixing the message of any cvm::Error with the file's name.
template <typename F>
auto naming(const std::string& name, F body) -> decltype(body()) {
  try {
    return body();
  } catch (const cvm::Error& e) {
    const std::string what = e.what();
    if (what.compare(0, name.size() + 1, name + ":") == 0) throw;
    throw cvm::Error(e.code(), name + ": " + what);
  }
}

void put_value(std::vector<uint8_t>& out, int32_t v, size_t type_size) {
  const uint32_t u = static_cast<uint32_t>(v);
  for (size_t b = 0; b < type_size; ++b) out.push_back(static_cast<uint8_t>((u >> (8 * b)) & 0xFF));
}

// Values to input bytes; each must fit the input's element type.
std::vector<uint8_t> values_to_bytes(const std::vector<int64_t>& values, const cvm::Model& model,
                                     const std::string& name, bool uint8_source) {
  const size_t ts = model.input_type_size();
  const int64_t lo = ts == 1 ? -128 : INT32_MIN, hi = ts == 1 ? 127 : INT32_MAX;
  std::vector<uint8_t> out;
  out.reserve(values.size() * ts);
  for (size_t i = 0; i < values.size(); ++i) {
    const int64_t v = values[i];
    CVM_VERIFY(v >= lo && v <= hi)
        << name << ": value " << v << " at index " << i << " does not fit the model's "
        << (ts == 1 ? "int8" : "int32") << " input"
        << (uint8_source ? " (a uint8 image is preprocessed only when the model folder has a "
                           "model.json with an \"input\" section)"
                         : "");
    put_value(out, static_cast<int32_t>(v), ts);
  }
  return out;
}

struct ImageBatch {
  std::vector<uint8_t> bytes;
  int images = 0;
};

const ModelMeta& require_input_meta(const LoadedModel& m, const std::string& why) {
  CVM_VERIFY(m.has_meta) << m.meta_path << ": no such file; " << why
                         << " needs the model folder's model.json (written by cvm.quantize) "
                            "to know the model's preprocessing";
  CVM_VERIFY(m.meta.has_input) << m.meta_path << ": no \"input\" section; " << why
                               << " needs it to know the model's preprocessing";
  return m.meta;
}

ImageInputShape image_shape(const cvm::Model& model, const std::string& name) {
  const auto in = model.input();
  CVM_VERIFY(in.shape.size() == 4)
      << name << ": the model's input " << shape_text(in.shape)
      << " is not a batch of images (N, C, H, W)";
  ImageInputShape s;
  s.channels = static_cast<int>(in.shape[1]);
  s.height = static_cast<int>(in.shape[2]);
  s.width = static_cast<int>(in.shape[3]);
  s.precision = in.precision;
  return s;
}

// Appends the preprocessed values of one image.
void add_image(ImageBatch& batch, const Image& img, const std::string& name, const LoadedModel& m) {
  const ImageInputShape shape = image_shape(*m.model, name);
  for (int32_t v : preprocess_image(img, name, m.meta, shape)) {
    put_value(batch.bytes, v, m.model->input_type_size());
  }
  ++batch.images;
}

// A uint8 array of images: (H, W), (H, W, C) or (N, H, W) by the last
// dimension (C is 1, 3 or 4), (N, H, W, C), or the model's own NCHW shape.
void add_npy_images(ImageBatch& batch, const NpyHeader& h, const std::vector<int64_t>& values,
                    const std::string& name, const LoadedModel& m) {
  const auto& s = h.shape;
  const auto model_shape = m.model->input().shape;
  auto is_c = [](int64_t c) { return c == 1 || c == 3 || c == 4; };
  int64_t n = 1, hh = 0, ww = 0, c = 1;
  bool planar = false;
  if (s.size() == 2) {
    hh = s[0], ww = s[1];
  } else if (s.size() == 3 && is_c(s[2])) {
    hh = s[0], ww = s[1], c = s[2];
  } else if (s.size() == 3) {
    n = s[0], hh = s[1], ww = s[2];
  } else if (s.size() == 4 && s == model_shape && !is_c(s[3])) {
    n = s[0], c = s[1], hh = s[2], ww = s[3];
    planar = true;
  } else if (s.size() == 4 && is_c(s[3])) {
    n = s[0], hh = s[1], ww = s[2], c = s[3];
  } else {
    CVM_VERIFY(false) << name << ": a uint8 array of shape " << shape_text(s)
                      << " is not an image: expected (H, W), (H, W, C), (N, H, W), "
                         "(N, H, W, C) with C 1, 3 or 4, or the model's "
                      << shape_text(model_shape);
  }
  CVM_VERIFY(hh > 0 && ww > 0 && hh * ww <= kMaxImagePixels && c >= 1 && c <= 4)
      << name << ": images of " << hh << " x " << ww << " x " << c << " are not accepted";
  for (int64_t i = 0; i < n; ++i) {
    Image img;
    img.height = static_cast<int>(hh);
    img.width = static_cast<int>(ww);
    img.channels = static_cast<int>(c);
    img.pixels.resize(static_cast<size_t>(hh * ww * c));
    const int64_t* src = &values[static_cast<size_t>(i * hh * ww * c)];
    for (int64_t p = 0; p < hh * ww; ++p) {
      for (int64_t k = 0; k < c; ++k) {
        img.pixels[static_cast<size_t>(p * c + k)] =
            static_cast<uint8_t>(planar ? src[k * hh * ww + p] : src[p * c + k]);
      }
    }
    add_image(batch, img, name + (n > 1 ? "[" + std::to_string(i) + "]" : ""), m);
  }
}

bool has_npy_magic(const std::string& head) { return head.compare(0, 6, "\x93NUMPY") == 0; }

// An .npy file whose first bytes are `head`: reads the header, checks the
// shape against the model before reading the data, then exactly the data.
// A uint8 array is a batch of images (appended to `batch`, returns nothing)
// when model.json says how to preprocess them; any other array must have the
// model's input shape and returns its bytes. `image_option`: given to --image.
std::vector<uint8_t> read_npy(FileReader& in, std::string head, const LoadedModel& m,
                              ImageBatch& batch, bool image_option) {
  const std::string& name = in.path();
  return naming(name, [&]() -> std::vector<uint8_t> {
    if (head.size() < kNpyPreamble) in.read_into(head, kNpyPreamble - head.size());
    const size_t offset = npy_data_offset(head);
    if (head.size() < offset) in.read_into(head, offset - head.size());
    const NpyHeader h = parse_npy_header(head);
    const bool uint8 = h.kind == 'u' && h.width == 1;
    if (image_option) {
      require_input_meta(m, "an .npy given to --image");
      CVM_VERIFY(uint8) << "--image takes a uint8 array, not " << h.descr;
    }
    const bool as_images = uint8 && m.has_meta && m.meta.has_input;
    const auto model_shape = m.model->input().shape;
    CVM_VERIFY(as_images || h.shape == model_shape)
        << "shape " << shape_text(h.shape) << ", the model takes " << shape_text(model_shape);
    const size_t limit = static_cast<size_t>(4 * kMaxImagePixels * std::max<int64_t>(1, model_shape[0]));
    CVM_VERIFY(!as_images || h.data_bytes() <= limit)
        << "shape " << shape_text(h.shape) << " is more than the images the model takes";
    std::string data = in.read(h.data_bytes() + 1);
    CVM_VERIFY(data.size() >= h.data_bytes())
        << "data truncated: shape " << shape_text(h.shape) << " needs " << h.data_bytes()
        << " bytes of " << h.descr << ", the file has " << data.size();
    CVM_VERIFY(data.size() == h.data_bytes())
        << "longer than its shape " << shape_text(h.shape) << " says (" << h.data_bytes()
        << " bytes of data)";
    const auto values = decode_npy_values(h, reinterpret_cast<const unsigned char*>(data.data()));
    if (!as_images) return values_to_bytes(values, *m.model, name, uint8);
    add_npy_images(batch, h, values, name, m);
    return {};
  });
}

std::vector<uint8_t> check_batch(ImageBatch batch, const LoadedModel& m) {
  const int64_t n = m.model->input().shape[0];
  CVM_VERIFY(batch.images == n) << m.label << ": the model takes a batch of " << n << " image"
                                << (n == 1 ? "" : "s") << ", " << batch.images << " given";
  return std::move(batch.bytes);
}

}  // namespace

std::vector<uint8_t> read_model_input(const std::string& input,
                                      const std::vector<std::string>& images,
                                      const LoadedModel& m) {
  if (!images.empty()) {
    require_input_meta(m, "--image");
    ImageBatch batch;
    for (const std::string& path : images) {
      FileReader in(path);
      std::string head = in.read(8);
      if (has_npy_magic(head)) {
        read_npy(in, head, m, batch, /*image_option=*/true);
        continue;
      }
      std::string bytes = head;
      in.read_into(bytes, kMaxImageFileBytes + 1 - bytes.size());
      CVM_VERIFY(bytes.size() <= kMaxImageFileBytes)
          << in.path() << ": more than the " << kMaxImageFileBytes << " bytes accepted for an image";
      add_image(batch, decode_image(bytes, in.path()), in.path(), m);
    }
    return check_batch(std::move(batch), m);
  }
  FileReader in(input);
  const size_t length = m.model->input_length();
  std::string head = in.read(6);
  if (ends_with(input, ".npy") || (is_stdio(input) && has_npy_magic(head))) {
    ImageBatch batch;
    std::vector<uint8_t> bytes = read_npy(in, head, m, batch, /*image_option=*/false);
    return batch.images == 0 ? bytes : check_batch(std::move(batch), m);
  }
  std::string bytes = head;
  in.read_into(bytes, length + 1 - std::min(bytes.size(), length + 1));
  CVM_VERIFY(bytes.size() <= length) << in.path() << ": more than the " << length
                                     << " bytes the model's input takes";
  CVM_VERIFY(bytes.size() == length)
      << in.path() << ": " << bytes.size() << " bytes, the model's input takes " << length
      << " (raw " << (m.model->input_type_size() == 1 ? "int8" : "little-endian int32")
      << " values; name the file .npy for a NumPy array)";
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

std::vector<uint8_t> random_input(const cvm::Model& model, uint32_t seed) {
  std::mt19937 rng(seed);
  const int p = std::min(model.input().precision, 32);
  const int64_t hi = (int64_t(1) << (p - 1)) - 1;
  std::uniform_int_distribution<int64_t> dist(-hi, hi);
  const size_t ts = model.input_type_size();
  std::vector<uint8_t> out;
  out.reserve(model.input_length());
  for (size_t i = 0; i < model.input_length() / ts; ++i) {
    put_value(out, static_cast<int32_t>(dist(rng)), ts);
  }
  return out;
}

}  // namespace cli
}  // namespace cvm
