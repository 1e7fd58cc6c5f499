#include "runtime/cli/summary.h"

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "cvm/error.h"

namespace cvm {
namespace cli {

namespace {

constexpr int64_t kShownRows = 16;   // argmax rows in the text summary
constexpr int64_t kShownBoxes = 20;  // boxes in the text summary

std::vector<int32_t> decode(const std::vector<uint8_t>& bytes, size_t type_size) {
  std::vector<int32_t> values(bytes.size() / type_size);
  for (size_t i = 0; i < values.size(); ++i) {
    if (type_size == 1) {
      values[i] = static_cast<int8_t>(bytes[i]);
    } else {
      const uint8_t* b = &bytes[4 * i];
      values[i] = static_cast<int32_t>(uint32_t(b[0]) | uint32_t(b[1]) << 8 |
                                       uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24);
    }
  }
  return values;
}

const std::string* class_name(const LoadedModel& m, int64_t index) {
  if (!m.has_meta || index < 0 || static_cast<size_t>(index) >= m.meta.classes.size()) return nullptr;
  return &m.meta.classes[static_cast<size_t>(index)];
}

std::string with_name(const LoadedModel& m, int64_t index) {
  const std::string* name = class_name(m, index);
  return std::to_string(index) + (name ? " (" + *name + ")" : "");
}

int64_t argmax_of(const OutputView& v, int64_t row) {
  if (v.kind == OutputKind::kArgmax) return v.values[static_cast<size_t>(row)];
  const int32_t* r = &v.values[static_cast<size_t>(row * v.width)];
  return std::max_element(r, r + v.width) - r;
}

bool is_box_head(const std::string& op) { return op == "non_max_suppression" || op == "get_valid_counts"; }

std::vector<const int32_t*> valid_boxes(const OutputView& v) {
  std::vector<const int32_t*> boxes;
  for (int64_t r = 0; r < v.rows; ++r) {
    const int32_t* row = &v.values[static_cast<size_t>(r * v.width)];
    if (row[0] >= 0) boxes.push_back(row);
  }
  return boxes;
}

}  // namespace

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

OutputView view_output(const LoadedModel& m, const std::vector<uint8_t>& bytes) {
  const cvm::Model& model = *m.model;
  OutputView v;
  v.values = decode(bytes, model.output_type_size());
  v.type = model.output_type_size() == 1 ? "int8" : "int32";
  const int64_t count = static_cast<int64_t>(v.values.size());
  const auto outs = model.outputs();
  const std::string method = model.postprocess_method();
  if (method == "argmax") {
    v.kind = OutputKind::kArgmax;
    v.shape = {count};
    v.rows = count;
    v.width = 1;
    return v;
  }
  if (outs.size() != 1 || method == "detection") {
    // Several heads (or "detection") are concatenated row by row.
    int64_t width = 0;
    for (const auto& o : outs) width += o.shape.empty() ? 1 : o.shape.back();
    v.shape = width > 0 && count % width == 0 ? std::vector<int64_t>{count / width, width}
                                              : std::vector<int64_t>{count};
    if (method == "detection" && v.shape.size() == 2 && width >= 6) {
      v.kind = OutputKind::kDetection;
      v.rows = v.shape[0];
      v.width = width;
    } else {
      v.why_raw = std::to_string(outs.size()) + " outputs concatenated row by row";
    }
    return v;
  }
  v.shape = outs[0].shape;
  const auto& s = v.shape;
  const std::string op = m.head_ops.size() == 1 ? m.head_ops[0] : "";
  if (is_box_head(op) && !s.empty() && s.back() >= 6) {
    v.kind = OutputKind::kDetection;
    v.width = s.back();
    v.rows = count / v.width;
    return v;
  }
  bool trailing_ones = s.size() >= 2;
  for (size_t i = 2; i < s.size(); ++i) trailing_ones = trailing_ones && s[i] == 1;
  if (trailing_ones && s[1] > 1) {
    v.kind = OutputKind::kClassifier;
    v.rows = s[0];
    v.width = s[1];
  } else if (s.size() == 1 && s[0] > 1) {
    v.kind = OutputKind::kClassifier;
    v.rows = 1;
    v.width = s[0];
  } else {
    v.why_raw = "not a classifier's (N, classes) scores nor a detector's boxes";
  }
  return v;
}

std::vector<ScoredClass> top_classes(const OutputView& v, int64_t row, int k) {
  std::vector<ScoredClass> all;
  const int32_t* r = &v.values[static_cast<size_t>(row * v.width)];
  for (int64_t i = 0; i < v.width; ++i) all.push_back(ScoredClass{i, r[i]});
  const size_t n = std::min<size_t>(static_cast<size_t>(std::max(k, 0)), all.size());
  std::partial_sort(all.begin(), all.begin() + n, all.end(), [](const ScoredClass& a, const ScoredClass& b) {
    return a.score != b.score ? a.score > b.score : a.index < b.index;
  });
  all.resize(n);
  return all;
}

void print_summary(const LoadedModel& m, const OutputView& v, int top_k) {
  std::cout << "output: shape " << shape_text(v.shape) << ", " << v.type << "\n";
  std::cout << "values:";
  for (size_t i = 0; i < std::min<size_t>(v.values.size(), 16); ++i) std::cout << ' ' << v.values[i];
  if (v.values.size() > 16) std::cout << " ...";
  std::cout << "\n";
  switch (v.kind) {
    case OutputKind::kClassifier:
    case OutputKind::kArgmax: {
      std::cout << "argmax:";
      for (int64_t r = 0; r < std::min(v.rows, kShownRows); ++r) std::cout << ' ' << with_name(m, argmax_of(v, r));
      if (v.rows > kShownRows) std::cout << " ...";
      std::cout << "\n";
      if (top_k <= 0) break;
      if (v.kind == OutputKind::kArgmax) {
        std::cout << "top " << top_k << ": not available, the model's postprocess keeps only the best class\n";
        break;
      }
      for (int64_t r = 0; r < std::min(v.rows, kShownRows); ++r) {
        std::cout << "top " << top_k << (v.rows > 1 ? " of row " + std::to_string(r) : "") << ":\n";
        for (const ScoredClass& c : top_classes(v, r, top_k)) {
          const std::string* name = class_name(m, c.index);
          std::printf("  class %-5lld score %-11d%s\n", static_cast<long long>(c.index), c.score,
                      name ? name->c_str() : "");
          std::fflush(stdout);
        }
      }
      break;
    }
    case OutputKind::kDetection: {
      const auto boxes = valid_boxes(v);
      std::cout << "boxes: " << boxes.size() << " of " << v.rows
                << " rows, as [id, score, x1, y1, x2, y2]" << (boxes.empty() ? "" : ":") << "\n";
      for (size_t b = 0; b < boxes.size() && static_cast<int64_t>(b) < kShownBoxes; ++b) {
        const int32_t* row = boxes[b];
        std::cout << "  [" << row[0] << ", " << row[1] << ", " << row[2] << ", " << row[3] << ", "
                  << row[4] << ", " << row[5] << "]";
        if (const std::string* name = class_name(m, row[0])) std::cout << "  " << *name;
        std::cout << "\n";
      }
      if (static_cast<int64_t>(boxes.size()) > kShownBoxes) {
        std::cout << "  ... " << boxes.size() - kShownBoxes << " more (--json or --output for all)\n";
      }
      if (top_k > 0) std::cout << "top " << top_k << ": not a classifier's output\n";
      break;
    }
    case OutputKind::kRaw:
      std::cout << "raw output: " << v.why_raw << "\n";
      if (top_k > 0) std::cout << "top " << top_k << ": not a classifier's output\n";
      break;
  }
}

nlohmann::json summary_json(const LoadedModel& m, const OutputView& v, int top_k,
                            const std::string& input_name, const RunTimes& times) {
  using nlohmann::json;
  const cvm::Model& model = *m.model;
  json j;
  j["model"] = m.label;
  j["input"] = {{"source", input_name},
                {"shape", model.input().shape},
                {"type", model.input_type_size() == 1 ? "int8" : "int32"}};
  static const char* kKinds[] = {"classifier", "argmax", "detection", "raw"};
  json out = {{"shape", v.shape}, {"type", v.type}, {"kind", kKinds[static_cast<int>(v.kind)]}};
  if (v.values.size() <= kJsonMaxValues) out["values"] = v.values;
  if (v.kind == OutputKind::kRaw) out["why_raw"] = v.why_raw;
  j["output"] = out;
  if (v.kind == OutputKind::kClassifier || v.kind == OutputKind::kArgmax) {
    json rows = json::array();
    for (int64_t r = 0; r < v.rows; ++r) {
      const int64_t best = argmax_of(v, r);
      json row = {{"argmax", best}};
      if (const std::string* name = class_name(m, best)) row["name"] = *name;
      if (top_k > 0 && v.kind == OutputKind::kClassifier) {
        json top = json::array();
        for (const ScoredClass& c : top_classes(v, r, top_k)) {
          json item = {{"class", c.index}, {"score", c.score}};
          if (const std::string* name = class_name(m, c.index)) item["name"] = *name;
          top.push_back(item);
        }
        row["top"] = top;
      }
      rows.push_back(row);
    }
    j["rows"] = rows;
  }
  if (v.kind == OutputKind::kDetection) {
    json boxes = json::array();
    for (const int32_t* row : valid_boxes(v)) {
      json item = {row[0], row[1], row[2], row[3], row[4], row[5]};
      boxes.push_back(item);
    }
    j["boxes"] = boxes;
    j["box_layout"] = {"id", "score", "x1", "y1", "x2", "y2"};
  }
  try {
    j["gas"] = model.gas();
  } catch (const cvm::Error&) {
    j["gas"] = nullptr;
  }
  json timing = {{"read_ms", times.read_ms}, {"load_ms", times.load_ms}, {"first_inference_ms", times.first_ms}};
  if (!times.repeat_ms.empty()) {
    timing["repeat"] = {{"runs", times.repeat_ms.size()},
                        {"min_ms", times.repeat_ms.front()},
                        {"median_ms", times.repeat_ms[times.repeat_ms.size() / 2]}};
  }
  j["timing"] = timing;
  return j;
}

}  // namespace cli
}  // namespace cvm
