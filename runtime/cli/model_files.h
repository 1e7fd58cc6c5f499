// cvm-run: finding and loading the model folder (symbol.json, params.bin and
// the optional model.json), with errors that name the folder or file.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cvm/model.hpp"
#include "runtime/cli/model_meta.h"

namespace cvm {
namespace cli {

struct ModelPaths {
  std::string folder;          // --model DIR ("" with --symbol/--params)
  std::string symbol, params;  // the files themselves
};

struct LoadedModel {
  std::unique_ptr<cvm::Model> model;
  std::string label;       // the folder, or the symbol file, for messages
  std::string meta_path;   // where model.json is (or would be)
  bool has_meta = false;
  ModelMeta meta;
  std::vector<std::string> head_ops;  // operator of each output's node
  double read_ms = 0;  // reading the graph (and a params blob that is not a file to map)
  double load_ms = 0;  // parsing, verifying and planning (cvm::Model::load)
};

// Checks that the folder and its files exist (IoError naming the missing
// one), reads them, loads the model (cvm::Error with the library's code,
// prefixed by the folder; a JSON syntax error names the file, line and
// column) and reads model.json when present.
LoadedModel load_model(const ModelPaths& paths);

}  // namespace cli
}  // namespace cvm
