#include "runtime/cli/model_files.h"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "runtime/cli/cli.h"
#include "runtime/cli/files.h"

namespace cvm {
namespace cli {

namespace {

// The most bytes read of each model file: the loader's own JSON limit, and
// a params blob no model needs.
constexpr size_t kMaxSymbolBytes = size_t(64) << 20;
constexpr size_t kMaxParamsBytes = size_t(4) << 30;

bool exists(const std::string& path, bool* is_dir) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return false;
  *is_dir = S_ISDIR(st.st_mode);
  return true;
}

std::string dirname_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
}

void check_folder(const ModelPaths& p) {
  bool dir = false;
  if (!p.folder.empty()) {
    if (!exists(p.folder, &dir)) throw IoError(p.folder + ": no such model folder");
    if (!dir) {
      throw IoError(p.folder +
                    ": not a folder (--model takes the folder that holds symbol.json and params.bin)");
    }
  }
  for (const std::string* f : {&p.symbol, &p.params}) {
    if (!p.folder.empty() && !exists(*f, &dir)) {
      throw IoError(p.folder + ": the model folder has no " + f->substr(f->find_last_of('/') + 1));
    }
  }
}

// The operator of each head's node ("" when the graph does not say).
std::vector<std::string> head_operators(const std::string& symbol) {
  std::vector<std::string> ops;
  try {
    const nlohmann::json g = nlohmann::json::parse(symbol);
    for (const auto& head : g.at("heads")) {
      const auto& node = g.at("nodes").at(head.at(0).get<size_t>());
      std::string op;
      if (node.contains("attrs") && node["attrs"].contains("func_name")) {
        op = node["attrs"]["func_name"].get<std::string>();
      }
      ops.push_back(op);
    }
  } catch (const nlohmann::json::exception&) {
    ops.clear();  // the loader accepted it; this is only a hint for the summary
  }
  return ops;
}

}  // namespace

LoadedModel load_model(const ModelPaths& paths) {
  check_folder(paths);
  LoadedModel m;
  m.label = paths.folder.empty() ? paths.symbol : paths.folder;
  m.meta_path = (paths.folder.empty() ? dirname_of(paths.symbol) : paths.folder) + "/model.json";

  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  const std::string symbol = read_at_most(paths.symbol, kMaxSymbolBytes, "a graph JSON");
  // A params file is mapped by the loader (each weight's pages leave memory
  // once it is packed: one copy of the weights at the peak); stdin or a pipe
  // is read.
  struct stat st;
  const bool map = !is_stdio(paths.params) && ::stat(paths.params.c_str(), &st) == 0 &&
                   S_ISREG(st.st_mode);
  std::string params;
  if (map) {
    CVM_VERIFY(static_cast<unsigned long long>(st.st_size) <= kMaxParamsBytes)
        << paths.params << ": " << st.st_size << " bytes, more than the " << kMaxParamsBytes
        << " accepted for a params blob";
  } else {
    params = read_at_most(paths.params, kMaxParamsBytes, "a params blob");
  }
  const auto t1 = Clock::now();
  try {
    m.model = map ? cvm::Model::load_params_file(symbol, paths.params)
                  : cvm::Model::load(symbol, params);
  } catch (const cvm::Error& e) {
    const std::string what = e.what();
    if (what.find("[json.exception.parse_error") != std::string::npos) {
      const std::string where = json_syntax_error(symbol);
      if (!where.empty()) throw cvm::Error(e.code(), paths.symbol + ": " + where);
    }
    throw cvm::Error(e.code(), m.label + ": " + what);
  }
  const auto t2 = Clock::now();
  m.read_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
  m.load_ms = std::chrono::duration<double, std::milli>(t2 - t1).count();
  m.head_ops = head_operators(symbol);

  bool dir = false;
  if (exists(m.meta_path, &dir)) {
    m.meta = read_model_meta(m.meta_path);
    m.has_meta = true;
  }
  return m;
}

}  // namespace cli
}  // namespace cvm
