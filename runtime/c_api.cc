// The reference's C API over cvm::Model. Each call catches every exception
// and returns its class; the message is kept per thread for
// CVMAPIGetLastError().
#include "cvm/c_api.h"

#include <cstring>
#include <new>
#include <string>

#include "cvm/model.hpp"

namespace {

thread_local std::string last_error;

template <typename F>
int guarded(F&& body) {
  try {
    body();
    last_error.clear();
    return SUCCEED;
  } catch (const cvm::Error& e) {
    last_error = e.what();
    return e.code();
  } catch (const std::bad_alloc&) {
    last_error = "out of memory";
    return ERROR_RUNTIME;
  } catch (const std::logic_error& e) {
    last_error = e.what();
    return ERROR_LOGIC;
  } catch (const std::exception& e) {
    last_error = e.what();
    return ERROR_RUNTIME;
  } catch (...) {
    last_error = "unknown error";
    return ERROR_RUNTIME;
  }
}

cvm::Model* model_of(void* net) {
  if (!net) throw cvm::Error(cvm::kErrorRuntime, "null model handle");
  return static_cast<cvm::Model*>(net);
}

void require(const void* p, const char* what) {
  if (!p) throw cvm::Error(cvm::kErrorRuntime, std::string("null argument: ") + what);
}

}  // namespace

extern "C" {

int CVMAPILoadModel(const char* graph_json, int graph_strlen, const char* param_bytes,
                    int param_strlen, void** net, int device_type, int device_id) {
  (void)device_id;
  return guarded([&] {
    require(net, "net");
    if (graph_strlen < 0 || param_strlen < 0) {
      throw cvm::Error(cvm::kErrorLogic, "negative length");
    }
    if ((graph_strlen > 0 && !graph_json) || (param_strlen > 0 && !param_bytes)) {
      throw cvm::Error(cvm::kErrorRuntime, "null buffer");
    }
    std::string graph(graph_json ? graph_json : "", static_cast<size_t>(graph_strlen));
    std::string params(param_bytes ? param_bytes : "", static_cast<size_t>(param_strlen));
    *net = cvm::Model::load(graph, params, device_type).release();
  });
}

int CVMAPIFreeModel(void* net) {
  return guarded([&] { delete static_cast<cvm::Model*>(net); });
}

int CVMAPIInference(void* net, char* input_data, int input_len, char* output_data) {
  return guarded([&] {
    cvm::Model* model = model_of(net);
    require(input_data, "input_data");
    require(output_data, "output_data");
    if (input_len < 0) throw cvm::Error(cvm::kErrorLogic, "negative input length");
    model->infer(input_data, static_cast<size_t>(input_len), output_data);
  });
}

int CVMAPIGetVersion(void* net, char* version) {
  return guarded([&] {
    cvm::Model* model = model_of(net);
    require(version, "version");
    std::string v = model->version();
    std::memcpy(version, v.c_str(), v.size() + 1);
  });
}

int CVMAPIGetPreprocessMethod(void* net, char* method) {
  return guarded([&] {
    cvm::Model* model = model_of(net);
    require(method, "method");
    std::string m = model->postprocess_method();
    std::memcpy(method, m.c_str(), m.size() + 1);
  });
}

#define CVM_SIZE_GETTER(NAME, EXPR)                      \
  int NAME(void* net, unsigned long long* size) {        \
    return guarded([&] {                                 \
      cvm::Model* model = model_of(net);                 \
      require(size, "size");                             \
      *size = static_cast<unsigned long long>(EXPR);     \
    });                                                  \
  }

CVM_SIZE_GETTER(CVMAPIGetInputLength, model->input_length())
CVM_SIZE_GETTER(CVMAPIGetOutputLength, model->output_length())
CVM_SIZE_GETTER(CVMAPIGetInputTypeSize, model->input_type_size())
CVM_SIZE_GETTER(CVMAPIGetOutputTypeSize, model->output_type_size())
CVM_SIZE_GETTER(CVMAPIGetStorageSize, model->storage_size())
CVM_SIZE_GETTER(CVMAPIGetGasFromModel, model->gas())

int CVMAPIGetGasFromGraphFile(const char* graph_json, unsigned long long* gas) {
  return guarded([&] {
    require(graph_json, "graph_json");
    require(gas, "gas");
    *gas = static_cast<unsigned long long>(cvm::estimate_gas(graph_json));
  });
}

const char* CVMAPIGetLastError(void) { return last_error.c_str(); }

}  // extern "C"
