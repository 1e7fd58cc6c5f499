// cvm-run: the model's input bytes (the C API's layout) from --input (raw
// bytes or .npy; "-" is stdin) or --image (PNG, JPEG, uint8 .npy) files,
// reading no more of a file than the model takes plus one byte.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/cli/model_files.h"

namespace cvm {
namespace cli {

// `input` (may be "") and `images` (may be empty): exactly one is given.
std::vector<uint8_t> read_model_input(const std::string& input,
                                      const std::vector<std::string>& images,
                                      const LoadedModel& model);

// Input bytes of uniformly random values over the input precision's range,
// the same for a given seed.
std::vector<uint8_t> random_input(const cvm::Model& model, uint32_t seed);

}  // namespace cli
}  // namespace cvm
