// cvm-run: what the output means -- a classifier's scores (argmax, top K
// with class names from model.json), a detector's boxes as rows of
// [id, score, x1, y1, x2, y2], or raw values -- as text or as JSON.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/cli/model_files.h"

namespace cvm {
namespace cli {

enum class OutputKind {
  kClassifier,  // one head of shape (N, K) or (N, K, 1, ...): scores per class
  kArgmax,      // "postprocess": "argmax": one class index per row
  kDetection,   // rows of [id, score, x1, y1, x2, y2, ...]; id < 0 is no box
  kRaw,         // none of these
};

struct OutputView {
  OutputKind kind = OutputKind::kRaw;
  std::vector<int64_t> shape;  // of the output bytes as a whole
  std::string type;            // "int8" or "int32"
  std::vector<int32_t> values;
  int64_t rows = 0, width = 0;  // classifier: rows of `width` scores; detection: boxes
  std::string why_raw;          // kRaw: what was not recognised
};

struct ScoredClass {
  int64_t index = 0;
  int32_t score = 0;
};

// Interprets the output bytes of `m`.
OutputView view_output(const LoadedModel& m, const std::vector<uint8_t>& bytes);

// The `k` best classes of a classifier's row, best first (ties: lower index).
std::vector<ScoredClass> top_classes(const OutputView& v, int64_t row, int k);

// Timing figures of a run, for the summary.
struct RunTimes {
  double read_ms = 0, load_ms = 0, first_ms = 0;
  std::vector<double> repeat_ms;  // --repeat runs, sorted
};

// The text summary (stdout by default). top_k 0: the argmax only.
void print_summary(const LoadedModel& m, const OutputView& v, int top_k);

// The summary as JSON: model, input, output shape/type/kind, values (up to
// kJsonMaxValues), per-row argmax and top K with names, boxes, gas, timing.
constexpr size_t kJsonMaxValues = 65536;
nlohmann::json summary_json(const LoadedModel& m, const OutputView& v, int top_k,
                            const std::string& input_name, const RunTimes& times);

std::string shape_text(const std::vector<int64_t>& shape);

}  // namespace cli
}  // namespace cvm
