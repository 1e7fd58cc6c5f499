// Runs a CVM model through the C++ API: load from files, describe it, run it
// on its bundled input, and compare with the recorded output.
//
//   cpp_api_example MODEL_DIR
#include <cvm/model.hpp>

#include <fstream>
#include <iostream>
#include <iterator>

static std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " MODEL_DIR\n";
    return 64;
  }
  const std::string dir = argv[1];
  try {
    auto model = cvm::Model::load_files(dir + "/symbol.json", dir + "/params.bin");
    cvm::TensorInfo in = model->input();
    std::cout << "input shape:";
    for (int64_t d : in.shape) std::cout << ' ' << d;
    std::cout << ", precision " << in.precision << ", gas " << model->gas() << "\n";

    std::vector<uint8_t> output = model->infer(read_bytes(dir + "/input.bin"));
    std::vector<uint8_t> expected = read_bytes(dir + "/output.bin");
    std::cout << "output " << output.size() << " bytes, matches output.bin: "
              << (output == expected ? "yes" : "no") << "\n";
    return output == expected ? 0 : 3;
  } catch (const cvm::Error& e) {
    std::cerr << "error " << e.code() << ": " << e.what() << "\n";
    return e.code();
  }
}
