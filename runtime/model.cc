#include "cvm/model.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <thread>
#include <type_traits>
#include <chrono>
#include <ctime>

#include "base/error.h"
#include "graph/graph.h"
#include "base/int_math.h"
#include "base/memory.h"
#include "graph/params.h"
#include "kernels/isa.h"
#include "kernels/thread_pool.h"
#include "runtime/mapped_file.h"
#include "runtime/output_bytes.h"
#include "runtime/plan.h"
#include "runtime/thread_choice.h"

namespace cvm {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  CVM_VERIFY(in.good()) << "cannot open " << path;
  std::ostringstream ss;
  ss << in.rdbuf();
  CVM_VERIFY(!in.bad()) << "cannot read " << path;
  return ss.str();
}

}  // namespace

struct Model::Impl {
  Graph graph;
  std::vector<uint64_t> pool_bytes;
  int64_t storage = 0;
  // Gas is the reference's lazily computed figure: its error, if any, is
  // reported when asked for, not at load.
  int64_t gas = 0;
  int gas_error = 0;
  std::string gas_message;

  std::string version;
  uint32_t data_node = 0;   // the variable named "data"
  Shape input_shape;        // the reference's input shape (see load())
  int input_precision = 0;
  size_t input_bytes = 1;   // bytes per input element
  int64_t input_length = 0;
  OutputLayout output;      // the C API's output bytes (runtime/output_bytes.h)

  // Parameter values, bound to their variable nodes at load; written into
  // storage once, when the storage is first allocated (as the reference
  // writes them once at load).
  ParamStore params;

  // Execution state.
  std::mutex mutex;
  bool allocated = false;
  std::vector<std::vector<int32_t>> pools;  // storage, one per storage id
  std::vector<Tensor> entries;  // one view per entry
  std::vector<std::vector<Tensor>> node_inputs, node_outputs;
  Workspace workspace;

  size_t max_memory = 0;  // LoadOptions::max_memory_bytes

  // The plan (fast kernels and fused groups, or every node plain), its
  // scratch memory and threads.
  std::unique_ptr<Plan> plan;
  int threads = 0;  // 0: every core
  std::unique_ptr<kernels::ThreadPool> thread_pool;
  ThreadChoice thread_choice;  // how many threads each inference uses
  std::vector<uint32_t> shared;
  std::vector<std::vector<uint32_t>> scratch;

  // `file`, when set, is where `blob` lies: each parameter's pages are given
  // back once checked and again once packed.
  void load(const std::string& json, const char* blob, size_t blob_size, const MappedFile* file,
            int device_type);
  void make_plan(int device_type);
  int thread_count() const;
  void bind_params(const char* blob, size_t blob_size, const MappedFile* file);
  void check_memory(uint64_t param_bytes) const;
  void allocate();
  // Runs an inference on the input whose value i is value(i), clamped to the
  // data's precision as it is stored (int8 when the plan keeps the input as
  // bytes).
  template <typename Value>
  void execute(const Value& value);
  std::vector<double>* step_seconds = nullptr;  // when set, execute() times each step
  std::vector<double>* step_cpu = nullptr;
};

void Model::Impl::load(const std::string& json, const char* blob, size_t blob_size,
                       const MappedFile* file, int device_type) {
  graph = load_graph(json);
  for (const GraphNode& node : graph.nodes) {
    CVM_VERIFY(node.is_variable() || node.op->has_kernel())
        << "function undefined cvm.runtime.cpu." << node.func_name;
  }
  pool_bytes = storage_pool_bytes(graph);
  storage = cvm::storage_size(pool_bytes);
  check_memory(0);

  CVM_VERIFY(!graph.heads.empty()) << "the graph has no outputs";
  version = graph.version.substr(0, 32);

  bool found = false;
  for (uint32_t nid = 0; nid < graph.nodes.size() && !found; ++nid) {
    if (graph.nodes[nid].is_data()) {
      data_node = nid;
      found = true;
    }
  }
  CVM_CHECK(found) << "can not find input `data`";
  input_precision = graph.precision[graph.entry_id(data_node, 0)];
  input_bytes = input_precision > 8 ? 4 : 1;

  output = output_layout(graph);

  // The reference takes the input shape from entry number k, where k is the
  // position of "data" among the variables: the same entry whenever the
  // variables come first, as they do in every deployed model. Inference then
  // requires that shape to equal the data entry's (code 1 otherwise).
  size_t input_index = std::find(graph.arg_nodes.begin(), graph.arg_nodes.end(), data_node) -
                       graph.arg_nodes.begin();
  input_shape = graph.shapes[input_index];
  input_length = shape_size(input_shape) * static_cast<int64_t>(input_bytes);

  // Sizes are 64-bit figures; where size_t has 32 bits they must fit before
  // anything is narrowed or allocated (the input lies in the storage).
  verify_fits_in_memory(static_cast<uint64_t>(storage), "its storage");
  verify_fits_in_memory(static_cast<uint64_t>(output.length), "its output");

  try {
    gas = graph_gas(graph);
  } catch (const Error& e) {
    gas_error = e.code();
    gas_message = e.what();
  }

  bind_params(blob, blob_size, file);
  if (file) {
    params.set_release([file](const void* p, size_t n) { file->release(p, n); });
  }
  make_plan(device_type);
}

// Device 2 (the reference's specification build) runs every node through
// its scalar kernel; device 0 uses the fast kernels of the active ISA.
void Model::Impl::make_plan(int device_type) {
  const kernels::Table* table =
      device_type == 0 ? kernels::table(kernels::active_isa()) : nullptr;
  plan = cvm::make_plan(graph, table, params);
  // Parameters in unused pools are never needed again; the others get their
  // int32 values now (the blob does not outlive load()).
  std::vector<bool> unused(pool_bytes.size(), false);
  for (int sid : plan->unused_pools) unused[static_cast<size_t>(sid)] = true;
  params.keep_used(graph, unused);
}

// Threads: set_threads(), else the CVM_THREADS environment variable (for
// test matrices), else every core. Results never depend on the count.
int Model::Impl::thread_count() const {
  if (threads > 0) return threads;
  if (const char* env = std::getenv("CVM_THREADS")) {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && n > 0) return static_cast<int>(std::min<long>(n, kMaxThreads));
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(std::min<unsigned>(hw, kMaxThreads));
}

void Model::Impl::bind_params(const char* blob, size_t blob_size, const MappedFile* file) {
  CVM_VERIFY(blob_size > 0) << "the params blob is empty";
  std::vector<ParamArray> arrays = load_params(blob, blob_size, /*widen=*/false);
  uint64_t param_bytes = 0;
  for (const ParamArray& a : arrays) param_bytes += 4 * static_cast<uint64_t>(a.count);
  verify_fits_in_memory(static_cast<uint64_t>(storage) + param_bytes,
                        "its storage and parameters");
  check_memory(param_bytes);
  // The first variable of each name, as the reference's linear search finds
  // it; a map, so that many parameters cannot cost time quadratic in size.
  std::unordered_map<std::string, size_t> arg_index;
  for (size_t i = 0; i < graph.arg_nodes.size(); ++i) {
    arg_index.emplace(graph.nodes[graph.arg_nodes[i]].name, i);
  }
  std::vector<bool> set(graph.arg_nodes.size(), false);
  for (ParamArray& a : arrays) {
    auto found = arg_index.find(a.name);
    size_t index = found == arg_index.end() ? graph.arg_nodes.size() : found->second;
    CVM_CHECK(index < graph.arg_nodes.size()) << "cannot find `" << a.name << "` among input";
    set[index] = true;
    uint32_t nid = graph.arg_nodes[index];
    uint32_t eid = graph.entry_id(nid, 0);
    CVM_VERIFY(a.dtype_code == 0) << "parameter " << a.name << ": only INT arrays are supported";
    CVM_VERIFY(a.device_type == 1) << "parameter " << a.name << ": only CPU arrays are supported";
    const Shape& expected = graph.shapes[eid];
    CVM_VERIFY(a.shape == expected) << "parameter " << a.name << " shape " << shape_string(a.shape)
                                    << ", expected " << shape_string(expected);
    CVM_VERIFY((a.dtype_bits == 8 || a.dtype_bits == 32) && a.dtype_lanes == 1)
        << "parameter " << a.name << ": only INT8 or INT32 arrays are supported";
    int prec = graph.precision[eid];
    int32_t range = precision_bound(prec);
    ParamStore::Param bound;
    bound.nid = nid;
    bound.raw = a.raw;
    bound.width = a.dtype_bits / 8;
    bound.count = a.count;
    if (graph.nodes[nid].is_data()) {
      bound.values.resize(static_cast<size_t>(a.count));
      for (int64_t i = 0; i < a.count; ++i) {
        bound.values[i] = std::min(std::max(a.value(i), -range), range);
      }
    } else if (a.dtype_bits == 8) {
      // A fast pass over the bytes; the slow one finds the first offender.
      bool ok = true;
      for (int64_t i = 0; i < a.count; ++i) {
        const int32_t v = static_cast<int8_t>(a.raw[i]);
        ok &= v >= -range && v <= range;
      }
      for (int64_t i = 0; !ok && i < a.count; ++i) {
        const int32_t v = a.value(i);
        CVM_VERIFY(v >= -range && v <= range)
            << "parameter " << a.name << " at index " << i << " value:" << v
            << " exceed of precision " << prec;
      }
    } else {
      for (int64_t i = 0; i < a.count; ++i) {
        const int32_t v = a.value(i);
        CVM_VERIFY(v >= -range && v <= range)
            << "parameter " << a.name << " at index " << i << " value:" << v
            << " exceed of precision " << prec;
      }
    }
    params.add(std::move(bound));
    if (file) file->release(a.raw, static_cast<size_t>(a.count) * (a.dtype_bits / 8));
  }
  for (size_t i = 0; i < set.size(); ++i) {
    const GraphNode& node = graph.nodes[graph.arg_nodes[i]];
    CVM_VERIFY(set[i] || node.is_data())
        << "parameter nid=" << graph.arg_nodes[i] << " name=" << node.name
        << " has not been loaded";
  }
}

void Model::Impl::check_memory(uint64_t param_bytes) const {
  if (max_memory == 0) return;
  uint64_t total = static_cast<uint64_t>(storage) + param_bytes;
  CVM_VERIFY(total <= max_memory) << "the model needs " << total
                                  << " bytes (storage and parameters), over the limit of "
                                  << max_memory;
}

void Model::Impl::allocate() {
  pools.resize(pool_bytes.size());
  std::vector<bool> unused(pool_bytes.size(), false);
  for (int sid : plan->unused_pools) unused[static_cast<size_t>(sid)] = true;
  for (size_t i = 0; i < pool_bytes.size(); ++i) {
    if (!unused[i]) assign_large(pools[i], static_cast<size_t>((pool_bytes[i] + 3) / 4), 0);
  }
  entries.resize(graph.num_entries());
  for (uint32_t eid = 0; eid < graph.num_entries(); ++eid) {
    entries[eid].data = pools[graph.pool[eid]].data();
    entries[eid].shape = graph.shapes[eid];
  }
  node_inputs.assign(graph.nodes.size(), {});
  node_outputs.assign(graph.nodes.size(), {});
  for (uint32_t nid = 0; nid < graph.nodes.size(); ++nid) {
    const GraphNode& node = graph.nodes[nid];
    if (node.is_variable()) continue;
    for (const EntryRef& e : node.inputs) node_inputs[nid].push_back(entries[graph.entry_id(e)]);
    for (uint32_t i = 0; i < node.num_outputs; ++i) {
      node_outputs[nid].push_back(entries[graph.entry_id(nid, i)]);
    }
  }
  // Later parameters of the same name win, as in the reference.
  params.write_into(graph, entries);
  assign_large(shared, plan->shared_words, 0u);
  allocated = true;
}

template <typename Value>
void Model::Impl::execute(const Value& value) {
  if (!allocated) allocate();
  uint32_t eid = graph.entry_id(data_node, 0);
  CVM_VERIFY(input_shape == graph.shapes[eid])
      << "Loaded data shape " << shape_string(input_shape) << " not matched "
      << shape_string(graph.shapes[eid]);
  const int64_t count = shape_size(input_shape);
  const int32_t range = precision_bound(graph.precision[eid]);
  // One loop per value type and per element type, vectorised: what it reads
  // is copied to locals first (a store through int8_t* may alias anything,
  // which made the compiler reload it per element: 42 us for a 224 x 224 x 3
  // input of bytes, now 4 us).
  auto fill = [&](auto* data) {
    using T = std::remove_pointer_t<decltype(data)>;
    const Value v = value;
    const int64_t n = count;
    const int32_t lo = -range, hi = range;
    for (int64_t i = 0; i < n; ++i) data[i] = static_cast<T>(std::min(std::max(v(i), lo), hi));
  };
  if (plan->input_bytes) {
    fill(reinterpret_cast<int8_t*>(entries[eid].data));
  } else {
    fill(entries[eid].data);
  }
  // Threads for this inference (runtime/thread_choice.h).
  const int threads_now =
      thread_choice.start(thread_count(), step_seconds != nullptr, thread_pool.get());
  const auto started = std::chrono::steady_clock::now();

  ExecContext ctx;
  ctx.entries = &entries;
  ctx.node_inputs = &node_inputs;
  ctx.node_outputs = &node_outputs;
  ctx.workspace = &workspace;
  ctx.max_threads = threads_now;
  ctx.thread_pool_slot = &thread_pool;
  ctx.shared = shared.data();
  if (plan->thread_words > 0) {
    if (scratch.size() < static_cast<size_t>(ctx.max_threads)) {
      scratch.resize(static_cast<size_t>(ctx.max_threads));
    }
    for (int t = 0; t < ctx.max_threads; ++t) {
      if (scratch[t].size() < plan->thread_words) scratch[t].assign(plan->thread_words, 0u);
      ctx.scratch.push_back(scratch[t].data());
    }
  }
  if (!step_seconds) {
    for (const auto& step : plan->steps) step->run(ctx);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    thread_choice.finish(thread_pool.get(), seconds);
    return;
  }
  step_seconds->assign(plan->steps.size(), 0.0);
  step_cpu->assign(plan->steps.size(), 0.0);
  auto cpu_now = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  };
  for (size_t i = 0; i < plan->steps.size(); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_now();
    plan->steps[i]->run(ctx);
    (*step_cpu)[i] = cpu_now() - c0;
    (*step_seconds)[i] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
}

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

std::unique_ptr<Model> Model::load(const std::string& graph_json, const std::string& params,
                                   int device_type) {
  LoadOptions options;
  options.device_type = device_type;
  return load(graph_json, params, options);
}

std::unique_ptr<Model> Model::load(const std::string& graph_json, const std::string& params,
                                   const LoadOptions& options) {
  return load_blob(graph_json, params.data(), params.size(), nullptr, options);
}

std::unique_ptr<Model> Model::load(const std::string& graph_json, const void* params,
                                   size_t size, const LoadOptions& options) {
  CVM_VERIFY(params != nullptr || size == 0) << "the params blob is null";
  return load_blob(graph_json, static_cast<const char*>(params), size, nullptr, options);
}

std::unique_ptr<Model> Model::load_blob(const std::string& graph_json, const char* params,
                                        size_t size, const MappedFile* file,
                                        const LoadOptions& options) {
  CVM_CHECK(options.device_type == 0 || options.device_type == 2)
      << "Invalid device type: " << options.device_type
      << ", only 0 (CPU) and 2 (FORMAL) are supported";
  auto impl = std::make_unique<Impl>();
  impl->max_memory = options.max_memory_bytes;
  impl->load(graph_json, params, size, file, options.device_type);
  return std::unique_ptr<Model>(new Model(std::move(impl)));
}

std::unique_ptr<Model> Model::load_params_file(const std::string& graph_json,
                                               const std::string& params_path,
                                               const LoadOptions& options) {
  const MappedFile file(params_path, std::numeric_limits<size_t>::max() - 1);
  return load_blob(graph_json, file.data(), file.size(), &file, options);
}

std::unique_ptr<Model> Model::load_files(const std::string& symbol_path,
                                         const std::string& params_path, int device_type) {
  LoadOptions options;
  options.device_type = device_type;
  return load_files(symbol_path, params_path, options);
}

std::unique_ptr<Model> Model::load_files(const std::string& symbol_path,
                                         const std::string& params_path,
                                         const LoadOptions& options) {
  return load_params_file(read_file(symbol_path), params_path, options);
}

std::string Model::version() const { return impl_->version; }
std::string Model::postprocess_method() const { return impl_->output.postprocess; }

TensorInfo Model::input() const {
  return TensorInfo{"data", impl_->input_shape, impl_->input_precision};
}

std::vector<TensorInfo> Model::outputs() const {
  const Graph& g = impl_->graph;
  std::vector<TensorInfo> out;
  for (const EntryRef& e : g.heads) {
    out.push_back(TensorInfo{g.nodes[e.node_id].name, g.shapes[g.entry_id(e)],
                             g.precision[g.entry_id(e)]});
  }
  return out;
}

size_t Model::input_length() const { return static_cast<size_t>(impl_->input_length); }
size_t Model::output_length() const { return static_cast<size_t>(impl_->output.length); }
size_t Model::input_type_size() const { return impl_->input_bytes; }
size_t Model::output_type_size() const { return impl_->output.type_size; }
int64_t Model::storage_size() const { return impl_->storage; }

void Model::set_threads(int n) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  // Capped like CVM_THREADS: each thread costs a stack and scratch memory,
  // and a count in the millions would only exhaust memory.
  impl_->threads = n < 0 ? 0 : std::min(n, kMaxThreads);
}

int Model::threads() const { return impl_->thread_count(); }

std::string Model::plan_summary() const {
  const PlanSummary& s = impl_->plan->summary;
  std::ostringstream out;
  out << "steps " << s.steps << ", fast " << s.fast_steps << ", fused nodes " << s.fused_nodes
      << ", unwritten entries " << s.skipped_writes << ", byte entries " << s.byte_entries;
  return out.str();
}

std::vector<std::string> Model::plan_steps() const {
  std::vector<std::string> out;
  for (const auto& step : impl_->plan->steps) {
    std::ostringstream line;
    line << step->kind();
    const std::vector<uint32_t> nodes = step->nodes();
    const std::vector<bool> stored = step->stored();
    for (size_t i = 0; i < nodes.size(); ++i) {
      line << " " << impl_->graph.nodes[nodes[i]].name;
      if (i + 1 < nodes.size() && i < stored.size() && stored[i]) line << "(stored)";
    }
    out.push_back(line.str());
  }
  return out;
}

int64_t Model::gas() const {
  if (impl_->gas_error) throw Error(impl_->gas_error, impl_->gas_message);
  return impl_->gas;
}

std::vector<std::pair<std::string, int>> Model::operator_counts() const {
  std::map<std::string, int> counts;
  for (const GraphNode& node : impl_->graph.nodes) {
    if (!node.is_variable()) ++counts[node.func_name];
  }
  return {counts.begin(), counts.end()};
}

void Model::infer(const void* input, size_t input_bytes, void* output) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  CVM_VERIFY(static_cast<int64_t>(input_bytes) == impl_->input_length)
      << "input length " << input_bytes << ", expected " << impl_->input_length;
  const uint8_t* bytes = static_cast<const uint8_t*>(input);
  // Decoded straight into the data entry (a 224 x 224 x 3 input took 75 us
  // through a buffer of int32).
  if (impl_->input_bytes == 4) {
    impl_->execute([bytes](int64_t i) {
      const uint8_t* b = bytes + 4 * i;
      return static_cast<int32_t>(uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 |
                                  uint32_t(b[3]) << 24);
    });
  } else {
    impl_->execute([bytes](int64_t i) { return int32_t{static_cast<int8_t>(bytes[i])}; });
  }
  write_output_bytes(impl_->graph, impl_->entries, impl_->output, static_cast<uint8_t*>(output));
}

std::vector<uint8_t> Model::infer(const std::vector<uint8_t>& input) {
  std::vector<uint8_t> out(output_length());
  infer(input.data(), input.size(), out.data());
  return out;
}

std::vector<std::vector<int32_t>> Model::run(const std::vector<int32_t>& input) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  CVM_VERIFY(static_cast<int64_t>(input.size()) == shape_size(impl_->input_shape))
      << "input has " << input.size() << " values, expected " << shape_size(impl_->input_shape);
  impl_->execute([&input](int64_t i) { return input[static_cast<size_t>(i)]; });
  std::vector<std::vector<int32_t>> out;
  for (const EntryRef& e : impl_->graph.heads) {
    const Tensor& t = impl_->entries[impl_->graph.entry_id(e)];
    out.emplace_back(t.data, t.data + t.size());
  }
  return out;
}

void Model::run(const void* values, ValueType type, int32_t* const* heads, size_t num_heads) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  const auto& graph = impl_->graph;
  CVM_VERIFY(num_heads == graph.heads.size())
      << num_heads << " output buffers, expected " << graph.heads.size();
  CVM_VERIFY(values != nullptr || shape_size(impl_->input_shape) == 0) << "no input values";
  // Each value saturated to int32; execute() then clamps it to the precision.
  auto run_as = [&](auto sample) {
    using T = decltype(sample);
    const T* in = static_cast<const T*>(values);
    impl_->execute([in](int64_t i) {
      const T v = in[i];
      if constexpr (sizeof(T) < 4 || (sizeof(T) == 4 && std::is_signed<T>::value)) {
        return static_cast<int32_t>(v);
      } else if constexpr (std::is_signed<T>::value) {
        return static_cast<int32_t>(std::min<T>(std::max<T>(v, INT32_MIN), INT32_MAX));
      } else {
        return static_cast<int32_t>(std::min<T>(v, INT32_MAX));
      }
    });
  };
  switch (type) {
    case ValueType::kInt8: run_as(int8_t{}); break;
    case ValueType::kUInt8: run_as(uint8_t{}); break;
    case ValueType::kInt16: run_as(int16_t{}); break;
    case ValueType::kUInt16: run_as(uint16_t{}); break;
    case ValueType::kInt32: run_as(int32_t{}); break;
    case ValueType::kUInt32: run_as(uint32_t{}); break;
    case ValueType::kInt64: run_as(int64_t{}); break;
    case ValueType::kUInt64: run_as(uint64_t{}); break;
    default: CVM_VERIFY(false) << "unknown input value type " << static_cast<int>(type);
  }
  for (size_t k = 0; k < num_heads; ++k) {
    const Tensor& t = impl_->entries[graph.entry_id(graph.heads[k])];
    CVM_VERIFY(heads[k] != nullptr || t.size() == 0) << "output buffer " << k << " is null";
    std::copy(t.data, t.data + t.size(), heads[k]);
  }
}

std::vector<Model::StepTime> Model::profile(const std::vector<uint8_t>& input) {
  std::vector<double> seconds, cpu;
  std::vector<uint8_t> out(output_length());
  auto attach = [&](bool on) {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->step_seconds = on ? &seconds : nullptr;
    impl_->step_cpu = on ? &cpu : nullptr;
  };
  attach(true);
  try {
    infer(input.data(), input.size(), out.data());
  } catch (...) {
    attach(false);
    throw;
  }
  attach(false);
  std::vector<std::string> names = plan_steps();
  std::vector<StepTime> result;
  for (size_t i = 0; i < seconds.size() && i < names.size(); ++i) {
    result.push_back(StepTime{names[i], seconds[i], cpu[i]});
  }
  return result;
}

int64_t estimate_gas(const std::string& graph_json) { return graph_gas(load_graph(graph_json)); }

}  // namespace cvm
