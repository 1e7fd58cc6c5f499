#include <cvm/model.hpp>
#include <iostream>

int main(int argc, char** argv) {
  if (argc != 2) return 64;
  std::string dir = argv[1];
  auto model = cvm::Model::load_files(dir + "/symbol.json", dir + "/params.bin");
  std::cout << model->output_length() << "\n";
  return model->output_length() > 0 ? 0 : 1;
}
