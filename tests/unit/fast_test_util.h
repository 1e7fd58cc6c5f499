// The harness of the fast-kernel tests: a model built in memory run
// through the plain scalar executor and through every fast ISA level this
// machine has, on 1, 2 and 3 threads, compared byte for byte.
#pragma once

#include <catch2/catch.hpp>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "base/error.h"
#include "cvm/model.hpp"
#include "runtime/plan.h"
#include "tools/model_builder.h"

namespace cvm {
namespace test {

using tools::ModelBuilder;
using tools::random_values;

inline std::vector<Isa> fast_levels() {
  std::vector<Isa> out;
  if (detected_isa() >= Isa::kAvx2) out.push_back(Isa::kAvx2);
  if (detected_isa() >= Isa::kAvx512) out.push_back(Isa::kAvx512);
  return out;
}

// Restores the ISA level, and runs every step on all threads meanwhile
// (even the tiny ones of these tests).
struct IsaGuard {
  double saved = set_min_parallel_work(0);
  ~IsaGuard() {
    set_isa(Isa::kAuto);
    set_min_parallel_work(saved);
  }
};

// Heads of consecutive inferences, or the error code of the load.
struct Runs {
  int load_error = 0;
  std::string load_message;
  std::vector<std::vector<std::vector<int32_t>>> heads;
  std::string plan;
  std::vector<std::string> steps;  // Model::plan_steps()
};

inline Runs run_model(const ModelBuilder& b, const std::vector<std::vector<int32_t>>& inputs,
               Isa isa, int threads) {
  set_isa(isa);
  Runs r;
  std::unique_ptr<Model> m;
  try {
    m = Model::load(b.json(), b.params());
  } catch (const Error& e) {
    r.load_error = e.code();
    r.load_message = e.what();
    return r;
  }
  m->set_threads(threads);
  r.plan = m->plan_summary();
  r.steps = m->plan_steps();
  for (const auto& in : inputs) r.heads.push_back(m->run(in));
  return r;
}

// Compares every fast configuration with the scalar executor. Returns false
// when the model does not load (the caller may skip it).
inline bool same_as_scalar(const ModelBuilder& b, const std::vector<std::vector<int32_t>>& inputs,
                    const std::string& what) {
  IsaGuard guard;
  const Runs ref = run_model(b, inputs, Isa::kScalar, 1);
  if (ref.load_error) {
    UNSCOPED_INFO(what << ": does not load: " << ref.load_message);
    return false;
  }
  for (Isa isa : fast_levels()) {
    for (int threads : {1, 2, 3}) {
      const Runs got = run_model(b, inputs, isa, threads);
      INFO(what << " isa " << static_cast<int>(isa) << " threads " << threads << " plan "
                << got.plan);
      REQUIRE(got.load_error == 0);
      REQUIRE(got.heads.size() == ref.heads.size());
      for (size_t i = 0; i < ref.heads.size(); ++i) CHECK(got.heads[i] == ref.heads[i]);
    }
  }
  return true;
}

inline int64_t pick(std::mt19937& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

inline std::vector<int32_t> input_values(std::mt19937& rng, int64_t n, int32_t bound) {
  return random_values(rng, n, bound);
}

// A random storage plan over nodes 0..last (up to `pools` + 1 shared pools),
// except that each node of `reads` (a node, then its inputs that it may not
// write over: the model would not load) keeps storage apart from them.
inline void random_storage(ModelBuilder& b, std::mt19937& rng, int last, int pools,
                           const std::vector<std::vector<int>>& reads) {
  for (int i = 0; i <= last; ++i) {
    if (pick(rng, 0, 2) != 0) b.set_storage(i, static_cast<int>(pick(rng, 0, pools)));
  }
  for (const std::vector<int>& r : reads) {
    for (size_t k = 1; k < r.size(); ++k) {
      if (b.storage(r[0]) == b.storage(r[k])) b.set_storage(r[0], 100 + r[0]);
    }
  }
}

}  // namespace test
}  // namespace cvm
