// The C++ API of cvm: load a CVM model (graph JSON + params blob), query it,
// run it. Errors are thrown as cvm::Error with the reference's two classes.
// One Model may be used from several threads (calls are serialised); separate
// models run concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cvm/error.h"
#include "cvm/isa.hpp"

namespace cvm {

// The most threads an inference uses, whatever set_threads(), CVM_THREADS
// or the core count say.
constexpr int kMaxThreads = 256;

struct TensorInfo {
  std::string name;
  std::vector<int64_t> shape;
  int precision = 0;
};

// Limits a caller sets on top of the format's own (storage at most 4 GiB and
// the reference's gas limits, always checked).
class MappedFile;  // runtime/mapped_file.h

struct LoadOptions {
  // 0 (CPU) or 2 (the reference's specification build; the same bytes).
  int device_type = 0;
  // Most bytes the model may hold: its storage pools (storage_size()) plus
  // its parameter values as int32. 0 means no limit beyond the format's. A
  // model over the limit is rejected at load with code 1, before its storage
  // is allocated (storage is allocated at the first inference).
  size_t max_memory_bytes = 0;
};

class Model {
 public:
  // device_type: 0 (CPU) or 2 (the reference's specification build; the same
  // bytes). Anything else is a code 2 error, as in the reference.
  static std::unique_ptr<Model> load(const std::string& graph_json, const std::string& params,
                                     int device_type = 0);
  static std::unique_ptr<Model> load(const std::string& graph_json, const std::string& params,
                                     const LoadOptions& options);
  // The params blob as `size` bytes at `params`, read in place during the
  // load (no copy of it is made); they must not change while it runs.
  static std::unique_ptr<Model> load(const std::string& graph_json, const void* params,
                                     size_t size, const LoadOptions& options);
  static std::unique_ptr<Model> load_files(const std::string& symbol_path,
                                           const std::string& params_path, int device_type = 0);
  static std::unique_ptr<Model> load_files(const std::string& symbol_path,
                                           const std::string& params_path,
                                           const LoadOptions& options);
  // The graph JSON from memory, the params blob from a file that is mapped
  // rather than read where the system allows (load_files() does the same):
  // each parameter's pages leave memory once it is checked and packed, so a
  // load peaks at about one copy of the weights instead of two. The file
  // must not change while the model loads.
  static std::unique_ptr<Model> load_params_file(const std::string& graph_json,
                                                 const std::string& params_path,
                                                 const LoadOptions& options = LoadOptions());
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  std::string version() const;
  std::string postprocess_method() const;
  TensorInfo input() const;
  std::vector<TensorInfo> outputs() const;

  // The byte layout of infer(): input elements are int8 when the input
  // precision is <= 8, else little-endian int32; outputs likewise by the
  // largest output precision, or as the graph's "postprocess" says.
  size_t input_length() const;
  size_t output_length() const;
  size_t input_type_size() const;
  size_t output_type_size() const;

  int64_t storage_size() const;
  // The reference's gas figure; throws (code 1) when the graph exceeds its
  // ops or memory limits.
  int64_t gas() const;

  // Threads an inference may use (0, the default: the CVM_THREADS
  // environment variable when it holds a positive count, else every core).
  // Every count is capped at kMaxThreads (larger ones use kMaxThreads);
  // threads() returns the count in effect. Results never depend on it.
  void set_threads(int n);
  int threads() const;

  // How the executor runs the graph: a one-line summary, and one line per
  // step (its kind and the nodes it computes; "(stored)" marks an
  // intermediate node of a fused group whose output is still written), for
  // reports and tests.
  std::string plan_summary() const;
  std::vector<std::string> plan_steps() const;
  // Runs infer() once on `input` and returns, per step, its plan_steps()
  // line, its wall time and the CPU time of the calling thread during it
  // (seconds; with one thread the latter ignores time the thread lost to
  // others).
  struct StepTime {
    std::string step;
    double seconds = 0;
    double cpu_seconds = 0;
  };
  std::vector<StepTime> profile(const std::vector<uint8_t>& input);

  // Operator counts by name, for reports.
  std::vector<std::pair<std::string, int>> operator_counts() const;

  // Runs the model on bytes in the C API's layout; `output` receives
  // output_length() bytes.
  void infer(const void* input, size_t input_bytes, void* output);
  std::vector<uint8_t> infer(const std::vector<uint8_t>& input);

  // Runs the model on int32 input values (clamped to the input precision like
  // any input) and returns every head as int32 values, before post-processing.
  std::vector<std::vector<int32_t>> run(const std::vector<int32_t>& input);

  // The element types the next run() reads, in the host's byte order.
  enum class ValueType { kInt8, kUInt8, kInt16, kUInt16, kInt32, kUInt32, kInt64, kUInt64 };
  // Runs the model on the input's shape_size(input().shape) values of `type`
  // at `values`, read in place (each saturated to int32, then clamped to the
  // input precision like any input), and writes head k's int32 values
  // (before post-processing) to heads[k], which holds the element count of
  // outputs()[k].shape. `num_heads` must be outputs().size() (code 1 if not).
  // For bindings that hand over their own arrays without a copy.
  void run(const void* values, ValueType type, int32_t* const* heads, size_t num_heads);

  struct Impl;

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  // The blob [params, params + size), which lies in `file` when that is set.
  static std::unique_ptr<Model> load_blob(const std::string& graph_json, const char* params,
                                          size_t size, const MappedFile* file,
                                          const LoadOptions& options);
  std::unique_ptr<Impl> impl_;
};

// The reference's CVMAPIGetGasFromGraphFile: gas from the graph alone.
int64_t estimate_gas(const std::string& graph_json);

}  // namespace cvm
