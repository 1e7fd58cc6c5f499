// model.json: the optional metadata file beside symbol.json and params.bin
// (format in README, "cvm-run"): the task, class names and the input's
// preprocessing. Written by the quantizer; the runtime's loader never reads it.
#pragma once

#include <string>
#include <vector>

namespace cvm {
namespace cli {

struct InputMeta {
  std::string transform;      // informative: mnist, cifar10, imagenet, custom
  std::string color;          // "gray", "rgb" or "" (from the model's channels)
  int resize = 0;             // short side to resize to (bilinear), 0 = none
  int crop_height = 0, crop_width = 0;  // centre crop; 0 = none
  std::vector<double> mean, std;        // per channel (or one for all), pixel units
  double scale = 0;           // int value = round(((pixel - mean) / std) * scale)
};

struct ModelMeta {
  std::string path;  // the model.json file, for messages
  std::string task;
  std::vector<std::string> classes;
  bool has_input = false;
  InputMeta input;
};

// Reads and checks `path`. Throws cvm::Error (code 1) naming the file and
// the field when it is malformed; IoError when it cannot be read.
ModelMeta read_model_meta(const std::string& path);

}  // namespace cli
}  // namespace cvm
