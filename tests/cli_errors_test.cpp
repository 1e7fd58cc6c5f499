// cvm-run: bounded threads and reads, .npy dtypes, errors that name the file,
// exit codes (1 invalid, 2 runtime, 3 I/O, 64 usage), help, version, stdin
// and stdout.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <filesystem>

#include "cli_util.h"
#include "runtime/npy.h"

namespace {

std::string lenet_args(const std::string& input) {
  return "--model " + kLenet.string() + " --input " + input;
}

// An .npy file of LeNet's input shape with the header text given (dtype and
// data bytes as the test wants).
std::string npy_with(const std::string& descr, const std::string& shape, const std::string& data) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  dict.append(63 - (10 + dict.size()) % 64, ' ');
  dict += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(dict.size() & 0xFF);
  out += static_cast<char>(dict.size() >> 8);
  return out + dict + data;
}

// LeNet's recorded input as int8 values.
std::vector<int32_t> lenet_values() {
  const std::string raw = slurp(kLenet / "input.bin");
  std::vector<int32_t> v;
  for (char c : raw) v.push_back(static_cast<int8_t>(c));
  return v;
}

}  // namespace

TEST_CASE("cvm-run: --threads is bounded", "[cli]") {
  // 1000000 threads used to grow memory without bound.
  auto r = cvm_run(lenet_args((kLenet / "input.bin").string()) + " --threads 1000000");
  CHECK(r.code == 64);
  CHECK(r.err.rfind("cvm-run: --threads takes a whole number from 1 to 256, not '1000000'\n", 0) == 0);
  r = cvm_run(lenet_args((kLenet / "input.bin").string()) + " --threads 256 --output " +
              (scratch() / "t256.bin").string());
  CHECK(r.code == 0);
  CHECK(slurp(scratch() / "t256.bin") == slurp(kLenet / "output.bin"));
}

TEST_CASE("cvm-run: reads no more of an input than the model takes", "[cli]") {
  // /dev/zero never ends: it must be refused after input_length + 1 bytes.
  const auto start = std::chrono::steady_clock::now();
  auto r = cvm_run(lenet_args("/dev/zero"));
  CHECK(r.code == 1);
  CHECK(r.err == "cvm-run: /dev/zero: more than the 784 bytes the model's input takes\n");
  // An .npy from an endless source: zeros are not the .npy magic.
  r = cvm_run(lenet_args("-.npy"), "/dev/zero");
  CHECK(r.code == 3);  // no such file "-.npy"
  r = cvm_run(lenet_args("-"), "/dev/zero");
  CHECK(r.code == 1);
  CHECK(contains(r.err, "stdin: more than the 784 bytes"));
  // An .npy whose data runs on past its shape, and one announcing a huge shape.
  const fs::path dir = scratch();
  const std::string data(784, '\0');
  spit(dir / "long.npy", npy_with("|i1", "(1, 1, 28, 28)", data + std::string(1 << 20, '\0')));
  r = cvm_run(lenet_args((dir / "long.npy").string()));
  CHECK(r.code == 1);
  CHECK(r.err == "cvm-run: " + (dir / "long.npy").string() +
                     ": longer than its shape (1, 1, 28, 28) says (784 bytes of data)\n");
  spit(dir / "huge.npy", npy_with("|i1", "(1000000000,)", data));
  r = cvm_run(lenet_args((dir / "huge.npy").string()));
  CHECK(r.code == 1);
  CHECK(r.err == "cvm-run: " + (dir / "huge.npy").string() +
                     ": shape (1000000000,), the model takes (1, 1, 28, 28)\n");
  const auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(seconds < 60);  // a bound on a hang, not a timing assertion
}

TEST_CASE("cvm-run: .npy dtypes: bool refused, float16 as floats", "[cli]") {
  const fs::path dir = scratch();
  auto r = cvm_run(lenet_args((dir / "bool.npy").string()));  // missing first
  CHECK(r.code == 3);
  CHECK(r.err == "cvm-run: " + (dir / "bool.npy").string() + ": no such file\n");
  spit(dir / "bool.npy", npy_with("|b1", "(1, 1, 28, 28)", std::string(784, '\1')));
  r = cvm_run(lenet_args((dir / "bool.npy").string()));
  CHECK(r.code == 1);
  CHECK(contains(r.err, (dir / "bool.npy").string() + ": dtype bool is not accepted"));

  // float16: LeNet's input as halves (whole numbers are exact in float16).
  std::string halves;
  for (int32_t v : lenet_values()) {
    const float f = static_cast<float>(v);
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    // float32 -> float16 for whole numbers below 2048: exponent rebias, no rounding.
    uint16_t h = 0;
    if (v != 0) {
      const int exponent = static_cast<int>((bits >> 23) & 0xFF) - 127 + 15;
      h = static_cast<uint16_t>(((bits >> 16) & 0x8000) | (exponent << 10) | ((bits >> 13) & 0x3FF));
    }
    halves += static_cast<char>(h & 0xFF);
    halves += static_cast<char>(h >> 8);
  }
  spit(dir / "half.npy", npy_with("<f2", "(1, 1, 28, 28)", halves));
  r = cvm_run(lenet_args((dir / "half.npy").string()) + " --output " + (dir / "half_out.bin").string());
  CHECK(r.code == 0);
  CHECK(slurp(dir / "half_out.bin") == slurp(kLenet / "output.bin"));
  // 0x3E00 is 1.5: not a whole number.
  std::string bad = halves;
  bad[20] = '\x00';
  bad[21] = '\x3E';
  spit(dir / "half_bad.npy", npy_with("<f2", "(1, 1, 28, 28)", bad));
  r = cvm_run(lenet_args((dir / "half_bad.npy").string()));
  CHECK(r.code == 1);
  CHECK(r.err == "cvm-run: " + (dir / "half_bad.npy").string() +
                     ": value 1.5 at index 10 is not a whole number\n");
}

TEST_CASE("cvm-run: file errors name the file and what was expected", "[cli]") {
  const fs::path dir = scratch();
  // Not an .npy file; a truncated one.
  spit(dir / "text.npy", "hello, world");
  auto r = cvm_run(lenet_args((dir / "text.npy").string()));
  CHECK(r.code == 1);
  CHECK(r.err == "cvm-run: " + (dir / "text.npy").string() +
                     ": not an .npy file (no \\x93NUMPY magic at its start)\n");
  spit(dir / "cut.npy", npy_with("|i1", "(1, 1, 28, 28)", std::string(700, '\0')));
  r = cvm_run(lenet_args((dir / "cut.npy").string()));
  CHECK(r.code == 1);
  CHECK(r.err == "cvm-run: " + (dir / "cut.npy").string() +
                     ": data truncated: shape (1, 1, 28, 28) needs 784 bytes of |i1, the file has 700\n");
  // A short raw input.
  spit(dir / "short.bin", std::string(700, '\0'));
  r = cvm_run(lenet_args((dir / "short.bin").string()));
  CHECK(r.code == 1);
  CHECK(contains(r.err, (dir / "short.bin").string() + ": 700 bytes, the model's input takes 784"));
  // A folder given as the input file, and as the output file.
  r = cvm_run(lenet_args(dir.string()));
  CHECK(r.code == 3);
  CHECK(r.err == "cvm-run: " + dir.string() + ": is a folder, expected a file\n");
  r = cvm_run(lenet_args((kLenet / "input.bin").string()) + " --output " + dir.string());
  CHECK(r.code == 3);
  CHECK(contains(r.err, dir.string() + ": is a folder"));
  // An output that cannot be written.
  r = cvm_run(lenet_args((kLenet / "input.bin").string()) + " --output /nonexistent/out.bin");
  CHECK(r.code == 3);
  CHECK(contains(r.err, "/nonexistent/out.bin: cannot write"));
  // A missing model folder, a model file given as the folder, a folder without params.bin.
  r = cvm_run("--model " + (dir / "no_model").string() + " --input x");
  CHECK(r.code == 3);
  CHECK(r.err == "cvm-run: " + (dir / "no_model").string() + ": no such model folder\n");
  r = cvm_run("--model " + (kLenet / "symbol.json").string() + " --input x");
  CHECK(r.code == 3);
  CHECK(contains(r.err, "symbol.json: not a folder"));
  fs::create_directories(dir / "half_model");
  fs::copy_file(kLenet / "symbol.json", dir / "half_model" / "symbol.json",
                fs::copy_options::overwrite_existing);
  r = cvm_run("--model " + (dir / "half_model").string() + " --input x");
  CHECK(r.code == 3);
  CHECK(r.err == "cvm-run: " + (dir / "half_model").string() + ": the model folder has no params.bin\n");
}

TEST_CASE("cvm-run: a JSON syntax error names the file, line and column", "[cli]") {
  const fs::path model = scratch() / "bad_json";
  fs::create_directories(model);
  fs::copy_file(kLenet / "params.bin", model / "params.bin", fs::copy_options::overwrite_existing);
  spit(model / "symbol.json", "{\"nodes\": [],\n  \"heads\": x}");
  auto r = cvm_run("--model " + model.string() + " --input " + (kLenet / "input.bin").string());
  CHECK(r.code == 2);  // the reference's class for malformed graph JSON
  CHECK(r.err == "cvm-run: " + (model / "symbol.json").string() + ": line 2, column 12: unexpected 'x'\n");
  spit(model / "symbol.json", "{\"nodes\": [],\n  \"heads\": [1, 2]\n\n, tru }");
  r = cvm_run("--model " + model.string() + " --input " + (kLenet / "input.bin").string());
  CHECK(r.code == 2);
  CHECK(r.err == "cvm-run: " + (model / "symbol.json").string() + ": line 4, column 3: unexpected tru\n");
  CHECK(!contains(r.err, "json.exception"));
  spit(model / "symbol.json", "{\"nodes\": [");
  r = cvm_run("--model " + model.string() + " --input " + (kLenet / "input.bin").string());
  CHECK(r.code == 2);
  CHECK(contains(r.err, "symbol.json: line 1, column 12: the text ends before the JSON does"));
  // model.json is read with the model: its errors are code 1.
  fs::copy_file(kLenet / "symbol.json", model / "symbol.json", fs::copy_options::overwrite_existing);
  spit(model / "model.json", "{\"cvm_model_meta\": 1,\n\n \"classes\": [\"a\" \"b\"]}");
  r = cvm_run("--model " + model.string() + " --input " + (kLenet / "input.bin").string());
  CHECK(r.code == 1);
  CHECK(r.err == "cvm-run: " + (model / "model.json").string() + ": line 3, column 18: unexpected string \"b\"\n");
  spit(model / "model.json", "{\"cvm_model_meta\": 2}");
  r = cvm_run("--model " + model.string() + " --input " + (kLenet / "input.bin").string());
  CHECK(r.code == 1);
  CHECK(contains(r.err, "model.json: \"cvm_model_meta\" is 2, this cvm-run reads version 1"));
  spit(model / "model.json", "{\"cvm_model_meta\": 1, \"input\": {\"mean\": [1], \"std\": [0], \"scale\": 1}}");
  r = cvm_run("--model " + model.string() + " --input " + (kLenet / "input.bin").string());
  CHECK(r.code == 1);
  CHECK(contains(r.err, "model.json: \"input.std\" values must be positive"));
}

TEST_CASE("cvm-run: --help, --version, usage errors", "[cli]") {
  auto r = cvm_run("--help");
  CHECK(r.code == 0);
  for (const char* option : {"--model", "--symbol", "--params", "--input", "--image", "--output",
                             "--top", "--json", "--threads", "--repeat", "--profile", "--warmup",
                             "--runs", "--duration", "bench", "info", "Exit codes", "  3 ", " 64 ",
                             "\"-\" reads stdin", "float16", "model.json"}) {
    INFO(option);
    CHECK(contains(r.out, option));
  }
  r = cvm_run("--version");
  CHECK(r.code == 0);
  CHECK(r.out.rfind("cvm-run 0.", 0) == 0);
  for (const char* args : {"--bogus", "--model", "bench --model x --runs 3 --duration 1",
                           "--model x --input a --image b", "--model x --input y --runs 3",
                           "--model x --input y --json --output -", "--model x --input y --top 0"}) {
    INFO(args);
    r = cvm_run(args);
    CHECK(r.code == 64);
    CHECK(line_count(r.err) == 2);
    CHECK(contains(r.err, "\nTry 'cvm-run --help' for the options.\n"));
  }
}

TEST_CASE("cvm-run: - is stdin for --input and stdout for --output", "[cli]") {
  const fs::path dir = scratch();
  auto r = cvm_run("--model " + kLenet.string() + " --input - --output -", (kLenet / "input.bin").string());
  CHECK(r.code == 0);
  CHECK(r.out == slurp(kLenet / "output.bin"));
  // An .npy on stdin is known by its magic.
  spit(dir / "stdin.npy", cvm::make_npy({1, 1, 28, 28}, lenet_values(), true));
  r = cvm_run("--model " + kLenet.string() + " --input - --output -", (dir / "stdin.npy").string());
  CHECK(r.code == 0);
  CHECK(r.out == slurp(kLenet / "output.bin"));
}
