// The C ABI of the WebAssembly build, over the C++ API: the JavaScript
// package (js/index.js) calls these functions. Every call catches every
// exception and returns its class (1: invalid model or input, 2: runtime
// failure) with the message kept for cvmjs_last_error(), so a bad input or a
// hostile model never leaves the instance unusable. Threads are off in this
// build: each model runs on the calling thread.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cvm/model.hpp"

#ifdef __EMSCRIPTEN__
#include <emscripten/emscripten.h>
#define CVMJS_EXPORT EMSCRIPTEN_KEEPALIVE
#else
#define CVMJS_EXPORT
#endif

namespace {

std::string last_error;
std::string description;

template <typename F>
int guarded(F&& body) {
  try {
    body();
    last_error.clear();
    return cvm::kSucceed;
  } catch (const cvm::Error& e) {
    last_error = e.what();
    return e.code();
  } catch (const std::bad_alloc&) {
    last_error = "out of memory";
    return cvm::kErrorRuntime;
  } catch (const std::length_error&) {
    // A container asked for more than the address space holds.
    last_error = "out of memory";
    return cvm::kErrorRuntime;
  } catch (const std::logic_error& e) {
    last_error = e.what();
    return cvm::kErrorLogic;
  } catch (const std::exception& e) {
    last_error = e.what();
    return cvm::kErrorRuntime;
  } catch (...) {
    last_error = "unknown error";
    return cvm::kErrorRuntime;
  }
}

cvm::Model* checked(cvm::Model* model) {
  if (!model) throw cvm::Error(cvm::kErrorRuntime, "null model handle");
  return model;
}

nlohmann::json tensor_json(const cvm::TensorInfo& t) {
  return {{"name", t.name}, {"shape", t.shape}, {"precision", t.precision}};
}

}  // namespace

extern "C" {

// Loads a model; *out receives the handle (free it with cvmjs_free).
CVMJS_EXPORT int cvmjs_load(const char* json, size_t json_len, const char* params,
                            size_t params_len, int device_type, cvm::Model** out) {
  return guarded([&] {
    if (!out) throw cvm::Error(cvm::kErrorRuntime, "null output handle");
    *out = nullptr;
    std::string graph(json ? json : "", json ? json_len : 0);
    std::string blob(params ? params : "", params ? params_len : 0);
    std::unique_ptr<cvm::Model> model = cvm::Model::load(graph, blob, device_type);
    model->set_threads(1);
    *out = model.release();
  });
}

CVMJS_EXPORT void cvmjs_free(cvm::Model* model) { delete model; }

CVMJS_EXPORT const char* cvmjs_last_error() { return last_error.c_str(); }

// The model's figures as a JSON object (valid until the next call): version,
// postprocess, input, outputs, input_length, output_length,
// input_type_size, output_type_size, storage_size, and gas or gas_error
// ({code, message}: the reference reports an over-limit gas when asked).
CVMJS_EXPORT const char* cvmjs_describe(cvm::Model* model) {
  const int rc = guarded([&] {
    cvm::Model* m = checked(model);
    nlohmann::json d;
    d["version"] = m->version();
    d["postprocess"] = m->postprocess_method();
    d["input"] = tensor_json(m->input());
    d["outputs"] = nlohmann::json::array();
    for (const cvm::TensorInfo& t : m->outputs()) d["outputs"].push_back(tensor_json(t));
    d["input_length"] = m->input_length();
    d["output_length"] = m->output_length();
    d["input_type_size"] = m->input_type_size();
    d["output_type_size"] = m->output_type_size();
    d["storage_size"] = m->storage_size();
    try {
      d["gas"] = m->gas();
    } catch (const cvm::Error& e) {
      d["gas_error"] = {{"code", e.code()}, {"message", e.what()}};
    }
    description = d.dump();
  });
  return rc == cvm::kSucceed ? description.c_str() : nullptr;
}

// Runs the model on bytes in the C API's layout; `output` holds
// `output_len` bytes, which must be the model's output length.
CVMJS_EXPORT int cvmjs_infer(cvm::Model* model, const uint8_t* input, size_t input_len,
                             uint8_t* output, size_t output_len) {
  return guarded([&] {
    cvm::Model* m = checked(model);
    if (output_len != m->output_length()) {
      throw cvm::Error(cvm::kErrorLogic, "output buffer of " + std::to_string(output_len) +
                                             " bytes, expected " +
                                             std::to_string(m->output_length()));
    }
    if ((input_len > 0 && !input) || (output_len > 0 && !output)) {
      throw cvm::Error(cvm::kErrorRuntime, "null buffer");
    }
    m->infer(input, input_len, output);
  });
}

// Runs the model on int32 values and writes every head's values, head after
// head, to `output`, which holds `output_count` values: the sum of the
// heads' sizes.
CVMJS_EXPORT int cvmjs_run(cvm::Model* model, const int32_t* input, size_t count,
                           int32_t* output, size_t output_count) {
  return guarded([&] {
    cvm::Model* m = checked(model);
    if (count > 0 && !input) throw cvm::Error(cvm::kErrorRuntime, "null buffer");
    std::vector<std::vector<int32_t>> heads = m->run(std::vector<int32_t>(input, input + count));
    size_t total = 0;
    for (const auto& h : heads) total += h.size();
    if (total != output_count) {
      throw cvm::Error(cvm::kErrorLogic, "output buffer of " + std::to_string(output_count) +
                                             " values, expected " + std::to_string(total));
    }
    for (const auto& h : heads) {
      if (!h.empty()) std::memcpy(output, h.data(), h.size() * sizeof(int32_t));
      output += h.size();
    }
  });
}

}  // extern "C"
