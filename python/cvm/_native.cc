// The compiled core of the Python package: cvm::Model with numpy in and out.
// Inputs are read in place whenever their dtype is an integer type and their
// memory contiguous (the runtime clamps them as it stores them); the GIL is
// released while a model runs, so separate models run in parallel.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cvm/model.hpp"

namespace py = pybind11;

namespace {

[[noreturn]] void invalid(const std::string& message) {
  throw cvm::Error(cvm::kErrorLogic, message);
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  out << "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    out << (i ? ", " : "") << shape[i];
  }
  out << (shape.size() == 1 ? ",)" : ")");
  return out.str();
}

// Bytes of a bytes-like argument (bytes, bytearray, memoryview, a
// contiguous array; str as UTF-8), read in place. `what` names the argument.
class ByteView {
 public:
  ByteView(const py::handle& obj, const char* what) {
    if (obj.is_none()) invalid(std::string(what) + " is None, expected bytes");
    if (PyUnicode_Check(obj.ptr())) {
      Py_ssize_t n = 0;
      data_ = PyUnicode_AsUTF8AndSize(obj.ptr(), &n);
      if (!data_) throw py::error_already_set();
      size_ = static_cast<size_t>(n);
      text_ = py::reinterpret_borrow<py::object>(obj);
      return;
    }
    if (!PyObject_CheckBuffer(obj.ptr()) ||
        PyObject_GetBuffer(obj.ptr(), &buffer_, PyBUF_SIMPLE) != 0) {
      PyErr_Clear();
      invalid(std::string(what) + " must be contiguous bytes-like data, got " +
              std::string(py::str(py::type::handle_of(obj).attr("__name__"))));
    }
    held_ = true;
    data_ = static_cast<const char*>(buffer_.buf);
    size_ = static_cast<size_t>(buffer_.len);
  }
  ~ByteView() {
    if (held_) PyBuffer_Release(&buffer_);
  }
  ByteView(const ByteView&) = delete;
  ByteView& operator=(const ByteView&) = delete;
  const char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  Py_buffer buffer_{};
  bool held_ = false;
  py::object text_;
  const char* data_ = nullptr;
  size_t size_ = 0;
};

std::string dtype_name(const py::dtype& dt) { return dt.attr("name").cast<std::string>(); }

cvm::Model::ValueType value_type(const py::dtype& dt) {
  const char kind = dt.kind();
  const auto size = dt.itemsize();
  if (kind == 'i') {
    if (size == 1) return cvm::Model::ValueType::kInt8;
    if (size == 2) return cvm::Model::ValueType::kInt16;
    if (size == 4) return cvm::Model::ValueType::kInt32;
    if (size == 8) return cvm::Model::ValueType::kInt64;
  } else if (kind == 'u') {
    if (size == 1) return cvm::Model::ValueType::kUInt8;
    if (size == 2) return cvm::Model::ValueType::kUInt16;
    if (size == 4) return cvm::Model::ValueType::kUInt32;
    if (size == 8) return cvm::Model::ValueType::kUInt64;
  }
  invalid("unsupported input dtype " + dtype_name(dt));
}

// The first value outside [lo, hi], as cvm-run reports it: inputs must fit
// the C API's element type (int8 or int32); the runtime clamps them to the
// input precision within it.
template <typename T>
void check_range(const void* data, int64_t count, int64_t lo, int64_t hi, const char* type,
                 int precision) {
  const T* p = static_cast<const T*>(data);
  bool ok = true;
  for (int64_t i = 0; i < count; ++i) {
    const T v = p[i];
    if constexpr (std::is_signed<T>::value) {
      ok &= static_cast<int64_t>(v) >= lo && static_cast<int64_t>(v) <= hi;
    } else {
      ok &= static_cast<uint64_t>(v) <= static_cast<uint64_t>(hi);
    }
  }
  if (ok) return;
  for (int64_t i = 0; i < count; ++i) {
    const T v = p[i];
    const bool fits = std::is_signed<T>::value
                          ? static_cast<int64_t>(v) >= lo && static_cast<int64_t>(v) <= hi
                          : static_cast<uint64_t>(v) <= static_cast<uint64_t>(hi);
    if (!fits) {
      std::ostringstream msg;
      msg << "input value " << +v << " at flat index " << i << " does not fit the model's "
          << type << " input (precision " << precision << "; values are clamped to [-"
          << ((int64_t(1) << (std::min(precision, 32) - 1)) - 1) << ", "
          << ((int64_t(1) << (std::min(precision, 32) - 1)) - 1)
          << "]): quantise the input first (cvm.preprocess)";
      invalid(msg.str());
    }
  }
}

class NativeModel {
 public:
  NativeModel(const py::object& json, const py::object& params, uint64_t max_memory_bytes,
              int device_type) {
    ByteView j(json, "the graph JSON");
    ByteView p(params, "the params blob");
    std::string json_text(j.data(), j.size());
    // Immutable bytes are read in place (the Python object holds the only
    // other copy of the weights); anything else is copied first, as another
    // thread could change it while the load runs without the GIL.
    std::string params_copy;
    if (!PyBytes_Check(params.ptr())) params_copy.assign(p.data(), p.size());
    const char* blob = PyBytes_Check(params.ptr()) ? p.data() : params_copy.data();
    cvm::LoadOptions options;
    options.device_type = device_type;
    options.max_memory_bytes = static_cast<size_t>(max_memory_bytes);
    {
      py::gil_scoped_release release;
      model_ = cvm::Model::load(json_text, blob, p.size(), options);
    }
    input_ = model_->input();
    input_count_ = 1;
    for (int64_t d : input_.shape) input_count_ *= d;
    outputs_ = model_->outputs();
  }

  // numpy in, a list of int32 arrays out (one per head).
  py::list run(const py::object& x) {
    if (x.is_none()) {
      invalid("input is None, expected an array of shape " + shape_text(input_.shape) +
              " of integers");
    }
    py::array arr = py::isinstance<py::array>(x)
                        ? py::reinterpret_borrow<py::array>(x)
                        : py::array(py::module_::import("numpy").attr("asarray")(x));
    check_shape(arr);
    py::dtype dt = arr.dtype();
    const char kind = dt.kind();
    if (kind == 'b') {
      invalid("input dtype bool, expected integers (or floats holding whole numbers)");
    }
    if (kind == 'f') {
      arr = whole_numbers(arr);
      dt = arr.dtype();
    } else if (kind != 'i' && kind != 'u') {
      invalid("input dtype " + dtype_name(dt) +
              ", expected integers (or floats holding whole numbers)");
    }
    // In place when C-contiguous in native order; else one contiguous copy.
    const bool native_order = dt.byteorder() != '>' || dt.itemsize() == 1;
    if (!(arr.flags() & py::array::c_style) || !native_order) {
      arr = py::array(py::module_::import("numpy").attr("ascontiguousarray")(
          arr, dt.attr("newbyteorder")("=")));
    }
    const cvm::Model::ValueType type = value_type(arr.dtype());
    check_values(arr.data(), type);

    py::list out;
    std::vector<int32_t*> heads;
    for (const cvm::TensorInfo& info : outputs_) {
      py::array_t<int32_t> head(std::vector<py::ssize_t>(info.shape.begin(), info.shape.end()));
      heads.push_back(head.mutable_data());
      out.append(head);
    }
    const void* data = arr.data();
    {
      py::gil_scoped_release release;
      model_->run(data, type, heads.data(), heads.size());
    }
    return out;
  }

  // The C API's byte layout in and out (post-processing included).
  py::bytes infer_bytes(const py::object& input) {
    ByteView in(input, "the input");
    const size_t n = model_->output_length();
    PyObject* raw = PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(n));
    if (!raw) throw py::error_already_set();
    py::bytes out = py::reinterpret_steal<py::bytes>(raw);
    char* dst = PyBytes_AS_STRING(raw);
    {
      py::gil_scoped_release release;
      model_->infer(in.data(), in.size(), dst);
    }
    return out;
  }

  // Seconds of each of `repeats` calls of the C++ API's run() on `x` (an
  // array of the input's dtype), for bench/python_overhead.py: the same work
  // as run() without Python around it.
  std::vector<double> native_run_seconds(const py::array& x, int repeats) {
    check_shape(x);
    if (!(x.flags() & py::array::c_style)) invalid("x must be C-contiguous");
    const cvm::Model::ValueType type = value_type(x.dtype());
    std::vector<std::vector<int32_t>> buffers;
    std::vector<int32_t*> heads;
    for (const cvm::TensorInfo& info : outputs_) {
      int64_t n = 1;
      for (int64_t d : info.shape) n *= d;
      buffers.emplace_back(static_cast<size_t>(n));
      heads.push_back(buffers.back().data());
    }
    std::vector<double> seconds;
    py::gil_scoped_release release;
    for (int i = 0; i < repeats; ++i) {
      const auto start = std::chrono::steady_clock::now();
      model_->run(x.data(), type, heads.data(), heads.size());
      seconds.push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return seconds;
  }

  py::tuple input_info() const { return info_tuple(input_); }
  py::list output_infos() const {
    py::list out;
    for (const auto& info : outputs_) out.append(info_tuple(info));
    return out;
  }
  int64_t gas() const { return model_->gas(); }
  int64_t storage_size() const { return model_->storage_size(); }
  std::string version() const { return model_->version(); }
  std::string postprocess() const { return model_->postprocess_method(); }
  uint64_t input_length() const { return model_->input_length(); }
  uint64_t output_length() const { return model_->output_length(); }
  uint64_t input_type_size() const { return model_->input_type_size(); }
  uint64_t output_type_size() const { return model_->output_type_size(); }
  int threads() const { return model_->threads(); }
  void set_threads(int n) {
    py::gil_scoped_release release;  // waits for an inference in progress
    model_->set_threads(n);
  }
  std::string plan_summary() const { return model_->plan_summary(); }

 private:
  static py::tuple info_tuple(const cvm::TensorInfo& info) {
    return py::make_tuple(info.name, py::tuple(py::cast(info.shape)), info.precision);
  }

  void check_shape(const py::array& arr) const {
    bool same = static_cast<size_t>(arr.ndim()) == input_.shape.size();
    for (size_t i = 0; same && i < input_.shape.size(); ++i) {
      same = arr.shape(static_cast<py::ssize_t>(i)) == input_.shape[i];
    }
    if (!same) {
      std::vector<int64_t> got(arr.shape(), arr.shape() + arr.ndim());
      invalid("input shape " + shape_text(got) + ", expected " + shape_text(input_.shape) +
              " (use run_batch for a larger leading batch)");
    }
  }

  // Floats are accepted when every value is a whole number: converted to
  // int64 exactly (one copy), as cvm-run reads float .npy files.
  py::array whole_numbers(const py::array& arr) const {
    py::module_ np = py::module_::import("numpy");
    py::array f = np.attr("ascontiguousarray")(arr, "float64");
    const double* p = static_cast<const double*>(f.data());
    py::array_t<int64_t> out(f.size());
    int64_t* o = out.mutable_data();
    for (py::ssize_t i = 0; i < f.size(); ++i) {
      const double v = p[i];
      if (!std::isfinite(v) || v != std::floor(v) || std::fabs(v) >= 9.2e18) {
        std::ostringstream msg;
        msg << "input value " << v << " at flat index " << i
            << " is not a whole number: float inputs must hold integers";
        invalid(msg.str());
      }
      o[i] = static_cast<int64_t>(v);
    }
    return out;
  }

  void check_values(const void* data, cvm::Model::ValueType type) const {
    using VT = cvm::Model::ValueType;
    const bool int8 = model_->input_type_size() == 1;
    const int64_t hi = int8 ? 127 : std::numeric_limits<int32_t>::max();
    const int64_t lo = int8 ? -128 : std::numeric_limits<int32_t>::min();
    const char* name = int8 ? "int8" : "int32";
    const int prec = input_.precision;
    const int64_t n = input_count_;
    switch (type) {
      case VT::kInt8: break;  // every int8 fits either element type
      case VT::kUInt8: check_range<uint8_t>(data, n, lo, hi, name, prec); break;
      case VT::kInt16: check_range<int16_t>(data, n, lo, hi, name, prec); break;
      case VT::kUInt16: check_range<uint16_t>(data, n, lo, hi, name, prec); break;
      case VT::kInt32:
        if (int8) check_range<int32_t>(data, n, lo, hi, name, prec);
        break;
      case VT::kUInt32: check_range<uint32_t>(data, n, lo, hi, name, prec); break;
      case VT::kInt64: check_range<int64_t>(data, n, lo, hi, name, prec); break;
      case VT::kUInt64: check_range<uint64_t>(data, n, lo, hi, name, prec); break;
    }
  }

  std::unique_ptr<cvm::Model> model_;
  cvm::TensorInfo input_;
  int64_t input_count_ = 0;
  std::vector<cvm::TensorInfo> outputs_;
};

// Messages may quote a hostile model's bytes: decoded with replacement.
void raise(PyObject* type, const char* message) {
  PyObject* text =
      PyUnicode_DecodeUTF8(message, static_cast<Py_ssize_t>(std::strlen(message)), "replace");
  if (!text) return;  // the decoding error stays set
  PyErr_SetObject(type, text);
  Py_DECREF(text);
}

}  // namespace

PYBIND11_MODULE(_native, m) {
  m.doc() = "cvm's compiled core (use the cvm package)";
  m.attr("__version__") = CVM_VERSION;

  // cvm::Error becomes the package's own classes (cvm/_errors.py), by code.
  py::module_ errors = py::module_::import("cvm._errors");
  static PyObject* model_error = py::object(errors.attr("ModelError")).release().ptr();
  static PyObject* runtime_failure = py::object(errors.attr("RuntimeFailure")).release().ptr();
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const cvm::Error& e) {
      raise(e.code() == cvm::kErrorLogic ? model_error : runtime_failure, e.what());
    } catch (const std::bad_alloc&) {
      raise(runtime_failure, "out of memory");
    }
  });

  py::class_<NativeModel>(m, "NativeModel")
      .def(py::init<const py::object&, const py::object&, uint64_t, int>(), py::arg("json"),
           py::arg("params"), py::arg("max_memory_bytes") = 0, py::arg("device_type") = 0)
      .def("run", &NativeModel::run, py::arg("x"),
           "Runs the model on one input of the input's shape; returns one int32 array per head.")
      .def("infer_bytes", &NativeModel::infer_bytes, py::arg("input"),
           "The C API's bytes in and out (post-processing included).")
      .def("_native_run_seconds", &NativeModel::native_run_seconds)
      .def("_input_info", &NativeModel::input_info)
      .def("_output_infos", &NativeModel::output_infos)
      .def_property_readonly("gas", &NativeModel::gas)
      .def_property_readonly("storage_size", &NativeModel::storage_size)
      .def_property_readonly("version", &NativeModel::version)
      .def_property_readonly("postprocess", &NativeModel::postprocess)
      .def_property_readonly("input_length", &NativeModel::input_length)
      .def_property_readonly("output_length", &NativeModel::output_length)
      .def_property_readonly("input_type_size", &NativeModel::input_type_size)
      .def_property_readonly("output_type_size", &NativeModel::output_type_size)
      .def_property("threads", &NativeModel::threads, &NativeModel::set_threads)
      .def_property_readonly("plan_summary", &NativeModel::plan_summary);
}
