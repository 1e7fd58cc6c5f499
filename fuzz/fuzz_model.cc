// libFuzzer target: a whole model through the C++ API, then an inference.
//
// The fuzz input is   graph JSON <SEP> params blob <SEP> input seed
// where SEP is kSeparator (fuzz/make_corpus.sh writes seeds in this form; a
// missing separator leaves the later parts empty). The inference input is
// exactly input_length() bytes: the seed bytes repeated (zeros when empty).
//
// The model is loaded with a memory limit, and inference is skipped when the
// gas exceeds kMaxGas, so one execution stays small and fast; both limits are
// far above what the seeds need. Every input must end in success or a
// cvm::Error of class 1 or 2.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cvm/model.hpp"

namespace {

constexpr char kSeparator[] = "\n#CVM#\n";
constexpr size_t kMaxMemory = size_t(64) << 20;
constexpr int64_t kMaxGas = 20'000'000;

std::string next_part(const std::string& all, size_t* pos) {
  if (*pos > all.size()) return std::string();
  size_t end = all.find(kSeparator, *pos);
  std::string part;
  if (end == std::string::npos) {
    part = all.substr(*pos);
    *pos = all.size() + 1;
  } else {
    part = all.substr(*pos, end - *pos);
    *pos = end + sizeof(kSeparator) - 1;
  }
  return part;
}

void check_code(const cvm::Error& e) {
  if (e.code() != cvm::kErrorLogic && e.code() != cvm::kErrorRuntime) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string all(reinterpret_cast<const char*>(data), size);
  size_t pos = 0;
  std::string json = next_part(all, &pos);
  std::string params = next_part(all, &pos);
  std::string seed = pos <= all.size() ? all.substr(pos) : std::string();

  std::unique_ptr<cvm::Model> model;
  try {
    cvm::LoadOptions options;
    options.max_memory_bytes = kMaxMemory;
    model = cvm::Model::load(json, params, options);
  } catch (const cvm::Error& e) {
    check_code(e);
    return 0;
  }
  // The figures the C API reports.
  (void)model->version();
  (void)model->postprocess_method();
  (void)model->outputs();
  (void)model->storage_size();
  int64_t gas = 0;
  try {
    gas = model->gas();
  } catch (const cvm::Error& e) {
    if (e.code() != cvm::kErrorLogic) std::abort();
    return 0;
  }
  if (gas > kMaxGas) return 0;

  std::vector<uint8_t> input(model->input_length());
  for (size_t i = 0; i < input.size() && !seed.empty(); ++i) {
    input[i] = static_cast<uint8_t>(seed[i % seed.size()]);
  }
  try {
    std::vector<uint8_t> output = model->infer(input);
    if (output.size() != model->output_length()) std::abort();
  } catch (const cvm::Error& e) {
    check_code(e);
  }
  return 0;
}
