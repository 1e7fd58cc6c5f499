// cvm-run --image: PNG files made here (a minimal encoder: stored deflate
// blocks), preprocessed as model.json says, give the output of the values
// the MODEL_META formula computes; uint8 .npy images likewise; and the
// errors of images and metadata.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include "cli_util.h"
#include "cvm/model.hpp"
#include "runtime/npy.h"

namespace {

uint32_t crc32(const std::string& bytes) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : bytes) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

uint32_t adler32(const std::string& bytes) {
  uint32_t a = 1, b = 0;
  for (unsigned char c : bytes) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  return (b << 16) | a;
}

void put_be32(std::string& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out += static_cast<char>((v >> s) & 0xFF);
}

void chunk(std::string& png, const char* type, const std::string& data) {
  put_be32(png, static_cast<uint32_t>(data.size()));
  const std::string body = std::string(type, 4) + data;
  png += body;
  put_be32(png, crc32(body));
}

// A PNG of 8-bit gray (channels 1) or RGB (3) pixels, rows of interleaved
// channels, compressed with stored (uncompressed) deflate blocks.
std::string make_png(int width, int height, int channels, const std::vector<uint8_t>& pixels) {
  std::string raw;
  for (int y = 0; y < height; ++y) {
    raw += '\0';  // filter: none
    raw.append(reinterpret_cast<const char*>(&pixels[static_cast<size_t>(y) * width * channels]),
               static_cast<size_t>(width) * channels);
  }
  std::string z = "\x78\x01";
  for (size_t at = 0; at < raw.size() || at == 0; at += 65535) {
    const size_t n = std::min<size_t>(65535, raw.size() - at);
    z += static_cast<char>(at + n >= raw.size() ? 1 : 0);  // BFINAL, BTYPE 00
    z += static_cast<char>(n & 0xFF);
    z += static_cast<char>(n >> 8);
    z += static_cast<char>(~n & 0xFF);
    z += static_cast<char>((~n >> 8) & 0xFF);
    z += raw.substr(at, n);
    if (raw.empty()) break;
  }
  put_be32(z, adler32(raw));
  std::string ihdr;
  put_be32(ihdr, static_cast<uint32_t>(width));
  put_be32(ihdr, static_cast<uint32_t>(height));
  ihdr += std::string("\x08", 1) + static_cast<char>(channels == 1 ? 0 : 2) + std::string(3, '\0');
  std::string png("\x89PNG\r\n\x1a\n", 8);
  chunk(png, "IHDR", ihdr);
  chunk(png, "IDAT", z);
  chunk(png, "IEND", "");
  return png;
}

const double kMean = 72.94, kStd = 90.02, kScale = 31.75;

// LeNet copied with a model.json (gray, 28 x 28, Fashion-MNIST numbers).
fs::path lenet_with_meta(int resize, double scale = kScale) {
  const fs::path dir = scratch() / ("lenet_meta_" + std::to_string(resize) + "_" + std::to_string(scale));
  fs::create_directories(dir);
  for (const char* f : {"symbol.json", "params.bin"}) {
    fs::copy_file(kLenet / f, dir / f, fs::copy_options::overwrite_existing);
  }
  spit(dir / "model.json",
       "{\"cvm_model_meta\": 1, \"task\": \"classification\",\n"
       " \"classes\": [\"T-shirt/top\", \"Trouser\", \"Pullover\", \"Dress\", \"Coat\", \"Sandal\",\n"
       "             \"Shirt\", \"Sneaker\", \"Bag\", \"Ankle boot\"],\n"
       " \"input\": {\"transform\": \"mnist\", \"color\": \"gray\", \"resize\": " +
           std::to_string(resize) + ", \"crop\": [28, 28],\n" +
           "           \"mean\": [72.94], \"std\": [90.02], \"scale\": " + std::to_string(scale) + "}}\n");
  return dir;
}

// The MODEL_META formula: round half away from zero, clamp to int8's +-127.
int8_t quantize(double pixel, double scale = kScale) {
  const double v = std::round((pixel - kMean) / kStd * scale);
  return static_cast<int8_t>(std::max(-127.0, std::min(127.0, v)));
}

std::string lenet_output_of(const std::vector<int8_t>& input) {
  auto model = cvm::Model::load_files((kLenet / "symbol.json").string(), (kLenet / "params.bin").string());
  std::vector<uint8_t> bytes(input.begin(), input.end());
  auto out = model->infer(bytes);
  return std::string(out.begin(), out.end());
}

std::vector<uint8_t> pattern(int width, int height, int channels) {
  std::vector<uint8_t> px(static_cast<size_t>(width) * height * channels);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>((i * 37 + i / 7) % 256);
  return px;
}

}  // namespace

TEST_CASE("cvm-run --image: a gray PNG is normalised and quantised as model.json says", "[cli]") {
  const fs::path model = lenet_with_meta(0);
  const fs::path dir = scratch();
  const auto px = pattern(28, 28, 1);
  spit(dir / "gray.png", make_png(28, 28, 1, px));
  std::vector<int8_t> expected;
  for (uint8_t p : px) expected.push_back(quantize(p));

  auto r = cvm_run("--model " + model.string() + " --image " + (dir / "gray.png").string() +
                   " --output " + (dir / "gray_out.bin").string());
  REQUIRE(r.code == 0);
  CHECK(r.err.empty());
  CHECK(slurp(dir / "gray_out.bin") == lenet_output_of(expected));

  // The same pixels as a uint8 .npy, through --input and --image.
  std::vector<int32_t> values(px.begin(), px.end());
  std::string npy = cvm::make_npy({28, 28}, values, true);
  npy.replace(npy.find("|i1"), 3, "|u1");
  spit(dir / "gray_u8.npy", npy);
  for (const char* flag : {" --input ", " --image "}) {
    INFO(flag);
    r = cvm_run("--model " + model.string() + flag + (dir / "gray_u8.npy").string() +
                " --output " + (dir / "npy_out.bin").string());
    CHECK(r.code == 0);
    CHECK(slurp(dir / "npy_out.bin") == lenet_output_of(expected));
  }

  // A larger scale reaches the clamp at +-127 (value 202 for pixel 255).
  std::vector<int8_t> clamped;
  for (uint8_t p : px) clamped.push_back(quantize(p, 100));
  CHECK(*std::max_element(clamped.begin(), clamped.end()) == 127);
  r = cvm_run("--model " + lenet_with_meta(0, 100).string() + " --image " +
              (dir / "gray.png").string() + " --output " + (dir / "clamp_out.bin").string());
  REQUIRE(r.code == 0);
  CHECK(slurp(dir / "clamp_out.bin") == lenet_output_of(clamped));
}

TEST_CASE("cvm-run --image: RGB to gray by luma, and resize of the short side", "[cli]") {
  const fs::path dir = scratch();
  const auto px = pattern(28, 28, 3);
  spit(dir / "rgb.png", make_png(28, 28, 3, px));
  std::vector<int8_t> expected;
  for (size_t i = 0; i < px.size(); i += 3) {
    expected.push_back(quantize(0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2]));
  }
  auto r = cvm_run("--model " + lenet_with_meta(0).string() + " --image " +
                   (dir / "rgb.png").string() + " --output " + (dir / "rgb_out.bin").string());
  REQUIRE(r.code == 0);
  CHECK(slurp(dir / "rgb_out.bin") == lenet_output_of(expected));

  // 60 x 45 of one colour: resized to 37 x 28 and cropped, every value is that
  // colour's luma (124.2 -> 18), whatever the filter's weights.
  std::vector<uint8_t> flat;
  for (int i = 0; i < 60 * 45; ++i) flat.insert(flat.end(), {200, 100, 50});
  spit(dir / "flat.png", make_png(60, 45, 3, flat));
  r = cvm_run("--model " + lenet_with_meta(28).string() + " --image " + (dir / "flat.png").string() +
              " --output " + (dir / "flat_out.bin").string());
  REQUIRE(r.code == 0);
  CHECK(quantize(124.2) == 18);
  CHECK(slurp(dir / "flat_out.bin") == lenet_output_of(std::vector<int8_t>(784, 18)));
  // Without a resize, the 60 x 45 image is centre-cropped to 28 x 28.
  r = cvm_run("--model " + lenet_with_meta(0).string() + " --image " + (dir / "flat.png").string() +
              " --output " + (dir / "flat_out0.bin").string());
  REQUIRE(r.code == 0);
  CHECK(slurp(dir / "flat_out0.bin") == lenet_output_of(std::vector<int8_t>(784, 18)));
}

TEST_CASE("cvm-run --image: errors name the image or model.json", "[cli]") {
  const fs::path dir = scratch();
  spit(dir / "small.png", make_png(20, 20, 1, pattern(20, 20, 1)));
  // No model.json beside the model.
  auto r = cvm_run("--model " + kLenet.string() + " --image " + (dir / "small.png").string());
  CHECK(r.code == 1);
  CHECK(r.err == "cvm-run: " + (kLenet / "model.json").string() +
                     ": no such file; --image needs the model folder's model.json (written by "
                     "cvm.quantize) to know the model's preprocessing\n");
  const fs::path model = lenet_with_meta(0);
  r = cvm_run("--model " + model.string() + " --image " + (dir / "small.png").string());
  CHECK(r.code == 1);
  CHECK(r.err == "cvm-run: " + (dir / "small.png").string() +
                     ": a 20 x 20 image is smaller than the model's 28 x 28 input (" +
                     (model / "model.json").string() + " has no \"resize\")\n");
  spit(dir / "text.png", "not an image at all");
  r = cvm_run("--model " + model.string() + " --image " + (dir / "text.png").string());
  CHECK(r.code == 1);
  CHECK(r.err == "cvm-run: " + (dir / "text.png").string() + ": not a PNG or JPEG image\n");
  std::string broken = make_png(28, 28, 1, pattern(28, 28, 1));
  broken.resize(60);
  spit(dir / "broken.png", broken);
  r = cvm_run("--model " + model.string() + " --image " + (dir / "broken.png").string());
  CHECK(r.code == 1);
  CHECK(contains(r.err, (dir / "broken.png").string() + ": cannot decode the PNG image"));
  spit(dir / "ok.png", make_png(28, 28, 1, pattern(28, 28, 1)));
  r = cvm_run("--model " + model.string() + " --image " + (dir / "ok.png").string() + " --image " +
              (dir / "ok.png").string());
  CHECK(r.code == 1);
  CHECK(contains(r.err, "the model takes a batch of 1 image, 2 given"));
  // A crop that is not the model's input size.
  const fs::path bad_crop = scratch() / "lenet_bad_crop";
  fs::create_directories(bad_crop);
  for (const char* f : {"symbol.json", "params.bin"}) {
    fs::copy_file(model / f, bad_crop / f, fs::copy_options::overwrite_existing);
  }
  spit(bad_crop / "model.json",
       "{\"cvm_model_meta\": 1, \"input\": {\"crop\": [32, 32], \"mean\": [0], \"std\": [1], \"scale\": 1}}");
  r = cvm_run("--model " + bad_crop.string() + " --image " + (dir / "ok.png").string());
  CHECK(r.code == 1);
  CHECK(contains(r.err, (bad_crop / "model.json").string() +
                            ": \"input.crop\" is [32, 32] but the model's input is 28 x 28"));
  // A uint8 .npy without model.json: the values must fit int8, and the
  // message says what would preprocess it.
  std::vector<int32_t> values(784, 176);
  std::string npy = cvm::make_npy({1, 1, 28, 28}, values, true);
  npy.replace(npy.find("|i1"), 3, "|u1");
  spit(dir / "u8.npy", npy);
  r = cvm_run("--model " + kLenet.string() + " --input " + (dir / "u8.npy").string());
  CHECK(r.code == 1);
  CHECK(contains(r.err, (dir / "u8.npy").string() + ": value 176 at index 0 does not fit the model's int8 input"));
  CHECK(contains(r.err, "model.json"));
}
