#include "runtime/cli/model_meta.h"

#include <cmath>

#include "base/error.h"
#include "runtime/cli/files.h"

namespace cvm {
namespace cli {

namespace {

using nlohmann::json;

double number(const json& v, const std::string& path, const char* field) {
  CVM_VERIFY(v.is_number() && std::isfinite(v.get<double>()))
      << path << ": \"" << field << "\" must be a number";
  return v.get<double>();
}

int whole(const json& v, const std::string& path, const char* field, int lo, int hi) {
  CVM_VERIFY(v.is_number_integer() && v.get<long long>() >= lo && v.get<long long>() <= hi)
      << path << ": \"" << field << "\" must be a whole number from " << lo << " to " << hi;
  return static_cast<int>(v.get<long long>());
}

std::vector<double> numbers(const json& v, const std::string& path, const char* field) {
  CVM_VERIFY(v.is_array() && !v.empty() && v.size() <= 4)
      << path << ": \"" << field << "\" must be a list of one number per channel";
  std::vector<double> out;
  for (const json& x : v) out.push_back(number(x, path, field));
  return out;
}

InputMeta read_input(const json& in, const std::string& path) {
  CVM_VERIFY(in.is_object()) << path << ": \"input\" must be an object";
  InputMeta m;
  if (in.contains("transform")) {
    CVM_VERIFY(in["transform"].is_string()) << path << ": \"input.transform\" must be a string";
    m.transform = in["transform"].get<std::string>();
  }
  if (in.contains("color")) {
    CVM_VERIFY(in["color"].is_string() &&
               (in["color"] == "gray" || in["color"] == "rgb"))
        << path << ": \"input.color\" must be \"gray\" or \"rgb\"";
    m.color = in["color"].get<std::string>();
  }
  if (in.contains("resize") && !in["resize"].is_null()) {
    m.resize = whole(in["resize"], path, "input.resize", 0, 1 << 14);
  }
  if (in.contains("crop") && !in["crop"].is_null()) {
    const json& c = in["crop"];
    CVM_VERIFY(c.is_array() && c.size() == 2) << path << ": \"input.crop\" must be [height, width]";
    m.crop_height = whole(c[0], path, "input.crop", 1, 1 << 14);
    m.crop_width = whole(c[1], path, "input.crop", 1, 1 << 14);
  }
  CVM_VERIFY(in.contains("mean") && in.contains("std") && in.contains("scale"))
      << path << ": \"input\" needs \"mean\", \"std\" and \"scale\"";
  m.mean = numbers(in["mean"], path, "input.mean");
  m.std = numbers(in["std"], path, "input.std");
  for (double s : m.std) CVM_VERIFY(s > 0) << path << ": \"input.std\" values must be positive";
  m.scale = number(in["scale"], path, "input.scale");
  CVM_VERIFY(m.scale > 0) << path << ": \"input.scale\" must be positive";
  return m;
}

}  // namespace

ModelMeta read_model_meta(const std::string& path) {
  const json doc = parse_json(read_at_most(path, 16 << 20, "model.json"), path);
  CVM_VERIFY(doc.is_object() && doc.contains("cvm_model_meta"))
      << path << ": not a model metadata file (expected an object with \"cvm_model_meta\": 1)";
  CVM_VERIFY(doc["cvm_model_meta"] == 1)
      << path << ": \"cvm_model_meta\" is " << doc["cvm_model_meta"].dump()
      << ", this cvm-run reads version 1";
  ModelMeta meta;
  meta.path = path;
  if (doc.contains("task")) {
    CVM_VERIFY(doc["task"].is_string()) << path << ": \"task\" must be a string";
    meta.task = doc["task"].get<std::string>();
  }
  if (doc.contains("classes") && !doc["classes"].is_null()) {
    const json& c = doc["classes"];
    CVM_VERIFY(c.is_array()) << path << ": \"classes\" must be a list of names";
    for (const json& name : c) {
      CVM_VERIFY(name.is_string()) << path << ": \"classes\" must be a list of names";
      meta.classes.push_back(name.get<std::string>());
    }
  }
  if (doc.contains("input") && !doc["input"].is_null()) {
    meta.input = read_input(doc["input"], path);
    meta.has_input = true;
  }
  return meta;
}

}  // namespace cli
}  // namespace cvm
